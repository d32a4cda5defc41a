//! Realized quality of a multiclass classifier over one window: per-class counts averaged over
//! the classes present, and the per-class probabilities, as scikit-learn computes each metric.

use super::{Metric, all_probabilities, clip_probability, finish, ranking};
use crate::summation::{mean, mean_by, sum, sum_by};

/// The metrics of one window of a multiclass classifier, sorted by name.
///
/// Classes are the indices `0..n_classes` in the order scikit-learn sorts the labels;
/// `proba`, when the window has scores, is row-major: one row per sample, `n_classes` columns
/// in that order. "Present" classes are those that occur in `y_true` or `y_pred`, which is
/// what scikit-learn averages over when `labels` is not given. Each metric equals this
/// scikit-learn 1.9.1 call:
///
/// | name | scikit-learn | absent when |
/// |---|---|---|
/// | `accuracy` | `accuracy_score(y_true, y_pred)` | never |
/// | `precision_macro`, `precision_weighted` | `precision_score(y_true, y_pred, average="macro"` / `"weighted")` | a present class is never predicted (`UndefinedMetricWarning`, 0 for that class) |
/// | `recall_macro`, `recall_weighted` | `recall_score(..., average="macro"` / `"weighted")` | a present class never occurs in `y_true`, i.e. is predicted but never true (`UndefinedMetricWarning`) |
/// | `f1_macro`, `f1_weighted` | `f1_score(..., average="macro"` / `"weighted")` | never (every present class has a true or a predicted row) |
/// | `log_loss` | `log_loss(y_true, proba, labels=range(n_classes))` | no scores; fewer than 2 classes (it raises); a probability outside `[0, 1]` or not a number (it raises) |
/// | `roc_auc_ovr` | `roc_auc_score(y_true, proba, multi_class="ovr", labels=range(n_classes))` (macro) | no scores; a class of `0..n_classes` absent from `y_true` (`UndefinedMetricWarning`, nan); a row of `proba` whose sum is not 1 by `numpy.allclose` (it raises); a probability not finite |
///
/// With exactly two classes, scikit-learn's `roc_auc_score` refuses two probability columns
/// (it raises "y should be a 1d array"); `roc_auc_ovr` is then `roc_auc_score(y_true,
/// proba[:, 1])`, the area both one-vs-rest curves share, and absent when `y_true` has one
/// class only. `log_loss` does not renormalize rows: scikit-learn 1.9 warns when they do not
/// sum to 1 and uses them as given, and so does this.
///
/// Empty windows, slices of different lengths, a class index not below `n_classes`, and a
/// `proba` whose length is not `rows * n_classes` give an empty result.
pub fn multiclass(
    y_true: &[u32],
    y_pred: &[u32],
    n_classes: usize,
    proba: Option<&[f64]>,
) -> Vec<Metric> {
    let rows = y_true.len();
    let in_range = |class: &u32| (*class as usize) < n_classes;
    if rows == 0
        || y_pred.len() != rows
        || !y_true.iter().all(in_range)
        || !y_pred.iter().all(in_range)
        || proba.is_some_and(|proba| Some(proba.len()) != rows.checked_mul(n_classes))
    {
        return Vec::new();
    }
    let counts = ClassCounts::count(y_true, y_pred, n_classes);
    let mut metrics = Vec::with_capacity(9);
    metrics.push(("accuracy", counts.correct as f64 / rows as f64));
    counts.push_averages(&mut metrics);
    if let Some(proba) = proba {
        if n_classes >= 2 && all_probabilities(proba) {
            metrics.push(("log_loss", log_loss(y_true, n_classes, proba)));
        }
        if let Some(auc) = roc_auc_ovr(y_true, n_classes, proba) {
            metrics.push(("roc_auc_ovr", auc));
        }
    }
    finish(metrics)
}

/// Per class: rows correctly predicted as it, rows labeled it, rows predicted as it.
#[derive(Debug)]
struct ClassCounts {
    correct: u64,
    true_positives: Vec<u64>,
    actual: Vec<u64>,
    predicted: Vec<u64>,
}

impl ClassCounts {
    fn count(y_true: &[u32], y_pred: &[u32], n_classes: usize) -> Self {
        let mut counts = Self {
            correct: 0,
            true_positives: vec![0; n_classes],
            actual: vec![0; n_classes],
            predicted: vec![0; n_classes],
        };
        for (&actual, &predicted) in y_true.iter().zip(y_pred) {
            counts.actual[actual as usize] += 1;
            counts.predicted[predicted as usize] += 1;
            if actual == predicted {
                counts.correct += 1;
                counts.true_positives[actual as usize] += 1;
            }
        }
        counts
    }

    /// Pushes the macro and weighted precision, recall and f1 over the present classes, as
    /// `precision_recall_fscore_support` computes them (weights: the rows labeled each class).
    fn push_averages(&self, metrics: &mut Vec<Metric>) {
        let present: Vec<usize> = (0..self.actual.len())
            .filter(|&class| self.actual[class] > 0 || self.predicted[class] > 0)
            .collect();
        let weights: Vec<f64> = present
            .iter()
            .map(|&class| self.actual[class] as f64)
            .collect();
        let true_positives = |class: usize| self.true_positives[class] as f64;
        if present.iter().all(|&class| self.predicted[class] > 0) {
            let precision: Vec<f64> = present
                .iter()
                .map(|&class| true_positives(class) / self.predicted[class] as f64)
                .collect();
            metrics.push(("precision_macro", mean(&precision)));
            metrics.push(("precision_weighted", weighted_mean(&precision, &weights)));
        }
        if present.iter().all(|&class| self.actual[class] > 0) {
            let recall: Vec<f64> = present
                .iter()
                .map(|&class| true_positives(class) / self.actual[class] as f64)
                .collect();
            metrics.push(("recall_macro", mean(&recall)));
            metrics.push(("recall_weighted", weighted_mean(&recall, &weights)));
        }
        let f1: Vec<f64> = present
            .iter()
            .map(|&class| {
                let denominator = self.actual[class] as f64 + self.predicted[class] as f64;
                2.0 * true_positives(class) / denominator
            })
            .collect();
        metrics.push(("f1_macro", mean(&f1)));
        metrics.push(("f1_weighted", weighted_mean(&f1, &weights)));
    }
}

