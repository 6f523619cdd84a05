use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::sync::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::io::AsyncRead;
use tokio::sync::{oneshot, watch};

use super::event_frame::{event_frame, event_frame_session};
use super::frame::{encode_frame, FrameError, FrameReader, PooledBuffer};
use super::outbox::{Outbox, Refused};
use crate::error::{Error, Result};
use crate::log::{log, Level};
pub use crate::transport::BoxWriter;

/// Default budget of the outgoing queue, in bytes (`maxOutgoingBytes`).
pub const DEFAULT_MAX_OUTGOING_BYTES: usize = 64 * 1024 * 1024;

/// Inbound messages the library could not deliver, shared by a client's
/// connections so the host can learn of them (`copilot_client_stats`).
#[derive(Default)]
pub struct Drops {
    count: AtomicU64,
    last: Mutex<Option<String>>,
}

impl Drops {
    /// Counts one dropped message and keeps `why` as the latest reason.
    pub fn record(&self, why: String) {
        self.count.fetch_add(1, Ordering::Relaxed);
        *self.last.lock() = Some(why);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    pub fn last_reason(&self) -> Option<String> {
        self.last.lock().clone()
    }
}

/// Called once when the connection must end for a reason found on our side
/// (the peer stopped reading our replies): kills it with that error.
pub type FatalHook = Box<dyn Fn(Error) + Send + Sync>;

/// `session.event` frames that arrived together, in the buffer they were
/// read into. Each is in the layout `event_frame::event_frame_session` accepts.
#[derive(Debug)]
pub struct EventFrames {
    buf: PooledBuffer,
    frames: Vec<EventFrame>,
}

/// One frame of an `EventFrames`.
#[derive(Debug, Clone)]
pub struct EventFrame {
    /// The frame's range in the buffer.
    pub body: Range<usize>,
    /// The session id's range within the frame.
    pub session_id: Range<usize>,
}

impl EventFrames {
    /// A single frame in a buffer of its own.
    pub fn single(frame: Vec<u8>, session_id: Range<usize>) -> Self {
        EventFrames {
            frames: vec![EventFrame {
                body: 0..frame.len(),
                session_id,
            }],
            buf: PooledBuffer::unpooled(frame),
        }
    }

    /// Bytes of memory the frames hold (their buffer's length).
    pub fn byte_len(&self) -> usize {
        self.buf.len()
    }

    /// The frames, in wire order.
    pub fn frames(&self) -> &[EventFrame] {
        &self.frames
    }

    /// The frames and the buffer they index, which the event parser may
    /// write into (each frame's bytes belong to that frame alone).
    pub fn parts_mut(&mut self) -> (&[EventFrame], &mut [u8]) {
        (&self.frames, &mut self.buf)
    }

    /// The session id of a frame; one that is not UTF-8 reads as "", which
    /// names no session, so its event is dropped.
    pub fn session_id(&self, frame: &EventFrame) -> &str {
        let id = &self.buf[frame.body.clone()][frame.session_id.clone()];
        std::str::from_utf8(id).unwrap_or_default()
    }
}
type Reply = Result<Box<RawValue>>;

/// The notification that carries session events, decoded on a fast path.
pub const SESSION_EVENT: &str = "session.event";

/// A message the peer sent us that is not a reply to one of our requests.
#[derive(Debug)]
pub enum Inbound {
    /// Consecutive `session.event` notifications, handed on whole and not
    /// yet parsed, so that parsing happens on the callback thread rather
    /// than the reader's.
    Events(EventFrames),
    Notification {
        method: String,
        params: Box<RawValue>,
    },
    /// Must be answered with `RpcPeer::respond` using `id` as received.
    Request {
        id: Box<RawValue>,
        method: String,
        params: Box<RawValue>,
    },
}

impl Inbound {
    /// The event frames collected so far (emptying `frames`), with the
    /// buffer they were read into.
    fn events(buf: PooledBuffer, frames: &mut Vec<EventFrame>) -> Inbound {
        Inbound::Events(EventFrames {
            buf,
            frames: std::mem::take(frames),
        })
    }
}

/// Our side of one JSON-RPC connection: queues frames for its one writer,
/// matches replies to requests.
pub struct RpcPeer {
    outbox: Arc<Outbox>,
    state: Mutex<PeerState>,
    next_id: AtomicU64,
    /// True once `fail_all` ran.
    closed_tx: watch::Sender<bool>,
    drops: Arc<Drops>,
    fatal: Mutex<Option<FatalHook>>,
    /// Reads since the start (liveness: a CLI whose bytes arrive is alive).
    reads: AtomicU64,
    /// True while the reader waits for room in the host's event queue.
    waiting_on_host: AtomicBool,
}

struct PeerState {
    pending: HashMap<u64, Pending>,
    /// Set once the connection is gone; every later request fails with it.
    closed: Option<Error>,
}

#[derive(Serialize)]
struct OutRequest<'a, P: ?Sized> {
    jsonrpc: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    method: &'a str,
    params: &'a P,
}

