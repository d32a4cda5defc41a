//! The Mann-Whitney U test (Wilcoxon rank-sum) of a candidate sample against a baseline, with
//! the confidence interval of the location shift between them: the statistics behind canary
//! judgement, as Kayenta judges canaries.
//!
//! Everything follows R's `wilcox.test(candidate, baseline, conf.int = TRUE, exact = FALSE,
//! correct = TRUE)`, which Kayenta's judge ports: the normal approximation with the tie and
//! continuity corrections; the Hodges-Lehmann estimate of the shift and its confidence interval
//! found as roots of the standardized statistic of `candidate - d` against `baseline`, by
//! Brent's `zeroin` as R's `uniroot` runs it (tolerance 1e-4). The normal distribution is
//! computed here (no dependency): `erf` by its series, `erfc` by its continued fraction, the
//! quantile by Newton steps on them.

use std::cmp::Ordering;
use std::fmt;

/// What [`mann_whitney`] found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MannWhitney {
    /// The Wilcoxon rank-sum statistic of the candidate: its rank sum minus `n(n+1)/2`, which is
    /// the number of (candidate, baseline) pairs where the candidate is larger (ties count half).
    pub u: f64,
    /// The standardized statistic (continuity and tie corrected).
    pub z: f64,
    /// The two-sided p-value of "both samples come from the same distribution".
    pub p_value: f64,
    /// The estimated shift of the candidate from the baseline (candidate minus baseline).
    pub estimate: f64,
    /// The confidence interval of the shift, lower then upper.
    pub interval: (f64, f64),
}

/// Why [`mann_whitney`] cannot judge.
#[derive(Clone, Debug, PartialEq)]
pub enum MannWhitneyError {
    /// A sample is empty.
    Empty {
        /// `candidate` or `baseline`.
        sample: &'static str,
    },
    /// A value is not a finite number.
    NotFinite {
        /// `candidate` or `baseline`.
        sample: &'static str,
        /// Its position in the sample.
        index: usize,
    },
    /// The confidence is not strictly between 0 and 1.
    Confidence(f64),
    /// Every value of both samples is the same: there is no spread to judge by.
    AllTied,
}

impl fmt::Display for MannWhitneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MannWhitneyError::Empty { sample } => write!(f, "the {sample} sample is empty"),
            MannWhitneyError::NotFinite { sample, index } => {
                write!(
                    f,
                    "value {index} of the {sample} sample is not a finite number"
                )
            }
            MannWhitneyError::Confidence(confidence) => write!(
                f,
                "the confidence must be strictly between 0 and 1, got {confidence}"
            ),
            MannWhitneyError::AllTied => f.write_str(
                "every value of both samples is the same, so there is no spread to judge by",
            ),
        }
    }
}

impl std::error::Error for MannWhitneyError {}

/// Tests `candidate` against `baseline` at `confidence` (such as 0.98).
///
/// # Errors
///
/// [`MannWhitneyError`] for an empty sample, a value that is not finite, a confidence outside
/// (0, 1), or samples whose values are all equal.
pub fn mann_whitney(
    candidate: &[f64],
    baseline: &[f64],
    confidence: f64,
) -> Result<MannWhitney, MannWhitneyError> {
    check(candidate, "candidate")?;
    check(baseline, "baseline")?;
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(MannWhitneyError::Confidence(confidence));
    }
    let samples = Samples {
        x: candidate,
        y: baseline,
    };
    let (u, z) = samples.statistic(0.0).ok_or(MannWhitneyError::AllTied)?;
    let p_value = 2.0 * normal_cdf(-z.abs()).min(0.5);
    let (x_min, x_max) = min_max(candidate);
    let (y_min, y_max) = min_max(baseline);
    let (mu_min, mu_max) = (x_min - y_max, x_max - y_min);
    let quantile = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
    let lower = samples.root(mu_min, mu_max, quantile)?;
    let upper = samples.root(mu_min, mu_max, -quantile)?;
    let estimate = samples.root(mu_min, mu_max, 0.0)?;
    Ok(MannWhitney {
        u,
        z,
        p_value,
        estimate,
        interval: (lower, upper),
    })
}

fn check(sample: &[f64], name: &'static str) -> Result<(), MannWhitneyError> {
    if sample.is_empty() {
        return Err(MannWhitneyError::Empty { sample: name });
    }
    match sample.iter().position(|value| !value.is_finite()) {
        Some(index) => Err(MannWhitneyError::NotFinite {
            sample: name,
            index,
        }),
        None => Ok(()),
    }
}

