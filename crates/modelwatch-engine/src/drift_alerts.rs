//! The alerts of data-drift rules (`[[rules]]` with `data_drift`): each drift window of a
//! matching model instance moves one alert per column, or one for the dataset decision,
//! through pending, firing, resolved and inactive, as a state detector's would, and explains
//! the column, method, score, threshold, reference rows, window rows and the options applied.
//! A window that leaves a column `not_enough_data` or unscored changes nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::{Action, Config, DriftCorrection, DriftRule, DriftTarget};
use crate::drift::Drifted;
use crate::metric::DRIFT_PREFIX;
use crate::output::{
    AlertEvent, AlertState, DriftExplanation, Explanation, QualityPoint, short_number, stable_id,
};
use crate::quality::{ColumnOutcome, ColumnScore, DriftReport};

/// The series a dataset alert is about.
const DATASET_SERIES: &str = "drift_score";

/// Where one rule's alert on one column (or the dataset) of one model instance stands.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct DriftAlertTrack {
    /// The open alert's id (pending or firing).
    alert_id: Option<String>,
    /// Firing (else pending when an alert is open).
    firing: bool,
    /// Consecutive drifted windows.
    held: u32,
    /// Windows judged (scored) so far.
    windows: u64,
}

/// One track's key: rule index, model instance, and column (empty for the dataset).
pub(crate) type TrackKey = (u32, String, String, String, String);

/// The data-drift rules' alert states: fed every quality point, in output order.
#[derive(Clone, Debug)]
pub struct DriftAlerts {
    config: Arc<Config>,
    pub(crate) tracks: BTreeMap<TrackKey, DriftAlertTrack>,
}

/// What one column or the dataset showed in a window.
struct Judged<'a> {
    series: String,
    drifted: bool,
    score: f64,
    threshold: f64,
    statistic: &'static str,
    /// The comparison a drifted score makes with its threshold.
    bad_side: &'static str,
    good_side: &'static str,
    explanation: DriftExplanation,
    column: Option<&'a ColumnScore>,
}

impl DriftAlerts {
    /// No alert open yet.
    pub fn new(config: Arc<Config>) -> DriftAlerts {
        DriftAlerts {
            config,
            tracks: BTreeMap::new(),
        }
    }

    /// Runs a drift point through the rules that match its model instance, in rule order and,
    /// within a rule, in its column order; pushes the transitions.
    pub fn observe(&mut self, point: &QualityPoint, out: &mut Vec<AlertEvent>) {
        let Some(report) = &point.drift else {
            return;
        };
        let config = self.config.clone();
        for (index, rule) in config.drift_rules.iter().enumerate() {
            if !rule.matcher.matches(&point.model) {
                continue;
            }
            for judged in judge(rule, report) {
                let Some(judged) = judged else { continue };
                let key: TrackKey = (
                    index as u32,
                    point.model.name.clone(),
                    point.model.version.clone(),
                    point.model.instance.clone(),
                    judged.explanation.column.clone().unwrap_or_default(),
                );
                let track = self.tracks.entry(key).or_default();
                if let Some(alert) = step(track, rule, point, judged) {
                    out.push(alert);
                }
            }
        }
    }
}

/// What the rule looks at in this window: one entry per targeted column (`None` when the
/// column is not scored in it), or the dataset's.
fn judge<'a>(rule: &DriftRule, report: &'a DriftReport) -> Vec<Option<Judged<'a>>> {
    match &rule.target {
        DriftTarget::Dataset => vec![judge_dataset(report)],
        DriftTarget::Columns(None) => report
            .columns
            .iter()
            .map(|verdict| judge_column(&verdict.column, &verdict.outcome, report))
            .collect(),
        DriftTarget::Columns(Some(columns)) => columns
            .iter()
            .map(|column| {
                report
                    .column(column)
                    .and_then(|verdict| judge_column(&verdict.column, &verdict.outcome, report))
            })
            .collect(),
    }
}