#[derive(Serialize)]
struct OutResponse<'a, R: ?Sized> {
    jsonrpc: &'static str,
    id: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a R>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<OutError<'a>>,
}

#[derive(Serialize)]
struct OutError<'a> {
    code: i64,
    message: &'a str,
}

/// One inbound frame, decoded in a single pass. When `method` precedes
/// `params` (as every JSON-RPC writer orders them) a `session.event`'s params
/// are decoded in the same pass; otherwise they are re-read afterwards.
struct InMessage<'a> {
    id: Option<&'a RawValue>,
    method: Option<Cow<'a, str>>,
    params: InParams<'a>,
    result: Option<&'a RawValue>,
    error: Option<InError<'a>>,
}

enum InParams<'a> {
    Absent,
    Raw(&'a RawValue),
    Event(EventParams<'a>),
}

#[derive(Deserialize)]
struct EventParams<'a> {
    #[serde(borrow, rename = "sessionId")]
    session_id: Cow<'a, str>,
    #[serde(borrow)]
    event: &'a RawValue,
}

/// A string borrowed from the frame when it has no escapes.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

impl<'de> Deserialize<'de> for InMessage<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = InMessage<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON-RPC message object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut msg = InMessage {
                    id: None,
                    method: None,
                    params: InParams::Absent,
                    result: None,
                    error: None,
                };
                while let Some(Text(key)) = map.next_key::<Text>()? {
                    match &*key {
                        "id" => msg.id = map.next_value()?,
                        "method" => msg.method = map.next_value::<Option<Text>>()?.map(|t| t.0),
                        "params" if msg.method.as_deref() == Some(SESSION_EVENT) => {
                            msg.params = InParams::Event(map.next_value()?)
                        }
                        "params" => msg.params = InParams::Raw(map.next_value()?),
                        "result" => msg.result = map.next_value()?,
                        "error" => msg.error = map.next_value()?,
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(msg)
            }
        }
        d.deserialize_map(Fields)
    }
}

#[derive(Deserialize)]
struct InError<'a> {
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// Who gets the reply to one of our requests.
enum Pending {
    Waiter(oneshot::Sender<Reply>),
    /// Nobody waits (`request_detached`): an error reply is logged.
    Detached(&'static str),
}

/// Removes a pending entry when the waiting future is dropped (timeout, cancel).
struct PendingGuard<'a> {
    peer: &'a RpcPeer,
    id: u64,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.peer.state.lock().pending.remove(&self.id);
    }
}

impl RpcPeer {
    /// A peer writing to `writer` with the default outgoing budget. Must run
    /// inside a tokio runtime (it spawns the writer task).
    pub fn new(writer: BoxWriter) -> Arc<Self> {
        Self::with_limits(writer, DEFAULT_MAX_OUTGOING_BYTES, Arc::default())
    }

