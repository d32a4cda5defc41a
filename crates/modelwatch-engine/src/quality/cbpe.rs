//! Confidence-based performance estimation (CBPE) for binary classifiers, as NannyML computes it.
//!
//! A port of NannyML 0.13.1's binary CBPE (`nannyml/performance_estimation/confidence_based/`):
//! a [`Reference`] is fitted on labeled predictions (an isotonic [`Calibrator`] or none), then
//! [`estimate`] turns one chunk of unlabeled predictions into the expected confusion matrix and
//! the metrics derived from it. The arithmetic follows numpy's operation for operation (pairwise
//! sums as `np.sum`, sequential `np.cumsum`, `np.round(_, 5)`, `sklearn.metrics.auc`), so that
//! the estimates equal NannyML's to the last bit or nearly; `tests/it/cbpe.rs` replays cases
//! generated with NannyML itself (`tools/cbpe_reference.py`).
//!
//! Where NannyML returns a made-up 0 for an undefined metric (precision without predicted
//! positives, recall without expected positives, F1 with both), the metric is absent here, as
//! for realized metrics where scikit-learn warns. Non-finite results are absent too.

use serde::{Deserialize, Serialize};

use super::isotonic::Calibrator;
use crate::summation::sum;

/// Expected share of correct predictions: `(Σ_{ŷ=1} p + Σ_{ŷ=0} (1 − p)) / n`.
pub const ESTIMATED_ACCURACY: &str = "estimated_accuracy";
/// `TP / (TP + (FP + FN) / 2)` with the expected counts; absent when the denominator is 0.
pub const ESTIMATED_F1: &str = "estimated_f1";
/// `TP / (TP + FP)`, `TP = Σ_{ŷ=1} p`, `FP = Σ_{ŷ=1} (1 − p)`; absent without predicted positives.
pub const ESTIMATED_PRECISION: &str = "estimated_precision";
/// `TP / (TP + FN)`, `FN = Σ_{ŷ=0} p`; absent when no positive is expected (every p is 0).
pub const ESTIMATED_RECALL: &str = "estimated_recall";
/// The area under the expected ROC curve (see `estimated_roc_auc`); absent when every p is 0
/// or every p is 1.
pub const ESTIMATED_ROC_AUC: &str = "estimated_roc_auc";

/// NannyML skips calibration when the reference's ROC AUC is above this
/// (`nannyml/calibration.py::needs_calibration`).
const NO_CALIBRATION_ABOVE_ROC_AUC: f64 = 0.999;

/// How scores are calibrated before estimating (config key `calibration`).
///
/// NannyML decides with `needs_calibration`: no calibration when the reference has one class
/// or a ROC AUC above 0.999; otherwise it compares the expected calibration error of raw and
/// cross-validated isotonic scores over ten `StratifiedShuffleSplit(random_state=42)` splits.
/// `Auto` takes the two shortcuts and otherwise calibrates: it does not port the
/// cross-validation (numpy's MT19937 index streams), so where NannyML finds calibration
/// useless `Auto` calibrates all the same. `Isotonic` and `None` force the choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Calibration {
    /// NannyML's shortcuts (one class, ROC AUC above 0.999: none), isotonic otherwise.
    #[default]
    Auto,
    /// Always fit an isotonic calibrator on the reference.
    Isotonic,
    /// Use the raw scores as probabilities.
    None,
}

/// The fitted reference: what [`estimate`] needs from the labeled reference window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    calibrator: Option<Calibrator>,
}

impl Reference {
    /// Fits the reference to raw scores and their labels.
    ///
    /// `None` when the input is empty, the lengths differ or a score is not finite.
    pub fn fit(scores: &[f64], y_true: &[bool], calibration: Calibration) -> Option<Reference> {
        if scores.is_empty()
            || scores.len() != y_true.len()
            || scores.iter().any(|score| !score.is_finite())
        {
            return None;
        }
        let calibrate = match calibration {
            Calibration::Isotonic => true,
            Calibration::None => false,
            Calibration::Auto => !calibration_shortcut_applies(scores, y_true),
        };
        let calibrator = if calibrate {
            Some(Calibrator::fit(scores, y_true)?)
        } else {
            None
        };
        Some(Reference { calibrator })
    }

    /// A reference that uses this calibrator (or the raw scores, with `None`).
    pub fn with_calibrator(calibrator: Option<Calibrator>) -> Reference {
        Reference { calibrator }
    }

    /// The isotonic calibrator, when the scores are calibrated.
    pub fn calibrator(&self) -> Option<&Calibrator> {
        self.calibrator.as_ref()
    }

    /// The probability of the positive class this reference gives a raw score.
    pub fn probability(&self, raw_score: f64) -> f64 {
        match &self.calibrator {
            Some(calibrator) => calibrator.apply(raw_score),
            None => raw_score,
        }
    }
}

