//! Untyped detector parameters ([`ParamValue`]), their errors ([`ParamError`]) and the reader
//! that [`crate::DetectorSpec::parse`] uses to type-check them while collecting every problem.

use std::fmt;

use crate::DetectorKind;

/// A parameter value as it comes from a config file, a CLI flag or an API call.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    /// A whole number. Accepted where a float is expected.
    Integer(i64),
    /// A number. Accepted where an integer is expected only if it is a whole number.
    Float(f64),
    /// A boolean, e.g. `two_sided_test` of the HDDM detectors.
    Bool(bool),
    /// A string, e.g. Page-Hinkley's `mode`.
    String(String),
}

impl ParamValue {
    fn type_name(&self) -> &'static str {
        match self {
            ParamValue::Integer(_) => "an integer",
            ParamValue::Float(_) => "a float",
            ParamValue::Bool(_) => "a bool",
            ParamValue::String(_) => "a string",
        }
    }
}

/// One problem with a detector's parameters.
///
/// `message` is lowercase with no trailing period. `param` names the parameter, or is `None`
/// when the problem is about the detector kind or the set as a whole (e.g. both `below` and
/// `above` given).
#[derive(Clone, Debug, PartialEq)]
pub struct ParamError {
    /// The parameter the problem is about, if it is about one.
    pub param: Option<String>,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
}

impl ParamError {
    pub(crate) fn about(param: &str, message: impl Into<String>) -> ParamError {
        ParamError {
            param: Some(param.to_owned()),
            message: message.into(),
        }
    }

