//! Distances between two numerical samples: Wasserstein (normed by the reference's standard
//! deviation) and energy distance.

use super::{DriftError, not_yet};

/// `scipy.stats.wasserstein_distance` over `max(np.std(reference), 0.001)`.
pub(super) fn wasserstein_normed(_r: &[f64], _c: &[f64]) -> Result<f64, DriftError> {
    not_yet("wasserstein")
}

/// `scipy.stats.energy_distance`.
pub(super) fn energy(_r: &[f64], _c: &[f64]) -> Result<f64, DriftError> {
    not_yet("ed")
}
