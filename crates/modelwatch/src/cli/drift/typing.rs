//! A column's type and values as Evidently sees them after pandas read the files: numerical
//! when every value present in the reference is a number (unless declared otherwise),
//! categorical otherwise, with each file's categories typed as pandas types that file's column
//! (all booleans, all numbers, or text).

use std::collections::HashMap;

use anyhow::{Result, bail};
use modelwatch_engine::drift::{Category, ColumnType};

use modelwatch::tabular::cells::{Numbers as RawNumbers, written_as_float};
use modelwatch::tabular::raw::{RawTable, Tag, boolean, number};

/// A fast hash for the categories' texts and numbers (the input is the user's own file).
type FastHash = foldhash::fast::RandomState;

fn is_number(text: &str, tag: Tag) -> bool {
    matches!(tag, Tag::Csv | Tag::Number) && number(text).is_some()
}

fn is_boolean(text: &str, tag: Tag) -> bool {
    boolean(text, tag).is_some()
}

/// How a column was typed: by the reference's values, or by a flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Declared {
    Auto,
    Numerical,
    Categorical,
}

/// The column's type: as declared, or numerical when every value present in the reference is
/// a number.
pub(super) fn column_type(reference: &RawTable, column: usize, declared: Declared) -> ColumnType {
    match declared {
        Declared::Numerical => ColumnType::Numerical,
        Declared::Categorical => ColumnType::Categorical,
        Declared::Auto => {
            if reference.columns[column].numbers().is_some() {
                ColumnType::Numerical
            } else {
                ColumnType::Categorical
            }
        }
    }
}

/// A numerical column's values, missing ones left out: in row order, and sorted when they
/// were cheaper to sort here (plain decimals, sorted by their digits).
pub(super) struct Numbers {
    pub values: Vec<f64>,
    pub sorted: Option<Vec<f64>>,
    /// Whether pandas reads the column as float64: a cell is missing, or a number is written
    /// as a float (`3.0`, `1e3`), whole or not.
    pub floats: bool,
}

/// The numbers of column `column` of `table`, missing values left out.
///
/// # Errors
///
/// A value is not a finite number: named with its line and column, and `why` the column is
/// numerical.
pub(super) fn numbers(table: &RawTable, column: usize, why: &str) -> Result<Numbers> {
    let raw = &table.columns[column];
    match raw.numbers() {
        Some(RawNumbers::Decimals(decimals)) => {
            return Ok(Numbers {
                values: decimals.present(),
                sorted: Some(decimals.present_sorted()),
                floats: decimals.has_missing() || raw.floats_written(),
            });
        }
        Some(RawNumbers::Doubles(doubles)) => {
            let values: Vec<f64> = doubles.iter().copied().filter(|v| !v.is_nan()).collect();
            return Ok(Numbers {
                floats: values.len() < doubles.len() || raw.floats_written(),
                values,
                sorted: None,
            });
        }
        None => {}
    }
    // Not all numbers: the texts are kept (see `RawColumn`).
    let cells = table.columns[column].cells().into_iter().flatten();
    let mut values = Vec::with_capacity(table.lines.len());
    let mut floats = false;
    for (row, (text, tag)) in cells.enumerate() {
        if tag == Tag::Missing {
            floats = true;
            continue;
        }
        floats |= written_as_float(text);
        let value = match tag {
            Tag::Csv | Tag::Number => number(text),
            Tag::Missing | Tag::Text | Tag::Bool => None,
        };
        let Some(value) = value else {
            let shown: String = text.chars().take(40).collect();
            bail!(
                "{}: {shown:?} is not a finite number (the column is numerical: {why})",
                table.at(row, column)
            );
        };
        values.push(value);
    }
    Ok(Numbers {
        values,
        sorted: None,
        floats,
    })
}

/// The number of distinct values over both samples, counted up to `limit` (then `limit`).
pub(super) fn distinct_numbers(reference: &[f64], current: &[f64], limit: usize) -> usize {
    let mut seen: Vec<u64> = Vec::with_capacity(limit);
    for value in reference.iter().chain(current) {
        let bits = value.to_bits();
        if !seen.contains(&bits) {
            seen.push(bits);
            if seen.len() >= limit {
                break;
            }
        }
    }
    seen.len()
}

/// How pandas typed one file's column of categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Bool,
    Number,
    Text,
}

/// How pandas typed a column with texts (one that is all numbers has kind `Number`).
fn kind<'a>(cells: impl Fn() -> Box<dyn Iterator<Item = (&'a str, Tag)> + 'a>) -> Kind {
    let present = || cells().filter(|&(_, tag)| tag != Tag::Missing);
    if present().all(|(text, tag)| is_boolean(text, tag)) {
        Kind::Bool
    } else if present().all(|(text, tag)| is_number(text, tag)) {
        Kind::Number
    } else {
        Kind::Text
    }
}

