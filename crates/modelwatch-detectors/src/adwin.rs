//! The `adwin` detector: an exact port of River 0.26.1's `drift.ADWIN` (Rust core
//! `rust_src/adwin.rs` plus the Python wrapper's reset-on-next-update).
//!
//! Must reproduce River's drift indices bit for bit: keep the floating-point operation order.
//! Must not allocate per update: bucket rows live in flat storage that only grows when the
//! window first needs a new row, and survives resets.

mod cut;
mod rows;

use crate::param::{ParamReader, or_default};
use crate::{Explanation, Signal};
use cut::{Cut, Window};
use rows::BucketRows;

/// The largest accepted `max_buckets`.
pub const MAX_MAX_BUCKETS: u32 = 256;

/// Parameters of [`Adwin`], with River's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AdwinParams {
    /// Significance of the cut test, `0 < delta < 1` (default 0.002).
    pub delta: f64,
    /// Test for a cut every `clock` points (default 32).
    pub clock: u32,
    /// Buckets of each size kept before two are merged, `1..=256` (default 5).
    pub max_buckets: u32,
    /// Smallest sub-window a cut may leave on either side (default 5).
    pub min_window_length: u32,
    /// No test until the window holds more than this many points (default 10).
    pub grace_period: u32,
}

impl Default for AdwinParams {
    fn default() -> AdwinParams {
        AdwinParams {
            delta: 0.002,
            clock: 32,
            max_buckets: 5,
            min_window_length: 5,
            grace_period: 10,
        }
    }
}

impl AdwinParams {
    pub(crate) fn read(reader: &mut ParamReader<'_>) -> Option<AdwinParams> {
        let defaults = AdwinParams::default();
        // River stores clock, min_window_length and grace_period in an i32.
        let i32_max = i64::from(i32::MAX);
        let delta = reader.float_in("delta", "in (0, 1)", |delta| delta > 0.0 && delta < 1.0);
        let clock = reader.integer("clock", 1, i32_max);
        let max_buckets = reader.integer("max_buckets", 1, i64::from(MAX_MAX_BUCKETS));
        let min_window_length = reader.integer("min_window_length", 1, i32_max);
        let grace_period = reader.integer("grace_period", 0, i32_max);
        let as_u32 = |value: i64| u32::try_from(value).ok();
        Some(AdwinParams {
            delta: or_default(delta, defaults.delta)?,
            clock: as_u32(or_default(clock, i64::from(defaults.clock))?)?,
            max_buckets: as_u32(or_default(max_buckets, i64::from(defaults.max_buckets))?)?,
            min_window_length: as_u32(or_default(
                min_window_length,
                i64::from(defaults.min_window_length),
            )?)?,
            grace_period: as_u32(or_default(grace_period, i64::from(defaults.grace_period))?)?,
        })
    }
}

/// Points whose variance increments are computed in one batch (see [`Adwin`]'s layout notes).
const PENDING_CAPACITY: usize = rows::MAX_BATCH;

