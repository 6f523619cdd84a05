//! The per-client callback thread. Every host callback (events, tool calls,
//! permission requests) runs here, serially and in wire order, never on a
//! runtime worker and never inside the API call that caused it.
//!
//! Backpressure, never loss: the reader must take permits, for the messages
//! and for the bytes a job holds, before queueing it, so when the host is
//! slow the reader stops reading the CLI's output and memory stays within
//! the byte budget (`maxEventQueueBytes`). A job larger than the whole budget
//! waits until the queue is empty, then goes alone.
//! While this thread is itself blocked in a library call (a callback calling
//! back into the client), jobs queue without permits so the reply it waits
//! for can still be read; that overflow is bounded by what the peer sends
//! during one call.
//!
//! Poll mode (`"dispatch": "poll"`) has no thread: jobs wait until the host
//! runs them from its own loop (`run_pending`), and an eventfd is readable
//! while any wait. The same budgets hold the reader back; since the host's
//! thread is then the one that drains, a blocking library call from any
//! thread lets the reader bypass them, as the callback thread's calls do.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::ThreadId;

use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, Notify, Semaphore};

use crate::log::{log, Level};

/// Messages queued before the reader waits (events in flight to a slow
/// host); a job carrying several events counts each.
pub const QUEUE_CAPACITY: usize = 4096;

/// Default byte budget of the queue (`maxEventQueueBytes`).
pub const DEFAULT_QUEUE_BYTES: usize = 32 * 1024 * 1024;

pub type Job = Box<dyn FnOnce() + Send>;

struct Shared {
    permits: Semaphore,
    /// Bytes of room left (at most `max_bytes`).
    byte_permits: Semaphore,
    max_bytes: u32,
    /// How many library calls the dispatcher thread is blocked in right now.
    blocked: AtomicUsize,
    blocked_changed: Notify,
    thread: OnceLock<ThreadId>,
    /// Set in poll mode: the queue the host drains.
    poll: Option<Poll>,
}

/// Poll mode's queue, its readiness fd, and who is draining it.
///
/// `rx` and `running` are held while host callbacks run, by design, so they
/// are plain mutexes, not the counted `sync::Mutex`: nothing else ever waits
/// for them (a second dispatcher gets `Busy` from `try_lock`), so a callback
/// calling back into the library cannot deadlock on them.
struct Poll {
    rx: parking_lot::Mutex<mpsc::UnboundedReceiver<Queued>>,
    /// An eventfd, readable while jobs wait (see `run_pending`).
    ready: OwnedFd,
    /// Held while one thread runs jobs: callbacks never run concurrently.
    running: parking_lot::Mutex<()>,
    /// The thread running jobs now, if any: the "callback thread" of poll mode.
    current: crate::sync::Mutex<Option<ThreadId>>,
}

impl Shared {
    /// Runs one job, containing a panic, and gives its bytes back at once
    /// (its memory is freed now); returns its message permits, which the
    /// caller gives back in batches.
    fn run(&self, q: Queued) -> usize {
        if catch_unwind(AssertUnwindSafe(q.job)).is_err() {
            log!(
                Level::Error,
                "dispatch",
                "a callback panicked; the panic was contained"
            );
        }
        self.byte_permits.add_permits(q.bytes as usize);
        q.messages as usize
    }
}

