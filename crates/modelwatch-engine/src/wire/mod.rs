//! The wire format of inputs (DESIGN.md section 3): text in, validated [`Input`]s out.
//!
//! Accepts one JSON object, a JSON array of objects, or NDJSON (one object a line), and
//! collects every problem with the input's index, its line and the field. A batch is
//! all-or-nothing: [`WireParser::parse_batch`] returns either every input or only errors.
//!
//! - `framing`: where the JSON documents of a text are ([`documents`], [`Document`]).
//! - `fields`: reading one field's value from JSON, problems collected by field.
//! - `rules`: what a valid value is, one function per rule ([`check_identifier`],
//!   [`check_reason`], ...), shared by the readers and the checked constructors.
//! - `readers`: one reader per kind of input: metric events, job notices, retrain requests;
//!   `traffic`: predictions and labels, checked against `[[models]]` when the parser has it.
//! - `reference`: drift reference uploads (the service's own input, like job notices).
//! - `time_bounds`: the event times a parser refuses ([`TimeBounds`]).
//! - `checked`: the checked constructors ([`Event::new`](crate::Event::new),
//!   [`JobFinished::new`](crate::JobFinished::new),
//!   [`RetrainRequest::new`](crate::RetrainRequest::new), [`Input::check`]) for inputs built
//!   in code.
//! - here: [`WireParser`] over a whole batch, its limits and its errors.

mod checked;
mod fields;
mod framing;
mod readers;
mod reference;
mod rules;
mod time_bounds;
mod traffic;

use std::fmt;

use crate::config::ModelsConfig;
use crate::event::Input;
use crate::metric::MetricCatalog;
use fields::Problems;

pub use framing::{Document, Documents, documents};
pub use rules::{MAX_ID_LEN, MAX_REASON_LEN, check_identifier, check_job_id, check_reason};
pub use time_bounds::TimeBounds;
pub(crate) use traffic::{check_feature_name, check_feature_text};

/// What the tests (`tests.rs`, through `super::*`) name besides the parser's own items.
#[cfg(test)]
use crate::event::{Event, JobStatus, ModelId, RetrainRequest, Timestamp};

/// How the text is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON value: an object or an array of objects.
    Json,
    /// Whitespace-separated JSON objects, normally one a line.
    Ndjson,
    /// An array if the text starts with `[`, otherwise a sequence of objects.
    Auto,
}

/// Size limits on what one batch may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most inputs in one batch.
    pub max_inputs: usize,
    /// Most metrics in one event.
    pub max_metrics: usize,
    /// Most errors listed; the rest are counted.
    pub max_errors: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_inputs: 100_000,
            max_metrics: 256,
            max_errors: 100,
        }
    }
}

/// One problem with the input text.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct InputError {
    /// 0-based position of the input in the batch or file, when the problem is inside one.
    pub index: Option<usize>,
    /// 1-based line where the input (or the syntax error) is.
    pub line: usize,
    /// 1-based column of a syntax error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// The field at fault, as a path such as `metrics.accuracy` or `model.name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.index, self.column) {
            (Some(index), Some(column)) => {
                write!(f, "input {index} (line {}, column {column}): ", self.line)?
            }
            (Some(index), None) => write!(f, "input {index} (line {}): ", self.line)?,
            (None, Some(column)) => write!(f, "line {}, column {column}: ", self.line)?,
            (None, None) => write!(f, "line {}: ", self.line)?,
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Why a batch was refused. Nothing of a refused batch is kept.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The text holds no input at all.
    #[error("no input: the body is empty or holds only whitespace")]
    Empty,
    /// More inputs than [`Limits::max_inputs`].
    #[error("too many inputs in one batch: more than {limit}")]
    TooMany {
        /// The limit that was crossed.
        limit: usize,
    },
    /// The text is not JSON (the HTTP service answers 400).
    #[error("{}", list_errors("the input is not valid JSON", errors, *omitted))]
    Syntax {
        /// The problems found, at most [`Limits::max_errors`].
        errors: Vec<InputError>,
        /// How many more were found but not listed.
        omitted: usize,
    },
    /// The JSON does not describe valid inputs (the HTTP service answers 422).
    #[error("{}", list_errors("invalid input", errors, *omitted))]
    Invalid {
        /// The problems found, at most [`Limits::max_errors`].
        errors: Vec<InputError>,
        /// How many more were found but not listed.
        omitted: usize,
    },
}

fn list_errors(title: &str, errors: &[InputError], omitted: usize) -> String {
    let mut text = format!("{title}:");
    for error in errors {
        text.push_str("\n  ");
        text.push_str(&error.to_string());
    }
    if omitted > 0 {
        text.push_str(&format!("\n  ... and {omitted} more"));
    }
    text
}

