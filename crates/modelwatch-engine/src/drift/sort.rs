//! Sorting numbers in IEEE total order (`f64::total_cmp`, the order the tests' sorts use) by
//! a least-significant-digit radix sort of their bits, faster than a comparison sort on the
//! samples of a large column (about 1.6 times at 100,000 values; BENCHMARKS.md); small
//! samples keep the comparison sort.

use super::Category;

/// Below this many values the comparison sort is used: the counting tables (5 × 8,192
/// counters) would cost more than they save.
const RADIX_FROM: usize = 512;

/// Bits per radix digit: 5 passes over 64 bits, 8,192 counters each.
const DIGIT_BITS: u32 = 13;
const BUCKETS: usize = 1 << DIGIT_BITS;
const PASSES: usize = 64_usize.div_ceil(DIGIT_BITS as usize);

/// Sorts `values` as `values.sort_by(f64::total_cmp)` does (values that compare equal have
/// the same bits, so the order of equal values does not show).
pub(crate) fn sort_f64(values: &mut [f64]) {
    if values.len() < RADIX_FROM {
        values.sort_unstable_by(f64::total_cmp);
        return;
    }
    let mut keys: Vec<u64> = values.iter().map(|value| key(*value)).collect();
    radix_sort(&mut keys);
    for (value, key) in values.iter_mut().zip(&keys) {
        *value = from_key(*key);
    }
}

/// A copy of `values`, sorted as [`sort_f64`] sorts.
pub(crate) fn sorted_f64(values: &[f64]) -> Vec<f64> {
    if values.len() < RADIX_FROM {
        let mut values = values.to_vec();
        values.sort_unstable_by(f64::total_cmp);
        return values;
    }
    let mut keys: Vec<u64> = values.iter().map(|value| key(*value)).collect();
    radix_sort(&mut keys);
    // Collected in place: the keys' buffer becomes the values'.
    keys.into_iter().map(from_key).collect()
}

/// Sorts categories as `values.sort()` does, by their numbers' bits when every category is a
/// number (categories that compare equal are the same value, so the order of equal ones does
/// not show).
pub(crate) fn sort_categories(values: &mut [Category]) {
    let numbers: Option<Vec<u64>> = (values.len() >= RADIX_FROM)
        .then(|| {
            values
                .iter()
                .map(|value| match value {
                    Category::Number(number) => Some(key(*number)),
                    Category::Bool(_) | Category::Text(_) => None,
                })
                .collect()
        })
        .flatten();
    let Some(mut keys) = numbers else {
        values.sort_unstable();
        return;
    };
    radix_sort(&mut keys);
    for (value, key) in values.iter_mut().zip(&keys) {
        *value = Category::Number(from_key(*key));
    }
}

/// The value's bits as an unsigned key in the same order as `f64::total_cmp`: negative values
/// (sign bit set) have every bit flipped, others only the sign bit.
fn key(value: f64) -> u64 {
    let bits = value.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// The inverse of [`key`].
fn from_key(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 {
        key & !(1 << 63)
    } else {
        !key
    })
}

/// Digit `pass` of `key` (pass 0 is the least significant).
fn digit(key: u64, pass: usize) -> usize {
    // The mask keeps the digit within BUCKETS, so the cast cannot truncate.
    ((key >> (pass * DIGIT_BITS as usize)) & (BUCKETS as u64 - 1)) as usize
}

