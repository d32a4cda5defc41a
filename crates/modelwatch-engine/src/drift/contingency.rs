//! Tests of categorical columns that Evidently runs on contingency tables or permutations:
//! g_test, fisher_exact, TVD.

use std::collections::BTreeMap;

use super::special::chi2_sf;
use super::{Category, DriftError, not_yet};

/// Each category of either side with its count in the reference and in the current window,
/// in category order.
fn counts<'a>(r: &'a [Category], c: &'a [Category]) -> Vec<(&'a Category, f64, f64)> {
    let mut table: BTreeMap<&Category, (usize, usize)> = BTreeMap::new();
    for value in r {
        table.entry(value).or_default().0 += 1;
    }
    for value in c {
        table.entry(value).or_default().1 += 1;
    }
    table
        .into_iter()
        .map(|(k, (nr, nc))| (k, nr as f64, nc as f64))
        .collect()
}

/// NumPy's pairwise summation (`np.add.reduce` on a contiguous float64 array).
pub(super) fn numpy_sum(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 8 {
        return values.iter().fold(0.0, |acc, v| acc + v);
    }
    if n <= 128 {
        let mut r = [0.0; 8];
        r.copy_from_slice(&values[..8]);
        let mut i = 8;
        while i + 8 <= n {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += values[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for v in &values[i..] {
            res += v;
        }
        return res;
    }
    let mut half = n / 2;
    half -= half % 8;
    numpy_sum(&values[..half]) + numpy_sum(&values[half..])
}

/// The G-test: `scipy.stats.power_divergence(f_obs = current counts, f_exp = reference
/// counts, lambda_="log-likelihood")`, p = chi2.sf(2·Σ o·ln(o/e), categories − 1). SciPy
/// refuses observed and expected totals that differ, so the sizes must be equal.
pub(super) fn g_test(r: &[Category], c: &[Category]) -> Result<f64, DriftError> {
    if r.len() != c.len() {
        return Err(DriftError::UnequalSizes {
            method: "g_test",
            reference: r.len(),
            current: c.len(),
        });
    }
    let table = counts(r, c);
    let terms: Vec<f64> = table
        .iter()
        .map(|&(_, e, o)| {
            // scipy.special.xlogy: 0 when o == 0.
            if o == 0.0 {
                0.0
            } else {
                2.0 * (o * (o / e).ln())
            }
        })
        .collect();
    let stat = numpy_sum(&terms);
    Ok(chi2_sf(stat, (table.len() - 1) as f64))
}

/// Fisher's exact test, two-sided.
pub(super) fn fisher_exact(_r: &[Category], _c: &[Category]) -> Result<f64, DriftError> {
    not_yet("fisher_exact")
}

/// Total variation distance with Evidently's seeded permutation test.
pub(super) fn tvd(_r: &[Category], _c: &[Category]) -> Result<f64, DriftError> {
    not_yet("TVD")
}
