//! Isotonic calibration of scores, as scikit-learn's `IsotonicRegression(out_of_bounds="clip")`.
//!
//! PLACEHOLDER until the NannyML-exact implementation lands.

/// Isotonic calibration thresholds.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Calibrator {
    x: Vec<f64>,
    y: Vec<f64>,
}
