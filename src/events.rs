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
        #[derive(Deserialize)]
        struct Head<'a> {
            #[serde(borrow, rename = "type")]
            ty: std::borrow::Cow<'a, str>,
        }
        let head: Head = serde_json::from_str(raw.get()).ok()?;
        Some(Self::new(session_id, &head.ty, raw.get()))
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
