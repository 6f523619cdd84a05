/*
 * gtk-chat: a GTK 4 window that chats with Copilot through libcopilot.
 *
 * The assistant's reply streams into a text view, the model can call a custom
 * tool (get_weather, answered here), and each permission request the CLI
 * sends (it asks before running a custom tool when a permission handler is
 * set) opens a dialog with Approve and Deny.
 *
 * GTK may only be touched from the thread running its main loop, so the
 * client is created in poll mode ("dispatch": "poll"): libcopilot runs no
 * callback on a thread of its own; callbacks wait until this program calls
 * copilot_client_dispatch, which it does from the GTK main loop whenever
 * copilot_client_dispatch_fd is readable. Every handler below therefore runs
 * on the GTK thread and may update widgets directly. The only other thread
 * is the one that connects at start-up (starting the CLI takes seconds), and
 * it calls libcopilot only, never GTK.
 *
 * Where the model lives:
 *   - COPILOT_GITHUB_TOKEN set: real GitHub Copilot, signed in with it;
 *   - else COPILOT_PROVIDER_URL set: an OpenAI-compatible endpoint (BYOK),
 *     with COPILOT_PROVIDER_API_KEY and COPILOT_MODEL;
 *   - else offline: this program starts copilot-replay (COPILOT_REPLAY_PATH,
 *     else the path it was built with) serving GTK_CHAT_CONVERSATION, else
 *     weather.yaml beside this file, which knows one question: "What is the
 *     weather in Paris? Use the get_weather tool."
 * The Copilot CLI is found through COPILOT_CLI_PATH or `copilot` on PATH.
 *
 * For tests: GTK_CHAT_PROMPT prefills the prompt entry, and GTK_CHAT_DUMP=FILE
 * writes the conversation view's text to FILE when the program exits. Status
 * changes are also printed to stderr as "gtk-chat: ..." lines.
 *
 * Keys: Enter in the entry sends; in the permission dialog Enter approves
 * (Approve is the default button) and Escape denies; Ctrl+Q quits.
 */
#include <signal.h>
#include <stdarg.h>
#include <string.h>

#include <glib-unix.h>
#include <gtk/gtk.h>
#include <json-glib/json-glib.h>

#include "copilot.h"

#ifndef GTK_CHAT_DEFAULT_CONVERSATION
#define GTK_CHAT_DEFAULT_CONVERSATION "weather.yaml"
#endif
#ifndef GTK_CHAT_DEFAULT_REPLAY
#define GTK_CHAT_DEFAULT_REPLAY "copilot-replay"
#endif

/* Sent with a Deny, so the model can tell the user why the tool did not run
 * (weather.yaml expects exactly this text in the rejection). */
#define DENY_DECISION "{\"kind\": \"reject\", \"feedback\": \"Denied in the gtk-chat window.\"}"
#define APPROVE_DECISION "{\"kind\": \"approve-once\"}"

#define WEATHER_TOOL                                                                               \
    "{\"name\": \"get_weather\", \"description\": \"Current weather for a city\", "                \
    "\"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, " \
    "\"required\": [\"city\"]}}"

/* Callbacks run per wake-up of the main loop, at most: a flood of deltas is
 * then drained over several iterations, with input and redraws in between
 * (the dispatch fd is level-triggered, so the loop comes straight back). */
#define DISPATCH_BATCH 64

/* The longest the GTK thread waits for one reply of the CLI. */
#define REQUEST_TIMEOUT_MS 60000

/* A permission request waiting for the user, with what the dialog shows. */
typedef struct {
    copilot_permission_request *request;
    char *summary;
} PendingPermission;

typedef struct {
    GtkApplication *gtk;
    GtkWindow *window;
    GtkEntry *entry;
    GtkWidget *send;
    GtkLabel *status;
    GtkTextView *view;     /* these widgets are NULL once the window is gone */
    GtkTextBuffer *buffer; /* our own reference: the dump is written after the window is gone */
    GtkTextMark *end;      /* where text is appended; the view scrolls to it */

    copilot_client *client;
    copilot_session *session;
    guint dispatch_watch;
    GSubprocess *replay; /* the offline model server we started, or NULL */
    gboolean connecting; /* the connect thread is running */
    gboolean quitting;
    gboolean turn_running;
    guint turn_chunks; /* deltas streamed in this turn, for the status line */

    /* Assistant messages whose text was streamed in through deltas (their
     * final assistant.message must not print it again). */
    GHashTable *streamed;
    char *open_message; /* the message whose deltas are being appended, if any */

    GQueue permissions; /* of PendingPermission*, the head shown in `dialog` */
    GtkWindow *dialog;
} App;

