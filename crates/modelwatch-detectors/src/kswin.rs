//! The `kswin` detector: an exact port of River 0.26.1's `drift.KSWIN` (Kolmogorov-Smirnov
//! windowing), drawing the same random samples as CPython and deciding with scipy's exact
//! p-value.
//!
//! Must reproduce River's drift indices exactly for the same seed: the sampling must consume
//! CPython's Mersenne Twister output word for word, and the p-value must use scipy's float
//! operations in scipy's order.

mod cpython_random;
mod ks;
mod mt19937;
mod window;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use crate::param::{Field, ParamReader, or_default};
use crate::{Explanation, Signal};

use cpython_random::CpythonRandom;
use ks::DriftTable;
use window::{SortedWindow, order_key};

/// Largest `window_size`, to bound memory (about 40 bytes per point).
pub const MAX_WINDOW_SIZE: usize = 1_000_000;

/// Largest `stat_size`: above 10,000 points scipy's `ks_2samp(method="auto")` switches to its
/// asymptotic p-value, which is not ported.
pub const MAX_STAT_SIZE: usize = 10_000;

/// Parameters of [`Kswin`], with River's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct KswinParams {
    /// Significance level of the KS test, in `[0, 1]` (default 0.005).
    pub alpha: f64,
    /// Points in the sliding window, at least `2 * stat_size` (default 100).
    pub window_size: usize,
    /// Points in each of the two compared samples, `1..=MAX_STAT_SIZE` (default 30).
    pub stat_size: usize,
    /// Seed of CPython's `random.Random`, as River's `seed`; `None` (the default) draws one
    /// from OS entropy, so the detector is not reproducible (as in River).
    pub seed: Option<u64>,
}

impl Default for KswinParams {
    fn default() -> KswinParams {
        KswinParams {
            alpha: 0.005,
            window_size: 100,
            stat_size: 30,
            seed: None,
        }
    }
}

impl KswinParams {
    pub(crate) fn read(reader: &mut ParamReader<'_>) -> Option<KswinParams> {
        let defaults = KswinParams::default();
        let alpha = reader.float_in("alpha", "in [0, 1]", |alpha| (0.0..=1.0).contains(&alpha));
        let window_size = reader.integer("window_size", 2, MAX_WINDOW_SIZE as i64);
        let stat_size = reader.integer("stat_size", 1, MAX_STAT_SIZE as i64);
        let seed = match reader.integer("seed", i64::MIN, i64::MAX) {
            Field::Valid(seed) if seed < 0 => {
                reader.error(
                    "seed",
                    format!(
                        "must be >= 0, got {seed} (CPython seeds with abs(seed): use {})",
                        seed.unsigned_abs()
                    ),
                );
                Field::Invalid
            }
            field => field,
        };
        let alpha = or_default(alpha, defaults.alpha);
        let window_size = or_default(window_size, defaults.window_size as i64);
        let stat_size = or_default(stat_size, defaults.stat_size as i64);
        if let (Some(window_size), Some(stat_size)) = (window_size, stat_size)
            && window_size < 2 * stat_size
        {
            reader.general_error(format!(
                "`window_size` ({window_size}) must be at least twice `stat_size` \
                 ({stat_size}): each test samples `stat_size` distinct points from the oldest \
                 `window_size - stat_size`"
            ));
            return None;
        }
        let seed = match seed {
            Field::Absent => None,
            Field::Valid(seed) => Some(seed as u64),
            Field::Invalid => return None,
        };
        Some(KswinParams {
            alpha: alpha?,
            window_size: window_size? as usize,
            stat_size: stat_size? as usize,
            seed,
        })
    }
}

/// A seed from OS entropy: std's `RandomState` keys are drawn from the OS once per thread and
/// then stepped, so every call gives a different, unpredictable value. Kept below 2^63 so that
/// the seed can be passed back as a `seed` parameter (an `i64`) to repeat the run.
fn entropy_seed() -> u64 {
    RandomState::new().build_hasher().finish() >> 1
}

