//! Distances between two numerical samples: Wasserstein (normed by the reference's standard
//! deviation) and energy distance, over the pooled sorted values as SciPy's `_cdf_distance`;
//! and NumPy's pairwise summation, which the other modules share for identical rounding.

use super::DriftError;
use crate::summation::{sum, sum_in_order};

/// `scipy.stats.wasserstein_distance(reference, current)` over `max(np.std(reference), 0.001)`.
pub(super) fn wasserstein_normed(r: &[f64], c: &[f64]) -> Result<f64, DriftError> {
    let norm = std_population(r).max(0.001);
    Ok(cdf_distance(r, c, 1) / norm)
}

/// `scipy.stats.energy_distance`: `sqrt(2)` times the L2 distance of the two ECDFs.
pub(super) fn energy(r: &[f64], c: &[f64]) -> Result<f64, DriftError> {
    Ok(std::f64::consts::SQRT_2 * cdf_distance(r, c, 2))
}

/// SciPy's `_cdf_distance(p, u, v)` for p = 1 (`Σ |U − V|·Δ`) and p = 2 (`sqrt(Σ (U − V)²·Δ)`):
/// U and V are the ECDFs (`searchsorted(side="right")`) at every pooled value but the last,
/// Δ the gaps between consecutive pooled values. The pooled values are walked by merging the
/// two sorted samples: where the next value is larger, the values taken so far are exactly
/// those at most the current one (SciPy's counts); within a tie Δ is 0 and so is the term,
/// whatever the counts, so every term, hence the sum, is SciPy's.
fn cdf_distance(u: &[f64], v: &[f64], p: u8) -> f64 {
    cdf_distance_sorted(&sorted(u), &sorted(v), p)
}

/// [`cdf_distance`] of two samples sorted ascending (`f64::total_cmp`), walked by merging them
/// (the same values in the same order as sorting the concatenation); the terms are summed in
/// NumPy's pairwise order as the walk makes them.
pub(super) fn cdf_distance_sorted(u: &[f64], v: &[f64], p: u8) -> f64 {
    let term = |difference: f64, delta: f64| {
        if p == 1 {
            difference.abs() * delta
        } else {
            difference * difference * delta
        }
    };
    let mut walk = Merge::new(u, v);
    let terms = (u.len() + v.len()).saturating_sub(1);
    let mut previous = walk.take();
    // Each term: the ECDFs' difference at the value before, times the gap to the next.
    let total = sum_in_order(terms, &mut || {
        let difference = walk.cu - walk.cv;
        let x = walk.take();
        let delta = x - previous;
        previous = x;
        term(difference, delta)
    });
    if p == 1 { total } else { total.sqrt() }
}

/// The merge of two sorted samples, value by value, with both ECDFs at the values taken.
struct Merge<'a> {
    u: &'a [f64],
    v: &'a [f64],
    nu: f64,
    nv: f64,
    iu: usize,
    iv: usize,
    /// The ECDFs at the values taken so far: `iu / nu` and `iv / nv`, as SciPy divides its
    /// `searchsorted` counts.
    cu: f64,
    cv: f64,
}