/* ---- the conversation view ------------------------------------------------ */

static void append(App *app, const char *tag, const char *text) {
    GtkTextIter end;
    gtk_text_buffer_get_end_iter(app->buffer, &end);
    if (tag)
        gtk_text_buffer_insert_with_tags_by_name(app->buffer, &end, text, -1, tag, NULL);
    else
        gtk_text_buffer_insert(app->buffer, &end, text, -1);
    if (app->view) gtk_text_view_scroll_mark_onscreen(app->view, app->end);
}

static void append_line(App *app, const char *tag, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void append_line(App *app, const char *tag, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    append(app, tag, text);
    append(app, NULL, "\n");
    g_free(text);
}

/* Ends the assistant paragraph being streamed, before other text goes in. */
static void close_stream(App *app) {
    if (app->open_message) {
        append(app, NULL, "\n");
        g_clear_pointer(&app->open_message, g_free);
    }
}

/* The status line, also printed to stderr: the test follows the app by it. */
static void set_status(App *app, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void set_status(App *app, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_printerr("gtk-chat: %s\n", text);
    if (app->status) gtk_label_set_text(app->status, text);
    g_free(text);
}

static void update_send_sensitivity(App *app) {
    if (app->send) gtk_widget_set_sensitive(app->send, app->session && !app->turn_running && !app->quitting);
}

/* Reports a failed libcopilot call in the view and frees the error. */
static void show_error(App *app, const char *what, copilot_error *err) {
    const char *message = err ? copilot_error_message(err) : "unknown error";
    close_stream(app);
    append_line(app, "error", "[error] %s: %s", what, message);
    set_status(app, "error: %s: %s", what, message);
    copilot_error_free(err);
}

/* ---- JSON helpers (event and request payloads are JSON text) ----------------- */

static JsonObject *parse_object(const char *json) {
    JsonNode *node = json_from_string(json, NULL);
    if (!node) return NULL;
    JsonObject *object = JSON_NODE_HOLDS_OBJECT(node) ? json_object_ref(json_node_get_object(node)) : NULL;
    json_node_unref(node);
    return object;
}

static JsonObject *object_member(JsonObject *object, const char *name) {
    if (!object || !json_object_has_member(object, name)) return NULL;
    JsonNode *node = json_object_get_member(object, name);
    return JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
}

static const char *string_member(JsonObject *object, const char *name) {
    if (!object || !json_object_has_member(object, name)) return NULL;
    JsonNode *node = json_object_get_member(object, name);
    return JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING ? json_node_get_string(node)
                                                                                          : NULL;
}

/* A member as compact JSON text (owned), or NULL when absent. */
static char *member_json(JsonObject *object, const char *name) {
    if (!object || !json_object_has_member(object, name)) return NULL;
    return json_to_string(json_object_get_member(object, name), FALSE);
}

/* ---- session events -------------------------------------------------------- */

static void on_event(void *user_data, const char *type, const char *json, size_t len) {
    App *app = user_data;
    (void)len;
    JsonObject *event = parse_object(json);
    JsonObject *data = object_member(event, "data");
    if (!data) goto done;

    if (strcmp(type, COPILOT_EVENT_ASSISTANT_MESSAGE_DELTA) == 0) {
        const char *id = string_member(data, "messageId");
        const char *delta = string_member(data, "deltaContent");
        if (!id || !delta) goto done;
        if (g_strcmp0(app->open_message, id) != 0) {
            close_stream(app);
            append(app, "assistant", "Copilot: ");
            app->open_message = g_strdup(id);
            g_hash_table_add(app->streamed, g_strdup(id));
        }
        append(app, NULL, delta);
        app->turn_chunks++;
    } else if (strcmp(type, COPILOT_EVENT_ASSISTANT_MESSAGE) == 0) {
        /* Without streaming (or for a message that had no deltas) the text
         * arrives only here. */
        const char *id = string_member(data, "messageId");
        const char *content = string_member(data, "content");
        if (id && g_hash_table_contains(app->streamed, id)) {
            if (g_strcmp0(app->open_message, id) == 0) close_stream(app);
        } else if (content && *content) {
            close_stream(app);
            append(app, "assistant", "Copilot: ");
            append_line(app, NULL, "%s", content);
        }
    } else if (strcmp(type, COPILOT_EVENT_TOOL_EXECUTION_START) == 0) {
        char *args = member_json(data, "arguments");
        close_stream(app);
        const char *tool = string_member(data, "toolName");
        append_line(app, "meta", "[tool] %s %s", tool ? tool : "?", args ? args : "");
        g_free(args);
    } else if (strcmp(type, COPILOT_EVENT_TOOL_EXECUTION_COMPLETE) == 0) {
        close_stream(app);
        if (json_object_get_boolean_member_with_default(data, "success", FALSE)) {
            const char *content = string_member(object_member(data, "result"), "content");
            append_line(app, "meta", "[tool result] %s", content ? content : "");
        } else {
            const char *message = string_member(object_member(data, "error"), "message");
            append_line(app, "meta", "[tool failed] %s", message ? message : "");
        }
    } else if (strcmp(type, COPILOT_EVENT_SESSION_ERROR) == 0) {
        close_stream(app);
        const char *message = string_member(data, "message");
        append_line(app, "error", "[error] %s", message ? message : "session error");
    } else if (strcmp(type, COPILOT_EVENT_SESSION_IDLE) == 0) {
        close_stream(app);
        g_hash_table_remove_all(app->streamed); /* every message of the turn is complete */
        app->turn_running = FALSE;
        update_send_sensitivity(app);
        set_status(app, "turn finished (%u text chunks streamed)", app->turn_chunks);
    }
done:
    if (event) json_object_unref(event);
}

/* ---- the custom tool ------------------------------------------------------- */

/* get_weather: a canned forecast, answered at once (a real app could keep the
 * invocation and complete it later, from any thread). */
static void get_weather(void *user_data, copilot_tool_invocation *invocation, const char *invocation_json) {
    App *app = user_data;
    (void)invocation_json;
    copilot_error *err = NULL;
    if (copilot_tool_invocation_complete(invocation, "\"18C and sunny\"", &err) != COPILOT_OK)
        show_error(app, "get_weather result", err);
}

/* ---- permission requests ----------------------------------------------------- */

static void show_next_permission(App *app);

/* What the dialog asks, from the request's `permissionRequest`. */
static char *describe_permission(const char *request_json) {
    JsonObject *request = parse_object(request_json);
    JsonObject *what = object_member(request, "permissionRequest");
    const char *kind = string_member(what, "kind");
    char *summary;
    if (g_strcmp0(kind, "custom-tool") == 0) {
        char *args = member_json(what, "args");
        const char *tool = string_member(what, "toolName");
        summary = g_strdup_printf("Copilot wants to run the tool %s with %s.", tool ? tool : "?",
                                  args ? args : "no arguments");
        g_free(args);
    } else {
        /* Built-in tools (shell, write, url, ...) when talking to real
         * Copilot: show the request as it came. */
        char *details = what ? json_to_string(json_object_get_member(request, "permissionRequest"), TRUE) : NULL;
        summary = g_strdup_printf("Copilot asks for permission (%s):\n%s", kind ? kind : "unknown",
                                  details ? details : request_json);
        g_free(details);
    }
    if (request) json_object_unref(request);
    return summary;
}

/* Closes the permission dialog, if open. Its tie to the main window is cut
 * first: a dialog that outlives its transient parent (destroyed while
 * handling its own key press, as Ctrl+Q does) would otherwise touch the
 * finalized parent when it goes. */
static void close_dialog(App *app) {
    GtkWindow *dialog = app->dialog;
    if (!dialog) return;
    app->dialog = NULL; /* first: its close-request handler must not answer again */
    gtk_window_set_transient_for(dialog, NULL);
    gtk_window_destroy(dialog);
}

/* Answers the request the dialog shows, closes the dialog, and shows the next
 * waiting one, if any. */
static void answer_permission(App *app, gboolean approve) {
    PendingPermission *p = g_queue_pop_head(&app->permissions);
    if (!p) return;
    close_stream(app);
    append_line(app, "meta", "[permission] %s %s", approve ? "approved:" : "denied:", p->summary);
    set_status(app, "permission %s", approve ? "approved" : "denied");
    copilot_error *err = NULL;
    if (copilot_permission_request_respond(p->request, approve ? APPROVE_DECISION : DENY_DECISION, &err) !=
        COPILOT_OK)
        show_error(app, "permission answer", err);
    g_free(p->summary);
    g_free(p);

    close_dialog(app);
    show_next_permission(app);
}

static void on_approve_clicked(GtkButton *button, gpointer user_data) {
    (void)button;
    answer_permission(user_data, TRUE);
}

static void on_deny_clicked(GtkButton *button, gpointer user_data) {
    (void)button;
    answer_permission(user_data, FALSE);
}

/* Closing the dialog (Escape, or a window manager's close button) denies. */
static gboolean on_dialog_close_request(GtkWindow *dialog, gpointer user_data) {
    App *app = user_data;
    if (app->dialog != dialog) return FALSE;
    answer_permission(app, FALSE);
    return TRUE; /* answer_permission destroyed it already */
}

/*
 * The dialog's layout is kept simple and fixed on purpose, so that a test
 * can click its buttons under Xvfb without a window manager: the two buttons
 * fill the bottom row in equal halves (Deny left, Approve right), 44 px high,
 * 16 px above the bottom edge. tests/gtk/run.sh clicks at 1/4 and 3/4 of the
 * width, 38 px above the bottom.
 */
static void show_next_permission(App *app) {
    PendingPermission *p = g_queue_peek_head(&app->permissions);
    if (!p || app->dialog || app->quitting) return;

    GtkWindow *dialog = GTK_WINDOW(gtk_window_new());
    gtk_window_set_title(dialog, "gtk-chat: permission");
    gtk_window_set_transient_for(dialog, app->window);
    gtk_window_set_modal(dialog, TRUE);
    gtk_window_set_default_size(dialog, 460, 190);
    gtk_window_set_application(dialog, app->gtk); /* so Ctrl+Q works here too */

    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
    gtk_widget_set_margin_start(box, 16);
    gtk_widget_set_margin_end(box, 16);
    gtk_widget_set_margin_top(box, 16);
    gtk_widget_set_margin_bottom(box, 16);

    GtkWidget *label = gtk_label_new(p->summary);
    gtk_label_set_wrap(GTK_LABEL(label), TRUE);
    gtk_label_set_xalign(GTK_LABEL(label), 0);
    gtk_widget_set_vexpand(label, TRUE);
    gtk_box_append(GTK_BOX(box), label);

    GtkWidget *buttons = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);
    gtk_box_set_homogeneous(GTK_BOX(buttons), TRUE);
    GtkWidget *deny = gtk_button_new_with_mnemonic("_Deny");
    GtkWidget *approve = gtk_button_new_with_mnemonic("_Approve");
    gtk_widget_set_size_request(deny, -1, 44);
    gtk_widget_set_size_request(approve, -1, 44);
    gtk_widget_add_css_class(deny, "destructive-action");
    gtk_widget_add_css_class(approve, "suggested-action");
    g_signal_connect(deny, "clicked", G_CALLBACK(on_deny_clicked), app);
    g_signal_connect(approve, "clicked", G_CALLBACK(on_approve_clicked), app);
    gtk_box_append(GTK_BOX(buttons), deny);
    gtk_box_append(GTK_BOX(buttons), approve);
    gtk_box_append(GTK_BOX(box), buttons);

    gtk_window_set_child(dialog, box);
    gtk_window_set_default_widget(dialog, approve);
    gtk_window_set_focus(dialog, approve);

    /* Escape closes the window, which denies (close-request). */
    GtkEventController *keys = gtk_shortcut_controller_new();
    gtk_shortcut_controller_add_shortcut(GTK_SHORTCUT_CONTROLLER(keys),
                                         gtk_shortcut_new(gtk_keyval_trigger_new(GDK_KEY_Escape, 0),
                                                          gtk_named_action_new("window.close")));
    gtk_widget_add_controller(GTK_WIDGET(dialog), keys);

    g_signal_connect(dialog, "close-request", G_CALLBACK(on_dialog_close_request), app);
    app->dialog = dialog;
    gtk_window_present(dialog);
}

/* Runs inside copilot_client_dispatch on the GTK thread: the request is kept
 * and answered later, from a button's handler, once the user has decided. */
static void on_permission(void *user_data, copilot_permission_request *request, const char *request_json) {
    App *app = user_data;
    PendingPermission *p = g_new0(PendingPermission, 1);
    p->request = request;
    p->summary = describe_permission(request_json);
    g_queue_push_tail(&app->permissions, p);
    set_status(app, "permission asked: %s", p->summary);
    show_next_permission(app);
}

/* ---- driving libcopilot from the main loop ----------------------------------- */

static gboolean on_dispatch_ready(gint fd, GIOCondition condition, gpointer user_data) {
    App *app = user_data;
    (void)fd;
    (void)condition;
    copilot_error *err = NULL;
    if (copilot_client_dispatch(app->client, DISPATCH_BATCH, NULL, &err) == COPILOT_OK) return G_SOURCE_CONTINUE;
    /* Only a bug fails here (a client not in poll mode, or a dispatch from
     * inside a callback): the fd would stay readable, so stop watching it
     * rather than spin. */
    show_error(app, "dispatch", err);
    app->dispatch_watch = 0;
    return G_SOURCE_REMOVE;
}

/* ---- connecting (on a worker thread: starting the CLI blocks for seconds) ------ */

typedef struct {
    copilot_client *client; /* borrowed */
    App *app;               /* handed to the handlers only; not touched here */
    char *provider_config;  /* session config JSON; NULL: offline, made once replay listens */
    char *replay_binary, *conversation;
    /* results */
    GSubprocess *replay;
    copilot_session *session;
    char *error;
} Connect;

static void connect_free(Connect *c) {
    g_free(c->provider_config);
    g_free(c->replay_binary);
    g_free(c->conversation);
    g_clear_object(&c->replay);
    copilot_session_free(c->session);
    g_free(c->error);
    g_free(c);
}

/* Starts copilot-replay with a pipe as stdin, so it exits when we close the
 * pipe or die, and reads the one line it prints: COPILOT_REPLAY_URL=<base>. */
static char *start_replay(Connect *c) {
    GError *error = NULL;
    c->replay = g_subprocess_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                                 c->replay_binary, "--print-url", "--exit-on-stdin-eof", c->conversation, NULL);
    if (!c->replay) {
        c->error = g_strdup_printf("cannot start %s: %s", c->replay_binary, error->message);
        g_error_free(error);
        return NULL;
    }
    GDataInputStream *out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(c->replay));
    char *line = g_data_input_stream_read_line_utf8(out, NULL, NULL, &error);
    g_object_unref(out);
    const char *prefix = "COPILOT_REPLAY_URL=";
    char *url = line && g_str_has_prefix(line, prefix) ? g_strdup(line + strlen(prefix)) : NULL;
    if (!url)
        c->error = g_strdup_printf("%s %s did not start%s%s", c->replay_binary, c->conversation,
                                   error ? ": " : " (see its stderr)", error ? error->message : "");
    g_clear_error(&error);
    g_free(line);
    return url;
}

