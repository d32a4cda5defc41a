//! Time bounds: the event times a parser refuses, such as times too far ahead of the
//! server's clock or older than what the store keeps, each bound named as the caller names it.

use crate::event::Timestamp;

/// The event times a [`WireParser`](super::WireParser) refuses
/// ([`WireParser::with_time_bounds`](super::WireParser::with_time_bounds)). An input without a
/// timestamp is never refused for its time (whoever ingests it stamps it with the receive
/// time). Times exactly at a bound are accepted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimeBounds {
    latest: Option<TimeBound>,
    earliest: Option<TimeBound>,
}

/// One bound: the time and how the caller names the limit that sets it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TimeBound {
    at: Timestamp,
    limit: String,
}

impl TimeBounds {
    /// No bound: every time in the supported range is accepted.
    pub fn new() -> TimeBounds {
        TimeBounds::default()
    }

    /// Refuses times later than `latest`. `limit` says how far ahead that is and what sets it,
    /// as it finishes "... is more than": with `5m ahead of the server's clock (--max-future)`
    /// the error reads `timestamp: 2100-01-01T00:00:00Z is more than 5m ahead of the server's
    /// clock (--max-future); send the event's real time`.
    pub fn not_after(mut self, latest: Timestamp, limit: impl Into<String>) -> TimeBounds {
        self.latest = Some(TimeBound {
            at: latest,
            limit: limit.into(),
        });
        self
    }

    /// Refuses times earlier than `earliest`, the oldest time the store keeps. `limit` names
    /// what sets it, as it finishes "... is older than": with `the retention (30d)` the error
    /// reads `timestamp: 2026-01-01T00:00:00Z is older than the retention (30d): it would be
    /// deleted at the next pass; send only events from 2026-10-23T08:00:00Z on`.
    pub fn not_before(mut self, earliest: Timestamp, limit: impl Into<String>) -> TimeBounds {
        self.earliest = Some(TimeBound {
            at: earliest,
            limit: limit.into(),
        });
        self
    }

    /// Checks one input's time against the bounds.
    ///
    /// # Errors
    ///
    /// A sentence naming the time, the limit and what to do instead.
    pub fn check(&self, timestamp: Timestamp) -> Result<(), String> {
        if let Some(latest) = &self.latest
            && timestamp > latest.at
        {
            return Err(format!(
                "{timestamp} is more than {}; send the event's real time",
                latest.limit
            ));
        }
        if let Some(earliest) = &self.earliest
            && timestamp < earliest.at
        {
            return Err(format!(
                "{timestamp} is older than {}: it would be deleted at the next pass; send only \
                 events from {} on",
                earliest.limit, earliest.at
            ));
        }
        Ok(())
    }
}
