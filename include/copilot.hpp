/*
 * libcopilot for C++17: a header-only layer over copilot.h.
 *
 * - RAII owners: copilot::Client, copilot::Session, copilot::SessionConfig and the
 *   per-call handles (ToolInvocation, PermissionRequest, Request) free their C
 *   handle in their destructor; they are move-only.
 * - Failures throw copilot::Error, which carries the copilot_status and, for
 *   COPILOT_ERR_RPC, the JSON-RPC error code and data.
 * - Callbacks are std::function. They run on the client's callback thread (see
 *   copilot.h); an exception escaping one is caught at the C boundary: a tool
 *   call, permission request or host request it left unanswered is failed with
 *   the exception's message, and other callbacks drop it.
 * - JSON stays text: arguments are std::string_view, results std::string. Bring
 *   your own JSON library.
 *
 * Threading, blocking and ownership follow the C function each method names.
 */
#ifndef COPILOT_HPP
#define COPILOT_HPP

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "copilot.h"

namespace copilot {

/** A failed libcopilot call. */
class Error : public std::runtime_error {
public:
    Error(copilot_status status, std::string message, std::optional<int64_t> rpc_code = {},
          std::optional<std::string> rpc_data = {})
        : std::runtime_error(std::move(message)), status_(status), rpc_code_(rpc_code),
          rpc_data_(std::move(rpc_data)) {}

