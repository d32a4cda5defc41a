//! A column of plain decimals (`-12.5`, `3`, `.25`, most generated data) kept as whole
//! numbers of one scale in 32 bits: half the memory of doubles, each value turned back into
//! the same double `str::parse` gives, and sorted by a radix sort of those whole numbers,
//! a few passes over 4-byte keys instead of five over 8-byte ones.

/// A plain decimal as written: its digits as one whole number, how many of them follow the
/// point, and its sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decimal {
    pub digits: u64,
    pub decimals: u32,
    pub negative: bool,
    /// Whether it is written with a point (`3.0`, `5.`): pandas reads such a column as floats.
    pub pointed: bool,
}

/// Powers of ten that are exact doubles.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The most digits a decimal may have for [`Decimal::value`]: below 2^53, the digits are an
/// exact double.
pub const MAX_DIGITS: usize = 15;

impl Decimal {
    /// The decimal at the start of `bytes`, and the number of bytes it takes: an optional
    /// sign, digits, and an optional point followed by digits, at least one digit in all and
    /// at most [`MAX_DIGITS`]. `None` when `bytes` does not start so, or holds more digits;
    /// what follows the decimal is the caller's to check.
    #[inline]
    pub fn scan(bytes: &[u8]) -> Option<(Decimal, usize)> {
        // The sign without a branch: half the cells of a column are negative, at random,
        // which a branch would mispredict.
        let first = bytes.first().copied().unwrap_or_default();
        let negative = first == b'-';
        let signed = usize::from(negative || first == b'+');
        // At most MAX_DIGITS + 2 digits are read in all before giving up (too many then):
        // below 10^17, far from u64's limit.
        let most = MAX_DIGITS + 2;
        let whole_part = bytes.get(..signed + most).unwrap_or(bytes);
        let mut at = signed;
        let mut digits: u64 = 0;
        while let Some(digit) = whole_part.get(at).map(|byte| byte.wrapping_sub(b'0'))
            && digit < 10
        {
            digits = digits * 10 + u64::from(digit);
            at += 1;
        }
        let whole = at - signed;
        let mut decimals = 0usize;
        let pointed = bytes.get(at) == Some(&b'.');
        if pointed {
            at += 1;
            let first = at;
            let fraction = bytes.get(..first + most - whole).unwrap_or(bytes);
            while let Some(digit) = fraction.get(at).map(|byte| byte.wrapping_sub(b'0'))
                && digit < 10
            {
                digits = digits * 10 + u64::from(digit);
                at += 1;
            }
            decimals = at - first;
        }
        let count = whole + decimals;
        if count == 0 || count > MAX_DIGITS {
            return None;
        }
        let decimals = u32::try_from(decimals).ok()?;
        Some((
            Decimal {
                digits,
                decimals,
                negative,
                pointed,
            },
            at,
        ))
    }

    /// The decimal when `text` is one and nothing else (see [`Decimal::scan`]).
    pub fn parse(text: &str) -> Option<Decimal> {
        match Decimal::scan(text.as_bytes()) {
            Some((decimal, end)) if end == text.len() => Some(decimal),
            _ => None,
        }
    }

    /// Its value: the double `str::parse` gives, with zero unsigned (`-0.0` is `0.0`, as pandas
    /// has it). The digits and the power of ten are exact doubles, so the one division rounds
    /// correctly: Clinger's fast path, which `str::parse` takes too.
    pub fn value(self) -> f64 {
        // At most MAX_DIGITS digits: below 2^53, hence exact.
        #[allow(clippy::cast_precision_loss)]
        let magnitude = self.digits as f64 / power_of_ten(self.decimals);
        // The magnitude is not negative: setting its sign bit negates it; adding 0 unsigns a
        // negative zero.
        f64::from_bits(magnitude.to_bits() | (u64::from(self.negative) << 63)) + 0.0
    }
}

fn power_of_ten(exponent: u32) -> f64 {
    POWERS_OF_TEN
        .get(exponent as usize)
        .copied()
        .unwrap_or(f64::INFINITY)
}

/// The marker of a missing cell: no decimal kept has it, since their magnitude is at most
/// `i32::MAX`.
const MISSING: i32 = i32::MIN;

/// The largest scale kept: `10^9` is the largest power of ten within `i32`.
const MAX_SCALE: u32 = 9;

/// A column of decimals (and missing cells) as whole numbers of one scale: each value is
/// `scaled / 10^scale`, which is the same double as its text parses to (the numerator and the
/// power of ten are exact doubles, the quotient of the same fraction rounds the same way).
#[derive(Debug, Default)]
pub struct Decimals {
    scaled: Vec<i32>,
    scale: u32,
    /// The largest magnitude kept, to know whether a larger scale still fits.
    largest: u32,
    missing: bool,
}

