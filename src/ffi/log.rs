//! Routing the library's diagnostics into the host's logger.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use super::callback::{copilot_free_fn, UserData};
use super::{boundary, copilot_error, copilot_status, opt_out, to_cstring};
use crate::error::Error;
use crate::log::{self, Level};

/// Severity of a log message; a handler's `max_level` keeps this level and
/// every more severe one. `COPILOT_LOG_OFF` keeps none.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum copilot_log_level {
    COPILOT_LOG_OFF = 0,
    COPILOT_LOG_ERROR = 1,
    COPILOT_LOG_WARN = 2,
    COPILOT_LOG_INFO = 3,
    COPILOT_LOG_DEBUG = 4,
    COPILOT_LOG_TRACE = 5,
}

/// Receives one log message.
///
/// - `level`: error … trace.
/// - `target`: the part of the library that wrote it: "client", "rpc",
///   "child", "dispatch", "session", "handlers", "requests", or "cli" for a
///   line the Copilot CLI wrote to its stderr.
/// - `message`: one UTF-8 line or more, secrets already redacted.
///
/// Both strings are borrowed for the duration of the call. Called on whichever
/// library thread logs (the runtime's workers, the reader, the CLI's stderr
/// reader, or a thread inside an API call), possibly on several at once: the
/// handler must be thread-safe, return quickly, and not call libcopilot
/// (except `copilot_log_set_handler`).
pub type copilot_log_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        level: copilot_log_level,
        target: *const c_char,
        message: *const c_char,
    ),
>;

fn to_c_level(level: Level) -> copilot_log_level {
    use copilot_log_level::*;
    match level {
        Level::Error => COPILOT_LOG_ERROR,
        Level::Warn => COPILOT_LOG_WARN,
        Level::Info => COPILOT_LOG_INFO,
        Level::Debug => COPILOT_LOG_DEBUG,
        Level::Trace => COPILOT_LOG_TRACE,
    }
}

/// Routes the library's logs, and the Copilot CLI's stderr lines (target
/// "cli", level info), to `handler` for this whole process.
///
/// - `max_level`: a `copilot_log_level`, the most verbose level delivered; messages above it are not
///   even formatted.
/// - `handler`: NULL restores the default: silent, or printed to stderr at the
///   level named by the `COPILOT_LOG` environment variable (error, warn, info,
///   debug, trace).
/// - `user_data_free` (may be NULL) runs exactly once, once the handler was
///   replaced and its last running call returned, on whichever thread that was;
///   not on error.
///
/// Messages are redacted before delivery: GitHub tokens, `Bearer` credentials
/// and the `githubToken`/`connectionToken` values of every client. Errors:
/// `COPILOT_ERR_INVALID_ARGUMENT` (level out of range). Non-blocking; any thread,
/// including from inside the handler itself.
///
/// # Safety
///
/// `err_out` is NULL or points to writable storage. `handler` (NULL or a
/// `copilot_log_fn`) may run on any library thread, several at once, and
/// `user_data_free` (NULL or a `copilot_free_fn`) on any thread, both with
/// `user_data`, which must be usable there; neither may unwind (a C++
/// exception, `longjmp`) into the library.
#[no_mangle]
pub unsafe extern "C" fn copilot_log_set_handler(
    max_level: i32,
    handler: copilot_log_fn,
    user_data: *mut c_void,
    user_data_free: copilot_free_fn,
    err_out: *mut *mut copilot_error,
) -> copilot_status {
    // Taken as an integer: a C caller can pass any value, and an out-of-range
    // Rust enum would be undefined behaviour before it could be checked.
    let raw = max_level;
    // SAFETY: `err_out` is NULL or writable (# Safety).
    boundary(unsafe { opt_out(err_out) }, || {
        if !(0..=5).contains(&raw) {
            return Err(Error::invalid_argument(format!(
                "max_level {raw} is not a copilot_log_level"
            )));
        }
        let sink: Option<Arc<log::Sink>> = handler.map(|f| {
            let ud = UserData::new(user_data, user_data_free);
            Arc::new(move |level: Level, target: &str, message: &str| {
                let target = to_cstring(target.to_string());
                let message = to_cstring(message.to_string());
                // SAFETY: the host's handler with its user_data, on a thread it
                // allows (# Safety of copilot_log_set_handler); both strings
                // are NUL-terminated and outlive the call.
                unsafe {
                    f(
                        ud.ptr(),
                        to_c_level(level),
                        target.as_ptr(),
                        message.as_ptr(),
                    )
                }
            }) as Arc<log::Sink>
        });
        drop(log::set_sink(raw as u8, sink));
        Ok(())
    })
}
