//! `copilot_request_*`: host requests other than tool calls and permissions
//! (user input, elicitation, plan-mode exit, auto-mode switch, system message
//! transforms, MCP OAuth, the session filesystem, slash commands, hooks), with
//! their config registration.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use serde_json::Value;

use super::*;
use crate::requests::HostRequest;

/// Opaque handle to one host request. Owned by the host from the callback
/// until passed to `copilot_request_respond`, `_fail` or `_free`.
pub struct copilot_request {
    inner: HostRequest,
}

/// Answers a host request.
///
/// - `request`: owned by the callee; answer it exactly once (now or later, from
///   any thread) with `copilot_request_respond` or `copilot_request_fail`.
/// - `request_json`: the request as JSON (shape per kind, see
///   `copilot_session_config_set_handler`), borrowed for the duration of the call,
///   but no longer than `request` is unanswered: answering or freeing it (even
///   within the call) frees this string.
///
/// Runs on the client's callback thread.
pub type copilot_request_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        request: *mut copilot_request,
        request_json: *const c_char,
    ),
>;

const HANDLER_KINDS: [&str; 9] = [
    "userInput",
    "elicitation",
    "exitPlanMode",
    "autoModeSwitch",
    "systemMessageTransform",
    "mcpAuth",
    "sessionFs",
    "canvas",
    "providerToken",
];

/// Client-wide handler kinds (`copilot_client_set_handler`).
pub(crate) const CLIENT_HANDLER_KINDS: [&str; 1] = ["llmInference"];

pub(crate) fn request_handler(
    f: copilot_request_fn,
    ud: UserData,
) -> Result<crate::requests::RequestHandler> {
    let f = f.ok_or_else(|| Error::invalid_argument("handler is NULL"))?;
    Ok(Arc::new(move |req: HostRequest| {
        let json = req.json_c();
        let raw = answer_once::issue(copilot_request { inner: req });
        // SAFETY: the host's handler with its user_data, on the callback thread
        // (# Safety of its registration); the request token is now the host's,
        // and `json` lives in it: valid until the host answers or frees it,
        // which copilot_request_fn documents.
        unsafe { f(ud.ptr(), raw, json) }
    }))
}

