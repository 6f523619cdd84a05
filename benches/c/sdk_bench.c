/*
 * SDK-only benchmark of the C ABI against benches/peer (a synthetic CLI):
 * events per second into a C callback, and tool calls answered from a C
 * handler (the peer times the round trips and prints them).
 *
 * Usage: sdk_bench HOST:PORT|stdio:PEER_PATH EXPECTED_EVENTS (stdio: the peer spawned as the CLI)
 * Prints: c: events=N seconds=S events_per_s=X
 *
 * Usage: sdk_bench HOST:PORT resources
 * Prints: c: rss_added_kib=N threads_added=M  (one client, 10 sessions, no turn)
 *
 * With SDK_BENCH_DISPATCH=poll the client is in poll mode: this thread is the
 * host's loop, waiting on copilot_client_dispatch_fd and running every
 * callback with copilot_client_dispatch (as a GTK or Qt main loop would).
 */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "copilot.h"

static atomic_long deltas;
static atomic_int idle;

static void on_event(void *ud, const char *type, const char *json, size_t len) {
    (void)ud;
    (void)json;
    (void)len;
    /* The cheapest honest check: compare the type, as a real handler would. */
    if (strcmp(type, COPILOT_EVENT_ASSISTANT_MESSAGE_DELTA) == 0) atomic_fetch_add_explicit(&deltas, 1, memory_order_relaxed);
    else if (strcmp(type, COPILOT_EVENT_SESSION_IDLE) == 0) atomic_store(&idle, 1);
}

static void bench_tool(void *ud, copilot_tool_invocation *inv, const char *json) {
    (void)ud;
    (void)json;
    copilot_tool_invocation_complete(inv, "\"ok\"", NULL);
}

/* A field of /proc/self/status, in its own unit (kB for VmRSS). */
static long proc_status(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long value = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, field, n) == 0 && line[n] == ':') value = atol(line + n + 1);
    }
    if (f) fclose(f);
    return value;
}

static int fail(const char *what, copilot_error *err) {
    fprintf(stderr, "sdk_bench: %s: %s\n", what, copilot_error_message(err));
    copilot_error_free(err);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: sdk_bench HOST:PORT|stdio:PEER_PATH EXPECTED_EVENTS\n");
        return 2;
    }
    int resources = strcmp(argv[2], "resources") == 0;
    long rss0 = proc_status("VmRSS"), threads0 = proc_status("Threads");
    long expected = atol(argv[2]);
    const char *dispatch = getenv("SDK_BENCH_DISPATCH");
    int polled = dispatch && strcmp(dispatch, "poll") == 0;
    /* HOST:PORT, or stdio:PATH: the peer spawned as the client's CLI. */
    int stdio = strncmp(argv[1], "stdio:", 6) == 0;
    char options[4096];
    snprintf(options, sizeof options, "{\"%s\": \"%s\"%s}", stdio ? "cliPath" : "cliUrl", stdio ? argv[1] + 6 : argv[1],
             polled ? ", \"dispatch\": \"poll\"" : "");
    copilot_error *err = NULL;
    copilot_client *client = NULL;
    if (copilot_client_new(options, &client, &err) != COPILOT_OK) return fail("client_new", err);
    if (copilot_client_start(client, &err) != COPILOT_OK) return fail("start", err);
    copilot_session_config *cfg = NULL;
    copilot_session_config_new("{}", &cfg, NULL);
    copilot_session_config_add_tool(cfg, "{\"name\": \"bench\", \"description\": \"benchmark tool\"}", bench_tool, NULL,
                                    NULL, NULL);
    copilot_session_config_approve_all(cfg, NULL);
    copilot_session_config_on_event(cfg, on_event, NULL, NULL, NULL);
    copilot_session *session = NULL;
    if (copilot_client_create_session(client, cfg, &session, &err) != COPILOT_OK) return fail("create_session", err);
    if (resources) {
        copilot_session *more[9];
        for (int i = 0; i < 9; i++)
            if (copilot_client_create_session(client, cfg, &more[i], &err) != COPILOT_OK) return fail("create_session", err);
        printf("c: rss_added_kib=%ld threads_added=%ld\n", proc_status("VmRSS") - rss0, proc_status("Threads") - threads0);
        for (int i = 0; i < 9; i++) copilot_session_free(more[i]);
        copilot_session_free(session);
        copilot_session_config_free(cfg);
        copilot_client_stop(client, 5000, NULL);
        copilot_client_free(client);
        return 0;
    }
    copilot_session_config_free(cfg);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (polled) {
        /* The loop: wait for the fd, run what waits, until the turn ends. */
        int fd = copilot_client_dispatch_fd(client);
        if (copilot_session_send(session, "{\"prompt\": \"go\"}", NULL, &err) != COPILOT_OK) return fail("send", err);
        while (!atomic_load(&idle)) {
            struct pollfd pfd = {fd, POLLIN, 0};
            if (poll(&pfd, 1, 1000) < 0) break;
            if (copilot_client_dispatch(client, SIZE_MAX, NULL, &err) != COPILOT_OK) return fail("dispatch", err);
        }
    } else if (copilot_session_send_and_wait(session, "{\"prompt\": \"go\"}", 600000, NULL, &err) != COPILOT_OK)
        return fail("send_and_wait", err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    long got = atomic_load(&deltas);
    printf("c: events=%ld seconds=%.3f events_per_s=%.0f\n", got, seconds, got / seconds);
    copilot_session_free(session);
    copilot_client_stop(client, 5000, NULL);
    copilot_client_free(client);
    if (got != expected) {
        fprintf(stderr, "sdk_bench: delivered %ld of %ld events\n", got, expected);
        return 1;
    }
    return 0;
}
