/*
 * libcopilot demo: a C program embeds Copilot's agent runtime.
 *
 * It creates a client and a session with one custom tool (get_weather),
 * prints the assistant's text as it streams in, shows the tool call and its
 * result, and prints the final answer.
 *
 * Where the model lives:
 *   - COPILOT_GITHUB_TOKEN set: real Copilot, signed in with that token;
 *   - else COPILOT_PROVIDER_URL set: an OpenAI-compatible endpoint (BYOK), such
 *     as the copilot-replay server that examples/run-demo.sh starts (offline).
 * The CLI is found through COPILOT_CLI_PATH or `copilot` on PATH.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "copilot.h"

static const char *PROMPT = "What's the weather like in Paris today? Use the get_weather tool.";

static int fail(const char *what, copilot_status status, copilot_error *err) {
    fprintf(stderr, "demo: %s failed (status %d): %s\n", what, (int)status, copilot_error_message(err));
    copilot_error_free(err);
    return 1;
}

/* Finds `"key":` in a JSON text and returns where its value starts (display only:
 * a real program would use its JSON library). */
static const char *find_value(const char *json, const char *key) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(json, pattern);
    return at ? at + strlen(pattern) : NULL;
}

/* Prints a JSON string value without its quotes and escapes. */
static void print_string(const char *at) {
    if (!at || *at != '"') return;
    for (at++; *at && *at != '"'; at++) {
        if (*at == '\\' && at[1]) {
            at++;
            switch (*at) {
            case 'n': putchar('\n'); break;
            case 't': putchar('\t'); break;
            case 'u': at += 4; putchar('?'); break; /* non-ASCII: shown as '?' */
            default: putchar(*at);
            }
        } else {
            putchar(*at);
        }
    }
}

/* Prints any JSON value as it is written (an object, a string, ...). */
static void print_raw(const char *at) {
    int depth = 0, in_string = 0;
    const char *end = at;
    for (; *end; end++) {
        if (in_string) {
            if (*end == '\\' && end[1]) end++;
            else if (*end == '"') in_string = 0;
        } else if (*end == '"') {
            in_string = 1;
        } else if (*end == '{' || *end == '[') {
            depth++;
        } else if (*end == '}' || *end == ']') {
            if (depth-- == 0) break;
            if (depth == 0) { end++; break; }
        } else if (*end == ',' && depth == 0) {
            break;
        }
    }
    printf("%.*s", (int)(end - at), at);
}

static struct timespec started;
static int seen_first_event = 0;

