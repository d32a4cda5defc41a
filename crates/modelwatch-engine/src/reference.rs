//! Drift references given whole rather than taken from traffic: a checked table of columns
//! ([`ReferenceTable`], each column typed as Evidently types it), and the input that uploads
//! one for a model ([`ReferenceUpload`], `PUT /v1/models/{name}/reference`; `docs/drift.md`).
//!
//! A reference's wire form (stored, and read back by the wire reader) is
//! `{"reference": {"model": "m", "columns": {"age": [31, null, 45], "city": ["a", "b", "a"]}},
//! "timestamp": ...}`: each column's cells in row order, a cell a number, a string, a boolean
//! or null (missing).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};

use crate::config::MAX_DRIFT_ROWS;
use crate::drift::ColumnType;
use crate::event::Timestamp;
use crate::quality::drift::Table;
use crate::traffic::MAX_FEATURES;
use crate::wire::{check_feature_name, check_feature_text};

pub use crate::quality::Cell;

/// The most columns a reference may have: every feature a prediction may carry, and the
/// output (`prediction`).
pub const MAX_REFERENCE_COLUMNS: usize = MAX_FEATURES + 1;

/// The most rows a reference may have (as a drift window: they are kept in memory).
pub const MAX_REFERENCE_ROWS: u32 = MAX_DRIFT_ROWS;

/// What is wrong with a reference's columns: where (a column, a row) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceProblem {
    /// The column at fault, if one is.
    pub column: Option<String>,
    /// The 0-based row at fault, if one is.
    pub row: Option<usize>,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
}

impl ReferenceProblem {
    fn new(column: Option<&str>, row: Option<usize>, message: impl Into<String>) -> Self {
        ReferenceProblem {
            column: column.map(str::to_string),
            row,
            message: message.into(),
        }
    }
}

impl fmt::Display for ReferenceProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.column, self.row) {
            (Some(column), Some(row)) => write!(f, "column {column:?}, row {}: ", row + 1)?,
            (Some(column), None) => write!(f, "column {column:?}: ")?,
            (None, Some(row)) => write!(f, "row {}: ", row + 1)?,
            (None, None) => {}
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ReferenceProblem {}

/// A drift reference: whole columns of cells, sorted by name, each as long as the others,
/// with each column's type (numerical when every value present is a number, as Evidently
/// types a reference column; categorical otherwise).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferenceTable {
    pub(crate) table: Table,
    /// Whether each column (in name order) is numerical.
    numerical: Vec<bool>,
}

impl ReferenceTable {
    /// A reference from its columns, in any order. An empty text is a missing value, `-0` is
    /// `0` (as pandas reads them).
    ///
    /// # Errors
    ///
    /// No column, more than [`MAX_REFERENCE_COLUMNS`], a name that is not a feature name
    /// (1 to 256 bytes, no control characters) or appears twice, no row, more than
    /// [`MAX_REFERENCE_ROWS`], columns of different lengths, a number that is not finite, a
    /// text over 4,096 bytes: the first problem found, with its column and row.
    pub fn new(columns: Vec<(String, Vec<Cell>)>) -> Result<ReferenceTable, ReferenceProblem> {
        if columns.is_empty() {
            return Err(ReferenceProblem::new(
                None,
                None,
                "the reference has no column",
            ));
        }
        if columns.len() > MAX_REFERENCE_COLUMNS {
            return Err(ReferenceProblem::new(
                None,
                None,
                format!(
                    "{} columns; a reference has at most {MAX_REFERENCE_COLUMNS}",
                    columns.len()
                ),
            ));
        }
        let rows = columns[0].1.len();
        if rows == 0 {
            return Err(ReferenceProblem::new(
                None,
                None,
                "the reference has no row",
            ));
        }
        if rows > MAX_REFERENCE_ROWS as usize {
            return Err(ReferenceProblem::new(
                None,
                None,
                format!("{rows} rows; a reference has at most {MAX_REFERENCE_ROWS}"),
            ));
        }
        let mut sorted = BTreeMap::new();
        for (name, mut cells) in columns {
            check_feature_name(&name)
                .map_err(|message| ReferenceProblem::new(Some(&name), None, message))?;
            if cells.len() != rows {
                return Err(ReferenceProblem::new(
                    Some(&name),
                    None,
                    format!("{} values where the first column has {rows}", cells.len()),
                ));
            }
            for (row, cell) in cells.iter_mut().enumerate() {
                match cell {
                    Cell::Number(number) if !number.is_finite() => {
                        return Err(ReferenceProblem::new(
                            Some(&name),
                            Some(row),
                            "a number must be finite",
                        ));
                    }
                    Cell::Number(number) => *number += 0.0,
                    Cell::Text(text) if text.is_empty() => *cell = Cell::Missing,
                    Cell::Text(text) => check_feature_text(text).map_err(|message| {
                        ReferenceProblem::new(Some(&name), Some(row), message)
                    })?,
                    Cell::Missing | Cell::Bool(_) => {}
                }
            }
            if sorted.contains_key(&name) {
                return Err(ReferenceProblem::new(
                    Some(&name),
                    None,
                    "the column appears twice",
                ));
            }
            sorted.insert(name, cells);
        }
        let numerical = sorted
            .values()
            .map(|cells| Cell::all_numbers(cells))
            .collect();
        Ok(ReferenceTable {
            table: Table::from_columns(rows as u32, sorted),
            numerical,
        })
    }

