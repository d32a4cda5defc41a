//! The one writer of the service: a plain thread that owns the [`Engine`] and the [`Store`].
//!
//! It first rebuilds the engine (recovery): it restores the latest engine snapshot saved under
//! the same config and replays the stored inputs after it (all of them when there is no
//! usable snapshot). Then it takes requests from the bounded ingest queue, every waiting one at
//! a time (group commit), numbers their inputs through the engine, commits inputs and outputs
//! in one [`Store::commit`] and only then answers each request. It never reads a clock (wall
//! times come with the requests) and never touches HTTP.
//!
//! Upkeep happens here too, between commits, so that it never races ingest for SQLite's one
//! write lock:
//! - series points: a commit only takes its points into memory (they derive from the inputs,
//!   see the store's `points.rs`); once `POINTS_PER_FLUSH` gather, the writer writes them in
//!   bounded steps, one after each commit (after answering its requests) and back to back
//!   while the queue is empty (`background.rs`); at once before a read of points
//!   ([`Message::FlushPoints`], which `/v1/models` and `/v1/series` send so that they see every
//!   acknowledged event), before a retention pass and when the queue closes; recovery first
//!   reads back the points a crash left unwritten;
//! - every `snapshot_every` inputs (more when the state is large: at least one input per
//!   [`SNAPSHOT_BYTES_PER_INPUT`] bytes of the last snapshot, so writing snapshots stays a
//!   small share of the work) it saves a snapshot of the engine's state at the last committed
//!   input, encoded and written in bounded steps between commits (`background.rs`); at once
//!   when the queue closes;
//! - a retention pass ([`Message::Retention`]) first saves a snapshot, then deletes old inputs
//!   (never past that snapshot, so recovery never needs them) and old points, one small
//!   transaction after each group commit, or back to back while the queue is empty.
//!
//! A commit or points flush that fails for a transient cause (a full disk, an I/O error, a busy
//! database) stops nothing: the waiting requests are told nothing of them is stored, the
//! engine is rolled back to the store, events are refused until a write succeeds again, tried
//! with backoff (`commit.rs`, [`Status::Retrying`]). Any other failed commit or flush stops the
//! writer for good: the waiting requests are told the commit failed, the queue closes (later
//! requests get 503), the status becomes [`Status::Failed`] and `serve` shuts down; a restart
//! recovers from what the store holds (a failed flush loses nothing: the points are read back
//! from the stored inputs). A failed snapshot or retention step changes nothing stored and
//! stops nothing: it is counted on `/metrics` and tried again later.
//!
//! The queue also carries scrapes of `/metrics` ([`Message::Series`]): the writer answers them
//! from the engine's status after committing every request queued before them.

mod background;
mod commit;
mod message;
mod recovery;
mod retention;
mod series_limit;

use std::sync::Arc;
use std::time::{Duration, Instant};

use modelwatch_engine::{Config, Engine, Output, Timestamp};
use modelwatch_store::{Batch, Record, Snapshot, Store, StoreError};
use tokio::sync::{mpsc, watch};

use super::metrics::{Metrics, SeriesSnapshot, TrafficSnapshot};
use background::Upkeep;
pub use commit::{FIRST_RETRY, LAST_RETRY, retry_delay};
use commit::{Trouble, Waited};
pub use message::{
    CommitFailed, DriftRequest, Elsewhere, Message, NotStored, ReferenceRequest, RegistryRequest,
    Request, RetentionReport, RetentionRequest, SeriesRequest, Stored,
};
use recovery::recover;
use retention::RetentionPass;
pub use series_limit::{DEFAULT_MAX_SERIES, TooManySeries};

/// Most requests folded into one commit.
pub const MAX_GROUP: usize = 1_024;

/// Inputs between two engine snapshots, unless configured otherwise.
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 100_000;

/// Snapshot bytes one input between two snapshots pays for: a state of 100 MB is saved at
/// most every 400,000 inputs, whatever `snapshot_every` says.
pub const SNAPSHOT_BYTES_PER_INPUT: u64 = 256;

