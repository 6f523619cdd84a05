//! Sessions: the operations on one conversation (send, send_and_wait,
//! abort, get_messages, destroy, call), on top of the client's router.

mod config;
pub(crate) mod shared;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::mpsc;

pub use config::{SessionConfig, WaitOptions};
use shared::SessionShared;

use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::events::{types, EventHandler, SessionEvent};
use crate::router::Router;

/// A conversation with the agent. Cheap to clone; all clones are one session.
#[derive(Clone)]
pub struct Session {
    pub(crate) shared: Arc<SessionShared>,
    /// The client's routing state; weak, so a session never keeps its
    /// client's callback thread and handlers alive.
    pub(crate) router: Weak<Router>,
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

    pub(crate) fn router(&self) -> Result<Arc<Router>> {
        if self.shared.is_closed() {
            return Err(Error::invalid_state(format!(
                "session {} was destroyed",
                self.id()
            )));
        }
        self.router
            .upgrade()
            .ok_or_else(|| Error::invalid_state("the client of this session was freed"))
    }

    /// The connection for a call. The client itself is not kept across the
    /// call: its free must still kill the CLI and fail the call at once.
    fn connection(&self) -> Result<Arc<Connection>> {
        self.router()?.connection()
    }

    /// Calls any session-scoped method; `sessionId` is added to `params`.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value> {
        self.call_within(method, params, None).await
    }

    /// `call`, failing with `Timeout` after `timeout` (`None`: the client's
    /// `requestTimeoutMs`): for
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
        let result = conn.request_within(method, &params, timeout).await;
        result.map_err(|e| self.destroyed_during(method, e))
    }

    /// A call racing its session's destroy gets whatever error the CLI's
    /// teardown produces ("Unknown session ..."), before or after the
    /// destroy's own reply: what happened is the destroy, so that is the
    /// error (InvalidState), with the CLI's words.
    fn destroyed_during(&self, method: &str, e: Error) -> Error {
        let destroyed = self.shared.is_closed() || self.shared.destroying.load(Ordering::SeqCst);
        if e.kind == ErrorKind::Rpc && destroyed {
            return Error::invalid_state(format!(
                "session {} was destroyed during {method}: {e}",
                self.id()
            ));
        }
        e
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
        let router = self.router()?;
        if router.dispatcher.is_current_thread() {
            return Err(Error::new(
                ErrorKind::WrongThread,
                "send_and_wait cannot wait on the callback thread that delivers the events it waits for; use send",
            ));
        }
        let conn = router.connection()?;
        drop(router);
        let (tx, mut rx) = mpsc::unbounded_channel::<TurnSignal>();
        // Any event is activity for the stall guard: recorded with one atomic
        // store, so a flood of deltas costs no task wake-ups.
        let base = std::time::Instant::now();
        let activity = Arc::new(AtomicU64::new(0));
        let seen = activity.clone();
        // Without stall guards no one reads it, and a clock read per event
        // is a measurable part of a flood's cost.
        let guarded = opts.first_event.is_some() || opts.max_silence.is_some();
        // A batch subscriber, so it sees each event after the subscribers
        // before it of both kinds: the host's handlers have seen the turn's
        // last event when the wait returns.
        let waiter = self
            .shared
            .subscribe_batch(Arc::new(move |events: &[SessionEvent]| {
                if guarded {
                    seen.store(base.elapsed().as_nanos() as u64 + 1, Ordering::Relaxed);
                }
                for event in events {
                    let ty = event.event_type();
                    if ![
                        types::USER_MESSAGE,
                        types::ASSISTANT_MESSAGE,
                        types::SESSION_IDLE,
                        types::SESSION_ERROR,
                    ]
                    .contains(&ty)
                    {
                        continue;
                    }
                    let data = event.data::<Value>().unwrap_or(Value::Null);
                    let field = |k: &str| data.get(k).and_then(Value::as_str).map(str::to_owned);
                    let signal = match ty {
                        types::USER_MESSAGE => TurnSignal::User(field("messageId")),
                        types::ASSISTANT_MESSAGE => TurnSignal::Message(
                            field("originatingMessageId"),
                            Arc::new(event.to_owned()),
                        ),
                        types::SESSION_IDLE => TurnSignal::Idle,
                        _ => TurnSignal::Error(
                            field("originatingMessageId"),
                            field("message").unwrap_or_else(|| "session error".into()),
                        ),
                    };
                    let _ = tx.send(signal);
                }
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
            .map_err(|e| {
                self.destroyed_during("session.send", e)
                    .context("send_and_wait")
            })?;
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

    /// `session.model.switchTo`: makes `model_id` the session's model from
    /// its next turn on (the history stays). `options`: `None`, or an object
    /// of further `switchTo` fields (`reasoningEffort`, `reasoningSummary`,
    /// `contextTier`, `modelCapabilities`, ...) sent beside `modelId`. Returns
    /// the CLI's result: `{status, deferred, modelId, message, modelState, ...}`.
    ///
    /// The CLI accepts any id, even one it does not know, and an empty one
    /// (leaving the session without a model): an empty `model_id` is refused here.
    pub async fn set_model(&self, model_id: &str, options: Option<Value>) -> Result<Value> {
        if model_id.is_empty() {
            return Err(Error::invalid_argument("model_id is empty"));
        }
        let mut params = match options {
            None => Map::new(),
            Some(Value::Object(map)) => map,
            Some(_) => {
                return Err(Error::invalid_json(
                    "session.model.switchTo: the options must be a JSON object like {\"reasoningEffort\": \"high\"}",
                ))
            }
        };
        for key in ["modelId", "sessionId"] {
            if params.contains_key(key) {
                return Err(Error::invalid_json(format!(
                    "session.model.switchTo: the options must not set \"{key}\": it comes from the call's own arguments"
                )));
            }
        }
        params.insert("modelId".into(), Value::String(model_id.into()));
        self.call("session.model.switchTo", Value::Object(params))
            .await
    }

    /// Adds a subscriber; returns its id for `unsubscribe`.
    pub fn subscribe(&self, handler: EventHandler) -> u64 {
        self.shared.subscribe(handler)
    }

    /// Adds a subscriber that takes events a batch at a time: the events of
    /// one read of the CLI's output, in wire order; returns its id for
    /// `unsubscribe`.
    pub fn subscribe_batch(&self, handler: crate::events::EventBatchHandler) -> u64 {
        self.shared.subscribe_batch(handler)
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
        self.shared.destroying.store(true, Ordering::SeqCst);
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
        if let Some(router) = self.router.upgrade() {
            let removed = {
                let mut sessions = router.sessions.lock();
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
        let Some(router) = self.router.upgrade() else {
            return;
        };
        let (done_tx, done_rx) = tokio::sync::watch::channel(false);
        router
            .pending_destroys
            .lock()
            .insert(self.id().to_string(), done_rx);
        // The task keeps only the id, not the session's handlers: were it the
        // last reference to them, the host's data would be released on a
        // runtime worker. (The router's host handlers are emptied when the
        // client goes, on the freeing thread.)
        let conn = router.connection().ok();
        let id = self.id().to_string();
        runtime.spawn(async move {
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