/* Session config for an OpenAI-compatible endpoint (BYOK), copilot-replay
 * included. Built with JSON-GLib so that any URL or key is escaped right. */
static char *byok_config(const char *base_url, const char *api_key, const char *model) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "streaming"); /* assistant.message_delta events */
    json_builder_add_boolean_value(b, TRUE);
    json_builder_set_member_name(b, "model");
    json_builder_add_string_value(b, model);
    json_builder_set_member_name(b, "provider");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "type");
    json_builder_add_string_value(b, "openai");
    json_builder_set_member_name(b, "baseUrl");
    json_builder_add_string_value(b, base_url);
    json_builder_set_member_name(b, "apiKey");
    json_builder_add_string_value(b, api_key);
    json_builder_set_member_name(b, "wireApi");
    json_builder_add_string_value(b, "completions");
    json_builder_end_object(b);
    json_builder_end_object(b);
    JsonNode *root = json_builder_get_root(b);
    char *json = json_to_string(root, FALSE);
    json_node_unref(root);
    g_object_unref(b);
    return json;
}

static void connect_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable) {
    Connect *c = task_data;
    (void)source;
    (void)cancellable;
    char *config_json = c->provider_config ? g_strdup(c->provider_config) : NULL;
    if (!config_json) {
        char *url = start_replay(c);
        if (!url) goto out;
        config_json = byok_config(url, "offline", "claude-sonnet-4.5");
        g_free(url);
    }

    copilot_error *err = NULL;
    copilot_session_config *cfg = NULL;
    const char *failed = NULL;
    /* The handlers get the App but run only inside copilot_client_dispatch,
     * that is on the GTK thread, never on this one. */
    if (copilot_session_config_new(config_json, &cfg, &err) != COPILOT_OK)
        failed = "session config";
    else if (copilot_session_config_add_tool(cfg, WEATHER_TOOL, get_weather, c->app, NULL, &err) != COPILOT_OK)
        failed = "add get_weather";
    else if (copilot_session_config_set_permission_handler(cfg, on_permission, c->app, NULL, &err) != COPILOT_OK)
        failed = "permission handler";
    else if (copilot_session_config_on_event(cfg, on_event, c->app, NULL, &err) != COPILOT_OK)
        failed = "event handler";
    else if (copilot_client_create_session(c->client, cfg, &c->session, &err) != COPILOT_OK)
        failed = "create session";
    if (failed) c->error = g_strdup_printf("%s: %s", failed, copilot_error_message(err));
    copilot_error_free(err);
    copilot_session_config_free(cfg); /* the session keeps its handlers */
out:
    g_free(config_json);
    g_task_return_boolean(task, c->error == NULL);
}