/// Kolmogorov-Smirnov windowing, exactly as River 0.26.1's `drift.KSWIN` computes it.
///
/// Keeps the last `window_size` points. Once the window is full, every point triggers a test:
/// `R` is the newest `stat_size` points, `W` is `stat_size` points drawn with CPython's
/// `random.Random(seed).sample(range(window_size - stat_size), stat_size)` from the older
/// ones, and a drift is `p <= alpha and D > 0.1`, where `D` and `p` are what
/// `scipy.stats.ks_2samp(W, R)` returns (its exact method for equal sample sizes).
///
/// River quirks reproduced on purpose:
/// - the drift flag is true for exactly one update: the next update empties the window, so
///   after every drift KSWIN is blind for `window_size - 1` points (River's
///   `self.window = deque(most_recent)` on drift is dead code);
/// - that reset re-seeds the generator with the same seed, so the samples after a drift repeat
///   the samples after construction;
/// - River's docstring states the threshold `D > sqrt(-ln(alpha) / stat_size)`; the code (and
///   this port) uses scipy's exact p-value and additionally requires `D > 0.1`.
///
/// Differences from River:
/// - River's `window=` warm start is not supported;
/// - `seed` must be `>= 0` (CPython would seed with `abs(seed)`);
/// - without a seed River draws fresh OS entropy on every reset; this port draws one seed at
///   construction ([`Kswin::seed`]) and re-uses it on reset. Either way an unseeded KSWIN is
///   not reproducible;
/// - River fails with a `ValueError` at the first full window when
///   `window_size < 2 * stat_size`; [`crate::DetectorSpec::parse`] rejects that up front.
///
/// Input order follows numpy: `-0.0` equals `0.0` and NaN compares above every number.
///
/// Cost per update once the window is full: the sample (about `1.4 * stat_size` Mersenne
/// Twister outputs at the defaults, in a branch-free loop), two binary searches and one shift
/// in the window kept sorted, and one pass over its `window_size` points. No allocation per
/// update; a reset re-seeds in place.
#[derive(Clone, Debug)]
pub struct Kswin {
    params: KswinParams,
    seed: u64,
    rng: CpythonRandom,
    window: SortedWindow,
    table: DriftTable,
    /// KS count of the latest test since the last reset (0 before the first).
    last_h: usize,
    drift_detected: bool,
}

impl Kswin {
    /// A detector that has seen nothing, seeded with `params.seed` or, when `None`, with a
    /// seed from OS entropy. Out-of-range sizes are clamped (`stat_size` to
    /// `1..=MAX_STAT_SIZE`, `window_size` to at least `2 * stat_size`);
    /// [`crate::DetectorSpec::parse`] rejects them instead.
    pub fn new(params: KswinParams) -> Kswin {
        let seed = params.seed.unwrap_or_else(entropy_seed);
        let stat_size = params.stat_size.clamp(1, MAX_STAT_SIZE);
        let window_size = params.window_size.clamp(2 * stat_size, MAX_WINDOW_SIZE);
        Kswin {
            params,
            seed,
            rng: CpythonRandom::new(seed),
            window: SortedWindow::new(window_size, stat_size),
            table: DriftTable::new(stat_size, params.alpha),
            last_h: 0,
            drift_detected: false,
        }
    }

    /// Takes one point and returns River's `drift_detected` after it.
    #[inline]
    pub fn update(&mut self, x: f64) -> bool {
        if self.drift_detected {
            self.reset_after_drift();
        }
        if !self.window.push(order_key(x)) {
            return false;
        }
        let h = self.window.ks_count(&mut self.rng);
        self.last_h = h;
        self.drift_detected = self.table.drifts(h);
        self.drift_detected
    }

    /// Takes one point: drift, else [`Signal::NotReady`] while the window is not full, else
    /// stable. KSWIN has no warning zone.
    #[inline]
    pub fn update_signal(&mut self, x: f64) -> Signal {
        if self.update(x) {
            Signal::Drift
        } else if self.window.is_full() {
            Signal::Stable
        } else {
            Signal::NotReady
        }
    }

