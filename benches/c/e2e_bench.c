/*
 * End-to-end benchmark of the C ABI against the real CLI and copilot-replay
 * (benches/e2e.py runs it): client start to ready, session create, warm plain
 * turn, warm turn with one tool round trip, and CONCURRENT sessions each doing
 * the tool turn at once; also the first (cold) turn, the peak RSS of this
 * process and of the processes it started, and how many processes that is.
 *
 * Usage: e2e_bench OPTIONS_JSON SESSION_JSON REPEATS CONCURRENT
 * Prints one JSON line: {"start_ms":..,"create_ms":..,"first_ms":..,"plain_ms":[..],
 *                        "tool_ms":[..],"concurrent_s":..,"concurrent_ms":[..],
 *                        "rss_kb":..,"child_rss_kb":..,"processes":..}
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "copilot.h"

static const char *PLAIN = "{\"prompt\": \"What is the capital of France?\"}";
static const char *TOOL = "{\"prompt\": \"What is the weather in Paris? Use the get_weather tool.\"}";
static const char *WEATHER = "{\"name\": \"get_weather\", \"description\": \"Current weather for a city\", "
                             "\"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, "
                             "\"required\": [\"city\"]}}";
static copilot_client *client;
static copilot_session_config *cfg;

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void check(copilot_status st, copilot_error *err, const char *what) {
    if (st != COPILOT_OK) {
        fprintf(stderr, "e2e_bench: %s: %s\n", what, copilot_error_message(err));
        exit(1);
    }
}

static void weather(void *ud, copilot_tool_invocation *inv, const char *json) {
    (void)ud;
    (void)json;
    copilot_tool_invocation_complete(inv, "\"18C and sunny\"", NULL);
}

static copilot_session *new_session(void) {
    copilot_session *s = NULL;
    copilot_error *err = NULL;
    check(copilot_client_create_session(client, cfg, &s, &err), err, "create_session");
    return s;
}

/* One turn in a fresh session; returns its time from send to idle. */
static double turn(copilot_session *s, const char *message) {
    copilot_error *err = NULL;
    char *answer = NULL;
    double t0 = now_ms();
    check(copilot_session_send_and_wait(s, message, 120000, &answer, &err), err, "send_and_wait");
    double ms = now_ms() - t0;
    copilot_string_free(answer);
    return ms;
}

/* A /proc/<pid>/status field in kB (VmRSS, VmHWM), or 0. */
static long status_kb(const char *pid, const char *field) {
    char path[320], line[256];
    snprintf(path, sizeof path, "/proc/%s/status", pid);
    FILE *f = fopen(path, "r");
    long kb = 0;
    if (!f) return 0;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':') kb = atol(line + n + 1);
    fclose(f);
    return kb;
}

/* The parent pid of a process, or 0. */
static long ppid_of(const char *pid) {
    char path[320];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *close = strrchr(buf, ')'); /* the command name may hold spaces */
    char state;
    long ppid = 0;
    if (close) sscanf(close + 1, " %c %ld", &state, &ppid);
    return ppid;
}

/* The processes descended from this one (the CLI and what it started): how
 * many, and the sum of their resident sizes in kB. */
static void descendants(int *count, long *rss_kb) {
    long pids[4096], parents[4096];
    int n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d)) && n < 4096) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        pids[n] = atol(e->d_name);
        parents[n++] = ppid_of(e->d_name);
    }
    if (d) closedir(d);
    long mine[4096];
    int m = 0;
    mine[m++] = getpid();
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n && m < 4096; j++)
            if (parents[j] == mine[i]) mine[m++] = pids[j];
    *count = m - 1;
    *rss_kb = 0;
    for (int i = 1; i < m; i++) {
        char pid[32];
        snprintf(pid, sizeof pid, "%ld", mine[i]);
        *rss_kb += status_kb(pid, "VmRSS");
    }
}

struct job {
    copilot_session *session;
    double ms;
};

static void *concurrent_turn(void *arg) {
    struct job *j = arg;
    j->ms = turn(j->session, TOOL);
    return NULL;
}

static void print_list(const char *name, const double *v, int n) {
    printf("\"%s\":[", name);
    for (int i = 0; i < n; i++) printf("%s%.3f", i ? "," : "", v[i]);
    printf("]");
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: e2e_bench OPTIONS_JSON SESSION_JSON REPEATS CONCURRENT\n");
        return 2;
    }
    int repeats = atoi(argv[3]), concurrent = atoi(argv[4]);
    copilot_error *err = NULL;
    double t0 = now_ms();
    check(copilot_client_new(argv[1], &client, &err), err, "client_new");
    check(copilot_client_start(client, &err), err, "start");
    double start_ms = now_ms() - t0;

    check(copilot_session_config_new(argv[2], &cfg, &err), err, "config");
    check(copilot_session_config_add_tool(cfg, WEATHER, weather, NULL, NULL, &err), err, "add_tool");
    check(copilot_session_config_approve_all(cfg, &err), err, "approve_all");
    t0 = now_ms();
    copilot_session *first = new_session();
    double create_ms = now_ms() - t0;
    double first_ms = turn(first, PLAIN); /* the cold turn: the CLI's first pays for loading */
    copilot_session_free(first);

    double *plain = calloc((size_t)repeats, sizeof *plain), *tool = calloc((size_t)repeats, sizeof *tool);
    for (int i = 0; i < repeats; i++) {
        copilot_session *s = new_session();
        plain[i] = turn(s, PLAIN);
        copilot_session_free(s);
        s = new_session();
        tool[i] = turn(s, TOOL);
        copilot_session_free(s);
    }

    struct job *jobs = calloc((size_t)concurrent, sizeof *jobs);
    pthread_t *threads = calloc((size_t)concurrent, sizeof *threads);
    for (int i = 0; i < concurrent; i++) jobs[i].session = new_session();
    t0 = now_ms();
    for (int i = 0; i < concurrent; i++) pthread_create(&threads[i], NULL, concurrent_turn, &jobs[i]);
    for (int i = 0; i < concurrent; i++) pthread_join(threads[i], NULL);
    double concurrent_s = (now_ms() - t0) / 1e3;
    double *conc = calloc((size_t)concurrent, sizeof *conc);
    for (int i = 0; i < concurrent; i++) {
        conc[i] = jobs[i].ms;
        copilot_session_free(jobs[i].session);
    }

    int children = 0;
    long child_rss_kb = 0;
    descendants(&children, &child_rss_kb);
    printf("{\"start_ms\":%.3f,\"create_ms\":%.3f,\"first_ms\":%.3f,", start_ms, create_ms, first_ms);
    print_list("plain_ms", plain, repeats);
    printf(",");
    print_list("tool_ms", tool, repeats);
    printf(",\"concurrent_s\":%.3f,", concurrent_s);
    print_list("concurrent_ms", conc, concurrent);
    printf(",\"rss_kb\":%ld,\"child_rss_kb\":%ld,\"processes\":%d}\n", status_kb("self", "VmHWM"), child_rss_kb,
           1 + children);
    copilot_session_config_free(cfg);
    copilot_client_stop(client, 10000, NULL);
    copilot_client_free(client);
    return 0;
}
