//! The two-sample Kolmogorov-Smirnov test as SciPy's `ks_2samp` computes it: exact or
//! asymptotic as its `method="auto"` chooses (exact when neither sample has more than 10,000
//! values; the asymptotic distribution otherwise, or when the exact computation fails).

mod kolmogorov;
mod lattice;

use std::collections::HashMap;

use super::DriftError;
use super::distance::sorted;
use lattice::outer_prob_inside_method;

/// Above this many values in either sample, `method="auto"` is asymptotic.
const MAX_EXACT_N: usize = 10_000;

/// The two-sided p-value of `ks_2samp(reference, current)`.
pub(super) fn p_value(r: &[f64], c: &[f64]) -> Result<f64, DriftError> {
    let a = sorted(r);
    let b = sorted(c);
    Ok(p_value_sorted(&a, &b, &mut ExactKsCache::default()))
}

/// The p-value of `ks_2samp` for two samples sorted ascending (`f64::total_cmp`), taking the
/// exact p-value from `cache` when it holds it for these sizes and this D.
pub(super) fn p_value_sorted(a: &[f64], b: &[f64], cache: &mut ExactKsCache) -> f64 {
    let d = statistic(a, b);
    let (n1, n2) = (a.len() as u64, b.len() as u64);
    if a.len().max(b.len()) <= MAX_EXACT_N
        && let Some(p) = cache.exact(n1, n2, d)
    {
        return p.clamp(0.0, 1.0);
    }
    // Asymptotic: kstwo.sf(d, round(m·n/(m + n))) with m >= n.
    let (m, n) = if n1 >= n2 {
        (n1 as f64, n2 as f64)
    } else {
        (n2 as f64, n1 as f64)
    };
    let en = (m * n / (m + n)).round_ties_even();
    kolmogorov::kstwo_sf(d, en).clamp(0.0, 1.0)
}

/// D: the largest gap between the two ECDFs (`searchsorted(side="right")`) over the pooled
/// values, as SciPy picks it (the larger of max(F1 − F2) and clip(−min(F1 − F2), 0, 1)).
/// One merge pass over the two sorted samples: at each distinct pooled value, the counts of
/// each side at or below it.
fn statistic(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let mut max_s = f64::NEG_INFINITY;
    let mut min_s = f64::INFINITY;
    let (mut i, mut j) = (0usize, 0usize);
    while i < a.len() || j < b.len() {
        let x = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) | (None, Some(&x)) => x,
            (None, None) => break,
        };
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        let difference = i as f64 / n1 - j as f64 / n2;
        max_s = max_s.max(difference);
        min_s = min_s.min(difference);
    }
    let min_s = (-min_s).clamp(0.0, 1.0);
    if min_s > max_s { min_s } else { max_s }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The most exact p-values an [`ExactKsCache`] keeps.
const CACHE_ENTRIES: usize = 4096;

/// Exact two-sided p-values already computed, by the two sample sizes and `h = round(D·lcm)`
/// (all the exact p-value depends on). For a reference of n values and windows of m, the exact
/// computation walks n rows of about 2h·g/n cells: milliseconds for n = 10,000, m = 1,000;
/// windows of one reference repeat the same few hundred values of h. At most 4,096 entries
/// (about 200 KB); beyond, p-values are computed and not kept.
#[derive(Clone, Debug, Default)]
pub struct ExactKsCache {
    entries: HashMap<(u64, u64, u64), Option<f64>>,
}

impl ExactKsCache {
    /// `_attempt_exact_2kssamp` (two-sided), from the cache when it has it.
    fn exact(&mut self, n1: u64, n2: u64, d: f64) -> Option<f64> {
        let g = gcd(n1, n2);
        let lcm = (n1 / g) * n2;
        let h = (d * lcm as f64).round_ties_even() as u64;
        if h == 0 {
            return Some(1.0);
        }
        if let Some(p) = self.entries.get(&(n1, n2, h)) {
            return *p;
        }
        let p = exact(n1, n2, g, h);
        if self.entries.len() < CACHE_ENTRIES {
            self.entries.insert((n1, n2, h), p);
        }
        p
    }

    /// The bytes the cache holds (its table, one control byte an entry).
    pub fn memory_bytes(&self) -> usize {
        self.entries.capacity() * (size_of::<((u64, u64, u64), Option<f64>)>() + 1)
    }
}

