//! Sessions: configuration, the routing state the reader uses, and the
//! operations (send, send_and_wait, abort, get_messages, destroy, call).

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::sync::Mutex;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use crate::client::{ClientInner, Connection};
use crate::error::{Error, ErrorKind, Result};
use crate::events::{types, EventHandler, SessionEvent};
use crate::handlers::{PermissionPolicy, Tool};
use crate::log::{log, Level};
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

type Subscribers = Arc<Vec<(u64, EventHandler)>>;

/// Per-session state shared by the handle and the reader's router.
pub(crate) struct SessionShared {
    pub id: Arc<str>,
    subscribers: Mutex<Subscribers>,
    next_subscription: AtomicU64,
    pub tools: HashMap<String, Tool>,
    pub permission: Option<PermissionPolicy>,
    pub handlers: HashMap<String, RequestHandler>,
    /// Kept to resume the session after the CLI is restarted.
    pub config: SessionConfig,
    closed: AtomicBool,
}

impl SessionShared {
    pub fn new(id: &str, config: &SessionConfig) -> Arc<Self> {
        let shared = Arc::new(SessionShared {
            id: id.into(),
            subscribers: Mutex::new(Arc::new(Vec::new())),
            next_subscription: AtomicU64::new(1),
            tools: config
                .tools
                .iter()
                .map(|t| (t.name().to_string(), t.clone()))
                .collect(),
            permission: config.permission.clone(),
            handlers: config.handlers.clone(),
            config: config.clone(),
            closed: AtomicBool::new(false),
        });
        for handler in &config.on_event {
            shared.subscribe(handler.clone());
        }
        shared
    }

    pub fn subscribe(&self, handler: EventHandler) -> u64 {
        let id = self.next_subscription.fetch_add(1, Ordering::Relaxed);
        let old = {
            let mut subs = self.subscribers.lock();
            let mut next: Vec<_> = subs.iter().cloned().collect();
            next.push((id, handler));
            std::mem::replace(&mut *subs, Arc::new(next))
        };
        // The old list may be the last owner of a handler: host code
        // (user_data_free) runs only once the lock is released.
        drop(old);
        id
    }

    /// Removes a subscriber; true if it was there. A delivery already running
    /// on the callback thread may still finish with it.
    pub fn unsubscribe(&self, id: u64) -> bool {
        let old = {
            let mut subs = self.subscribers.lock();
            if !subs.iter().any(|(i, _)| *i == id) {
                return false;
            }
            let next: Vec<_> = subs.iter().filter(|(i, _)| *i != id).cloned().collect();
            std::mem::replace(&mut *subs, Arc::new(next))
        };
        // Dropped unlocked: it may hold the last reference to the handler.
        drop(old);
        true
    }

    /// Runs every subscriber on `event`; on the callback thread only.
    pub fn deliver(&self, event: &SessionEvent) {
        if self.is_closed() {
            return;
        }
        let subs = self.subscribers.lock().clone();
        for (_, handler) in subs.iter() {
            if catch_unwind(AssertUnwindSafe(|| handler(event))).is_err() {
                log!(
                    Level::Error,
                    "session",
                    "an event subscriber panicked on {}",
                    event.event_type()
                );
            }
        }
    }

    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let old = std::mem::replace(&mut *self.subscribers.lock(), Arc::new(Vec::new()));
        // Dropped unlocked: the handlers' user_data_free is host code.
        drop(old);
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

/// A conversation with the agent. Cheap to clone; all clones are one session.
#[derive(Clone)]
pub struct Session {
    pub(crate) shared: Arc<SessionShared>,
    pub(crate) client: Weak<ClientInner>,
    /// The `session.create` / `session.resume` result.
    pub(crate) info: Arc<Value>,
}

impl Session {
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// The workspace folder the CLI reported at create/resume, if any.
    pub fn workspace_path(&self) -> Option<&str> {
        self.info.get("workspacePath").and_then(Value::as_str)
    }

