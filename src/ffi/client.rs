//! `copilot_client_*`: the client handle owns its tokio runtime.

use std::ffi::{c_char, c_int, c_void};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::client::{Client, ClientState};
use crate::options::ClientOptions;

/// Owns a client's tokio runtime. Shared by the client handle and its session
/// handles, so a session call blocked on it outlives a concurrent client free;
/// the last owner shuts it down without waiting (free never blocks, and may run
/// inside a callback).
pub(crate) struct RuntimeOwner(Option<tokio::runtime::Runtime>);

impl RuntimeOwner {
    pub(crate) fn runtime(&self) -> &tokio::runtime::Runtime {
        self.0.as_ref().expect("present until drop")
    }
}

impl Drop for RuntimeOwner {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// Opaque client handle: one connection to a Copilot CLI server and its sessions.
pub struct copilot_client {
    // Field order is drop order: the client (killing its CLI and failing
    // pending calls) goes before the runtime.
    pub(crate) client: Client,
    pub(crate) runtime: Arc<RuntimeOwner>,
}

impl Drop for copilot_client {
    fn drop(&mut self) {
        // Whatever else holds the client (a background destroy, a restart),
        // it ends here: the CLI is killed and the host's handlers released
        // on the freeing thread.
        self.client.inner.shut_down();
    }
}

impl copilot_client {
    /// Blocks the calling thread on `fut`. On the callback thread this lets
    /// events queue past the backpressure limit so the awaited reply is read.
    pub(crate) fn block_on<F: Future>(&self, fut: F) -> F::Output {
        let _blocked = self.client.dispatcher().enter_blocking();
        self.runtime.runtime().block_on(fut)
    }
}

/// Where a client is in its life.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum copilot_client_state {
    COPILOT_CLIENT_DISCONNECTED = 0,
    COPILOT_CLIENT_CONNECTING = 1,
    COPILOT_CLIENT_CONNECTED = 2,
    /// The connection broke unexpectedly and no restart is under way (or the
    /// restarts failed); start again to reconnect.
    COPILOT_CLIENT_ERROR = 3,
    /// The CLI died unexpectedly and is being respawned (`autoRestart`).
    COPILOT_CLIENT_RESTARTING = 4,
}

