//! scipy's two-sample Kolmogorov-Smirnov p-value for two samples of equal size, with scipy's
//! float operations in scipy's order, and KSWIN's drift decision for each KS count `h`.

/// scipy's `_compute_prob_outside_square(n, h)`: the exact `P(D >= h/n)` for two samples of
/// size `n`, `1 <= h <= n`, by its Horner-like loop (same operations, same order).
pub(crate) fn prob_outside_square(n: usize, h: usize) -> f64 {
    debug_assert!(h >= 1 && h <= n);
    // Python ints; every value here is far below 2^53, so the conversions are exact.
    let n = n as i64;
    let h = h as i64;
    let mut outside = 0.0_f64;
    let mut k = n / h;
    loop {
        let mut term = 1.0_f64;
        for j in 0..h {
            term = (n - k * h - j) as f64 * term / (n + k * h + j + 1) as f64;
        }
        outside = term * (1.0 - outside);
        if k == 0 {
            break;
        }
        k -= 1;
    }
    2.0 * outside
}

/// The p-value of `scipy.stats.ks_2samp(W, R, method="auto")` for `|W| = |R| = n` (at most
/// 10,000, where scipy uses its exact method) and statistic `D = h / n`.
///
/// When the exact value falls outside `[0, 1]` (rounding, for tiny `h`), scipy switches to
/// `kstwo.sf(D, round(n / 2))`. Only its Ruben-Gambino branch (`round(n/2) * D <= 1`) is
/// ported: for `D > 0.1`, the only case KSWIN asks about, the unit tests show that the exact
/// value leaves `[0, 1]` only for `(n, h) = (5, 1)` and `(7, 1)`, both in that branch. Elsewhere
/// the clipped exact value is returned.
pub(crate) fn p_value(n: usize, h: usize) -> f64 {
    if h == 0 {
        return 1.0;
    }
    let exact = prob_outside_square(n, h);
    if (0.0..=1.0).contains(&exact) {
        return exact;
    }
    let d = h as f64 / n as f64;
    kolmogorov_sf_small_t(n, d).unwrap_or(exact.clamp(0.0, 1.0))
}

/// scipy's asymptotic fallback `kstwo.sf(d, round(m * n / (m + n)))` with `m = n`, where it
/// has the closed form of Ruben and Gambino; `None` elsewhere.
fn kolmogorov_sf_small_t(n: usize, d: f64) -> Option<f64> {
    let size = n as f64;
    // `np.round` rounds half to even.
    let effective = (size * size / (size + size)).round_ties_even();
    if d >= 1.0 {
        return Some(0.0);
    }
    if d <= 0.5 / effective {
        // At or below the lower end of kstwo's support.
        return Some(1.0);
    }
    let t = effective * d;
    if t <= 0.5 {
        return Some(1.0);
    }
    if t > 1.0 || effective > 140.0 {
        return None;
    }
    // np.prod(np.arange(1, n + 1) * (1.0 / n) * (2 * t - 1)), multiplied left to right.
    let step = 1.0 / effective;
    let factor = 2.0 * t - 1.0;
    // numpy starts from the first element; `1.0 * x == x`, so starting from 1.0 is the same.
    let mut product = 1.0_f64;
    let mut i = 1.0_f64;
    while i <= effective {
        product *= i * step * factor;
        i += 1.0;
    }
    Some((1.0 - product).clamp(0.0, 1.0))
}

/// What KSWIN decides for one KS count `h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
enum Decision {
    /// `p(h) > alpha` or `D = h/n <= 0.1`.
    Stable,
    /// `p(h) <= alpha` and `D > 0.1`.
    Drift,
    /// `D > 0.1` but `p(h)` not computed yet.
    Unknown,
}

/// KSWIN's decision `p(h) <= alpha and D > 0.1` for every `h` in `0..=n`, so that an update
/// only needs the integer `h`.
///
/// Built at construction up to the smallest drifting `h` (which gives the bound in
/// `explain`); the p-values above it are computed the first time each `h` occurs and then
/// remembered, because computing all of them costs `O(n^2)` (about a second for `n = 10,000`).
/// The decisions are exact per `h`: no monotonicity of the float p-values is assumed.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct DriftTable {
    n: usize,
    alpha: f64,
    decisions: Vec<Decision>,
    smallest_drift: Option<usize>,
}

impl DriftTable {
    /// The table for samples of size `n >= 1` and significance `alpha`.
    pub(crate) fn new(n: usize, alpha: f64) -> DriftTable {
        let size = n as f64;
        let decisions = (0..=n)
            .map(|h| {
                // River's `st > 0.1`, with scipy's `d = h * 1.0 / lcm`.
                if h as f64 / size > 0.1 {
                    Decision::Unknown
                } else {
                    Decision::Stable
                }
            })
            .collect();
        let mut table = DriftTable {
            n,
            alpha,
            decisions,
            smallest_drift: None,
        };
        table.smallest_drift = (0..=n).find(|&h| table.drifts(h));
        table
    }

    /// Whether this table was made for samples of size `n` and significance `alpha` (bit for
    /// bit) and holds a decision for every count.
    #[cfg(feature = "serde")]
    pub(crate) fn fits(&self, n: usize, alpha: f64) -> bool {
        self.n == n
            && self.alpha.to_bits() == alpha.to_bits()
            && self.decisions.len() == n + 1
            && self.smallest_drift.is_none_or(|h| h <= n)
    }

    /// Whether a test with KS count `h` (`<= n`) detects a drift.
    #[inline]
    pub(crate) fn drifts(&mut self, h: usize) -> bool {
        match self.decisions[h] {
            Decision::Stable => false,
            Decision::Drift => true,
            Decision::Unknown => self.decide(h),
        }
    }

    #[cold]
    #[inline(never)]
    fn decide(&mut self, h: usize) -> bool {
        let drift = p_value(self.n, h) <= self.alpha;
        self.decisions[h] = if drift {
            Decision::Drift
        } else {
            Decision::Stable
        };
        drift
    }

    /// The smallest `h` that detects a drift, if any does.
    pub(crate) fn smallest_drift(&self) -> Option<usize> {
        self.smallest_drift
    }
}
