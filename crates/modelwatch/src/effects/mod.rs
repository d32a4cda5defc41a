//! The service's effects: the tasks that act on the outbox the writer's commits fill, and
//! report what they did back through the writer's queue (DESIGN.md section 5).
//!
//! - `notify.rs`: one task per notifier delivers its pending notifications in stream order,
//!   each with retries (exponential backoff with jitter) for as long as the notifier says;
//!   Alertmanager notifiers also re-send the firing alerts every `resend_secs`.
//! - `jobs/`: the job runner starts queued retrain and rollback jobs (a global limit on how
//!   many run at once), times them out, retries them by policy, and reports their end; a
//!   retrain's end is a job-finished input, so single flight and cooldown stay the engine's.
//! - `http.rs`: the client, signatures, backoff and how answers count.
//! - `transport.rs`: where requests go: the network, or an in-process test's switchboard.
//!
//! Every external call carries an idempotency key derived from the decision that caused it
//! (the delivery id, the job id), and every attempt is committed before the next step, so a
//! crash loses nothing acknowledged: on restart whatever was pending is pending again, and is
//! sent again with the same key. Nothing here holds the writer's queue open: the tasks keep a
//! weak sender and end when the writer does.

pub mod http;
mod jobs;
mod notify;
#[cfg(test)]
mod tests;
pub(crate) mod transport;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use modelwatch_engine::config::{Backend, SecretSource};
use modelwatch_engine::{Config, Input, Timestamp};
use modelwatch_store::{EffectUpdate, Store, StoreError};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::runtime::Status;
use crate::runtime::metrics::Metrics;
use crate::runtime::writer::{Message, NotStored, Request, Stored, retry_delay};
use transport::{Network, Transport};

pub use jobs::{CancelError, CompleteError, JobControl, JobReport};

/// Why the effects cannot start.
#[derive(Debug, thiserror::Error)]
pub enum EffectsError {
    /// A notifier's or backend's secret cannot be read.
    #[error("{owner}: cannot read its secret from {source_name}: {message}")]
    Secret {
        /// `notifier NAME` or `trainer for GLOB`.
        owner: String,
        /// `environment variable X` or `file F`.
        source_name: String,
        /// Why.
        message: String,
    },
    /// The HTTP client cannot be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// The writer is gone: the service is stopping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stopped;

/// What every effect task shares.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) config: Arc<Config>,
    /// A connection of the effects' own, for reading the outbox.
    reader: Arc<Mutex<Store>>,
    queue: mpsc::WeakSender<Message>,
    /// Bumped by the writer after each commit with outputs or effects; closed when it stops.
    pub(crate) outbox: watch::Receiver<u64>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Where requests go.
    pub(crate) transport: Arc<dyn Transport>,
    /// Secrets by owner (`notifier:NAME`, `trainer:INDEX`, `rollback:INDEX`).
    pub(crate) secrets: HashMap<String, Vec<u8>>,
    /// Where links in notifications point (no trailing slash).
    pub(crate) link_base: String,
    /// The service's counters (`/metrics`).
    pub(crate) metrics: Arc<Metrics>,
    /// True once the effects are draining (see [`Effects::drain`]): a notifier finishes the
    /// attempt under way and stops; the runner starts nothing new and stops.
    pub(crate) draining: watch::Receiver<bool>,
    /// See [`EffectsSetup::mark_sends`].
    pub(crate) mark_sends: bool,
}