/// Creates a client. Does not start the CLI (see `copilot_client_start`;
/// creating a session starts it when `autoStart` is on, the default).
///
/// - `options_json`: NULL, "" or a JSON object, every key optional:
///   `{"cliPath": string, "cliArgs": [string], "env": {string: string} (replaces the
///   child's whole environment), "extraEnv": {string: string} (added to the inherited
///   environment, or to "env", replacing variables of the same name), "cwd": string,
///   "logLevel": "none"|"error"|"warning"|"info"|"debug"|"all",
///   "githubToken" (or "gitHubToken"): string (passed only via the COPILOT_SDK_AUTH_TOKEN
///   variable, never argv),
///   "useLoggedInUser": bool, "autoStart": bool (default true), "handshakeTimeoutMs": int (default 30000),
///   "transport": "stdio" (default) | "tcp", "port": int (tcp only; default: the CLI picks),
///   "cliUrl": "port" | "host:port" | "http://host:port" (connect to a running server; nothing is
///   spawned, and githubToken/useLoggedInUser/cliPath/transport are rejected),
///   "connectionToken": string (tcp: generated when absent; cliUrl: the server's token),
///   "autoRestart": bool (default true: respawn a CLI that dies unexpectedly and resume its
///   sessions), "restartAttempts": int (default 3), "restartDelayMs": int (default 500, doubled
///   per try), "keepAliveIntervalMs": int (default 0: off; an unresponsive CLI counts as crashed),
///   "pingTimeoutMs": int (default 5000), "sessionFs": {"initialCwd": string, "sessionStatePath":
///   string, "conventions": "posix"|"windows", "capabilities"?: {"sqlite": bool}} (this client
///   provides each session's filesystem: `sessionFs.setProvider` is sent at start, which fails
///   if the server already has sessions; every session then needs a "sessionFs" handler, see
///   `copilot_session_config_set_handler`), "baseDirectory": string (the spawned CLI's home for
///   its state and credentials, `COPILOT_HOME`), "mode": "copilot-cli" (default) | "empty" (for
///   multi-tenant hosts: every session must name its `availableTools`; the environment context
///   leaves the system message; telemetry, skills, memory, file hooks, host git operations, the
///   session store, custom instructions and plugins default to off; no system keychain; needs
///   baseDirectory, sessionFs or cliUrl), "requestTimeoutMs": int (default 300000: the limit, in
///   ms, of every request with no limit of its own, such as `copilot_session_send` and
///   `copilot_client_call`, counting both writing it and waiting for its reply; 0: none),
///   "maxEventQueueBytes": int (default 33554432: bytes of events and requests waiting for the
///   host's callbacks before the library stops reading the CLI; a slow callback holds the CLI
///   back and nothing is dropped; one larger message waits for an empty queue),
///   "maxOutgoingBytes": int (default 67108864: bytes waiting to be written to the CLI; requests
///   wait for room within their limit; answers to the CLI's requests that would exceed it (or
///   65536 queued messages) mean
///   the CLI stopped reading while it keeps asking, and the connection fails with
///   `COPILOT_ERR_DISCONNECTED`), "sessionIdleTimeoutSeconds": int (default 0: off; N > 0
///   spawns the CLI with `--session-idle-timeout N`: the CLI cleans up a session that had no
///   activity for N seconds, checking every 5 minutes; ignored with cliUrl),
///   "enableRemoteSessions": bool (default false; true spawns the CLI with `--remote`: sessions
///   in a GitHub repository can be followed from GitHub web and mobile; ignored with cliUrl),
///   "builtinPluginDirectories": [string] (absolute paths of trusted plugin directories that
///   the host bundles; default none. When not empty, `plugins.builtin.set {"paths": [...]}` is
///   sent after each handshake (on start and after an auto-restart, before any session), making
///   them the server's whole set of built-in plugins; its failure fails the start and a spawned
///   CLI is killed. A relative path is `COPILOT_ERR_INVALID_ARGUMENT` here. Sent to a cliUrl
///   server too, which refuses it while it has sessions), "telemetry": {"otlpEndpoint"?: string
///   (`OTEL_EXPORTER_OTLP_ENDPOINT`), "otlpProtocol"?: string (`OTEL_EXPORTER_OTLP_PROTOCOL`),
///   "filePath"?: string (`COPILOT_OTEL_FILE_EXPORTER_PATH`: JSON lines of spans and metrics),
///   "exporterType"?: "otlp-http"|"file" (`COPILOT_OTEL_EXPORTER_TYPE`), "sourceName"?: string
///   (`COPILOT_OTEL_SOURCE_NAME`: the instrumentation scope name), "captureContent"?: bool
///   (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`: record prompts and responses)}
///   (OpenTelemetry export by the spawned CLI: sets `COPILOT_OTEL_ENABLED=true` and the variable
///   of each field given, over `env` and `extraEnv`; default: none of them set; ignored with
///   cliUrl)}`.
///   The CLI is `cliPath`, else `COPILOT_CLI_PATH`, else `copilot` on PATH.
/// - `client_out`: receives the new handle (owned; free with `copilot_client_free`).
///
/// Errors: `COPILOT_ERR_INVALID_ARGUMENT` (NULL out-param, bad UTF-8, options
/// that cannot work together, a relative path in "builtinPluginDirectories"),
/// `COPILOT_ERR_INVALID_JSON` (malformed or unknown option, a value of the wrong
/// type). Non-blocking; any thread.
///
/// # Safety
///
/// `options_json` is NULL or a NUL-terminated string (UTF-8 is checked);
/// `client_out` and `err_out` are NULL or point to writable storage.
#[no_mangle]
pub unsafe extern "C" fn copilot_client_new(
    options_json: *const c_char,
    client_out: *mut *mut copilot_client,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `client_out` is NULL or writable (# Safety).
        let out = unsafe { arg_out(client_out, "client_out") }?;
        // SAFETY: `options_json` is NULL or NUL-terminated (# Safety).
        let options_json = unsafe { arg_opt_str(options_json, "options_json") }?;
        let options = ClientOptions::from_json(options_json.unwrap_or(""))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("copilot-io")
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot start runtime: {e}")))?;
        let client = Client::new(options)?;
        out.put(Box::into_raw(Box::new(copilot_client {
            client,
            runtime: Arc::new(RuntimeOwner(Some(runtime))),
        })));
        Ok(())
    })
}

/// Starts the CLI (`<cli> --headless --no-auto-update [--log-level L]
/// [--session-idle-timeout N] [--remote] --stdio`, or `--port N` for tcp; for
/// `cliUrl`, connects to the server) and performs the `connect` handshake
/// (falling back to `ping`); only protocol version 3 is accepted. Then sends
/// `plugins.builtin.set` ("builtinPluginDirectories") and `sessionFs.setProvider`
/// ("sessionFs") when those options are set; a refusal of either fails the start.
/// Idempotent while connected; after a crash it starts anew.
///
/// Blocks until connected or failed (at most `handshakeTimeoutMs`). Any thread.
/// Errors: `COPILOT_ERR_CLI_NOT_FOUND` (says where it looked and how to install),
/// `COPILOT_ERR_CONNECTION`, `COPILOT_ERR_DISCONNECTED` (the CLI exited; exit
/// status and stderr tail in the message), `COPILOT_ERR_TIMEOUT`,
/// `COPILOT_ERR_PROTOCOL_VERSION`, `COPILOT_ERR_INVALID_ARGUMENT` (NULL client).
///
/// # Safety
///
/// `client` is NULL or a client from `copilot_client_new` not passed to
/// `copilot_client_free` before or during this call; `err_out` is NULL or
/// points to writable storage.
#[no_mangle]
pub unsafe extern "C" fn copilot_client_start(
    client: *mut copilot_client,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `client` is NULL or live until this call returns (# Safety).
        let c = unsafe { arg_ref(client, "client") }?;
        c.block_on(c.client.start())
    })
}