    /// A peer whose outgoing queue holds at most `max_outgoing_bytes`, and
    /// that counts what it drops in `drops`.
    pub fn with_limits(
        writer: BoxWriter,
        max_outgoing_bytes: usize,
        drops: Arc<Drops>,
    ) -> Arc<Self> {
        let (outbox, write_task) = Outbox::new(writer, max_outgoing_bytes);
        tokio::spawn(write_task);
        Arc::new(RpcPeer {
            outbox,
            state: Mutex::new(PeerState {
                pending: HashMap::new(),
                closed: None,
            }),
            next_id: AtomicU64::new(1),
            closed_tx: watch::channel(false).0,
            drops,
            fatal: Mutex::new(None),
            reads: AtomicU64::new(0),
            waiting_on_host: AtomicBool::new(false),
        })
    }

    /// Sets what ends the connection when our side finds it broken.
    pub fn set_fatal_hook(&self, hook: FatalHook) {
        *self.fatal.lock() = Some(hook);
    }

    /// Sends a request and waits for its reply: the `result` as raw JSON, or the
    /// peer's error as `ErrorKind::Rpc`, or `Disconnected` if the connection ends first.
    pub async fn request<P: Serialize + ?Sized>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<Box<RawValue>> {
        self.request_within(method, params, None).await
    }

    /// `request`, failing with `Timeout` once `timeout` has passed (`None`:
    /// as long as the connection lives). The error says which part did not
    /// happen in time: writing the request (the CLI is not reading), or the
    /// reply. A request given up on is still written whole; its late reply
    /// is dropped.
    pub async fn request_within<P: Serialize + ?Sized>(
        &self,
        method: &str,
        params: &P,
        timeout: Option<Duration>,
    ) -> Result<Box<RawValue>> {
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = serde_json::to_vec(&OutRequest {
            jsonrpc: "2.0",
            id: Some(id),
            method,
            params,
        })
        .map_err(|e| Error::invalid_json(format!("cannot serialise {method} params: {e}")))?;
        let (tx, rx) = oneshot::channel();
        {
            let mut st = self.state.lock();
            if let Some(err) = &st.closed {
                return Err(err.clone());
            }
            st.pending.insert(id, Pending::Waiter(tx));
        }
        let _guard = PendingGuard { peer: self, id };
        if method == "connect" {
            // Its params carry the connection token.
            log!(Level::Trace, "rpc", "-> connect (params redacted)");
        } else {
            log!(Level::Trace, "rpc", "-> {}", String::from_utf8_lossy(&body));
        }
        let timed_out = |what: &str| {
            Error::timeout(format!(
                "{method}: {what} within {} ms",
                timeout.unwrap_or_default().as_millis()
            ))
        };
        let (written_tx, written_rx) = oneshot::channel();
        let queued = self
            .outbox
            .push_waiting(encode_frame(&body), Some(written_tx));
        match within(deadline, queued).await {
            None => {
                return Err(timed_out(
                    "request not written (the Copilot CLI is not reading its input)",
                ))
            }
            Some(Err(refused)) => return Err(self.write_error(refused).await),
            Some(Ok(())) => {}
        }
        let written = AtomicBool::new(false);
        let reply = async {
            if written_rx.await.is_err() {
                return Err(self.write_error(Refused::Closed(String::new())).await);
            }
            written.store(true, Ordering::Relaxed);
            match rx.await {
                Ok(reply) => reply,
                Err(_) => Err(self.closed_error()),
            }
        };
        match within(deadline, reply).await {
            Some(r) => r,
            None if written.load(Ordering::Relaxed) => Err(timed_out("no reply")),
            None => Err(timed_out(
                "request not written (the Copilot CLI is not reading its input)",
            )),
        }
    }

    /// Why a frame did not go out: the connection's account of its end
    /// (exit status, stderr) when the reader has it or gets it shortly.
    async fn write_error(&self, refused: Refused) -> Error {
        let fallback = match refused {
            Refused::Closed(why) if !why.is_empty() => why,
            Refused::Closed(_) => self
                .outbox
                .closed_reason()
                .unwrap_or_else(|| "connection to Copilot CLI closed".into()),
            Refused::Full { .. } => "the outgoing queue is full".into(),
        };
        let mut closed = self.closed_tx.subscribe();
        let _ = tokio::time::timeout(Duration::from_secs(2), closed.wait_for(|c| *c)).await;
        self.closed_error_or(Error::disconnected(fallback))
    }

