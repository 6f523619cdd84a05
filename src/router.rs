//! Where what the CLI sends goes: the client's session table and callback
//! thread, shared by the client, its sessions and the connection's reader.
//! Events go to their session's subscribers, requests to its handlers.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::connection::Connection;
use crate::dispatch::Dispatcher;
use crate::error::{Error, Result};
use crate::events::{types, SessionEvent};
use crate::handlers::{PermissionPolicy, PermissionRequest, ToolInvocation};
use crate::log::{log, Level};
use crate::requests::{self, HostRequest, RequestHandler};
use crate::rpc::{Drops, Inbound, RpcPeer};
use crate::session::shared::SessionShared;
use crate::sync::Mutex;

/// Where a client is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ClientState {
    Disconnected = 0,
    Connecting = 1,
    Connected = 2,
    /// The connection broke unexpectedly (the CLI crashed, exited or misbehaved),
    /// and no restart is under way (or the restarts failed).
    Error = 3,
    /// The CLI died unexpectedly; the client is respawning it (`autoRestart`).
    Restarting = 4,
}

/// Notified of every client state change, with a reason for errors and restarts.
/// Runs on the client's callback thread.
pub type StateHandler = Arc<dyn Fn(ClientState, Option<&str>) + Send + Sync>;

/// Notified of each `session.lifecycle` notification: its `type`
/// ("session.created", "session.deleted", "session.updated", ...) and the whole
/// notification as JSON. Runs on the client's callback thread.
pub type LifecycleHandler = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// Notified of one JSON-RPC notification from the CLI: its method and params
/// as JSON. Runs on the client's callback thread.
pub type NotificationHandler = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// What the reader task needs to route inbound traffic; shared with the client.
pub(crate) struct Router {
    pub sessions: Mutex<HashMap<String, Arc<SessionShared>>>,
    /// Sessions whose handle was freed and whose `session.destroy` is in flight.
    pub pending_destroys: Mutex<HashMap<String, watch::Receiver<bool>>>,
    pub dispatcher: Dispatcher,
    pub state: Mutex<ClientState>,
    pub state_handlers: Mutex<Vec<StateHandler>>,
    /// Handlers of notifications by method (`session.lifecycle`,
    /// `gitHubTelemetry.event`, ...).
    pub notification_handlers: Mutex<Vec<(String, NotificationHandler)>>,
    /// Client-wide request handlers by key: `llmInference` takes every
    /// `llmInference.*` request, whichever session (or none) it serves.
    pub client_handlers: Mutex<HashMap<String, RequestHandler>>,
    /// Inbound messages that could not be delivered, across connections.
    pub drops: Arc<Drops>,
    /// The live connection, while started.
    pub conn: Mutex<Option<Arc<Connection>>>,
    /// Set once the client was freed: calls say so.
    pub freed: AtomicBool,
}

impl Router {
    pub fn new(dispatcher: Dispatcher) -> Arc<Router> {
        Arc::new(Router {
            sessions: Mutex::new(HashMap::new()),
            pending_destroys: Mutex::new(HashMap::new()),
            dispatcher,
            state: Mutex::new(ClientState::Disconnected),
            state_handlers: Mutex::new(Vec::new()),
            notification_handlers: Mutex::new(Vec::new()),
            client_handlers: Mutex::new(HashMap::new()),
            drops: Arc::default(),
            conn: Mutex::new(None),
            freed: AtomicBool::new(false),
        })
    }

    /// The connection for a call, or why there is none.
    pub fn connection(&self) -> Result<Arc<Connection>> {
        let conn = self.conn.lock().clone();
        conn.ok_or_else(|| {
            if self.freed.load(Ordering::SeqCst) {
                Error::invalid_state("the client of this session was freed")
            } else {
                Error::invalid_state("the client is not started")
            }
        })
    }

    /// Empties the session table; the caller closes and drops them unlocked.
    pub fn take_sessions(&self) -> Vec<Arc<SessionShared>> {
        let mut sessions = self.sessions.lock();
        sessions.drain().map(|(_, s)| s).collect()
    }

    /// Empties the session table and closes every session, unlocked: their
    /// handlers' `user_data_free` is host code, which may call back in.
    pub fn close_sessions(&self) {
        for session in self.take_sessions() {
            session.close();
        }
    }

