//! `copilot_session_config_*` and `copilot_session_*`.

use std::ffi::{c_char, c_void};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::client::RuntimeOwner;
use super::*;
use crate::events::SessionEvent;
use crate::handlers::{PermissionPolicy, Tool};
use crate::session::{Session, SessionConfig, WaitOptions};

/// Opaque builder for `session.create` / `session.resume`: wire fields plus the
/// handlers to register. Owned by the host; reusable for several sessions.
/// Guarded inside: its functions may be called from several threads at once
/// (but not concurrently with its `_free`).
pub struct copilot_session_config {
    config: crate::sync::Mutex<SessionConfig>,
}

impl copilot_session_config {
    /// Changes the config under its lock. Return what the change replaced:
    /// it is then dropped after the lock is released, since dropping a
    /// handler runs host code (its `user_data_free`).
    pub(crate) fn edit<R>(&self, change: impl FnOnce(&mut SessionConfig) -> R) -> R {
        change(&mut self.config.lock())
    }

    fn snapshot(&self) -> SessionConfig {
        self.config.lock().clone()
    }
}

/// Opaque session handle: one conversation with the agent.
pub struct copilot_session {
    session: Session,
    runtime: Arc<RuntimeOwner>,
    id: std::ffi::CString,
    info: std::ffi::CString,
}

impl copilot_session {
    fn block_on<F: std::future::Future>(&self, fut: F) -> Result<F::Output> {
        let router = self
            .session
            .router
            .upgrade()
            .ok_or_else(|| Error::invalid_state("the client of this session was freed"))?;
        let _blocked = router.dispatcher.enter_blocking();
        // Not holding the client's state across the wait: a concurrent free
        // must still kill the CLI and fail this call at once.
        drop(router);
        Ok(self.runtime.runtime().block_on(fut))
    }
}

fn event_handler(f: copilot_event_fn, user_data: UserData) -> Result<crate::events::EventHandler> {
    let f = f.ok_or_else(|| Error::invalid_argument("callback is NULL"))?;
    Ok(Arc::new(move |ev: &SessionEvent| {
        // SAFETY: the host's handler with its user_data, on the callback thread
        // (# Safety of its registration); both strings are NUL-terminated and
        // outlive the call, and `len` is the JSON's length.
        unsafe {
            f(
                user_data.ptr(),
                ev.event_type_c(),
                ev.json_c(),
                ev.json().len(),
            )
        }
    }))
}

fn event_batch_handler(
    f: copilot_event_batch_fn,
    user_data: UserData,
) -> Result<crate::events::EventBatchHandler> {
    let f = f.ok_or_else(|| Error::invalid_argument("callback is NULL"))?;
    Ok(Arc::new(move |events: &[SessionEvent]| {
        let views: Vec<copilot_event_view> = events
            .iter()
            .map(|ev| copilot_event_view {
                event_type: ev.event_type_c(),
                event_json: ev.json_c(),
                event_json_len: ev.json().len(),
            })
            .collect();
        // SAFETY: the host's handler with its user_data, on the callback thread
        // (# Safety of its registration); `views` holds `views.len()` (>= 1,
        // batches are never empty) events whose strings are NUL-terminated and,
        // like the array, outlive the call.
        unsafe { f(user_data.ptr(), views.as_ptr(), views.len()) }
    }))
}

/// Creates a session config.
///
/// - `config_json`: NULL, "" or a JSON object of `session.create` fields, passed
///   to the CLI unchanged: `{"model": string, "streaming": bool, "provider":
///   {"type": "openai"|"azure"|"anthropic", "baseUrl": string, "apiKey"?: string,
///   "wireApi"?: "completions"|"responses"}, "systemMessage": {"mode": "append"|"replace", "content": string},
///   "availableTools": [string], "excludedTools": [string], "workingDirectory": string,
///   "sessionId": string, "gitHubToken": string (a per-session identity; "githubToken" is
///   sent under this name), ...}`. `tools` and `requestPermission` come from the handlers added below.
/// - `config_out`: receives the config (owned; free with `copilot_session_config_free`).
///
/// Errors: `COPILOT_ERR_INVALID_ARGUMENT`, `COPILOT_ERR_INVALID_JSON` (not an object).
/// Non-blocking; any thread.
///
/// # Safety
///
/// `config_json` is NULL or a NUL-terminated string (UTF-8 is checked);
/// `config_out` and `err_out` are NULL or point to writable storage.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_config_new(
    config_json: *const c_char,
    config_out: *mut *mut copilot_session_config,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `config_out` is NULL or writable (# Safety).
        let out = unsafe { arg_out(config_out, "config_out") }?;
        // SAFETY: `config_json` is NULL or NUL-terminated (# Safety).
        let config_json = unsafe { arg_opt_str(config_json, "config_json") }?;
        let config = SessionConfig::from_json(config_json.unwrap_or(""))?;
        out.put(Box::into_raw(Box::new(copilot_session_config {
            config: crate::sync::Mutex::new(config),
        })));
        Ok(())
    })
}