fn min_max(sample: &[f64]) -> (f64, f64) {
    sample
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(min, max), value| {
            (min.min(*value), max.max(*value))
        })
}

/// The two samples, candidate `x` and baseline `y`.
struct Samples<'a> {
    x: &'a [f64],
    y: &'a [f64],
}

impl Samples<'_> {
    /// The rank-sum statistic of `x - shift` against `y` and its standardized value (R's
    /// `wdiff` without the quantile); `None` when every value is tied.
    fn statistic(&self, shift: f64) -> Option<(f64, f64)> {
        let (nx, ny) = (self.x.len() as f64, self.y.len() as f64);
        let values: Vec<f64> = self
            .x
            .iter()
            .map(|value| value - shift)
            .chain(self.y.iter().copied())
            .collect();
        let (ranks, ties) = average_ranks(&values);
        let rank_sum: f64 = ranks[..self.x.len()].iter().sum();
        let u = rank_sum - nx * (nx + 1.0) / 2.0;
        let centred = u - nx * ny / 2.0;
        let n = nx + ny;
        let sigma = (nx * ny / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)))).sqrt();
        // Zero (or NaN: one value in each sample) when every value is tied.
        if sigma.is_nan() || sigma <= 0.0 {
            return None;
        }
        let correction = 0.5 * sign(centred);
        Some((u, (centred - correction) / sigma))
    }

    /// R's `wdiff(d, zq)`.
    fn difference(&self, shift: f64, quantile: f64) -> Result<f64, MannWhitneyError> {
        self.statistic(shift)
            .map(|(_, z)| z - quantile)
            .ok_or(MannWhitneyError::AllTied)
    }

    /// The shift where the standardized statistic crosses `quantile`, within [min, max] (R's
    /// `root`, and its `uniroot` for the estimate).
    fn root(&self, min: f64, max: f64, quantile: f64) -> Result<f64, MannWhitneyError> {
        let at_min = self.difference(min, quantile)?;
        let at_max = self.difference(max, quantile)?;
        if at_min <= 0.0 {
            return Ok(min);
        }
        if at_max >= 0.0 {
            return Ok(max);
        }
        zeroin(min, max, at_min, at_max, UNIROOT_TOLERANCE, |shift| {
            self.difference(shift, quantile)
        })
    }
}

/// `sign(x)` as R has it: -1, 0 or 1.
fn sign(value: f64) -> f64 {
    if value > 0.0 {
        1.0
    } else if value < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The ranks of `values` (1-based, ties given their average rank, as R's `rank`) and the tie
/// term `sum(t^3 - t)` over the groups of `t` equal ranks.
fn average_ranks(values: &[f64]) -> (Vec<f64>, f64) {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|a, b| {
        values[*a]
            .partial_cmp(&values[*b])
            .unwrap_or(Ordering::Equal)
    });
    let mut ranks = vec![0.0; values.len()];
    let mut ties = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end (0-based) hold ranks start+1..=end.
        let rank = (start + 1 + end) as f64 / 2.0;
        for index in &order[start..end] {
            ranks[*index] = rank;
        }
        let count = (end - start) as f64;
        ties += count * count * count - count;
        start = end;
    }
    (ranks, ties)
}

/// `uniroot`'s tolerance in R's `wilcox.test`.
const UNIROOT_TOLERANCE: f64 = 1e-4;

/// `uniroot`'s default iteration limit.
const UNIROOT_MAX_ITERATIONS: usize = 1_000;

