//! Data drift from traffic: each version's reference (its first N predictions' features and
//! output) and each instance's window of predictions, compared column by column with
//! `crate::drift` when the window is full (`docs/drift.md`). The output is a column named
//! `prediction`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::DriftSettings;
use crate::drift::{Category, ColumnType, Sample, auto_method, score};
use crate::metric::DRIFT_PREFIX;
use crate::output::short_number;
use crate::traffic::{Feature, Outcome, Prediction};

/// The column the model's output is compared in.
pub const PREDICTION_COLUMN: &str = "prediction";

/// One value of a column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) enum Cell {
    Missing,
    Number(f64),
    Bool(bool),
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

    /// Whether every column has one cell per row (a snapshot read back must).
    pub(crate) fn is_consistent(&self) -> bool {
        self.columns
            .values()
            .all(|column| column.len() == self.rows as usize)
    }
}

/// The values of a drift point and its sentence.
pub(crate) struct DriftPoint {
    pub(crate) values: Vec<(String, f64)>,
    pub(crate) message: String,
}

/// Compares `window` with `reference`, column by column in name order.
pub(crate) fn compare(reference: &Table, window: &Table, settings: &DriftSettings) -> DriftPoint {
    let mut values = Vec::new();
    let mut notes = Vec::new();
    let mut drifted = Vec::new();
    let mut scored = 0usize;
    for (name, reference_cells) in &reference.columns {
        let Some(current_cells) = window.columns.get(name) else {
            notes.push(format!("{name}: not in the window"));
            continue;
        };
        match column_score(name, reference_cells, current_cells, settings) {
            Ok((method, score, threshold, is_drifted)) => {
                scored += 1;
                values.push((format!("{DRIFT_PREFIX}{name}"), score));
                if is_drifted {
                    drifted.push(format!(
                        "{name} ({method} {} against {})",
                        short_number(score),
                        short_number(threshold)
                    ));
                }
            }
            Err(note) => notes.push(format!("{name}: {note}")),
        }
    }
    let share = (scored > 0).then(|| drifted.len() as f64 / scored as f64);
    if let Some(share) = share {
        values.push(("drift_score".to_string(), share));
    }
    values.sort_by(|a, b| a.0.cmp(&b.0));
    let mut message = format!(
        "data drift over {} predictions against a reference of {}: {} of {scored} columns drifted",
        window.rows,
        reference.rows,
        drifted.len()
    );
    if !drifted.is_empty() {
        message.push_str(&format!(": {}", drifted.join(", ")));
    }
    if let Some(share) = share
        && share >= settings.share
    {
        message.push_str(&format!(
            "; the dataset drifted (share {} >= {})",
            short_number(share),
            short_number(settings.share)
        ));
    }
    if !notes.is_empty() {
        message.push_str(&format!("; not scored: {}", notes.join("; ")));
    }
    DriftPoint { values, message }
}

/// One column's method, score, threshold and decision, or why it has none.
fn column_score(
    name: &str,
    reference: &[Cell],
    current: &[Cell],
    settings: &DriftSettings,
) -> Result<(&'static str, f64, f64, bool), String> {
    let present = reference.iter().filter(|cell| **cell != Cell::Missing);
    let numerical =
        present.clone().count() > 0 && present.clone().all(|cell| matches!(cell, Cell::Number(_)));
    let column_type = if numerical {
        ColumnType::Numerical
    } else {
        ColumnType::Categorical
    };
    let (method, value) = match column_type {
        ColumnType::Numerical => {
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
            let mut union: Vec<f64> = r.iter().chain(&c).copied().collect();
            union.sort_by(f64::total_cmp);
            union.dedup();
            let method = settings
                .method_for(name)
                .unwrap_or_else(|| auto_method(column_type, r.len(), union.len()));
            let value = score(method, &Sample::Numerical(&r), &Sample::Numerical(&c));
            (method, value)
        }
        ColumnType::Categorical => {
            let categories = |cells: &[Cell]| -> Vec<Category> {
                cells.iter().filter_map(Cell::category).collect()
            };
            let (r, c) = (categories(reference), categories(current));
            let mut union: Vec<&Category> = r.iter().chain(&c).collect();
            union.sort();
            union.dedup();
            let method = settings
                .method_for(name)
                .unwrap_or_else(|| auto_method(column_type, r.len(), union.len()));
            let value = score(method, &Sample::Categorical(&r), &Sample::Categorical(&c));
            (method, value)
        }
    };
    let value = value.map_err(|error| error.to_string())?;
    let threshold = method.default_threshold();
    Ok((
        method.name(),
        value,
        threshold,
        method.drifted(value, threshold),
    ))
}
