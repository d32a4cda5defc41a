//! Isotonic calibration of scores, as scikit-learn's `IsotonicRegression(out_of_bounds="clip")`.
//!
//! A port of what scikit-learn 1.9 does for `IsotonicRegression(out_of_bounds="clip",
//! increasing=True)` without sample weights, operation for operation so that the floating
//! point results are the same:
//!
//! - `fit` (`sklearn/isotonic.py::_build_y`): sort the points by (x, y) (`np.lexsort`, stable);
//!   merge equal x into one point whose y is the mean and whose weight is the count
//!   (`_isotonic.pyx::_make_unique`: x values closer than 1e-15 to the first of a run count as
//!   equal, as there); fit the weighted pool-adjacent-violators algorithm
//!   (`scipy.optimize.isotonic_regression`, Busing's algorithm in `_pava_pybind.cpp`); keep only
//!   the first and last point of every constant run. The kept points are the thresholds.
//! - `apply` (`_transform` with `interp1d`, which delegates to `np.interp`): clip the score to
//!   [first threshold, last threshold], then interpolate linearly between thresholds with
//!   `slope * (x - x_j) + y_j`, `slope = (y_{j+1} - y_j) / (x_{j+1} - x_j)`.
//!
//! `tests/it/cbpe.rs` checks both against scikit-learn on recorded cases.

use serde::{Deserialize, Serialize};

/// `np.finfo(np.float64).resolution`: scikit-learn merges x values closer than this.
const MERGE_RESOLUTION: f64 = 1e-15;

/// A fitted isotonic calibrator: increasing thresholds `x` and their non-decreasing values `y`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CalibratorParts", into = "CalibratorParts")]
pub struct Calibrator {
    x: Vec<f64>,
    y: Vec<f64>,
}

/// The serialized form of a [`Calibrator`], checked by [`Calibrator::from_parts`] when read back.
#[derive(Serialize, Deserialize)]
struct CalibratorParts {
    x: Vec<f64>,
    y: Vec<f64>,
}

impl TryFrom<CalibratorParts> for Calibrator {
    type Error = String;

    fn try_from(parts: CalibratorParts) -> Result<Self, Self::Error> {
        Calibrator::from_parts(parts.x, parts.y)
    }
}

impl From<Calibrator> for CalibratorParts {
    fn from(calibrator: Calibrator) -> Self {
        CalibratorParts {
            x: calibrator.x,
            y: calibrator.y,
        }
    }
}

impl Calibrator {
    /// Fits the calibrator to scores and their labels (true = positive, 1.0).
    ///
    /// `None` when the input is empty, the lengths differ or a score is not finite.
    pub fn fit(scores: &[f64], y_true: &[bool]) -> Option<Calibrator> {
        let targets: Vec<f64> = y_true.iter().map(|&y| if y { 1.0 } else { 0.0 }).collect();
        Calibrator::fit_values(scores, &targets)
    }

    /// Fits the isotonic regression of real targets on scores (what [`Calibrator::fit`] does
    /// with 0/1 targets).
    ///
    /// `None` when the input is empty, the lengths differ or a value is not finite.
    pub fn fit_values(scores: &[f64], targets: &[f64]) -> Option<Calibrator> {
        if scores.is_empty()
            || scores.len() != targets.len()
            || scores.iter().chain(targets).any(|value| !value.is_finite())
        {
            return None;
        }
        let mut order: Vec<usize> = (0..scores.len()).collect();
        // np.lexsort((y, X)) is stable: by x, then by y, then by position.
        order.sort_by(|&a, &b| {
            numeric_order(scores[a], scores[b]).then(numeric_order(targets[a], targets[b]))
        });
        let sorted_x: Vec<f64> = order.iter().map(|&i| scores[i]).collect();
        let sorted_y: Vec<f64> = order.iter().map(|&i| targets[i]).collect();
        let (unique_x, mut unique_y, mut weights) = merge_equal_x(&sorted_x, &sorted_y);
        pool_adjacent_violators(&mut unique_y, &mut weights);
        let (x, y) = keep_run_ends(unique_x, unique_y);
        Some(Calibrator { x, y })
    }

    /// The calibrated probability of one score. A NaN score gives NaN, as scikit-learn's.
    pub fn apply(&self, score: f64) -> f64 {
        let (Some(&first_x), Some(&last_x)) = (self.x.first(), self.x.last()) else {
            return f64::NAN;
        };
        if self.x.len() == 1 {
            // scikit-learn's `_build_f`: a single threshold predicts its value everywhere
            // (even for NaN).
            return self.y.first().copied().unwrap_or(f64::NAN);
        }
        // np.clip(T, X_min_, X_max_), then np.interp(T, X, y) (NaN stays NaN).
        if score.is_nan() {
            return f64::NAN;
        }
        let clipped = if score < first_x {
            first_x
        } else if score > last_x {
            last_x
        } else {
            score
        };
        interpolate(clipped, &self.x, &self.y)
    }

