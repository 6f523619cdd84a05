//! Host requests besides tool calls and permissions: user input, elicitation,
//! exit-plan-mode, auto-mode-switch, system message transforms, slash
//! commands, hooks and the session filesystem (`sessionFs.*`). Each arrives as
//! an owned `HostRequest` that the host answers once (now or later, from any thread); one dropped unanswered gets
//! the official SDKs' default answer.
//!
//! Handler keys (`SessionConfig::handlers`): `userInput`, `elicitation`,
//! `exitPlanMode`, `autoModeSwitch`, `systemMessageTransform`,
//! `hook:<hookType>` (e.g. `hook:preToolUse`), `command:<name>`, `mcpAuth`,
//! `sessionFs` (every `sessionFs.*` method), `canvas` (`canvas.open`,
//! `canvas.close`, `canvas.action.invoke`) and `providerToken`
//! (`providerToken.getToken`). Client-wide: `llmInference` (every
//! `llmInference.*` method, whatever session it serves).

use std::collections::HashMap;
use std::ffi::c_char;
use std::sync::{Arc, Weak};

use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::log::{log, Level};
use crate::rpc::{codes, RpcPeer};

/// How a host request was settled.
pub enum Answer {
    /// The handler's result (JSON shape depends on the kind; see the C header).
    Result(Value),
    /// The handler failed with this message.
    Failure(String),
    /// Dropped without an answer: the SDK default applies.
    Unanswered,
}

pub(crate) type Settle = Box<dyn FnOnce(Answer) + Send>;

/// One request for the host to answer exactly once.
pub struct HostRequest {
    /// The handler key plus a trailing NUL.
    kind: String,
    /// The request as JSON, plus a trailing NUL.
    json: String,
    settle: Option<Settle>,
}

impl HostRequest {
    pub(crate) fn new(kind: &str, json: &str, settle: Settle) -> Self {
        let mut j = String::with_capacity(json.len() + 1);
        j.push_str(json);
        j.push('\0');
        HostRequest {
            kind: format!("{kind}\0"),
            json: j,
            settle: Some(settle),
        }
    }

    /// The handler key this request was routed by (e.g. `hook:preToolUse`).
    pub fn kind(&self) -> &str {
        &self.kind[..self.kind.len() - 1]
    }

    pub fn kind_c(&self) -> *const c_char {
        self.kind.as_ptr().cast()
    }

    pub fn json(&self) -> &str {
        &self.json[..self.json.len() - 1]
    }

    pub fn json_c(&self) -> *const c_char {
        self.json.as_ptr().cast()
    }

    pub fn respond(mut self, result: Value) {
        if let Some(settle) = self.settle.take() {
            settle(Answer::Result(result));
        }
    }

    pub fn fail(mut self, message: &str) {
        if let Some(settle) = self.settle.take() {
            settle(Answer::Failure(message.to_string()));
        }
    }
}

impl Drop for HostRequest {
    fn drop(&mut self) {
        if let Some(settle) = self.settle.take() {
            settle(Answer::Unanswered);
        }
    }
}

/// Answers host requests of one kind. Runs on the client's callback thread.
pub type RequestHandler = Arc<dyn Fn(HostRequest) + Send + Sync>;

/// Handler keys of the direct server-to-client requests, by method.
pub(crate) fn handler_key(method: &str, params: &Value) -> Option<String> {
    Some(match method {
        "userInput.request" => "userInput".into(),
        "exitPlanMode.request" => "exitPlanMode".into(),
        "autoModeSwitch.request" => "autoModeSwitch".into(),
        "systemMessage.transform" => "systemMessageTransform".into(),
        "hooks.invoke" => format!("hook:{}", params.get("hookType")?.as_str()?),
        m if m.starts_with(SESSION_FS) => "sessionFs".into(),
        "canvas.open" | "canvas.close" | "canvas.action.invoke" => "canvas".into(),
        "providerToken.getToken" => "providerToken".into(),
        _ => return None,
    })
}

const SESSION_FS: &str = "sessionFs.";

