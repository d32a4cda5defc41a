//! Reading a drift reference upload, `{"reference": {"model": ..., "columns": {...}},
//! "timestamp": ...}`: the model's name and each column's cells (numbers, strings, booleans,
//! nulls), held to [`ReferenceTable::new`]'s rules.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::fields::{Problems, read_identifier};
use super::framing::json_problem;
use crate::event::Timestamp;
use crate::reference::{Cell, ReferenceTable, ReferenceUpload};

/// Reads the body of a `reference` input.
pub(super) fn read_reference(
    raw: &RawValue,
    timestamp: Option<Timestamp>,
    problems: &mut Problems,
) -> Option<ReferenceUpload> {
    let fields = problems.object(raw, Some("reference"))?;
    let (mut model, mut columns) = (None, None);
    let mut ok = true;
    for (key, raw) in fields {
        let field = format!("reference.{key}");
        match key.as_ref() {
            "model" => {
                let text = read_identifier(raw, &field, problems);
                ok &= problems.fill(&mut model, text, &field);
            }
            "columns" => {
                if columns.is_some() {
                    problems.at(Some(&field), "field appears more than once".to_string());
                    ok = false;
                }
                columns = read_columns(raw, problems);
                ok &= columns.is_some();
            }
            _ => {
                problems.at(
                    Some(&field),
                    "unknown field; reference has model and columns".to_string(),
                );
                ok = false;
            }
        }
    }
    for (name, given) in [("model", model.is_some()), ("columns", columns.is_some())] {
        if ok && !given {
            problems.at(Some(&format!("reference.{name}")), "missing".to_string());
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    let table = match ReferenceTable::new(columns?) {
        Ok(table) => table,
        Err(problem) => {
            let field = match &problem.column {
                Some(column) => format!("reference.columns.{column}"),
                None => "reference.columns".to_string(),
            };
            let message = match problem.row {
                Some(row) => format!("row {}: {}", row + 1, problem.message),
                None => problem.message,
            };
            problems.at(Some(&field), message);
            return None;
        }
    };
    Some(ReferenceUpload {
        model: model?,
        table: Arc::new(table),
        timestamp,
    })
}

/// Each column's name and cells, in the order written.
fn read_columns(raw: &RawValue, problems: &mut Problems) -> Option<Vec<(String, Vec<Cell>)>> {
    let fields = problems.object(raw, Some("reference.columns"))?;
    let mut columns = Vec::with_capacity(fields.len());
    let mut ok = true;
    for (name, raw) in fields {
        let field = format!("reference.columns.{name}");
        match serde_json::from_str::<WireCells>(raw.get()) {
            Ok(WireCells(cells)) => columns.push((name.into_owned(), cells)),
            Err(error) => {
                problems.at(
                    Some(&field),
                    format!(
                        "must be an array of values (numbers, strings, booleans, nulls): {}",
                        json_problem(&error)
                    ),
                );
                ok = false;
            }
        }
    }
    ok.then_some(columns)
}

/// A column's cells as JSON writes them.
struct WireCells(Vec<Cell>);

impl<'de> Deserialize<'de> for WireCells {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CellsVisitor;
        impl<'de> Visitor<'de> for CellsVisitor {
            type Value = WireCells;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of numbers, strings, booleans and nulls")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<WireCells, A::Error> {
                let mut cells = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(WireCell(cell)) = seq.next_element()? {
                    cells.push(cell);
                }
                Ok(WireCells(cells))
            }
        }
        deserializer.deserialize_seq(CellsVisitor)
    }
}

/// One cell as JSON writes it.
struct WireCell(Cell);

impl<'de> Deserialize<'de> for WireCell {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CellVisitor;
        impl Visitor<'_> for CellVisitor {
            type Value = WireCell;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, a string, a boolean or null")
            }
            fn visit_unit<E>(self) -> Result<WireCell, E> {
                Ok(WireCell(Cell::Missing))
            }
            fn visit_bool<E>(self, flag: bool) -> Result<WireCell, E> {
                Ok(WireCell(Cell::Bool(flag)))
            }
            fn visit_i64<E>(self, number: i64) -> Result<WireCell, E> {
                Ok(WireCell(Cell::Number(number as f64)))
            }
            fn visit_u64<E>(self, number: u64) -> Result<WireCell, E> {
                Ok(WireCell(Cell::Number(number as f64)))
            }
            fn visit_f64<E>(self, number: f64) -> Result<WireCell, E> {
                Ok(WireCell(Cell::Number(number)))
            }
            fn visit_str<E>(self, text: &str) -> Result<WireCell, E> {
                Ok(WireCell(Cell::Text(text.to_string())))
            }
            fn visit_string<E>(self, text: String) -> Result<WireCell, E> {
                Ok(WireCell(Cell::Text(text)))
            }
        }
        deserializer.deserialize_any(CellVisitor)
    }
}
