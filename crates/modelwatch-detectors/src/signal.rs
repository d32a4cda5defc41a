//! What a detector reports after each point: the [`Signal`], the [`Condition`] a state statistic
//! is compared with, and the [`Explanation`] of the latest update.

/// Which side of a bound counts as a breach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Direction {
    /// Breached while the statistic is strictly below the bound (accuracy-like metrics).
    Below,
    /// Breached while the statistic is strictly above the bound (latency-like metrics).
    Above,
}

impl Direction {
    /// The parameter name that selects this direction: `"below"` or `"above"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Below => "below",
            Direction::Above => "above",
        }
    }
}

/// The condition a state detector's statistic is compared with, with optional hysteresis.
///
/// An alert starts when [`Condition::breached`] holds and ends when [`Condition::cleared`] holds.
/// Without `resolve` the two are exact complements; with `resolve` there is a dead band between
/// the bound and the resolve level in which neither holds, so a firing alert stays firing.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Condition {
    /// Which side of `bound` is bad.
    pub direction: Direction,
    /// The level the statistic must cross (strictly) to breach.
    pub bound: f64,
    /// The level the statistic must reach again to clear; `None` means `bound`.
    /// For [`Direction::Below`] it is `>= bound`, for [`Direction::Above`] it is `<= bound`.
    pub resolve: Option<f64>,
}

impl Condition {
    /// Breached while `statistic < bound` (below) or `statistic > bound` (above). NaN never breaches.
    #[inline]
    pub fn breached(&self, statistic: f64) -> bool {
        match self.direction {
            Direction::Below => statistic < self.bound,
            Direction::Above => statistic > self.bound,
        }
    }

    /// Cleared once `statistic >= resolve` (below) or `statistic <= resolve` (above), where
    /// `resolve` defaults to the bound. NaN never clears.
    #[inline]
    pub fn cleared(&self, statistic: f64) -> bool {
        let level = self.resolve.unwrap_or(self.bound);
        match self.direction {
            Direction::Below => statistic >= level,
            Direction::Above => statistic <= level,
        }
    }
}

/// What a detector says about the point it was just given.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Signal {
    /// Not enough data yet: below `min_samples` (state detectors), below `min_instances`
    /// (Page-Hinkley) or within the grace period (ADWIN); for the binary detectors, see each
    /// one's `update_signal` (e.g. DDM through its warm start, FHDDM until its window is full).
    NotReady,
    /// The current statistic of a state detector; compare it with the spec's [`Condition`].
    Statistic(f64),
    /// A change detector saw no change at this point.
    Stable,
    /// A change detector is in its warning zone (DDM, EDDM, HDDM_A and HDDM_W: River's
    /// `warning_detected` on a step without drift).
    Warning,
    /// A change detector found a change point at this point. The next update starts afresh.
    Drift,
}

/// Why a detector said what it said: the state right after the most recent update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Explanation {
    /// The name of the statistic, e.g. `"ema"`, `"page_hinkley_up"`, `"mean_difference"`.
    pub statistic: &'static str,
    /// Its value (0.0 before the first update).
    pub value: f64,
    /// The bound it is compared with, when there is one.
    pub bound: Option<f64>,
    /// How many points the statistic covers (since the last reset, or in the window).
    pub n_seen: u64,
    /// The minimum count before the detector can signal.
    pub n_needed: u64,
}

#[cfg(test)]
mod tests;
