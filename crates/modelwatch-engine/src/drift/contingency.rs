//! Tests of categorical columns that Evidently runs on contingency tables or permutations:
//! g_test, fisher_exact, TVD.

use std::collections::BTreeMap;

use super::special::chi2_sf;
use super::{Category, DriftError};
use crate::summation::sum;

mod numpy_random;

use numpy_random::LegacyMt19937;

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
    let stat = sum(&terms);
    Ok(chi2_sf(stat, (table.len() - 1) as f64))
}

/// Evidently's Fisher's exact test: `scipy.stats.fisher_exact` (two-sided) on the table
/// `[[ones_cur, zeros_cur], [ones_ref, zeros_ref]]`. Each side may hold at most 2 categories
/// and the sizes must be equal. Evidently maps the categories to 0/1 in Python's set order
/// and counts any category left unmapped as a 1; its answer then depends on string hashing.
/// Here the first category in category order is the 0 and every other one a 1 (a single
/// category gets Evidently's placeholder partner, which makes a zero row or column: p = 1).
pub(super) fn fisher_exact(r: &[Category], c: &[Category]) -> Result<f64, DriftError> {
    if r.len() != c.len() {
        return Err(DriftError::UnequalSizes {
            method: "fisher_exact",
            reference: r.len(),
            current: c.len(),
        });
    }
    let table = counts(r, c);
    let distinct = |pick: fn(&(&Category, f64, f64)) -> f64| {
        table.iter().filter(|entry| pick(entry) > 0.0).count()
    };
    if distinct(|e| e.1) > 2 || distinct(|e| e.2) > 2 {
        return Err(DriftError::Refused {
            method: "fisher_exact",
            reason: "Evidently expects at most 2 categories on each side".to_string(),
        });
    }
    let (zeros_ref, zeros_cur) = table.first().map_or((0.0, 0.0), |e| (e.1, e.2));
    let ones_ref = r.len() as f64 - zeros_ref;
    let ones_cur = c.len() as f64 - zeros_cur;
    Ok(fisher_two_sided([
        [ones_cur, zeros_cur],
        [ones_ref, zeros_ref],
    ]))
}

/// `scipy.stats.fisher_exact(table).pvalue` (two-sided) for a 2x2 table of counts: the sum of
/// the hypergeometric probabilities of the tables no likelier than the observed one (within
/// a relative 1e-14), 1 when a row or column sums to 0. The probabilities are taken relative
/// to the mode's by the exact ratio of consecutive terms, so ties are found exactly.
fn fisher_two_sided(table: [[f64; 2]; 2]) -> f64 {
    let [[a, b], [c, d]] = table;
    if a + b == 0.0 || c + d == 0.0 || a + c == 0.0 || b + d == 0.0 {
        return 1.0;
    }
    // hypergeom(M = n1 + n2, n = n1, N = n) at x = a.
    let (n1, n2, n) = (a + b, c + d, a + c);
    let low = (n - n2).max(0.0);
    let high = n.min(n1);
    let mode = ((n + 1.0) * (n1 + 1.0) / (n1 + n2 + 2.0)).floor();
    // weight(x) = pmf(x) / pmf(mode).
    let count = (high - low) as usize + 1;
    let mut weights = vec![0.0; count];
    let at = |x: f64| (x - low) as usize;
    weights[at(mode)] = 1.0;
    let mut x = mode;
    while x < high {
        let ratio = ((n1 - x) * (n - x)) / ((x + 1.0) * (n2 - n + x + 1.0));
        weights[at(x + 1.0)] = weights[at(x)] * ratio;
        x += 1.0;
    }
    let mut x = mode;
    while x > low {
        let ratio = (x * (n2 - n + x)) / ((n1 - x + 1.0) * (n - x + 1.0));
        weights[at(x - 1.0)] = weights[at(x)] * ratio;
        x -= 1.0;
    }
    let observed = weights[at(a)];
    if (observed - 1.0).abs() <= 1e-14 {
        return 1.0;
    }
    let limit = observed * (1.0 + 1e-14);
    let total: f64 = weights.iter().sum();
    let tail: f64 = weights.iter().filter(|&&w| w <= limit).sum();
    (tail / total).min(1.0)
}

