/*
 * A dying, stalled or hostile CLI must never kill, hang or bloat the host.
 * Each case drives tests/hostile/fake_cli.py through the public C API.
 *
 *   hostile_test <case> <stdio|tcp>
 *
 * Environment (set by tests/hostile.rs):
 *   HOSTILE_FAKE_CLI  path of fake_cli.py (the client's cliPath)
 *   HOSTILE_FULL      "1": full-size variants (slower, more memory)
 *   HOSTILE_BOUND_MS  this process reports a hang and exits after that long
 *
 * The fake's behaviour is chosen with FAKE_CLI_* variables set here in our own
 * environment, which the spawned CLI inherits (no "env" client option).
 *
 * SIGPIPE keeps its default disposition (it is even reset to it): a write to a
 * dead CLI that raises it kills this process, which tests/hostile.rs reports.
 *
 * Prints what it does, "FAIL: ..." per broken expectation, and one line
 *   FIGURES case=<name> transport=<t> status=<...> [time_to_error_ms=<n>]
 *           peak_rss_mib=<n> [events=<n>] [...] verdict=pass|fail|hang
 * then exits 0 when every expectation held, 1 otherwise, 3 on a hang.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "copilot.h"

/* tests/hostile.rs defines HOSTILE_HAVE_CLIENT_STATS when include/copilot.h
 * declares copilot_client_stats. */

#define MIB (1024L * 1024L)
#define STDERR_MARKER "FAKE_CLI_STDERR_MARKER"
#define CORRUPT_MARKER "FAKE_CLI_CORRUPT_FRAME"

static const char *g_case = "?";
static const char *g_transport = "?";
static const char *g_fake = "tests/hostile/fake_cli.py";
static int g_full;
static int g_tcp;
static long g_bound_ms = 60000;

static int g_failed;
static char g_status[64] = "-";
static long long g_time_to_error = -1;
static long long g_events = -1;
static char g_extra[1024];
static const char *volatile g_step = "start";
static atomic_int g_finished;

static copilot_client *g_client;
static copilot_session *g_session;

/* ---- small helpers --------------------------------------------------------------------- */

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

static double peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* ru_maxrss is in KiB on Linux */
}

static const char *status_name(copilot_status st) {
    switch (st) {
    case COPILOT_OK: return "OK";
    case COPILOT_ERR_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case COPILOT_ERR_INVALID_JSON: return "INVALID_JSON";
    case COPILOT_ERR_CLI_NOT_FOUND: return "CLI_NOT_FOUND";
    case COPILOT_ERR_CONNECTION: return "CONNECTION";
    case COPILOT_ERR_DISCONNECTED: return "DISCONNECTED";
    case COPILOT_ERR_RPC: return "RPC";
    case COPILOT_ERR_TIMEOUT: return "TIMEOUT";
    case COPILOT_ERR_PROTOCOL_VERSION: return "PROTOCOL_VERSION";
    case COPILOT_ERR_SESSION: return "SESSION";
    case COPILOT_ERR_WRONG_THREAD: return "WRONG_THREAD";
    case COPILOT_ERR_INVALID_STATE: return "INVALID_STATE";
    case COPILOT_ERR_PANIC: return "PANIC";
    case COPILOT_ERR_INTERNAL: return "INTERNAL";
    case COPILOT_ERR_NO_FIRST_EVENT: return "NO_FIRST_EVENT";
    case COPILOT_ERR_STALLED: return "STALLED";
    }
    return "UNKNOWN";
}

static const char *state_name(int s) {
    switch (s) {
    case COPILOT_CLIENT_DISCONNECTED: return "DISCONNECTED";
    case COPILOT_CLIENT_CONNECTING: return "CONNECTING";
    case COPILOT_CLIENT_CONNECTED: return "CONNECTED";
    case COPILOT_CLIENT_ERROR: return "ERROR";
    case COPILOT_CLIENT_RESTARTING: return "RESTARTING";
    }
    return "?";
}

static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("  ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    g_failed = 1;
}

static void set_status_text(const char *s) { snprintf(g_status, sizeof g_status, "%s", s); }
static void set_status(copilot_status st) { set_status_text(status_name(st)); }

static void extra(const char *fmt, ...) {
    size_t used = strlen(g_extra);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_extra + used, sizeof g_extra - used, fmt, ap);
    va_end(ap);
}

static void print_figures(const char *status, const char *verdict) {
    printf("FIGURES case=%s transport=%s status=%s", g_case, g_transport, status);
    if (g_time_to_error >= 0) printf(" time_to_error_ms=%lld", g_time_to_error);
    printf(" peak_rss_mib=%.0f", peak_rss_mib());
    if (g_events >= 0) printf(" events=%lld", g_events);
    printf("%s verdict=%s\n", g_extra, verdict);
    fflush(stdout);
}

/* Prints the figures and exits without running any teardown that could block. */
static _Noreturn void finish(void) {
    if (atomic_exchange(&g_finished, 1)) {
        for (;;) pause(); /* the watchdog is reporting a hang */
    }
    print_figures(g_status, g_failed ? "fail" : "pass");
    fflush(stderr);
    _exit(g_failed ? 1 : 0);
}

static void *watchdog(void *arg) {
    (void)arg;
    sleep_ms(g_bound_ms);
    if (atomic_exchange(&g_finished, 1)) return NULL;
    printf("FAIL: HANG: still running after %ld ms, stuck in: %s\n", g_bound_ms, g_step);
    print_figures("hang", "hang");
    fflush(stderr);
    _exit(3);
}

static int contains(const char *hay, const char *needle) { return hay && needle && strstr(hay, needle) != NULL; }

/* The integer after "key": in a JSON text; 0 when absent. */
static int json_int(const char *json, const char *key, long long *out) {
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = json ? strstr(json, pat) : NULL;
    if (!p) return 0;
    p += strlen(pat);
    while (*p == ' ') p++;
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p) return 0;
    *out = v;
    return 1;
}

/* Waits up to `ms` for *flag; returns whether it was set. */
static int wait_flag(atomic_int *flag, long ms) {
    long long deadline = now_ms() + ms;
    while (!atomic_load(flag)) {
        if (now_ms() >= deadline) return 0;
        sleep_ms(5);
    }
    return 1;
}

