//! The `window_mean` detector: the mean of the last N points (sketch D).
//!
//! Must not allocate after construction and must not let its running sum drift.

use crate::param::{Field, ParamReader};
use crate::spec::read_condition;
use crate::{Condition, Explanation, Signal};

/// The largest accepted `window` (8 MB of samples per series).
pub const MAX_WINDOW: usize = 1_000_000;

/// Parameters of [`WindowMean`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct WindowMeanParams {
    /// How many of the latest points the mean covers, `1..=MAX_WINDOW` (required).
    pub window: usize,
    /// Points needed before the mean is reported, `1..=window` (default `window`).
    pub min_samples: usize,
    /// The condition the caller compares the mean with.
    pub condition: Condition,
}

impl WindowMeanParams {
    pub(crate) fn read(reader: &mut ParamReader<'_>) -> Option<WindowMeanParams> {
        let window = reader.integer("window", 1, MAX_WINDOW as i64);
        let min_samples = reader.integer("min_samples", 1, MAX_WINDOW as i64);
        let condition = read_condition(reader);
        let window = match window {
            Field::Valid(window) => usize::try_from(window).ok()?,
            Field::Absent => {
                reader.error("window", "is required");
                return None;
            }
            Field::Invalid => return None,
        };
        let min_samples = match min_samples {
            Field::Absent => window,
            Field::Valid(min_samples) => {
                let min_samples = usize::try_from(min_samples).ok()?;
                if min_samples > window {
                    reader.error(
                        "min_samples",
                        format!("must be <= window ({window}), got {min_samples}"),
                    );
                    return None;
                }
                min_samples
            }
            Field::Invalid => return None,
        };
        Some(WindowMeanParams {
            window,
            min_samples,
            condition: condition?,
        })
    }
}

/// Mean of the last `window` points.
///
/// The points live in a ring buffer allocated once. The running sum is updated by adding the
/// new point and subtracting the evicted one, and recomputed from the buffer every `window`
/// updates, so rounding errors never accumulate beyond one window's worth.
#[derive(Debug)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "WindowMeanState")
)]
pub struct WindowMean {
    params: WindowMeanParams,
    /// The window's points; grows to `window` once, then is overwritten in place.
    values: Vec<f64>,
    /// Where the next point goes once the buffer is full (the oldest point).
    next_slot: usize,
    sum: f64,
    mean: f64,
}

impl WindowMean {
    /// A detector that has seen nothing. Allocates the whole window up front.
    ///
    /// A `window` of 0 is treated as 1 and `min_samples` is clamped to `1..=window`;
    /// [`crate::DetectorSpec::parse`] rejects such values instead.
    pub fn new(params: WindowMeanParams) -> WindowMean {
        let window = params.window.max(1);
        let params = WindowMeanParams {
            window,
            min_samples: params.min_samples.clamp(1, window),
            condition: params.condition,
        };
        WindowMean {
            params,
            values: Vec::with_capacity(window),
            next_slot: 0,
            sum: 0.0,
            mean: 0.0,
        }
    }

    /// Takes one point; [`Signal::NotReady`] until `min_samples` points, then the mean.
    #[inline]
    pub fn update(&mut self, x: f64) -> Signal {
        let window = self.params.window;
        if self.values.len() < window {
            // Capacity was reserved in `new`, so this never reallocates.
            self.values.push(x);
            self.sum += x;
        } else if let Some(slot) = self.values.get_mut(self.next_slot) {
            let evicted = std::mem::replace(slot, x);
            self.sum += x - evicted;
            self.next_slot += 1;
            if self.next_slot == window {
                self.next_slot = 0;
                // The buffer now holds the window oldest-first: resum it exactly once per window.
                self.sum = self.values.iter().sum();
            }
        }
        let len = self.values.len();
        self.mean = self.sum / len as f64;
        if len >= self.params.min_samples {
            Signal::Statistic(self.mean)
        } else {
            Signal::NotReady
        }
    }

    /// Forgets every point, keeping the buffer's allocation.
    pub fn reset(&mut self) {
        self.values.clear();
        self.next_slot = 0;
        self.sum = 0.0;
        self.mean = 0.0;
    }

    /// The current mean, or `None` before the first point.
    pub fn value(&self) -> Option<f64> {
        (!self.values.is_empty()).then_some(self.mean)
    }

    /// How many points the window holds.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True before the first point.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The parameters in effect (after `new`'s clamping).
    pub fn params(&self) -> &WindowMeanParams {
        &self.params
    }

    /// Statistic `"window_mean"`; `n_seen` is the number of points in the window.
    pub fn explain(&self) -> Explanation {
        Explanation {
            statistic: "window_mean",
            value: self.mean,
            bound: Some(self.params.condition.bound),
            n_seen: self.values.len() as u64,
            n_needed: self.params.min_samples as u64,
        }
    }
}

impl Clone for WindowMean {
    /// Clones with the full window's capacity, so the clone never reallocates either.
    fn clone(&self) -> WindowMean {
        let mut values = Vec::with_capacity(self.params.window);
        values.extend_from_slice(&self.values);
        WindowMean {
            params: self.params,
            values,
            next_slot: self.next_slot,
            sum: self.sum,
            mean: self.mean,
        }
    }
}

/// What a serialized [`WindowMean`] holds (the fields, in order), checked before it becomes one.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct WindowMeanState {
    params: WindowMeanParams,
    values: Vec<f64>,
    next_slot: usize,
    sum: f64,
    mean: f64,
}

#[cfg(feature = "serde")]
impl TryFrom<WindowMeanState> for WindowMean {
    type Error = String;

    /// Refuses parameters out of range and a buffer or slot that does not fit the window;
    /// reserves the whole window, as [`WindowMean::new`] does.
    fn try_from(state: WindowMeanState) -> Result<WindowMean, String> {
        let params = state.params;
        let window = params.window;
        if !(1..=MAX_WINDOW).contains(&window) || !(1..=window).contains(&params.min_samples) {
            return Err(format!(
                "window_mean: window {window} or min_samples {} out of range",
                params.min_samples
            ));
        }
        if state.values.len() > window || state.next_slot >= window {
            return Err(format!(
                "window_mean: {} points and slot {} do not fit a window of {window}",
                state.values.len(),
                state.next_slot
            ));
        }
        let mut values = Vec::with_capacity(window);
        values.extend_from_slice(&state.values);
        Ok(WindowMean {
            params,
            values,
            next_slot: state.next_slot,
            sum: state.sum,
            mean: state.mean,
        })
    }
}

#[cfg(test)]
mod tests;
