//! A session's routing state, shared by its handle and the reader's router:
//! its handlers and event subscribers.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use super::config::SessionConfig;
use crate::events::{EventHandler, SessionEvent};
use crate::handlers::{PermissionPolicy, Tool};
use crate::log::{log, Level};
use crate::requests::RequestHandler;
use crate::sync::Mutex;

type Subscribers = Arc<Vec<(u64, EventHandler)>>;

/// Per-session state shared by the handle and the reader's router.
pub(crate) struct SessionShared {
    pub id: Arc<str>,
    subscribers: Mutex<Subscribers>,
    next_subscription: AtomicU64,
    pub tools: HashMap<String, Tool>,
    pub permission: Option<PermissionPolicy>,
    pub handlers: HashMap<String, RequestHandler>,
    /// Kept to resume the session after the CLI is restarted.
    pub config: SessionConfig,
    closed: AtomicBool,
}

impl SessionShared {
    pub fn new(id: &str, config: &SessionConfig) -> Arc<Self> {
        let shared = Arc::new(SessionShared {
            id: id.into(),
            subscribers: Mutex::new(Arc::new(Vec::new())),
            next_subscription: AtomicU64::new(1),
            tools: config
                .tools
                .iter()
                .map(|t| (t.name().to_string(), t.clone()))
                .collect(),
            permission: config.permission.clone(),
            handlers: config.handlers.clone(),
            config: config.clone(),
            closed: AtomicBool::new(false),
        });
        for handler in &config.on_event {
            shared.subscribe(handler.clone());
        }
        shared
    }

    pub fn subscribe(&self, handler: EventHandler) -> u64 {
        let id = self.next_subscription.fetch_add(1, Ordering::Relaxed);
        let old = {
            let mut subs = self.subscribers.lock();
            let mut next: Vec<_> = subs.iter().cloned().collect();
            next.push((id, handler));
            std::mem::replace(&mut *subs, Arc::new(next))
        };
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
            if !subs.iter().any(|(i, _)| *i == id) {
                return false;
            }
            let next: Vec<_> = subs.iter().filter(|(i, _)| *i != id).cloned().collect();
            std::mem::replace(&mut *subs, Arc::new(next))
        };
        // Dropped unlocked: it may hold the last reference to the handler.
        drop(old);
        true
    }

    /// Runs every subscriber on `event`; on the callback thread only.
    pub fn deliver(&self, event: &SessionEvent) {
        if self.is_closed() {
            return;
        }
        let subs = self.subscribers.lock().clone();
        for (_, handler) in subs.iter() {
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

    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let old = std::mem::replace(&mut *self.subscribers.lock(), Arc::new(Vec::new()));
        // Dropped unlocked: the handlers' user_data_free is host code.
        drop(old);
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}
