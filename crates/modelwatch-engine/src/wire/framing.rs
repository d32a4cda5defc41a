//! Framing: where the JSON documents of a body are. One JSON object, a JSON array of objects,
//! or NDJSON; each document located by its index and line, each syntax error by line and
//! column.

use serde::de::Deserialize;
use serde_json::value::RawValue;

use super::{Format, InputError};

/// One JSON value of the input text, located.
#[derive(Clone, Copy, Debug)]
pub struct Document<'t> {
    /// 0-based position in the text.
    pub index: usize,
    /// 1-based line where the value starts.
    pub line: usize,
    raw: &'t RawValue,
}

impl<'t> Document<'t> {
    /// The document's JSON text.
    pub(super) fn raw(&self) -> &'t RawValue {
        self.raw
    }
}

/// Splits `text` into located JSON values. A syntax error is reported with its line and
/// column; in a sequence of objects the reader then resumes at the next line that starts
/// an object, so one broken line does not hide the problems of the others.
pub fn documents(text: &str, format: Format) -> Documents<'_> {
    let starts_with_bracket = text.trim_start().starts_with('[');
    let mode = match format {
        Format::Json if !starts_with_bracket => Mode::Single,
        Format::Auto | Format::Json if starts_with_bracket => Mode::Array,
        _ => Mode::Sequence,
    };
    Documents {
        text,
        mode,
        pos: 0,
        lines: LineCounter::default(),
        index: 0,
        array: None,
        done: false,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Single,
    Array,
    Sequence,
}

/// Iterator over the JSON values of an input text; see [`documents`].
#[derive(Debug)]
pub struct Documents<'t> {
    text: &'t str,
    mode: Mode,
    pos: usize,
    lines: LineCounter,
    index: usize,
    array: Option<std::vec::IntoIter<&'t RawValue>>,
    done: bool,
}

impl<'t> Iterator for Documents<'t> {
    type Item = Result<Document<'t>, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.mode {
            Mode::Array => self.next_in_array(),
            Mode::Single | Mode::Sequence => self.next_in_sequence(),
        }
    }
}

impl<'t> Documents<'t> {
    fn locate(&mut self, raw: &'t RawValue) -> Document<'t> {
        let offset = (raw.get().as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        let line = self.lines.line_at(self.text, offset);
        let document = Document {
            index: self.index,
            line,
            raw,
        };
        self.index += 1;
        document
    }

    fn syntax_error(&mut self, base: usize, error: &serde_json::Error) -> InputError {
        // serde_json counts lines and columns from `base`.
        let base_line = self.lines.line_at(self.text, base);
        let line = base_line + error.line().saturating_sub(1);
        let column = if error.line() <= 1 {
            base - self.lines.line_start(self.text, base) + error.column()
        } else {
            error.column()
        };
        // serde_json says column 0 for the end of a text that ends with a line break.
        let column = column.max(1);
        InputError {
            index: None,
            line,
            column: Some(column),
            field: None,
            message: format!("invalid JSON: {}", json_problem(error)),
        }
    }

    fn next_in_array(&mut self) -> Option<Result<Document<'t>, InputError>> {
        if self.array.is_none() {
            match serde_json::from_str::<Vec<&'t RawValue>>(self.text) {
                Ok(values) => self.array = Some(values.into_iter()),
                Err(error) => {
                    self.done = true;
                    return Some(Err(self.syntax_error(0, &error)));
                }
            }
        }
        let raw = self.array.as_mut()?.next()?;
        Some(Ok(self.locate(raw)))
    }