fn judge_column<'a>(
    name: &str,
    outcome: &'a ColumnOutcome,
    report: &DriftReport,
) -> Option<Judged<'a>> {
    let ColumnOutcome::Scored(column) = outcome else {
        return None;
    };
    let (bad_side, good_side) = if column.calibrated {
        if column.method.is_p_value() {
            ("below", "at_or_above")
        } else {
            ("above", "at_or_below")
        }
    } else {
        match column.method.comparison() {
            Drifted::AtOrBelow => ("at_or_below", "above"),
            Drifted::Below => ("below", "at_or_above"),
            Drifted::AtOrAbove => ("at_or_above", "below"),
            Drifted::Above => ("above", "at_or_below"),
        }
    };
    let mut options = Vec::new();
    if column.calibrated
        && let Some(k) = report.options.calibrate
    {
        options.push(format!(
            "threshold calibrated on the reference (mean ± {}σ of its windows' scores; drift_calibrate)",
            short_number(k)
        ));
    }
    if column.corrected {
        options.push(correction_words(report.options.correction));
    }
    if report.options.min_samples > 0 {
        options.push(format!(
            "at least {} values a side (drift_min_samples)",
            report.options.min_samples
        ));
    }
    Some(Judged {
        series: format!("{DRIFT_PREFIX}{name}"),
        drifted: column.drifted,
        score: column.score,
        threshold: column.threshold,
        statistic: column.method.name(),
        bad_side,
        good_side,
        explanation: DriftExplanation {
            column: Some(name.to_string()),
            column_type: Some(column.column_type.as_str()),
            method: Some(column.method.name()),
            automatic: Some(column.automatic),
            reference_rows: report.reference_rows,
            window_rows: report.window_rows,
            reference_values: Some(column.reference_values),
            window_values: Some(column.current_values),
            drifted_columns: None,
            columns_total: None,
            options,
        },
        column: Some(column),
    })
}

fn judge_dataset(report: &DriftReport) -> Option<Judged<'_>> {
    let share = report.share?;
    let scored: Vec<&ColumnScore> = report.scored().map(|(_, column)| column).collect();
    let drifted = scored.iter().filter(|column| column.drifted).count();
    let mut options = Vec::new();
    if let Some(k) = report.options.calibrate {
        options.push(format!(
            "thresholds calibrated on the reference (mean ± {}σ; drift_calibrate)",
            short_number(k)
        ));
    }
    if report.options.correction != DriftCorrection::None {
        options.push(correction_words(report.options.correction));
    }
    if report.options.min_samples > 0 {
        options.push(format!(
            "columns with fewer than {} values a side not counted (drift_min_samples)",
            report.options.min_samples
        ));
    }
    Some(Judged {
        series: DATASET_SERIES.to_string(),
        drifted: report.dataset_drifted(),
        score: share,
        threshold: report.drift_share,
        statistic: "drift_share",
        bad_side: "at_or_above",
        good_side: "below",
        explanation: DriftExplanation {
            column: None,
            column_type: None,
            method: None,
            automatic: None,
            reference_rows: report.reference_rows,
            window_rows: report.window_rows,
            reference_values: None,
            window_values: None,
            drifted_columns: Some(drifted as u32),
            columns_total: Some(scored.len() as u32),
            options,
        },
        column: None,
    })
}

fn correction_words(correction: DriftCorrection) -> String {
    match correction {
        DriftCorrection::None => "no multiple-testing control".to_string(),
        DriftCorrection::Bonferroni => {
            "Bonferroni control across the window's p-values (drift_correction)".to_string()
        }
        DriftCorrection::BenjaminiHochberg => {
            "Benjamini-Hochberg control across the window's p-values (drift_correction)".to_string()
        }
    }
}

/// Moves one track with one judged window; the transition, if any.
fn step(
    track: &mut DriftAlertTrack,
    rule: &DriftRule,
    point: &QualityPoint,
    judged: Judged<'_>,
) -> Option<AlertEvent> {
    track.windows = track.windows.saturating_add(1);
    let state = if judged.drifted {
        track.held = track.held.saturating_add(1);
        match (&track.alert_id, track.firing) {
            (None, _) => {
                track.alert_id = Some(stable_id(&[
                    "alert",
                    &rule.name,
                    &point.model.name,
                    &point.model.version,
                    &point.model.instance,
                    &judged.series,
                    &point.seq.to_string(),
                ]));
                if track.held >= rule.for_windows {
                    track.firing = true;
                    AlertState::Firing
                } else {
                    AlertState::Pending
                }
            }
            (Some(_), false) if track.held >= rule.for_windows => {
                track.firing = true;
                AlertState::Firing
            }
            (Some(_), _) => return None,
        }
    } else {
        let held = track.held;
        track.held = 0;
        track.alert_id.as_ref()?;
        let state = if track.firing {
            AlertState::Resolved
        } else {
            AlertState::Inactive
        };
        let alert = emit(state, track, held, rule, point, judged);
        track.alert_id = None;
        track.firing = false;
        return Some(alert);
    };
    let held = track.held;
    Some(emit(state, track, held, rule, point, judged))
}