/// Registers the handler of one kind of host request, replacing any earlier one.
///
/// `kind`, the request JSON the handler receives, and the result JSON it answers with:
/// - `"userInput"` (enables the `ask_user` tool): `{"sessionId", "question": string,
///   "choices"?: [string], "allowFreeform"?: bool}` -> `{"answer": string, "wasFreeform": bool}`.
///   Unanswered: the tool fails.
/// - `"elicitation"`: `{"requestId", "message": string, "requestedSchema"?: object, ...}` ->
///   `{"action": "accept"|"decline"|"cancel", "content"?: object}`. Unanswered: cancel.
/// - `"exitPlanMode"`: `{"sessionId", "summary", "planContent"?, "actions": [string],
///   "recommendedAction"}` -> `{"approved": bool, "selectedAction"?: string, "feedback"?: string}`.
///   Unanswered: approved.
/// - `"autoModeSwitch"`: `{"sessionId", "errorCode"?, "retryAfterSeconds"?}` ->
///   `{"response": "yes"|"yes_always"|"no"}`. Unanswered: "no".
/// - `"systemMessageTransform"` (for `systemMessage.sections.<id>.action = "transform"`):
///   `{"sessionId", "sections": {id: {"content": string}}}` -> `{"sections": {id: {"content": string}}}`.
///   Unanswered: content unchanged.
/// - `"mcpAuth"` (`mcp.oauth_required`; the session registers interest in it with
///   `session.eventLog.registerInterest` after create/resume): `{"requestId", "serverName",
///   "serverUrl", "reason", "wwwAuthenticateParams"?, "resourceMetadata"?, "staticClientConfig"?}`
///   -> `{"accessToken": string, "tokenType"?: string, "expiresIn"?: seconds}` to authenticate,
///   anything else to cancel. Answered with `session.mcp.oauth.handlePendingRequest`.
///   Unanswered or failed: cancelled.
/// - `"sessionFs"` (required when the client options set `sessionFs`, unused otherwise):
///   the session's filesystem. `copilot_request_kind` names the operation,
///   the `sessionFs.*` method; each request has `"sessionId"` and paths in the client's
///   `sessionFs.conventions`. Results (`FsError` = `{"code": "ENOENT"|"UNKNOWN", "message"?}`):
///   `readFile {path}` -> `{"content": string, "error"?: FsError}`;
///   `writeFile`/`appendFile {path, content, mode?}` -> `null` or FsError;
///   `exists {path}` -> `{"exists": bool}`;
///   `stat {path}` -> `{"isFile", "isDirectory", "size": bytes, "mtime", "birthtime": ISO 8601, "error"?}`;
///   `mkdir {path, recursive?, mode?}` -> `null` or FsError;
///   `readdir {path}` -> `{"entries": [string], "error"?}`;
///   `readdirWithTypes {path}` -> `{"entries": [{"name", "type": "file"|"directory"}], "error"?}`;
///   `rm {path, recursive?, force?}` and `rename {src, dest}` -> `null` or FsError;
///   with `capabilities.sqlite`: `sqliteQuery {queryType: "exec"|"query"|"run", query, params?}` ->
///   `{"columns", "rows": [object], "rowsAffected", "lastInsertRowid"?, "error"?}`,
///   `sqliteTransaction {statements}` -> `{"results", "error"?: {"errorClass", "message"}}`,
///   `sqliteExists {}` -> `{"exists": bool}`.
///   `copilot_request_fail` or unanswered: the operation's result with an `UNKNOWN` error.
/// - `"canvas"`: the session's canvases, declared in the session config's `"canvases"`
///   (`[{"id", "displayName", "description", "inputSchema"?, "actions"?}]`).
///   `copilot_request_kind` names the method; each request has `"sessionId"`, `"extensionId"`,
///   `"canvasId"` and `"instanceId"`:
///   `canvas.open {input?, host?, session?}` -> `{"url"?, "title"?, "status"?}`;
///   `canvas.close {}` -> `null`;
///   `canvas.action.invoke {actionName, input?}` -> any JSON, the action's result.
///   Unanswered or failed: a JSON-RPC error.
/// - `"providerToken"` (for BYOK providers declared with `"hasBearerTokenProvider": true`):
///   `{"sessionId", "providerName"}` (`"default"` for the session's `provider`) ->
///   `{"token": string}`, asked before every model request; the CLI keeps no copy, so the
///   handler owns caching and refresh. Unanswered or failed: the model request fails.
///
/// `user_data`/`user_data_free`: as for `copilot_session_config_add_tool`.
/// Errors: `COPILOT_ERR_INVALID_ARGUMENT` (NULL, unknown kind). Non-blocking; any thread.
///
/// # Safety
///
/// `config` is NULL or a config from `copilot_session_config_new` not passed to
/// `copilot_session_config_free` before or during this call; `kind` is NULL or
/// a NUL-terminated string (UTF-8 is checked); `err_out` is NULL or points to
/// writable storage. `handler` (NULL or a `copilot_request_fn`), `user_data`
/// and `user_data_free`: as for `copilot_session_config_add_tool`.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_config_set_handler(
    config: *mut copilot_session_config,
    kind: *const c_char,
    handler: copilot_request_fn,
    user_data: *mut c_void,
    user_data_free: copilot_free_fn,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `config` is NULL or live until this call returns (# Safety).
        let cfg = unsafe { arg_ref(config, "config") }?;
        // SAFETY: `kind` is NULL or NUL-terminated (# Safety).
        let kind = unsafe { arg_str(kind, "kind") }?;
        if !HANDLER_KINDS.contains(&kind) {
            return Err(Error::invalid_argument(format!(
                "unknown handler kind {kind:?}; expected one of {HANDLER_KINDS:?}"
            )));
        }
        handler.ok_or_else(|| Error::invalid_argument("handler is NULL"))?;
        let h = request_handler(handler, UserData::new(user_data, user_data_free))?;
        let replaced = cfg.edit(|c| c.handlers.insert(kind.to_string(), h));
        drop(replaced);
        Ok(())
    })
}

