//! Per-series evaluation: runs every matching rule's detector on each point, in order, and
//! turns signals into alert transitions.
//!
//! An [`Evaluator`] owns the state of the series given to it. The sharded `Monitor` gives each
//! shard its own evaluator; the single-threaded [`crate::Engine`] has one for everything. The
//! outputs for a point depend only on that series' earlier points, never on other series.

use std::sync::Arc;

use foldhash::HashMap;

use modelwatch_detectors::{Condition, Detector, Direction, Signal};
use serde::Serialize;

use crate::config::{Action, Config, Rule, Severity};
use crate::event::{ModelId, Timestamp};
use crate::output::{AlertEvent, AlertState, Explanation, short_number, stable_id};

/// Where in the stream a point is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PointContext<'a> {
    /// Sequence number of the input carrying the point.
    pub seq: u64,
    /// Its event time.
    pub at: Timestamp,
    /// The model instance.
    pub model: &'a ModelId,
}

/// The state of every series it has seen, for the rules of one config.
#[derive(Debug)]
pub struct Evaluator {
    pub(crate) config: Arc<Config>,
    /// Keyed by instance, then metric. foldhash is randomly seeded per process, so crafted
    /// names cannot force collisions; iteration order never reaches an output (nor a
    /// snapshot: `snapshot.rs` sorts).
    pub(crate) instances: HashMap<ModelId, HashMap<String, Series>>,
    /// How many series `instances` holds.
    pub(crate) series: usize,
}

/// The fields are the crate's so that `snapshot.rs` can store and restore them.
#[derive(Debug)]
pub(crate) struct Series {
    pub(crate) points: u64,
    pub(crate) last_value: f64,
    pub(crate) last_at: Timestamp,
    pub(crate) trackers: Vec<RuleTracker>,
}

/// One rule's detector and alert on one series.
#[derive(Debug)]
pub(crate) struct RuleTracker {
    pub(crate) rule: usize,
    pub(crate) detector: Detector,
    /// The rule's condition (state detectors), copied from the config.
    pub(crate) condition: Option<Condition>,
    pub(crate) phase: Phase,
    pub(crate) ready: bool,
    pub(crate) held: u32,
    pub(crate) alert_id: Option<String>,
    pub(crate) last_statistic: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Quiet,
    Pending,
    Firing,
    Warning,
}

impl Evaluator {
    /// An evaluator with no series yet.
    pub fn new(config: Arc<Config>) -> Evaluator {
        Evaluator {
            config,
            instances: HashMap::default(),
            series: 0,
        }
    }

    /// The config it evaluates.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// Runs one point through every rule of its series, appending transitions to `out` in
    /// rule order.
    pub fn evaluate(
        &mut self,
        context: &PointContext<'_>,
        metric: &str,
        value: f64,
        out: &mut Vec<AlertEvent>,
    ) {
        let mut tagged = Vec::new();
        self.evaluate_event(context, [(0, metric, value)], &mut tagged);
        out.extend(tagged.into_iter().map(|(_, alert)| alert));
    }

    /// Runs points of one input (`(index in the event, metric, value)`, in order) through the
    /// rules of their series, appending `(index, transition)` to `out` in point order, then
    /// rule order. Looks the model instance up once for all of them.
    pub fn evaluate_event<'p>(
        &mut self,
        context: &PointContext<'_>,
        points: impl IntoIterator<Item = (u32, &'p str, f64)>,
        out: &mut Vec<(u32, AlertEvent)>,
    ) {
        let config = &self.config;
        let metrics = match self.instances.get_mut(context.model) {
            Some(metrics) => metrics,
            None => self.instances.entry(context.model.clone()).or_default(),
        };
        for (index, metric, value) in points {
            let series = match metrics.get_mut(metric) {
                Some(series) => series,
                None => {
                    self.series += 1;
                    metrics
                        .entry(metric.to_string())
                        .or_insert_with(|| Series::new(config, context.model, metric))
                }
            };
            series.points += 1;
            series.last_value = value;
            series.last_at = context.at;
            for tracker in &mut series.trackers {
                let rule = &config.rules[tracker.rule];
                let signal = tracker.detector.update(value);
                if let Some(alert) = tracker.step(rule, signal, context, metric) {
                    out.push((index, alert));
                }
            }
        }
    }