static char *prompt_json(size_t bytes) {
    char *p = malloc(bytes + 64);
    if (!p) {
        fail("out of memory for a %zu-byte prompt", bytes);
        finish();
    }
    size_t n = (size_t)sprintf(p, "{\"prompt\":\"");
    memset(p + n, 'x', bytes);
    n += bytes;
    strcpy(p + n, "\"}");
    return p;
}

static void fake_env(const char *name, long value) {
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", value);
    setenv(name, buf, 1);
}

/* ---- a call's outcome, possibly from another thread ------------------------------------- */

typedef struct {
    copilot_status st;
    char msg[8192];
    char *result;
    long long t_start, t_end;
    atomic_int done;
} outcome;

static void take(outcome *o, copilot_status st, copilot_error *err) {
    o->st = st;
    snprintf(o->msg, sizeof o->msg, "%s", err ? copilot_error_message(err) : "");
    copilot_error_free(err);
    o->t_end = now_ms();
    atomic_store(&o->done, 1);
}

static long long elapsed(const outcome *o) { return o->t_end - o->t_start; }

static void report(const char *what, const outcome *o) {
    say("%s -> %s after %lld ms%s%.600s", what, status_name(o->st), elapsed(o), *o->msg ? ": " : "", o->msg);
}

/* Checks status and that the message names each needle (NULL-terminated list). */
static int expect(const char *what, const outcome *o, copilot_status want, const char *const *needles) {
    int ok = 1;
    report(what, o);
    if (o->st != want) {
        fail("%s: status %s, want %s", what, status_name(o->st), status_name(want));
        ok = 0;
    }
    for (const char *const *n = needles; n && *n; n++) {
        if (!contains(o->msg, *n)) {
            fail("%s: the error message does not mention \"%s\"", what, *n);
            ok = 0;
        }
    }
    return ok;
}

typedef enum { OP_SEND, OP_CALL_TIMEOUT, OP_SEND_AND_WAIT, OP_STOP, OP_CLIENT_CALL } op_kind;

typedef struct {
    op_kind kind;
    const char *method;
    const char *payload;
    uint32_t timeout_ms;
    outcome out;
} job;

static void run_job(job *j) {
    copilot_error *err = NULL;
    copilot_status st = COPILOT_ERR_INTERNAL;
    j->out.t_start = now_ms();
    switch (j->kind) {
    case OP_SEND:
        st = copilot_session_send(g_session, j->payload, NULL, &err);
        break;
    case OP_CALL_TIMEOUT:
        st = copilot_session_call_timeout(g_session, j->method, j->payload, j->timeout_ms, &j->out.result, &err);
        break;
    case OP_SEND_AND_WAIT:
        st = copilot_session_send_and_wait(g_session, j->payload, j->timeout_ms, NULL, &err);
        break;
    case OP_STOP:
        st = copilot_client_stop(g_client, j->timeout_ms, &err);
        break;
    case OP_CLIENT_CALL:
        st = copilot_client_call(g_client, j->method, j->payload, &j->out.result, &err);
        break;
    }
    take(&j->out, st, err);
}

static void *job_thread(void *arg) {
    run_job(arg);
    return NULL;
}

static void start_job(job *j) {
    pthread_t t;
    if (pthread_create(&t, NULL, job_thread, j) != 0) {
        fail("pthread_create failed");
        finish();
    }
    pthread_detach(t);
}

static outcome client_call(const char *method, const char *params, uint32_t timeout_ms) {
    outcome o;
    memset(&o, 0, sizeof o);
    copilot_error *err = NULL;
    o.t_start = now_ms();
    copilot_status st = timeout_ms ? copilot_client_call_timeout(g_client, method, params, timeout_ms, &o.result, &err)
                                   : copilot_client_call(g_client, method, params, &o.result, &err);
    take(&o, st, err);
    return o;
}

static outcome session_send(const char *payload) {
    job j;
    memset(&j, 0, sizeof j);
    j.kind = OP_SEND;
    j.payload = payload;
    run_job(&j);
    return j.out;
}

static outcome ping(void) {
    outcome o;
    memset(&o, 0, sizeof o);
    copilot_error *err = NULL;
    o.t_start = now_ms();
    copilot_status st = copilot_client_ping(g_client, "still there?", &o.result, &err);
    take(&o, st, err);
    return o;
}

static void free_outcome(outcome *o) {
    copilot_string_free(o->result);
    o->result = NULL;
}

/* ---- client, state and session ------------------------------------------------------------ */

static pthread_mutex_t g_state_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_state_reason[4096];
static atomic_int g_state_seen = -1;
static atomic_llong g_state_error_at;

static void on_state(void *ud, copilot_client_state state, const char *reason) {
    (void)ud;
    pthread_mutex_lock(&g_state_mu);
    if (reason) snprintf(g_state_reason, sizeof g_state_reason, "%s", reason);
    pthread_mutex_unlock(&g_state_mu);
    atomic_store(&g_state_seen, (int)state);
    if ((state == COPILOT_CLIENT_ERROR || state == COPILOT_CLIENT_DISCONNECTED) && !atomic_load(&g_state_error_at))
        atomic_store(&g_state_error_at, now_ms());
}

static void state_reason(char *out, size_t n) {
    pthread_mutex_lock(&g_state_mu);
    snprintf(out, n, "%s", g_state_reason);
    pthread_mutex_unlock(&g_state_mu);
}

static copilot_status new_client(const char *extra_options, copilot_error **err) {
    char opts[4096];
    snprintf(opts, sizeof opts,
             "{\"cliPath\":\"%s\",\"transport\":\"%s\",\"autoRestart\":false,\"handshakeTimeoutMs\":15000%s%s}", g_fake,
             g_transport, extra_options && *extra_options ? "," : "", extra_options ? extra_options : "");
    say("client options %s", opts);
    return copilot_client_new(opts, &g_client, err);
}

/* A client with `extra_options`; if they are rejected (an option this build
 * does not know) the case fails, and goes on with `fallback` when given, to
 * measure how the library behaves without them. */
static void make_client(const char *extra_options, const char *fallback) {
    g_step = "copilot_client_new";
    copilot_error *err = NULL;
    copilot_status st = new_client(extra_options, &err);
    if (st != COPILOT_OK) {
        fail("copilot_client_new rejected the options: %s: %s", status_name(st), err ? copilot_error_message(err) : "");
        copilot_error_free(err);
        err = NULL;
        if (!fallback) {
            set_status_text("options-rejected");
            finish();
        }
        say("going on without those options to measure this build's behaviour");
        st = new_client(fallback, &err);
        if (st != COPILOT_OK) {
            fail("copilot_client_new: %s: %s", status_name(st), err ? copilot_error_message(err) : "");
            set_status_text("options-rejected");
            finish();
        }
    }
    copilot_error_free(err);
    if (copilot_client_on_state_change(g_client, on_state, NULL, NULL, NULL) != COPILOT_OK) {
        fail("copilot_client_on_state_change failed");
        finish();
    }
}