/// Registers a custom tool and its handler.
///
/// - `tool_json`: the declaration sent to the CLI: `{"name": string, "description"?: string,
///   "parameters"?: JSON Schema object, "overridesBuiltInTool"?: bool, "skipPermission"?: bool}`.
/// - `handler`: called for each call of the tool (see `copilot_tool_fn`).
/// - `user_data`: passed to `handler`; `user_data_free` (may be NULL) runs exactly
///   once when the config and every session made from it are gone. On error the
///   library does not take `user_data` (and does not call `user_data_free`).
///
/// Custom tools need a permission policy (a handler or approve-all); without
/// one the CLI denies them. Errors: `COPILOT_ERR_INVALID_ARGUMENT` (NULL
/// config/handler), `COPILOT_ERR_INVALID_JSON` (no string `name`). Non-blocking; any thread.
///
/// # Safety
///
/// `config` is NULL or a config from `copilot_session_config_new` not passed to
/// `copilot_session_config_free` before or during this call; `tool_json` is
/// NULL or a NUL-terminated string (UTF-8 is checked); `err_out` is NULL or
/// points to writable storage. `handler` (NULL or a `copilot_tool_fn`) runs on
/// the callback thread of each client with a session made from this config
/// (concurrently, if there are several), and `user_data_free` (NULL or a
/// `copilot_free_fn`) on any thread, both with `user_data`, which must be
/// usable there; neither may unwind (a C++ exception, `longjmp`) into the
/// library. A handler must not use the JSON it was passed once its per-call
/// handle is answered or freed, even within the call.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_config_add_tool(
    config: *mut copilot_session_config,
    tool_json: *const c_char,
    handler: copilot_tool_fn,
    user_data: *mut c_void,
    user_data_free: copilot_free_fn,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `config` is NULL or live until this call returns (# Safety).
        let cfg = unsafe { arg_ref(config, "config") }?;
        let f = handler.ok_or_else(|| Error::invalid_argument("handler is NULL"))?;
        // SAFETY: `tool_json` is NULL or NUL-terminated (# Safety).
        let tool_json = unsafe { arg_str(tool_json, "tool_json") }?;
        let declaration: Value = serde_json::from_str(tool_json)
            .map_err(|e| Error::invalid_json(format!("tool_json: {e}")))?;
        if declaration
            .get("name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(Error::invalid_json(
                "tool_json must be an object with a non-empty string \"name\"",
            ));
        }
        let ud = UserData::new(user_data, user_data_free);
        let tool = Tool {
            declaration,
            handler: Arc::new(move |inv| {
                let json = inv.json_c();
                // SAFETY: the host's handler with its user_data, on the callback
                // thread (# Safety of this registration); the invocation token
                // is now the host's, and `json` lives in it: valid until the
                // host answers or frees it, which copilot_tool_fn documents.
                unsafe { f(ud.ptr(), tool_invocation_into_raw(inv), json) }
            }),
        };
        cfg.edit(|c| c.tools.push(tool));
        Ok(())
    })
}

/// Sets the permission handler (replacing any earlier one). With a handler the
/// session is created with `requestPermission: true`.
///
/// `handler`, `user_data`, `user_data_free`: as for `copilot_session_config_add_tool`.
/// Errors: `COPILOT_ERR_INVALID_ARGUMENT`. Non-blocking; any thread.
///
/// # Safety
///
/// `config` is NULL or a config from `copilot_session_config_new` not passed to
/// `copilot_session_config_free` before or during this call; `err_out` is NULL
/// or points to writable storage. `handler` (NULL or a
/// `copilot_permission_fn`), `user_data` and `user_data_free`: as for
/// `copilot_session_config_add_tool`.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_config_set_permission_handler(
    config: *mut copilot_session_config,
    handler: copilot_permission_fn,
    user_data: *mut c_void,
    user_data_free: copilot_free_fn,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `config` is NULL or live until this call returns (# Safety).
        let cfg = unsafe { arg_ref(config, "config") }?;
        let f = handler.ok_or_else(|| Error::invalid_argument("handler is NULL"))?;
        let ud = UserData::new(user_data, user_data_free);
        let policy = PermissionPolicy::Handler(Arc::new(move |req| {
            let json = req.json_c();
            // SAFETY: the host's handler with its user_data, on the callback
            // thread (# Safety of this registration); the request token is
            // now the host's, and `json` lives in it: valid until the host
            // answers or frees it, which copilot_permission_fn documents.
            unsafe { f(ud.ptr(), permission_request_into_raw(req), json) }
        }));
        let replaced = cfg.edit(|c| c.permission.replace(policy));
        drop(replaced);
        Ok(())
    })
}

