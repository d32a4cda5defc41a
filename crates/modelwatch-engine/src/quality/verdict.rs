//! What one drift window found, column by column: the structure `data_drift` rules read and
//! their alerts explain (`docs/drift.md`).

use crate::config::DriftCorrection;
use crate::drift::{ColumnType, Method};

/// A drift window compared with its reference.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftReport {
    /// Rows in the reference.
    pub reference_rows: u32,
    /// Rows in the window.
    pub window_rows: u32,
    /// Every reference column, in name order.
    pub columns: Vec<ColumnVerdict>,
    /// The share of drifted columns among the scored ones; `None` when none was scored.
    pub share: Option<f64>,
    /// The share at which the dataset drifted (`drift_share`).
    pub drift_share: f64,
    /// The options beyond Evidently that were in force.
    pub options: DriftOptions,
}

impl DriftReport {
    /// Whether the dataset drifted: some column was scored and the share reached
    /// `drift_share`.
    pub fn dataset_drifted(&self) -> bool {
        self.share.is_some_and(|share| share >= self.drift_share)
    }

    /// The scored columns, with their names, in name order.
    pub fn scored(&self) -> impl Iterator<Item = (&str, &ColumnScore)> {
        self.columns
            .iter()
            .filter_map(|verdict| match &verdict.outcome {
                ColumnOutcome::Scored(score) => Some((verdict.column.as_str(), score)),
                _ => None,
            })
    }

    /// The verdict on `column`, if the reference has it.
    pub fn column(&self, column: &str) -> Option<&ColumnVerdict> {
        self.columns.iter().find(|verdict| verdict.column == column)
    }
}

/// The options beyond Evidently a window was judged with (all off by default).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DriftOptions {
    /// Fewer present values than this in a column left it `not_enough_data` (0: off).
    pub min_samples: u32,
    /// Thresholds calibrated on the reference as mean ± k·σ: k.
    pub calibrate: Option<f64>,
    /// Multiple-testing control of the p-value columns.
    pub correction: DriftCorrection,
}

/// One column of a window.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnVerdict {
    /// The column's name (`prediction` for the model's output).
    pub column: String,
    /// Scored, or why not.
    pub outcome: ColumnOutcome,
}

/// How a column of a window came out.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnOutcome {
    /// The method gave a score.
    Scored(ColumnScore),
    /// Fewer present values than `drift_min_samples` on a side: nothing alerts on it.
    NotEnoughData {
        /// Present values in the reference.
        reference: u32,
        /// Present values in the window.
        current: u32,
    },
    /// Not scored: the column is not in the window, the reference has no value in it, or the
    /// method cannot score these values. In words.
    NotScored(String),
}

/// A scored column.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnScore {
    /// Numerical or categorical, as typed on the reference.
    pub column_type: ColumnType,
    /// The method that scored it.
    pub method: Method,
    /// Whether the method was Evidently's automatic choice (not named in the config).
    pub automatic: bool,
    /// A p-value or a distance, as [`Method::is_p_value`] says.
    pub score: f64,
    /// The threshold the decision used (after calibration and correction).
    pub threshold: f64,
    /// Whether the threshold was calibrated on the reference.
    pub calibrated: bool,
    /// Whether multiple-testing control changed the threshold or the decision.
    pub corrected: bool,
    /// Present values in the reference.
    pub reference_values: u32,
    /// Present values in the window.
    pub current_values: u32,
    /// The decision.
    pub drifted: bool,
}