static void start_client(void) {
    g_step = "copilot_client_start";
    copilot_error *err = NULL;
    long long t0 = now_ms();
    copilot_status st = copilot_client_start(g_client, &err);
    if (st != COPILOT_OK) {
        fail("copilot_client_start: %s after %lld ms: %s", status_name(st), now_ms() - t0,
             err ? copilot_error_message(err) : "");
        copilot_error_free(err);
        set_status(st);
        finish();
    }
    say("started; CLI pid %u", copilot_client_cli_pid(g_client));
}

static copilot_session_config *config_new(void) {
    copilot_session_config *cfg = NULL;
    if (copilot_session_config_new(NULL, &cfg, NULL) != COPILOT_OK) {
        fail("copilot_session_config_new failed");
        finish();
    }
    return cfg;
}

static void create_session(copilot_session_config *cfg) {
    g_step = "copilot_client_create_session";
    copilot_error *err = NULL;
    copilot_status st = copilot_client_create_session(g_client, cfg, &g_session, &err);
    copilot_session_config_free(cfg);
    if (st != COPILOT_OK) {
        fail("copilot_client_create_session: %s: %s", status_name(st), err ? copilot_error_message(err) : "");
        copilot_error_free(err);
        set_status(st);
        finish();
    }
    say("session %s", copilot_session_id(g_session));
}

/* Polls the client's state until it is not CONNECTED; returns when, or 0. */
static long long wait_not_connected(long ms) {
    long long deadline = now_ms() + ms;
    while (now_ms() < deadline) {
        if (copilot_client_get_state(g_client) != COPILOT_CLIENT_CONNECTED) return now_ms();
        sleep_ms(20);
    }
    return 0;
}

/* Frees everything without blocking, then leaves room for a late SIGPIPE from a
 * background write to land while we are still watching. */
static void teardown(void) {
    g_step = "teardown (session/client free)";
    copilot_session_free(g_session);
    g_session = NULL;
    copilot_client_free(g_client);
    g_client = NULL;
    sleep_ms(400);
}

/* ---- event counting ------------------------------------------------------------------------ */

typedef struct {
    atomic_llong count;
    atomic_llong deltas;
    atomic_llong short_deltas;
    atomic_int idle;
    atomic_llong last_at;
    long sleep_first_ms;
    size_t expect_len;
} counter;

static counter g_counter;

static void on_event(void *ud, const char *type, const char *json, size_t len) {
    counter *c = ud;
    (void)json;
    long long n = atomic_fetch_add(&c->count, 1) + 1;
    if (n == 1 && c->sleep_first_ms > 0) {
        say("event callback: sleeping %ld ms on the first event", c->sleep_first_ms);
        sleep_ms(c->sleep_first_ms);
    }
    if (strcmp(type, "assistant.message_delta") == 0) {
        atomic_fetch_add(&c->deltas, 1);
        if (c->expect_len && len < c->expect_len) atomic_fetch_add(&c->short_deltas, 1);
    } else if (strcmp(type, "session.idle") == 0) {
        atomic_store(&c->idle, 1);
    }
    atomic_store(&c->last_at, now_ms());
}

static copilot_session_config *counting_config(long sleep_first_ms, size_t expect_len) {
    copilot_session_config *cfg = config_new();
    g_counter.sleep_first_ms = sleep_first_ms;
    g_counter.expect_len = expect_len;
    if (copilot_session_config_on_event(cfg, on_event, &g_counter, NULL, NULL) != COPILOT_OK) {
        fail("copilot_session_config_on_event failed");
        finish();
    }
    return cfg;
}

/* ==== 1. SIGPIPE ============================================================================= */

static atomic_uintptr_t g_held_request;

static void on_user_input(void *ud, copilot_request *request, const char *request_json) {
    (void)ud;
    say("userInput request: %.200s", request_json);
    atomic_store(&g_held_request, (uintptr_t)request);
}

/* 1a: userInput.request, then the CLI exits; the host (or the library) answers afterwards. */
static void case_sigpipe_input(int with_handler) {
    setenv("FAKE_CLI_MODE", "input_then_exit", 1);
    fake_env("FAKE_EXIT_CODE", 42);
    fake_env("FAKE_DELAY_MS", 200);
    make_client(NULL, NULL);
    start_client();
    copilot_session_config *cfg = config_new();
    if (with_handler &&
        copilot_session_config_set_handler(cfg, "userInput", on_user_input, NULL, NULL, NULL) != COPILOT_OK) {
        fail("set_handler(userInput) failed");
        finish();
    }
    create_session(cfg);
    long long t0 = now_ms();
    if (with_handler) {
        g_step = "waiting for the userInput.request to reach the handler";
        long long deadline = now_ms() + 10000;
        while (!atomic_load(&g_held_request) && now_ms() < deadline) sleep_ms(5);
        copilot_request *req = (copilot_request *)atomic_load(&g_held_request);
        if (!req) {
            fail("the userInput.request never reached the handler");
        } else {
            sleep_ms(500);
            g_step = "copilot_request_respond, 0.5 s after the CLI exited";
            copilot_error *err = NULL;
            copilot_status st = copilot_request_respond(req, "{\"answer\":\"yes\",\"wasFreeform\":false}", &err);
            say("copilot_request_respond after the CLI exited -> %s %s (the process survived the answer)",
                status_name(st), err ? copilot_error_message(err) : "");
            copilot_error_free(err);
        }
    } else {
        g_step = "waiting while the library answers the request by default";
        sleep_ms(1000);
    }
    sleep_ms(300);
    long long err_at = atomic_load(&g_state_error_at);
    if (err_at) g_time_to_error = err_at - t0;
    g_step = "copilot_session_send after the CLI exited";
    outcome o = session_send("{\"prompt\":\"still there?\"}");
    set_status(o.st);
    const char *const needles[] = {"exit code 42", STDERR_MARKER, NULL};
    expect("copilot_session_send after the CLI exited", &o, COPILOT_ERR_DISCONNECTED, needles);
    outcome p = ping();
    expect("copilot_client_ping after the CLI exited", &p, COPILOT_ERR_DISCONNECTED, needles);
    free_outcome(&p);
    int state = copilot_client_get_state(g_client);
    if (state != COPILOT_CLIENT_ERROR) fail("client state %s, want ERROR", state_name(state));
    teardown();
}

