//! The engine's outputs: alert transitions, retrain decisions, job notices, canary verdicts
//! and quality computed from predictions and labels.
//!
//! Every output has a stable id derived from what it is about and the sequence number of
//! the input that caused it, so replaying the same inputs gives the same ids.

use std::sync::Arc;

use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::canary::{Judgement, Verdict};
use crate::config::Severity;
use crate::event::{JobStatus, ModelId, Timestamp};
use crate::quality::DriftReport;

/// One thing the engine decided, in stream order.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Output {
    /// An alert changed state.
    Alert(AlertEvent),
    /// A retrain was asked for: granted, suppressed or withdrawn.
    Retrain(RetrainDecision),
    /// A retraining job ended.
    JobFinished(JobNotice),
    /// A canary rule's verdict on a candidate version changed.
    Canary(CanaryVerdict),
    /// Quality computed from predictions and labels: a window's realized or estimated
    /// metrics, or its label coverage. Its metrics are points of the model instance's series,
    /// evaluated by the rules as pushed values are.
    Quality(QualityPoint),
}

impl Output {
    /// The output's id.
    pub fn id(&self) -> &str {
        match self {
            Output::Alert(alert) => &alert.id,
            Output::Retrain(decision) => &decision.id,
            Output::JobFinished(notice) => &notice.id,
            Output::Canary(verdict) => &verdict.id,
            Output::Quality(point) => &point.id,
        }
    }

    /// The sequence number of the input that caused it.
    pub fn seq(&self) -> u64 {
        match self {
            Output::Alert(alert) => alert.seq,
            Output::Retrain(decision) => decision.seq,
            Output::JobFinished(notice) => notice.seq,
            Output::Canary(verdict) => verdict.seq,
            Output::Quality(point) => point.seq,
        }
    }

    /// The event time it happened at.
    pub fn at(&self) -> Timestamp {
        match self {
            Output::Alert(alert) => alert.at,
            Output::Retrain(decision) => decision.at,
            Output::JobFinished(notice) => notice.at,
            Output::Canary(verdict) => verdict.at,
            Output::Quality(point) => point.at,
        }
    }

    /// The human sentence.
    pub fn message(&self) -> &str {
        match self {
            Output::Alert(alert) => &alert.message,
            Output::Retrain(decision) => &decision.message,
            Output::JobFinished(notice) => &notice.message,
            Output::Canary(verdict) => &verdict.message,
            Output::Quality(point) => &point.message,
        }
    }
}

/// Where a [`QualityPoint`]'s values come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QualitySource {
    /// A window of labeled predictions: the metrics scikit-learn computes on it.
    Realized,
    /// A window of predictions before their labels: CBPE's estimates (binary models).
    Estimated,
    /// The labeled share of the predictions resolved (labeled, or past the label horizon).
    Coverage,
    /// A window of predictions' features and outputs against the version's reference.
    Drift,
}

impl QualitySource {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            QualitySource::Realized => "realized",
            QualitySource::Estimated => "estimated",
            QualitySource::Coverage => "coverage",
            QualitySource::Drift => "drift",
        }
    }
}

/// Quality computed for one model instance at one input.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QualityPoint {
    /// Derived from the input's sequence number, the instance and the source.
    pub id: String,
    /// The input that completed the window.
    pub seq: u64,
    /// Its event time: the time of the metrics' points.
    pub at: Timestamp,
    /// The model instance.
    pub model: ModelId,
    /// Realized, estimated or coverage.
    pub source: QualitySource,
    /// The predictions the values are over.
    pub rows: u32,
    /// The values, sorted by metric name; a metric undefined on the window is absent.
    #[serde(serialize_with = "serialize_values")]
    pub metrics: Vec<(String, f64)>,
    /// The human sentence.
    pub message: String,
    /// A drift point's column-by-column report, which `data_drift` rules read (not written
    /// out: its values and sentence are).
    #[serde(skip)]
    pub drift: Option<Arc<DriftReport>>,
}

fn serialize_values<S: Serializer>(
    values: &[(String, f64)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    crate::traffic::serialize_pairs(values, serializer)
}

/// The state an alert moved to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// The condition holds, but not yet for `for` points.
    Pending,
    /// The condition held for `for` points.
    Firing,
    /// A firing alert's condition cleared (at the `resolve` bound, if set), or a warning cleared.
    Resolved,
    /// A pending alert's condition cleared before it fired.
    Inactive,
    /// A change detector found a change point (one-off).
    Drift,
    /// A change detector warns that a change may be coming.
    Warning,
}

impl AlertState {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
            AlertState::Inactive => "inactive",
            AlertState::Drift => "drift",
            AlertState::Warning => "warning",
        }
    }
}

