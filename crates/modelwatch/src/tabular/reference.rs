//! A drift reference from tabular text (a config's `reference = { file }`, a body of
//! `PUT /v1/models/{name}/reference`): the columns read as `modelwatch drift` reads a file,
//! each typed as pandas types it (all numbers, all booleans, or text; an empty cell is a
//! missing value), checked by [`ReferenceTable::new`], every problem named with its line and
//! column.

use std::path::Path;

use anyhow::Result;
use modelwatch_engine::ReferenceTable;
use modelwatch_engine::reference::Cell;

use super::cells::{RawColumn, Tag, boolean};
use super::raw::{RawTable, read_bytes, read_table};

/// Reads the reference file at `path` (JSON Lines when it ends in `.jsonl`, CSV otherwise).
///
/// # Errors
///
/// The file cannot be read or is not a valid reference: named with the file, line and column.
pub fn reference_file(path: &Path) -> Result<ReferenceTable> {
    to_reference(&read_table(path)?)
}

/// Reads a reference from `bytes`; `name` stands for the text in errors.
///
/// # Errors
///
/// As [`reference_file`].
pub fn reference_bytes(name: &Path, bytes: Vec<u8>, json_lines: bool) -> Result<ReferenceTable> {
    to_reference(&read_bytes(name, bytes, json_lines)?)
}

fn to_reference(table: &RawTable) -> Result<ReferenceTable> {
    table.check_unique_names()?;
    let columns = (table.names.iter().zip(&table.columns))
        .map(|(name, column)| (name.clone(), cells(column)))
        .collect();
    ReferenceTable::new(columns).map_err(|problem| {
        let column = problem
            .column
            .as_ref()
            .and_then(|column| table.names.iter().position(|name| name == column));
        let place = match (problem.row, column) {
            (Some(row), Some(column)) => table.at(row, column),
            (None, Some(column)) => format!(
                "{}: line {}, column {:?}",
                table.path.display(),
                table.header_line,
                table.names[column]
            ),
            _ => table.path.display().to_string(),
        };
        anyhow::anyhow!("{place}: {}", problem.message)
    })
}

/// One column's cells, typed as pandas types the column.
fn cells(column: &RawColumn) -> Vec<Cell> {
    if let Some(numbers) = column.numbers() {
        return (numbers.values().iter())
            .map(|&value| {
                if value.is_nan() {
                    Cell::Missing
                } else {
                    Cell::Number(value)
                }
            })
            .collect();
    }
    let cells = || column.cells().into_iter().flatten();
    let present = || cells().filter(|&(_, tag)| tag != Tag::Missing);
    let all_booleans =
        present().all(|(text, tag)| tag == Tag::Bool || boolean(text, tag).is_some());
    cells()
        .map(|(text, tag)| match tag {
            Tag::Missing => Cell::Missing,
            _ if all_booleans => Cell::Bool(boolean(text, tag).unwrap_or(text == "true")),
            _ => Cell::Text(text.to_string()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use modelwatch_engine::drift::ColumnType;

    use super::*;

    fn read(text: &str, json_lines: bool) -> Result<ReferenceTable> {
        reference_bytes(Path::new("body"), text.as_bytes().to_vec(), json_lines)
    }

    #[test]
    fn columns_are_typed_as_pandas_types_them() {
        let table = read("a,b,c,d\n1,x,true,\n2.5,,FALSE,\n,y,true,\n", false).unwrap();
        let types: Vec<(&str, ColumnType)> = table.column_types().collect();
        assert_eq!(
            types,
            [
                ("a", ColumnType::Numerical),
                ("b", ColumnType::Categorical),
                ("c", ColumnType::Categorical),
                ("d", ColumnType::Numerical),
            ]
        );
        let columns: Vec<(&str, &[Cell])> = table.columns().collect();
        assert_eq!(
            columns[0].1,
            [Cell::Number(1.0), Cell::Number(2.5), Cell::Missing]
        );
        assert_eq!(columns[1].1[1], Cell::Missing);
        assert_eq!(columns[2].1[1], Cell::Bool(false));
        let table = read(
            "{\"a\": 1, \"b\": \"x\"}\n{\"a\": null, \"b\": true}\n",
            true,
        )
        .unwrap();
        let columns: Vec<(&str, &[Cell])> = table.columns().collect();
        assert_eq!(columns[0].1, [Cell::Number(1.0), Cell::Missing]);
        assert_eq!(
            columns[1].1,
            [Cell::Text("x".into()), Cell::Text("true".into())]
        );
    }

    #[test]
    fn bad_text_is_named_with_its_line_and_column() {
        let error = |text: &str, json_lines| read(text, json_lines).unwrap_err().to_string();
        assert_eq!(
            error("", false),
            "body: the file is empty (a CSV file needs a header)"
        );
        assert_eq!(error("a,b\n", false), "body: no data rows");
        assert_eq!(
            error("a,b\n1,2\n3\n", false),
            "body: line 3: 1 field where the header has 2"
        );
        assert_eq!(
            error("a,a\n1,2\n", false),
            "body: line 1: column \"a\" appears twice"
        );
        assert!(error("{\"a\": 1}\n{\"b\": 2}\n", true).contains("line 2"));
        assert!(error("{\"a\": [1]}\n", true).contains("line 1, column \"a\""));
        let long = "x".repeat(5000);
        assert!(
            error(&format!("a\n1\n{long}\n"), false)
                .starts_with("body: line 3, column \"a\": is 5000 bytes long")
        );
    }
}
