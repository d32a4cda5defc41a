//! A shard task: evaluates the points of the series it owns, in arrival order, and returns
//! one result per batch it receives.

use std::sync::Arc;

use modelwatch_engine::{
    AlertEvent, Config, Evaluator, Event, PointContext, RuleStatus, Timestamp,
};
use tokio::sync::{mpsc, oneshot};

/// One metric value to evaluate: the `index`-th metric of `event`, the `tag`-th point of its
/// input (the same as `index` but for the values an input's quality outputs carry, which
/// follow one another).
#[derive(Debug)]
pub(super) struct Point {
    pub seq: u64,
    pub index: u32,
    pub tag: u32,
    pub at: Timestamp,
    pub event: Arc<Event>,
}

/// Work for a shard.
#[derive(Debug)]
pub(super) enum ShardWork {
    /// A batch's points for this shard, in input order.
    Points(Vec<Point>),
    /// Report the status of every series of this shard.
    Status(oneshot::Sender<Vec<RuleStatus>>),
}

/// An alert with the position of the point that caused it.
#[derive(Debug)]
pub(super) struct TaggedAlert {
    pub seq: u64,
    pub index: u32,
    pub alert: AlertEvent,
}

pub(super) async fn run(
    config: Arc<Config>,
    mut work: mpsc::Receiver<ShardWork>,
    results: mpsc::Sender<Vec<TaggedAlert>>,
) {
    let mut evaluator = Evaluator::new(config);
    let mut scratch = Vec::new();
    while let Some(item) = work.recv().await {
        match item {
            ShardWork::Points(points) => {
                let mut alerts = Vec::new();
                // Points of one event are consecutive: evaluate each run in one call.
                for run in points.chunk_by(|a, b| a.seq == b.seq && Arc::ptr_eq(&a.event, &b.event))
                {
                    let first = &run[0];
                    let context = PointContext {
                        seq: first.seq,
                        at: first.at,
                        model: &first.event.model,
                    };
                    let values = run.iter().map(|point| {
                        let (metric, value) = &point.event.metrics[point.index as usize];
                        (point.tag, metric.as_str(), *value)
                    });
                    evaluator.evaluate_event(&context, values, &mut scratch);
                    alerts.extend(scratch.drain(..).map(|(index, alert)| TaggedAlert {
                        seq: first.seq,
                        index,
                        alert,
                    }));
                }
                if results.send(alerts).await.is_err() {
                    return;
                }
            }
            ShardWork::Status(reply) => {
                let _ = reply.send(evaluator.status());
            }
        }
    }
}