/// Approves every permission request once (`{"kind":"approve-once"}`) without a
/// callback, replacing any handler. Errors: `COPILOT_ERR_INVALID_ARGUMENT`.
/// Non-blocking; any thread.
///
/// # Safety
///
/// `config` is NULL or a config from `copilot_session_config_new` not passed to
/// `copilot_session_config_free` before or during this call; `err_out` is NULL
/// or points to writable storage.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_config_approve_all(
    config: *mut copilot_session_config,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `config` is NULL or live until this call returns (# Safety).
        let cfg = unsafe { arg_ref(config, "config") }?;
        let replaced = cfg.edit(|c| c.permission.replace(PermissionPolicy::ApproveAll));
        drop(replaced);
        Ok(())
    })
}

/// Adds an event subscriber that is in place before `session.create` is sent,
/// so no event of the session is missed.
///
/// `handler` (see `copilot_event_fn`), `user_data`, `user_data_free`: as for
/// `copilot_session_config_add_tool`. Errors: `COPILOT_ERR_INVALID_ARGUMENT`.
/// Non-blocking; any thread.
///
/// # Safety
///
/// As for `copilot_session_config_set_permission_handler`, with `handler` a
/// `copilot_event_fn`.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_config_on_event(
    config: *mut copilot_session_config,
    handler: copilot_event_fn,
    user_data: *mut c_void,
    user_data_free: copilot_free_fn,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `config` is NULL or live until this call returns (# Safety).
        let cfg = unsafe { arg_ref(config, "config") }?;
        handler.ok_or_else(|| Error::invalid_argument("handler is NULL"))?;
        let h = event_handler(handler, UserData::new(user_data, user_data_free))?;
        cfg.edit(|c| c.on_event.push(h));
        Ok(())
    })
}

/// `copilot_session_config_on_event` for a handler that takes events a batch
/// at a time (see `copilot_event_batch_fn`): in place before `session.create`
/// is sent, so no event of the session is missed.
///
/// `handler`, `user_data`, `user_data_free`: as for
/// `copilot_session_config_add_tool`. Errors: `COPILOT_ERR_INVALID_ARGUMENT`.
/// Non-blocking; any thread.
///
/// # Safety
///
/// As for `copilot_session_config_set_permission_handler`, with `handler` a
/// `copilot_event_batch_fn`.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_config_on_event_batch(
    config: *mut copilot_session_config,
    handler: copilot_event_batch_fn,
    user_data: *mut c_void,
    user_data_free: copilot_free_fn,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `config` is NULL or live until this call returns (# Safety).
        let cfg = unsafe { arg_ref(config, "config") }?;
        handler.ok_or_else(|| Error::invalid_argument("handler is NULL"))?;
        let h = event_batch_handler(handler, UserData::new(user_data, user_data_free))?;
        cfg.edit(|c| c.on_event_batch.push(h));
        Ok(())
    })
}

/// Frees a config. Sessions created from it keep their handlers. NULL is a
/// no-op. Non-blocking; any thread.
///
/// # Safety
///
/// `config` is NULL or a config from `copilot_session_config_new` not yet
/// freed; no other call on it may run during or after this one.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_config_free(config: *mut copilot_session_config) {
    // SAFETY: `config` is NULL or a `Box` from copilot_session_config_new that
    // no other call uses during or after this one (# Safety).
    unsafe { free_handle(config) };
}

/// Creates or resumes (`resume_id`) a session and writes its handle.
///
/// # Safety
///
/// `client` and `config` are NULL or live handles of their types until this
/// returns; a `resume_id` is NULL or a NUL-terminated string (UTF-8 is
/// checked); `session_out` is NULL or writable.
unsafe fn open_session(
    client: *mut copilot_client,
    resume_id: Option<*const c_char>,
    config: *const copilot_session_config,
    session_out: *mut *mut copilot_session,
) -> Result<()> {
    // SAFETY: `client` is NULL or live until this returns (# Safety).
    let c = unsafe { arg_ref(client, "client") }?;
    // SAFETY: `session_out` is NULL or writable (# Safety).
    let out = unsafe { arg_out(session_out, "session_out") }?;
    // SAFETY: `config` is NULL or live until this returns (# Safety).
    let config = match unsafe { opt_ref(config) } {
        Some(cfg) => cfg.snapshot(),
        None => SessionConfig::default(),
    };
    let session = match resume_id {
        None => c.block_on(c.client.create_session(config))?,
        Some(id) => {
            // SAFETY: `id` is NULL or NUL-terminated (# Safety).
            let id = unsafe { arg_str(id, "session_id") }?;
            c.block_on(c.client.resume_session(id, config))?
        }
    };
    let id = std::ffi::CString::new(session.id())
        .map_err(|_| Error::invalid_argument("session id has a NUL"))?;
    let info = to_cstring(session.info().to_string());
    out.put(Box::into_raw(Box::new(copilot_session {
        session,
        runtime: c.runtime.clone(),
        id,
        info,
    })));
    Ok(())
}

