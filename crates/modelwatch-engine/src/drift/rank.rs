//! Rank tests of numerical columns: Mann-Whitney U (one-sided, "less"), two-sample
//! Cramér-von Mises and k-sample Anderson-Darling, as SciPy computes them.

use super::special::ndtr;
use super::{DriftError, not_yet};

/// Average ranks (1-based) of the pooled sample `r ++ c`, and the size of every tie group.
fn average_ranks(r: &[f64], c: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let pooled: Vec<f64> = r.iter().chain(c).copied().collect();
    let mut order: Vec<usize> = (0..pooled.len()).collect();
    order.sort_by(|&a, &b| pooled[a].total_cmp(&pooled[b]));
    let mut ranks = vec![0.0; pooled.len()];
    let mut ties = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && pooled[order[end]] == pooled[order[start]] {
            end += 1;
        }
        // Ranks start+1 ..= end share their mean.
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        ties.push((end - start) as f64);
        start = end;
    }
    (ranks, ties)
}

/// `scipy.special.binom(n, k)` for integers 0 <= k <= n as SciPy computes it for k < 20
/// (a running product), else by rounding the exact value (only reached for larger samples).
fn binom(n: usize, k: usize) -> f64 {
    let k = if k > n / 2 && n > 0 { n - k } else { k };
    let (n, k) = (n as f64, k as f64);
    let mut num = 1.0;
    let mut den = 1.0;
    let mut i = 1.0;
    while i < 1.0 + k {
        num *= i + n - k;
        den *= i;
        if num.abs() > 1e50 {
            num /= den;
            den = 1.0;
        }
        i += 1.0;
    }
    num / den
}

/// The survival function P(U >= u) of the Mann-Whitney U statistic with sample sizes n1, n2
/// under the null hypothesis, as `scipy.stats._mannwhitneyu._MWU.sf` computes it (Andreas
/// Löffler's recursion on the frequencies, in integers until they overflow 64 bits).
fn mwu_sf(u: usize, n1: usize, n2: usize) -> f64 {
    let (n1, n2) = (n1.min(n2), n1.max(n2));
    let complement = n1 * n2 - u;
    let (k, from_left) = if u < complement {
        (u, true)
    } else {
        (complement, false)
    };
    // sigma(a) for a = 1..=k.
    let mut sigma = vec![0i64; k + 1];
    for d in 1..=n1 {
        for a in (d..=k).step_by(d) {
            sigma[a] += d as i64;
        }
    }
    for d in n2 + 1..=n2 + n1 {
        for a in (d..=k).step_by(d) {
            sigma[a] -= d as i64;
        }
    }
    let mut configurations = vec![0.0f64; k + 1];
    configurations[0] = 1.0;
    let mut integers = true;
    for v in 1..=k {
        // NumPy's dot of uint64 counts with int64 coefficients runs in float64.
        let mut dot = 0.0;
        for (j, count) in configurations[..v].iter().enumerate() {
            dot += count * sigma[v - j] as f64;
        }
        let new_val = dot / v as f64;
        if integers && new_val > 18_446_744_073_709_551_615.0 {
            integers = false;
        }
        configurations[v] = if integers { new_val.trunc() } else { new_val };
    }
    let total = binom(n1 + n2, n1);
    let mut cdf = 0.0;
    for count in &configurations {
        cdf += count / total;
    }
    if from_left {
        1.0 - cdf + configurations[k] / total
    } else {
        cdf
    }
}

