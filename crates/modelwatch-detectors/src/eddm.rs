//! The `eddm` detector: an exact port of River 0.26.1's `drift.binary.EDDM` (Early Drift
//! Detection Method, Baena-García et al. 2006) over a 0/1 error stream.
//!
//! Must reproduce River's drift and warning indices bit for bit: keep the floating-point
//! operation order, and take the square root as River does (`** 0.5`, glibc's `pow`).

use crate::ddm::change_signal;
use crate::param::{ParamReader, or_default};
use crate::{Explanation, Signal};

/// Parameters of [`Eddm`], with River's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct EddmParams {
    /// Points and errors needed before the tests start: a point is tested only once more than
    /// `warm_start` points and more than `warm_start` errors were seen (default 30).
    pub warm_start: u64,
    /// Warning level: warning while the ratio to the maximum is below it; `beta <= alpha <= 1`
    /// (default 0.95).
    pub alpha: f64,
    /// Drift level: drift when the ratio to the maximum drops below it; `0 < beta <= alpha`
    /// (default 0.9).
    pub beta: f64,
}

impl Default for EddmParams {
    fn default() -> EddmParams {
        EddmParams {
            warm_start: 30,
            alpha: 0.95,
            beta: 0.9,
        }
    }
}

/// Largest `warm_start`: error distances are converted to `f64`, exact up to 2^53.
const MAX_WARM_START: i64 = 1 << 53;

impl EddmParams {
    pub(crate) fn read(reader: &mut ParamReader<'_>) -> Option<EddmParams> {
        let defaults = EddmParams::default();
        let warm_start = reader.integer("warm_start", 0, MAX_WARM_START);
        let alpha = reader.float_in("alpha", "in (0, 1]", |alpha| alpha > 0.0 && alpha <= 1.0);
        let beta = reader.float_in("beta", "in (0, 1]", |beta| beta > 0.0 && beta <= 1.0);
        let alpha_value = or_default(alpha, defaults.alpha);
        let beta_value = or_default(beta, defaults.beta);
        if let (Some(alpha_value), Some(beta_value)) = (alpha_value, beta_value)
            && alpha_value < beta_value
        {
            // River: ValueError("'alpha' must be greater or equal to 'beta'.").
            reader.error(
                "alpha",
                format!("must be >= beta ({beta_value}), got {alpha_value}"),
            );
            return None;
        }
        Some(EddmParams {
            warm_start: or_default(warm_start, defaults.warm_start as i64)? as u64,
            alpha: alpha_value?,
            beta: beta_value?,
        })
    }
}

/// EDDM over a 0/1 error stream (1 = the prediction was wrong), exactly as River 0.26.1
/// computes it.
///
/// It watches the distance (in points) between consecutive errors. On each error: the
/// distance joins a running mean and sample variance (Welford); once more than `warm_start`
/// points were seen, `p2s = mean + 2 * var ** 0.5`. A new maximum of `p2s` is recorded and
/// nothing else happens; otherwise, once more than `warm_start` errors were seen,
/// `level = p2s / max` gives drift if `level < beta`, else warning if `level < alpha`, else no
/// warning.
///
/// River quirks reproduced on purpose:
/// - **Sticky warning:** the warning flag changes only on inputs equal to 1 that are tested;
///   it stays set through runs of 0s and through a new maximum.
/// - On a drift step the warning flag is left as it was (it can be true together with drift).
/// - The first distance is measured from point 0, so it is the index of the first error plus 1.
/// - The flags describe one update: the next update first resets the whole detector, so after
///   a drift it needs `warm_start + 1` new errors before it can fire again.
///
/// Input: only an input equal to `1.0` is an error; every other value (0, 0.5, 2, NaN, ...)
/// counts as a correct prediction, as River's `x == 1`.
///
/// Speed: River's `var ** 0.5` (glibc's `pow`), the variance's division and `p2s / max` are kept
/// off the hot path. An estimate of `p2s` from `S * (1/(n-1))` (the previous error's
/// reciprocal) and a single-precision square root is within a relative `2^-22` of River's; a
/// comparison is taken from it only when it clears the compared value by a relative `2^-20`
/// (`p2s` against the maximum, and against `beta * max` and `alpha * max` for the level).
/// Otherwise, and for every new maximum, the error runs River's arithmetic as written. Either
/// way every flag is River's.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Eddm {
    params: EddmParams,
    /// `warm_start` as `f64`.
    warm_start: f64,
    /// Points seen and the point of the latest error, as `f64` (exact up to 2^53) so that
    /// distances need no integer conversion.
    n: f64,
    n_errors: u64,
    last_error: f64,
    /// River's `stats.Var` of the distances: count, mean and sum of squared deviations.
    distance_n: f64,
    distance_mean: f64,
    distance_sum_squares: f64,
    /// `1 / distance_n` as of the latest error.
    reciprocal: f64,
    p2s_max: f64,
    /// `beta * max` and `alpha * max`, each times `1 - 2^-20` and `1 + 2^-20`.
    drift_level: (f64, f64),
    warning_level: (f64, f64),
    drift_detected: bool,
    warning_detected: bool,
}