    fn next_in_sequence(&mut self) -> Option<Result<Document<'t>, InputError>> {
        let rest = &self.text[self.pos..];
        let skipped = rest.len() - rest.trim_start().len();
        self.pos += skipped;
        if self.pos >= self.text.len() {
            self.done = true;
            return None;
        }
        if self.mode == Mode::Single && self.index > 0 {
            self.done = true;
            let line = self.lines.line_at(self.text, self.pos);
            let column = self.pos - self.lines.line_start(self.text, self.pos) + 1;
            return Some(Err(InputError {
                index: None,
                line,
                column: Some(column),
                field: None,
                message: "invalid JSON: trailing characters after the JSON value; send NDJSON \
                          (application/x-ndjson) for several objects"
                    .to_string(),
            }));
        }
        let base = self.pos;
        let mut deserializer = serde_json::Deserializer::from_str(&self.text[base..]);
        match <&'t RawValue>::deserialize(&mut deserializer) {
            Ok(raw) => {
                let document = self.locate(raw);
                self.pos = base
                    + raw.get().len()
                    + (raw.get().as_ptr() as usize - self.text[base..].as_ptr() as usize);
                Some(Ok(document))
            }
            Err(error) => {
                let mut input_error = self.syntax_error(base, &error);
                if self.mode == Mode::Single {
                    self.done = true;
                    return Some(Err(input_error));
                }
                input_error.index = Some(self.index);
                self.index += 1;
                self.resync(input_error.line);
                Some(Err(input_error))
            }
        }
    }

    /// Moves past `line` to the next line that starts with `{`, or to the end.
    fn resync(&mut self, line: usize) {
        let mut current = self.lines.line_at(self.text, self.pos);
        let mut pos = self.pos;
        while pos < self.text.len() {
            match self.text[pos..].find('\n') {
                Some(newline) => pos += newline + 1,
                None => pos = self.text.len(),
            }
            current += 1;
            if current > line
                && self.text[pos..]
                    .trim_start_matches([' ', '\t', '\r'])
                    .starts_with('{')
            {
                break;
            }
        }
        self.pos = pos;
    }
}

/// Maps byte offsets to line numbers, moving forward cheaply.
#[derive(Debug, Default)]
struct LineCounter {
    offset: usize,
    line: usize,
}

impl LineCounter {
    fn line_at(&mut self, text: &str, offset: usize) -> usize {
        let offset = offset.min(text.len());
        if offset < self.offset {
            self.offset = 0;
            self.line = 0;
        }
        self.line += text.as_bytes()[self.offset..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.offset = offset;
        self.line + 1
    }

    fn line_start(&self, text: &str, offset: usize) -> usize {
        let offset = offset.min(text.len());
        text[..offset].rfind('\n').map_or(0, |newline| newline + 1)
    }
}

/// What is wrong with JSON text, said in words: serde_json's terse messages ("expected
/// ident", "EOF while parsing a value") turned into what was expected and where, without
/// serde_json's position (the caller gives line and column of its own).
pub(super) fn json_problem(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let message = match message.rfind(" at line ") {
        Some(at) => message.get(..at).unwrap_or(&message),
        None => &message,
    };
    let words = match message {
        "EOF while parsing a value" => "the text ends where a value should be",
        "EOF while parsing an object" => "the text ends inside an object: a `}` is missing",
        "EOF while parsing a list" => "the text ends inside an array: a `]` is missing",
        "EOF while parsing a string" => "the text ends inside a string: a closing `\"` is missing",
        "expected ident" => "expected true, false or null",
        "expected value" => {
            "expected a JSON value: an object, an array, a string in double quotes, a number, \
             true, false or null"
        }
        "expected `:`" => "expected `:` between an object's key and its value",
        "expected `,` or `]`" => "expected `,` or `]` after an array's element",
        "expected `,` or `}`" => "expected `,` or `}` after an object's value",
        "key must be a string" => "expected an object's key: a string in double quotes",
        "trailing comma" => "a comma before the closing bracket: remove it",
        "trailing characters" => "more text after the end of the JSON value",
        "invalid number" => "invalid number: JSON numbers look like 12, -0.5 or 1e-3",
        "number out of range" => "the number is out of range",
        "invalid escape" => {
            "invalid escape in a string: use \\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\u and four hex digits"
        }
        "lone leading surrogate in hex escape" | "unexpected end of hex escape" => {
            "a \\u escape holds half of a surrogate pair without the other half"
        }
        "control character (\\u0000-\\u001F) found while parsing a string" => {
            "a string holds a raw control character such as a line break or tab: write it \
             escaped (\\n, \\t)"
        }
        // Others ("recursion limit exceeded", "number out of range", ...) come from parts of
        // serde_json the parser does not use; they keep serde_json's words.
        other => other,
    };
    words.to_string()
}
