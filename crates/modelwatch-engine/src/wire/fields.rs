//! Fields: reading the values of an input's fields from JSON (objects, strings, numbers,
//! identifiers, timestamps, reasons), checked by the rules of `rules.rs`, each problem
//! collected with its field by [`Problems`].

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::InputError;
use super::framing::{Document, json_problem};
use super::rules::{check_identifier, check_job_id, check_reason};
use crate::event::Timestamp;
use crate::metric::quoted;

/// Reads a model name, version or instance ([`check_identifier`]).
pub(super) fn read_identifier(
    raw: &RawValue,
    field: &str,
    problems: &mut Problems,
) -> Option<String> {
    read_checked(raw, field, check_identifier, problems)
}

/// Reads a job id ([`check_job_id`]).
pub(super) fn read_job_id(raw: &RawValue, field: &str, problems: &mut Problems) -> Option<String> {
    read_checked(raw, field, check_job_id, problems)
}

/// Reads a string that `rule` accepts.
fn read_checked(
    raw: &RawValue,
    field: &str,
    rule: fn(&str) -> Result<(), String>,
    problems: &mut Problems,
) -> Option<String> {
    let text = problems.string(raw, field)?;
    problems
        .check(field, rule(&text))
        .then(|| text.into_owned())
}

/// Reads an optional timestamp: `Some(None)` for JSON null.
pub(super) fn read_timestamp(
    raw: &RawValue,
    field: &str,
    problems: &mut Problems,
) -> Option<Option<Timestamp>> {
    if raw.get() == "null" {
        return Some(None);
    }
    let text = problems.string(raw, field)?;
    match Timestamp::parse_rfc3339(&text) {
        Ok(timestamp) => Some(Some(timestamp)),
        Err(message) => {
            problems.at(Some(field), message);
            None
        }
    }
}

/// Reads a retrain request's reason ([`check_reason`]).
pub(super) fn read_reason(raw: &RawValue, field: &str, problems: &mut Problems) -> Option<String> {
    read_checked(raw, field, check_reason, problems)
}

/// Collects the problems of one input, each located at the input's index and line.
#[derive(Debug)]
pub(super) struct Problems {
    index: usize,
    line: usize,
    errors: Vec<InputError>,
}

impl Problems {
    /// No problem yet with `document`.
    pub(super) fn new(document: &Document<'_>) -> Problems {
        Problems {
            index: document.index,
            line: document.line,
            errors: Vec::new(),
        }
    }

    /// No problem yet with an input built in code. Its problems are located where the reader
    /// would locate them in the input's one-line wire form: input 0, line 1.
    pub(super) fn of_built_input() -> Problems {
        Problems {
            index: 0,
            line: 1,
            errors: Vec::new(),
        }
    }

    /// Notes the problem `rule` found at `field`, if any: whether there was none.
    pub(super) fn check(&mut self, field: &str, rule: Result<(), String>) -> bool {
        match rule {
            Ok(()) => true,
            Err(message) => {
                self.at(Some(field), message);
                false
            }
        }
    }

    /// Whether no problem was noted.
    pub(super) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The problems noted, in order.
    pub(super) fn into_errors(self) -> Vec<InputError> {
        self.errors
    }

    /// Notes a problem with `field` (the whole input when `None`).
    pub(super) fn at(&mut self, field: Option<&str>, message: String) {
        self.errors.push(InputError {
            index: Some(self.index),
            line: self.line,
            column: None,
            field: field.map(|field| {
                if field.len() > 80 {
                    quoted(field)
                } else {
                    field.to_string()
                }
            }),
            message,
        });
    }

    /// Puts a field's value, as read, into its slot: false (the problem noted) when the read
    /// failed (its reader noted why) or the field came before.
    pub(super) fn fill(
        &mut self,
        slot: &mut Option<String>,
        value: Option<String>,
        field: &str,
    ) -> bool {
        let Some(value) = value else {
            return false;
        };
        if slot.replace(value).is_some() {
            self.at(Some(field), "field appears more than once".to_string());
            return false;
        }
        true
    }

    pub(super) fn object<'r>(
        &mut self,
        raw: &'r RawValue,
        field: Option<&str>,
    ) -> Option<Fields<'r>> {
        match json_type(raw) {
            "an object" => {
                match Fields::deserialize(&mut serde_json::Deserializer::from_str(raw.get())) {
                    Ok(fields) => Some(fields),
                    Err(error) => {
                        self.at(
                            field,
                            format!("unreadable object: {}", json_problem(&error)),
                        );
                        None
                    }
                }
            }
            other => {
                let what = if field.is_none() {
                    "an input"
                } else {
                    "this field"
                };
                self.at(field, format!("{what} must be a JSON object, got {other}"));
                None
            }
        }
    }

    pub(super) fn string<'r>(&mut self, raw: &'r RawValue, field: &str) -> Option<Cow<'r, str>> {
        if json_type(raw) != "a string" {
            self.at(
                Some(field),
                format!("must be a string, got {}", json_type(raw)),
            );
            return None;
        }
        match serde_json::from_str::<Cow<'r, str>>(raw.get()) {
            Ok(text) => Some(text),
            Err(error) => {
                self.at(
                    Some(field),
                    format!("unreadable string: {}", json_problem(&error)),
                );
                None
            }
        }
    }

    pub(super) fn number(&mut self, raw: &RawValue, field: &str) -> Option<f64> {
        if json_type(raw) != "a number" {
            self.at(
                Some(field),
                format!("must be a number, got {}", json_type(raw)),
            );
            return None;
        }
        // JSON number syntax is a subset of Rust's float syntax, and Rust rounds correctly.
        match raw.get().parse::<f64>() {
            Ok(value) if value.is_finite() => Some(value),
            _ => {
                self.at(
                    Some(field),
                    format!("{} is not a finite 64-bit number", quoted(raw.get())),
                );
                None
            }
        }
    }
}

fn json_type(raw: &RawValue) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// The entries of a JSON object in their order, duplicates kept.
pub(super) struct Fields<'r>(Vec<(Cow<'r, str>, &'r RawValue)>);

impl<'r> IntoIterator for Fields<'r> {
    type Item = (Cow<'r, str>, &'r RawValue);
    type IntoIter = std::vec::IntoIter<(Cow<'r, str>, &'r RawValue)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Fields<'_> {
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de: 'r, 'r> Deserialize<'de> for Fields<'r> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    let value = map.next_value::<&'de RawValue>()?;
                    entries.push((key, value));
                }
                Ok(Fields(entries))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}
