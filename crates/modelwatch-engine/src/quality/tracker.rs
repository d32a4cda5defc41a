//! The quality of each model from its traffic: predictions wait in the pending join, labels
//! join them by id, and every `window` joined predictions of a model instance give a point of
//! realized metrics; every `window` scored predictions a point of estimated ones (binary); every
//! `window` resolved predictions a `label_coverage` point.
//!
//! Deterministic: each model's state depends only on its own predictions and labels, in input
//! order, and on its own clock (the latest event time of its traffic). Predictions more than
//! the label horizon and one sweep interval (a sixteenth of the horizon, at least a second)
//! old are swept out when that clock crosses a sweep time (every interval), so the same inputs
//! expire the same predictions at the same input. A label after its prediction's horizon is
//! counted late while the prediction is still held, unmatched once it was swept out.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::config::{Config, DriftSettings, ModelSettings, ReferenceSource, Task};
use crate::event::{ModelId, Timestamp};
use crate::output::{QualityPoint, QualitySource, stable_id};
use crate::traffic::{Label, Outcome, Prediction};

use super::cbpe::{self, Reference};
use super::drift::{self, Table};
use super::in_force::UploadedReference;
use super::join::{IdKey, Pending, PendingJoin, id_key};
use super::prepared::PreparedReferences;
use super::window::{self, Joined, NO_SCORE};

/// How the traffic of one model has gone: what `/v1/models/{name}` and `/metrics` show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TrafficCounts {
    /// Predictions taken into the join.
    pub predictions: u64,
    /// Labels that joined their prediction in time.
    pub joined: u64,
    /// Labels that came after their prediction's horizon: dropped.
    pub late: u64,
    /// Labels whose prediction is not pending (never seen, labeled already, or expired).
    pub unmatched: u64,
    /// Predictions whose id was pending already: the later one is ignored.
    pub duplicates: u64,
    /// Predictions whose horizon passed without a label.
    pub expired: u64,
    /// Predictions or labels that do not fit the model's task (the config changed since
    /// they were stored): ignored.
    pub unusable: u64,
}

/// One model instance's windows.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct InstanceQuality {
    pub(crate) model: ModelId,
    /// Labeled predictions of the realized window being filled.
    pub(crate) realized: Vec<Joined>,
    /// Raw scores and outputs of the estimated window being filled (binary).
    pub(crate) estimate: Vec<(f64, bool)>,
    /// Resolved predictions since the last coverage point: labeled in time, and not.
    pub(crate) labeled: u32,
    pub(crate) unlabeled: u32,
    /// The drift window being filled: features and outputs.
    pub(crate) drift: Table,
    /// The latest window compared with the reference in force, kept to show it
    /// (`drift_status.rs`); dropped when an upload replaces the reference.
    pub(crate) last_drift: Option<Table>,
}

/// One model's traffic state.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ModelTraffic {
    pub(crate) clock: i64,
    pub(crate) next_sweep: i64,
    pub(crate) instances: Vec<InstanceQuality>,
    pub(crate) instance_index: HashMap<ModelId, u32>,
    pub(crate) classes: Vec<String>,
    pub(crate) class_index: HashMap<String, u32>,
    pub(crate) join: PendingJoin,
    /// Score rows of pending multiclass predictions.
    pub(crate) rows: HashMap<IdKey, Vec<(u32, f64)>>,
    /// Versions in the order their traffic first came, with the CBPE reference fitted on
    /// their first labeled window.
    pub(crate) versions: Vec<(String, Option<Reference>)>,
    /// Each version's drift reference: its first predictions, in the order versions came.
    pub(crate) drift_references: Vec<(String, Table)>,
    /// The reference uploaded for the model, which every version compares with.
    pub(crate) uploaded: Option<UploadedReference>,
    /// The references in force prepared for their windows (derived: not in snapshots).
    pub(crate) drift_prepared: PreparedReferences,
    pub(crate) counts: TrafficCounts,
}

