//! [`PartitionRun`]: one partition run on this node under its lease. Its own writer (a
//! [`Runtime`] on the partition's PostgreSQL store, fenced by the lease's epoch) restores the
//! partition's latest snapshot and replays its stored inputs; then a reader takes the
//! partition's messages from the ingest log after the stream sequence the store committed
//! through, and commits them in order, each commit recording how far it went. Its effects
//! (notifications, jobs) run beside it, on the partition's outbox rows.
//!
//! Exactly once: a message's inputs and the stream sequence it ends at are in one
//! transaction, so a partition resumed elsewhere starts right after the last committed
//! message, whatever happened to the node that ran it before.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use modelwatch_engine::Config;
use modelwatch_store::pg::Lease;
use modelwatch_store::{Store, StoreLocation};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::log::{IngestLog, LogMessage};
use super::spanning::{self, Decisions, Settled};
use crate::clock::Clock;
use crate::effects::{Effects, EffectsSetup};
use crate::runtime::{Refused, Runtime, RuntimeOptions, Status, WriterQueue};

/// Most inputs the reader gathers into one commit.
const MAX_INPUTS_PER_COMMIT: usize = 20_000;

/// How long a stopping partition waits for its effects' attempts under way.
const EFFECTS_DRAIN: Duration = Duration::from_secs(10);

/// How long the reader waits before it reads the log again after a failure.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// What a partition needs to run.
#[derive(Clone, Debug)]
pub struct PartitionSetup {
    /// The config.
    pub config: Arc<Config>,
    /// The PostgreSQL store's URL.
    pub store_url: String,
    /// The ingest log.
    pub log: IngestLog,
    /// Wall time.
    pub clock: Arc<dyn Clock>,
    /// Where links in notifications point.
    pub link_base: String,
    /// The writer's knobs (snapshots, retention).
    pub runtime: RuntimeOptions,
}

/// A partition running here.
#[derive(Debug)]
pub struct PartitionRun {
    lease: Lease,
    runtime: Runtime,
    reader: JoinHandle<()>,
    stop: watch::Sender<bool>,
    effects: Effects,
}

/// Why a partition could not start.
#[derive(Debug, thiserror::Error)]
pub enum PartitionError {
    /// Its writer could not start (the store could not be opened).
    #[error("partition {partition}: {error}")]
    Runtime {
        /// The partition.
        partition: u32,
        /// Why.
        error: crate::runtime::RuntimeError,
    },
    /// Its effects could not be prepared (a secret is missing).
    #[error("partition {partition}: {error}")]
    Effects {
        /// The partition.
        partition: u32,
        /// Why.
        error: crate::effects::EffectsError,
    },
    /// A store for its effects could not be opened.
    #[error("partition {partition}: {error}")]
    Store {
        /// The partition.
        partition: u32,
        /// Why.
        error: modelwatch_store::StoreError,
    },
}

impl PartitionRun {
    /// Starts the partition of `lease`: its writer (recovering first), its effects, and the
    /// reader of its messages (once recovery is over). Call within a Tokio runtime.
    ///
    /// # Errors
    ///
    /// [`PartitionError`] when the writer or the effects cannot start.
    pub fn start(setup: &PartitionSetup, lease: Lease) -> Result<PartitionRun, PartitionError> {
        let partition = lease.partition;
        let location = StoreLocation::PostgresPartition {
            url: setup.store_url.clone(),
            partition,
            epoch: lease.epoch,
        };
        let prepared = Effects::prepare(&setup.config)
            .map_err(|error| PartitionError::Effects { partition, error })?;
        let runtime = Runtime::start_at(
            setup.config.clone(),
            &location,
            setup.clock.clone(),
            &setup.runtime,
        )
        .map_err(|error| PartitionError::Runtime { partition, error })?;
        let queue = runtime.queue().clone();
        let reader_store = Store::open_at(&StoreLocation::PostgresPartition {
            url: setup.store_url.clone(),
            partition,
            epoch: lease.epoch,
        })
        .map_err(|error| PartitionError::Store { partition, error })?;
        let effects_store = Store::open_at(&location)
            .map_err(|error| PartitionError::Store { partition, error })?;
        let effects = Effects::start(
            prepared,
            EffectsSetup {
                config: setup.config.clone(),
                reader: effects_store,
                queue: queue.downgrade(),
                outbox: runtime.outbox(),
                clock: setup.clock.clone(),
                link_base: setup.link_base.clone(),
                metrics: runtime.metrics().clone(),
                mark_sends: true,
            },
            queue.status(),
        );
        let (stop, stopped) = watch::channel(false);
        let reader = tokio::spawn(read_log(
            Reader {
                log: setup.log.clone(),
                queue,
                decisions: Decisions::new(reader_store),
                clock: setup.clock.clone(),
                partition,
            },
            stopped,
        ));
        tracing::info!(
            partition,
            epoch = lease.epoch,
            "Partition taken: recovering."
        );
        Ok(PartitionRun {
            lease,
            runtime,
            reader,
            stop,
            effects,
        })
    }

    /// The lease it runs under.
    pub fn lease(&self) -> Lease {
        self.lease
    }

    /// Its writer's queue.
    pub fn queue(&self) -> WriterQueue {
        self.runtime.queue().clone()
    }

    /// Its job runner (what the job routes cancel and complete through).
    pub fn jobs(&self) -> crate::effects::JobControl {
        self.effects.jobs.clone()
    }

    /// Where its writer stands.
    pub fn status(&self) -> watch::Receiver<Status> {
        self.runtime.queue().status()
    }

