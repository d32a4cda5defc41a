//! The service's core, below HTTP and the effects: the writer thread that owns the engine and
//! the store (`writer/`), the checkpoint thread beside it, the counters (`metrics.rs`) and the
//! periodic retention task (`retention.rs`), started and joined together by [`Runtime`].
//!
//! Everything else reaches the writer through a [`WriterQueue`]: a bounded queue of
//! [`Message`]s and the writer's [`Status`]. The HTTP routes (`server/`) and the effects
//! (`effects/`) both depend on this module; it depends on neither.

pub mod metrics;
pub mod retention;
pub mod writer;

use std::path::Path;
use std::sync::Arc;
use std::thread;

use modelwatch_engine::{Config, Input, Timestamp};
use modelwatch_store::{Checkpointer, Checkpoints, EffectUpdate, Store, StoreError, StoreLocation};
use tokio::sync::{mpsc, oneshot, watch};

use crate::clock::Clock;
use metrics::Metrics;
pub use retention::Retention;
pub use writer::{
    CommitFailed, DEFAULT_MAX_SERIES, Message, NotStored, Status, Stored, TooManySeries,
    WriterError,
};

/// How many requests may wait for the writer.
pub const DEFAULT_QUEUE_CAPACITY: usize = 1_024;

/// The write-ahead log size (pages of 4 KiB, so 40 MB) at which the writer checkpoints by
/// itself, when the checkpoint thread falls behind.
const CHECKPOINT_BACKSTOP_PAGES: u32 = 10_000;

/// Knobs of the runtime.
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    /// How many requests may wait for the writer.
    pub queue_capacity: usize,
    /// Inputs between two engine snapshots.
    pub snapshot_every: u64,
    /// How long raw events are kept.
    pub retention: Retention,
    /// Series the engine may hold at most; none: no cap.
    pub max_series: Option<usize>,
    /// Counters to add to, shared with other runtimes (a cluster node's partitions count into
    /// the node's `/metrics`); none: counters of its own.
    pub metrics: Option<Arc<Metrics>>,
}

impl Default for RuntimeOptions {
    fn default() -> RuntimeOptions {
        RuntimeOptions {
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            snapshot_every: writer::DEFAULT_SNAPSHOT_EVERY,
            retention: Retention::default(),
            max_series: Some(DEFAULT_MAX_SERIES),
            metrics: None,
        }
    }
}

/// Why the runtime could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A thread could not be started.
    #[error("cannot start the writer thread: {0}")]
    Spawn(std::io::Error),
    /// The writer stopped with an error.
    #[error(transparent)]
    Writer(#[from] WriterError),
    /// The writer thread panicked.
    #[error("the writer thread panicked")]
    WriterPanicked,
    /// The runtime was started outside a Tokio runtime.
    #[error("the service must be started within a Tokio runtime")]
    NoRuntime,
}

/// The started core: the writer (recovering first), the checkpoint thread and, with a
/// retention period, the periodic pass.
#[derive(Debug)]
pub struct Runtime {
    queue: WriterQueue,
    /// Bumped by the writer after each commit with outputs or effects; closed when it stops.
    outbox: watch::Receiver<u64>,
    metrics: Arc<Metrics>,
    writer: thread::JoinHandle<Result<(), WriterError>>,
    /// The thread checkpointing SQLite's write-ahead log (none on PostgreSQL).
    checkpointer: Option<thread::JoinHandle<()>>,
    /// Where the store is, to show (the SQLite file, or PostgreSQL's `host:port/name`).
    store_description: String,
}

impl Runtime {
    /// Opens the store in `data_dir` and starts the writer, which first replays the stored
    /// inputs; watch [`WriterQueue::status`] for the end of recovery.
    ///
    /// # Errors
    ///
    /// [`RuntimeError::Store`] when the store cannot be opened, [`RuntimeError::Spawn`] when
    /// a thread cannot be started, [`RuntimeError::NoRuntime`] outside Tokio.
    pub fn start(
        config: Arc<Config>,
        data_dir: &Path,
        clock: Arc<dyn Clock>,
        options: &RuntimeOptions,
    ) -> Result<Runtime, RuntimeError> {
        let location = StoreLocation::Directory(data_dir.to_path_buf());
        Runtime::start_at(config, &location, clock, options)
    }