/// ADWIN (adaptive windowing) change detection, exactly as River 0.26.1 computes it.
///
/// The window is summarised in exponential-histogram buckets: row `i` holds up to
/// `max_buckets + 1` buckets of `2^i` points each, newest data in row 0. Every `clock` points,
/// once the window holds more than `grace_period` points, every split of the window into an
/// older `W0` and a newer `W1` (both at least `min_window_length` long) is tested; while a split
/// shows `|mean(W0) - mean(W1)| > eps`, the oldest bucket is dropped and the scan restarts.
///
/// River quirks reproduced on purpose:
/// - **full reset after a drift**: the drift flag is true for one update; the next update first
///   throws the whole window away (River's Python wrapper builds a new `AdaptiveWindowing`), so
///   the width is 1 after it and `tick` and `n_detections` restart from 0. This is not classic
///   ADWIN's "drop W0, keep W1";
/// - `n_detections` is therefore 0 or 1;
/// - `tick` is an `i32` that wraps after 2^31 updates without a drift, as in River's release
///   build; the clock phase follows the wrapped value;
/// - `variance` is the sum of squared deviations, not divided by the width.
///
/// One deliberate difference: with `max_buckets = 1` rows can empty in the middle, and River
/// 0.26.1 panics (`slice index starts at 1 but ends at 0`) when it then tries to delete from an
/// empty oldest row. This port drops trailing empty rows instead, which is identical whenever
/// River does not crash.
///
/// Speed without changing results: rows are flat ring buffers (no per-row allocation, no
/// shifting); the clock phase is a counter, not a division; new points are only counted on
/// insert and join the buckets and the variance (two divisions each) in batches of up to
/// 32, in River's order, before the window is scanned; and the scan skips
/// splits that a division-free bound proves cannot cut (see `adwin/cut.rs`).
#[derive(Clone, Debug)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "AdwinState")
)]
pub struct Adwin {
    params: AdwinParams,
    // Derived from `params`: not serialized, recomputed on the way in.
    #[cfg_attr(feature = "serde", serde(skip_serializing))]
    clock: i32,
    #[cfg_attr(feature = "serde", serde(skip_serializing))]
    min_window_length: f64,
    #[cfg_attr(feature = "serde", serde(skip_serializing))]
    grace_period: f64,
    rows: BucketRows,
    /// Sum of the window, up to date.
    total: f64,
    /// Width of the window, up to date.
    width: f64,
    /// Sum of squared deviations of the settled points (all but `pending`).
    variance: f64,
    /// Points inserted since the last settle, oldest first: counted in `total` and `width` but
    /// not yet in the bucket rows or `variance`.
    pending: Vec<f64>,
    /// `total` and `width` of the settled points.
    settled_total: f64,
    settled_width: f64,
    tick: i32,
    /// `tick` modulo `clock`, kept incrementally to avoid a division per update.
    tick_phase: i32,
    n_detections: u32,
    drift_detected: bool,
    first_cut: Cut,
}

impl Adwin {
    /// A detector that has seen nothing. Out-of-range values that would make River divide by
    /// zero or index nothing (`clock` or `max_buckets` of 0, `clock` above `i32::MAX`) are
    /// clamped; [`crate::DetectorSpec::parse`] rejects them instead.
    pub fn new(params: AdwinParams) -> Adwin {
        let clock = i32::try_from(params.clock.max(1)).unwrap_or(i32::MAX);
        let max_buckets = params.max_buckets.clamp(1, MAX_MAX_BUCKETS) as usize;
        Adwin {
            params,
            clock,
            min_window_length: f64::from(params.min_window_length),
            grace_period: f64::from(params.grace_period),
            rows: BucketRows::new(max_buckets),
            total: 0.0,
            width: 0.0,
            variance: 0.0,
            pending: Vec::with_capacity(PENDING_CAPACITY),
            settled_total: 0.0,
            settled_width: 0.0,
            tick: 0,
            tick_phase: 0,
            n_detections: 0,
            drift_detected: false,
            first_cut: Cut::default(),
        }
    }

    /// Takes one point and returns River's `drift_detected` after it.
    #[inline]
    pub fn update(&mut self, x: f64) -> bool {
        if self.drift_detected {
            self.reset();
        }
        self.insert(x);
        self.drift_detected = self.detect_change();
        self.drift_detected
    }

    /// Takes one point: drift, else [`Signal::NotReady`] while `width <= grace_period`, else
    /// stable.
    #[inline]
    pub fn update_signal(&mut self, x: f64) -> Signal {
        if self.update(x) {
            Signal::Drift
        } else if self.width <= self.grace_period {
            Signal::NotReady
        } else {
            Signal::Stable
        }
    }

    /// Forgets every point, as if freshly built, keeping the bucket storage's allocation.
    pub fn reset(&mut self) {
        self.rows.clear();
        self.total = 0.0;
        self.width = 0.0;
        self.variance = 0.0;
        self.pending.clear();
        self.settled_total = 0.0;
        self.settled_width = 0.0;
        self.tick = 0;
        self.tick_phase = 0;
        self.n_detections = 0;
        self.drift_detected = false;
        self.first_cut = Cut::default();
    }

