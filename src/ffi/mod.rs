//! The C boundary. Every exported function goes through `boundary`, which
//! contains panics and turns `Error` into a `copilot_status` plus an optional
//! `copilot_error`. Out-params are written only on success.
//!
//! Layout: `mod.rs` (status, errors, strings, versions), `client.rs`,
//! `session.rs` (session config and sessions), `invocation.rs` (tool calls and
//! permission requests), `request.rs` (host requests and hooks), `log.rs`
//! (the host's log handler), `callback.rs` (C function pointers with user_data),
//! `answer_once.rs` (per-call handles refuse a second answer).
//!
//! # Unsafe discipline
//!
//! Every exported function but the two version queries is `unsafe`, and its
//! `# Safety` section (copied into `include/copilot.h`) says what the C host
//! guarantees. The same few rules, each spelled out there per argument:
//! - a handle is NULL or was returned by this library's constructor for its
//!   type and not passed to its `_free` before or during the call (the
//!   header's "Threads" rule: a `_free` must not race other calls);
//! - a string is NULL or NUL-terminated and unchanged during the call (the
//!   library checks NULL where it is not allowed, and UTF-8);
//! - an out-param (`err_out` included) is NULL or points to writable storage;
//! - per-call handles (tool invocations, permission and host requests) are
//!   tokens looked up in a table, never dereferenced: any value is safe, and a
//!   stale or foreign one is refused; the strings that come with them live
//!   until the call that answers or frees them;
//! - callbacks run on other threads than the one that registered them
//!   (`user_data_free` on any thread), so their `user_data` must be usable
//!   there, and no callback may unwind (a C++ exception, `longjmp`) into the
//!   library.
//!
//! Inside, each unsafe operation is its own `unsafe { }` block with a
//! `// SAFETY:` comment naming the guarantee it relies on; the pointer reads
//! and writes are in the helpers below (`arg_ref`, `arg_str`, `arg_out`,
//! `opt_out`, `free_handle`, ...), so each block is a single call.

#![allow(non_camel_case_types)]

mod answer_once;
mod callback;
mod client;
mod invocation;
mod log;
mod request;
mod session;

use std::ffi::{c_char, CStr, CString};
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use crate::error::{Error, ErrorKind, Result};

pub use callback::*;
pub use client::*;
pub use invocation::*;
pub use log::*;
pub use request::*;
pub use session::*;

/// Result of every fallible function. Zero is success; errors are negative.
/// New codes are only ever appended.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum copilot_status {
    COPILOT_OK = 0,
    /// A NULL pointer, invalid UTF-8, or a value of the wrong shape.
    COPILOT_ERR_INVALID_ARGUMENT = -1,
    /// Text that must be JSON is not, or not the documented JSON shape.
    COPILOT_ERR_INVALID_JSON = -2,
    /// No Copilot CLI executable was found.
    COPILOT_ERR_CLI_NOT_FOUND = -3,
    /// The CLI could not be started or the handshake failed.
    COPILOT_ERR_CONNECTION = -4,
    /// The connection to the CLI is gone; the error carries its stderr tail.
    COPILOT_ERR_DISCONNECTED = -5,
    /// The CLI answered with a JSON-RPC error; see `copilot_error_rpc_code`.
    COPILOT_ERR_RPC = -6,
    /// A wait ran past its limit.
    COPILOT_ERR_TIMEOUT = -7,
    /// The CLI speaks another protocol version.
    COPILOT_ERR_PROTOCOL_VERSION = -8,
    /// The session reported `session.error` during the turn.
    COPILOT_ERR_SESSION = -9,
    /// A blocking wait was called on the callback thread, where it would deadlock.
    COPILOT_ERR_WRONG_THREAD = -10,
    /// The object's state does not allow the call (not started, stopped, destroyed).
    COPILOT_ERR_INVALID_STATE = -11,
    /// A panic inside the library was contained.
    COPILOT_ERR_PANIC = -12,
    /// A bug in the library.
    COPILOT_ERR_INTERNAL = -13,
    /// A turn produced no event within its first-event limit (`firstEventTimeoutMs`).
    COPILOT_ERR_NO_FIRST_EVENT = -14,
    /// A turn went silent for longer than its silence limit (`maxSilenceMs`).
    COPILOT_ERR_STALLED = -15,
}

