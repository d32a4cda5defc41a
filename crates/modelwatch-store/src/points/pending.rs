//! [`PendingPoints`]: the points of committed inputs that wait in the writer's memory for a
//! flush.

use std::collections::HashMap;

use modelwatch_engine::{Input, ModelId};

use super::{POINTS_PER_CHUNK, RawPoint};

/// The points of inputs after the `points_through` watermark, waiting for a flush.
#[derive(Debug)]
pub(crate) struct PendingPoints {
    /// Per model instance, per metric, in arrival order.
    pub(super) series: HashMap<ModelId, HashMap<String, Vec<RawPoint>>>,
    /// How many points `series` holds.
    pub(super) count: usize,
    /// Every input up to this one has its points in a chunk or in `series`.
    pub(super) through: u64,
    /// The watermark in the database: every input up to this one has its points in a chunk.
    pub(super) stored_through: u64,
    /// The most points a chunk holds: [`POINTS_PER_CHUNK`], smaller in tests.
    pub(super) chunk_points: usize,
}

impl PendingPoints {
    /// Nothing pending, with the database's watermark at `stored_through`.
    pub(crate) fn at(stored_through: u64) -> PendingPoints {
        PendingPoints {
            series: HashMap::new(),
            count: 0,
            through: stored_through,
            stored_through,
            chunk_points: POINTS_PER_CHUNK,
        }
    }

    /// Adds the points of input `seq`, the input after `through` (the caller checks).
    pub(crate) fn add(&mut self, seq: u64, input: &Input) {
        self.through = seq;
        let Input::Event(event) = input else { return };
        let time = event.timestamp.unwrap_or_default().as_nanos();
        if event.metrics.is_empty() {
            return;
        }
        let metrics = match self.series.get_mut(&event.model) {
            Some(metrics) => metrics,
            None => self.series.entry(event.model.clone()).or_default(),
        };
        for (metric, value) in &event.metrics {
            let point = RawPoint {
                time,
                seq,
                value: *value,
            };
            match metrics.get_mut(metric.as_str()) {
                Some(points) => points.push(point),
                None => {
                    metrics.insert(metric.clone(), vec![point]);
                }
            }
        }
        self.count += event.metrics.len();
    }

    /// Where the points stand: every input up to this one has its points stored or pending.
    pub(crate) fn through(&self) -> u64 {
        self.through
    }
}
