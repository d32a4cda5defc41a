//! The fast way to read a plain CSV file (no quotes, no carriage returns, valid UTF-8; most
//! generated data): a simple split on commas and newlines, which gives the same cells as the
//! `csv` crate on such a file. Other files go through the `csv` crate.

use std::path::Path;

use anyhow::{Result, bail};

use super::raw::{RawColumn, RawTable, Tag};
use super::records::ragged;

/// The file's text when it is plain (read here the way the `csv` crate reads it), or its
/// bytes back otherwise.
pub fn as_plain(bytes: Vec<u8>) -> Result<String, Vec<u8>> {
    let plain = !bytes.is_empty()
        && bytes[0] != b'\n'
        && !bytes.starts_with(b"\xef\xbb\xbf")
        && memchr::memchr2(b'"', b'\r', &bytes).is_none();
    if !plain {
        return Err(bytes);
    }
    String::from_utf8(bytes).map_err(std::string::FromUtf8Error::into_bytes)
}

/// Reads a plain CSV text (see [`as_plain`]): the header's names and each column's cells.
/// Blank lines are skipped, as the `csv` crate and pandas skip them.
///
/// # Errors
///
/// A row with more or fewer fields than the header, named with its line.
pub fn read(path: &Path, text: &str) -> Result<RawTable> {
    let bytes = text.as_bytes();
    let header_end = line_end(bytes, 0);
    let names: Vec<String> = (text.get(..header_end).unwrap_or_default().split(','))
        .map(str::to_string)
        .collect();
    let width = names.len();
    // Room for the numbers, guessed from the first 64 KiB, so that the columns seldom grow.
    let sample = bytes.get(header_end + 1..).unwrap_or_default();
    let sample = &sample[..sample.len().min(1 << 16)];
    let sample_lines = memchr::memchr_iter(b'\n', sample).count().max(1);
    let rows = bytes.len() / (sample.len() / sample_lines).max(1) + 16;
    let mut columns: Vec<RawColumn> = (0..width).map(|_| RawColumn::numbers_first(rows)).collect();
    let mut lines = Vec::with_capacity(rows);
    let mut row_starts: Vec<usize> = Vec::with_capacity(rows);
    let mut position = header_end + 1;
    let mut line = 1;
    while position < bytes.len() {
        line += 1;
        let end = line_end(bytes, position);
        if end == position {
            position += 1;
            continue;
        }
        let mut field = 0;
        let mut start = position;
        let row = bytes.get(position..end).unwrap_or_default();
        let commas = memchr::memchr_iter(b',', row).map(|at| position + at);
        for index in commas.chain(std::iter::once(end)) {
            if let Some(column) = columns.get_mut(field) {
                let cell = text.get(start..index).unwrap_or_default();
                if !column.push_plain(cell) {
                    // The first cell of this column that is not a number: keep its texts.
                    let earlier = row_starts.iter().map(|&row| field_at(text, row, field));
                    column.start_texts(earlier);
                    column.push(cell, Tag::Csv);
                }
            }
            field += 1;
            start = index + 1;
        }
        if field != width {
            bail!(
                "{}: line {line}: {}",
                path.display(),
                ragged(field as u64, width as u64)
            );
        }
        lines.push(line);
        row_starts.push(position);
        position = end + 1;
    }
    Ok(RawTable {
        path: path.to_path_buf(),
        names,
        columns,
        header_line: 1,
        lines,
    })
}

/// Field `field` of the row starting at `start`.
fn field_at(text: &str, start: usize, field: usize) -> &str {
    let line = text
        .get(start..line_end(text.as_bytes(), start))
        .unwrap_or_default();
    line.split(',').nth(field).unwrap_or_default()
}

/// Where the line starting at `start` ends: its newline, or the end of the text.
fn line_end(bytes: &[u8], start: usize) -> usize {
    memchr::memchr(b'\n', bytes.get(start..).unwrap_or_default())
        .map_or(bytes.len(), |offset| start + offset)
}
