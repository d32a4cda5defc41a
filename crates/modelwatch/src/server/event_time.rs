//! The event times `POST /v1/events` takes: not more than `--max-future` ahead of the
//! server's clock (an event dated years ahead would hold its model's retrain cooldown until
//! then), and not older than the retention window (the next retention pass would delete it
//! without a word). Each refusal names the limit and the flag that sets it.

use std::time::Duration;

use modelwatch_engine::Timestamp;
use modelwatch_engine::wire::TimeBounds;

use crate::runtime::Retention;
use crate::runtime::retention::cutoff;

/// How far ahead of the server's clock an event may be dated unless configured otherwise:
/// five minutes, room for clocks a little apart.
pub const DEFAULT_MAX_FUTURE: Duration = Duration::from_secs(5 * 60);

/// The bounds of the events received at `now`: at most `max_future` ahead (none: no bound),
/// and not before the cutoff a retention pass at `now` would use (none with retention off).
pub(super) fn bounds(
    now: Timestamp,
    max_future: Option<Duration>,
    retention: &Retention,
) -> TimeBounds {
    let mut bounds = TimeBounds::new();
    if let Some(ahead) = max_future {
        bounds = bounds.not_after(
            now.plus_secs(ahead.as_secs()),
            format!(
                "{} ahead of the server's clock (--max-future)",
                duration_text(ahead)
            ),
        );
    }
    if let Some(keep) = retention.keep {
        bounds = bounds.not_before(
            cutoff(now, keep),
            format!("the retention (--retention {})", duration_text(keep)),
        );
    }
    bounds
}

/// A duration as the flags take it: a whole number of the largest unit that divides it.
fn duration_text(duration: Duration) -> String {
    let secs = duration.as_secs();
    let units = [(7 * 86_400, "w"), (86_400, "d"), (3_600, "h"), (60, "m")];
    units
        .iter()
        .find(|(size, _)| secs > 0 && secs.is_multiple_of(*size))
        .map_or_else(
            || format!("{secs}s"),
            |(size, unit)| format!("{}{unit}", secs / size),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_the_flags_take_them() {
        let text = |secs| duration_text(Duration::from_secs(secs));
        assert_eq!(text(300), "5m");
        assert_eq!(text(30 * 86_400), "30d");
        assert_eq!(text(14 * 86_400), "2w");
        assert_eq!(text(90 * 60), "90m");
        assert_eq!(text(7_200), "2h");
        assert_eq!(text(45), "45s");
        assert_eq!(text(0), "0s");
    }

    #[test]
    fn the_bounds_are_now_plus_the_margin_and_the_retention_cutoff() {
        let now = Timestamp::from_secs(2_000_000_000);
        let retention = Retention {
            keep: Some(Duration::from_secs(86_400)),
            ..Retention::default()
        };
        let bounds = bounds(now, Some(Duration::from_secs(300)), &retention);
        assert_eq!(bounds.check(now.plus_secs(300)), Ok(()));
        assert_eq!(
            bounds.check(Timestamp::from_secs(2_000_000_000 - 86_400)),
            Ok(())
        );
        let ahead = bounds.check(now.plus_secs(301)).unwrap_err();
        assert!(
            ahead.contains("5m ahead of the server's clock (--max-future)"),
            "{ahead}"
        );
        let old = bounds
            .check(Timestamp::from_secs(2_000_000_000 - 86_401))
            .unwrap_err();
        assert!(old.contains("the retention (--retention 1d)"), "{old}");
        let off = super::bounds(
            now,
            None,
            &Retention {
                keep: None,
                ..Retention::default()
            },
        );
        assert_eq!(off, TimeBounds::new());
    }
}
