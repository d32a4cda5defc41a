//! Evidently's binning (`get_binned_data`: Sturges edges over both sides for numerical columns
//! with more than 20 reference values, category shares otherwise) and the tests on the bins:
//! psi, kl_div, jensenshannon.

use super::{DriftError, Sample, not_yet};

/// Population stability index.
pub(super) fn psi(_r: &Sample<'_>, _c: &Sample<'_>) -> Result<f64, DriftError> {
    not_yet("psi")
}

/// Kullback-Leibler divergence (`scipy.stats.entropy`).
pub(super) fn kl_div(_r: &Sample<'_>, _c: &Sample<'_>) -> Result<f64, DriftError> {
    not_yet("kl_div")
}

/// Jensen-Shannon distance (`scipy.spatial.distance.jensenshannon`).
pub(super) fn jensenshannon(_r: &Sample<'_>, _c: &Sample<'_>) -> Result<f64, DriftError> {
    not_yet("jensenshannon")
}