/// Why an alert moved: the detector, its statistic, the bound and the points seen.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    /// The detector kind ([`modelwatch_detectors::DetectorKind::as_str`]), or `data_drift` for a data-drift rule.
    pub detector: &'static str,
    /// The statistic's name: `value`, `ema`, `window_mean`, `page_hinkley_down`, ...
    pub statistic: &'static str,
    /// The statistic's value at this point.
    pub value: f64,
    /// The bound it was compared with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound: Option<f64>,
    /// How value and bound relate: `below`, `above`, `at_or_above`, `at_or_below`, `exceeds`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<&'static str>,
    /// Points the detector has seen since it started (or last reset).
    pub points: u64,
    /// Consecutive points the condition has held (state detectors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<u32>,
    /// Points the condition must hold before firing (state detectors).
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_points: Option<u32>,
    /// A data-drift rule's window: the column, method, rows and options behind the score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<Box<DriftExplanation>>,
}

/// What a data-drift alert's score was computed on. For a column, `value` and `bound` of the
/// [`Explanation`] are its score and threshold; for the dataset, the share of drifted columns
/// and `drift_share`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DriftExplanation {
    /// The column, absent for the dataset decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// `numerical` or `categorical` (a column).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column_type: Option<&'static str>,
    /// The method's name (a column).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<&'static str>,
    /// Whether the method was Evidently's automatic choice rather than named in the config
    /// (a column).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automatic: Option<bool>,
    /// Rows in the reference.
    pub reference_rows: u32,
    /// Rows in the window.
    pub window_rows: u32,
    /// Present values of the column in the reference (a column).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_values: Option<u32>,
    /// Present values of the column in the window (a column).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_values: Option<u32>,
    /// Drifted columns (the dataset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drifted_columns: Option<u32>,
    /// Scored columns (the dataset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns_total: Option<u32>,
    /// The options beyond Evidently that applied to this score, in words (`drift_calibrate`,
    /// `drift_correction`, `drift_min_samples`); empty when Evidently's numbers were used
    /// unchanged.
    pub options: Vec<String>,
}

/// An alert's transition.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertEvent {
    /// This transition's id.
    pub id: String,
    /// The alert's id, shared by every transition of one alert (pending, firing, resolved).
    pub alert_id: String,
    /// Sequence number of the input that caused it.
    pub seq: u64,
    /// Event time of that input.
    pub at: Timestamp,
    /// The new state.
    pub state: AlertState,
    /// The rule.
    pub rule: Arc<str>,
    /// The rule's severity.
    pub severity: Severity,
    /// The model instance.
    pub model: ModelId,
    /// The metric.
    pub metric: String,
    /// Why.
    pub explanation: Explanation,
    /// The rule's actions that this transition triggers (none when muted).
    pub actions: Vec<&'static str>,
    /// The notifiers (by name) the rule tells of its transitions, in the rule's order; none
    /// when muted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<Arc<str>>,
    /// The retrain job of the model that was outstanding when this transition happened, which
    /// mutes it: it is recorded but asks for nothing (see [`crate::RetrainPolicy`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub muted_by: Option<String>,
    /// One sentence for people.
    pub message: String,
}

impl AlertEvent {
    /// Whether this transition asks for a retrain.
    pub fn requests_retrain(&self) -> bool {
        self.actions.contains(&"retrain")
    }

    /// Whether a retrain job of the model mutes a transition to this state: pending, firing,
    /// drift and warning announce something; resolved and inactive close what was announced
    /// and are never muted.
    pub fn mutable(&self) -> bool {
        matches!(
            self.state,
            AlertState::Pending | AlertState::Firing | AlertState::Drift | AlertState::Warning
        )
    }
}

/// What became of a retrain request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// A job may start; its id is the decision's id.
    Granted,
    /// Not now: a job is running, or the cooldown has not passed.
    Suppressed,
    /// A request deferred by the cooldown is dropped: its alert resolved first.
    Withdrawn,
    /// The model has no trainer (no `[[trainers]]` entry matches it): a retrain is
    /// recommended, for people or tools that read the decisions, but no job is opened and
    /// nothing is muted. The reason is what a grant's would be.
    Recommended,
}

impl Decision {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Granted => "granted",
            Decision::Suppressed => "suppressed",
            Decision::Withdrawn => "withdrawn",
            Decision::Recommended => "recommended",
        }
    }
}

/// Why a retrain decision went the way it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Granted or recommended: an alert with a retrain action fired.
    AlertFiring,
    /// Granted or recommended: a change detector with a retrain action found a change.
    ChangeDetected,
    /// Granted or recommended: a warning-capable detector with `retrain_on_warning` entered
    /// its warning zone.
    WarningDetected,
    /// Granted or recommended: a request held back by the cooldown, whose alert is still
    /// firing.
    CooldownEnded,
    /// Granted or recommended: somebody asked for it (a retrain request input); the cooldown
    /// does not apply.
    Manual,
    /// Suppressed: a job of this model is outstanding (single flight).
    InFlight,
    /// Suppressed: the model's cooldown has not passed; retried at `retry_at`.
    Cooldown,
    /// Withdrawn: the alert resolved before the cooldown ended.
    AlertResolved,
}