fn emit(
    state: AlertState,
    track: &DriftAlertTrack,
    held: u32,
    rule: &DriftRule,
    point: &QualityPoint,
    judged: Judged<'_>,
) -> AlertEvent {
    let alert_id = track.alert_id.clone().unwrap_or_default();
    let side = if judged.drifted {
        judged.bad_side
    } else {
        judged.good_side
    };
    let explanation = Explanation {
        detector: "data_drift",
        statistic: judged.statistic,
        value: judged.score,
        bound: Some(judged.threshold),
        comparison: Some(side),
        points: track.windows,
        held: Some(held),
        for_points: Some(rule.for_windows),
        drift: Some(Box::new(judged.explanation)),
    };
    let message = message(state, &judged.series, &explanation, judged.column);
    let actions = if state == AlertState::Firing && rule.actions.contains(&Action::Retrain) {
        vec![Action::Retrain.as_str()]
    } else {
        Vec::new()
    };
    AlertEvent {
        id: stable_id(&["transition", &alert_id, state.as_str()]),
        alert_id,
        seq: point.seq,
        at: point.at,
        state,
        rule: rule.name.clone(),
        severity: rule.severity,
        model: point.model.clone(),
        metric: judged.series,
        explanation,
        actions,
        notify: rule.notify.clone(),
        muted_by: None,
        message,
    }
}

/// `drift.amount wasserstein 0.31 is at or above 0.1: firing (numerical column, automatic
/// method; reference 10000 rows, window 1000 rows with 998 values)`.
fn message(
    state: AlertState,
    series: &str,
    explanation: &Explanation,
    column: Option<&ColumnScore>,
) -> String {
    let what = format!(
        "{series} {} {}",
        explanation.statistic,
        short_number(explanation.value)
    );
    let side = explanation.comparison.unwrap_or("").replace('_', " ");
    let bound = short_number(explanation.bound.unwrap_or(f64::NAN));
    let held = explanation.held.unwrap_or(0);
    let needed = explanation.for_points.unwrap_or(1);
    let head = match state {
        AlertState::Pending => {
            format!("{what} is {side} {bound}: pending, {held} of {needed} windows")
        }
        AlertState::Firing if needed > 1 => {
            format!("{what} is {side} {bound} for {held} windows: firing")
        }
        AlertState::Firing => format!("{what} is {side} {bound}: firing"),
        AlertState::Resolved => format!("{what} is back {side} {bound}: resolved"),
        _ => format!(
            "{what} is back {side} {bound} before the alert fired ({held} of {needed} windows)"
        ),
    };
    let Some(drift) = &explanation.drift else {
        return head;
    };
    let mut detail = match column {
        Some(column) => format!(
            "{} column, {} method; reference {} rows with {} values, window {} rows with {} values",
            column.column_type.as_str(),
            if column.automatic {
                "automatic"
            } else {
                "configured"
            },
            drift.reference_rows,
            column.reference_values,
            drift.window_rows,
            column.current_values
        ),
        None => format!(
            "{} of {} columns drifted; reference {} rows, window {} rows",
            drift.drifted_columns.unwrap_or(0),
            drift.columns_total.unwrap_or(0),
            drift.reference_rows,
            drift.window_rows
        ),
    };
    if !drift.options.is_empty() {
        detail.push_str("; ");
        detail.push_str(&drift.options.join("; "));
    }
    format!("{head} ({detail})")
}

/// The data-drift rules' alert states as the engine snapshot stores them (since format 5).
#[derive(Serialize, Deserialize)]
pub(crate) struct DriftAlertsState {
    /// The config's data-drift rule names when the snapshot was taken, in order: what the
    /// tracks' rule indices meant.
    rules: Vec<String>,
    /// Sorted by key.
    tracks: Vec<(TrackKey, DriftAlertTrack)>,
}

impl DriftAlertsState {
    /// The state of `alerts`.
    pub(crate) fn of(alerts: &DriftAlerts) -> DriftAlertsState {
        DriftAlertsState {
            rules: alerts
                .config
                .drift_rules
                .iter()
                .map(|rule| rule.name.to_string())
                .collect(),
            tracks: alerts
                .tracks
                .iter()
                .map(|(key, track)| (key.clone(), track.clone()))
                .collect(),
        }
    }

    /// The alerts again, under `config`, whose data-drift rules must be the snapshot's.
    pub(crate) fn restore(self, config: Arc<Config>) -> Result<DriftAlerts, String> {
        let names: Vec<&str> = config.drift_rules.iter().map(|rule| &*rule.name).collect();
        if names != self.rules {
            return Err(format!(
                "the data_drift rules were [{}], the config has [{}]",
                self.rules.join(", "),
                names.join(", ")
            ));
        }
        let mut tracks = BTreeMap::new();
        for (key, track) in self.tracks {
            if key.0 as usize >= names.len() {
                return Err(format!("a data_drift alert names rule {}", key.0));
            }
            if track.firing && track.alert_id.is_none() {
                return Err("a firing data_drift alert has no id".to_string());
            }
            if tracks.insert(key, track).is_some() {
                return Err("a data_drift alert is stored twice".to_string());
            }
        }
        Ok(DriftAlerts { config, tracks })
    }
}