/// `_attempt_exact_2kssamp` (two-sided) for `h = round(D·lcm) > 0`: `None` when the
/// computation leaves [0, 1] (SciPy then falls back to the asymptotic distribution).
fn exact(n1: u64, n2: u64, g: u64, h: u64) -> Option<f64> {
    let p = if n1 == n2 {
        prob_outside_square(n1, h)
    } else {
        outer_prob_inside_method(n1, n2, g, h)
    };
    (0.0..=1.0).contains(&p).then_some(p)
}

/// `_compute_prob_outside_square(n, h)`: the share of lattice paths that leave the band
/// |x − y| < h, for equal sizes.
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let mut p = 0.0;
    let mut k = (n as f64 / h as f64).floor() as i64;
    let (n, h) = (n as f64, h as f64);
    while k >= 0 {
        let kf = k as f64;
        let mut p1 = 1.0;
        let mut j = 0.0;
        while j < h {
            p1 = (n - kf * h - j) * p1 / (n + kf * h + j + 1.0);
            j += 1.0;
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The recursion row after row, as SciPy writes it: the oracle of the interleaved one.
    fn outer_prob_inside_method_sequential(m: u64, n: u64, g: u64, h: u64) -> f64 {
        let (m, n) = if m < n { (n, m) } else { (m, n) };
        let (m, n, g, h) = (m as i64, n as i64, g as i64, h as i64);
        let mg = m / g;
        let ng = n / g;
        let mut minj: i64 = 0;
        let mut maxj: i64 = ((h as f64 / mg as f64).ceil() as i64).min(n + 1);
        let mut curlen = maxj - minj;
        let len_a = (2 * maxj + 2).min(n + 1) as usize;
        let mut a = vec![1.0f64; len_a];
        for slot in a.iter_mut().take(maxj as usize).skip(minj as usize) {
            *slot = 0.0;
        }
        for i in 1..=m {
            let (lastminj, lastlen) = (minj, curlen);
            minj = ((((ng * i - h) as f64 / mg as f64).floor() as i64) + 1).max(0);
            minj = minj.min(n);
            maxj = (((ng * i + h) as f64 / mg as f64).ceil() as i64).min(n + 1);
            if maxj <= minj {
                return 1.0;
            }
            let mut val = if minj == 0 { 0.0 } else { 1.0 };
            let fi = i as f64;
            for jj in 0..(maxj - minj) {
                let j = (jj + minj) as f64;
                val = (a[(jj + minj - lastminj) as usize] * fi + val * j) / (fi + j);
                a[jj as usize] = val;
            }
            curlen = maxj - minj;
            if lastlen > curlen {
                let start = (maxj - minj) as usize;
                let end = (start + (lastlen - curlen) as usize).min(a.len());
                for slot in &mut a[start..end] {
                    *slot = 1.0;
                }
            }
        }
        a[(maxj - minj - 1) as usize]
    }

    #[test]
    fn the_interleaved_recursion_is_the_sequential_one_bit_for_bit() {
        for (m, n) in [
            (10_000, 1_000),
            (1_000, 10_000),
            (37, 23),
            (500, 499),
            (64, 48),
            (9, 3),
        ] {
            let g = gcd(m, n);
            let lcm = (m / g) * n;
            // Fewer values of h for the large sizes (each walks 10,000 rows in a debug build).
            let step = if m * n > 100_000 { lcm / 5 } else { lcm / 97 };
            for h in (1..lcm)
                .step_by(step.max(1) as usize)
                .chain([1, 2, lcm / 40, lcm - 1])
            {
                let interleaved = outer_prob_inside_method(m, n, g, h);
                let sequential = outer_prob_inside_method_sequential(m, n, g, h);
                assert_eq!(interleaved.to_bits(), sequential.to_bits(), "{m} {n} {h}");
            }
        }
    }

    #[test]
    fn identical_samples_give_one_and_separated_ones_the_smallest_p() {
        let a = [1.0, 2.0, 3.0];
        assert_eq!(p_value(&a, &a), Ok(1.0));
        // Fully separated samples of 3 and 3: p = 2/C(6,3) = 0.1.
        let p = p_value(&a, &[4.0, 5.0, 6.0]).unwrap_or(f64::NAN);
        assert!((p - 0.1).abs() < 1e-15, "{p}");
    }
}
