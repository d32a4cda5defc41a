//! One column's drift, as Evidently's `get_one_column_drift` computes it: its type, its
//! values without missing ones, the method (named, or Evidently's automatic choice), the
//! threshold, the engine's score and the decision; the columns shared among the cores.

use std::collections::HashSet;

use anyhow::{Result, anyhow, bail};
use modelwatch_engine::drift::prepared::{ExactKsCache, PreparedNumbers};
use modelwatch_engine::drift::{
    self, Category, ColumnType, DriftError, Method, PreparedColumn, Sample, auto_method,
};
use serde::Serialize;

use super::typing::{self, Declared, Order};
use modelwatch::tabular::raw::RawTable;

/// What the flags say about every column.
#[derive(Debug)]
pub(super) struct Options {
    pub method: Option<Method>,
    pub threshold: Option<f64>,
    pub categorical: HashSet<String>,
    pub numerical: HashSet<String>,
}

/// One column's line of the report.
#[derive(Debug, Serialize)]
pub(super) struct ColumnDrift {
    pub column: String,
    #[serde(rename = "type")]
    pub column_type: &'static str,
    pub method: &'static str,
    pub score: f64,
    pub threshold: f64,
    pub drifted: bool,
    /// Why the score is missing, for standard error.
    #[serde(skip)]
    pub warning: Option<String>,
}

/// The drift of every column of `reference`, in its order; `current` has the same columns in
/// the same order. The columns are shared among the available cores.
///
/// # Errors
///
/// The first column, in file order, that cannot be scored (see [`assess`]).
pub(super) fn assess_all(
    reference: &RawTable,
    current: &RawTable,
    options: &Options,
) -> Result<Vec<ColumnDrift>> {
    let columns = reference.names.len();
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(columns)
        .max(1);
    let mut results: Vec<(usize, Result<ColumnDrift>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                scope.spawn(move || {
                    (worker..columns)
                        .step_by(workers)
                        .map(|column| (column, assess(reference, current, column, options)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| match handle.join() {
                Ok(results) => results,
                Err(_) => vec![(0, Err(anyhow!("a column's computation panicked")))],
            })
            .collect()
    });
    results.sort_by_key(|(column, _)| *column);
    results.into_iter().map(|(_, result)| result).collect()
}

/// `method`'s score of two numerical samples, as [`drift::score`] (or
/// [`drift::score_floats`] when `floats`) gives it: through the engine's prepared reference,
/// which takes the samples' sorted values where this module has them.
fn score_numbers(
    method: Method,
    reference: typing::Numbers,
    current: &typing::Numbers,
    floats: bool,
) -> Result<f64, DriftError> {
    let prepared = PreparedColumn::Numerical(match reference.sorted {
        Some(sorted) => PreparedNumbers::with_sorted(reference.values, sorted),
        None => PreparedNumbers::new(reference.values),
    });
    let mut cache = ExactKsCache::default();
    match &current.sorted {
        Some(sorted) => prepared.score_sorted(method, &current.values, sorted, &mut cache, floats),
        None => prepared.score(
            method,
            &Sample::Numerical(&current.values),
            &mut cache,
            floats,
        ),
    }
}

/// The drift of column `column`.
///
/// # Errors
///
/// A value that is not a number in a numerical column (with its file, line and column), a
/// `--method` that does not apply to the column's type, or a column the method cannot score
/// (no value left on a side once missing values are removed, samples of unequal sizes for
/// g_test, ...). Where Evidently gives a NaN score, the score is NaN (printed as null), not
/// drifted, with a warning.
pub(super) fn assess(
    reference: &RawTable,
    current: &RawTable,
    column: usize,
    options: &Options,
) -> Result<ColumnDrift> {
    let name = &reference.names[column];
    let declared = if options.numerical.contains(name) {
        Declared::Numerical
    } else if options.categorical.contains(name) {
        Declared::Categorical
    } else {
        Declared::Auto
    };
    let column_type = typing::column_type(reference, column, declared);
    if let Some(method) = options.method
        && !method.allows(column_type)
    {
        bail!(
            "column {name:?} is {}: --method {} does not apply to {} columns",
            column_type.as_str(),
            method.name(),
            column_type.as_str()
        );
    }
    let (method, score) = match column_type {
        ColumnType::Numerical => {
            let why = if declared == Declared::Numerical {
                "declared with --numerical"
            } else {
                "every value in the reference is a number"
            };
            let reference_numbers = typing::numbers(reference, column, why)?;
            let current_numbers = typing::numbers(current, column, why)?;
            let method = options.method.unwrap_or_else(|| {
                let distinct =
                    typing::distinct_numbers(&reference_numbers.values, &current_numbers.values, 6);
                auto_method(
                    ColumnType::Numerical,
                    reference_numbers.values.len(),
                    distinct,
                )
            });
            // pandas reads a column with a missing cell, or a number written as a float
            // (`3.0`), as float64, where NumPy's Sturges width rule for integers does not apply.
            let floats = reference_numbers.floats || current_numbers.floats;
            let score = if method.allows(ColumnType::Numerical) {
                score_numbers(method, reference_numbers, &current_numbers, floats)
            } else {
                // Evidently's automatic choice gives chisquare or z to a numerical column with
                // few values, which then compares them as categories.
                let as_categories =
                    |values: &[f64]| values.iter().map(|&v| Category::Number(v)).collect();
                let reference_categories: Vec<Category> = as_categories(&reference_numbers.values);
                let current_categories: Vec<Category> = as_categories(&current_numbers.values);
                drift::score(
                    method,
                    &Sample::Categorical(&reference_categories),
                    &Sample::Categorical(&current_categories),
                )
            };
            (method, score)
        }
        ColumnType::Categorical => {
            let categories = typing::categories(reference, current, column);
            let method = options.method.unwrap_or_else(|| {
                auto_method(
                    ColumnType::Categorical,
                    categories.reference_len(),
                    categories.distinct,
                )
            });
            let order = if method.counts_only() {
                Order::Ranks
            } else {
                Order::Rows
            };
            let (reference_categories, current_categories) = categories.samples(order);
            let score = drift::score(
                method,
                &Sample::Categorical(&reference_categories),
                &Sample::Categorical(&current_categories),
            );
            (method, score)
        }
    };
    let (score, warning) = match score {
        Ok(score) => (score, None),
        // Where Evidently's score is NaN (a t-test of two constant samples, ...): no score, no
        // drift, as in its report.
        Err(error @ DriftError::Undefined { .. }) => (
            f64::NAN,
            Some(format!(
                "column {name:?}: {error}: no score (null), not drifted, as Evidently's NaN"
            )),
        ),
        Err(error) => bail!("column {name:?}: {error}"),
    };
    let threshold = options
        .threshold
        .unwrap_or_else(|| method.default_threshold());
    Ok(ColumnDrift {
        column: name.clone(),
        column_type: column_type.as_str(),
        method: method.name(),
        score,
        threshold,
        drifted: method.drifted(score, threshold),
        warning,
    })
}
