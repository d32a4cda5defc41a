//! [`PendingPoints`]: the points of committed inputs that wait in the writer's memory for a
//! flush, and the plan of a flush in bounded steps (a [`Round`]).
//!
//! A round takes the buffer as it is when it begins (the points of every input committed
//! then) and writes it series by series, a bounded part per step: series written whole, and
//! the oldest part of one with more points than a step takes. Points committed meanwhile
//! gather in a new buffer for the next round. A point leaves memory only once the transaction
//! that wrote it committed, so every point is in a chunk or here, never both and never
//! neither (see the module documentation of `points`).

use std::collections::HashMap;
use std::sync::Arc;

use modelwatch_engine::{Input, ModelId, Timestamp};

use super::{POINTS_PER_CHUNK, RawPoint};

/// What one series costs a step besides its points, counted in points: its row is looked up
/// and its progress written, and its points make a chunk of their own.
const SERIES_COST: usize = 16;

/// The points of inputs after the `points_through` watermark, waiting for a flush.
#[derive(Debug)]
pub(crate) struct PendingPoints {
    /// Per model instance, per metric, in input order (ascending sequence numbers). A series
    /// keeps its entry when a round takes its points, so that the next points find it.
    pub(super) series: HashMap<Arc<ModelId>, HashMap<Arc<str>, Vec<RawPoint>>>,
    /// How many points `series` holds (see [`PendingPoints::len`] for all of them).
    pub(super) count: usize,
    /// Every input up to this one has its points in a chunk or in `series`.
    pub(super) through: u64,
    /// The watermark in the database: every input up to this one has its points in a chunk.
    pub(super) stored_through: u64,
    /// The most points a chunk holds: [`POINTS_PER_CHUNK`], smaller in tests.
    pub(crate) chunk_points: usize,
    /// The flush in steps under way, if one is.
    pub(super) round: Option<Round>,
    /// Series that a flush in steps wrote past `stored_through` before the store was last
    /// opened: their points of inputs up to the given one are in chunks already, so reading
    /// the inputs back skips them.
    pub(crate) written_ahead: HashMap<ModelId, HashMap<String, u64>>,
}

/// A flush in steps under way: every series' points of inputs up to `target` go to chunks,
/// and the watermark moves to `target` with the last of them.
#[derive(Debug)]
pub(super) struct Round {
    /// The last input whose points the round writes.
    pub(super) target: u64,
    /// The series still to write, with their points in input order, the next one last. The
    /// order is fixed (by [`series_hash`], then the key), so that every store writes the same
    /// rows in the same order, and quick to sort.
    pub(super) todo: Vec<SeriesPoints>,
    /// How many points `todo` holds.
    pub(super) count: usize,
}

/// The pending points of one series.
#[derive(Debug)]
pub(super) struct SeriesPoints {
    hash: u64,
    pub(super) model: Arc<ModelId>,
    pub(super) metric: Arc<str>,
    pub(super) points: Vec<RawPoint>,
}

/// What a step writes: the last `whole` series of the round's `todo`, then the first
/// `partial` points of the one before them.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Plan {
    pub(super) whole: usize,
    pub(super) partial: usize,
}

/// One series' share of a step (see [`PendingPoints::for_each_write`]).
pub(crate) struct SeriesWrite<'a> {
    /// The series' model instance.
    pub(crate) model: &'a ModelId,
    /// The series' metric.
    pub(crate) metric: &'a str,
    /// The points the step writes, sorted by key.
    pub(crate) points: &'a [RawPoint],
    /// How far the series is written once they are: the round's target when the step takes
    /// all its points, else the input of the last one taken.
    pub(crate) through: u64,
}

