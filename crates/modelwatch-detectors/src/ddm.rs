//! The `ddm` detector: an exact port of River 0.26.1's `drift.binary.DDM` (Drift Detection
//! Method, Gama et al. 2004) over a 0/1 error stream.
//!
//! Must reproduce River's drift and warning indices bit for bit: keep the floating-point
//! operation order.

use crate::param::{ParamReader, or_default};
use crate::{Explanation, Signal};

/// Parameters of [`Ddm`], with River's names and defaults (plus one opt-in fix).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DdmParams {
    /// Points seen before the tests start: they run from point `warm_start + 1` on (default 30).
    pub warm_start: u64,
    /// Warning while `p + s > p_min + warning_threshold * s_min`; finite, `> 0` (default 2.0).
    pub warning_threshold: f64,
    /// Drift when `p + s > p_min + drift_threshold * s_min`; finite, `> 0` (default 3.0).
    pub drift_threshold: f64,
    /// Not in River; off by default (River's behaviour). When true, a point whose standard
    /// deviation `s` is exactly 0 (every input since the last reset was 0, or every one was 1)
    /// is never recorded as the minimum `(p_min, s_min)`, and the warning and drift tests wait
    /// until a minimum with `s > 0` exists. This removes River's quirk that after an error-free
    /// warm-up the minimum is `(0, 0)`, so the bound is 0 and the very first error drifts.
    /// Points with `s > 0` are handled exactly as River handles them.
    pub ignore_zero_variance_minimum: bool,
}

impl Default for DdmParams {
    fn default() -> DdmParams {
        DdmParams {
            warm_start: 30,
            warning_threshold: 2.0,
            drift_threshold: 3.0,
            ignore_zero_variance_minimum: false,
        }
    }
}

/// Largest `warm_start`: the point count is an `f64`, exact up to 2^53.
const MAX_WARM_START: i64 = 1 << 53;

impl DdmParams {
    pub(crate) fn read(reader: &mut ParamReader<'_>) -> Option<DdmParams> {
        let defaults = DdmParams::default();
        let warm_start = reader.integer("warm_start", 0, MAX_WARM_START);
        let warning_threshold =
            reader.float_in("warning_threshold", "> 0", |threshold| threshold > 0.0);
        let drift_threshold =
            reader.float_in("drift_threshold", "> 0", |threshold| threshold > 0.0);
        let ignore_zero_variance_minimum = reader.boolean("ignore_zero_variance_minimum");
        Some(DdmParams {
            warm_start: or_default(warm_start, defaults.warm_start as i64)? as u64,
            warning_threshold: or_default(warning_threshold, defaults.warning_threshold)?,
            drift_threshold: or_default(drift_threshold, defaults.drift_threshold)?,
            ignore_zero_variance_minimum: or_default(
                ignore_zero_variance_minimum,
                defaults.ignore_zero_variance_minimum,
            )?,
        })
    }
}