/// Commits between two requests for a checkpoint of the write-ahead log (flushes of points
/// ask too).
const COMMITS_PER_CHECKPOINT: u64 = 256;

/// Oldest inputs one retention step deletes.
const INPUTS_PER_STEP: usize = 5_000;

/// Series one retention step walks for old points.
const SERIES_PER_STEP: usize = 500;

/// Where the writer stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Rebuilding the engine; events are refused with 503.
    Recovering,
    /// Recovery is over; events are taken.
    Ready {
        /// How many stored inputs recovery replayed.
        replayed: u64,
        /// The input whose snapshot recovery restored, if it restored one.
        restored: Option<u64>,
        /// Why recovery could not simply restore the latest snapshot, when that matters.
        note: Option<String>,
    },
    /// A write failed for a transient cause (a full disk): events are refused until a write
    /// succeeds again, which the writer tries with backoff.
    Retrying {
        /// Why: the store's error.
        message: String,
    },
    /// Recovery or a commit failed; the writer has stopped.
    Failed {
        /// What went wrong.
        message: String,
    },
}

/// How often the writer saves snapshots.
#[derive(Clone, Copy, Debug)]
pub struct WriterOptions {
    /// Inputs between two snapshots (at least 1).
    pub snapshot_every: u64,
    /// The wall time the service started, the time of a snapshot taken before any request.
    pub started_at: Timestamp,
    /// Series the engine may hold at most (`--max-series`); none: no cap.
    pub max_series: Option<usize>,
}

/// What the writer tells others, besides answering requests.
#[derive(Debug)]
pub struct WriterLinks {
    /// The runtime whose clock times the writer's retries after a failed write (tokio's
    /// clock, so that tests on a paused clock drive it).
    pub timers: tokio::runtime::Handle,
    /// Where to ask for a checkpoint of the write-ahead log; none: commits checkpoint.
    pub checkpoints: Option<std::sync::mpsc::SyncSender<()>>,
    /// Counts commits that wrote outputs or effects: the notifiers and the job runner wait on
    /// it for new outbox rows. The service's effects end when it closes (the writer stopped).
    pub outbox: Option<watch::Sender<u64>>,
}

/// Why the writer stopped.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    /// The store failed while recovering or committing.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored input's sequence number is not the one the engine gave it.
    #[error("recovery: stored input {stored} came back as sequence number {engine}")]
    Sequence {
        /// The number in the store.
        stored: u64,
        /// The number the engine gave.
        engine: u64,
    },
}

/// Runs the writer until the queue closes (every sender dropped) or a commit fails.
///
/// # Errors
///
/// [`WriterError`] when recovery or a commit fails; `status` says so too.
pub fn run(
    config: Arc<Config>,
    store: Store,
    queue: mpsc::Receiver<Message>,
    status: &watch::Sender<Status>,
    metrics: &Metrics,
    options: WriterOptions,
    links: WriterLinks,
) -> Result<(), WriterError> {
    let config_digest = config.source_digest.clone();
    let mut store = store;
    let result = recover(config.clone(), &mut store, metrics).and_then(|recovered| {
        let ready = Status::Ready {
            replayed: recovered.replayed,
            restored: recovered.restored,
            note: recovered.note.clone(),
        };
        let mut writer = Writer {
            config,
            config_digest,
            engine: recovered.engine,
            store,
            metrics,
            options,
            snapshot_seq: recovered.restored.unwrap_or(0),
            snapshot_len: 0,
            wall: options.started_at,
            pass: None,
            checkpoints: links.checkpoints,
            outbox: links.outbox,
            commits: 0,
            timers: links.timers,
            status,
            ready: ready.clone(),
            trouble: None,
            failed_writes: 0,
            upkeep: Upkeep::default(),
        };
        // A long replay, or a snapshot of no use under this config: save one now, so the
        // next start is quick.
        if recovered.replayed >= options.snapshot_every.max(1) || recovered.note.is_some() {
            writer.snapshot();
        }
        tracing::info!(
            replayed = recovered.replayed,
            restored = ?recovered.restored,
            note = recovered.note.as_deref().unwrap_or(""),
            "Recovery finished; the writer takes requests."
        );
        status.send_replace(ready);
        writer.serve(queue)
    });
    if let Err(error) = &result {
        tracing::error!(error = %error, "The writer stopped.");
        status.send_replace(Status::Failed {
            message: error.to_string(),
        });
    }
    result
}

