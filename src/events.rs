//! Session events as they arrive: the raw JSON of the event envelope
//! `{id, parentId, timestamp, type, data, ephemeral?, agentId?}`, kept as the
//! CLI wrote it and NUL-terminated so C callbacks borrow it without a copy.

use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};
use std::sync::{Arc, LazyLock};

use serde::Deserialize;
use serde_json::value::RawValue;

/// Event type names generated from the CLI's schema.
pub use crate::event_types as types;

/// One `session.event`, shared by every subscriber that sees it.
pub struct SessionEvent {
    session_id: Arc<str>,
    event_type: EventType,
    /// Holds the event object's JSON at `start..end`, followed by a NUL.
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

/// The event's type as a C string: the schema's types are interned once per
/// process, so a known type costs no allocation per event.
enum EventType {
    Known(&'static CStr),
    Other(CString),
}

impl EventType {
    fn new(name: &str) -> EventType {
        static KNOWN: LazyLock<HashMap<&'static str, &'static CStr>> = LazyLock::new(|| {
            types::ALL
                .iter()
                .map(|t| {
                    let c: &'static CStr = Box::leak(CString::new(*t).unwrap().into_boxed_c_str());
                    (*t, c)
                })
                .collect()
        });
        match KNOWN.get(name) {
            Some(c) => EventType::Known(c),
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

impl std::fmt::Debug for SessionEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionEvent")
            .field("session_id", &self.session_id)
            .field("type", &self.event_type())
            .field("json", &self.json())
            .finish()
    }
}

impl SessionEvent {
    pub fn new(session_id: Arc<str>, event_type: &str, json: &str) -> Self {
        Self::from_parts(session_id, EventType::new(event_type), json.to_string())
    }

    fn from_parts(session_id: Arc<str>, event_type: EventType, json: String) -> Self {
        let mut buf = json.into_bytes();
        let end = buf.len();
        buf.push(0);
        SessionEvent {
            session_id,
            event_type,
            buf,
            start: 0,
            end,
        }
    }

