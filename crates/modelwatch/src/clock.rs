//! Wall-clock time, read only through the [`Clock`] trait so that tests can fix it.
//!
//! This is the one file allowed to call `SystemTime::now` (clippy's `disallowed-methods`
//! bans it everywhere else). The engine never reads a clock: it runs on event time.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use modelwatch_engine::Timestamp;

/// Tells the current wall-clock time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Timestamp {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
            });
        Timestamp::from_nanos(nanos)
    }
}

/// A clock that says whatever it was last set to; for tests and replays.
#[derive(Debug, Default)]
pub struct FixedClock {
    nanos: AtomicI64,
}

impl FixedClock {
    /// A clock stopped at `at`.
    pub fn new(at: Timestamp) -> FixedClock {
        FixedClock {
            nanos: AtomicI64::new(at.as_nanos()),
        }
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: Timestamp) {
        self.nanos.store(at.as_nanos(), Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_says_what_it_was_set_to() {
        let clock = FixedClock::new(Timestamp::from_secs(10));
        assert_eq!(clock.now(), Timestamp::from_secs(10));
        clock.set(Timestamp::from_secs(20));
        assert_eq!(clock.now(), Timestamp::from_secs(20));
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now() > Timestamp::parse_rfc3339("2020-01-01T00:00:00Z").unwrap());
    }
}
