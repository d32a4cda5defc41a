//! Realized quality metrics over one window of labeled predictions, equal to scikit-learn's.
//!
//! Each function takes one window and returns the metrics defined on it, sorted by name. The
//! values are those scikit-learn 1.9.1 (NumPy 2.4.6) computes, to about 1e-15 relative: the
//! same formulas in the same floating-point order (NumPy's pairwise sums, the trapezoid rule
//! over the ROC curve with its intermediate points dropped, clipping of probabilities to
//! `[eps, 1 - eps]` with `eps = f64::EPSILON` before the logarithm). `tools/quality_reference.py`
//! generates the reference cases that `tests/it/quality_metrics.rs` replays.
//!
//! A metric is absent from the result exactly when scikit-learn warns that it is ill-defined
//! (and substitutes a value such as 0), raises, or returns a value that is not finite. A
//! metric is never given a made-up value. Each function's documentation lists when each of
//! its metrics is absent. An empty window, or inputs of different lengths, give no metric.

mod binary;
mod multiclass;
mod ranking;
mod regression;

pub use binary::binary;
pub use multiclass::multiclass;
pub use regression::regression;

/// One computed metric: its name (the same names as pushed metric events) and its value.
pub type Metric = (&'static str, f64);

/// Sorts the metrics by name and drops any that is not finite (scikit-learn's nan or inf).
fn finish(mut metrics: Vec<Metric>) -> Vec<Metric> {
    metrics.retain(|(_, value)| value.is_finite());
    metrics.sort_by(|left, right| left.0.cmp(right.0));
    metrics
}

/// `numpy.clip(p, eps, 1 - eps)` with float64's `eps`, as `log_loss` clips probabilities.
fn clip_probability(probability: f64) -> f64 {
    probability.clamp(f64::EPSILON, 1.0 - f64::EPSILON)
}

/// Whether every value is a probability: finite and within `[0, 1]`. `log_loss` and
/// `brier_score_loss` raise otherwise.
fn all_probabilities(values: &[f64]) -> bool {
    values.iter().all(|value| (0.0..=1.0).contains(value))
}

/// The value of metric `name` in `metrics`, for tests.
#[cfg(test)]
pub(crate) fn get(metrics: &[Metric], name: &str) -> Option<f64> {
    metrics
        .iter()
        .find(|(metric, _)| *metric == name)
        .map(|(_, value)| *value)
}
