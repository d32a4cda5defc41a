//! Tests of numerical columns built on moments: Student's t-test and Epps-Singleton.

use super::{DriftError, not_yet};

/// `scipy.stats.ttest_ind(reference, current)` (pooled variance), two-sided p-value.
pub(super) fn t_test(_r: &[f64], _c: &[f64]) -> Result<f64, DriftError> {
    not_yet("t_test")
}

/// `scipy.stats.epps_singleton_2samp(reference, current, t=(0.4, 0.8))` p-value.
pub(super) fn epps_singleton(_r: &[f64], _c: &[f64]) -> Result<f64, DriftError> {
    not_yet("es")
}