impl From<ErrorKind> for copilot_status {
    fn from(kind: ErrorKind) -> Self {
        use copilot_status::*;
        match kind {
            ErrorKind::InvalidArgument => COPILOT_ERR_INVALID_ARGUMENT,
            ErrorKind::InvalidJson => COPILOT_ERR_INVALID_JSON,
            ErrorKind::CliNotFound => COPILOT_ERR_CLI_NOT_FOUND,
            ErrorKind::Connection => COPILOT_ERR_CONNECTION,
            ErrorKind::Disconnected => COPILOT_ERR_DISCONNECTED,
            ErrorKind::Rpc => COPILOT_ERR_RPC,
            ErrorKind::Timeout => COPILOT_ERR_TIMEOUT,
            ErrorKind::ProtocolVersion => COPILOT_ERR_PROTOCOL_VERSION,
            ErrorKind::SessionError => COPILOT_ERR_SESSION,
            ErrorKind::WrongThread => COPILOT_ERR_WRONG_THREAD,
            ErrorKind::InvalidState => COPILOT_ERR_INVALID_STATE,
            ErrorKind::Panic => COPILOT_ERR_PANIC,
            ErrorKind::Internal => COPILOT_ERR_INTERNAL,
            ErrorKind::NoFirstEvent => COPILOT_ERR_NO_FIRST_EVENT,
            ErrorKind::Stalled => COPILOT_ERR_STALLED,
        }
    }
}

/// Details of a failed call. Owned by the caller; free with `copilot_error_free`.
pub struct copilot_error {
    status: copilot_status,
    message: CString,
    rpc_code: Option<i64>,
    rpc_data: Option<CString>,
}

impl copilot_error {
    fn from_error(e: Error) -> Self {
        copilot_error {
            status: e.kind.into(),
            message: to_cstring(e.to_string()),
            rpc_code: e.rpc_code,
            rpc_data: e.rpc_data.map(to_cstring),
        }
    }
}

/// A C string from Rust text; an interior NUL (never in JSON) is escaped.
pub(crate) fn to_cstring(s: String) -> CString {
    CString::new(s).unwrap_or_else(|e| {
        let s = String::from_utf8_lossy(&e.into_vec()).replace('\0', "\\u0000");
        CString::new(s).expect("NULs replaced")
    })
}

/// Where a fallible function writes its error: the host's `err_out`, or none.
pub(crate) type ErrOut<'a> = Option<Out<'a, *mut copilot_error>>;

/// Runs `f` with panics contained; on error writes `err_out` (if any).
pub(crate) fn boundary<F>(err_out: ErrOut<'_>, f: F) -> copilot_status
where
    F: FnOnce() -> Result<()>,
{
    let outcome = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(Error::new(
            ErrorKind::Panic,
            format!("libcopilot panicked (contained): {what}"),
        ))
    });
    match outcome {
        Ok(()) => copilot_status::COPILOT_OK,
        Err(e) => {
            let status = e.kind.into();
            if let Some(out) = err_out {
                out.put(Box::into_raw(Box::new(copilot_error::from_error(e))));
            }
            status
        }
    }
}

/// Frees a handle the host owns: NULL is a no-op, and a panic in a destructor
/// (a host `user_data_free` cannot panic, but Rust code can) is contained.
///
/// # Safety
///
/// `p` is NULL or a pointer this library made with `Box::into_raw` for a `T` (a
/// handle it returned), not yet freed, and no other call uses it during or
/// after this one.
pub(crate) unsafe fn free_handle<T>(p: *mut T) {
    if !p.is_null() {
        let _ = boundary(None, || {
            // SAFETY: per this fn's contract, `p` (not NULL) owns a live `Box<T>`
            // that nothing else uses any more.
            drop(unsafe { Box::from_raw(p) });
            Ok(())
        });
    }
}

/// A required string argument: NULL and invalid UTF-8 are `InvalidArgument`.
///
/// # Safety
///
/// `p` is NULL or points to a NUL-terminated string that stays readable and
/// unchanged for `'a`.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(Error::invalid_argument(format!("{name} is NULL")));
    }
    // SAFETY: `p` is not NULL, so by this fn's contract it is a NUL-terminated
    // string valid and unchanged for 'a.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|e| Error::invalid_argument(format!("{name} is not valid UTF-8: {e}")))
}