/// A fixed hash of a series key (FNV-1a), the order of a round.
fn series_hash(model: &ModelId, metric: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [&model.name, &model.version, &model.instance, metric] {
        for byte in part.bytes().chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

impl PendingPoints {
    /// Takes the points of a batch that just committed: its inputs' metric values and its
    /// quality outputs' values, when memory follows on from the inputs before it
    /// (`last_seq_before`). A store behind (after a crash) reads them back from the inputs
    /// when it next flushes instead. Both backends call it once their commit succeeded.
    pub(crate) fn add_committed(&mut self, batch: &crate::Batch, last_seq_before: u64) {
        if self.through() != last_seq_before {
            return;
        }
        for record in &batch.records {
            self.add(record.seq, &record.input);
        }
        for output in &batch.outputs {
            if let modelwatch_engine::Output::Quality(point) = output {
                self.add_values(point.seq, &point.model, point.at, &point.metrics);
            }
        }
    }

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
        let time = event.timestamp.unwrap_or_default();
        self.add_values(seq, &event.model, time, &event.metrics);
    }

    /// Adds points of input `seq` (up to `through`) that the engine computed from it: a
    /// quality output's values.
    pub(crate) fn add_values(
        &mut self,
        seq: u64,
        model: &ModelId,
        time: Timestamp,
        values: &[(String, f64)],
    ) {
        let time = time.as_nanos();
        if values.is_empty() {
            return;
        }
        let ahead = self.written_ahead.get(model);
        let metrics = match self.series.get_mut(model) {
            Some(metrics) => metrics,
            None => self.series.entry(Arc::new(model.clone())).or_default(),
        };
        for (metric, value) in values {
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
                    metrics.insert(Arc::from(metric.as_str()), vec![point]);
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
    pub(crate) fn is_flushed(&self) -> bool {
        self.count == 0 && self.through == self.stored_through && self.round.is_none()
    }

    /// Begins a round with the points pending now, up to the last input committed; the
    /// buffer starts empty for the next round. Does nothing while a round is under way.
    pub(crate) fn begin_round(&mut self) {
        if self.round.is_some() {
            return;
        }
        let mut todo: Vec<SeriesPoints> = Vec::new();
        for (model, metrics) in &mut self.series {
            for (metric, points) in metrics.iter_mut() {
                if !points.is_empty() {
                    todo.push(SeriesPoints {
                        hash: series_hash(model, metric),
                        model: Arc::clone(model),
                        metric: Arc::clone(metric),
                        points: std::mem::take(points),
                    });
                }
            }
        }
        todo.sort_unstable_by(|a, b| {
            (b.hash, &b.model, &b.metric).cmp(&(a.hash, &a.model, &a.metric))
        });
        let count = self.count;
        self.count = 0;
        self.round = Some(Round {
            target: self.through,
            todo,
            count,
        });
    }

    /// What the next step of the round writes: about `budget` points' worth of work (points,
    /// plus [`SERIES_COST`] per series), at least one point when there is one.
    pub(crate) fn plan_step(&self, budget: usize) -> Plan {
        let Some(round) = &self.round else {
            return Plan::default();
        };
        let mut plan = Plan::default();
        let mut spent = 0usize;
        for series in round.todo.iter().rev() {
            if spent >= budget && (plan.whole > 0) {
                break;
            }
            let due = series.points.len();
            let room = budget
                .saturating_sub(spent.saturating_add(SERIES_COST))
                .max(1);
            if due <= room {
                plan.whole += 1;
                spent = spent.saturating_add(due).saturating_add(SERIES_COST);
                continue;
            }
            if plan.whole > 0 && room < due / 2 {
                // Better whole in the next step than cut in two here.
                break;
            }
            // A series holds at most one point per input; should it hold more, they go
            // together, so that "written up to input N" stays true of the series.
            let points = &series.points;
            let mut take = room;
            while take < due && points[take].seq == points[take - 1].seq {
                take += 1;
            }
            if take == due {
                plan.whole += 1;
            } else {
                plan.partial = take;
            }
            break;
        }
        plan
    }

    /// Whether writing `plan` ends the round.
    pub(crate) fn ends_round(&self, plan: Plan) -> bool {
        self.round
            .as_ref()
            .is_none_or(|round| plan.whole == round.todo.len())
    }

    /// Forgets what a committed step wrote; the round ends with its last series.
    pub(crate) fn written(&mut self, plan: Plan) {
        let Some(round) = &mut self.round else { return };
        for _ in 0..plan.whole {
            if let Some(series) = round.todo.pop() {
                round.count -= series.points.len();
            }
        }
        if plan.partial > 0
            && let Some(series) = round.todo.last_mut()
        {
            series.points.drain(..plan.partial);
            round.count -= plan.partial;
        }
        if round.todo.is_empty() {
            self.stored_through = round.target;
            self.round = None;
            let stored = self.stored_through;
            self.written_ahead.retain(|_, metrics| {
                metrics.retain(|_, written| *written > stored);
                !metrics.is_empty()
            });
        }
    }

    /// The watermark in the database, as this store last wrote or read it.
    pub(crate) fn stored_through(&self) -> u64 {
        self.stored_through
    }

    /// The last input whose points the round under way writes, if one is under way.
    pub(crate) fn round_target(&self) -> Option<u64> {
        self.round.as_ref().map(|round| round.target)
    }

    /// How many points writing `plan` takes.
    pub(crate) fn planned_points(&self, plan: Plan) -> usize {
        self.round.as_ref().map_or(0, |round| {
            let whole: usize = round
                .todo
                .iter()
                .rev()
                .take(plan.whole)
                .map(|series| series.points.len())
                .sum();
            whole + plan.partial
        })
    }

    /// Calls `write` with each series' share of `plan`, in the round's order: what the
    /// backends write as chunks, whatever their SQL.
    pub(crate) fn for_each_write<E>(
        &self,
        plan: Plan,
        mut write: impl FnMut(SeriesWrite<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let Some(round) = &self.round else {
            return Ok(());
        };
        let whole = round
            .todo
            .iter()
            .rev()
            .take(plan.whole)
            .map(|series| (series, series.points.len()));
        let partial = (plan.partial > 0)
            .then(|| round.todo.iter().rev().nth(plan.whole))
            .flatten()
            .map(|series| (series, plan.partial));
        let mut sorted: Vec<RawPoint> = Vec::new();
        for (series, take) in whole.chain(partial) {
            let points = &series.points[..take];
            sorted.clear();
            sorted.extend_from_slice(points);
            sorted.sort_unstable_by_key(RawPoint::key);
            let through = if take == series.points.len() {
                round.target
            } else {
                points.last().map_or(0, |point| point.seq)
            };
            write(SeriesWrite {
                model: &series.model,
                metric: &series.metric,
                points: &sorted,
                through,
            })?;
        }
        Ok(())
    }

    /// Points pending: in the buffer, and in the round under way.
    pub(crate) fn len(&self) -> usize {
        self.count + self.round.as_ref().map_or(0, |round| round.count)
    }

    /// Every pending point with its series, for tests.
    #[cfg(test)]
    pub(super) fn all(&self) -> Vec<(ModelId, String, RawPoint)> {
        let buffer = self.series.iter().flat_map(|(model, metrics)| {
            metrics.iter().flat_map(move |(metric, points)| {
                points
                    .iter()
                    .map(move |point| (ModelId::clone(model), metric.to_string(), *point))
            })
        });
        let round = self.round.iter().flat_map(|round| {
            round.todo.iter().flat_map(|series| {
                series.points.iter().map(|point| {
                    (
                        ModelId::clone(&series.model),
                        series.metric.to_string(),
                        *point,
                    )
                })
            })
        });
        buffer.chain(round).collect()
    }
}