/// DDM over a 0/1 error stream (1 = the prediction was wrong), exactly as River 0.26.1 computes
/// it.
///
/// Per point: `n += 1; p += (1/n) * (x - p); s = sqrt(p * (1 - p) / n)`. Once
/// `n > warm_start`: if `p + s <= p_min + s_min` the minimum becomes `(p, s)`; then warning is
/// `p + s > p_min + warning_threshold * s_min` and drift is
/// `p + s > p_min + drift_threshold * s_min` (a drift clears the warning flag).
///
/// River quirks reproduced on purpose:
/// - **Zero-error warm-up:** if every one of the first `warm_start + 1` inputs is 0, the minimum
///   is `p_min = s_min = 0`, the drift bound is 0 and the first error drifts at once (40 zeros
///   then a 1 drifts at index 40). [`DdmParams::ignore_zero_variance_minimum`] fixes this.
/// - The minimum is updated on ties (`<=`) and before the tests of the same point.
/// - The warning flag flickers a lot on stationary data: with the defaults, River's own
///   `bin_abrupt` stream has 1964 warning steps before its change point.
/// - On a drift step the warning flag is false.
/// - The flags describe one update: the next update first resets the whole detector, so after
///   a drift nothing can fire for `warm_start + 1` points.
///
/// Input: the error is used arithmetically, as in River. Values in `[0, 1]` act as fractional
/// errors. Values outside `[0, 1]` can push `p` outside `[0, 1]`, where `p * (1 - p)` is
/// negative: River raises `ValueError` (math domain error), this port gets `s = NaN`, records no
/// minimum and signals nothing for that point. A NaN input makes `p` NaN for good: no signal
/// until [`Ddm::reset`] (River raises instead).
///
/// Speed: River's `p * (1 - p) / n` and `sqrt` (two of the three divider operations per point)
/// are kept off the hot path. Each bound River compares `p + s` with is kept as an interval
/// `(t * (1 - 2^-20), t * (1 + 2^-20))` around an estimate `t` (within a relative `2^-23` of
/// River's bound, so the interval holds it with room to spare), and `p + s` is placed below or
/// above an interval by comparing `p * (1 - p) * (1/n)` (reusing the mean's `1/n`) with the
/// squared gap between the interval's end and `p`. Only a point that falls inside an interval,
/// or a new minimum when a threshold is below 1, runs River's arithmetic as written. The
/// minimum is kept as `(p_min, n_min)`, from which River's exact `s_min` is recomputed whenever
/// an exact comparison or [`Ddm::explain`] needs it; a new minimum's bounds are estimated with
/// a single-precision square root. Either way every flag is River's.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Ddm {
    params: DdmParams,
    warm_start: f64,
    /// `s` must be strictly above this to record a minimum: -1 reproduces River (always true
    /// for the `s >= 0` that can be recorded), 0 skips zero-variance points.
    min_std_floor: f64,
    /// Whether the estimates may be used (both thresholds `>= 0`, so every compared value is).
    estimates_apply: bool,
    /// Both thresholds `>= 1`: a new minimum's bounds are at least its `p + s`.
    thresholds_at_least_one: bool,
    n: f64,
    p: f64,
    /// The point count and error rate of the recorded minimum; `n_min == 0`: none yet.
    n_min: f64,
    p_min: f64,
    /// Intervals around River's `p_min + s_min`, `p_min + warning_threshold * s_min` and
    /// `p_min + drift_threshold * s_min`; `(+inf, +inf)` before the first minimum.
    ps_min: (f64, f64),
    warning_bound: (f64, f64),
    drift_bound: (f64, f64),
    drift_detected: bool,
    warning_detected: bool,
}

/// `1 - 2^-20` and `1 + 2^-20`: an interval around an estimate within `2^-23` of a bound.
const DOWN: f64 = 1.0 - 1.0 / 1_048_576.0;
const UP: f64 = 1.0 + 1.0 / 1_048_576.0;

/// `1 - 2^-40` and `1 + 2^-40`: slack on squared gaps, beyond the rounding of `(1/n)` and of
/// the products.
const SQUARE_DOWN: f64 = 1.0 - 1.0 / 1_099_511_627_776.0;
const SQUARE_UP: f64 = 1.0 + 1.0 / 1_099_511_627_776.0;

/// Smallest `p * (1 - p) / n` estimate used (a normal `f32`, for the square root of a new
/// minimum).
const SMALLEST_ESTIMATED_VARIANCE: f64 = 1e-30;

/// The interval `(t * (1 - 2^-20), t * (1 + 2^-20))` around a bound's estimate `t >= 0`.
#[inline]
fn interval(estimate: f64) -> (f64, f64) {
    (estimate * DOWN, estimate * UP)
}

/// No minimum yet: every `p + s` is below it.
const NO_BOUND: (f64, f64) = (f64::INFINITY, f64::INFINITY);

