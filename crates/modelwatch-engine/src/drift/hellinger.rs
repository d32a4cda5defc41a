//! The Hellinger distance, as Evidently computes it for categorical columns (category shares)
//! and numerical ones (densities over Sturges bins of the distinct values).

use super::binning::{all_integers, categories, counts, distinct, histogram, sturges_edges};
use super::{Category, DriftError, Sample};

/// Hellinger distance between the two samples' distributions: `sqrt(1 − clip(Σ sqrt(p·q)))`.
pub(super) fn hellinger(r: &Sample<'_>, c: &Sample<'_>, floats: bool) -> Result<f64, DriftError> {
    let overlap = match (r, c) {
        (Sample::Numerical(r), Sample::Numerical(c)) => numerical_overlap(r, c, floats),
        _ => categorical_overlap(
            &counts(&categories(r)),
            r.len(),
            &counts(&categories(c)),
            c.len(),
        ),
    };
    Ok(of_overlap(overlap))
}

/// The distance from the overlap `Σ sqrt(p·q)`.
pub(super) fn of_overlap(overlap: f64) -> f64 {
    (1.0 - overlap.clamp(0.0, 1.0)).sqrt()
}

/// `Σ sqrt(p_r·p_c)` over the categories of either side (absent ones count 0), from each
/// side's counts (`counts`) and number of values.
pub(super) fn categorical_overlap(
    rc: &[(Category, usize)],
    nr: usize,
    cc: &[(Category, usize)],
    nc: usize,
) -> f64 {
    let (nr, nc) = (nr as f64, nc as f64);
    let mut total = 0.0;
    for (key, count) in rc {
        if let Ok(i) = cc.binary_search_by(|(k, _)| k.cmp(key)) {
            total += (*count as f64 / nr * (cc[i].1 as f64 / nc)).sqrt();
        }
    }
    total
}

/// Edges by Sturges over the distinct values of both sides; densities `count/(n·width_i)`;
/// `Σ sqrt(h_r·h_c)·bw` with `bw = (e_max − e_min)/bins`.
fn numerical_overlap(r: &[f64], c: &[f64], floats: bool) -> f64 {
    let pooled: Vec<f64> = r.iter().chain(c.iter()).copied().collect();
    let keys = distinct(&pooled);
    let edges = sturges_edges(&keys, !floats && all_integers(&keys));
    binned_overlap(&histogram(r, &edges), &histogram(c, &edges), &edges)
}

/// The overlap of two sides' counts over `edges`.
pub(super) fn binned_overlap(r: &[usize], c: &[usize], edges: &[f64]) -> f64 {
    let density = |counts: &[usize]| -> Vec<f64> {
        let total: usize = counts.iter().sum();
        counts
            .iter()
            .zip(edges.windows(2))
            .map(|(count, e)| *count as f64 / (e[1] - e[0]) / total as f64)
            .collect()
    };
    let (hr, hc) = (density(r), density(c));
    let bins = edges.len() - 1;
    let width = (edges[bins] - edges[0]) / bins as f64;
    let mut total = 0.0;
    for (a, b) in hr.iter().zip(&hc) {
        total += (a * b).sqrt() * width;
    }
    total
}
