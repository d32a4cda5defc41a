//! Retention in the service: how long raw events are kept, and the periodic pass. The pass (and
//! `POST /v1/admin/retention`, in `server/`) asks the writer, which deletes between commits
//! (`writer/retention.rs`).
//!
//! The cutoff is wall time minus the retention period, compared with event times: inputs and
//! points whose event time is before it go. Inputs go only up to the engine snapshot the pass
//! saves first, so deleting them never changes detector state, now or after a restart.

use std::sync::Arc;
use std::time::Duration;

use modelwatch_engine::Timestamp;
use tokio::sync::{mpsc, watch};

use super::writer::{Message, RetentionRequest, Status};
use crate::clock::Clock;

/// How long raw events are kept unless configured otherwise: 30 days.
pub const DEFAULT_KEEP: Duration = Duration::from_secs(30 * 24 * 3600);

/// How often the periodic pass runs unless configured otherwise: hourly.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3600);

/// How long raw events (inputs and series points) are kept, and how often old ones go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// The retention period; none keeps everything.
    pub keep: Option<Duration>,
    /// Time between two periodic passes; the first runs once recovery is over.
    pub interval: Duration,
}

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            keep: Some(DEFAULT_KEEP),
            interval: DEFAULT_INTERVAL,
        }
    }
}

/// Parses a duration such as `30d`, `12h`, `90m` or `45s` (a whole number and a unit).
///
/// # Errors
///
/// A message saying what is wrong with `text`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|character: char| !character.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(format!(
                "{text:?} is not a duration: write a whole number and a unit s, m, h, d or w, \
                 such as 30d or 12h"
            ));
        }
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: the number is missing or too large"))?;
    if number == 0 {
        return Err(format!("{text:?}: a duration must be above zero"));
    }
    number
        .checked_mul(seconds_per_unit)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// Parses a retention period: a duration, or `off` to keep everything.
///
/// # Errors
///
/// A message saying what is wrong with `text`.
pub fn parse_keep(text: &str) -> Result<Option<Duration>, String> {
    if text.trim().eq_ignore_ascii_case("off") {
        Ok(None)
    } else {
        parse_duration(text).map(Some)
    }
}

/// The event time before which raw events go: `now` minus `keep`.
pub(crate) fn cutoff(now: Timestamp, keep: Duration) -> Timestamp {
    let keep = i64::try_from(keep.as_nanos()).unwrap_or(i64::MAX);
    Timestamp::from_nanos(now.as_nanos().saturating_sub(keep))
}

/// Asks the writer for a pass every `interval`, the first once recovery is over. Holds the
/// queue only weakly, so it never keeps the writer from stopping; it ends when the queue
/// closes or recovery fails.
pub(super) async fn periodic(
    queue: mpsc::WeakSender<Message>,
    mut status: watch::Receiver<Status>,
    clock: Arc<dyn Clock>,
    keep: Duration,
    interval: Duration,
) {
    let ready = status
        .wait_for(|status| !matches!(status, Status::Recovering))
        .await
        .map(|status| matches!(*status, Status::Ready { .. }));
    if !matches!(ready, Ok(true)) {
        return;
    }
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(queue) = queue.upgrade() else { return };
        let now = clock.now();
        let request = RetentionRequest {
            cutoff: cutoff(now, keep),
            now,
            reply: None,
        };
        if queue.send(Message::Retention(request)).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_whole_number_and_a_unit() {
        assert_eq!(parse_duration("45s"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(43_200)));
        assert_eq!(parse_duration("30d"), Ok(DEFAULT_KEEP));
        assert_eq!(parse_duration("2w"), Ok(Duration::from_secs(1_209_600)));
        for bad in [
            "",
            "30",
            "d",
            "1.5h",
            "-1h",
            "0h",
            "30 days",
            "99999999999999999999d",
        ] {
            let error = parse_duration(bad).expect_err(bad);
            assert!(error.contains(&format!("{:?}", bad.trim())), "{error}");
        }
        assert_eq!(parse_keep("off"), Ok(None));
        assert_eq!(parse_keep("OFF"), Ok(None));
        assert_eq!(parse_keep("7d"), Ok(Some(Duration::from_secs(604_800))));
    }

    #[test]
    fn the_cutoff_is_now_minus_the_period_and_never_wraps() {
        let now = Timestamp::from_secs(1_000_000);
        assert_eq!(
            cutoff(now, Duration::from_secs(1_000)),
            Timestamp::from_secs(999_000)
        );
        let far = cutoff(Timestamp::from_secs(0), Duration::from_secs(u64::MAX));
        assert_eq!(far, Timestamp::from_nanos(-i64::MAX));
    }
}
