//! The wire format of inputs (DESIGN.md section 3): text in, validated [`Input`]s out.
//!
//! Accepts one JSON object, a JSON array of objects, or NDJSON (one object a line), and
//! collects every problem with the input's index, its line and the field. A batch is
//! all-or-nothing: [`WireParser::parse_batch`] returns either every input or only errors.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::event::{
    DEFAULT_INSTANCE, Event, Input, JobFinished, JobStatus, ModelId, RetrainRequest, Timestamp,
};
use crate::metric::{
    MACRO_SCORE, MACRO_SCORE_PARTS, MetricCatalog, canonical_metric_name, check_metric_name, quoted,
};

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

/// The longest model name, version or instance accepted, in bytes.
pub const MAX_ID_LEN: usize = 128;

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

/// One JSON value of the input text, located.
#[derive(Clone, Copy, Debug)]
pub struct Document<'t> {
    /// 0-based position in the text.
    pub index: usize,
    /// 1-based line where the value starts.
    pub line: usize,
    raw: &'t RawValue,
}

/// Turns text into validated inputs.
#[derive(Clone, Copy, Debug)]
pub struct WireParser<'c> {
    catalog: &'c MetricCatalog,
    limits: Limits,
    accept_jobs: bool,
}

impl<'c> WireParser<'c> {
    /// A parser that checks values against `catalog`, with default limits, accepting events only.
    pub fn new(catalog: &'c MetricCatalog) -> WireParser<'c> {
        WireParser {
            catalog,
            limits: Limits::default(),
            accept_jobs: false,
        }
    }

    /// Sets the limits.
    pub fn with_limits(mut self, limits: Limits) -> WireParser<'c> {
        self.limits = limits;
        self
    }

