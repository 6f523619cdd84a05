//! `copilot_tool_invocation_*` and `copilot_permission_request_*`: requests a
//! host handler answers exactly once, from any thread, now or later.

use std::ffi::{c_char, c_void};

use super::*;
use crate::handlers::{PermissionRequest, ToolInvocation};

/// Opaque handle to one custom tool call (`external_tool.requested`).
/// Owned by the host from the moment the tool callback receives it until it is
/// passed to `copilot_tool_invocation_complete`, `_fail` or `_free`.
pub struct copilot_tool_invocation {
    inner: ToolInvocation,
}

/// Opaque handle to one permission request (`permission.requested`). Owned by
/// the host until passed to `copilot_permission_request_respond` or `_free`.
pub struct copilot_permission_request {
    inner: PermissionRequest,
}

/// Runs a custom tool.
///
/// - `invocation`: owned by the callee; complete it exactly once (now or later,
///   from any thread) with `copilot_tool_invocation_complete` or `_fail`.
/// - `invocation_json`: `{"sessionId": string, "toolCallId": string, "toolName": string,
///   "arguments": any}`, borrowed for the duration of the call, but no longer
///   than `invocation` is unanswered: completing or freeing it (even within
///   the call) frees this string. Available later through
///   `copilot_tool_invocation_json`.
///
/// Runs on the client's callback thread.
pub type copilot_tool_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        invocation: *mut copilot_tool_invocation,
        invocation_json: *const c_char,
    ),
>;

/// Decides a permission request.
///
/// - `request`: owned by the callee; answer it exactly once (now or later, from
///   any thread) with `copilot_permission_request_respond`.
/// - `request_json`: the event's data `{"requestId": string, "permissionRequest":
///   {"kind": "shell"|"write"|"read"|"mcp"|"url"|"memory"|"custom-tool"|..., ...}, ...}`,
///   borrowed for the duration of the call, but no longer than `request` is
///   unanswered: answering or freeing it (even within the call) frees this string.
///
/// Runs on the client's callback thread.
pub type copilot_permission_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        request: *mut copilot_permission_request,
        request_json: *const c_char,
    ),
>;

pub(crate) fn tool_invocation_into_raw(inner: ToolInvocation) -> *mut copilot_tool_invocation {
    answer_once::issue(copilot_tool_invocation { inner })
}

pub(crate) fn permission_request_into_raw(
    inner: PermissionRequest,
) -> *mut copilot_permission_request {
    answer_once::issue(copilot_permission_request { inner })
}

/// The invocation as JSON: `{"sessionId", "toolCallId", "toolName", "arguments"}`.
/// Borrowed: valid until the invocation is completed or freed. NULL yields NULL.
/// Non-blocking; any thread.
///
/// # Safety
///
/// `invocation` may be any value: it is a token looked up among the live
/// invocations, never dereferenced. The returned string must not be used once a
/// call that answers or frees the invocation has begun.
#[no_mangle]
pub unsafe extern "C" fn copilot_tool_invocation_json(
    invocation: *const copilot_tool_invocation,
) -> *const c_char {
    answer_once::with_live(invocation, |inv| inv.inner.json_c()).unwrap_or(std::ptr::null())
}

/// Completes a tool call with its result (`session.tools.handlePendingToolCall`).
///
/// - `invocation`: consumed by this call in every case, even on error.
/// - `result_json`: JSON. A string goes to the model as it is (`"\"72F and sunny\""`);
///   an object with `textResultForLlm` is a full tool result
///   (`{"textResultForLlm": string, "resultType": "success"|"failure"|"rejected"|"denied", ...}`);
///   any other JSON value is sent as its JSON text.
///
/// Non-blocking (the answer is queued); any thread. Errors:
/// `COPILOT_ERR_INVALID_ARGUMENT` (NULL or already answered invocation, NULL result, bad UTF-8),
/// `COPILOT_ERR_INVALID_JSON`; on either, the tool call is answered as failed
/// so the turn goes on.
///
/// # Safety
///
/// `invocation` may be any value: it is a token looked up among the live
/// invocations, never dereferenced. `result_json` is NULL or a NUL-terminated
/// string (UTF-8 is checked); `err_out` is NULL or points to writable storage.
/// This call frees the string `copilot_tool_invocation_json` returned for the
/// invocation, so no use of it may run concurrently or follow.
#[no_mangle]
pub unsafe extern "C" fn copilot_tool_invocation_complete(
    invocation: *mut copilot_tool_invocation,
    result_json: *const c_char,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        let inv = answer_once::take(invocation, "invocation")?.inner;
        // SAFETY: `result_json` is NULL or NUL-terminated (# Safety).
        let parsed = unsafe { arg_str(result_json, "result_json") }.and_then(|s| {
            serde_json::from_str(s).map_err(|e| Error::invalid_json(format!("result_json: {e}")))
        });
        match parsed {
            Ok(result) => {
                inv.complete(result);
                Ok(())
            }
            Err(e) => {
                inv.fail(&format!("invalid tool result: {}", e.message));
                Err(e)
            }
        }
    })
}

