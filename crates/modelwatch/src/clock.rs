//! Wall-clock time, read only through the [`Clock`] trait so that tests can fix it.
//!
//! This is the one file allowed to call `SystemTime::now` (clippy's `disallowed-methods`
//! bans it everywhere else). The engine never reads a clock: it runs on event time.
//! [`TokioClock`] is wall time that follows tokio's clock, for tests on a paused runtime.

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

/// Wall time that moves with tokio's clock: a start time plus the tokio time elapsed since
/// the clock was made. On a runtime whose time is paused (`#[tokio::test(start_paused =
/// true)]`) it stands still until tokio's time moves, so that the wall times the service
/// computes (attempt times, deadlines, retry times) and its tokio timers agree to the
/// nanosecond. Read it on the runtime's threads (its tasks and blocking tasks): elsewhere
/// tokio's time is the operating system's.
#[derive(Debug)]
pub struct TokioClock {
    start: Timestamp,
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock that says `start` now.
    pub fn new(start: Timestamp) -> TokioClock {
        TokioClock {
            start,
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        let elapsed = i64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(i64::MAX);
        Timestamp::from_nanos(self.start.as_nanos().saturating_add(elapsed))
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

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_moves_only_with_tokios_time() {
        let clock = TokioClock::new(Timestamp::from_secs(10));
        assert_eq!(clock.now(), Timestamp::from_secs(10));
        tokio::time::advance(std::time::Duration::from_millis(1_500)).await;
        assert_eq!(clock.now(), Timestamp::from_nanos(11_500_000_000));
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now() > Timestamp::parse_rfc3339("2020-01-01T00:00:00Z").unwrap());
    }
}
