//! Realized quality of a regression model over one window: errors between targets and
//! predictions, as scikit-learn computes each metric.

use super::{Metric, finish};
use crate::summation::{mean_by, sum_by};

/// The metrics of one window of a regression model, sorted by name. Each equals this
/// scikit-learn 1.9.1 call:
///
/// | name | scikit-learn | absent when |
/// |---|---|---|
/// | `mae` | `mean_absolute_error(y_true, y_pred)` | not finite (overflow) |
/// | `mse` | `mean_squared_error(y_true, y_pred)` | not finite (overflow) |
/// | `rmse` | `root_mean_squared_error(y_true, y_pred)` | not finite (overflow) |
/// | `mape` | `mean_absolute_percentage_error(y_true, y_pred)` | not finite (overflow) |
/// | `r2` | `r2_score(y_true, y_pred, force_finite=False)` | fewer than 2 rows (`UndefinedMetricWarning`, nan); constant targets (nan or -inf; the default `force_finite=True` puts 1.0 or 0.0 there); not finite |
/// | `median_ae` | `median_absolute_error(y_true, y_pred)` | not finite (overflow) |
/// | `max_error` | `max_error(y_true, y_pred)` | not finite (overflow) |
///
/// `mape` divides by `max(|y_true|, eps)`: a zero target gives scikit-learn's huge finite
/// value (`|error| / 2.220446049250313e-16`), and it is emitted. `r2` of constant targets is
/// undefined and absent: scikit-learn's default `force_finite=True` gives 1.0 or 0.0 there
/// without a warning, values it puts in place of nan and -inf.
///
/// Empty windows, slices of different lengths, and a target or prediction that is not finite
/// (scikit-learn raises) give an empty result.
pub fn regression(y_true: &[f64], y_pred: &[f64]) -> Vec<Metric> {
    let rows = y_true.len();
    if rows == 0
        || y_pred.len() != rows
        || !y_true.iter().chain(y_pred).all(|value| value.is_finite())
    {
        return Vec::new();
    }
    let absolute_error = |row: usize| (y_pred[row] - y_true[row]).abs();
    let squared_error = |row: usize| {
        let error = y_true[row] - y_pred[row];
        error * error
    };
    let mse = mean_by(rows, &squared_error);
    let mut metrics = vec![
        ("mae", mean_by(rows, &absolute_error)),
        ("mse", mse),
        ("rmse", mse.sqrt()),
        (
            "mape",
            mean_by(rows, &|row| {
                absolute_error(row) / y_true[row].abs().max(f64::EPSILON)
            }),
        ),
        ("median_ae", median((0..rows).map(absolute_error).collect())),
        (
            "max_error",
            (0..rows).map(absolute_error).fold(0.0, f64::max),
        ),
    ];
    if rows >= 2
        && let Some(r2) = r2(y_true, &squared_error)
    {
        metrics.push(("r2", r2));
    }
    finish(metrics)
}

/// `r2_score`: `1 - residual / total`; `None` when the targets are constant (the total is 0),
/// where scikit-learn's `force_finite` puts 1.0 or 0.0 in place of nan or -inf.
fn r2(y_true: &[f64], squared_error: &impl Fn(usize) -> f64) -> Option<f64> {
    let rows = y_true.len();
    let residual = sum_by(rows, squared_error);
    let target_mean = mean_by(rows, &|row| y_true[row]);
    let total = sum_by(rows, &|row| {
        let deviation = y_true[row] - target_mean;
        deviation * deviation
    });
    (total != 0.0).then(|| 1.0 - residual / total)
}

/// `numpy.median`: the middle value, or the mean of the two middle values. `values` must not
/// be empty.
fn median(mut values: Vec<f64>) -> f64 {
    let middle = values.len() / 2;
    let odd = values.len() % 2 == 1;
    let (lower, &mut upper, _) = values.select_nth_unstable_by(middle, f64::total_cmp);
    if odd {
        return upper;
    }
    let below = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // `numpy.mean` of the two middle values: `(-0.0 + below + upper) / 2`.
    (-0.0 + below + upper) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::metrics::get;

    #[test]
    fn errors_between_targets_and_predictions() {
        let metrics = regression(&[1.0, 2.0, 3.0, 4.0], &[0.0, 0.0, 0.0, 0.1]);
        let names: Vec<&str> = metrics.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            ["mae", "mape", "max_error", "median_ae", "mse", "r2", "rmse"]
        );
        assert_eq!(get(&metrics, "median_ae"), Some(2.5));
        assert_eq!(get(&metrics, "max_error"), Some(3.9));
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
    }

    #[test]
    fn zero_targets_follow_scikit_learn_and_constant_targets_have_no_r2() {
        // mean_absolute_percentage_error([0, 2], [1, 2]) = 2251799813685248.0
        let metrics = regression(&[0.0, 2.0], &[1.0, 2.0]);
        assert_eq!(get(&metrics, "mape"), Some(2_251_799_813_685_248.0));
        // scikit-learn's force_finite gives 0.0 and 1.0 here: values in place of -inf and nan.
        assert_eq!(get(&regression(&[1.0, 1.0], &[1.0, 2.0]), "r2"), None);
        assert_eq!(get(&regression(&[1.0, 1.0], &[1.0, 1.0]), "r2"), None);
        assert_eq!(get(&regression(&[1.0], &[1.0]), "r2"), None);
    }

    #[test]
    fn bad_input_gives_nothing_and_overflow_drops_the_metric() {
        assert!(regression(&[], &[]).is_empty());
        assert!(regression(&[1.0], &[1.0, 2.0]).is_empty());
        assert!(regression(&[f64::NAN], &[1.0]).is_empty());
        let metrics = regression(&[-1e300, 1e300], &[1e300, -1e300]);
        assert_eq!(get(&metrics, "mse"), None);
        assert_eq!(get(&metrics, "mae"), Some(2e300));
    }
}
