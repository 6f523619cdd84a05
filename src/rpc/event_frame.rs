//! The layout of a `session.event` notification as the CLI writes it, found
//! and rebuilt without parsing: the reader's fast path for event floods.

/// How the CLI (and every JSON-RPC writer that keeps its keys in the
/// conventional order) starts a `session.event` frame.
const EVENT_FRAME_PREFIX: &[u8] =
    br#"{"jsonrpc":"2.0","method":"session.event","params":{"sessionId":""#;
const EVENT_KEY: &[u8] = br#"","event":"#;

/// The range of the session id in a frame that starts like a `session.event`
/// notification, found without parsing; `None` sends the frame down the
/// general path (which also handles any other key order or escapes). The id
/// is not checked to be UTF-8 here but where it is looked up, once.
pub(crate) fn event_frame_session(frame: &[u8]) -> Option<std::ops::Range<usize>> {
    let rest = frame.strip_prefix(EVENT_FRAME_PREFIX)?;
    let len = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
    if rest[len] != b'"' {
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
pub(crate) fn event_span_by_layout(frame: &[u8], id_end: usize) -> Option<(usize, usize)> {
    if !frame.get(id_end..)?.starts_with(EVENT_KEY) || !frame.ends_with(b"}}") {
        return None;
    }
    let start = id_end + EVENT_KEY.len();
    let end = frame.len() - 2;
    (start < end && frame[start] == b'{').then_some((start, end))
}
