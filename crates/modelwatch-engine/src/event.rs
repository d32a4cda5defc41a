//! The engine's inputs: metric events from model servers, job-finished notices, manual
//! retrain requests, and (in `traffic.rs`) predictions and labels.
//!
//! These are validated values: the wire parser (`wire/`) is the only way in from text, and
//! code that builds an input uses the checked constructors ([`Event::new`],
//! [`JobFinished::new`], [`RetrainRequest::new`]) or [`Input::check`], which apply the same
//! rules (`wire/rules.rs`). The fields are public for reading; an input built from them
//! unchecked may be one the store cannot read back.

use std::fmt;

use chrono::{DateTime, SecondsFormat};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::reference::ReferenceUpload;
use crate::traffic::{Label, Prediction};

/// A model, one of its versions and one instance of that version (canary, A/B replica, ...).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct ModelId {
    /// The model's name, `fraud-detector`.
    pub name: String,
    /// The version the instance serves, `1.4.0`.
    pub version: String,
    /// The instance, `canary-0`; `default` when the event names none.
    pub instance: String,
}

/// The instance name used when an event does not give one.
pub const DEFAULT_INSTANCE: &str = "default";

impl ModelId {
    /// Builds a model id from its three parts.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        instance: impl Into<String>,
    ) -> ModelId {
        ModelId {
            name: name.into(),
            version: version.into(),
            instance: instance.into(),
        }
    }
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}/{}", self.name, self.version, self.instance)
    }
}

/// A point in event time: nanoseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The Unix epoch, the time of an event stream that has carried no timestamp yet.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// A timestamp from nanoseconds since the epoch.
    pub const fn from_nanos(nanos: i64) -> Timestamp {
        Timestamp(nanos)
    }

    /// A timestamp from whole seconds since the epoch, saturating at the ends of the range.
    pub const fn from_secs(secs: i64) -> Timestamp {
        Timestamp(secs.saturating_mul(1_000_000_000))
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// This time plus `secs` seconds, saturating.
    pub const fn plus_secs(self, secs: u64) -> Timestamp {
        let secs = if secs > i64::MAX as u64 {
            i64::MAX
        } else {
            secs as i64
        };
        let nanos = secs.saturating_mul(1_000_000_000);
        Timestamp(self.0.saturating_add(nanos))
    }

    /// Parses an RFC 3339 timestamp such as `2026-11-22T08:00:00Z` or `2026-11-22T09:00:00.5+01:00`.
    ///
    /// # Errors
    ///
    /// Returns a message when the text is not RFC 3339 or lies outside 1970-01-01 .. 2262-04-11.
    pub fn parse_rfc3339(text: &str) -> Result<Timestamp, String> {
        let parsed = DateTime::parse_from_rfc3339(text).map_err(|error| {
            format!(
                "{} is not an RFC 3339 timestamp such as \"2026-11-22T08:00:00Z\" ({error})",
                crate::metric::quoted(text)
            )
        })?;
        match parsed.timestamp_nanos_opt() {
            Some(nanos) if Timestamp(nanos).is_supported() => Ok(Timestamp(nanos)),
            _ => Err(outside_supported_range(text)),
        }
    }

    /// Whether the timestamp is one the wire format takes: from the epoch on. (Every `i64` of
    /// nanoseconds is before the end of the range.)
    const fn is_supported(self) -> bool {
        self.0 >= 0
    }

    /// Checks that the timestamp is one the wire format takes, so that its RFC 3339 form
    /// reads back as the same timestamp: from 1970-01-01T00:00:00Z on.
    ///
    /// # Errors
    ///
    /// The sentence [`Timestamp::parse_rfc3339`] gives for the same time written out.
    pub fn check_supported(self) -> Result<(), String> {
        if self.is_supported() {
            Ok(())
        } else {
            Err(outside_supported_range(&self.to_rfc3339()))
        }
    }

    /// The timestamp in RFC 3339, UTC, with as many fractional digits as it needs.
    pub fn to_rfc3339(self) -> String {
        DateTime::from_timestamp_nanos(self.0).to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }
}

