//! The listener's view of its open connections: where each stands (waiting, reading a head,
//! handling a request), and which one to close when the connection limit needs room.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Where a connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting for the first byte of a request.
    Waiting,
    /// Reading a request's head.
    Head,
    /// Handling a request: from its complete head to the end of its response.
    Busy,
}

/// What a connection's parts share: its phase, set by the byte stream (a first byte), the
/// service (a complete head) and the response body (its end), and read by the listener to
/// pick a connection to close.
#[derive(Debug)]
pub(super) struct ConnectionState {
    pub(super) id: u64,
    phase: AtomicU8,
    /// Responses finished; each one starts a new wait for the next request.
    pub(super) served: AtomicU64,
    /// When the connection last stopped handling a request (or was accepted).
    since: Mutex<Instant>,
    /// Set once the listener picked it to close.
    reclaimed: AtomicBool,
    pub(super) reclaim: Notify,
    /// Told when a response ends, for a listener waiting to make room.
    request_done: Arc<Notify>,
    /// The reader that found no deadline to run while a request was handled: woken when the
    /// response ends, so that it arms the idle timeout (hyper may poll for the next request
    /// before it drops the response's body).
    reader: Mutex<Option<Waker>>,
}

impl ConnectionState {
    pub(super) fn new(id: u64, request_done: Arc<Notify>) -> ConnectionState {
        ConnectionState {
            id,
            phase: AtomicU8::new(Phase::Waiting as u8),
            served: AtomicU64::new(0),
            since: Mutex::new(Instant::now()),
            reclaimed: AtomicBool::new(false),
            reclaim: Notify::new(),
            request_done,
            reader: Mutex::new(None),
        }
    }

    pub(super) fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Acquire) {
            0 => Phase::Waiting,
            1 => Phase::Head,
            _ => Phase::Busy,
        }
    }

    pub(super) fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Release);
    }

    /// A response ended: the connection waits for its next request.
    pub(super) fn response_done(&self) {
        if let Ok(mut since) = self.since.lock() {
            *since = Instant::now();
        }
        self.served.fetch_add(1, Ordering::AcqRel);
        self.set_phase(Phase::Waiting);
        if let Some(reader) = self.reader.lock().ok().and_then(|mut reader| reader.take()) {
            reader.wake();
        }
        self.request_done.notify_one();
    }

    /// Wakes `waker` when the response under way ends.
    pub(super) fn wake_reader_after_response(&self, waker: &Waker) {
        if let Ok(mut reader) = self.reader.lock() {
            match reader.as_ref() {
                Some(known) if known.will_wake(waker) => {}
                _ => *reader = Some(waker.clone()),
            }
        }
    }

    /// The order in which connections are closed to make room: those that never finished a
    /// request first, then the longest waiting, then the first accepted.
    fn reclaim_order(&self) -> (bool, Instant, u64) {
        let since = self
            .since
            .lock()
            .map_or_else(|_| Instant::now(), |since| *since);
        (self.served.load(Ordering::Acquire) > 0, since, self.id)
    }
}

/// The open connections, for the listener to pick one to close.
#[derive(Debug, Default)]
pub(super) struct OpenConnections {
    states: Mutex<HashMap<u64, Arc<ConnectionState>>>,
    /// Told when any response ends.
    pub(super) request_done: Arc<Notify>,
}

impl OpenConnections {
    pub(super) fn register(self: &Arc<Self>, state: Arc<ConnectionState>) -> Registered {
        if let Ok(mut states) = self.states.lock() {
            states.insert(state.id, state.clone());
        }
        Registered {
            open: self.clone(),
            id: state.id,
        }
    }

    /// Asks the connection that is not handling a request and has waited longest to close,
    /// unless one asked before is still closing (so a spurious wake-up closes nothing more);
    /// whether one is closing now.
    pub(super) fn reclaim_one(&self) -> bool {
        let Ok(states) = self.states.lock() else {
            return false;
        };
        if states
            .values()
            .any(|state| state.reclaimed.load(Ordering::Acquire))
        {
            return true;
        }
        let victim = states
            .values()
            .filter(|state| {
                state.phase() != Phase::Busy && !state.reclaimed.load(Ordering::Acquire)
            })
            .min_by_key(|state| state.reclaim_order());
        match victim {
            Some(state) => {
                state.reclaimed.store(true, Ordering::Release);
                state.reclaim.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Removes a connection from [`OpenConnections`] when it ends.
pub(super) struct Registered {
    open: Arc<OpenConnections>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut states) = self.open.states.lock() {
            states.remove(&self.id);
        }
    }
}