    /// A calibrator from thresholds read back (a snapshot, a config): they must be non-empty,
    /// of the same length and finite, with `x` strictly increasing and `y` non-decreasing.
    pub fn from_parts(x: Vec<f64>, y: Vec<f64>) -> Result<Calibrator, String> {
        if x.is_empty() {
            return Err("calibrator has no thresholds".to_owned());
        }
        if x.len() != y.len() {
            return Err(format!(
                "calibrator has {} threshold scores but {} threshold values",
                x.len(),
                y.len()
            ));
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(format!("calibrator threshold score {i} is not finite"));
        }
        if let Some(i) = y.iter().position(|v| !v.is_finite()) {
            return Err(format!("calibrator threshold value {i} is not finite"));
        }
        if let Some(i) = x.windows(2).position(|pair| pair[0] >= pair[1]) {
            return Err(format!(
                "calibrator threshold scores are not strictly increasing at {}",
                i + 1
            ));
        }
        if let Some(i) = y.windows(2).position(|pair| pair[0] > pair[1]) {
            return Err(format!("calibrator threshold values decrease at {}", i + 1));
        }
        Ok(Calibrator { x, y })
    }

    /// The thresholds: scores `x` (strictly increasing) and their values `y` (non-decreasing).
    pub fn parts(&self) -> (&[f64], &[f64]) {
        (&self.x, &self.y)
    }
}

/// The order numpy's sorts use for finite floats: by value, -0.0 equal to 0.0.
fn numeric_order(a: f64, b: f64) -> std::cmp::Ordering {
    a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal)
}

/// `_make_unique`: one point per run of equal x (closer than [`MERGE_RESOLUTION`] to the run's
/// first x), with the mean y and the count as weight. `x` is sorted and non-empty.
fn merge_equal_x(x: &[f64], y: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut x_out = Vec::new();
    let mut y_out = Vec::new();
    let mut weights_out = Vec::new();
    let mut current_x = x[0];
    let mut current_y = 0.0;
    let mut current_weight = 0.0;
    for (&xj, &yj) in x.iter().zip(y) {
        if xj - current_x >= MERGE_RESOLUTION {
            x_out.push(current_x);
            weights_out.push(current_weight);
            y_out.push(current_y / current_weight);
            current_x = xj;
            current_weight = 1.0;
            current_y = yj * 1.0;
        } else {
            current_weight += 1.0;
            current_y += yj * 1.0;
        }
    }
    x_out.push(current_x);
    weights_out.push(current_weight);
    y_out.push(current_y / current_weight);
    (x_out, y_out, weights_out)
}

/// Weighted pool-adjacent-violators in place, literally scipy's `pava` (Busing 2022,
/// Algorithm 1, with its `>=` modifications): on return `x` is the increasing fit.
fn pool_adjacent_violators(x: &mut [f64], w: &mut [f64]) {
    let n = x.len();
    if n < 2 {
        return;
    }
    let mut r = vec![0usize; n + 1];
    r[1] = 1;
    let mut b = 0usize;
    let mut xb_prev = x[0];
    let mut wb_prev = w[0];
    let mut i = 1usize;
    while i < n {
        b += 1;
        let mut xb = x[i];
        let mut wb = w[i];
        if xb_prev >= xb {
            b -= 1;
            let mut sb = wb_prev * xb_prev + wb * xb;
            wb += wb_prev;
            xb = sb / wb;
            while i < n - 1 && xb >= x[i + 1] {
                i += 1;
                sb += w[i] * x[i];
                wb += w[i];
                xb = sb / wb;
            }
            while b > 0 && x[b - 1] >= xb {
                b -= 1;
                sb += w[b] * x[b];
                wb += w[b];
                xb = sb / wb;
            }
        }
        x[b] = xb;
        xb_prev = xb;
        w[b] = wb;
        wb_prev = wb;
        r[b + 1] = i + 1;
        i += 1;
    }
    // Spread each block's value over its elements, from the last block down.
    let mut from = n;
    for k in (0..=b).rev() {
        let to = r[k];
        let value = x[k];
        for slot in &mut x[to..from] {
            *slot = value;
        }
        from = to;
    }
}