/// Whether NannyML's `needs_calibration` returns false before any cross-validation: the
/// labels have a single class, or the scores' ROC AUC is above 0.999.
pub fn calibration_shortcut_applies(scores: &[f64], y_true: &[bool]) -> bool {
    let positives = y_true.iter().filter(|&&y| y).count();
    if positives == 0 || positives == y_true.len() {
        return true;
    }
    roc_auc(scores, y_true) > NO_CALIBRATION_ABOVE_ROC_AUC
}

/// Estimates over one chunk: raw scores and the predictions as given (`y_pred`, not
/// re-thresholded), sorted by name. Rows with a NaN score are dropped first, as NannyML does;
/// mismatched lengths or no rows left give no estimates.
pub fn estimate(
    reference: &Reference,
    raw_scores: &[f64],
    y_pred: &[bool],
) -> Vec<(&'static str, f64)> {
    if raw_scores.len() != y_pred.len() {
        return Vec::new();
    }
    let rows: Vec<(f64, bool)> = raw_scores
        .iter()
        .zip(y_pred)
        .filter(|(score, _)| !score.is_nan())
        .map(|(&score, &predicted)| (score, predicted))
        .collect();
    if rows.is_empty() {
        return Vec::new();
    }
    let probabilities: Vec<f64> = rows
        .iter()
        .map(|&(score, _)| reference.probability(score))
        .collect();
    // np.where(y_pred == 1, p, 0) and the like, summed over the whole chunk as np.sum does.
    let masked_sum = |term: &dyn Fn(f64, bool) -> f64| -> f64 {
        let terms: Vec<f64> = probabilities
            .iter()
            .zip(&rows)
            .map(|(&p, &(_, predicted))| term(p, predicted))
            .collect();
        sum(&terms)
    };
    let tp = masked_sum(&|p, predicted| if predicted { p } else { 0.0 });
    let fp = masked_sum(&|p, predicted| if predicted { 1.0 - p } else { 0.0 });
    let fn_ = masked_sum(&|p, predicted| if predicted { 0.0 } else { p });
    let tn = masked_sum(&|p, predicted| if predicted { 0.0 } else { 1.0 - p });

    let accuracy = Some((tp + tn) / rows.len() as f64);
    let f1 = ratio(tp, tp + 0.5 * (fp + fn_));
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let raw: Vec<f64> = rows.iter().map(|&(score, _)| score).collect();
    let roc_auc = estimated_roc_auc(&probabilities, &raw);

    [
        (ESTIMATED_ACCURACY, accuracy),
        (ESTIMATED_F1, f1),
        (ESTIMATED_PRECISION, precision),
        (ESTIMATED_RECALL, recall),
        (ESTIMATED_ROC_AUC, roc_auc),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.filter(|v| v.is_finite()).map(|v| (name, v)))
    .collect()
}

/// `numerator / denominator`, undefined (NannyML: 0) when the denominator is 0.
fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator != 0.0).then(|| numerator / denominator)
}

