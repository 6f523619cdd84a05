//! Requests from the CLI that a host handler answers: custom tool calls and
//! permission requests. Each is an owned invocation that is completed exactly
//! once, from any thread, now or later; dropping it answers with a failure so
//! the turn never hangs.

use std::ffi::c_char;
use std::sync::{Arc, Weak};

use serde_json::{json, Value};

use crate::log::{log, Level};
use crate::rpc::RpcPeer;

/// Sends the one answer of a broadcast request (`session.*.handlePending*`).
struct Responder {
    peer: Weak<RpcPeer>,
    method: &'static str,
    session_id: Arc<str>,
    request_id: String,
}

impl Responder {
    /// Sends the answer (written at once when the connection is free); never blocks.
    fn send(self, fields: Value) {
        let Some(peer) = self.peer.upgrade() else {
            return;
        };
        let mut params = json!({"sessionId": &*self.session_id, "requestId": self.request_id});
        if let (Some(p), Value::Object(extra)) = (params.as_object_mut(), fields) {
            p.extend(extra);
        }
        peer.request_detached(self.method, &params);
    }
}

/// One call of a custom tool (`external_tool.requested`).
pub struct ToolInvocation {
    responder: Option<Responder>,
    pub tool_name: String,
    pub tool_call_id: String,
    /// `{"sessionId","toolCallId","toolName","arguments"}` plus a trailing NUL.
    json: String,
}

impl ToolInvocation {
    pub(crate) fn new(
        peer: Weak<RpcPeer>,
        session_id: Arc<str>,
        request_id: String,
        tool_name: String,
        tool_call_id: String,
        arguments: Value,
    ) -> Self {
        let mut json = json!({
            "sessionId": &*session_id,
            "toolCallId": tool_call_id,
            "toolName": tool_name,
            "arguments": arguments,
        })
        .to_string();
        json.push('\0');
        ToolInvocation {
            responder: Some(Responder {
                peer,
                method: "session.tools.handlePendingToolCall",
                session_id,
                request_id,
            }),
            tool_name,
            tool_call_id,
            json,
        }
    }

    /// `{"sessionId","toolCallId","toolName","arguments"}` as JSON text.
    pub fn json(&self) -> &str {
        &self.json[..self.json.len() - 1]
    }

    pub fn json_c(&self) -> *const c_char {
        self.json.as_ptr().cast()
    }

    /// Parsed `arguments`.
    pub fn arguments(&self) -> Value {
        serde_json::from_str::<Value>(self.json())
            .ok()
            .and_then(|mut v| v.get_mut("arguments").map(Value::take))
            .unwrap_or(Value::Null)
    }

    /// Answers with a result: a string goes to the model as is; an object with
    /// `textResultForLlm` is a full tool result; any other JSON is stringified.
    pub fn complete(mut self, result: Value) {
        let result = match result {
            Value::String(_) => result,
            Value::Object(ref o) if o.contains_key("textResultForLlm") => result,
            Value::Null => Value::String(String::new()),
            other => Value::String(other.to_string()),
        };
        if let Some(r) = self.responder.take() {
            r.send(json!({ "result": result }));
        }
    }

    /// Answers with a failure. The CLI logs `message` and tells the model only
    /// that the tool failed.
    pub fn fail(mut self, message: &str) {
        if let Some(r) = self.responder.take() {
            r.send(json!({ "error": message }));
        }
    }
}

impl Drop for ToolInvocation {
    fn drop(&mut self) {
        if let Some(r) = self.responder.take() {
            log!(
                Level::Warn,
                "handlers",
                "tool call {} dropped without an answer",
                self.tool_call_id
            );
            r.send(json!({ "error": "the tool handler did not complete the invocation" }));
        }
    }
}

/// One `permission.requested` to decide.
pub struct PermissionRequest {
    responder: Option<Responder>,
    /// The event's `data` (`{requestId, permissionRequest: {kind, ...}, ...}`) plus a NUL.
    json: String,
}