/// Creates a session (`session.create`), starting the client first if it is
/// not started and `autoStart` is on. The session id is a fresh UUID unless the
/// config sets `sessionId`; the session is registered before the request goes
/// out, so events that precede the reply are delivered.
///
/// - `config`: NULL for defaults; not consumed (free it when convenient).
/// - `session_out`: receives the handle (owned; free with `copilot_session_free`).
///
/// Blocks until the CLI answered. Errors: those of `copilot_client_start`,
/// `COPILOT_ERR_RPC` (the CLI refused the config), `COPILOT_ERR_INVALID_STATE`
/// (not started and `autoStart` off), `COPILOT_ERR_INVALID_ARGUMENT` (the client
/// sets `sessionFs` and the config has no "sessionFs" handler; a bare "*" in
/// `availableTools`/`excludedTools`, where patterns name their source, "builtin:*",
/// "mcp:*" or "custom:*"; a client in mode "empty" and no `availableTools`).
///
/// As the official SDKs do, `toolFilterPrecedence` defaults to "excluded" (an
/// excluded tool stays out even when also available), and `skipCustomInstructions`,
/// `customAgentsLocalOnly`, `coauthorEnabled` and `manageScheduleEnabled` are also
/// applied with `session.options.update` after the session opens.
///
/// # Safety
///
/// `client` is NULL or a client from `copilot_client_new` not passed to
/// `copilot_client_free` before or during this call; `config` is NULL or a
/// config from `copilot_session_config_new` not passed to
/// `copilot_session_config_free` before or during this call; `session_out` and
/// `err_out` are NULL or point to writable storage.
#[no_mangle]
pub unsafe extern "C" fn copilot_client_create_session(
    client: *mut copilot_client,
    config: *const copilot_session_config,
    session_out: *mut *mut copilot_session,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: the pointers meet open_session's contract (# Safety).
        unsafe { open_session(client, None, config, session_out) }
    })
}

/// Resumes a session kept on disk (`session.resume`) with the handlers of
/// `config` registered again. Otherwise as `copilot_client_create_session`.
///
/// - `session_id`: the id of an earlier session (UTF-8).
///
/// # Safety
///
/// As for `copilot_client_create_session`, and `session_id` is NULL or a
/// NUL-terminated string (UTF-8 is checked).
#[no_mangle]
pub unsafe extern "C" fn copilot_client_resume_session(
    client: *mut copilot_client,
    session_id: *const c_char,
    config: *const copilot_session_config,
    session_out: *mut *mut copilot_session,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: the pointers meet open_session's contract (# Safety).
        unsafe { open_session(client, Some(session_id), config, session_out) }
    })
}

/// The session id (UUID text). Borrowed: valid until `copilot_session_free`.
/// NULL yields NULL. Non-blocking; any thread.
///
/// # Safety
///
/// `session` is NULL or a session from `copilot_client_create_session` or
/// `copilot_client_resume_session` not passed to `copilot_session_free` before
/// or during this call. The returned string must not be used once
/// `copilot_session_free(session)` has begun.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_id(session: *const copilot_session) -> *const c_char {
    // SAFETY: `session` is NULL or live until this call returns (# Safety).
    match unsafe { opt_ref(session) } {
        Some(s) => s.id.as_ptr(),
        None => std::ptr::null(),
    }
}

/// What the CLI answered to `session.create` / `session.resume`, as JSON:
/// `{"sessionId": string, "workspacePath"?: string, "capabilities"?: {"ui"?:
/// {"elicitation"?: bool, ...}}, ...}`. Borrowed: valid until `copilot_session_free`.
/// NULL yields NULL. Non-blocking; any thread.
///
/// # Safety
///
/// As for `copilot_session_id`.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_info_json(
    session: *const copilot_session,
) -> *const c_char {
    // SAFETY: `session` is NULL or live until this call returns (# Safety).
    match unsafe { opt_ref(session) } {
        Some(s) => s.info.as_ptr(),
        None => std::ptr::null(),
    }
}

fn message_value(json: Value) -> Result<Value> {
    match json {
        Value::Object(_) => Ok(json),
        _ => Err(Error::invalid_json(
            "message_json must be an object like {\"prompt\": \"...\"}",
        )),
    }
}