/* Back on the GTK thread. */
static void on_connected(GObject *source, GAsyncResult *result, gpointer user_data) {
    App *app = user_data;
    Connect *c = g_task_get_task_data(G_TASK(result));
    (void)source;
    app->connecting = FALSE;
    app->replay = g_steal_pointer(&c->replay);
    if (c->error) {
        close_stream(app);
        append_line(app, "error", "[error] %s", c->error);
        set_status(app, "error: %s", c->error);
    } else if (!app->quitting) {
        app->session = g_steal_pointer(&c->session);
        set_status(app, "ready");
    }
    update_send_sensitivity(app);
}

static void start_connecting(App *app) {
    Connect *c = g_new0(Connect, 1);
    c->client = app->client;
    c->app = app;
    const char *token = g_getenv("COPILOT_GITHUB_TOKEN");
    const char *provider = g_getenv("COPILOT_PROVIDER_URL");
    if (token && *token) {
        c->provider_config = g_strdup("{\"streaming\": true}");
        set_status(app, "connecting to GitHub Copilot...");
    } else if (provider && *provider) {
        const char *model = g_getenv("COPILOT_MODEL");
        const char *key = g_getenv("COPILOT_PROVIDER_API_KEY");
        c->provider_config =
            byok_config(provider, key && *key ? key : "none", model && *model ? model : "claude-sonnet-4.5");
        set_status(app, "connecting to %s...", provider);
    } else {
        const char *replay = g_getenv("COPILOT_REPLAY_PATH");
        const char *conversation = g_getenv("GTK_CHAT_CONVERSATION");
        c->replay_binary = g_strdup(replay && *replay ? replay : GTK_CHAT_DEFAULT_REPLAY);
        c->conversation = g_strdup(conversation && *conversation ? conversation : GTK_CHAT_DEFAULT_CONVERSATION);
        set_status(app, "connecting (offline: copilot-replay serving %s)...", c->conversation);
    }
    app->connecting = TRUE;
    GTask *task = g_task_new(NULL, NULL, on_connected, app);
    g_task_set_task_data(task, c, (GDestroyNotify)connect_free);
    g_task_run_in_thread(task, connect_thread);
    g_object_unref(task);
}