/// `1 - 2^-20` and `1 + 2^-20`: the margin on estimates within `2^-22` of River's values.
const DOWN: f64 = 1.0 - 1.0 / 1_048_576.0;
const UP: f64 = 1.0 + 1.0 / 1_048_576.0;

/// The variance estimates with a single-precision square root: normal `f32` values.
const ESTIMATED_VARIANCES: std::ops::RangeInclusive<f64> = 1e-30..=1e30;

impl Eddm {
    /// A detector that has seen nothing. Parameters are used as given; validate them with
    /// [`crate::DetectorSpec::parse`].
    pub fn new(params: EddmParams) -> Eddm {
        Eddm {
            params,
            warm_start: params.warm_start as f64,
            n: 0.0,
            n_errors: 0,
            last_error: 0.0,
            distance_n: 0.0,
            distance_mean: 0.0,
            distance_sum_squares: 0.0,
            reciprocal: f64::INFINITY,
            p2s_max: -1.0,
            drift_level: (f64::NAN, f64::NAN),
            warning_level: (f64::NAN, f64::NAN),
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
        self.n += 1.0;
        if x == 1.0 {
            self.error();
        }
        self.drift_detected
    }

    /// River's `if x == 1:` branch.
    #[inline]
    fn error(&mut self) {
        self.n_errors += 1;
        let distance = self.n - self.last_error;
        self.last_error = self.n;
        let mean_old = self.distance_mean;
        self.distance_n += 1.0;
        let reciprocal = 1.0 / self.distance_n;
        self.distance_mean += reciprocal * (distance - self.distance_mean);
        self.distance_sum_squares += (distance - mean_old) * (distance - self.distance_mean);
        // `1 / (distance_n - 1)`, as the previous error computed it.
        let previous_reciprocal = std::mem::replace(&mut self.reciprocal, reciprocal);
        if self.n > self.warm_start && !self.estimated_test(previous_reciprocal) {
            self.exact_test();
        }
    }

    /// River's test from the estimate of `p2s`; false (and nothing changed) when it cannot
    /// decide, or for a new maximum.
    #[inline]
    fn estimated_test(&mut self, previous_reciprocal: f64) -> bool {
        // Within a relative 2^-51 of River's `S / (n - 1)` (`distance_n > 1` here: the first
        // error gives an infinite reciprocal and a NaN or infinite product).
        let variance = self.distance_sum_squares * previous_reciprocal;
        if !ESTIMATED_VARIANCES.contains(&variance) {
            return false;
        }
        let p2s = self.distance_mean + 2.0 * f64::from((variance as f32).sqrt());
        let (low, high) = (p2s * DOWN, p2s * UP);
        // Unless River's `p2s > max` is surely false (no new maximum), run River's test.
        // (Everything here is finite: `p2s >= 1`, and `max` is -1 or an earlier `p2s`.)
        if high > self.p2s_max {
            return false;
        }
        if self.n_errors <= self.params.warm_start {
            return true;
        }
        // River's `p2s / max < beta` and `< alpha`, when sure either way.
        let drift = high < self.drift_level.0;
        let no_drift = low > self.drift_level.1;
        let warning = high < self.warning_level.0;
        let no_warning = low > self.warning_level.1;
        if !(drift | (no_drift & (warning | no_warning))) {
            return false;
        }
        self.drift_detected = drift;
        // Left as it was on a drift.
        self.warning_detected = (self.warning_detected & drift) | (warning & !drift);
        true
    }

    /// River's test as written, after the distance's update.
    #[inline(never)]
    fn exact_test(&mut self) {
        let variance = if self.distance_n > 1.0 {
            self.distance_sum_squares / (self.distance_n - 1.0)
        } else {
            0.0
        };
        let p2s = self.distance_mean + 2.0 * pow_half(variance);
        if p2s > self.p2s_max {
            self.p2s_max = p2s;
            let drift_level = self.params.beta * p2s;
            let warning_level = self.params.alpha * p2s;
            self.drift_level = (drift_level * DOWN, drift_level * UP);
            self.warning_level = (warning_level * DOWN, warning_level * UP);
        } else if self.n_errors > self.params.warm_start {
            let level = p2s / self.p2s_max;
            if level < self.params.beta {
                self.drift_detected = true;
            } else {
                self.warning_detected = level < self.params.alpha;
            }
        }
    }

    /// River's `p2s` from the current distances (as of the latest error).
    fn p2s(&self) -> f64 {
        let variance = if self.distance_n > 1.0 {
            self.distance_sum_squares / (self.distance_n - 1.0)
        } else {
            0.0
        };
        self.distance_mean + 2.0 * pow_half(variance)
    }

    /// Takes one error: [`Signal::Drift`], else [`Signal::Warning`] while River's warning flag
    /// is set, else [`Signal::NotReady`] until more than `warm_start` errors were seen, else
    /// [`Signal::Stable`].
    #[inline]
    pub fn update_signal(&mut self, x: f64) -> Signal {
        let drift = self.update(x);
        change_signal(
            drift,
            self.warning_detected,
            self.n_errors > self.params.warm_start,
        )
    }

    #[cold]
    #[inline(never)]
    fn reset_after_drift(&mut self) {
        self.reset();
    }

    /// Forgets everything, as if freshly built (River's `_reset`).
    pub fn reset(&mut self) {
        *self = Eddm::new(self.params);
    }

    /// Whether the latest update detected a drift (River's `drift_detected`).
    pub fn drift_detected(&self) -> bool {
        self.drift_detected
    }

    /// River's `warning_detected`: sticky between errors, and left as it was on a drift step.
    pub fn warning_detected(&self) -> bool {
        self.warning_detected
    }

    /// Points seen since the last reset.
    pub fn n_seen(&self) -> u64 {
        self.n as u64
    }

    /// Errors (inputs equal to 1) seen since the last reset.
    pub fn n_errors(&self) -> u64 {
        self.n_errors
    }

    /// The parameters this detector was built with.
    pub fn params(&self) -> &EddmParams {
        &self.params
    }

    /// `"distance_ratio"`: the latest `p2s` (mean distance between errors plus two standard
    /// deviations) over its maximum, with the drift level `beta` as bound; 1.0 while no ratio
    /// has been computed. Counts are errors, since the statistic is about them.
    pub fn explain(&self) -> Explanation {
        let value = if self.n == 0.0 {
            0.0
        } else if self.p2s_max > 0.0 {
            self.p2s() / self.p2s_max
        } else {
            1.0
        };
        Explanation {
            statistic: "distance_ratio",
            value,
            bound: Some(self.params.beta),
            n_seen: self.n_errors,
            n_needed: self.params.warm_start.saturating_add(1),
        }
    }
}

/// Mantissa bits of an `f64`.
const MANTISSA_BITS: u64 = (1 << 52) - 1;

/// Veltkamp's splitting constant for `f64`: `2^27 + 1`.
const SPLITTER: f64 = 134_217_729.0;

/// `v ** 0.5` exactly as River computes it: CPython calls glibc's `pow(v, 0.5)`, which is not
/// always the correctly rounded `sqrt(v)` (about 1 value in 1200 differs in the last bit).
///
/// Fast path: glibc's `pow` is documented to be within 0.54 ULP of the exact result (0.04 ULP
/// of approximation error before rounding). So when the exact square root is more than 1/16 ULP
/// away from the midpoint between two doubles, `pow` must return the one double within 0.54 ULP,
/// which is the correctly rounded `sqrt(v)`. The distance is measured with the exact residual
/// `v - r*r` (Dekker's product). Everything else (about 1 value in 8, and zero, subnormal,
/// power-of-two, infinite or NaN roots) calls `pow` itself.
#[inline]
pub(crate) fn pow_half(v: f64) -> f64 {
    if v == 0.0 {
        // glibc: pow(+-0, 0.5) = +0.
        return 0.0;
    }
    let r = v.sqrt();
    if r.is_normal() && r > 0.0 && r.to_bits() & MANTISSA_BITS != 0 {
        // `r` is not a power of two, so both neighbours are one ULP away.
        let ulp = r.next_up() - r;
        // r*r = high*high + 2*high*low + low*low exactly (Veltkamp split of r).
        let scaled = SPLITTER * r;
        let high = scaled - (scaled - r);
        let low = r - high;
        // v - high*high is exact (Sterbenz); the rest is far below the margin.
        let residual = ((v - high * high) - 2.0 * high * low) - low * low;
        // sqrt(v) - r = residual / (sqrt(v) + r) ~ residual / (2r): within (1/2 - 1/16) ULP.
        if residual.abs() < 0.875 * ulp * r {
            return r;
        }
    }
    libm_pow_half(v)
}

/// glibc's `pow(v, 0.5)`. The exponent goes through `black_box` because LLVM rewrites
/// `pow(x, 0.5)` with a constant exponent into `sqrt`, which rounds differently.
#[cold]
#[inline(never)]
fn libm_pow_half(v: f64) -> f64 {
    v.powf(std::hint::black_box(0.5))
}

#[cfg(test)]
mod tests;