/// Sends a message (`session.send`) and returns at once with its id; the
/// turn's events arrive through subscribers.
///
/// - `message_json`: `{"prompt": string, "attachments"?: [{"type": "file", "path": string} |
///   {"type": "blob", "data": base64, "mimeType": string} | ...], "mode"?: "enqueue"|"immediate", ...}`.
/// - `message_id_out`: NULL, or receives the message id (owned; `copilot_string_free`).
///
/// Blocks for one round trip, at most the client's `requestTimeoutMs`.
/// Errors: `COPILOT_ERR_INVALID_JSON`,
/// `COPILOT_ERR_RPC`, `COPILOT_ERR_INVALID_STATE` (destroyed, client stopped or freed),
/// `COPILOT_ERR_DISCONNECTED`, `COPILOT_ERR_TIMEOUT` (the message says whether
/// the prompt was not written, the CLI not reading, or got no reply; a
/// prompt given up on is still written whole, never cut).
///
/// # Safety
///
/// `session` is NULL or a session from `copilot_client_create_session` or
/// `copilot_client_resume_session` not passed to `copilot_session_free` before
/// or during this call; `message_json` is NULL or a NUL-terminated string
/// (UTF-8 is checked); `message_id_out` and `err_out` are NULL or point to
/// writable storage.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_send(
    session: *mut copilot_session,
    message_json: *const c_char,
    message_id_out: *mut *mut c_char,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `session` is NULL or live until this call returns (# Safety).
        let s = unsafe { arg_ref(session, "session") }?;
        // SAFETY: `message_json` is NULL or NUL-terminated (# Safety).
        let message = message_value(unsafe { arg_json(message_json, "message_json") }?)?;
        let id = s.block_on(s.session.send(message))??;
        // SAFETY: `message_id_out` is NULL or writable (# Safety).
        if let Some(out) = unsafe { opt_out(message_id_out) } {
            out.put(out_string(id));
        }
        Ok(())
    })
}

/// Sends a message and waits for the turn to end (`session.idle`).
///
/// - `message_json`: as for `copilot_session_send`.
/// - `timeout_ms`: the longest wait, in milliseconds; 0 means the default, 60000, as
///   in the C++, Go (a context without deadline) and .NET (`null`) layers. No wait is
///   unbounded: for a long turn pass a larger limit (up to 4294967295, about 49 days).
///   On timeout the turn goes on in the CLI; call `copilot_session_abort` to stop it.
/// - `assistant_message_json_out`: NULL, or receives the turn's last
///   `assistant.message` event envelope as JSON (owned; `copilot_string_free`),
///   or NULL when the turn produced none.
///
/// Blocks. Subscribers have seen every event of the turn before it returns.
/// Errors: `COPILOT_ERR_TIMEOUT`, `COPILOT_ERR_SESSION` (`session.error`; its
/// message), `COPILOT_ERR_DISCONNECTED` (the CLI died; stderr tail),
/// `COPILOT_ERR_WRONG_THREAD` (called from a callback), and those of send.
///
/// # Safety
///
/// `session` is NULL or a session from `copilot_client_create_session` or
/// `copilot_client_resume_session` not passed to `copilot_session_free` before
/// or during this call; `message_json` is NULL or a NUL-terminated string
/// (UTF-8 is checked); `assistant_message_json_out` and `err_out` are NULL or
/// point to writable storage.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_send_and_wait(
    session: *mut copilot_session,
    message_json: *const c_char,
    timeout_ms: u32,
    assistant_message_json_out: *mut *mut c_char,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `session` is NULL or live until this call returns (# Safety).
        let s = unsafe { arg_ref(session, "session") }?;
        // SAFETY: `message_json` is NULL or NUL-terminated (# Safety).
        let message = message_value(unsafe { arg_json(message_json, "message_json") }?)?;
        let timeout = Duration::from_millis(if timeout_ms == 0 {
            60_000
        } else {
            timeout_ms.into()
        });
        let last = s.block_on(s.session.send_and_wait(message, timeout))??;
        // SAFETY: `assistant_message_json_out` is NULL or writable (# Safety).
        if let Some(out) = unsafe { opt_out(assistant_message_json_out) } {
            out.put(match last {
                Some(ev) => out_string(ev.json().to_string()),
                None => std::ptr::null_mut(),
            });
        }
        Ok(())
    })
}

/// `copilot_session_send_and_wait` with stall guards.
///
/// - `wait_json`: NULL/"" or `{"timeoutMs": int (default 60000), "firstEventTimeoutMs": int,
///   "maxSilenceMs": int, "abortOnStall": bool}` (milliseconds). With
///   `firstEventTimeoutMs`, a turn that produces no event that soon after the send fails
///   with `COPILOT_ERR_NO_FIRST_EVENT`; with `maxSilenceMs`, one silent that long between
///   events fails with `COPILOT_ERR_STALLED`. `abortOnStall` also sends `session.abort`.
///
/// Otherwise as `copilot_session_send_and_wait`. Errors add `COPILOT_ERR_INVALID_JSON`
/// for a malformed `wait_json`.
///
/// # Safety
///
/// As for `copilot_session_send_and_wait`, and `wait_json` is NULL or a
/// NUL-terminated string (UTF-8 is checked).
#[no_mangle]
pub unsafe extern "C" fn copilot_session_send_and_wait_opts(
    session: *mut copilot_session,
    message_json: *const c_char,
    wait_json: *const c_char,
    assistant_message_json_out: *mut *mut c_char,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `session` is NULL or live until this call returns (# Safety).
        let s = unsafe { arg_ref(session, "session") }?;
        // SAFETY: `message_json` is NULL or NUL-terminated (# Safety).
        let message = message_value(unsafe { arg_json(message_json, "message_json") }?)?;
        // SAFETY: `wait_json` is NULL or NUL-terminated (# Safety).
        let opts = wait_options(unsafe { arg_json(wait_json, "wait_json") }?)?;
        let last = s.block_on(s.session.send_and_wait_with(message, opts))??;
        // SAFETY: `assistant_message_json_out` is NULL or writable (# Safety).
        if let Some(out) = unsafe { opt_out(assistant_message_json_out) } {
            out.put(match last {
                Some(ev) => out_string(ev.json().to_string()),
                None => std::ptr::null_mut(),
            });
        }
        Ok(())
    })
}