/// Completes a tool call as failed (`handlePendingToolCall` with `error`). The
/// CLI logs `message`; the model is told only that the tool failed.
///
/// - `invocation`: consumed in every case.
/// - `message`: UTF-8 text, or NULL for a generic message.
///
/// Non-blocking; any thread. Errors: `COPILOT_ERR_INVALID_ARGUMENT` (NULL or already
/// answered invocation).
///
/// # Safety
///
/// As for `copilot_tool_invocation_complete`, with `message` for `result_json`.
#[no_mangle]
pub unsafe extern "C" fn copilot_tool_invocation_fail(
    invocation: *mut copilot_tool_invocation,
    message: *const c_char,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        let inv = answer_once::take(invocation, "invocation")?.inner;
        // SAFETY: `message` is NULL or NUL-terminated (# Safety).
        let message = match unsafe { arg_opt_str(message, "message") } {
            Ok(m) => m.unwrap_or("tool failed").to_string(),
            Err(_) => "tool failed (message was not valid UTF-8)".to_string(),
        };
        inv.fail(&message);
        Ok(())
    })
}

/// Drops an invocation without a result: the tool call is answered as failed,
/// so the turn never hangs. NULL, or an invocation already answered or freed, is
/// a no-op. Non-blocking; any thread.
///
/// # Safety
///
/// `invocation` may be any value: it is a token looked up among the live
/// invocations, never dereferenced. This call frees the string
/// `copilot_tool_invocation_json` returned for the invocation, so no use of it
/// may run concurrently or follow.
#[no_mangle]
pub unsafe extern "C" fn copilot_tool_invocation_free(invocation: *mut copilot_tool_invocation) {
    answer_once::release(invocation, "invocation");
}

/// The request as JSON (the event's data). Borrowed: valid until the request is
/// answered or freed. NULL yields NULL. Non-blocking; any thread.
///
/// # Safety
///
/// `request` may be any value: it is a token looked up among the live requests,
/// never dereferenced. The returned string must not be used once a call that
/// answers or frees the request has begun.
#[no_mangle]
pub unsafe extern "C" fn copilot_permission_request_json(
    request: *const copilot_permission_request,
) -> *const c_char {
    answer_once::with_live(request, |r| r.inner.json_c()).unwrap_or(std::ptr::null())
}

/// Answers a permission request (`session.permissions.handlePendingPermissionRequest`).
///
/// - `request`: consumed in every case.
/// - `decision_json`: a decision object: `{"kind":"approve-once"}`,
///   `{"kind":"approve-for-session"}`, `{"kind":"reject","feedback"?: string}`,
///   `{"kind":"user-not-available"}`, or `{"kind":"no-result"}`: answer nothing, leaving
///   the request pending for another client or a later
///   `session.permissions.handlePendingPermissionRequest` (as the official SDKs' "no-result").
///   Any decision may carry `"decisionContext": {"outcome"?: "auto_approved"|"autopilot_denied"|
///   "prompted_user", "source"?: "assisted_approval"|"human_response"|"host_policy"|
///   "unattended_fallback"|"authorization_carry_forward", "surface"?: "tui"|"prompt_mode"|
///   "copilot_app"|"acp"|"sdk", "responseCapability"?: "interactive"|"headless"|"none",
///   "userFeedback"?: string}`: it is sent beside `result`, where the protocol has it.
///
/// Non-blocking; any thread. Errors: `COPILOT_ERR_INVALID_ARGUMENT` (NULL or
/// already answered), `COPILOT_ERR_INVALID_JSON` (not an object with a string `kind`); on error the
/// request is answered `user-not-available`.
///
/// # Safety
///
/// `request` may be any value: it is a token looked up among the live requests,
/// never dereferenced. `decision_json` is NULL or a NUL-terminated string
/// (UTF-8 is checked); `err_out` is NULL or points to writable storage. This
/// call frees the string `copilot_permission_request_json` returned for the
/// request, so no use of it may run concurrently or follow.
#[no_mangle]
pub unsafe extern "C" fn copilot_permission_request_respond(
    request: *mut copilot_permission_request,
    decision_json: *const c_char,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        let req = answer_once::take(request, "request")?.inner;
        // SAFETY: `decision_json` is NULL or NUL-terminated (# Safety).
        let decision = unsafe { arg_str(decision_json, "decision_json") }.and_then(|s| {
            let v: serde_json::Value = serde_json::from_str(s)
                .map_err(|e| Error::invalid_json(format!("decision_json: {e}")))?;
            if v.get("kind").and_then(|k| k.as_str()).is_none() {
                return Err(Error::invalid_json(
                    "decision_json must be an object with a string \"kind\"",
                ));
            }
            Ok(v)
        });
        // On error `req` drops here and answers user-not-available.
        req.respond(decision?);
        Ok(())
    })
}

/// Drops a request unanswered: it is answered `user-not-available`.
/// NULL, or a request already answered or freed, is a no-op. Non-blocking; any thread.
///
/// # Safety
///
/// `request` may be any value: it is a token looked up among the live requests,
/// never dereferenced. This call frees the string
/// `copilot_permission_request_json` returned for the request, so no use of it
/// may run concurrently or follow.
#[no_mangle]
pub unsafe extern "C" fn copilot_permission_request_free(request: *mut copilot_permission_request) {
    answer_once::release(request, "request");
}