/// Total variation distance with Evidently's seeded permutation test
/// (`utils.permutation_test(iterations=1000)`): after `np.random.seed(0)`, each iteration
/// takes `np.random.choice(reference ++ current, n_ref, replace=False)` as the reference and
/// the rest as the current window; p = the share of iterations whose distance is at least
/// the observed one. The distances are computed in floating point as Evidently does
/// (`0.5 * np.sum(np.abs(ref / n_ref - cur / n_cur))`), because its comparison of
/// mathematically equal distances depends on their rounding. Evidently sums in Python's set
/// order of the categories; here the sum runs in category order.
pub(super) fn tvd(r: &[Category], c: &[Category]) -> Result<f64, DriftError> {
    const ITERATIONS: usize = 1000;
    let mut index: BTreeMap<&Category, usize> = BTreeMap::new();
    for value in r.iter().chain(c) {
        index.entry(value).or_insert(0);
    }
    for (position, slot) in index.values_mut().enumerate() {
        *slot = position;
    }
    let pooled: Vec<usize> = r
        .iter()
        .chain(c)
        .filter_map(|v| index.get(v).copied())
        .collect();
    let (n_ref, n_cur) = (r.len(), c.len());
    let mut totals = vec![0usize; index.len()];
    for &k in &pooled {
        totals[k] += 1;
    }
    let mut terms = vec![0.0; index.len()];
    let mut distance = |reference: &[usize]| -> f64 {
        for ((term, &a), &t) in terms.iter_mut().zip(reference).zip(&totals) {
            *term = (a as f64 / n_ref as f64 - (t - a) as f64 / n_cur as f64).abs();
        }
        0.5 * sum(&terms)
    };
    let mut counts = vec![0usize; index.len()];
    for &k in &pooled[..n_ref] {
        counts[k] += 1;
    }
    let observed = distance(&counts);
    let mut generator = LegacyMt19937::seeded(0);
    let mut at_least = 0usize;
    for _ in 0..ITERATIONS {
        counts.iter_mut().for_each(|count| *count = 0);
        let order = generator.permutation(pooled.len());
        for &i in &order[..n_ref] {
            counts[pooled[i]] += 1;
        }
        if observed <= distance(&counts) {
            at_least += 1;
        }
    }
    Ok(at_least as f64 / ITERATIONS as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `scipy.stats.fisher_exact(table).pvalue`, SciPy 1.17.1: tails, a table at the mode,
    /// two equal modes ([[2, 3], [3, 2]] ties with [[3, 2], [2, 3]]) and a far tail.
    const FISHER: &[([[f64; 2]; 2], f64)] = &[
        ([[3.0, 1.0], [1.0, 3.0]], 0.485_714_285_714_285_65),
        ([[1.0, 9.0], [11.0, 3.0]], 0.002_759_456_185_220_083_6),
        ([[0.0, 5.0], [5.0, 0.0]], 0.007_936_507_936_507_938),
        ([[2.0, 3.0], [3.0, 2.0]], 1.0),
        ([[10.0, 10.0], [10.0, 10.0]], 1.0),
        ([[1.0, 1.0], [1.0, 2.0]], 1.0),
        ([[7.0, 2.0], [2.0, 8.0]], 0.023_014_137_565_221_155),
        ([[500.0, 2.0], [3.0, 480.0]], 3.531_683_318_091_859_3e-283),
    ];

    #[test]
    fn fisher_two_sided_is_scipys() {
        for &(table, want) in FISHER {
            let got = fisher_two_sided(table);
            assert!(
                ((got - want) / want).abs() <= 1e-12,
                "{table:?}: got {got:e}, SciPy {want:e}"
            );
        }
    }

    #[test]
    fn a_zero_row_or_column_gives_one() {
        assert_eq!(fisher_two_sided([[0.0, 4.0], [0.0, 6.0]]), 1.0);
        assert_eq!(fisher_two_sided([[0.0, 0.0], [3.0, 6.0]]), 1.0);
    }
}
