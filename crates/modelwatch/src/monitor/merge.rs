//! The merger task: puts alerts back in input order, runs the retrain policy over them and
//! the canary rules over the events (as the single-threaded engine does), and hands every
//! output to observers and subscribers.

use std::sync::Arc;

use modelwatch_engine::{CanaryTracker, Config, DriftAlerts, Output, RetrainPolicy};
use tokio::sync::{mpsc, oneshot};

use super::Observer;
use super::router::PlanEntry;
use super::shard::TaggedAlert;

/// What the router tells the merger, in input order.
#[derive(Debug)]
pub(super) enum PlanItem {
    /// A batch: its inputs, and the shards that got points of it (one result each).
    Batch {
        entries: Vec<PlanEntry>,
        shards: Vec<usize>,
    },
    /// A new subscriber, from this point of the stream on.
    Subscribe(mpsc::Sender<Arc<Output>>),
    /// Answer once everything before is published.
    Flush(oneshot::Sender<()>),
}

pub(super) struct Merger {
    policy: RetrainPolicy,
    canaries: CanaryTracker,
    drift_alerts: DriftAlerts,
    observers: Vec<Box<dyn Observer>>,
    subscribers: Vec<mpsc::Sender<Arc<Output>>>,
}

impl Merger {
    pub(super) fn new(config: Arc<Config>, observers: Vec<Box<dyn Observer>>) -> Merger {
        Merger {
            policy: RetrainPolicy::new(config.retrain.clone()),
            canaries: CanaryTracker::new(config.clone()),
            drift_alerts: DriftAlerts::new(config),
            observers,
            subscribers: Vec::new(),
        }
    }

    pub(super) async fn run(
        mut self,
        mut plans: mpsc::Receiver<PlanItem>,
        mut shard_results: Vec<mpsc::Receiver<Vec<TaggedAlert>>>,
    ) {
        let mut alerts = Vec::new();
        let mut outputs = Vec::new();
        while let Some(item) = plans.recv().await {
            match item {
                PlanItem::Batch { entries, shards } => {
                    alerts.clear();
                    for shard in shards {
                        match shard_results[shard].recv().await {
                            Some(result) => alerts.extend(result),
                            None => return,
                        }
                    }
                    // Each shard's alerts are in input order and a point belongs to one shard,
                    // so a stable sort by position restores the single-threaded order.
                    alerts.sort_by_key(|tagged: &TaggedAlert| (tagged.seq, tagged.index));
                    self.decide(entries, &mut alerts, &mut outputs);
                    self.publish(&mut outputs).await;
                }
                PlanItem::Subscribe(sender) => self.subscribers.push(sender),
                PlanItem::Flush(done) => {
                    let _ = done.send(());
                }
            }
        }
    }

    fn decide(
        &mut self,
        entries: Vec<PlanEntry>,
        alerts: &mut Vec<TaggedAlert>,
        outputs: &mut Vec<Output>,
    ) {
        let mut pending = alerts.drain(..).peekable();
        for entry in entries {
            match entry {
                PlanEntry::Event { seq, at, event } => {
                    self.policy.observe(seq, &event.model.name, at, outputs);
                    while let Some(tagged) = pending.next_if(|tagged| tagged.seq == seq) {
                        self.policy.record_alert(tagged.alert, outputs);
                    }
                    self.canaries.observe_event(seq, at, &event, outputs);
                }
                PlanEntry::Job { seq, at, job } => {
                    self.policy.observe(seq, &job.model, at, outputs);
                    self.policy.on_job_finished(seq, at, &job, outputs);
                }
                PlanEntry::Retrain { seq, at, request } => {
                    self.policy.observe(seq, &request.model, at, outputs);
                    self.policy.on_retrain_request(seq, at, &request, outputs);
                }
                PlanEntry::Traffic {
                    seq,
                    at,
                    model,
                    computed,
                } => {
                    // As `Engine::apply_computed`: each quality output, then the alerts of its
                    // values, then the canary rules, then the data_drift rules' alerts.
                    self.policy.observe(seq, &model, at, outputs);
                    let mut drift_alerts = Vec::new();
                    for entry in computed {
                        let tags = entry.tags;
                        self.drift_alerts.observe(&entry.point, &mut drift_alerts);
                        outputs.push(Output::Quality(entry.point));
                        while let Some(tagged) = pending
                            .next_if(|tagged| tagged.seq == seq && tags.contains(&tagged.index))
                        {
                            self.policy.record_alert(tagged.alert, outputs);
                        }
                        if let Some(event) = entry.event {
                            self.canaries.observe_event(seq, at, &event, outputs);
                        }
                        for alert in drift_alerts.drain(..) {
                            self.policy.record_alert(alert, outputs);
                        }
                    }
                }
            }
        }
    }

    async fn publish(&mut self, outputs: &mut Vec<Output>) {
        for output in outputs.drain(..) {
            for observer in &mut self.observers {
                observer.observe(&output);
            }
            if self.subscribers.is_empty() {
                continue;
            }
            let output = Arc::new(output);
            let mut closed = false;
            for subscriber in &self.subscribers {
                closed |= subscriber.send(output.clone()).await.is_err();
            }
            if closed {
                self.subscribers
                    .retain(|subscriber| !subscriber.is_closed());
            }
        }
    }
}