    /// Takes a whole `session.event` frame (one `event_frame_session` accepted,
    /// with the session id at `id`) and keeps the event object inside it,
    /// without copying: the frame is validated, and the byte after the event
    /// (the `}` closing `params`) becomes its NUL. `None` if the frame is not
    /// valid JSON or its event has no `type`.
    pub fn from_frame(
        session_id: Arc<str>,
        mut frame: Vec<u8>,
        id: std::ops::Range<usize>,
    ) -> Option<Self> {
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
        // The usual layout: only the event object needs validating.
        let by_layout = event_span_by_layout(&frame, id.end).and_then(|(start, end)| {
            serde_json::from_slice::<&RawValue>(&frame[start..end])
                .ok()
                .map(|event| (start, end, type_of(event.get())))
        });
        let (start, end, event_type) = match by_layout {
            Some((start, end, event_type)) => (start, end, event_type?),
            None => {
                let parsed: Frame = serde_json::from_slice(&frame).ok()?;
                let event = parsed.params.event.get();
                let start = event.as_ptr() as usize - frame.as_ptr() as usize;
                (start, start + event.len(), type_of(event)?)
            }
        };
        // `params` closes after the event, so `end` is inside the frame.
        *frame.get_mut(end)? = 0;
        Some(SessionEvent {
            session_id,
            event_type,
            buf: frame,
            start,
            end,
        })
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
pub type EventHandler = Arc<dyn Fn(&SessionEvent) + Send + Sync>;

/// How the CLI (and every JSON-RPC writer that keeps its keys in the
/// conventional order) starts a `session.event` frame.
const EVENT_FRAME_PREFIX: &[u8] =
    br#"{"jsonrpc":"2.0","method":"session.event","params":{"sessionId":""#;
const EVENT_KEY: &[u8] = br#"","event":"#;

/// The range of the session id in a frame that starts like a `session.event`
/// notification, found without parsing; `None` sends the frame down the
/// general path (which also handles any other key order or escapes).
pub(crate) fn event_frame_session(frame: &[u8]) -> Option<std::ops::Range<usize>> {
    let rest = frame.strip_prefix(EVENT_FRAME_PREFIX)?;
    let len = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
    if rest[len] != b'"' || std::str::from_utf8(&rest[..len]).is_err() {
        return None;
    }
    let start = EVENT_FRAME_PREFIX.len();
    Some(start..start + len)
}

/// A frame in the layout `event_frame_session` accepts, for a `session.event`
/// decoded some other way (other key order, whitespace); `None` when the id
/// would need escaping (session ids are UUIDs, so no session has one).
pub(crate) fn event_frame(
    session_id: &str,
    event: &str,
) -> Option<(Vec<u8>, std::ops::Range<usize>)> {
    if session_id
        .bytes()
        .any(|b| b == b'"' || b == b'\\' || b < 0x20)
    {
        return None;
    }
    let mut frame =
        Vec::with_capacity(EVENT_FRAME_PREFIX.len() + session_id.len() + event.len() + 12);
    frame.extend_from_slice(EVENT_FRAME_PREFIX);
    frame.extend_from_slice(session_id.as_bytes());
    frame.extend_from_slice(EVENT_KEY);
    frame.extend_from_slice(event.as_bytes());
    frame.extend_from_slice(b"}}");
    let start = EVENT_FRAME_PREFIX.len();
    Some((frame, start..start + session_id.len()))
}

/// Where the event object sits in a frame laid out exactly as
/// `EVENT_FRAME_PREFIX` `<id>","event":<event>}}` (the id ends at `id_end`);
/// the caller still validates `<event>`, which, being one JSON value, makes
/// the whole frame valid.
fn event_span_by_layout(frame: &[u8], id_end: usize) -> Option<(usize, usize)> {
    if !frame.get(id_end..)?.starts_with(EVENT_KEY) || !frame.ends_with(b"}}") {
        return None;
    }
    let start = id_end + EVENT_KEY.len();
    let end = frame.len() - 2;
    (start < end && frame[start] == b'{').then_some((start, end))
}

/// The `type` of an event object (valid JSON).
fn type_of(json: &str) -> Option<EventType> {
    match top_level_string(json, "type") {
        Some(t) => Some(EventType::new(t)),
        None => {
            // Escapes in the value (or an unusual layout): let serde decide.
            #[derive(Deserialize)]
            struct Head {
                #[serde(rename = "type")]
                ty: String,
            }
            Some(EventType::new(&serde_json::from_str::<Head>(json).ok()?.ty))
        }
    }
}

/// The value of a top-level string field of a JSON object, found without
/// parsing the rest: events put `type` first, so a delta's scan stops within
/// its first few dozen bytes. `None` when the field is absent, not a plain
/// string (escapes included), or the text is not an object; callers then
/// fall back to a full parse. `json` must be valid JSON.
fn top_level_string<'a>(json: &'a str, field: &str) -> Option<&'a str> {
    let b = json.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = skip_ws(b, i);
        let (key, end) = string_at(b, i)?;
        i = skip_ws(b, end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        if key == field.as_bytes() {
            let (value, _) = string_at(b, i)?;
            // Valid JSON and no backslash: the bytes are the string itself.
            return (!value.contains(&b'\\')).then(|| std::str::from_utf8(value).ok())?;
        }
        i = skip_ws(b, skip_value(b, i)?);
        match b.get(i) {
            Some(b',') => i += 1,
            _ => return None,
        }
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The raw contents of the string starting at `b[i] == '"'`, and the index after it.
fn string_at(b: &[u8], i: usize) -> Option<(&[u8], usize)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some((&b[i + 1..j], j + 1)),
            _ => j += 1,
        }
    }
    None
}

/// The index after the JSON value starting at `b[i]`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => string_at(b, i).map(|(_, end)| end),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = string_at(b, j)?.1;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            // A number, true, false or null runs to the next delimiter.
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                j += 1;
            }
            Some(j)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> Option<SessionEvent> {
        let (frame, id) = event_frame("s", json)?;
        SessionEvent::from_frame(Arc::from("s"), frame, id)
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
        let ev = SessionEvent::from_frame(Arc::from("s"), frame.to_vec(), id.clone()).unwrap();
        assert_eq!(ev.event_type(), "session.idle");
        assert_eq!(ev.json(), r#"{"type":"session.idle","data":{}}"#);
        let c = unsafe { CStr::from_ptr(ev.json_c()) };
        assert_eq!(c.to_str().unwrap(), ev.json(), "NUL-terminated for C");
        let c = unsafe { CStr::from_ptr(ev.event_type_c()) };
        assert_eq!(c.to_str().unwrap(), "session.idle");
        let truncated = &frame[..frame.len() - 1];
        assert!(SessionEvent::from_frame(Arc::from("s"), truncated.to_vec(), id.clone()).is_none());
        // Same prefix, but more after the event: the layout path must not take it.
        let extra = br#"{"jsonrpc":"2.0","method":"session.event","params":{"sessionId":"s","event":{"type":"a"},"x":{"type":"b"}}}"#;
        let ev = SessionEvent::from_frame(Arc::from("s"), extra.to_vec(), id).unwrap();
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
