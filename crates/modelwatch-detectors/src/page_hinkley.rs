//! The `page_hinkley` detector: an exact port of River 0.26.1's `drift.PageHinkley`.
//!
//! Must reproduce River's drift indices bit for bit: keep the floating-point operation order.

use crate::param::{Field, ParamReader, or_default};
use crate::{Explanation, Signal};

/// Which changes of the mean Page-Hinkley looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PageHinkleyMode {
    /// Increases only (`"up"`).
    Up,
    /// Decreases only (`"down"`).
    Down,
    /// Both (`"both"`, the default).
    Both,
}

impl PageHinkleyMode {
    /// The config name: `"up"`, `"down"` or `"both"`.
    pub fn as_str(self) -> &'static str {
        match self {
            PageHinkleyMode::Up => "up",
            PageHinkleyMode::Down => "down",
            PageHinkleyMode::Both => "both",
        }
    }

    /// The mode with config name `name`.
    pub fn from_name(name: &str) -> Option<PageHinkleyMode> {
        [
            PageHinkleyMode::Up,
            PageHinkleyMode::Down,
            PageHinkleyMode::Both,
        ]
        .into_iter()
        .find(|mode| mode.as_str() == name)
    }
}

/// Parameters of [`PageHinkley`], with River's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PageHinkleyParams {
    /// Points needed before a change can be signalled (default 30).
    pub min_instances: u64,
    /// Magnitude of change tolerated per point (default 0.005).
    pub delta: f64,
    /// Detection threshold lambda, `> 0` (default 50.0).
    pub threshold: f64,
    /// Forgetting factor of the cumulative sums, `0 < alpha <= 1` (default `1 - 0.0001`).
    pub alpha: f64,
    /// Which direction of change to detect (default both).
    pub mode: PageHinkleyMode,
}

impl Default for PageHinkleyParams {
    fn default() -> PageHinkleyParams {
        PageHinkleyParams {
            min_instances: 30,
            delta: 0.005,
            threshold: 50.0,
            alpha: 1.0 - 0.0001,
            mode: PageHinkleyMode::Both,
        }
    }
}

/// Largest `min_instances`: the point count is an `f64`, exact up to 2^53.
const MAX_MIN_INSTANCES: i64 = 1 << 53;

impl PageHinkleyParams {
    pub(crate) fn read(reader: &mut ParamReader<'_>) -> Option<PageHinkleyParams> {
        let defaults = PageHinkleyParams::default();
        let min_instances = reader.integer("min_instances", 1, MAX_MIN_INSTANCES);
        let delta = reader.float("delta");
        let threshold = reader.float_in("threshold", "> 0", |threshold| threshold > 0.0);
        let alpha = reader.float_in("alpha", "in (0, 1]", |alpha| alpha > 0.0 && alpha <= 1.0);
        let mode = match reader.string("mode") {
            Field::Absent => Field::Absent,
            Field::Invalid => Field::Invalid,
            Field::Valid(name) => match PageHinkleyMode::from_name(name) {
                Some(mode) => Field::Valid(mode),
                None => {
                    reader.error(
                        "mode",
                        format!("must be one of up, down, both; got `{name}`"),
                    );
                    Field::Invalid
                }
            },
        };
        Some(PageHinkleyParams {
            min_instances: or_default(min_instances, defaults.min_instances as i64)? as u64,
            delta: or_default(delta, defaults.delta)?,
            threshold: or_default(threshold, defaults.threshold)?,
            alpha: or_default(alpha, defaults.alpha)?,
            mode: or_default(mode, defaults.mode)?,
        })
    }
}

/// Page-Hinkley test for a change in the mean, exactly as River 0.26.1 computes it.
///
/// Per point: `n += 1; mean += (1/n) * (x - mean); dev = x - mean`, then
/// `s_inc = alpha * s_inc + dev - delta`, `s_dec = alpha * s_dec + dev + delta`, tracking
/// `min_inc = min(s_inc)` and `max_dec = max(s_dec)`. Once `n >= min_instances` a change is
/// `s_inc - min_inc > threshold` (up) and/or `max_dec - s_dec > threshold` (down).
///
/// River quirks reproduced on purpose:
/// - the mean is the plain cumulative mean (including `x`), not faded by `alpha`;
/// - `max_dec` starts at -1, not -inf;
/// - the drift flag is true for exactly one update: the next update first resets the whole
///   detector (mean, sums, count), so after a drift nothing can fire for `min_instances` points.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PageHinkley {
    params: PageHinkleyParams,
    min_instances: f64,
    watch_increase: bool,
    watch_decrease: bool,
    n: f64,
    mean: f64,
    sum_increase: f64,
    sum_decrease: f64,
    min_increase: f64,
    max_decrease: f64,
    drift_detected: bool,
}