static void case_sigpipe_input_handler(void) { case_sigpipe_input(1); }
static void case_sigpipe_input_default(void) { case_sigpipe_input(0); }

/* 1b: the CLI stops reading and exits while a 10 MiB prompt is being written. */
static void case_sigpipe_big_send(void) {
    setenv("FAKE_CLI_MODE", "stop_reading_then_exit", 1); /* closes its input 0.3 s into our write */
    fake_env("FAKE_EXIT_CODE", 43);
    fake_env("FAKE_DELAY_MS", 300); /* after the host's write began */
    make_client(NULL, NULL);
    start_client();
    create_session(config_new());
    char *prompt = prompt_json(10 * MIB);
    g_step = "copilot_session_send(10 MiB) while the CLI stops reading and exits";
    outcome o = session_send(prompt);
    free(prompt);
    g_time_to_error = elapsed(&o);
    set_status(o.st);
    expect("copilot_session_send(10 MiB) into a CLI that exits", &o, COPILOT_ERR_DISCONNECTED, NULL);
    sleep_ms(300);
    const char *const needles[] = {"exit code 43", NULL};
    outcome p = ping();
    expect("copilot_client_ping afterwards", &p, COPILOT_ERR_DISCONNECTED, needles);
    free_outcome(&p);
    teardown();
}

/* Starts a 10 MiB send on another thread and checks it is blocked on the CLI that does not read. */
static job *start_blocked_send(void) {
    static job j;
    static char *prompt;
    prompt = prompt_json(10 * MIB);
    memset(&j, 0, sizeof j);
    j.kind = OP_SEND;
    j.payload = prompt;
    start_job(&j);
    sleep_ms(1500); /* a debug build takes a while to serialise 10 MiB */
    if (atomic_load(&j.out.done)) {
        report("copilot_session_send(10 MiB)", &j.out);
        fail("the 10 MiB send returned before the test could act on it: the write never blocked");
    } else {
        say("the 10 MiB send is blocked (the CLI stopped reading)");
    }
    return &j;
}

/* 1c: force_stop while a big write is blocked. */
static void case_sigpipe_force_stop(void) {
    setenv("FAKE_CLI_MODE", "stop_reading", 1);
    make_client(NULL, NULL);
    start_client();
    create_session(config_new());
    job *send = start_blocked_send();
    long long t = now_ms();
    g_step = "copilot_client_force_stop";
    copilot_client_force_stop(g_client);
    say("copilot_client_force_stop returned after %lld ms", now_ms() - t);
    g_step = "the blocked send, after force_stop";
    if (!wait_flag(&send->out.done, 5000)) {
        fail("the blocked copilot_session_send did not return within 5 s of force_stop");
        set_status_text("blocked");
        finish();
    }
    g_time_to_error = send->out.t_end - t;
    set_status(send->out.st);
    report("blocked copilot_session_send(10 MiB), after force_stop", &send->out);
    if (send->out.st == COPILOT_OK) fail("the blocked send succeeded although the CLI was killed");
    sleep_ms(300);
    teardown();
}

/* ==== 2. Bounded stop ========================================================================= */

static void stop_within_bound(void) {
    static job stop;
    memset(&stop, 0, sizeof stop);
    stop.kind = OP_STOP;
    stop.timeout_ms = 2000;
    start_job(&stop);
    g_step = "copilot_client_stop(client, 2000)";
    long bound = 2000 + 5000 + 1500;
    if (!wait_flag(&stop.out.done, bound)) {
        fail("copilot_client_stop(client, 2000) did not return within %ld ms", bound);
        g_time_to_error = now_ms() - stop.out.t_start;
        set_status_text("hang");
        finish();
    }
    g_time_to_error = elapsed(&stop.out);
    set_status(stop.out.st);
    report("copilot_client_stop(client, 2000)", &stop.out);
}

static void case_stop_bounded_big_send(void) {
    setenv("FAKE_CLI_MODE", "stop_reading", 1);
    make_client(NULL, NULL);
    start_client();
    create_session(config_new());
    job *send = start_blocked_send();
    stop_within_bound();
    g_step = "the blocked send, after stop";
    if (!wait_flag(&send->out.done, 2000)) {
        fail("the blocked copilot_session_send still blocks 2 s after stop returned");
        finish();
    }
    report("blocked copilot_session_send(10 MiB), after stop", &send->out);
    if (send->out.st == COPILOT_OK) fail("the blocked send succeeded although the CLI never read it");
    teardown();
}

static void case_stop_bounded_request_flood(void) {
    setenv("FAKE_CLI_MODE", "flood_requests", 1);
    /* Answers echo the 256-byte section: ~16 MB in all, far more than the
     * transport's buffers absorb, within the default maxOutgoingBytes, and
     * fewer answers than the library's cap on queued frames (65536), so the
     * connection stays up with its writes stuck. */
    setenv("FAKE_METHOD", "systemMessage.transform", 1);
    fake_env("FAKE_COUNT", 50000);
    fake_env("FAKE_SIZE", 256);
    fake_env("FAKE_DELAY_MS", 0);
    make_client(NULL, NULL);
    start_client();
    create_session(config_new());
    g_step = "letting 50000 systemMessage.transform arrive, their answers unread";
    sleep_ms(2500);
    int state = copilot_client_get_state(g_client);
    char reason[4096];
    state_reason(reason, sizeof reason);
    say("peak RSS %.0f MiB before stop; state %s%s%.600s", peak_rss_mib(), state_name(state), *reason ? ": " : "",
        reason);
    if (state != COPILOT_CLIENT_CONNECTED)
        fail("the connection was gone before stop (the scenario needs a live CLI that does not read)");
    stop_within_bound();
    teardown();
}

/* ==== 3. No torn frames ======================================================================= */

#define TORN_SENDERS 8