/// `scipy.stats.mannwhitneyu(reference, current, alternative="less")` p-value: the survival
/// function at U2 = n1·n2 − U1, exact when a side has at most 8 values and nothing is tied,
/// else the normal approximation with tie correction and continuity correction.
pub(super) fn mann_whitney(r: &[f64], c: &[f64]) -> Result<f64, DriftError> {
    let (n1, n2) = (r.len(), c.len());
    let (ranks, ties) = average_ranks(r, c);
    let r1: f64 = ranks[..n1].iter().sum();
    let u1 = r1 - (n1 * (n1 + 1)) as f64 / 2.0;
    let u2 = (n1 * n2) as f64 - u1;
    let tied = ties.iter().any(|&t| t > 1.0);
    let p = if (n1 > 8 && n2 > 8) || tied {
        let mu = (n1 * n2) as f64 / 2.0;
        let n = n1 + n2;
        let tie_term: f64 = ties.iter().map(|t| t * t * t - t).sum();
        let s =
            ((n1 * n2) as f64 / 12.0 * ((n + 1) as f64 - tie_term / (n * (n - 1)) as f64)).sqrt();
        let z = (u2 - mu - 0.5) / s;
        ndtr(-z)
    } else {
        // No ties: U2 is a whole number.
        mwu_sf(u2 as usize, n1, n2)
    };
    if p.is_nan() {
        return Err(DriftError::Undefined {
            method: "mannw",
            reason: "every value is the same".to_string(),
        });
    }
    Ok(p.clamp(0.0, 1.0))
}

/// Evidently's two-sample Cramér-von Mises p-value (as `scipy.stats.cramervonmises_2samp`).
pub(super) fn cramer_von_mises(_r: &[f64], _c: &[f64]) -> Result<f64, DriftError> {
    not_yet("cramer_von_mises")
}

/// `scipy.stats.anderson_ksamp([reference, current])` significance level.
pub(super) fn anderson(_r: &[f64], _c: &[f64]) -> Result<f64, DriftError> {
    not_yet("anderson")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (reference, current, `scipy.stats.mannwhitneyu(r, c, alternative="less").pvalue`),
    /// SciPy 1.17.1: the exact distribution (n <= 8, no ties) and the asymptotic one.
    #[rustfmt::skip]
    const CASES: &[(&[f64], &[f64], f64)] = &[
        // exact_small
        (&[0.001, 0.299, -0.274, -0.891, -0.455, -0.992], &[0.56, 1.84, 0.008, -0.12, 0.99, 0.857, 0.605, -0.43, 0.471, 1.195, -0.844], 0.010100193923723336),
        // exact_both8
        (&[-0.458, -1.901, -1.29, -1.842, -0.235, -1.267, 0.271, 0.157], &[-0.487, -2.817, -0.839, -0.349, -0.187, -1.83, -0.778, -1.279], 0.6773115773115774),
        // asym_ties
        (&[-1.0, 1.0, -1.0, -0.0, 1.0, -1.0, -0.0, 0.0, 0.0, -1.0, 0.0, 1.0, -2.0, 1.0, 0.0, -1.0, 2.0, 1.0, -1.0, 0.0, 1.0, -0.0, 1.0, -0.0, 1.0, 1.0, -1.0, 0.0, -0.0, 0.0, -1.0, -1.0, -0.0, 1.0, 1.0, -1.0, -1.0, 1.0, -2.0, -0.0], &[0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 2.0, -0.0, 0.0, 1.0, 0.0, 0.0, -1.0, 0.0, -0.0, 2.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, -1.0, 1.0], 0.03860760137310233),
        // small_ties
        (&[1.0, 2.0, 2.0, 3.0], &[2.0, 3.0, 4.0, 5.0, 5.0], 0.039272925475595334),
    ];

    #[test]
    fn mann_whitney_is_scipys() {
        for (i, &(r, c, want)) in CASES.iter().enumerate() {
            let got = mann_whitney(r, c).unwrap();
            assert!(
                ((got - want) / want).abs() <= 1e-15,
                "case {i}: got {got:e}, SciPy {want:e}"
            );
        }
    }

    #[test]
    fn exact_u_distribution_sums_to_one_and_is_symmetric() {
        // P(U >= 0) = 1; P(U >= n1*n2) = 1/binom(n1+n2, n1).
        assert_eq!(mwu_sf(0, 3, 5), 1.0);
        assert!((mwu_sf(15, 3, 5) - 1.0 / 56.0).abs() < 1e-16);
    }
}