impl ModelTraffic {
    pub(crate) fn new() -> ModelTraffic {
        ModelTraffic {
            clock: i64::MIN,
            next_sweep: i64::MIN,
            instances: Vec::new(),
            instance_index: HashMap::new(),
            classes: Vec::new(),
            class_index: HashMap::new(),
            join: PendingJoin::default(),
            rows: HashMap::new(),
            versions: Vec::new(),
            drift_references: Vec::new(),
            uploaded: None,
            drift_prepared: PreparedReferences::default(),
            counts: TrafficCounts::default(),
        }
    }

    fn instance(&mut self, model: &ModelId) -> u32 {
        if let Some(index) = self.instance_index.get(model) {
            return *index;
        }
        let index = self.instances.len() as u32;
        self.instances.push(InstanceQuality {
            model: model.clone(),
            realized: Vec::new(),
            estimate: Vec::new(),
            labeled: 0,
            unlabeled: 0,
            drift: Table::default(),
            last_drift: None,
        });
        self.instance_index.insert(model.clone(), index);
        if !self
            .versions
            .iter()
            .any(|(version, _)| *version == model.version)
        {
            self.versions.push((model.version.clone(), None));
        }
        index
    }

    fn class(&mut self, name: &str) -> u32 {
        if let Some(index) = self.class_index.get(name) {
            return *index;
        }
        let index = self.classes.len() as u32;
        self.classes.push(name.to_string());
        self.class_index.insert(name.to_string(), index);
        index
    }

    /// The reference for `version`: its own, or that of the nearest version before it.
    fn reference(&self, version: &str) -> Option<&Reference> {
        let at = self.versions.iter().position(|(name, _)| name == version)?;
        self.versions[..=at]
            .iter()
            .rev()
            .find_map(|(_, reference)| reference.as_ref())
    }

    /// Advances the clock; sweeps out predictions past the horizon when a sweep is due.
    fn advance(&mut self, at: i64, settings: &ModelSettings, emit: &mut Emitter<'_>) {
        self.clock = self.clock.max(at);
        if self.clock < self.next_sweep {
            return;
        }
        let horizon = horizon_nanos(settings);
        let interval = (horizon / 16).max(1_000_000_000);
        self.next_sweep = self.clock.saturating_add(interval);
        // A prediction stays one interval past its horizon, so that a label that comes in that
        // time is counted late rather than unmatched.
        let cutoff = self.clock.saturating_sub(horizon).saturating_sub(interval);
        let mut expired = vec![0u32; self.instances.len()];
        let rows = &mut self.rows;
        self.join.expire_before(cutoff, |pending| {
            if let Some(count) = expired.get_mut(pending.instance as usize) {
                *count += 1;
            }
            rows.remove(&pending.key());
        });
        for (index, count) in expired.into_iter().enumerate() {
            if count > 0 {
                self.counts.expired += u64::from(count);
                self.instances[index].unlabeled += count;
                self.coverage(index, settings, emit);
            }
        }
    }

    /// Emits a coverage point for instance `index` once `window` predictions are resolved.
    fn coverage(&mut self, index: usize, settings: &ModelSettings, emit: &mut Emitter<'_>) {
        let instance = &mut self.instances[index];
        let resolved = instance.labeled + instance.unlabeled;
        if resolved < settings.window {
            return;
        }
        let coverage = f64::from(instance.labeled) / f64::from(resolved);
        let values = vec![("label_coverage".to_string(), coverage)];
        let message = format!(
            "{}: {} of {resolved} predictions resolved were labeled within the horizon",
            instance.model, instance.labeled
        );
        emit.point(
            &instance.model,
            QualitySource::Coverage,
            resolved,
            values,
            message,
        );
        instance.labeled = 0;
        instance.unlabeled = 0;
    }
}

fn horizon_nanos(settings: &ModelSettings) -> i64 {
    i64::try_from(settings.label_horizon_secs)
        .unwrap_or(i64::MAX)
        .saturating_mul(1_000_000_000)
}

/// Collects the points of one input.
pub(crate) struct Emitter<'o> {
    seq: u64,
    at: Timestamp,
    out: &'o mut Vec<QualityPoint>,
}

