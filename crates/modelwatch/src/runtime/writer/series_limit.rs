//! The cap on series (`--max-series`): every series (a metric of a model instance) holds its
//! detectors' state in the writer's memory for good, so a request whose events would create
//! series beyond the cap is refused whole, before the engine sees any of it.

use modelwatch_engine::{Engine, Input};

/// Series the service holds at most, unless configured otherwise.
pub const DEFAULT_MAX_SERIES: usize = 100_000;

/// A request refused because its events would create series beyond the cap; nothing of it is
/// stored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the events would create {new} new series, beyond the limit of {limit} series \
     (--max-series; {held} held): the first one beyond it is {series}; nothing of this \
     request is stored"
)]
pub struct TooManySeries {
    /// The cap.
    pub limit: usize,
    /// Series held before the request.
    pub held: usize,
    /// New series the request's events would create.
    pub new: usize,
    /// The first series beyond the cap, as `metric M of model N version V instance I`.
    pub series: String,
}

/// Refuses `inputs` when processing them would make `engine` hold more than `limit` series.
///
/// # Errors
///
/// [`TooManySeries`], naming the first series beyond the cap.
pub(super) fn check(
    engine: &Engine,
    limit: Option<usize>,
    inputs: &[Input],
) -> Result<(), TooManySeries> {
    let Some(limit) = limit else { return Ok(()) };
    let held = engine.series_count();
    // No lookups when even a new series for every value would fit.
    let values: usize = inputs
        .iter()
        .map(|input| match input {
            Input::Event(event) => event.metrics.len(),
            // Predictions and labels name no series of their own; the quality they complete
            // adds a bounded set per model instance (docs/quality.md).
            Input::JobFinished(_)
            | Input::RetrainRequest(_)
            | Input::Prediction(_)
            | Input::Label(_)
            | Input::Reference(_) => 0,
        })
        .sum();
    if held.saturating_add(values) <= limit {
        return Ok(());
    }
    let new = engine.new_series(inputs);
    let room = limit.saturating_sub(held);
    match new.get(room) {
        None => Ok(()),
        Some((model, metric)) => Err(TooManySeries {
            limit,
            held,
            new: new.len(),
            series: format!(
                "metric {metric} of model {} version {} instance {}",
                model.name, model.version, model.instance
            ),
        }),
    }
}
