//! `[[models]]`: what modelwatch needs to know about a model to compute its quality from raw
//! traffic (predictions and labels): its task, its positive class, the window of labeled
//! predictions per point and how long labels may take.

use std::sync::Arc;

use super::Glob;
use crate::reference::ReferenceTable;

/// What a model predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Task {
    /// Two classes, one of them positive (`positive`).
    Binary,
    /// Several classes.
    Multiclass,
    /// A number.
    Regression,
}

impl Task {
    /// Every task, in the order the docs list them.
    pub const ALL: [Task; 3] = [Task::Binary, Task::Multiclass, Task::Regression];

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Binary => "binary",
            Task::Multiclass => "multiclass",
            Task::Regression => "regression",
        }
    }

    /// Whether outputs and labels are classes.
    pub fn is_classification(self) -> bool {
        !matches!(self, Task::Regression)
    }
}

/// How scores are calibrated before quality is estimated from them (binary models).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CalibrationSetting {
    /// As NannyML decides where its shortcuts apply (no calibration for a one-class reference
    /// or one whose ROC AUC is above 0.999), isotonic calibration otherwise.
    Auto,
    /// Always calibrate (isotonic regression on the reference).
    Isotonic,
    /// Take the scores as they are.
    None,
}

impl CalibrationSetting {
    /// Every setting, in the order the docs list them.
    pub const ALL: [CalibrationSetting; 3] = [
        CalibrationSetting::Auto,
        CalibrationSetting::Isotonic,
        CalibrationSetting::None,
    ];

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CalibrationSetting::Auto => "auto",
            CalibrationSetting::Isotonic => "isotonic",
            CalibrationSetting::None => "none",
        }
    }
}

/// The default `window`: labeled predictions per realized-quality point.
pub const DEFAULT_QUALITY_WINDOW: u32 = 500;

/// The largest `window` a model may have: a window's values are held in memory and in the
/// snapshot.
pub const MAX_QUALITY_WINDOW: u32 = 1_000_000;

/// The default `label_horizon_secs`: a week.
pub const DEFAULT_LABEL_HORIZON_SECS: u64 = 7 * 24 * 3600;

/// One `[[models]]` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSettings {
    /// The models it applies to (a glob over names). The first entry that matches applies.
    pub name: Glob,
    /// What the models predict.
    pub task: Task,
    /// Binary models: the positive class, as written in outputs and labels (a number or a
    /// boolean in the config stands for its JSON text: `1`, `true`).
    pub positive: Option<String>,
    /// Labeled predictions per realized-quality point, and predictions per estimated one.
    pub window: u32,
    /// Labels later than this after their prediction are dropped (and counted).
    pub label_horizon_secs: u64,
    /// How scores are calibrated for estimated quality (binary models).
    pub calibration: CalibrationSetting,
    /// Data drift of the features and the output against a reference, when configured.
    pub drift: Option<DriftSettings>,
}

/// The default `drift_window`: predictions per drift point of a model instance.
pub const DEFAULT_DRIFT_WINDOW: u32 = 1000;

/// The most rows a reference or a drift window may hold: they are kept in memory.
pub const MAX_DRIFT_ROWS: u32 = 1_000_000;

/// Data drift settings of a `[[models]]` entry (`docs/drift.md`).
#[derive(Clone, Debug, PartialEq)]
pub struct DriftSettings {
    /// Where the reference comes from (`reference = { first = N }` or `{ file = "..." }`). An
    /// uploaded reference replaces it for the model.
    pub reference: ReferenceSource,
    /// Predictions per drift point of a model instance (`drift_window`).
    pub window: u32,
    /// The share of drifted columns at which the dataset drifted (`drift_share`, default 0.5).
    pub share: f64,
    /// The method for every column (`drift_method`); Evidently's automatic choice when absent.
    pub method: Option<crate::drift::Method>,
    /// Methods for some columns by name (`drift_methods = { age = "ks" }`), sorted by column.
    pub methods: Vec<(String, crate::drift::Method)>,
    /// Beyond Evidently: fewer present values than this in a column's window leave it
    /// `not_enough_data` (`drift_min_samples`, default 0: off).
    pub min_samples: u32,
    /// Beyond Evidently: multiple-testing control of the p-value columns for the dataset
    /// decision and `drift_score` (`drift_correction`, default none).
    pub correction: DriftCorrection,
    /// Beyond Evidently: thresholds calibrated on the reference, mean ± k·σ of the scores of
    /// the reference's own windows (`drift_calibrate = k`; default off).
    pub calibrate: Option<f64>,
    /// Columns whose type is declared rather than taken from the reference
    /// (`drift_categorical`, `drift_numerical`), sorted by column.
    pub types: Vec<(String, crate::drift::ColumnType)>,
}