impl Emitter<'_> {
    fn point(
        &mut self,
        model: &ModelId,
        source: QualitySource,
        rows: u32,
        metrics: Vec<(String, f64)>,
        message: String,
    ) {
        let id = stable_id(&[
            "quality",
            &self.seq.to_string(),
            &model.name,
            &model.version,
            &model.instance,
            source.as_str(),
        ]);
        self.out.push(QualityPoint {
            id,
            seq: self.seq,
            at: self.at,
            model: model.clone(),
            source,
            rows,
            metrics,
            message,
            drift: None,
        });
    }

    /// A drift point, with its report for the `data_drift` rules.
    fn drift_point(&mut self, model: &ModelId, point: drift::DriftPoint) {
        let message = format!("{model}: {}", point.message);
        let rows = point.report.window_rows;
        self.point(model, QualitySource::Drift, rows, point.values, message);
        if let Some(last) = self.out.last_mut() {
            last.drift = Some(std::sync::Arc::new(point.report));
        }
    }
}

/// The quality state of every model that sent predictions or labels.
#[derive(Clone, Debug)]
pub struct QualityTracker {
    pub(crate) config: Arc<Config>,
    pub(crate) models: BTreeMap<String, ModelTraffic>,
}

impl QualityTracker {
    /// A tracker with no traffic seen.
    pub fn new(config: Arc<Config>) -> QualityTracker {
        QualityTracker {
            config,
            models: BTreeMap::new(),
        }
    }

    /// Takes a prediction; appends the points it completes to `out`.
    pub fn on_prediction(
        &mut self,
        seq: u64,
        at: Timestamp,
        prediction: &Prediction,
        out: &mut Vec<QualityPoint>,
    ) {
        let config = self.config.clone();
        let Some((_, settings)) = config.models.settings_for(&prediction.model.name) else {
            return;
        };
        let traffic = self
            .models
            .entry(prediction.model.name.clone())
            .or_insert_with(ModelTraffic::new);
        let mut emit = Emitter { seq, at, out };
        traffic.advance(at.as_nanos(), settings, &mut emit);
        let Some((output, score, row)) = encode_prediction(traffic, settings, prediction) else {
            traffic.counts.unusable += 1;
            return;
        };
        let instance = traffic.instance(&prediction.model);
        let key = id_key(&prediction.id);
        let pending = Pending::new(key, at.as_nanos(), instance, output, score);
        if !traffic.join.insert(pending) {
            traffic.counts.duplicates += 1;
            return;
        }
        traffic.counts.predictions += 1;
        if let Some(row) = row {
            traffic.rows.insert(key, row);
        }
        if let Some(drift) = &settings.drift {
            observe_drift(traffic, instance as usize, drift, prediction, &mut emit);
        }
        if settings.task == Task::Binary && score != NO_SCORE {
            estimate(
                traffic,
                instance as usize,
                settings,
                (f64::from_bits(score), output == 1),
                &mut emit,
            );
        }
    }

    /// Takes a label; appends the points it completes to `out`.
    pub fn on_label(
        &mut self,
        seq: u64,
        at: Timestamp,
        label: &Label,
        out: &mut Vec<QualityPoint>,
    ) {
        let config = self.config.clone();
        let Some((_, settings)) = config.models.settings_for(&label.model) else {
            return;
        };
        let traffic = self
            .models
            .entry(label.model.clone())
            .or_insert_with(ModelTraffic::new);
        let mut emit = Emitter { seq, at, out };
        traffic.advance(at.as_nanos(), settings, &mut emit);
        let Some(truth) = encode_truth(traffic, settings, &label.value) else {
            traffic.counts.unusable += 1;
            return;
        };
        let key = id_key(&label.id);
        let Some(pending) = traffic.join.remove(&key) else {
            traffic.counts.unmatched += 1;
            return;
        };
        let row = traffic.rows.remove(&key);
        let index = pending.instance as usize;
        if at.as_nanos().saturating_sub(pending.time()) > horizon_nanos(settings) {
            traffic.counts.late += 1;
            traffic.instances[index].unlabeled += 1;
            traffic.coverage(index, settings, &mut emit);
            return;
        }
        traffic.counts.joined += 1;
        traffic.instances[index].labeled += 1;
        traffic.instances[index].realized.push(Joined {
            truth,
            output: pending.output(),
            score: pending.score(),
            row,
        });
        if traffic.instances[index].realized.len() >= settings.window as usize {
            realize(traffic, index, settings, &mut emit);
        }
        traffic.coverage(index, settings, &mut emit);
    }