static void case_no_torn_frames(void) {
    setenv("FAKE_CLI_MODE", "normal", 1);
    make_client(NULL, NULL);
    start_client();
    create_session(config_new());
    char *prompt = prompt_json(1 * MIB);
    static job jobs[TORN_SENDERS];
    for (int phase = 0; phase < 2; phase++) {
        const char *what = phase == 0 ? "copilot_session_call_timeout(session.send, 1 MiB, 3000)"
                                      : "copilot_session_send_and_wait(1 MiB, 3000)";
        g_step = "fake.pause";
        outcome pause = client_call("fake.pause", "{\"ms\":4500}", 10000);
        if (pause.st != COPILOT_OK) {
            report("fake.pause", &pause);
            fail("the fake did not take fake.pause");
            set_status(pause.st);
            finish();
        }
        free_outcome(&pause);
        say("the CLI reads nothing for 4.5 s; %d threads each send: %s", TORN_SENDERS, what);
        for (int i = 0; i < TORN_SENDERS; i++) {
            memset(&jobs[i], 0, sizeof jobs[i]);
            jobs[i].kind = phase == 0 ? OP_CALL_TIMEOUT : OP_SEND_AND_WAIT;
            jobs[i].method = "session.send";
            jobs[i].payload = prompt;
            jobs[i].timeout_ms = 3000;
            start_job(&jobs[i]);
        }
        g_step = what;
        long long worst = 0;
        int timeouts = 0;
        for (int i = 0; i < TORN_SENDERS; i++) {
            if (!wait_flag(&jobs[i].out.done, 12000)) {
                fail("%s did not return within 12 s (limit 3 s)", what);
                set_status_text("hang");
                finish();
            }
            if (elapsed(&jobs[i].out) > worst) worst = elapsed(&jobs[i].out);
            if (jobs[i].out.st == COPILOT_ERR_TIMEOUT) {
                timeouts++;
            } else {
                report(what, &jobs[i].out);
                fail("%s: %s, want TIMEOUT", what, status_name(jobs[i].out.st));
            }
            free_outcome(&jobs[i].out);
        }
        say("%d of %d timed out, the last after %lld ms; first message: %.300s", timeouts, TORN_SENDERS, worst,
            jobs[0].out.msg);
        if (phase == 0) {
            g_time_to_error = worst;
            set_status_text(timeouts == TORN_SENDERS ? "TIMEOUT" : "mixed");
        }
        if (worst > 3000 + 3000) fail("%s took %lld ms for a 3000 ms limit", what, worst);
        g_step = "a small call after the timeouts";
        char params[64], needle[32];
        snprintf(needle, sizeof needle, "after-timeouts-%d", phase);
        snprintf(params, sizeof params, "{\"message\":\"%s\"}", needle);
        outcome after = client_call("ping", params, 20000);
        report("ping after the timeouts", &after);
        if (after.st != COPILOT_OK) {
            if (contains(after.msg, CORRUPT_MARKER))
                fail("a frame was torn: the CLI read a corrupt stream after the timeouts");
            else
                fail("the call after the timeouts failed: %s", status_name(after.st));
            set_status_text(contains(after.msg, CORRUPT_MARKER) ? "torn" : status_name(after.st));
            free(prompt);
            finish();
        }
        if (!contains(after.result, needle))
            fail("ping after the timeouts answered %s", after.result);
        free_outcome(&after);
    }
    free(prompt);
    outcome stats = client_call("fake.stats", NULL, 10000);
    long long sends = -1, corrupt = -1, frames = -1;
    if (stats.st == COPILOT_OK) {
        json_int(stats.result, "sends", &sends);
        json_int(stats.result, "corruptFrames", &corrupt);
        json_int(stats.result, "framesRead", &frames);
        say("the CLI read %lld frames intact, %lld of them session.send (of %d given up on)", frames, sends,
            2 * TORN_SENDERS);
        extra(" sends_received=%lld", sends);
    } else {
        report("fake.stats", &stats);
        fail("fake.stats failed");
    }
    free_outcome(&stats);
    teardown();
}

/* ==== 4. Memory ================================================================================ */

static void case_memory_event_flood(void) {
    long size = g_full ? 32 * MIB : 8 * MIB;
    long sleep_first = g_full ? 20000 : 3000;
    double bound = g_full ? 200 : 160;
    setenv("FAKE_CLI_MODE", "flood_events", 1);
    fake_env("FAKE_COUNT", 40);
    fake_env("FAKE_SIZE", size);
    fake_env("FAKE_WRAP", 0);
    make_client(NULL, NULL);
    start_client();
    create_session(counting_config(sleep_first, (size_t)size));
    say("40 events of %ld MiB each; the callback sleeps %ld ms on the first", size / MIB, sleep_first);
    long long t0 = now_ms();
    g_step = "copilot_session_send";
    outcome o = session_send("{\"prompt\":\"flood me\"}");
    if (o.st != COPILOT_OK) {
        report("copilot_session_send", &o);
        fail("send failed");
        set_status(o.st);
        finish();
    }
    g_step = "waiting for 40 big events";
    long long deadline = now_ms() + sleep_first + 60000;
    while (atomic_load(&g_counter.deltas) < 40 && now_ms() < deadline &&
           copilot_client_get_state(g_client) == COPILOT_CLIENT_CONNECTED)
        sleep_ms(20);
    g_events = atomic_load(&g_counter.deltas);
    g_time_to_error = atomic_load(&g_counter.last_at) - t0;
    set_status_text(g_events == 40 ? "OK" : "missing-events");
    double peak = peak_rss_mib();
    say("%lld of 40 events after %lld ms; peak RSS %.0f MiB (bound %.0f MiB)", g_events, g_time_to_error, peak, bound);
    if (g_events != 40) fail("%lld of 40 events arrived (state %s)", g_events, state_name(copilot_client_get_state(g_client)));
    if (atomic_load(&g_counter.short_deltas)) fail("%lld events arrived shorter than sent", (long long)atomic_load(&g_counter.short_deltas));
    if (peak >= bound) fail("peak RSS %.0f MiB, bound %.0f MiB", peak, bound);
    teardown();
}