fn category(text: &str, kind: Kind) -> Category {
    match kind {
        Kind::Bool => Category::Bool(boolean(text, Tag::Csv).unwrap_or(text == "true")),
        Kind::Number => Category::Number(number(text).unwrap_or_default()),
        Kind::Text => Category::Text(text.to_string()),
    }
}

/// One side's categories: the code of each present value, and each code's category.
fn coded(table: &RawTable, column: usize) -> (Vec<usize>, Vec<Category>) {
    let raw = &table.columns[column];
    let mut distinct = Vec::new();
    let mut codes = Vec::new();
    if let Some(numbers) = raw.numbers() {
        let mut index: HashMap<u64, usize, FastHash> = HashMap::default();
        for &value in numbers.values().iter().filter(|value| !value.is_nan()) {
            let next = index.len();
            let code = *index.entry(value.to_bits()).or_insert_with(|| {
                distinct.push(Category::Number(value));
                next
            });
            codes.push(code);
        }
        return (codes, distinct);
    }
    let cells = || -> Box<dyn Iterator<Item = (&str, Tag)> + '_> {
        Box::new(raw.cells().into_iter().flatten())
    };
    let kind = kind(cells);
    let Some((texts, tags)) = raw.texts() else {
        return (codes, distinct);
    };
    // The texts are coded already (in first-seen order, missing cells too): each code present
    // gets the next category code.
    let mut category_of = vec![usize::MAX; texts.distinct()];
    for (&code, &tag) in texts.codes().iter().zip(tags) {
        if tag == Tag::Missing {
            continue;
        }
        let Some(slot) = category_of.get_mut(code as usize) else {
            continue;
        };
        if *slot == usize::MAX {
            *slot = distinct.len();
            distinct.push(category(texts.text(code), kind));
        }
        codes.push(*slot);
    }
    (codes, distinct)
}

/// Both sides of a categorical column (the tables' columns are aligned by name), coded, and
/// the number of distinct categories over both.
pub(super) struct Categories {
    reference_codes: Vec<usize>,
    reference_rank: Vec<f64>,
    current_codes: Vec<usize>,
    current_rank: Vec<f64>,
    pub distinct: usize,
}

/// The order a side's categories are given in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Order {
    /// The rows' order, for a test that depends on it (`Method::counts_only` is false).
    Rows,
    /// Rank order: the tests that look at the counts alone count runs at a glance.
    Ranks,
}

impl Categories {
    /// How many values the reference has.
    pub fn reference_len(&self) -> usize {
        self.reference_codes.len()
    }

    /// Both sides' categories, in `order`.
    pub fn samples(&self, order: Order) -> (Vec<Category>, Vec<Category>) {
        let side = |codes: &[usize], ranks: &[f64]| -> Vec<Category> {
            if order == Order::Rows {
                return (codes.iter())
                    .map(|&code| Category::Number(ranks[code]))
                    .collect();
            }
            let mut counts = vec![0usize; ranks.len()];
            for &code in codes {
                counts[code] += 1;
            }
            let mut by_rank: Vec<(f64, usize)> = ranks.iter().copied().zip(counts).collect();
            by_rank.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut categories = Vec::with_capacity(codes.len());
            for (rank, count) in by_rank {
                categories.extend(std::iter::repeat_n(Category::Number(rank), count));
            }
            categories
        };
        (
            side(&self.reference_codes, &self.reference_rank),
            side(&self.current_codes, &self.current_rank),
        )
    }
}

/// The categories of column `column` of each file, missing values left out. Each category is
/// passed to the tests as its rank among the distinct categories of both files, which keeps
/// equality and Python's order (all the tests look at) and spares a string per value.
pub(super) fn categories(reference: &RawTable, current: &RawTable, column: usize) -> Categories {
    let (reference_codes, reference_distinct) = coded(reference, column);
    let (current_codes, current_distinct) = coded(current, column);
    let mut all: Vec<(&Category, bool, usize)> = (reference_distinct.iter().enumerate())
        .map(|(code, category)| (category, true, code))
        .chain(
            (current_distinct.iter().enumerate()).map(|(code, category)| (category, false, code)),
        )
        .collect();
    all.sort_by(|a, b| a.0.cmp(b.0));
    let mut reference_rank = vec![0.0; reference_distinct.len()];
    let mut current_rank = vec![0.0; current_distinct.len()];
    let mut rank = 0usize;
    let mut previous: Option<&Category> = None;
    for (category, is_reference, code) in all {
        if previous.is_some_and(|previous| previous != category) {
            rank += 1;
        }
        previous = Some(category);
        let ranks = if is_reference {
            &mut reference_rank
        } else {
            &mut current_rank
        };
        ranks[code] = rank as f64;
    }
    let distinct = if previous.is_some() { rank + 1 } else { 0 };
    Categories {
        reference_codes,
        reference_rank,
        current_codes,
        current_rank,
        distinct,
    }
}