/// Registers a hook (`hooks.invoke`), replacing any earlier one of that type; the
/// session is then created with `hooks: true`.
///
/// - `hook_type`: "preToolUse", "preMcpToolCall", "postToolUse", "postToolUseFailure",
///   "userPromptSubmitted", "userPromptTransformed", "sessionStart", "sessionEnd",
///   "errorOccurred", "agentStop", or any other type the CLI defines.
/// - The handler receives `{"sessionId", "hookType", "input": object}` and answers
///   with the hook's output object, or `null` for no output. Unanswered: no output.
/// - `input` is the wire shape: every input has `"sessionId"`, `"timestamp"` (Unix
///   milliseconds, a number) and `"cwd"` (the working directory; the official SDKs call it
///   `workingDirectory`), plus, by hook type (output members all optional):
///   - preToolUse: `{"toolName", "toolArgs"}` -> `{"permissionDecision": "allow"|"deny"|"ask",
///     "permissionDecisionReason", "modifiedArgs", "additionalContext", "suppressOutput"}`
///   - preMcpToolCall: `{"serverName", "toolName", "arguments"?, "toolCallId"?, "_meta"?}`
///     -> `{"metaToUse"}`
///   - postToolUse: `{"toolName", "toolArgs", "toolResult"}` -> `{"modifiedResult",
///     "additionalContext", "suppressOutput"}`
///   - postToolUseFailure: `{"toolName", "toolArgs", "error"}` -> `{"additionalContext"}`
///   - userPromptSubmitted: `{"prompt"}` -> `{"modifiedPrompt", "additionalContext",
///     "suppressOutput"}`
///   - userPromptTransformed: `{"prompt", "transformedPrompt"}` -> `{"modifiedTransformedPrompt"}`
///   - sessionStart: `{"source", "initialPrompt"?}` -> `{"additionalContext", "modifiedConfig"}`
///   - sessionEnd: `{"reason", "finalMessage"?, "error"?}` -> `{"suppressOutput",
///     "cleanupActions", "sessionSummary"}`
///   - errorOccurred: `{"error", "errorContext", "recoverable"}` -> `{"suppressOutput",
///     "errorHandling", "retryCount", "userNotification"}`
///   - agentStop: `{"stopReason"?, "transcriptPath"?, "stop_hook_active"?}` -> `{"decision",
///     "reason"}`
///
/// Errors: `COPILOT_ERR_INVALID_ARGUMENT`. Non-blocking; any thread.
///
/// # Safety
///
/// As for `copilot_session_config_set_handler`, with `hook_type` for `kind`.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_config_set_hook(
    config: *mut copilot_session_config,
    hook_type: *const c_char,
    handler: copilot_request_fn,
    user_data: *mut c_void,
    user_data_free: copilot_free_fn,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `config` is NULL or live until this call returns (# Safety).
        let cfg = unsafe { arg_ref(config, "config") }?;
        // SAFETY: `hook_type` is NULL or NUL-terminated (# Safety).
        let hook_type = unsafe { arg_str(hook_type, "hook_type") }?;
        if hook_type.is_empty() {
            return Err(Error::invalid_argument("hook_type is empty"));
        }
        handler.ok_or_else(|| Error::invalid_argument("handler is NULL"))?;
        let h = request_handler(handler, UserData::new(user_data, user_data_free))?;
        let replaced = cfg.edit(|c| c.handlers.insert(format!("hook:{hook_type}"), h));
        drop(replaced);
        Ok(())
    })
}

/// Registers a slash command, sent in `commands` at create/resume; its runs
/// (`command.execute` events) call `handler`.
///
/// - `command_json`: `{"name": string, "description"?: string}`.
/// - The handler receives `{"requestId", "command": string, "commandName": string,
///   "args": string}`; respond with any JSON (e.g. `null`) for success, or
///   `copilot_request_fail` with a message the user sees. Unanswered: an error.
///
/// Errors: `COPILOT_ERR_INVALID_ARGUMENT`, `COPILOT_ERR_INVALID_JSON`.
/// Non-blocking; any thread.
///
/// # Safety
///
/// As for `copilot_session_config_set_handler`, with `command_json` for `kind`.
#[no_mangle]
pub unsafe extern "C" fn copilot_session_config_add_command(
    config: *mut copilot_session_config,
    command_json: *const c_char,
    handler: copilot_request_fn,
    user_data: *mut c_void,
    user_data_free: copilot_free_fn,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        // SAFETY: `config` is NULL or live until this call returns (# Safety).
        let cfg = unsafe { arg_ref(config, "config") }?;
        handler.ok_or_else(|| Error::invalid_argument("handler is NULL"))?;
        // SAFETY: `command_json` is NULL or NUL-terminated (# Safety).
        let command_json = unsafe { arg_str(command_json, "command_json") }?;
        let decl: Value = serde_json::from_str(command_json)
            .map_err(|e| Error::invalid_json(format!("command_json: {e}")))?;
        let name = decl
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                Error::invalid_json(
                    "command_json must be an object with a non-empty string \"name\"",
                )
            })?
            .to_string();
        let h = request_handler(handler, UserData::new(user_data, user_data_free))?;
        let replaced = cfg.edit(|c| {
            c.commands
                .retain(|d| d.get("name").and_then(Value::as_str) != Some(&name));
            c.commands.push(decl);
            c.handlers.insert(format!("command:{name}"), h)
        });
        drop(replaced);
        Ok(())
    })
}

