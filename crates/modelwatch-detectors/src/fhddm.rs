//! The `fhddm` detector: an exact port of River 0.26.1's `drift.binary.FHDDM` (Fast Hoeffding
//! Drift Detection Method, Pesaranghader & Viktor 2016, with the optional stacked short window)
//! over a 0/1 stream, plus an opt-in fix of River's polarity.
//!
//! Must reproduce River's drift indices bit for bit: keep the floating-point operation order.

use crate::ddm::change_signal;
use crate::param::{Field, ParamReader, or_default};
use crate::{Explanation, Signal};

/// Largest `sliding_window_size`: the window and its table of rates are allocated up front
/// (16 bytes per point).
pub const MAX_SLIDING_WINDOW_SIZE: usize = 1_000_000;

/// Parameters of [`Fhddm`], with River's names and defaults (plus one opt-in fix).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FhddmParams {
    /// Points in the sliding window, `1..=MAX_SLIDING_WINDOW_SIZE`; nothing is tested until it
    /// is full (default 100).
    pub sliding_window_size: usize,
    /// Confidence of the Hoeffding bound, in `(0, 1)` (default 1e-6).
    pub confidence_level: f64,
    /// The stacked variant's short window: also test the last `short_window_size` points,
    /// `1..=sliding_window_size` (default none).
    pub short_window_size: Option<usize>,
    /// Not in River; off by default (River's behaviour). River's test fires when the rate of 1s
    /// *drops* (`max_rate - rate > epsilon`), so on a 1 = error stream it detects improvements
    /// and misses degradations. When true the test is mirrored: it tracks the *lowest* rate of
    /// 1s over full windows since the last reset and drifts when the current rate exceeds it by
    /// more than the same epsilon (`rate - min_rate > epsilon`), for the short window too (the
    /// lowest rate starts at the first full window's). That is the paper's test on the accuracy
    /// `1 - rate` (Hoeffding's bound is symmetric, so epsilon is unchanged): it fires when the
    /// error rate *rises*. It is River's FHDDM fed `1 - x`, up to the last bit of the rates.
    pub detect_error_increase: bool,
}

impl Default for FhddmParams {
    fn default() -> FhddmParams {
        FhddmParams {
            sliding_window_size: 100,
            confidence_level: 0.000001,
            short_window_size: None,
            detect_error_increase: false,
        }
    }
}

impl FhddmParams {
    pub(crate) fn read(reader: &mut ParamReader<'_>) -> Option<FhddmParams> {
        let defaults = FhddmParams::default();
        let max = MAX_SLIDING_WINDOW_SIZE as i64;
        let sliding_window_size = reader.integer("sliding_window_size", 1, max);
        let confidence_level = reader.float_in("confidence_level", "in (0, 1)", |confidence| {
            confidence > 0.0 && confidence < 1.0
        });
        let short_window_size = reader.integer("short_window_size", 1, max);
        let detect_error_increase = reader.boolean("detect_error_increase");
        let sliding_window_size =
            or_default(sliding_window_size, defaults.sliding_window_size as i64);
        let short_window_size = match short_window_size {
            Field::Absent => Some(None),
            Field::Invalid => None,
            Field::Valid(short) => match sliding_window_size {
                Some(long) if short > long => {
                    reader.error(
                        "short_window_size",
                        format!("must be <= sliding_window_size ({long}), got {short}"),
                    );
                    None
                }
                _ => Some(Some(short as usize)),
            },
        };
        Some(FhddmParams {
            sliding_window_size: sliding_window_size? as usize,
            confidence_level: or_default(confidence_level, defaults.confidence_level)?,
            short_window_size: short_window_size?,
            detect_error_increase: or_default(
                detect_error_increase,
                defaults.detect_error_increase,
            )?,
        })
    }
}