/// Stops gracefully: `session.destroy` for each live session, `runtime.shutdown`,
/// closes the CLI's stdin and waits for it to exit; after `timeout_ms`
/// milliseconds it is killed. Live session handles stay valid but their
/// calls fail with `COPILOT_ERR_INVALID_STATE`. A stopped client may start again.
///
/// Blocks up to about `timeout_ms` (+5 s if a kill is needed), counted from
/// the call, whatever the CLI does (a CLI that reads nothing is killed; a
/// restart in progress gives way). Not from a callback:
/// there it returns `COPILOT_ERR_WRONG_THREAD`. Stopping a stopped client is OK.
/// Errors: the first failed `session.destroy`, if any (the stop still completes).
///
/// # Safety
///
/// As for `copilot_client_start`.
#[no_mangle]
pub unsafe extern "C" fn copilot_client_stop(
    client: *mut copilot_client,
    timeout_ms: u32,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `client` is NULL or live until this call returns (# Safety).
        let c = unsafe { arg_ref(client, "client") }?;
        c.block_on(c.client.stop(Duration::from_millis(timeout_ms.into())))
    })
}

/// Kills the CLI at once and fails every pending call with
/// `COPILOT_ERR_INVALID_STATE`. Non-blocking; any thread, callbacks included.
/// NULL is a no-op.
///
/// # Safety
///
/// `client` is NULL or a client from `copilot_client_new` not passed to
/// `copilot_client_free` before or during this call.
#[no_mangle]
pub unsafe extern "C" fn copilot_client_force_stop(client: *mut copilot_client) {
    let _ = boundary(None, || {
        // SAFETY: `client` is NULL or live until this call returns (# Safety).
        if let Some(c) = unsafe { opt_ref(client) } {
            c.client.force_stop();
        }
        Ok(())
    });
}

/// The client's state. NULL yields `COPILOT_CLIENT_DISCONNECTED`.
/// Non-blocking; any thread.
///
/// # Safety
///
/// `client` is NULL or a client from `copilot_client_new` not passed to
/// `copilot_client_free` before or during this call.
#[no_mangle]
pub unsafe extern "C" fn copilot_client_get_state(
    client: *const copilot_client,
) -> copilot_client_state {
    // SAFETY: `client` is NULL or live until this call returns (# Safety).
    match unsafe { opt_ref(client) } {
        Some(c) => to_c_state(c.client.state()),
        None => copilot_client_state::COPILOT_CLIENT_DISCONNECTED,
    }
}

/// Receives client state changes.
///
/// - `state`: the new state.
/// - `reason`: why (the CLI's exit and stderr tail for errors and restarts), or
///   NULL; borrowed for the duration of the call.
///
/// Runs on the client's callback thread.
pub type copilot_state_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        state: copilot_client_state,
        reason: *const c_char,
    ),
>;

fn to_c_state(state: ClientState) -> copilot_client_state {
    use copilot_client_state::*;
    match state {
        ClientState::Disconnected => COPILOT_CLIENT_DISCONNECTED,
        ClientState::Connecting => COPILOT_CLIENT_CONNECTING,
        ClientState::Connected => COPILOT_CLIENT_CONNECTED,
        ClientState::Error => COPILOT_CLIENT_ERROR,
        ClientState::Restarting => COPILOT_CLIENT_RESTARTING,
    }
}

/// Adds a handler of client state changes: connecting, connected, disconnected,
/// restarting (the CLI died and is being respawned, with `autoRestart`), error.
///
/// `user_data_free` (may be NULL) runs exactly once when the client is freed;
/// not on error. Errors: `COPILOT_ERR_INVALID_ARGUMENT`. Non-blocking; any thread.
///
/// # Safety
///
/// `client` is NULL or a client from `copilot_client_new` not passed to
/// `copilot_client_free` before or during this call; `err_out` is NULL or
/// points to writable storage. `handler` (NULL or a `copilot_state_fn`) runs on
/// the client's callback thread and `user_data_free` (NULL or a
/// `copilot_free_fn`) on any thread, both with `user_data`, which must be
/// usable there; neither may unwind (a C++ exception, `longjmp`) into the
/// library.
#[no_mangle]
pub unsafe extern "C" fn copilot_client_on_state_change(
    client: *mut copilot_client,
    handler: copilot_state_fn,
    user_data: *mut c_void,
    user_data_free: copilot_free_fn,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `client` is NULL or live until this call returns (# Safety).
        let c = unsafe { arg_ref(client, "client") }?;
        let f = handler.ok_or_else(|| Error::invalid_argument("handler is NULL"))?;
        let ud = UserData::new(user_data, user_data_free);
        c.client.on_state_change(Arc::new(move |state, reason| {
            let reason = reason.map(|r| to_cstring(r.to_string()));
            let ptr = reason.as_ref().map_or(std::ptr::null(), |r| r.as_ptr());
            // SAFETY: the host's handler with its user_data, on the callback
            // thread (# Safety of this registration); `ptr` is NULL or
            // NUL-terminated and outlives the call.
            unsafe { f(ud.ptr(), to_c_state(state), ptr) }
        }));
        Ok(())
    })
}

/// Receives one `session.lifecycle` notification.
///
/// - `type`: "session.created", "session.deleted", "session.updated",
///   "session.foreground", "session.background", or another type the CLI sends.
/// - `event_json`: the whole notification, `{"type", "sessionId", "metadata"?:
///   {"startTime", "modifiedTime", "summary"?}}`.
///
/// Both borrowed for the duration of the call. Runs on the client's callback thread.
pub type copilot_lifecycle_fn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, r#type: *const c_char, event_json: *const c_char),
>;