fn wait_options(v: Value) -> Result<WaitOptions> {
    let ms = |key: &str| -> Result<Option<Duration>> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(n) => n
                .as_u64()
                .map(|n| Some(Duration::from_millis(n)))
                .ok_or_else(|| {
                    Error::invalid_json(format!(
                        "wait_json.{key} must be a non-negative integer (ms)"
                    ))
                }),
        }
    };
    if !(v.is_null() || v.is_object()) {
        return Err(Error::invalid_json("wait_json must be an object"));
    }
    Ok(WaitOptions {
        timeout: ms("timeoutMs")?
            .filter(|d| !d.is_zero())
            .unwrap_or(Duration::from_secs(60)),
        first_event: ms("firstEventTimeoutMs")?,
        max_silence: ms("maxSilenceMs")?,
        abort_on_stall: v
            .get("abortOnStall")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// Aborts the current turn (`session.abort`); the turn ends with `session.idle`
/// (`data.aborted` true). Blocks for one round trip. Errors: as for send.
///
/// # Safety
///
/// `session` is NULL or a session from `copilot_client_create_session` or
/// `copilot_client_resume_session` not passed to `copilot_session_free` before
/// or during this call; `err_out` is NULL or points to writable storage.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_abort(
    session: *mut copilot_session,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `session` is NULL or live until this call returns (# Safety).
        let s = unsafe { arg_ref(session, "session") }?;
        s.block_on(s.session.abort())?
    })
}

/// The session's persisted events, oldest first (`session.getMessages`).
///
/// - `events_json_out`: receives a JSON array of event envelopes (owned; `copilot_string_free`).
///
/// Blocks for one round trip. Errors: as for send.
///
/// # Safety
///
/// `session` is NULL or a session from `copilot_client_create_session` or
/// `copilot_client_resume_session` not passed to `copilot_session_free` before
/// or during this call; `events_json_out` and `err_out` are NULL or point to
/// writable storage.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_get_messages(
    session: *mut copilot_session,
    events_json_out: *mut *mut c_char,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `session` is NULL or live until this call returns (# Safety).
        let s = unsafe { arg_ref(session, "session") }?;
        // SAFETY: `events_json_out` is NULL or writable (# Safety).
        let out = unsafe { arg_out(events_json_out, "events_json_out") }?;
        let events = s.block_on(s.session.get_messages())??;
        out.put(out_string(events.to_string()));
        Ok(())
    })
}

/// Subscribes to the session's events (see `copilot_event_fn`).
///
/// - `subscription_out`: NULL, or receives an id for `copilot_session_unsubscribe`.
/// - `user_data_free`: runs exactly once, after the last call of `handler`
///   (after unsubscribe, destroy or free). Not called on error.
///
/// Events already delivered are not replayed; to see a session's first events
/// use `copilot_session_config_on_event`. Non-blocking; any thread, callbacks included.
///
/// # Safety
///
/// `session` is NULL or a session from `copilot_client_create_session` or
/// `copilot_client_resume_session` not passed to `copilot_session_free` before
/// or during this call; `subscription_out` and `err_out` are NULL or point to
/// writable storage. `handler` (NULL or a `copilot_event_fn`) runs on the
/// client's callback thread and `user_data_free` (NULL or a `copilot_free_fn`)
/// on any thread, both with `user_data`, which must be usable there; neither
/// may unwind (a C++ exception, `longjmp`) into the library.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_subscribe(
    session: *mut copilot_session,
    handler: copilot_event_fn,
    user_data: *mut c_void,
    user_data_free: copilot_free_fn,
    subscription_out: *mut u64,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `session` is NULL or live until this call returns (# Safety).
        let s = unsafe { arg_ref(session, "session") }?;
        handler.ok_or_else(|| Error::invalid_argument("handler is NULL"))?;
        let h = event_handler(handler, UserData::new(user_data, user_data_free))?;
        let id = s.session.subscribe(h);
        // SAFETY: `subscription_out` is NULL or writable (# Safety).
        if let Some(out) = unsafe { opt_out(subscription_out) } {
            out.put(id);
        }
        Ok(())
    })
}

