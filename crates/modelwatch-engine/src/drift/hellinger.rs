//! The Hellinger distance, as Evidently computes it for categorical and numerical columns.

use super::{DriftError, Sample, not_yet};

/// Hellinger distance between the two samples' distributions.
pub(super) fn hellinger(_r: &Sample<'_>, _c: &Sample<'_>) -> Result<f64, DriftError> {
    not_yet("hellinger")
}
