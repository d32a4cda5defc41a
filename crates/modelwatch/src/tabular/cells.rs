//! One column of a file as read, before it is typed: each cell's text and what kind of value it
//! is (CSV text, or a JSON string, number, boolean or null), and the cells' numbers while every
//! cell present is one.

use std::borrow::Cow;

pub use super::decimals::{Decimal, Decimals};
pub use super::texts::Texts;

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
    texts: Texts,
    tags: Vec<Tag>,
    /// Whether the texts are kept (false only for a plain CSV column of numbers so far).
    has_texts: bool,
    /// Each cell's number, while every present cell is one.
    numbers: Option<Numbers>,
    /// Whether a number was written as a float (with a point or an exponent: `3.0`, `1e3`),
    /// which makes pandas read the column as float64 even when every value is whole.
    floats_written: bool,
}

/// A column's numbers: plain decimals as whole numbers of one scale while they fit, doubles
/// (NaN when missing) from the first that does not.
#[derive(Debug)]
pub enum Numbers {
    Decimals(Decimals),
    Doubles(Vec<f64>),
}

impl Numbers {
    /// Adds a missing cell.
    fn push_missing(&mut self) {
        match self {
            Numbers::Decimals(decimals) => decimals.push_missing(),
            Numbers::Doubles(doubles) => doubles.push(f64::NAN),
        }
    }

    /// Adds a plain decimal.
    #[inline]
    fn push_decimal(&mut self, decimal: Decimal) {
        if let Numbers::Decimals(decimals) = self
            && decimals.push(decimal)
        {
            return;
        }
        self.push_value(decimal.value());
    }

    /// Adds a number that is not a plain decimal (or does not fit as one).
    fn push_value(&mut self, value: f64) {
        if let Numbers::Decimals(decimals) = self {
            *self = Numbers::Doubles(decimals.numbers());
        }
        if let Numbers::Doubles(doubles) = self {
            doubles.push(value);
        }
    }

    /// Each cell's number, NaN where missing.
    pub fn values(&self) -> Cow<'_, [f64]> {
        match self {
            Numbers::Decimals(decimals) => Cow::Owned(decimals.numbers()),
            Numbers::Doubles(doubles) => Cow::Borrowed(doubles),
        }
    }
}

impl Default for RawColumn {
    fn default() -> Self {
        Self {
            texts: Texts::default(),
            tags: Vec::new(),
            has_texts: true,
            numbers: Some(Numbers::Decimals(Decimals::default())),
            floats_written: false,
        }
    }
}

impl RawColumn {
    /// A plain CSV column with room for `cells` numbers.
    pub fn numbers_first(cells: usize) -> Self {
        Self {
            has_texts: false,
            numbers: Some(Numbers::Decimals(Decimals::with_capacity(cells))),
            ..Self::default()
        }
    }

    /// Adds a cell, text and number.
    pub fn push(&mut self, text: &str, tag: Tag) {
        let tag = if text.is_empty() { Tag::Missing } else { tag };
        self.push_text(text, tag);
        if let Some(numbers) = &mut self.numbers {
            match tag {
                Tag::Missing => numbers.push_missing(),
                Tag::Csv | Tag::Number => match Decimal::parse(text) {
                    Some(decimal) => {
                        self.floats_written |= decimal.pointed;
                        numbers.push_decimal(decimal);
                    }
                    None => match number(text) {
                        Some(value) => {
                            self.floats_written |= written_as_float(text);
                            numbers.push_value(value);
                        }
                        None => self.numbers = None,
                    },
                },
                Tag::Text | Tag::Bool => self.numbers = None,
            }
        }
    }

    fn push_text(&mut self, text: &str, tag: Tag) {
        self.texts.push(text);
        self.tags.push(tag);
    }

    /// Adds a plain CSV cell; false (and nothing added) when the column keeps only numbers and
    /// this cell is not one: then `start_texts` must come first.
    pub fn push_plain(&mut self, text: &str) -> bool {
        if self.has_texts {
            self.push(text, Tag::Csv);
            return true;
        }
        let Some(numbers) = &mut self.numbers else {
            return false;
        };
        if text.is_empty() {
            numbers.push_missing();
            return true;
        }
        if let Some(decimal) = Decimal::parse(text) {
            self.floats_written |= decimal.pointed;
            numbers.push_decimal(decimal);
            return true;
        }
        match number(text) {
            Some(value) => {
                self.floats_written |= written_as_float(text);
                numbers.push_value(value);
                true
            }
            None => false,
        }
    }

    /// Adds a plain CSV cell that is `decimal`; false (and nothing added) when the column keeps
    /// the texts, which the cell's text must then go to (`push_plain`).
    #[inline]
    pub fn push_plain_decimal(&mut self, decimal: Decimal) -> bool {
        if self.has_texts {
            return false;
        }
        match &mut self.numbers {
            Some(numbers) => {
                self.floats_written |= decimal.pointed;
                numbers.push_decimal(decimal);
                true
            }
            None => false,
        }
    }

    /// Keeps the texts from now on, starting with those of the cells already added.
    pub(super) fn start_texts<'a>(&mut self, earlier: impl Iterator<Item = &'a str>) {
        // Room for as many cells as the numbers had.
        let cells = match &self.numbers {
            Some(Numbers::Decimals(decimals)) => decimals.capacity(),
            Some(Numbers::Doubles(doubles)) => doubles.capacity(),
            None => 0,
        };
        self.texts = Texts::with_capacity(cells);
        self.tags.reserve(cells);
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
        let cells = self.texts.iter().zip(self.tags.iter().copied());
        self.has_texts.then_some(cells)
    }

    /// The cells' texts (each distinct one once, a code per cell) and tags, in row order, if
    /// the texts are kept.
    pub fn texts(&self) -> Option<(&Texts, &[Tag])> {
        self.has_texts
            .then_some((&self.texts, self.tags.as_slice()))
    }

    /// The column's numbers, if every cell present is a number.
    pub fn numbers(&self) -> Option<&Numbers> {
        self.numbers.as_ref()
    }

    /// Whether a number of the column was written as a float (`3.0`, `5.`, `1e3`): pandas
    /// then reads the column as float64, whole numbers or not.
    pub fn floats_written(&self) -> bool {
        self.floats_written
    }
}

/// Whether a number's text is a float's (a point or an exponent), as pandas' reader tells an
/// integer column from a float one.
pub fn written_as_float(text: &str) -> bool {
    text.bytes().any(|byte| matches!(byte, b'.' | b'e' | b'E'))
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
    if let Some(decimal) = Decimal::parse(text) {
        return Some(decimal.value());
    }
    let value = text.trim().parse::<f64>().ok().filter(|v| v.is_finite())?;
    // -0.0 and 0.0 are one value to pandas.
    Some(value + 0.0)
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
