//! Evidently's binning (`get_binned_data`: Sturges edges over both sides for numerical columns
//! with more than 20 reference values, category shares otherwise) and the tests on the bins:
//! psi, kl_div, jensenshannon. Also NumPy's Sturges edges and histogram counts, which the
//! Hellinger distance shares.

use std::borrow::Cow;

use super::{Category, DriftError, Sample};
use crate::summation::sum;

/// Population stability index: `Σ (r − c)·ln(r/c)` over the bins, zeros filled.
pub(super) fn psi(r: &Sample<'_>, c: &Sample<'_>, floats: bool) -> Result<f64, DriftError> {
    let (rp, cp) = binned(r, c, floats);
    Ok(psi_of(rp, cp))
}

/// [`psi`] of the two sides' shares per bin.
pub(super) fn psi_of(mut rp: Vec<f64>, mut cp: Vec<f64>) -> f64 {
    feel_zeroes(&mut rp);
    feel_zeroes(&mut cp);
    let terms: Vec<f64> = rp
        .iter()
        .zip(&cp)
        .map(|(r, c)| (r - c) * (r / c).ln())
        .collect();
    sum(&terms)
}

/// Kullback-Leibler divergence (`scipy.stats.entropy(ref, cur)`), zeros filled.
pub(super) fn kl_div(r: &Sample<'_>, c: &Sample<'_>, floats: bool) -> Result<f64, DriftError> {
    let (rp, cp) = binned(r, c, floats);
    Ok(kl_div_of(rp, cp))
}

/// [`kl_div`] of the two sides' shares per bin.
pub(super) fn kl_div_of(mut rp: Vec<f64>, mut cp: Vec<f64>) -> f64 {
    feel_zeroes(&mut rp);
    feel_zeroes(&mut cp);
    let p = normalised(&rp);
    let q = normalised(&cp);
    let terms: Vec<f64> = p.iter().zip(&q).map(|(p, q)| rel_entr(*p, *q)).collect();
    sum(&terms)
}

/// Jensen-Shannon distance (`scipy.spatial.distance.jensenshannon`), natural logarithm, no
/// zero filling.
pub(super) fn jensenshannon(
    r: &Sample<'_>,
    c: &Sample<'_>,
    floats: bool,
) -> Result<f64, DriftError> {
    let (rp, cp) = binned(r, c, floats);
    Ok(jensenshannon_of(&rp, &cp))
}

/// [`jensenshannon`] of the two sides' shares per bin.
pub(super) fn jensenshannon_of(rp: &[f64], cp: &[f64]) -> f64 {
    let p = normalised(rp);
    let q = normalised(cp);
    let m: Vec<f64> = p.iter().zip(&q).map(|(p, q)| (p + q) / 2.0).collect();
    let left: Vec<f64> = p.iter().zip(&m).map(|(p, m)| rel_entr(*p, *m)).collect();
    let right: Vec<f64> = q.iter().zip(&m).map(|(q, m)| rel_entr(*q, *m)).collect();
    let js = sum(&left) + sum(&right);
    (js / 2.0).sqrt()
}

/// `scipy.special.rel_entr`: `x·ln(x/y)`, 0 for x = 0, infinite for x > 0 and y = 0.
fn rel_entr(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else if x == 0.0 && y >= 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// The values over their (pairwise) sum.
fn normalised(values: &[f64]) -> Vec<f64> {
    let total = sum(values);
    values.iter().map(|v| v / total).collect()
}

/// Evidently's `feel_zeroes`: each 0 becomes the smallest non-zero share over 1e6 when that
/// share is at most 1e-4, else 1e-4. No renormalisation.
fn feel_zeroes(shares: &mut [f64]) {
    let smallest = shares
        .iter()
        .copied()
        .filter(|s| *s != 0.0)
        .fold(f64::INFINITY, f64::min);
    let fill = if smallest <= 0.0001 {
        smallest / 1e6
    } else {
        0.0001
    };
    for share in shares.iter_mut().filter(|s| **s == 0.0) {
        *share = fill;
    }
}

/// `get_binned_data` without the zero filling: the reference's and current's shares per bin
/// (`floats`: the numbers were read as floats, see [`super::score_floats`]).
fn binned(r: &Sample<'_>, c: &Sample<'_>, floats: bool) -> (Vec<f64>, Vec<f64>) {
    if let (Sample::Numerical(r), Sample::Numerical(c)) = (r, c)
        && binned_as_numbers(r)
    {
        let edges = pooled_edges(r, c, floats);
        let shares_r = shares(&histogram(r, &edges), r.len());
        let shares_c = shares(&histogram(c, &edges), c.len());
        return (shares_r, shares_c);
    }
    let r = categories(r);
    let c = categories(c);
    category_shares(&counts(&r), r.len(), &counts(&c), c.len())
}

/// Whether a numerical column with these reference values is binned by Sturges edges (more
/// than 20 distinct values); else its values are taken as categories.
pub(super) fn binned_as_numbers(reference: &[f64]) -> bool {
    distinct_count(reference) > 20
}

/// Sturges edges over both sides' values pooled (integer data when every value is whole and
/// the numbers were not read as floats).
pub(super) fn pooled_edges(r: &[f64], c: &[f64], floats: bool) -> Vec<f64> {
    let pooled: Vec<f64> = r.iter().chain(c.iter()).copied().collect();
    sturges_edges(&pooled, !floats && all_integers(&pooled))
}

/// Counts per bin over the number of values `n`.
pub(super) fn shares(counts: &[usize], n: usize) -> Vec<f64> {
    counts
        .iter()
        .map(|count| *count as f64 / n as f64)
        .collect()
}

/// The shares of every category of either side (sorted), from each side's counts (`counts`)
/// and its number of values.
pub(super) fn category_shares(
    rc: &[(Category, usize)],
    nr: usize,
    cc: &[(Category, usize)],
    nc: usize,
) -> (Vec<f64>, Vec<f64>) {
    let keys = category_keys(rc, cc);
    let share = |table: &[(Category, usize)], n: usize| -> Vec<f64> {
        keys.iter()
            .map(|key| {
                let count = table
                    .binary_search_by(|(k, _)| k.cmp(key))
                    .map_or(0, |i| table[i].1);
                count as f64 / n as f64
            })
            .collect()
    };
    (share(rc, nr), share(cc, nc))
}

/// Every category of either side's counts, sorted, once.
pub(super) fn category_keys<'a>(
    rc: &'a [(Category, usize)],
    cc: &'a [(Category, usize)],
) -> Vec<&'a Category> {
    let mut keys: Vec<&Category> = rc.iter().chain(cc.iter()).map(|(k, _)| k).collect();
    keys.sort();
    keys.dedup();
    keys
}

