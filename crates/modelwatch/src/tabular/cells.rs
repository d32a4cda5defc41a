//! One column of a file as read, before it is typed: each cell's text and what kind of value it
//! is (CSV text, or a JSON string, number, boolean or null), and the cells' numbers while every
//! cell present is one.

/// What a cell holds before its column is typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    /// An empty CSV cell, an empty JSON string or a JSON null: a missing value.
    Missing,
    /// A CSV cell: text whose type comes from the whole column.
    Csv,
    /// A JSON string.
    Text,
    /// A JSON number (its text as written).
    Number,
    /// A JSON boolean (`true` or `false`).
    Bool,
}

/// One column's cells, in row order: their texts copied out back to back, and their numbers
/// while every cell present is one. A plain CSV column keeps only its numbers while it is all
/// numbers, and gets its texts (`start_texts`) at its first cell that is not a number.
#[derive(Debug)]
pub struct RawColumn {
    bytes: String,
    ends: Vec<usize>,
    tags: Vec<Tag>,
    /// Whether the texts are kept (false only for a plain CSV column of numbers so far).
    has_texts: bool,
    /// Each cell's number (NaN when missing), while every present cell is a number.
    numbers: Option<Vec<f64>>,
}

impl Default for RawColumn {
    fn default() -> Self {
        Self {
            bytes: String::new(),
            ends: Vec::new(),
            tags: Vec::new(),
            has_texts: true,
            numbers: Some(Vec::new()),
        }
    }
}

impl RawColumn {
    /// A plain CSV column with room for `cells` numbers.
    pub fn numbers_first(cells: usize) -> Self {
        Self {
            has_texts: false,
            numbers: Some(Vec::with_capacity(cells)),
            ..Self::default()
        }
    }

    /// Adds a cell, text and number.
    pub fn push(&mut self, text: &str, tag: Tag) {
        let tag = if text.is_empty() { Tag::Missing } else { tag };
        self.push_text(text, tag);
        if let Some(numbers) = &mut self.numbers {
            let value = match tag {
                Tag::Missing => Some(f64::NAN),
                Tag::Csv | Tag::Number => number(text),
                Tag::Text | Tag::Bool => None,
            };
            match value {
                Some(value) => numbers.push(value),
                None => self.numbers = None,
            }
        }
    }

    fn push_text(&mut self, text: &str, tag: Tag) {
        self.bytes.push_str(text);
        self.ends.push(self.bytes.len());
        self.tags.push(tag);
    }

    /// Adds a plain CSV cell; false (and nothing added) when the column keeps only numbers and
    /// this cell is not one: then `start_texts` must come first.
    pub fn push_plain(&mut self, text: &str) -> bool {
        if self.has_texts {
            self.push(text, Tag::Csv);
            return true;
        }
        let value = if text.is_empty() {
            Some(f64::NAN)
        } else {
            number(text)
        };
        match (value, &mut self.numbers) {
            (Some(value), Some(numbers)) => {
                numbers.push(value);
                true
            }
            _ => false,
        }
    }

    /// Keeps the texts from now on, starting with those of the cells already added.
    pub(super) fn start_texts<'a>(&mut self, earlier: impl Iterator<Item = &'a str>) {
        // Room for as many cells as the numbers had, and texts of 8 bytes on average.
        let cells = self.numbers.as_ref().map_or(0, Vec::capacity);
        self.ends.reserve(cells);
        self.tags.reserve(cells);
        self.bytes.reserve(8 * cells);
        for text in earlier {
            let tag = if text.is_empty() {
                Tag::Missing
            } else {
                Tag::Csv
            };
            self.push_text(text, tag);
        }
        self.has_texts = true;
    }

    /// Each cell's text and tag, in row order, if the texts are kept.
    pub fn cells(&self) -> Option<impl Iterator<Item = (&str, Tag)>> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        let cells = (starts.zip(&self.ends).zip(&self.tags))
            .map(|((start, &end), &tag)| (self.bytes.get(start..end).unwrap_or_default(), tag));
        self.has_texts.then_some(cells)
    }

    /// Each cell's number (NaN when missing) if every cell present is a number.
    pub fn numbers(&self) -> Option<&[f64]> {
        self.numbers.as_deref()
    }
}

