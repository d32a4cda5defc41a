//! Realized quality metrics over one window of labeled predictions, equal to scikit-learn's.
//!
//! PLACEHOLDER until the scikit-learn-exact implementation lands: returns nothing.

/// One computed metric: its name and value.
pub type Metric = (&'static str, f64);

/// Binary metrics of one window.
pub fn binary(_y_true: &[bool], _y_pred: &[bool], _score: Option<&[f64]>) -> Vec<Metric> {
    Vec::new()
}

/// Multiclass metrics of one window.
pub fn multiclass(
    _y_true: &[u32],
    _y_pred: &[u32],
    _n_classes: usize,
    _proba: Option<&[f64]>,
) -> Vec<Metric> {
    Vec::new()
}

/// Regression metrics of one window.
pub fn regression(_y_true: &[f64], _y_pred: &[f64]) -> Vec<Metric> {
    Vec::new()
}