impl Reason {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::AlertFiring => "alert_firing",
            Reason::ChangeDetected => "change_detected",
            Reason::WarningDetected => "warning_detected",
            Reason::CooldownEnded => "cooldown_ended",
            Reason::Manual => "manual",
            Reason::InFlight => "in_flight",
            Reason::Cooldown => "cooldown",
            Reason::AlertResolved => "alert_resolved",
        }
    }
}

/// A retrain decision for one model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RetrainDecision {
    /// The decision's id; for a granted decision also the job's id.
    pub id: String,
    /// Sequence number of the input that caused it.
    pub seq: u64,
    /// Event time of the decision.
    pub at: Timestamp,
    /// The model (by name).
    pub model: String,
    /// Granted, recommended (no trainer), suppressed or withdrawn.
    pub decision: Decision,
    /// Why.
    pub reason: Reason,
    /// The job: the new one when granted, the outstanding one when suppressed for single flight;
    /// none when recommended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// When a cooldown-suppressed request is looked at again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<Timestamp>,
    /// The alert that asked; `None` for a manual request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<String>,
    /// The rule that asked; `None` for a manual request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<Arc<str>>,
    /// One sentence for people.
    pub message: String,
}

/// The record of a job-finished input.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobNotice {
    /// The notice's id.
    pub id: String,
    /// Sequence number of the job-finished input.
    pub seq: u64,
    /// Its event time.
    pub at: Timestamp,
    /// The model.
    pub model: String,
    /// The job named by the input, if it named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// How the job ended.
    pub status: JobStatus,
    /// The version it produced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Whether it ended the model's outstanding job (and so lifted single flight).
    pub ended_outstanding: bool,
    /// One sentence for people.
    pub message: String,
}

/// A canary rule's verdict on a candidate version: emitted when it differs from the last one
/// emitted for that version (see `docs/config.md`, Canary rules). Never muted.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CanaryVerdict {
    /// The verdict's id.
    pub id: String,
    /// Sequence number of the input whose candidate point triggered the judgement.
    pub seq: u64,
    /// Event time of that input.
    pub at: Timestamp,
    /// The canary rule.
    pub rule: Arc<str>,
    /// The rule's severity for a fail; `info` for a pass.
    pub severity: Severity,
    /// The candidate: the model instance whose point triggered the judgement (its version is
    /// the one judged; the candidate's window pools every instance of it the rule selects).
    pub model: ModelId,
    /// Which series formed the baseline, in words (`instance stable-*`).
    pub baseline: String,
    /// The metric compared.
    pub metric: String,
    /// Pass or fail (a not-enough-data judgement is never emitted by the engine).
    pub verdict: Verdict,
    /// The numbers behind it.
    pub judgement: Judgement,
    /// What the verdict triggers: `rollback` on a fail, `promote` on a pass, when the rule has
    /// them.
    pub actions: Vec<&'static str>,
    /// The notifiers (by name) the rule tells of its verdicts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<Arc<str>>,
    /// One sentence for people.
    pub message: String,
}

/// A 128-bit id (32 lowercase hex digits) from the SHA-256 of the parts, length-prefixed so
/// that different part lists never collide by concatenation.
pub fn stable_id(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut id = String::with_capacity(32);
    for byte in &digest[..16] {
        id.push(char::from(HEX[usize::from(byte >> 4)]));
        id.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    id
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The first eight characters of an id, as messages show it.
pub fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// Formats a number with six significant digits and no trailing zeros, for messages.
pub fn short_number(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    if value == 0.0 {
        return "0".to_string();
    }
    let magnitude = value.abs().log10().floor() as i32;
    if !(-5..15).contains(&magnitude) {
        return format!("{value:.5e}");
    }
    let decimals = usize::try_from((5 - magnitude).max(0)).unwrap_or(0);
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let id = stable_id(&["alert", "rule", "model"]);
        assert_eq!(id.len(), 32);
        assert_eq!(id, stable_id(&["alert", "rule", "model"]));
        assert_ne!(stable_id(&["ab", "c"]), stable_id(&["a", "bc"]));
        assert!(
            id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }

    #[test]
    fn short_numbers() {
        assert_eq!(short_number(0.83124999), "0.83125");
        assert_eq!(short_number(152.0), "152");
        assert_eq!(short_number(0.000123456789), "0.000123457");
        assert_eq!(short_number(-3.5), "-3.5");
        assert_eq!(short_number(0.0), "0");
        assert_eq!(short_number(1e20), "1.00000e20");
    }
}
