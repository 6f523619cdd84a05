//! What opens a session: the wire fields of `session.create` /
//! `session.resume`, the handlers to register, and the wait limits of
//! `send_and_wait`.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::events::{EventBatchHandler, EventHandler};
use crate::handlers::{PermissionPolicy, Tool};
use crate::options::Mode;
use crate::requests::RequestHandler;

/// Everything `session.create` / `session.resume` needs. `fields` pass
/// through to the wire unchanged (model, streaming, provider, systemMessage,
/// availableTools, excludedTools, workingDirectory, mcpServers, ...); tools,
/// `requestPermission` and `sessionId` are filled in from the handlers.
#[derive(Clone, Default)]
pub struct SessionConfig {
    pub fields: Map<String, Value>,
    pub tools: Vec<Tool>,
    pub permission: Option<PermissionPolicy>,
    /// Subscribed before `session.create` is sent, so no event is missed.
    pub on_event: Vec<EventHandler>,
    /// As `on_event`, for subscribers that take events a batch at a time.
    pub on_event_batch: Vec<EventBatchHandler>,
    /// Host request handlers by key (see `requests`): `userInput`, `elicitation`,
    /// `exitPlanMode`, `autoModeSwitch`, `systemMessageTransform`,
    /// `hook:<hookType>`, `command:<name>`.
    pub handlers: HashMap<String, RequestHandler>,
    /// Slash command declarations (`{name, description?}`), sent as `commands`.
    pub commands: Vec<Value>,
}

impl SessionConfig {
    /// Parses the JSON object of wire fields; `""`/`null` mean none.
    pub fn from_json(json: &str) -> Result<Self> {
        let trimmed = json.trim();
        if trimmed.is_empty() || trimmed == "null" {
            return Ok(Self::default());
        }
        match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Object(fields)) => Ok(SessionConfig {
                fields,
                ..Default::default()
            }),
            Ok(_) => Err(Error::invalid_json("session config must be a JSON object")),
            Err(e) => Err(Error::invalid_json(format!("session config: {e}"))),
        }
    }

    /// The `session.create`/`session.resume` params for session `id` on a client
    /// in `mode`, with the official SDKs' defaults: excluded tools win over
    /// available ones, and in empty mode the safe defaults under the host's
    /// own values. Refuses a bare "*" tool pattern, and in empty mode a session
    /// that does not name its `availableTools`.
    pub(crate) fn wire_params(&self, id: &str, mode: Mode) -> Result<Value> {
        let mut fields = self.fields.clone();
        for list in ["availableTools", "excludedTools"] {
            if let Some(Value::Array(items)) = fields.get(list) {
                if items.iter().any(|t| t == "*") {
                    return Err(Error::invalid_argument(format!(
                        "{list} has a bare \"*\": name the source, \"builtin:*\", \"mcp:*\" or \"custom:*\""
                    )));
                }
            }
        }
        // The per-session identity is `gitHubToken` on the wire; the client
        // option's spelling, `githubToken`, would be ignored by the CLI.
        if let Some(token) = fields.remove("githubToken") {
            fields.entry("gitHubToken").or_insert(token);
        }
        fields
            .entry("toolFilterPrecedence")
            .or_insert_with(|| json!("excluded"));
        if mode == Mode::Empty {
            if !fields.contains_key("availableTools") {
                return Err(Error::invalid_argument(
                    "the client is in mode \"empty\": the session must name its availableTools (e.g. [\"builtin:ask_user\", \"custom:*\"])",
                ));
            }
            for (key, default) in empty_mode_defaults() {
                fields.entry(key).or_insert(default);
            }
            let system = fields.remove("systemMessage");
            fields.insert("systemMessage".into(), without_environment_context(system));
        }
        Ok(self.with_handlers(fields, id))
    }

    /// The `session.options.update` patch to send after create/resume: the four
    /// flags `session.create` does not take, as the host set them, and in empty
    /// mode their safe defaults and no installed plugins. None: nothing to send.
    pub(crate) fn options_patch(&self, id: &str, mode: Mode) -> Option<Value> {
        let mut patch = Map::new();
        for (key, empty_default) in [
            ("skipCustomInstructions", true),
            ("customAgentsLocalOnly", true),
            ("coauthorEnabled", false),
            ("manageScheduleEnabled", false),
        ] {
            match self.fields.get(key) {
                Some(v) => {
                    patch.insert(key.into(), v.clone());
                }
                None if mode == Mode::Empty => {
                    patch.insert(key.into(), Value::Bool(empty_default));
                }
                None => {}
            }
        }
        if mode == Mode::Empty {
            patch.insert("installedPlugins".into(), json!([]));
        }
        if patch.is_empty() {
            return None;
        }
        patch.insert("sessionId".into(), Value::String(id.into()));
        Some(Value::Object(patch))
    }

    /// `fields` plus the session id and what the tools and handlers declare.
    fn with_handlers(&self, mut p: Map<String, Value>, id: &str) -> Value {
        p.insert("sessionId".into(), Value::String(id.into()));
        if !self.tools.is_empty() {
            let mut tools = match p.remove("tools") {
                Some(Value::Array(declared)) => declared,
                _ => Vec::new(),
            };
            tools.extend(self.tools.iter().map(|t| t.declaration.clone()));
            p.insert("tools".into(), Value::Array(tools));
        }
        p.insert(
            "requestPermission".into(),
            Value::Bool(self.permission.is_some()),
        );
        for (key, flag) in [
            ("userInput", "requestUserInput"),
            ("elicitation", "requestElicitation"),
            ("exitPlanMode", "requestExitPlanMode"),
            ("autoModeSwitch", "requestAutoModeSwitch"),
        ] {
            if self.handlers.contains_key(key) {
                p.insert(flag.into(), Value::Bool(true));
            }
        }
        if self.handlers.keys().any(|k| k.starts_with("hook:")) {
            p.insert("hooks".into(), Value::Bool(true));
        }
        if !self.commands.is_empty() {
            p.insert("commands".into(), Value::Array(self.commands.clone()));
        }
        p.entry("envValueMode")
            .or_insert_with(|| Value::String("direct".into()));
        Value::Object(p)
    }
}