/// The writer's state between messages.
struct Writer<'m> {
    engine: Engine,
    /// The config, to rebuild the engine after a failed commit.
    config: Arc<Config>,
    config_digest: String,
    store: Store,
    metrics: &'m Metrics,
    options: WriterOptions,
    /// The latest snapshot saved under this config; 0: none.
    snapshot_seq: u64,
    /// Its size in bytes.
    snapshot_len: u64,
    /// The latest wall time a request brought.
    wall: Timestamp,
    pass: Option<RetentionPass>,
    /// Where to ask for a checkpoint of the write-ahead log; none: commits checkpoint.
    checkpoints: Option<std::sync::mpsc::SyncSender<()>>,
    /// Bumped after each commit that wrote outputs or effects.
    outbox: Option<watch::Sender<u64>>,
    /// Commits since the last checkpoint request.
    commits: u64,
    /// Whose clock times the retries after a failed write.
    timers: tokio::runtime::Handle,
    status: &'m watch::Sender<Status>,
    /// The status once recovery was over, sent again when writes succeed after a failure.
    ready: Status,
    /// A failed write, while the writer waits to try again.
    trouble: Option<Trouble>,
    /// Writes failed since the last commit of events, which the backoff grows with.
    failed_writes: u32,
    /// Points flushes and snapshots under way in steps (`background.rs`).
    upkeep: Upkeep,
}