/// Where a model's drift reference comes from, in the config.
#[derive(Clone, Debug, PartialEq)]
pub enum ReferenceSource {
    /// The first this many predictions of each version (`reference = { first = N }`).
    First(u32),
    /// A CSV or JSON Lines file (`reference = { file = "path" }`), the path as written
    /// (relative to the config file's directory), and its rows once the binary has read them:
    /// the engine does no I/O. Until then no drift is computed from it.
    File {
        /// The path as written in the config.
        path: String,
        /// The rows, read by whoever loaded the config.
        table: Option<Arc<ReferenceTable>>,
    },
}

impl ReferenceSource {
    /// `N` of `reference = { first = N }`.
    pub fn first(&self) -> Option<u32> {
        match self {
            ReferenceSource::First(n) => Some(*n),
            ReferenceSource::File { .. } => None,
        }
    }

    /// The file's rows, once read.
    pub fn table(&self) -> Option<&ReferenceTable> {
        match self {
            ReferenceSource::First(_) => None,
            ReferenceSource::File { table, .. } => table.as_deref(),
        }
    }
}

/// Multiple-testing control across a window's p-value columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriftCorrection {
    /// Each column at its own threshold, as Evidently.
    None,
    /// Bonferroni: a p-value column drifts below threshold / m, m the p-value columns scored.
    Bonferroni,
    /// Benjamini-Hochberg: the k smallest p-values drift, k the largest with p(k) <= k/m·threshold.
    BenjaminiHochberg,
}

impl DriftCorrection {
    /// Every correction, in the order the docs list them.
    pub const ALL: [DriftCorrection; 3] = [
        DriftCorrection::None,
        DriftCorrection::Bonferroni,
        DriftCorrection::BenjaminiHochberg,
    ];

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DriftCorrection::None => "none",
            DriftCorrection::Bonferroni => "bonferroni",
            DriftCorrection::BenjaminiHochberg => "benjamini_hochberg",
        }
    }
}

impl DriftSettings {
    /// The method named for `column`, if any: its own, else the model's.
    pub fn method_for(&self, column: &str) -> Option<crate::drift::Method> {
        self.methods
            .binary_search_by(|(name, _)| name.as_str().cmp(column))
            .ok()
            .map(|index| self.methods[index].1)
            .or(self.method)
    }

    /// The type declared for `column`, if any; otherwise the reference decides (numerical
    /// when every value present in it is a number).
    pub fn type_for(&self, column: &str) -> Option<crate::drift::ColumnType> {
        self.types
            .binary_search_by(|(name, _)| name.as_str().cmp(column))
            .ok()
            .map(|index| self.types[index].1)
    }
}

/// The `[[models]]` section: the settings of each model that sends predictions and labels.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelsConfig {
    /// The entries, in file order.
    pub entries: Vec<ModelSettings>,
}

impl ModelsConfig {
    /// Caps every label horizon at `max_secs` (serve's retention: a prediction must not wait
    /// longer than its input is kept). Returns the entries it capped, as `(name glob, horizon)`
    /// before the cap.
    pub fn cap_horizons(&mut self, max_secs: u64) -> Vec<(String, u64)> {
        let mut capped = Vec::new();
        for entry in &mut self.entries {
            if entry.label_horizon_secs > max_secs {
                capped.push((entry.name.to_string(), entry.label_horizon_secs));
                entry.label_horizon_secs = max_secs.max(1);
            }
        }
        capped
    }

    /// Every `reference = { file = ... }`: the entry's name glob, the path as written, and the
    /// slot for its rows, which the binary fills when it loads the config.
    pub fn reference_files_mut(
        &mut self,
    ) -> impl Iterator<Item = (String, &str, &mut Option<Arc<ReferenceTable>>)> {
        self.entries.iter_mut().filter_map(|entry| {
            let name = entry.name.to_string();
            match entry.drift.as_mut().map(|drift| &mut drift.reference) {
                Some(ReferenceSource::File { path, table }) => Some((name, path.as_str(), table)),
                _ => None,
            }
        })
    }

    /// The settings for model `name` and their index: the first entry whose glob matches.
    pub fn settings_for(&self, name: &str) -> Option<(usize, &ModelSettings)> {
        self.entries
            .iter()
            .enumerate()
            .find(|(_, settings)| settings.name.matches(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_config;

    #[test]
    fn horizons_longer_than_the_cap_are_capped_and_named() {
        let text = r#"
[[models]]
name = "short"
task = "regression"
label_horizon_secs = 60

[[models]]
name = "long*"
task = "regression"
"#;
        let mut models = parse_config(text).unwrap().config.models;
        let capped = models.cap_horizons(3600);
        assert_eq!(
            capped,
            vec![("long*".to_string(), DEFAULT_LABEL_HORIZON_SECS)]
        );
        let horizons: Vec<u64> = models
            .entries
            .iter()
            .map(|e| e.label_horizon_secs)
            .collect();
        assert_eq!(horizons, [60, 3600]);
    }
}
