//! The job runner: starts queued retrain and rollback jobs, at most `[jobs] max_concurrent`
//! at once, oldest first; times them out; retries failed attempts by the trainer's policy;
//! and reports every step through the writer before taking the next one.
//!
//! One task owns the set of running attempts (`runner.rs`), so cancel, complete, an attempt's
//! end and a deadline never race. Backends:
//! - `command` (`command.rs`): the program runs in a process group of its own, with the job in
//!   its arguments (templated) and in `MODELWATCH_*` environment variables. Exit 0 and a last
//!   stdout line naming the version (or a JSON object with `version` and whatever else, such
//!   as metrics) is success. A timeout or a cancel kills the whole group.
//! - `http` (`http.rs`): POSTs the templated body; a 2xx (or 409: the backend already has a run
//!   with this job's id, which makes re-sending after a crash safe) means accepted, and the job
//!   runs until `POST /v1/jobs/{id}/complete` or its deadline.
//! - `external`: nothing is sent; an outside worker completes the job the same way.
//!
//! A retrain job ends with a job-finished input (which lifts the engine's single flight) in
//! the same commit as its last attempt's record. A job that was running when the previous
//! process died is interrupted (a command) and retried or failed by policy, or adopted (http,
//! external: the outside run goes on).

mod command;
mod http;
mod runner;

use std::sync::Arc;
use std::time::Duration;

use modelwatch_engine::config::{TEMPLATE_FIELDS, TemplateFields};
use modelwatch_engine::{JobStatus, Timestamp};
use modelwatch_store::{AttemptOutcome, Job, JobState};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::{Context, wait_ready};
use crate::runtime::Status;
use runner::Runner;

/// How the API reaches the job runner.
#[derive(Clone, Debug)]
pub struct JobControl {
    sender: mpsc::Sender<Control>,
    outbox: watch::Receiver<u64>,
}

/// A finished job's report, as `POST /v1/jobs/{id}/complete` brings it.
#[derive(Clone, Debug, PartialEq)]
pub struct JobReport {
    /// Succeeded or failed.
    pub status: JobStatus,
    /// The version produced (required when succeeded, for a retrain).
    pub version: Option<String>,
    /// Whatever else the trainer reports (JSON), such as the new version's metrics.
    pub result: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// Why a cancel was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CancelError {
    /// No such job.
    #[error("there is no job {0}")]
    Unknown(String),
    /// The job is over.
    #[error("job {id} is already {state}")]
    Over {
        /// The job.
        id: String,
        /// Its final state.
        state: &'static str,
    },
    /// The service is stopping.
    #[error("the service is stopping")]
    Stopping,
}

/// Why a completion was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompleteError {
    /// No such job.
    #[error("there is no job {0}")]
    Unknown(String),
    /// The job is not waiting for a completion: over, queued, or run by a command.
    #[error(
        "job {id} is {state}; only a running http or external job is completed through the API"
    )]
    NotWaiting {
        /// The job.
        id: String,
        /// Its state (and backend).
        state: String,
    },
    /// The report does not fit the job.
    #[error("{0}")]
    Invalid(String),
    /// The service is stopping.
    #[error("the service is stopping")]
    Stopping,
}

impl JobControl {
    /// A control with no runner behind it: every request answers that the service stops
    /// (for a report's routes, which only read, and for tests).
    pub(crate) fn detached() -> JobControl {
        let (sender, _) = mpsc::channel(1);
        let (_, outbox) = watch::channel(0);
        JobControl { sender, outbox }
    }

    /// The writer's commit counter: changes after every commit with outputs or effects
    /// (so after every change of a job).
    pub fn outbox(&self) -> watch::Receiver<u64> {
        self.outbox.clone()
    }

    /// Cancels a queued or running job; `actor` (who asked: a token's name) goes into the
    /// audit row committed with the job's end.
    ///
    /// # Errors
    ///
    /// [`CancelError`] when there is no such job, it is over, or the service stops.
    pub async fn cancel(&self, id: String, actor: String) -> Result<(), CancelError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Control::Cancel { id, actor, reply })
            .await
            .map_err(|_| CancelError::Stopping)?;
        answer.await.unwrap_or(Err(CancelError::Stopping))
    }

    /// Ends a running http or external job with its report.
    ///
    /// # Errors
    ///
    /// [`CompleteError`] when the job is not waiting for one, the report does not fit, or the
    /// service stops.
    pub async fn complete(
        &self,
        id: String,
        report: JobReport,
        actor: String,
    ) -> Result<(), CompleteError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Control::Complete {
                id,
                report,
                actor,
                reply,
            })
            .await
            .map_err(|_| CompleteError::Stopping)?;
        answer.await.unwrap_or(Err(CompleteError::Stopping))
    }
}

#[derive(Debug)]
enum Control {
    Cancel {
        id: String,
        actor: String,
        reply: oneshot::Sender<Result<(), CancelError>>,
    },
    Complete {
        id: String,
        report: JobReport,
        /// Who reported (a token's name), for the audit row of the job's end.
        actor: String,
        reply: oneshot::Sender<Result<(), CompleteError>>,
    },
}

pub(super) fn start(
    context: Arc<Context>,
    ready: watch::Receiver<Status>,
) -> (JobControl, JoinHandle<()>) {
    let (sender, control) = mpsc::channel(64);
    let outbox = context.outbox.clone();
    let task = tokio::spawn(async move {
        if !wait_ready(ready).await {
            return;
        }
        let _ = Runner::new(context).run(control).await;
    });
    (JobControl { sender, outbox }, task)
}

/// An attempt's end, as its task reports it.
#[derive(Debug)]
struct Ended {
    id: String,
    attempt: u32,
    outcome: AttemptOutcome,
    version: Option<String>,
    result: Option<String>,
    error: Option<String>,
}

fn until(now: Timestamp, at: Timestamp) -> Duration {
    Duration::from_nanos(u64::try_from(at.as_nanos().saturating_sub(now.as_nanos())).unwrap_or(0))
}

/// The template fields of a job's attempt.
fn fields(job: &Job, attempt: u32) -> TemplateFields<'_> {
    TemplateFields {
        model: &job.model,
        version: job.version.as_deref().unwrap_or(""),
        instance: job.instance.as_deref().unwrap_or(""),
        job_id: &job.id,
        reason: &job.reason,
        attempt,
    }
}

/// The `MODELWATCH_*` environment of a command: every template field.
fn field_env(fields: &TemplateFields<'_>) -> Vec<(String, String)> {
    TEMPLATE_FIELDS
        .iter()
        .map(|name| {
            let value = fields.get(name).unwrap_or_default().into_owned();
            (format!("MODELWATCH_{}", name.to_ascii_uppercase()), value)
        })
        .collect()
}

/// Logs a job's end, once committed.
fn log_job_ended(job: &Job, state: JobState) {
    match state {
        JobState::Failed | JobState::TimedOut => tracing::warn!(
            job = %job.id,
            kind = job.kind.as_str(),
            model = %job.model,
            state = state.as_str(),
            "A job ended without success."
        ),
        _ => tracing::info!(
            job = %job.id,
            kind = job.kind.as_str(),
            model = %job.model,
            state = state.as_str(),
            "A job ended."
        ),
    }
}

/// Logs an attempt's end, once committed.
fn log_attempt_ended(
    job: &str,
    attempt: u32,
    outcome: AttemptOutcome,
    error: Option<&str>,
    version: Option<&str>,
) {
    tracing::info!(
        job,
        attempt,
        outcome = outcome.as_str(),
        reason = error.unwrap_or(""),
        version = version.unwrap_or(""),
        "A job's attempt ended."
    );
}