/// Session fields empty mode sets unless the host did.
fn empty_mode_defaults() -> [(&'static str, Value); 12] {
    [
        ("isExperimentalMode", json!(false)),
        ("enableSessionTelemetry", json!(false)),
        ("mcpOAuthTokenStorage", json!("in-memory")),
        ("skipEmbeddingRetrieval", json!(true)),
        ("embeddingCacheStorage", json!("in-memory")),
        ("enableOnDemandInstructionDiscovery", json!(false)),
        ("enableFileHooks", json!(false)),
        ("enableHostGitOperations", json!(false)),
        ("enableSessionStore", json!(false)),
        ("enableSkills", json!(false)),
        ("memory", json!({"enabled": false})),
        ("customAgentsLocalOnly", json!(true)),
    ]
}

/// A system message without the environment context section (the machine's
/// OS, working directory, ...), keeping the host's own text and sections; a
/// full `replace`, or one that already decides that section, is left as is.
fn without_environment_context(system: Option<Value>) -> Value {
    let remove = json!({"environment_context": {"action": "remove"}});
    let Some(Value::Object(mut sm)) = system else {
        return json!({"mode": "customize", "sections": remove});
    };
    match sm.get("mode").and_then(Value::as_str) {
        Some("replace") => Value::Object(sm),
        Some("customize") => {
            let sections = sm.entry("sections").or_insert_with(|| json!({}));
            if let Some(sections) = sections.as_object_mut() {
                sections
                    .entry("environment_context")
                    .or_insert_with(|| json!({"action": "remove"}));
            }
            Value::Object(sm)
        }
        // append (or none): customize keeps the host's text as appended instructions.
        _ => {
            let mut out = json!({"mode": "customize", "sections": remove});
            if let Some(content) = sm.remove("content") {
                out["content"] = content;
            }
            out
        }
    }
}

/// Limits for `send_and_wait`, in addition to the overall timeout.
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    /// The longest wait for the turn to end.
    pub timeout: Duration,
    /// Fail with `NoFirstEvent` when no event of the turn arrives this soon after the send.
    pub first_event: Option<Duration>,
    /// Fail with `Stalled` when the turn is silent this long between events.
    pub max_silence: Option<Duration>,
    /// On either stall, also `session.abort` the turn.
    pub abort_on_stall: bool,
}