static void case_memory_request_flood(void) {
    long count = g_full ? 1000000 : 50000;
    long size = g_full ? 256 : 4096;
    double bound = g_full ? 128 : 96;
    setenv("FAKE_CLI_MODE", "flood_requests", 1);
    setenv("FAKE_METHOD", "systemMessage.transform", 1);
    fake_env("FAKE_COUNT", count);
    fake_env("FAKE_SIZE", size);
    fake_env("FAKE_DELAY_MS", 0);
    make_client("\"maxOutgoingBytes\":1048576", "");
    start_client();
    create_session(config_new());
    say("the CLI sends %ld systemMessage.transform requests (%ld-byte sections, echoed in the answers) and reads none",
        count, size);
    long long t0 = now_ms();
    g_step = "waiting for the connection to fail";
    long long failed_at = wait_not_connected(g_full ? 180000 : 20000);
    double peak = peak_rss_mib();
    if (!failed_at) {
        g_time_to_error = now_ms() - t0;
        set_status_text("still-connected");
        fail("the connection did not fail within %lld ms although the CLI reads none of the answers", g_time_to_error);
    } else {
        g_time_to_error = failed_at - t0;
        outcome p = ping();
        set_status(p.st);
        expect("copilot_client_ping after the connection failed", &p, COPILOT_ERR_DISCONNECTED, NULL);
        char reason[4096];
        state_reason(reason, sizeof reason);
        say("state %s, reason: %.600s", state_name(copilot_client_get_state(g_client)), reason);
        const char *words[] = {"maxOutgoingBytes", "not reading", "stopped reading", "outgoing", NULL};
        int clear = 0;
        for (const char **w = words; *w; w++) clear |= contains(p.msg, *w) || contains(reason, *w);
        if (!clear) fail("the error does not say that the CLI stopped reading / the outgoing budget ran out");
        free_outcome(&p);
    }
    say("peak RSS %.0f MiB (bound %.0f MiB)", peak, bound);
    if (peak >= bound) fail("peak RSS %.0f MiB, bound %.0f MiB", peak, bound);
    teardown();
}

/* ==== 5. Keep-alive vs a slow callback ============================================================ */

static void case_keepalive_slow_callback(void) {
    const long long expected = 100000 + 3; /* user.message, 100000 deltas, assistant.message, session.idle */
    setenv("FAKE_CLI_MODE", "flood_events", 1);
    fake_env("FAKE_COUNT", 100000);
    fake_env("FAKE_SIZE", 16);
    fake_env("FAKE_WRAP", 1);
    make_client("\"keepAliveIntervalMs\":1000,\"pingTimeoutMs\":2000", NULL);
    start_client();
    unsigned pid = copilot_client_cli_pid(g_client);
    create_session(counting_config(8000, 0));
    long long t0 = now_ms();
    g_step = "copilot_session_send";
    outcome o = session_send("{\"prompt\":\"flood me\"}");
    if (o.st != COPILOT_OK) {
        report("copilot_session_send", &o);
        fail("send failed");
        set_status(o.st);
        finish();
    }
    g_step = "waiting for 100003 events";
    long long deadline = now_ms() + 90000;
    while (!(atomic_load(&g_counter.idle) && atomic_load(&g_counter.count) >= expected) && now_ms() < deadline &&
           copilot_client_get_state(g_client) == COPILOT_CLIENT_CONNECTED)
        sleep_ms(20);
    sleep_ms(300);
    g_events = atomic_load(&g_counter.count);
    g_time_to_error = atomic_load(&g_counter.last_at) - t0;
    int state = copilot_client_get_state(g_client);
    char reason[4096];
    state_reason(reason, sizeof reason);
    say("%lld of %lld events after %lld ms; state %s%s%.400s", g_events, expected, g_time_to_error, state_name(state),
        *reason ? ", reason: " : "", reason);
    set_status_text(state_name(state));
    if (g_events != expected) fail("%lld events delivered, the CLI sent %lld", g_events, expected);
    if (state != COPILOT_CLIENT_CONNECTED) fail("state %s: the CLI was dropped while the host was slow", state_name(state));
    if (copilot_client_cli_pid(g_client) != pid) fail("the CLI (pid %u) was killed", pid);
    outcome p = ping();
    if (p.st != COPILOT_OK) {
        report("copilot_client_ping afterwards", &p);
        fail("ping after the flood failed");
    }
    free_outcome(&p);
    teardown();
}

/* ==== 6. Smaller ==================================================================================== */

/* 6a: requests bounded by requestTimeoutMs; the message says what did not happen. */
static void case_timeout_no_reply(void) {
    setenv("FAKE_CLI_MODE", "mute", 1);
    make_client("\"requestTimeoutMs\":1500", NULL);
    start_client();
    create_session(config_new());
    const char *const no_reply[] = {"no reply", NULL};

    g_step = "copilot_client_call(fake.never) against a CLI that never answers";
    outcome a = client_call("fake.never", NULL, 0);
    g_time_to_error = elapsed(&a);
    set_status(a.st);
    expect("copilot_client_call, never answered", &a, COPILOT_ERR_TIMEOUT, no_reply);
    if (a.st == COPILOT_ERR_TIMEOUT && (elapsed(&a) < 1000 || elapsed(&a) > 8000))
        fail("timed out after %lld ms for requestTimeoutMs 1500", elapsed(&a));
    free_outcome(&a);

    g_step = "copilot_session_send against a CLI that never answers";
    outcome b = session_send("{\"prompt\":\"hello?\"}");
    expect("copilot_session_send, never answered", &b, COPILOT_ERR_TIMEOUT, no_reply);
    if (b.st == COPILOT_ERR_TIMEOUT && (elapsed(&b) < 1000 || elapsed(&b) > 8000))
        fail("timed out after %lld ms for requestTimeoutMs 1500", elapsed(&b));

    g_step = "fake.pause";
    outcome pause = client_call("fake.pause", "{\"ms\":30000}", 10000);
    free_outcome(&pause);
    g_step = "copilot_session_send(10 MiB) to a CLI that reads nothing";
    char *prompt = prompt_json(10 * MIB);
    outcome c = session_send(prompt);
    free(prompt);
    expect("copilot_session_send(10 MiB), never read", &c, COPILOT_ERR_TIMEOUT, NULL);
    if (c.st == COPILOT_ERR_TIMEOUT) {
        if (contains(c.msg, "no reply"))
            fail("the message says \"no reply\" for a request the CLI never read");
        if (!contains(c.msg, "not written") && !contains(c.msg, "not reading"))
            fail("the message does not say the request was not written / the CLI is not reading");
        if (elapsed(&c) > 8000) fail("timed out after %lld ms for requestTimeoutMs 1500", elapsed(&c));
    }
    teardown();
}

