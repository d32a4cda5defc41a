//! The schemas of stored outputs, in the JSON form the engine writes them (`replay --format
//! json`): alert transitions, retrain decisions, canary verdicts and their pages.

use utoipa::ToSchema;

/// The state an alert moved to.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) enum AlertState {
    Pending,
    Firing,
    Resolved,
    Inactive,
    Drift,
    Warning,
}

/// A rule's severity.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) enum Severity {
    Info,
    Warning,
    Critical,
}

/// What became of a retrain request.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) enum Decision {
    Granted,
    Recommended,
    Suppressed,
    Withdrawn,
}

/// Why a retrain decision went the way it did.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) enum Reason {
    AlertFiring,
    ChangeDetected,
    WarningDetected,
    CooldownEnded,
    Manual,
    InFlight,
    Cooldown,
    AlertResolved,
}

/// A model instance: name, version and instance.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) struct ModelId {
    /// The model's name.
    #[schema(example = "fraud-detector")]
    name: String,
    /// The version.
    #[schema(example = "1.5.0")]
    version: String,
    /// The instance (`default` when the events named none).
    #[schema(example = "canary-0")]
    instance: String,
}

/// The tag of an alert output.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) enum AlertTag {
    Alert,
}

/// The tag of a retrain decision output.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) enum RetrainTag {
    Retrain,
}

/// An alert's transition, as the engine wrote it.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) struct AlertOutput {
    /// Always `alert`.
    #[serde(rename = "type")]
    kind: AlertTag,
    /// This transition's id (32 hex digits, stable across replays).
    #[schema(pattern = "^[0-9a-f]{32}$")]
    id: String,
    /// The alert's id, shared by every transition of one alert.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    alert_id: String,
    /// Sequence number of the input that caused it.
    seq: u64,
    /// Event time of that input.
    #[schema(value_type = String, format = DateTime)]
    at: String,
    state: AlertState,
    /// The rule's name.
    rule: String,
    severity: Severity,
    model: ModelId,
    /// The metric.
    metric: String,
    explanation: Explanation,
    /// The rule's actions this transition triggers (`retrain`); none when muted.
    actions: Vec<String>,
    /// The notifiers (by name) the rule tells of its transitions, in the rule's order; absent
    /// when there are none or the transition is muted.
    #[schema(nullable = false)]
    notify: Option<Vec<String>>,
    /// The model's retrain job that was running when this transition happened: the
    /// transition is recorded but asks for nothing and tells nobody. Absent when not muted.
    #[schema(nullable = false, pattern = "^[0-9a-f]{32}$")]
    muted_by: Option<String>,
    /// One sentence for people.
    message: String,
}

/// Why an alert moved: the detector, its statistic, the bound and the points seen.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) struct Explanation {
    /// The detector kind: threshold, ema, window_mean, page_hinkley, adwin, kswin, cusum, ddm,
    /// eddm, hddm_a, hddm_w or fhddm; or data_drift for a data-drift rule (then `statistic` is
    /// the column's method, or `drift_share` for the dataset, and `points` counts windows).
    detector: String,
    /// The statistic's name: `value`, `ema`, `window_mean`, `page_hinkley_down`, ...
    statistic: String,
    /// The statistic's value at this point (`null` if it is not a finite number).
    #[schema(required = true)]
    value: Option<f64>,
    /// The bound it was compared with.
    bound: Option<f64>,
    /// How value and bound relate: `below`, `above`, `at_or_above`, `at_or_below`, `exceeds`.
    #[schema(nullable = false)]
    comparison: Option<String>,
    /// Points the detector has seen since it started (or last reset).
    points: u64,
    /// Consecutive points the condition has held (state detectors).
    #[schema(nullable = false)]
    held: Option<u32>,
    /// Points the condition must hold before firing (state detectors).
    #[serde(rename = "for")]
    #[schema(nullable = false)]
    for_points: Option<u32>,
    /// A data-drift rule's window: absent for detectors.
    #[schema(nullable = false)]
    drift: Option<DriftExplanation>,
}

/// What a data-drift alert's score was computed on. For a column, the explanation's `value`
/// and `bound` are its score and threshold; for the dataset, the share of drifted columns and
/// `drift_share`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) struct DriftExplanation {
    /// The column; absent for the dataset decision.
    #[schema(nullable = false)]
    column: Option<String>,
    /// `numerical` or `categorical` (a column).
    #[schema(nullable = false)]
    column_type: Option<String>,
    /// The method's name, as Evidently's (a column).
    #[schema(nullable = false)]
    method: Option<String>,
    /// Whether the method was Evidently's automatic choice (a column).
    #[schema(nullable = false)]
    automatic: Option<bool>,
    /// Rows in the reference.
    reference_rows: u32,
    /// Rows in the window.
    window_rows: u32,
    /// Present values of the column in the reference (a column).
    #[schema(nullable = false)]
    reference_values: Option<u32>,
    /// Present values of the column in the window (a column).
    #[schema(nullable = false)]
    window_values: Option<u32>,
    /// Drifted columns (the dataset).
    #[schema(nullable = false)]
    drifted_columns: Option<u32>,
    /// Scored columns (the dataset).
    #[schema(nullable = false)]
    columns_total: Option<u32>,
    /// The options beyond Evidently that applied, in words; empty when Evidently's numbers
    /// were used unchanged.
    options: Vec<String>,
}

