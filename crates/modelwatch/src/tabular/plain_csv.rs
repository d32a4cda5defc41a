//! The fast way to read a plain CSV file (no quotes, no carriage returns, valid UTF-8; most
//! generated data): a simple split on commas and newlines, which gives the same cells as the
//! `csv` crate on such a file, done chunk by chunk while the file is read. Other files go
//! through the `csv` crate.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::decimals::Decimal;
use super::raw::{RawColumn, RawTable, Tag};
use super::records::ragged;

/// How many bytes are read at a time: the buffer stays in the cache and is reused, where a
/// whole file read at once costs a page fault every 4 KiB.
const CHUNK: usize = 1 << 20;

/// Reads `path` as a plain CSV file (see [`as_plain`]), chunk by chunk; `None` when it is not
/// plain, or when a column turns out to hold text after the first chunk (its earlier cells'
/// texts are gone): the caller then reads the whole file.
///
/// # Errors
///
/// The file cannot be read, or a row has more or fewer fields than the header.
pub(super) fn read_chunked(path: &Path) -> Result<Option<RawTable>> {
    let mut file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let size = file.metadata().map_or(0, |metadata| metadata.len());
    let mut buffer: Vec<u8> = Vec::with_capacity(2 * CHUNK);
    let mut table: Option<Plain> = None;
    loop {
        let read = (&mut file)
            .take(CHUNK as u64)
            .read_to_end(&mut buffer)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let done = read == 0;
        if table.is_none()
            && (buffer.first() == Some(&b'\n')
                || buffer.starts_with(b"\xef\xbb\xbf")
                || (done && buffer.is_empty()))
        {
            return Ok(None);
        }
        // The complete lines read so far (all that is left at the end of the file).
        let end = if done {
            buffer.len()
        } else {
            match memchr::memrchr(b'\n', &buffer) {
                Some(newline) => newline + 1,
                None => continue,
            }
        };
        let region = buffer.get(..end).unwrap_or_default();
        if memchr::memchr2(b'"', b'\r', region).is_some() {
            return Ok(None);
        }
        let Ok(text) = std::str::from_utf8(region) else {
            return Ok(None);
        };
        let mut rows = text;
        if table.is_none() {
            let (plain, rest) = Plain::start(text, size);
            table = Some(plain);
            rows = rest;
        }
        let Some(plain) = table.as_mut() else {
            return Ok(None);
        };
        if !plain.rows(path, rows, false)? {
            return Ok(None);
        }
        if done {
            return Ok(table.map(|plain| plain.finish(path)));
        }
        buffer.drain(..end);
    }
}

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

/// Reads a whole plain CSV text (see [`as_plain`]): the header's names and each column's
/// cells. Blank lines are skipped, as the `csv` crate and pandas skip them.
///
/// # Errors
///
/// A row with more or fewer fields than the header, named with its line.
pub(super) fn read(path: &Path, text: &str) -> Result<RawTable> {
    let (mut plain, rows) = Plain::start(text, text.len() as u64);
    plain.rows(path, rows, true)?;
    Ok(plain.finish(path))
}

/// A plain CSV file being read: its header and the columns so far.
struct Plain {
    names: Vec<String>,
    columns: Vec<RawColumn>,
    lines: Vec<u64>,
    /// The number of the last line read (the header is line 1).
    line: u64,
}

impl Plain {
    /// The header (the first line of `text`) and the rest of `text`; the columns get room
    /// for the rows a file of `size` bytes has, guessed from the lines after the header.
    fn start(text: &str, size: u64) -> (Plain, &str) {
        let header_end = line_end(text.as_bytes(), 0);
        let names: Vec<String> = (text.get(..header_end).unwrap_or_default().split(','))
            .map(str::to_string)
            .collect();
        let rest = text.get(header_end + 1..).unwrap_or_default();
        // Room for the numbers, guessed from the first 64 KiB, so that the columns seldom grow.
        let sample = &rest.as_bytes()[..rest.len().min(1 << 16)];
        let sample_lines = memchr::memchr_iter(b'\n', sample).count().max(1);
        let size = usize::try_from(size).unwrap_or(usize::MAX).min(1 << 40);
        // A quarter more than the guess: room that is never written costs nothing, where a
        // column that outgrows its guess near the end is copied into twice the room.
        let guess = size / (sample.len() / sample_lines).max(1);
        let rows = guess + guess / 4 + 16;
        let plain = Plain {
            columns: (0..names.len())
                .map(|_| RawColumn::numbers_first(rows))
                .collect(),
            names,
            lines: Vec::with_capacity(rows),
            line: 1,
        };
        (plain, rest)
    }

    /// Adds the rows of `text`, complete lines that follow the ones read so far. False (and
    /// the table then unusable) when a column turns out to hold text and its earlier cells
    /// are not all in `text`, unless `whole` says they are (then always true).
    ///
    /// # Errors
    ///
    /// A row with more or fewer fields than the header, named with its line.
    fn rows(&mut self, path: &Path, text: &str, whole: bool) -> Result<bool> {
        let bytes = text.as_bytes();
        let width = self.names.len();
        let earlier_rows = self.lines.len();
        let mut row_starts: Vec<usize> = Vec::new();
        let mut position = 0;
        while position < bytes.len() {
            self.line += 1;
            if bytes.get(position) == Some(&b'\n') {
                position += 1;
                continue;
            }
            let mut field = 0;
            let mut start = position;
            // Each field in turn, read once: a plain decimal goes straight to its column as it
            // is scanned; any other cell is found by its end and pushed as text.
            let end = loop {
                let scanned = bytes.get(start..).and_then(Decimal::scan);
                let fast = match (scanned, self.columns.get_mut(field)) {
                    (Some((decimal, length)), Some(column))
                        if matches!(bytes.get(start + length), None | Some(b',' | b'\n')) =>
                    {
                        column.push_plain_decimal(decimal).then_some(start + length)
                    }
                    _ => None,
                };
                let field_end = match fast {
                    Some(field_end) => field_end,
                    None => {
                        let rest = bytes.get(start..).unwrap_or_default();
                        let field_end =
                            memchr::memchr2(b',', b'\n', rest).map_or(bytes.len(), |at| start + at);
                        if let Some(column) = self.columns.get_mut(field) {
                            let cell = text.get(start..field_end).unwrap_or_default();
                            if !column.push_plain(cell) {
                                // The first cell of this column that is not a number: keep its
                                // texts.
                                if earlier_rows > 0 && !whole {
                                    return Ok(false);
                                }
                                let earlier =
                                    row_starts.iter().map(|&row| field_at(text, row, field));
                                column.start_texts(earlier);
                                column.push(cell, Tag::Csv);
                            }
                        }
                        field_end
                    }
                };
                field += 1;
                if bytes.get(field_end) == Some(&b',') {
                    start = field_end + 1;
                } else {
                    break field_end;
                }
            };
            if field != width {
                bail!(
                    "{}: line {}: {}",
                    path.display(),
                    self.line,
                    ragged(field as u64, width as u64)
                );
            }
            self.lines.push(self.line);
            row_starts.push(position);
            position = end + 1;
        }
        Ok(true)
    }

    fn finish(self, path: &Path) -> RawTable {
        RawTable {
            path: path.to_path_buf(),
            names: self.names,
            columns: self.columns,
            header_line: 1,
            lines: self.lines,
        }
    }
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
