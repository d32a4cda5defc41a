//! Tests of categorical columns on category counts: chisquare and z (with `special`'s Cephes
//! ports of SciPy's `chi2.sf` and `ndtr`).

use super::binning::counts;
use super::special::{chi2_sf, ndtr};
use super::{Category, DriftError};

/// `scipy.stats.chisquare` of the current counts against the reference's counts rescaled to
/// the current size; a category absent from the reference gives p = 0; one category, NaN.
pub(super) fn chisquare(r: &[Category], c: &[Category]) -> Result<f64, DriftError> {
    Ok(chisquare_counts(&counts(r), r.len(), &counts(c), c.len()))
}

/// [`chisquare`] from each side's counts (`counts`) and number of values.
pub(super) fn chisquare_counts(
    rc: &[(Category, usize)],
    nr: usize,
    cc: &[(Category, usize)],
    nc: usize,
) -> f64 {
    let mut keys: Vec<&Category> = rc.iter().chain(cc.iter()).map(|(k, _)| k).collect();
    keys.sort();
    keys.dedup();
    let count = |table: &[(Category, usize)], key: &Category| -> f64 {
        table
            .binary_search_by(|(k, _)| k.cmp(key))
            .map_or(0.0, |i| table[i].1 as f64)
    };
    let k_norm = nc as f64 / nr as f64;
    let mut statistic = 0.0;
    for key in &keys {
        let expected = count(rc, key) * k_norm;
        let observed = count(cc, key);
        statistic += (observed - expected) * (observed - expected) / expected;
    }
    let df = keys.len() as f64 - 1.0;
    chi2_sf(statistic, df)
}

/// The two-proportion z-test of the first category (sorted) against the others:
/// `2·(1 − Φ(|z|))`, computed literally; 1 when both sides hold the same single value.
pub(super) fn z(r: &[Category], c: &[Category]) -> Result<f64, DriftError> {
    z_counts(&counts(r), r.len(), &counts(c), c.len())
}

/// [`z`] from each side's counts (`counts`) and number of values.
pub(super) fn z_counts(
    rc: &[(Category, usize)],
    nr: usize,
    cc: &[(Category, usize)],
    nc: usize,
) -> Result<f64, DriftError> {
    if rc.len() == 1 && cc.len() == 1 && rc[0].0 == cc[0].0 {
        return Ok(1.0);
    }
    let first = match (rc.first(), cc.first()) {
        (Some((a, _)), Some((b, _))) => a.min(b),
        (Some((a, _)), None) | (None, Some((a, _))) => a,
        (None, None) => return Err(DriftError::Empty { side: "reference" }),
    };
    let others = |table: &[(Category, usize)], n: usize| {
        let firsts = table
            .binary_search_by(|(k, _)| k.cmp(first))
            .map_or(0, |i| table[i].1);
        (n - firsts) as f64
    };
    let (n1, n2) = (nr as f64, nc as f64);
    let p1 = others(rc, nr) / n1;
    let p2 = others(cc, nc) / n2;
    let pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    Ok(2.0 * (1.0 - ndtr(z.abs())))
}
