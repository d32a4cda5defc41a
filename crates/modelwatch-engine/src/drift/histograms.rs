//! The histograms of a column's two sides as Evidently bins them (`get_binned_data`, before
//! its zero filling), to show what a comparison read: Sturges edges over both sides for a
//! numerical column with more than 20 distinct reference values, and each side's share per
//! bin; otherwise every category of either side (numbers as categories) and each side's share.
//! psi, kl_div and jensenshannon score exactly these shares (`binning.rs`).

use super::binning::{
    binned_as_numbers, categories, category_keys, category_shares, counts, histogram,
    histogram_sorted, pooled_edges, shares,
};
use super::{Category, Sample};

/// A column's reference and current shares, per bin or per category.
#[derive(Clone, Debug, PartialEq)]
pub enum Histograms {
    /// Numbers binned by Sturges edges over both sides: bin i is `[edges[i], edges[i+1])`,
    /// the last closed; one share per bin on each side.
    Bins {
        /// The bin edges, ascending (one more than the bins).
        edges: Vec<f64>,
        /// The reference's share of values per bin.
        reference: Vec<f64>,
        /// The current window's share of values per bin.
        current: Vec<f64>,
    },
    /// Every category of either side, sorted; one share per category on each side.
    Categories {
        /// The categories.
        categories: Vec<Category>,
        /// The reference's share of values per category.
        reference: Vec<f64>,
        /// The current window's share of values per category.
        current: Vec<f64>,
    },
}

/// The histograms of `reference` against `current` (`floats`: the numbers were read as
/// floats, as [`super::score_floats`] takes them, which changes the Sturges width rule);
/// `None` when a side has no value.
pub fn histograms(
    reference: &Sample<'_>,
    current: &Sample<'_>,
    floats: bool,
) -> Option<Histograms> {
    if reference.is_empty() || current.is_empty() {
        return None;
    }
    if let (Sample::Numerical(r), Sample::Numerical(c)) = (reference, current)
        && binned_as_numbers(r)
    {
        let edges = pooled_edges(r, c, floats);
        return Some(Histograms::Bins {
            reference: shares(&histogram(r, &edges), r.len()),
            current: shares(&histogram(c, &edges), c.len()),
            edges,
        });
    }
    let (r, c) = (categories(reference), categories(current));
    Some(of_counts(&counts(&r), r.len(), &counts(&c), c.len()))
}

/// The categories of either side's counts (`binning::counts`), sorted, with each side's share
/// of its `nr` and `nc` values.
pub(super) fn of_counts(
    rc: &[(Category, usize)],
    nr: usize,
    cc: &[(Category, usize)],
    nc: usize,
) -> Histograms {
    let (reference, current) = category_shares(rc, nr, cc, nc);
    Histograms::Categories {
        reference,
        current,
        categories: category_keys(rc, cc).into_iter().cloned().collect(),
    }
}

/// The Sturges bins of two sides sorted ascending over these `edges`.
pub(super) fn of_sorted(reference: &[f64], current: &[f64], edges: Vec<f64>) -> Histograms {
    Histograms::Bins {
        reference: shares(&histogram_sorted(reference, &edges), reference.len()),
        current: shares(&histogram_sorted(current, &edges), current.len()),
        edges,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_with_many_values_are_binned_by_pooled_sturges_edges() {
        let reference: Vec<f64> = (0..30).map(f64::from).collect();
        let current: Vec<f64> = (20..50).map(f64::from).collect();
        let Some(Histograms::Bins {
            edges,
            reference: r,
            current: c,
        }) = histograms(
            &Sample::Numerical(&reference),
            &Sample::Numerical(&current),
            false,
        )
        else {
            panic!("not binned");
        };
        // np.histogram_bin_edges(range(0, 30) + range(20, 50), "sturges"): 7 bins over 0..49.
        assert_eq!(edges.len(), 8);
        assert_eq!((edges[0], edges[7]), (0.0, 49.0));
        assert_eq!(r.len(), 7);
        assert!((r.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((c.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(r[6], 0.0, "the reference has nothing above 29");
        assert_eq!(c[0], 0.0, "the window has nothing below 20");
        // The shares psi scores.
        assert_eq!(
            super::super::binning::psi(
                &Sample::Numerical(&reference),
                &Sample::Numerical(&current),
                false
            )
            .unwrap(),
            super::super::binning::psi_of(r, c)
        );
    }

    #[test]
    fn categories_and_few_numbers_get_one_share_per_value_of_either_side() {
        let text = |values: &[&str]| -> Vec<Category> {
            values
                .iter()
                .map(|value| Category::Text(value.to_string()))
                .collect()
        };
        let (r, c) = (text(&["a", "a", "b", "c"]), text(&["b", "d"]));
        assert_eq!(
            histograms(&Sample::Categorical(&r), &Sample::Categorical(&c), false),
            Some(Histograms::Categories {
                categories: text(&["a", "b", "c", "d"]),
                reference: vec![0.5, 0.25, 0.25, 0.0],
                current: vec![0.0, 0.5, 0.0, 0.5],
            })
        );
        let few = [1.0, 2.0, 2.0, 3.0];
        let Some(Histograms::Categories { categories, .. }) =
            histograms(&Sample::Numerical(&few), &Sample::Numerical(&[2.0]), false)
        else {
            panic!("binned");
        };
        assert_eq!(categories.len(), 3);
        assert_eq!(
            histograms(&Sample::Numerical(&few), &Sample::Numerical(&[]), false),
            None
        );
    }
}