    /// The counts of model `name`'s traffic, with how many predictions wait for labels.
    pub fn counts(&self, name: &str) -> Option<(TrafficCounts, usize)> {
        self.models
            .get(name)
            .map(|traffic| (traffic.counts, traffic.join.len()))
    }

    /// Every model's counts and pending predictions, by name.
    pub fn all_counts(&self) -> Vec<(&str, TrafficCounts, usize)> {
        self.models
            .iter()
            .map(|(name, traffic)| (name.as_str(), traffic.counts, traffic.join.len()))
            .collect()
    }

    /// Bytes the pending joins hold.
    pub fn pending_bytes(&self) -> usize {
        self.models
            .values()
            .map(|traffic| traffic.join.memory_bytes())
            .sum()
    }
}

/// Adds a prediction to its instance's drift window (with `first = N`, to its version's
/// reference until that is complete); compares a full window with the reference in force:
/// the model's uploaded one, else the config's file, else the version's first predictions.
fn observe_drift(
    traffic: &mut ModelTraffic,
    index: usize,
    settings: &DriftSettings,
    prediction: &Prediction,
    emit: &mut Emitter<'_>,
) {
    let given = match (&traffic.uploaded, &settings.reference) {
        (Some(uploaded), _) => Some(&uploaded.table),
        (None, ReferenceSource::File { table, .. }) => table.as_ref(),
        (None, ReferenceSource::First(_)) => None,
    };
    let version_at = match (given, settings.reference.first()) {
        (Some(_), _) => None,
        // A file not read (the engine alone, without the binary): nothing to compare with.
        (None, None) => return,
        (None, Some(first)) => {
            let version = &traffic.instances[index].model.version;
            let at = match traffic
                .drift_references
                .iter()
                .position(|(name, _)| name == version)
            {
                Some(at) => at,
                None => {
                    traffic
                        .drift_references
                        .push((version.clone(), Table::default()));
                    traffic.drift_references.len() - 1
                }
            };
            let reference = &mut traffic.drift_references[at].1;
            if reference.rows < first {
                reference.push(prediction);
                return;
            }
            Some(at)
        }
    };
    let window = &mut traffic.instances[index].drift;
    window.push(prediction);
    if window.rows < settings.window {
        return;
    }
    let window = std::mem::take(window);
    let reference = match (given, version_at) {
        (Some(table), _) => traffic.drift_prepared.get_given(table, settings),
        (None, Some(at)) => {
            let (version, table) = &traffic.drift_references[at];
            traffic.drift_prepared.get(version, table, settings)
        }
        (None, None) => return,
    };
    let point = drift::compare_prepared(reference, &window, settings);
    let model = traffic.instances[index].model.clone();
    traffic.instances[index].last_drift = Some(window);
    emit.drift_point(&model, point);
}

