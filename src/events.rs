//! Session events as they arrive: the raw JSON of the event envelope
//! `{id, parentId, timestamp, type, data, ephemeral?, agentId?}`, kept as the
//! CLI wrote it and NUL-terminated so C callbacks borrow it without a copy.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::json_scan;
use crate::rpc::event_frame::event_span_by_layout;

/// Event type names generated from the CLI's schema.
pub use crate::event_types as types;

/// One `session.event`, shared by every subscriber that sees it. Events
/// delivered to handlers borrow the buffer their frame was read into;
/// `to_owned` makes one that outlives the callback.
pub struct SessionEvent<'a> {
    session_id: Cow<'a, str>,
    event_type: EventType,
    /// Holds the event object's JSON at `start..end`, followed by a NUL.
    buf: Cow<'a, [u8]>,
    start: usize,
    end: usize,
}

/// The event's type as a C string: the schema's types are interned once per
/// process, so a known type costs no allocation per event.
#[derive(Clone)]
enum EventType {
    Known(&'static CStr),
    Other(CString),
}

impl EventType {
    fn new(name: &str) -> EventType {
        struct Known {
            names: Vec<&'static CStr>,
            index: HashMap<&'static str, usize>,
        }
        static KNOWN: LazyLock<Known> = LazyLock::new(|| Known {
            names: types::ALL
                .iter()
                .map(|t| &*Box::leak(CString::new(*t).unwrap().into_boxed_c_str()))
                .collect(),
            index: types::ALL
                .iter()
                .enumerate()
                .map(|(i, t)| (*t, i))
                .collect(),
        });
        // Events come in runs of one type (a stream of deltas): the last type
        // found is compared first, which is cheaper than hashing the name.
        static LAST: AtomicUsize = AtomicUsize::new(0);
        let known = &*KNOWN;
        let last = known.names[LAST.load(Ordering::Relaxed)];
        if last.to_bytes() == name.as_bytes() {
            return EventType::Known(last);
        }
        match known.index.get(name) {
            Some(&i) => {
                LAST.store(i, Ordering::Relaxed);
                EventType::Known(known.names[i])
            }
            // A type newer than the schema, or one with a NUL (escaped in JSON).
            None => EventType::Other(CString::new(name.replace('\0', "\\u0000")).unwrap()),
        }
    }

    fn as_c_str(&self) -> &CStr {
        match self {
            EventType::Known(c) => c,
            EventType::Other(c) => c,
        }
    }
}

impl std::fmt::Debug for SessionEvent<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionEvent")
            .field("session_id", &self.session_id)
            .field("type", &self.event_type())
            .field("json", &self.json())
            .finish()
    }
}

impl SessionEvent<'static> {
    /// An event from its parts (copied); `json` must be the event object's valid JSON.
    pub fn new(session_id: &str, event_type: &str, json: &str) -> Self {
        let mut buf = Vec::with_capacity(json.len() + 1);
        buf.extend_from_slice(json.as_bytes());
        buf.push(0);
        SessionEvent {
            session_id: Cow::Owned(session_id.to_owned()),
            event_type: EventType::new(event_type),
            buf: Cow::Owned(buf),
            start: 0,
            end: json.len(),
        }
    }
}

impl<'a> SessionEvent<'a> {
    /// Reads the event out of a whole `session.event` frame (one
    /// `event_frame_session` accepted, with the session id at `id`), in
    /// place: the event is validated, and the byte after it (the `}` closing
    /// `params`) becomes its NUL. `None` if the frame is not valid JSON or
    /// its event has no `type`.
    pub fn parse(session_id: &'a str, frame: &'a mut [u8], id: Range<usize>) -> Option<Self> {
        // The usual layout: only the event object needs validating.
        let by_layout = event_span_by_layout(frame, id.end).and_then(|(start, end)| {
            let event = &frame[start..end];
            json_scan::validate(event, b"type").map(|field| (start, end, type_of(event, field)))
        });
        let (start, end, event_type) = match by_layout {
            Some((start, end, event_type)) => (start, end, event_type?),
            None => {
                #[derive(Deserialize)]
                struct Frame<'a> {
                    #[serde(borrow)]
                    params: Params<'a>,
                }
                #[derive(Deserialize)]
                struct Params<'a> {
                    #[serde(borrow)]
                    event: &'a RawValue,
                }
                let parsed: Frame = serde_json::from_slice(frame).ok()?;
                let event = parsed.params.event.get().as_bytes();
                let start = event.as_ptr() as usize - frame.as_ptr() as usize;
                let field = json_scan::validate(event, b"type")?;
                (start, start + event.len(), type_of(event, field)?)
            }
        };
        // `params` closes after the event, so `end` is inside the frame.
        *frame.get_mut(end)? = 0;
        Some(SessionEvent {
            session_id: Cow::Borrowed(session_id),
            event_type,
            buf: Cow::Borrowed(frame),
            start,
            end,
        })
    }

    /// A copy that owns its text, for keeping past the callback.
    pub fn to_owned(&self) -> SessionEvent<'static> {
        SessionEvent {
            session_id: Cow::Owned(self.session_id.clone().into_owned()),
            event_type: self.event_type.clone(),
            buf: Cow::Owned(self.buf[self.start..=self.end].to_vec()),
            start: 0,
            end: self.end - self.start,
        }
    }

    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    pub fn event_type(&self) -> &str {
        // Built from &str, so UTF-8.
        self.event_type.as_c_str().to_str().unwrap_or("")
    }

    /// The event envelope as JSON text.
    pub fn json(&self) -> &str {
        // SAFETY: every constructor stores validated UTF-8 JSON at start..end.
        unsafe { std::str::from_utf8_unchecked(&self.buf[self.start..self.end]) }
    }

    pub fn event_type_c(&self) -> *const c_char {
        self.event_type.as_c_str().as_ptr()
    }

    pub fn json_c(&self) -> *const c_char {
        self.buf[self.start..].as_ptr().cast()
    }

    /// The event's `data` object, parsed on demand.
    pub fn data<T: for<'de> Deserialize<'de>>(&self) -> Option<T> {
        #[derive(Deserialize)]
        struct Envelope<T> {
            data: T,
        }
        serde_json::from_str::<Envelope<T>>(self.json())
            .ok()
            .map(|e| e.data)
    }
}