    /// How many rows.
    pub fn rows(&self) -> u32 {
        self.table.rows
    }

    /// Each column's name and cells, in name order.
    pub fn columns(&self) -> impl Iterator<Item = (&str, &[Cell])> {
        (self.table.columns.iter()).map(|(name, cells)| (name.as_str(), cells.as_slice()))
    }

    /// Each column's name and type, in name order.
    pub fn column_types(&self) -> impl Iterator<Item = (&str, ColumnType)> {
        self.table
            .columns
            .keys()
            .zip(&self.numerical)
            .map(|(name, numerical)| {
                let kind = if *numerical {
                    ColumnType::Numerical
                } else {
                    ColumnType::Categorical
                };
                (name.as_str(), kind)
            })
    }

    /// Whether a table read back from a snapshot holds together.
    pub(crate) fn is_consistent(&self) -> bool {
        self.table.is_consistent() && self.numerical.len() == self.table.columns.len()
    }
}

/// A reference uploaded for a model: from its sequence number on, every version and instance
/// of the model compares its next drift windows with it.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceUpload {
    /// The model (by name).
    pub model: String,
    /// The reference.
    pub table: Arc<ReferenceTable>,
    /// When it was uploaded; `None` as for events.
    pub timestamp: Option<Timestamp>,
}

/// The `reference` object of the wire form: the model and the columns.
impl Serialize for ReferenceUpload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Body<'a> {
            model: &'a str,
            columns: WireColumns<'a>,
        }
        Body {
            model: &self.model,
            columns: WireColumns(&self.table.table),
        }
        .serialize(serializer)
    }
}

struct WireColumns<'a>(&'a Table);

impl Serialize for WireColumns<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.columns.len()))?;
        for (name, cells) in &self.0.columns {
            map.serialize_entry(name, &WireCells(cells))?;
        }
        map.end()
    }
}

struct WireCells<'a>(&'a [Cell]);

impl Serialize for WireCells<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for cell in self.0 {
            match cell {
                Cell::Missing => seq.serialize_element(&())?,
                Cell::Number(number) => seq.serialize_element(number)?,
                Cell::Bool(flag) => seq.serialize_element(flag)?,
                Cell::Text(text) => seq.serialize_element(text)?,
            }
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(values: &[f64]) -> Vec<Cell> {
        values.iter().map(|v| Cell::Number(*v)).collect()
    }

    #[test]
    fn columns_are_sorted_typed_and_normalized() {
        let table = ReferenceTable::new(vec![
            (
                "z".into(),
                vec![Cell::Text("a".into()), Cell::Text(String::new())],
            ),
            ("a".into(), numbers(&[-0.0, 2.0])),
        ])
        .unwrap();
        let types: Vec<(&str, ColumnType)> = table.column_types().collect();
        assert_eq!(
            types,
            [("a", ColumnType::Numerical), ("z", ColumnType::Categorical)]
        );
        let columns: Vec<(&str, &[Cell])> = table.columns().collect();
        assert_eq!(columns[0].1[0].clone(), Cell::Number(0.0));
        assert!(columns[0].1[0] == Cell::Number(0.0));
        assert_eq!(columns[1].1[1], Cell::Missing);
        assert_eq!(table.rows(), 2);
    }

    #[test]
    fn bad_tables_name_the_column_and_row() {
        let problem = |columns| ReferenceTable::new(columns).unwrap_err().to_string();
        assert_eq!(problem(vec![]), "the reference has no column");
        assert_eq!(
            problem(vec![("a".into(), vec![])]),
            "the reference has no row"
        );
        assert_eq!(
            problem(vec![
                ("a".into(), numbers(&[1.0])),
                ("a".into(), numbers(&[2.0]))
            ]),
            "column \"a\": the column appears twice"
        );
        assert_eq!(
            problem(vec![
                ("a".into(), numbers(&[1.0])),
                ("b".into(), numbers(&[1.0, 2.0]))
            ]),
            "column \"b\": 2 values where the first column has 1"
        );
        assert_eq!(
            problem(vec![("a".into(), numbers(&[1.0, f64::NAN]))]),
            "column \"a\", row 2: a number must be finite"
        );
        assert!(problem(vec![(String::new(), numbers(&[1.0]))]).contains("1 to 256 bytes"));
    }
}