/// Adds a handler of session lifecycle notifications (`session.lifecycle`): the
/// server tells every connected client when any session is created, deleted or
/// updated, whichever client caused it. Add it before creating sessions to miss none.
///
/// `user_data_free` (may be NULL) runs exactly once when the client is freed;
/// not on error. Errors: `COPILOT_ERR_INVALID_ARGUMENT` (NULL client or handler).
/// Non-blocking; any thread.
///
/// # Safety
///
/// As for `copilot_client_on_state_change`, with `handler` a
/// `copilot_lifecycle_fn`.
#[no_mangle]
pub unsafe extern "C" fn copilot_client_on_lifecycle(
    client: *mut copilot_client,
    handler: copilot_lifecycle_fn,
    user_data: *mut c_void,
    user_data_free: copilot_free_fn,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `client` is NULL or live until this call returns (# Safety).
        let c = unsafe { arg_ref(client, "client") }?;
        let f = handler.ok_or_else(|| Error::invalid_argument("handler is NULL"))?;
        let ud = UserData::new(user_data, user_data_free);
        c.client.on_lifecycle(Arc::new(move |kind, json| {
            let (kind, json) = (to_cstring(kind.to_string()), to_cstring(json.to_string()));
            // SAFETY: the host's handler with its user_data, on the callback
            // thread (# Safety of this registration); both strings are
            // NUL-terminated and outlive the call.
            unsafe { f(ud.ptr(), kind.as_ptr(), json.as_ptr()) }
        }));
        Ok(())
    })
}

/// Receives one JSON-RPC notification from the CLI.
///
/// - `method`: the notification's method, e.g. "gitHubTelemetry.event".
/// - `params_json`: its params as JSON; for `gitHubTelemetry.event`,
///   `{"sessionId"?, "restricted": bool, "event": {"kind", ...}}`.
///
/// Both borrowed for the duration of the call. Runs on the client's callback thread.
pub type copilot_notification_fn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, method: *const c_char, params_json: *const c_char),
>;

/// Adds a handler of the CLI's `method` notifications (JSON-RPC notifications
/// the library does not handle itself). The one the CLI sends today:
/// `gitHubTelemetry.event`, with the client option
/// `"enableGitHubTelemetryForwarding": true` (see docs/reference/methods.md).
/// Add it before the client starts to miss none.
///
/// `method` is copied. `user_data_free` (may be NULL) runs exactly once when
/// the client is freed; not on error. Errors: `COPILOT_ERR_INVALID_ARGUMENT`
/// (NULL client, method or handler; invalid UTF-8). Non-blocking; any thread.
///
/// # Safety
///
/// As for `copilot_client_on_state_change`, with `handler` a
/// `copilot_notification_fn`; `method` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn copilot_client_on_notification(
    client: *mut copilot_client,
    method: *const c_char,
    handler: copilot_notification_fn,
    user_data: *mut c_void,
    user_data_free: copilot_free_fn,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `client` is NULL or live until this call returns (# Safety).
        let c = unsafe { arg_ref(client, "client") }?;
        // SAFETY: `method` is NULL or NUL-terminated (# Safety).
        let method = unsafe { arg_str(method, "method") }?;
        let f = handler.ok_or_else(|| Error::invalid_argument("handler is NULL"))?;
        let ud = UserData::new(user_data, user_data_free);
        c.client.on_notification(
            method,
            Arc::new(move |method, json| {
                let (method, json) = (to_cstring(method.to_string()), to_cstring(json.to_string()));
                // SAFETY: the host's handler with its user_data, on the callback
                // thread (# Safety of this registration); both strings are
                // NUL-terminated and outlive the call.
                unsafe { f(ud.ptr(), method.as_ptr(), json.as_ptr()) }
            }),
        );
        Ok(())
    })
}