fn outside_supported_range(text: &str) -> String {
    format!(
        "{} is outside the supported range 1970-01-01T00:00:00Z .. 2262-04-11T23:47:16Z",
        crate::metric::quoted(text)
    )
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

/// One validated metric event: a model instance's metric values at one time.
///
/// Metrics are sorted by name and unique, and include the derived `macro_score` when the
/// event has accuracy, precision, recall and f1. So two events that differ only in the
/// order of their JSON keys are the same event.
///
/// Every code path that builds an event uses [`Event::new`] (or checks it with
/// [`Input::check`]): the store reads inputs back with the wire parser, which holds them to
/// the same rules.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    /// Which model instance reported.
    pub model: ModelId,
    /// When; `None` means "now" for whoever ingests it (the receive time in a server, the
    /// latest time seen in a replay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    /// The values, sorted by metric name.
    #[serde(serialize_with = "serialize_metrics")]
    pub metrics: Vec<(String, f64)>,
}

fn serialize_metrics<S: Serializer>(
    metrics: &[(String, f64)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(metrics.len()))?;
    for (name, value) in metrics {
        map.serialize_entry(name, value)?;
    }
    map.end()
}

impl Event {
    /// The event's value of `metric`, if it has one.
    pub fn metric(&self, metric: &str) -> Option<f64> {
        self.metrics
            .binary_search_by(|(name, _)| name.as_str().cmp(metric))
            .ok()
            .map(|index| self.metrics[index].1)
    }
}

/// How a retraining job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// The job produced a new version.
    Succeeded,
    /// The job failed.
    Failed,
    /// The job ran past its time limit.
    TimedOut,
    /// Somebody cancelled the job.
    Cancelled,
}

impl JobStatus {
    /// Every status, in the order documented.
    pub const ALL: [JobStatus; 4] = [
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::TimedOut,
        JobStatus::Cancelled,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::TimedOut => "timed_out",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// Parses the wire spelling.
    pub fn from_name(name: &str) -> Option<JobStatus> {
        JobStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == name)
    }
}

/// A retraining job of a model has ended; this lifts the model's single-flight hold.
///
/// Every code path that builds a notice uses [`JobFinished::new`] (or checks it with
/// [`Input::check`]): the store reads inputs back with the wire parser, which holds them to
/// the same rules.
#[derive(Clone, Debug, PartialEq)]
pub struct JobFinished {
    /// The model that was retrained (by name).
    pub model: String,
    /// The job, as named by the granted retrain decision; `None` ends whatever job is running.
    pub job_id: Option<String>,
    /// How it ended.
    pub status: JobStatus,
    /// The version it produced, if any.
    pub version: Option<String>,
    /// When it ended; `None` as for events.
    pub timestamp: Option<Timestamp>,
}

/// Somebody asked for a retrain of a model (`POST /v1/models/{name}/retrain`, or a replay
/// file). Granted unless a job of the model is outstanding; the cooldown does not hold it back
/// (but a grant starts a new one).
///
/// Every code path that builds a request uses [`RetrainRequest::new`] (or checks it with
/// [`Input::check`]): the store reads inputs back with the wire parser, which holds them to
/// the same rules (a reason over 1,024 bytes or with a line break would make the store
/// unreadable).
#[derive(Clone, Debug, PartialEq)]
pub struct RetrainRequest {
    /// The model to retrain (by name).
    pub model: String,
    /// Why, in the asker's words.
    pub reason: Option<String>,
    /// When it was asked; `None` as for events.
    pub timestamp: Option<Timestamp>,
}

/// One input of the engine, in stream order.
///
/// Serialized, an input is its wire form: an event object,
/// `{"job_finished": {"model": ..., "job_id": ..., "status": ..., "version": ...}, "timestamp": ...}`
/// `{"retrain_request": {"model": ..., "reason": ...}, "timestamp": ...}`, a prediction or a
/// label (`traffic.rs`), `{"reference": {"model": ..., "columns": {...}}, "timestamp": ...}`
/// (`reference.rs`).
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// Metric values of one model instance.
    Event(Event),
    /// A retraining job ended.
    JobFinished(JobFinished),
    /// A retrain was asked for by hand.
    RetrainRequest(RetrainRequest),
    /// A prediction a model served.
    Prediction(Prediction),
    /// The true value of an earlier prediction.
    Label(Label),
    /// A drift reference uploaded for a model (`reference.rs`).
    Reference(ReferenceUpload),
}

/// `{"<key>": body, "timestamp": ...}`: a special input as the wire format spells it, the
/// timestamp only when it has one.
fn tagged<S: Serializer>(
    serializer: S,
    key: &str,
    body: &impl Serialize,
    timestamp: Option<Timestamp>,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(None)?;
    map.serialize_entry(key, body)?;
    if let Some(timestamp) = timestamp {
        map.serialize_entry("timestamp", &timestamp)?;
    }
    map.end()
}

