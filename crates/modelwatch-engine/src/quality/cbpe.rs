//! Confidence-based performance estimation (CBPE) for binary classifiers, as NannyML computes it.
//!
//! PLACEHOLDER until the NannyML-exact implementation lands.

/// How scores are calibrated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Calibration {
    /// NannyML's shortcuts, isotonic otherwise.
    Auto,
    /// Always isotonic.
    Isotonic,
    /// None.
    None,
}

/// The fitted reference.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reference {
    calibrator: Option<super::isotonic::Calibrator>,
}

impl Reference {
    /// Fits a reference.
    pub fn fit(_scores: &[f64], _y_true: &[bool], _calibration: Calibration) -> Option<Reference> {
        None
    }
}

/// Estimates over one chunk.
pub fn estimate(
    _reference: &Reference,
    _raw_scores: &[f64],
    _y_pred: &[bool],
) -> Vec<(&'static str, f64)> {
    Vec::new()
}
