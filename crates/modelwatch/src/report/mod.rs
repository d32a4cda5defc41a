//! The data of a report (`modelwatch replay --report`): the events replayed into a store by the
//! writer `serve` runs, each received at its event time (never the wall clock), then every
//! answer the console's pages read, asked of serve's own router in process (`answers.rs`), as
//! the map of API path to answer that [`crate::console::standalone_page`] inlines.
//!
//! Nothing here has an effect: the notifiers and the job runner (`effects/`) are not started,
//! so no notification is sent and no job runs; what the outbox holds stays pending or queued,
//! as the report shows it. Same events and config, same answers, byte for byte.

mod answers;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use modelwatch_engine::{Config, Input, Timestamp};
use modelwatch_store::{Store, StoreError};
use serde_json::{Map, Value};
use tokio::sync::oneshot;

use crate::clock::{Clock, FixedClock};
use crate::effects::JobControl;
use crate::runtime::writer::Request;
use crate::runtime::{
    Message, NotStored, Refused, Retention, Runtime, RuntimeError, RuntimeOptions, Status, Stored,
};
use crate::server::{self, RouterParts, auth};

/// The most inputs of one request to the writer.
const INPUTS_PER_REQUEST: usize = 1_000;

/// The most requests sent and not yet answered: fewer than the writer's queue holds, so the
/// queue is never full, and enough that the writer commits many of them at once.
const REQUESTS_IN_FLIGHT: usize = 256;

