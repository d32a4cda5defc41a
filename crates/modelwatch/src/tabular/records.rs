//! Reading tabular data (the offline commands' files, `quality` and `drift`, a reference
//! file or upload): a CSV file with a header, or JSON Lines when the name ends in `.jsonl`,
//! with errors that name the file, the line and the column.

use std::io::{BufRead, Read};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

/// Whether `path` names a JSON Lines file (`.jsonl`) rather than a CSV file.
pub fn is_json_lines(path: &Path) -> bool {
    path.to_string_lossy().ends_with(".jsonl")
}

/// `FILE: line N, column "C"`, the place of a value in an error.
pub fn at(path: &Path, line: u64, column: &str) -> String {
    format!("{}: line {line}, column {column:?}", path.display())
}

/// A CSV reader over `input` and the names of its header (line 1).
///
/// # Errors
///
/// The file is empty, or the header cannot be read or is not valid UTF-8.
pub fn csv_with_header<R: Read>(path: &Path, input: R) -> Result<(csv::Reader<R>, Vec<String>)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(input);
    let header = reader
        .byte_headers()
        .map_err(|error| csv_error(path, &error))?;
    if header.is_empty() {
        bail!(
            "{}: the file is empty (a CSV file needs a header)",
            path.display()
        );
    }
    let mut names = Vec::with_capacity(header.len());
    for (index, name) in header.iter().enumerate() {
        let name = std::str::from_utf8(name).map_err(|_| {
            anyhow!(
                "{}: line 1, field {}: the header is not valid UTF-8",
                path.display(),
                index + 1
            )
        })?;
        names.push(name.to_string());
    }
    Ok((reader, names))
}

/// The position of each of `columns` among the header's `names`.
///
/// # Errors
///
/// A column is not in the header.
pub fn positions(path: &Path, names: &[String], columns: &[String]) -> Result<Vec<usize>> {
    columns
        .iter()
        .map(|column| {
            names.iter().position(|name| name == column).ok_or_else(|| {
                anyhow!(
                    "{}: line 1: no column {column:?} in the header (columns: {})",
                    path.display(),
                    names.join(", ")
                )
            })
        })
        .collect()
}

/// A CSV reading error with its file and line, in words (a ragged row says how many fields it
/// has where the header has how many).
pub fn csv_error(path: &Path, error: &csv::Error) -> anyhow::Error {
    let line = error.position().map(csv::Position::line);
    let place = match line {
        Some(line) => format!("{}: line {line}", path.display()),
        None => path.display().to_string(),
    };
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => anyhow!("{place}: {}", ragged(*len, *expected_len)),
        csv::ErrorKind::Io(io_error) => anyhow!("{place}: cannot read: {io_error}"),
        _ => anyhow!("{place}: {error}"),
    }
}

/// What is wrong with a row of `len` fields under a header of `expected`.
pub fn ragged(len: u64, expected: u64) -> String {
    let fields = if len == 1 { "field" } else { "fields" };
    format!("{len} {fields} where the header has {expected}")
}

/// Calls `line` with the number and text of each line of a JSON Lines file that is not blank.
///
/// # Errors
///
/// The file cannot be read or is empty, a line is not valid UTF-8, or `line` refuses one.
pub fn json_lines(
    path: &Path,
    mut input: impl BufRead,
    mut line: impl FnMut(u64, &str) -> Result<()>,
) -> Result<()> {
    let mut bytes = Vec::new();
    let mut number = 0;
    loop {
        bytes.clear();
        let read = input
            .read_until(b'\n', &mut bytes)
            .with_context(|| format!("{}: cannot read line {}", path.display(), number + 1))?;
        if read == 0 {
            break;
        }
        number += 1;
        let text = std::str::from_utf8(&bytes).map_err(|error| {
            anyhow!(
                "{}: line {number}: not valid UTF-8 (byte {})",
                path.display(),
                error.valid_up_to() + 1
            )
        })?;
        if text.trim().is_empty() {
            continue;
        }
        line(number, text)?;
    }
    if number == 0 {
        bail!("{}: the file is empty", path.display());
    }
    Ok(())
}

/// What a JSON value that is not a scalar is, for error messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
        Value::String(_) | Value::Number(_) | Value::Bool(_) => "a scalar",
    }
}
