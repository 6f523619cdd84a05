/*
 * Tests of libcopilot through its real C ABI, built against include/copilot.h.
 * Run by tests/c_abi.rs, which passes:
 *   COPILOT_TEST_OPTIONS  client options JSON (real CLI, isolated env)
 *   COPILOT_TEST_SESSION  session config JSON (BYOK provider = copilot-replay
 *                         serving tests/conversations/{weather_tool,chat}.yaml)
 *   COPILOT_TEST_CWD      the session config's workingDirectory
 * Prints one "ok"/"not ok" line per check; exits 1 if any failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "copilot.h"

static void test_versions(void) {
    CHECK(copilot_abi_version() == COPILOT_ABI_VERSION, "ABI version %u matches header %u", copilot_abi_version(),
          COPILOT_ABI_VERSION);
    CHECK(copilot_version() && *copilot_version(), "version string %s", copilot_version());
}

static void test_misuse(void) {
    copilot_error *err = NULL;
    copilot_client *client = NULL;
    copilot_session_config *cfg = NULL;

    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "client_new(NULL out)", copilot_client_new(NULL, NULL, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_JSON, "client_new(malformed JSON)", copilot_client_new("{not json", &client, &err));
    CHECK(client == NULL, "out-param untouched on error");
    err = NULL;
    EXPECT_STATUS(COPILOT_ERR_INVALID_JSON, "client_new(unknown option)", copilot_client_new("{\"cliPth\": \"x\"}", &client, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "client_new(invalid UTF-8)", copilot_client_new("{\"cliPath\": \"\xff\xfe\"}", &client, &err));
    /* The options of the official SDKs: checked when the options are read. */
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "client_new(relative builtinPluginDirectories)",
                  copilot_client_new("{\"builtinPluginDirectories\": [\"/abs\", \"rel/plugin\"]}", &client, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_JSON, "client_new(negative sessionIdleTimeoutSeconds)",
                  copilot_client_new("{\"sessionIdleTimeoutSeconds\": -1}", &client, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_JSON, "client_new(enableRemoteSessions not a bool)",
                  copilot_client_new("{\"enableRemoteSessions\": \"yes\"}", &client, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_JSON, "client_new(unknown telemetry field)",
                  copilot_client_new("{\"telemetry\": {\"filePth\": \"/tmp/x\"}}", &client, &err));
    CHECK(client == NULL, "no client on error");
    CHECK(copilot_client_new("{\"autoStart\": false, \"sessionIdleTimeoutSeconds\": 600, \"enableRemoteSessions\": true, "
                             "\"builtinPluginDirectories\": [\"/opt/app/plugins/a\"], \"telemetry\": {\"otlpEndpoint\": "
                             "\"http://127.0.0.1:4318\", \"otlpProtocol\": \"http/json\", \"filePath\": \"/tmp/otel.jsonl\", "
                             "\"exporterType\": \"file\", \"sourceName\": \"app\", \"captureContent\": false}}",
                             &client, NULL) == COPILOT_OK && client,
          "client_new(every new option)");
    CHECK(copilot_client_runtime_port(client) == 0, "runtime_port before start is 0");
    /* Client-wide handlers and notification handlers: checked arguments. */
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "client_set_handler(unknown kind)",
                  copilot_client_set_handler(client, "userInput", (copilot_request_fn)1, NULL, NULL, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "client_set_handler(NULL handler)",
                  copilot_client_set_handler(client, "llmInference", NULL, NULL, NULL, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "client_set_handler(NULL client)",
                  copilot_client_set_handler(NULL, "llmInference", (copilot_request_fn)1, NULL, NULL, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "client_on_notification(NULL method)",
                  copilot_client_on_notification(client, NULL, (copilot_notification_fn)1, NULL, NULL, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "client_on_notification(invalid UTF-8)",
                  copilot_client_on_notification(client, "\xff", (copilot_notification_fn)1, NULL, NULL, &err));
    copilot_client_free(client);
    client = NULL;
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "client_start(NULL)", copilot_client_start(NULL, &err));
    CHECK(copilot_client_start(NULL, NULL) == COPILOT_ERR_INVALID_ARGUMENT, "err_out may be NULL");
    err = NULL;
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "session_send(NULL session)", copilot_session_send(NULL, "{\"prompt\":\"x\"}", NULL, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_JSON, "session_config_new(array)", copilot_session_config_new("[1,2]", &cfg, &err));
    CHECK(copilot_session_config_new(NULL, &cfg, &err) == COPILOT_OK && cfg, "session_config_new(NULL) = defaults");
    EXPECT_STATUS(COPILOT_ERR_INVALID_JSON, "add_tool without a name", copilot_session_config_add_tool(cfg, "{\"description\":\"no name\"}", (copilot_tool_fn)1, NULL,
                                                 NULL, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "add_tool with NULL handler", copilot_session_config_add_tool(cfg, "{\"name\":\"t\"}", NULL, NULL, NULL, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "tool_invocation_complete(NULL)", copilot_tool_invocation_complete(NULL, "\"x\"", &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "permission_request_respond(NULL)", copilot_permission_request_respond(NULL, "{}", &err));
    copilot_session_config_free(cfg);

    /* Frees and getters accept NULL. */
    copilot_client_free(NULL);
    copilot_session_free(NULL);
    copilot_session_config_free(NULL);
    copilot_error_free(NULL);
    copilot_string_free(NULL);
    copilot_tool_invocation_free(NULL);
    copilot_permission_request_free(NULL);
    copilot_client_force_stop(NULL);
    CHECK(copilot_session_id(NULL) == NULL, "session_id(NULL) is NULL");
    CHECK(copilot_client_get_state(NULL) == COPILOT_CLIENT_DISCONNECTED, "get_state(NULL)");
    CHECK(copilot_client_cli_pid(NULL) == 0, "cli_pid(NULL) is 0");
    CHECK(copilot_client_runtime_port(NULL) == 0, "runtime_port(NULL) is 0");
    int64_t code = 0;
    CHECK(!copilot_error_rpc_code(NULL, &code), "rpc_code(NULL) is false");
}

static void test_cli_not_found(void) {
    copilot_error *err = NULL;
    copilot_client *client = NULL;
    CHECK(copilot_client_new("{\"cliPath\": \"/nonexistent/copilot\"}", &client, &err) == COPILOT_OK,
          "client_new with a missing CLI");
    copilot_status st = copilot_client_start(client, &err);
    const char *msg = copilot_error_message(err);
    CHECK(st == COPILOT_ERR_CLI_NOT_FOUND && strstr(msg, "/nonexistent/copilot") &&
              strstr(msg, "npm install -g @github/copilot"),
          "start without CLI -> %d: %s", (int)st, msg);
    copilot_error_free(err);
    copilot_client_free(client);
}

/* State shared with the callbacks of the live test. */
struct live {
    atomic_int events;
    atomic_int deltas;
    atomic_int tool_calls;
    atomic_int user_data_frees;
    atomic_int wrong_thread_status;
    copilot_session *session;
    char tool_args[256];
};

static void on_event(void *ud, const char *type, const char *json, size_t len) {
    struct live *l = ud;
    atomic_fetch_add(&l->events, 1);
    if (strlen(json) != len) atomic_store(&l->wrong_thread_status, 999);
    if (strcmp(type, COPILOT_EVENT_ASSISTANT_MESSAGE_DELTA) == 0) atomic_fetch_add(&l->deltas, 1);
    if (strcmp(type, COPILOT_EVENT_SESSION_IDLE) == 0 && l->session && atomic_load(&l->wrong_thread_status) == 0) {
        /* A blocking wait from the callback thread must be refused, not deadlock. */
        copilot_error *err = NULL;
        copilot_status st = copilot_session_send_and_wait(l->session, "{\"prompt\":\"x\"}", 1000, NULL, &err);
        atomic_store(&l->wrong_thread_status, (int)st);
        copilot_error_free(err);
    }
}

static void count_free(void *ud) {
    struct live *l = ud;
    atomic_fetch_add(&l->user_data_frees, 1);
}

static void *complete_later(void *arg) {
    copilot_tool_invocation *inv = arg;
    copilot_tool_invocation_complete(inv, "\"18C and sunny\"", NULL);
    return NULL;
}

static void weather_tool(void *ud, copilot_tool_invocation *inv, const char *json) {
    struct live *l = ud;
    atomic_fetch_add(&l->tool_calls, 1);
    const char *args = strstr(json, "\"arguments\":");
    snprintf(l->tool_args, sizeof l->tool_args, "%s", args ? args : "");
    /* Complete from another thread, as a host with its own worker pool would. */
    pthread_t t;
    pthread_create(&t, NULL, complete_later, inv);
    pthread_detach(t);
}

static void test_live(const char *options, const char *session_json) {
    copilot_error *err = NULL;
    copilot_client *client = NULL;
    copilot_session_config *cfg = NULL;
    copilot_session *session = NULL;
    struct live l;
    memset(&l, 0, sizeof l);

    CHECK(copilot_client_new(options, &client, &err) == COPILOT_OK, "client_new(real CLI)");
    copilot_status st = copilot_client_start(client, &err);
    CHECK(st == COPILOT_OK, "client_start -> %d %s", (int)st, err ? copilot_error_message(err) : "");
    if (st != COPILOT_OK) {
        copilot_error_free(err);
        copilot_client_free(client);
        return;
    }
    CHECK(copilot_client_get_state(client) == COPILOT_CLIENT_CONNECTED, "state is connected");
    CHECK(copilot_client_cli_pid(client) > 0, "CLI pid %u", copilot_client_cli_pid(client));
    CHECK(copilot_client_runtime_port(client) == 0, "runtime_port over stdio is 0");

    char *pong = NULL;
    CHECK(copilot_client_ping(client, "hi", &pong, &err) == COPILOT_OK && pong && strstr(pong, "\"message\""),
          "ping -> %s", pong ? pong : "(null)");
    copilot_string_free(pong);

    char *result = NULL;
    st = copilot_client_call(client, "no.such.method", "{}", &result, &err);
    int64_t code = 0;
    CHECK(st == COPILOT_ERR_RPC && copilot_error_rpc_code(err, &code) && code == -32601 && result == NULL,
          "unknown method -> RPC error %lld: %s", (long long)code, copilot_error_message(err));
    copilot_error_free(err);
    err = NULL;

    CHECK(copilot_session_config_new(session_json, &cfg, &err) == COPILOT_OK, "session_config_new");
    CHECK(copilot_session_config_add_tool(cfg,
                                          "{\"name\":\"get_weather\",\"description\":\"Weather for a city\","
                                          "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
                                          "\"string\"}}}}",
                                          weather_tool, &l, count_free, &err) == COPILOT_OK,
          "add_tool");
    CHECK(copilot_session_config_approve_all(cfg, &err) == COPILOT_OK, "approve_all");
    CHECK(copilot_session_config_on_event(cfg, on_event, &l, count_free, &err) == COPILOT_OK, "on_event");
    st = copilot_client_create_session(client, cfg, &session, &err);
    CHECK(st == COPILOT_OK && session, "create_session -> %d %s", (int)st, err ? copilot_error_message(err) : "");
    copilot_session_config_free(cfg);
    if (!session) {
        copilot_error_free(err);
        copilot_client_free(client);
        return;
    }
    l.session = session;
    CHECK(strlen(copilot_session_id(session)) == 36, "session id %s", copilot_session_id(session));

    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "send(invalid UTF-8)", copilot_session_send(session, "{\"prompt\":\"\xc3\x28\"}", NULL, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_JSON, "send(malformed JSON)", copilot_session_send(session, "prompt without JSON", NULL, &err));

    char *answer = NULL;
    st = copilot_session_send_and_wait(session,
                                       "{\"prompt\":\"What is the weather in Paris? Use the get_weather tool.\"}",
                                       60000, &answer, &err);
    CHECK(st == COPILOT_OK && answer && strstr(answer, "It is 18C and sunny in Paris."),
          "send_and_wait tool round trip -> %d %s", (int)st, answer ? answer : copilot_error_message(err));
    copilot_string_free(answer);
    CHECK(atomic_load(&l.tool_calls) == 1 && strstr(l.tool_args, "Paris"), "tool called once with %s",
          l.tool_args);
    CHECK(atomic_load(&l.events) > 5, "%d events delivered", atomic_load(&l.events));
    CHECK(atomic_load(&l.wrong_thread_status) == COPILOT_ERR_WRONG_THREAD,
          "send_and_wait inside a callback is refused (%d)", atomic_load(&l.wrong_thread_status));

    char *events = NULL;
    CHECK(copilot_session_get_messages(session, &events, &err) == COPILOT_OK && events && events[0] == '[' &&
              strstr(events, "\"session.start\""),
          "get_messages returns the history");
    copilot_string_free(events);

    /* An unknown session: a clear RPC error, no crash. */
    copilot_session *ghost = NULL;
    st = copilot_client_resume_session(client, "00000000-0000-0000-0000-000000000000", NULL, &ghost, &err);
    CHECK(st != COPILOT_OK && ghost == NULL, "resume unknown session -> %d: %s", (int)st,
          copilot_error_message(err));
    copilot_error_free(err);
    err = NULL;

    CHECK(copilot_session_destroy(session, &err) == COPILOT_OK, "session_destroy");
    EXPECT_STATUS(COPILOT_ERR_INVALID_STATE, "send after destroy", copilot_session_send(session, "{\"prompt\":\"x\"}", NULL, &err));
    copilot_session_free(session);
    st = copilot_client_stop(client, 10000, &err);
    CHECK(st == COPILOT_OK, "client_stop -> %d", (int)st);
    CHECK(copilot_client_get_state(client) == COPILOT_CLIENT_DISCONNECTED, "state is disconnected");
    copilot_client_free(client);
    CHECK(atomic_load(&l.user_data_frees) == 2, "user_data_free ran once per registration (%d)",
          atomic_load(&l.user_data_frees));
}

/* The string value of the first `"key":"..."` in compact JSON (as the library
 * returns it), copied into buf; "" when absent. Enough for ids, versions, paths. */
static const char *json_string_field(const char *json, const char *key, char *buf, size_t n) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    const char *at = json ? strstr(json, pattern) : NULL;
    buf[0] = '\0';
    if (!at) return buf;
    at += strlen(pattern);
    size_t len = strcspn(at, "\"");
    if (len >= n) len = n - 1;
    memcpy(buf, at, len);
    buf[len] = '\0';
    return buf;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* copilot_client_list_sessions with `filter`, polled until the result does
 * (want_listed) or does not contain `id`, for up to 10 s: the CLI writes a
 * session's record as its turn ends. Returns the last result (owned). */
static char *list_until(copilot_client *client, const char *filter, const char *id, int want_listed) {
    char *list = NULL;
    for (int tries = 0; tries < 100; tries++) {
        copilot_string_free(list);
        list = NULL;
        if (copilot_client_list_sessions(client, filter, &list, NULL) != COPILOT_OK) return NULL;
        if ((strstr(list, id) != NULL) == want_listed) break;
        sleep_ms(100);
    }
    return list;
}

/* The typed calls (status.get, auth.getStatus, session.list, session.getMetadata,
 * session.model.switchTo) against the real CLI, with chat.yaml answering the turn. */
static void test_typed_calls(const char *options, const char *session_json, const char *cwd) {
    copilot_error *err = NULL;
    copilot_client *client = NULL;
    copilot_session_config *cfg = NULL;
    copilot_session *session = NULL;
    char *out = NULL;
    char buf[512];

    CHECK(copilot_client_new(options, &client, &err) == COPILOT_OK, "typed: client_new");
    EXPECT_STATUS(COPILOT_ERR_INVALID_STATE, "get_status before start", copilot_client_get_status(client, &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_STATE, "list_sessions before start",
                  copilot_client_list_sessions(client, NULL, &out, &err));
    CHECK(out == NULL, "no result before start");
    copilot_status st = copilot_client_start(client, &err);
    CHECK(st == COPILOT_OK, "typed: client_start -> %d %s", (int)st, err ? copilot_error_message(err) : "");
    if (st != COPILOT_OK) {
        copilot_error_free(err);
        copilot_client_free(client);
        return;
    }

    /* status.get -> {"version": "1.0.102", "protocolVersion": 3} */
    st = copilot_client_get_status(client, &out, &err);
    CHECK(st == COPILOT_OK && out && *json_string_field(out, "version", buf, sizeof buf) &&
              strstr(out, "\"protocolVersion\":3"),
          "get_status -> %s (version %s)", out ? out : copilot_error_message(err), buf);
    copilot_string_free(out);
    out = NULL;

    /* auth.getStatus without a token: signed out is a result, not an error. */
    st = copilot_client_get_auth_status(client, &out, &err);
    CHECK(st == COPILOT_OK && out && out[0] == '{' && strstr(out, "\"isAuthenticated\":false"),
          "get_auth_status, no token -> %s", out ? out : copilot_error_message(err));
    copilot_string_free(out);
    out = NULL;

    CHECK(copilot_session_config_new(session_json, &cfg, &err) == COPILOT_OK, "typed: session_config_new");
    CHECK(copilot_session_config_approve_all(cfg, &err) == COPILOT_OK, "typed: approve_all");
    st = copilot_client_create_session(client, cfg, &session, &err);
    copilot_session_config_free(cfg);
    CHECK(st == COPILOT_OK && session, "typed: create_session -> %d %s", (int)st,
          err ? copilot_error_message(err) : "");
    if (!session) {
        copilot_error_free(err);
        copilot_client_free(client);
        return;
    }
    const char *id = copilot_session_id(session);

    /* Not on disk before its first turn: neither listed nor known to getMetadata. */
    CHECK(copilot_client_get_session_metadata(client, id, &out, &err) == COPILOT_OK && out && strcmp(out, "{}") == 0,
          "get_session_metadata before the first turn -> %s", out ? out : copilot_error_message(err));
    copilot_string_free(out);
    out = NULL;
    CHECK(copilot_client_list_sessions(client, NULL, &out, &err) == COPILOT_OK && out &&
              strncmp(out, "{\"sessions\":[", 13) == 0 && !strstr(out, id),
          "list_sessions before the first turn does not list it -> %s", out ? out : copilot_error_message(err));
    copilot_string_free(out);
    out = NULL;

    char *answer = NULL;
    st = copilot_session_send_and_wait(session, "{\"prompt\":\"What is the capital of France?\"}", 60000, &answer,
                                       &err);
    CHECK(st == COPILOT_OK && answer && strstr(answer, "The capital of France is Paris."), "typed: a turn -> %d %s",
          (int)st, answer ? "" : copilot_error_message(err));
    copilot_string_free(answer);

    /* session.list -> {"sessions": [{sessionId, startTime, modifiedTime, summary, isRemote, context}]} */
    char *list = list_until(client, NULL, id, 1);
    CHECK(list && strstr(list, id) && strstr(list, "\"startTime\":\"") && strstr(list, "\"modifiedTime\":\"") &&
              strstr(list, "\"isRemote\":false"),
          "list_sessions after the turn lists it -> %s", list ? list : "(error)");
    copilot_string_free(list);
    char filter[512];
    snprintf(filter, sizeof filter, "{\"cwd\":\"%s\"}", cwd);
    list = NULL;
    CHECK(copilot_client_list_sessions(client, filter, &list, &err) == COPILOT_OK && list && strstr(list, id),
          "list_sessions filtered by its cwd lists it -> %s", list ? list : copilot_error_message(err));
    copilot_string_free(list);
    list = NULL;
    CHECK(copilot_client_list_sessions(client, "{\"cwd\":\"/nonexistent/dir\"}", &list, &err) == COPILOT_OK && list &&
              strcmp(list, "{\"sessions\":[]}") == 0,
          "list_sessions filtered by another cwd is empty -> %s", list ? list : copilot_error_message(err));
    copilot_string_free(list);
    list = NULL;
    CHECK(copilot_client_list_sessions(client, "", &list, &err) == COPILOT_OK && list && strstr(list, id),
          "list_sessions with \"\" is unfiltered");
    copilot_string_free(list);

    /* session.getMetadata -> {"session": {...}} for it, {} for an unknown id. */
    st = copilot_client_get_session_metadata(client, id, &out, &err);
    CHECK(st == COPILOT_OK && out && strncmp(out, "{\"session\":{", 12) == 0 &&
              strcmp(json_string_field(out, "sessionId", buf, sizeof buf), id) == 0 &&
              strstr(out, "\"startTime\":\"") && strstr(out, cwd),
          "get_session_metadata -> %s", out ? out : copilot_error_message(err));
    copilot_string_free(out);
    out = NULL;
    st = copilot_client_get_session_metadata(client, "00000000-0000-0000-0000-000000000000", &out, &err);
    CHECK(st == COPILOT_OK && out && strcmp(out, "{}") == 0, "get_session_metadata(unknown id) -> %s",
          out ? out : copilot_error_message(err));
    copilot_string_free(out);
    out = NULL;

    /* session.model.switchTo, then session.model.getCurrent reports the new model. */
    st = copilot_session_set_model(session, "gpt-5", NULL, &out, &err);
    CHECK(st == COPILOT_OK && out && strstr(out, "\"status\":\"applied\"") && strstr(out, "\"modelId\":\"gpt-5\""),
          "set_model(gpt-5) -> %s", out ? out : copilot_error_message(err));
    copilot_string_free(out);
    out = NULL;
    CHECK(copilot_session_call(session, "session.model.getCurrent", NULL, &out, &err) == COPILOT_OK && out &&
              strcmp(json_string_field(out, "modelId", buf, sizeof buf), "gpt-5") == 0,
          "getCurrent after set_model -> %s", out ? out : copilot_error_message(err));
    copilot_string_free(out);
    out = NULL;
    /* Options are merged into the params; the result may be ignored (NULL). */
    EXPECT_STATUS(COPILOT_OK, "set_model(claude-sonnet-4.5, reasoningEffort high, NULL result)",
                  copilot_session_set_model(session, "claude-sonnet-4.5", "{\"reasoningEffort\":\"high\"}", NULL, &err));
    CHECK(copilot_session_call(session, "session.model.getCurrent", NULL, &out, &err) == COPILOT_OK && out &&
              strcmp(json_string_field(out, "modelId", buf, sizeof buf), "claude-sonnet-4.5") == 0 &&
              strstr(out, "\"reasoningEffort\":\"high\""),
          "getCurrent after set_model with options -> %s", out ? out : copilot_error_message(err));
    copilot_string_free(out);
    out = NULL;

    /* Refused before anything is sent. */
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "set_model(NULL session)", copilot_session_set_model(NULL, "gpt-5", NULL, &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "set_model(NULL model_id)", copilot_session_set_model(session, NULL, NULL, &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "set_model(empty model_id)", copilot_session_set_model(session, "", NULL, &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "set_model(invalid UTF-8)", copilot_session_set_model(session, "gpt\xff", NULL, &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_JSON, "set_model(malformed options)", copilot_session_set_model(session, "gpt-5", "{\"reasoningEffort\":", &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_JSON, "set_model(options not an object)", copilot_session_set_model(session, "gpt-5", "\"high\"", &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_JSON, "set_model(options set modelId)", copilot_session_set_model(session, "gpt-5", "{\"modelId\":\"other\"}", &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "get_status(NULL client)", copilot_client_get_status(NULL, &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "get_status(NULL out)", copilot_client_get_status(client, NULL, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "get_auth_status(NULL client)", copilot_client_get_auth_status(NULL, &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "get_auth_status(NULL out)", copilot_client_get_auth_status(client, NULL, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "list_sessions(NULL out)", copilot_client_list_sessions(client, NULL, NULL, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_JSON, "list_sessions(malformed filter)", copilot_client_list_sessions(client, "{cwd}", &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_JSON, "list_sessions(filter not an object)", copilot_client_list_sessions(client, "\"/tmp\"", &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "list_sessions(invalid UTF-8)", copilot_client_list_sessions(client, "{\"cwd\":\"\xc3\x28\"}", &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "get_session_metadata(NULL id)", copilot_client_get_session_metadata(client, NULL, &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "get_session_metadata(empty id)", copilot_client_get_session_metadata(client, "", &out, &err));
    EXPECT_STATUS(COPILOT_ERR_INVALID_ARGUMENT, "get_session_metadata(NULL out)", copilot_client_get_session_metadata(client, id, NULL, &err));
    CHECK(out == NULL, "no out-param written on error");

    /* After destroy the session stays on disk (listed); set_model is refused. */
    CHECK(copilot_session_destroy(session, &err) == COPILOT_OK, "typed: session_destroy");
    EXPECT_STATUS(COPILOT_ERR_INVALID_STATE, "set_model after destroy", copilot_session_set_model(session, "gpt-5", NULL, &out, &err));
    list = list_until(client, NULL, id, 1);
    CHECK(list && strstr(list, id), "a destroyed session stays listed");
    copilot_string_free(list);
    copilot_session_free(session);
    CHECK(copilot_client_stop(client, 10000, &err) == COPILOT_OK, "typed: client_stop");
    EXPECT_STATUS(COPILOT_ERR_INVALID_STATE, "get_auth_status after stop", copilot_client_get_auth_status(client, &out, &err));
    copilot_client_free(client);

    /* auth.getStatus of a client signed in with a token (copilot-replay accepts any). */
    char *signed_in = malloc(strlen(options) + 64);
    sprintf(signed_in, "{\"githubToken\":\"gho_copilot_replay_test_token\",%s", options + 1);
    client = NULL;
    st = copilot_client_new(signed_in, &client, &err);
    if (st == COPILOT_OK) st = copilot_client_start(client, &err);
    CHECK(st == COPILOT_OK, "client with a token starts -> %d %s", (int)st, err ? copilot_error_message(err) : "");
    copilot_error_free(err);
    err = NULL;
    st = copilot_client_get_auth_status(client, &out, &err);
    CHECK(st == COPILOT_OK && out && strstr(out, "\"isAuthenticated\":true") &&
              strcmp(json_string_field(out, "authType", buf, sizeof buf), "token") == 0,
          "get_auth_status with a token -> %s", out ? out : copilot_error_message(err));
    copilot_string_free(out);
    copilot_error_free(err);
    copilot_client_stop(client, 10000, NULL);
    copilot_client_free(client);
    free(signed_in);
}

/* Whether something accepts TCP connections on 127.0.0.1:port. */
static int accepts_connections(unsigned port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    close(fd);
    return ok;
}

/* copilot_client_runtime_port: the port a TCP child picked, which takes
 * connections; 0 before the start and after the stop. */
static void test_runtime_port(const char *options) {
    copilot_error *err = NULL;
    copilot_client *client = NULL;
    char *tcp = malloc(strlen(options) + 64);
    sprintf(tcp, "{\"transport\":\"tcp\",%s", options + 1);
    copilot_status st = copilot_client_new(tcp, &client, &err);
    free(tcp);
    CHECK(st == COPILOT_OK, "tcp: client_new -> %d", (int)st);
    if (st != COPILOT_OK) {
        copilot_error_free(err);
        return;
    }
    CHECK(copilot_client_runtime_port(client) == 0, "tcp: runtime_port before start is 0");
    st = copilot_client_start(client, &err);
    CHECK(st == COPILOT_OK, "tcp: client_start -> %d %s", (int)st, err ? copilot_error_message(err) : "");
    copilot_error_free(err);
    err = NULL;
    unsigned port = copilot_client_runtime_port(client);
    CHECK(port > 0 && accepts_connections(port), "tcp: runtime_port %u takes connections", port);
    CHECK(copilot_client_ping(client, NULL, NULL, NULL) == COPILOT_OK, "tcp: ping");
    CHECK(copilot_client_stop(client, 10000, NULL) == COPILOT_OK, "tcp: client_stop");
    CHECK(copilot_client_runtime_port(client) == 0, "tcp: runtime_port after stop is 0");
    copilot_client_free(client);
}

int main(void) {
    test_versions();
    test_misuse();
    test_cli_not_found();
    const char *options = getenv("COPILOT_TEST_OPTIONS");
    const char *session_json = getenv("COPILOT_TEST_SESSION");
    const char *cwd = getenv("COPILOT_TEST_CWD");
    if (options && session_json && cwd) {
        test_live(options, session_json);
        test_typed_calls(options, session_json, cwd);
        test_runtime_port(options);
    } else {
        CHECK(0, "COPILOT_TEST_OPTIONS, COPILOT_TEST_SESSION and COPILOT_TEST_CWD must be set");
    }
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
