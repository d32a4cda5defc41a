//! The `cusum` detector: Page's two-sided tabular CUSUM for a shift of the mean (our own detector;
//! River has no counterpart).
//!
//! `tools/cusum_reference.py` implements the same specification independently; the fixtures it
//! writes (`tests/cusum/`) must be reproduced exactly, so keep the floating-point operation order.

use crate::param::{Field, ParamReader, or_default};
use crate::{Explanation, Signal};

/// Which shifts of the mean CUSUM looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum CusumMode {
    /// Increases only (`"up"`).
    Up,
    /// Decreases only (`"down"`).
    Down,
    /// Both (`"both"`, the default).
    Both,
}

impl CusumMode {
    /// The config name: `"up"`, `"down"` or `"both"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CusumMode::Up => "up",
            CusumMode::Down => "down",
            CusumMode::Both => "both",
        }
    }

    /// The mode with config name `name`.
    pub fn from_name(name: &str) -> Option<CusumMode> {
        [CusumMode::Up, CusumMode::Down, CusumMode::Both]
            .into_iter()
            .find(|mode| mode.as_str() == name)
    }
}

/// Parameters of [`Cusum`].
///
/// `k` and `h` are in the metric's own units. The defaults (`k = 0.5`, `h = 5.0`) are the
/// textbook values for a metric with unit standard deviation (detect a one-sigma shift); for any
/// other metric scale them by its standard deviation, e.g. `k = 0.01, h = 0.1` for an accuracy
/// that wobbles by about 0.02.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CusumParams {
    /// The in-control mean. When `None` (the default) it is estimated from the first `warm_up`
    /// points after every (re)start.
    pub target: Option<f64>,
    /// Slack (allowance) subtracted from every deviation, `>= 0` (default 0.5).
    pub k: f64,
    /// Decision threshold, `> 0` (default 5.0): a drift is a watched sum strictly above it.
    pub h: f64,
    /// Points that estimate the mean when there is no `target`, `>= 1` (default 30). Giving it
    /// together with `target` is rejected by [`crate::DetectorSpec::parse`].
    pub warm_up: u64,
    /// Which direction of shift to detect (default both).
    pub mode: CusumMode,
}

impl Default for CusumParams {
    fn default() -> CusumParams {
        CusumParams {
            target: None,
            k: 0.5,
            h: 5.0,
            warm_up: 30,
            mode: CusumMode::Both,
        }
    }
}

/// Largest `warm_up`: the mean divides by `warm_up as f64`, exact up to 2^53.
const MAX_WARM_UP: i64 = 1 << 53;

impl CusumParams {
    pub(crate) fn read(reader: &mut ParamReader<'_>) -> Option<CusumParams> {
        let defaults = CusumParams::default();
        let target = reader.float("target");
        let k = reader.float_in("k", ">= 0", |k| k >= 0.0);
        let h = reader.float_in("h", "> 0", |h| h > 0.0);
        let mut warm_up = reader.integer("warm_up", 1, MAX_WARM_UP);
        if target.is_present() && warm_up.is_present() {
            reader.error(
                "warm_up",
                "only applies without `target` (it is the number of points that estimate the mean); give one or the other",
            );
            warm_up = Field::Invalid;
        }
        let mode = match reader.string("mode") {
            Field::Absent => Field::Absent,
            Field::Invalid => Field::Invalid,
            Field::Valid(name) => match CusumMode::from_name(name) {
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
        let target = match target {
            Field::Absent => None,
            Field::Valid(target) => Some(target),
            Field::Invalid => return None,
        };
        Some(CusumParams {
            target,
            k: or_default(k, defaults.k)?,
            h: or_default(h, defaults.h)?,
            warm_up: or_default(warm_up, defaults.warm_up as i64)? as u64,
            mode: or_default(mode, defaults.mode)?,
        })
    }
}

/// Page's tabular CUSUM: two one-sided cumulative sums of the deviations from an in-control mean,
/// each less a slack `k`, floored at zero; a drift is a watched sum strictly above `h`.
///
/// Exactly, in this floating-point order (the reference `tools/cusum_reference.py` must agree
/// bit for bit):
///
/// - **Mean.** With `target`, `mean = target` and every point is scored. Without it, the first
///   `warm_up` points after every (re)start only estimate the mean: `total += x` in arrival order,
///   then `mean = total / warm_up as f64` once the `warm_up`-th point is in. During the warm-up
///   (including its last point) the sums stay 0, nothing can drift and
///   [`Cusum::update_signal`] returns [`Signal::NotReady`].
/// - **Sums**, per scored point `x`:
///   `s_up = max(0.0, s_up + ((x - mean) - k))` and
///   `s_down = max(0.0, s_down + ((mean - x) - k))`, where `max(0.0, v)` is `v` if `v > 0.0`
///   else `0.0` (so a NaN sum becomes 0.0, like Python's `max(0.0, v)`). Both sums are always
///   computed, whatever the mode; only the watched ones are tested and explained.
/// - **Drift**: `(mode watches up && s_up > h) || (mode watches down && s_down > h)`.
/// - **After a drift**, like River's detectors, the next update first resets everything: both
///   sums to 0 and, without `target`, the mean is estimated again from the next `warm_up` points.
///
/// There is no warning zone: [`Cusum::warning_detected`] is always false.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Cusum {
    params: CusumParams,
    watch_up: bool,
    watch_down: bool,
    /// The in-control mean: the target, or the estimate once the warm-up is over.
    mean: Option<f64>,
    /// Sum of the warm-up points so far (no target only).
    total: f64,
    /// Points since the last reset.
    n: u64,
    sum_up: f64,
    sum_down: f64,
    drift_detected: bool,
}

/// Python's `max(0.0, value)`: `value` only if it is strictly greater than zero.
#[inline]
fn floor_at_zero(value: f64) -> f64 {
    if value > 0.0 { value } else { 0.0 }
}

impl Cusum {
    /// A detector that has seen nothing. Parameters are used as given; validate them with
    /// [`crate::DetectorSpec::parse`].
    pub fn new(params: CusumParams) -> Cusum {
        Cusum {
            params,
            watch_up: params.mode != CusumMode::Down,
            watch_down: params.mode != CusumMode::Up,
            mean: params.target,
            total: 0.0,
            n: 0,
            sum_up: 0.0,
            sum_down: 0.0,
            drift_detected: false,
        }
    }