/// Turns text into validated inputs.
#[derive(Clone, Copy, Debug)]
pub struct WireParser<'c> {
    catalog: &'c MetricCatalog,
    limits: Limits,
    accept_jobs: bool,
    time_bounds: Option<&'c TimeBounds>,
    models: Option<&'c ModelsConfig>,
}

impl<'c> WireParser<'c> {
    /// A parser that checks values against `catalog`, with default limits, accepting events only.
    pub fn new(catalog: &'c MetricCatalog) -> WireParser<'c> {
        WireParser {
            catalog,
            limits: Limits::default(),
            accept_jobs: false,
            time_bounds: None,
            models: None,
        }
    }

    /// Sets the limits.
    pub fn with_limits(mut self, limits: Limits) -> WireParser<'c> {
        self.limits = limits;
        self
    }

    /// Also accepts the service's own inputs, job-finished notices, retrain requests and drift
    /// reference uploads (replay files and the store may carry them; the HTTP event endpoint
    /// does not: jobs report to the jobs API, retrains are asked for and references uploaded
    /// on the models API).
    pub fn accepting_jobs(mut self) -> WireParser<'c> {
        self.accept_jobs = true;
        self
    }

    /// Refuses inputs whose timestamps fall outside `bounds`, each with an error at
    /// `timestamp` naming the bound's limit (the batch all or nothing, as for any problem).
    /// Inputs without a timestamp are not affected.
    pub fn with_time_bounds(mut self, bounds: &'c TimeBounds) -> WireParser<'c> {
        self.time_bounds = Some(bounds);
        self
    }

    /// Checks predictions and labels against `models` as well: the model must have a
    /// `[[models]]` entry, and outputs, scores and label values must fit its task (a class for
    /// binary and multiclass, a number for regression; `score` only for binary models, whose
    /// `scores` must give the positive class). Without it (the store's reader), only the rules
    /// that hold whatever the config are checked.
    pub fn with_models(mut self, models: &'c ModelsConfig) -> WireParser<'c> {
        self.models = Some(models);
        self
    }

    /// Parses and validates a whole batch, all or nothing.
    ///
    /// # Errors
    ///
    /// [`BatchError`] lists every problem found (up to the limit), each with its input's
    /// index, line and field.
    pub fn parse_batch(&self, text: &str, format: Format) -> Result<Vec<Input>, BatchError> {
        let mut syntax = ErrorList::new(self.limits.max_errors);
        let mut invalid = ErrorList::new(self.limits.max_errors);
        let mut inputs = Vec::new();
        let mut count = 0usize;
        for document in documents(text, format) {
            count += 1;
            if count > self.limits.max_inputs {
                return Err(BatchError::TooMany {
                    limit: self.limits.max_inputs,
                });
            }
            match document {
                Err(error) => syntax.push(error),
                Ok(document) => match self.parse_document(&document) {
                    Ok(input) if syntax.is_empty() && invalid.is_empty() => inputs.push(input),
                    Ok(_) => {}
                    Err(errors) => errors.into_iter().for_each(|error| invalid.push(error)),
                },
            }
        }
        if !syntax.is_empty() {
            return Err(syntax.into_syntax());
        }
        if !invalid.is_empty() {
            return Err(invalid.into_invalid());
        }
        if count == 0 {
            return Err(BatchError::Empty);
        }
        Ok(inputs)
    }

    /// Validates one located JSON value.
    ///
    /// # Errors
    ///
    /// Every problem with the value, each naming its field.
    pub fn parse_document(&self, document: &Document<'_>) -> Result<Input, Vec<InputError>> {
        let mut problems = Problems::new(document);
        let input = self.read_input(document.raw(), &mut problems);
        match input {
            Some(input) if problems.is_empty() => Ok(input),
            _ => {
                if problems.is_empty() {
                    problems.at(None, "invalid input".to_string());
                }
                Err(problems.into_errors())
            }
        }
    }
}

struct ErrorList {
    errors: Vec<InputError>,
    omitted: usize,
    limit: usize,
}

impl ErrorList {
    fn new(limit: usize) -> ErrorList {
        ErrorList {
            errors: Vec::new(),
            omitted: 0,
            limit: limit.max(1),
        }
    }

    fn push(&mut self, error: InputError) {
        if self.errors.len() < self.limit {
            self.errors.push(error);
        } else {
            self.omitted += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    fn into_syntax(self) -> BatchError {
        BatchError::Syntax {
            errors: self.errors,
            omitted: self.omitted,
        }
    }

    fn into_invalid(self) -> BatchError {
        BatchError::Invalid {
            errors: self.errors,
            omitted: self.omitted,
        }
    }
}

#[cfg(test)]
mod tests;