/// The [`Signal`] of a warning-capable change detector after an update: drift, else warning,
/// else not ready, else stable (computed without branches: warnings flicker).
#[inline]
pub(crate) fn change_signal(drift: bool, warning: bool, ready: bool) -> Signal {
    const SIGNALS: [Signal; 4] = [
        Signal::NotReady,
        Signal::Stable,
        Signal::Warning,
        Signal::Drift,
    ];
    let index = (usize::from(drift) * 3)
        .max(usize::from(warning) * 2)
        .max(usize::from(ready));
    SIGNALS[index]
}

impl Ddm {
    /// A detector that has seen nothing. Parameters are used as given; validate them with
    /// [`crate::DetectorSpec::parse`].
    pub fn new(params: DdmParams) -> Ddm {
        Ddm {
            params,
            warm_start: params.warm_start as f64,
            min_std_floor: if params.ignore_zero_variance_minimum {
                0.0
            } else {
                -1.0
            },
            estimates_apply: params.warning_threshold >= 0.0 && params.drift_threshold >= 0.0,
            thresholds_at_least_one: params.warning_threshold >= 1.0
                && params.drift_threshold >= 1.0,
            n: 0.0,
            p: 0.0,
            n_min: 0.0,
            p_min: f64::INFINITY,
            ps_min: NO_BOUND,
            warning_bound: NO_BOUND,
            drift_bound: NO_BOUND,
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
        let reciprocal = 1.0 / self.n;
        self.p += reciprocal * (x - self.p);
        if self.n > self.warm_start && !self.estimated_step(reciprocal) {
            self.exact_step();
        }
        self.drift_detected
    }

    /// River's tests from the intervals; false (and nothing changed) when they cannot decide.
    #[inline]
    fn estimated_step(&mut self, reciprocal: f64) -> bool {
        let p = self.p;
        // Within a relative 2^-51 of River's `p * (1 - p) / n`.
        let variance = p * (1.0 - p) * reciprocal;
        // Also false for a NaN or negative variance (inputs outside [0, 1]).
        if !(variance >= SMALLEST_ESTIMATED_VARIANCE && self.estimates_apply) {
            return false;
        }
        // `p` is in (0, 1) here. River's `p + s` is surely below `low` when `s < low - p`,
        // surely above `high` when `s > high - p`: compared as squares, without the root.
        // (A gap clamped at 0 gives both cases in one comparison: `variance > 0`.)
        let below = |(low, _): (f64, f64)| {
            let gap = (low - p).max(0.0);
            variance < gap * gap * SQUARE_DOWN
        };
        let above = |(_, high): (f64, f64)| {
            let gap = (high - p).max(0.0);
            variance > gap * gap * SQUARE_UP
        };
        if below(self.ps_min) {
            // Surely River's `p + s <= p_min + s_min`: a new minimum. With both thresholds at
            // least 1 its bounds are at least its `p + s` (in River's floats too): no flag.
            if !self.thresholds_at_least_one {
                return false;
            }
            let s = f64::from((variance as f32).sqrt());
            self.p_min = p;
            self.n_min = self.n;
            self.ps_min = interval(p + s);
            self.warning_bound = interval(p + self.params.warning_threshold * s);
            self.drift_bound = interval(p + self.params.drift_threshold * s);
            self.drift_detected = false;
            self.warning_detected = false;
            return true;
        }
        // Surely not a new minimum: the bounds stay.
        let keep = above(self.ps_min);
        let warning = above(self.warning_bound);
        let no_warning = below(self.warning_bound);
        let drift = above(self.drift_bound);
        let no_drift = below(self.drift_bound);
        if !(keep & (warning | no_warning) & (drift | no_drift)) {
            return false;
        }
        // `drift_detected` is false here (a set flag was reset above), so assigning the test
        // is River's `if test: drift = True`.
        self.drift_detected = drift;
        self.warning_detected = warning & !drift;
        true
    }

    /// River's update as written (after the mean), for points the estimates cannot decide.
    #[inline(never)]
    fn exact_step(&mut self) {
        let p = self.p;
        let s = (p * (1.0 - p) / self.n).sqrt();
        let p_plus_s = p + s;
        let (mut p_min, mut s_min) = self.exact_minimum();
        let ps_min = p_min + s_min;
        if p_plus_s <= ps_min && s > self.min_std_floor {
            p_min = p;
            s_min = s;
            self.p_min = p;
            self.n_min = self.n;
            self.ps_min = interval(p_min + s_min);
            self.warning_bound = interval(p_min + self.params.warning_threshold * s_min);
            self.drift_bound = interval(p_min + self.params.drift_threshold * s_min);
        }
        let warning = p_plus_s > p_min + self.params.warning_threshold * s_min;
        let drift = p_plus_s > p_min + self.params.drift_threshold * s_min;
        self.drift_detected = drift;
        self.warning_detected = warning && !drift;
    }

    /// River's `(p_min, s_min)`, with `s_min` recomputed as River computed it at the minimum's
    /// point; `(inf, 0)` before the first minimum (River's `None`, never compared).
    fn exact_minimum(&self) -> (f64, f64) {
        if self.n_min == 0.0 {
            (f64::INFINITY, 0.0)
        } else {
            let p_min = self.p_min;
            (p_min, (p_min * (1.0 - p_min) / self.n_min).sqrt())
        }
    }

    /// Takes one error: [`Signal::Drift`], else [`Signal::Warning`] while River's warning flag
    /// is set, else [`Signal::NotReady`] until a minimum is recorded (`n <= warm_start`, or no
    /// point with `s > 0` yet under [`DdmParams::ignore_zero_variance_minimum`]), else
    /// [`Signal::Stable`].
    #[inline]
    pub fn update_signal(&mut self, x: f64) -> Signal {
        let drift = self.update(x);
        change_signal(drift, self.warning_detected, self.n_min != 0.0)
    }

    #[cold]
    #[inline(never)]
    fn reset_after_drift(&mut self) {
        self.reset();
    }

    /// Forgets everything, as if freshly built (River's `_reset`).
    pub fn reset(&mut self) {
        *self = Ddm::new(self.params);
    }

    /// Whether the latest update detected a drift (River's `drift_detected`).
    pub fn drift_detected(&self) -> bool {
        self.drift_detected
    }

    /// Whether the latest update is in the warning zone (River's `warning_detected`; false on a
    /// drift step).
    pub fn warning_detected(&self) -> bool {
        self.warning_detected
    }

    /// Points seen since the last reset.
    pub fn n_seen(&self) -> u64 {
        self.n as u64
    }

    /// The error rate `p` since the last reset.
    pub fn error_rate(&self) -> f64 {
        self.p
    }

    /// The recorded minimum `(p_min, s_min)` (River's values), once there is one.
    pub fn minimum(&self) -> Option<(f64, f64)> {
        (self.n_min != 0.0).then(|| self.exact_minimum())
    }

    /// The parameters this detector was built with.
    pub fn params(&self) -> &DdmParams {
        &self.params
    }

    /// `"p_plus_s"`: the error rate plus its standard deviation, with the drift bound
    /// `p_min + drift_threshold * s_min` once a minimum is recorded.
    pub fn explain(&self) -> Explanation {
        let p = self.p;
        Explanation {
            statistic: "p_plus_s",
            value: if self.n == 0.0 {
                0.0
            } else {
                p + (p * (1.0 - p) / self.n).sqrt()
            },
            bound: self
                .minimum()
                .map(|(p_min, s_min)| p_min + self.params.drift_threshold * s_min),
            n_seen: self.n_seen(),
            n_needed: self.params.warm_start.saturating_add(1),
        }
    }
}

#[cfg(test)]
mod tests;
