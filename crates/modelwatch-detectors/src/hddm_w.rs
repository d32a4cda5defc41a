//! The `hddm_w` detector: an exact port of River 0.26.1's `drift.binary.HDDMW` (McDiarmid's
//! bound drift detection with the weighted moving-average test, Frías-Blanco et al. 2014) over
//! a 0/1 error stream.
//!
//! Must reproduce River's drift and warning indices bit for bit: keep the floating-point
//! operation order.

use crate::ddm::change_signal;
use crate::hddm_a::is_confidence;
use crate::param::{ParamReader, or_default};
use crate::{Explanation, Signal};

/// Parameters of [`HddmW`], with River's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HddmWParams {
    /// Confidence of the drift test, in `(0, 1)`; also sets both cut points (default 0.001).
    pub drift_confidence: f64,
    /// Confidence of the warning test, in `(0, 1)` (default 0.005).
    pub warning_confidence: f64,
    /// Weight of the newest point in the exponentially weighted means, in `(0, 1]`
    /// (default 0.05).
    pub lambda_val: f64,
    /// Also detect a decrease of the error rate (default false: increases only).
    pub two_sided_test: bool,
}

impl Default for HddmWParams {
    fn default() -> HddmWParams {
        HddmWParams {
            drift_confidence: 0.001,
            warning_confidence: 0.005,
            lambda_val: 0.05,
            two_sided_test: false,
        }
    }
}

impl HddmWParams {
    pub(crate) fn read(reader: &mut ParamReader<'_>) -> Option<HddmWParams> {
        let defaults = HddmWParams::default();
        let drift_confidence = reader.float_in("drift_confidence", "in (0, 1)", is_confidence);
        let warning_confidence = reader.float_in("warning_confidence", "in (0, 1)", is_confidence);
        let lambda_val = reader.float_in("lambda_val", "in (0, 1]", |lambda| {
            lambda > 0.0 && lambda <= 1.0
        });
        let two_sided_test = reader.boolean("two_sided_test");
        Some(HddmWParams {
            drift_confidence: or_default(drift_confidence, defaults.drift_confidence)?,
            warning_confidence: or_default(warning_confidence, defaults.warning_confidence)?,
            lambda_val: or_default(lambda_val, defaults.lambda_val)?,
            two_sided_test: or_default(two_sided_test, defaults.two_sided_test)?,
        })
    }
}

/// River's `SampleInfo`: an exponentially weighted mean (River's Rust `EWMean`: the first value
/// as is, then `lambda * x + (1 - lambda) * mean`) and its independent bounded condition `ibc`.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Sample {
    ewma: f64,
    is_init: bool,
    ibc: f64,
}

/// A sample that has seen nothing.
const FRESH: Sample = Sample {
    ewma: 0.0,
    is_init: false,
    ibc: 1.0,
};

/// HDDM_W over a 0/1 error stream (1 = the prediction was wrong), exactly as River 0.26.1
/// computes it.
///
/// It keeps an exponentially weighted mean of every point since the last reset (`total`) with
/// its bounded condition `ibc = lambda^2 + (1 - lambda)^2 * ibc`. The increase cut point is a
/// copy of `total` taken where `total + sqrt(ibc * ln(1/drift_confidence) / 2)` was lowest; the
/// points after it feed a second weighted mean. The error rate increased when
/// `after - cut > sqrt((ibc_cut + ibc_after) * ln(1/c) / 2)`: drift at `c = drift_confidence`,
/// else warning at `c = warning_confidence`. With `two_sided_test`, the mirror test runs on a
/// decrease cut point taken where `total - bound` was highest.
///
/// River quirks reproduced on purpose:
/// - Both cut points always use `drift_confidence`, even for the warning test.
/// - The decrease side is tracked even when the test is one-sided (it cannot change the
///   result, only the cost).
/// - Two-sided: the decrease test only ever sets flags, after the increase test: a decrease
///   drift leaves an increase warning set (warning and drift together).
/// - `(1 - lambda)^2` is computed with `pow`, as CPython's `** 2` does, not as a product.
/// - The flags describe one update: the next update first resets the whole detector.
///
/// Input: the error is used arithmetically, as in River; the McDiarmid bounds assume values in
/// `[0, 1]` (other values run but the confidences lose their meaning). A NaN input makes the
/// means NaN for good: no signal until [`HddmW::reset`], as in River.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HddmW {
    params: HddmWParams,
    lambda: f64,
    one_minus_lambda: f64,
    lambda_squared: f64,
    one_minus_lambda_squared: f64,
    /// `ln(1 / drift_confidence)` and `ln(1 / warning_confidence)`, as River computes them.
    ln_inverse_drift: f64,
    ln_inverse_warning: f64,
    n: u64,
    total: Sample,
    increase_cut: Sample,
    increase_after: Sample,
    decrease_cut: Sample,
    decrease_after: Sample,
    increase_cut_point: f64,
    decrease_cut_point: f64,
    drift_detected: bool,
    warning_detected: bool,
}