/// The boolean a cell holds: a JSON boolean, or a CSV cell pandas reads as one (`true`,
/// `True`, `TRUE` and the same for false).
pub fn boolean(text: &str, tag: Tag) -> Option<bool> {
    match (tag, text) {
        (Tag::Bool | Tag::Csv, "true" | "True" | "TRUE") => Some(true),
        (Tag::Bool | Tag::Csv, "false" | "False" | "FALSE") => Some(false),
        _ => None,
    }
}

/// The finite number a CSV cell or JSON number holds (surrounding spaces allowed).
pub fn number(text: &str) -> Option<f64> {
    let value = match short_decimal(text.as_bytes()) {
        Some(value) => value,
        None => text.trim().parse::<f64>().ok().filter(|v| v.is_finite())?,
    };
    // -0.0 and 0.0 are one value to pandas.
    Some(value + 0.0)
}

/// Powers of ten that are exact doubles.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A plain decimal (`-12.5`, `3`, `.25`) of at most 15 digits, parsed on the fast path that
/// `str::parse` also takes for it (Clinger's): the digits and the power of ten are exact
/// doubles, so one division rounds correctly and the result is the same double. `None` for
/// anything else (exponents, more digits, spaces), which `str::parse` then reads.
fn short_decimal(bytes: &[u8]) -> Option<f64> {
    // The sign without a branch: half the cells of a column are negative, at random, which a
    // branch would mispredict.
    let first = bytes.first().copied().unwrap_or_default();
    let negative = first == b'-';
    let digits = bytes
        .get(usize::from(negative || first == b'+')..)
        .unwrap_or_default();
    // At most 17 bytes: the digits read below stay under 10^17, far from u64's limit.
    if digits.len() > 17 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut at = 0usize;
    while let Some(digit) = digits.get(at).map(|byte| byte.wrapping_sub(b'0'))
        && digit < 10
    {
        mantissa = mantissa * 10 + u64::from(digit);
        at += 1;
    }
    let whole = at;
    let mut decimals = 0usize;
    if digits.get(at) == Some(&b'.') {
        at += 1;
        let first = at;
        while let Some(digit) = digits.get(at).map(|byte| byte.wrapping_sub(b'0'))
            && digit < 10
        {
            mantissa = mantissa * 10 + u64::from(digit);
            at += 1;
        }
        decimals = at - first;
    }
    let count = whole + decimals;
    if at != digits.len() || count == 0 || count > 15 {
        return None;
    }
    // At most 15 digits: the mantissa is below 2^53, hence exact.
    #[allow(clippy::cast_precision_loss)]
    let value = mantissa as f64 / POWERS_OF_TEN.get(decimals).copied()?;
    // The value is not negative: setting its sign bit negates it.
    Some(f64::from_bits(
        value.to_bits() | (u64::from(negative) << 63),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Signs, digits and dots in any order and number: `number` gives `str::parse`'s
        /// double (zero unsigned) or nothing where it gives no finite number.
        #[test]
        fn numbers_are_str_parses_doubles(text in "[+-]?[0-9]{0,18}[.]?[0-9]{0,18}[.-]?") {
            let want = text.parse::<f64>().ok().filter(|v| v.is_finite()).map(|v| (v + 0.0).to_bits());
            prop_assert_eq!(number(&text).map(f64::to_bits), want);
        }
    }

    #[test]
    fn short_decimals_parse_to_the_same_double_as_str_parse() {
        let mut state: u64 = 14;
        for _ in 0..200_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let digits = (state >> 33) % 1_000_000_000_000_000;
            let decimals = ((state >> 20) % 16) as usize;
            let mut text = digits.to_string();
            if decimals < text.len() {
                text.insert(text.len() - decimals, '.');
            }
            if state & 1 == 1 {
                text.insert(0, '-');
            }
            let want: f64 = text.parse().unwrap();
            assert_eq!(
                number(&text).map(f64::to_bits),
                Some((want + 0.0).to_bits()),
                "{text}"
            );
        }
        for (text, want) in [
            ("5.", Some(5.0)),
            (".25", Some(0.25)),
            ("+1", Some(1.0)),
            ("-0.0", Some(0.0)),
            (" 2 ", Some(2.0)),
            ("1e3", Some(1000.0)),
            ("1234567890.1234567", Some(1_234_567_890.123_456_7)),
            (".", None),
            ("-", None),
            ("1.2.3", None),
            ("inf", None),
            ("nan", None),
            ("0x10", None),
        ] {
            assert_eq!(number(text), want, "{text}");
        }
    }
}
