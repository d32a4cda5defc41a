//! The exact p-value of the two-sample Cramér-von Mises statistic as Evidently's
//! `_pval_cvm_2samp_exact` computes it with NumPy: Xiao, Gordon and Yakovlev's frequency
//! table, stored in the smallest NumPy type that holds `max(lcm²·(m + n), C(m + n, m))`.
//! When the first bound is the larger, that type is an unsigned integer, and NumPy refuses
//! the in-place `+=` of an int64 into it: Evidently raises (`None` here). Otherwise it is a
//! float (float16 below 65,000, else float32), so counts and values round as those types do,
//! the table keeps the order `np.intersect1d`/`np.delete`/`np.concatenate` give it, the final
//! sum is NumPy's pairwise float32 sum and the division happens in that type; all of it is
//! reproduced here.

/// How the frequency table is stored: `np.min_scalar_type(max_gs)` when that is a float.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Storage {
    /// float16.
    Half,
    /// float32.
    Single,
}

impl Storage {
    /// `tmp[1, i0] + g[1, i1]`: two counts added in the table's type.
    fn add_counts(self, a: f64, b: f64) -> f64 {
        match self {
            // NumPy adds halves in float32, where these integers add exactly.
            Storage::Half => half(a + b),
            Storage::Single => f64::from(a as f32 + b as f32),
        }
    }

    /// `tmp[0] += (a·v − b·u)²`: computed in float64, cast back to the table's type.
    fn add_square(self, value: f64, square: f64) -> f64 {
        match self {
            Storage::Half => half(value + square),
            Storage::Single => f64::from((value + square) as f32),
        }
    }
}

/// `x` rounded to the nearest float16 (ties to even; +inf from 65,520 up), as a f64.
fn half(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let magnitude = x.abs();
    if magnitude >= 65_520.0 {
        return f64::INFINITY.copysign(x);
    }
    let exponent = (((magnitude.to_bits() >> 52) & 0x7ff) as i32 - 1023).max(-14);
    let ulp = 2.0_f64.powi(exponent - 10);
    ((magnitude / ulp).round_ties_even() * ulp).copysign(x)
}

/// NumPy's pairwise float32 sum (`FLOAT_pairwise_sum`: eight accumulators up to 128 terms,
/// halves above).
fn pairwise_f32(values: &[f32]) -> f32 {
    let len = values.len();
    if len < 8 {
        let mut total = -0.0_f32;
        for v in values {
            total += v;
        }
        total
    } else if len <= 128 {
        let mut partial = [0.0_f32; 8];
        partial.copy_from_slice(&values[..8]);
        let whole = len - len % 8;
        let mut index = 8;
        while index < whole {
            for (offset, slot) in partial.iter_mut().enumerate() {
                *slot += values[index + offset];
            }
            index += 8;
        }
        let mut total = ((partial[0] + partial[1]) + (partial[2] + partial[3]))
            + ((partial[4] + partial[5]) + (partial[6] + partial[7]));
        for v in &values[whole..] {
            total += v;
        }
        total
    } else {
        let mut half_len = len / 2;
        half_len -= half_len % 8;
        pairwise_f32(&values[..half_len]) + pairwise_f32(&values[half_len..])
    }
}

/// NumPy's float floor division (`npy_floor_divide`, via `npy_divmod`).
fn floor_divide(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        return a / b;
    }
    let modulus = a % b;
    let mut div = (a - modulus) / b;
    if modulus != 0.0 && ((b < 0.0) != (modulus < 0.0)) {
        div -= 1.0;
    }
    if div != 0.0 {
        let mut floor = div.floor();
        if div - floor > 0.5 {
            floor += 1.0;
        }
        floor
    } else {
        0.0_f64.copysign(a / b)
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// C(n, k), exactly (the sizes here are at most 20 + 20).
fn binomial(n: usize, k: usize) -> u64 {
    let mut value: u64 = 1;
    for i in 0..k {
        value = value * (n - i) as u64 / (i + 1) as u64;
    }
    value
}

/// The distinct values of `table` in ascending order, each with the index of its first
/// occurrence (`np.unique(values, return_index=True)`).
fn first_occurrences(table: &[(f64, f64)]) -> Vec<(f64, usize)> {
    let mut order: Vec<usize> = (0..table.len()).collect();
    order.sort_by(|&i, &j| table[i].0.total_cmp(&table[j].0).then(i.cmp(&j)));
    let mut firsts: Vec<(f64, usize)> = Vec::with_capacity(order.len());
    for i in order {
        if firsts.last().is_none_or(|&(v, _)| v != table[i].0) {
            firsts.push((table[i].0, i));
        }
    }
    firsts
}

/// One step of the recursion before the square is added: the entries of `tmp` and `g` with a
/// common value merged (counts added), in ascending value order, then the rest of `tmp`, then
/// the rest of `g`, as `np.intersect1d`, `np.delete` and `np.concatenate` arrange them.
fn merge(tmp: &[(f64, f64)], g: &[(f64, f64)], storage: Storage) -> Vec<(f64, f64)> {
    let left = first_occurrences(tmp);
    let right = first_occurrences(g);
    let mut merged = Vec::with_capacity(tmp.len() + g.len());
    let mut used_left = vec![false; tmp.len()];
    let mut used_right = vec![false; g.len()];
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        let ((a, ia), (b, ib)) = (left[i], right[j]);
        if a < b {
            i += 1;
        } else if b < a {
            j += 1;
        } else {
            merged.push((a, storage.add_counts(tmp[ia].1, g[ib].1)));
            used_left[ia] = true;
            used_right[ib] = true;
            i += 1;
            j += 1;
        }
    }
    merged.extend(
        tmp.iter()
            .zip(&used_left)
            .filter(|(_, u)| !**u)
            .map(|(e, _)| *e),
    );
    merged.extend(
        g.iter()
            .zip(&used_right)
            .filter(|(_, u)| !**u)
            .map(|(e, _)| *e),
    );
    merged
}