    pub(crate) fn general(message: impl Into<String>) -> ParamError {
        ParamError {
            param: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.param {
            Some(param) => write!(f, "parameter `{param}`: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ParamError {}

/// The outcome of reading one parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Field<T> {
    /// Not given.
    Absent,
    /// Given but unusable; the error is already recorded.
    Invalid,
    /// Given and well-typed.
    Valid(T),
}

/// The value of a field, its default when absent, `None` when invalid.
pub(crate) fn or_default<T>(field: Field<T>, default: T) -> Option<T> {
    match field {
        Field::Absent => Some(default),
        Field::Valid(value) => Some(value),
        Field::Invalid => None,
    }
}

impl<T> Field<T> {
    pub(crate) fn is_present(&self) -> bool {
        !matches!(self, Field::Absent)
    }
}

/// Reads typed parameters out of a `(name, value)` list, recording every problem.
///
/// Unknown and repeated names are reported when the reader is created; each typed read reports
/// type, finiteness and range problems of that parameter.
#[derive(Debug)]
pub(crate) struct ParamReader<'a> {
    params: &'a [(String, ParamValue)],
    errors: Vec<ParamError>,
}

impl<'a> ParamReader<'a> {
    pub(crate) fn new(kind: DetectorKind, params: &'a [(String, ParamValue)]) -> ParamReader<'a> {
        let mut errors = Vec::new();
        let valid_names = kind.param_names();
        for (position, (name, _)) in params.iter().enumerate() {
            if !valid_names.contains(&name.as_str()) {
                errors.push(ParamError::about(
                    name,
                    format!(
                        "unknown parameter for `{}`; valid parameters: {}",
                        kind.as_str(),
                        valid_names.join(", ")
                    ),
                ));
            } else if params[..position]
                .iter()
                .any(|(earlier, _)| earlier == name)
            {
                errors.push(ParamError::about(name, "given more than once"));
            }
        }
        ParamReader { params, errors }
    }

    fn value(&self, name: &str) -> Option<&'a ParamValue> {
        self.params
            .iter()
            .find(|(given, _)| given == name)
            .map(|(_, value)| value)
    }

    /// Records a problem about one parameter.
    pub(crate) fn error(&mut self, name: &str, message: impl Into<String>) {
        self.errors.push(ParamError::about(name, message));
    }

    /// Records a problem about the parameter set as a whole.
    pub(crate) fn general_error(&mut self, message: impl Into<String>) {
        self.errors.push(ParamError::general(message));
    }

    /// A finite float; integers are converted.
    pub(crate) fn float(&mut self, name: &str) -> Field<f64> {
        let number = match self.value(name) {
            None => return Field::Absent,
            Some(ParamValue::Float(number)) => *number,
            // Exact for every integer a sensible parameter takes (|i| <= 2^53).
            Some(ParamValue::Integer(integer)) => *integer as f64,
            Some(other) => {
                let message = format!("expected a number, got {}", other.type_name());
                self.error(name, message);
                return Field::Invalid;
            }
        };
        if number.is_finite() {
            Field::Valid(number)
        } else {
            self.error(name, format!("must be finite, got {number}"));
            Field::Invalid
        }
    }

    /// A finite float that satisfies `in_range`, described by `range` in the error.
    pub(crate) fn float_in(
        &mut self,
        name: &str,
        range: &str,
        in_range: fn(f64) -> bool,
    ) -> Field<f64> {
        match self.float(name) {
            Field::Valid(number) if !in_range(number) => {
                self.error(name, format!("must be {range}, got {number}"));
                Field::Invalid
            }
            field => field,
        }
    }

    /// A whole number in `min..=max`. Floats are accepted only when they are whole numbers.
    pub(crate) fn integer(&mut self, name: &str, min: i64, max: i64) -> Field<i64> {
        let integer = match self.value(name) {
            None => return Field::Absent,
            Some(ParamValue::Integer(integer)) => *integer,
            Some(ParamValue::Float(number)) => {
                let number = *number;
                if !number.is_finite() {
                    self.error(name, format!("must be finite, got {number}"));
                    return Field::Invalid;
                }
                if number.fract() != 0.0 {
                    self.error(name, format!("must be a whole number, got {number}"));
                    return Field::Invalid;
                }
                // Compare as floats first so huge values cannot saturate into range.
                if number < min as f64 || number > max as f64 {
                    self.error(name, range_message(min, max, number));
                    return Field::Invalid;
                }
                number as i64
            }
            Some(other) => {
                let message = format!("expected an integer, got {}", other.type_name());
                self.error(name, message);
                return Field::Invalid;
            }
        };
        if integer < min || integer > max {
            self.error(name, range_message(min, max, integer));
            return Field::Invalid;
        }
        Field::Valid(integer)
    }

    /// A boolean (`true`/`false`; numbers and strings are rejected).
    pub(crate) fn boolean(&mut self, name: &str) -> Field<bool> {
        match self.value(name) {
            None => Field::Absent,
            Some(ParamValue::Bool(flag)) => Field::Valid(*flag),
            Some(other) => {
                let message = format!("expected a bool, got {}", other.type_name());
                self.error(name, message);
                Field::Invalid
            }
        }
    }

    /// A string.
    pub(crate) fn string(&mut self, name: &str) -> Field<&'a str> {
        match self.value(name) {
            None => Field::Absent,
            Some(ParamValue::String(text)) => Field::Valid(text.as_str()),
            Some(other) => {
                let message = format!("expected a string, got {}", other.type_name());
                self.error(name, message);
                Field::Invalid
            }
        }
    }

    /// Returns `value` if no problem was recorded, else every problem.
    pub(crate) fn finish<T>(self, value: Option<T>) -> Result<T, Vec<ParamError>> {
        match value {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ if self.errors.is_empty() => {
                // Defensive: a reader that returned `None` must have said why.
                Err(vec![ParamError::general("invalid parameters")])
            }
            _ => Err(self.errors),
        }
    }
}

fn range_message(min: i64, max: i64, got: impl fmt::Display) -> String {
    if max == i64::MAX {
        format!("must be >= {min}, got {got}")
    } else {
        format!("must be between {min} and {max}, got {got}")
    }
}