/* 6b: send_and_wait whose session.send is never answered. */
static void case_send_and_wait_message(void) {
    setenv("FAKE_CLI_MODE", "mute", 1);
    make_client(NULL, NULL);
    start_client();
    create_session(config_new());
    g_step = "copilot_session_send_and_wait(2500) whose session.send is never answered";
    job j;
    memset(&j, 0, sizeof j);
    j.kind = OP_SEND_AND_WAIT;
    j.payload = "{\"prompt\":\"hello?\"}";
    j.timeout_ms = 2500;
    run_job(&j);
    g_time_to_error = elapsed(&j.out);
    set_status(j.out.st);
    expect("copilot_session_send_and_wait, session.send never answered", &j.out, COPILOT_ERR_TIMEOUT, NULL);
    if (contains(j.out.msg, "no session.idle"))
        fail("the message claims \"no session.idle\" although session.send itself was never answered");
    if (elapsed(&j.out) > 2500 + 3000) fail("took %lld ms for a 2500 ms limit", elapsed(&j.out));
    teardown();
}

/* 6c: a send racing its session's destroy fails as the destroy, whatever the
 * CLI's teardown answers it (here after the destroy's own reply). */
static void case_send_racing_destroy(void) {
    setenv("FAKE_CLI_MODE", "destroy_race", 1);
    make_client(NULL, NULL);
    start_client();
    create_session(config_new());
    g_step = "copilot_session_send, held by the CLI, while the session is destroyed";
    job j;
    memset(&j, 0, sizeof j);
    j.kind = OP_SEND;
    j.payload = "{\"prompt\":\"hello?\"}";
    start_job(&j);
    long long sends = 0;
    for (long long deadline = now_ms() + 10000; sends < 1 && now_ms() < deadline; sleep_ms(20)) {
        outcome s = client_call("fake.stats", NULL, 5000);
        if (s.st == COPILOT_OK) json_int(s.result, "sends", &sends);
        free_outcome(&s);
    }
    if (sends < 1) fail("the fake CLI never received the session.send");
    copilot_error *err = NULL;
    copilot_status st = copilot_session_destroy(g_session, &err);
    if (st != COPILOT_OK) fail("copilot_session_destroy: %s: %s", status_name(st), err ? copilot_error_message(err) : "");
    copilot_error_free(err);
    if (!wait_flag(&j.out.done, 10000)) {
        fail("copilot_session_send did not return within 10 s of the destroy");
        set_status_text("blocked");
        finish();
    }
    set_status(j.out.st);
    const char *const needles[] = {"destroyed during session.send", "Unknown session", NULL};
    expect("copilot_session_send racing copilot_session_destroy", &j.out, COPILOT_ERR_INVALID_STATE, needles);
    teardown();
}

/* 6e: dropped input is counted and visible through copilot_client_stats. */
static void case_dropped_input_stats(void) {
    setenv("FAKE_CLI_MODE", "bad_events", 1);
    make_client(NULL, NULL);
    start_client();
    create_session(counting_config(0, 0));
    long long t0 = now_ms();
    g_step = "copilot_session_send";
    outcome o = session_send("{\"prompt\":\"bad events please\"}");
    if (o.st != COPILOT_OK) {
        report("copilot_session_send", &o);
        fail("send failed");
        set_status(o.st);
        finish();
    }
    g_step = "waiting for the session.idle after three bad events";
    if (!wait_flag(&g_counter.idle, 15000))
        fail("the session.idle after the bad events never arrived (state %s)",
             state_name(copilot_client_get_state(g_client)));
    g_time_to_error = now_ms() - t0;
    g_events = atomic_load(&g_counter.count);
    say("%lld event(s) delivered (want 1: only the session.idle)", g_events);
    if (g_events != 1) fail("%lld events delivered, want 1", g_events);
#ifdef HOSTILE_HAVE_CLIENT_STATS
    g_step = "copilot_client_stats";
    char *stats = NULL;
    copilot_error *err = NULL;
    copilot_status st = copilot_client_stats(g_client, &stats, &err);
    set_status(st);
    if (st != COPILOT_OK) {
        fail("copilot_client_stats: %s: %s", status_name(st), err ? copilot_error_message(err) : "");
    } else {
        long long dropped = -1;
        say("copilot_client_stats: %.600s", stats);
        if (!json_int(stats, "droppedMessages", &dropped)) fail("no droppedMessages in %s", stats);
        extra(" dropped=%lld", dropped);
        if (dropped < 3) fail("droppedMessages %lld: the fake sent 3 events to drop", dropped);
        const char *reason = strstr(stats, "\"lastDropReason\":");
        if (!reason || strncmp(reason + strlen("\"lastDropReason\":"), "\"", 1) != 0 ||
            strncmp(reason + strlen("\"lastDropReason\":"), "\"\"", 2) == 0)
            fail("no lastDropReason in %s", stats);
    }
    copilot_error_free(err);
    copilot_string_free(stats);
#else
    fail("copilot_client_stats is not declared in include/copilot.h: the drops cannot be read");
    set_status_text("no-stats-api");
#endif
    outcome p = ping();
    if (p.st != COPILOT_OK) {
        report("copilot_client_ping after the bad events", &p);
        fail("the connection did not survive the bad events");
    }
    free_outcome(&p);
    teardown();
}

/* 6f: a write into a CLI that closed its input: the error names its exit and stderr. */
static void case_broken_pipe_message(void) {
    setenv("FAKE_CLI_MODE", "close_input_then_exit", 1);
    fake_env("FAKE_EXIT_CODE", 3);
    fake_env("FAKE_DELAY_MS", g_tcp ? 20 : 300);
    make_client(NULL, NULL);
    start_client();
    create_session(config_new());
    sleep_ms(50);
    g_step = "copilot_session_send into a CLI that closed its input";
    const char *const needles[] = {"exit code 3", STDERR_MARKER, NULL};
    outcome o = session_send("{\"prompt\":\"anyone?\"}");
    g_time_to_error = elapsed(&o);
    set_status(o.st);
    expect("copilot_session_send into a closed input", &o, COPILOT_ERR_DISCONNECTED, needles);
    outcome p = ping();
    expect("copilot_client_ping afterwards", &p, COPILOT_ERR_DISCONNECTED, needles);
    free_outcome(&p);
    teardown();
}

/* ==== 7. Wire abuse (regression guard) ================================================================ */

