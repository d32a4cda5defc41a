//! The Hellinger distance, as Evidently computes it for categorical columns (category shares)
//! and numerical ones (densities over Sturges bins of the distinct values).

use super::binning::{all_integers, categories, counts, distinct, histogram, sturges_edges};
use super::{DriftError, Sample};

/// Hellinger distance between the two samples' distributions: `sqrt(1 − clip(Σ sqrt(p·q)))`.
pub(super) fn hellinger(r: &Sample<'_>, c: &Sample<'_>) -> Result<f64, DriftError> {
    let overlap = match (r, c) {
        (Sample::Numerical(r), Sample::Numerical(c)) => numerical_overlap(r, c),
        _ => categorical_overlap(r, c),
    };
    Ok((1.0 - overlap.clamp(0.0, 1.0)).sqrt())
}

/// `Σ sqrt(p_r·p_c)` over the categories of either side (absent ones count 0).
fn categorical_overlap(r: &Sample<'_>, c: &Sample<'_>) -> f64 {
    let rc = counts(&categories(r));
    let cc = counts(&categories(c));
    let (nr, nc) = (r.len() as f64, c.len() as f64);
    let mut total = 0.0;
    for (key, count) in &rc {
        if let Ok(i) = cc.binary_search_by(|(k, _)| k.cmp(key)) {
            total += (*count as f64 / nr * (cc[i].1 as f64 / nc)).sqrt();
        }
    }
    total
}

/// Edges by Sturges over the distinct values of both sides; densities `count/(n·width_i)`;
/// `Σ sqrt(h_r·h_c)·bw` with `bw = (e_max − e_min)/bins`.
fn numerical_overlap(r: &[f64], c: &[f64]) -> f64 {
    let pooled: Vec<f64> = r.iter().chain(c.iter()).copied().collect();
    let keys = distinct(&pooled);
    let edges = sturges_edges(&keys, all_integers(&keys));
    let density = |values: &[f64]| -> Vec<f64> {
        let counts = histogram(values, &edges);
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