/// Sorts `keys` ascending: one counting pass for every digit, then one stable scatter per digit
/// that does not hold the same value in every key. The counters are 32-bit (half the cache of
/// 64-bit ones); more keys than they count go to the comparison sort.
fn radix_sort(keys: &mut Vec<u64>) {
    let Ok(total) = u32::try_from(keys.len()) else {
        keys.sort_unstable();
        return;
    };
    let mut counts = vec![[0u32; BUCKETS]; PASSES];
    for &key in keys.iter() {
        for (pass, histogram) in counts.iter_mut().enumerate() {
            histogram[digit(key, pass)] += 1;
        }
    }
    let mut scratch = vec![0u64; keys.len()];
    for (pass, histogram) in counts.iter_mut().enumerate() {
        if histogram.contains(&total) {
            continue;
        }
        let mut next = 0;
        for count in histogram.iter_mut() {
            let start = next;
            next += *count;
            *count = start;
        }
        for &key in keys.iter() {
            let slot = &mut histogram[digit(key, pass)];
            if let Some(target) = scratch.get_mut(*slot as usize) {
                *target = key;
            }
            *slot += 1;
        }
        std::mem::swap(keys, &mut scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn by_total_cmp(values: &[f64]) -> Vec<u64> {
        let mut values = values.to_vec();
        values.sort_by(f64::total_cmp);
        values.into_iter().map(f64::to_bits).collect()
    }

    fn by_radix(values: &[f64]) -> Vec<u64> {
        sorted_f64(values).into_iter().map(f64::to_bits).collect()
    }

    /// Values drawn from a mix of special values, small integers (duplicates) and any bits.
    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            prop::sample::select(vec![
                0.0,
                -0.0,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::MIN_POSITIVE,
                -f64::MIN_POSITIVE,
                f64::MAX,
                f64::MIN,
                5e-324,
                -5e-324,
                1.0,
                -1.0,
            ]),
            (-20i32..20).prop_map(f64::from),
            any::<u64>()
                .prop_map(f64::from_bits)
                .prop_filter("no NaN", |v| !v.is_nan()),
            (-1e6f64..1e6).prop_map(|v| (v * 1e4).round() / 1e4),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn sorts_as_total_cmp_does(values in prop::collection::vec(value(), 0..3000)) {
            prop_assert_eq!(by_radix(&values), by_total_cmp(&values));
            let mut in_place = values.clone();
            sort_f64(&mut in_place);
            let in_place: Vec<u64> = in_place.into_iter().map(f64::to_bits).collect();
            prop_assert_eq!(in_place, by_total_cmp(&values));
        }

        #[test]
        fn sorts_categories_as_sort_does(
            numbers in prop::collection::vec(value(), 0..1500),
            text in any::<bool>(),
        ) {
            let mut values: Vec<Category> = numbers.into_iter().map(Category::Number).collect();
            if text {
                values.push(Category::Text("a".to_string()));
                values.push(Category::Bool(true));
            }
            let mut want = values.clone();
            want.sort();
            sort_categories(&mut values);
            let bits = |values: &[Category]| -> Vec<(u8, u64)> {
                values.iter().map(|value| match value {
                    Category::Bool(flag) => (0, u64::from(*flag)),
                    Category::Number(number) => (1, number.to_bits()),
                    Category::Text(_) => (2, 0),
                }).collect()
            };
            prop_assert_eq!(bits(&values), bits(&want));
        }
    }

    #[test]
    fn keys_order_as_total_cmp_and_round_trip() {
        let values = [
            f64::NEG_INFINITY,
            -1.5,
            -0.0,
            0.0,
            5e-324,
            2.0,
            f64::INFINITY,
        ];
        for pair in values.windows(2) {
            assert!(key(pair[0]) < key(pair[1]), "{pair:?}");
        }
        for value in values {
            assert_eq!(from_key(key(value)).to_bits(), value.to_bits());
        }
    }

    #[test]
    fn sorts_large_samples_with_signed_zeros_and_infinities() {
        let mut state: u64 = 7;
        let mut values: Vec<f64> = (0..20_000)
            .map(|i| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                match i % 7 {
                    0 => -0.0,
                    1 => 0.0,
                    2 => f64::INFINITY,
                    3 => f64::NEG_INFINITY,
                    _ => ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 100.0,
                }
            })
            .collect();
        let want = by_total_cmp(&values);
        sort_f64(&mut values);
        let got: Vec<u64> = values.iter().map(|v| v.to_bits()).collect();
        assert_eq!(got, want);
        // Every value the same: every pass is skipped.
        let mut same = vec![3.25; 1000];
        sort_f64(&mut same);
        assert_eq!(same, vec![3.25; 1000]);
    }
}
