//! Reading `modelwatch quality`'s data file: the named columns of each row of a CSV file with
//! a header, or the named fields of each object of a JSON Lines file (`.jsonl`), as text, with
//! the line each row starts on, so that every error names the line and the column.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use modelwatch::tabular::records::{
    at, csv_error, csv_with_header, is_json_lines, json_lines, kind, positions,
};

/// What is wrong with one value of a row: the index of its column among the requested ones,
/// and the problem.
#[derive(Debug)]
pub(super) struct FieldError {
    pub column: usize,
    pub problem: String,
}

impl FieldError {
    pub fn new(column: usize, problem: impl Into<String>) -> Self {
        Self {
            column,
            problem: problem.into(),
        }
    }
}

/// Calls `row` with each data row's line number (1-based, the header is line 1 in a CSV
/// file) and its values of `columns`, in that order; returns the number of rows. A CSV value
/// is its text as written; a JSON Lines value is a JSON string's content, or a number or
/// boolean as written (`1`, `0.5`, `true`).
///
/// # Errors
///
/// The file cannot be read, is empty or has no row; a column is missing; a row is ragged or
/// not valid UTF-8; a JSON line is not an object or a value is null, an array or an object;
/// or `row` refuses a value. Each error names the file, the line and the column.
pub(super) fn read_rows(
    path: &Path,
    columns: &[String],
    row: impl FnMut(u64, &[&str]) -> Result<(), FieldError>,
) -> Result<u64> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let rows = if is_json_lines(path) {
        read_json_lines(path, BufReader::new(file), columns, row)?
    } else {
        read_csv(path, file, columns, row)?
    };
    if rows == 0 {
        bail!("{}: no data rows", path.display());
    }
    Ok(rows)
}

fn read_csv(
    path: &Path,
    file: File,
    columns: &[String],
    mut row: impl FnMut(u64, &[&str]) -> Result<(), FieldError>,
) -> Result<u64> {
    let (mut reader, names) = csv_with_header(path, file)?;
    let positions = positions(path, &names, columns)?;
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    while reader
        .read_byte_record(&mut record)
        .map_err(|error| csv_error(path, &error))?
    {
        let line = record.position().map_or(0, csv::Position::line);
        let mut values: Vec<&str> = Vec::with_capacity(columns.len());
        for (column, &position) in columns.iter().zip(&positions) {
            let bytes = record.get(position).unwrap_or_default();
            let text = std::str::from_utf8(bytes)
                .map_err(|_| anyhow!("{}: not valid UTF-8", at(path, line, column)))?;
            values.push(text);
        }
        row(line, &values).map_err(|error| {
            anyhow!(
                "{}: {}",
                at(path, line, &columns[error.column]),
                error.problem
            )
        })?;
        rows += 1;
    }
    Ok(rows)
}

fn read_json_lines(
    path: &Path,
    reader: impl BufRead,
    columns: &[String],
    mut row: impl FnMut(u64, &[&str]) -> Result<(), FieldError>,
) -> Result<u64> {
    let mut texts: Vec<String> = vec![String::new(); columns.len()];
    let mut rows = 0;
    json_lines(path, reader, |line, text| {
        let object: serde_json::Map<String, Value> = serde_json::from_str(text)
            .map_err(|error| anyhow!("{}: line {line}: {error}", path.display()))?;
        for (slot, column) in texts.iter_mut().zip(columns) {
            let value = object
                .get(column)
                .ok_or_else(|| anyhow!("{}: line {line}: no field {column:?}", path.display()))?;
            slot.clear();
            match value {
                Value::String(string) => slot.push_str(string),
                Value::Number(number) => slot.push_str(&number.to_string()),
                Value::Bool(boolean) => slot.push_str(if *boolean { "true" } else { "false" }),
                Value::Null | Value::Array(_) | Value::Object(_) => bail!(
                    "{}: {} is not a value (a string, number or boolean)",
                    at(path, line, column),
                    kind(value)
                ),
            }
        }
        let values: Vec<&str> = texts.iter().map(String::as_str).collect();
        row(line, &values).map_err(|error| {
            anyhow!(
                "{}: {}",
                at(path, line, &columns[error.column]),
                error.problem
            )
        })?;
        rows += 1;
        Ok(())
    })?;
    Ok(rows)
}
