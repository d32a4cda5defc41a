//! Tests of categorical columns on category counts: chisquare and z.

use super::{Category, DriftError, not_yet};

/// `scipy.stats.chisquare` of the current counts against the reference's, rescaled.
pub(super) fn chisquare(_r: &[Category], _c: &[Category]) -> Result<f64, DriftError> {
    not_yet("chisquare")
}

/// The two-proportion z-test of the first category (sorted) against the others.
pub(super) fn z(_r: &[Category], _c: &[Category]) -> Result<f64, DriftError> {
    not_yet("z")
}
