//! Tests of numerical columns built on moments: Student's t-test and Epps-Singleton.

use super::contingency::numpy_sum;
use super::special::t_sf;
use super::{DriftError, not_yet};

/// NumPy's mean: the pairwise sum over n.
fn mean(values: &[f64]) -> f64 {
    numpy_sum(values) / values.len() as f64
}

/// SciPy's `_var(x, ddof=1)`: the mean of squared deviations from the mean, times n/(n−1).
fn var_ddof1(values: &[f64], m: f64) -> f64 {
    let squares: Vec<f64> = values
        .iter()
        .map(|v| {
            let d = v - m;
            d * d
        })
        .collect();
    let n = values.len() as f64;
    let var = numpy_sum(&squares) / n;
    var * (n / (n - 1.0))
}

/// `scipy.stats.ttest_ind(reference, current)` (pooled variance), two-sided p-value
/// `2·t.sf(|t|, n1 + n2 − 2)`; NaN (Undefined) when both sides are constant.
pub(super) fn t_test(r: &[f64], c: &[f64]) -> Result<f64, DriftError> {
    let (n1, n2) = (r.len() as f64, c.len() as f64);
    let (m1, m2) = (mean(r), mean(c));
    // SciPy takes a single observation's variance as 0 (its (n-1) factor cancels).
    let v1 = if r.len() == 1 { 0.0 } else { var_ddof1(r, m1) };
    let v2 = if c.len() == 1 { 0.0 } else { var_ddof1(c, m2) };
    let df = n1 + n2 - 2.0;
    let svar = ((n1 - 1.0) * v1 + (n2 - 1.0) * v2) / df;
    let denom = (svar * (1.0 / n1 + 1.0 / n2)).sqrt();
    let t = (m1 - m2) / denom;
    let p = 2.0 * t_sf(t.abs(), df);
    if p.is_nan() {
        return Err(DriftError::Undefined {
            method: "t_test",
            reason: "the t statistic is undefined (both sides constant, or two values in all)"
                .to_string(),
        });
    }
    Ok(p)
}

/// `scipy.stats.epps_singleton_2samp(reference, current, t=(0.4, 0.8))` p-value.
pub(super) fn epps_singleton(_r: &[f64], _c: &[f64]) -> Result<f64, DriftError> {
    not_yet("es")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (reference, current, `scipy.stats.ttest_ind(r, c).pvalue`), SciPy 1.17.1.
    #[rustfmt::skip]
    const CASES: &[(&[f64], &[f64], f64)] = &[
        // exact_small
        (&[0.001, 0.299, -0.274, -0.891, -0.455, -0.992], &[0.56, 1.84, 0.008, -0.12, 0.99, 0.857, 0.605, -0.43, 0.471, 1.195, -0.844], 0.028580070946883182),
        // exact_both8
        (&[-0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271, 0.157], &[-0.487, -2.817, -0.839, -0.349, -0.187, -1.83, -0.778, -1.279], 0.5763058693238733),
        // asym_ties
        (&[-1.0, 1.0, -1.0, -0.0, 1.0, -1.0, -0.0, 0.0, 0.0, -1.0, 0.0, 1.0, -2.0, 1.0, 0.0, -1.0, 2.0, 1.0, -1.0, 0.0, 1.0, -0.0, 1.0, -0.0, 1.0, 1.0, -1.0, 0.0, -0.0, 0.0, -1.0, -1.0, -0.0, 1.0, 1.0, -1.0, -1.0, 1.0, -2.0, -0.0], &[0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 2.0, -0.0, 0.0, 1.0, 0.0, 0.0, -1.0, 0.0, -0.0, 2.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, -1.0, 1.0], 0.047167937621857524),
        // small_ties
        (&[1.0, 2.0, 2.0, 3.0], &[2.0, 3.0, 4.0, 5.0, 5.0], 0.04794477217962338),
    ];

    #[test]
    fn t_test_is_scipys_within_1e_13() {
        for (i, &(r, c, want)) in CASES.iter().enumerate() {
            let got = t_test(r, c).unwrap();
            assert!(
                ((got - want) / want).abs() <= 1e-13,
                "case {i}: got {got:e}, SciPy {want:e}"
            );
        }
    }

    #[test]
    fn constant_sides_give_no_t_test() {
        assert!(t_test(&[1.0, 1.0], &[1.0, 1.0, 1.0]).is_err());
    }
}
