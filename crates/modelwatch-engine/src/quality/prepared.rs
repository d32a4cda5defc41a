//! A version's drift reference prepared once for all its windows: each column typed as
//! declared (`drift_numerical`, `drift_categorical`) or as Evidently types it (numerical when
//! every value present in the reference is a number) and
//! prepared by `drift::prepared` (sorted, counted), with the calibrated thresholds cached per
//! (method, window size). Derived from the reference [`Table`], never stored in a snapshot:
//! prepared again after a restore (`docs/drift.md`, "In serve and replay").

use std::sync::Arc;

use crate::config::DriftSettings;
use crate::drift::prepared::ExactKsCache;
use crate::drift::{Category, ColumnType, Histograms, Method, PreparedColumn, Sample, auto_method};

use super::drift::{Cell, Table};
use super::verdict::{ColumnOutcome, ColumnScore, ColumnVerdict};
use crate::reference::ReferenceTable;

/// The prepared references of one model: its versions' first predictions, and the reference
/// given for all of them (uploaded, or the config's file). Derived from the reference tables,
/// so a cache that two trackers in the same state may hold differently (equality ignores it).
#[derive(Clone, Debug, Default)]
pub(crate) struct PreparedReferences {
    versions: Vec<(String, PreparedReference)>,
    /// The given reference (kept alive here, so that no other table can take its address)
    /// and its prepared form.
    given: Option<(Arc<ReferenceTable>, PreparedReference)>,
}

impl PartialEq for PreparedReferences {
    fn eq(&self, _: &PreparedReferences) -> bool {
        true
    }
}

impl PreparedReferences {
    /// `version`'s reference `table` prepared with `settings`' declared types: the one
    /// prepared before if it still fits, else prepared now.
    pub(crate) fn get(
        &mut self,
        version: &str,
        table: &Table,
        settings: &DriftSettings,
    ) -> &mut PreparedReference {
        let at = match self.versions.iter().position(|(name, _)| name == version) {
            Some(at) => {
                if !self.versions[at].1.fits(table, settings) {
                    self.versions[at].1 = PreparedReference::of(table, settings);
                }
                at
            }
            None => {
                self.versions
                    .push((version.to_string(), PreparedReference::of(table, settings)));
                self.versions.len() - 1
            }
        };
        &mut self.versions[at].1
    }

    /// The given reference `table` (uploaded, or the config's file) prepared with `settings`'
    /// declared types: the one prepared before if it is the same table and still fits, else
    /// prepared now (replacing the one before).
    pub(crate) fn get_given(
        &mut self,
        table: &Arc<ReferenceTable>,
        settings: &DriftSettings,
    ) -> &mut PreparedReference {
        let given = match self.given.take() {
            Some((known, prepared))
                if Arc::ptr_eq(&known, table) && prepared.fits(&table.table, settings) =>
            {
                (known, prepared)
            }
            _ => (table.clone(), PreparedReference::of(&table.table, settings)),
        };
        &mut self.given.insert(given).1
    }

    /// The bytes every prepared reference holds.
    pub(crate) fn memory_bytes(&self) -> usize {
        let given = self
            .given
            .as_ref()
            .map_or(0, |(_, prepared)| prepared.memory_bytes());
        self.versions
            .iter()
            .map(|(name, reference)| name.capacity() + reference.memory_bytes())
            .sum::<usize>()
            + given
    }
}

/// A reference prepared for its windows.
#[derive(Clone, Debug)]
pub(crate) struct PreparedReference {
    rows: u32,
    columns: Vec<ReferenceColumn>,
    /// Exact ks p-values computed for this reference's columns (they share its size).
    ks: ExactKsCache,
}

/// One column of a prepared reference.
#[derive(Clone, Debug)]
struct ReferenceColumn {
    name: String,
    /// The type the config declared for it when it was prepared.
    declared: Option<ColumnType>,
    /// Cells that are not missing.
    present: u32,
    /// Whether every cell is a number: else a numerical column's numbers count as read with
    /// NumPy's float dtype, as pandas reads a column with a missing cell (`drift::score_floats`).
    all_numbers: bool,
    /// `None` when the reference has no value in the column.
    prepared: Option<PreparedColumn>,
    /// A numerical column's values as categories (numbers), for Evidently's automatic
    /// chisquare and z on few values: prepared on first use.
    as_categories: Option<PreparedColumn>,
    /// The spread of the reference's own windows' scores, per method and window size.
    calibrations: Vec<Calibration>,
}