/// Requests of the LLM inference provider: routed to the client's handler.
pub(crate) const LLM_INFERENCE: &str = "llmInference.";

/// Whether the host request kind names the method itself (a handler of
/// several methods), not only the handler key.
pub(crate) fn kind_is_method(key: &str) -> bool {
    matches!(key, "sessionFs" | "canvas" | "llmInference")
}

/// A `sessionFs.*` result reporting `message` as an error, in the method's own
/// result shape (providers report failures in the result, not as JSON-RPC errors).
fn session_fs_failure(method: &str, message: &str) -> Value {
    let error = json!({"code": "UNKNOWN", "message": message});
    match &method[SESSION_FS.len()..] {
        "readFile" => json!({"content": "", "error": error}),
        "stat" => json!({"isFile": false, "isDirectory": false, "size": 0, "error": error}),
        "readdir" | "readdirWithTypes" => json!({"entries": [], "error": error}),
        "exists" | "sqliteExists" => json!({"exists": false}),
        "sqliteQuery" => json!({"columns": [], "rows": [], "rowsAffected": 0, "error": error}),
        "sqliteTransaction" => {
            json!({"results": [], "error": {"errorClass": "fatal", "message": message}})
        }
        // writeFile, appendFile, mkdir, rm, rename: the result is the error itself.
        _ => error,
    }
}

/// The official SDKs' answer when no handler answers.
pub(crate) fn default_answer(method: &str, params: &Value) -> Result<Value, (i64, String)> {
    match method {
        m if m.starts_with(SESSION_FS) => Err((
            codes::INTERNAL_ERROR,
            format!(
                "No sessionFs handler registered for session: {}",
                params
                    .get("sessionId")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            ),
        )),
        "canvas.open" | "canvas.close" | "canvas.action.invoke" => Err((
            codes::INTERNAL_ERROR,
            format!(
                "No canvas handler registered for session: {}",
                params
                    .get("sessionId")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            ),
        )),
        "providerToken.getToken" => Err((
            codes::INTERNAL_ERROR,
            format!(
                "No bearer token provider registered for provider {:?}",
                params
                    .get("providerName")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            ),
        )),
        // A request body chunk of an exchange nobody took: acknowledged, as
        // its start already failed.
        "llmInference.httpRequestChunk" => Ok(json!({})),
        "exitPlanMode.request" => Ok(json!({"approved": true})),
        "autoModeSwitch.request" => Ok(json!({"response": "no"})),
        "hooks.invoke" => Ok(json!({})),
        "systemMessage.transform" => {
            Ok(json!({"sections": params.get("sections").cloned().unwrap_or(json!({}))}))
        }
        "userInput.request" => Err((
            codes::INTERNAL_ERROR,
            "no user input handler answered".into(),
        )),
        _ => Err((
            codes::METHOD_NOT_FOUND,
            format!("method not found: {method}"),
        )),
    }
}

/// The reply to a direct request `method` once its handler settled it.
pub(crate) fn wire_answer(
    method: &str,
    params: &Value,
    answer: Answer,
) -> Result<Value, (i64, String)> {
    let session_fs = method.starts_with(SESSION_FS);
    match answer {
        // A hook answers its output object; the wire wants {output}.
        Answer::Result(v) if method == "hooks.invoke" => Ok(if v.is_null() {
            json!({})
        } else {
            json!({ "output": v })
        }),
        Answer::Result(v) => Ok(v),
        Answer::Failure(m) if session_fs => Ok(session_fs_failure(method, &m)),
        Answer::Failure(m) => Err((codes::INTERNAL_ERROR, m)),
        Answer::Unanswered if session_fs => Ok(session_fs_failure(
            method,
            "the sessionFs handler did not answer",
        )),
        Answer::Unanswered if method == "llmInference.httpRequestStart" => Err((
            codes::INTERNAL_ERROR,
            "the llmInference handler did not answer".into(),
        )),
        Answer::Unanswered => default_answer(method, params),
    }
}