/// A sample's values as categories (numbers as `Category::Number`, -0 as 0).
pub(super) fn categories<'a>(sample: &Sample<'a>) -> Cow<'a, [Category]> {
    match *sample {
        Sample::Numerical(values) => values.iter().map(|x| Category::Number(x + 0.0)).collect(),
        Sample::Categorical(values) => Cow::Borrowed(values),
    }
}

/// Up to this many distinct categories, [`counts`] counts them in a table searched value by
/// value; beyond, it sorts the values.
const FEW_CATEGORIES: usize = 32;

/// Each distinct category with its count, sorted.
pub(super) fn counts(values: &[Category]) -> Vec<(Category, usize)> {
    let numbers = values
        .iter()
        .all(|value| matches!(value, Category::Number(_)));
    let table = if numbers {
        // Numbers as categories are equal exactly when their bits are: counted as integers.
        let bits = values.iter().map(|value| match value {
            Category::Number(number) => number.to_bits(),
            Category::Bool(_) | Category::Text(_) => 0,
        });
        few_counts(bits).map(|table| {
            (table.into_iter())
                .map(|(bits, count)| (Category::Number(f64::from_bits(bits)), count))
                .collect::<Vec<_>>()
        })
    } else {
        few_counts(values.iter()).map(|table| {
            (table.into_iter())
                .map(|(category, count)| (category.clone(), count))
                .collect()
        })
    };
    match table {
        Some(mut table) => {
            // Distinct categories: the order of equal ones cannot show.
            table.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
            table
        }
        None => counts_by_sorting(values),
    }
}

/// Each distinct key with its count, in first-seen order, when at most [`FEW_CATEGORIES`] are
/// distinct: a table searched key by key, the entry of the key before first (runs of one key
/// find it at once). `None` beyond.
fn few_counts<K: PartialEq>(keys: impl Iterator<Item = K>) -> Option<Vec<(K, usize)>> {
    let mut table: Vec<(K, usize)> = Vec::new();
    let mut last = 0;
    for key in keys {
        let found = if table.get(last).is_some_and(|(seen, _)| *seen == key) {
            Some(last)
        } else {
            table.iter().position(|(seen, _)| *seen == key)
        };
        match found {
            Some(index) => last = index,
            None if table.len() < FEW_CATEGORIES => {
                last = table.len();
                table.push((key, 0));
            }
            None => return None,
        }
        if let Some((_, count)) = table.get_mut(last) {
            *count += 1;
        }
    }
    Some(table)
}

/// [`counts`] of many distinct categories: the values sorted, then each run counted.
fn counts_by_sorting(values: &[Category]) -> Vec<(Category, usize)> {
    let mut sorted = values.to_vec();
    super::sort::sort_categories(&mut sorted);
    let mut table: Vec<(Category, usize)> = Vec::new();
    for value in sorted {
        match table.last_mut() {
            Some((last, count)) if *last == value => *count += 1,
            _ => table.push((value, 1)),
        }
    }
    table
}

/// How many distinct numbers (pandas' `nunique`).
fn distinct_count(values: &[f64]) -> usize {
    distinct(values).len()
}

/// The distinct numbers, sorted.
pub(super) fn distinct(values: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = values.iter().map(|x| x + 0.0).collect();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();
    sorted
}

/// Whether every value is a whole number: the column was read as integers (NumPy's integer
/// dtype, which changes the Sturges width rule).
pub(super) fn all_integers(values: &[f64]) -> bool {
    values.iter().all(|x| x.fract() == 0.0 && x.abs() < 9.0e15)
}