/// The mean and σ of the scores of the reference's own windows for a method, a window size
/// and whether the values were taken as categories; `None` when fewer than two windows or a
/// score failed.
#[derive(Clone, Debug)]
struct Calibration {
    method: Method,
    size: usize,
    as_categories: bool,
    spread: Option<(f64, f64)>,
}

impl PreparedReference {
    /// `table` prepared, column by column in name order, with `settings`' declared types.
    pub(crate) fn of(table: &Table, settings: &DriftSettings) -> PreparedReference {
        let columns = table
            .columns
            .iter()
            .map(|(name, cells)| ReferenceColumn {
                name: name.clone(),
                declared: settings.type_for(name),
                present: cells.iter().filter(|cell| **cell != Cell::Missing).count() as u32,
                all_numbers: cells.iter().all(|cell| matches!(cell, Cell::Number(_))),
                prepared: prepare(cells, settings.type_for(name)),
                as_categories: None,
                calibrations: Vec::new(),
            })
            .collect();
        PreparedReference {
            rows: table.rows,
            columns,
            ks: ExactKsCache::default(),
        }
    }

    /// Rows in the reference.
    pub(crate) fn rows(&self) -> u32 {
        self.rows
    }

    /// Whether this was prepared from a reference shaped like `table` (its rows and column
    /// names) with the types `settings` declare: a reference that is still filling, or was
    /// replaced, or a config that declares other types, does not fit.
    pub(crate) fn fits(&self, table: &Table, settings: &DriftSettings) -> bool {
        self.rows == table.rows
            && self.columns.len() == table.columns.len()
            && self
                .columns
                .iter()
                .zip(table.columns.keys())
                .all(|(column, name)| {
                    column.name == *name && column.declared == settings.type_for(name)
                })
    }

    /// Every reference column of `window` judged, in name order.
    pub(crate) fn judge(&mut self, window: &Table, settings: &DriftSettings) -> Vec<ColumnVerdict> {
        let ks = &mut self.ks;
        self.columns
            .iter_mut()
            .map(|column| ColumnVerdict {
                column: column.name.clone(),
                outcome: column.judge(window, settings, ks),
            })
            .collect()
    }

    /// Each reference column of `window`, in name order (as [`Self::judge`] gives them): the
    /// type it is compared as and the two sides' histograms as Evidently bins them (`None`
    /// when a side has no value), from the prepared reference and work on the window alone.
    pub(crate) fn histograms(&self, window: &Table) -> Vec<(ColumnType, Option<Histograms>)> {
        (self.columns.iter())
            .map(|column| {
                let Some(prepared) = &column.prepared else {
                    // No value in the reference: typed as declared, else numerical (every
                    // value present, none, is a number).
                    return (column.declared.unwrap_or(ColumnType::Numerical), None);
                };
                let column_type = prepared.column_type();
                let cells = window
                    .columns
                    .get(&column.name)
                    .map_or(&[][..], Vec::as_slice);
                let shown = match column_type {
                    ColumnType::Numerical => {
                        let values = numbers(cells);
                        let floats = !column.all_numbers || values.len() < cells.len();
                        prepared.histograms(&Sample::Numerical(&values), floats)
                    }
                    ColumnType::Categorical => {
                        let values: Vec<Category> =
                            cells.iter().filter_map(Cell::category).collect();
                        prepared.histograms(&Sample::Categorical(&values), false)
                    }
                };
                (column_type, shown)
            })
            .collect()
    }

    /// The bytes the prepared columns hold (their values, counts, names and caches).
    pub(crate) fn memory_bytes(&self) -> usize {
        let columns: usize = self
            .columns
            .iter()
            .map(|column| {
                size_of::<ReferenceColumn>()
                    + column.name.capacity()
                    + column
                        .prepared
                        .iter()
                        .chain(column.as_categories.iter())
                        .map(|prepared| prepared.memory_bytes())
                        .sum::<usize>()
                    + column.calibrations.capacity() * size_of::<Calibration>()
            })
            .sum();
        size_of::<PreparedReference>() + columns + self.ks.memory_bytes()
    }
}

/// A reference column's values typed: as `declared`, else numbers when every value present
/// is a number and categories otherwise; `None` when no value is present (or no number in a
/// column declared numerical).
fn prepare(cells: &[Cell], declared: Option<ColumnType>) -> Option<PreparedColumn> {
    if cells.iter().all(|cell| *cell == Cell::Missing) {
        return None;
    }
    let numerical = match declared {
        Some(column_type) => column_type == ColumnType::Numerical,
        None => Cell::all_numbers(cells),
    };
    if numerical {
        let values = numbers(cells);
        return (!values.is_empty()).then(|| PreparedColumn::numerical(values));
    }
    let categories: Vec<Category> = cells.iter().filter_map(Cell::category).collect();
    Some(PreparedColumn::categorical(&categories))
}