    /// A snapshot of every (series, rule) pair, sorted by model, metric and rule order.
    pub fn status(&self) -> Vec<RuleStatus> {
        let mut statuses = Vec::new();
        for (model, metrics) in &self.instances {
            for (metric, series) in metrics {
                for tracker in &series.trackers {
                    statuses.push(tracker.status(&self.config, model, metric, series));
                }
            }
        }
        statuses.sort_by(|a, b| {
            (&a.model, &a.metric, a.rule_index).cmp(&(&b.model, &b.metric, b.rule_index))
        });
        statuses
    }

    /// How many series it holds.
    pub fn series_count(&self) -> usize {
        self.series
    }

    /// Whether it holds the series of `metric` of instance `model`.
    pub fn has_series(&self, model: &ModelId, metric: &str) -> bool {
        self.instances
            .get(model)
            .is_some_and(|metrics| metrics.contains_key(metric))
    }
}

/// The seed of a randomised detector (`kswin`) whose rule gives none: derived from the rule and
/// the series, so that replaying the same input gives the same alerts, every time.
pub(crate) fn series_seed(rule: &str, model: &ModelId, metric: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in [
        "modelwatch series seed",
        rule,
        &model.name,
        &model.version,
        &model.instance,
        metric,
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    // CPython seeds with the integer's absolute value; keep it below 2^63 so it is one
    // non-negative `seed` anyone can pass back to River.
    u64::from_le_bytes(bytes) >> 1
}

impl Series {
    fn new(config: &Config, model: &ModelId, metric: &str) -> Series {
        let trackers = config
            .rules_for(model, metric)
            .into_iter()
            .map(|index| {
                let rule = &config.rules[index];
                RuleTracker {
                    rule: index,
                    detector: if rule.detector.uses_random_seed() {
                        rule.detector
                            .build_with_seed(series_seed(&rule.name, model, metric))
                    } else {
                        rule.detector.build()
                    },
                    condition: rule.detector.condition().copied(),
                    phase: Phase::Quiet,
                    ready: false,
                    held: 0,
                    alert_id: None,
                    last_statistic: None,
                }
            })
            .collect();
        Series {
            points: 0,
            last_value: f64::NAN,
            last_at: Timestamp::EPOCH,
            trackers,
        }
    }
}

impl RuleTracker {
    /// Feeds a signal to the alert state machine; returns the transition it causes, if any.
    #[inline]
    fn step(
        &mut self,
        rule: &Rule,
        signal: Signal,
        context: &PointContext<'_>,
        metric: &str,
    ) -> Option<AlertEvent> {
        match signal {
            Signal::NotReady => {
                self.ready = false;
                None
            }
            Signal::Statistic(statistic) => {
                self.ready = true;
                self.last_statistic = Some(statistic);
                let condition = self.condition?;
                self.step_state(rule, condition, statistic, context, metric)
            }
            Signal::Stable => {
                self.ready = true;
                if self.phase != Phase::Warning {
                    return None;
                }
                self.phase = Phase::Quiet;
                let alert = self.emit(AlertState::Resolved, rule, context, metric, None);
                self.alert_id = None;
                Some(alert)
            }
            Signal::Warning => {
                self.ready = true;
                if self.phase == Phase::Warning {
                    return None;
                }
                self.phase = Phase::Warning;
                self.open_alert(rule, context, metric);
                Some(self.emit(AlertState::Warning, rule, context, metric, None))
            }
            Signal::Drift => {
                self.ready = true;
                if self.phase != Phase::Warning {
                    self.open_alert(rule, context, metric);
                }
                self.phase = Phase::Quiet;
                let alert = self.emit(AlertState::Drift, rule, context, metric, None);
                self.alert_id = None;
                Some(alert)
            }
        }
    }

    fn step_state(
        &mut self,
        rule: &Rule,
        condition: Condition,
        statistic: f64,
        context: &PointContext<'_>,
        metric: &str,
    ) -> Option<AlertEvent> {
        let compared = Some((condition, statistic));
        match self.phase {
            Phase::Quiet | Phase::Warning => {
                if !condition.breached(statistic) {
                    return None;
                }
                self.held = 1;
                self.open_alert(rule, context, metric);
                let (phase, state) = if self.held >= rule.for_points {
                    (Phase::Firing, AlertState::Firing)
                } else {
                    (Phase::Pending, AlertState::Pending)
                };
                self.phase = phase;
                Some(self.emit(state, rule, context, metric, compared))
            }
            Phase::Pending => {
                if condition.breached(statistic) {
                    self.held = self.held.saturating_add(1);
                    if self.held < rule.for_points {
                        return None;
                    }
                    self.phase = Phase::Firing;
                    return Some(self.emit(AlertState::Firing, rule, context, metric, compared));
                }
                self.phase = Phase::Quiet;
                let alert = self.emit(AlertState::Inactive, rule, context, metric, compared);
                self.held = 0;
                self.alert_id = None;
                Some(alert)
            }
            Phase::Firing => {
                if condition.cleared(statistic) {
                    self.phase = Phase::Quiet;
                    let alert = self.emit(AlertState::Resolved, rule, context, metric, compared);
                    self.held = 0;
                    self.alert_id = None;
                    return Some(alert);
                }
                if condition.breached(statistic) {
                    self.held = self.held.saturating_add(1);
                }
                None
            }
        }
    }

    #[cold]
    fn open_alert(&mut self, rule: &Rule, context: &PointContext<'_>, metric: &str) {
        let seq = context.seq.to_string();
        let model = context.model;
        self.alert_id = Some(stable_id(&[
            "alert",
            &rule.name,
            &model.name,
            &model.version,
            &model.instance,
            metric,
            &seq,
        ]));
    }

    #[cold]
    fn emit(
        &self,
        state: AlertState,
        rule: &Rule,
        context: &PointContext<'_>,
        metric: &str,
        compared: Option<(Condition, f64)>,
    ) -> AlertEvent {
        let alert_id = self.alert_id.clone().unwrap_or_default();
        let id = stable_id(&["transition", &alert_id, state.as_str()]);
        let detail = self.detector.explain();
        let (explanation, message) = match compared {
            Some((condition, statistic)) => {
                let (bound, comparison) = compare(state, condition);
                let explanation = Explanation {
                    detector: rule.detector.kind().as_str(),
                    statistic: detail.statistic,
                    value: statistic,
                    bound: Some(bound),
                    comparison: Some(comparison),
                    points: detail.n_seen,
                    held: Some(self.held),
                    for_points: Some(rule.for_points),
                    drift: None,
                };
                let message = state_message(state, metric, &explanation);
                (explanation, message)
            }
            None => {
                let explanation = Explanation {
                    detector: rule.detector.kind().as_str(),
                    statistic: detail.statistic,
                    value: detail.value,
                    bound: detail.bound,
                    comparison: detail.bound.map(|_| "exceeds"),
                    points: detail.n_seen,
                    held: None,
                    for_points: None,
                    drift: None,
                };
                let message = change_message(state, metric, &explanation);
                (explanation, message)
            }
        };
        // The actions this transition triggers: `retrain` on firing and drift, and
        // `retrain_on_warning` (written `retrain`: it asks for the same thing) on warning.
        let trigger = match state {
            AlertState::Firing | AlertState::Drift => Some(Action::Retrain),
            AlertState::Warning => Some(Action::RetrainOnWarning),
            _ => None,
        };
        let actions = match trigger {
            Some(trigger) if rule.actions.contains(&trigger) => vec![Action::Retrain.as_str()],
            _ => Vec::new(),
        };
        // A warning is never louder than `warning`, whatever the rule's severity.
        let severity = if state == AlertState::Warning {
            rule.severity.min(Severity::Warning)
        } else {
            rule.severity
        };
        AlertEvent {
            id,
            alert_id,
            seq: context.seq,
            at: context.at,
            state,
            rule: rule.name.clone(),
            severity,
            model: context.model.clone(),
            metric: metric.to_string(),
            explanation,
            actions,
            notify: rule.notify.clone(),
            muted_by: None,
            message,
        }
    }

    fn status(
        &self,
        config: &Config,
        model: &ModelId,
        metric: &str,
        series: &Series,
    ) -> RuleStatus {
        let rule = &config.rules[self.rule];
        let detail = self.detector.explain();
        let state = match self.phase {
            Phase::Pending => RuleState::Pending,
            Phase::Firing => RuleState::Firing,
            Phase::Warning => RuleState::Warning,
            Phase::Quiet if !self.ready => RuleState::NotEnoughData,
            Phase::Quiet => RuleState::Ok,
        };
        RuleStatus {
            rule: rule.name.clone(),
            rule_index: self.rule,
            model: model.clone(),
            metric: metric.to_string(),
            state,
            points: series.points,
            detector_points: detail.n_seen,
            needed: detail.n_needed,
            statistic: self.last_statistic,
            last_value: series.last_value,
            last_at: series.last_at,
            alert_id: self.alert_id.clone(),
        }
    }
}

/// The bound that matters for this transition, and how the statistic relates to it.
fn compare(state: AlertState, condition: Condition) -> (f64, &'static str) {
    let resolve = condition.resolve.unwrap_or(condition.bound);
    match (state, condition.direction) {
        (AlertState::Resolved, Direction::Below) => (resolve, "at_or_above"),
        (AlertState::Resolved, Direction::Above) => (resolve, "at_or_below"),
        (AlertState::Inactive, Direction::Below) => (condition.bound, "at_or_above"),
        (AlertState::Inactive, Direction::Above) => (condition.bound, "at_or_below"),
        (_, Direction::Below) => (condition.bound, "below"),
        (_, Direction::Above) => (condition.bound, "above"),
    }
}

fn statistic_phrase(metric: &str, explanation: &Explanation) -> String {
    match explanation.statistic {
        "value" => format!("{metric} {}", short_number(explanation.value)),
        statistic => format!("{metric} {statistic} {}", short_number(explanation.value)),
    }
}

fn state_message(state: AlertState, metric: &str, explanation: &Explanation) -> String {
    let what = statistic_phrase(metric, explanation);
    let bound = short_number(explanation.bound.unwrap_or(f64::NAN));
    let side = explanation.comparison.unwrap_or("").replace('_', " ");
    let held = explanation.held.unwrap_or(0);
    let for_points = explanation.for_points.unwrap_or(1);
    match state {
        AlertState::Pending => {
            format!("{what} is {side} {bound}: pending, {held} of {for_points} points")
        }
        AlertState::Firing if for_points > 1 => {
            format!("{what} is {side} {bound} for {held} points: firing")
        }
        AlertState::Firing => format!("{what} is {side} {bound}: firing"),
        AlertState::Resolved => format!("{what} is back {side} {bound}: resolved"),
        AlertState::Inactive => {
            format!(
                "{what} is back {side} {bound} before the alert fired ({held} of {for_points} points)"
            )
        }
        AlertState::Drift | AlertState::Warning => change_message(state, metric, explanation),
    }
}

fn change_message(state: AlertState, metric: &str, explanation: &Explanation) -> String {
    let detector = explanation.detector;
    let points = explanation.points;
    let evidence = match explanation.bound {
        Some(bound) => format!(
            "{} {} exceeds {}",
            explanation.statistic,
            short_number(explanation.value),
            short_number(bound)
        ),
        None => format!(
            "{} {}",
            explanation.statistic,
            short_number(explanation.value)
        ),
    };
    match state {
        AlertState::Drift => {
            format!("{detector} found a change in {metric} after {points} points: {evidence}")
        }
        AlertState::Warning => {
            format!("{detector} warns of a change in {metric} after {points} points: {evidence}")
        }
        _ => format!("{detector} no longer warns of a change in {metric}: {evidence}"),
    }
}

/// Where one rule stands on one series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleState {
    /// The detector has fewer points than it needs to judge.
    NotEnoughData,
    /// Watching; nothing to report.
    Ok,
    /// The condition holds, not yet for `for` points.
    Pending,
    /// The alert is firing.
    Firing,
    /// A change detector warns.
    Warning,
}

impl RuleState {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleState::NotEnoughData => "not_enough_data",
            RuleState::Ok => "ok",
            RuleState::Pending => "pending",
            RuleState::Firing => "firing",
            RuleState::Warning => "warning",
        }
    }
}

/// A snapshot of one rule on one series.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleStatus {
    /// The rule.
    pub rule: Arc<str>,
    /// Its position in the config.
    #[serde(skip)]
    pub rule_index: usize,
    /// The model instance.
    pub model: ModelId,
    /// The metric.
    pub metric: String,
    /// Where the rule stands.
    pub state: RuleState,
    /// Points the series has had.
    pub points: u64,
    /// Points the detector has seen since it started or last reset.
    pub detector_points: u64,
    /// Points the detector needs before it can judge.
    pub needed: u64,
    /// The detector's latest statistic (state detectors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statistic: Option<f64>,
    /// The series' latest value.
    pub last_value: f64,
    /// The event time of that value.
    pub last_at: Timestamp,
    /// The open alert, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<String>,
}