/// Why a report's data could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The temporary store could not be opened.
    #[error("the report's temporary store: {0}")]
    Store(#[from] StoreError),
    /// The writer could not start or stopped with an error.
    #[error("the report's temporary store: {0}")]
    Runtime(#[from] RuntimeError),
    /// The writer did not recover its (empty) store.
    #[error("the report's temporary store did not open: {0}")]
    NotReady(String),
    /// The writer refused or failed to commit inputs.
    #[error("the report's temporary store did not take inputs {first} to {last}: {refused}")]
    Refused {
        /// The 1-based index of the request's first input.
        first: u64,
        /// The 1-based index of its last.
        last: u64,
        /// Why.
        refused: Refused,
    },
    /// A route answered what a report cannot hold.
    #[error("GET {path} answered {status}: {body}")]
    Answer {
        /// The request's path and query.
        path: String,
        /// The status.
        status: u16,
        /// The answer's body, as text.
        body: String,
    },
    /// The writer could not be joined.
    #[error("the report's writer did not stop: {0}")]
    Join(String),
}

/// Events on their way into a report's store: [`ReportReplay::push`] them in order, then
/// [`ReportReplay::finish`] for the answers.
#[derive(Debug)]
pub struct ReportReplay {
    config: Arc<Config>,
    runtime: Runtime,
    clock: Arc<FixedClock>,
    data_dir: PathBuf,
    /// The inputs of the next request, all of one event time.
    batch: Vec<Input>,
    /// The latest event time so far (the engine's clock): what an input without a timestamp
    /// takes.
    latest: Timestamp,
    /// How many inputs were pushed.
    pushed: u64,
    /// The requests sent, oldest first, with the 1-based indices of their first and last input.
    in_flight: VecDeque<(u64, u64, Answer)>,
}

/// Where the writer answers a request.
type Answer = oneshot::Receiver<Result<Stored, NotStored>>;

impl ReportReplay {
    /// Starts the writer on an empty store in `data_dir` (a temporary directory the caller
    /// removes afterwards) and waits until it takes inputs. Call it within a Tokio runtime.
    ///
    /// # Errors
    ///
    /// [`ReportError`]: the store cannot be opened or the writer does not start.
    pub async fn start(config: Arc<Config>, data_dir: &Path) -> Result<ReportReplay, ReportError> {
        let clock = Arc::new(FixedClock::new(Timestamp::EPOCH));
        let runtime = Runtime::start(
            config.clone(),
            data_dir,
            clock.clone(),
            &RuntimeOptions {
                // Nothing expires: the report holds every point of its events.
                retention: Retention {
                    keep: None,
                    ..Retention::default()
                },
                max_series: None,
                metrics: None,
                // The store is never recovered: no snapshot but the one the writer saves as
                // it stops.
                snapshot_every: u64::MAX,
                ..RuntimeOptions::default()
            },
        )?;
        let mut status = runtime.queue().status();
        let ready = status
            .wait_for(|status| !matches!(status, Status::Recovering))
            .await
            .map_err(|_| ReportError::NotReady("the writer stopped".to_string()))?
            .clone();
        if !matches!(ready, Status::Ready { .. }) {
            return Err(ReportError::NotReady(format!("{ready:?}")));
        }
        Ok(ReportReplay {
            config,
            runtime,
            clock,
            data_dir: data_dir.to_path_buf(),
            batch: Vec::new(),
            latest: Timestamp::EPOCH,
            pushed: 0,
            in_flight: VecDeque::new(),
        })
    }

    /// Adds the next input; an input without a timestamp takes the latest event time seen so
    /// far, as `replay` (the engine) gives it.
    ///
    /// Each input is received at its own event time, as if `serve` had taken it then: what
    /// carries the time `serve` received its cause (jobs, registry changes, deliveries) takes
    /// that event time. The inputs of one time go in one request (at most
    /// `INPUTS_PER_REQUEST`); `REQUESTS_IN_FLIGHT` requests wait for their commit at most,
    /// which the writer makes in groups, so that no more than that is held.
    ///
    /// # Errors
    ///
    /// [`ReportError::Refused`] when a commit fails.
    pub async fn push(&mut self, mut input: Input) -> Result<(), ReportError> {
        input.stamp_if_missing(self.latest);
        let at = input.timestamp().unwrap_or(self.latest);
        self.latest = self.latest.max(at);
        let same_time = self
            .batch
            .first()
            .is_none_or(|first| first.timestamp() == Some(at));
        if !same_time || self.batch.len() >= INPUTS_PER_REQUEST {
            self.send().await?;
        }
        self.batch.push(input);
        self.pushed += 1;
        Ok(())
    }

    /// Sends the inputs held as one request, received at their event time, once fewer than
    /// [`REQUESTS_IN_FLIGHT`] wait.
    async fn send(&mut self) -> Result<(), ReportError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        while self.in_flight.len() >= REQUESTS_IN_FLIGHT {
            self.await_oldest().await?;
        }
        let inputs = std::mem::take(&mut self.batch);
        let count = inputs.len() as u64;
        let received_at = inputs
            .first()
            .and_then(Input::timestamp)
            .unwrap_or(self.latest);
        let (first, last) = (self.pushed - count + 1, self.pushed);
        let (reply, answer) = oneshot::channel();
        let queue = self.runtime.queue();
        queue
            .check_ready()
            .and_then(|()| {
                queue.try_send(Message::Events(Request {
                    log_seq: None,
                    idempotency_key: None,
                    inputs,
                    effects: Vec::new(),
                    received_at,
                    actor: None,
                    reply,
                }))
            })
            .map_err(|refused| ReportError::Refused {
                first,
                last,
                refused,
            })?;
        self.in_flight.push_back((first, last, answer));
        Ok(())
    }

    /// Awaits the commit of the oldest request sent.
    async fn await_oldest(&mut self) -> Result<(), ReportError> {
        let Some((first, last, answer)) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let refused = match answer.await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(not_stored)) => Refused::from(not_stored),
            Err(_) => Refused::Stopped,
        };
        Err(ReportError::Refused {
            first,
            last,
            refused,
        })
    }

    /// Commits the rest, asks the routes for every answer the console's pages read, and
    /// stops the writer.
    ///
    /// # Errors
    ///
    /// [`ReportError`]: a commit failed, a route answered an error it should not have, or
    /// the writer failed.
    pub async fn finish(mut self) -> Result<Map<String, Value>, ReportError> {
        self.send().await?;
        while !self.in_flight.is_empty() {
            self.await_oldest().await?;
        }
        // The routes' "now" (none of the answers a report holds reads it): the last event.
        self.clock.set(self.latest);
        let router = server::router(RouterParts {
            config: self.config.clone(),
            clock: self.clock.clone() as Arc<dyn Clock>,
            queue: self.runtime.queue().clone(),
            reader: Store::open(&self.data_dir)?,
            metrics: self.runtime.metrics().clone(),
            // No job runner: a report only reads.
            jobs: JobControl::detached(),
            auth: auth::Auth::default(),
            body_limit: server::DEFAULT_BODY_LIMIT,
            body_timeout: server::DEFAULT_BODY_TIMEOUT,
            max_bodies_in_flight: server::DEFAULT_MAX_BODIES_IN_FLIGHT,
            max_exported_series: server::DEFAULT_MAX_EXPORTED_SERIES,
            retention: Retention {
                keep: None,
                ..Retention::default()
            },
            max_future: None,
            ready_detail: None,
            routing: None,
        });
        let answers = answers::collect(router).await?;
        let runtime = self.runtime;
        tokio::task::spawn_blocking(move || runtime.join())
            .await
            .map_err(|error| ReportError::Join(error.to_string()))??;
        Ok(answers)
    }
}
