//! Rules: what a valid field value is, one function per rule, applied to values both by the
//! readers (values read from text) and by the checked constructors (values built in code), so
//! the two cannot disagree.

use super::fields::Problems;
use crate::metric::{
    MACRO_SCORE, MACRO_SCORE_PARTS, MetricCatalog, canonical_metric_name, check_metric_name, quoted,
};

/// The longest model name, version, instance or job id accepted, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// The longest reason a retrain request may give, in bytes.
pub const MAX_REASON_LEN: usize = 1024;

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

/// Checks a job id: any text of 1 to [`MAX_ID_LEN`] bytes.
///
/// # Errors
///
/// A sentence saying what is wrong.
pub fn check_job_id(text: &str) -> Result<(), String> {
    if text.is_empty() || text.len() > MAX_ID_LEN {
        return Err(format!("must be 1 to {MAX_ID_LEN} bytes long"));
    }
    Ok(())
}

/// Checks a retrain request's reason: free text, 1 to [`MAX_REASON_LEN`] bytes, no control
/// characters but tabs (a line break would break the one-line forms it is written in).
///
/// # Errors
///
/// A sentence saying what is wrong.
pub fn check_reason(text: &str) -> Result<(), String> {
    if text.is_empty() || text.len() > MAX_REASON_LEN {
        return Err(format!("must be 1 to {MAX_REASON_LEN} bytes long"));
    }
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err("must not contain control characters such as line breaks".to_string());
    }
    Ok(())
}

/// Checks the name of a metric as a sender gives it: `[a-z][a-z0-9_]{0,63}`, and not the
/// derived `macro_score`. Aliases (`f1_score`) pass; [`metric_entry`] names them canonically.
pub(super) fn check_sent_metric_name(name: &str) -> Result<(), String> {
    check_metric_name(name)?;
    if name == MACRO_SCORE {
        return Err(
            "macro_score is derived from accuracy, precision, recall and f1 and cannot be sent"
                .to_string(),
        );
    }
    Ok(())
}

/// A metric's value as `catalog` allows it: finite, and inside the range of `name` (canonical)
/// if the catalogue knows the metric.
fn check_metric_value(catalog: &MetricCatalog, name: &str, value: f64) -> Result<(), String> {
    if !value.is_finite() {
        return Err(format!("{value} is not a finite 64-bit number"));
    }
    match catalog.get(name) {
        Some(info) if !info.contains(value) => Err(format!(
            "value {value} is outside the range of {name}, {}",
            info.range_text()
        )),
        _ => Ok(()),
    }
}

/// One metric of an event, its name checked ([`check_sent_metric_name`]) before: the entry
/// under the canonical name, or `None` with the problem noted at `field`.
pub(super) fn metric_entry(
    catalog: &MetricCatalog,
    name: &str,
    value: f64,
    field: &str,
    problems: &mut Problems,
) -> Option<(String, f64)> {
    let name = canonical_metric_name(name);
    if !problems.check(field, check_metric_value(catalog, name, value)) {
        return None;
    }
    Some((name.to_string(), value))
}

/// An event's metrics as the engine keeps them: sorted by name, each once (after aliasing),
/// with the derived macro score when the event has all of its parts. A repeated metric is a
/// problem, noted at its field.
pub(super) fn finish_metrics(
    mut metrics: Vec<(String, f64)>,
    problems: &mut Problems,
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
