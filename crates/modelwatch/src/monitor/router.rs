//! The router task: numbers inputs, stamps them, and splits each batch into per-shard work
//! plus the plan the merger follows to put the results back in input order.

use std::sync::Arc;

use modelwatch_engine::quality::QualityTracker;
use modelwatch_engine::{
    Config, Event, Input, JobFinished, QualityPoint, RetrainRequest, Timestamp,
};
use tokio::sync::{mpsc, oneshot};

use super::Command;
use super::merge::PlanItem;
use super::shard::{Point, ShardWork};
use crate::clock::Clock;

/// One input of a batch, as the merger needs it.
#[derive(Debug)]
pub(super) enum PlanEntry {
    /// An event; its points went to the shards.
    Event {
        seq: u64,
        at: Timestamp,
        event: Arc<Event>,
    },
    /// A job-finished notice; the merger handles it itself.
    Job {
        seq: u64,
        at: Timestamp,
        job: JobFinished,
    },
    /// A manual retrain request; the merger handles it itself.
    Retrain {
        seq: u64,
        at: Timestamp,
        request: RetrainRequest,
    },
    /// A prediction or label: the quality outputs it completed (the router's tracker computed
    /// them); their values went to the shards as points of `event`.
    Traffic {
        seq: u64,
        at: Timestamp,
        model: String,
        computed: Vec<ComputedEntry>,
    },
}

/// One quality output of an input, with the event its values were evaluated as and the tags
/// of those points.
#[derive(Debug)]
pub(super) struct ComputedEntry {
    pub(super) point: QualityPoint,
    pub(super) event: Option<Arc<Event>>,
    pub(super) tags: std::ops::Range<u32>,
}

pub(super) async fn run(
    config: Arc<Config>,
    mut commands: mpsc::Receiver<Command>,
    shards: Vec<mpsc::Sender<ShardWork>>,
    plans: mpsc::Sender<PlanItem>,
    clock: Arc<dyn Clock>,
) {
    let mut next_seq: u64 = 1;
    let mut quality = QualityTracker::new(config);
    let mut batches: Vec<Vec<Point>> = (0..shards.len()).map(|_| Vec::new()).collect();
    while let Some(command) = commands.recv().await {
        let item = match command {
            Command::Ingest(inputs) => {
                let entries = split(
                    inputs,
                    &mut next_seq,
                    clock.as_ref(),
                    &mut quality,
                    &mut batches,
                );
                let mut involved = Vec::new();
                for (index, points) in batches.iter_mut().enumerate() {
                    if points.is_empty() {
                        continue;
                    }
                    let points = std::mem::take(points);
                    if shards[index].send(ShardWork::Points(points)).await.is_err() {
                        return;
                    }
                    involved.push(index);
                }
                PlanItem::Batch {
                    entries,
                    shards: involved,
                }
            }
            Command::Subscribe(sender) => PlanItem::Subscribe(sender),
            Command::Flush(done) => PlanItem::Flush(done),
            Command::Status(reply) => {
                let mut answers = Vec::with_capacity(shards.len());
                for shard in &shards {
                    let (tx, rx) = oneshot::channel();
                    if shard.send(ShardWork::Status(tx)).await.is_err() {
                        return;
                    }
                    answers.push(rx);
                }
                let _ = reply.send(answers);
                continue;
            }
        };
        if plans.send(item).await.is_err() {
            return;
        }
    }
}

/// Numbers and stamps the inputs and deals their points to the shards' batches.
fn split(
    inputs: Vec<Input>,
    next_seq: &mut u64,
    clock: &dyn Clock,
    quality: &mut QualityTracker,
    batches: &mut [Vec<Point>],
) -> Vec<PlanEntry> {
    let mut points = Vec::new();
    let mut entries = Vec::with_capacity(inputs.len());
    let mut now = None;
    for input in inputs {
        let seq = *next_seq;
        *next_seq += 1;
        let at = match input.timestamp() {
            Some(at) => at,
            None => *now.get_or_insert_with(|| clock.now()),
        };
        match input {
            Input::Event(mut event) => {
                event.timestamp = Some(at);
                let event = Arc::new(event);
                for (index, (metric, _)) in event.metrics.iter().enumerate() {
                    let shard = shard_of(&event, metric, batches.len());
                    batches[shard].push(Point {
                        seq,
                        index: index as u32,
                        tag: index as u32,
                        at,
                        event: event.clone(),
                    });
                }
                entries.push(PlanEntry::Event { seq, at, event });
            }
            Input::Prediction(mut prediction) => {
                prediction.timestamp = Some(at);
                quality.on_prediction(seq, at, &prediction, &mut points);
                let computed = deal_computed(seq, at, &mut points, batches);
                let model = prediction.model.name;
                entries.push(PlanEntry::Traffic {
                    seq,
                    at,
                    model,
                    computed,
                });
            }
            Input::Label(mut label) => {
                label.timestamp = Some(at);
                quality.on_label(seq, at, &label, &mut points);
                let computed = deal_computed(seq, at, &mut points, batches);
                let model = label.model;
                entries.push(PlanEntry::Traffic {
                    seq,
                    at,
                    model,
                    computed,
                });
            }
            Input::Reference(mut upload) => {
                upload.timestamp = Some(at);
                quality.on_reference(seq, at, &upload);
                entries.push(PlanEntry::Traffic {
                    seq,
                    at,
                    model: upload.model,
                    computed: Vec::new(),
                });
            }
            Input::JobFinished(mut job) => {
                job.timestamp = Some(at);
                entries.push(PlanEntry::Job { seq, at, job });
            }
            Input::RetrainRequest(mut request) => {
                request.timestamp = Some(at);
                entries.push(PlanEntry::Retrain { seq, at, request });
            }
        }
    }
    entries
}

/// Deals the values of an input's quality outputs to the shards, tagged one after another.
fn deal_computed(
    seq: u64,
    at: Timestamp,
    points: &mut Vec<QualityPoint>,
    batches: &mut [Vec<Point>],
) -> Vec<ComputedEntry> {
    let mut tag = 0u32;
    points
        .drain(..)
        .map(|point| {
            let first = tag;
            let event = (!point.metrics.is_empty()).then(|| {
                Arc::new(Event {
                    model: point.model.clone(),
                    timestamp: Some(point.at),
                    metrics: point.metrics.clone(),
                })
            });
            if let Some(event) = &event {
                for (index, (metric, _)) in event.metrics.iter().enumerate() {
                    let shard = shard_of(event, metric, batches.len());
                    batches[shard].push(Point {
                        seq,
                        index: index as u32,
                        tag,
                        at,
                        event: event.clone(),
                    });
                    tag += 1;
                }
            }
            ComputedEntry {
                point,
                event,
                tags: first..tag,
            }
        })
        .collect()
}

/// The shard that owns a series: FNV-1a of its key, so the same series always lands on the
/// same shard, in every run.
fn shard_of(event: &Event, metric: &str, shards: usize) -> usize {
    if shards <= 1 {
        return 0;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [
        &event.model.name,
        &event.model.version,
        &event.model.instance,
        metric,
    ] {
        for byte in part.as_bytes().iter().chain(std::iter::once(&0xff)) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    (hash % shards as u64) as usize
}
