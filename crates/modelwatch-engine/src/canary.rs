//! Canary judgement: is a candidate's sample of a metric worse than a baseline's? [`judge`]
//! answers for two windows of values (the engine's canary rules call it on the windows they
//! keep, `GET /v1/canary/{model}` on windows read from the store), and [`CanaryTracker`]
//! (`canary/tracker.rs`) keeps those windows in the engine and emits verdicts as points come.
//!
//! The test is the Mann-Whitney U test with the confidence interval of the shift (candidate
//! minus baseline), as Kayenta judges canaries (`modelwatch_detectors::mann_whitney`, R's
//! `wilcox.test`). Pure: no I/O, no clock.

pub(crate) mod tracker;

use serde::Serialize;

use modelwatch_detectors::{MannWhitneyError, mann_whitney};

use crate::config::CanaryRule;
use crate::metric::Goal;
use crate::output::short_number;

pub use tracker::CanaryTracker;

/// What a canary judgement concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The candidate is not worse than the baseline (by more than the tolerance).
    Pass,
    /// The candidate is significantly worse than the baseline.
    Fail,
    /// A side has fewer points than the rule needs (or the test cannot run).
    NotEnoughData,
}

impl Verdict {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::NotEnoughData => "not_enough_data",
        }
    }
}

/// How to judge: what a canary rule says, as plain values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CanaryParams {
    /// The confidence of the test, strictly between 0 and 1 (such as 0.98). Outside, the test
    /// cannot run and the verdict is not_enough_data.
    pub confidence: f64,
    /// Fewer (finite) values on either side: not_enough_data. 0 counts as 1.
    pub min_samples: usize,
    /// A significant shift in the bad direction fails only when its size is more than this
    /// fraction of the baseline's median (0: any significant bad shift fails; a negative or
    /// non-finite tolerance counts as 0).
    pub tolerance: f64,
    /// Which shift is bad: lower values for `HigherIsBetter`, higher for `LowerIsBetter`, any
    /// for `Unknown`.
    pub direction: Goal,
}

impl CanaryParams {
    /// The parameters of a canary rule, whose metric has `direction`.
    pub fn of_rule(rule: &CanaryRule, direction: Goal) -> CanaryParams {
        CanaryParams {
            confidence: rule.confidence,
            min_samples: usize::try_from(rule.min_samples).unwrap_or(usize::MAX),
            tolerance: rule.tolerance,
            direction,
        }
    }
}

/// A verdict and the numbers behind it.
///
/// Serialized, it holds the numbers only, not the verdict: it always goes next to one (a
/// [`crate::CanaryVerdict`] has `verdict` and `judgement`; do the same elsewhere).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Judgement {
    /// Pass, fail or not enough data.
    #[serde(skip)]
    pub verdict: Verdict,
    /// The candidate's values judged (finite ones).
    pub candidate_count: u64,
    /// The baseline's values judged (finite ones).
    pub baseline_count: u64,
    /// The candidate's median; absent for no values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidate_median: Option<f64>,
    /// The baseline's median; absent for no values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_median: Option<f64>,
    /// The test's confidence.
    pub confidence: f64,
    /// The Mann-Whitney U statistic of the candidate; absent when the test did not run (not
    /// enough data, or every value of both sides the same).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub u: Option<f64>,
    /// The standardized statistic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub z: Option<f64>,
    /// The two-sided p-value of "both sides come from the same distribution".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// The estimated shift of the candidate from the baseline (candidate minus baseline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<f64>,
    /// The confidence interval of the shift, lower then upper.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<(f64, f64)>,
    /// The largest bad shift tolerated: `tolerance` times the baseline median's size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_shift: Option<f64>,
}