/// FHDDM over a 0/1 stream, exactly as River 0.26.1 computes it (River's docstring says 1 =
/// error; see the polarity quirk).
///
/// It keeps the last `sliding_window_size` (W) points and their sum `n_one`. Once the window
/// is full, each point computes `u = n_one / W`, raises `u_max` to it and drifts when
/// `u_max - u > epsilon` with `epsilon = sqrt(ln(1/confidence_level) / (2W))`; then the oldest
/// point leaves. With `short_window_size` (S) the same test also runs on the mean of the last S
/// points with its own `epsilon_s` and maximum, and either test drifts.
///
/// River quirks reproduced on purpose:
/// - **Polarity:** the test fires when the rate of 1s *drops*, i.e. when the error rate
///   improves; on River's `bin_abrupt` stream (errors 0.1 -> 0.4) it misses the change.
///   [`FhddmParams::detect_error_increase`] fixes this.
/// - `u_max` starts at 0, not at the first rate (no effect for rates `>= 0`).
/// - No warning signal: `warning_detected` is always false.
/// - The flags describe one update: the next update first resets the whole detector, and after
///   a drift it needs W new points before it can fire again.
///
/// Input: values are summed, as in River. Values other than 0/1 enter the sums as they are; a
/// NaN or infinite input makes `n_one` NaN for good: no signal until [`Fhddm::reset`], as in
/// River.
///
/// Speed: while every input since the last reset is 0 or 1 (the intended use), the sums are
/// integer counts and the rates `count / W` (and `count / S`) come from tables filled at
/// construction with River's division. River's `u_max - u > epsilon` is then decided on counts:
/// whenever the extreme count changes, the count at which that float difference crosses
/// epsilon is found in the table (the difference is monotone in the count), so an update costs
/// an integer comparison and gives River's answer. The first other value
/// switches the detector, until its next reset, to River's float sums as written (the short
/// window is then summed oldest first, as River's `sum` does, unless it holds only 0s and 1s).
#[derive(Clone, Debug)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "state::FhddmState")
)]
pub struct Fhddm {
    params: FhddmParams,
    // Derived from `params` (up to `rates`): not serialized, recomputed on the way in.
    /// `epsilon`, computed as River computes it at every reset.
    #[cfg_attr(feature = "serde", serde(skip_serializing))]
    epsilon: f64,
    /// The short window's length (0 when off) and `epsilon_s`.
    #[cfg_attr(feature = "serde", serde(skip_serializing))]
    short: usize,
    #[cfg_attr(feature = "serde", serde(skip_serializing))]
    short_epsilon: f64,
    /// Whether the test is mirrored (`detect_error_increase`).
    #[cfg_attr(feature = "serde", serde(skip_serializing))]
    increase: bool,
    /// `rates[c] = c / W` and `short_rates[c] = c / S`, as River divides. Allocated once.
    #[cfg_attr(feature = "serde", serde(skip_serializing))]
    rates: Vec<f64>,
    #[cfg_attr(feature = "serde", serde(skip_serializing))]
    short_rates: Vec<f64>,
    /// The last W points: slot `next` takes the next point; the slot after the newest holds the
    /// oldest, which leaves right after the test. Allocated once.
    window: Vec<f64>,
    next: usize,
    /// Points held (at most W - 1 between updates, as in River), and whether the window has
    /// been full (tested) since the last reset.
    len: usize,
    full: bool,
    /// Counting mode: every input since the last reset was 0 or 1.
    counting: bool,
    /// 1s held in the window (counting mode) and in the short window (both modes).
    ones: u32,
    short_ones: u32,
    /// Counting mode: the tests of the long and the short window.
    test: CountTest,
    short_test: CountTest,
    /// Float mode: River's `n_one`, the extremes of `sign * rate` (River's `u_max`, or minus
    /// the lowest rate), and the short window's count of values other than 0 and 1.
    n_one: f64,
    extreme: f64,
    short_extreme: f64,
    short_others: u32,
    /// Float mode: the latest tested statistics (long, short).
    statistic: f64,
    short_statistic: f64,
    drift_detected: bool,
}

/// The extreme count before any full window: River's `u_max = 0`, or none for the mirrored
/// test.
fn initial_count(increase: bool) -> u32 {
    if increase { u32::MAX } else { 0 }
}

