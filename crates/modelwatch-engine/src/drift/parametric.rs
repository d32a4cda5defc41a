//! Tests of numerical columns built on moments: Student's t-test and Epps-Singleton (its
//! linear algebra in `parametric/symmetric.rs`).

mod symmetric;

use super::DriftError;
use super::special::{chi2_sf, t_sf};
use crate::summation::{mean, sum, sum_by};

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
    let var = sum(&squares) / n;
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

/// `scipy.stats.quantile(values, p, method="linear")` of sorted values (Hyndman and Fan's
/// type 7, in SciPy's float order).
fn quantile_linear(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len() as f64;
    let jg = p * n + (1.0 - p);
    let jp1 = jg.div_euclid(1.0);
    let j = jp1 - 1.0;
    let g = if j < 0.0 { 0.0 } else { jg.rem_euclid(1.0) };
    let last = n - 1.0;
    let j = j.clamp(0.0, last) as usize;
    let jp1 = jp1.clamp(0.0, last) as usize;
    (1.0 - g) * sorted[j] + g * sorted[jp1]
}

/// `scipy.stats.iqr` of the pooled sample (75th minus 25th linear percentile).
fn pooled_iqr(r: &[f64], c: &[f64]) -> f64 {
    let mut pooled: Vec<f64> = r.iter().chain(c).copied().collect();
    pooled.sort_by(f64::total_cmp);
    quantile_linear(&pooled, 0.75) - quantile_linear(&pooled, 0.25)
}

/// The four rows cos(t₁x), cos(t₂x), sin(t₁x), sin(t₂x) of one sample, their means and their
/// biased covariance matrix (`np.cov(g) * (n − 1) / n`).
fn features(values: &[f64], ts: [f64; 2]) -> ([f64; 4], [[f64; 4]; 4]) {
    let rows: [Vec<f64>; 4] = [
        values.iter().map(|v| (ts[0] * v).cos()).collect(),
        values.iter().map(|v| (ts[1] * v).cos()).collect(),
        values.iter().map(|v| (ts[0] * v).sin()).collect(),
        values.iter().map(|v| (ts[1] * v).sin()).collect(),
    ];
    let means = [
        mean(&rows[0]),
        mean(&rows[1]),
        mean(&rows[2]),
        mean(&rows[3]),
    ];
    let centred: Vec<Vec<f64>> = rows
        .iter()
        .zip(means)
        .map(|(row, m)| row.iter().map(|v| v - m).collect())
        .collect();
    let n = values.len();
    let scale = 1.0 / (n - 1) as f64;
    let mut cov = [[0.0; 4]; 4];
    for i in 0..4 {
        for j in 0..4 {
            let dot = sum_by(n, &|k| centred[i][k] * centred[j][k]);
            cov[i][j] = dot * scale * (n - 1) as f64 / n as f64;
        }
    }
    (means, cov)
}

/// `scipy.stats.epps_singleton_2samp(reference, current, t=(0.4, 0.8))` p-value, after
/// Evidently's refusal of a pooled sample whose interquartile range is 0. The 4×4
/// pseudo-inverse is taken from an eigendecomposition with NumPy's cutoff (singular values at
/// most 4·ε times the largest are dropped), and its rank is the chi-square's degrees of
/// freedom.
pub(super) fn epps_singleton(r: &[f64], c: &[f64]) -> Result<f64, DriftError> {
    let undefined = |reason: String| DriftError::Undefined {
        method: "es",
        reason,
    };
    let iqr = pooled_iqr(r, c);
    if iqr == 0.0 {
        return Err(DriftError::Refused {
            method: "es",
            reason: "the interquartile range of the pooled values is 0".to_string(),
        });
    }
    let (nx, ny) = (r.len(), c.len());
    if nx < 5 || ny < 5 {
        return Err(undefined(format!(
            "each side needs at least 5 values ({nx} in the reference, {ny} in the current window)"
        )));
    }
    let n = (nx + ny) as f64;
    let sigma = iqr / 2.0;
    let ts = [0.4 / sigma, 0.8 / sigma];
    let (mean_x, cov_x) = features(r, ts);
    let (mean_y, cov_y) = features(c, ts);
    let (wx, wy) = (n / nx as f64, n / ny as f64);
    let mut est_cov = [[0.0; 4]; 4];
    for i in 0..4 {
        for j in 0..4 {
            est_cov[i][j] = wx * cov_x[i][j] + wy * cov_y[i][j];
        }
    }
    let diff: [f64; 4] = std::array::from_fn(|i| mean_x[i] - mean_y[i]);
    let (quadratic, rank) = symmetric::pseudo_inverse_form(est_cov, diff);
    let mut w = n * quadratic;
    if nx.max(ny) < 25 {
        let correction =
            1.0 / (1.0 + n.powf(-0.45) + 10.1 * ((nx as f64).powf(-1.7) + (ny as f64).powf(-1.7)));
        w *= correction;
    }
    let p = chi2_sf(w, rank as f64);
    if p.is_nan() {
        return Err(undefined("the statistic is not a number".to_string()));
    }
    Ok(p)
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