/// `copilot_session_subscribe` for a handler that takes events a batch at a
/// time (see `copilot_event_batch_fn`): one call per read of the CLI's
/// output rather than one per event. Same arguments, errors and ids (remove
/// it with `copilot_session_unsubscribe`).
///
/// Events already delivered are not replayed, nor those of the batch being
/// delivered when it subscribes from a callback; to see a session's first
/// events use `copilot_session_config_on_event_batch`. Non-blocking; any
/// thread, callbacks included.
///
/// # Safety
///
/// As for `copilot_session_subscribe`, with `handler` a `copilot_event_batch_fn`.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_subscribe_batch(
    session: *mut copilot_session,
    handler: copilot_event_batch_fn,
    user_data: *mut c_void,
    user_data_free: copilot_free_fn,
    subscription_out: *mut u64,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `session` is NULL or live until this call returns (# Safety).
        let s = unsafe { arg_ref(session, "session") }?;
        handler.ok_or_else(|| Error::invalid_argument("handler is NULL"))?;
        let h = event_batch_handler(handler, UserData::new(user_data, user_data_free))?;
        let id = s.session.subscribe_batch(h);
        // SAFETY: `subscription_out` is NULL or writable (# Safety).
        if let Some(out) = unsafe { opt_out(subscription_out) } {
            out.put(id);
        }
        Ok(())
    })
}

/// Removes a subscriber. A call already running on the callback thread
/// finishes; no new call starts after this returns (except when called from
/// another thread while that event is being delivered).
///
/// Errors: `COPILOT_ERR_INVALID_ARGUMENT` (NULL session or unknown id).
/// Non-blocking; any thread, callbacks included.
///
/// # Safety
///
/// `session` is NULL or a session from `copilot_client_create_session` or
/// `copilot_client_resume_session` not passed to `copilot_session_free` before
/// or during this call; `err_out` is NULL or points to writable storage.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_unsubscribe(
    session: *mut copilot_session,
    subscription: u64,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `session` is NULL or live until this call returns (# Safety).
        let s = unsafe { arg_ref(session, "session") }?;
        if s.session.unsubscribe(subscription) {
            Ok(())
        } else {
            Err(Error::invalid_argument(format!(
                "no subscription {subscription} on this session"
            )))
        }
    })
}

/// `session.model.switchTo`: makes `model_id` the session's model from its
/// next turn on; the history stays. `session.model.getCurrent` (through
/// `copilot_session_call`) then reports it.
///
/// - `model_id`: the model's id, e.g. "gpt-5" (not empty). The CLI does not check
///   it against the models it knows: an unknown id is applied all the same.
/// - `options_json`: NULL, "" or a JSON object of further `switchTo` fields, sent
///   beside `sessionId` and `modelId`: `{"reasoningEffort"?: "low"|"medium"|"high"|...,
///   "reasoningSummary"?: string, "contextTier"?: string, "modelCapabilities"?:
///   object, ...}`. It may not set "modelId" or "sessionId".
/// - `result_json_out`: NULL, or receives the CLI's result, e.g. `{"status": "applied",
///   "deferred": bool (true: queued behind a running turn or another change),
///   "modelId": string, "message": string, "modelState": {"modelId": string,
///   "reasoningEffort"?: string, ...}, "deprecationWarnings"?: [string], ...}`
///   (owned; free with `copilot_string_free`).
///
/// Blocks for one round trip, at most the client's `requestTimeoutMs`; any
/// thread, callbacks included. Errors: `COPILOT_ERR_INVALID_ARGUMENT` (NULL
/// session or `model_id`, empty `model_id`, bad UTF-8),
/// `COPILOT_ERR_INVALID_JSON` (`options_json` malformed, not an object, or
/// setting "modelId"/"sessionId"), `COPILOT_ERR_RPC`, and those of send.
///
/// # Safety
///
/// `session` is NULL or a session from `copilot_client_create_session` or
/// `copilot_client_resume_session` not passed to `copilot_session_free` before
/// or during this call; `model_id` and `options_json` are NULL or
/// NUL-terminated strings (UTF-8 is checked); `result_json_out` and `err_out`
/// are NULL or point to writable storage.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_set_model(
    session: *mut copilot_session,
    model_id: *const c_char,
    options_json: *const c_char,
    result_json_out: *mut *mut c_char,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `session` is NULL or live until this call returns (# Safety).
        let s = unsafe { arg_ref(session, "session") }?;
        // SAFETY: `model_id` is NULL or NUL-terminated (# Safety).
        let model_id = unsafe { arg_str(model_id, "model_id") }?;
        // SAFETY: `options_json` is NULL or NUL-terminated (# Safety).
        let options = unsafe { arg_json(options_json, "options_json") }?;
        let options = (!options.is_null()).then_some(options);
        let result = s.block_on(s.session.set_model(model_id, options))??;
        // SAFETY: `result_json_out` is NULL or writable (# Safety).
        if let Some(out) = unsafe { opt_out(result_json_out) } {
            out.put(out_string(result.to_string()));
        }
        Ok(())
    })
}

