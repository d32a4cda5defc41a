//! A numerical reference column prepared once: its values in order and sorted, its population
//! standard deviation (the Wasserstein norm), its fold minimum and maximum, its distinct count,
//! and its category counts when it has at most 20 distinct values (Evidently's binning then
//! counts values).

use std::borrow::Cow;
use std::f64::consts::SQRT_2;

use super::super::binning::{
    all_integers, categories, category_shares, counts, histogram_sorted, jensenshannon_of,
    kl_div_of, psi_of, shares, sturges_edges_of,
};
use super::super::distance::{cdf_distance_sorted, sorted, std_population};
use super::super::hellinger::{binned_overlap, of_overlap};
use super::super::histograms::{Histograms, of_counts, of_sorted};
use super::super::ks::{ExactKsCache, p_value_sorted};
use super::super::{Category, DriftError, Method, Sample};

/// Above this many distinct reference values, Evidently bins a numerical column by Sturges
/// edges rather than by value.
const MAX_VALUE_BINS: usize = 20;

/// A numerical reference column, prepared.
#[derive(Clone, Debug)]
pub struct PreparedNumbers {
    /// The values in the reference's order (the methods without a prepared path take them).
    values: Vec<f64>,
    /// The values sorted ascending (`f64::total_cmp`).
    sorted: Vec<f64>,
    /// `np.std(values)` (ddof 0), as `distance::std_population` computes it.
    std: f64,
    /// `f64::min` and `f64::max` folded over the values in order (NumPy's edges start there).
    min: f64,
    max: f64,
    /// Whether every value is a whole number (NumPy's integer dtype).
    integers: bool,
    /// How many distinct values (−0 and 0 are one).
    distinct: usize,
    /// The values as categories (−0 as 0) with their counts, when at most 20 are distinct.
    counts: Option<Vec<(Category, usize)>>,
}

impl PreparedNumbers {
    /// The column of `values`, in the reference's order.
    pub fn new(values: Vec<f64>) -> PreparedNumbers {
        let sorted = sorted(&values);
        Self::with_sorted(values, sorted)
    }

    /// The column of `values`, in the reference's order, with `sorted`: the same values
    /// sorted ascending (`f64::total_cmp`), as a caller that sorted them more cheaply (by
    /// their decimal digits, say) has them. A `sorted` of another length or out of order is
    /// not used: the values are sorted here instead. That it holds the same values is the
    /// caller's promise.
    pub fn with_sorted(mut values: Vec<f64>, mut sorted: Vec<f64>) -> PreparedNumbers {
        values.shrink_to_fit();
        if !is_sorted(&sorted, values.len()) {
            sorted = super::super::distance::sorted(&values);
        }
        sorted.shrink_to_fit();
        let std = if values.is_empty() {
            f64::NAN
        } else {
            std_population(&values)
        };
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let integers = all_integers(&values);
        let distinct = distinct_sorted(&sorted);
        let counts =
            (distinct <= MAX_VALUE_BINS).then(|| counts(&categories(&Sample::Numerical(&values))));
        PreparedNumbers {
            values,
            sorted,
            std,
            min,
            max,
            integers,
            distinct,
            counts,
        }
    }

    /// How many values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The values in the reference's order.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Distinct values of the reference and `current` together.
    pub(super) fn n_unique(&self, current: &[f64]) -> usize {
        self.distinct + self.unseen(&sorted(current))
    }

    /// How many distinct values of `current` (sorted) the reference does not have.
    fn unseen(&self, current: &[f64]) -> usize {
        let mut unseen = 0;
        let mut last: Option<f64> = None;
        for &x in current {
            if last == Some(x) {
                continue;
            }
            last = Some(x);
            let at = self.sorted.partition_point(|v| *v < x);
            if self.sorted.get(at) != Some(&x) {
                unseen += 1;
            }
        }
        unseen
    }

    /// The score of `method` against `current` where this module has a prepared path; `None`
    /// for the others. `current_sorted`, when given, is `current` sorted ascending (see
    /// [`PreparedNumbers::with_sorted`]); otherwise `current` is sorted here where the method
    /// needs it.
    pub(super) fn score(
        &self,
        method: Method,
        current: &[f64],
        current_sorted: Option<&[f64]>,
        cache: &mut ExactKsCache,
        floats: bool,
    ) -> Option<Result<f64, DriftError>> {
        let sorted_current = || match current_sorted {
            Some(given) if is_sorted(given, current.len()) => Cow::Borrowed(given),
            _ => Cow::Owned(sorted(current)),
        };
        let score = match method {
            Method::Ks => p_value_sorted(&self.sorted, &sorted_current(), cache),
            Method::Wasserstein => {
                cdf_distance_sorted(&self.sorted, &sorted_current(), 1) / self.std.max(0.001)
            }
            Method::Ed => SQRT_2 * cdf_distance_sorted(&self.sorted, &sorted_current(), 2),
            Method::Psi => {
                let (r, c) = self.binned(current, &sorted_current, floats);
                psi_of(r, c)
            }
            Method::KlDiv => {
                let (r, c) = self.binned(current, &sorted_current, floats);
                kl_div_of(r, c)
            }
            Method::JensenShannon => {
                let (r, c) = self.binned(current, &sorted_current, floats);
                jensenshannon_of(&r, &c)
            }
            Method::Hellinger => self.hellinger(&sorted_current(), floats),
            _ => return None,
        };
        Some(Ok(score))
    }