    /// Whether the latest update detected a change (River's `drift_detected`).
    pub fn drift_detected(&self) -> bool {
        self.drift_detected
    }

    /// Points in the window.
    pub fn width(&self) -> u64 {
        self.width as u64
    }

    /// Sum of the points in the window.
    pub fn total(&self) -> f64 {
        self.total
    }

    /// Sum of squared deviations from the window mean (River's `variance`, not divided by the
    /// width).
    pub fn variance(&self) -> f64 {
        self.settled_variance().0
    }

    /// `variance / width` (River's `variance_in_window`; NaN for an empty window).
    pub fn variance_in_window(&self) -> f64 {
        self.variance() / self.width
    }

    /// Mean of the window, 0.0 when it is empty (River's `estimation`).
    pub fn estimation(&self) -> f64 {
        if self.width == 0.0 {
            0.0
        } else {
            self.total / self.width
        }
    }

    /// Changes detected since the last reset: 0 or 1, because a drift resets the detector on
    /// the next update (River's `n_detections`).
    pub fn n_detections(&self) -> u32 {
        self.n_detections
    }

    /// The parameters this detector was built with.
    pub fn params(&self) -> &AdwinParams {
        &self.params
    }

    /// On drift `"mean_difference"`: `|mean(W0) - mean(W1)|` of the first cut found, its
    /// epsilon as the bound, and the width before the cut. Otherwise `"mean"`: the window mean.
    pub fn explain(&self) -> Explanation {
        let n_needed = u64::from(self.params.grace_period) + 1;
        if self.drift_detected {
            Explanation {
                statistic: "mean_difference",
                value: self.first_cut.mean_difference,
                bound: Some(self.first_cut.epsilon),
                n_seen: self.first_cut.width as u64,
                n_needed,
            }
        } else {
            Explanation {
                statistic: "mean",
                value: self.estimation(),
                bound: None,
                n_seen: self.width(),
                n_needed,
            }
        }
    }

    /// Counts `x` in the window; it joins the bucket rows at the next settle.
    #[inline]
    fn insert(&mut self, x: f64) {
        // Never reallocates: settled (emptied) whenever it reaches its capacity.
        self.pending.push(x);
        self.width += 1.0;
        self.total += x;
        if self.pending.len() == PENDING_CAPACITY {
            self.settle();
        }
    }

    /// `(variance, total, width)` after applying the pending points' variance increments, in
    /// River's order and with River's operations (`insert_element`).
    fn settled_variance(&self) -> (f64, f64, f64) {
        // Three passes over at most 32 points, so that the two divisions per point depend on
        // nothing but the running total: the running total first, then every increment
        // independently, then the increments summed in order. (One fused loop lets the
        // compiler pack `total += x` and `variance += increment` into one vector add, which
        // chains every point's divisions behind the previous point's.)
        let mut totals_before = [0.0_f64; PENDING_CAPACITY];
        let mut total = self.settled_total;
        for (total_before, &x) in totals_before.iter_mut().zip(&self.pending) {
            *total_before = total;
            total += x;
        }
        let mut increments = [0.0_f64; PENDING_CAPACITY];
        let mut width = self.settled_width;
        for ((increment, &total_before), &x) in
            increments.iter_mut().zip(&totals_before).zip(&self.pending)
        {
            width += 1.0;
            if width > 1.0 {
                let deviation = x - total_before / (width - 1.0);
                *increment = (width - 1.0) * deviation * deviation / width;
            }
        }
        let mut variance = self.variance;
        for &increment in increments.iter().take(self.pending.len()) {
            variance += increment;
        }
        (variance, total, width)
    }

    /// Moves the pending points into the bucket rows (one bucket each, merging as River does
    /// after every insert) and into `variance`.
    #[inline(never)]
    fn settle(&mut self) {
        self.rows.push_batch(&self.pending);
        let (variance, total, width) = self.settled_variance();
        self.variance = variance;
        self.settled_total = total;
        self.settled_width = width;
        self.pending.clear();
    }

