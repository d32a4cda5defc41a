//! The `hddm_a` detector: an exact port of River 0.26.1's `drift.binary.HDDMA` (Hoeffding's
//! bound drift detection with the moving-average test, Frías-Blanco et al. 2014) over a 0/1
//! error stream.
//!
//! Must reproduce River's drift and warning indices bit for bit: keep the floating-point
//! operation order.

use crate::ddm::change_signal;
use crate::param::{ParamReader, or_default};
use crate::{Explanation, Signal};

/// Parameters of [`HddmA`], with River's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HddmAParams {
    /// Confidence of the drift test, in `(0, 1)`; also sets both cut points (default 0.001).
    pub drift_confidence: f64,
    /// Confidence of the warning test, in `(0, 1)` (default 0.005).
    pub warning_confidence: f64,
    /// Also detect a decrease of the error rate (default false: increases only).
    pub two_sided_test: bool,
}

impl Default for HddmAParams {
    fn default() -> HddmAParams {
        HddmAParams {
            drift_confidence: 0.001,
            warning_confidence: 0.005,
            two_sided_test: false,
        }
    }
}

/// `0 < confidence < 1`: the bounds take `ln(1 / confidence)`.
pub(crate) fn is_confidence(confidence: f64) -> bool {
    confidence > 0.0 && confidence < 1.0
}

impl HddmAParams {
    pub(crate) fn read(reader: &mut ParamReader<'_>) -> Option<HddmAParams> {
        let defaults = HddmAParams::default();
        let drift_confidence = reader.float_in("drift_confidence", "in (0, 1)", is_confidence);
        let warning_confidence = reader.float_in("warning_confidence", "in (0, 1)", is_confidence);
        let two_sided_test = reader.boolean("two_sided_test");
        Some(HddmAParams {
            drift_confidence: or_default(drift_confidence, defaults.drift_confidence)?,
            warning_confidence: or_default(warning_confidence, defaults.warning_confidence)?,
            two_sided_test: or_default(two_sided_test, defaults.two_sided_test)?,
        })
    }
}

/// A running mean with River's `stats.Mean` update, and the Hoeffding bound of its count.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Cut {
    n: f64,
    mean: f64,
    /// `hoeffding_bound(n)`: a function of `n` alone, kept with the copy instead of recomputed.
    bound: f64,
}

/// HDDM_A over a 0/1 error stream (1 = the prediction was wrong), exactly as River 0.26.1
/// computes it.
///
/// It keeps the running mean `z` of every point since the last reset and two cut points,
/// copies of `z` taken where `z`'s Hoeffding lower (`x_min`) or upper (`x_max`) bound was the
/// most extreme so far, with `bound(n) = sqrt(1/(2n) * ln(1/drift_confidence))`. The error rate
/// increased when `z - x_min >= sqrt(m/2 * ln(2/c))` with
/// `m = (n_z - n_min) / n_min * (1/n_z)`: drift at `c = drift_confidence`, else warning at
/// `c = warning_confidence`. With `two_sided_test`, `x_max - z` is tested the same way.
///
/// River quirks reproduced on purpose:
/// - Both cut points always use `drift_confidence`, even for the warning test.
/// - Two-sided: the decrease test only ever sets flags, after the increase test: a decrease
///   drift leaves an increase warning set (warning and drift together), and a decrease warning
///   can accompany an increase drift.
/// - The flags describe one update: the next update first resets the whole detector.
///
/// Input: the error is used arithmetically, as in River; the Hoeffding bounds assume values in
/// `[0, 1]` (other values run but the confidences lose their meaning). A NaN input makes the
/// mean NaN for good: no signal until [`HddmA::reset`], as in River.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HddmA {
    params: HddmAParams,
    /// `ln(1 / drift_confidence)`, as River computes it for every bound.
    ln_inverse_drift: f64,
    /// `ln(2 / drift_confidence)` and `ln(2 / warning_confidence)`, for the tests.
    ln_two_over_drift: f64,
    ln_two_over_warning: f64,
    z: Cut,
    x_min: Cut,
    x_max: Cut,
    drift_detected: bool,
    warning_detected: bool,
}

/// A cut point before the first point: River's empty `stats.Mean`.
const EMPTY: Cut = Cut {
    n: 0.0,
    mean: 0.0,
    bound: f64::INFINITY,
};

impl HddmA {
    /// A detector that has seen nothing. Parameters are used as given; validate them with
    /// [`crate::DetectorSpec::parse`].
    pub fn new(params: HddmAParams) -> HddmA {
        HddmA {
            params,
            ln_inverse_drift: (1.0 / params.drift_confidence).ln(),
            ln_two_over_drift: (2.0 / params.drift_confidence).ln(),
            ln_two_over_warning: (2.0 / params.warning_confidence).ln(),
            z: EMPTY,
            x_min: EMPTY,
            x_max: EMPTY,
            drift_detected: false,
            warning_detected: false,
        }
    }