    /// Evidently's binning (`get_binned_data`): Sturges edges over both sides (their fold
    /// minimum and maximum, their count) when the reference has more than 20 distinct values,
    /// each side's counts per edge by binary search; category shares otherwise.
    fn binned<'a>(
        &self,
        current: &[f64],
        sorted_current: &impl Fn() -> Cow<'a, [f64]>,
        floats: bool,
    ) -> (Vec<f64>, Vec<f64>) {
        match &self.counts {
            Some(reference) => {
                let current_counts = counts(&categories(&Sample::Numerical(current)));
                category_shares(reference, self.len(), &current_counts, current.len())
            }
            None => {
                let edges = self.pooled_edges(current, floats);
                let r = shares(&histogram_sorted(&self.sorted, &edges), self.len());
                let c = shares(&histogram_sorted(&sorted_current(), &edges), current.len());
                (r, c)
            }
        }
    }

    /// Sturges edges over both sides: their fold minimum and maximum, their count.
    fn pooled_edges(&self, current: &[f64], floats: bool) -> Vec<f64> {
        let min = current.iter().copied().fold(self.min, f64::min);
        let max = current.iter().copied().fold(self.max, f64::max);
        let integers = !floats && self.integers && all_integers(current);
        sturges_edges_of(min, max, self.len() + current.len(), integers)
    }

    /// The two sides' histograms as [`Self::binned`] bins them (`drift::histograms`), with
    /// work on the window alone; `None` when a side has no value.
    pub(super) fn histograms(&self, current: &[f64], floats: bool) -> Option<Histograms> {
        if self.is_empty() || current.is_empty() {
            return None;
        }
        Some(match &self.counts {
            Some(reference) => {
                let current_counts = counts(&categories(&Sample::Numerical(current)));
                of_counts(reference, self.len(), &current_counts, current.len())
            }
            None => {
                let edges = self.pooled_edges(current, floats);
                of_sorted(&self.sorted, &sorted(current), edges)
            }
        })
    }

    /// The Hellinger distance against `current`, sorted: Sturges edges over the distinct values
    /// of both sides (their smallest and largest, their count), densities of each side's
    /// counts per edge.
    fn hellinger(&self, current: &[f64], floats: bool) -> f64 {
        let (Some(&r_first), Some(&r_last), Some(&c_first), Some(&c_last)) = (
            self.sorted.first(),
            self.sorted.last(),
            current.first(),
            current.last(),
        ) else {
            return f64::NAN;
        };
        // The distinct values are normalised (−0 as 0) and sorted: the fold minimum and
        // maximum over them are the first and the last.
        let (r_first, c_first) = (r_first + 0.0, c_first + 0.0);
        let (r_last, c_last) = (r_last + 0.0, c_last + 0.0);
        let min = if c_first < r_first { c_first } else { r_first };
        let max = if c_last > r_last { c_last } else { r_last };
        let keys = self.distinct + self.unseen(current);
        let integers = !floats && self.integers && all_integers(current);
        let edges = sturges_edges_of(min, max, keys, integers);
        of_overlap(binned_overlap(
            &histogram_sorted(&self.sorted, &edges),
            &histogram_sorted(current, &edges),
            &edges,
        ))
    }

    /// The bytes the column's vectors hold.
    pub fn memory_bytes(&self) -> usize {
        let floats = (self.values.capacity() + self.sorted.capacity()) * size_of::<f64>();
        let counts = self.counts.as_ref().map_or(0, |counts| {
            counts.capacity() * size_of::<(Category, usize)>()
        });
        floats + counts
    }
}

/// Whether `values` has `len` values in ascending order (`f64::total_cmp`).
fn is_sorted(values: &[f64], len: usize) -> bool {
    values.len() == len && values.is_sorted_by(|a, b| a.total_cmp(b).is_le())
}

/// How many distinct values a sorted slice has (−0 and 0 are one).
fn distinct_sorted(sorted: &[f64]) -> usize {
    let mut count = 0;
    let mut last: Option<f64> = None;
    for &x in sorted {
        if last != Some(x) {
            count += 1;
            last = Some(x);
        }
    }
    count
}
