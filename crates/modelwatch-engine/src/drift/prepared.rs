//! A reference column prepared once and scored against many windows: its values typed,
//! sorted and counted up front, so that scoring a window costs work on the window alone, plus
//! at most one binary search per bin edge or window value, or one linear merge pass over the
//! sorted reference where the method's definition walks every pooled value (ks, wasserstein,
//! ed). The scores equal [`score`](super::score)'s bit for bit: the same operations on the same
//! values in the same order (`docs/drift.md`, "In serve and replay").
//!
//! | method | work per window on a reference of n values, a window of m |
//! |---|---|
//! | ks, wasserstein, ed | sort the window, one merge pass: O(m log m + n + m) |
//! | psi, kl_div, jensenshannon (numerical, > 20 reference values) | sort the window, a binary search per Sturges edge on both sides: O(m log m + bins·log n) |
//! | hellinger (numerical) | sort the window, a binary search per window value (distinct count of the union) and per edge: O(m log n) |
//! | psi, kl_div, jensenshannon, hellinger, chisquare, z (categories) | count the window's categories, merge with the reference's counts: O(m log m + k) |
//! | the others (mannw, anderson, t_test, cramer_von_mises, es, g_test, fisher_exact, TVD) | [`score`](super::score) on the reference's values, already typed |
//!
//! - `numerical.rs`: [`PreparedNumbers`]; `categorical.rs`: [`PreparedCategories`].

mod categorical;
mod numerical;
#[cfg(test)]
mod tests;

pub use super::ks::ExactKsCache;
pub use categorical::PreparedCategories;
pub use numerical::PreparedNumbers;

use super::{Category, ColumnType, DriftError, Histograms, Method, Sample, score_read_as};

/// One reference column, prepared: numbers or categories, missing values removed.
#[derive(Clone, Debug)]
pub enum PreparedColumn {
    /// A numerical column.
    Numerical(PreparedNumbers),
    /// A categorical column.
    Categorical(PreparedCategories),
}

impl PreparedColumn {
    /// A numerical column from its values in the reference's order.
    pub fn numerical(values: Vec<f64>) -> PreparedColumn {
        PreparedColumn::Numerical(PreparedNumbers::new(values))
    }

    /// A categorical column from its values in the reference's order.
    pub fn categorical(values: &[Category]) -> PreparedColumn {
        PreparedColumn::Categorical(PreparedCategories::new(values))
    }

    /// The column's type.
    pub fn column_type(&self) -> ColumnType {
        match self {
            PreparedColumn::Numerical(_) => ColumnType::Numerical,
            PreparedColumn::Categorical(_) => ColumnType::Categorical,
        }
    }

    /// How many values the reference has.
    pub fn len(&self) -> usize {
        match self {
            PreparedColumn::Numerical(numbers) => numbers.len(),
            PreparedColumn::Categorical(categories) => categories.len(),
        }
    }

    /// Whether the reference has no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of distinct values of the reference and `current` together (pandas'
    /// `nunique` of their concatenation, which the automatic choice reads); `current` of
    /// another type counts the reference alone.
    pub fn n_unique(&self, current: &Sample<'_>) -> usize {
        match (self, current) {
            (PreparedColumn::Numerical(numbers), Sample::Numerical(c)) => numbers.n_unique(c),
            (PreparedColumn::Categorical(categories), Sample::Categorical(c)) => {
                categories.n_unique(c)
            }
            (PreparedColumn::Numerical(numbers), _) => numbers.n_unique(&[]),
            (PreparedColumn::Categorical(categories), _) => categories.n_unique(&[]),
        }
    }

    /// `f` of the reference's values as a [`Sample`], in the reference's order.
    pub fn with_sample<R>(&self, f: impl FnOnce(&Sample<'_>) -> R) -> R {
        match self {
            PreparedColumn::Numerical(numbers) => f(&Sample::Numerical(numbers.values())),
            PreparedColumn::Categorical(categories) => {
                let values = categories.values();
                f(&Sample::Categorical(&values))
            }
        }
    }

    /// [`score`](super::score) of `method` for this reference and `current`: equal to it bit
    /// for bit, error for error. Exact ks p-values come from `cache` when it has them (it
    /// keeps those it computes). `floats`: the numbers were read as floats, as
    /// [`score_floats`](super::score_floats) takes them.
    ///
    /// # Errors
    ///
    /// As [`score`](super::score): the method does not apply to the column's type, a side is
    /// empty, or the method cannot score these values.
    pub fn score(
        &self,
        method: Method,
        current: &Sample<'_>,
        cache: &mut ExactKsCache,
        floats: bool,
    ) -> Result<f64, DriftError> {
        self.score_with(method, current, None, cache, floats)
    }

    /// [`PreparedColumn::score`] of numerical `current` whose values the caller has sorted
    /// too: `current_sorted` is `current` sorted ascending (`f64::total_cmp`), used by the
    /// methods that sort (one of another length or out of order is not used).
    ///
    /// # Errors
    ///
    /// As [`PreparedColumn::score`].
    pub fn score_sorted(
        &self,
        method: Method,
        current: &[f64],
        current_sorted: &[f64],
        cache: &mut ExactKsCache,
        floats: bool,
    ) -> Result<f64, DriftError> {
        let current = Sample::Numerical(current);
        self.score_with(method, &current, Some(current_sorted), cache, floats)
    }

    fn score_with(
        &self,
        method: Method,
        current: &Sample<'_>,
        current_sorted: Option<&[f64]>,
        cache: &mut ExactKsCache,
        floats: bool,
    ) -> Result<f64, DriftError> {
        if self.is_empty() {
            return Err(DriftError::Empty { side: "reference" });
        }
        if current.is_empty() {
            return Err(DriftError::Empty { side: "current" });
        }
        let column_type = self.column_type();
        if !method.allows(column_type) || current.column_type() != column_type {
            return Err(DriftError::WrongType {
                method: method.name(),
                column_type: column_type.as_str(),
            });
        }
        let prepared = match (self, current) {
            (PreparedColumn::Numerical(numbers), Sample::Numerical(c)) => {
                numbers.score(method, c, current_sorted, cache, floats)
            }
            (PreparedColumn::Categorical(categories), Sample::Categorical(c)) => {
                categories.score(method, c)
            }
            _ => None,
        };
        match prepared {
            Some(result) => result,
            None => self.with_sample(|reference| score_read_as(method, reference, current, floats)),
        }
    }

    /// The two sides' histograms as Evidently bins them, equal to
    /// [`histograms`](super::histograms)'s, with work on the window alone; `None` when a side
    /// has no value or `current` is of another type.
    pub fn histograms(&self, current: &Sample<'_>, floats: bool) -> Option<Histograms> {
        match (self, current) {
            (PreparedColumn::Numerical(numbers), Sample::Numerical(c)) => {
                numbers.histograms(c, floats)
            }
            (PreparedColumn::Categorical(categories), Sample::Categorical(c)) => {
                categories.histograms(c)
            }
            _ => None,
        }
    }

    /// The bytes the prepared column holds (its vectors' capacities, the text of its
    /// categories); the size of the value itself aside.
    pub fn memory_bytes(&self) -> usize {
        match self {
            PreparedColumn::Numerical(numbers) => numbers.memory_bytes(),
            PreparedColumn::Categorical(categories) => categories.memory_bytes(),
        }
    }
}
