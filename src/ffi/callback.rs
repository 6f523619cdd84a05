//! C function pointers with their `user_data`, wrapped so `user_data_free`
//! runs exactly once: when the last holder of the callback drops it.

use std::ffi::{c_char, c_void};

/// Frees a `user_data` the library no longer needs. Called exactly once per
/// successful registration, on any thread, after the last callback returned.
pub type copilot_free_fn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// Receives one session event.
///
/// - `event_type`: the event's `type`, e.g. "assistant.message_delta".
/// - `event_json`: the event envelope `{id, parentId, timestamp, type, data, ephemeral?, agentId?}`
///   as UTF-8 JSON, NUL-terminated, `event_json_len` bytes without the NUL.
///
/// Both strings are borrowed for the duration of the call. Runs on the
/// client's callback thread, one event at a time, in wire order.
pub type copilot_event_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        event_type: *const c_char,
        event_json: *const c_char,
        event_json_len: usize,
    ),
>;

/// One event of a batch (see `copilot_event_batch_fn`): the fields of a
/// `copilot_event_fn` call.
///
/// - `event_type`: the event's `type`, e.g. "assistant.message_delta", NUL-terminated.
/// - `event_json`: the event envelope `{id, parentId, timestamp, type, data, ephemeral?, agentId?}`
///   as UTF-8 JSON, NUL-terminated, `event_json_len` bytes without the NUL.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct copilot_event_view {
    pub event_type: *const c_char,
    pub event_json: *const c_char,
    pub event_json_len: usize,
}

/// Receives a batch of session events: those of one read of the CLI's
/// output, for one session.
///
/// - `events`: `count` events (`count >= 1`) in wire order, the order a
///   `copilot_event_fn` would see them one by one.
///
/// The array and every string in it are borrowed for the duration of the
/// call. Runs on the client's callback thread, one batch at a time, in wire
/// order: as `copilot_event_fn`, with the same threading and reentrancy
/// rules; a batch ends before any handler its events call (a tool call, a
/// permission request) runs. Which events share a batch is up to the
/// library: under a flood of events there are several per batch, and none
/// waits for more to arrive.
pub type copilot_event_batch_fn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, events: *const copilot_event_view, count: usize),
>;

pub(crate) struct UserData {
    ptr: *mut c_void,
    free: copilot_free_fn,
}

// SAFETY: every registration's `# Safety` requires `user_data` to be usable
// on the threads its callbacks run on (several at once for a log handler or a
// config shared by clients) and by `user_data_free` on any thread; the library
// itself only passes the pointer along.
unsafe impl Send for UserData {}
// SAFETY: as for Send: `&UserData` only copies the pointer out (`ptr`), and
// the host's contract covers calls from several threads at once.
unsafe impl Sync for UserData {}

impl UserData {
    pub fn new(ptr: *mut c_void, free: copilot_free_fn) -> Self {
        UserData { ptr, free }
    }

    /// The host's pointer, for a call of its callback.
    pub fn ptr(&self) -> *mut c_void {
        crate::sync::entering_host_code("a host callback");
        self.ptr
    }
}

impl Drop for UserData {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            crate::sync::entering_host_code("a user_data_free");
            // SAFETY: the host's `user_data_free` for its own pointer, called
            // once (this drop) on any thread, as its registration allows.
            unsafe { free(self.ptr) };
        }
    }
}
