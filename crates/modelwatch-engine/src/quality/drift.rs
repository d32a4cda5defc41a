//! Data drift from traffic: each version's reference (its first N predictions' features and
//! output) and each instance's window of predictions, compared column by column with
//! `crate::drift` when the window is full (`docs/drift.md`). The output is a column named
//! `prediction`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{DriftCorrection, DriftSettings};
use crate::drift::Category;
use crate::metric::DRIFT_PREFIX;
use crate::output::short_number;

use super::prepared::PreparedReference;
use super::verdict::{ColumnOutcome, ColumnScore, ColumnVerdict, DriftOptions, DriftReport};
use crate::traffic::{Feature, Outcome, Prediction};

/// The column the model's output is compared in.
pub const PREDICTION_COLUMN: &str = "prediction";

/// One value of a column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Cell {
    /// No value (a JSON null, an empty CSV cell).
    Missing,
    /// A number (finite).
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// Text.
    Text(String),
}

impl Cell {
    fn of_feature(feature: &Feature) -> Cell {
        match feature {
            Feature::Null => Cell::Missing,
            Feature::Number(number) => Cell::Number(*number),
            Feature::Bool(flag) => Cell::Bool(*flag),
            Feature::Text(text) => Cell::Text(text.clone()),
        }
    }

    fn of_outcome(outcome: &Outcome) -> Cell {
        match outcome {
            Outcome::Text(text) => Cell::Text(text.clone()),
            Outcome::Integer(number) => Cell::Number(*number as f64),
            Outcome::Bool(flag) => Cell::Bool(*flag),
            Outcome::Number(number) => Cell::Number(*number),
        }
    }

    /// Whether a reference column of these cells is numerical as Evidently types it: every
    /// value present is a number (a column with no value present counts as numerical).
    pub(crate) fn all_numbers(cells: &[Cell]) -> bool {
        cells
            .iter()
            .all(|cell| matches!(cell, Cell::Missing | Cell::Number(_)))
    }

    pub(super) fn category(&self) -> Option<Category> {
        match self {
            Cell::Missing => None,
            Cell::Number(number) => Some(Category::Number(*number)),
            Cell::Bool(flag) => Some(Category::Bool(*flag)),
            Cell::Text(text) => Some(Category::Text(text.clone())),
        }
    }
}

/// Rows of predictions by column: the features and the output.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Table {
    pub(crate) rows: u32,
    pub(crate) columns: BTreeMap<String, Vec<Cell>>,
}

impl Table {
    /// Adds a prediction's row: a column it lacks is missing in it, a new column is missing in
    /// the rows before.
    pub(crate) fn push(&mut self, prediction: &Prediction) {
        let rows = self.rows as usize;
        let mut put = |name: &str, cell: Cell| {
            let column = match self.columns.get_mut(name) {
                Some(column) => column,
                None => self
                    .columns
                    .entry(name.to_string())
                    .or_insert_with(|| vec![Cell::Missing; rows]),
            };
            column.push(cell);
        };
        for (name, feature) in prediction.features.iter().flatten() {
            put(name, Cell::of_feature(feature));
        }
        put(PREDICTION_COLUMN, Cell::of_outcome(&prediction.output));
        self.rows += 1;
        let rows = self.rows as usize;
        for column in self.columns.values_mut() {
            if column.len() < rows {
                column.push(Cell::Missing);
            }
        }
    }

    /// The bytes the table holds: its cells, their text and its column names (map nodes
    /// counted as one entry each).
    pub(crate) fn memory_bytes(&self) -> usize {
        self.columns
            .iter()
            .map(|(name, cells)| {
                size_of::<(String, Vec<Cell>)>()
                    + name.capacity()
                    + cells.capacity() * size_of::<Cell>()
                    + cells
                        .iter()
                        .map(|cell| match cell {
                            Cell::Text(text) => text.capacity(),
                            _ => 0,
                        })
                        .sum::<usize>()
            })
            .sum()
    }

    /// A table of whole columns, each `rows` cells long (the caller checked that).
    pub(crate) fn from_columns(rows: u32, columns: BTreeMap<String, Vec<Cell>>) -> Table {
        Table { rows, columns }
    }

    /// Whether every column has one cell per row (a snapshot read back must).
    pub(crate) fn is_consistent(&self) -> bool {
        self.columns
            .values()
            .all(|column| column.len() == self.rows as usize)
    }
}

/// The values of a drift point, its sentence, and the column-by-column report.
pub(crate) struct DriftPoint {
    pub(crate) values: Vec<(String, f64)>,
    pub(crate) message: String,
    pub(crate) report: DriftReport,
}

