//! The `threshold` detector: the raw value itself is the statistic (sketches A and B).

use crate::param::ParamReader;
use crate::spec::read_condition;
use crate::{Condition, Explanation, Signal};

/// Parameters of [`Threshold`]: exactly one of `below`/`above`, optional `resolve`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ThresholdParams {
    /// The condition the caller compares each value with.
    pub condition: Condition,
}

impl ThresholdParams {
    pub(crate) fn read(reader: &mut ParamReader<'_>) -> Option<ThresholdParams> {
        read_condition(reader).map(|condition| ThresholdParams { condition })
    }
}

/// Reports every value as its statistic; ready from the first point.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Threshold {
    params: ThresholdParams,
    last_value: f64,
    n_seen: u64,
}

impl Threshold {
    /// A detector that has seen nothing.
    pub fn new(params: ThresholdParams) -> Threshold {
        Threshold {
            params,
            last_value: 0.0,
            n_seen: 0,
        }
    }

    /// Takes one point; always [`Signal::Statistic`] of the point.
    #[inline]
    pub fn update(&mut self, x: f64) -> Signal {
        self.last_value = x;
        self.n_seen = self.n_seen.saturating_add(1);
        Signal::Statistic(x)
    }

    /// Forgets everything, as if freshly built.
    pub fn reset(&mut self) {
        *self = Threshold::new(self.params);
    }

    /// The latest value, or `None` before the first point.
    pub fn value(&self) -> Option<f64> {
        (self.n_seen > 0).then_some(self.last_value)
    }

    /// The parameters this detector was built with.
    pub fn params(&self) -> &ThresholdParams {
        &self.params
    }

    /// Statistic `"value"`: the latest point, compared with the condition's bound.
    pub fn explain(&self) -> Explanation {
        Explanation {
            statistic: "value",
            value: self.last_value,
            bound: Some(self.params.condition.bound),
            n_seen: self.n_seen,
            n_needed: 1,
        }
    }
}

#[cfg(test)]
mod tests;