/// `numpy.average(values, weights=weights)`: `sum(values * weights) / sum(weights)`.
fn weighted_mean(values: &[f64], weights: &[f64]) -> f64 {
    sum_by(values.len(), &|index| values[index] * weights[index]) / sum(weights)
}

/// `log_loss(y_true, proba, labels=range(n_classes))`: the mean of `-ln(p)` where `p` is the
/// probability of the true class, clipped to `[eps, 1 - eps]`.
fn log_loss(y_true: &[u32], n_classes: usize, proba: &[f64]) -> f64 {
    mean_by(y_true.len(), &|row| {
        let probability = proba[row * n_classes + y_true[row] as usize];
        -clip_probability(probability).ln()
    })
}

/// `roc_auc_score(y_true, proba, multi_class="ovr", labels=range(n_classes))`: the mean over
/// classes of the area of that class against the rest, or `None` where scikit-learn warns,
/// raises or returns nan (see [`multiclass`]).
fn roc_auc_ovr(y_true: &[u32], n_classes: usize, proba: &[f64]) -> Option<f64> {
    if n_classes < 2 || !proba.iter().all(|value| value.is_finite()) {
        return None;
    }
    let column = |class: usize| -> Vec<f64> {
        proba
            .chunks_exact(n_classes)
            .map(|row| row[class])
            .collect()
    };
    let is_class = |class: usize| -> Vec<bool> {
        y_true
            .iter()
            .map(|&actual| actual as usize == class)
            .collect()
    };
    if n_classes == 2 {
        return ranking::roc_auc(&is_class(1), &column(1));
    }
    // `numpy.allclose(1, proba.sum(axis=1))`: |1 - sum| <= 1e-8 + 1e-5 * |sum|.
    let rows_sum_to_one = proba.chunks_exact(n_classes).all(|row| {
        let total = sum(row);
        (1.0 - total).abs() <= 1e-8 + 1e-5 * total.abs()
    });
    if !rows_sum_to_one {
        return None;
    }
    let mut areas = Vec::with_capacity(n_classes);
    for class in 0..n_classes {
        areas.push(ranking::roc_auc(&is_class(class), &column(class))?);
    }
    Some(mean(&areas))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::metrics::get;

    #[test]
    fn averages_run_over_the_classes_present() {
        // Class 3 of 4 occurs nowhere: it does not count in the macro averages.
        let metrics = multiclass(&[0, 1, 2, 2], &[0, 2, 1, 2], 4, None);
        assert_eq!(get(&metrics, "accuracy"), Some(0.5));
        assert_eq!(
            get(&metrics, "precision_macro"),
            Some((1.0 + 0.0 + 0.5) / 3.0)
        );
        assert_eq!(get(&metrics, "recall_weighted"), Some(0.5));
        assert_eq!(get(&metrics, "f1_macro"), Some((1.0 + 0.0 + 0.5) / 3.0));
    }

    #[test]
    fn a_class_never_predicted_or_never_true_drops_precision_or_recall() {
        // Class 2 is true once and never predicted: precision is undefined for it.
        let metrics = multiclass(&[0, 1, 2], &[0, 1, 1], 3, None);
        assert_eq!(get(&metrics, "precision_macro"), None);
        assert_eq!(get(&metrics, "precision_weighted"), None);
        assert_eq!(get(&metrics, "recall_weighted"), Some(2.0 / 3.0));
        // Class 2 is predicted once and never true: recall is undefined for it.
        let metrics = multiclass(&[0, 1, 1], &[0, 1, 2], 3, None);
        assert_eq!(get(&metrics, "recall_macro"), None);
        assert_eq!(get(&metrics, "precision_weighted"), Some(1.0));
    }

    #[test]
    fn probabilities_give_log_loss_and_one_vs_rest_area() {
        let proba = [0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6];
        let metrics = multiclass(&[0, 1, 2], &[0, 1, 2], 3, Some(&proba));
        assert_eq!(get(&metrics, "roc_auc_ovr"), Some(1.0));
        let expected = -(0.7_f64.ln() + 0.8_f64.ln() + 0.6_f64.ln()) / 3.0;
        let log_loss = get(&metrics, "log_loss").unwrap();
        assert!((log_loss - expected).abs() < 1e-15);
        // Class 2 absent from y_true: the one-vs-rest area of class 2 is undefined.
        let metrics = multiclass(&[0, 1, 1], &[0, 1, 2], 3, Some(&proba));
        assert_eq!(get(&metrics, "roc_auc_ovr"), None);
        assert!(get(&metrics, "log_loss").is_some());
    }

    #[test]
    fn bad_shapes_give_nothing() {
        assert!(multiclass(&[], &[], 3, None).is_empty());
        assert!(multiclass(&[0, 3], &[0, 1], 3, None).is_empty());
        assert!(multiclass(&[0, 1], &[0, 1], 3, Some(&[0.5; 5])).is_empty());
        assert!(multiclass(&[0, 1], &[0, 1], usize::MAX, Some(&[0.5; 5])).is_empty());
    }
}
