//! Rank tests of numerical columns: Mann-Whitney U (one-sided, "less"), two-sample
//! Cramér-von Mises and k-sample Anderson-Darling, as SciPy computes them.

use super::{DriftError, not_yet};

/// `scipy.stats.mannwhitneyu(reference, current, alternative="less")` p-value.
pub(super) fn mann_whitney(_r: &[f64], _c: &[f64]) -> Result<f64, DriftError> {
    not_yet("mannw")
}

/// Evidently's two-sample Cramér-von Mises p-value (as `scipy.stats.cramervonmises_2samp`).
pub(super) fn cramer_von_mises(_r: &[f64], _c: &[f64]) -> Result<f64, DriftError> {
    not_yet("cramer_von_mises")
}

/// `scipy.stats.anderson_ksamp([reference, current])` significance level.
pub(super) fn anderson(_r: &[f64], _c: &[f64]) -> Result<f64, DriftError> {
    not_yet("anderson")
}