    /// Also accepts the service's own inputs, job-finished notices and retrain requests
    /// (replay files and the store may carry them; the HTTP event endpoint does not: jobs
    /// report to the jobs API, retrains are asked for on the models API).
    pub fn accepting_jobs(mut self) -> WireParser<'c> {
        self.accept_jobs = true;
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
        let mut problems = Problems {
            document,
            errors: Vec::new(),
        };
        let input = self.read_input(document.raw, &mut problems);
        match input {
            Some(input) if problems.errors.is_empty() => Ok(input),
            _ => {
                if problems.errors.is_empty() {
                    problems.at(None, "invalid input".to_string());
                }
                Err(problems.errors)
            }
        }
    }

    /// Whether a job notice or retrain request (`field`) may be read here: refused (`None`)
    /// where the parser takes no such inputs; every other field present beside it is a
    /// problem (`alone` says why), and the input is still read for its own problems.
    fn admit_special(
        &self,
        field: &str,
        refusal: &str,
        beside: &[(&str, bool)],
        alone: &str,
        problems: &mut Problems<'_, '_>,
    ) -> Option<()> {
        if !self.accept_jobs {
            problems.at(Some(field), refusal.to_string());
            return None;
        }
        for (name, present) in beside {
            if *present {
                problems.at(Some(name), alone.to_string());
            }
        }
        Some(())
    }

    fn read_input(&self, raw: &RawValue, problems: &mut Problems<'_, '_>) -> Option<Input> {
        let fields = problems.object(raw, None)?;
        let mut model = None;
        let mut timestamp = None;
        let mut metrics = None;
        let mut metric = None;
        let mut value = None;
        let mut job = None;
        let mut retrain = None;
        for (key, raw) in fields {
            let slot = match key.as_ref() {
                "model" => &mut model,
                "timestamp" => &mut timestamp,
                "metrics" => &mut metrics,
                "metric" => &mut metric,
                "value" => &mut value,
                "job_finished" => &mut job,
                "retrain_request" => &mut retrain,
                other => {
                    problems.at(
                        Some(other),
                        "unknown field; an event has model, timestamp, and metrics or metric and value"
                            .to_string(),
                    );
                    continue;
                }
            };
            if slot.replace(raw).is_some() {
                problems.at(Some(&key), "field appears more than once".to_string());
            }
        }
        let timestamp = timestamp
            .and_then(|raw| read_timestamp(raw, "timestamp", problems))
            .flatten();
        let event_fields = [
            ("model", model.is_some()),
            ("metrics", metrics.is_some()),
            ("metric", metric.is_some()),
            ("value", value.is_some()),
        ];
        if let Some(request) = retrain {
            let beside = [event_fields.as_slice(), &[("job_finished", job.is_some())]].concat();
            self.admit_special(
                "retrain_request",
                "retrain_request inputs are not accepted here; ask for a retrain on POST /v1/models/{name}/retrain",
                &beside,
                "a retrain_request input carries nothing but retrain_request and timestamp",
                problems,
            )?;
            return read_retrain_request(request, timestamp, problems).map(Input::RetrainRequest);
        }
        if let Some(job) = job {
            self.admit_special(
                "job_finished",
                "job_finished inputs are not accepted here; report job results to the jobs API",
                &event_fields,
                "a job_finished input carries no metric fields",
                problems,
            )?;
            return read_job(job, timestamp, problems).map(Input::JobFinished);
        }
        let model = match model {
            Some(raw) => read_model(raw, problems),
            None => {
                problems.at(
                    Some("model"),
                    "missing; every event names its model".to_string(),
                );
                None
            }
        };
        let metrics = match (metrics, metric, value) {
            (Some(raw), None, None) => self.read_metrics(raw, problems),
            (None, Some(name), Some(value)) => self.read_single_metric(name, value, problems),
            (None, None, None) => {
                problems.at(
                    Some("metrics"),
                    "missing; an event needs \"metrics\" (an object) or \"metric\" and \"value\""
                        .to_string(),
                );
                None
            }
            (None, Some(_), None) => {
                problems.at(
                    Some("value"),
                    "missing; \"metric\" needs a \"value\"".to_string(),
                );
                None
            }
            (None, None, Some(_)) => {
                problems.at(
                    Some("metric"),
                    "missing; \"value\" needs a \"metric\" name".to_string(),
                );
                None
            }
            (Some(_), _, _) => {
                problems.at(
                    Some("metric"),
                    "give either \"metrics\" or \"metric\" and \"value\", not both".to_string(),
                );
                None
            }
        };
        Some(Input::Event(Event {
            model: model?,
            timestamp,
            metrics: metrics?,
        }))
    }

    fn read_metrics(
        &self,
        raw: &RawValue,
        problems: &mut Problems<'_, '_>,
    ) -> Option<Vec<(String, f64)>> {
        let fields = problems.object(raw, Some("metrics"))?;
        if fields.is_empty() {
            problems.at(
                Some("metrics"),
                "is empty; give at least one metric".to_string(),
            );
            return None;
        }
        if fields.len() > self.limits.max_metrics {
            problems.at(
                Some("metrics"),
                format!(
                    "has {} metrics; the limit is {}",
                    fields.len(),
                    self.limits.max_metrics
                ),
            );
            return None;
        }
        let mut metrics = Vec::with_capacity(fields.len() + 1);
        let mut ok = true;
        for (name, raw) in fields {
            match self.read_metric_value(&name, raw, &format!("metrics.{name}"), problems) {
                Some(entry) => metrics.push(entry),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        finish_metrics(metrics, problems)
    }

    fn read_single_metric(
        &self,
        name: &RawValue,
        value: &RawValue,
        problems: &mut Problems<'_, '_>,
    ) -> Option<Vec<(String, f64)>> {
        let name = problems.string(name, "metric")?;
        let entry = self.read_metric_value(&name, value, "value", problems)?;
        finish_metrics(vec![entry], problems)
    }

    fn read_metric_value(
        &self,
        name: &str,
        raw: &RawValue,
        field: &str,
        problems: &mut Problems<'_, '_>,
    ) -> Option<(String, f64)> {
        if let Err(message) = check_metric_name(name) {
            problems.at(Some(field), message);
            return None;
        }
        if name == MACRO_SCORE {
            problems.at(
                Some(field),
                "macro_score is derived from accuracy, precision, recall and f1 and cannot be sent"
                    .to_string(),
            );
            return None;
        }
        let value = problems.number(raw, field)?;
        let name = canonical_metric_name(name);
        if let Some(info) = self.catalog.get(name)
            && !info.contains(value)
        {
            problems.at(
                Some(field),
                format!(
                    "value {value} is outside the range of {name}, {}",
                    info.range_text()
                ),
            );
            return None;
        }
        Some((name.to_string(), value))
    }
}

/// Sorts, checks uniqueness (after aliasing) and adds the derived macro score.
fn finish_metrics(
    mut metrics: Vec<(String, f64)>,
    problems: &mut Problems<'_, '_>,
) -> Option<Vec<(String, f64)>> {
    metrics.sort_by(|a, b| a.0.cmp(&b.0));
    let mut ok = true;
    for pair in metrics.windows(2) {
        if pair[0].0 == pair[1].0 {
            let name = &pair[0].0;
            let hint = if name == "f1" {
                " (f1_score is an alias of f1)"
            } else {
                ""
            };
            problems.at(
                Some(&format!("metrics.{name}")),
                format!("given more than once{hint}"),
            );
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    let lookup = |name: &str| {
        metrics
            .binary_search_by(|(metric, _)| metric.as_str().cmp(name))
            .ok()
            .map(|index| metrics[index].1)
    };
    let parts = MACRO_SCORE_PARTS.map(lookup);
    if let [Some(accuracy), Some(precision), Some(recall), Some(f1)] = parts {
        let macro_score = (accuracy + precision + recall + f1) / 4.0;
        let at = metrics.partition_point(|(name, _)| name.as_str() < MACRO_SCORE);
        metrics.insert(at, (MACRO_SCORE.to_string(), macro_score));
    }
    Some(metrics)
}

fn read_model(raw: &RawValue, problems: &mut Problems<'_, '_>) -> Option<ModelId> {
    let fields = problems.object(raw, Some("model"))?;
    let (mut name, mut version, mut instance) = (None, None, None);
    let mut ok = true;
    let (mut has_name, mut has_version) = (false, false);
    for (key, raw) in fields {
        has_name |= key == "name";
        has_version |= key == "version";
        let (slot, field) = match key.as_ref() {
            "name" => (&mut name, "model.name"),
            "version" => (&mut version, "model.version"),
            "instance" => (&mut instance, "model.instance"),
            other => {
                problems.at(
                    Some(&format!("model.{other}")),
                    "unknown field; a model has name, version and instance".to_string(),
                );
                ok = false;
                continue;
            }
        };
        let text = read_identifier(raw, field, problems);
        ok &= problems.fill(slot, text, field);
    }
    if !has_name {
        problems.at(
            Some("model.name"),
            "missing; the model needs a name".to_string(),
        );
        ok = false;
    }
    if !has_version {
        problems.at(
            Some("model.version"),
            "missing; the model needs a version".to_string(),
        );
        ok = false;
    }
    if !ok {
        return None;
    }
    Some(ModelId {
        name: name?,
        version: version?,
        instance: instance.unwrap_or_else(|| DEFAULT_INSTANCE.to_string()),
    })
}

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

fn read_identifier(raw: &RawValue, field: &str, problems: &mut Problems<'_, '_>) -> Option<String> {
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
fn read_timestamp(
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

fn read_job(
    raw: &RawValue,
    timestamp: Option<Timestamp>,
    problems: &mut Problems<'_, '_>,
) -> Option<JobFinished> {
    let fields = problems.object(raw, Some("job_finished"))?;
    let (mut model, mut job_id, mut status, mut version) = (None, None, None, None);
    let mut ok = true;
    for (key, raw) in fields {
        let field = format!("job_finished.{key}");
        let slot = match key.as_ref() {
            "model" => &mut model,
            "job_id" => &mut job_id,
            "status" => &mut status,
            "version" => &mut version,
            _ => {
                problems.at(
                    Some(&field),
                    "unknown field; job_finished has model, job_id, status and version".to_string(),
                );
                ok = false;
                continue;
            }
        };
        let text = if key == "job_id" || key == "status" {
            problems.string(raw, &field).map(Cow::into_owned)
        } else {
            read_identifier(raw, &field, problems)
        };
        ok &= problems.fill(slot, text, &field);
    }
    if model.is_none() {
        problems.at(
            Some("job_finished.model"),
            "missing; name the model whose job ended".to_string(),
        );
        ok = false;
    }
    let status = match status.as_deref() {
        None => {
            problems.at(
                Some("job_finished.status"),
                "missing; one of succeeded, failed, timed_out, cancelled".to_string(),
            );
            None
        }
        Some(text) => {
            let status = JobStatus::from_name(text);
            if status.is_none() {
                problems.at(
                    Some("job_finished.status"),
                    format!(
                        "{} is not one of succeeded, failed, timed_out, cancelled",
                        quoted(text)
                    ),
                );
            }
            status
        }
    };
    if let Some(id) = &job_id
        && (id.is_empty() || id.len() > MAX_ID_LEN)
    {
        problems.at(
            Some("job_finished.job_id"),
            format!("must be 1 to {MAX_ID_LEN} bytes long"),
        );
        ok = false;
    }
    if !ok {
        return None;
    }
    Some(JobFinished {
        model: model?,
        job_id,
        status: status?,
        version,
        timestamp,
    })
}

/// The longest reason a retrain request may give, in bytes.
pub const MAX_REASON_LEN: usize = 1024;

fn read_retrain_request(
    raw: &RawValue,
    timestamp: Option<Timestamp>,
    problems: &mut Problems<'_, '_>,
) -> Option<RetrainRequest> {
    let fields = problems.object(raw, Some("retrain_request"))?;
    let (mut model, mut reason) = (None, None);
    let (mut ok, mut model_given) = (true, false);
    for (key, raw) in fields {
        let field = format!("retrain_request.{key}");
        model_given |= key == "model";
        let (slot, text) = match key.as_ref() {
            "model" => (&mut model, read_identifier(raw, &field, problems)),
            "reason" => (&mut reason, read_reason(raw, &field, problems)),
            _ => {
                problems.at(
                    Some(&field),
                    "unknown field; retrain_request has model and reason".to_string(),
                );
                ok = false;
                continue;
            }
        };
        ok &= problems.fill(slot, text, &field);
    }
    if !model_given {
        problems.at(
            Some("retrain_request.model"),
            "missing; name the model to retrain".to_string(),
        );
        ok = false;
    }
    if !ok {
        return None;
    }
    Some(RetrainRequest {
        model: model?,
        reason,
        timestamp,
    })
}

/// A retrain request's reason: free text, 1 to [`MAX_REASON_LEN`] bytes, no control
/// characters but tabs.
fn read_reason(raw: &RawValue, field: &str, problems: &mut Problems<'_, '_>) -> Option<String> {
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
struct Problems<'d, 't> {
    document: &'d Document<'t>,
    errors: Vec<InputError>,
}

impl Problems<'_, '_> {
    fn at(&mut self, field: Option<&str>, message: String) {
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
    fn fill(&mut self, slot: &mut Option<String>, value: Option<String>, field: &str) -> bool {
        let Some(value) = value else {
            return false;
        };
        if slot.replace(value).is_some() {
            self.at(Some(field), "field appears more than once".to_string());
            return false;
        }
        true
    }

    fn object<'r>(&mut self, raw: &'r RawValue, field: Option<&str>) -> Option<Fields<'r>> {
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

    fn string<'r>(&mut self, raw: &'r RawValue, field: &str) -> Option<Cow<'r, str>> {
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

    fn number(&mut self, raw: &RawValue, field: &str) -> Option<f64> {
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
struct Fields<'r>(Vec<(Cow<'r, str>, &'r RawValue)>);

impl<'r> IntoIterator for Fields<'r> {
    type Item = (Cow<'r, str>, &'r RawValue);
    type IntoIter = std::vec::IntoIter<(Cow<'r, str>, &'r RawValue)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Fields<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
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
        let message = error.to_string();
        let message = match message.rfind(" at line ") {
            Some(at) => message[..at].to_string(),
            None => message,
        };
        InputError {
            index: None,
            line,
            column: Some(column),
            field: None,
            message: format!("invalid JSON: {message}"),
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

#[cfg(test)]
mod tests;
