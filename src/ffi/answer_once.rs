//! Per-call handles (tool invocations, permission requests, host requests) are
//! answered once, and the answer consumes them. Answering twice is an easy slip
//! in a host, so a handle is not an address but a token: a number never given
//! out twice in the process's life, looked up in a table of the live ones.
//! A second answer, a free after the answer, a read of an answered handle or a
//! handle of another kind gets an error (or a no-op), however much later it
//! comes and whatever was issued meanwhile; nothing is read outside the lock.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::LazyLock;

use crate::sync::Mutex;

use crate::error::{Error, Result};

type Live = HashMap<usize, Box<dyn Any + Send>>;

static LIVE: LazyLock<Mutex<Live>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The next token; 0 is NULL. A 64-bit count does not wrap in practice.
static NEXT: AtomicUsize = AtomicUsize::new(1);

/// Hands a handle to the host as a token.
pub(crate) fn issue<T: Any + Send>(handle: T) -> *mut T {
    let token = NEXT.fetch_add(1, Ordering::Relaxed);
    LIVE.lock().insert(token, Box::new(handle));
    // Never dereferenced: the host treats it as opaque, and we look it up.
    token as *mut T
}

/// Takes a handle back to answer or drop it; refuses NULL, handles already
/// taken, and handles of another kind.
pub(crate) fn take<T: Any + Send>(p: *mut T, name: &str) -> Result<Box<T>> {
    if p.is_null() {
        return Err(Error::invalid_argument(format!("{name} is NULL")));
    }
    let token = p as usize;
    let mut live = LIVE.lock();
    match live.get(&token) {
        None => Err(Error::invalid_argument(format!(
            "{name} was already answered or freed"
        ))),
        Some(h) if !h.is::<T>() => Err(Error::invalid_argument(format!(
            "{name} is a handle of another kind"
        ))),
        Some(_) => {
            let handle = live.remove(&token).expect("present");
            drop(live);
            Ok(handle.downcast::<T>().expect("kind checked"))
        }
    }
}

/// Runs `read` on a live handle under the table's lock, so it cannot be
/// answered meanwhile; NULL, answered or foreign handles yield None.
pub(crate) fn with_live<T: Any + Send, R>(p: *const T, read: impl FnOnce(&T) -> R) -> Option<R> {
    if p.is_null() {
        return None;
    }
    let live = LIVE.lock();
    live.get(&(p as usize))?.downcast_ref::<T>().map(read)
}

/// Drops a handle unanswered (its default answer is sent); NULL and handles
/// already taken are a no-op.
pub(crate) fn release<T: Any + Send>(p: *mut T, name: &str) {
    if p.is_null() {
        return;
    }
    if let Ok(b) = take(p, name) {
        // Dropping answers the call: contain a panic from that path.
        let _ = super::boundary(None, || {
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

#[cfg(test)]
mod tests {
    use super::*;

    struct A(u32);
    struct B;

    /// A token answered once is refused ever after, even once many newer
    /// handles were issued; a token of another kind is refused too.
    #[test]
    fn stale_and_foreign_tokens_are_always_refused() {
        let a = issue(A(7));
        assert_eq!(with_live(a, |h| h.0), Some(7));
        assert_eq!(take(a, "a").unwrap().0, 7);
        let newer: Vec<_> = (0..1000).map(|i| issue(A(i))).collect();
        assert!(
            take(a, "a").is_err(),
            "a stale token answered a newer handle"
        );
        assert!(with_live(a, |h| h.0).is_none());
        let b = issue(B);
        assert!(
            take(b.cast::<A>(), "a").is_err(),
            "a handle of another kind was taken"
        );
        assert!(take(b, "b").is_ok());
        for p in newer {
            release(p, "a");
        }
    }
}
