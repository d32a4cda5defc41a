//! The one writer of `serve`: a plain thread that owns the [`Engine`] and the [`Store`].
//!
//! It first replays every stored input through a fresh engine (recovery), then takes requests
//! from the bounded ingest queue, every waiting one at a time (group commit), numbers their
//! inputs through the engine, commits inputs and outputs in one [`Store::commit`] and only
//! then answers each request. It never reads a clock (receive times come with the requests)
//! and never touches HTTP.
//!
//! A failed commit stops the writer for good: the engine has already consumed the inputs the
//! store refused, so its state is ahead of the store and the next input would get a sequence
//! number the store cannot accept. The waiting requests are told the commit failed, the queue
//! closes (later requests get 503), the status becomes [`Status::Failed`] and `serve` shuts
//! down; a restart recovers from what the store holds.
//!
//! The queue also carries scrapes of `/metrics` ([`Job::Series`]): the writer answers them
//! from the engine's status after committing every request queued before them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use modelwatch_engine::{Config, Engine, Input, Output, Timestamp};
use modelwatch_store::{Batch, MAX_REPLAY_PAGE, Record, Store, StoreError};
use tokio::sync::{mpsc, oneshot, watch};

use super::metrics::{Metrics, SeriesSnapshot};

/// Most requests folded into one commit.
pub const MAX_GROUP: usize = 1_024;

/// Where the writer stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Replaying the stored inputs; events are refused with 503.
    Recovering,
    /// Recovery is over; events are taken.
    Ready {
        /// How many stored inputs recovery replayed.
        replayed: u64,
    },
    /// Recovery or a commit failed; the writer has stopped.
    Failed {
        /// What went wrong.
        message: String,
    },
}

/// One accepted HTTP request on its way to the writer.
#[derive(Debug)]
pub struct Request {
    /// The inputs, every one with a timestamp.
    pub inputs: Vec<Input>,
    /// When the server received the request.
    pub received_at: Timestamp,
    /// Where the writer answers: the number of inputs committed, or why nothing was.
    pub reply: oneshot::Sender<Result<usize, CommitFailed>>,
}

/// What the writer takes from its queue.
#[derive(Debug)]
pub enum Job {
    /// Events to commit.
    Events(Request),
    /// A scrape of `/metrics` asking for the series.
    Series(SeriesRequest),
}

/// A scrape's request for every series' latest value and rule states.
#[derive(Debug)]
pub struct SeriesRequest {
    /// Most series to export.
    pub cap: usize,
    /// Where the writer answers.
    pub reply: oneshot::Sender<SeriesSnapshot>,
}

/// The commit that held a request failed; nothing of the request is stored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the store failed to commit: {message}")]
pub struct CommitFailed {
    /// The store's error.
    pub message: String,
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
    mut store: Store,
    mut queue: mpsc::Receiver<Job>,
    status: &watch::Sender<Status>,
    metrics: &Metrics,
) -> Result<(), WriterError> {
    let result = recover(config, &store).and_then(|(mut engine, replayed)| {
        status.send_replace(Status::Ready { replayed });
        serve_queue(&mut engine, &mut store, &mut queue, metrics)
    });
    if let Err(error) = &result {
        status.send_replace(Status::Failed {
            message: error.to_string(),
        });
    }
    result
}

/// A fresh engine fed every stored input in order; their outputs are already stored.
fn recover(config: Arc<Config>, store: &Store) -> Result<(Engine, u64), WriterError> {
    let mut engine = Engine::new(config);
    let mut outputs = Vec::new();
    let mut after = 0;
    loop {
        let page = store.inputs_after(after, MAX_REPLAY_PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for stored in &page {
            let seq = engine.process(&stored.input, &mut outputs);
            outputs.clear();
            if seq != stored.seq {
                return Err(WriterError::Sequence {
                    stored: stored.seq,
                    engine: seq,
                });
            }
        }
    }
    Ok((engine, after))
}

fn serve_queue(
    engine: &mut Engine,
    store: &mut Store,
    queue: &mut mpsc::Receiver<Job>,
    metrics: &Metrics,
) -> Result<(), WriterError> {
    let mut outputs: Vec<Output> = Vec::new();
    // (decision, reason) of every retrain decision in the batch, counted once it commits.
    let mut committed: Vec<(&'static str, &'static str)> = Vec::new();
    let mut scrapes = Vec::new();
    while let Some(first) = queue.blocking_recv() {
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
        for job in jobs {
            let request = match job {
                Job::Events(request) => request,
                Job::Series(scrape) => {
                    scrapes.push(scrape);
                    continue;
                }
            };
            replies.push((request.reply, request.inputs.len()));
            inputs += request.inputs.len();
            for input in request.inputs {
                let seq = engine.process(&input, &mut outputs);
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
                batch.push(record, outputs.drain(..));
            }
        }
        let result = if replies.is_empty() {
            Ok(Duration::ZERO)
        } else {
            timed_commit(store, &batch)
        };
        match result {
            Ok(took) => {
                if !replies.is_empty() {
                    metrics.record_commit(took, inputs, &committed);
                }
                committed.clear();
                for (reply, accepted) in replies {
                    // The client may have gone; its events are stored all the same.
                    let _ = reply.send(Ok(accepted));
                }
                if !scrapes.is_empty() {
                    let status = engine.status();
                    for scrape in scrapes.drain(..) {
                        let _ = scrape
                            .reply
                            .send(SeriesSnapshot::capped(status.clone(), scrape.cap));
                    }
                }
            }
            Err(error) => {
                let failed = CommitFailed {
                    message: error.to_string(),
                };
                for (reply, _) in replies {
                    let _ = reply.send(Err(failed.clone()));
                }
                return Err(error.into());
            }
        }
    }
    Ok(())
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