/// `_pval_cvm_2samp_exact(s, m, n)`: P(U >= s) for sample sizes m and n; None where
/// Evidently's copy raises (an unsigned table).
pub(super) fn p_value(s: f64, m: usize, n: usize) -> Option<f64> {
    let lcm = m / gcd(m, n) * n;
    let (a, b) = ((lcm / m) as i64, (lcm / n) as i64);
    let mn = m * n;
    let zeta = floor_divide(
        (lcm * lcm * (m + n)) as f64 * (6.0 * s - (mn * (4 * mn - 1)) as f64),
        (6 * mn * mn) as f64,
    );
    let zeta_bound = lcm * lcm * (m + n);
    let combinations = binomial(m + n, m) as f64;
    let storage = if combinations <= zeta_bound as f64 {
        return None;
    } else if combinations < 65_000.0 {
        Storage::Half
    } else {
        Storage::Single
    };
    let mut gs: Vec<Vec<(f64, f64)>> = vec![Vec::new(); m + 1];
    gs[0].push((0.0, 1.0));
    for u in 0..=n {
        let mut next = Vec::with_capacity(m + 1);
        let mut tmp: Vec<(f64, f64)> = Vec::new();
        for (v, g) in gs.iter().enumerate() {
            tmp = merge(&tmp, g, storage);
            let d = a * v as i64 - b * u as i64;
            let square = (d * d) as f64;
            for entry in &mut tmp {
                entry.0 = storage.add_square(entry.0, square);
            }
            next.push(tmp.clone());
        }
        gs = next;
    }
    let counts = gs[m]
        .iter()
        .filter(|(value, _)| *value >= zeta)
        .map(|&(_, count)| count);
    let counts: Vec<f32> = counts.map(|c| c as f32).collect();
    let total = pairwise_f32(&counts);
    Some(match storage {
        Storage::Single => f64::from(total / combinations as f32),
        Storage::Half => {
            let total = half(f64::from(total));
            half(f64::from(total as f32 / half(combinations) as f32))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_rounds_to_even_and_overflows_as_numpy() {
        assert_eq!(half(2049.0), 2048.0);
        assert_eq!(half(2051.0), 2052.0);
        assert_eq!(half(53_130.0), 53_120.0);
        assert_eq!(half(65_504.0), 65_504.0);
        assert_eq!(half(65_520.0), f64::INFINITY);
        assert_eq!(half(0.1), 0.099_975_585_937_5);
    }

    #[test]
    fn floor_division_is_numpys() {
        assert_eq!(floor_divide(7.0, 2.0), 3.0);
        assert_eq!(floor_divide(-7.0, 2.0), -4.0);
        assert_eq!(floor_divide(-0.5, 3.0), -1.0);
    }

    #[test]
    fn unsigned_tables_are_refused_and_float_ones_round() {
        // 2 and 3 values: lcm² · 5 = 180 >= C(5, 2) = 10, an uint8 table NumPy cannot add to.
        assert_eq!(p_value(10.0, 2, 3), None);
        // Every arrangement is at least as extreme as the smallest U: p = 1 (float16 table).
        assert_eq!(p_value(0.0, 8, 8), Some(1.0));
        // The most extreme U (all of x below y) for 10 and 10 (float32 table): two
        // arrangements in C(20, 10) = 184,756, divided in float32.
        let u = 10.0 * 1000.0;
        assert_eq!(p_value(u, 10, 10), Some(f64::from(2.0_f32 / 184_756.0_f32)));
    }
}