/// The handler key the request was routed by: "userInput", "elicitation",
/// "exitPlanMode", "autoModeSwitch", "systemMessageTransform", `"hook:<type>"`,
/// `"command:<name>"`, or for the session filesystem the operation's method
/// (e.g. "sessionFs.readFile"). Borrowed until the request is answered; NULL yields NULL.
///
/// # Safety
///
/// `request` may be any value: it is a token looked up among the live requests,
/// never dereferenced. The returned string must not be used once a call that
/// answers or frees the request has begun.
#[no_mangle]
pub unsafe extern "C" fn copilot_request_kind(request: *const copilot_request) -> *const c_char {
    answer_once::with_live(request, |r| r.inner.kind_c()).unwrap_or(std::ptr::null())
}

/// The request as JSON. Borrowed until the request is answered; NULL yields NULL.
///
/// # Safety
///
/// As for `copilot_request_kind`.
#[no_mangle]
pub unsafe extern "C" fn copilot_request_json(request: *const copilot_request) -> *const c_char {
    answer_once::with_live(request, |r| r.inner.json_c()).unwrap_or(std::ptr::null())
}

/// Answers a host request with `result_json` (shape per kind).
///
/// `request` is consumed in every case; on invalid JSON the request gets its
/// failure answer. Non-blocking; any thread. Errors: `COPILOT_ERR_INVALID_ARGUMENT`
/// (NULL or already answered), `COPILOT_ERR_INVALID_JSON`.
///
/// # Safety
///
/// `request` may be any value: it is a token looked up among the live requests,
/// never dereferenced. `result_json` is NULL or a NUL-terminated string (UTF-8
/// is checked); `err_out` is NULL or points to writable storage. This call
/// frees the strings `copilot_request_kind` and `copilot_request_json` returned
/// for the request, so no use of them may run concurrently or follow.
#[no_mangle]
pub unsafe extern "C" fn copilot_request_respond(
    request: *mut copilot_request,
    result_json: *const c_char,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        let req = answer_once::take(request, "request")?.inner;
        // SAFETY: `result_json` is NULL or NUL-terminated (# Safety).
        let parsed = unsafe { arg_str(result_json, "result_json") }.and_then(|s| {
            serde_json::from_str::<Value>(s)
                .map_err(|e| Error::invalid_json(format!("result_json: {e}")))
        });
        match parsed {
            Ok(v) => {
                req.respond(v);
                Ok(())
            }
            Err(e) => {
                req.fail(&format!("invalid handler result: {}", e.message));
                Err(e)
            }
        }
    })
}

/// Answers a host request as failed with `message` (NULL for a generic one).
/// `request` is consumed. Non-blocking; any thread. Errors: `COPILOT_ERR_INVALID_ARGUMENT`
/// (NULL or already answered).
///
/// # Safety
///
/// As for `copilot_request_respond`, with `message` for `result_json`.
#[no_mangle]
pub unsafe extern "C" fn copilot_request_fail(
    request: *mut copilot_request,
    message: *const c_char,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        let req = answer_once::take(request, "request")?.inner;
        // SAFETY: `message` is NULL or NUL-terminated (# Safety).
        let message = unsafe { arg_opt_str(message, "message") }
            .ok()
            .flatten()
            .unwrap_or("handler failed");
        req.fail(message);
        Ok(())
    })
}

/// Drops a request unanswered: the official SDKs' default answer is sent.
/// NULL, or a request already answered or freed, is a no-op. Non-blocking; any thread.
///
/// # Safety
///
/// `request` may be any value: it is a token looked up among the live requests,
/// never dereferenced. This call frees the strings `copilot_request_kind` and
/// `copilot_request_json` returned for the request, so no use of them may run
/// concurrently or follow.
#[no_mangle]
pub unsafe extern "C" fn copilot_request_free(request: *mut copilot_request) {
    answer_once::release(request, "request");
}
