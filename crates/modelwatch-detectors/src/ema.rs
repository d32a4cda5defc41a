//! The `ema` detector: an exponentially weighted moving average (sketch C).

use crate::param::{Field, ParamReader};
use crate::spec::read_condition;
use crate::{Condition, Explanation, Signal};

/// Default smoothing factor, sketch C's 0.25.
pub(crate) const DEFAULT_ALPHA: f64 = 0.25;

/// Parameters of [`Ema`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct EmaParams {
    /// Weight of the newest point, `0 < alpha <= 1` (default 0.25).
    pub alpha: f64,
    /// Points needed before the average is reported (default 1).
    pub min_samples: u64,
    /// The condition the caller compares the average with.
    pub condition: Condition,
}

impl EmaParams {
    pub(crate) fn read(reader: &mut ParamReader<'_>) -> Option<EmaParams> {
        let alpha = reader.float_in("alpha", "in (0, 1]", |alpha| alpha > 0.0 && alpha <= 1.0);
        let min_samples = reader.integer("min_samples", 1, i64::MAX);
        let condition = read_condition(reader);
        let alpha = match alpha {
            Field::Absent => DEFAULT_ALPHA,
            Field::Valid(alpha) => alpha,
            Field::Invalid => return None,
        };
        let min_samples = match min_samples {
            Field::Absent => 1,
            Field::Valid(min_samples) => u64::try_from(min_samples).ok()?,
            Field::Invalid => return None,
        };
        Some(EmaParams {
            alpha,
            min_samples,
            condition: condition?,
        })
    }
}

/// Exponentially weighted moving average.
///
/// The first point sets the average; after that `ema = alpha * x + (1 - alpha) * ema`, with
/// `1 - alpha` computed once (the same operation order as River's `stats.EWMean`).
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Ema {
    params: EmaParams,
    one_minus_alpha: f64,
    ema: f64,
    n_seen: u64,
}

impl Ema {
    /// A detector that has seen nothing.
    pub fn new(params: EmaParams) -> Ema {
        Ema {
            params,
            one_minus_alpha: 1.0 - params.alpha,
            ema: 0.0,
            n_seen: 0,
        }
    }

    /// Takes one point; [`Signal::NotReady`] until `min_samples` points, then the average.
    #[inline]
    pub fn update(&mut self, x: f64) -> Signal {
        self.ema = if self.n_seen == 0 {
            x
        } else {
            self.params.alpha * x + self.one_minus_alpha * self.ema
        };
        self.n_seen = self.n_seen.saturating_add(1);
        if self.n_seen >= self.params.min_samples {
            Signal::Statistic(self.ema)
        } else {
            Signal::NotReady
        }
    }

    /// Forgets everything, as if freshly built.
    pub fn reset(&mut self) {
        *self = Ema::new(self.params);
    }

    /// The current average, or `None` before the first point.
    pub fn value(&self) -> Option<f64> {
        (self.n_seen > 0).then_some(self.ema)
    }

    /// The parameters this detector was built with.
    pub fn params(&self) -> &EmaParams {
        &self.params
    }

    /// Statistic `"ema"`, compared with the condition's bound.
    pub fn explain(&self) -> Explanation {
        Explanation {
            statistic: "ema",
            value: self.ema,
            bound: Some(self.params.condition.bound),
            n_seen: self.n_seen,
            n_needed: self.params.min_samples,
        }
    }
}

#[cfg(test)]
mod tests;