    /// Takes one error (1 = wrong) and returns River's `drift_detected` after it.
    #[inline]
    pub fn update(&mut self, x: f64) -> bool {
        if self.drift_detected {
            self.reset_after_drift();
        }
        self.z.n += 1.0;
        self.z.mean += (1.0 / self.z.n) * (x - self.z.mean);
        self.z.bound = (1.0 / (2.0 * self.z.n) * self.ln_inverse_drift).sqrt();
        let z = self.z;
        if self.x_min.n == 0.0 {
            self.x_min = z;
        }
        if self.x_max.n == 0.0 {
            self.x_max = z;
        }
        if self.x_min.mean + self.x_min.bound >= z.mean + z.bound {
            self.x_min = z;
        }
        if self.x_max.mean - self.x_max.bound <= z.mean - z.bound {
            self.x_max = z;
        }
        let (drift, warning) = match self.test(self.x_min, z.mean - self.x_min.mean) {
            Level::Drift => (true, false),
            Level::Warning => (false, true),
            Level::None => (false, false),
        };
        self.drift_detected = drift;
        self.warning_detected = warning;
        if self.params.two_sided_test {
            match self.test(self.x_max, self.x_max.mean - z.mean) {
                Level::Drift => self.drift_detected = true,
                Level::Warning => self.warning_detected = true,
                Level::None => {}
            }
        }
        self.drift_detected
    }

    /// River's `_mean_incr` / `_mean_decr` at the drift, then the warning confidence: whether
    /// `difference` (the change since cut point `cut`) reaches the bound.
    #[inline]
    fn test(&self, cut: Cut, difference: f64) -> Level {
        if cut.n == self.z.n {
            return Level::None;
        }
        let m = (self.z.n - cut.n) / cut.n * (1.0 / self.z.n);
        if difference >= (m / 2.0 * self.ln_two_over_drift).sqrt() {
            Level::Drift
        } else if difference >= (m / 2.0 * self.ln_two_over_warning).sqrt() {
            Level::Warning
        } else {
            Level::None
        }
    }

    /// The drift bound on the change since cut point `cut`; `None` while `cut` is `z` itself.
    fn drift_bound(&self, cut: Cut) -> Option<f64> {
        (cut.n != self.z.n).then(|| {
            let m = (self.z.n - cut.n) / cut.n * (1.0 / self.z.n);
            (m / 2.0 * self.ln_two_over_drift).sqrt()
        })
    }

    /// Takes one error: [`Signal::Drift`], else [`Signal::Warning`] while River's warning flag
    /// is set, else [`Signal::NotReady`] on the first point since the last reset (it is its own
    /// cut point), else [`Signal::Stable`].
    #[inline]
    pub fn update_signal(&mut self, x: f64) -> Signal {
        let drift = self.update(x);
        change_signal(drift, self.warning_detected, self.z.n >= 2.0)
    }

    #[cold]
    #[inline(never)]
    fn reset_after_drift(&mut self) {
        self.reset();
    }

    /// Forgets everything, as if freshly built (River's `_reset`).
    pub fn reset(&mut self) {
        *self = HddmA::new(self.params);
    }

    /// Whether the latest update detected a drift (River's `drift_detected`).
    pub fn drift_detected(&self) -> bool {
        self.drift_detected
    }

    /// River's `warning_detected`; with `two_sided_test` it can be true on a drift step.
    pub fn warning_detected(&self) -> bool {
        self.warning_detected
    }

    /// Points seen since the last reset.
    pub fn n_seen(&self) -> u64 {
        self.z.n as u64
    }

    /// The error rate since the last reset.
    pub fn error_rate(&self) -> f64 {
        self.z.mean
    }

    /// The parameters this detector was built with.
    pub fn params(&self) -> &HddmAParams {
        &self.params
    }

    /// `"mean_increase"` (`z - x_min`) with its drift bound, or with `two_sided_test`
    /// `"mean_decrease"` (`x_max - z`) when that side is closer to (or past) its bound. The
    /// bound is `None` while the cut point is the current point.
    pub fn explain(&self) -> Explanation {
        let increase = (self.z.mean - self.x_min.mean, self.drift_bound(self.x_min));
        let decrease = (self.x_max.mean - self.z.mean, self.drift_bound(self.x_max));
        let margin = |(value, bound): (f64, Option<f64>)| match bound {
            Some(bound) => value - bound,
            None => f64::NEG_INFINITY,
        };
        let ((value, bound), statistic) =
            if self.params.two_sided_test && margin(decrease) > margin(increase) {
                (decrease, "mean_decrease")
            } else {
                (increase, "mean_increase")
            };
        Explanation {
            statistic,
            value,
            bound,
            n_seen: self.n_seen(),
            n_needed: 2,
        }
    }
}

/// The outcome of one side's test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Drift,
    Warning,
    None,
}

#[cfg(test)]
mod tests;