/// Calls any session-scoped JSON-RPC method by name (e.g. "session.mode.set",
/// "session.model.getCurrent"); `sessionId` is added to the params. Changing
/// the model has a typed function: `copilot_session_set_model`. Every method,
/// with its params and result shapes, is listed in docs/reference/methods.md;
/// events in docs/reference/events.md.
///
/// - `params_json`: a JSON object, or NULL/"" for `{}`.
/// - `result_json_out`: receives the result as JSON (owned; `copilot_string_free`).
///
/// Blocks for one round trip, at most the client's `requestTimeoutMs` (see
/// `copilot_session_call_timeout` for another limit). Errors: `COPILOT_ERR_RPC`
/// (with code and data), `COPILOT_ERR_INVALID_JSON`, and those of send.
///
/// # Safety
///
/// `session` is NULL or a session from `copilot_client_create_session` or
/// `copilot_client_resume_session` not passed to `copilot_session_free` before
/// or during this call; `method` and `params_json` are NULL or NUL-terminated
/// strings (UTF-8 is checked); `result_json_out` and `err_out` are NULL or
/// point to writable storage.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_call(
    session: *mut copilot_session,
    method: *const c_char,
    params_json: *const c_char,
    result_json_out: *mut *mut c_char,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: the same arguments under the same contract (# Safety).
    unsafe {
        copilot_session_call_timeout(session, method, params_json, 0, result_json_out, err_out)
    }
}

/// `copilot_session_call` with a limit: fails with `COPILOT_ERR_TIMEOUT` when
/// it was not written and answered within `timeout_ms` milliseconds (0: the
/// client's `requestTimeoutMs`), for methods
/// the CLI may leave unanswered (`session.ui.elicitation` on a session no
/// client has an elicitation handler for). A reply that comes later is
/// dropped; the CLI may still have acted on the request.
///
/// Blocks up to `timeout_ms`. Parameters, ownership and the other errors are
/// those of `copilot_session_call`.
///
/// # Safety
///
/// As for `copilot_session_call`.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_call_timeout(
    session: *mut copilot_session,
    method: *const c_char,
    params_json: *const c_char,
    timeout_ms: u32,
    result_json_out: *mut *mut c_char,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `session` is NULL or live until this call returns (# Safety).
        let s = unsafe { arg_ref(session, "session") }?;
        // SAFETY: `method` is NULL or NUL-terminated (# Safety).
        let method = unsafe { arg_str(method, "method") }?;
        // SAFETY: `params_json` is NULL or NUL-terminated (# Safety).
        let params = unsafe { arg_json(params_json, "params_json") }?;
        // SAFETY: `result_json_out` is NULL or writable (# Safety).
        let out = unsafe { arg_out(result_json_out, "result_json_out") }?;
        let timeout = (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms.into()));
        let result = s.block_on(s.session.call_within(method, params, timeout))??;
        out.put(out_string(result.to_string()));
        Ok(())
    })
}

/// Destroys the session in the CLI (`session.destroy`; its history stays on disk
/// for resume) and stops its callbacks. The handle stays valid until freed;
/// further calls fail with `COPILOT_ERR_INVALID_STATE`. Idempotent.
///
/// Blocks for one round trip. Errors: `COPILOT_ERR_RPC`, `COPILOT_ERR_DISCONNECTED`
/// (the session is detached locally all the same).
///
/// # Safety
///
/// `session` is NULL or a session from `copilot_client_create_session` or
/// `copilot_client_resume_session` not passed to `copilot_session_free` before
/// or during this call; `err_out` is NULL or points to writable storage.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_destroy(
    session: *mut copilot_session,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `session` is NULL or live until this call returns (# Safety).
        let s = unsafe { arg_ref(session, "session") }?;
        match s.block_on(s.session.destroy()) {
            Ok(r) => r,
            Err(_) => Ok(()), // the client is gone, and with it the session
        }
    })
}

/// Frees the handle. A session not yet destroyed is destroyed in the background
/// and its callbacks stop at once. Its handlers' `user_data_free`s run on this
/// thread, or, if one of its callbacks is running, on the callback thread once it
/// returns; never on a library worker. Never blocks; legal from any thread and
/// inside a callback. NULL is a no-op.
///
/// # Safety
///
/// `session` is NULL or a session from `copilot_client_create_session` or
/// `copilot_client_resume_session` not yet freed; no other call on it may run
/// during or after this one, nor use a string borrowed from it.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_free(session: *mut copilot_session) {
    if session.is_null() {
        return;
    }
    let _ = boundary(None, || {
        // SAFETY: `session` (not NULL) is a `Box` from open_session that no
        // other call uses during or after this one (# Safety).
        let s = unsafe { Box::from_raw(session) };
        s.session.release(s.runtime.runtime().handle());
        Ok(())
    });
}