impl Context {
    /// Reads the store on a blocking thread; an error as its sentence.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, String> {
        let reader = self.reader.clone();
        match tokio::task::spawn_blocking(move || {
            let store = reader
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            read(&store).map_err(|error| error.to_string())
        })
        .await
        {
            Ok(result) => result,
            Err(_) => Err("a read of the outbox panicked".to_string()),
        }
    }

    /// Commits inputs and effect updates through the writer and waits for the commit;
    /// `actor` names the token of the request that asked for them, if one did. While the
    /// store cannot write (a full disk), the writer refuses them: they are sent again after
    /// the writer's own backoff, until they commit or the writer stops.
    pub(crate) async fn submit(
        &self,
        inputs: Vec<Input>,
        effects: Vec<EffectUpdate>,
        actor: Option<String>,
    ) -> Result<(), Stopped> {
        // What `/metrics` counts once the commit is done (delivery attempts are counted by
        // their notifier, which knows its name).
        let effects_counted: Vec<Counted> = effects
            .iter()
            .filter_map(|update| match update {
                EffectUpdate::JobStarted { backend, .. } => Some(Counted::Started(backend.clone())),
                EffectUpdate::JobAttemptEnded { outcome, .. } => {
                    Some(Counted::Ended(outcome.as_str()))
                }
                _ => None,
            })
            .collect();
        let received_at = self.clock.now();
        let mut inputs = inputs;
        for input in &mut inputs {
            input.stamp_if_missing(received_at);
        }
        let mut failures = 0;
        loop {
            match self
                .submit_once(inputs.clone(), effects.clone(), received_at, actor.clone())
                .await?
            {
                Ok(_) => break,
                Err(NotStored::Commit(failed)) if failed.retrying => {
                    failures += 1;
                    self.sleep(retry_delay(failures)).await?;
                }
                Err(_) => return Err(Stopped),
            }
        }
        for update in &effects_counted {
            match update {
                Counted::Started(backend) => self.metrics.record_job_started(backend),
                Counted::Ended(outcome) => self.metrics.record_job_attempt_ended(outcome),
            }
        }
        Ok(())
    }

    /// Sends one request to the writer and waits for its answer.
    async fn submit_once(
        &self,
        inputs: Vec<Input>,
        effects: Vec<EffectUpdate>,
        received_at: Timestamp,
        actor: Option<String>,
    ) -> Result<Result<Stored, NotStored>, Stopped> {
        let queue = self.queue.upgrade().ok_or(Stopped)?;
        let (reply, answer) = oneshot::channel();
        queue
            .send(Message::Events(Request {
                log_seq: None,
                idempotency_key: None,
                inputs,
                effects,
                received_at,
                actor,
                reply,
            }))
            .await
            .map_err(|_| Stopped)?;
        drop(queue);
        // The writer is a thread: its answer is awaited on a blocking thread, as a store read
        // is, so that a paused clock (tokio's test clock) stands still while it commits.
        tokio::task::spawn_blocking(move || answer.blocking_recv())
            .await
            .map_err(|_| Stopped)?
            .map_err(|_| Stopped)
    }

    /// Waits until the writer stops (the outbox closes).
    pub(crate) async fn stopped(&self) {
        let mut outbox = self.outbox.clone();
        while outbox.changed().await.is_ok() {}
    }

    /// Sleeps, or returns [`Stopped`] when the writer stops first.
    pub(crate) async fn sleep(&self, wait: std::time::Duration) -> Result<(), Stopped> {
        tokio::select! {
            () = tokio::time::sleep_until(tokio::time::Instant::now() + wait) => Ok(()),
            () = self.stopped() => Err(Stopped),
        }
    }
}

/// A job update `/metrics` counts.
enum Counted {
    Started(String),
    Ended(&'static str),
}

/// The running effects of a service.
#[derive(Debug)]
pub struct Effects {
    tasks: Vec<JoinHandle<()>>,
    /// Tells the tasks to finish what they are doing and take nothing new.
    drain: watch::Sender<bool>,
    /// How the API reaches the job runner.
    pub jobs: JobControl,
}

/// What the effects need from the service.
#[derive(Debug)]
pub struct EffectsSetup {
    /// The config.
    pub config: Arc<Config>,
    /// A store connection of their own.
    pub reader: Store,
    /// The writer's queue (held weakly).
    pub queue: mpsc::WeakSender<Message>,
    /// The writer's outbox counter.
    pub outbox: watch::Receiver<u64>,
    /// Wall time.
    pub clock: Arc<dyn Clock>,
    /// Where links in notifications point.
    pub link_base: String,
    /// The service's counters.
    pub metrics: Arc<Metrics>,
    /// Commit a mark before each notification is sent (a cluster: another node may take the
    /// partition over, and must know which sends are in doubt).
    pub mark_sends: bool,
}

/// What the effects need before anything starts: every secret read and the HTTP client built,
/// so that a missing secret stops the start before the writer runs.
#[derive(Debug)]
pub struct Prepared {
    secrets: HashMap<String, Vec<u8>>,
    transport: Arc<dyn Transport>,
}

impl Effects {
    /// Reads every secret the config names and builds the HTTP client.
    ///
    /// # Errors
    ///
    /// A secret that cannot be read, or an HTTP client that cannot be built.
    pub fn prepare(config: &Config) -> Result<Prepared, EffectsError> {
        Ok(Prepared {
            secrets: read_secrets(config)?,
            transport: Arc::new(Network::new()?),
        })
    }