/// The numbers among `cells`: a value that is not a number counts as missing in a numerical
/// column.
fn numbers(cells: &[Cell]) -> Vec<f64> {
    cells
        .iter()
        .filter_map(|cell| match cell {
            Cell::Number(number) => Some(*number),
            _ => None,
        })
        .collect()
}

/// A window column's values, typed as its reference column.
enum Current {
    Numbers(Vec<f64>),
    Categories(Vec<Category>),
}

impl Current {
    fn sample(&self) -> Sample<'_> {
        match self {
            Current::Numbers(values) => Sample::Numerical(values),
            Current::Categories(values) => Sample::Categorical(values),
        }
    }
}

impl ReferenceColumn {
    /// This column of the window against the reference: its method, score, threshold and
    /// decision.
    fn judge(
        &mut self,
        window: &Table,
        settings: &DriftSettings,
        ks: &mut ExactKsCache,
    ) -> ColumnOutcome {
        let name = self.name.as_str();
        let Some(current_cells) = window.columns.get(name) else {
            return ColumnOutcome::NotScored("not in the window".to_string());
        };
        let current_present = current_cells
            .iter()
            .filter(|cell| **cell != Cell::Missing)
            .count();
        let min = settings.min_samples as usize;
        if (self.present as usize) < min || current_present < min {
            return ColumnOutcome::NotEnoughData {
                reference: self.present,
                current: current_present as u32,
            };
        }
        let Some(prepared) = &self.prepared else {
            return ColumnOutcome::NotScored(match self.declared {
                Some(ColumnType::Numerical) => {
                    "no number in the reference (declared numerical)".to_string()
                }
                _ => "no value in the reference".to_string(),
            });
        };
        let column_type = prepared.column_type();
        let mut floats = !self.all_numbers;
        let current = match column_type {
            ColumnType::Numerical => {
                let values = numbers(current_cells);
                floats |= values.len() < current_cells.len();
                Current::Numbers(values)
            }
            ColumnType::Categorical => {
                Current::Categories(current_cells.iter().filter_map(Cell::category).collect())
            }
        };
        let named = settings.method_for(name);
        let method = named.unwrap_or_else(|| {
            auto_method(
                column_type,
                prepared.len(),
                prepared.n_unique(&current.sample()),
            )
        });
        // Evidently's automatic choice gives chisquare or z to a numerical column with few
        // values and runs it on the values as categories; a method named for a column of the
        // wrong type is refused, as Evidently refuses it.
        let as_categories = named.is_none() && !method.allows(column_type);
        let (prepared, current) = match (as_categories, current) {
            (true, Current::Numbers(values)) => {
                let prepared = self.as_categories.get_or_insert_with(|| {
                    let values: Vec<Category> = prepared
                        .with_sample(|sample| match sample {
                            Sample::Numerical(values) => values.to_vec(),
                            Sample::Categorical(_) => Vec::new(),
                        })
                        .into_iter()
                        .map(Category::Number)
                        .collect();
                    PreparedColumn::categorical(&values)
                });
                let values = values.into_iter().map(Category::Number).collect();
                (&*prepared, Current::Categories(values))
            }
            (_, current) => (prepared, current),
        };
        let current = current.sample();
        let score = match prepared.score(method, &current, ks, floats) {
            Ok(score) => score,
            Err(error) => return ColumnOutcome::NotScored(error.to_string()),
        };
        let reference_values = prepared.len() as u32;
        let (threshold, calibrated) = match settings.calibrate {
            Some(k) => {
                let size = window.rows as usize;
                let found = self
                    .calibrations
                    .iter()
                    .find(|calibration| {
                        calibration.method == method
                            && calibration.size == size
                            && calibration.as_categories == as_categories
                    })
                    .map(|calibration| calibration.spread);
                let spread = found.unwrap_or_else(|| {
                    let spread = spread_of_windows(method, prepared, size, ks, !self.all_numbers);
                    self.calibrations.push(Calibration {
                        method,
                        size,
                        as_categories,
                        spread,
                    });
                    spread
                });
                match spread {
                    Some(spread) => (calibrated_threshold(method, spread, k), true),
                    None => (method.default_threshold(), false),
                }
            }
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
            reference_values,
            current_values: current.len() as u32,
            drifted,
        })
    }
}

