//! Fields: reading and checking the values of an input's fields (identifiers, numbers,
//! timestamps, reasons), each problem collected with its field by [`Problems`].

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::InputError;
use super::framing::Document;
use crate::event::Timestamp;
use crate::metric::quoted;

/// The longest model name, version or instance accepted, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// Checks a model name, version or instance: 1 to 128 bytes of `[A-Za-z0-9._:/@+-]`,
/// starting with a letter or digit.
///
/// # Errors
///
/// A sentence saying what is wrong.
pub fn check_identifier(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("is empty".to_string());
    }
    if text.len() > MAX_ID_LEN {
        return Err(format!(
            "is {} bytes long; the limit is {MAX_ID_LEN}",
            text.len()
        ));
    }
    if !text.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "{} must start with a letter or digit",
            quoted(text)
        ));
    }
    if let Some(bad) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._:/@+-".contains(*c)))
    {
        return Err(format!(
            "{} contains {bad:?}; use letters, digits and . _ : / @ + -",
            quoted(text)
        ));
    }
    Ok(())
}

pub(super) fn read_identifier(
    raw: &RawValue,
    field: &str,
    problems: &mut Problems<'_, '_>,
) -> Option<String> {
    let text = problems.string(raw, field)?;
    match check_identifier(&text) {
        Ok(()) => Some(text.into_owned()),
        Err(message) => {
            problems.at(Some(field), message);
            None
        }
    }
}

/// Reads an optional timestamp: `Some(None)` for JSON null.
pub(super) fn read_timestamp(
    raw: &RawValue,
    field: &str,
    problems: &mut Problems<'_, '_>,
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

/// The longest reason a retrain request may give, in bytes.
pub const MAX_REASON_LEN: usize = 1024;

/// A retrain request's reason: free text, 1 to [`MAX_REASON_LEN`] bytes, no control
/// characters but tabs.
pub(super) fn read_reason(
    raw: &RawValue,
    field: &str,
    problems: &mut Problems<'_, '_>,
) -> Option<String> {
    let text = problems.string(raw, field)?;
    let problem = if text.is_empty() || text.len() > MAX_REASON_LEN {
        Some(format!("must be 1 to {MAX_REASON_LEN} bytes long"))
    } else if text.chars().any(|c| c.is_control() && c != '\t') {
        Some("must not contain control characters such as line breaks".to_string())
    } else {
        None
    };
    match problem {
        Some(message) => {
            problems.at(Some(field), message);
            None
        }
        None => Some(text.into_owned()),
    }
}

/// Collects the problems of one document.
pub(super) struct Problems<'d, 't> {
    document: &'d Document<'t>,
    errors: Vec<InputError>,
}

impl<'d, 't> Problems<'d, 't> {
    /// No problem yet with `document`.
    pub(super) fn new(document: &'d Document<'t>) -> Problems<'d, 't> {
        Problems {
            document,
            errors: Vec::new(),
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
            index: Some(self.document.index),
            line: self.document.line,
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
                        self.at(field, format!("unreadable object: {error}"));
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
                self.at(Some(field), format!("unreadable string: {error}"));
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