impl Poll {
    fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: an 8-byte write to the eventfd we own; EAGAIN (the counter
        // at its maximum) leaves it readable, which is all a signal needs.
        unsafe { libc::write(self.ready.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    fn reset(&self) {
        let mut n: u64 = 0;
        // SAFETY: an 8-byte read from the non-blocking eventfd we own.
        unsafe { libc::read(self.ready.as_raw_fd(), (&mut n as *mut u64).cast(), 8) };
    }
}

/// Why `run_pending` ran nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum PollError {
    /// The client dispatches on its own thread (not poll mode).
    NotPollMode,
    /// Another thread is running jobs now, or this one is (a callback
    /// calling dispatch).
    Busy,
}

/// Queue handle; the thread exits once every `Dispatcher` clone is dropped and
/// the queue is drained.
#[derive(Clone)]
pub struct Dispatcher {
    tx: mpsc::UnboundedSender<Queued>,
    shared: Arc<Shared>,
}

/// While alive, marks the dispatcher thread as blocked in a library call.
pub struct BlockedGuard {
    shared: Option<Arc<Shared>>,
}

impl Drop for BlockedGuard {
    fn drop(&mut self) {
        if let Some(s) = &self.shared {
            s.blocked.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// A job with the message and byte permits it holds until it has run.
struct Queued {
    job: Job,
    messages: u32,
    bytes: u32,
}

impl Dispatcher {
    /// Starts the callback thread; its queue holds at most `max_bytes`
    /// (capped at 2 GiB) besides `QUEUE_CAPACITY` messages.
    pub fn start(name: &str, max_bytes: usize) -> std::io::Result<Dispatcher> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Queued>();
        let max_bytes = max_bytes.clamp(1, 1 << 31) as u32;
        let shared = Arc::new(Shared {
            byte_permits: Semaphore::new(max_bytes as usize),
            max_bytes,
            permits: Semaphore::new(QUEUE_CAPACITY),
            blocked: AtomicUsize::new(0),
            blocked_changed: Notify::new(),
            thread: OnceLock::new(),
            poll: None,
        });
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let worker = shared.clone();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let _ = worker.thread.set(std::thread::current().id());
                let _ = ready_tx.send(());
                // Permits go back in batches: one per job would wake a reader
                // waiting for room once per event.
                let mut unreleased = 0;
                loop {
                    let next = match rx.try_recv() {
                        Ok(job) => Some(job),
                        Err(TryRecvError::Disconnected) => None,
                        Err(TryRecvError::Empty) => {
                            // Caught up: hand the room back before waiting.
                            worker.permits.add_permits(std::mem::take(&mut unreleased));
                            wait_for_job(&mut rx)
                        }
                    };
                    let Some(queued) = next else {
                        break;
                    };
                    unreleased += worker.run(queued);
                    if unreleased >= PERMIT_BATCH {
                        worker.permits.add_permits(std::mem::take(&mut unreleased));
                    }
                }
            })?;
        let _ = ready_rx.recv();
        Ok(Dispatcher { tx, shared })
    }

    /// A dispatcher without a thread: jobs wait for `run_pending`, and
    /// `ready_fd` is readable while any wait.
    pub fn start_polled(max_bytes: usize) -> std::io::Result<Dispatcher> {
        let (tx, rx) = mpsc::unbounded_channel::<Queued>();
        let max_bytes = max_bytes.clamp(1, 1 << 31) as u32;
        // SAFETY: eventfd returns a new descriptor or -1; a valid one is ours.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor no one else owns.
        let ready = unsafe { OwnedFd::from_raw_fd(fd) };
        let shared = Arc::new(Shared {
            byte_permits: Semaphore::new(max_bytes as usize),
            max_bytes,
            permits: Semaphore::new(QUEUE_CAPACITY),
            blocked: AtomicUsize::new(0),
            blocked_changed: Notify::new(),
            thread: OnceLock::new(),
            poll: Some(Poll {
                rx: parking_lot::Mutex::new(rx),
                ready,
                running: parking_lot::Mutex::new(()),
                current: crate::sync::Mutex::new(None),
            }),
        });
        Ok(Dispatcher { tx, shared })
    }

    /// Poll mode's readiness fd (readable while jobs wait), or None.
    pub fn ready_fd(&self) -> Option<RawFd> {
        self.shared.poll.as_ref().map(|p| p.ready.as_raw_fd())
    }

    /// Poll mode: runs up to `max` waiting jobs, in order, on the calling
    /// thread, and returns how many still wait. Jobs never run concurrently:
    /// a second thread, or a job calling this, gets `Busy`.
    pub fn run_pending(&self, max: usize) -> Result<usize, PollError> {
        let poll = self.shared.poll.as_ref().ok_or(PollError::NotPollMode)?;
        let me = std::thread::current().id();
        if *poll.current.lock() == Some(me) {
            return Err(PollError::Busy);
        }
        let _running = poll.running.try_lock().ok_or(PollError::Busy)?;
        let Some(mut rx) = poll.rx.try_lock() else {
            return Err(PollError::Busy);
        };
        // Reset before taking jobs: one queued after this signals again.
        poll.reset();
        *poll.current.lock() = Some(me);
        let mut released = 0;
        for _ in 0..max {
            let Ok(queued) = rx.try_recv() else {
                break;
            };
            released += self.shared.run(queued);
        }
        *poll.current.lock() = None;
        self.shared.permits.add_permits(released);
        let remaining = rx.len();
        if remaining > 0 {
            poll.signal();
        }
        Ok(remaining)
    }

    fn queue(&self, q: Queued) {
        let _ = self.tx.send(q);
        if let Some(poll) = &self.shared.poll {
            poll.signal();
        }
    }

    /// True on this client's callback thread (in poll mode: on the thread
    /// running jobs now).
    pub fn is_current_thread(&self) -> bool {
        let me = std::thread::current().id();
        match &self.shared.poll {
            Some(poll) => *poll.current.lock() == Some(me),
            None => self.shared.thread.get() == Some(&me),
        }
    }

    /// Call before blocking on the library from any thread; on the callback
    /// thread (in poll mode, on any thread: the host's loop, which drains,
    /// is waiting) it lets the reader bypass backpressure until the guard drops.
    pub fn enter_blocking(&self) -> BlockedGuard {
        if self.shared.poll.is_none() && !self.is_current_thread() {
            return BlockedGuard { shared: None };
        }
        self.shared.blocked.fetch_add(1, Ordering::SeqCst);
        self.shared.blocked_changed.notify_waiters();
        BlockedGuard {
            shared: Some(self.shared.clone()),
        }
    }

    /// Queues a job holding `bytes` of memory, waiting for room when the
    /// host is behind.
    pub async fn dispatch(&self, job: Job, bytes: usize) {
        self.dispatch_many(job, 1, bytes).await
    }

    /// Queues a job that delivers `messages` messages held in `bytes` of
    /// memory, waiting until that much room (at most the whole queue) is free.
    pub async fn dispatch_many(&self, job: Job, messages: usize, bytes: usize) {
        let messages = messages.clamp(1, QUEUE_CAPACITY) as u32;
        let bytes = bytes.min(self.shared.max_bytes as usize) as u32;
        let queued = |messages, bytes| Queued {
            job,
            messages,
            bytes,
        };
        // Fast path: room in the queue (the common case, even under a flood).
        if let Ok(permit) = self.shared.permits.try_acquire_many(messages) {
            if let Ok(room) = self.shared.byte_permits.try_acquire_many(bytes) {
                permit.forget();
                room.forget();
                self.queue(queued(messages, bytes));
                return;
            }
            // No byte room: give the messages back and wait for both below.
            drop(permit);
        }
        loop {
            let changed = self.shared.blocked_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.shared.blocked.load(Ordering::SeqCst) > 0 {
                // The callback thread waits on the library: queue without
                // permits so the reply it waits for can still be read.
                self.queue(queued(0, 0));
                return;
            }
            let room = async {
                let permit = self.shared.permits.acquire_many(messages).await.ok()?;
                let bytes = self.shared.byte_permits.acquire_many(bytes).await.ok()?;
                Some((permit, bytes))
            };
            tokio::select! {
                room = room => {
                    let Some((permit, room)) = room else { return };
                    permit.forget();
                    room.forget();
                    self.queue(queued(messages, bytes));
                    return;
                }
                _ = &mut changed => {}
            }
        }
    }

    /// Queues a job without waiting (for jobs not driven by peer input).
    pub fn dispatch_now(&self, job: Job) {
        self.queue(Queued {
            job,
            messages: 0,
            bytes: 0,
        });
    }
}

/// How long the callback thread polls for the next job before it sleeps.
/// Under a flood of events the next one is microseconds away, and sleeping
/// would cost a futex wake-up and two context switches per event.
const SPIN_BEFORE_SLEEP: std::time::Duration = std::time::Duration::from_micros(50);

/// Permits released together by the callback thread (see `QUEUE_CAPACITY`).
const PERMIT_BATCH: usize = 64;

/// The next job once the queue is empty: after a short spin if one arrives,
/// else after sleeping until one does. `None` once every sender is gone.
fn wait_for_job(rx: &mut mpsc::UnboundedReceiver<Queued>) -> Option<Queued> {
    let started = std::time::Instant::now();
    let mut spins = 0u32;
    loop {
        std::hint::spin_loop();
        spins += 1;
        if spins.is_multiple_of(64) {
            match rx.try_recv() {
                Ok(job) => return Some(job),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => {}
            }
            if started.elapsed() > SPIN_BEFORE_SLEEP {
                return rx.blocking_recv();
            }
            // Let the producer run if it shares this core.
            std::thread::yield_now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn runs_jobs_in_order_on_one_thread_and_survives_panics() {
        let d = Dispatcher::start("test-dispatch", DEFAULT_QUEUE_BYTES).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        for i in 0..100 {
            let seen = seen.clone();
            let d2 = d.clone();
            d.dispatch(
                Box::new(move || {
                    assert!(d2.is_current_thread());
                    if i == 50 {
                        panic!("contained");
                    }
                    seen.lock().unwrap().push(i);
                }),
                1,
            )
            .await;
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        d.dispatch(
            Box::new(move || {
                let _ = tx.send(());
            }),
            1,
        )
        .await;
        rx.await.unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 99);
        assert!(seen.windows(2).all(|w| w[0] < w[1]));
        assert!(!d.is_current_thread());
    }

    /// Poll mode: jobs wait for `run_pending`, which runs them in order on
    /// the calling thread, `max` at a time; the fd is readable exactly while
    /// jobs wait; a job calling `run_pending` gets `Busy`.
    #[tokio::test]
    async fn poll_mode_runs_jobs_on_the_callers_thread_in_order() {
        let d = Dispatcher::start_polled(DEFAULT_QUEUE_BYTES).unwrap();
        let fd = d.ready_fd().unwrap();
        let readable = || {
            let mut p = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one pollfd on a live descriptor, no wait.
            unsafe { libc::poll(&mut p, 1, 0) == 1 }
        };
        assert!(!readable());
        let seen = Arc::new(Mutex::new(Vec::new()));
        for i in 0..10 {
            let (seen, d2) = (seen.clone(), d.clone());
            d.dispatch(
                Box::new(move || {
                    assert!(d2.is_current_thread());
                    assert_eq!(d2.run_pending(1), Err(PollError::Busy));
                    seen.lock().unwrap().push(i);
                }),
                1,
            )
            .await;
        }
        assert!(readable());
        assert!(
            seen.lock().unwrap().is_empty(),
            "nothing runs until the host dispatches"
        );
        assert_eq!(d.run_pending(4), Ok(6));
        assert!(readable(), "jobs still wait");
        assert_eq!(d.run_pending(100), Ok(0));
        assert!(!readable());
        assert_eq!(*seen.lock().unwrap(), (0..10).collect::<Vec<_>>());
        assert!(!d.is_current_thread());
        let threaded = Dispatcher::start("t", 100).unwrap();
        assert_eq!(threaded.run_pending(1), Err(PollError::NotPollMode));
    }

    /// The queue holds at most its byte budget: a job that does not fit
    /// waits (the reader stops reading) until the jobs before it have run,
    /// and one larger than the whole budget goes once the queue is empty.
    #[tokio::test]
    async fn the_byte_budget_holds_the_reader_back() {
        let d = Dispatcher::start("test-bytes", 100).unwrap();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        // Occupies the callback thread and 60 of the 100 bytes.
        d.dispatch(
            Box::new(move || {
                let _ = release_rx.recv();
            }),
            60,
        )
        .await;
        let second = d.dispatch(Box::new(|| {}), 60);
        tokio::pin!(second);
        let waited = tokio::time::timeout(std::time::Duration::from_millis(200), &mut second).await;
        assert!(waited.is_err(), "a job over the byte budget was queued");
        release_tx.send(()).unwrap();
        second.await;
        // Larger than the whole budget: queued alone, once the queue is empty.
        d.dispatch(Box::new(|| {}), 10_000).await;
    }
}