    #[cold]
    #[inline(never)]
    fn reset_after_drift(&mut self) {
        self.reset();
    }

    /// River's `_reset`: empties the window and re-seeds the generator with the same seed, so
    /// the detector behaves exactly like a fresh one with that seed. Does not allocate.
    pub fn reset(&mut self) {
        self.window.clear();
        self.rng.reseed(self.seed);
        self.last_h = 0;
        self.drift_detected = false;
    }

    /// Whether the latest update detected a change (River's `drift_detected`).
    pub fn drift_detected(&self) -> bool {
        self.drift_detected
    }

    /// Always false: KSWIN has no warning zone (River's `warning_detected`).
    pub fn warning_detected(&self) -> bool {
        false
    }

    /// The seed in use: `params.seed`, or the one drawn from OS entropy.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Points in the window.
    pub fn n_seen(&self) -> u64 {
        self.window.len() as u64
    }

    /// The KS statistic `D` of the latest test since the last reset (0.0 before the first).
    pub fn ks_statistic(&self) -> f64 {
        self.last_h as f64 / self.stat_size() as f64
    }

    /// The parameters this detector was built with.
    pub fn params(&self) -> &KswinParams {
        &self.params
    }

    fn stat_size(&self) -> usize {
        self.params.stat_size.clamp(1, MAX_STAT_SIZE)
    }

    /// The statistic `"ks_statistic"` is `D` of the latest test; the bound is the smallest `D`
    /// that signals a drift for these parameters (`None` if none can); `n_seen` counts the
    /// points in the window and `n_needed` is `window_size`.
    pub fn explain(&self) -> Explanation {
        let stat_size = self.stat_size() as f64;
        Explanation {
            statistic: "ks_statistic",
            value: self.ks_statistic(),
            bound: self.table.smallest_drift().map(|h| h as f64 / stat_size),
            n_seen: self.n_seen(),
            n_needed: self.window.capacity() as u64,
        }
    }
}

/// The serialized form of [`Kswin`]: the window as its points, oldest first (the sorted view,
/// the weights and the sampling scratch are rebuilt from them), the generator and the table of
/// decisions as they are.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct KswinState<'a> {
    params: KswinParams,
    seed: u64,
    rng: std::borrow::Cow<'a, CpythonRandom>,
    window: Vec<f64>,
    table: std::borrow::Cow<'a, DriftTable>,
    last_h: usize,
    drift_detected: bool,
}

#[cfg(feature = "serde")]
impl serde::Serialize for Kswin {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        KswinState {
            params: self.params,
            seed: self.seed,
            rng: std::borrow::Cow::Borrowed(&self.rng),
            window: self.window.values(),
            table: std::borrow::Cow::Borrowed(&self.table),
            last_h: self.last_h,
            drift_detected: self.drift_detected,
        }
        .serialize(serializer)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Kswin {
    /// Refuses a seed other than `params.seed`, more points than the window holds and a table
    /// made for other parameters. Sizes are clamped as [`Kswin::new`] clamps them.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Kswin, D::Error> {
        use serde::de::Error;
        let state = KswinState::deserialize(deserializer)?;
        let params = state.params;
        let stat_size = params.stat_size.clamp(1, MAX_STAT_SIZE);
        let window_size = params.window_size.clamp(2 * stat_size, MAX_WINDOW_SIZE);
        if params.seed.is_some_and(|seed| seed != state.seed) {
            return Err(D::Error::custom("kswin: the seed is not the parameter's"));
        }
        let window = SortedWindow::with_values(window_size, stat_size, &state.window)
            .ok_or_else(|| D::Error::custom("kswin: more points than the window holds"))?;
        if !state.table.fits(stat_size, params.alpha) || state.last_h > stat_size {
            return Err(D::Error::custom(
                "kswin: the table of decisions does not fit the parameters",
            ));
        }
        Ok(Kswin {
            params,
            seed: state.seed,
            rng: state.rng.into_owned(),
            window,
            table: state.table.into_owned(),
            last_h: state.last_h,
            drift_detected: state.drift_detected,
        })
    }
}

#[cfg(test)]
mod tests;