    /// Sends a request whose reply nobody awaits (the answer to a tool call or
    /// permission request); an error reply is logged. Never blocks: the frame
    /// is written at once when the connection is idle, else queued.
    pub fn request_detached<P: Serialize + ?Sized>(&self, method: &'static str, params: &P) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = match serde_json::to_vec(&OutRequest {
            jsonrpc: "2.0",
            id: Some(id),
            method,
            params,
        }) {
            Ok(b) => b,
            Err(e) => {
                log!(Level::Warn, "rpc", "cannot serialise {method} params: {e}");
                return;
            }
        };
        {
            let mut st = self.state.lock();
            if st.closed.is_some() {
                drop(st);
                log!(Level::Debug, "rpc", "{method} not sent: connection closed");
                return;
            }
            st.pending.insert(id, Pending::Detached(method));
        }
        log!(Level::Trace, "rpc", "-> {}", String::from_utf8_lossy(&body));
        self.push_now(method, encode_frame(&body));
    }

    /// Queues a frame that cannot wait for room; over the budget the peer
    /// has stopped reading what we send while it keeps asking, and the
    /// connection ends rather than the host's memory growing.
    fn push_now(&self, what: &str, frame: Vec<u8>) {
        match self.outbox.push_now(frame) {
            Ok(()) => {}
            Err(Refused::Closed(why)) => log!(Level::Debug, "rpc", "{what} not sent: {why}"),
            Err(Refused::Full {
                queued_frames,
                queued_bytes,
                budget,
            }) => {
                let err = Error::disconnected(format!(
                    "the Copilot CLI stopped reading its input while sending requests: \
                     {queued_frames} messages ({queued_bytes} bytes) wait to be written \
                     (limits: maxOutgoingBytes {budget}, {} messages); connection closed",
                    super::outbox::MAX_QUEUED_FRAMES
                ));
                log!(Level::Warn, "rpc", "{}", err.message);
                self.fail_all(err.clone());
                let hook = self.fatal.lock().take();
                if let Some(hook) = hook {
                    hook(err);
                }
            }
        }
    }

    /// Answers a request the peer sent us. Never blocks (see `push_now`).
    pub fn respond<R: Serialize + ?Sized>(
        &self,
        id: &RawValue,
        result: std::result::Result<&R, (i64, &str)>,
    ) {
        let msg = match result {
            Ok(r) => OutResponse {
                jsonrpc: "2.0",
                id,
                result: Some(r),
                error: None,
            },
            Err((code, message)) => OutResponse {
                jsonrpc: "2.0",
                id,
                result: None,
                error: Some(OutError { code, message }),
            },
        };
        match serde_json::to_vec(&msg) {
            Ok(body) => self.push_now("reply", encode_frame(&body)),
            Err(e) => log!(Level::Warn, "rpc", "cannot serialise response: {e}"),
        }
    }

    /// Closes our writing side once what is queued is written (for a child:
    /// its stdin ends), telling the peer we are done. Never waits.
    pub fn close_writer(&self) {
        self.outbox.shutdown();
    }

    /// Drops our writing half now, with what is queued, so a socket closes
    /// as soon as the reader is gone too: the server sees this client leave
    /// at once. Never waits. Call after `fail_all`.
    pub fn drop_writer(&self) {
        self.outbox.close("connection to Copilot CLI closed");
    }

    /// Counts an inbound message that could not be delivered.
    pub fn record_drop(&self, why: String) {
        log!(Level::Warn, "rpc", "{why}");
        self.drops.record(why);
    }

    /// How many reads have brought bytes so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// True while the reader is held back by the host's full event queue.
    pub fn waiting_on_host(&self) -> bool {
        self.waiting_on_host.load(Ordering::Relaxed)
    }

    /// Marks the connection closed and fails every pending request with `reason`.
    /// Idempotent: the first reason wins.
    pub fn fail_all(&self, reason: Error) {
        let pending: Vec<_> = {
            let mut st = self.state.lock();
            if st.closed.is_none() {
                st.closed = Some(reason.clone());
            }
            st.pending.drain().map(|(_, tx)| tx).collect()
        };
        self.closed_tx.send_replace(true);
        let reason = self.closed_error_or(reason);
        for p in pending {
            if let Pending::Waiter(tx) = p {
                let _ = tx.send(Err(reason.clone()));
            }
        }
    }

    pub fn is_closed(&self) -> bool {
        self.state.lock().closed.is_some()
    }

    fn closed_error_or(&self, fallback: Error) -> Error {
        self.state.lock().closed.clone().unwrap_or(fallback)
    }

    pub fn closed_error(&self) -> Error {
        self.closed_error_or(Error::disconnected("connection to Copilot CLI closed"))
    }

    /// Routes one received frame: replies complete their request; everything
    /// else becomes `Inbound`. Malformed frames are logged and answered per
    /// JSON-RPC where an id is known; they never close the connection.
    fn route(&self, body: &[u8]) -> Option<Inbound> {
        let msg: InMessage = match serde_json::from_slice(body) {
            Ok(m) => m,
            Err(e) => {
                self.record_drop(format!("dropped a frame that is not JSON-RPC: {e}"));
                return None;
            }
        };
        match (msg.method, msg.id) {
            (Some(method), Some(id)) => Some(Inbound::Request {
                id: id.to_owned(),
                method: method.into_owned(),
                params: params_or_empty(msg.params),
            }),
            (Some(method), None) if method == SESSION_EVENT => {
                let event = match msg.params {
                    InParams::Event(p) => Ok(p),
                    // `params` came before `method`: decode it now.
                    InParams::Raw(raw) => serde_json::from_str::<EventParams>(raw.get()),
                    InParams::Absent => serde_json::from_str::<EventParams>("{}"),
                };
                match event {
                    // Rewritten in the usual layout: one path from here on.
                    Ok(p) => match event_frame(&p.session_id, p.event.get()) {
                        Some((frame, session_id)) => {
                            Some(Inbound::Events(EventFrames::single(frame, session_id)))
                        }
                        None => {
                            self.record_drop(format!(
                                "dropped a session.event whose session id {:?} cannot be routed",
                                p.session_id
                            ));
                            None
                        }
                    },
                    Err(e) => {
                        self.record_drop(format!("dropped a malformed session.event: {e}"));
                        None
                    }
                }
            }
            (Some(method), None) => Some(Inbound::Notification {
                method: method.into_owned(),
                params: params_or_empty(msg.params),
            }),
            (None, Some(id)) => {
                let Ok(num) = serde_json::from_str::<u64>(id.get()) else {
                    log!(
                        Level::Debug,
                        "rpc",
                        "reply with foreign id {} ignored",
                        id.get()
                    );
                    return None;
                };
                let pending = self.state.lock().pending.remove(&num);
                let Some(pending) = pending else {
                    log!(Level::Debug, "rpc", "reply to unknown id {num} ignored");
                    return None;
                };
                let reply = match msg.error {
                    Some(e) => Err(Error::rpc(
                        e.code,
                        e.message,
                        e.data.map(|d| d.get().to_owned()),
                    )),
                    None => Ok(msg
                        .result
                        .map(|r| r.to_owned())
                        .unwrap_or_else(|| RawValue::from_string("null".into()).unwrap())),
                };
                match pending {
                    Pending::Waiter(tx) => {
                        let _ = tx.send(reply);
                    }
                    Pending::Detached(method) => {
                        if let Err(e) = reply {
                            log!(Level::Warn, "rpc", "{method} failed: {e}");
                        }
                    }
                }
                None
            }
            (None, None) => {
                self.record_drop("dropped a JSON object that is neither request nor reply".into());
                None
            }
        }
    }
}

