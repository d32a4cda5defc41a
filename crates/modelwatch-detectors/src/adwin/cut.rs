//! ADWIN's cut search: the scan over every split of the window, River's exact cut test, and a
//! cheap division-free pre-test that rules most splits out without changing any result.

use super::rows::{BucketRows, RowView};

/// A cut found by the scan, for [`super::Adwin::explain`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(super) struct Cut {
    /// `|mean(W0) - mean(W1)|` at the cut.
    pub(super) mean_difference: f64,
    /// The cut's epsilon, which `mean_difference` exceeded.
    pub(super) epsilon: f64,
    /// The window width when the cut was found.
    pub(super) width: f64,
}

/// The whole-window values a scan needs; `variance` must include every point.
#[derive(Clone, Copy, Debug)]
pub(super) struct Window {
    pub(super) width: f64,
    pub(super) total: f64,
    pub(super) variance: f64,
    pub(super) delta: f64,
    pub(super) min_window_length: f64,
}

/// The first split of the window, oldest first, whose sub-window means differ by more than
/// epsilon; `None` if there is none (River's scan in `detect_change`).
///
/// Every candidate split first goes through [`CutTest::surely_no_cut`]; only splits it cannot
/// rule out are evaluated exactly as River does, so the result is bit-for-bit River's.
pub(super) fn find_cut(rows: &BucketRows, window: Window) -> Option<Cut> {
    let test = CutTest::new(window);
    let mut scan = Scan {
        n0: 0.0,
        n1: window.width,
        u0: 0.0,
        u1: window.total,
    };
    for row in rows.scan_oldest_first() {
        if let Some(cut) = scan.walk(row, &test) {
            return Some(cut);
        }
    }
    None
}

/// Running sizes and sums of the older (`0`) and newer (`1`) sub-windows.
#[derive(Clone, Copy, Debug)]
struct Scan {
    n0: f64,
    n1: f64,
    u0: f64,
    u1: f64,
}

impl Scan {
    /// Moves the row's tested buckets, oldest first, from W1 to W0, testing the split after
    /// each.
    #[inline(always)]
    fn walk(&mut self, row: RowView<'_>, test: &CutTest) -> Option<Cut> {
        let min_window_length = test.window.min_window_length;
        let size = row.size;
        for k in 0..row.tested {
            let bucket_total = row.total(k);
            self.n0 += size;
            self.n1 -= size;
            self.u0 += bucket_total;
            self.u1 -= bucket_total;
            if self.n1 >= min_window_length
                && self.n0 >= min_window_length
                && !test.surely_no_cut(self.n0, self.n1, self.u0, self.u1)
            {
                let cut = test.exact(self.n0, self.n1, self.u0, self.u1);
                if cut.is_some() {
                    return cut;
                }
            }
        }
        None
    }
}

/// Relative slack of [`CutTest::surely_no_cut`]: far above the few-ulp (2^-53) rounding errors
/// it has to absorb.
const SLACK: f64 = 1.0 / (1u64 << 40) as f64;

/// Whether a right-hand-side bound is comfortably finite (false for NaN and infinities).
fn fits(bound: f64) -> bool {
    bound < f64::MAX / 4.0
}

/// River's cut test for one scan, plus precomputed factors for the pre-test.
///
/// River cuts when `|u0/n0 - u1/n1| > sqrt(2 m V dp) + T m`, with `m = 1/a + 1/b`,
/// `a = n0 - mwl + 1`, `b = n1 - mwl + 1`, `V` = variance / width, `dp` = delta prime and
/// `T = 2/3 dp`. With `P = n0 n1`, `Q = a b` (both positive), `S = a + b = W - 2 (mwl - 1)`
/// (the same for every split) and `N = |u0 n1 - u1 n0|`, the mean difference is `N / P` and
/// `m = S / Q`, so "no cut" follows from the division-free
///
/// 1. coarse test `N^2 <= 2 V dp S P`: the root term alone, using `Q <= P`;
/// 2. full test `max(N Q - T S P, 0)^2 <= 2 V dp S Q P^2`: both terms.
///
/// `N` is inflated and the right sides deflated by [`SLACK`], far more than the relative
/// rounding errors of both River's and this computation (a few units of 2^-53 each). The
/// cancellation in `N` and in River's `u0/n0 - u1/n1` costs at most
/// `2^-52 (|u0| n1 + |u1| n0) <= 2^-52 (|u0| + |u1|) W`; adding `2^-47 (|u0| + |u1|) W` to `N`
/// covers it with room to spare.
/// So "surely no cut" implies River's test is false. NaN anywhere fails both tests and the split
/// is evaluated exactly.
#[derive(Clone, Copy, Debug)]
struct CutTest {
    window: Window,
    delta_prime: f64,
    variance_per_width: f64,
    two_thirds_delta_prime: f64,
    min_window_length_minus_one: f64,
    /// `2 V dp S`, deflated; NaN when `P`-scaled values could overflow.
    coarse_factor: f64,
    /// `T S`, deflated.
    linear_factor: f64,
    /// `2 V dp S`, deflated for the full test; NaN when it could overflow.
    root_factor: f64,
    /// Times `|u0| + |u1|`, added to `N` to cover its rounding: `2^-47 W`.
    rounding_factor: f64,
}