    /// [`Runtime::start`] on the store at `location`: a data directory or PostgreSQL.
    ///
    /// # Errors
    ///
    /// As [`Runtime::start`].
    pub fn start_at(
        config: Arc<Config>,
        location: &StoreLocation,
        clock: Arc<dyn Clock>,
        options: &RuntimeOptions,
    ) -> Result<Runtime, RuntimeError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| RuntimeError::NoRuntime)?;
        let mut store = Store::open_at(location)?;
        let store_description = store.describe();
        // Checkpoints of SQLite's write-ahead log run on their own thread and connection, so
        // that no commit waits for one (the writer steps in only if the log grows past 40 MB).
        let checkpointer = match store.sqlite() {
            Some(sqlite) => Some(Checkpointer::open(sqlite)?),
            None => None,
        };
        store.set_checkpoints(Checkpoints::Beside {
            backstop_pages: CHECKPOINT_BACKSTOP_PAGES,
        })?;
        let (checkpoints, checkpoint_requests) = std::sync::mpsc::sync_channel::<()>(1);
        let checkpointing = checkpointer.is_some();
        let (status_sender, status) = watch::channel(Status::Recovering);
        let (outbox_sender, outbox) = watch::channel(0u64);
        let (sender, receiver) = mpsc::channel(options.queue_capacity.max(1));
        let metrics = options
            .metrics
            .clone()
            .unwrap_or_else(|| Arc::new(Metrics::default()));
        let writer_metrics = metrics.clone();
        let timers = runtime.clone();
        let writer_options = writer::WriterOptions {
            snapshot_every: options.snapshot_every,
            started_at: clock.now(),
            max_series: options.max_series,
        };
        let writer = thread::Builder::new()
            .name("modelwatch-writer".to_string())
            .spawn(move || {
                writer::run(
                    config,
                    store,
                    receiver,
                    &status_sender,
                    &writer_metrics,
                    writer_options,
                    writer::WriterLinks {
                        timers,
                        checkpoints: checkpointing.then_some(checkpoints),
                        outbox: Some(outbox_sender),
                    },
                )
            })
            .map_err(RuntimeError::Spawn)?;
        let checkpoint_metrics = metrics.clone();
        // Ends when the writer does (it holds the only sender).
        let checkpointer = match checkpointer {
            Some(mut checkpointer) => Some(
                thread::Builder::new()
                    .name("modelwatch-checkpoint".to_string())
                    .spawn(move || {
                        for () in checkpoint_requests {
                            checkpoint_metrics.record_checkpoint(checkpointer.checkpoint().is_ok());
                        }
                    })
                    .map_err(RuntimeError::Spawn)?,
            ),
            None => None,
        };
        let queue = WriterQueue { sender, status };
        if let Some(keep) = options.retention.keep {
            runtime.spawn(retention::periodic(
                queue.sender.downgrade(),
                queue.status.clone(),
                clock,
                keep,
                options.retention.interval,
            ));
        }
        Ok(Runtime {
            queue,
            outbox,
            metrics,
            writer,
            checkpointer,
            store_description,
        })
    }

    /// The writer's queue. Every clone holds it open: the writer stops once all of them are
    /// gone.
    pub fn queue(&self) -> &WriterQueue {
        &self.queue
    }

    /// Counts the commits that wrote outputs or effects; closes when the writer stops.
    pub fn outbox(&self) -> watch::Receiver<u64> {
        self.outbox.clone()
    }

    /// The counters of `/metrics`.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Where the store is: the SQLite file, or PostgreSQL's `host:port/name`.
    pub fn store_description(&self) -> &str {
        &self.store_description
    }

    /// Drops this handle's queue and waits for the writer to commit what it has and stop,
    /// once every other holder of the queue is gone too. Blocks: call it off the async
    /// runtime.
    ///
    /// # Errors
    ///
    /// What stopped the writer, if it failed.
    pub fn join(self) -> Result<(), RuntimeError> {
        drop(self.queue);
        let written = match self.writer.join() {
            Ok(result) => result.map_err(RuntimeError::from),
            Err(_) => Err(RuntimeError::WriterPanicked),
        };
        // The writer is gone, so is the checkpointer's queue: it ends after its last request.
        if let Some(checkpointer) = self.checkpointer {
            let _ = checkpointer.join();
        }
        written
    }
}