impl PageHinkley {
    /// A detector that has seen nothing. Parameters are used as given; validate them with
    /// [`crate::DetectorSpec::parse`].
    pub fn new(params: PageHinkleyParams) -> PageHinkley {
        PageHinkley {
            params,
            min_instances: params.min_instances as f64,
            watch_increase: params.mode != PageHinkleyMode::Down,
            watch_decrease: params.mode != PageHinkleyMode::Up,
            n: 0.0,
            mean: 0.0,
            sum_increase: 0.0,
            sum_decrease: 0.0,
            min_increase: f64::INFINITY,
            max_decrease: -1.0,
            drift_detected: false,
        }
    }

    /// Takes one point and returns River's `drift_detected` after it.
    #[inline]
    pub fn update(&mut self, x: f64) -> bool {
        if self.drift_detected {
            self.reset_after_drift();
        }
        self.n += 1.0;
        self.mean += (1.0 / self.n) * (x - self.mean);
        let dev = x - self.mean;
        self.sum_increase = self.params.alpha * self.sum_increase + dev - self.params.delta;
        self.sum_decrease = self.params.alpha * self.sum_decrease + dev + self.params.delta;
        if self.sum_increase < self.min_increase {
            self.min_increase = self.sum_increase;
        }
        if self.sum_decrease > self.max_decrease {
            self.max_decrease = self.sum_decrease;
        }
        if self.n >= self.min_instances {
            let threshold = self.params.threshold;
            let up = self.watch_increase && self.sum_increase - self.min_increase > threshold;
            let down = self.watch_decrease && self.max_decrease - self.sum_decrease > threshold;
            self.drift_detected = up || down;
        }
        self.drift_detected
    }

    /// Takes one point: [`Signal::NotReady`] below `min_instances`, else stable or drift.
    #[inline]
    pub fn update_signal(&mut self, x: f64) -> Signal {
        if self.update(x) {
            Signal::Drift
        } else if self.n < self.min_instances {
            Signal::NotReady
        } else {
            Signal::Stable
        }
    }

    #[cold]
    #[inline(never)]
    fn reset_after_drift(&mut self) {
        self.reset();
    }

    /// Forgets everything, as if freshly built (River's `_reset`).
    pub fn reset(&mut self) {
        *self = PageHinkley::new(self.params);
    }

    /// Whether the latest update detected a change (River's `drift_detected`).
    pub fn drift_detected(&self) -> bool {
        self.drift_detected
    }

    /// Points seen since the last reset.
    pub fn n_seen(&self) -> u64 {
        self.n as u64
    }

    /// The cumulative mean since the last reset.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// The up-test statistic `s_inc - min_inc` (0.0 before the first point).
    pub fn increase_statistic(&self) -> f64 {
        if self.n == 0.0 {
            0.0
        } else {
            self.sum_increase - self.min_increase
        }
    }

    /// The down-test statistic `max_dec - s_dec` (0.0 before the first point).
    pub fn decrease_statistic(&self) -> f64 {
        if self.n == 0.0 {
            0.0
        } else {
            self.max_decrease - self.sum_decrease
        }
    }

    /// The parameters this detector was built with.
    pub fn params(&self) -> &PageHinkleyParams {
        &self.params
    }

    /// On drift the side that crossed (`"page_hinkley_up"` or `"page_hinkley_down"`, the larger
    /// if both did); otherwise the larger of the watched sides. The bound is the threshold.
    pub fn explain(&self) -> Explanation {
        let threshold = self.params.threshold;
        let up = self.increase_statistic();
        let down = self.decrease_statistic();
        let up_counts = self.watch_increase && (!self.drift_detected || up > threshold);
        let down_counts = self.watch_decrease && (!self.drift_detected || down > threshold);
        let (statistic, value) = match (up_counts, down_counts) {
            (true, true) if down > up => ("page_hinkley_down", down),
            (true, _) => ("page_hinkley_up", up),
            (false, true) => ("page_hinkley_down", down),
            (false, false) if self.watch_increase => ("page_hinkley_up", up),
            (false, false) => ("page_hinkley_down", down),
        };
        Explanation {
            statistic,
            value,
            bound: Some(threshold),
            n_seen: self.n_seen(),
            n_needed: self.params.min_instances,
        }
    }
}

#[cfg(test)]
mod tests;