/// Brent's root finder in the form of R's `R_zeroin2` (netlib `zeroin`): a root of `f` in
/// [a, b], given `f(a)` and `f(b)` of opposite signs, to within `tolerance`.
fn zeroin(
    a: f64,
    b: f64,
    fa: f64,
    fb: f64,
    tolerance: f64,
    f: impl Fn(f64) -> Result<f64, MannWhitneyError>,
) -> Result<f64, MannWhitneyError> {
    let (mut a, mut b, mut fa, mut fb) = (a, b, fa, fb);
    let (mut c, mut fc) = (a, fa);
    if fa == 0.0 {
        return Ok(a);
    }
    if fb == 0.0 {
        return Ok(b);
    }
    for _ in 0..=UNIROOT_MAX_ITERATIONS {
        let previous_step = b - a;
        if fc.abs() < fb.abs() {
            (a, b, c) = (b, c, b);
            (fa, fb, fc) = (fb, fc, fb);
        }
        let tolerance_now = 2.0 * f64::EPSILON * b.abs() + tolerance / 2.0;
        let mut step = (c - b) / 2.0;
        if step.abs() <= tolerance_now || fb == 0.0 {
            return Ok(b);
        }
        if previous_step.abs() >= tolerance_now && fa.abs() > fb.abs() {
            let cb = c - b;
            let (mut p, mut q);
            if a == c {
                let t1 = fb / fa;
                p = cb * t1;
                q = 1.0 - t1;
            } else {
                let q0 = fa / fc;
                let t1 = fb / fc;
                let t2 = fb / fa;
                p = t2 * (cb * q0 * (q0 - t1) - (b - a) * (t1 - 1.0));
                q = (q0 - 1.0) * (t1 - 1.0) * (t2 - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if p < 0.75 * cb * q - (tolerance_now * q).abs() / 2.0
                && p < (previous_step * q / 2.0).abs()
            {
                step = p / q;
            }
        }
        if step.abs() < tolerance_now {
            step = if step > 0.0 {
                tolerance_now
            } else {
                -tolerance_now
            };
        }
        (a, fa) = (b, fb);
        b += step;
        fb = f(b)?;
        if (fb > 0.0 && fc > 0.0) || (fb < 0.0 && fc < 0.0) {
            (c, fc) = (a, fa);
        }
    }
    Ok(b)
}

/// The standard normal distribution function.
pub fn normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let t = x / std::f64::consts::SQRT_2;
    if t < -ERFC_FROM {
        0.5 * erfc(-t)
    } else if t > ERFC_FROM {
        1.0 - 0.5 * erfc(t)
    } else {
        0.5 + 0.5 * erf(t)
    }
}

/// The standard normal quantile: the `x` with `normal_cdf(x) == p`, for 0 < p < 1.
pub fn normal_quantile(p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return match p {
            0.0 => f64::NEG_INFINITY,
            1.0 => f64::INFINITY,
            _ => f64::NAN,
        };
    }
    if p > 0.5 {
        return -normal_quantile(1.0 - p);
    }
    // A start within 0.01 (a logistic fit), then Newton steps on the exact distribution.
    let mut x = if p < 1e-300 {
        -37.5
    } else {
        let t = (-2.0 * p.ln()).sqrt();
        -(t - (2.515_517 + 0.802_853 * t + 0.010_328 * t * t)
            / (1.0 + 1.432_788 * t + 0.189_269 * t * t + 0.001_308 * t * t * t))
    };
    for _ in 0..50 {
        let density = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
        if density == 0.0 {
            break;
        }
        let step = (normal_cdf(x) - p) / density;
        x -= step;
        if step.abs() <= 1e-15 * x.abs().max(1.0) {
            break;
        }
    }
    x
}

/// Where `erfc` takes over from `erf`: the series needs more terms beyond it.
const ERFC_FROM: f64 = 2.5;

/// `erf(t)` for |t| <= [`ERFC_FROM`]: `2/sqrt(pi) exp(-t^2) sum 2^n t^(2n+1) / (2n+1)!!`, whose
/// terms are all positive (no cancellation).
fn erf(t: f64) -> f64 {
    let mut term = t;
    let mut sum = t;
    let t2 = t * t;
    for n in 1..200 {
        term *= 2.0 * t2 / (2 * n + 1) as f64;
        sum += term;
        if term.abs() <= 1e-17 * sum.abs() {
            break;
        }
    }
    2.0 / std::f64::consts::PI.sqrt() * (-t2).exp() * sum
}

/// `erfc(t)` for t >= [`ERFC_FROM`]: its continued fraction
/// `exp(-t^2)/sqrt(pi) / (t + (1/2)/(t + 1/(t + (3/2)/(t + 2/(t + ...)))))`, by Lentz's method.
fn erfc(t: f64) -> f64 {
    let tiny = 1e-300;
    let mut f = t;
    let mut c = t;
    let mut d = 0.0;
    for n in 1..500 {
        let a = n as f64 / 2.0;
        d = t + a * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = t + a / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() <= 1e-16 {
            break;
        }
    }
    (-t * t).exp() / std::f64::consts::PI.sqrt() / f
}

#[cfg(test)]
mod tests;