    /// Starts a task per notifier and the job runner; they wait for the writer's recovery to
    /// end (`ready`) before they read the outbox.
    pub fn start(
        prepared: Prepared,
        setup: EffectsSetup,
        ready: watch::Receiver<Status>,
    ) -> Effects {
        let (drain, draining) = watch::channel(false);
        let context = Arc::new(Context {
            config: setup.config,
            reader: Arc::new(Mutex::new(setup.reader)),
            queue: setup.queue,
            outbox: setup.outbox,
            clock: setup.clock,
            transport: prepared.transport,
            secrets: prepared.secrets,
            link_base: setup.link_base.trim_end_matches('/').to_string(),
            metrics: setup.metrics,
            draining,
            mark_sends: setup.mark_sends,
        });
        let mut tasks = Vec::new();
        for notifier in &context.config.effects.notifiers {
            tasks.extend(notify::start(
                context.clone(),
                notifier.clone(),
                ready.clone(),
            ));
        }
        let (jobs, runner) = jobs::start(context, ready);
        tasks.push(runner);
        Effects { tasks, drain, jobs }
    }

    /// Lets every task finish the attempt it has under way, committing its outcome, then stop
    /// (at most `limit`, then they are stopped at once): what a cluster node does before it
    /// hands a partition over, so that the next owner neither repeats a send nor misses one.
    /// The writer must still take commits meanwhile.
    pub async fn drain(self, limit: Duration) {
        let _ = self.drain.send(true);
        let mut tasks = self.tasks;
        let ended = tokio::time::timeout(limit, async {
            for task in &mut tasks {
                let _ = task.await;
            }
        })
        .await;
        if ended.is_err() {
            tracing::warn!("Effects still busy after {limit:?}: stopped at once.");
            for task in &tasks {
                task.abort();
            }
        }
    }

    /// Stops every task at once (they also stop by themselves when the writer does).
    pub fn abort(&self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Reads every secret the config names, so that a missing one stops `serve` at start rather
/// than at the first alert.
fn read_secrets(config: &Config) -> Result<HashMap<String, Vec<u8>>, EffectsError> {
    let mut secrets = HashMap::new();
    let effects = &config.effects;
    let mut wanted: Vec<(String, String, &SecretSource)> = Vec::new();
    for notifier in &effects.notifiers {
        if let Some(source) = &notifier.secret {
            wanted.push((
                format!("notifier:{}", notifier.name),
                format!("notifier {}", notifier.name),
                source,
            ));
        }
    }
    for (kind, trainers) in [
        ("trainer", &effects.trainers),
        ("rollback", &effects.rollbacks),
    ] {
        for (index, trainer) in trainers.iter().enumerate() {
            if let Backend::Http {
                secret: Some(source),
                ..
            } = &trainer.backend
            {
                wanted.push((
                    format!("{kind}:{index}"),
                    format!("{kind} for {}", trainer.model),
                    source,
                ));
            }
        }
    }
    for (key, owner, source) in wanted {
        let (source_name, value) = match source {
            SecretSource::Env(name) => (
                format!("environment variable {name}"),
                std::env::var(name).map_err(|error| error.to_string()),
            ),
            SecretSource::File(path) => (
                format!("file {}", path.display()),
                std::fs::read_to_string(path).map_err(|error| error.to_string()),
            ),
        };
        let value = value.map_err(|message| EffectsError::Secret {
            owner: owner.clone(),
            source_name: source_name.clone(),
            message,
        })?;
        let value = value.trim_end_matches(['\r', '\n']);
        if value.is_empty() {
            return Err(EffectsError::Secret {
                owner,
                source_name,
                message: "it is empty".to_string(),
            });
        }
        secrets.insert(key, value.as_bytes().to_vec());
    }
    Ok(secrets)
}

/// Waits until the writer's recovery is over; false if it failed or stopped first.
pub(crate) async fn wait_ready(mut status: watch::Receiver<Status>) -> bool {
    match status
        .wait_for(|status| !matches!(status, Status::Recovering))
        .await
    {
        Ok(status) => matches!(*status, Status::Ready { .. }),
        Err(_) => false,
    }
}
