/*
 * C API misuse against the real CLI, meant to run under AddressSanitizer +
 * UBSan and under valgrind memcheck (tests/c_abi.rs does both): every misuse
 * gets a clear status or is a documented no-op, nothing hangs, and the tools
 * report no error and no leak.
 *
 * Environment (set by tests/c_abi.rs):
 *   COPILOT_TEST_OPTIONS  client options JSON (real CLI, isolated env)
 *   COPILOT_TEST_SESSION  session config JSON (BYOK provider = copilot-replay
 *                         serving tests/conversations/{weather_tool,chat}.yaml)
 * Prints one "ok"/"not ok" line per check; exits 1 if any failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "copilot.h"

static const char *OPTIONS;
static const char *SESSION;

static const char *WEATHER_TOOL =
    "{\"name\":\"get_weather\",\"description\":\"Weather for a city\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}";
static const char *PARIS = "{\"prompt\":\"What is the weather in Paris? Use the get_weather tool.\"}";
static const char *OSLO = "{\"prompt\":\"What is the weather in Oslo? Use the get_weather tool.\"}";

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits up to `ms` for *flag to become non-zero. */
static int wait_flag(atomic_int *flag, long ms) {
    for (long waited = 0; waited < ms; waited += 10) {
        if (atomic_load(flag)) return 1;
        sleep_ms(10);
    }
    return atomic_load(flag) != 0;
}

static copilot_client *start_client(void) {
    copilot_client *client = NULL;
    copilot_error *err = NULL;
    copilot_status st = copilot_client_new(OPTIONS, &client, &err);
    if (st == COPILOT_OK) st = copilot_client_start(client, &err);
    CHECK(st == COPILOT_OK, "client starts (%s)", err ? copilot_error_message(err) : "ok");
    copilot_error_free(err);
    return client;
}

/* A session with the weather tool bound to `tool`, approve-all, and an optional event handler. */
static copilot_session *weather_session(copilot_client *client, copilot_tool_fn tool, void *tool_data,
                                        copilot_event_fn on_event, void *event_data) {
    copilot_session_config *cfg = NULL;
    copilot_session *session = NULL;
    copilot_error *err = NULL;
    copilot_status st = copilot_session_config_new(SESSION, &cfg, &err);
    if (st == COPILOT_OK && tool) st = copilot_session_config_add_tool(cfg, WEATHER_TOOL, tool, tool_data, NULL, &err);
    if (st == COPILOT_OK) st = copilot_session_config_approve_all(cfg, &err);
    if (st == COPILOT_OK && on_event) st = copilot_session_config_on_event(cfg, on_event, event_data, NULL, &err);
    if (st == COPILOT_OK) st = copilot_client_create_session(client, cfg, &session, &err);
    CHECK(st == COPILOT_OK && session, "session created (%s)", err ? copilot_error_message(err) : "ok");
    copilot_error_free(err);
    copilot_session_config_free(cfg);
    return session;
}

/* ---- NULLs, bad text, bad JSON ------------------------------------------------------- */