impl Serialize for Input {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Input::Event(event) => event.serialize(serializer),
            Input::JobFinished(job) => {
                #[derive(Serialize)]
                struct Notice<'a> {
                    model: &'a str,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    job_id: Option<&'a str>,
                    status: JobStatus,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    version: Option<&'a str>,
                }
                let notice = Notice {
                    model: &job.model,
                    job_id: job.job_id.as_deref(),
                    status: job.status,
                    version: job.version.as_deref(),
                };
                tagged(serializer, "job_finished", &notice, job.timestamp)
            }
            Input::Prediction(prediction) => prediction.serialize(serializer),
            Input::Label(label) => label.serialize(serializer),
            Input::Reference(upload) => tagged(serializer, "reference", upload, upload.timestamp),
            Input::RetrainRequest(request) => {
                #[derive(Serialize)]
                struct Request<'a> {
                    model: &'a str,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    reason: Option<&'a str>,
                }
                let body = Request {
                    model: &request.model,
                    reason: request.reason.as_deref(),
                };
                tagged(serializer, "retrain_request", &body, request.timestamp)
            }
        }
    }
}

impl Input {
    /// The model (by name) the input is about.
    pub fn model_name(&self) -> &str {
        match self {
            Input::Event(event) => &event.model.name,
            Input::JobFinished(job) => &job.model,
            Input::RetrainRequest(request) => &request.model,
            Input::Prediction(prediction) => &prediction.model.name,
            Input::Label(label) => &label.model,
            Input::Reference(upload) => &upload.model,
        }
    }

    /// The input's own timestamp, if it carries one.
    pub fn timestamp(&self) -> Option<Timestamp> {
        match self {
            Input::Event(event) => event.timestamp,
            Input::JobFinished(job) => job.timestamp,
            Input::RetrainRequest(request) => request.timestamp,
            Input::Prediction(prediction) => prediction.timestamp,
            Input::Label(label) => label.timestamp,
            Input::Reference(upload) => upload.timestamp,
        }
    }

    /// Gives the input a timestamp if it has none.
    pub fn stamp_if_missing(&mut self, now: Timestamp) {
        let slot = match self {
            Input::Event(event) => &mut event.timestamp,
            Input::JobFinished(job) => &mut job.timestamp,
            Input::RetrainRequest(request) => &mut request.timestamp,
            Input::Prediction(prediction) => &mut prediction.timestamp,
            Input::Label(label) => &mut label.timestamp,
            Input::Reference(upload) => &mut upload.timestamp,
        };
        if slot.is_none() {
            *slot = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_in_utc() {
        let ts = Timestamp::parse_rfc3339("2026-11-22T09:00:00.25+01:00").unwrap();
        assert_eq!(ts.to_rfc3339(), "2026-11-22T08:00:00.250Z");
        let whole = Timestamp::parse_rfc3339("2026-11-22T08:00:00Z").unwrap();
        assert_eq!(whole.to_rfc3339(), "2026-11-22T08:00:00Z");
        assert_eq!(whole.plus_secs(3600).to_rfc3339(), "2026-11-22T09:00:00Z");
    }

    #[test]
    fn adding_seconds_saturates_instead_of_wrapping() {
        let end = Timestamp::from_nanos(i64::MAX);
        assert_eq!(Timestamp::EPOCH.plus_secs(u64::MAX), end);
        assert_eq!(Timestamp::EPOCH.plus_secs(1 << 63), end);
        assert_eq!(Timestamp::EPOCH.plus_secs(i64::MAX as u64), end);
        assert_eq!(Timestamp::from_secs(-5).plus_secs(5), Timestamp::EPOCH);
    }

    #[test]
    fn timestamps_outside_range_are_rejected() {
        assert!(
            Timestamp::parse_rfc3339("1969-12-31T23:59:59Z")
                .unwrap_err()
                .contains("outside")
        );
        assert!(
            Timestamp::parse_rfc3339("2300-01-01T00:00:00Z")
                .unwrap_err()
                .contains("outside")
        );
        assert!(
            Timestamp::parse_rfc3339("yesterday")
                .unwrap_err()
                .contains("RFC 3339")
        );
        assert!(Timestamp::parse_rfc3339("2026-13-01T00:00:00Z").is_err());
    }

    #[test]
    fn event_metric_lookup() {
        let event = Event {
            model: ModelId::new("m", "1", DEFAULT_INSTANCE),
            timestamp: None,
            metrics: vec![("accuracy".into(), 0.9), ("latency_ms".into(), 12.0)],
        };
        assert_eq!(event.metric("latency_ms"), Some(12.0));
        assert_eq!(event.metric("recall"), None);
    }
}