/// Why the writer did not take or commit a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Recovery is not over.
    #[error("the server is replaying its stored events; retry shortly")]
    Recovering,
    /// Every place in the queue is taken.
    #[error("the ingest queue is full; retry shortly")]
    QueueFull,
    /// The writer has stopped.
    #[error("the writer has stopped after a failed commit; the server is shutting down")]
    Stopped,
    /// The commit that held the request failed for good.
    #[error("{0}; nothing of this request is stored and the server stops accepting events")]
    CommitFailed(CommitFailed),
    /// The store cannot write for now (a full disk): the commit that held the request
    /// failed, or an earlier one did and the writer has not written since.
    #[error(
        "{}; nothing of this request is stored; the server takes events again once the store \
         can write",
        .0.message
    )]
    StoreFailing(CommitFailed),
    /// The request's events would create series beyond `--max-series`.
    #[error(transparent)]
    TooManySeries(TooManySeries),
}

impl From<NotStored> for Refused {
    fn from(not_stored: NotStored) -> Refused {
        match not_stored {
            NotStored::Commit(failed) => Refused::from(failed),
            NotStored::TooManySeries(refused) => Refused::TooManySeries(refused),
        }
    }
}

impl From<CommitFailed> for Refused {
    fn from(failed: CommitFailed) -> Refused {
        if failed.retrying {
            Refused::StoreFailing(failed)
        } else {
            Refused::CommitFailed(failed)
        }
    }
}

/// The writer's queue and where the writer stands: how the HTTP routes and the effects reach
/// the writer.
#[derive(Clone, Debug)]
pub struct WriterQueue {
    sender: mpsc::Sender<Message>,
    status: watch::Receiver<Status>,
}

impl WriterQueue {
    /// A queue of these ends; the writer holds the receiver and the status's sender.
    pub fn new(sender: mpsc::Sender<Message>, status: watch::Receiver<Status>) -> WriterQueue {
        WriterQueue { sender, status }
    }