/* ---- sending ---------------------------------------------------------------- */

static void send_prompt(App *app) {
    const char *prompt = gtk_editable_get_text(GTK_EDITABLE(app->entry));
    if (!app->session || app->turn_running || !*prompt) return;

    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "prompt");
    json_builder_add_string_value(b, prompt);
    json_builder_end_object(b);
    JsonNode *root = json_builder_get_root(b);
    char *message = json_to_string(root, FALSE);
    json_node_unref(root);
    g_object_unref(b);

    close_stream(app);
    append(app, "user", "You: ");
    append_line(app, NULL, "%s", prompt);
    /* One round trip to the CLI; the turn's events then come through the
     * dispatch fd. */
    copilot_error *err = NULL;
    if (copilot_session_send(app->session, message, NULL, &err) == COPILOT_OK) {
        app->turn_running = TRUE;
        app->turn_chunks = 0;
        gtk_editable_set_text(GTK_EDITABLE(app->entry), "");
        set_status(app, "thinking...");
    } else {
        show_error(app, "send", err);
    }
    g_free(message);
    update_send_sensitivity(app);
}

static void on_send(GtkWidget *widget, gpointer user_data) {
    (void)widget;
    send_prompt(user_data);
}

/* ---- the window and the application ---------------------------------------------- */