/// An optional string argument: NULL is `None`.
///
/// # Safety
///
/// As for [`arg_str`].
pub(crate) unsafe fn arg_opt_str<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: this fn's contract is arg_str's.
        unsafe { arg_str(p, name) }.map(Some)
    }
}

/// A required handle argument.
///
/// # Safety
///
/// `p` is NULL or points to a live `T` that is not freed for `'a`.
pub(crate) unsafe fn arg_ref<'a, T>(p: *const T, name: &str) -> Result<&'a T> {
    // SAFETY: per this fn's contract, `p` is NULL (`as_ref` yields None) or a
    // live `T` for 'a.
    unsafe { p.as_ref() }.ok_or_else(|| Error::invalid_argument(format!("{name} is NULL")))
}

/// An optional handle argument: NULL is `None`.
///
/// # Safety
///
/// As for [`arg_ref`].
pub(crate) unsafe fn opt_ref<'a, T>(p: *const T) -> Option<&'a T> {
    // SAFETY: per this fn's contract, `p` is NULL (None) or a live `T` for 'a.
    unsafe { p.as_ref() }
}

/// A checked out-param: the host's storage for one `T` (see [`opt_out`]),
/// written at most once with a plain store (what it held is not read or dropped).
pub(crate) struct Out<'a, T>(NonNull<T>, PhantomData<&'a mut T>);