    /// Advances the clock and, on a clock tick past the grace period, cuts the window while a
    /// cut exists. Returns whether any cut was made.
    #[inline]
    fn detect_change(&mut self) -> bool {
        self.tick = self.tick.wrapping_add(1);
        self.tick_phase += 1;
        if self.tick_phase == self.clock {
            self.tick_phase = 0;
        }
        if self.tick == i32::MIN {
            // River's i32 tick wrapped: follow the wrapped value's phase.
            self.tick_phase = self.tick.rem_euclid(self.clock);
        }
        if self.tick_phase != 0 || self.width <= self.grace_period {
            return false;
        }
        self.cut_while_changed()
    }

    #[cold]
    #[inline(never)]
    fn record_first_cut(&mut self, cut: Cut) {
        self.first_cut = cut;
        self.n_detections += 1;
    }

    fn cut_while_changed(&mut self) -> bool {
        self.settle();
        let mut change_detected = false;
        while let Some(cut) = cut::find_cut(&self.rows, self.window()) {
            if !change_detected {
                change_detected = true;
                self.record_first_cut(cut);
            }
            let (size, bucket_total, bucket_variance) = match self.rows.pop_oldest() {
                Some(oldest) => oldest,
                None => break,
            };
            self.delete_bucket(size, bucket_total, bucket_variance);
        }
        self.settled_total = self.total;
        self.settled_width = self.width;
        change_detected
    }

    fn window(&self) -> Window {
        Window {
            width: self.width,
            total: self.total,
            variance: self.variance,
            delta: self.params.delta,
            min_window_length: self.min_window_length,
        }
    }

    /// Removes an oldest bucket of `size` points from the window statistics (River's
    /// `delete_element`).
    #[cold]
    fn delete_bucket(&mut self, size: f64, bucket_total: f64, bucket_variance: f64) {
        let bucket_mean = bucket_total / size;
        self.width -= size;
        self.total -= bucket_total;
        let window_mean = self.total / self.width;
        let increment = bucket_variance
            + size * self.width * (bucket_mean - window_mean) * (bucket_mean - window_mean)
                / (size + self.width);
        self.variance -= increment;
    }
}

/// What a serialized [`Adwin`] holds (the serialized fields, in order), checked before it
/// becomes one.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct AdwinState {
    params: AdwinParams,
    rows: BucketRows,
    total: f64,
    width: f64,
    variance: f64,
    pending: Vec<f64>,
    settled_total: f64,
    settled_width: f64,
    tick: i32,
    tick_phase: i32,
    n_detections: u32,
    drift_detected: bool,
    first_cut: Cut,
}

#[cfg(feature = "serde")]
impl TryFrom<AdwinState> for Adwin {
    type Error = String;

    /// Refuses bucket rows of another `max_buckets`, a full batch of pending points and a clock
    /// phase out of range; recomputes what `params` determine.
    fn try_from(state: AdwinState) -> Result<Adwin, String> {
        let mut adwin = Adwin::new(state.params);
        if !adwin.rows.same_geometry(&state.rows) {
            return Err("adwin: bucket rows do not fit max_buckets".to_string());
        }
        if state.pending.len() >= PENDING_CAPACITY {
            return Err(format!(
                "adwin: {} pending points, at most {} expected",
                state.pending.len(),
                PENDING_CAPACITY - 1
            ));
        }
        if !(0..adwin.clock).contains(&state.tick_phase) {
            return Err(format!(
                "adwin: clock phase {} out of range for clock {}",
                state.tick_phase, adwin.clock
            ));
        }
        adwin.rows = state.rows;
        adwin.total = state.total;
        adwin.width = state.width;
        adwin.variance = state.variance;
        // `pending` keeps the capacity `new` reserved: it never reallocates.
        adwin.pending.extend_from_slice(&state.pending);
        adwin.settled_total = state.settled_total;
        adwin.settled_width = state.settled_width;
        adwin.tick = state.tick;
        adwin.tick_phase = state.tick_phase;
        adwin.n_detections = state.n_detections;
        adwin.drift_detected = state.drift_detected;
        adwin.first_cut = state.first_cut;
        Ok(adwin)
    }
}

#[cfg(test)]
mod tests;