impl Drop for RpcPeer {
    /// The writer task ends with its peer (it would otherwise wait for work
    /// forever).
    fn drop(&mut self) {
        self.outbox.close("connection to Copilot CLI closed");
    }
}

fn params_or_empty(params: InParams<'_>) -> Box<RawValue> {
    match params {
        InParams::Raw(p) => p.to_owned(),
        InParams::Event(p) => {
            // Only a request named session.event gets here; hand it on whole.
            let text = serde_json::json!({"sessionId": p.session_id, "event": p.event}).to_string();
            RawValue::from_string(text).unwrap()
        }
        InParams::Absent => RawValue::from_string("{}".into()).unwrap(),
    }
}

/// Awaits `fut` until `deadline` (`None`: no deadline); `None` on timeout.
async fn within<F: Future>(deadline: Option<tokio::time::Instant>, fut: F) -> Option<F::Output> {
    match deadline {
        Some(d) => tokio::time::timeout_at(d, fut).await.ok(),
        None => Some(fut.await),
    }
}

/// Reads frames until the stream ends, handing each inbound message to
/// `on_inbound` in wire order. `session.event` frames of one read go on
/// together in one `Inbound::Events`. Returns why it stopped; the caller
/// decides how to describe that to users (it knows about the child process).
pub async fn read_loop<R, F, Fut>(
    reader: R,
    peer: Arc<RpcPeer>,
    max_body: usize,
    mut on_inbound: F,
) -> FrameError
where
    R: AsyncRead + Unpin,
    F: FnMut(Inbound) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut reader = FrameReader::new(reader, max_body);
    let mut events: Vec<EventFrame> = Vec::new();
    // Handing on may wait for the host; meanwhile liveness checks know the
    // silence is ours, not the CLI's.
    let waiting = &peer.waiting_on_host;
    let mut hand_on = move |inbound: Inbound| {
        waiting.store(true, Ordering::Relaxed);
        let fut = on_inbound(inbound);
        async move {
            fut.await;
            waiting.store(false, Ordering::Relaxed);
        }
    };
    loop {
        if let Err(e) = reader.fill().await {
            return e;
        }
        peer.reads.fetch_add(1, Ordering::Relaxed);
        loop {
            let body = match reader.next_buffered() {
                Ok(Some(body)) => body,
                Ok(None) => break,
                Err(e) => {
                    // What came before the bad frame is still delivered.
                    if !events.is_empty() {
                        let buf = reader.take_parsed();
                        hand_on(Inbound::events(buf, &mut events)).await;
                    }
                    return e;
                }
            };
            let bytes = &reader.buffer()[body.clone()];
            log!(Level::Trace, "rpc", "<- {}", String::from_utf8_lossy(bytes));
            if let Some(session_id) = event_frame_session(bytes) {
                events.push(EventFrame { body, session_id });
                continue;
            }
            // Anything else is handled after the events before it.
            let mut body = body;
            if !events.is_empty() {
                let buf = reader.take_parsed_before(body.start);
                body = 0..body.len();
                hand_on(Inbound::events(buf, &mut events)).await;
            }
            if let Some(inbound) = peer.route(&reader.buffer()[body]) {
                hand_on(inbound).await;
            }
        }
        if !events.is_empty() {
            let buf = reader.take_parsed();
            hand_on(Inbound::events(buf, &mut events)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::frame::Trickle;

    /// Whatever the read sizes, messages reach the handler in wire order: a
    /// request never overtakes the events before it, events in an unusual
    /// layout keep their place, and the events before a broken frame are
    /// still delivered.
    #[tokio::test]
    async fn messages_keep_wire_order_across_any_read_sizes() {
        let event = |n: usize| {
            format!(
                r#"{{"jsonrpc":"2.0","method":"session.event","params":{{"sessionId":"s1","event":{{"type":"e","n":{n}}}}}}}"#
            )
        };
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        for i in 0..40 {
            let body = match i % 7 {
                3 => {
                    expected.push(format!("request {i}"));
                    format!(r#"{{"jsonrpc":"2.0","id":{i},"method":"hooks.invoke","params":{{}}}}"#)
                }
                5 => {
                    expected.push(format!("event {i}"));
                    format!(
                        r#"{{"params":{{"event":{{"n":{i},"type":"e"}},"sessionId":"s1"}},"method":"session.event","jsonrpc":"2.0"}}"#
                    )
                }
                6 => {
                    expected.push("notification".into());
                    r#"{"jsonrpc":"2.0","method":"session.lifecycle","params":{}}"#.into()
                }
                _ => {
                    expected.push(format!("event {i}"));
                    event(i)
                }
            };
            wire.extend_from_slice(&super::encode_frame(body.as_bytes()));
        }
        wire.extend_from_slice(b"Content-Length: x\r\n\r\n");
        for step in [1, 7, 100, 1 << 20] {
            let peer = RpcPeer::new(Box::new(tokio::io::sink()));
            let mut seen = Vec::new();
            let why = read_loop(Trickle(&wire, step), peer, 1 << 20, |inbound| {
                match inbound {
                    Inbound::Events(mut events) => {
                        let (frames, buf) = events.parts_mut();
                        for f in frames {
                            let ev = crate::events::SessionEvent::parse(
                                "s1",
                                &mut buf[f.body.clone()],
                                f.session_id.clone(),
                            )
                            .expect("valid event");
                            let n: serde_json::Value = serde_json::from_str(ev.json()).unwrap();
                            seen.push(format!("event {}", n["n"]));
                        }
                    }
                    Inbound::Request { id, .. } => seen.push(format!("request {}", id.get())),
                    Inbound::Notification { .. } => seen.push("notification".into()),
                }
                async {}
            })
            .await;
            assert_eq!(seen, expected, "read size {step}");
            assert!(
                matches!(why, FrameError::Protocol(_)),
                "read size {step}: {why}"
            );
        }
    }

    /// A session id that is not UTF-8 names no session: its event is dropped
    /// where sessions are looked up, not mistaken for another one.
    #[tokio::test]
    async fn an_id_that_is_not_utf8_names_no_session() {
        let body = b"{\"jsonrpc\":\"2.0\",\"method\":\"session.event\",\"params\":{\"sessionId\":\"s\xff\",\"event\":{\"type\":\"e\"}}}";
        let wire = super::encode_frame(body);
        let peer = RpcPeer::new(Box::new(tokio::io::sink()));
        let mut ids = Vec::new();
        read_loop(&wire[..], peer, 1 << 20, |inbound| {
            if let Inbound::Events(events) = inbound {
                ids.extend(
                    events
                        .frames()
                        .iter()
                        .map(|f| events.session_id(f).to_string()),
                );
            }
            async {}
        })
        .await;
        assert_eq!(ids, vec![String::new()]);
    }

    /// Every layout of a `session.event` arrives as the same kind of frame.
    #[tokio::test]
    async fn session_events_in_any_key_order_become_one_kind_of_frame() {
        let peer = RpcPeer::new(Box::new(tokio::io::sink()));
        for body in [
            r#"{"params":{"event":{"type":"session.idle"},"sessionId":"s1"},"method":"session.event","jsonrpc":"2.0"}"#,
            r#"{ "jsonrpc": "2.0", "method": "session.event", "params": { "sessionId": "s1", "event": {"type":"session.idle"} } }"#,
        ] {
            let Some(Inbound::Events(mut events)) = peer.route(body.as_bytes()) else {
                panic!("not an event: {body}");
            };
            let frame = events.frames()[0].clone();
            assert_eq!(events.session_id(&frame), "s1");
            let (_, buf) = events.parts_mut();
            let ev =
                crate::events::SessionEvent::parse("s1", &mut buf[frame.body], frame.session_id)
                    .unwrap();
            assert_eq!(ev.json(), r#"{"type":"session.idle"}"#);
        }
    }
}