impl<T> Out<'_, T> {
    pub(crate) fn put(self, value: T) {
        // SAFETY: an `Out` is made only by `opt_out`, whose caller vouched that
        // the storage stays writable for 'a and is not accessed by anything
        // else while it is written.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// An optional out-param: NULL is `None`.
///
/// # Safety
///
/// `p` is NULL or points to storage for a `T` (aligned) that stays writable for
/// `'a` and is not accessed by anything else while it is written.
pub(crate) unsafe fn opt_out<'a, T>(p: *mut T) -> Option<Out<'a, T>> {
    NonNull::new(p).map(|p| Out(p, PhantomData))
}

/// A required out-param; checked before any work so nothing is lost.
///
/// # Safety
///
/// As for [`opt_out`].
pub(crate) unsafe fn arg_out<'a, T>(p: *mut T, name: &str) -> Result<Out<'a, T>> {
    // SAFETY: this fn's contract is opt_out's.
    unsafe { opt_out(p) }.ok_or_else(|| Error::invalid_argument(format!("{name} is NULL")))
}

/// Parses optional JSON params: NULL or empty mean `null`.
///
/// # Safety
///
/// As for [`arg_str`].
pub(crate) unsafe fn arg_json(p: *const c_char, name: &str) -> Result<serde_json::Value> {
    // SAFETY: this fn's contract is arg_str's.
    match unsafe { arg_opt_str(p, name) }? {
        None => Ok(serde_json::Value::Null),
        Some(s) if s.trim().is_empty() => Ok(serde_json::Value::Null),
        Some(s) => serde_json::from_str(s).map_err(|e| Error::invalid_json(format!("{name}: {e}"))),
    }
}

/// Hands a string to the caller, who frees it with `copilot_string_free`.
pub(crate) fn out_string(s: String) -> *mut c_char {
    to_cstring(s).into_raw()
}

/// The status of a failed call (never `COPILOT_OK`).
///
/// `err`: an error from any function's `err_out`; NULL yields `COPILOT_ERR_INVALID_ARGUMENT`.
/// Non-blocking; any thread.
///
/// # Safety
///
/// `err` is NULL or an error from an `err_out`, not passed to
/// `copilot_error_free` before or during this call.
#[no_mangle]
pub unsafe extern "C" fn copilot_error_status(err: *const copilot_error) -> copilot_status {
    // SAFETY: `err` is NULL or a live error (# Safety).
    match unsafe { opt_ref(err) } {
        Some(e) => e.status,
        None => copilot_status::COPILOT_ERR_INVALID_ARGUMENT,
    }
}

/// The error's message (UTF-8, NUL-terminated): what failed and why; for a
/// dead CLI it includes the exit status and the tail of its stderr.
///
/// Borrowed: valid until `copilot_error_free(err)`. NULL `err` yields "".
/// Non-blocking; any thread.
///
/// # Safety
///
/// `err` is NULL or an error from an `err_out`, not passed to
/// `copilot_error_free` before or during this call. The returned string must
/// not be used once `copilot_error_free(err)` has begun.
#[no_mangle]
pub unsafe extern "C" fn copilot_error_message(err: *const copilot_error) -> *const c_char {
    // SAFETY: `err` is NULL or a live error (# Safety).
    match unsafe { opt_ref(err) } {
        Some(e) => e.message.as_ptr(),
        None => c"".as_ptr(),
    }
}

/// The JSON-RPC `error.code` the CLI answered with.
///
/// Returns true and writes `*code_out` when the error is `COPILOT_ERR_RPC`;
/// false otherwise (including NULL arguments). Non-blocking; any thread.
///
/// # Safety
///
/// `err` is NULL or an error from an `err_out`, not passed to
/// `copilot_error_free` before or during this call; `code_out` is NULL or
/// points to a writable `int64_t`.
#[no_mangle]
pub unsafe extern "C" fn copilot_error_rpc_code(
    err: *const copilot_error,
    code_out: *mut i64,
) -> bool {
    // SAFETY: `err` is NULL or a live error (# Safety).
    let code = unsafe { opt_ref(err) }.and_then(|e| e.rpc_code);
    // SAFETY: `code_out` is NULL or writable (# Safety).
    match (code, unsafe { opt_out(code_out) }) {
        (Some(code), Some(out)) => {
            out.put(code);
            true
        }
        _ => false,
    }
}

/// The JSON-RPC `error.data` as JSON text, or NULL when there was none.
///
/// Borrowed: valid until `copilot_error_free(err)`. Non-blocking; any thread.
///
/// # Safety
///
/// As for `copilot_error_message`.
#[no_mangle]
pub unsafe extern "C" fn copilot_error_rpc_data(err: *const copilot_error) -> *const c_char {
    // SAFETY: `err` is NULL or a live error (# Safety).
    match unsafe { opt_ref(err) }.and_then(|e| e.rpc_data.as_ref()) {
        Some(d) => d.as_ptr(),
        None => std::ptr::null(),
    }
}

/// Frees an error. NULL is a no-op. Non-blocking; any thread.
///
/// # Safety
///
/// `err` is NULL or an error from an `err_out`, not yet freed; no other call
/// may use it, or a string borrowed from it, during or after this one.
#[no_mangle]
pub unsafe extern "C" fn copilot_error_free(err: *mut copilot_error) {
    if !err.is_null() {
        // SAFETY: `err` (not NULL) is a live `Box` from `boundary` that nothing
        // else uses any more (# Safety).
        drop(unsafe { Box::from_raw(err) });
    }
}

/// Frees a string the library returned through an out-param. NULL is a no-op.
/// Non-blocking; any thread.
///
/// # Safety
///
/// `s` is NULL or a string this library returned through an out-param (never a
/// borrowed one), not yet freed, and not used during or after this call.
#[no_mangle]
pub unsafe extern "C" fn copilot_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: `s` (not NULL) came from `CString::into_raw` in `out_string`
        // and nothing else uses it any more (# Safety).
        drop(unsafe { CString::from_raw(s) });
    }
}

/// The library version, e.g. "0.1.0". Static; never NULL; any thread.
#[no_mangle]
pub extern "C" fn copilot_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The ABI version of this build. Compare with the header's
/// `COPILOT_ABI_VERSION`: they differ when a program was compiled against
/// another header than the library it loaded. Any thread.
#[no_mangle]
pub extern "C" fn copilot_abi_version() -> u32 {
    ABI_VERSION
}

/// The ABI version, from `[package.metadata.copilot] abi-version` in Cargo.toml.
pub const ABI_VERSION: u32 = match u32::from_str_radix(env!("COPILOT_ABI_VERSION"), 10) {
    Ok(v) => v,
    Err(_) => panic!("COPILOT_ABI_VERSION must be a number"),
};