/// Sets the client-wide handler of one kind of host request, replacing any
/// earlier one. Only before `copilot_client_start` (or the first call that
/// starts the client).
///
/// `kind`:
/// - `"llmInference"`: makes this client the LLM inference provider. Each
///   connect (the start and every auto-restart) then sends
///   `llmInference.setProvider` before any session, and a refusal fails the
///   start. The CLI sends the model's HTTP traffic for every session on the
///   server (sessions of other clients too) to the handler instead of the
///   network. `copilot_request_kind` names the method:
///   - `llmInference.httpRequestStart {requestId, method, url, headers: {name: [string]},
///     transport?: "http"|"websocket", sessionId?, agentId?, parentAgentId?,
///     agentInvocationId?, interactionType?}` -> `{}` at once (an acknowledgement;
///     unanswered: a JSON-RPC error);
///   - `llmInference.httpRequestChunk {requestId, data, binary?, end?, cancel?,
///     cancelReason?}` -> `{}`: the request body (`data` is UTF-8 text, or
///     base64 when `binary`); at least one chunk follows each start, the last
///     with `end: true`; `cancel: true` aborts the exchange.
///
///   The host answers each exchange by calling `llmInference.httpResponseStart
///   {requestId, status, statusText?, headers}` once and then
///   `llmInference.httpResponseChunk {requestId, data, binary?, end?, error?:
///   {message, code?}}` until `end: true`, with `copilot_client_call` from any
///   thread but the callback thread. For `transport: "websocket"` the host
///   answers status 101 at once; each request chunk is then one message to
///   send upstream and each response chunk one message back.
///
/// `handler`, `user_data`, `user_data_free`: as for
/// `copilot_session_config_set_handler`; `user_data_free` runs when the
/// handler is replaced or the client freed. Errors:
/// `COPILOT_ERR_INVALID_ARGUMENT` (NULL, unknown kind),
/// `COPILOT_ERR_INVALID_STATE` (the client was started). Non-blocking; any thread.
///
/// # Safety
///
/// `client` is NULL or a client from `copilot_client_new` not passed to
/// `copilot_client_free` before or during this call; `kind` is NULL or a
/// NUL-terminated string; `err_out` is NULL or writable. `handler` (NULL or a
/// `copilot_request_fn`), `user_data` and `user_data_free`: as for
/// `copilot_session_config_add_tool`.
#[no_mangle]
pub unsafe extern "C" fn copilot_client_set_handler(
    client: *mut copilot_client,
    kind: *const c_char,
    handler: copilot_request_fn,
    user_data: *mut c_void,
    user_data_free: copilot_free_fn,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `client` is NULL or live until this call returns (# Safety).
        let c = unsafe { arg_ref(client, "client") }?;
        // SAFETY: `kind` is NULL or NUL-terminated (# Safety).
        let kind = unsafe { arg_str(kind, "kind") }?;
        if !super::request::CLIENT_HANDLER_KINDS.contains(&kind) {
            return Err(Error::invalid_argument(format!(
                "unknown client handler kind {kind:?}; expected one of {:?}",
                super::request::CLIENT_HANDLER_KINDS
            )));
        }
        handler.ok_or_else(|| Error::invalid_argument("handler is NULL"))?;
        let h = super::request::request_handler(handler, UserData::new(user_data, user_data_free))?;
        let replaced = c.client.set_client_handler(kind, h)?;
        drop(replaced);
        Ok(())
    })
}

/// Poll mode (client option `"dispatch": "poll"`): a file descriptor that is
/// readable while callbacks of this client wait to run, for the host's event
/// loop (`g_unix_fd_add`, `QSocketNotifier`, `uv_poll`, `poll(2)`). Level
/// semantics: it stays readable until `copilot_client_dispatch` has run every
/// waiting callback, and becomes readable again when one arrives; the host
/// never reads it. Owned by the client: valid until `copilot_client_free`; do
/// not close it. Returns -1 for a NULL client or one not in poll mode.
/// Non-blocking; any thread.
///
/// # Safety
///
/// `client` is NULL or a client from `copilot_client_new` not passed to
/// `copilot_client_free` before or during this call.
#[no_mangle]
pub unsafe extern "C" fn copilot_client_dispatch_fd(client: *const copilot_client) -> c_int {
    // SAFETY: `client` is NULL or live until this call returns (# Safety).
    match unsafe { client.as_ref() } {
        Some(c) => c.client.dispatch_fd().unwrap_or(-1),
        None => -1,
    }
}

/// Poll mode: runs up to `max` waiting callbacks of this client (events,
/// tool calls, permission and host requests, hooks, state and lifecycle
/// handlers, each `user_data_free` they imply) on the calling thread, in the
/// order they arrived, and writes how many still wait to `*remaining_out`
/// (may be NULL). Returns when `max` have run or none waits: it never waits
/// for one to arrive.
///
/// Callbacks of a client never run concurrently: a call from a second thread
/// while one dispatches, or from inside a dispatched callback, runs nothing
/// and fails with `COPILOT_ERR_WRONG_THREAD`. Inside a dispatched callback the
/// rules of the callback thread apply (the threading section above):
/// `copilot_session_send_and_wait` and `copilot_client_stop` return
/// `COPILOT_ERR_WRONG_THREAD`, and any other call, a free of the client or a
/// session included, is allowed. While the host does not dispatch, the
/// library stops reading the CLI once `maxEventQueueBytes` or 4096 messages
/// wait (the CLI then waits too): nothing is dropped, and blocking calls made
/// meanwhile from any thread still get their replies.
///
/// Errors: `COPILOT_ERR_INVALID_ARGUMENT` (NULL client),
/// `COPILOT_ERR_INVALID_STATE` (not in poll mode), `COPILOT_ERR_WRONG_THREAD`.
/// Blocks only for as long as the callbacks it runs take.
///
/// # Safety
///
/// `client` is NULL or a client from `copilot_client_new` not freed before
/// this call (a callback it runs may free it); `remaining_out` is NULL or
/// writable; `err_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn copilot_client_dispatch(
    client: *mut copilot_client,
    max: usize,
    remaining_out: *mut usize,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // The client is borrowed only to take the queue: a callback run
        // below may free it.
        let dispatcher = {
            // SAFETY: `client` is NULL or live until here (# Safety).
            let c = unsafe { arg_ref(client, "client") }?;
            // A clone outlives the client, so a callback may free it.
            c.client.dispatcher().clone()
        };
        let remaining = dispatcher.run_pending(max).map_err(|e| match e {
            crate::dispatch::PollError::NotPollMode => Error::invalid_state(
                "this client runs callbacks on its own thread: create it with \"dispatch\": \"poll\"",
            ),
            crate::dispatch::PollError::Busy => Error::new(
                ErrorKind::WrongThread,
                "callbacks of this client are being dispatched already (by another thread, or this call is inside one)",
            ),
        })?;
        if !remaining_out.is_null() {
            // SAFETY: `remaining_out` is writable (# Safety).
            unsafe { remaining_out.write(remaining) };
        }
        Ok(())
    })
}