impl HddmW {
    /// A detector that has seen nothing. Parameters are used as given; validate them with
    /// [`crate::DetectorSpec::parse`].
    pub fn new(params: HddmWParams) -> HddmW {
        let lambda = params.lambda_val;
        HddmW {
            params,
            lambda,
            one_minus_lambda: 1.0 - lambda,
            lambda_squared: lambda * lambda,
            // CPython's `(1 - lambd) ** 2` calls libm's `pow`, which can differ from the
            // product in the last bit; `black_box` keeps LLVM from rewriting it as the product.
            one_minus_lambda_squared: (1.0 - lambda).powf(std::hint::black_box(2.0)),
            ln_inverse_drift: (1.0 / params.drift_confidence).ln(),
            ln_inverse_warning: (1.0 / params.warning_confidence).ln(),
            n: 0,
            total: FRESH,
            increase_cut: FRESH,
            increase_after: FRESH,
            decrease_cut: FRESH,
            decrease_after: FRESH,
            increase_cut_point: f64::INFINITY,
            decrease_cut_point: f64::NEG_INFINITY,
            drift_detected: false,
            warning_detected: false,
        }
    }

    /// River's `SampleInfo.update`.
    #[inline]
    fn feed(&self, sample: &mut Sample, x: f64) {
        sample.ewma = if sample.is_init {
            self.lambda * x + self.one_minus_lambda * sample.ewma
        } else {
            x
        };
        sample.is_init = true;
        sample.ibc = self.lambda_squared + self.one_minus_lambda_squared * sample.ibc;
    }

    /// Takes one error (1 = wrong) and returns River's `drift_detected` after it.
    #[inline]
    pub fn update(&mut self, x: f64) -> bool {
        if self.drift_detected {
            self.reset_after_drift();
        }
        self.n += 1;
        let mut total = self.total;
        self.feed(&mut total, x);
        self.total = total;
        let epsilon = (total.ibc * self.ln_inverse_drift / 2.0).sqrt();

        if total.ewma + epsilon < self.increase_cut_point {
            self.increase_cut_point = total.ewma + epsilon;
            self.increase_cut = total;
            self.increase_after = FRESH;
        } else {
            let mut after = self.increase_after;
            self.feed(&mut after, x);
            self.increase_after = after;
        }
        let (drift, warning) = match self.test(self.increase_cut, self.increase_after) {
            Level::Drift => (true, false),
            Level::Warning => (false, true),
            Level::None => (false, false),
        };
        self.drift_detected = drift;
        self.warning_detected = warning;

        if total.ewma - epsilon > self.decrease_cut_point {
            self.decrease_cut_point = total.ewma - epsilon;
            self.decrease_cut = total;
            self.decrease_after = FRESH;
        } else {
            let mut after = self.decrease_after;
            self.feed(&mut after, x);
            self.decrease_after = after;
        }
        if self.params.two_sided_test {
            match self.test(self.decrease_after, self.decrease_cut) {
                Level::Drift => self.drift_detected = true,
                Level::Warning => self.warning_detected = true,
                Level::None => {}
            }
        }
        self.drift_detected
    }

    /// River's `_has_mean_changed(low, high, c)` at the drift, then the warning confidence:
    /// whether `high.ewma - low.ewma` exceeds McDiarmid's bound.
    #[inline]
    fn test(&self, low: Sample, high: Sample) -> Level {
        if !(low.is_init && high.is_init) {
            return Level::None;
        }
        let ibc_sum = low.ibc + high.ibc;
        let difference = high.ewma - low.ewma;
        if difference > (ibc_sum * self.ln_inverse_drift / 2.0).sqrt() {
            Level::Drift
        } else if difference > (ibc_sum * self.ln_inverse_warning / 2.0).sqrt() {
            Level::Warning
        } else {
            Level::None
        }
    }

    /// `(high - low, drift bound)`; the bound is `None` until both samples have a point.
    fn difference(&self, low: Sample, high: Sample) -> (f64, Option<f64>) {
        if low.is_init && high.is_init {
            let bound = ((low.ibc + high.ibc) * self.ln_inverse_drift / 2.0).sqrt();
            (high.ewma - low.ewma, Some(bound))
        } else {
            (0.0, None)
        }
    }

    /// Takes one error: [`Signal::Drift`], else [`Signal::Warning`] while River's warning flag
    /// is set, else [`Signal::NotReady`] on the first point since the last reset (it is its own
    /// cut point), else [`Signal::Stable`].
    #[inline]
    pub fn update_signal(&mut self, x: f64) -> Signal {
        let drift = self.update(x);
        change_signal(drift, self.warning_detected, self.n >= 2)
    }

    #[cold]
    #[inline(never)]
    fn reset_after_drift(&mut self) {
        self.reset();
    }

    /// Forgets everything, as if freshly built (River's `_reset`).
    pub fn reset(&mut self) {
        *self = HddmW::new(self.params);
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
        self.n
    }

    /// The exponentially weighted error rate since the last reset (0 before the first point).
    pub fn weighted_error_rate(&self) -> f64 {
        self.total.ewma
    }

    /// The parameters this detector was built with.
    pub fn params(&self) -> &HddmWParams {
        &self.params
    }

    /// `"ewma_increase"` (weighted mean after the increase cut point minus the one at it) with
    /// its drift bound, or with `two_sided_test` `"ewma_decrease"` when that side is closer to
    /// (or past) its bound. The bound is `None` until the side has points after its cut point.
    pub fn explain(&self) -> Explanation {
        let increase = self.difference(self.increase_cut, self.increase_after);
        let decrease = self.difference(self.decrease_after, self.decrease_cut);
        let margin = |(value, bound): (f64, Option<f64>)| match bound {
            Some(bound) => value - bound,
            None => f64::NEG_INFINITY,
        };
        let ((value, bound), statistic) =
            if self.params.two_sided_test && margin(decrease) > margin(increase) {
                (decrease, "ewma_decrease")
            } else {
                (increase, "ewma_increase")
            };
        Explanation {
            statistic,
            value,
            bound,
            n_seen: self.n,
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