    /// Stops reading the log, lets the effects finish the attempts under way (their outcomes
    /// committed, so the next owner neither repeats nor misses a send), lets the writer commit
    /// what it has, and waits for it to stop.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.reader.await;
        self.effects.drain(EFFECTS_DRAIN).await;
        let partition = self.lease.partition;
        let runtime = self.runtime;
        let joined = tokio::task::spawn_blocking(move || runtime.join()).await;
        match joined {
            Ok(Ok(())) => tracing::info!(partition, "Partition stopped."),
            Ok(Err(error)) => {
                tracing::warn!(partition, error = %error, "Partition stopped after a failure.");
            }
            Err(error) => tracing::warn!(partition, error = %error, "Partition's writer panicked."),
        }
    }
}

/// What reads a partition's messages.
struct Reader {
    log: IngestLog,
    queue: WriterQueue,
    /// The partition's log position, and the commit records of its parts.
    decisions: Decisions,
    clock: Arc<dyn Clock>,
    partition: u32,
}

/// Reads the partition's messages and commits them in order until told to stop or the
/// writer stops for good; after a failed read or commit, waits for the writer to be ready
/// again and reads on from what the store committed.
async fn read_log(reader: Reader, mut stopped: watch::Receiver<bool>) {
    let partition = reader.partition;
    loop {
        if !wait_ready(&reader.queue, &mut stopped).await {
            return;
        }
        let after = match reader.decisions.log_seq().await {
            Ok(after) => after,
            Err(message) => {
                tracing::warn!(partition, error = %message, "Cannot read how far the partition went.");
                if pause(&mut stopped).await {
                    return;
                }
                continue;
            }
        };
        tracing::info!(partition, after, "Reading the partition's log.");
        match follow(&reader, after, &mut stopped).await {
            Followed::Stopped => return,
            Followed::Again => {
                if pause(&mut stopped).await {
                    return;
                }
            }
        }
    }
}

enum Followed {
    Stopped,
    Again,
}

async fn follow(reader: &Reader, after: u64, stopped: &mut watch::Receiver<bool>) -> Followed {
    let (queue, partition) = (&reader.queue, reader.partition);
    let messages = match reader.log.read(partition, after).await {
        Ok(messages) => messages,
        Err(error) => {
            tracing::warn!(partition, error = %error, "Cannot read the partition's log.");
            return Followed::Again;
        }
    };
    let mut messages = std::pin::pin!(messages.ready_chunks(256));
    let mut waiting: Vec<LogMessage> = Vec::new();
    loop {
        let chunk = tokio::select! {
            _ = stopped.changed() => return Followed::Stopped,
            chunk = messages.next() => chunk,
        };
        let Some(chunk) = chunk else {
            return Followed::Again;
        };
        for message in chunk {
            match message {
                Ok(message) => waiting.push(message),
                Err(error) => {
                    tracing::warn!(partition, error = %error, "A partition's message cannot be read.");
                    return Followed::Again;
                }
            }
        }
        // Parts of requests spanning partitions wait for their request's decision.
        match spanning::settle(
            &reader.decisions,
            reader.clock.as_ref(),
            partition,
            &mut waiting,
            stopped,
        )
        .await
        {
            Settled::Ready => {}
            Settled::Stopped => return Followed::Stopped,
            Settled::Failed(message) => {
                tracing::warn!(partition, error = %message, "Cannot read whether requests spanning partitions are committed.");
                return Followed::Again;
            }
        }
        // Gathers consecutive messages of the same asker into one commit.
        while !waiting.is_empty() {
            let mut take = 1;
            let mut inputs = waiting[0].inputs.len();
            while take < waiting.len()
                && waiting[take].actor == waiting[0].actor
                && inputs + waiting[take].inputs.len() <= MAX_INPUTS_PER_COMMIT
            {
                inputs += waiting[take].inputs.len();
                take += 1;
            }
            let group: Vec<LogMessage> = waiting.drain(..take).collect();
            let Some(last) = group.last() else {
                break;
            };
            let (log_seq, received_at, actor) = (last.seq, last.received_at, last.actor.clone());
            let inputs = group
                .into_iter()
                .flat_map(|message| message.inputs)
                .collect();
            match queue
                .commit_logged(inputs, received_at, actor, log_seq)
                .await
            {
                Ok(_) => {}
                Err(Refused::Stopped | Refused::CommitFailed(_)) => {
                    tracing::warn!(partition, "The partition's writer stopped.");
                    return Followed::Stopped;
                }
                Err(refused) => {
                    tracing::warn!(partition, error = %refused, "A commit of the partition failed; reading again from the store.");
                    return Followed::Again;
                }
            }
        }
    }
}

/// Waits until the writer is ready; false when told to stop or the writer stopped.
async fn wait_ready(queue: &WriterQueue, stopped: &mut watch::Receiver<bool>) -> bool {
    let mut status = queue.status();
    loop {
        match &*status.borrow_and_update() {
            Status::Ready { .. } => return true,
            Status::Failed { .. } => return false,
            Status::Recovering | Status::Retrying { .. } => {}
        }
        tokio::select! {
            _ = stopped.changed() => return false,
            changed = status.changed() => {
                if changed.is_err() {
                    return false;
                }
            }
        }
    }
}

/// Waits [`RETRY_AFTER`]; true when told to stop meanwhile.
async fn pause(stopped: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = stopped.changed() => true,
        () = tokio::time::sleep_until(tokio::time::Instant::now() + RETRY_AFTER) => false,
    }
}