impl<'a> Merge<'a> {
    fn new(u: &'a [f64], v: &'a [f64]) -> Merge<'a> {
        Merge {
            u,
            v,
            nu: u.len() as f64,
            nv: v.len() as f64,
            iu: 0,
            iv: 0,
            cu: 0.0,
            cv: 0.0,
        }
    }

    /// The next pooled value (the smaller of the two samples' next ones; NaN past the end),
    /// taken: the ECDFs move past it.
    fn take(&mut self) -> f64 {
        match (self.u.get(self.iu), self.v.get(self.iv)) {
            (Some(&a), Some(&b)) => {
                // The side is chosen without a branch (bit masks): on samples alike it is a
                // coin toss, which a branch would mispredict.
                let from_v = u64::from(b.total_cmp(&a).is_lt());
                let mask = from_v.wrapping_neg();
                let pick = |if_v: f64, if_u: f64| {
                    f64::from_bits((if_v.to_bits() & mask) | (if_u.to_bits() & !mask))
                };
                // `from_v` is 0 or 1.
                #[allow(clippy::cast_possible_truncation)]
                let step = from_v as usize;
                self.iu += 1 - step;
                self.iv += step;
                // The one division for the side that moved.
                let taken = self.iu ^ ((self.iu ^ self.iv) & step.wrapping_neg());
                let moved = taken as f64 / pick(self.nv, self.nu);
                self.cu = pick(self.cu, moved);
                self.cv = pick(moved, self.cv);
                pick(b, a)
            }
            (Some(&a), None) => {
                self.iu += 1;
                self.cu = self.iu as f64 / self.nu;
                a
            }
            (None, Some(&b)) => {
                self.iv += 1;
                self.cv = self.iv as f64 / self.nv;
                b
            }
            (None, None) => f64::NAN,
        }
    }
}

/// The values sorted ascending.
pub(super) fn sorted(values: &[f64]) -> Vec<f64> {
    super::sort::sorted_f64(values)
}

/// pandas' `Series.std(ddof=0)` (what `np.std` of a Series calls): the mean by a pairwise sum,
/// then the mean of the squared deviations.
pub(super) fn std_population(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = sum(values) / n;
    let squares: Vec<f64> = values.iter().map(|x| (mean - x) * (mean - x)).collect();
    (sum(&squares) / n).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    #[test]
    fn identical_samples_are_at_distance_zero_and_a_shift_moves_by_its_size() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [2.0, 3.0, 4.0, 5.0];
        assert_eq!(cdf_distance(&a, &a, 1), 0.0);
        assert_eq!(cdf_distance(&a, &b, 1), 1.0);
        assert_eq!(energy(&a, &a), Ok(0.0));
    }

    /// SciPy's `_cdf_distance` written as it reads: the pooled values sorted, the counts by
    /// `searchsorted(side="right")`.
    fn cdf_distance_by_searchsorted(u: &[f64], v: &[f64], p: u8) -> f64 {
        let (u, v) = (sorted(u), sorted(v));
        let mut all: Vec<f64> = u.iter().chain(&v).copied().collect();
        all.sort_by(f64::total_cmp);
        let terms: Vec<f64> = all
            .windows(2)
            .map(|pair| {
                let cu = u.partition_point(|y| *y <= pair[0]) as f64 / u.len() as f64;
                let cv = v.partition_point(|y| *y <= pair[0]) as f64 / v.len() as f64;
                let difference = cu - cv;
                let delta = pair[1] - pair[0];
                if p == 1 {
                    difference.abs() * delta
                } else {
                    difference * difference * delta
                }
            })
            .collect();
        if p == 1 {
            sum(&terms)
        } else {
            sum(&terms).sqrt()
        }
    }

    /// Halves from -2.5 to 2 (ties), a zero of the given sign, or any value within ±1000.
    fn value(zero: f64) -> impl Strategy<Value = f64> {
        proptest::prop_oneof![
            (-5i8..5).prop_map(|v| f64::from(v) / 2.0),
            proptest::strategy::Just(zero),
            -1e3f64..1e3,
        ]
    }

    proptest::proptest! {
        #[test]
        fn the_merge_walk_gives_searchsorteds_distance_bit_for_bit(
            u in proptest::collection::vec(value(-0.0), 1..300),
            v in proptest::collection::vec(value(0.0), 1..300),
        ) {
            for p in [1, 2] {
                proptest::prop_assert_eq!(
                    cdf_distance(&u, &v, p).to_bits(),
                    cdf_distance_by_searchsorted(&u, &v, p).to_bits()
                );
            }
        }
    }

    #[test]
    fn pairwise_sum_adds_every_value() {
        let values: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(sum(&values), 500_500.0);
        assert_eq!(sum(&values[..5]), 15.0);
    }
}