impl PermissionRequest {
    pub(crate) fn new(
        peer: Weak<RpcPeer>,
        session_id: Arc<str>,
        request_id: String,
        data_json: &str,
    ) -> Self {
        let mut json = String::with_capacity(data_json.len() + 1);
        json.push_str(data_json);
        json.push('\0');
        PermissionRequest {
            responder: Some(Responder {
                peer,
                method: "session.permissions.handlePendingPermissionRequest",
                session_id,
                request_id,
            }),
            json,
        }
    }

    pub fn json(&self) -> &str {
        &self.json[..self.json.len() - 1]
    }

    pub fn json_c(&self) -> *const c_char {
        self.json.as_ptr().cast()
    }

    /// Answers with a decision object, e.g. `{"kind":"approve-once"}` or
    /// `{"kind":"reject","feedback":"..."}`. `{"kind":"no-result"}` sends nothing:
    /// the request stays pending for another client, or for a later
    /// `session.permissions.handlePendingPermissionRequest`.
    ///
    /// A `decisionContext` member of the decision (how and where the answer
    /// was made: `{outcome?, source?, surface?, responseCapability?,
    /// userFeedback?}`) goes next to `result`, where the protocol has it.
    pub fn respond(mut self, mut decision: Value) {
        if let Some(r) = self.responder.take() {
            if decision.get("kind").and_then(Value::as_str) != Some("no-result") {
                let context = decision
                    .as_object_mut()
                    .and_then(|d| d.remove("decisionContext"));
                let mut fields = json!({ "result": decision });
                if let Some(context) = context {
                    fields["decisionContext"] = context;
                }
                r.send(fields);
            }
        }
    }
}

impl Drop for PermissionRequest {
    fn drop(&mut self) {
        if let Some(r) = self.responder.take() {
            r.send(json!({ "result": {"kind": "user-not-available"} }));
        }
    }
}

/// Handles calls of one custom tool. Runs on the client's callback thread.
pub type ToolHandler = Arc<dyn Fn(ToolInvocation) + Send + Sync>;
/// Decides permission requests. Runs on the client's callback thread.
pub type PermissionHandler = Arc<dyn Fn(PermissionRequest) + Send + Sync>;

/// A custom tool: its declaration as sent in `session.create`
/// (`{name, description?, parameters?, overridesBuiltInTool?, skipPermission?, ...}`)
/// and the handler that runs it.
#[derive(Clone)]
pub struct Tool {
    pub declaration: Value,
    pub handler: ToolHandler,
}

impl Tool {
    pub fn name(&self) -> &str {
        self.declaration
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

/// What to do with `permission.requested`.
#[derive(Clone)]
pub enum PermissionPolicy {
    /// Approve every request once, without a callback.
    ApproveAll,
    Handler(PermissionHandler),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::frame::FrameReader;

    /// The answer as it leaves: `decisionContext` beside `result`, not in it.
    #[tokio::test]
    async fn a_decision_context_goes_next_to_the_result() {
        let (ours, theirs) = tokio::io::duplex(1 << 16);
        let peer = RpcPeer::new(Box::new(ours));
        let req = PermissionRequest::new(Arc::downgrade(&peer), "s1".into(), "r1".into(), "{}");
        req.respond(json!({
            "kind": "approve-once",
            "decisionContext": {"source": "user", "surface": "cli"},
        }));
        let body = FrameReader::new(theirs, 1 << 20)
            .next_frame()
            .await
            .unwrap();
        let sent: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            sent["method"],
            "session.permissions.handlePendingPermissionRequest"
        );
        assert_eq!(sent["params"]["result"], json!({"kind": "approve-once"}));
        assert_eq!(sent["params"]["decisionContext"]["source"], "user");
        assert_eq!(sent["params"]["requestId"], "r1");
    }
}