/// A subscriber to a session's events. Runs on the client's callback thread.
pub type EventHandler = std::sync::Arc<dyn Fn(&SessionEvent) + Send + Sync>;

/// A subscriber that takes events a batch at a time: the events of one read
/// of the CLI's output (never empty, in wire order, all of one session).
/// Runs on the client's callback thread.
pub type EventBatchHandler = std::sync::Arc<dyn Fn(&[SessionEvent]) + Send + Sync>;

/// The `type` of an event object (valid JSON), from the field range
/// `json_scan::validate` found, or by parsing when it found none (escapes).
fn type_of(json: &[u8], field: Option<Range<usize>>) -> Option<EventType> {
    if let Some(field) = field {
        // Inside valid UTF-8 and between quotes: UTF-8 itself.
        return Some(EventType::new(std::str::from_utf8(&json[field]).ok()?));
    }
    #[derive(Deserialize)]
    struct Head {
        #[serde(rename = "type")]
        ty: String,
    }
    Some(EventType::new(
        &serde_json::from_slice::<Head>(json).ok()?.ty,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::event_frame::{event_frame, event_frame_session};

    fn event(json: &str) -> Option<SessionEvent<'static>> {
        let (mut frame, id) = event_frame("s", json)?;
        SessionEvent::parse("s", &mut frame, id).map(|e| e.to_owned())
    }

    #[test]
    fn event_type_is_read_wherever_it_is() {
        for json in [
            r#"{"type":"assistant.message_delta","data":{"deltaContent":"x"}}"#,
            r#"{"id":"e1","timestamp":"t","parentId":null,"ephemeral":true,"n":-1.5e3,"data":{"a":[1,{"type":"inner"}],"s":"q\"}"},"type":"session.idle"}"#,
            r#"{ "type" : "tool.execution_start" }"#,
        ] {
            let ev = event(json).unwrap();
            let expected: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(ev.event_type(), expected["type"], "{json}");
            assert_eq!(ev.json(), json);
        }
    }

    #[test]
    fn events_are_kept_inside_their_frame() {
        let frame = br#"{"jsonrpc":"2.0","method":"session.event","params":{"sessionId":"s","event":{"type":"session.idle","data":{}}}}"#;
        let id = event_frame_session(frame).unwrap();
        assert_eq!(&frame[id.clone()], b"s");
        let mut buf = frame.to_vec();
        let ev = SessionEvent::parse("s", &mut buf, id.clone()).unwrap();
        assert_eq!(ev.event_type(), "session.idle");
        assert_eq!(ev.json(), r#"{"type":"session.idle","data":{}}"#);
        // SAFETY: json_c points into `ev`'s buffer, alive here; the test
        // checks the NUL after the JSON that C relies on.
        let c = unsafe { CStr::from_ptr(ev.json_c()) };
        assert_eq!(c.to_str().unwrap(), ev.json(), "NUL-terminated for C");
        // SAFETY: event_type_c is `ev`'s own CString, alive here.
        let c = unsafe { CStr::from_ptr(ev.event_type_c()) };
        assert_eq!(c.to_str().unwrap(), "session.idle");
        let truncated = &frame[..frame.len() - 1];
        assert!(SessionEvent::parse("s", &mut truncated.to_vec(), id.clone()).is_none());
        // Same prefix, but more after the event: the layout path must not take it.
        let extra = br#"{"jsonrpc":"2.0","method":"session.event","params":{"sessionId":"s","event":{"type":"a"},"x":{"type":"b"}}}"#;
        let mut buf = extra.to_vec();
        let ev = SessionEvent::parse("s", &mut buf, id).unwrap();
        assert_eq!(ev.json(), r#"{"type":"a"}"#);
        assert_eq!(
            event(r#"{"type":"brand.new_type"}"#).unwrap().event_type(),
            "brand.new_type"
        );
        assert!(event_frame("needs\"escaping", "{}").is_none());
    }

    #[test]
    fn unusual_types_fall_back_to_a_full_parse() {
        assert_eq!(event(r#"{"type":"a\u002eb"}"#).unwrap().event_type(), "a.b");
        assert!(event(r#"{"data":{}}"#).is_none());
        assert!(event(r#"{"type":5}"#).is_none());
    }
}