static void quit(App *app) {
    if (app->quitting) return;
    app->quitting = TRUE;
    update_send_sensitivity(app);
    /* Waiting permission requests are answered at teardown. */
    close_dialog(app);
    if (app->window) gtk_window_destroy(app->window);
    g_application_quit(G_APPLICATION(app->gtk));
}

static void on_quit_action(GSimpleAction *action, GVariant *parameter, gpointer user_data) {
    (void)action;
    (void)parameter;
    quit(user_data);
}

static gboolean on_quit_signal(gpointer user_data) {
    quit(user_data);
    return G_SOURCE_CONTINUE;
}

/* However the main window goes (Ctrl+Q, its close button), the dialog goes
 * with it, and the application then ends (it has no window left). */
static void on_window_destroy(GtkWidget *window, gpointer user_data) {
    App *app = user_data;
    (void)window;
    close_dialog(app);
    app->window = NULL;
    app->view = NULL;
    app->entry = NULL;
    app->send = NULL;
    app->status = NULL;
    app->quitting = TRUE;
}

static GtkTextBuffer *new_buffer(void) {
    GtkTextBuffer *buffer = gtk_text_buffer_new(NULL);
    gtk_text_buffer_create_tag(buffer, "user", "weight", PANGO_WEIGHT_BOLD, NULL);
    gtk_text_buffer_create_tag(buffer, "assistant", "weight", PANGO_WEIGHT_BOLD, "foreground", "#1c71d8", NULL);
    gtk_text_buffer_create_tag(buffer, "meta", "family", "monospace", "foreground", "#5e5c64", NULL);
    gtk_text_buffer_create_tag(buffer, "error", "foreground", "#c01c28", NULL);
    return buffer;
}

