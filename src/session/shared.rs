//! A session's routing state, shared by its handle and the reader's router:
//! its handlers and event subscribers.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use super::config::SessionConfig;
use crate::events::{EventBatchHandler, EventHandler, SessionEvent};
use crate::handlers::{PermissionPolicy, Tool};
use crate::log::{log, Level};
use crate::requests::RequestHandler;
use crate::sync::Mutex;

/// An event subscriber: called per event, or per batch of events.
#[derive(Clone)]
enum Subscriber {
    One(EventHandler),
    Batch(EventBatchHandler),
}

type Subscribers = Arc<Vec<(u64, Subscriber)>>;

/// Per-session state shared by the handle and the reader's router.
pub(crate) struct SessionShared {
    pub id: Arc<str>,
    subscribers: Mutex<Subscribers>,
    next_subscription: AtomicU64,
    /// How many subscribers are `Subscriber::Batch`: with none, the
    /// callback thread collects no batches.
    batch_subscribers: AtomicUsize,
    pub tools: HashMap<String, Tool>,
    pub permission: Option<PermissionPolicy>,
    pub handlers: HashMap<String, RequestHandler>,
    /// Kept to resume the session after the CLI is restarted.
    pub config: SessionConfig,
    closed: AtomicBool,
    /// Set when a destroy starts (it always ends in `close`): calls that
    /// fail from then on are put down to the destroy.
    pub destroying: AtomicBool,
}

impl SessionShared {
    pub fn new(id: &str, config: &SessionConfig) -> Arc<Self> {
        let shared = Arc::new(SessionShared {
            id: id.into(),
            subscribers: Mutex::new(Arc::new(Vec::new())),
            next_subscription: AtomicU64::new(1),
            batch_subscribers: AtomicUsize::new(0),
            tools: config
                .tools
                .iter()
                .map(|t| (t.name().to_string(), t.clone()))
                .collect(),
            permission: config.permission.clone(),
            handlers: config.handlers.clone(),
            config: config.clone(),
            closed: AtomicBool::new(false),
            destroying: AtomicBool::new(false),
        });
        for handler in &config.on_event {
            shared.subscribe(handler.clone());
        }
        for handler in &config.on_event_batch {
            shared.subscribe_batch(handler.clone());
        }
        shared
    }

    pub fn subscribe(&self, handler: EventHandler) -> u64 {
        self.add(Subscriber::One(handler))
    }

    /// Adds a subscriber that takes events a batch at a time (see
    /// `deliver_batch`).
    pub fn subscribe_batch(&self, handler: EventBatchHandler) -> u64 {
        self.add(Subscriber::Batch(handler))
    }

    fn add(&self, subscriber: Subscriber) -> u64 {
        let old = {
            let mut subs = self.subscribers.lock();
            // Taken under the lock: ids grow in the order subscribers are
            // listed, which `subscription_mark` relies on.
            let id = self.next_subscription.fetch_add(1, Ordering::SeqCst);
            if matches!(subscriber, Subscriber::Batch(_)) {
                self.batch_subscribers.fetch_add(1, Ordering::SeqCst);
            }
            let mut next: Vec<_> = subs.iter().cloned().collect();
            next.push((id, subscriber));
            (id, std::mem::replace(&mut *subs, Arc::new(next)))
        };
        let (id, old) = old;
        // The old list may be the last owner of a handler: host code
        // (user_data_free) runs only once the lock is released.
        drop(old);
        id
    }

    /// Removes a subscriber; true if it was there. A delivery already running
    /// on the callback thread may still finish with it.
    pub fn unsubscribe(&self, id: u64) -> bool {
        let old = {
            let mut subs = self.subscribers.lock();
            let Some((_, removed)) = subs.iter().find(|(i, _)| *i == id) else {
                return false;
            };
            if matches!(removed, Subscriber::Batch(_)) {
                self.batch_subscribers.fetch_sub(1, Ordering::SeqCst);
            }
            let next: Vec<_> = subs.iter().filter(|(i, _)| *i != id).cloned().collect();
            std::mem::replace(&mut *subs, Arc::new(next))
        };
        // Dropped unlocked: it may hold the last reference to the handler.
        drop(old);
        true
    }

    /// Runs every per-event subscriber on `event`; on the callback thread
    /// only. Batch subscribers get it through `deliver_batch`.
    pub fn deliver(&self, event: &SessionEvent) {
        if self.is_closed() {
            return;
        }
        let subs = self.subscribers.lock().clone();
        for (_, subscriber) in subs.iter() {
            let Subscriber::One(handler) = subscriber else {
                continue;
            };
            if catch_unwind(AssertUnwindSafe(|| handler(event))).is_err() {
                log!(
                    Level::Error,
                    "session",
                    "an event subscriber panicked on {}",
                    event.event_type()
                );
            }
        }
    }

    /// Whether any subscriber takes batches: if not, events need not be
    /// collected for `deliver_batch`.
    pub fn has_batch_subscribers(&self) -> bool {
        self.batch_subscribers.load(Ordering::SeqCst) > 0
    }

    /// Marks an event as it is delivered to the per-event subscribers: the
    /// batch subscribers that exist now (their id is below the mark) get it
    /// in `deliver_batch`, the ones added later do not, as a per-event
    /// subscriber added later would not see it.
    pub fn subscription_mark(&self) -> u64 {
        self.next_subscription.load(Ordering::SeqCst)
    }

    /// Runs every batch subscriber on `events` (in wire order, `marks[i]`
    /// the `subscription_mark` of `events[i]`); on the callback thread only.
    /// Each gets the events that came after it subscribed, if any; one
    /// unsubscribed or a session closed meanwhile (by an earlier subscriber
    /// of the same batch, say) is not called.
    pub fn deliver_batch(&self, events: &[SessionEvent], marks: &[u64]) {
        let ids: Vec<u64> = self
            .subscribers
            .lock()
            .iter()
            .filter(|(_, s)| matches!(s, Subscriber::Batch(_)))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if self.is_closed() {
                return;
            }
            // Still subscribed: looked up again for each, since an earlier
            // call may have removed it.
            let handler = self.subscribers.lock().iter().find_map(|(i, s)| match s {
                Subscriber::Batch(h) if *i == id => Some(h.clone()),
                _ => None,
            });
            let Some(handler) = handler else { continue };
            // Marks never decrease: the events it missed are a prefix.
            let first = marks.partition_point(|&mark| mark <= id);
            let events = &events[first..];
            if events.is_empty() {
                continue;
            }
            if catch_unwind(AssertUnwindSafe(|| handler(events))).is_err() {
                log!(
                    Level::Error,
                    "session",
                    "an event batch subscriber panicked on {} events",
                    events.len()
                );
            }
            // Dropped here, outside the lock: it may be the last reference
            // (unsubscribed during its own call), and its drop is host code.
            drop(handler);
        }
    }

    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let old = {
            let mut subs = self.subscribers.lock();
            self.batch_subscribers.store(0, Ordering::SeqCst);
            std::mem::replace(&mut *subs, Arc::new(Vec::new()))
        };
        // Dropped unlocked: the handlers' user_data_free is host code.
        drop(old);
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}
