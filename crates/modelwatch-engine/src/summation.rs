//! Floating-point sums added in the order NumPy adds them (pairwise, in blocks of eight), so
//! that sums and means computed here round as scikit-learn's, SciPy's, NannyML's and
//! Evidently's do (the quality metrics, CBPE and the drift tests all use it).
//!
//! NumPy's `add.reduce` over a contiguous float64 array calls `pairwise_sum`: fewer than 8
//! terms are added left to right from `-0.0`; up to 128 terms go into 8 running accumulators
//! combined as `((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))`, then the remainder is added
//! left to right; longer runs split at half the length rounded down to a multiple of 8.

/// The longest run NumPy sums with eight accumulators before splitting it.
const BLOCK: usize = 128;

/// The sum of `term(i)` for `i` in `0..len`, added in NumPy's order.
pub(crate) fn sum_by(len: usize, term: &impl Fn(usize) -> f64) -> f64 {
    let mut index = 0;
    sum_in_order(len, &mut || {
        let value = term(index);
        index += 1;
        value
    })
}

/// The sum of `len` terms added in NumPy's order, each taken from `next` when it is added:
/// NumPy's order takes them first to last, so terms made one after the other (a walk over
/// two samples, say) need no array.
pub(crate) fn sum_in_order(len: usize, next: &mut impl FnMut() -> f64) -> f64 {
    if len < 8 {
        let mut total = -0.0;
        for _ in 0..len {
            total += next();
        }
        total
    } else if len <= BLOCK {
        let mut partial = [0.0; 8];
        for slot in &mut partial {
            *slot = next();
        }
        let whole_blocks = len - len % 8;
        let mut index = 8;
        while index < whole_blocks {
            for slot in &mut partial {
                *slot += next();
            }
            index += 8;
        }
        let mut total = ((partial[0] + partial[1]) + (partial[2] + partial[3]))
            + ((partial[4] + partial[5]) + (partial[6] + partial[7]));
        while index < len {
            total += next();
            index += 1;
        }
        total
    } else {
        let mut half = len / 2;
        half -= half % 8;
        let first = sum_in_order(half, next);
        first + sum_in_order(len - half, next)
    }
}

/// The sum of `values`, added in NumPy's order (`numpy.sum`).
pub(crate) fn sum(values: &[f64]) -> f64 {
    sum_by(values.len(), &|index| values[index])
}

/// The mean of `term(i)` for `i` in `0..len`, as `numpy.mean` computes it: the sum divided by
/// the count. `len` must not be zero.
pub(crate) fn mean_by(len: usize, term: &impl Fn(usize) -> f64) -> f64 {
    sum_by(len, term) / len as f64
}

/// The mean of `values` (`numpy.mean`). `values` must not be empty.
pub(crate) fn mean(values: &[f64]) -> f64 {
    sum(values) / values.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_sums_add_left_to_right() {
        // Left to right, 1e16 + 1 + 1 loses both ones; a pairwise grouping would keep them.
        assert_eq!(sum(&[1e16, 1.0, 1.0]), 1e16);
        assert_eq!(sum(&[]), -0.0);
    }

    #[test]
    fn blocks_of_eight_use_eight_accumulators() {
        // Accumulator 0 holds 1e16 + 1 (= 1e16, the one is lost), accumulators 1..8 hold 2
        // each: ((1e16 + 2) + 4) + (4 + 4) = 1e16 + 14, as `numpy.sum` returns; left to right
        // would lose every one.
        let mut values = vec![1.0; 16];
        values[0] = 1e16;
        assert_eq!(sum(&values), 10_000_000_000_000_014.0);
        assert_eq!(mean(&[1.0, 2.0, 3.0, 4.0]), 2.5);
    }

    #[test]
    fn long_runs_split_into_halves() {
        let values: Vec<f64> = (0..1000).map(|index| f64::from(index) * 0.1).collect();
        let exact: f64 = 49_950.0;
        assert!((sum(&values) - exact).abs() < 1e-9);
    }
}
