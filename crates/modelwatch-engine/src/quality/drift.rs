//! Data drift from traffic: each version's reference (its first N predictions' features and
//! output) and each instance's window of predictions, compared column by column with
//! `crate::drift` when the window is full (`docs/drift.md`). The output is a column named
//! `prediction`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{DriftCorrection, DriftSettings};
use crate::drift::{Category, ColumnType, Method, Sample, auto_method, score};
use crate::metric::DRIFT_PREFIX;
use crate::output::short_number;

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

    fn category(&self) -> Option<Category> {
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

/// Compares `window` with `reference`, column by column in name order.
pub(crate) fn compare(reference: &Table, window: &Table, settings: &DriftSettings) -> DriftPoint {
    let columns: Vec<ColumnVerdict> = reference
        .columns
        .iter()
        .map(|(name, reference_cells)| ColumnVerdict {
            column: name.clone(),
            outcome: judge_column(name, reference_cells, window, settings),
        })
        .collect();
    let mut report = DriftReport {
        reference_rows: reference.rows,
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
    let scored: Vec<(&str, &ColumnScore)> = scored(&report.columns).collect();
    if !scored.is_empty() {
        let drifted = scored.iter().filter(|(_, score)| score.drifted).count();
        report.share = Some(drifted as f64 / scored.len() as f64);
    }
    let mut values: Vec<(String, f64)> = scored
        .iter()
        .map(|(name, column)| (format!("{DRIFT_PREFIX}{name}"), column.score))
        .collect();
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

/// The scored columns of a report, with their names.
fn scored(columns: &[ColumnVerdict]) -> impl Iterator<Item = (&str, &ColumnScore)> {
    columns.iter().filter_map(|verdict| match &verdict.outcome {
        ColumnOutcome::Scored(score) => Some((verdict.column.as_str(), score)),
        _ => None,
    })
}

/// One column of the window against the reference: its method, score, threshold and decision.
fn judge_column(
    name: &str,
    reference_cells: &[Cell],
    window: &Table,
    settings: &DriftSettings,
) -> ColumnOutcome {
    let Some(current_cells) = window.columns.get(name) else {
        return ColumnOutcome::NotScored("not in the window".to_string());
    };
    let present = |cells: &[Cell]| cells.iter().filter(|cell| **cell != Cell::Missing).count();
    let (reference_present, current_present) = (present(reference_cells), present(current_cells));
    let min = settings.min_samples as usize;
    if reference_present < min || current_present < min {
        return ColumnOutcome::NotEnoughData {
            reference: reference_present as u32,
            current: current_present as u32,
        };
    }
    let Some(column) = column_samples(reference_cells, current_cells, settings.type_for(name))
    else {
        return ColumnOutcome::NotScored(match settings.type_for(name) {
            Some(ColumnType::Numerical) => {
                "no number in the reference (declared numerical)".to_string()
            }
            _ => "no value in the reference".to_string(),
        });
    };
    let column_type = column.column_type;
    let named = settings.method_for(name);
    let method = named.unwrap_or_else(|| {
        auto_method(column.column_type, column.reference_len(), column.n_unique)
    });
    // Evidently's automatic choice gives chisquare or z to a numerical column with few
    // values and runs it on the values as categories; a method named for a column of the
    // wrong type is refused, as Evidently refuses it.
    let column = if named.is_none() && !method.allows(column.column_type) {
        column.into_categories()
    } else {
        column
    };
    let score = match score(method, &column.reference(), &column.current()) {
        Ok(score) => score,
        Err(error) => return ColumnOutcome::NotScored(error.to_string()),
    };
    let (threshold, calibrated) = match settings.calibrate {
        Some(k) => match calibrated_threshold(method, &column, window.rows as usize, k) {
            Some(threshold) => (threshold, true),
            None => (method.default_threshold(), false),
        },
        None => (method.default_threshold(), false),
    };
    let drifted = if calibrated {
        // Calibrated: drifted when the score is past the threshold in the method's bad
        // direction (strictly).
        if method.is_p_value() {
            score < threshold
        } else {
            score > threshold
        }
    } else {
        method.drifted(score, threshold)
    };
    ColumnOutcome::Scored(ColumnScore {
        column_type,
        method,
        automatic: named.is_none(),
        score,
        threshold,
        calibrated,
        corrected: false,
        reference_values: column.reference_len() as u32,
        current_values: column.current().len() as u32,
        drifted,
    })
}

/// The point's sentence: what drifted, the dataset decision, and the options applied.
fn sentence(report: &DriftReport, correction_note: Option<String>) -> String {
    let scored: Vec<(&str, &ColumnScore)> = scored(&report.columns).collect();
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

/// A column's two samples, typed as Evidently types them: numerical when every value present
/// in the reference is a number.
struct ColumnSamples {
    column_type: ColumnType,
    numbers: (Vec<f64>, Vec<f64>),
    categories: (Vec<Category>, Vec<Category>),
    n_unique: usize,
}

impl ColumnSamples {
    fn reference(&self) -> Sample<'_> {
        match self.column_type {
            ColumnType::Numerical => Sample::Numerical(&self.numbers.0),
            ColumnType::Categorical => Sample::Categorical(&self.categories.0),
        }
    }

    fn current(&self) -> Sample<'_> {
        match self.column_type {
            ColumnType::Numerical => Sample::Numerical(&self.numbers.1),
            ColumnType::Categorical => Sample::Categorical(&self.categories.1),
        }
    }

    fn reference_len(&self) -> usize {
        self.reference().len()
    }

    /// A numerical column's values as categories (numbers), for the tests of categories.
    fn into_categories(self) -> ColumnSamples {
        let to = |numbers: &[f64]| numbers.iter().map(|n| Category::Number(*n)).collect();
        ColumnSamples {
            column_type: ColumnType::Categorical,
            categories: (to(&self.numbers.0), to(&self.numbers.1)),
            numbers: (Vec::new(), Vec::new()),
            n_unique: self.n_unique,
        }
    }
}

fn column_samples(
    reference: &[Cell],
    current: &[Cell],
    declared: Option<ColumnType>,
) -> Option<ColumnSamples> {
    let present: Vec<&Cell> = reference
        .iter()
        .filter(|cell| **cell != Cell::Missing)
        .collect();
    if present.is_empty() {
        return None;
    }
    let numerical = match declared {
        Some(column_type) => column_type == ColumnType::Numerical,
        None => present.iter().all(|cell| matches!(cell, Cell::Number(_))),
    };
    if numerical {
        // A value of the window that is not a number counts as missing in a numerical column.
        let numbers = |cells: &[Cell]| -> Vec<f64> {
            cells
                .iter()
                .filter_map(|cell| match cell {
                    Cell::Number(number) => Some(*number),
                    _ => None,
                })
                .collect()
        };
        let (r, c) = (numbers(reference), numbers(current));
        if r.is_empty() {
            // Declared numerical, with no number in the reference.
            return None;
        }
        let mut union: Vec<f64> = r.iter().chain(&c).copied().collect();
        union.sort_by(f64::total_cmp);
        union.dedup();
        return Some(ColumnSamples {
            column_type: ColumnType::Numerical,
            n_unique: union.len(),
            numbers: (r, c),
            categories: (Vec::new(), Vec::new()),
        });
    }
    let categories =
        |cells: &[Cell]| -> Vec<Category> { cells.iter().filter_map(Cell::category).collect() };
    let (r, c) = (categories(reference), categories(current));
    let mut union: Vec<&Category> = r.iter().chain(&c).collect();
    union.sort();
    union.dedup();
    let n_unique = union.len();
    Some(ColumnSamples {
        column_type: ColumnType::Categorical,
        n_unique,
        numbers: (Vec::new(), Vec::new()),
        categories: (r, c),
    })
}

/// NannyML's way: the scores of the reference's own consecutive windows of `size` values
/// against the whole reference; mean + k·σ for a distance, mean − k·σ (at least 0) for a
/// p-value. `None` with fewer than two windows or a score that fails.
fn calibrated_threshold(
    method: Method,
    column: &ColumnSamples,
    size: usize,
    k: f64,
) -> Option<f64> {
    let size = size.max(1);
    let reference = column.reference();
    let mut scores = Vec::new();
    match reference {
        Sample::Numerical(values) => {
            for chunk in values.chunks_exact(size) {
                scores.push(score(method, &reference, &Sample::Numerical(chunk)).ok()?);
            }
        }
        Sample::Categorical(values) => {
            for chunk in values.chunks_exact(size) {
                scores.push(score(method, &reference, &Sample::Categorical(chunk)).ok()?);
            }
        }
    }
    if scores.len() < 2 {
        return None;
    }
    let n = scores.len() as f64;
    let mean = scores.iter().sum::<f64>() / n;
    let sigma = (scores.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / n).sqrt();
    Some(if method.is_p_value() {
        (mean - k * sigma).max(0.0)
    } else {
        mean + k * sigma
    })
}
