//! Tests of categorical columns that Evidently runs on contingency tables or permutations:
//! g_test, fisher_exact, TVD.

use super::{Category, DriftError, not_yet};

/// The G-test (`scipy.stats.power_divergence`, log-likelihood).
pub(super) fn g_test(_r: &[Category], _c: &[Category]) -> Result<f64, DriftError> {
    not_yet("g_test")
}

/// Fisher's exact test, two-sided.
pub(super) fn fisher_exact(_r: &[Category], _c: &[Category]) -> Result<f64, DriftError> {
    not_yet("fisher_exact")
}

/// Total variation distance with Evidently's seeded permutation test.
pub(super) fn tvd(_r: &[Category], _c: &[Category]) -> Result<f64, DriftError> {
    not_yet("TVD")
}