/// A retrain decision for one model, as the engine wrote it.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) struct RetrainOutput {
    /// Always `retrain`.
    #[serde(rename = "type")]
    kind: RetrainTag,
    /// The decision's id; for a granted decision also the job's id.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    id: String,
    /// Sequence number of the input that caused it.
    seq: u64,
    /// Event time of the decision.
    #[schema(value_type = String, format = DateTime)]
    at: String,
    /// The model (by name).
    model: String,
    decision: Decision,
    reason: Reason,
    /// The job: the new one when granted, the outstanding one when suppressed for single flight.
    #[schema(nullable = false)]
    job_id: Option<String>,
    /// When a cooldown-suppressed request is looked at again.
    #[schema(value_type = Option<String>, format = DateTime, nullable = false)]
    retry_at: Option<String>,
    /// The alert that asked; absent for a manual request.
    #[schema(nullable = false)]
    alert_id: Option<String>,
    /// The rule that asked; absent for a manual request.
    #[schema(nullable = false)]
    rule: Option<String>,
    /// One sentence for people.
    message: String,
}

/// A page of alert transitions, newest first.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) struct AlertPage {
    items: Vec<AlertOutput>,
    /// Pass as `after` for the next page; `null` on the last page.
    #[schema(required = true)]
    next: Option<i64>,
}

/// A page of retrain decisions, newest first.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) struct DecisionPage {
    items: Vec<RetrainOutput>,
    /// Pass as `after` for the next page; `null` on the last page.
    #[schema(required = true)]
    next: Option<i64>,
}

/// A canary verdict.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) enum Verdict {
    Pass,
    Fail,
    NotEnoughData,
}

/// The numbers behind a canary verdict (`modelwatch_engine::Judgement`). What the test did
/// not compute is left out: medians without points, the test's figures when it did not run.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) struct Judgement {
    /// The candidate's values judged.
    candidate_count: u64,
    /// The baseline's values judged.
    baseline_count: u64,
    #[schema(nullable = false)]
    candidate_median: Option<f64>,
    #[schema(nullable = false)]
    baseline_median: Option<f64>,
    /// The test's confidence.
    confidence: f64,
    /// The Mann-Whitney U statistic of the candidate.
    #[schema(nullable = false)]
    u: Option<f64>,
    /// The standardized statistic.
    #[schema(nullable = false)]
    z: Option<f64>,
    /// The two-sided p-value.
    #[schema(nullable = false)]
    p_value: Option<f64>,
    /// The estimated shift, candidate minus baseline.
    #[schema(nullable = false)]
    estimate: Option<f64>,
    /// The confidence interval of the shift: lower, upper.
    #[schema(nullable = false, min_items = 2, max_items = 2)]
    interval: Option<Vec<f64>>,
    /// The largest bad shift tolerated.
    #[schema(nullable = false)]
    allowed_shift: Option<f64>,
}

#[cfg(test)]
mod tests {
    use modelwatch_engine::{
        AlertState as State, Decision as Made, Reason as Why, Severity as Level, Verdict,
    };
    use utoipa::PartialSchema;

    /// The `enum` values of a documented enumeration.
    fn documented<T: PartialSchema>() -> Vec<String> {
        let schema = serde_json::to_value(T::schema()).unwrap();
        schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|value| value.as_str().unwrap().to_string())
            .collect()
    }

    /// Each list names every variant: the `match` stops compiling when the engine adds one.
    #[test]
    fn the_documented_enumerations_are_the_engines() {
        let states = [
            State::Pending,
            State::Firing,
            State::Resolved,
            State::Inactive,
            State::Drift,
            State::Warning,
        ];
        for state in states {
            match state {
                State::Pending
                | State::Firing
                | State::Resolved
                | State::Inactive
                | State::Drift
                | State::Warning => {}
            }
        }
        let names: Vec<&str> = states.into_iter().map(State::as_str).collect();
        assert_eq!(documented::<super::AlertState>(), names);

        let levels = [Level::Info, Level::Warning, Level::Critical];
        for level in levels {
            match level {
                Level::Info | Level::Warning | Level::Critical => {}
            }
        }
        let names: Vec<&str> = levels.into_iter().map(Level::as_str).collect();
        assert_eq!(documented::<super::Severity>(), names);

        let made = [
            Made::Granted,
            Made::Recommended,
            Made::Suppressed,
            Made::Withdrawn,
        ];
        for decision in made {
            match decision {
                Made::Granted | Made::Recommended | Made::Suppressed | Made::Withdrawn => {}
            }
        }
        let names: Vec<&str> = made.into_iter().map(Made::as_str).collect();
        assert_eq!(documented::<super::Decision>(), names);

        let reasons = [
            Why::AlertFiring,
            Why::ChangeDetected,
            Why::WarningDetected,
            Why::CooldownEnded,
            Why::Manual,
            Why::InFlight,
            Why::Cooldown,
            Why::AlertResolved,
        ];
        for reason in reasons {
            match reason {
                Why::AlertFiring
                | Why::ChangeDetected
                | Why::WarningDetected
                | Why::CooldownEnded
                | Why::Manual
                | Why::InFlight
                | Why::Cooldown
                | Why::AlertResolved => {}
            }
        }
        let names: Vec<&str> = reasons.into_iter().map(Why::as_str).collect();
        assert_eq!(documented::<super::Reason>(), names);

        let verdicts = [Verdict::Pass, Verdict::Fail, Verdict::NotEnoughData];
        for verdict in verdicts {
            match verdict {
                Verdict::Pass | Verdict::Fail | Verdict::NotEnoughData => {}
            }
        }
        let names: Vec<&str> = verdicts.into_iter().map(Verdict::as_str).collect();
        assert_eq!(documented::<super::Verdict>(), names);
    }
}