/// scikit-learn's trimming: keep the first and last point and every point whose y differs
/// from its predecessor's or its successor's.
fn keep_run_ends(x: Vec<f64>, y: Vec<f64>) -> (Vec<f64>, Vec<f64>) {
    let n = y.len();
    let keep = |i: usize| i == 0 || i + 1 == n || y[i] != y[i - 1] || y[i] != y[i + 1];
    let kept: Vec<usize> = (0..n).filter(|&i| keep(i)).collect();
    (
        kept.iter().map(|&i| x[i]).collect(),
        kept.iter().map(|&i| y[i]).collect(),
    )
}

/// `np.interp(value, xp, fp)` for `xp[0] <= value <= xp[last]` and at least two points.
fn interpolate(value: f64, xp: &[f64], fp: &[f64]) -> f64 {
    // The largest j with xp[j] <= value (xp is strictly increasing).
    let j = xp
        .partition_point(|&threshold| threshold <= value)
        .saturating_sub(1);
    let last = xp.len() - 1;
    if j >= last {
        return fp[last];
    }
    if xp[j] == value {
        return fp[j];
    }
    let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    let result = slope * (value - xp[j]) + fp[j];
    if result.is_nan() {
        // np.interp: "if we get nan in one direction, try the other".
        let other = slope * (value - xp[j + 1]) + fp[j + 1];
        if other.is_nan() && fp[j] == fp[j + 1] {
            return fp[j];
        }
        return other;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_rejects_bad_input() {
        assert!(Calibrator::fit(&[], &[]).is_none());
        assert!(Calibrator::fit(&[0.1], &[true, false]).is_none());
        assert!(Calibrator::fit(&[0.1, f64::NAN], &[true, false]).is_none());
        assert!(Calibrator::fit(&[0.1, f64::INFINITY], &[true, false]).is_none());
    }

    #[test]
    fn pooled_violators_become_one_run() {
        // y = 1, 0 at x = 0.2, 0.4 pool into 0.5; 0.9 stays 1.
        let calibrator =
            Calibrator::fit(&[0.4, 0.2, 0.9], &[false, true, true]).expect("valid input");
        assert_eq!(
            calibrator.parts(),
            (&[0.2, 0.4, 0.9][..], &[0.5, 0.5, 1.0][..])
        );
        assert_eq!(calibrator.apply(0.0), 0.5);
        assert_eq!(calibrator.apply(0.65), 0.75);
        assert_eq!(calibrator.apply(2.0), 1.0);
        assert!(calibrator.apply(f64::NAN).is_nan());
    }

    #[test]
    fn a_single_threshold_is_constant() {
        let calibrator = Calibrator::fit(&[0.3, 0.3], &[true, false]).expect("valid input");
        assert_eq!(calibrator.parts(), (&[0.3][..], &[0.5][..]));
        assert_eq!(calibrator.apply(0.9), 0.5);
        assert_eq!(calibrator.apply(-1.0), 0.5);
    }

    #[test]
    fn from_parts_checks_what_apply_relies_on() {
        assert!(Calibrator::from_parts(vec![], vec![]).is_err());
        assert!(Calibrator::from_parts(vec![0.1], vec![0.1, 0.2]).is_err());
        assert!(Calibrator::from_parts(vec![0.1, 0.1], vec![0.1, 0.2]).is_err());
        assert!(Calibrator::from_parts(vec![0.2, 0.1], vec![0.1, 0.2]).is_err());
        assert!(Calibrator::from_parts(vec![0.1, 0.2], vec![0.3, 0.2]).is_err());
        assert!(Calibrator::from_parts(vec![0.1, f64::NAN], vec![0.1, 0.2]).is_err());
        assert!(Calibrator::from_parts(vec![0.1, 0.2], vec![0.1, f64::INFINITY]).is_err());
        let calibrator = Calibrator::from_parts(vec![0.1, 0.2], vec![0.1, 0.2]).expect("valid");
        assert_eq!(calibrator.apply(0.15), 0.15); // np.interp(0.15, [0.1, 0.2], [0.1, 0.2])
    }

    #[test]
    fn serde_round_trip_and_checked_read_back() {
        let calibrator =
            Calibrator::fit(&[0.1, 0.5, 0.7, 0.9], &[false, true, false, true]).expect("valid");
        let text = serde_json::to_string(&calibrator).expect("serializes");
        let back: Calibrator = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back, calibrator);
        let bad = r#"{"x":[0.5,0.1],"y":[0.0,1.0]}"#;
        let error = serde_json::from_str::<Calibrator>(bad).expect_err("unordered thresholds");
        assert!(error.to_string().contains("strictly increasing"), "{error}");
    }
}