impl Writer<'_> {
    fn serve(&mut self, mut queue: mpsc::Receiver<Message>) -> Result<(), WriterError> {
        let mut outputs: Vec<Output> = Vec::new();
        // (decision, reason) of every retrain decision in the batch, counted once it commits.
        let mut committed: Vec<(&'static str, &'static str)> = Vec::new();
        let mut scrapes = Vec::new();
        let mut flushes = Vec::new();
        loop {
            // With upkeep or a retention pass under way, an empty queue means time for its
            // next step.
            let first = if self.trouble.is_some() {
                match self.wait(&mut queue) {
                    Waited::Message(job) => job,
                    Waited::Retry => {
                        self.retry()?;
                        continue;
                    }
                    Waited::Closed => break,
                }
            } else if self.pass.is_some() || self.upkeep_pending() {
                match queue.try_recv() {
                    Ok(job) => job,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        self.idle_step()?;
                        continue;
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                }
            } else {
                match queue.blocking_recv() {
                    Some(job) => job,
                    None => break,
                }
            };
            let mut jobs = vec![first];
            while jobs.len() < MAX_GROUP {
                match queue.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            let mut batch = Batch::new();
            let mut replies = Vec::with_capacity(jobs.len());
            let mut inputs = 0;
            let mut retention = Vec::new();
            let mut registry = Vec::new();
            for job in jobs {
                let request = match job {
                    Message::Events(request) => match &self.trouble {
                        Some(trouble) => {
                            let _ = request.reply.send(Err(trouble.refusal().into()));
                            continue;
                        }
                        None => match series_limit::check(
                            &self.engine,
                            self.options.max_series,
                            &request.inputs,
                        ) {
                            Ok(()) => request,
                            Err(refused) => {
                                let _ = request.reply.send(Err(refused.into()));
                                continue;
                            }
                        },
                    },
                    Message::Series(scrape) => {
                        scrapes.push(scrape);
                        continue;
                    }
                    Message::Retention(request) => {
                        retention.push(request);
                        continue;
                    }
                    Message::FlushPoints(reply) => match &self.trouble {
                        // Nothing is written in trouble: the read sees what is stored.
                        Some(trouble) => {
                            let _ = reply.send(Err(trouble.refusal()));
                            continue;
                        }
                        None => {
                            flushes.push(reply);
                            continue;
                        }
                    },
                    Message::Registry(request) => {
                        registry.push(request);
                        continue;
                    }
                    Message::Reference(request) => {
                        let _ = (request.reply)
                            .send(Ok(self.engine.reference_in_force(&request.model)));
                        continue;
                    }
                    Message::Drift(request) => {
                        let _ = (request.reply).send(Ok(self.engine.drift_status(&request.model)));
                        continue;
                    }
                };
                match &request.actor {
                    Some(actor) => batch.push_effects_by(request.effects, actor),
                    None => batch.effects.extend(request.effects),
                }
                self.wall = self.wall.max(request.received_at);
                if request.log_seq.is_some() {
                    batch.log_seq = batch.log_seq.max(request.log_seq);
                }
                let accepted = request.inputs.len();
                inputs += accepted;
                for input in request.inputs {
                    let seq = self.engine.process(&input, &mut outputs);
                    let record = Record {
                        seq,
                        received_at: request.received_at,
                        input,
                    };
                    committed.extend(outputs.iter().filter_map(|output| match output {
                        Output::Retrain(decision) => {
                            Some((decision.decision.as_str(), decision.reason.as_str()))
                        }
                        _ => None,
                    }));
                    match &request.actor {
                        Some(actor) => batch.push_by(record, outputs.drain(..), actor),
                        None => batch.push(record, outputs.drain(..)),
                    }
                }
                let stored = Stored {
                    accepted,
                    last_seq: self.engine.last_seq(),
                };
                replies.push((request.reply, stored));
            }
            let points_before = self.store.pending_points();
            let result = if replies.is_empty() {
                Ok(Duration::ZERO)
            } else {
                timed_commit(&mut self.store, &batch)
            };
            let points = self.store.pending_points().saturating_sub(points_before);
            match result {
                Ok(took) => {
                    self.metrics
                        .record_points_pending(self.store.pending_points());
                    if !batch.outputs.is_empty() || !batch.effects.is_empty() {
                        self.outbox_changed();
                    }
                    if !replies.is_empty() {
                        self.failed_writes = 0;
                        self.metrics.record_commit(took, inputs, &committed);
                        self.commits += 1;
                        if self.commits >= COMMITS_PER_CHECKPOINT {
                            self.request_checkpoint();
                        }
                    }
                    committed.clear();
                    for (reply, accepted) in replies {
                        // The client may have gone; its events are stored all the same.
                        let _ = reply.send(Ok(accepted));
                    }
                }
                Err(error) => {
                    let failed = CommitFailed {
                        message: error.to_string(),
                        retrying: error.is_transient(),
                    };
                    for (reply, _) in replies {
                        let _ = reply.send(Err(failed.clone().into()));
                    }
                    committed.clear();
                    // The engine consumed the refused inputs: it is rolled back to the store.
                    self.write_failed(error, true)?;
                }
            }
            self.answer_scrapes(&mut scrapes);
            if self.trouble.is_none() && !flushes.is_empty() {
                let flushed = self.flush_points();
                let answer = flushed.as_ref().map(|_| ()).map_err(|error| CommitFailed {
                    message: error.to_string(),
                    retrying: error.is_transient(),
                });
                for reply in flushes.drain(..) {
                    let _ = reply.send(answer.clone());
                }
                if let Err(error) = flushed {
                    self.write_failed(error, false)?;
                }
            }
            if self.trouble.is_none() {
                self.after_commit(points)?;
            }
            for request in registry {
                self.wall = self.wall.max(request.at);
                let answer = self.store.change_version(
                    &request.model,
                    &request.version,
                    request.change,
                    request.at,
                    &request.actor,
                );
                if answer.is_ok() {
                    self.outbox_changed();
                }
                let _ = request.reply.send(answer);
            }
            for request in retention {
                self.start_retention(request)?;
            }
            if self.pass.is_some() {
                self.retention_step();
            }
        }
        // The queue closed: every request is answered. Written points and a snapshot make the
        // next start quick; a store that cannot write leaves the points to the next start,
        // which reads them back from the stored inputs.
        if self.trouble.is_none() {
            self.finish_upkeep()?;
        }
        if self.trouble.is_some() {
            tracing::warn!("The writer stops while the store cannot write.");
            return Ok(());
        }
        self.flush_points()?;
        if self.engine.last_seq() > self.snapshot_seq {
            self.snapshot();
        }
        Ok(())
    }

    /// Writes the pending points, then asks for a checkpoint: a flush adds hundreds of pages
    /// to the write-ahead log.
    fn flush_points(&mut self) -> Result<usize, StoreError> {
        let written = self.store.flush_points()?;
        self.metrics.record_points_pending(0);
        if written > 0 {
            self.request_checkpoint();
        }
        Ok(written)
    }

    /// Answers the scrapes of `/metrics` from the engine, when it holds what the store holds
    /// (otherwise the scrape exports the counters alone).
    fn answer_scrapes(&self, scrapes: &mut Vec<SeriesRequest>) {
        if scrapes.is_empty() {
            return;
        }
        if !self.engine_matches_store() {
            scrapes.clear();
            return;
        }
        // A read of the traffic alone (cap 0) needs no rule statuses.
        let status = if scrapes.iter().any(|scrape| scrape.cap > 0) {
            self.engine.status()
        } else {
            Vec::new()
        };
        let traffic: Vec<TrafficSnapshot> = self
            .engine
            .all_traffic()
            .into_iter()
            .map(|(model, counts, pending)| TrafficSnapshot {
                model: model.to_string(),
                counts,
                pending,
            })
            .collect();
        for scrape in scrapes.drain(..) {
            let mut snapshot = SeriesSnapshot::capped(status.clone(), scrape.cap);
            snapshot.traffic = traffic.clone();
            let _ = scrape.reply.send(snapshot);
        }
    }

    /// Tells the effects that a commit may have brought them work.
    fn outbox_changed(&self) {
        if let Some(outbox) = &self.outbox {
            outbox.send_modify(|commits| *commits += 1);
        }
    }

    /// Asks the checkpointer (if there is one) to copy the write-ahead log into the database.
    /// Never waits: a request already waiting covers this one.
    fn request_checkpoint(&mut self) {
        self.commits = 0;
        if let Some(checkpoints) = &self.checkpoints {
            let _ = checkpoints.try_send(());
        }
    }

    /// Saves a snapshot of the engine at the last committed input, at once. A failure is
    /// counted and changes nothing: the previous snapshot stays.
    fn snapshot(&mut self) {
        if self.save_snapshot().is_err() {
            self.metrics.record_snapshot_failure();
        }
    }

    /// Saves a snapshot of the engine at its last input at once, returning the store's error
    /// (a retry after a failed write needs it); an engine that cannot encode its state is
    /// counted and saves nothing.
    fn save_snapshot(&mut self) -> Result<(), StoreError> {
        if self.engine.last_seq() == 0 {
            return Ok(());
        }
        let Ok(state) = self.engine.snapshot() else {
            self.metrics.record_snapshot_failure();
            return Ok(());
        };
        let snapshot = Snapshot {
            seq: self.engine.last_seq(),
            taken_at: self.wall,
            config_digest: self.config_digest.clone(),
            state,
        };
        self.store.save_snapshot(&snapshot)?;
        self.snapshot_saved(snapshot.seq, snapshot.state.len());
        Ok(())
    }
}

/// `Store::commit`, timed for the commit latency histogram.
///
/// The one place outside `clock.rs` that reads a clock: a monotonic `Instant` measures how
/// long the commit took for `/metrics`; it never reaches the engine, the store or an output.
#[allow(clippy::disallowed_methods)]
fn timed_commit(store: &mut Store, batch: &Batch) -> Result<Duration, StoreError> {
    let started = Instant::now();
    store.commit(batch)?;
    Ok(started.elapsed())
}
