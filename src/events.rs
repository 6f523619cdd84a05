//! Session events as they arrive: the raw JSON of the event envelope
//! `{id, parentId, timestamp, type, data, ephemeral?, agentId?}`, kept as the
//! CLI wrote it and NUL-terminated so C callbacks borrow it without a copy.

use std::ffi::c_char;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;

/// Event type names generated from the CLI's schema.
pub use crate::event_types as types;

/// One `session.event`, shared by every subscriber that sees it.
#[derive(Debug)]
pub struct SessionEvent {
    session_id: Arc<str>,
    /// `type` plus a trailing NUL.
    event_type: String,
    /// The event object plus a trailing NUL.
    json: String,
}

impl SessionEvent {
    pub fn new(session_id: Arc<str>, event_type: &str, json: &str) -> Self {
        let mut t = String::with_capacity(event_type.len() + 1);
        t.push_str(event_type);
        t.push('\0');
        let mut j = String::with_capacity(json.len() + 1);
        j.push_str(json);
        j.push('\0');
        SessionEvent {
            session_id,
            event_type: t,
            json: j,
        }
    }

    /// Reads `type` from a raw event object; `None` if it has none.
    pub fn from_raw(session_id: Arc<str>, raw: &RawValue) -> Option<Self> {
        Self::from_json(session_id, raw.get().to_owned())
    }

    /// Takes an event object's JSON text (already validated) and reads its
    /// `type`; `None` if it has none. Reuses `json`'s buffer.
    pub fn from_json(session_id: Arc<str>, mut json: String) -> Option<Self> {
        let event_type = match top_level_string(&json, "type") {
            Some(t) => t.to_string(),
            None => {
                // Escapes in the value (or an unusual layout): let serde decide.
                #[derive(Deserialize)]
                struct Head {
                    #[serde(rename = "type")]
                    ty: String,
                }
                serde_json::from_str::<Head>(&json).ok()?.ty
            }
        };
        let mut t = String::with_capacity(event_type.len() + 1);
        t.push_str(&event_type);
        t.push('\0');
        json.push('\0');
        Some(SessionEvent {
            session_id,
            event_type: t,
            json,
        })
    }

    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    pub fn event_type(&self) -> &str {
        &self.event_type[..self.event_type.len() - 1]
    }

    /// The event envelope as JSON text.
    pub fn json(&self) -> &str {
        &self.json[..self.json.len() - 1]
    }

    pub fn event_type_c(&self) -> *const c_char {
        self.event_type.as_ptr().cast()
    }

    pub fn json_c(&self) -> *const c_char {
        self.json.as_ptr().cast()
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

    #[test]
    fn event_type_is_read_wherever_it_is() {
        for json in [
            r#"{"type":"assistant.message_delta","data":{"deltaContent":"x"}}"#,
            r#"{"id":"e1","timestamp":"t","parentId":null,"ephemeral":true,"n":-1.5e3,"data":{"a":[1,{"type":"inner"}],"s":"q\"}"},"type":"session.idle"}"#,
            r#" { "type" : "tool.execution_start" } "#,
        ] {
            let ev = SessionEvent::from_json(Arc::from("s"), json.to_string()).unwrap();
            let expected: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(ev.event_type(), expected["type"], "{json}");
            assert_eq!(ev.json(), json);
        }
    }

    #[test]
    fn unusual_types_fall_back_to_a_full_parse() {
        let ev = SessionEvent::from_json(Arc::from("s"), r#"{"type":"a\u002eb"}"#.into()).unwrap();
        assert_eq!(ev.event_type(), "a.b");
        assert!(SessionEvent::from_json(Arc::from("s"), r#"{"data":{}}"#.into()).is_none());
        assert!(SessionEvent::from_json(Arc::from("s"), r#"{"type":5}"#.into()).is_none());
    }
}