impl Judgement {
    /// The judgement in words, such as "median 141 against 100, shift 40.5 (98% interval
    /// 38.2 .. 42.9) is worse than allowed": what a verdict's message says after its subject.
    pub fn describe(&self) -> String {
        let counts = format!(
            "{} candidate and {} baseline points",
            self.candidate_count, self.baseline_count
        );
        let medians = match (self.candidate_median, self.baseline_median) {
            (Some(candidate), Some(baseline)) => format!(
                "median {} against {}",
                short_number(candidate),
                short_number(baseline)
            ),
            _ => String::new(),
        };
        let (Some(estimate), Some((low, high))) = (self.estimate, self.interval) else {
            return match self.verdict {
                Verdict::NotEnoughData => format!("not enough data: {counts}"),
                _ if self.u.is_none() && self.candidate_median.is_some() => {
                    format!("every value of both sides is the same ({medians}, {counts})")
                }
                _ => format!("{medians}, {counts}"),
            };
        };
        let shift = format!(
            "shift {} ({}% interval {} .. {})",
            short_number(estimate),
            short_number(self.confidence * 100.0),
            short_number(low),
            short_number(high)
        );
        let judged = match self.verdict {
            Verdict::Fail => "is worse than allowed".to_string(),
            Verdict::Pass if !(low > 0.0 || high < 0.0) => "is not significant".to_string(),
            Verdict::Pass => match self.allowed_shift {
                Some(allowed) if estimate.abs() <= allowed => {
                    format!("is within the tolerance {}", short_number(allowed))
                }
                _ => "is in the good direction".to_string(),
            },
            Verdict::NotEnoughData => "cannot be judged".to_string(),
        };
        format!("{medians}, {shift} {judged}, over {counts}")
    }
}

/// Judges `candidate` against `baseline` (see the module docs). Values that are not finite
/// numbers are left out. Total: never panics, whatever the values and parameters.
///
/// - Fewer than `min_samples` values on either side: [`Verdict::NotEnoughData`].
/// - Every value of both sides the same: [`Verdict::Pass`] (no difference).
/// - [`Verdict::Fail`] iff the confidence interval of the shift excludes 0, the estimated
///   shift is in the metric's bad direction, and its size is more than `tolerance` times the
///   size of the baseline's median; otherwise [`Verdict::Pass`].
pub fn judge(params: &CanaryParams, candidate: &[f64], baseline: &[f64]) -> Judgement {
    let candidate: Vec<f64> = candidate
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    let baseline: Vec<f64> = baseline.iter().copied().filter(|x| x.is_finite()).collect();
    let baseline_median = median(&baseline);
    let tolerance = if params.tolerance.is_finite() {
        params.tolerance.max(0.0)
    } else {
        0.0
    };
    let mut judgement = Judgement {
        verdict: Verdict::NotEnoughData,
        candidate_count: candidate.len() as u64,
        baseline_count: baseline.len() as u64,
        candidate_median: median(&candidate),
        baseline_median,
        confidence: params.confidence,
        u: None,
        z: None,
        p_value: None,
        estimate: None,
        interval: None,
        allowed_shift: baseline_median.map(|median| tolerance * median.abs()),
    };
    let needed = params.min_samples.max(1);
    if candidate.len() < needed || baseline.len() < needed {
        return judgement;
    }
    let test = match mann_whitney(&candidate, &baseline, params.confidence) {
        Ok(test) => test,
        Err(MannWhitneyError::AllTied) => {
            judgement.verdict = Verdict::Pass;
            return judgement;
        }
        Err(
            MannWhitneyError::Confidence(_)
            | MannWhitneyError::Empty { .. }
            | MannWhitneyError::NotFinite { .. },
        ) => return judgement,
    };
    let (low, high) = test.interval;
    let significant = low > 0.0 || high < 0.0;
    let bad = match params.direction {
        Goal::HigherIsBetter => test.estimate < 0.0,
        Goal::LowerIsBetter => test.estimate > 0.0,
        Goal::Unknown => test.estimate != 0.0,
    };
    let large = judgement
        .allowed_shift
        .is_some_and(|allowed| test.estimate.abs() > allowed);
    judgement.verdict = if significant && bad && large {
        Verdict::Fail
    } else {
        Verdict::Pass
    };
    judgement.u = Some(test.u);
    judgement.z = Some(test.z);
    judgement.p_value = Some(test.p_value);
    judgement.estimate = Some(test.estimate);
    judgement.interval = Some(test.interval);
    judgement
}

/// A verdict in words: "latency_ms of fraud-detector 2.0 fails against the baseline (instance
/// stable-*): " and then what [`Judgement::describe`] says (`described`). What canary verdicts
/// and `GET /v1/canary/{model}` say.
pub fn verdict_message(
    metric: &str,
    model: &str,
    version: &str,
    baseline: &str,
    verdict: Verdict,
    described: &str,
) -> String {
    let outcome = match verdict {
        Verdict::Fail => "fails against",
        Verdict::Pass => "passes against",
        Verdict::NotEnoughData => "cannot be judged against",
    };
    format!("{metric} of {model} {version} {outcome} the baseline ({baseline}): {described}")
}

/// The median of finite values (the mean of the middle two for an even count).
fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted.get(middle).copied()
    } else {
        Some((sorted.get(middle - 1)? + sorted.get(middle)?) / 2.0)
    }
}

#[cfg(test)]
mod tests;