impl CutTest {
    fn new(window: Window) -> CutTest {
        let width = window.width;
        // River's `evaluate_cut` recomputes these per split; they only depend on the window.
        let delta_prime = (2.0 * width.ln() / window.delta).ln();
        let variance_per_width = window.variance / width;
        let two_thirds_delta_prime = 2.0 / 3.0 * delta_prime;
        let min_window_length_minus_one = window.min_window_length - 1.0;
        let sub_window_sum = width - 2.0 * min_window_length_minus_one;
        let deflate = (1.0 - SLACK) / (1.0 + SLACK);
        let root = 2.0 * variance_per_width * delta_prime * sub_window_sum * deflate;
        let mut coarse_factor = root * deflate;
        let mut root_factor = root * deflate * deflate;
        // P <= W^2 and Q <= W^2, so the right sides stay below these bounds. If they might
        // overflow, disable the pre-tests rather than compare infinities. The coarse test also
        // needs `Q <= P`, which holds only for `mwl >= 1` (a parameter `parse` enforces).
        if !fits(coarse_factor * width * width) || min_window_length_minus_one < 0.0 {
            coarse_factor = f64::NAN;
        }
        if !fits(root_factor * width.powi(6)) {
            root_factor = f64::NAN;
        }
        CutTest {
            window,
            delta_prime,
            variance_per_width,
            two_thirds_delta_prime,
            min_window_length_minus_one,
            coarse_factor,
            linear_factor: two_thirds_delta_prime * sub_window_sum * deflate,
            root_factor,
            rounding_factor: (32.0 * f64::EPSILON) * width,
        }
    }

    /// True only if River's cut test is certainly false for this split.
    #[inline(always)]
    fn surely_no_cut(&self, n0: f64, n1: f64, u0: f64, u1: f64) -> bool {
        let p = n0 * n1;
        let rounding = self.rounding_factor * (u0.abs() + u1.abs());
        let numerator = (u0 * n1 - u1 * n0).abs() + rounding;
        if numerator * numerator <= self.coarse_factor * p {
            return true;
        }
        self.full_test(n0, n1, p, numerator)
    }

    /// The full test, for splits the coarse test cannot rule out.
    #[inline(never)]
    fn full_test(&self, n0: f64, n1: f64, p: f64, numerator: f64) -> bool {
        let q = (n0 - self.min_window_length_minus_one) * (n1 - self.min_window_length_minus_one);
        let excess = numerator * q - self.linear_factor * p;
        // `excess <= 0` already rules the cut out; clamping it to 0 folds that case into the
        // root test. A NaN excess stays NaN and fails.
        let excess = if excess < 0.0 { 0.0 } else { excess };
        excess * excess <= self.root_factor * q * p * p
    }

    /// River's `evaluate_cut`, operation for operation.
    #[cold]
    #[inline(never)]
    fn exact(&self, n0: f64, n1: f64, u0: f64, u1: f64) -> Option<Cut> {
        let min_window_length = self.window.min_window_length;
        let mean_difference = (u0 / n0 - u1 / n1).abs();
        let m = 1.0 / (n0 - min_window_length + 1.0) + 1.0 / (n1 - min_window_length + 1.0);
        let epsilon = (2.0 * m * self.variance_per_width * self.delta_prime).sqrt()
            + self.two_thirds_delta_prime * m;
        (mean_difference > epsilon).then_some(Cut {
            mean_difference,
            epsilon,
            width: self.window.width,
        })
    }
}
