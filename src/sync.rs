//! The library's mutex. Host code (callbacks, `user_data_free`, the log
//! handler) may call back into the library, so it must never run while the
//! library holds a lock of its own: that is a deadlock waiting for a host.
//! In debug builds each thread counts the library locks it holds, and every
//! call into host code checks the count is zero, aborting loudly otherwise,
//! so a regression fails the tests instead of hanging a host later.

use std::ops::{Deref, DerefMut};

#[cfg(debug_assertions)]
thread_local! {
    static HELD: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A `parking_lot::Mutex` whose guards are counted in debug builds.
#[derive(Default)]
pub struct Mutex<T>(parking_lot::Mutex<T>);

pub struct MutexGuard<'a, T>(parking_lot::MutexGuard<'a, T>);

impl<T> Mutex<T> {
    pub const fn new(value: T) -> Self {
        Mutex(parking_lot::Mutex::new(value))
    }

    pub fn lock(&self) -> MutexGuard<'_, T> {
        let guard = self.0.lock();
        held(1);
        MutexGuard(guard)
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        held(usize::MAX);
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

/// Adds `delta` (1, or usize::MAX for -1) to this thread's count.
#[inline]
fn held(delta: usize) {
    #[cfg(debug_assertions)]
    HELD.with(|h| h.set(h.get().wrapping_add(delta)));
    #[cfg(not(debug_assertions))]
    let _ = delta;
}

/// Call right before running host code (`what` names it). Debug builds abort
/// when this thread holds a library lock; release builds do nothing.
#[inline]
pub fn entering_host_code(what: &str) {
    #[cfg(debug_assertions)]
    if HELD.with(|h| h.get()) != 0 {
        eprintln!("libcopilot bug: {what} called while the library holds a lock");
        eprintln!("{}", std::backtrace::Backtrace::force_capture());
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = what;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_are_counted_per_thread() {
        let m = Mutex::new(1);
        entering_host_code("a check with no lock held");
        {
            let _g = m.lock();
            #[cfg(debug_assertions)]
            assert_eq!(HELD.with(|h| h.get()), 1);
        }
        #[cfg(debug_assertions)]
        assert_eq!(HELD.with(|h| h.get()), 0);
        entering_host_code("a check after the lock was released");
    }
}