/// The process id of the CLI this client spawned, or 0 when none is running.
/// Non-blocking; any thread.
///
/// # Safety
///
/// `client` is NULL or a client from `copilot_client_new` not passed to
/// `copilot_client_free` before or during this call.
#[no_mangle]
pub unsafe extern "C" fn copilot_client_cli_pid(client: *const copilot_client) -> u32 {
    // SAFETY: `client` is NULL or live until this call returns (# Safety).
    unsafe { opt_ref(client) }
        .and_then(|c| c.client.cli_pid())
        .unwrap_or(0)
}

/// The TCP port of the server this client is connected to, or 0: the port a
/// spawned CLI listens on with "transport": "tcp" (the one it chose when
/// "port" was 0 or absent), or the port of the "cliUrl" server. 0 for the
/// stdio transport, before the start, after a stop, and for NULL. After an
/// auto-restart, the new CLI's port. Non-blocking; any thread.
///
/// # Safety
///
/// `client` is NULL or a client from `copilot_client_new` not passed to
/// `copilot_client_free` before or during this call.
#[no_mangle]
pub unsafe extern "C" fn copilot_client_runtime_port(client: *const copilot_client) -> u16 {
    // SAFETY: `client` is NULL or live until this call returns (# Safety).
    unsafe { opt_ref(client) }
        .and_then(|c| c.client.runtime_port())
        .unwrap_or(0)
}

/// `ping`: checks the server answers.
///
/// - `message`: optional text echoed back (NULL for none).
/// - `result_json_out`: NULL, or receives `{"message": string, "timestamp": number,
///   "protocolVersion"?: number}` (owned; free with `copilot_string_free`).
///
/// Blocks for one round trip. Errors: `COPILOT_ERR_INVALID_STATE` (not started),
/// `COPILOT_ERR_DISCONNECTED`, `COPILOT_ERR_RPC`.
///
/// # Safety
///
/// `client` is NULL or a client from `copilot_client_new` not passed to
/// `copilot_client_free` before or during this call; `message` is NULL or a
/// NUL-terminated string (UTF-8 is checked); `result_json_out` and `err_out`
/// are NULL or point to writable storage.
#[no_mangle]
pub unsafe extern "C" fn copilot_client_ping(
    client: *mut copilot_client,
    message: *const c_char,
    result_json_out: *mut *mut c_char,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `client` is NULL or live until this call returns (# Safety).
        let c = unsafe { arg_ref(client, "client") }?;
        // SAFETY: `message` is NULL or NUL-terminated (# Safety).
        let message = unsafe { arg_opt_str(message, "message") }?;
        let result = c.block_on(c.client.ping(message))?;
        // SAFETY: `result_json_out` is NULL or writable (# Safety).
        if let Some(out) = unsafe { opt_out(result_json_out) } {
            out.put(out_string(result.to_string()));
        }
        Ok(())
    })
}

/// `status.get`: which CLI answers.
///
/// - `result_json_out`: receives `{"version": string (the CLI's, e.g. "1.0.102"),
///   "protocolVersion": number (3)}` (owned; free with `copilot_string_free`).
///
/// Blocks for one round trip, at most the client's `requestTimeoutMs`; any
/// thread, callbacks included. Does not start the client. Errors:
/// `COPILOT_ERR_INVALID_ARGUMENT` (NULL client or `result_json_out`),
/// `COPILOT_ERR_INVALID_STATE` (not started), `COPILOT_ERR_DISCONNECTED`,
/// `COPILOT_ERR_TIMEOUT`, `COPILOT_ERR_RPC`.
///
/// # Safety
///
/// `client` is NULL or a client from `copilot_client_new` not passed to
/// `copilot_client_free` before or during this call; `result_json_out` and
/// `err_out` are NULL or point to writable storage.
#[no_mangle]
pub unsafe extern "C" fn copilot_client_get_status(
    client: *mut copilot_client,
    result_json_out: *mut *mut c_char,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `client` is NULL or live until this call returns (# Safety).
        let c = unsafe { arg_ref(client, "client") }?;
        // SAFETY: `result_json_out` is NULL or writable (# Safety).
        let out = unsafe { arg_out(result_json_out, "result_json_out") }?;
        let result = c.block_on(c.client.get_status())?;
        out.put(out_string(result.to_string()));
        Ok(())
    })
}