/// One window's test in counting mode: River's `u_max - u > epsilon` (mirrored:
/// `u - u_min > epsilon`) on rates from a table, decided on counts.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct CountTest {
    /// The extreme count over tested windows: the highest, from 0 (River's `u_max = 0`);
    /// mirrored, the lowest, `u32::MAX` before the first.
    extreme: u32,
    /// Drift when the count is below it (mirrored: above it), for this extreme.
    limit: u32,
    /// The latest tested count.
    last: u32,
}

impl CountTest {
    fn new(increase: bool) -> CountTest {
        CountTest {
            extreme: initial_count(increase),
            limit: if increase { u32::MAX } else { 0 },
            last: 0,
        }
    }

    /// Tests a full window holding `count` 1s.
    #[inline]
    fn test(&mut self, increase: bool, count: u32, rates: &[f64], epsilon: f64) -> bool {
        self.last = count;
        if increase {
            if count < self.extreme {
                self.new_extreme(increase, count, rates, epsilon);
            }
            count > self.limit
        } else {
            if count > self.extreme {
                self.new_extreme(increase, count, rates, epsilon);
            }
            count < self.limit
        }
    }

    /// Records a new extreme count and the count at which River's float difference with its
    /// rate crosses epsilon: the difference is monotone in the count, so `partition_point`
    /// finds where River's `>` turns over.
    #[cold]
    #[inline(never)]
    fn new_extreme(&mut self, increase: bool, count: u32, rates: &[f64], epsilon: f64) {
        self.extreme = count;
        let at = count as usize;
        let Some(&extreme_rate) = rates.get(at) else {
            return;
        };
        self.limit = if increase {
            // The highest count whose `rate - u_min` is not above epsilon (none with a NaN
            // epsilon: never a drift).
            let within = rates[at..].partition_point(|&rate| rate - extreme_rate <= epsilon);
            (at + within)
                .checked_sub(1)
                .map_or(u32::MAX, |limit| limit as u32)
        } else {
            // How many counts have `u_max - rate` above epsilon: exactly those below the limit.
            rates[..=at].partition_point(|&rate| extreme_rate - rate > epsilon) as u32
        };
    }

    /// River's statistic for the latest tested count (0 before any test).
    fn statistic(&self, increase: bool, rates: &[f64]) -> f64 {
        let rate = |count: u32| rates.get(count as usize).copied().unwrap_or(0.0);
        match (increase, self.extreme) {
            (true, u32::MAX) => 0.0,
            (true, lowest) => rate(self.last) - rate(lowest),
            (false, highest) => rate(highest) - rate(self.last),
        }
    }
}

/// The slot of the point `short` places before slot `next` in a ring of `size` slots.
#[inline]
fn slot_before(next: usize, short: usize, size: usize) -> usize {
    if next >= short {
        next - short
    } else {
        next + size - short
    }
}

impl Fhddm {
    /// A detector that has seen nothing (allocates the window and the tables of rates: 16
    /// bytes per point of each window). Parameters are used as given; validate them with
    /// [`crate::DetectorSpec::parse`]. A zero `sliding_window_size` is treated as 1 and a
    /// short window longer than the sliding window as the sliding window.
    pub fn new(params: FhddmParams) -> Fhddm {
        let size = params.sliding_window_size.max(1);
        let short = params
            .short_window_size
            .map_or(0, |short| short.clamp(1, size));
        let ln_inverse_confidence = (1.0 / params.confidence_level).ln();
        let increase = params.detect_error_increase;
        let rates = |length: usize| -> Vec<f64> {
            (0..=length)
                .map(|count| count as f64 / length as f64)
                .collect()
        };
        let mut fhddm = Fhddm {
            params,
            // River: sqrt(log(1 / confidence_level) / (2 * sliding_window_size)).
            epsilon: (ln_inverse_confidence / (2 * size) as f64).sqrt(),
            short,
            short_epsilon: (ln_inverse_confidence / (2 * short.max(1)) as f64).sqrt(),
            increase,
            rates: rates(size),
            short_rates: if short == 0 { Vec::new() } else { rates(short) },
            window: vec![0.0; size],
            next: 0,
            len: 0,
            full: false,
            counting: true,
            ones: 0,
            short_ones: 0,
            test: CountTest::new(increase),
            short_test: CountTest::new(increase),
            n_one: 0.0,
            extreme: 0.0,
            short_extreme: 0.0,
            short_others: 0,
            statistic: 0.0,
            short_statistic: 0.0,
            drift_detected: false,
        };
        fhddm.reset();
        fhddm
    }