static void test_bad_arguments(void) {
    copilot_client *client = NULL;
    copilot_session_config *cfg = NULL;
    char *out = NULL;

    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "client_new(NULL out)", copilot_client_new(OPTIONS, NULL, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "client_new(invalid UTF-8)", copilot_client_new("{\"cliPath\": \"\xc3\x28\"}", &client, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_JSON, "client_new(truncated JSON)", copilot_client_new("{\"cliPath\": ", &client, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "client_call(NULL client)", copilot_client_call(NULL, "ping", NULL, &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "session_call(NULL session)", copilot_session_call(NULL, "session.mode.get", NULL, &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "session_call_timeout(NULL method)",
                  copilot_session_call_timeout(NULL, NULL, NULL, 100, &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "client_call_timeout(NULL client)",
                  copilot_client_call_timeout(NULL, "ping", NULL, 100, &out, &err));
    /* The typed calls check their arguments before anything is sent. */
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "client_get_status(NULL client)", copilot_client_get_status(NULL, &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "client_get_auth_status(NULL client)", copilot_client_get_auth_status(NULL, &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "client_list_sessions(NULL client)", copilot_client_list_sessions(NULL, NULL, &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "client_get_session_metadata(NULL client)",
                  copilot_client_get_session_metadata(NULL, "x", &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "session_set_model(NULL session)", copilot_session_set_model(NULL, "gpt-5", NULL, &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_JSON, "config_new(truncated JSON)", copilot_session_config_new("{\"model\": \"gpt-5\",", &cfg, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_JSON, "config_new(array)", copilot_session_config_new("[\"not\", \"an object\"]", &cfg, &err));
    CHECK(copilot_session_config_new(NULL, &cfg, NULL) == COPILOT_OK, "config_new(NULL) is the defaults");
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "set_hook(NULL hook type)", copilot_session_config_set_hook(cfg, NULL, (copilot_request_fn)1, NULL, NULL, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "add_tool(invalid UTF-8)", copilot_session_config_add_tool(cfg, "{\"name\": \"\xff\"}", (copilot_tool_fn)1, NULL, NULL, &err));
    copilot_session_config_free(cfg);
    CHECK(out == NULL, "no out-param written on error");

    /* A session filesystem provider needs each session to answer sessionFs.* */
    EXPECT_STATUS(COPILOT_ERR_INVALID_JSON, "client_new(sessionFs without sessionStatePath)",
                  copilot_client_new("{\"sessionFs\": {\"initialCwd\": \"/\", \"conventions\": \"posix\"}}", &client, &err));
    CHECK(copilot_client_new("{\"autoStart\": false, \"sessionFs\": {\"initialCwd\": \"/\", \"sessionStatePath\": \"/s\", \"conventions\": \"posix\"}}",
                             &client, NULL) == COPILOT_OK, "client_new(sessionFs)");
    CHECK(copilot_session_config_new(NULL, &cfg, NULL) == COPILOT_OK, "config_new");
    copilot_session *no_fs = NULL;
    copilot_client *no_storage = NULL;
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "create_session(sessionFs client, no sessionFs handler)",
                  copilot_client_create_session(client, cfg, &no_fs, &err));
    CHECK(no_fs == NULL, "no session on error");
    copilot_session_config_free(cfg);
    /* Mode "empty": storage of the host's choosing, and sessions that name their
       tools by source (a bare "*" is refused in any mode), checked before anything is sent. */
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "client_new(mode empty, no storage)",
                  copilot_client_new("{\"mode\": \"empty\"}", &no_storage, &err));
    CHECK(no_storage == NULL, "no client on error");
    CHECK(copilot_client_new("{\"autoStart\": false, \"mode\": \"empty\", \"baseDirectory\": \"/tmp\"}",
                             &no_storage, NULL) == COPILOT_OK, "client_new(mode empty)");
    CHECK(copilot_session_config_new(NULL, &cfg, NULL) == COPILOT_OK, "config_new");
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "create_session(mode empty, no availableTools)",
                  copilot_client_create_session(no_storage, cfg, &no_fs, &err));
    copilot_session_config_free(cfg);
    CHECK(copilot_session_config_new("{\"availableTools\": [\"*\"]}", &cfg, NULL) == COPILOT_OK, "config_new(bare *)");
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "create_session(availableTools [\"*\"])",
                  copilot_client_create_session(no_storage, cfg, &no_fs, &err));
    copilot_session_config_free(cfg);
    copilot_client_free(no_storage);
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "client_on_lifecycle(NULL handler)",
                  copilot_client_on_lifecycle(client, NULL, NULL, NULL, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "client_on_lifecycle(NULL client)",
                  copilot_client_on_lifecycle(NULL, (copilot_lifecycle_fn)1, NULL, NULL, &err));
    copilot_client_free(client);
    client = NULL;

    CHECK(copilot_log_set_handler(42, NULL, NULL, NULL, NULL) == COPILOT_ERR_INVALID_ARGUMENT,
          "log_set_handler(level 42)");
}

/* ---- Unknown session, double close ---------------------------------------------------- */

static void test_unknown_session_and_double_close(void) {
    copilot_client *client = start_client();
    copilot_error *err = NULL;
    copilot_session *ghost = NULL;
    EXPECT_STATUS(COPILOT_ERR_RPC, "resume an unknown session", copilot_client_resume_session(client, "6a1b0d6e-0000-4000-8000-000000000000", NULL, &ghost, &err));
    CHECK(ghost == NULL, "no handle for an unknown session");

    copilot_session *session = weather_session(client, NULL, NULL, NULL, NULL);
    /* No client of this session can show a dialog: the CLI leaves this request
     * unanswered, and only the caller's limit ends the wait. */
    char *answer = NULL;
    EXPECT_STATUS(COPILOT_ERR_TIMEOUT, "session_call_timeout on a request the CLI leaves unanswered",
                  copilot_session_call_timeout(session, "session.ui.elicitation",
                                               "{\"message\": \"Pick one\", \"requestedSchema\": {\"type\": \"object\", "
                                               "\"properties\": {\"x\": {\"type\": \"string\"}}}}",
                                               300, &answer, &err));
    CHECK(answer == NULL, "no result on timeout");
    CHECK(copilot_session_call_timeout(session, "session.mode.get", NULL, 30000, &answer, NULL) == COPILOT_OK && answer,
          "the session answers the next call");
    copilot_string_free(answer);
    answer = NULL;
    /* The typed calls: results and errors freed, nothing leaked. */
    EXPECT_STATUS(COPILOT_ERR_INVALID_JSON, "set_model(options not an object)",
                  copilot_session_set_model(session, "gpt-5", "[\"high\"]", &answer, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "set_model(empty model_id)", copilot_session_set_model(session, "", NULL, &answer, &err));
    CHECK(answer == NULL, "no result on error");
    CHECK(copilot_session_set_model(session, "gpt-5", "{\"reasoningEffort\": \"low\"}", &answer, NULL) == COPILOT_OK && answer,
          "set_model");
    copilot_string_free(answer);
    answer = NULL;
    CHECK(copilot_client_list_sessions(client, "{\"cwd\": \"/nonexistent\"}", &answer, NULL) == COPILOT_OK && answer,
          "list_sessions");
    copilot_string_free(answer);
    answer = NULL;
    EXPECT_STATUS(COPILOT_ERR_INVALID_JSON, "list_sessions(truncated filter)", copilot_client_list_sessions(client, "{\"cwd\": ", &answer, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "get_session_metadata(NULL out)",
                  copilot_client_get_session_metadata(client, copilot_session_id(session), NULL, &err));
    CHECK(copilot_session_destroy(session, &err) == COPILOT_OK, "destroy");
    EXPECT_STATUS(COPILOT_OK, "destroy again is a no-op", copilot_session_destroy(session, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_STATE, "send after destroy", copilot_session_send(session, "{\"prompt\":\"x\"}", NULL, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_STATE, "set_model after destroy", copilot_session_set_model(session, "gpt-5", NULL, NULL, &err));
    copilot_session_free(session);

    CHECK(copilot_client_stop(client, 5000, &err) == COPILOT_OK, "stop");
    EXPECT_STATUS(COPILOT_OK, "stop again is a no-op", copilot_client_stop(client, 5000, &err));
    copilot_client_force_stop(client);
    copilot_client_force_stop(client);
    char *pong = NULL;
    EXPECT_STATUS(COPILOT_ERR_INVALID_STATE, "ping after stop", copilot_client_ping(client, "x", &pong, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_STATE, "get_status after stop", copilot_client_get_status(client, &pong, &err));
    CHECK(copilot_client_start(client, &err) == COPILOT_OK, "start again after stop");
    copilot_error_free(err);
    copilot_client_free(client);
}

/* ---- Invocations answered twice, or never --------------------------------------------- */

struct answers {
    atomic_int calls;
    atomic_int second_status;
    atomic_int free_after_answer_done;
};

static void answer_twice(void *ud, copilot_tool_invocation *inv, const char *json) {
    (void)json;
    struct answers *a = ud;
    atomic_fetch_add(&a->calls, 1);
    copilot_tool_invocation_complete(inv, "\"18C and sunny\"", NULL);
    copilot_error *err = NULL;
    atomic_store(&a->second_status, (int)copilot_tool_invocation_complete(inv, "\"again\"", &err));
    copilot_error_free(err);
    CHECK(copilot_tool_invocation_json(inv) == NULL, "an answered invocation has no JSON");
    copilot_tool_invocation_free(inv); /* after the answer: a no-op */
    copilot_tool_invocation_fail(inv, "late", NULL);
    atomic_store(&a->free_after_answer_done, 1);
}

static void drop_unanswered(void *ud, copilot_tool_invocation *inv, const char *json) {
    (void)json;
    struct answers *a = ud;
    atomic_fetch_add(&a->calls, 1);
    copilot_tool_invocation_free(inv);
}

static copilot_tool_invocation *kept_invocation;

static void keep_forever(void *ud, copilot_tool_invocation *inv, const char *json) {
    (void)json;
    struct answers *a = ud;
    kept_invocation = inv;
    atomic_fetch_add(&a->calls, 1);
}

static void test_answer_twice_and_never(void) {
    copilot_client *client = start_client();
    copilot_error *err = NULL;
    char *answer = NULL;

    struct answers twice = {0};
    copilot_session *s1 = weather_session(client, answer_twice, &twice, NULL, NULL);
    copilot_status st = copilot_session_send_and_wait(s1, PARIS, 60000, &answer, &err);
    CHECK(st == COPILOT_OK && answer && strstr(answer, "18C and sunny in Paris"), "turn with a double answer ends");
    CHECK(atomic_load(&twice.second_status) == COPILOT_ERR_INVALID_ARGUMENT,
          "second complete refused (%d)", atomic_load(&twice.second_status));
    CHECK(atomic_load(&twice.free_after_answer_done), "free and fail after the answer are no-ops");
    copilot_string_free(answer);
    answer = NULL;
    copilot_error_free(err);
    err = NULL;
    copilot_session_free(s1);

    /* Freed unanswered: the tool call fails and the model is told so. */
    struct answers dropped = {0};
    copilot_session *s2 = weather_session(client, drop_unanswered, &dropped, NULL, NULL);
    st = copilot_session_send_and_wait(s2, OSLO, 60000, &answer, &err);
    CHECK(st == COPILOT_OK && answer && strstr(answer, "could not get the weather"),
          "an unanswered invocation ends the turn with a failed result (%d)", (int)st);
    copilot_string_free(answer);
    answer = NULL;
    copilot_error_free(err);
    err = NULL;
    copilot_session_free(s2);

    /* Never answered while the client stops: no hang, and the late free is safe. */
    struct answers kept = {0};
    copilot_session *s3 = weather_session(client, keep_forever, &kept, NULL, NULL);
    CHECK(copilot_session_send(s3, PARIS, NULL, &err) == COPILOT_OK, "send with a tool that never answers");
    CHECK(wait_flag(&kept.calls, 30000), "tool called");
    st = copilot_client_stop(client, 10000, &err);
    CHECK(st == COPILOT_OK, "stop with an invocation outstanding (%d)", (int)st);
    copilot_error_free(err);
    copilot_tool_invocation_free(kept_invocation); /* after its client stopped */
    copilot_session_free(s3);
    copilot_client_free(client);
}

/* ---- Freeing handles from inside callbacks, slow callbacks ----------------------------- */

struct freeing {
    copilot_session *session;
    copilot_client *client;
    atomic_int freed;
    atomic_int events_after_free;
};

static void free_session_on_message(void *ud, const char *type, const char *json, size_t len) {
    (void)json;
    (void)len;
    struct freeing *f = ud;
    if (atomic_load(&f->freed)) {
        atomic_fetch_add(&f->events_after_free, 1);
        return;
    }
    if (strcmp(type, COPILOT_EVENT_ASSISTANT_MESSAGE) == 0) {
        copilot_session_free(f->session); /* frees the handle this callback belongs to */
        atomic_store(&f->freed, 1);
    }
}

static void free_client_on_message(void *ud, const char *type, const char *json, size_t len) {
    (void)json;
    (void)len;
    struct freeing *f = ud;
    if (strcmp(type, COPILOT_EVENT_ASSISTANT_MESSAGE) == 0 && !atomic_load(&f->freed)) {
        copilot_session_free(f->session);
        copilot_client_free(f->client); /* the client whose thread runs this callback */
        atomic_store(&f->freed, 1);
    }
}

static void complete_now(void *ud, copilot_tool_invocation *inv, const char *json) {
    (void)ud;
    (void)json;
    copilot_tool_invocation_complete(inv, "\"18C and sunny\"", NULL);
}

static void slow_tool(void *ud, copilot_tool_invocation *inv, const char *json) {
    (void)json;
    atomic_fetch_add((atomic_int *)ud, 1);
    sleep_ms(2000); /* blocks the client's callback thread */
    copilot_tool_invocation_complete(inv, "\"18C and sunny\"", NULL);
}

struct counted {
    atomic_int events;
    atomic_int idle;
};

static void count_events(void *ud, const char *type, const char *json, size_t len) {
    (void)json;
    (void)len;
    struct counted *c = ud;
    atomic_fetch_add(&c->events, 1);
    if (strcmp(type, COPILOT_EVENT_SESSION_IDLE) == 0) atomic_fetch_add(&c->idle, 1);
}

static void test_free_inside_callbacks_and_slow_callbacks(void) {
    copilot_error *err = NULL;

    /* A session freed by its own event handler. */
    copilot_client *client = start_client();
    struct freeing fs = {0};
    fs.session = weather_session(client, complete_now, NULL, free_session_on_message, &fs);
    CHECK(copilot_session_send(fs.session, PARIS, NULL, &err) == COPILOT_OK, "send");
    CHECK(wait_flag(&fs.freed, 30000), "session freed inside its event callback");
    sleep_ms(300);
    CHECK(atomic_load(&fs.events_after_free) == 0, "no event delivered after the free (%d)",
          atomic_load(&fs.events_after_free));
    char *pong = NULL;
    CHECK(copilot_client_ping(client, "still alive", &pong, &err) == COPILOT_OK, "client still works");
    copilot_string_free(pong);

    /* A callback that takes seconds: nothing lost, the turn completes. */
    atomic_int slow_calls = 0;
    struct counted counted = {0};
    copilot_session *slow = weather_session(client, slow_tool, &slow_calls, count_events, &counted);
    char *answer = NULL;
    copilot_status st = copilot_session_send_and_wait(slow, PARIS, 60000, &answer, &err);
    CHECK(st == COPILOT_OK && answer && strstr(answer, "18C and sunny in Paris"), "slow tool turn completes (%d)",
          (int)st);
    CHECK(atomic_load(&slow_calls) == 1 && atomic_load(&counted.idle) == 1, "every event still delivered (%d events)",
          atomic_load(&counted.events));
    copilot_string_free(answer);
    copilot_error_free(err);
    err = NULL;
    copilot_session_free(slow);
    copilot_client_stop(client, 5000, NULL);
    copilot_client_free(client);

    /* A client freed from inside one of its callbacks. */
    struct freeing fc = {0};
    fc.client = start_client();
    fc.session = weather_session(fc.client, complete_now, NULL, free_client_on_message, &fc);
    CHECK(copilot_session_send(fc.session, PARIS, NULL, &err) == COPILOT_OK, "send");
    CHECK(wait_flag(&fc.freed, 30000), "client freed inside its own callback");
    copilot_error_free(err);
}

/* ---- Poll-mode dispatch ------------------------------------------------------------------ */

/* What a poll-mode client's callbacks saw, all on the dispatching thread. */
struct polled {
    copilot_client *client;
    copilot_session *session;
    pthread_t loop;
    int off_thread;      /* callbacks that ran on another thread */
    int events, idle, tool_calls;
    char order[64][48];  /* the first event types, in delivery order */
    copilot_status nested; /* what a dispatch from inside a callback returned */
    int free_client_on_message;
    int freed;
};

static void polled_event(void *ud, const char *type, const char *json, size_t len) {
    (void)len;
    struct polled *p = ud;
    if (p->freed) {
        p->events++; /* counted as after the free below */
        return;
    }
    if (!pthread_equal(pthread_self(), p->loop)) p->off_thread++;
    if (p->events < 64) snprintf(p->order[p->events], sizeof p->order[0], "%s", type);
    p->events++;
    if (strcmp(type, COPILOT_EVENT_SESSION_IDLE) == 0) p->idle++;
    (void)json;
    if (p->events == 1) {
        size_t left = 0;
        p->nested = copilot_client_dispatch(p->client, 10, &left, NULL);
    }
    if (p->free_client_on_message && strcmp(type, COPILOT_EVENT_ASSISTANT_MESSAGE) == 0) {
        copilot_session_free(p->session);
        copilot_client_free(p->client); /* mid-dispatch: the rest of the batch must not touch it */
        p->freed = 1;
    }
}

static void polled_tool(void *ud, copilot_tool_invocation *inv, const char *json) {
    (void)json;
    struct polled *p = ud;
    if (!pthread_equal(pthread_self(), p->loop)) p->off_thread++;
    p->tool_calls++;
    copilot_tool_invocation_complete(inv, "\"18C and sunny\"", NULL);
}

/* The host's loop: waits for the fd, then runs `batch` callbacks, pausing
 * `pause_ms` between rounds (a slow loop), until idle or `ms` pass. */
static void run_loop(struct polled *p, int fd, size_t batch, long pause_ms, long ms) {
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (p->idle || p->freed) return;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > ms) return;
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 100) <= 0) continue;
        size_t left = 0;
        copilot_error *err = NULL;
        copilot_status st = copilot_client_dispatch(p->client, batch, &left, &err);
        if (st != COPILOT_OK) {
            CHECK(0, "dispatch failed: %s", copilot_error_message(err));
            copilot_error_free(err);
            return;
        }
        if (pause_ms) sleep_ms(pause_ms);
    }
}

static copilot_client *poll_client(void) {
    char buf[16384];
    size_t n = strlen(OPTIONS);
    if (n < 2 || n > sizeof buf - 64) return NULL;
    snprintf(buf, sizeof buf, "%.*s, \"dispatch\": \"poll\"}", (int)(n - 1), OPTIONS);
    copilot_client *client = NULL;
    copilot_error *err = NULL;
    copilot_status st = copilot_client_new(buf, &client, &err);
    if (st == COPILOT_OK) st = copilot_client_start(client, &err);
    CHECK(st == COPILOT_OK, "poll-mode client starts (%s)", err ? copilot_error_message(err) : "ok");
    copilot_error_free(err);
    return client;
}

static void test_poll_dispatch(void) {
    copilot_error *err = NULL;
    size_t left = 0;
    CHECK(copilot_client_dispatch_fd(NULL) == -1, "dispatch_fd(NULL) is -1");
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "dispatch(NULL)", copilot_client_dispatch(NULL, 1, &left, &err));
    copilot_client *threaded = NULL;
    CHECK(copilot_client_new(OPTIONS, &threaded, NULL) == COPILOT_OK, "a threaded client");
    CHECK(copilot_client_dispatch_fd(threaded) == -1, "no dispatch fd in threaded mode");
    EXPECT_STATUS(COPILOT_ERR_INVALID_STATE, "dispatch in threaded mode", copilot_client_dispatch(threaded, 1, &left, &err));
    copilot_client_free(threaded);

    /* A streamed tool turn, one callback per loop round and 5 ms between
     * rounds: everything on this thread, in order, nothing lost. */
    struct polled p = {0};
    p.loop = pthread_self();
    p.client = poll_client();
    int fd = copilot_client_dispatch_fd(p.client);
    CHECK(fd >= 0, "poll mode has a dispatch fd (%d)", fd);
    copilot_session_config *cfg = NULL;
    copilot_session *session = NULL;
    copilot_status st = copilot_session_config_new(SESSION, &cfg, &err);
    if (st == COPILOT_OK) st = copilot_session_config_add_tool(cfg, WEATHER_TOOL, polled_tool, &p, NULL, &err);
    if (st == COPILOT_OK) st = copilot_session_config_approve_all(cfg, &err);
    if (st == COPILOT_OK) st = copilot_session_config_on_event(cfg, polled_event, &p, NULL, &err);
    if (st == COPILOT_OK) st = copilot_client_create_session(p.client, cfg, &session, &err);
    copilot_session_config_free(cfg);
    CHECK(st == COPILOT_OK, "poll-mode session (%s)", err ? copilot_error_message(err) : "ok");
    copilot_error_free(err);
    err = NULL;
    CHECK(copilot_session_send(session, PARIS, NULL, &err) == COPILOT_OK, "send without dispatching");
    sleep_ms(300);
    CHECK(p.events == 0 && p.tool_calls == 0, "no callback runs until the host dispatches (%d)", p.events);
    run_loop(&p, fd, 1, 5, 60000);
    CHECK(p.idle == 1 && p.tool_calls == 1, "the turn completes through dispatch (idle %d, tool %d, %d events)", p.idle,
          p.tool_calls, p.events);
    CHECK(p.off_thread == 0, "every callback ran on the dispatching thread (%d did not)", p.off_thread);
    CHECK(p.nested == COPILOT_ERR_WRONG_THREAD, "dispatch inside a dispatched callback is refused (%d)", p.nested);
    CHECK(strcmp(p.order[p.events < 64 ? p.events - 1 : 63], COPILOT_EVENT_SESSION_IDLE) == 0 || p.events > 64,
          "session.idle comes last");
    int user_at = -1, tool_at = -1, answer_at = -1;
    for (int i = 0; i < p.events && i < 64; i++) {
        if (user_at < 0 && strcmp(p.order[i], COPILOT_EVENT_USER_MESSAGE) == 0) user_at = i;
        if (tool_at < 0 && strcmp(p.order[i], COPILOT_EVENT_TOOL_EXECUTION_COMPLETE) == 0) tool_at = i;
        if (strcmp(p.order[i], COPILOT_EVENT_ASSISTANT_MESSAGE) == 0) answer_at = i;
    }
    CHECK(user_at >= 0 && user_at < tool_at && tool_at < answer_at, "in wire order: prompt %d, tool %d, answer %d",
          user_at, tool_at, answer_at);
    CHECK(copilot_client_dispatch(p.client, 100, &left, NULL) == COPILOT_OK && left == 0, "nothing left (%zu)", left);
    struct pollfd pfd = {fd, POLLIN, 0};
    CHECK(poll(&pfd, 1, 0) == 0, "the fd is not readable once nothing waits");
    copilot_session_free(session);
    copilot_client_free(p.client);

    /* The client freed by one of its own callbacks, mid-dispatch. */
    struct polled q = {0};
    q.loop = pthread_self();
    q.free_client_on_message = 1;
    q.client = poll_client();
    fd = copilot_client_dispatch_fd(q.client);
    st = copilot_session_config_new(SESSION, &cfg, &err);
    if (st == COPILOT_OK) st = copilot_session_config_add_tool(cfg, WEATHER_TOOL, polled_tool, &q, NULL, &err);
    if (st == COPILOT_OK) st = copilot_session_config_approve_all(cfg, &err);
    if (st == COPILOT_OK) st = copilot_session_config_on_event(cfg, polled_event, &q, NULL, &err);
    if (st == COPILOT_OK) st = copilot_client_create_session(q.client, cfg, &q.session, &err);
    copilot_session_config_free(cfg);
    CHECK(st == COPILOT_OK && copilot_session_send(q.session, PARIS, NULL, &err) == COPILOT_OK, "send");
    copilot_error_free(err);
    run_loop(&q, fd, 64, 0, 60000);
    CHECK(q.freed, "client freed inside a dispatched callback");
}

/* ---- The in-process transport ---------------------------------------------------------- */

/* A client of `options` whose start must fail with `status` and a message holding `text`. */
static void expect_start_failure(const char *options, copilot_status status, const char *text, const char *what) {
    copilot_client *client = NULL;
    copilot_error *err = NULL;
    copilot_status st = copilot_client_new(options, &client, &err);
    if (st == COPILOT_OK) st = copilot_client_start(client, &err);
    const char *msg = err ? copilot_error_message(err) : "";
    CHECK(st == status && strstr(msg, text) != NULL, "%s: status %d, %s", what, st, msg);
    copilot_error_free(err);
    copilot_client_free(client);
}

/* COPILOT_TEST_INPROCESS_OPTIONS (in-process client options) and
 * COPILOT_TEST_NOT_A_RUNTIME (an existing library that is not the runtime):
 * a missing library, a wrong one, the real runtime (a ping, a turn, a free
 * from inside a callback) and then a second path, each a clear result. */
static void test_in_process(void) {
    const char *options = getenv("COPILOT_TEST_INPROCESS_OPTIONS");
    const char *not_a_runtime = getenv("COPILOT_TEST_NOT_A_RUNTIME");
    if (!options || !not_a_runtime) return;
    char buf[8192];
    size_t n = strlen(options);
    if (n < 2 || n > sizeof buf - 512) return;
    /* The options object with one more member. */
    snprintf(buf, sizeof buf, "%.*s, \"runtimeLibrary\": \"/nonexistent/runtime.node\"}", (int)(n - 1), options);
    expect_start_failure(buf, COPILOT_ERR_CLI_NOT_FOUND, "/nonexistent/runtime.node", "in process: a missing runtime library");
    snprintf(buf, sizeof buf, "%.*s, \"runtimeLibrary\": \"%s\"}", (int)(n - 1), options, not_a_runtime);
    expect_start_failure(buf, COPILOT_ERR_CONNECTION, "not a Copilot runtime library", "in process: a library that is not the runtime");

    copilot_client *client = NULL;
    copilot_error *err = NULL;
    copilot_status st = copilot_client_new(options, &client, &err);
    if (st == COPILOT_OK) st = copilot_client_start(client, &err);
    CHECK(st == COPILOT_OK, "in process: the runtime starts (%s)", err ? copilot_error_message(err) : "ok");
    copilot_error_free(err);
    err = NULL;
    char *out = NULL;
    EXPECT_STATUS(COPILOT_OK, "in process: ping", copilot_client_call(client, "ping", "{\"message\":\"in\"}", &out, &err));
    CHECK(out && strstr(out, "pong"), "in process: pong (%s)", out ? out : "null");
    copilot_string_free(out);
    CHECK(copilot_client_cli_pid(client) == 0, "in process: no CLI process");
    copilot_client_free(client);

    snprintf(buf, sizeof buf, "%.*s, \"runtimeLibrary\": \"%s\"}", (int)(n - 1), options, not_a_runtime);
    expect_start_failure(buf, COPILOT_ERR_INVALID_ARGUMENT, "already loaded", "in process: a second runtime library path");
}

int main(void) {
    OPTIONS = getenv("COPILOT_TEST_OPTIONS");
    SESSION = getenv("COPILOT_TEST_SESSION");
    if (!OPTIONS || !SESSION) {
        fprintf(stderr, "COPILOT_TEST_OPTIONS and COPILOT_TEST_SESSION must be set\n");
        return 2;
    }
    test_bad_arguments();
    test_unknown_session_and_double_close();
    test_answer_twice_and_never();
    test_free_inside_callbacks_and_slow_callbacks();
    test_poll_dispatch();
    test_in_process();
    /* Background shutdowns of freed clients finish before the leak check runs. */
    sleep_ms(1500);
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