static double ms_since(const struct timespec *t0) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t0->tv_sec) * 1e3 + (now.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Event subscriber: streams deltas and shows tool activity. */
static void on_event(void *user_data, const char *type, const char *json, size_t len) {
    (void)user_data;
    (void)len;
    if (!seen_first_event) {
        seen_first_event = 1;
        fprintf(stderr, "(first event, %s, %.0f ms after client start)\n", type, ms_since(&started));
    }
    if (strcmp(type, COPILOT_EVENT_ASSISTANT_MESSAGE_DELTA) == 0) {
        print_string(find_value(json, "deltaContent"));
        fflush(stdout);
    } else if (strcmp(type, COPILOT_EVENT_TOOL_EXECUTION_START) == 0) {
        printf("\n[tool call] ");
        print_string(find_value(json, "toolName"));
        printf(" ");
        print_raw(find_value(json, "arguments"));
        printf("\n");
    } else if (strcmp(type, COPILOT_EVENT_TOOL_EXECUTION_COMPLETE) == 0) {
        const char *result = find_value(json, "result");
        printf("[tool result] ");
        if (result) print_string(find_value(result, "content"));
        printf("\n");
    }
}

/* The custom tool: a canned forecast, completed right away. */
static void get_weather(void *user_data, copilot_tool_invocation *inv, const char *invocation_json) {
    (void)user_data;
    (void)invocation_json;
    copilot_error *err = NULL;
    if (copilot_tool_invocation_complete(inv, "\"18C and sunny\"", &err) != COPILOT_OK) {
        fprintf(stderr, "demo: tool result rejected: %s\n", copilot_error_message(err));
        copilot_error_free(err);
    }
}

int main(void) {
    copilot_error *err = NULL;
    copilot_status st;
    if (copilot_abi_version() != COPILOT_ABI_VERSION) {
        fprintf(stderr, "demo: libcopilot ABI %u, header %u\n", copilot_abi_version(), COPILOT_ABI_VERSION);
        return 1;
    }

    const char *token = getenv("COPILOT_GITHUB_TOKEN");
    const char *provider = getenv("COPILOT_PROVIDER_URL");
    char options[4096], config[4096];
    if (token && *token) {
        snprintf(options, sizeof options, "{\"githubToken\": \"%s\"}", token);
        snprintf(config, sizeof config, "{\"streaming\": true}");
        printf("libcopilot %s: talking to GitHub Copilot\n", copilot_version());
    } else if (provider && *provider) {
        snprintf(options, sizeof options, "{\"useLoggedInUser\": false}");
        snprintf(config, sizeof config,
                 "{\"streaming\": true, \"model\": \"%s\", \"provider\": {\"type\": \"openai\", "
                 "\"baseUrl\": \"%s\", \"apiKey\": \"%s\", \"wireApi\": \"completions\"}}",
                 getenv("COPILOT_MODEL") ? getenv("COPILOT_MODEL") : "claude-sonnet-4.5", provider,
                 getenv("COPILOT_PROVIDER_API_KEY") ? getenv("COPILOT_PROVIDER_API_KEY") : "offline");
        printf("libcopilot %s: model at %s\n", copilot_version(), provider);
    } else {
        fprintf(stderr, "demo: set COPILOT_GITHUB_TOKEN or COPILOT_PROVIDER_URL (examples/run-demo.sh does)\n");
        return 2;
    }

    fflush(stdout);
    clock_gettime(CLOCK_MONOTONIC, &started);
    copilot_client *client = NULL;
    if ((st = copilot_client_new(options, &client, &err)) != COPILOT_OK) return fail("client_new", st, err);

    copilot_session_config *cfg = NULL;
    if ((st = copilot_session_config_new(config, &cfg, &err)) != COPILOT_OK) return fail("config_new", st, err);
    st = copilot_session_config_add_tool(
        cfg,
        "{\"name\": \"get_weather\", \"description\": \"Current weather for a city\", "
        "\"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, "
        "\"required\": [\"city\"]}}",
        get_weather, NULL, NULL, &err);
    if (st != COPILOT_OK) return fail("add_tool", st, err);
    if ((st = copilot_session_config_approve_all(cfg, &err)) != COPILOT_OK) return fail("approve_all", st, err);
    if ((st = copilot_session_config_on_event(cfg, on_event, NULL, NULL, &err)) != COPILOT_OK)
        return fail("on_event", st, err);

    copilot_session *session = NULL;
    if ((st = copilot_client_create_session(client, cfg, &session, &err)) != COPILOT_OK)
        return fail("create_session", st, err);
    copilot_session_config_free(cfg);

    printf("> %s\n", PROMPT);
    char message[512];
    snprintf(message, sizeof message, "{\"prompt\": \"%s\"}", PROMPT);
    char *answer = NULL;
    if ((st = copilot_session_send_and_wait(session, message, 120000, &answer, &err)) != COPILOT_OK)
        return fail("send_and_wait", st, err);
    printf("\n\n[final answer] ");
    if (answer) print_string(find_value(answer, "content"));
    printf("\n");
    copilot_string_free(answer);

    copilot_session_free(session);
    if ((st = copilot_client_stop(client, 10000, &err)) != COPILOT_OK) return fail("stop", st, err);
    copilot_client_free(client);
    return 0;
}