/*
 * Main window layout, fixed for the same reason as the dialog's: the Send
 * button is the bottom-right widget, 96x40 px with a 12 px margin, so its
 * centre is 60 px from the right edge and 32 px from the bottom.
 */
static void on_activate(GtkApplication *gtk, gpointer user_data) {
    App *app = user_data;
    if (app->window) {
        gtk_window_present(app->window);
        return;
    }
    app->buffer = new_buffer();
    GtkTextIter end;
    gtk_text_buffer_get_end_iter(app->buffer, &end);
    app->end = gtk_text_buffer_create_mark(app->buffer, NULL, &end, FALSE); /* moves as text is appended */

    app->window = GTK_WINDOW(gtk_application_window_new(gtk));
    gtk_window_set_title(app->window, "gtk-chat");
    gtk_window_set_default_size(app->window, 720, 520);
    g_signal_connect(app->window, "destroy", G_CALLBACK(on_window_destroy), app);

    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 8);
    gtk_widget_set_margin_start(box, 12);
    gtk_widget_set_margin_end(box, 12);
    gtk_widget_set_margin_top(box, 12);
    gtk_widget_set_margin_bottom(box, 12);

    app->status = GTK_LABEL(gtk_label_new(""));
    gtk_label_set_xalign(app->status, 0);
    gtk_label_set_ellipsize(app->status, PANGO_ELLIPSIZE_END);
    gtk_widget_add_css_class(GTK_WIDGET(app->status), "dim-label");
    gtk_box_append(GTK_BOX(box), GTK_WIDGET(app->status));

    app->view = GTK_TEXT_VIEW(gtk_text_view_new_with_buffer(app->buffer));
    gtk_text_view_set_editable(app->view, FALSE);
    gtk_text_view_set_cursor_visible(app->view, FALSE);
    gtk_text_view_set_wrap_mode(app->view, GTK_WRAP_WORD_CHAR);
    gtk_text_view_set_left_margin(app->view, 8);
    gtk_text_view_set_right_margin(app->view, 8);
    gtk_text_view_set_top_margin(app->view, 8);
    GtkWidget *scroller = gtk_scrolled_window_new();
    gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroller), GTK_WIDGET(app->view));
    gtk_widget_set_vexpand(scroller, TRUE);
    gtk_box_append(GTK_BOX(box), scroller);

    GtkWidget *row = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
    app->entry = GTK_ENTRY(gtk_entry_new());
    gtk_entry_set_placeholder_text(app->entry, "Ask Copilot...");
    gtk_widget_set_hexpand(GTK_WIDGET(app->entry), TRUE);
    const char *prefill = g_getenv("GTK_CHAT_PROMPT");
    if (prefill) gtk_editable_set_text(GTK_EDITABLE(app->entry), prefill);
    g_signal_connect(app->entry, "activate", G_CALLBACK(on_send), app);
    app->send = gtk_button_new_with_mnemonic("_Send");
    gtk_widget_set_size_request(app->send, 96, 40);
    gtk_widget_add_css_class(app->send, "suggested-action");
    g_signal_connect(app->send, "clicked", G_CALLBACK(on_send), app);
    gtk_box_append(GTK_BOX(row), GTK_WIDGET(app->entry));
    gtk_box_append(GTK_BOX(row), app->send);
    gtk_box_append(GTK_BOX(box), row);

    gtk_window_set_child(app->window, box);
    gtk_widget_grab_focus(GTK_WIDGET(app->entry));
    update_send_sensitivity(app);
    gtk_window_present(app->window);

    app->dispatch_watch = g_unix_fd_add(copilot_client_dispatch_fd(app->client), G_IO_IN, on_dispatch_ready, app);
    start_connecting(app);
}

static void write_dump(App *app) {
    const char *path = g_getenv("GTK_CHAT_DUMP");
    if (!path || !*path || !app->buffer) return;
    GtkTextIter start, end;
    gtk_text_buffer_get_bounds(app->buffer, &start, &end);
    char *text = gtk_text_buffer_get_text(app->buffer, &start, &end, FALSE);
    GError *error = NULL;
    if (!g_file_set_contents(path, text, -1, &error)) {
        g_printerr("gtk-chat: cannot write %s: %s\n", path, error->message);
        g_error_free(error);
    }
    g_free(text);
}

/* After the main loop: answer what is still waiting, stop the CLI, stop the
 * model server, free everything. */
