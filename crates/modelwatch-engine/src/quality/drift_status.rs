//! Where a model's drift stands, to show it (`GET /v1/models/{name}/drift`): per version and
//! instance, the open window's rows and what it needs, and the latest window compared with the
//! reference in force, column by column: the verdict (type, method, score, threshold,
//! decision) and the histograms of both sides as Evidently bins them
//! ([`crate::drift::histograms`]).
//!
//! The latest window is kept as rows (in the snapshot too) and judged again when asked, with
//! the prepared reference the windows use: the same operations on the same values, so the
//! verdict is the one the window's point carried, bit for bit; the histograms come from the
//! prepared reference too (sorted values, counts), so an answer costs work on the window
//! alone, whatever the reference's size.

use std::sync::Arc;

use crate::config::{DriftSettings, ReferenceSource};
use crate::drift::{ColumnType, Histograms};
use crate::event::ModelId;

use super::drift::{Table, compare_prepared};
use super::prepared::PreparedReference;
use super::tracker::{ModelTraffic, QualityTracker};
use super::verdict::DriftReport;

/// A model's drift: its settings' window, and each instance's windows.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftStatus {
    /// Predictions a window needs (`drift_window`).
    pub window: u32,
    /// The share of drifted columns at which the dataset drifted (`drift_share`).
    pub drift_share: f64,
    /// Under `first = N`: N (each version's reference is its first N predictions); `None`
    /// while an upload is in force.
    pub first: Option<u32>,
    /// Every instance that sent predictions, by version and instance.
    pub instances: Vec<InstanceDrift>,
}

/// One instance's drift.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceDrift {
    /// The model instance.
    pub model: ModelId,
    /// Predictions in the open window.
    pub open_rows: u32,
    /// Under `first = N`: the rows of the version's reference so far (its windows start once
    /// it holds N); `None` with an uploaded or file reference.
    pub reference_rows: Option<u32>,
    /// The latest window compared with the reference in force; `None` before the first.
    pub latest: Option<WindowDrift>,
}

/// A window compared with its reference, and what each column's comparison read.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowDrift {
    /// The verdicts, as the window's point carried them.
    pub report: DriftReport,
    /// Per column of the report, in its order: the type compared and the two sides'
    /// histograms (`None` when a side has no value).
    pub columns: Vec<(ColumnType, Option<Histograms>)>,
}

impl QualityTracker {
    /// Model `name`'s drift; `None` when it has no drift settings. Takes `&mut self` for the
    /// prepared references, which it prepares if a restart left them unprepared (derived
    /// state: nothing the engine's outputs depend on changes).
    pub fn drift_status(&mut self, name: &str) -> Option<DriftStatus> {
        let config = Arc::clone(&self.config);
        let (_, settings) = config.models.settings_for(name)?;
        let settings = settings.drift.as_ref()?;
        let uploaded = (self.models.get(name)).is_some_and(|traffic| traffic.uploaded.is_some());
        let mut instances = match self.models.get_mut(name) {
            Some(traffic) => instances(traffic, settings),
            None => Vec::new(),
        };
        instances.sort_by(|a, b| {
            (&a.model.version, &a.model.instance).cmp(&(&b.model.version, &b.model.instance))
        });
        Some(DriftStatus {
            window: settings.window,
            drift_share: settings.share,
            first: settings.reference.first().filter(|_| !uploaded),
            instances,
        })
    }
}

/// Every instance of a model's traffic, with its latest window judged again.
fn instances(traffic: &mut ModelTraffic, settings: &DriftSettings) -> Vec<InstanceDrift> {
    let given = match (&traffic.uploaded, &settings.reference) {
        (Some(uploaded), _) => Some(uploaded.table.clone()),
        (None, ReferenceSource::File { table, .. }) => table.clone(),
        (None, ReferenceSource::First(_)) => None,
    };
    let mut out = Vec::with_capacity(traffic.instances.len());
    for index in 0..traffic.instances.len() {
        let instance = &traffic.instances[index];
        let model = instance.model.clone();
        let open_rows = instance.drift.rows;
        let version_at =
            (traffic.drift_references.iter()).position(|(version, _)| *version == model.version);
        let reference_rows = match &given {
            Some(_) => None,
            None => Some(version_at.map_or(0, |at| traffic.drift_references[at].1.rows)),
        };
        let latest = match (&traffic.instances[index].last_drift, &given, version_at) {
            (None, _, _) => None,
            (Some(window), Some(table), _) => {
                let prepared = traffic.drift_prepared.get_given(table, settings);
                Some(window_drift(prepared, window, settings))
            }
            (Some(window), None, Some(at)) => {
                let (version, table) = &traffic.drift_references[at];
                let prepared = traffic.drift_prepared.get(version, table, settings);
                Some(window_drift(prepared, window, settings))
            }
            // A window without its version's reference: a file the engine was not given.
            (Some(_), None, None) => None,
        };
        out.push(InstanceDrift {
            model,
            open_rows,
            reference_rows,
            latest,
        });
    }
    out
}

/// `window` judged again against its prepared reference, with each column's histograms.
fn window_drift(
    prepared: &mut PreparedReference,
    window: &Table,
    settings: &DriftSettings,
) -> WindowDrift {
    let report = compare_prepared(prepared, window, settings).report;
    WindowDrift {
        report,
        columns: prepared.histograms(window),
    }
}
