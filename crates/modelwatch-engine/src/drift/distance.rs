//! Distances between two numerical samples: Wasserstein (normed by the reference's standard
//! deviation) and energy distance, over the pooled sorted values as SciPy's `_cdf_distance`;
//! and NumPy's pairwise summation, which the other modules share for identical rounding.

use super::DriftError;
use crate::summation::sum;

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
/// Δ the gaps between consecutive pooled values.
fn cdf_distance(u: &[f64], v: &[f64], p: u8) -> f64 {
    cdf_distance_sorted(&sorted(u), &sorted(v), p)
}

/// [`cdf_distance`] of two samples sorted ascending (`f64::total_cmp`): the pooled sorted
/// values come from one merge pass (the same array as sorting the concatenation), and the
/// terms are summed in NumPy's pairwise order.
pub(super) fn cdf_distance_sorted(u: &[f64], v: &[f64], p: u8) -> f64 {
    let all = merged(u, v);
    let (nu, nv) = (u.len() as f64, v.len() as f64);
    let (mut iu, mut iv) = (0usize, 0usize);
    let mut terms = Vec::with_capacity(all.len().saturating_sub(1));
    for pair in all.windows(2) {
        let x = pair[0];
        while iu < u.len() && u[iu] <= x {
            iu += 1;
        }
        while iv < v.len() && v[iv] <= x {
            iv += 1;
        }
        let difference = iu as f64 / nu - iv as f64 / nv;
        let delta = pair[1] - x;
        terms.push(if p == 1 {
            difference.abs() * delta
        } else {
            difference * difference * delta
        });
    }
    let total = sum(&terms);
    if p == 1 { total } else { total.sqrt() }
}

/// Two ascending (`f64::total_cmp`) runs merged into one.
fn merged(u: &[f64], v: &[f64]) -> Vec<f64> {
    let mut all = Vec::with_capacity(u.len() + v.len());
    let (mut i, mut j) = (0usize, 0usize);
    while i < u.len() && j < v.len() {
        if v[j].total_cmp(&u[i]).is_lt() {
            all.push(v[j]);
            j += 1;
        } else {
            all.push(u[i]);
            i += 1;
        }
    }
    all.extend_from_slice(&u[i..]);
    all.extend_from_slice(&v[j..]);
    all
}

/// The values sorted ascending.
pub(super) fn sorted(values: &[f64]) -> Vec<f64> {
    let mut values = values.to_vec();
    values.sort_by(f64::total_cmp);
    values
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

    #[test]
    fn identical_samples_are_at_distance_zero_and_a_shift_moves_by_its_size() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [2.0, 3.0, 4.0, 5.0];
        assert_eq!(cdf_distance(&a, &a, 1), 0.0);
        assert_eq!(cdf_distance(&a, &b, 1), 1.0);
        assert_eq!(energy(&a, &a), Ok(0.0));
    }

    #[test]
    fn pairwise_sum_adds_every_value() {
        let values: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(sum(&values), 500_500.0);
        assert_eq!(sum(&values[..5]), 15.0);
    }
}