/// NannyML's way: the scores of the reference's own consecutive windows of `size` values
/// against the whole reference, their mean and σ. `None` with fewer than two windows or a
/// score that fails.
fn spread_of_windows(
    method: Method,
    reference: &PreparedColumn,
    size: usize,
    ks: &mut ExactKsCache,
    floats: bool,
) -> Option<(f64, f64)> {
    let size = size.max(1);
    let scores = reference.with_sample(|sample| -> Option<Vec<f64>> {
        match sample {
            Sample::Numerical(values) => values
                .chunks_exact(size)
                .map(|chunk| {
                    reference
                        .score(method, &Sample::Numerical(chunk), ks, floats)
                        .ok()
                })
                .collect(),
            Sample::Categorical(values) => values
                .chunks_exact(size)
                .map(|chunk| {
                    reference
                        .score(method, &Sample::Categorical(chunk), ks, floats)
                        .ok()
                })
                .collect(),
        }
    })?;
    if scores.len() < 2 {
        return None;
    }
    let n = scores.len() as f64;
    let mean = scores.iter().sum::<f64>() / n;
    let sigma = (scores.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / n).sqrt();
    Some((mean, sigma))
}

/// mean + k·σ for a distance, mean − k·σ (at least 0) for a p-value.
fn calibrated_threshold(method: Method, (mean, sigma): (f64, f64), k: f64) -> f64 {
    if method.is_p_value() {
        (mean - k * sigma).max(0.0)
    } else {
        mean + k * sigma
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ModelId, Timestamp};
    use crate::traffic::{Feature, Outcome, Prediction};

    /// A table of `rows` predictions: `x` a number, `c` one of three texts, the output one
    /// of two.
    fn table(rows: usize) -> Table {
        shifted(rows, 0.0)
    }

    /// [`table`] with `x` shifted by `shift`.
    fn shifted(rows: usize, shift: f64) -> Table {
        let mut table = Table::default();
        for n in 0..rows {
            let features = vec![
                (
                    "c".to_string(),
                    Feature::Text(["a", "b", "c"][n % 3].to_string()),
                ),
                (
                    "x".to_string(),
                    Feature::Number((n * 7919 % 1000) as f64 + shift),
                ),
            ];
            let prediction = Prediction::new(
                ModelId::new("m", "1", "default"),
                Some(Timestamp::from_secs(1_800_000_000)),
                format!("p{n}"),
                Outcome::Text(if n % 2 == 0 { "yes" } else { "no" }.to_string()),
                None,
                None,
                Some(features),
            )
            .unwrap();
            table.push(&prediction);
        }
        table
    }

    fn settings() -> DriftSettings {
        DriftSettings {
            reference: crate::config::ReferenceSource::First(0),
            window: 0,
            share: 0.5,
            method: None,
            methods: Vec::new(),
            min_samples: 0,
            correction: crate::config::DriftCorrection::None,
            calibrate: None,
            types: Vec::new(),
        }
    }

    #[test]
    fn a_given_reference_replaced_by_one_of_the_same_shape_is_prepared_again() {
        let settings = settings();
        let given = |shift: f64| {
            let columns = shifted(500, shift).columns.into_iter().collect();
            Arc::new(ReferenceTable::new(columns).unwrap())
        };
        let (first, second) = (given(0.0), given(300.0));
        let window = shifted(100, 0.0);
        let score = |reference: &mut PreparedReference| {
            super::super::drift::compare_prepared(reference, &window, &settings).values
        };
        let mut cache = PreparedReferences::default();
        let before = score(cache.get_given(&first, &settings));
        let after = score(cache.get_given(&second, &settings));
        assert_ne!(before, after);
        assert_eq!(
            after,
            score(&mut PreparedReference::of(&second.table, &settings))
        );
        assert_eq!(before, score(cache.get_given(&first, &settings)));
    }

    #[test]
    fn bytes_per_value_are_those_docs_drift_md_gives() {
        let settings = settings();
        let bytes = |rows: usize| PreparedReference::of(&table(rows), &settings).memory_bytes();
        // A numerical column 16 bytes a value (in order and sorted), a categorical one 4 (an
        // index into its counts): x, and c and prediction.
        assert_eq!(bytes(4096) - bytes(2048), 2048 * (16 + 4 + 4));
        // And 32 bytes per distinct category (or number, with at most 20), text aside.
        assert_eq!(size_of::<(Category, usize)>(), 32);
        // A table (reference or window): 24 bytes a cell, texts aside (c's one byte each, the
        // output's "no" and "yes" two and three).
        assert_eq!(size_of::<Cell>(), 24);
        let table_bytes = |rows: usize| table(rows).memory_bytes();
        let texts = 2048 + 2048 / 2 * (2 + 3);
        assert_eq!(table_bytes(4096) - table_bytes(2048), 2048 * 3 * 24 + texts);
    }
}