    /// Takes one point (1 = error) and returns River's `drift_detected` after it.
    #[inline]
    pub fn update(&mut self, x: f64) -> bool {
        if self.drift_detected {
            self.reset_after_drift();
        }
        let one = x == 1.0;
        if self.counting & (one | (x == 0.0)) {
            self.count(x, one);
        } else {
            self.sum(x);
        }
        self.drift_detected
    }

    /// River's update for a 0 or 1 in counting mode.
    #[inline]
    fn count(&mut self, x: f64, one: bool) {
        let size = self.window.len();
        let next = self.next;
        if self.short != 0 {
            // The point leaving the short window is still in its slot (0 if there is none).
            let leaving = self.window[slot_before(next, self.short, size)];
            self.short_ones = self.short_ones + u32::from(one) - u32::from(leaving == 1.0);
        }
        self.window[next] = x;
        let following = if next + 1 == size { 0 } else { next + 1 };
        self.next = following;
        let count = self.ones + u32::from(one);
        if self.len + 1 == size {
            self.full = true;
            let mut drift = self
                .test
                .test(self.increase, count, &self.rates, self.epsilon);
            if self.short != 0 {
                drift |= self.short_test.test(
                    self.increase,
                    self.short_ones,
                    &self.short_rates,
                    self.short_epsilon,
                );
            }
            self.drift_detected = drift;
            // The oldest point, in the slot after the newest, leaves.
            self.ones = count - u32::from(self.window[following] == 1.0);
        } else {
            self.ones = count;
            self.len += 1;
        }
    }

    /// River's update as written, with float sums (after a value other than 0 and 1).
    #[cold]
    #[inline(never)]
    fn sum(&mut self, x: f64) {
        if self.counting {
            self.stop_counting();
        }
        let size = self.window.len();
        let sign = if self.increase { -1.0 } else { 1.0 };
        let next = self.next;
        if self.short != 0 {
            let leaving = self.window[slot_before(next, self.short, size)];
            self.short_ones = self.short_ones + u32::from(x == 1.0) - u32::from(leaving == 1.0);
            self.short_others =
                self.short_others + u32::from(is_other(x)) - u32::from(is_other(leaving));
        }
        self.window[next] = x;
        self.n_one += x;
        self.next = if next + 1 == size { 0 } else { next + 1 };
        if self.len + 1 == size {
            self.full = true;
            let rate = sign * (self.n_one / size as f64);
            if self.extreme < rate {
                self.extreme = rate;
            }
            self.statistic = self.extreme - rate;
            let mut drift = self.statistic > self.epsilon;
            if self.short != 0 {
                let sum = if self.short_others == 0 {
                    f64::from(self.short_ones)
                } else {
                    self.short_sum()
                };
                let rate = sign * (sum / self.short as f64);
                if self.short_extreme < rate {
                    self.short_extreme = rate;
                }
                self.short_statistic = self.short_extreme - rate;
                drift |= self.short_statistic > self.short_epsilon;
            }
            self.drift_detected = drift;
            // The oldest point sits right after the newest.
            self.n_one -= self.window[self.next];
        } else {
            self.len += 1;
        }
    }

    /// Leaves counting mode: River's float sums and extremes equal the counts' so far.
    fn stop_counting(&mut self) {
        self.counting = false;
        self.n_one = f64::from(self.ones);
        self.extreme = self.float_extreme(self.test.extreme, &self.rates);
        self.short_extreme = self.float_extreme(self.short_test.extreme, &self.short_rates);
        self.statistic = self.test.statistic(self.increase, &self.rates);
        self.short_statistic = self.short_test.statistic(self.increase, &self.short_rates);
        self.short_others = 0;
    }

