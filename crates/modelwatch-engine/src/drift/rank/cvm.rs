//! Evidently's two-sample Cramér-von Mises test (`cramer_von_mises_stattest.py::_cvm_2samp`,
//! its copy of SciPy's `cramervonmises_2samp`): the statistic U from average ranks, the exact
//! p-value when neither side has more than 20 values (`cvm_exact.rs`), else the limiting
//! distribution of the normalised statistic (Csörgő and Faraway's series in K_{1/4}).

use super::average_ranks;
use super::cvm_exact;
use crate::drift::DriftError;
use crate::drift::special::{kv, lgam};
use crate::summation::sum_by;

/// The largest side for which the exact distribution is used.
const EXACT_UP_TO: usize = 20;

/// `_cvm_2samp(reference, current).pvalue` with `method="auto"`.
pub(super) fn p_value(r: &[f64], c: &[f64]) -> Result<f64, DriftError> {
    let (nx, ny) = (r.len(), c.len());
    if nx <= 1 || ny <= 1 {
        return Err(DriftError::Refused {
            method: "cramer_von_mises",
            reason: format!(
                "each side needs at least two values ({nx} in the reference, {ny} in the current window)"
            ),
        });
    }
    let mut xa = r.to_vec();
    xa.sort_by(f64::total_cmp);
    let mut ya = c.to_vec();
    ya.sort_by(f64::total_cmp);
    let (ranks, _) = average_ranks(&xa, &ya);
    let ranks = &ranks;
    let squared_gap = |offset: usize| {
        move |i: usize| {
            let d = ranks[offset + i] - (i + 1) as f64;
            d * d
        }
    };
    let mut u = nx as f64 * sum_by(nx, &squared_gap(0));
    u += ny as f64 * sum_by(ny, &squared_gap(nx));
    if nx.max(ny) <= EXACT_UP_TO {
        return cvm_exact::p_value(u, nx, ny).ok_or_else(|| DriftError::Refused {
            method: "cramer_von_mises",
            reason: format!(
                "Evidently's exact p-value fails for {nx} and {ny} values (NumPy stores its \
                 frequency table as unsigned integers here and refuses to add to it)"
            ),
        });
    }
    let (k, n) = (nx * ny, nx + ny);
    let t = u / (k * n) as f64 - (4 * k - 1) as f64 / (6 * n) as f64;
    let et = (1.0 + 1.0 / n as f64) / 6.0;
    let mut vt = (n as f64 + 1.0) * (4 * k * n - 3 * (nx * nx + ny * ny) - 2 * k) as f64;
    vt /= (45 * n * n * 4 * k) as f64;
    let tn = 1.0 / 6.0 + (t - et) / (45.0 * vt).sqrt();
    if tn < 0.003 {
        return Ok(1.0);
    }
    let p = 1.0 - cdf_limit(tn);
    Ok(if p > 0.0 { p } else { 0.0 })
}

/// `_cdf_cvm_inf(x)`: terms of the series are added until one is below 1e-7.
fn cdf_limit(x: f64) -> f64 {
    let mut total = 0.0;
    let mut k = 0_u32;
    loop {
        let term = series_term(x, f64::from(k));
        total += term;
        // NumPy's `abs(z) >= 1e-7` is false for NaN too.
        if term.abs() < 1e-7 || term.is_nan() {
            return total;
        }
        k += 1;
    }
}

/// The k-th term: Γ(k + 1/2)/Γ(k + 1)/(π^1.5 √x) · √(4k + 1) · e^(−q) · K_{1/4}(q) with
/// q = (4k + 1)² / (16x).
fn series_term(x: f64, k: f64) -> f64 {
    let u = (lgam(k + 0.5) - lgam(k + 1.0)).exp() / (std::f64::consts::PI.powf(1.5) * x.sqrt());
    let y = 4.0 * k + 1.0;
    let q = y * y / (16.0 * x);
    let b = kv(0.25, q);
    u * y.sqrt() * (-q).exp() * b
}
