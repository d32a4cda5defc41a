//! Reading one of `modelwatch drift`'s files (or a drift reference: a file or an upload) into columns of cells as written (CSV text, or
//! JSON Lines values with their JSON kind), with the line each row starts on, before any
//! column is typed.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;

pub use super::cells::{RawColumn, Tag, boolean, number};
use super::plain_csv;
use super::records::{at, csv_error, csv_with_header, is_json_lines, json_lines, kind};

/// The columns of one file, in its order (the current file's are then put in the reference's
/// order).
#[derive(Debug)]
pub struct RawTable {
    pub path: PathBuf,
    pub names: Vec<String>,
    pub columns: Vec<RawColumn>,
    /// The line that names the columns: the CSV header, or the first JSON object.
    pub header_line: u64,
    /// The line each data row starts on (a CSV header is line 1).
    pub lines: Vec<u64>,
}

impl RawTable {
    /// Checks that no column is named twice.
    ///
    /// # Errors
    ///
    /// The first name that appears twice, with the line that names the columns.
    pub fn check_unique_names(&self) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        for name in &self.names {
            if !seen.insert(name) {
                bail!(
                    "{}: line {}: column {name:?} appears twice",
                    self.path.display(),
                    self.header_line
                );
            }
        }
        Ok(())
    }

    /// `FILE: line N, column "C"` for row `row` of column `column`.
    pub fn at(&self, row: usize, column: usize) -> String {
        let line = self.lines.get(row).copied().unwrap_or(0);
        let name = self.names.get(column).map_or("", String::as_str);
        at(&self.path, line, name)
    }
}

/// Reads every column of `path`: the header's, or the first JSON object's fields (which every
/// later line must have, and no other).
///
/// # Errors
///
/// The file cannot be read, is empty or has no data row; a row is ragged, not valid UTF-8, or
/// (JSON Lines) not an object of strings, numbers, booleans and nulls with the first line's
/// fields. Each error names the file, the line and, where there is one, the column.
pub fn read_table(path: &Path) -> Result<RawTable> {
    let table = if is_json_lines(path) {
        let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        read_json_lines(path, BufReader::with_capacity(1 << 20, file))?
    } else if let Some(table) = plain_csv::read_chunked(path)? {
        table
    } else {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        match plain_csv::as_plain(bytes) {
            Ok(text) => plain_csv::read(path, &text)?,
            Err(bytes) => read_csv(path, &bytes)?,
        }
    };
    with_rows(path, table)
}

/// Reads a table from `bytes` (a request's body), CSV or JSON Lines; `name` stands for the
/// file in errors.
///
/// # Errors
///
/// As [`read_table`].
pub fn read_bytes(name: &Path, bytes: Vec<u8>, json_lines: bool) -> Result<RawTable> {
    let table = if json_lines {
        read_json_lines(name, bytes.as_slice())?
    } else {
        match plain_csv::as_plain(bytes) {
            Ok(text) => plain_csv::read(name, &text)?,
            Err(bytes) => read_csv(name, &bytes)?,
        }
    };
    with_rows(name, table)
}

fn with_rows(path: &Path, table: RawTable) -> Result<RawTable> {
    if table.lines.is_empty() {
        bail!("{}: no data rows", path.display());
    }
    Ok(table)
}

fn read_csv(path: &Path, bytes: &[u8]) -> Result<RawTable> {
    let (mut reader, names) = csv_with_header(path, bytes)?;
    let mut columns: Vec<RawColumn> = names.iter().map(|_| RawColumn::default()).collect();
    let mut lines = Vec::new();
    let mut record = csv::ByteRecord::new();
    while reader
        .read_byte_record(&mut record)
        .map_err(|error| csv_error(path, &error))?
    {
        let line = record.position().map_or(0, csv::Position::line);
        for (index, bytes) in record.iter().enumerate() {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| anyhow!("{}: not valid UTF-8", at(path, line, &names[index])))?;
            columns[index].push(text, Tag::Csv);
        }
        lines.push(line);
    }
    Ok(RawTable {
        path: path.to_path_buf(),
        columns,
        names,
        header_line: 1,
        lines,
    })
}

/// A JSON object's fields in the order written (serde_json's map sorts them).
struct Fields(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields;
            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some(field) = map.next_entry::<String, Value>()? {
                    fields.push(field);
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

fn read_json_lines(path: &Path, input: impl std::io::BufRead) -> Result<RawTable> {
    let mut table = RawTable {
        path: path.to_path_buf(),
        names: Vec::new(),
        columns: Vec::new(),
        header_line: 0,
        lines: Vec::new(),
    };
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut seen: Vec<Option<(Tag, String)>> = Vec::new();
    let mut started = false;
    json_lines(path, input, |line, text| {
        let Fields(fields) = serde_json::from_str(text)
            .map_err(|error| anyhow!("{}: line {line}: {error}", path.display()))?;
        if !started {
            started = true;
            table.header_line = line;
            table.names = fields.iter().map(|(name, _)| name.clone()).collect();
            if table.names.is_empty() {
                bail!("{}: the first object has no field", at_line(path, line));
            }
            for (position, name) in table.names.iter().enumerate() {
                if index.insert(name.clone(), position).is_some() {
                    bail!("{}: field {name:?} appears twice", at_line(path, line));
                }
            }
            table.columns = table.names.iter().map(|_| RawColumn::default()).collect();
            seen = vec![None; table.names.len()];
        }
        for (name, value) in &fields {
            let Some(&position) = index.get(name) else {
                bail!(
                    "{}: field {name:?} is not among the first line's fields ({})",
                    at_line(path, line),
                    table.names.join(", ")
                );
            };
            let cell = match value {
                Value::Null => (Tag::Missing, String::new()),
                Value::String(text) => (Tag::Text, text.clone()),
                Value::Number(number) => (Tag::Number, number.to_string()),
                Value::Bool(flag) => (Tag::Bool, flag.to_string()),
                Value::Array(_) | Value::Object(_) => bail!(
                    "{}: {} is not a value (a string, number, boolean or null)",
                    at(path, line, name),
                    kind(value)
                ),
            };
            seen[position] = Some(cell);
        }
        for (position, slot) in seen.iter_mut().enumerate() {
            let Some((tag, text)) = slot.take() else {
                bail!(
                    "{}: no field {:?}",
                    at_line(path, line),
                    table.names[position]
                );
            };
            table.columns[position].push(&text, tag);
        }
        table.lines.push(line);
        Ok(())
    })?;
    Ok(table)
}

fn at_line(path: &Path, line: u64) -> String {
    format!("{}: line {line}", path.display())
}