static void wire_case(const char *kind, const char *needle) {
    double bound = 64;
    if (strcmp(kind, "protocol_version") == 0) {
        setenv("FAKE_CLI_MODE", "normal", 1);
        fake_env("FAKE_PROTOCOL_VERSION", 2);
        make_client(NULL, NULL);
        g_step = "copilot_client_start against protocol version 2";
        outcome o;
        memset(&o, 0, sizeof o);
        copilot_error *err = NULL;
        o.t_start = now_ms();
        copilot_status st = copilot_client_start(g_client, &err);
        take(&o, st, err);
        g_time_to_error = elapsed(&o);
        set_status(o.st);
        const char *const needles[] = {"version 2", NULL};
        expect("copilot_client_start, CLI speaks protocol 2", &o, COPILOT_ERR_PROTOCOL_VERSION, needles);
        if (elapsed(&o) > 10000) fail("took %lld ms", elapsed(&o));
        if (copilot_client_cli_pid(g_client) != 0) fail("the CLI is still running after the refused handshake");
    } else {
        setenv("FAKE_CLI_MODE", "normal", 1);
        make_client(NULL, NULL);
        start_client();
        char params[128];
        snprintf(params, sizeof params, "{\"kind\":\"%s\"}", kind);
        g_step = "copilot_client_call_timeout(fake.abuse)";
        outcome o = client_call("fake.abuse", params, 15000);
        g_time_to_error = elapsed(&o);
        set_status(o.st);
        if (needle) {
            /* Fatal: the connection is closed with a clear error. */
            const char *const needles[] = {needle, NULL};
            expect("fake.abuse", &o, COPILOT_ERR_DISCONNECTED, needles);
            if (elapsed(&o) > 10000) fail("took %lld ms", elapsed(&o));
            sleep_ms(200);
            int state = copilot_client_get_state(g_client);
            if (state != COPILOT_CLIENT_ERROR) fail("state %s, want ERROR", state_name(state));
            outcome p = ping();
            expect("copilot_client_ping afterwards", &p, COPILOT_ERR_DISCONNECTED, NULL);
            free_outcome(&p);
        } else {
            /* Ignorable: dropped, and the real reply still completes the call. */
            expect("fake.abuse", &o, COPILOT_OK, NULL);
            if (o.st == COPILOT_OK && !contains(o.result, "\"real\":true"))
                fail("the call completed with a bogus reply: %s", o.result);
            outcome p = ping();
            expect("copilot_client_ping afterwards", &p, COPILOT_OK, NULL);
            free_outcome(&p);
        }
        free_outcome(&o);
    }
    double peak = peak_rss_mib();
    if (peak >= bound) fail("peak RSS %.0f MiB, bound %.0f MiB", peak, bound);
    teardown();
}

static void case_wire_huge_length(void) { wire_case("huge_length", "Content-Length"); }
static void case_wire_negative_length(void) { wire_case("negative_length", "Content-Length"); }
static void case_wire_endless_headers(void) { wire_case("endless_headers", "header"); }
static void case_wire_deep_json(void) { wire_case("deep_json", NULL); }
static void case_wire_invalid_utf8(void) { wire_case("invalid_utf8", NULL); }
static void case_wire_odd_ids(void) { wire_case("odd_ids", NULL); }
static void case_wire_protocol_version(void) { wire_case("protocol_version", NULL); }

/* ==== main =========================================================================================== */

static const struct {
    const char *name;
    void (*run)(void);
} CASES[] = {
    {"sigpipe_input_handler", case_sigpipe_input_handler},
    {"sigpipe_input_default", case_sigpipe_input_default},
    {"sigpipe_big_send", case_sigpipe_big_send},
    {"sigpipe_force_stop", case_sigpipe_force_stop},
    {"stop_bounded_big_send", case_stop_bounded_big_send},
    {"stop_bounded_request_flood", case_stop_bounded_request_flood},
    {"no_torn_frames", case_no_torn_frames},
    {"memory_event_flood", case_memory_event_flood},
    {"memory_request_flood", case_memory_request_flood},
    {"keepalive_slow_callback", case_keepalive_slow_callback},
    {"timeout_no_reply", case_timeout_no_reply},
    {"send_and_wait_message", case_send_and_wait_message},
    {"send_racing_destroy", case_send_racing_destroy},
    {"dropped_input_stats", case_dropped_input_stats},
    {"broken_pipe_message", case_broken_pipe_message},
    {"wire_huge_length", case_wire_huge_length},
    {"wire_negative_length", case_wire_negative_length},
    {"wire_endless_headers", case_wire_endless_headers},
    {"wire_deep_json", case_wire_deep_json},
    {"wire_invalid_utf8", case_wire_invalid_utf8},
    {"wire_odd_ids", case_wire_odd_ids},
    {"wire_protocol_version", case_wire_protocol_version},
};

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Default SIGPIPE disposition, unblocked: whatever we inherited. */
    signal(SIGPIPE, SIG_DFL);
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_UNBLOCK, &pipe_set, NULL);

    size_t ncases = sizeof CASES / sizeof CASES[0];
    if (argc != 3 || (strcmp(argv[2], "stdio") != 0 && strcmp(argv[2], "tcp") != 0)) {
        fprintf(stderr, "usage: %s <case> <stdio|tcp>\ncases:", argv[0]);
        for (size_t i = 0; i < ncases; i++) fprintf(stderr, " %s", CASES[i].name);
        fprintf(stderr, "\n");
        return 2;
    }
    g_case = argv[1];
    g_transport = argv[2];
    g_tcp = strcmp(g_transport, "tcp") == 0;
    const char *env = getenv("HOSTILE_FAKE_CLI");
    if (env && *env) g_fake = env;
    env = getenv("HOSTILE_FULL");
    g_full = env && strcmp(env, "1") == 0;
    env = getenv("HOSTILE_BOUND_MS");
    if (env && atol(env) > 0) g_bound_ms = atol(env);
    /* The fake never outlives this run by much, whatever happens. */
    fake_env("FAKE_LIFETIME_S", g_bound_ms / 1000 + 30);

    void (*run)(void) = NULL;
    for (size_t i = 0; i < ncases; i++)
        if (strcmp(CASES[i].name, g_case) == 0) run = CASES[i].run;
    if (!run) {
        fprintf(stderr, "unknown case %s\n", g_case);
        return 2;
    }
    printf("case %s, transport %s%s, fake CLI %s, libcopilot %s\n", g_case, g_transport, g_full ? " (full size)" : "",
           g_fake, copilot_version());
    pthread_t dog;
    pthread_create(&dog, NULL, watchdog, NULL);
    pthread_detach(dog);
    run();
    finish();
}