    /** The status the C function returned (never COPILOT_OK). */
    copilot_status status() const noexcept { return status_; }
    /** The JSON-RPC error code, for COPILOT_ERR_RPC. */
    std::optional<int64_t> rpc_code() const noexcept { return rpc_code_; }
    /** The JSON-RPC error data as JSON text, when the CLI sent some. */
    const std::optional<std::string>& rpc_data() const noexcept { return rpc_data_; }

private:
    copilot_status status_;
    std::optional<int64_t> rpc_code_;
    std::optional<std::string> rpc_data_;
};

namespace detail {

/** Throws Error for a failed status, taking ownership of `err`. */
inline void check(copilot_status status, copilot_error* err) {
    if (status == COPILOT_OK) {
        return;
    }
    std::string message = err ? copilot_error_message(err) : "libcopilot call failed";
    std::optional<int64_t> code;
    int64_t c = 0;
    if (err && copilot_error_rpc_code(err, &c)) {
        code = c;
    }
    std::optional<std::string> data;
    if (const char* d = err ? copilot_error_rpc_data(err) : nullptr) {
        data = d;
    }
    copilot_error_free(err);
    throw Error(status, std::move(message), code, std::move(data));
}

/** Runs a C call that takes `copilot_error **` last and throws on failure. */
template <typename F>
void call(F&& f) {
    copilot_error* err = nullptr;
    copilot_status status = f(&err);
    check(status, err);
}

/** Takes a string the library returned (NULL becomes nullopt). */
inline std::optional<std::string> take(char* s) {
    if (!s) {
        return std::nullopt;
    }
    std::string out(s);
    copilot_string_free(s);
    return out;
}

/** A borrowed C string as std::string; NULL (an answered or empty handle) is "". */
inline std::string str(const char* s) { return s ? s : ""; }

/** A NUL-terminated copy of a view. */
inline std::string z(std::string_view s) { return std::string(s); }

/** A NUL-terminated copy, or NULL for an empty view (the C default). */
struct OptZ {
    explicit OptZ(std::string_view s) : empty(s.empty()), text(s) {}
    const char* get() const { return empty ? nullptr : text.c_str(); }
    bool empty;
    std::string text;
};

/** user_data for a std::function: freed by the library's user_data_free. */
template <typename Fn>
void* box(Fn fn) {
    return new Fn(std::move(fn));
}

template <typename Fn>
void unbox(void* user_data) {
    delete static_cast<Fn*>(user_data);
}

/** Message of the exception in flight, for failing a call it left unanswered. */
inline std::string current_exception_message() {
    try {
        throw;
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown C++ exception in a libcopilot callback";
    }
}

}  // namespace detail

/** The library's version, e.g. "0.1.0". */
inline std::string_view version() { return copilot_version(); }

/** Fails fast when the program was compiled against another ABI than it loaded. */
inline bool abi_matches() { return copilot_abi_version() == COPILOT_ABI_VERSION; }

/** Log handler: (level, target, message); see copilot_log_fn for its threading. */
using LogHandler = std::function<void(copilot_log_level, std::string_view, std::string_view)>;

/**
 * Routes the library's logs (and the CLI's stderr lines, target "cli") to `handler`
 * for the whole process, up to `max_level`; an empty handler restores the default.
 * Maps to copilot_log_set_handler. Exceptions from the handler are swallowed.
 */
inline void set_log_handler(copilot_log_level max_level, LogHandler handler) {
    if (!handler) {
        detail::call([&](copilot_error** e) {
            return copilot_log_set_handler(COPILOT_LOG_OFF, nullptr, nullptr, nullptr, e);
        });
        return;
    }
    void* ud = detail::box(std::move(handler));
    copilot_error* err = nullptr;
    copilot_status status = copilot_log_set_handler(
        max_level,
        [](void* u, copilot_log_level level, const char* target, const char* message) {
            try {
                (*static_cast<LogHandler*>(u))(level, target, message);
            } catch (...) {
            }
        },
        ud, &detail::unbox<LogHandler>, &err);
    if (status != COPILOT_OK) {
        detail::unbox<LogHandler>(ud);  // not taken on error
    }
    detail::check(status, err);
}

/** One custom tool call (copilot_tool_invocation). Answer it once: complete() or
 *  fail() consume the handle (even when they throw), and a second answer throws
 *  COPILOT_ERR_INVALID_ARGUMENT. */
class ToolInvocation {
public:
    explicit ToolInvocation(copilot_tool_invocation* h) noexcept : h_(h) {}
    ToolInvocation(ToolInvocation&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    ToolInvocation& operator=(ToolInvocation&& o) noexcept {
        std::swap(h_, o.h_);
        return *this;
    }
    ToolInvocation(const ToolInvocation&) = delete;
    ToolInvocation& operator=(const ToolInvocation&) = delete;
    /** Unanswered: the tool call is answered as failed (copilot_tool_invocation_free). */
    ~ToolInvocation() { copilot_tool_invocation_free(h_); }

    /** `{sessionId, toolCallId, toolName, arguments}` (copilot_tool_invocation_json). */
    std::string json() const { return detail::str(copilot_tool_invocation_json(h_)); }
    /** Result: a JSON string (text for the model) or a ToolResult object. */
    void complete(std::string_view result_json) {
        detail::call([&](copilot_error** e) {
            return copilot_tool_invocation_complete(std::exchange(h_, nullptr),
                                                    detail::z(result_json).c_str(), e);
        });
    }
    /** Answers the call as failed; `message` is logged by the CLI. */
    void fail(std::string_view message) {
        detail::call([&](copilot_error** e) {
            return copilot_tool_invocation_fail(std::exchange(h_, nullptr),
                                                detail::z(message).c_str(), e);
        });
    }
    copilot_tool_invocation* get() const noexcept { return h_; }
    /** Gives up ownership: the caller answers or frees the C handle. */
    copilot_tool_invocation* release() noexcept { return std::exchange(h_, nullptr); }

private:
    copilot_tool_invocation* h_;
};

/** One permission request (copilot_permission_request); respond() consumes it. */
class PermissionRequest {
public:
    explicit PermissionRequest(copilot_permission_request* h) noexcept : h_(h) {}
    PermissionRequest(PermissionRequest&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    PermissionRequest& operator=(PermissionRequest&& o) noexcept {
        std::swap(h_, o.h_);
        return *this;
    }
    PermissionRequest(const PermissionRequest&) = delete;
    PermissionRequest& operator=(const PermissionRequest&) = delete;
    /** Unanswered: denied as user-not-available (copilot_permission_request_free). */
    ~PermissionRequest() { copilot_permission_request_free(h_); }

    std::string json() const { return detail::str(copilot_permission_request_json(h_)); }
    /** `decision_json`: e.g. `{"kind":"approve-once"}` (copilot_permission_request_respond). */
    void respond(std::string_view decision_json) {
        detail::call([&](copilot_error** e) {
            return copilot_permission_request_respond(std::exchange(h_, nullptr),
                                                      detail::z(decision_json).c_str(), e);
        });
    }
    copilot_permission_request* get() const noexcept { return h_; }
    /** Gives up ownership: the caller answers or frees the C handle. */
    copilot_permission_request* release() noexcept { return std::exchange(h_, nullptr); }

private:
    copilot_permission_request* h_;
};

/** A request from the CLI to the host: user input, hooks, commands... (copilot_request);
 *  respond() or fail() consume it. */
class Request {
public:
    explicit Request(copilot_request* h) noexcept : h_(h) {}
    Request(Request&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    Request& operator=(Request&& o) noexcept {
        std::swap(h_, o.h_);
        return *this;
    }
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;
    /** Unanswered: the official SDKs' default answer is sent (copilot_request_free). */
    ~Request() { copilot_request_free(h_); }

    std::string kind() const { return detail::str(copilot_request_kind(h_)); }
    std::string json() const { return detail::str(copilot_request_json(h_)); }
    void respond(std::string_view result_json) {
        detail::call([&](copilot_error** e) {
            return copilot_request_respond(std::exchange(h_, nullptr),
                                           detail::z(result_json).c_str(), e);
        });
    }
    void fail(std::string_view message) {
        detail::call([&](copilot_error** e) {
            return copilot_request_fail(std::exchange(h_, nullptr), detail::z(message).c_str(),
                                        e);
        });
    }
    copilot_request* get() const noexcept { return h_; }
    /** Gives up ownership: the caller answers or frees the C handle. */
    copilot_request* release() noexcept { return std::exchange(h_, nullptr); }

private:
    copilot_request* h_;
};

/** Handlers get the call's owner by reference: answer it there, or move it
 *  elsewhere to answer later from any thread. Still owned when the handler
 *  returns, it is answered for you: a tool call as failed, a request with the
 *  official SDKs' default, a permission request as user-not-available. */
using ToolHandler = std::function<void(ToolInvocation&)>;
using PermissionHandler = std::function<void(PermissionRequest&)>;
using RequestHandler = std::function<void(Request&)>;
/** (event type, event envelope JSON), both borrowed for the call. */
using EventHandler = std::function<void(std::string_view, std::string_view)>;
/** (new state, reason or empty). */
using StateHandler = std::function<void(copilot_client_state, std::string_view)>;

namespace detail {

// If the handler throws while the call is still unanswered, the call is failed
// with the exception's message.
inline void tool_trampoline(void* u, copilot_tool_invocation* inv, const char*) {
    ToolInvocation owned(inv);
    try {
        (*static_cast<ToolHandler*>(u))(owned);
    } catch (...) {
        if (owned.get()) {
            copilot_tool_invocation_fail(owned.release(), current_exception_message().c_str(),
                                         nullptr);
        }
    }
}

inline void permission_trampoline(void* u, copilot_permission_request* req, const char*) {
    PermissionRequest owned(req);
    try {
        (*static_cast<PermissionHandler*>(u))(owned);
    } catch (...) {
    }
}

inline void request_trampoline(void* u, copilot_request* req, const char*) {
    Request owned(req);
    try {
        (*static_cast<RequestHandler*>(u))(owned);
    } catch (...) {
        if (owned.get()) {
            copilot_request_fail(owned.release(), current_exception_message().c_str(), nullptr);
        }
    }
}

inline void event_trampoline(void* u, const char* type, const char* json, size_t len) {
    try {
        (*static_cast<EventHandler*>(u))(type, std::string_view(json, len));
    } catch (...) {
    }
}

/** Registers a boxed std::function; frees it itself if the library refused it. */
template <typename Fn, typename Register>
void register_boxed(Fn fn, Register reg) {
    void* ud = box(std::move(fn));
    copilot_error* err = nullptr;
    copilot_status status = reg(ud, &unbox<Fn>, &err);
    if (status != COPILOT_OK) {
        unbox<Fn>(ud);
    }
    check(status, err);
}

}  // namespace detail

/**
 * What a session is created or resumed with (copilot_session_config): the
 * SessionConfig JSON of the official SDKs plus handlers. Reusable; the session
 * keeps its own copy of everything.
 */
class SessionConfig {
public:
    /** `config_json`: SessionConfig JSON, e.g. `{"model":"gpt-5","streaming":true}`. */
    explicit SessionConfig(std::string_view config_json = "{}") {
        detail::call([&](copilot_error** e) {
            return copilot_session_config_new(detail::z(config_json).c_str(), &h_, e);
        });
    }
    SessionConfig(SessionConfig&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    SessionConfig& operator=(SessionConfig&& o) noexcept {
        std::swap(h_, o.h_);
        return *this;
    }
    SessionConfig(const SessionConfig&) = delete;
    SessionConfig& operator=(const SessionConfig&) = delete;
    ~SessionConfig() { copilot_session_config_free(h_); }

    /** `tool_json`: `{name, description?, parameters? (JSON Schema), ...}`. */
    SessionConfig& add_tool(std::string_view tool_json, ToolHandler handler) {
        std::string tool = detail::z(tool_json);
        detail::register_boxed(std::move(handler), [&](void* ud, copilot_free_fn f, copilot_error** e) {
            return copilot_session_config_add_tool(h_, tool.c_str(), &detail::tool_trampoline, ud, f, e);
        });
        return *this;
    }
    SessionConfig& on_permission(PermissionHandler handler) {
        detail::register_boxed(std::move(handler), [&](void* ud, copilot_free_fn f, copilot_error** e) {
            return copilot_session_config_set_permission_handler(h_, &detail::permission_trampoline,
                                                                 ud, f, e);
        });
        return *this;
    }
    /** Approves every permission request (copilot_session_config_approve_all). */
    SessionConfig& approve_all() {
        detail::call([&](copilot_error** e) { return copilot_session_config_approve_all(h_, e); });
        return *this;
    }
    /** Every event from the session's first one on (copilot_session_config_on_event). */
    SessionConfig& on_event(EventHandler handler) {
        detail::register_boxed(std::move(handler), [&](void* ud, copilot_free_fn f, copilot_error** e) {
            return copilot_session_config_on_event(h_, &detail::event_trampoline, ud, f, e);
        });
        return *this;
    }
    /** `kind`: "userInput", "elicitation", "exitPlanMode", "autoModeSwitch", ... */
    SessionConfig& set_handler(std::string_view kind, RequestHandler handler) {
        std::string k = detail::z(kind);
        detail::register_boxed(std::move(handler), [&](void* ud, copilot_free_fn f, copilot_error** e) {
            return copilot_session_config_set_handler(h_, k.c_str(), &detail::request_trampoline, ud,
                                                      f, e);
        });
        return *this;
    }
    /** `hook_type`: "preToolUse", "postToolUse", "sessionStart", ... */
    SessionConfig& set_hook(std::string_view hook_type, RequestHandler handler) {
        std::string t = detail::z(hook_type);
        detail::register_boxed(std::move(handler), [&](void* ud, copilot_free_fn f, copilot_error** e) {
            return copilot_session_config_set_hook(h_, t.c_str(), &detail::request_trampoline, ud, f,
                                                   e);
        });
        return *this;
    }
    /** `command_json`: `{name, description?}`, run as "/name args". */
    SessionConfig& add_command(std::string_view command_json, RequestHandler handler) {
        std::string c = detail::z(command_json);
        detail::register_boxed(std::move(handler), [&](void* ud, copilot_free_fn f, copilot_error** e) {
            return copilot_session_config_add_command(h_, c.c_str(), &detail::request_trampoline, ud,
                                                      f, e);
        });
        return *this;
    }
    const copilot_session_config* get() const noexcept { return h_; }

private:
    copilot_session_config* h_ = nullptr;
};

/** A conversation (copilot_session). Destroying the object frees the handle without
 *  deleting the session in the CLI; call destroy() for that. */
class Session {
public:
    explicit Session(copilot_session* h) noexcept : h_(h) {}
    Session(Session&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    Session& operator=(Session&& o) noexcept {
        std::swap(h_, o.h_);
        return *this;
    }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    ~Session() { copilot_session_free(h_); }

    std::string id() const { return detail::str(copilot_session_id(h_)); }
    /** `{sessionId, workspacePath?, capabilities?}` (copilot_session_info_json). */
    std::string info_json() const { return detail::str(copilot_session_info_json(h_)); }

    /** `message_json`: `{"prompt": ..., "attachments"?, "mode"?}`. Returns the message
     *  id (session.send); the turn's events arrive through handlers. Blocks for one
     *  round trip. */
    std::string send(std::string_view message_json) {
        char* out = nullptr;
        detail::call([&](copilot_error** e) {
            return copilot_session_send(h_, detail::z(message_json).c_str(), &out, e);
        });
        return detail::take(out).value_or("");
    }
    /** Sends and blocks until the turn ends; the last assistant.message envelope, if any.
     *  Throws COPILOT_ERR_WRONG_THREAD when called from a callback. */
    std::optional<std::string> send_and_wait(
        std::string_view message_json,
        std::chrono::milliseconds timeout = std::chrono::milliseconds(60000)) {
        char* out = nullptr;
        detail::call([&](copilot_error** e) {
            return copilot_session_send_and_wait(h_, detail::z(message_json).c_str(),
                                                 static_cast<uint32_t>(timeout.count()), &out, e);
        });
        return detail::take(out);
    }
    /** send_and_wait with stall guards: `wait_json` as copilot_session_send_and_wait_opts. */
    std::optional<std::string> send_and_wait(std::string_view message_json,
                                             std::string_view wait_json) {
        char* out = nullptr;
        detail::OptZ wait(wait_json);
        detail::call([&](copilot_error** e) {
            return copilot_session_send_and_wait_opts(h_, detail::z(message_json).c_str(),
                                                      wait.get(), &out, e);
        });
        return detail::take(out);
    }
    /** Stops the current turn (session.abort). */
    void abort() {
        detail::call([&](copilot_error** e) { return copilot_session_abort(h_, e); });
    }
    /** Every event so far as a JSON array (session.getMessages). Blocks. */
    std::string messages() {
        char* out = nullptr;
        detail::call([&](copilot_error** e) { return copilot_session_get_messages(h_, &out, e); });
        return detail::take(out).value_or("[]");
    }
    /** Adds an event handler from now on; returns its id for unsubscribe(). */
    uint64_t subscribe(EventHandler handler) {
        uint64_t id = 0;
        detail::register_boxed(std::move(handler), [&](void* ud, copilot_free_fn f, copilot_error** e) {
            return copilot_session_subscribe(h_, &detail::event_trampoline, ud, f, &id, e);
        });
        return id;
    }
    void unsubscribe(uint64_t id) {
        detail::call([&](copilot_error** e) { return copilot_session_unsubscribe(h_, id, e); });
    }
    /** Switches the session's model from its next turn on (session.model.switchTo).
     *  `options_json`: empty, or `{"reasoningEffort"?, "reasoningSummary"?, "contextTier"?,
     *  "modelCapabilities"?, ...}`. Returns `{status, deferred, modelId, message, modelState,
     *  ...}`. Throws COPILOT_ERR_INVALID_ARGUMENT for an empty id. Blocks for one round trip
     *  (copilot_session_set_model). */
    std::string set_model(std::string_view model_id, std::string_view options_json = {}) {
        char* out = nullptr;
        detail::OptZ options(options_json);
        detail::call([&](copilot_error** e) {
            return copilot_session_set_model(h_, detail::z(model_id).c_str(), options.get(), &out,
                                             e);
        });
        return detail::take(out).value_or("null");
    }
    /** Any session-scoped method; `sessionId` is added to `params_json`. Blocks. */
    std::string call(std::string_view method, std::string_view params_json = {}) {
        char* out = nullptr;
        detail::OptZ params(params_json);
        detail::call([&](copilot_error** e) {
            return copilot_session_call(h_, detail::z(method).c_str(), params.get(), &out, e);
        });
        return detail::take(out).value_or("null");
    }
    /** Ends the session in the CLI (session.destroy). Blocks. */
    void destroy() {
        detail::call([&](copilot_error** e) { return copilot_session_destroy(h_, e); });
    }
    copilot_session* get() const noexcept { return h_; }

private:
    copilot_session* h_;
};

/** A connection to the Copilot CLI (copilot_client). */
class Client {
public:
    /** `options_json`: ClientOptions JSON (copilot_client_new), e.g. `{"cliPath": "..."}`. */
    explicit Client(std::string_view options_json = "{}") {
        detail::call([&](copilot_error** e) {
            return copilot_client_new(detail::z(options_json).c_str(), &h_, e);
        });
    }
    Client(Client&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    Client& operator=(Client&& o) noexcept {
        std::swap(h_, o.h_);
        return *this;
    }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;
    /** Never blocks: a running CLI is stopped in the background (copilot_client_free). */
    ~Client() { copilot_client_free(h_); }

    /** Spawns or connects and handshakes. Blocks. */
    void start() {
        detail::call([&](copilot_error** e) { return copilot_client_start(h_, e); });
    }
    /** Ends the sessions and the CLI, waiting up to `timeout`. Blocks. */
    void stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
        detail::call([&](copilot_error** e) {
            return copilot_client_stop(h_, static_cast<uint32_t>(timeout.count()), e);
        });
    }
    void force_stop() noexcept { copilot_client_force_stop(h_); }
    copilot_client_state state() const noexcept { return copilot_client_get_state(h_); }
    /** The spawned CLI's pid, or 0. */
    uint32_t cli_pid() const noexcept { return copilot_client_cli_pid(h_); }
    /** Poll mode (`"dispatch": "poll"`): the fd readable while callbacks wait,
     *  for the host's event loop; -1 otherwise (copilot_client_dispatch_fd). */
    int dispatch_fd() const noexcept { return copilot_client_dispatch_fd(h_); }
    /** Poll mode: runs up to `max` waiting callbacks on this thread, in order,
     *  and returns how many still wait (copilot_client_dispatch). Throws
     *  copilot::Error with COPILOT_ERR_WRONG_THREAD from inside a callback or
     *  while another thread dispatches. A callback may destroy this Client. */
    std::size_t dispatch(std::size_t max = SIZE_MAX) {
        std::size_t remaining = 0;
        copilot_client* h = h_;
        detail::call([&](copilot_error** e) { return copilot_client_dispatch(h, max, &remaining, e); });
        return remaining;
    }
    void on_state_change(StateHandler handler) {
        detail::register_boxed(std::move(handler), [&](void* ud, copilot_free_fn f, copilot_error** e) {
            return copilot_client_on_state_change(
                h_,
                [](void* u, copilot_client_state state, const char* reason) {
                    try {
                        (*static_cast<StateHandler*>(u))(state, reason ? reason : "");
                    } catch (...) {
                    }
                },
                ud, f, e);
        });
    }
    /** `{message, timestamp, protocolVersion}` (ping). Blocks. */
    std::string ping(std::string_view message = {}) {
        char* out = nullptr;
        detail::OptZ m(message);
        detail::call([&](copilot_error** e) { return copilot_client_ping(h_, m.get(), &out, e); });
        return detail::take(out).value_or("null");
    }
    /** `{version, protocolVersion}` (status.get; copilot_client_get_status). Blocks. */
    std::string get_status() {
        char* out = nullptr;
        detail::call([&](copilot_error** e) { return copilot_client_get_status(h_, &out, e); });
        return detail::take(out).value_or("null");
    }
    /** `{isAuthenticated, authType?, host?, login?, statusMessage?}` (auth.getStatus;
     *  copilot_client_get_auth_status). Signed out is a result, not an error. Blocks. */
    std::string get_auth_status() {
        char* out = nullptr;
        detail::call([&](copilot_error** e) { return copilot_client_get_auth_status(h_, &out, e); });
        return detail::take(out).value_or("null");
    }
    /** `{"sessions": [{sessionId, startTime, modifiedTime, summary?, isRemote, context?}]}`,
     *  the sessions kept on disk (session.list; copilot_client_list_sessions). `filter_json`:
     *  empty for all, or `{"cwd"?, "gitRoot"?, "repository"?, "branch"?}`. Blocks. */
    std::string list_sessions(std::string_view filter_json = {}) {
        char* out = nullptr;
        detail::OptZ filter(filter_json);
        detail::call([&](copilot_error** e) {
            return copilot_client_list_sessions(h_, filter.get(), &out, e);
        });
        return detail::take(out).value_or("null");
    }
    /** `{"session": {...}}`, or `{}` when the CLI keeps no session of that id
     *  (session.getMetadata; copilot_client_get_session_metadata). Blocks. */
    std::string get_session_metadata(std::string_view session_id) {
        char* out = nullptr;
        detail::call([&](copilot_error** e) {
            return copilot_client_get_session_metadata(h_, detail::z(session_id).c_str(), &out, e);
        });
        return detail::take(out).value_or("null");
    }
    /** Any client-scoped method, e.g. "models.list". Blocks. */
    std::string call(std::string_view method, std::string_view params_json = {}) {
        char* out = nullptr;
        detail::OptZ params(params_json);
        detail::call([&](copilot_error** e) {
            return copilot_client_call(h_, detail::z(method).c_str(), params.get(), &out, e);
        });
        return detail::take(out).value_or("null");
    }
    /** session.create. Blocks. */
    Session create_session(const SessionConfig& config) {
        copilot_session* s = nullptr;
        detail::call([&](copilot_error** e) {
            return copilot_client_create_session(h_, config.get(), &s, e);
        });
        return Session(s);
    }
    /** session.resume, with tools and handlers registered again. Blocks. */
    Session resume_session(std::string_view session_id, const SessionConfig& config) {
        copilot_session* s = nullptr;
        detail::call([&](copilot_error** e) {
            return copilot_client_resume_session(h_, detail::z(session_id).c_str(), config.get(), &s,
                                                 e);
        });
        return Session(s);
    }
    copilot_client* get() const noexcept { return h_; }

private:
    copilot_client* h_ = nullptr;
};

}  // namespace copilot

#endif  // COPILOT_HPP
