//! A categorical reference column prepared once: each distinct category with its count, and
//! the values in order as indices into that table (4 bytes a value).

use super::super::binning::{category_shares, counts, jensenshannon_of, kl_div_of, psi_of};
use super::super::categorical::{chisquare_counts, z_counts};
use super::super::hellinger::{categorical_overlap, of_overlap};
use super::super::histograms::{Histograms, of_counts};
use super::super::{Category, DriftError, Method};

/// A categorical reference column, prepared.
#[derive(Clone, Debug)]
pub struct PreparedCategories {
    /// Each distinct category, sorted, with its count (`binning::counts`).
    table: Vec<(Category, usize)>,
    /// The values in the reference's order, as indices into `table`.
    codes: Vec<u32>,
}

impl PreparedCategories {
    /// The column of `values`, in the reference's order.
    pub fn new(values: &[Category]) -> PreparedCategories {
        let table = counts(values);
        let codes = values
            .iter()
            .map(|value| {
                table
                    .binary_search_by(|(key, _)| key.cmp(value))
                    .map_or(0, |at| at as u32)
            })
            .collect();
        PreparedCategories { table, codes }
    }

    /// How many values.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The values in the reference's order (copies).
    pub fn values(&self) -> Vec<Category> {
        self.codes
            .iter()
            .filter_map(|code| self.table.get(*code as usize))
            .map(|(category, _)| category.clone())
            .collect()
    }

    /// The two sides' shares per category (`drift::histograms`), counting the window alone;
    /// `None` when a side has no value.
    pub(super) fn histograms(&self, current: &[Category]) -> Option<Histograms> {
        if self.is_empty() || current.is_empty() {
            return None;
        }
        Some(of_counts(
            &self.table,
            self.len(),
            &counts(current),
            current.len(),
        ))
    }

    /// Distinct values of the reference and `current` together.
    pub(super) fn n_unique(&self, current: &[Category]) -> usize {
        let unseen = counts(current)
            .iter()
            .filter(|(key, _)| {
                self.table
                    .binary_search_by(|(known, _)| known.cmp(key))
                    .is_err()
            })
            .count();
        self.table.len() + unseen
    }

    /// The score of `method` against `current` where this module has a prepared path; `None`
    /// for the others.
    pub(super) fn score(
        &self,
        method: Method,
        current: &[Category],
    ) -> Option<Result<f64, DriftError>> {
        let prepared = [
            Method::Psi,
            Method::KlDiv,
            Method::JensenShannon,
            Method::Hellinger,
            Method::ChiSquare,
            Method::Z,
        ];
        if !prepared.contains(&method) {
            return None;
        }
        let (reference, n) = (&self.table, self.len());
        let current_counts = counts(current);
        let m = current.len();
        let score = match method {
            Method::Psi => {
                let (r, c) = category_shares(reference, n, &current_counts, m);
                psi_of(r, c)
            }
            Method::KlDiv => {
                let (r, c) = category_shares(reference, n, &current_counts, m);
                kl_div_of(r, c)
            }
            Method::JensenShannon => {
                let (r, c) = category_shares(reference, n, &current_counts, m);
                jensenshannon_of(&r, &c)
            }
            Method::Hellinger => of_overlap(categorical_overlap(reference, n, &current_counts, m)),
            Method::ChiSquare => chisquare_counts(reference, n, &current_counts, m),
            Method::Z => return Some(z_counts(reference, n, &current_counts, m)),
            _ => return None,
        };
        Some(Ok(score))
    }

    /// The bytes the column's vectors and texts hold.
    pub fn memory_bytes(&self) -> usize {
        let text: usize = self
            .table
            .iter()
            .map(|(category, _)| match category {
                Category::Text(text) => text.capacity(),
                _ => 0,
            })
            .sum();
        self.table.capacity() * size_of::<(Category, usize)>()
            + text
            + self.codes.capacity() * size_of::<u32>()
    }
}