static void teardown(App *app) {
    if (app->connecting) {
        /* The connect thread is blocked in libcopilot: make its calls fail
         * now, and wait for it to report back. */
        copilot_client_force_stop(app->client);
        while (app->connecting) g_main_context_iteration(NULL, TRUE);
    }
    if (app->session && app->turn_running) {
        /* Quitting mid-turn: stop the turn rather than let the CLI go on
         * with it (and with the permission requests denied below). */
        copilot_error *err = NULL;
        if (copilot_session_abort(app->session, &err) != COPILOT_OK) {
            g_printerr("gtk-chat: abort: %s\n", copilot_error_message(err));
            copilot_error_free(err);
        }
    }
    PendingPermission *p;
    while ((p = g_queue_pop_head(&app->permissions))) {
        copilot_permission_request_free(p->request); /* answered "user-not-available" */
        g_free(p->summary);
        g_free(p);
    }
    if (app->dispatch_watch) g_source_remove(app->dispatch_watch);
    copilot_session_free(app->session);
    app->session = NULL;
    copilot_error *err = NULL;
    if (copilot_client_stop(app->client, 5000, &err) != COPILOT_OK) {
        g_printerr("gtk-chat: stopping the CLI: %s\n", copilot_error_message(err));
        copilot_error_free(err);
    }
    copilot_client_free(app->client);
    app->client = NULL;
    if (app->replay) {
        /* copilot-replay exits when its stdin closes. */
        g_output_stream_close(g_subprocess_get_stdin_pipe(app->replay), NULL, NULL);
        g_subprocess_wait(app->replay, NULL, NULL);
        g_clear_object(&app->replay);
    }
}

int main(int argc, char **argv) {
    if (copilot_abi_version() != COPILOT_ABI_VERSION) {
        g_printerr("gtk-chat: libcopilot ABI %u, header %u\n", copilot_abi_version(), COPILOT_ABI_VERSION);
        return 1;
    }
    App app = {0};
    g_queue_init(&app.permissions);
    app.streamed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    /* Poll mode: callbacks run on this thread, from the GTK main loop. The
     * calls made from it (send, abort at exit) wait for one reply at most
     * REQUEST_TIMEOUT_MS rather than the default five minutes. */
    char *options_json;
    const char *token = g_getenv("COPILOT_GITHUB_TOKEN");
    if (token && *token) {
        JsonBuilder *b = json_builder_new();
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "githubToken");
        json_builder_add_string_value(b, token);
        json_builder_set_member_name(b, "dispatch");
        json_builder_add_string_value(b, "poll");
        json_builder_set_member_name(b, "requestTimeoutMs");
        json_builder_add_int_value(b, REQUEST_TIMEOUT_MS);
        json_builder_end_object(b);
        JsonNode *root = json_builder_get_root(b);
        options_json = json_to_string(root, FALSE);
        json_node_unref(root);
        g_object_unref(b);
    } else {
        /* BYOK and offline sessions need no GitHub sign-in. */
        options_json = g_strdup_printf("{\"useLoggedInUser\": false, \"dispatch\": \"poll\", \"requestTimeoutMs\": %d}",
                                       REQUEST_TIMEOUT_MS);
    }
    copilot_error *err = NULL;
    copilot_status st = copilot_client_new(options_json, &app.client, &err);
    g_free(options_json);
    if (st != COPILOT_OK) {
        g_printerr("gtk-chat: client: %s\n", copilot_error_message(err));
        copilot_error_free(err);
        g_hash_table_unref(app.streamed);
        return 1;
    }

    app.gtk = gtk_application_new("io.github.libcopilot.GtkChat", G_APPLICATION_NON_UNIQUE);
    GSimpleAction *quit_action = g_simple_action_new("quit", NULL);
    g_signal_connect(quit_action, "activate", G_CALLBACK(on_quit_action), &app);
    g_action_map_add_action(G_ACTION_MAP(app.gtk), G_ACTION(quit_action));
    g_object_unref(quit_action);
    gtk_application_set_accels_for_action(app.gtk, "app.quit", (const char *[]){"<Control>q", NULL});
    g_signal_connect(app.gtk, "activate", G_CALLBACK(on_activate), &app);
    guint sigint = g_unix_signal_add(SIGINT, on_quit_signal, &app);
    guint sigterm = g_unix_signal_add(SIGTERM, on_quit_signal, &app);

    int status = g_application_run(G_APPLICATION(app.gtk), argc, argv);

    g_source_remove(sigint);
    g_source_remove(sigterm);
    teardown(&app);
    write_dump(&app);
    set_status(&app, "exited");

    g_object_unref(app.gtk);
    g_clear_object(&app.buffer);
    g_hash_table_unref(app.streamed);
    g_free(app.open_message);
    return status;
}
