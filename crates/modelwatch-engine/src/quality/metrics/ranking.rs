//! The area under the ROC curve and the average precision of scores against binary labels,
//! as scikit-learn's `roc_auc_score` and `average_precision_score` compute them, ties included.

use crate::summation::{sum, sum_by};

/// The points of the binary classifier's curve at each distinct score, from the highest score
/// down (scikit-learn's `confusion_matrix_at_thresholds`): at the last row of each group of
/// tied scores, the count of positives and of negatives scored at or above it.
#[derive(Debug)]
struct Thresholds {
    true_positives: Vec<f64>,
    false_positives: Vec<f64>,
}

impl Thresholds {
    /// The curve of `score` against `positive`. Every score must be finite; the slices have
    /// the same, nonzero length.
    fn new(positive: &[bool], score: &[f64]) -> Self {
        let mut rows: Vec<(f64, bool)> = score
            .iter()
            .copied()
            .zip(positive.iter().copied())
            .collect();
        // By descending score. scikit-learn sorts stably, but the order within a group of tied
        // scores changes no count at the group's end, so any order of ties will do.
        rows.sort_unstable_by(|left, right| {
            right
                .0
                .partial_cmp(&left.0)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut true_positives = Vec::new();
        let mut false_positives = Vec::new();
        let mut cumulative_positives = 0.0;
        for (rank, &(row_score, row_positive)) in rows.iter().enumerate() {
            if row_positive {
                cumulative_positives += 1.0;
            }
            // scikit-learn's `numpy.diff(y_score) != 0`: -0.0 and 0.0 are one threshold.
            let group_ends = rows
                .get(rank + 1)
                .is_none_or(|&(next_score, _)| next_score != row_score);
            if group_ends {
                true_positives.push(cumulative_positives);
                // `fps = 1 + threshold_idxs - tps`
                false_positives.push(1.0 + rank as f64 - cumulative_positives);
            }
        }
        Self {
            true_positives,
            false_positives,
        }
    }

    fn total_positives(&self) -> f64 {
        self.true_positives.last().copied().unwrap_or(0.0)
    }

    fn total_negatives(&self) -> f64 {
        self.false_positives.last().copied().unwrap_or(0.0)
    }
}

/// `roc_auc_score(positive, score)`, or `None` when it is undefined: only one class in
/// `positive` (scikit-learn warns and returns nan), or a score that is not finite (it raises).
pub(super) fn roc_auc(positive: &[bool], score: &[f64]) -> Option<f64> {
    if score.is_empty() || positive.len() != score.len() || !score.iter().all(|s| s.is_finite()) {
        return None;
    }
    let curve = Thresholds::new(positive, score);
    let (positives, negatives) = (curve.total_positives(), curve.total_negatives());
    if positives <= 0.0 || negatives <= 0.0 {
        return None;
    }
    // `roc_curve(drop_intermediate=True)`: keep the first and last points and every point
    // where the second difference of either count is nonzero (a corner), then put (0, 0) first.
    let tps = &curve.true_positives;
    let fps = &curve.false_positives;
    let count = tps.len();
    let mut kept_tps = vec![0.0];
    let mut kept_fps = vec![0.0];
    for index in 0..count {
        let corner = index == 0
            || index + 1 == count
            || second_difference(fps, index - 1) != 0.0
            || second_difference(tps, index - 1) != 0.0;
        if corner {
            kept_tps.push(tps[index]);
            kept_fps.push(fps[index]);
        }
    }
    let tpr: Vec<f64> = kept_tps.iter().map(|tp| tp / positives).collect();
    let fpr: Vec<f64> = kept_fps.iter().map(|fp| fp / negatives).collect();
    // `numpy.trapezoid(tpr, fpr)`: the sum of `dx * (y[1:] + y[:-1]) / 2.0`.
    let area = sum_by(fpr.len() - 1, &|index| {
        (fpr[index + 1] - fpr[index]) * (tpr[index + 1] + tpr[index]) / 2.0
    });
    Some(area)
}

/// `numpy.diff(values, 2)[start]`.
fn second_difference(values: &[f64], start: usize) -> f64 {
    (values[start + 2] - values[start + 1]) - (values[start + 1] - values[start])
}

/// `average_precision_score(positive, score, pos_label=True)`, or `None` when it is undefined:
/// no positive in `positive` (scikit-learn warns "No positive class found in y_true" and
/// returns 0), or a score that is not finite (it raises).
pub(super) fn average_precision(positive: &[bool], score: &[f64]) -> Option<f64> {
    if score.is_empty() || positive.len() != score.len() || !score.iter().all(|s| s.is_finite()) {
        return None;
    }
    let curve = Thresholds::new(positive, score);
    let positives = curve.total_positives();
    if positives <= 0.0 {
        return None;
    }
    // `precision_recall_curve`: the points from the lowest threshold up (recall decreasing),
    // then the point (recall 0, precision 1).
    let precision: Vec<f64> = curve
        .true_positives
        .iter()
        .zip(&curve.false_positives)
        .rev()
        .map(|(tp, fp)| tp / (tp + fp))
        .chain([1.0])
        .collect();
    let recall: Vec<f64> = curve
        .true_positives
        .iter()
        .rev()
        .map(|tp| tp / positives)
        .chain([0.0])
        .collect();
    // `max(0.0, -numpy.sum(numpy.diff(recall) * precision[:-1]))`
    let steps: Vec<f64> = (0..recall.len() - 1)
        .map(|index| (recall[index + 1] - recall[index]) * precision[index])
        .collect();
    Some(f64::max(0.0, -sum(&steps)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tied_scores_count_as_half_a_correct_ordering() {
        // One positive and one negative with the same score: area 0.5.
        assert_eq!(roc_auc(&[true, false], &[0.5, 0.5]), Some(0.5));
        assert_eq!(roc_auc(&[true, false], &[0.9, 0.1]), Some(1.0));
        assert_eq!(roc_auc(&[true, false], &[0.1, 0.9]), Some(0.0));
    }

    #[test]
    fn one_class_has_no_area_and_no_positive_has_no_precision() {
        assert_eq!(roc_auc(&[true, true], &[0.1, 0.9]), None);
        assert_eq!(roc_auc(&[false, false], &[0.1, 0.9]), None);
        assert_eq!(average_precision(&[false, false], &[0.1, 0.9]), None);
        assert_eq!(average_precision(&[true, true], &[0.1, 0.9]), Some(1.0));
        assert_eq!(roc_auc(&[true, false], &[f64::NAN, 0.9]), None);
    }

    #[test]
    fn average_precision_weights_precision_by_recall_steps() {
        // scikit-learn's docstring example: 0.8333333333333333.
        let value = average_precision(&[false, false, true, true], &[0.1, 0.4, 0.35, 0.8]);
        assert_eq!(value, Some(0.833_333_333_333_333_3));
        let auc = roc_auc(&[false, false, true, true], &[0.1, 0.4, 0.35, 0.8]);
        assert_eq!(auc, Some(0.75));
    }
}