    /// The float-mode extreme for an extreme count: `u_max`, or minus the lowest rate.
    fn float_extreme(&self, count: u32, rates: &[f64]) -> f64 {
        match (self.increase, rates.get(count as usize)) {
            (false, Some(rate)) => *rate,
            (true, Some(rate)) => -*rate,
            // No full window yet (or no short window).
            (false, None) => 0.0,
            (true, None) => f64::NEG_INFINITY,
        }
    }

    /// River's `sum(islice(window, W - S, W))`: the last S points, oldest first.
    fn short_sum(&self) -> f64 {
        let size = self.window.len();
        let newest = if self.next == 0 {
            size - 1
        } else {
            self.next - 1
        };
        let start = (newest + size + 1 - self.short) % size;
        (0..self.short)
            .map(|offset| self.window[(start + offset) % size])
            .fold(0.0, |sum, x| sum + x)
    }

    /// Takes one point: [`Signal::Drift`], else [`Signal::NotReady`] until the sliding window
    /// is full, else [`Signal::Stable`] (FHDDM has no warning).
    #[inline]
    pub fn update_signal(&mut self, x: f64) -> Signal {
        let drift = self.update(x);
        change_signal(drift, false, self.full)
    }

    #[cold]
    #[inline(never)]
    fn reset_after_drift(&mut self) {
        self.reset();
    }

    /// Forgets everything, as if freshly built (River's `_reset`), keeping the allocations.
    pub fn reset(&mut self) {
        self.window.fill(0.0);
        self.next = 0;
        self.len = 0;
        self.full = false;
        self.counting = true;
        self.ones = 0;
        self.short_ones = 0;
        self.test = CountTest::new(self.increase);
        self.short_test = CountTest::new(self.increase);
        self.n_one = 0.0;
        self.extreme = 0.0;
        self.short_extreme = 0.0;
        self.short_others = 0;
        self.statistic = 0.0;
        self.short_statistic = 0.0;
        self.drift_detected = false;
    }

    /// Whether the latest update detected a drift (River's `drift_detected`).
    pub fn drift_detected(&self) -> bool {
        self.drift_detected
    }

    /// Always false: FHDDM has no warning zone (River's `warning_detected`).
    pub fn warning_detected(&self) -> bool {
        false
    }

    /// Points the window covers: those seen since the last reset, at most
    /// `sliding_window_size`.
    pub fn n_seen(&self) -> u64 {
        if self.full {
            self.window.len() as u64
        } else {
            self.len as u64
        }
    }

    /// The parameters this detector was built with.
    pub fn params(&self) -> &FhddmParams {
        &self.params
    }

    /// `"ones_rate_drop"` (River's test: the highest full-window rate of 1s minus the current
    /// one) or, with `detect_error_increase`, `"error_rate_rise"` (the current rate minus the
    /// lowest), with epsilon as bound. With a short window, the window closer to (or past) its
    /// bound is shown. Counts are points in the window; 0.0 until it is full.
    pub fn explain(&self) -> Explanation {
        let statistic = if self.increase {
            "error_rate_rise"
        } else {
            "ones_rate_drop"
        };
        let (long, short) = if self.counting {
            (
                self.test.statistic(self.increase, &self.rates),
                self.short_test.statistic(self.increase, &self.short_rates),
            )
        } else {
            (self.statistic, self.short_statistic)
        };
        let (value, bound) = if self.short != 0 && short - self.short_epsilon > long - self.epsilon
        {
            (short, self.short_epsilon)
        } else {
            (long, self.epsilon)
        };
        Explanation {
            statistic,
            value,
            bound: Some(bound),
            n_seen: self.n_seen(),
            n_needed: self.window.len() as u64,
        }
    }
}

/// Neither 0 nor 1 (NaN included): a value the short window's count of 1s cannot represent.
#[inline]
fn is_other(x: f64) -> bool {
    !(x == 0.0 || x == 1.0)
}

#[cfg(feature = "serde")]
mod state;

#[cfg(test)]
mod tests;
