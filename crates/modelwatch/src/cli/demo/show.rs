//! How the demo shows the service's answers in its lines: fields of JSON answers, versions
//! and their statuses, numbers, event times and how long a job ran.

use modelwatch_engine::Timestamp;
use serde_json::Value;

use super::stream;

/// A string field of a JSON answer, or `?`.
pub(super) fn text<'v>(value: &'v Value, key: &str) -> &'v str {
    value[key].as_str().unwrap_or("?")
}

pub(super) fn find_version<'v>(versions: &'v Value, version: &str) -> Option<&'v Value> {
    versions["versions"]
        .as_array()?
        .iter()
        .find(|found| found["version"] == version)
}

/// The other versions and their statuses: `1.0.0 production`.
pub(super) fn statuses(versions: &Value, except: &str) -> String {
    let others: Vec<String> = versions["versions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|version| version["version"] != except)
        .map(|version| format!("{} {}", text(version, "version"), text(version, "status")))
        .collect();
    others.join(", ")
}

/// A JSON number to four places, or `?`.
pub(super) fn number(value: &Value) -> String {
    value
        .as_f64()
        .map_or_else(|| "?".to_string(), |value| format!("{value:.4}"))
}

/// `08:00-08:04`: the event times the points span.
pub(super) fn minutes(points: &[stream::Point]) -> String {
    match (points.first(), points.last()) {
        (Some(first), Some(last)) => format!(
            "{}-{}",
            stream::clock_time(first.at),
            stream::clock_time(last.at)
        ),
        _ => String::new(),
    }
}

/// How long a job ran, from its start to its end: `0.04 s`.
pub(super) fn took(job: &Value) -> String {
    let at = |key: &str| {
        job[key]
            .as_str()
            .and_then(|t| Timestamp::parse_rfc3339(t).ok())
    };
    match (at("started_at"), at("finished_at")) {
        (Some(start), Some(end)) => format!(
            "ran {:.2} s",
            (end.as_nanos() - start.as_nanos()) as f64 / 1e9
        ),
        _ => "ran ? s".to_string(),
    }
}

/// `08:00-08:09`: the minutes from `from` up to `to` (excluded).
pub(super) fn span(from: Timestamp, to: Timestamp) -> String {
    let last = Timestamp::from_nanos(
        to.as_nanos()
            .saturating_sub(60_000_000_000)
            .max(from.as_nanos()),
    );
    format!("{}-{}", stream::clock_time(from), stream::clock_time(last))
}

/// Values to three places, space-separated, or `-` when there are none.
pub(super) fn values(values: &[f64]) -> String {
    if values.is_empty() {
        return "-".to_string();
    }
    let shown: Vec<String> = values.iter().map(|value| format!("{value:.3}")).collect();
    shown.join(" ")
}