impl WaitOptions {
    pub fn timeout(timeout: Duration) -> Self {
        WaitOptions {
            timeout,
            first_event: None,
            max_silence: None,
            abort_on_stall: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(fields: Value) -> SessionConfig {
        SessionConfig::from_json(&fields.to_string()).unwrap()
    }

    #[test]
    fn a_session_token_goes_out_under_the_protocols_name() {
        let p = config(json!({"githubToken": "t1"}))
            .wire_params("s", Mode::CopilotCli)
            .unwrap();
        assert_eq!(p["gitHubToken"], "t1");
        assert!(p.get("githubToken").is_none());
        let p = config(json!({"gitHubToken": "t2"}))
            .wire_params("s", Mode::CopilotCli)
            .unwrap();
        assert_eq!(p["gitHubToken"], "t2");
    }

    #[test]
    fn excluded_tools_win_unless_the_host_says_otherwise() {
        let p = config(json!({}))
            .wire_params("s", Mode::CopilotCli)
            .unwrap();
        assert_eq!(p["toolFilterPrecedence"], "excluded");
        let p = config(json!({"toolFilterPrecedence": "available"}))
            .wire_params("s", Mode::CopilotCli)
            .unwrap();
        assert_eq!(p["toolFilterPrecedence"], "available");
        assert!(config(json!({"excludedTools": ["*"]}))
            .wire_params("s", Mode::CopilotCli)
            .is_err());
    }

    #[test]
    fn empty_mode_needs_available_tools_and_keeps_the_hosts_values() {
        assert!(config(json!({})).wire_params("s", Mode::Empty).is_err());
        let p = config(json!({"availableTools": ["builtin:*"], "enableSkills": true}))
            .wire_params("s", Mode::Empty)
            .unwrap();
        assert_eq!(p["enableSkills"], true);
        assert_eq!(p["enableSessionTelemetry"], false);
        assert_eq!(p["memory"], json!({"enabled": false}));
        assert_eq!(
            p["systemMessage"],
            json!({"mode": "customize", "sections": {"environment_context": {"action": "remove"}}})
        );
    }

    #[test]
    fn empty_mode_strips_the_environment_context_but_not_from_a_replacement() {
        let append = without_environment_context(Some(json!({"mode": "append", "content": "x"})));
        assert_eq!(append["mode"], "customize");
        assert_eq!(append["content"], "x");
        assert_eq!(
            append["sections"]["environment_context"]["action"],
            "remove"
        );
        let replace = json!({"mode": "replace", "content": "only this"});
        assert_eq!(without_environment_context(Some(replace.clone())), replace);
        let own = json!({"mode": "customize", "sections": {"environment_context": {"action": "append", "content": "y"}}});
        assert_eq!(without_environment_context(Some(own.clone())), own);
    }

    #[test]
    fn options_update_carries_what_create_does_not_take() {
        assert_eq!(config(json!({})).options_patch("s", Mode::CopilotCli), None);
        let patch = config(json!({"coauthorEnabled": true}))
            .options_patch("s", Mode::CopilotCli)
            .unwrap();
        assert_eq!(patch, json!({"sessionId": "s", "coauthorEnabled": true}));
        let patch = config(json!({"coauthorEnabled": true}))
            .options_patch("s", Mode::Empty)
            .unwrap();
        assert_eq!(patch["coauthorEnabled"], true);
        assert_eq!(patch["skipCustomInstructions"], true);
        assert_eq!(patch["installedPlugins"], json!([]));
    }
}