    /// Takes one point and returns whether it completed a drift (the `drift_detected` flag).
    #[inline]
    pub fn update(&mut self, x: f64) -> bool {
        if self.drift_detected {
            self.reset_after_drift();
        }
        self.n += 1;
        let Some(mean) = self.mean else {
            self.total += x;
            if self.n == self.params.warm_up {
                self.mean = Some(self.total / self.params.warm_up as f64);
            }
            return false;
        };
        let k = self.params.k;
        self.sum_up = floor_at_zero(self.sum_up + ((x - mean) - k));
        self.sum_down = floor_at_zero(self.sum_down + ((mean - x) - k));
        let h = self.params.h;
        self.drift_detected =
            (self.watch_up && self.sum_up > h) || (self.watch_down && self.sum_down > h);
        self.drift_detected
    }

    /// Takes one point: [`Signal::NotReady`] for warm-up points, else stable or drift.
    #[inline]
    pub fn update_signal(&mut self, x: f64) -> Signal {
        if self.update(x) {
            Signal::Drift
        } else if self.in_warm_up() {
            Signal::NotReady
        } else {
            Signal::Stable
        }
    }

    /// Whether the latest point only went into the mean estimate.
    fn in_warm_up(&self) -> bool {
        self.params.target.is_none() && self.n <= self.params.warm_up
    }

    #[cold]
    #[inline(never)]
    fn reset_after_drift(&mut self) {
        self.reset();
    }

    /// Forgets everything, as if freshly built; without `target` the mean is estimated again.
    pub fn reset(&mut self) {
        *self = Cusum::new(self.params);
    }

    /// Whether the latest update detected a shift.
    pub fn drift_detected(&self) -> bool {
        self.drift_detected
    }

    /// Always false: CUSUM has no warning zone.
    pub fn warning_detected(&self) -> bool {
        false
    }

    /// Points seen since the last reset, warm-up points included.
    pub fn n_seen(&self) -> u64 {
        self.n
    }

    /// The in-control mean: the target, or the estimate once the warm-up is over.
    pub fn mean(&self) -> Option<f64> {
        self.mean
    }

    /// The upper sum `s_up` (0.0 during the warm-up).
    pub fn up_statistic(&self) -> f64 {
        self.sum_up
    }

    /// The lower sum `s_down` (0.0 during the warm-up).
    pub fn down_statistic(&self) -> f64 {
        self.sum_down
    }

    /// The parameters this detector was built with.
    pub fn params(&self) -> &CusumParams {
        &self.params
    }

    /// On drift the side that crossed (`"cusum_up"` or `"cusum_down"`, the larger if both
    /// did); otherwise the larger of the watched sides (up on a tie). The bound is `h`;
    /// `n_needed` is `warm_up` without target (the points that only estimate the mean), else 1.
    pub fn explain(&self) -> Explanation {
        let h = self.params.h;
        let up = self.sum_up;
        let down = self.sum_down;
        let up_counts = self.watch_up && (!self.drift_detected || up > h);
        let down_counts = self.watch_down && (!self.drift_detected || down > h);
        let (statistic, value) = match (up_counts, down_counts) {
            (true, true) if down > up => ("cusum_down", down),
            (true, _) => ("cusum_up", up),
            (false, _) => ("cusum_down", down),
        };
        Explanation {
            statistic,
            value,
            bound: Some(h),
            n_seen: self.n,
            n_needed: match self.params.target {
                Some(_) => 1,
                None => self.params.warm_up,
            },
        }
    }
}

#[cfg(test)]
mod tests;