/// The realized window of instance `index` is full: its metrics, and the version's CBPE
/// reference if it has none yet.
fn realize(
    traffic: &mut ModelTraffic,
    index: usize,
    settings: &ModelSettings,
    emit: &mut Emitter<'_>,
) {
    let window = std::mem::take(&mut traffic.instances[index].realized);
    let values = window::realized(settings.task, &window, &traffic.classes);
    let model = traffic.instances[index].model.clone();
    let message = format!(
        "{model}: realized quality over {} labeled predictions: {}",
        window.len(),
        window::describe(&values)
    );
    emit.point(
        &model,
        QualitySource::Realized,
        window.len() as u32,
        values,
        message,
    );
    if settings.task != Task::Binary {
        return;
    }
    let Some(slot) = traffic
        .versions
        .iter_mut()
        .find(|(version, _)| *version == model.version)
    else {
        return;
    };
    if slot.1.is_some() || window.iter().any(|row| row.score == NO_SCORE) {
        return;
    }
    let scores: Vec<f64> = window.iter().map(|row| f64::from_bits(row.score)).collect();
    let y_true: Vec<bool> = window.iter().map(|row| row.truth == 1).collect();
    slot.1 = Reference::fit(&scores, &y_true, calibration(settings));
}

fn calibration(settings: &ModelSettings) -> cbpe::Calibration {
    match settings.calibration {
        crate::config::CalibrationSetting::Auto => cbpe::Calibration::Auto,
        crate::config::CalibrationSetting::Isotonic => cbpe::Calibration::Isotonic,
        crate::config::CalibrationSetting::None => cbpe::Calibration::None,
    }
}

/// Adds a scored prediction to instance `index`'s estimation window; estimates when full.
fn estimate(
    traffic: &mut ModelTraffic,
    index: usize,
    settings: &ModelSettings,
    row: (f64, bool),
    emit: &mut Emitter<'_>,
) {
    traffic.instances[index].estimate.push(row);
    if traffic.instances[index].estimate.len() < settings.window as usize {
        return;
    }
    let window = std::mem::take(&mut traffic.instances[index].estimate);
    let model = traffic.instances[index].model.clone();
    let Some(reference) = traffic.reference(&model.version) else {
        return;
    };
    let scores: Vec<f64> = window.iter().map(|(score, _)| *score).collect();
    let y_pred: Vec<bool> = window.iter().map(|(_, output)| *output).collect();
    let values = window::finish(cbpe::estimate(reference, &scores, &y_pred));
    let message = format!(
        "{model}: estimated quality (CBPE) over {} predictions: {}",
        window.len(),
        window::describe(&values)
    );
    emit.point(
        &model,
        QualitySource::Estimated,
        window.len() as u32,
        values,
        message,
    );
}

/// A multiclass prediction's scores: class index and probability, sorted by class index.
type ScoreRow = Vec<(u32, f64)>;

/// A prediction's output, score and score row as the join keeps them; `None` when it does not
/// fit the task.
fn encode_prediction(
    traffic: &mut ModelTraffic,
    settings: &ModelSettings,
    prediction: &Prediction,
) -> Option<(u64, u64, Option<ScoreRow>)> {
    match settings.task {
        Task::Binary => {
            let positive = settings.positive.as_deref()?;
            let output = u64::from(prediction.output.class()? == positive);
            let score = prediction
                .score
                .or_else(|| prediction.score_of(positive))
                .map_or(NO_SCORE, f64::to_bits);
            Some((output, score, None))
        }
        Task::Multiclass => {
            let class = prediction.output.class()?;
            let output = u64::from(traffic.class(&class));
            let row = prediction.scores.as_ref().map(|scores| {
                let mut row: Vec<(u32, f64)> = scores
                    .iter()
                    .map(|(class, value)| (traffic.class(class), *value))
                    .collect();
                row.sort_by_key(|(class, _)| *class);
                row
            });
            Some((output, NO_SCORE, row))
        }
        Task::Regression => {
            let value = prediction.output.number()?;
            Some((value.to_bits(), NO_SCORE, None))
        }
    }
}

/// A label's value as the join keeps it; `None` when it does not fit the task.
fn encode_truth(
    traffic: &mut ModelTraffic,
    settings: &ModelSettings,
    value: &Outcome,
) -> Option<u64> {
    match settings.task {
        Task::Binary => Some(u64::from(value.class()? == settings.positive.as_deref()?)),
        Task::Multiclass => {
            let class = value.class()?;
            Some(u64::from(traffic.class(&class)))
        }
        Task::Regression => value.number().map(f64::to_bits),
    }
}