impl Decimals {
    /// An empty column with room for `cells`.
    pub fn with_capacity(cells: usize) -> Decimals {
        Decimals {
            scaled: Vec::with_capacity(cells),
            ..Decimals::default()
        }
    }

    /// Adds `decimal`; false (and nothing changed) when it does not fit: more than nine
    /// decimals, or a magnitude beyond `i32` at the column's scale (or at its own, which the
    /// column's values then take).
    #[inline]
    pub fn push(&mut self, decimal: Decimal) -> bool {
        // Most cells have the column's scale: their digits are the whole number kept.
        if decimal.decimals == self.scale
            && let Ok(magnitude) = i32::try_from(decimal.digits)
        {
            self.largest = self.largest.max(magnitude.unsigned_abs());
            // A sign applied without a branch: half the cells of a column are negative.
            let sign = 1 - 2 * i32::from(decimal.negative);
            self.scaled.push(sign * magnitude);
            return true;
        }
        // The column's scale and the cell's, the larger: every value must fit in i32 there.
        let scale = self.scale.max(decimal.decimals);
        if scale > MAX_SCALE {
            return false;
        }
        let magnitude = (decimal
            .digits
            .checked_mul(10u64.pow(scale - decimal.decimals)))
        .and_then(|magnitude| i32::try_from(magnitude).ok());
        let factor = 10u32.pow(scale - self.scale);
        let largest =
            (self.largest.checked_mul(factor)).filter(|&largest| i32::try_from(largest).is_ok());
        let (Some(magnitude), Some(largest)) = (magnitude, largest) else {
            return false;
        };
        if factor > 1 {
            for value in &mut self.scaled {
                if *value != MISSING {
                    // Within i32: the largest magnitude is, checked above.
                    *value = value.wrapping_mul(factor.cast_signed());
                }
            }
            self.scale = scale;
        }
        self.largest = largest.max(magnitude.unsigned_abs());
        self.scaled.push(if decimal.negative {
            -magnitude
        } else {
            magnitude
        });
        true
    }

    /// Adds a missing cell.
    pub fn push_missing(&mut self) {
        self.scaled.push(MISSING);
        self.missing = true;
    }

    /// How many cells.
    pub fn len(&self) -> usize {
        self.scaled.len()
    }

    /// Whether there is no cell.
    pub fn is_empty(&self) -> bool {
        self.scaled.is_empty()
    }

    /// How many cells it has room for.
    pub fn capacity(&self) -> usize {
        self.scaled.capacity()
    }

    /// Whether a cell is missing.
    pub fn has_missing(&self) -> bool {
        self.missing
    }

    fn value(&self, scaled: i32) -> f64 {
        f64::from(scaled) / power_of_ten(self.scale)
    }

    /// Every cell's number, NaN where missing.
    pub fn numbers(&self) -> Vec<f64> {
        (self.scaled.iter())
            .map(|&scaled| {
                if scaled == MISSING {
                    f64::NAN
                } else {
                    self.value(scaled)
                }
            })
            .collect()
    }

    /// The numbers present, in row order.
    pub fn present(&self) -> Vec<f64> {
        if !self.missing {
            // Every cell: a vector of exactly their number.
            return self
                .scaled
                .iter()
                .map(|&scaled| self.value(scaled))
                .collect();
        }
        let present = self.scaled.iter().filter(|&&scaled| scaled != MISSING);
        present.map(|&scaled| self.value(scaled)).collect()
    }

    /// The numbers present, sorted ascending (the order of `f64::total_cmp`: the values are
    /// finite and no zero is negative), by a least-significant-digit radix sort of the whole
    /// numbers above the smallest: as many passes of 11 bits as their range needs.
    pub fn present_sorted(&self) -> Vec<f64> {
        let present = || {
            self.scaled
                .iter()
                .copied()
                .filter(|&scaled| scaled != MISSING)
        };
        let Some(smallest) = present().min() else {
            return Vec::new();
        };
        // Each key is the value's distance above the smallest: within u32.
        let mut keys: Vec<u32> = present()
            .map(|scaled| scaled.wrapping_sub(smallest).cast_unsigned())
            .collect();
        radix_sort(&mut keys);
        keys.into_iter()
            .map(|key| self.value(smallest.wrapping_add(key.cast_signed())))
            .collect()
    }
}