/// `np.histogram_bin_edges(values, bins="sturges")`: width `ptp/(log2(N) + 1)` (at least 1
/// for integer data), `ceil(ptp/width)` bins, edges by `np.linspace`; one bin `[v − 0.5,
/// v + 0.5]` when every value is `v`.
pub(super) fn sturges_edges(values: &[f64], integers: bool) -> Vec<f64> {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    sturges_edges_of(min, max, values.len(), integers)
}

/// [`sturges_edges`] of `count` values whose smallest is `min` and largest `max` (as folded
/// with `f64::min`/`f64::max` in the values' order).
pub(super) fn sturges_edges_of(min: f64, max: f64, count: usize, integers: bool) -> Vec<f64> {
    if min == max {
        return linspace(min - 0.5, max + 0.5, 1);
    }
    let range = max - min;
    let mut width = range / ((count as f64).log2() + 1.0);
    if integers && width < 1.0 {
        width = 1.0;
    }
    let bins = (range / width).ceil() as usize;
    linspace(min, max, bins.max(1))
}

/// `np.linspace(start, stop, bins + 1)`: `i·step + start`, the last edge exactly `stop`.
fn linspace(start: f64, stop: f64, bins: usize) -> Vec<f64> {
    let step = (stop - start) / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|i| i as f64 * step + start).collect();
    edges[bins] = stop;
    edges
}

/// `np.histogram(values, edges)[0]`: bin i counts `[e_i, e_(i+1))`, the last bin is closed.
pub(super) fn histogram(values: &[f64], edges: &[f64]) -> Vec<usize> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    histogram_sorted(&sorted, edges)
}

/// [`histogram`] of values sorted ascending (`f64::total_cmp`): one binary search per edge.
pub(super) fn histogram_sorted(sorted: &[f64], edges: &[f64]) -> Vec<usize> {
    let below = |edge: f64| sorted.partition_point(|x| *x < edge);
    let last = edges.len() - 1;
    let mut cumulative: Vec<usize> = edges[..last].iter().map(|e| below(*e)).collect();
    cumulative.push(sorted.partition_point(|x| *x <= edges[last]));
    cumulative.windows(2).map(|w| w[1] - w[0]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Categories drawn from a few or many numbers (with both zeros), booleans and texts.
    fn category(many: bool) -> impl proptest::strategy::Strategy<Value = Category> {
        use proptest::prelude::*;
        let numbers = if many { 0..200i32 } else { 0..6i32 };
        prop_oneof![
            8 => numbers.prop_map(|n| Category::Number(if n == 1 { -0.0 } else { f64::from(n) / 4.0 })),
            1 => any::<bool>().prop_map(Category::Bool),
            1 => "[ab]{1,2}".prop_map(Category::Text),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

        /// Counting in a table gives the counts of sorting, whatever the mix of categories.
        #[test]
        fn counts_are_those_of_sorting(
            many in proptest::prelude::any::<bool>(),
            numbers_only in proptest::prelude::any::<bool>(),
            values in proptest::collection::vec(category(false), 0..400),
            more in proptest::collection::vec(category(true), 0..400),
        ) {
            let mut values = values;
            if many {
                values.extend(more);
            }
            if numbers_only {
                values.retain(|value| matches!(value, Category::Number(_)));
            }
            let key = |table: Vec<(Category, usize)>| -> Vec<(String, usize)> {
                table.into_iter().map(|(category, count)| (format!("{category:?}"), count)).collect()
            };
            proptest::prop_assert_eq!(key(counts(&values)), key(counts_by_sorting(&values)));
        }
    }

    #[test]
    fn sturges_edges_follow_numpy() {
        // np.histogram_bin_edges([0, 1, 2, 3, 10], "sturges"): 4 bins of 2.5.
        assert_eq!(
            sturges_edges(&[0.0, 1.0, 2.0, 3.0, 10.0], true),
            vec![0.0, 2.5, 5.0, 7.5, 10.0]
        );
        // Integer data: a width under 1 becomes 1.
        assert_eq!(sturges_edges(&[0.0, 1.0], true), vec![0.0, 1.0]);
        assert_eq!(sturges_edges(&[0.0, 1.0], false), vec![0.0, 0.5, 1.0]);
        assert_eq!(sturges_edges(&[3.0, 3.0], false), vec![2.5, 3.5]);
    }

    #[test]
    fn histogram_closes_the_last_bin_only() {
        assert_eq!(
            histogram(&[0.0, 1.0, 1.0, 2.0, 5.0], &[0.0, 1.0, 2.0]),
            vec![1, 3]
        );
    }

    #[test]
    fn zeroes_are_filled_from_the_smallest_share() {
        let mut shares = [0.5, 0.0, 0.5];
        feel_zeroes(&mut shares);
        assert_eq!(shares, [0.5, 0.0001, 0.5]);
        let mut shares = [0.00005, 0.0, 0.99995];
        feel_zeroes(&mut shares);
        assert_eq!(shares[1], 0.00005 / 1e6);
    }
}
