//! Per-call handles (tool invocations, permission requests, host requests) are
//! answered once, and the answer consumes them. Answering twice is an easy slip
//! in a host, so the library keeps the addresses of the live ones: a second
//! answer, a free after the answer, or a read of an answered handle gets an
//! error (or a no-op) instead of touching freed memory.
//!
//! A stale pointer is only caught while its address has not been reused by a
//! newer handle of the same kind.

use std::any::TypeId;
use std::collections::HashSet;
use std::sync::LazyLock;

use parking_lot::Mutex;

use crate::error::{Error, Result};

static LIVE: LazyLock<Mutex<HashSet<(TypeId, usize)>>> =
    LazyLock::new(|| Mutex::new(HashSet::new()));

fn key<T: 'static>(p: *const T) -> (TypeId, usize) {
    (TypeId::of::<T>(), p as usize)
}

/// Hands a handle to the host.
pub(crate) fn issue<T: 'static>(handle: T) -> *mut T {
    let p = Box::into_raw(Box::new(handle));
    LIVE.lock().insert(key(p));
    p
}

/// Takes a handle back to answer or drop it; refuses NULL and handles already taken.
///
/// # Safety
/// `p` is NULL or was returned by `issue::<T>`.
pub(crate) unsafe fn take<T: 'static>(p: *mut T, name: &str) -> Result<Box<T>> {
    if p.is_null() {
        return Err(Error::invalid_argument(format!("{name} is NULL")));
    }
    if !LIVE.lock().remove(&key(p)) {
        return Err(Error::invalid_argument(format!(
            "{name} was already answered or freed"
        )));
    }
    // SAFETY: the address was live, so it is an unconsumed Box from `issue`.
    Ok(Box::from_raw(p))
}

/// Borrows a live handle; NULL or an answered one yields None.
///
/// # Safety
/// As for `take`; the host must not answer it on another thread meanwhile.
pub(crate) unsafe fn peek<'a, T: 'static>(p: *const T) -> Option<&'a T> {
    if p.is_null() || !LIVE.lock().contains(&key(p)) {
        return None;
    }
    p.as_ref()
}

/// Drops a handle unanswered (its default answer is sent); NULL and handles
/// already taken are a no-op.
///
/// # Safety
/// As for `take`.
pub(crate) unsafe fn release<T: 'static>(p: *mut T, name: &str) {
    if p.is_null() {
        return;
    }
    if let Ok(b) = take(p, name) {
        // Dropping answers the call: contain a panic from that path.
        let _ = super::boundary(std::ptr::null_mut(), || {
            drop(b);
            Ok(())
        });
    } else {
        crate::log::log!(
            crate::log::Level::Warn,
            "handlers",
            "{name} freed after it was answered or freed: ignored"
        );
    }
}
