//! [`Front`]: what stands behind a cluster node's routes in place of a writer. The routes
//! speak to a [`WriterQueue`] as on a single node; here its messages are served so:
//!
//! - inputs (events, traffic, retrain requests, reference uploads) are published to the
//!   ingest log, and the request is answered once JetStream acknowledged all of them (and,
//!   for a request spanning partitions, once it is committed whole: `spanning.rs`); the
//!   partition that owns their model commits them, on whichever node runs it;
//! - a registry change is one transaction on PostgreSQL, as the single node's writer does it;
//! - reads of series points see what the partitions have written (there is no writer here
//!   whose memory to flush);
//! - what a partition's engine holds (the series `/metrics` exports, a model's drift and
//!   reference in force) is asked of the partitions this node runs; for a model of another
//!   node's partition the answer names the partition (the route forwards the request there);
//!   these reads need no NATS;
//! - a retention pass is not served by the front: each partition's writer runs its own.
//!
//! Its status is `Ready` while NATS is connected, else `Retrying`: ingest answers 503, reads
//! of partitions' engines are answered all the same (the routes do not check it for them).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use modelwatch_engine::Timestamp;
use modelwatch_store::Store;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::log::{IngestLog, partition_of};
use super::node::LocalPartitions;
use super::spanning::{self, Decisions};
use crate::runtime::metrics::SeriesSnapshot;
use crate::runtime::writer::{
    CommitFailed, DriftRequest, Elsewhere, Message, NotStored, ReferenceRequest, SeriesRequest,
    Stored,
};
use crate::runtime::{Status, WriterQueue};

/// Requests that may wait for the front.
const QUEUE: usize = 1_024;

/// How often the front deletes the commit records nobody can ask for again.
const FORGET_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// The running front.
#[derive(Debug)]
pub struct Front {
    queue: WriterQueue,
    task: JoinHandle<()>,
}

impl Front {
    /// Starts serving a queue for the routes of node `node_id`.
    /// `started` is the node's start time (its request ids differ from those of its earlier
    /// runs).
    ///
    /// `local` is what the node runs: the front answers for those partitions' engines (their
    /// series on `/metrics`, drift and references) and names the partition of any other.
    /// `decisions` holds the commit records of requests spanning partitions.
    pub fn start(
        log: IngestLog,
        local: LocalPartitions,
        registry: Store,
        decisions: Decisions,
        node_id: &str,
        started: Timestamp,
    ) -> Front {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let (status_sender, status) = watch::channel(Status::Ready {
            replayed: 0,
            restored: None,
            note: None,
        });
        let ids = Arc::new(RequestIds::new(node_id, started));
        let status_sender = Arc::new(status_sender);
        tokio::spawn(follow_connection(log.connected(), status_sender.clone()));
        tokio::spawn(forget_decided(decisions.clone(), status_sender.clone()));
        let task = tokio::spawn(serve(
            log,
            decisions,
            local,
            Arc::new(std::sync::Mutex::new(registry)),
            receiver,
            status_sender,
            ids,
        ));
        Front {
            queue: WriterQueue::new(sender, status),
            task,
        }
    }

    /// The queue the routes use.
    pub fn queue(&self) -> &WriterQueue {
        &self.queue
    }

    /// Waits for the front to end, once every holder of its queue is gone.
    pub async fn join(self) {
        drop(self.queue);
        let _ = self.task.await;
    }
}

/// Request ids for the log's deduplication: unique across nodes (the node's id) and restarts
/// (the start time).
#[derive(Debug)]
struct RequestIds {
    prefix: String,
    next: AtomicU64,
}

impl RequestIds {
    fn new(node_id: &str, started: Timestamp) -> RequestIds {
        RequestIds {
            prefix: format!("{node_id}-{}", started.as_nanos()),
            next: AtomicU64::new(0),
        }
    }