/// NannyML's `estimate_roc_auc(calibrated, uncalibrated)`: rows ordered by raw score
/// descending, cumulative expected true and false positives rounded to 5 decimals, the
/// trapezoid area under the resulting curve (`sklearn.metrics.auc`).
///
/// NannyML orders with `np.argsort(raw)[::-1]`, whose order of tied raw scores depends on
/// numpy's sort. Tied raw scores have equal calibrated scores (calibration is a function of
/// the raw score), so their order cannot change the cumulative sums: the result is the same
/// whatever the order of ties. Here ties keep their arrival order.
fn estimated_roc_auc(calibrated: &[f64], raw: &[f64]) -> Option<f64> {
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.sort_by(|&a, &b| {
        raw[b]
            .partial_cmp(&raw[a])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let n = order.len();
    let mut tps = Vec::with_capacity(n + 1);
    let mut fps = Vec::with_capacity(n + 1);
    tps.push(0.0);
    fps.push(0.0);
    let mut cumulative = 0.0;
    for (rank, &row) in order.iter().enumerate() {
        cumulative = if rank == 0 {
            calibrated[row]
        } else {
            cumulative + calibrated[row]
        };
        tps.push(round_to_5_decimals(cumulative));
        fps.push(round_to_5_decimals((rank + 1) as f64 - cumulative));
    }
    let (&tps_last, &fps_last) = (tps.last()?, fps.last()?);
    let tpr: Vec<f64> = tps.iter().map(|&v| v / tps_last).collect();
    let fpr: Vec<f64> = fps.iter().map(|&v| v / fps_last).collect();
    trapezoid_auc(&fpr, &tpr)
}

/// `sklearn.metrics.auc(x, y)`: `None` where it raises (x neither increasing nor decreasing).
fn trapezoid_auc(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() < 2 || x.len() != y.len() {
        return None;
    }
    let dx: Vec<f64> = x.windows(2).map(|pair| pair[1] - pair[0]).collect();
    let mut direction = 1.0;
    if dx.iter().any(|&d| d < 0.0) {
        if dx.iter().all(|&d| d <= 0.0) {
            direction = -1.0;
        } else {
            return None;
        }
    }
    // np.trapezoid: (d * (y[1:] + y[:-1]) / 2.0).sum()
    let terms: Vec<f64> = dx
        .iter()
        .zip(y.windows(2))
        .map(|(&d, pair)| d * (pair[1] + pair[0]) / 2.0)
        .collect();
    Some(direction * sum(&terms))
}

/// `np.round(value, 5)`: `rint(value * 1e5) / 1e5`, ties to even.
fn round_to_5_decimals(value: f64) -> f64 {
    (value * 1e5).round_ties_even() / 1e5
}

/// The ROC AUC of scores against labels (the Mann-Whitney statistic with mid-ranks for ties),
/// equal to `sklearn.metrics.roc_auc_score` up to rounding. Needs both classes.
fn roc_auc(scores: &[f64], y_true: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        scores[a]
            .partial_cmp(&scores[b])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut positive_rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        // Ranks start..end (0-based) share the mid-rank (start + end + 1) / 2 (1-based).
        let mid_rank = (start + end + 1) as f64 / 2.0;
        let tied_positives = order[start..end].iter().filter(|&&row| y_true[row]).count();
        positive_rank_sum += mid_rank * tied_positives as f64;
        start = end;
    }
    let positives = y_true.iter().filter(|&&y| y).count() as f64;
    let negatives = y_true.len() as f64 - positives;
    (positive_rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_groups_as_numpy() {
        // Values chosen so that sequential and pairwise sums differ.
        let values: Vec<f64> = (0..300).map(|i| 0.1 + f64::from(i) * 1e-3).collect();
        let sequential: f64 = values.iter().sum();
        let pairwise = sum(&values);
        assert!((pairwise - sequential).abs() < 1e-10);
        assert_eq!(sum(&[]), -0.0);
        assert_eq!(sum(&[1.0, 2.0]), 3.0);
    }

    #[test]
    fn rounding_is_half_to_even() {
        // 2.5e-5 * 1e5 and 1.5e-5 * 1e5 are exactly 2.5 and 1.5.
        assert_eq!(round_to_5_decimals(2.5e-5), 2e-5);
        assert_eq!(round_to_5_decimals(1.5e-5), 2e-5);
        assert_eq!(round_to_5_decimals(0.123_456), 0.12346);
    }

    #[test]
    fn undefined_ratios_are_absent() {
        let reference = Reference::with_calibrator(None);
        // No predicted positives: precision undefined; all probabilities 0: recall, f1 and
        // roc_auc undefined too.
        let estimates = estimate(&reference, &[0.0, 0.0], &[false, false]);
        assert_eq!(estimates, vec![(ESTIMATED_ACCURACY, 1.0)]);
        let estimates = estimate(&reference, &[0.2, 0.6], &[false, false]);
        let names: Vec<&str> = estimates.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                ESTIMATED_ACCURACY,
                ESTIMATED_F1,
                ESTIMATED_RECALL,
                ESTIMATED_ROC_AUC
            ]
        );
    }

    #[test]
    fn bad_chunks_give_nothing() {
        let reference = Reference::with_calibrator(None);
        assert!(estimate(&reference, &[0.5], &[]).is_empty());
        assert!(estimate(&reference, &[], &[]).is_empty());
        assert!(estimate(&reference, &[f64::NAN], &[true]).is_empty());
    }

    #[test]
    fn auto_takes_the_shortcuts() {
        let scores = [0.1, 0.4, 0.35, 0.8];
        let one_class = Reference::fit(&scores, &[true; 4], Calibration::Auto).expect("fits");
        assert!(one_class.calibrator().is_none());
        let separated =
            Reference::fit(&scores, &[false, true, false, true], Calibration::Auto).expect("fits");
        assert!(separated.calibrator().is_none());
        let mixed =
            Reference::fit(&scores, &[false, false, true, true], Calibration::Auto).expect("fits");
        assert!(mixed.calibrator().is_some());
        assert!(Reference::fit(&scores, &[true; 3], Calibration::Auto).is_none());
    }

    #[test]
    fn roc_auc_uses_mid_ranks() {
        assert_eq!(
            roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            0.75
        );
        assert_eq!(roc_auc(&[0.5, 0.5], &[false, true]), 0.5);
    }
}
