//! Rank tests of numerical columns: Mann-Whitney U (one-sided, "less"), two-sample
//! Cramér-von Mises (`cvm.rs`, `cvm_exact.rs`) and k-sample Anderson-Darling, as SciPy
//! computes them.

mod cvm;
mod cvm_exact;

use super::DriftError;
use super::special::ndtr;
use crate::summation::sum;

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

/// Evidently's two-sample Cramér-von Mises p-value (as `scipy.stats.cramervonmises_2samp`):
/// exact up to 20 values a side, else from the limiting distribution.
pub(super) fn cramer_von_mises(r: &[f64], c: &[f64]) -> Result<f64, DriftError> {
    cvm::p_value(r, c)
}

/// `numpy.polyfit(critical, log(sig), 2)` for k = 2 (the critical values and levels are
/// constants), as NumPy 2.4.6 computes it: highest power first.
const ANDERSON_FIT: [f64; 3] = [
    0.018_198_094_574_111_47,
    -1.008_226_564_465_251_5,
    -1.077_770_279_820_484,
];

/// `scipy.stats.anderson_ksamp([reference, current])` significance level (midrank
/// variant): the standardised A2 interpolated on the critical values by a fitted quadratic
/// in log(level), capped at 0.25 and floored at 0.001 as SciPy does.
pub(super) fn anderson(r: &[f64], c: &[f64]) -> Result<f64, DriftError> {
    let mut z: Vec<f64> = r.iter().chain(c).copied().collect();
    z.sort_by(f64::total_cmp);
    let mut distinct = z.clone();
    distinct.dedup();
    if distinct.len() < 2 {
        return Err(DriftError::Refused {
            method: "anderson",
            reason: "anderson_ksamp needs more than one distinct observation".to_string(),
        });
    }
    let a2kn = anderson_midrank(&[r, c], &z, &distinct);
    let n_total = z.len();
    let big_n = n_total as f64;
    let h_sum = 1.0 / r.len() as f64 + 1.0 / c.len() as f64;
    // hs_cs = cumsum(1 / arange(N - 1, 1, -1)).
    let mut hs_cs = Vec::with_capacity(n_total.saturating_sub(2));
    let mut acc = 0.0;
    for j in (2..n_total).rev() {
        acc += 1.0 / j as f64;
        hs_cs.push(acc);
    }
    let h = hs_cs.last().copied().unwrap_or(0.0) + 1.0;
    let ratios: Vec<f64> = hs_cs
        .iter()
        .enumerate()
        .map(|(i, v)| v / (i + 2) as f64)
        .collect();
    let g = sum(&ratios);
    let k = 2.0;
    let a = (4.0 * g - 6.0) * (k - 1.0) + (10.0 - 6.0 * g) * h_sum;
    let b = (2.0 * g - 4.0) * (k * k) + 8.0 * h * k + (2.0 * g - 14.0 * h - 4.0) * h_sum - 8.0 * h
        + 4.0 * g
        - 6.0;
    let cc = (6.0 * h + 2.0 * g - 2.0) * (k * k)
        + (4.0 * h - 4.0 * g + 6.0) * k
        + (2.0 * h - 6.0) * h_sum
        + 4.0 * h;
    let d = (2.0 * h + 6.0) * (k * k) - 4.0 * h * k;
    let n3 = (n_total * n_total * n_total) as f64;
    let n2 = (n_total * n_total) as f64;
    let sigmasq =
        (a * n3 + b * n2 + cc * big_n + d) / ((big_n - 1.0) * (big_n - 2.0) * (big_n - 3.0));
    let a2 = (a2kn - 1.0) / sigmasq.sqrt();
    const B0: [f64; 7] = [0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085];
    const B1: [f64; 7] = [-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615];
    const B2: [f64; 7] = [-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154];
    let critical: Vec<f64> = (0..7).map(|i| B0[i] + B1[i] / 1.0 + B2[i] / 1.0).collect();
    let lowest = critical.iter().copied().fold(f64::INFINITY, f64::min);
    let highest = critical.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if a2.is_nan() {
        return Err(DriftError::Undefined {
            method: "anderson",
            reason: "the statistic is not a number".to_string(),
        });
    }
    if a2 < lowest {
        return Ok(0.25);
    }
    if a2 > highest {
        return Ok(0.001);
    }
    let mut y = 0.0;
    for coefficient in ANDERSON_FIT {
        y = y * a2 + coefficient;
    }
    Ok(y.exp())
}

/// `scipy.stats._morestats._anderson_ksamp_midrank`: Scholz and Stephens' A2akN (eq. 7),
/// `z` the sorted pooled sample and `distinct` its distinct values.
fn anderson_midrank(samples: &[&[f64]], z: &[f64], distinct: &[f64]) -> f64 {
    let big_n = z.len() as f64;
    let left = |s: &[f64], v: f64| s.partition_point(|x| *x < v);
    let right = |s: &[f64], v: f64| s.partition_point(|x| *x <= v);
    let all_distinct = z.len() == distinct.len();
    let lj: Vec<f64> = distinct
        .iter()
        .map(|&v| {
            if all_distinct {
                1.0
            } else {
                (right(z, v) - left(z, v)) as f64
            }
        })
        .collect();
    let bj: Vec<f64> = distinct
        .iter()
        .zip(&lj)
        .map(|(&v, l)| left(z, v) as f64 + l / 2.0)
        .collect();
    let mut total = 0.0;
    for sample in samples {
        let mut s = sample.to_vec();
        s.sort_by(f64::total_cmp);
        let n_i = s.len() as f64;
        let inner: Vec<f64> = distinct
            .iter()
            .enumerate()
            .map(|(j, &v)| {
                let above = right(&s, v);
                let fij = (above - left(&s, v)) as f64;
                let mij = above as f64 - fij / 2.0;
                let diff = big_n * mij - bj[j] * n_i;
                lj[j] / big_n * (diff * diff) / (bj[j] * (big_n - bj[j]) - big_n * lj[j] / 4.0)
            })
            .collect();
        total += sum(&inner) / n_i;
    }
    total * ((big_n - 1.0) / big_n)
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
    fn anderson_is_scipys() {
        // scipy.stats.anderson_ksamp([r, c]).pvalue, SciPy 1.17.1 (midrank), without and
        // with ties, and the cap and floor.
        let cases: [(&[f64], &[f64], f64); 2] = [
            (
                &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
                &[3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0],
                0.093_816_873_944_775_06,
            ),
            (
                &[0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0, 3.0],
                &[1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 4.0],
                0.015_792_983_528_953_187,
            ),
        ];
        for (r, c, want) in cases {
            let got = anderson(r, c).unwrap();
            assert!(
                ((got - want) / want).abs() <= 1e-14,
                "got {got:e}, SciPy {want:e}"
            );
        }
        let same = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(anderson(&same, &same).unwrap(), 0.25);
        let apart: Vec<f64> = (0..30).map(f64::from).collect();
        let far: Vec<f64> = (100..130).map(f64::from).collect();
        assert_eq!(anderson(&apart, &far).unwrap(), 0.001);
        assert!(anderson(&[2.0, 2.0], &[2.0]).is_err());
    }

    #[test]
    fn exact_u_distribution_sums_to_one_and_is_symmetric() {
        // P(U >= 0) = 1; P(U >= n1*n2) = 1/binom(n1+n2, n1).
        assert_eq!(mwu_sf(0, 3, 5), 1.0);
        assert!((mwu_sf(15, 3, 5) - 1.0 / 56.0).abs() < 1e-16);
    }
}
