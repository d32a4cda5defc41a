//! Realized quality of a binary classifier over one window: counts of the confusion matrix and
//! the probability scores, as scikit-learn computes each metric.

use super::{Metric, all_probabilities, clip_probability, finish, ranking};
use crate::summation::mean_by;

/// The metrics of one window of a binary classifier, sorted by name.
///
/// `y_true` and `y_pred` say, per row, whether the label and the prediction are the positive
/// class; `score` is the probability of the positive class, one per row, when the window has
/// scores. Each metric equals this scikit-learn 1.9.1 call:
///
/// | name | scikit-learn | absent when |
/// |---|---|---|
/// | `accuracy` | `accuracy_score(y_true, y_pred)` | never |
/// | `precision` | `precision_score(y_true, y_pred, pos_label=True)` | no predicted positive (`UndefinedMetricWarning`, 0) |
/// | `recall` | `recall_score(y_true, y_pred, pos_label=True)` | no true positive label (`UndefinedMetricWarning`, 0) |
/// | `f1` | `f1_score(y_true, y_pred, pos_label=True)` | no positive at all, predicted or true (`UndefinedMetricWarning`, 0) |
/// | `roc_auc` | `roc_auc_score(y_true, score)` | no scores; one class only in `y_true` (`UndefinedMetricWarning`, nan); a score not finite |
/// | `average_precision` | `average_precision_score(y_true, score, pos_label=True)` | no scores; no positive in `y_true` (`UserWarning` "No positive class found", 0); a score not finite |
/// | `log_loss` | `log_loss(y_true, score, labels=[False, True])` | no scores; a score outside `[0, 1]` or not a number |
/// | `brier` | `brier_score_loss(y_true, score, pos_label=True)` | no scores; a score outside `[0, 1]` or not a number |
///
/// `f1` is 0, and present, when there are positives but none is predicted correctly
/// (scikit-learn computes `2 tp / (2 tp + fp + fn)` without a warning then). Empty windows
/// and slices of different lengths give an empty result.
pub fn binary(y_true: &[bool], y_pred: &[bool], score: Option<&[f64]>) -> Vec<Metric> {
    let rows = y_true.len();
    if rows == 0 || y_pred.len() != rows || score.is_some_and(|score| score.len() != rows) {
        return Vec::new();
    }
    let counts = Confusion::count(y_true, y_pred);
    let mut metrics = Vec::with_capacity(8);
    metrics.push(("accuracy", counts.accuracy()));
    let predicted = counts.true_positives + counts.false_positives;
    let actual = counts.true_positives + counts.false_negatives;
    if predicted > 0 {
        metrics.push(("precision", counts.true_positives as f64 / predicted as f64));
    }
    if actual > 0 {
        metrics.push(("recall", counts.true_positives as f64 / actual as f64));
    }
    if predicted + actual > 0 {
        // `(1 + beta²) tp / (beta² true_sum + pred_sum)` with beta = 1.
        let f1 = 2.0 * counts.true_positives as f64 / (actual as f64 + predicted as f64);
        metrics.push(("f1", f1));
    }
    if let Some(score) = score {
        if let Some(auc) = ranking::roc_auc(y_true, score) {
            metrics.push(("roc_auc", auc));
        }
        if let Some(precision) = ranking::average_precision(y_true, score) {
            metrics.push(("average_precision", precision));
        }
        if all_probabilities(score) {
            metrics.push(("log_loss", log_loss(y_true, score)));
            metrics.push(("brier", brier(y_true, score)));
        }
    }
    finish(metrics)
}

/// The confusion matrix of one window, positive class first.
#[derive(Debug, Default)]
struct Confusion {
    true_positives: u64,
    false_positives: u64,
    false_negatives: u64,
    true_negatives: u64,
}

impl Confusion {
    fn count(y_true: &[bool], y_pred: &[bool]) -> Self {
        let mut counts = Self::default();
        for (&actual, &predicted) in y_true.iter().zip(y_pred) {
            match (actual, predicted) {
                (true, true) => counts.true_positives += 1,
                (false, true) => counts.false_positives += 1,
                (true, false) => counts.false_negatives += 1,
                (false, false) => counts.true_negatives += 1,
            }
        }
        counts
    }