    fn next(&self) -> String {
        format!(
            "{}-{}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// Keeps the front's status on the connection to NATS: `Ready` while it is up, `Retrying`
/// (ingest answers 503 with `Retry-After`) while it is down; ends with the front.
async fn follow_connection(
    mut connected: watch::Receiver<bool>,
    status: Arc<watch::Sender<Status>>,
) {
    loop {
        let up = *connected.borrow_and_update();
        status.send_if_modified(|current| {
            let now = if up {
                Status::Ready {
                    replayed: 0,
                    restored: None,
                    note: None,
                }
            } else {
                Status::Retrying {
                    message: "the ingest log (NATS) is not connected".to_string(),
                }
            };
            let changed = *current != now;
            *current = now;
            changed
        });
        tokio::select! {
            changed = connected.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            () = status.closed() => return,
        }
    }
}

/// Deletes, every [`FORGET_EVERY`], the commit records nobody can ask for again; ends with
/// the front.
async fn forget_decided(decisions: Decisions, status: Arc<watch::Sender<Status>>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(tokio::time::Instant::now() + FORGET_EVERY) => {}
            () = status.closed() => return,
        }
        match decisions.forget().await {
            Ok(0) => {}
            Ok(forgotten) => tracing::debug!(forgotten, "Forgot decided requests."),
            Err(error) => tracing::warn!(error = %error, "Cannot forget decided requests."),
        }
    }
}

/// Asks the writer of `model`'s partition, if it runs here, and passes its answer on;
/// answers [`Elsewhere`] when another node runs it, or when its writer here is not running
/// (still recovering: the route's forwarding then says the partition is starting here). A
/// writer that stopped meanwhile answers nothing (the route says so).
fn ask_partition<T: Send + 'static>(
    local: &LocalPartitions,
    model: String,
    reply: oneshot::Sender<Result<T, Elsewhere>>,
    message: impl FnOnce(String, oneshot::Sender<Result<T, Elsewhere>>) -> Message + Send + 'static,
) {
    let partition = partition_of(&model, local.partitions);
    let Some(queue) = local.queue(partition).filter(WriterQueue::is_running) else {
        let _ = reply.send(Err(Elsewhere { partition }));
        return;
    };
    tokio::spawn(async move {
        if let Some(answer) = queue.ask(|inner| message(model, inner)).await {
            let _ = reply.send(answer);
        }
    });
}

/// The series of the partitions this node runs, for its `/metrics`: each partition's writer
/// asked in turn, the cap shared out in that order.
async fn series_here(queues: Vec<WriterQueue>, cap: usize) -> SeriesSnapshot {
    let mut here = SeriesSnapshot::default();
    for queue in queues {
        let left = cap.saturating_sub(here.exported);
        let Some(part) = queue
            .ask(|reply| Message::Series(SeriesRequest { cap: left, reply }))
            .await
        else {
            continue;
        };
        here.rules.extend(part.rules);
        here.exported += part.exported;
        here.omitted += part.omitted;
        here.traffic.extend(part.traffic);
    }
    here
}

async fn serve(
    log: IngestLog,
    decisions: Decisions,
    local: LocalPartitions,
    registry: Arc<std::sync::Mutex<Store>>,
    mut receiver: mpsc::Receiver<Message>,
    _status: Arc<watch::Sender<Status>>,
    ids: Arc<RequestIds>,
) {
    while let Some(message) = receiver.recv().await {
        match message {
            Message::Events(request) => {
                let (log, decisions) = (log.clone(), decisions.clone());
                // A client's key makes a retried request the same messages (stored once).
                let (id, keyed) = match &request.idempotency_key {
                    Some(key) => (format!("key-{key}"), true),
                    None => (ids.next(), false),
                };
                tokio::spawn(async move {
                    let accepted = spanning::publish_request(
                        &log,
                        &decisions,
                        &id,
                        keyed,
                        request.inputs,
                        request.received_at,
                        request.actor.as_deref(),
                    )
                    .await;
                    let answer = match accepted {
                        Ok(accepted) => Ok(Stored {
                            accepted,
                            last_seq: 0,
                        }),
                        Err(error) => {
                            tracing::warn!(error = %error, "A request could not be published.");
                            Err(NotStored::Commit(CommitFailed {
                                message: error.to_string(),
                                retrying: true,
                            }))
                        }
                    };
                    let _ = request.reply.send(answer);
                });
            }
            Message::Series(scrape) => {
                let queues = local.queues();
                tokio::spawn(async move {
                    let _ = scrape.reply.send(series_here(queues, scrape.cap).await);
                });
            }
            Message::FlushPoints(reply) => {
                let _ = reply.send(Ok(()));
            }
            Message::Registry(request) => {
                let registry = registry.clone();
                tokio::task::spawn_blocking(move || {
                    let changed = match registry.lock() {
                        Ok(mut store) => store.change_version(
                            &request.model,
                            &request.version,
                            request.change,
                            request.at,
                            &request.actor,
                        ),
                        Err(_) => Err(modelwatch_store::RegistryError::Store(
                            modelwatch_store::StoreError::Unsupported {
                                backend: "PostgreSQL",
                                what: "change a version (the connection is poisoned)",
                            },
                        )),
                    };
                    let _ = request.reply.send(changed);
                });
            }
            Message::Retention(request) => {
                if let Some(reply) = request.reply {
                    let _ = reply.send(Err("a cluster's retention runs in each partition's \
                                            writer (--retention), not on request"
                        .to_string()));
                }
            }
            Message::Reference(request) => {
                ask_partition(&local, request.model, request.reply, |model, reply| {
                    Message::Reference(ReferenceRequest { model, reply })
                });
            }
            Message::Drift(request) => {
                ask_partition(&local, request.model, request.reply, |model, reply| {
                    Message::Drift(DriftRequest { model, reply })
                });
            }
        }
    }
}