    /// What the CLI answered to `session.create` / `session.resume`:
    /// `{sessionId, workspacePath?, capabilities?: {ui?: {elicitation?, ...}}, ...}`.
    pub fn info(&self) -> &Value {
        &self.info
    }

    fn client(&self) -> Result<Arc<ClientInner>> {
        if self.shared.is_closed() {
            return Err(Error::invalid_state(format!(
                "session {} was destroyed",
                self.id()
            )));
        }
        self.client
            .upgrade()
            .ok_or_else(|| Error::invalid_state("the client of this session was freed"))
    }

    /// The connection for a call. The client itself is not kept across the
    /// call: its free must still kill the CLI and fail the call at once.
    fn connection(&self) -> Result<Arc<Connection>> {
        self.client()?.connection()
    }

    /// Calls any session-scoped method; `sessionId` is added to `params`.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value> {
        self.call_within(method, params, None).await
    }

    /// `call`, failing with `Timeout` after `timeout` (`None`: no limit): for
    /// methods the CLI may leave unanswered, such as `session.ui.elicitation`
    /// on a session whose clients have no elicitation handler.
    pub async fn call_within(
        &self,
        method: &str,
        params: Value,
        timeout: Option<Duration>,
    ) -> Result<Value> {
        let conn = self.connection()?;
        let params = self.with_session_id(params)?;
        conn.request_within(method, &params, timeout).await
    }

    fn with_session_id(&self, params: Value) -> Result<Value> {
        let mut map = match params {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            _ => return Err(Error::invalid_json("params must be a JSON object")),
        };
        map.insert("sessionId".into(), Value::String(self.id().into()));
        Ok(Value::Object(map))
    }