    fn accuracy(&self) -> f64 {
        let rows =
            self.true_positives + self.false_positives + self.false_negatives + self.true_negatives;
        (self.true_positives + self.true_negatives) as f64 / rows as f64
    }
}

/// `log_loss(y_true, score, labels=[False, True])`: the mean of `-ln(p)` where `p` is the
/// probability given to the true class (`score` or `1 - score`), clipped to `[eps, 1 - eps]`.
fn log_loss(y_true: &[bool], score: &[f64]) -> f64 {
    mean_by(score.len(), &|row| {
        let probability = if y_true[row] {
            score[row]
        } else {
            1.0 - score[row]
        };
        -clip_probability(probability).ln()
    })
}

/// `brier_score_loss(y_true, score, pos_label=True)`: half the mean over rows of the squared
/// error summed over both classes' columns `[1 - score, score]`, as scikit-learn sums them.
fn brier(y_true: &[bool], score: &[f64]) -> f64 {
    let mean = mean_by(score.len(), &|row| {
        let (negative, positive) = if y_true[row] { (0.0, 1.0) } else { (1.0, 0.0) };
        let negative_error = negative - (1.0 - score[row]);
        let positive_error = positive - score[row];
        negative_error * negative_error + positive_error * positive_error
    });
    mean * 0.5
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::metrics::get;

    #[test]
    fn counts_give_accuracy_precision_recall_and_f1() {
        let y_true = [true, true, false, false, true];
        let y_pred = [true, false, true, false, true];
        let metrics = binary(&y_true, &y_pred, None);
        let names: Vec<&str> = metrics.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["accuracy", "f1", "precision", "recall"]);
        assert_eq!(get(&metrics, "accuracy"), Some(0.6));
        assert_eq!(get(&metrics, "precision"), Some(2.0 / 3.0));
        assert_eq!(get(&metrics, "recall"), Some(2.0 / 3.0));
        assert_eq!(get(&metrics, "f1"), Some(2.0 / 3.0));
    }

    #[test]
    fn undefined_ratios_are_absent_not_zero() {
        // Nothing predicted positive: precision is undefined; recall and f1 are 0.
        let metrics = binary(&[true, false], &[false, false], None);
        assert_eq!(get(&metrics, "precision"), None);
        assert_eq!(get(&metrics, "recall"), Some(0.0));
        assert_eq!(get(&metrics, "f1"), Some(0.0));
        // No positive anywhere: precision, recall and f1 are all undefined.
        let metrics = binary(&[false, false], &[false, false], Some(&[0.2, 0.4]));
        let names: Vec<&str> = metrics.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["accuracy", "brier", "log_loss"]);
    }

    #[test]
    fn probabilities_give_log_loss_and_brier() {
        // scikit-learn: log_loss([True, True], [0.1, 0.2]) = 1.9560115027140728 and
        // brier_score_loss([True, True], [0.1, 0.2], pos_label=True) = 0.7250000000000001.
        let metrics = binary(&[true, true], &[false, false], Some(&[0.1, 0.2]));
        assert_eq!(get(&metrics, "log_loss"), Some(1.956_011_502_714_072_8));
        assert_eq!(get(&metrics, "brier"), Some(0.725_000_000_000_000_1));
        assert_eq!(get(&metrics, "roc_auc"), None);
        // A score of exactly 0 for a positive is clipped, not infinite.
        let metrics = binary(&[true], &[false], Some(&[0.0]));
        assert_eq!(get(&metrics, "log_loss"), Some(-f64::EPSILON.ln()));
    }

    #[test]
    fn bad_shapes_and_bad_scores_give_nothing_or_drop_the_score_metrics() {
        assert!(binary(&[], &[], None).is_empty());
        assert!(binary(&[true], &[true, false], None).is_empty());
        assert!(binary(&[true], &[true], Some(&[])).is_empty());
        let metrics = binary(&[true, false], &[true, false], Some(&[1.5, 0.2]));
        assert_eq!(get(&metrics, "log_loss"), None);
        assert_eq!(get(&metrics, "brier"), None);
        assert_eq!(get(&metrics, "roc_auc"), Some(1.0));
    }
}