/// Sends the reply to a direct request; never blocks (see `RpcPeer::respond`).
pub(crate) fn reply(
    peer: &Arc<RpcPeer>,
    id: Box<RawValue>,
    method: String,
    r: Result<Value, (i64, String)>,
) {
    log!(Level::Trace, "requests", "answering {method}");
    match &r {
        Ok(v) => peer.respond(&id, Ok(v)),
        Err((code, msg)) => peer.respond::<Value>(&id, Err((*code, msg))),
    }
}

/// Answers a broadcast request event with `session.<method>` (never blocks).
pub(crate) fn answer_broadcast(
    peer: &Weak<RpcPeer>,
    method: &'static str,
    session_id: &str,
    request_id: &str,
    fields: Value,
) {
    let Some(peer) = peer.upgrade() else { return };
    let mut params = json!({"sessionId": session_id, "requestId": request_id});
    if let (Some(p), Value::Object(extra)) = (params.as_object_mut(), fields) {
        p.extend(extra);
    }
    peer.request_detached(method, &params);
}

/// For `elicitation.requested`, `mcp.oauth_required` and `command.execute` events: the host request
/// to hand to the session's handler, or None (with any default already sent).
pub(crate) fn broadcast_request(
    session_id: &str,
    handlers: &HashMap<String, RequestHandler>,
    event_type: &str,
    data_json: &str,
    peer: &Weak<RpcPeer>,
) -> Option<(HostRequest, RequestHandler)> {
    let data: Value = serde_json::from_str(data_json).ok()?;
    let request_id = data.get("requestId")?.as_str()?.to_string();
    let sid = session_id.to_string();
    let peer = peer.clone();
    match event_type {
        "elicitation.requested" => {
            // No handler: leave it for another client, as the official SDKs do.
            let handler = handlers.get("elicitation")?.clone();
            let settle: Settle = Box::new(move |answer| {
                let result = match answer {
                    Answer::Result(v) => v,
                    Answer::Failure(_) | Answer::Unanswered => json!({"action": "cancel"}),
                };
                answer_broadcast(
                    &peer,
                    "session.ui.handlePendingElicitation",
                    &sid,
                    &request_id,
                    json!({"result": result}),
                );
            });
            Some((HostRequest::new("elicitation", data_json, settle), handler))
        }
        "mcp.oauth_required" => {
            // No handler: another client may answer; the CLI sends it only to
            // sessions that registered interest (done for those with a handler).
            let handler = handlers.get("mcpAuth")?.clone();
            let settle: Settle = Box::new(move |answer| {
                let result = match answer {
                    Answer::Result(v) if v.get("accessToken").is_some() => {
                        let mut token = json!({"kind": "token"});
                        if let (Some(t), Value::Object(fields)) = (token.as_object_mut(), v) {
                            t.extend(fields);
                        }
                        token
                    }
                    _ => json!({"kind": "cancelled"}),
                };
                answer_broadcast(
                    &peer,
                    "session.mcp.oauth.handlePendingRequest",
                    &sid,
                    &request_id,
                    json!({ "result": result }),
                );
            });
            Some((HostRequest::new("mcpAuth", data_json, settle), handler))
        }
        "command.execute" => {
            let name = data
                .get("commandName")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let key = format!("command:{name}");
            let Some(handler) = handlers.get(&key).cloned() else {
                answer_broadcast(
                    &peer,
                    "session.commands.handlePendingCommand",
                    &sid,
                    &request_id,
                    json!({"error": format!("Unknown command: {name}")}),
                );
                return None;
            };
            let settle: Settle = Box::new(move |answer| {
                let fields = match answer {
                    Answer::Result(_) => json!({}),
                    Answer::Failure(m) => json!({ "error": m }),
                    Answer::Unanswered => json!({"error": "the command handler did not answer"}),
                };
                answer_broadcast(
                    &peer,
                    "session.commands.handlePendingCommand",
                    &sid,
                    &request_id,
                    fields,
                );
            });
            Some((HostRequest::new(&key, data_json, settle), handler))
        }
        _ => None,
    }
}