    /// `session.send`: queues a message (`{prompt, attachments?, mode?, ...}`)
    /// and returns its message id without waiting for the turn.
    pub async fn send(&self, message: Value) -> Result<String> {
        let result = self.call("session.send", message).await?;
        Ok(result
            .get("messageId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    /// Sends and waits for `session.idle`; returns the last `assistant.message`
    /// event of the turn (None if the turn produced none). Fails on
    /// `session.error`, on disconnect, and after `timeout` (the turn goes on).
    pub async fn send_and_wait(
        &self,
        message: Value,
        timeout: Duration,
    ) -> Result<Option<Arc<SessionEvent<'static>>>> {
        self.send_and_wait_with(message, WaitOptions::timeout(timeout))
            .await
    }

    /// `send_and_wait` with stall guards (see `WaitOptions`).
    pub async fn send_and_wait_with(
        &self,
        message: Value,
        opts: WaitOptions,
    ) -> Result<Option<Arc<SessionEvent<'static>>>> {
        let timeout = opts.timeout;
        let client = self.client()?;
        if client.dispatcher.is_current_thread() {
            return Err(Error::new(
                ErrorKind::WrongThread,
                "send_and_wait cannot wait on the callback thread that delivers the events it waits for; use send",
            ));
        }
        let conn = client.connection()?;
        drop(client);
        let (tx, mut rx) = mpsc::unbounded_channel::<TurnSignal>();
        // Any event is activity for the stall guard: recorded with one atomic
        // store, so a flood of deltas costs no task wake-ups.
        let base = std::time::Instant::now();
        let activity = Arc::new(AtomicU64::new(0));
        let seen = activity.clone();
        // Without stall guards no one reads it, and a clock read per event
        // is a measurable part of a flood's cost.
        let guarded = opts.first_event.is_some() || opts.max_silence.is_some();
        let waiter = self.shared.subscribe(Arc::new(move |event: &SessionEvent| {
            if guarded {
                seen.store(base.elapsed().as_nanos() as u64 + 1, Ordering::Relaxed);
            }
            let ty = event.event_type();
            if ![
                types::USER_MESSAGE,
                types::ASSISTANT_MESSAGE,
                types::SESSION_IDLE,
                types::SESSION_ERROR,
            ]
            .contains(&ty)
            {
                return;
            }
            let data = event.data::<Value>().unwrap_or(Value::Null);
            let field = |k: &str| data.get(k).and_then(Value::as_str).map(str::to_owned);
            let signal = match ty {
                types::USER_MESSAGE => TurnSignal::User(field("messageId")),
                types::ASSISTANT_MESSAGE => {
                    TurnSignal::Message(field("originatingMessageId"), Arc::new(event.to_owned()))
                }
                types::SESSION_IDLE => TurnSignal::Idle,
                _ => TurnSignal::Error(
                    field("originatingMessageId"),
                    field("message").unwrap_or_else(|| "session error".into()),
                ),
            };
            let _ = tx.send(signal);
        }));
        let _unsubscribe = Unsubscribe(&self.shared, waiter);
        let mut closed = conn.closed_watch();
        // The send has the same limit, and its own error: a prompt the CLI
        // never read or never answered is not a turn that did not end.
        let started_at = tokio::time::Instant::now();
        let params = self.with_session_id(message)?;
        let sent = conn
            .request_within("session.send", &params, Some(timeout))
            .await
            .map_err(|e| e.context("send_and_wait"))?;
        let ours = sent
            .get("messageId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let turn_limit = timeout.saturating_sub(started_at.elapsed());
        let turn = async {
            // Events of an earlier turn (an aborted one's idle, say) may still be
            // queued: the turn is ours from our user.message on.
            let mut started = false;
            let mut last = None;
            let sent_at = tokio::time::Instant::now();
            let after_send = base.elapsed().as_nanos() as u64;
            loop {
                // The stall deadline: first event after the send, then silence between events.
                let last_seen = activity.load(Ordering::Relaxed);
                let last_event = (last_seen > after_send).then(|| {
                    tokio::time::Instant::from_std(base + Duration::from_nanos(last_seen - 1))
                });
                let stall = match last_event {
                    None => opts
                        .first_event
                        .map(|d| (sent_at + d, ErrorKind::NoFirstEvent)),
                    Some(t) => opts.max_silence.map(|d| (t + d, ErrorKind::Stalled)),
                };
                let stall_at = stall.map(|(t, _)| t);
                tokio::select! {
                    _ = async { tokio::time::sleep_until(stall_at.unwrap()).await }, if stall_at.is_some() => {
                        if activity.load(Ordering::Relaxed) != last_seen {
                            continue; // events arrived meanwhile: a new deadline
                        }
                        let (_, kind) = stall.unwrap();
                        if opts.abort_on_stall {
                            let _ = self.abort().await;
                        }
                        let what = if kind == ErrorKind::NoFirstEvent {
                            format!("no event within {} ms of the send", opts.first_event.unwrap().as_millis())
                        } else {
                            format!("no event for {} ms", opts.max_silence.unwrap().as_millis())
                        };
                        return Err(Error::new(kind, format!("send_and_wait: the turn stalled: {what}")));
                    }
                    signal = rx.recv() => match signal {
                        Some(TurnSignal::User(id)) => started |= id.as_deref() == Some(ours.as_str()),
                        Some(TurnSignal::Message(origin, ev)) => {
                            if origin.as_deref().map_or(started, |o| o == ours) {
                                started = true;
                                last = Some(ev);
                            }
                        }
                        Some(TurnSignal::Idle) if started => return Ok(last),
                        Some(TurnSignal::Idle) => {}
                        Some(TurnSignal::Error(origin, msg)) => {
                            if origin.as_deref().map_or(started, |o| o == ours) {
                                return Err(Error::new(ErrorKind::SessionError, msg));
                            }
                        }
                        None => return Err(Error::invalid_state("session closed while waiting for the turn")),
                    },
                    // The guard wait_for returns must not live across the other branches' awaits.
                    _ = async { drop(closed.wait_for(|c| c.is_some()).await) } => {
                        return Err(conn.closed_error());
                    }
                }
            }
        };
        match tokio::time::timeout(turn_limit, turn).await {
            Ok(r) => r,
            Err(_) => Err(Error::timeout(format!(
                "send_and_wait: no session.idle within {} ms (the turn continues; abort it to stop it)",
                timeout.as_millis()
            ))),
        }
    }

    /// `session.abort`: stops the current turn.
    pub async fn abort(&self) -> Result<()> {
        self.call("session.abort", Value::Null).await.map(drop)
    }

    /// `session.getMessages`: the persisted events, oldest first, as a JSON array.
    pub async fn get_messages(&self) -> Result<Value> {
        let mut r = self.call("session.getMessages", Value::Null).await?;
        Ok(r.get_mut("events")
            .map(Value::take)
            .unwrap_or(Value::Array(vec![])))
    }

    /// Adds a subscriber; returns its id for `unsubscribe`.
    pub fn subscribe(&self, handler: EventHandler) -> u64 {
        self.shared.subscribe(handler)
    }

    pub fn unsubscribe(&self, id: u64) -> bool {
        self.shared.unsubscribe(id)
    }

    /// `session.destroy`: releases the session in the CLI (its history stays on
    /// disk for resume) and stops its callbacks. Idempotent.
    pub async fn destroy(&self) -> Result<()> {
        if self.shared.is_closed() {
            return Ok(());
        }
        let result = match self.connection() {
            Ok(conn) => conn
                .request_value(
                    "session.destroy",
                    &serde_json::json!({"sessionId": self.id()}),
                )
                .await
                .map(drop),
            Err(e) => Err(e),
        };
        self.detach();
        result
    }

    /// Stops routing to this session locally, without telling the CLI.
    pub(crate) fn detach(&self) {
        self.shared.close();
        if let Some(client) = self.client.upgrade() {
            let removed = {
                let mut sessions = client.router.sessions.lock();
                // The id may already belong to a newer resume of the same session.
                let ours = sessions
                    .get(&*self.shared.id)
                    .is_some_and(|s| Arc::ptr_eq(s, &self.shared));
                ours.then(|| sessions.remove(&*self.shared.id))
            };
            drop(removed);
        }
    }

    /// Frees the handle without blocking: stops callbacks now and destroys the
    /// session in the CLI in the background. A resume of the same id waits for
    /// that destroy, so it cannot land on the resumed session.
    pub(crate) fn release(&self, runtime: &tokio::runtime::Handle) {
        if self.shared.is_closed() {
            return;
        }
        // Unrouted now, on the freeing thread: were the router's reference the
        // last one, the host's data (handlers and their user_data_free) would
        // be released on a runtime worker when the destroy completes, and Mono
        // hangs at exit on a managed call from a thread it has not seen.
        self.detach();
        let Some(client) = self.client.upgrade() else {
            return;
        };
        let (done_tx, done_rx) = tokio::sync::watch::channel(false);
        client
            .router
            .pending_destroys
            .lock()
            .insert(self.id().to_string(), done_rx);
        // The task keeps only the id, not the session's handlers, and not the
        // client across the wait: were it the last reference then, the client
        // and its host handlers would be released on a runtime worker.
        let target = (client.connection().ok(), client.router.clone());
        drop(client);
        let id = self.id().to_string();
        runtime.spawn(async move {
            let (conn, router) = target;
            if let Some(conn) = conn {
                let params = serde_json::json!({"sessionId": id});
                let _ = conn.request_value("session.destroy", &params).await;
            }
            router.pending_destroys.lock().remove(&id);
            let _ = done_tx.send(true);
        });
    }
}

/// What send_and_wait learns from the events, with the id of the user
/// message each belongs to when the event says.
enum TurnSignal {
    User(Option<String>),
    Message(Option<String>, Arc<SessionEvent<'static>>),
    Idle,
    Error(Option<String>, String),
}

struct Unsubscribe<'a>(&'a SessionShared, u64);

impl Drop for Unsubscribe<'_> {
    fn drop(&mut self) {
        self.0.unsubscribe(self.1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(fields: Value) -> SessionConfig {
        SessionConfig::from_json(&fields.to_string()).unwrap()
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