/// `auth.getStatus`: whether the CLI is signed in to GitHub (with the
/// client's `githubToken`, or as the logged-in user with `useLoggedInUser`).
///
/// - `result_json_out`: receives `{"isAuthenticated": bool, "authType"?: string
///   (e.g. "token"), "host"?: string, "login"?: string, "statusMessage"?: string}`
///   (owned; free with `copilot_string_free`). Signed out is a result
///   (`{"isAuthenticated": false, "statusMessage": "Not authenticated"}`), not an error.
///
/// Blocking, threads and errors: as for `copilot_client_get_status`.
///
/// # Safety
///
/// As for `copilot_client_get_status`.
#[no_mangle]
pub unsafe extern "C" fn copilot_client_get_auth_status(
    client: *mut copilot_client,
    result_json_out: *mut *mut c_char,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `client` is NULL or live until this call returns (# Safety).
        let c = unsafe { arg_ref(client, "client") }?;
        // SAFETY: `result_json_out` is NULL or writable (# Safety).
        let out = unsafe { arg_out(result_json_out, "result_json_out") }?;
        let result = c.block_on(c.client.get_auth_status())?;
        out.put(out_string(result.to_string()));
        Ok(())
    })
}

/// `session.list`: the sessions the CLI keeps on disk, whichever client made
/// them. A session is listed once it has had a turn (by the time its first
/// `session.idle` arrives), not when it is created; a destroyed one stays
/// listed (`session.delete` removes it).
///
/// - `filter_json`: NULL or "" for every session, or a JSON object sent as
///   `params.filter`: `{"cwd"?: string (exact working directory), "gitRoot"?:
///   string, "repository"?: string ("owner/repo"), "branch"?: string}`.
/// - `result_json_out`: receives `{"sessions": [{"sessionId": string,
///   "startTime": string (ISO 8601), "modifiedTime": string, "summary"?: string,
///   "isRemote": bool, "context"?: {"cwd": string, "gitRoot"?: string,
///   "repository"?: string, "branch"?: string}, ...}]}` (owned; free with
///   `copilot_string_free`).
///
/// Blocking and threads: as for `copilot_client_get_status`. Errors: those of
/// `copilot_client_get_status`, and `COPILOT_ERR_INVALID_ARGUMENT` (bad UTF-8),
/// `COPILOT_ERR_INVALID_JSON` (`filter_json` malformed or not an object: the
/// CLI would ignore it and list every session).
///
/// # Safety
///
/// As for `copilot_client_get_status`, and `filter_json` is NULL or a
/// NUL-terminated string (UTF-8 is checked).
#[no_mangle]
pub unsafe extern "C" fn copilot_client_list_sessions(
    client: *mut copilot_client,
    filter_json: *const c_char,
    result_json_out: *mut *mut c_char,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `client` is NULL or live until this call returns (# Safety).
        let c = unsafe { arg_ref(client, "client") }?;
        // SAFETY: `filter_json` is NULL or NUL-terminated (# Safety).
        let filter = unsafe { arg_json(filter_json, "filter_json") }?;
        // SAFETY: `result_json_out` is NULL or writable (# Safety).
        let out = unsafe { arg_out(result_json_out, "result_json_out") }?;
        let filter = (!filter.is_null()).then_some(filter);
        let result = c.block_on(c.client.list_sessions(filter))?;
        out.put(out_string(result.to_string()));
        Ok(())
    })
}

/// `session.getMetadata`: one session's `copilot_client_list_sessions` entry.
///
/// - `session_id`: the session's id (not empty).
/// - `result_json_out`: receives `{"session": {...}}` with the entry's shape,
///   or `{}` when the CLI keeps no session of that id: an unknown id, a
///   deleted session, or one that has not had a turn yet (owned; free with
///   `copilot_string_free`). An unknown id is a result, not an error.
///
/// Blocking and threads: as for `copilot_client_get_status`. Errors: those of
/// `copilot_client_get_status`, and `COPILOT_ERR_INVALID_ARGUMENT` (NULL, empty
/// or invalid UTF-8 `session_id`).
///
/// # Safety
///
/// As for `copilot_client_get_status`, and `session_id` is NULL or a
/// NUL-terminated string (UTF-8 is checked).
#[no_mangle]
pub unsafe extern "C" fn copilot_client_get_session_metadata(
    client: *mut copilot_client,
    session_id: *const c_char,
    result_json_out: *mut *mut c_char,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `client` is NULL or live until this call returns (# Safety).
        let c = unsafe { arg_ref(client, "client") }?;
        // SAFETY: `session_id` is NULL or NUL-terminated (# Safety).
        let session_id = unsafe { arg_str(session_id, "session_id") }?;
        // SAFETY: `result_json_out` is NULL or writable (# Safety).
        let out = unsafe { arg_out(result_json_out, "result_json_out") }?;
        let result = c.block_on(c.client.get_session_metadata(session_id))?;
        out.put(out_string(result.to_string()));
        Ok(())
    })
}