/// Compares `window` with a prepared reference, column by column in name order.
pub(crate) fn compare_prepared(
    reference: &mut PreparedReference,
    window: &Table,
    settings: &DriftSettings,
) -> DriftPoint {
    let columns = reference.judge(window, settings);
    let mut report = DriftReport {
        reference_rows: reference.rows(),
        window_rows: window.rows,
        columns,
        share: None,
        drift_share: settings.share,
        options: DriftOptions {
            min_samples: settings.min_samples,
            calibrate: settings.calibrate,
            correction: settings.correction,
        },
    };
    let correction_note = correct(&mut report.columns, settings.correction);
    let mut values: Vec<(String, f64)> = report
        .scored()
        .map(|(name, column)| (format!("{DRIFT_PREFIX}{name}"), column.score))
        .collect();
    let drifted = report.scored().filter(|(_, column)| column.drifted).count();
    report.share = (!values.is_empty()).then(|| drifted as f64 / values.len() as f64);
    if let Some(share) = report.share {
        values.push(("drift_score".to_string(), share));
    }
    values.sort_by(|a, b| a.0.cmp(&b.0));
    let message = sentence(&report, correction_note);
    DriftPoint {
        values,
        message,
        report,
    }
}

/// The point's sentence: what drifted, the dataset decision, and the options applied.
fn sentence(report: &DriftReport, correction_note: Option<String>) -> String {
    let scored: Vec<(&str, &ColumnScore)> = report.scored().collect();
    let drifted: Vec<&(&str, &ColumnScore)> =
        scored.iter().filter(|(_, column)| column.drifted).collect();
    let mut message = format!(
        "data drift over {} predictions against a reference of {}: {} of {} columns drifted",
        report.window_rows,
        report.reference_rows,
        drifted.len(),
        scored.len()
    );
    if !drifted.is_empty() {
        let list: Vec<String> = drifted
            .iter()
            .map(|(name, column)| {
                format!(
                    "{} ({} {} against {}{})",
                    name,
                    column.method.name(),
                    short_number(column.score),
                    short_number(column.threshold),
                    if column.calibrated {
                        ", calibrated"
                    } else {
                        ""
                    }
                )
            })
            .collect();
        message.push_str(&format!(": {}", list.join(", ")));
    }
    if let Some(share) = report.share
        && report.dataset_drifted()
    {
        message.push_str(&format!(
            "; the dataset drifted (share {} >= {})",
            short_number(share),
            short_number(report.drift_share)
        ));
    }
    if let Some(k) = report.options.calibrate {
        message.push_str(&format!(
            "; thresholds calibrated on the reference (mean ± {}σ of its windows)",
            short_number(k)
        ));
    }
    if let Some(note) = correction_note {
        message.push_str(&format!("; {note}"));
    }
    let notes: Vec<String> = report
        .columns
        .iter()
        .filter_map(|verdict| match &verdict.outcome {
            ColumnOutcome::Scored(column) => (report.options.calibrate.is_some()
                && !column.calibrated)
                .then(|| {
                    format!(
                        "{}: threshold not calibrated (the reference holds fewer than two windows of {} values)",
                        verdict.column, report.window_rows
                    )
                }),
            ColumnOutcome::NotEnoughData { .. } => Some(format!(
                "{}: not_enough_data (fewer than {} values, drift_min_samples)",
                verdict.column, report.options.min_samples
            )),
            ColumnOutcome::NotScored(reason) => Some(format!("{}: {reason}", verdict.column)),
        })
        .collect();
    if !notes.is_empty() {
        message.push_str(&format!("; not scored: {}", notes.join("; ")));
    }
    message
}

/// Applies multiple-testing control to the p-value columns that kept their own threshold;
/// says what it did.
fn correct(columns: &mut [ColumnVerdict], correction: DriftCorrection) -> Option<String> {
    let mut tested: Vec<&mut ColumnScore> = columns
        .iter_mut()
        .filter_map(|verdict| match &mut verdict.outcome {
            ColumnOutcome::Scored(column) if column.method.is_p_value() && !column.calibrated => {
                Some(column)
            }
            _ => None,
        })
        .collect();
    let m = tested.len();
    if m == 0 {
        return None;
    }
    match correction {
        DriftCorrection::None => None,
        DriftCorrection::Bonferroni => {
            for column in &mut tested {
                column.threshold /= m as f64;
                column.drifted = column.method.drifted(column.score, column.threshold);
                column.corrected = true;
            }
            Some(format!("Bonferroni over {m} p-values"))
        }
        DriftCorrection::BenjaminiHochberg => {
            tested.sort_by(|a, b| a.score.total_cmp(&b.score));
            let passing = tested
                .iter()
                .enumerate()
                .filter(|(rank, column)| {
                    column.method.drifted(
                        column.score,
                        column.threshold * (rank + 1) as f64 / m as f64,
                    )
                })
                .map(|(rank, _)| rank + 1)
                .max()
                .unwrap_or(0);
            for (rank, column) in tested.iter_mut().enumerate() {
                column.threshold *= (rank + 1) as f64 / m as f64;
                column.drifted = rank < passing;
                column.corrected = true;
            }
            Some(format!("Benjamini-Hochberg over {m} p-values"))
        }
    }
}