/// Bits per radix digit: 2,048 counters, which stay in the first-level cache.
const DIGIT_BITS: u32 = 11;
const BUCKETS: usize = 1 << DIGIT_BITS;

/// Sorts `keys` ascending: one counting pass for the digits the largest key has, then one
/// stable scatter per digit.
fn radix_sort(keys: &mut Vec<u32>) {
    let largest = keys.iter().copied().max().unwrap_or_default();
    let passes = (u32::BITS - largest.leading_zeros()).div_ceil(DIGIT_BITS) as usize;
    if passes == 0 {
        return;
    }
    let digit =
        |key: u32, pass: usize| ((key >> (pass as u32 * DIGIT_BITS)) as usize) & (BUCKETS - 1);
    let mut counts = vec![[0u32; BUCKETS]; passes];
    for &key in keys.iter() {
        for (pass, histogram) in counts.iter_mut().enumerate() {
            histogram[digit(key, pass)] += 1;
        }
    }
    let mut scratch = vec![0u32; keys.len()];
    for (pass, histogram) in counts.iter_mut().enumerate() {
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Any mix of decimals of scales 0 to 4 (and missing cells): the column takes each one
        /// exactly when all its values fit in 32 bits at the larger scale (and is unchanged
        /// otherwise), gives each cell's `str::parse` double (zero unsigned), and sorts them
        /// as `f64::total_cmp` does.
        #[test]
        fn values_and_order_are_str_parses(
            cells in prop::collection::vec(
                prop::option::weighted(0.95, "[+-]?[0-9]{0,7}[.]?[0-9]{0,4}"), 0..1500),
        ) {
            let bits = |values: &[f64]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            let mut column = Decimals::default();
            let mut want = Vec::new();
            // The scale of the values taken, and their largest magnitude at it.
            let mut model: (u32, i128) = (0, 0);
            for cell in &cells {
                match cell {
                    None => {
                        column.push_missing();
                        want.push(f64::NAN);
                    }
                    Some(text) => {
                        let Some(decimal) = Decimal::parse(text) else {
                            prop_assert!(text.parse::<f64>().is_err() || text.is_empty());
                            continue;
                        };
                        let value: f64 = text.parse().expect("a decimal parses");
                        prop_assert_eq!(decimal.value().to_bits(), (value + 0.0).to_bits());
                        // It fits when every value, at the larger of the two scales, is
                        // within i32 (computed here in 128 bits).
                        let (model_scale, model_largest) = model;
                        let scale = model_scale.max(decimal.decimals);
                        let largest = model_largest * 10i128.pow(scale - model_scale);
                        let magnitude = i128::from(decimal.digits) * 10i128.pow(scale - decimal.decimals);
                        let fits = largest.max(magnitude) <= i128::from(i32::MAX);
                        let before = column.numbers();
                        prop_assert_eq!(column.push(decimal), fits, "{}", text);
                        if !fits {
                            prop_assert_eq!(bits(&column.numbers()), bits(&before), "changed");
                            continue;
                        }
                        model = (scale, largest.max(magnitude));
                        want.push(value + 0.0);
                    }
                }
            }
            prop_assert_eq!(bits(&column.numbers()), bits(&want));
            let mut present: Vec<f64> = want.iter().copied().filter(|v| !v.is_nan()).collect();
            prop_assert_eq!(bits(&column.present()), bits(&present));
            present.sort_by(f64::total_cmp);
            prop_assert_eq!(bits(&column.present_sorted()), bits(&present));
        }
    }

    #[test]
    fn a_scale_or_magnitude_beyond_32_bits_is_refused_and_changes_nothing() {
        let decimal = |text: &str| Decimal::parse(text).expect("a decimal");
        let mut column = Decimals::default();
        assert!(column.push(decimal("2147483.647")));
        assert!(!column.push(decimal("0.0001")), "the scale would overflow");
        assert!(!column.push(decimal("2147484")), "beyond i32 at scale 3");
        assert!(column.push(decimal("-2147483.647")));
        assert_eq!(column.numbers(), vec![2_147_483.647, -2_147_483.647]);
        let mut small = Decimals::default();
        assert!(!small.push(decimal("0.0000000001")), "ten decimals");
        assert!(small.is_empty());
        assert_eq!(Decimal::parse("1e3"), None);
        assert_eq!(Decimal::parse("1234567890123456"), None, "16 digits");
        assert_eq!(Decimal::parse("-"), None);
        assert_eq!(Decimal::parse("."), None);
        assert_eq!(Decimal::scan(b"12.5,x"), Some((decimal("12.5"), 4)));
    }
}
