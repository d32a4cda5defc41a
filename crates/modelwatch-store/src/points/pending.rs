//! [`PendingPoints`]: the points of committed inputs that wait in the writer's memory for a
//! flush, and the plan of a flush in bounded steps (a [`Round`]).
//!
//! A round writes every series' points of the inputs up to its `target` (the last input
//! committed when it began), series by series in key order, a bounded part per step: a series
//! written whole, or the oldest part of one with more points than a step takes. A point leaves
//! memory only once the transaction that wrote it committed, so every point is in a chunk or
//! here, never both and never neither (see the module documentation of `points`).

use std::collections::HashMap;

use modelwatch_engine::{Input, ModelId};

use super::{POINTS_PER_CHUNK, RawPoint};

/// What one series costs a step besides its points, counted in points: its row is looked up
/// and its progress written, and its points make a chunk of their own.
const SERIES_COST: usize = 16;

/// The points of inputs after the `points_through` watermark, waiting for a flush.
#[derive(Debug)]
pub(crate) struct PendingPoints {
    /// Per model instance, per metric, in input order (ascending sequence numbers).
    pub(super) series: HashMap<ModelId, HashMap<String, Vec<RawPoint>>>,
    /// How many points `series` holds.
    pub(super) count: usize,
    /// Every input up to this one has its points in a chunk or in `series`.
    pub(super) through: u64,
    /// The watermark in the database: every input up to this one has its points in a chunk.
    pub(super) stored_through: u64,
    /// The most points a chunk holds: [`POINTS_PER_CHUNK`], smaller in tests.
    pub(super) chunk_points: usize,
    /// The flush in steps under way, if one is.
    pub(super) round: Option<Round>,
    /// Series that a flush in steps wrote past `stored_through` before the store was last
    /// opened: their points of inputs up to the given one are in chunks already, so reading
    /// the inputs back skips them.
    pub(super) written_ahead: HashMap<ModelId, HashMap<String, u64>>,
}

/// A flush in steps under way: every series' points of inputs up to `target` go to chunks,
/// series by series in key order, and the watermark moves to `target` with the last of them.
#[derive(Debug)]
pub(super) struct Round {
    /// The last input whose points the round writes.
    pub(super) target: u64,
    /// The series with points still to write, in reverse key order (the next one last).
    pub(super) remaining: Vec<(ModelId, String)>,
}

/// What a step writes of one series: its first `take` points (all of them up to the round's
/// target when `whole`).
#[derive(Debug)]
pub(super) struct Part {
    pub(super) model: ModelId,
    pub(super) metric: String,
    pub(super) take: usize,
    pub(super) whole: bool,
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
            round: None,
            written_ahead: HashMap::new(),
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
        let ahead = self.written_ahead.get(&event.model);
        let metrics = match self.series.get_mut(&event.model) {
            Some(metrics) => metrics,
            None => self.series.entry(event.model.clone()).or_default(),
        };
        for (metric, value) in &event.metrics {
            if ahead
                .and_then(|ahead| ahead.get(metric))
                .is_some_and(|written| seq <= *written)
            {
                continue;
            }
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
            self.count += 1;
        }
    }

    /// Where the points stand: every input up to this one has its points stored or pending.
    pub(crate) fn through(&self) -> u64 {
        self.through
    }

    /// Whether a flush has anything to do: points to write or the watermark to move.
    pub(super) fn is_flushed(&self) -> bool {
        self.count == 0 && self.through == self.stored_through && self.round.is_none()
    }

    /// Begins a round up to the last input committed, unless one is under way; `restart`
    /// begins one anyway (a flush of everything).
    pub(super) fn begin_round(&mut self, restart: bool) {
        if self.round.is_some() && !restart {
            return;
        }
        let mut remaining: Vec<(ModelId, String)> = self
            .series
            .iter()
            .flat_map(|(model, metrics)| {
                metrics
                    .iter()
                    .filter(|(_, points)| !points.is_empty())
                    .map(|(metric, _)| (model.clone(), metric.clone()))
            })
            .collect();
        remaining.sort_unstable_by(|a, b| b.cmp(a));
        self.round = Some(Round {
            target: self.through,
            remaining,
        });
    }

    /// The parts the next step of the round writes: about `budget` points' worth of work
    /// (points, plus [`SERIES_COST`] per series), at least one point when there is one.
    pub(super) fn plan_step(&self, budget: usize) -> Vec<Part> {
        let Some(round) = &self.round else {
            return Vec::new();
        };
        let mut parts = Vec::new();
        let mut spent = 0usize;
        for (model, metric) in round.remaining.iter().rev() {
            if spent >= budget && !parts.is_empty() {
                break;
            }
            let points = self.points(model, metric);
            let due = points.partition_point(|point| point.seq <= round.target);
            let room = budget
                .saturating_sub(spent.saturating_add(SERIES_COST))
                .max(1);
            let mut take = due.min(room);
            // A series holds at most one point per input; should it hold more, they go
            // together, so that "written up to input N" stays true of the series.
            while take < due && points[take].seq == points[take - 1].seq {
                take += 1;
            }
            spent = spent.saturating_add(take).saturating_add(SERIES_COST);
            parts.push(Part {
                model: model.clone(),
                metric: metric.clone(),
                take,
                whole: take == due,
            });
            if take < due {
                break;
            }
        }
        parts
    }

    /// Whether writing `parts` ends the round.
    pub(super) fn ends_round(&self, parts: &[Part]) -> bool {
        let remaining = self.round.as_ref().map_or(0, |round| round.remaining.len());
        parts.iter().filter(|part| part.whole).count() == remaining
    }

    /// The pending points of one series, in input order.
    pub(super) fn points(&self, model: &ModelId, metric: &str) -> &[RawPoint] {
        self.series
            .get(model)
            .and_then(|metrics| metrics.get(metric))
            .map_or(&[], Vec::as_slice)
    }

    /// Forgets what a committed step wrote; the round ends with its last series.
    pub(super) fn written(&mut self, parts: &[Part]) {
        for part in parts {
            if let Some(metrics) = self.series.get_mut(&part.model) {
                if let Some(points) = metrics.get_mut(&part.metric) {
                    points.drain(..part.take.min(points.len()));
                    if points.is_empty() {
                        metrics.remove(&part.metric);
                    }
                }
                if metrics.is_empty() {
                    self.series.remove(&part.model);
                }
            }
            self.count -= part.take;
        }
        let Some(round) = &mut self.round else { return };
        for part in parts.iter().filter(|part| part.whole) {
            if round
                .remaining
                .last()
                .is_some_and(|next| next.0 == part.model && next.1 == part.metric)
            {
                round.remaining.pop();
            }
        }
        if round.remaining.is_empty() {
            self.stored_through = round.target;
            self.round = None;
            let stored = self.stored_through;
            self.written_ahead.retain(|_, metrics| {
                metrics.retain(|_, written| *written > stored);
                !metrics.is_empty()
            });
        }
    }

    /// Every pending point with its series, for tests.
    #[cfg(test)]
    pub(super) fn all(&self) -> Vec<(ModelId, String, RawPoint)> {
        self.series
            .iter()
            .flat_map(|(model, metrics)| {
                metrics.iter().flat_map(move |(metric, points)| {
                    points
                        .iter()
                        .map(move |point| (model.clone(), metric.clone(), *point))
                })
            })
            .collect()
    }
}