    /// Where the writer stands (recovering, ready, failed).
    pub fn status(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    /// Whether recovery is over and the writer takes requests.
    pub fn is_ready(&self) -> bool {
        matches!(&*self.status.borrow(), Status::Ready { .. })
    }

    /// Whether the writer runs and answers messages: ready, or retrying after a failed write
    /// (it refuses events then, but answers scrapes and reads).
    pub fn is_running(&self) -> bool {
        matches!(
            &*self.status.borrow(),
            Status::Ready { .. } | Status::Retrying { .. }
        )
    }

    /// Requests waiting in the queue.
    pub fn depth(&self) -> usize {
        self.sender
            .max_capacity()
            .saturating_sub(self.sender.capacity())
    }

    /// A handle that does not keep the writer running.
    pub fn downgrade(&self) -> mpsc::WeakSender<Message> {
        self.sender.downgrade()
    }

    /// Refuses when the writer is not ready.
    ///
    /// # Errors
    ///
    /// [`Refused::Recovering`], [`Refused::StoreFailing`] or [`Refused::Stopped`].
    pub fn check_ready(&self) -> Result<(), Refused> {
        match &*self.status.borrow() {
            Status::Ready { .. } => Ok(()),
            Status::Recovering => Err(Refused::Recovering),
            Status::Retrying { message } => Err(Refused::StoreFailing(CommitFailed {
                message: message.clone(),
                retrying: true,
            })),
            Status::Failed { .. } => Err(Refused::Stopped),
        }
    }

    /// Puts a message in the queue without waiting: a full queue is refused, never waited
    /// for.
    ///
    /// # Errors
    ///
    /// [`Refused::QueueFull`] or [`Refused::Stopped`].
    pub fn try_send(&self, message: Message) -> Result<(), Refused> {
        self.sender.try_send(message).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => Refused::QueueFull,
            mpsc::error::TrySendError::Closed(_) => Refused::Stopped,
        })
    }

    /// Hands inputs (stamped) to the writer without waiting for a place in the queue, then
    /// waits for their commit.
    ///
    /// # Errors
    ///
    /// [`Refused`]: not ready, queue full, stopped, or the commit failed.
    pub async fn commit(
        &self,
        inputs: Vec<Input>,
        received_at: Timestamp,
    ) -> Result<Stored, Refused> {
        self.commit_as(inputs, received_at, None, None).await
    }

    /// [`WriterQueue::commit`] of a request that carried an `Idempotency-Key` (a cluster's
    /// ingest log stores a retried request with the same key once).
    ///
    /// # Errors
    ///
    /// [`Refused`]: not ready, queue full, stopped, or the commit failed.
    pub async fn commit_keyed(
        &self,
        inputs: Vec<Input>,
        received_at: Timestamp,
        idempotency_key: Option<String>,
    ) -> Result<Stored, Refused> {
        self.commit_as(inputs, received_at, None, idempotency_key)
            .await
    }

    /// [`WriterQueue::commit`] of inputs that a person's request asked for: the audit rows
    /// they cause name `actor`, the configured name of the request's token.
    ///
    /// # Errors
    ///
    /// [`Refused`]: not ready, queue full, stopped, or the commit failed.
    pub async fn commit_by(
        &self,
        inputs: Vec<Input>,
        received_at: Timestamp,
        actor: &str,
    ) -> Result<Stored, Refused> {
        self.commit_as(inputs, received_at, Some(actor.to_string()), None)
            .await
    }

    async fn commit_as(
        &self,
        inputs: Vec<Input>,
        received_at: Timestamp,
        actor: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<Stored, Refused> {
        self.check_ready()?;
        let (reply, answer) = oneshot::channel();
        self.try_send(Message::Events(writer::Request {
            inputs,
            effects: Vec::<EffectUpdate>::new(),
            received_at,
            actor,
            log_seq: None,
            idempotency_key,
            reply,
        }))?;
        match answer.await {
            Ok(Ok(stored)) => Ok(stored),
            Ok(Err(not_stored)) => Err(Refused::from(not_stored)),
            Err(_) => Err(Refused::Stopped),
        }
    }

    /// Commits the inputs of one message of a cluster's ingest log, recording its stream
    /// sequence `log_seq` with them. Waits for room in the queue rather than refusing: the
    /// log holds what waits.
    ///
    /// # Errors
    ///
    /// [`Refused`]: not ready, stopped, or the commit failed.
    pub async fn commit_logged(
        &self,
        inputs: Vec<Input>,
        received_at: Timestamp,
        actor: Option<String>,
        log_seq: u64,
    ) -> Result<Stored, Refused> {
        self.check_ready()?;
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Message::Events(writer::Request {
                inputs,
                effects: Vec::<EffectUpdate>::new(),
                received_at,
                actor,
                log_seq: Some(log_seq),
                idempotency_key: None,
                reply,
            }))
            .await
            .map_err(|_| Refused::Stopped)?;
        match answer.await {
            Ok(Ok(stored)) => Ok(stored),
            Ok(Err(not_stored)) => Err(Refused::from(not_stored)),
            Err(_) => Err(Refused::Stopped),
        }
    }

    /// Sends the writer a message carrying `reply` and waits for the answer, behind the
    /// requests already queued (waiting for a place in the queue). `None` when there is
    /// nobody to ask: recovering, or the writer has stopped.
    pub async fn ask<T>(&self, message: impl FnOnce(oneshot::Sender<T>) -> Message) -> Option<T> {
        if !self.is_running() {
            return None;
        }
        let (reply, answer) = oneshot::channel();
        self.sender.send(message(reply)).await.ok()?;
        answer.await.ok()
    }
}