    /// Records a state and tells the host's state handlers when it changed.
    pub fn set_state(self: &Arc<Self>, state: ClientState, reason: Option<String>) {
        {
            let mut st = self.state.lock();
            if *st == state {
                return;
            }
            *st = state;
        }
        if self.state_handlers.lock().is_empty() {
            return;
        }
        // The handlers are read when the job runs: a queued job then holds no
        // host data, and calls nothing once the client is freed.
        let router = Arc::downgrade(self);
        self.dispatcher.dispatch_now(Box::new(move || {
            let Some(router) = router.upgrade() else {
                return;
            };
            let handlers = router.state_handlers.lock().clone();
            for h in &handlers {
                h(state, reason.as_deref());
            }
        }));
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolRequestData {
    request_id: String,
    tool_name: String,
    #[serde(default)]
    tool_call_id: String,
    #[serde(default)]
    arguments: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PermissionData {
    request_id: String,
    #[serde(default)]
    resolved_by_hook: bool,
}

/// What an event asks of the host besides being delivered.
enum Broadcast {
    None,
    Tool(ToolInvocation, crate::handlers::ToolHandler),
    Permission(PermissionRequest, crate::handlers::PermissionHandler),
    Host(HostRequest, RequestHandler),
}

/// Handles one inbound message on the reader task.
pub(crate) async fn route_inbound(router: &Arc<Router>, peer: &Weak<RpcPeer>, msg: Inbound) {
    match msg {
        Inbound::Events(events) => {
            // Each frame's session, looked up once per run of frames for it.
            // Queued events hold the session weakly: one freed meanwhile is not
            // kept alive by them, so its host data is released by the thread
            // that freed it (Mono hangs at exit on host calls from other threads).
            let mut sessions: Vec<(Weak<SessionShared>, Arc<str>)> = Vec::new();
            let mut targets: Vec<Option<usize>> = Vec::with_capacity(events.frames().len());
            let mut unknown: Vec<String> = Vec::new();
            {
                let known = router.sessions.lock();
                let mut last: Option<(&str, usize)> = None;
                for frame in events.frames() {
                    let id = events.session_id(frame);
                    let target = match last {
                        Some((last_id, index)) if last_id == id => Some(index),
                        _ => known.get(id).map(|session| {
                            sessions.push((Arc::downgrade(session), session.id.clone()));
                            last = Some((id, sessions.len() - 1));
                            sessions.len() - 1
                        }),
                    };
                    if target.is_none() {
                        unknown.push(id.to_string());
                    }
                    targets.push(target);
                }
            }
            // Counted and logged unlocked: the log handler is host code.
            for id in unknown {
                let why = format!("dropped an event for unknown session {id:?}");
                log!(Level::Debug, "client", "{why}");
                router.drops.record(why);
            }
            let count = targets.iter().flatten().count();
            if count == 0 {
                return;
            }
            // Parsed on the callback thread: the reader goes on reading.
            let peer = peer.clone();
            let drops = router.drops.clone();
            let bytes = events.byte_len();
            let mut events = events;
            let job = move || {
                let (frames, buf) = events.parts_mut();
                // Events kept for the batch subscribers of one session: the
                // run of its events in this job, handed on when the session
                // changes, before an event's own handler (a tool call, a
                // permission request) runs, and at the end.
                let mut batch = Batch::default();
                // The frames lie in the buffer in wire order, apart: each
                // event borrows its own part, so a batch holds several.
                let mut rest: &mut [u8] = buf;
                let mut offset = 0;
                for (frame, target) in frames.iter().zip(targets) {
                    let tail = std::mem::take(&mut rest);
                    let (_, tail) = tail.split_at_mut(frame.body.start - offset);
                    let (bytes, tail) = tail.split_at_mut(frame.body.len());
                    rest = tail;
                    offset = frame.body.end;
                    let Some(t) = target else { continue };
                    if batch.target.is_some_and(|b| b != t) {
                        batch.flush(&sessions);
                    }
                    let Some(session) = sessions[t].0.upgrade().filter(|s| !s.is_closed()) else {
                        continue;
                    };
                    let id: &str = &sessions[t].1;
                    let sid = frame.session_id.clone();
                    let one = || {
                        let Some(event) = SessionEvent::parse(id, bytes, sid) else {
                            let why = format!(
                                "dropped a malformed event for session {} (not valid JSON, not UTF-8, or nested too deep)",
                                session.id
                            );
                            log!(Level::Warn, "client", "{why}");
                            drops.record(why);
                            return None;
                        };
                        let broadcast = broadcast_for(&session, &event, &peer);
                        session.deliver(&event);
                        Some((event, broadcast))
                    };
                    // A panic ends this event, not the ones after it.
                    let (event, broadcast) = match catch_unwind(AssertUnwindSafe(one)) {
                        Ok(Some(delivered)) => delivered,
                        Ok(None) => continue,
                        Err(_) => {
                            log!(
                                Level::Error,
                                "client",
                                "an event handler panicked; contained"
                            );
                            continue;
                        }
                    };
                    if session.has_batch_subscribers() {
                        batch.target = Some(t);
                        batch.marks.push(session.subscription_mark());
                        batch.events.push(event);
                    }
                    if !matches!(broadcast, Broadcast::None) {
                        // Its subscribers see the event before its handler runs.
                        batch.flush(&sessions);
                        let handle = || handle_broadcast(broadcast);
                        if catch_unwind(AssertUnwindSafe(handle)).is_err() {
                            log!(
                                Level::Error,
                                "client",
                                "an event handler panicked; contained"
                            );
                        }
                    }
                }
                batch.flush(&sessions);
            };
            router
                .dispatcher
                .dispatch_many(Box::new(job), count, bytes)
                .await;
        }
        Inbound::Notification { method, params } => {
            let wanted = router
                .notification_handlers
                .lock()
                .iter()
                .any(|(m, _)| *m == method);
            if !wanted {
                log!(Level::Debug, "client", "notification {method} not handled");
                return;
            }
            // Handlers are read when the job runs: one added meanwhile sees it,
            // and none runs once the client was freed (they are emptied then).
            let weak = Arc::downgrade(router);
            let bytes = params.get().len();
            router
                .dispatcher
                .dispatch(
                    Box::new(move || {
                        let Some(router) = weak.upgrade() else { return };
                        let handlers: Vec<NotificationHandler> = router
                            .notification_handlers
                            .lock()
                            .iter()
                            .filter(|(m, _)| *m == method)
                            .map(|(_, h)| h.clone())
                            .collect();
                        for h in &handlers {
                            h(&method, params.get());
                        }
                    }),
                    bytes,
                )
                .await;
        }
        Inbound::Request { id, method, params } => {
            on_request(router, peer, id, method, params).await;
        }
    }
}

/// Events of one session collected for its batch subscribers.
#[derive(Default)]
struct Batch<'a> {
    /// The session's index in the job's sessions, while `events` is not empty.
    target: Option<usize>,
    events: Vec<SessionEvent<'a>>,
    /// The `subscription_mark` of each event.
    marks: Vec<u64>,
}

impl Batch<'_> {
    /// Hands the events to the session's batch subscribers, if it is still there.
    fn flush(&mut self, sessions: &[(Weak<SessionShared>, Arc<str>)]) {
        let Some(t) = self.target.take() else { return };
        if let Some(session) = sessions[t].0.upgrade().filter(|s| !s.is_closed()) {
            session.deliver_batch(&self.events, &self.marks);
        }
        self.events.clear();
        self.marks.clear();
    }
}

/// On the callback thread, after the event went to its subscribers: the
/// handler it asks for.
fn handle_broadcast(broadcast: Broadcast) {
    match broadcast {
        Broadcast::None => {}
        Broadcast::Tool(inv, handler) => handler(inv),
        Broadcast::Permission(req, handler) => handler(req),
        Broadcast::Host(req, handler) => handler(req),
    }
}

fn broadcast_for(
    session: &Arc<SessionShared>,
    event: &SessionEvent,
    peer: &Weak<RpcPeer>,
) -> Broadcast {
    match event.event_type() {
        types::EXTERNAL_TOOL_REQUESTED => {
            let Some(d) = event.data::<ToolRequestData>() else {
                return Broadcast::None;
            };
            // A tool we do not own stays pending for another client.
            let Some(tool) = session.tools.get(&d.tool_name) else {
                return Broadcast::None;
            };
            let inv = ToolInvocation::new(
                peer.clone(),
                session.id.clone(),
                d.request_id,
                d.tool_name,
                d.tool_call_id,
                d.arguments,
            );
            Broadcast::Tool(inv, tool.handler.clone())
        }
        types::PERMISSION_REQUESTED => {
            let Some(d) = event.data::<PermissionData>() else {
                return Broadcast::None;
            };
            if d.resolved_by_hook {
                return Broadcast::None;
            }
            // No handler: leave it pending for another client, as the official SDKs do.
            let Some(policy) = &session.permission else {
                return Broadcast::None;
            };
            let data = event
                .data::<Box<RawValue>>()
                .map(|r| r.get().to_owned())
                .unwrap_or_else(|| "{}".into());
            let req = PermissionRequest::new(peer.clone(), session.id.clone(), d.request_id, &data);
            match policy {
                PermissionPolicy::ApproveAll => {
                    req.respond(json!({"kind": "approve-once"}));
                    Broadcast::None
                }
                PermissionPolicy::Handler(h) => Broadcast::Permission(req, h.clone()),
            }
        }
        "elicitation.requested" | "command.execute" | "mcp.oauth_required" => {
            let data = event
                .data::<Box<RawValue>>()
                .map(|r| r.get().to_owned())
                .unwrap_or_default();
            match requests::broadcast_request(
                &session.id,
                &session.handlers,
                event.event_type(),
                &data,
                peer,
            ) {
                Some((req, handler)) => Broadcast::Host(req, handler),
                None => Broadcast::None,
            }
        }
        _ => Broadcast::None,
    }
}

/// Handles a JSON-RPC request from the CLI (on the reader task): routes it to
/// the session's handler through the callback thread, or answers the default.
async fn on_request(
    router: &Arc<Router>,
    peer: &Weak<RpcPeer>,
    id: Box<RawValue>,
    method: String,
    params: Box<RawValue>,
) {
    let Some(peer) = peer.upgrade() else { return };
    let parsed: Value = serde_json::from_str(params.get()).unwrap_or(Value::Null);
    if method.starts_with(requests::LLM_INFERENCE) {
        return on_client_request(router, &peer, id, method, params, parsed, "llmInference").await;
    }
    // Only a weak reference leaves the router (see `route_inbound`).
    let handled = match (
        parsed.get("sessionId").and_then(Value::as_str),
        requests::handler_key(&method, &parsed),
    ) {
        (Some(sid), Some(key)) => router
            .sessions
            .lock()
            .get(sid)
            .filter(|s| s.handlers.contains_key(&key))
            .map(|s| (Arc::downgrade(s), key)),
        _ => None,
    };
    let Some((session, key)) = handled else {
        return requests::reply(
            &peer,
            id,
            method.clone(),
            requests::default_answer(&method, &parsed),
        );
    };
    // A handler of several methods learns which one from the kind.
    let kind = if requests::kind_is_method(&key) {
        method.clone()
    } else {
        key.clone()
    };
    dispatch_request(
        router,
        &peer,
        id,
        method,
        params,
        parsed,
        &kind,
        move || {
            // A session freed meanwhile: the request drops unanswered.
            let session = session.upgrade().filter(|s| !s.is_closed())?;
            session.handlers.get(&key).cloned()
        },
    )
    .await;
}

/// Queues one request for its handler on the callback thread; `handler`,
/// called there, finds it (None: it drops unanswered, so the SDK default is
/// sent). The reply goes out when the host settles the request.
#[allow(clippy::too_many_arguments)]
async fn dispatch_request(
    router: &Arc<Router>,
    peer: &Arc<RpcPeer>,
    id: Box<RawValue>,
    method: String,
    params: Box<RawValue>,
    parsed: Value,
    kind: &str,
    handler: impl FnOnce() -> Option<RequestHandler> + Send + 'static,
) {
    let settle_peer = peer.clone();
    let settle: requests::Settle = Box::new(move |answer| {
        let r = requests::wire_answer(&method, &parsed, answer);
        requests::reply(&settle_peer, id, method, r);
    });
    let request = HostRequest::new(kind, params.get(), settle);
    let bytes = params.get().len();
    router
        .dispatcher
        .dispatch(
            Box::new(move || {
                if let Some(handler) = handler() {
                    handler(request);
                }
            }),
            bytes,
        )
        .await;
}

/// Routes a client-wide request (`key`'s handler, e.g. `llmInference`) to the
/// callback thread, or answers the default when the client has no such handler.
async fn on_client_request(
    router: &Arc<Router>,
    peer: &Arc<RpcPeer>,
    id: Box<RawValue>,
    method: String,
    params: Box<RawValue>,
    parsed: Value,
    key: &'static str,
) {
    if !router.client_handlers.lock().contains_key(key) {
        let answer = requests::default_answer(&method, &parsed);
        return requests::reply(peer, id, method, answer);
    }
    let weak = Arc::downgrade(router);
    let kind = method.clone();
    dispatch_request(router, peer, id, method, params, parsed, &kind, move || {
        // The client freed meanwhile: the request drops unanswered.
        weak.upgrade()?.client_handlers.lock().get(key).cloned()
    })
    .await;
}