/// Calls any client-scoped JSON-RPC method by name (e.g. "models.list",
/// "session.delete", "session.getLastId") and returns its result. The
/// calls most programs need have typed functions: `copilot_client_ping`,
/// `copilot_client_get_status`, `copilot_client_get_auth_status`,
/// `copilot_client_list_sessions`, `copilot_client_get_session_metadata`.
///
/// - `method`: the wire method name. Every method, with its params and result
///   shapes, is listed in docs/reference/methods.md; events in docs/reference/events.md.
/// - `params_json`: a JSON object, or NULL/"" for `{}`.
/// - `result_json_out`: receives the result as JSON text (owned; free with `copilot_string_free`).
///
/// Blocks for one round trip, at most the client's `requestTimeoutMs` (see
/// `copilot_client_call_timeout` for another limit). Errors: `COPILOT_ERR_RPC` (code
/// and data via `copilot_error_rpc_code` / `copilot_error_rpc_data`),
/// `COPILOT_ERR_INVALID_JSON`, `COPILOT_ERR_INVALID_STATE` (not started),
/// `COPILOT_ERR_DISCONNECTED`, `COPILOT_ERR_TIMEOUT` (the message says whether
/// the request was not written, the CLI not reading, or got no reply).
///
/// # Safety
///
/// `client` is NULL or a client from `copilot_client_new` not passed to
/// `copilot_client_free` before or during this call; `method` and `params_json`
/// are NULL or NUL-terminated strings (UTF-8 is checked); `result_json_out` and
/// `err_out` are NULL or point to writable storage.
#[no_mangle]
pub unsafe extern "C" fn copilot_client_call(
    client: *mut copilot_client,
    method: *const c_char,
    params_json: *const c_char,
    result_json_out: *mut *mut c_char,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: the same arguments under the same contract (# Safety).
    unsafe { copilot_client_call_timeout(client, method, params_json, 0, result_json_out, err_out) }
}

/// `copilot_client_call` with a limit: fails with `COPILOT_ERR_TIMEOUT` when
/// the request was not written and answered within `timeout_ms` milliseconds
/// (0: the client's `requestTimeoutMs`). A request given up on is still
/// written whole, never cut; a reply that comes later is dropped; the server
/// may still have acted on the request.
///
/// Blocks up to `timeout_ms`. Parameters, ownership and the other errors are
/// those of `copilot_client_call`.
///
/// # Safety
///
/// As for `copilot_client_call`.
#[no_mangle]
pub unsafe extern "C" fn copilot_client_call_timeout(
    client: *mut copilot_client,
    method: *const c_char,
    params_json: *const c_char,
    timeout_ms: u32,
    result_json_out: *mut *mut c_char,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `client` is NULL or live until this call returns (# Safety).
        let c = unsafe { arg_ref(client, "client") }?;
        // SAFETY: `method` is NULL or NUL-terminated (# Safety).
        let method = unsafe { arg_str(method, "method") }?;
        // SAFETY: `params_json` is NULL or NUL-terminated (# Safety).
        let params = unsafe { arg_json(params_json, "params_json") }?;
        // SAFETY: `result_json_out` is NULL or writable (# Safety).
        let out = unsafe { arg_out(result_json_out, "result_json_out") }?;
        let timeout = (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms.into()));
        let result = c.block_on(c.client.call_within(method, params, timeout))?;
        out.put(out_string(result.to_string()));
        Ok(())
    })
}

/// What the library received but could not deliver, as JSON:
/// `{"droppedMessages": int, "lastDropReason": string|null}`: frames that are
/// not JSON-RPC, events that are malformed (invalid JSON or UTF-8, nested too
/// deep) or for a session this client does not know. Counted since the client
/// was created, across restarts; each drop is also logged.
///
/// - `stats_json_out`: receives the JSON (owned; free with `copilot_string_free`).
///
/// Non-blocking; any thread, callbacks included. Errors:
/// `COPILOT_ERR_INVALID_ARGUMENT` (NULL client or out-param). No protocol method.
///
/// # Safety
///
/// `client` is NULL or a client from `copilot_client_new` not passed to
/// `copilot_client_free` before or during this call; `stats_json_out` and
/// `err_out` are NULL or point to writable storage.
#[no_mangle]
pub unsafe extern "C" fn copilot_client_stats(
    client: *const copilot_client,
    stats_json_out: *mut *mut c_char,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `client` is NULL or live until this call returns (# Safety).
        let c = unsafe { arg_ref(client, "client") }?;
        // SAFETY: `stats_json_out` is NULL or writable (# Safety).
        let out = unsafe { arg_out(stats_json_out, "stats_json_out") }?;
        out.put(out_string(c.client.stats().to_string()));
        Ok(())
    })
}

/// Frees the client: kills its CLI if still running, fails pending calls, and
/// stops callbacks; session handles made from it then fail with
/// `COPILOT_ERR_INVALID_STATE` (free them too). Call `copilot_client_stop`
/// first for a graceful end.
///
/// Never blocks; legal from any thread, inside a callback and from a GC
/// finalizer. After it returns no callback starts, except pending
/// `user_data_free` calls. NULL is a no-op.
///
/// # Safety
///
/// `client` is NULL or a client from `copilot_client_new` not yet freed; no
/// other call on it may run during or after this one. (Its sessions stay usable
/// handles: calls on them fail as described above.)
#[no_mangle]
pub unsafe extern "C" fn copilot_client_free(client: *mut copilot_client) {
    // SAFETY: `client` is NULL or a `Box` from copilot_client_new that no other
    // call uses during or after this one (# Safety).
    unsafe { free_handle(client) };
}
