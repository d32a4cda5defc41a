//! A column's texts with each distinct one kept once and every cell a 4-byte code: a column
//! of a few categories repeated over many rows (most text columns) takes a fraction of the
//! memory of every cell's text, and its cells are coded as they are read, once.

use std::hash::BuildHasher;

use hashbrown::HashTable;

/// A fast hash for the texts (the input is the user's own file).
type FastHash = foldhash::fast::RandomState;

/// The texts of a column's cells, in row order.
#[derive(Debug, Default)]
pub struct Texts {
    /// Each distinct text, back to back, in the order first seen.
    bytes: String,
    /// Where each distinct text ends in `bytes`.
    ends: Vec<usize>,
    /// The code of each distinct text, found by its hash.
    index: HashTable<u32>,
    hasher: FastHash,
    /// Each cell's text, as the code of the distinct text (its rank in first-seen order).
    codes: Vec<u32>,
}

impl Texts {
    /// Room for `cells` cells.
    pub fn with_capacity(cells: usize) -> Texts {
        Texts {
            codes: Vec::with_capacity(cells),
            ..Texts::default()
        }
    }

    /// Adds a cell's text.
    pub fn push(&mut self, text: &str) {
        let hash = self.hasher.hash_one(text);
        let Texts {
            bytes,
            ends,
            index,
            hasher,
            codes,
        } = self;
        let distinct = |code: u32| distinct_text(bytes, ends, code);
        let code = match index.find(hash, |&code| distinct(code) == text) {
            Some(&code) => code,
            None => {
                // More than 4 billion distinct texts would not fit in memory as cells anyway.
                let code = u32::try_from(ends.len()).unwrap_or(u32::MAX);
                index.insert_unique(hash, code, |&code| {
                    hasher.hash_one(distinct_text(bytes, ends, code))
                });
                bytes.push_str(text);
                ends.push(bytes.len());
                code
            }
        };
        codes.push(code);
    }

    /// How many cells.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether there is no cell.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Each cell's code: the rank of its text among the distinct ones, in first-seen order.
    pub fn codes(&self) -> &[u32] {
        &self.codes
    }

    /// How many distinct texts.
    pub fn distinct(&self) -> usize {
        self.ends.len()
    }

    /// The distinct text of code `code` (empty for a code it has not given).
    pub fn text(&self, code: u32) -> &str {
        distinct_text(&self.bytes, &self.ends, code)
    }

    /// Each cell's text, in row order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.codes.iter().map(|&code| self.text(code))
    }
}

fn distinct_text<'a>(bytes: &'a str, ends: &[usize], code: u32) -> &'a str {
    let code = code as usize;
    let start = match code {
        0 => 0,
        _ => ends.get(code - 1).copied().unwrap_or_default(),
    };
    let end = ends.get(code).copied().unwrap_or_default();
    bytes.get(start..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Any texts (few or many distinct, empty ones, any characters): each cell reads back
        /// as pushed, and codes are the ranks of first sight.
        #[test]
        fn cells_read_back_as_pushed(cells in prop::collection::vec("[a-cé]{0,3}|.{0,6}", 0..600)) {
            let mut texts = Texts::default();
            for cell in &cells {
                texts.push(cell);
            }
            let read: Vec<&str> = texts.iter().collect();
            prop_assert_eq!(&read, &cells.iter().map(String::as_str).collect::<Vec<_>>());
            let mut first_seen: Vec<&str> = Vec::new();
            for cell in &cells {
                if !first_seen.contains(&cell.as_str()) {
                    first_seen.push(cell);
                }
            }
            prop_assert_eq!(texts.distinct(), first_seen.len());
            for (cell, &code) in cells.iter().zip(texts.codes()) {
                prop_assert_eq!(first_seen[code as usize], cell.as_str());
            }
        }
    }
}
