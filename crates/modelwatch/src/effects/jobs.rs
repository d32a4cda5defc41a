//! The job runner: starts queued retrain and rollback jobs, at most `[jobs] max_concurrent`
//! at once, oldest first; times them out; retries failed attempts by the trainer's policy;
//! and reports every step through the writer before taking the next one.
//!
//! One task owns the set of running attempts, so cancel, complete, an attempt's end and a
//! deadline never race. Backends:
//! - `command`: the program runs in a process group of its own, with the job in its
//!   arguments (templated) and in `MODELWATCH_*` environment variables. Exit 0 and a last
//!   stdout line naming the version (or a JSON object with `version` and whatever else, such
//!   as metrics) is success. A timeout or a cancel kills the whole group.
//! - `http`: POSTs the templated body; a 2xx (or 409: the backend already has a run with this
//!   job's id, which makes re-sending after a crash safe) means accepted, and the job runs
//!   until `POST /v1/jobs/{id}/complete` or its deadline.
//! - `external`: nothing is sent; an outside worker completes the job the same way.
//!
//! A retrain job ends with a job-finished input (which lifts the engine's single flight) in
//! the same commit as its last attempt's record. A job that was running when the previous
//! process died is interrupted (a command) and retried or failed by policy, or adopted (http,
//! external: the outside run goes on).

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use modelwatch_engine::config::{
    Backend, TEMPLATE_FIELDS, TemplateFields, Trainer, expand_template,
};
use modelwatch_engine::wire::check_identifier;
use modelwatch_engine::{Input, JobFinished, JobStatus, Timestamp};
use modelwatch_store::{AttemptOutcome, EffectUpdate, Job, JobKind, JobState};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::http::{self, Answer};
use super::{Context, Stopped, wait_ready};
use crate::server::writer::Status;

/// Most bytes of a command's stderr kept for the error message.
const STDERR_TAIL: usize = 2_000;

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
    /// A control with no runner behind it: every request answers that the service stops.
    #[cfg(test)]
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

    /// Cancels a queued or running job.
    ///
    /// # Errors
    ///
    /// [`CancelError`] when there is no such job, it is over, or the service stops.
    pub async fn cancel(&self, id: String) -> Result<(), CancelError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Control::Cancel { id, reply })
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
    pub async fn complete(&self, id: String, report: JobReport) -> Result<(), CompleteError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Control::Complete { id, report, reply })
            .await
            .map_err(|_| CompleteError::Stopping)?;
        answer.await.unwrap_or(Err(CompleteError::Stopping))
    }
}

#[derive(Debug)]
enum Control {
    Cancel {
        id: String,
        reply: oneshot::Sender<Result<(), CancelError>>,
    },
    Complete {
        id: String,
        report: JobReport,
        reply: oneshot::Sender<Result<(), CompleteError>>,
    },
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

/// A running attempt.
#[derive(Debug)]
struct Running {
    job: Job,
    attempt: u32,
    trainer: Option<Trainer>,
    deadline: Timestamp,
    /// A command's: dropping or sending kills its process group.
    kill: Option<oneshot::Sender<AttemptOutcome>>,
    /// The backend running it: a `command` ends by itself (exit, its own time limit, a
    /// kill); an `http` or `external` job waits for `complete` or its deadline, from the
    /// moment it starts, since the completion may come before the answer to the request.
    backend: &'static str,
    /// A cancel waiting for the command's group to be killed and the end committed.
    cancelled: Option<oneshot::Sender<Result<(), CancelError>>>,
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

struct Runner {
    context: Arc<Context>,
    running: HashMap<String, Running>,
    ended_sender: mpsc::Sender<Ended>,
    ended: mpsc::Receiver<Ended>,
}

impl Runner {
    fn new(context: Arc<Context>) -> Runner {
        let (ended_sender, ended) = mpsc::channel(64);
        Runner {
            context,
            running: HashMap::new(),
            ended_sender,
            ended,
        }
    }

    async fn run(mut self, mut control: mpsc::Receiver<Control>) -> Result<(), Stopped> {
        self.adopt_or_interrupt().await?;
        let mut outbox = self.context.outbox.clone();
        loop {
            outbox.borrow_and_update();
            let wake = self.schedule().await?;
            let sleep = tokio::time::sleep_until(tokio::time::Instant::now() + wake);
            tokio::select! {
                changed = outbox.changed() => {
                    if changed.is_err() {
                        return Err(Stopped);
                    }
                }
                Some(request) = control.recv() => self.control(request).await?,
                Some(ended) = self.ended.recv() => self.attempt_ended(ended).await?,
                () = sleep => {}
            }
        }
    }

    /// Jobs the previous process left running: commands are interrupted (retried or failed
    /// by policy); http and external ones run on outside and are waited for again.
    async fn adopt_or_interrupt(&mut self) -> Result<(), Stopped> {
        let open = self.open_jobs().await?;
        for job in open
            .into_iter()
            .filter(|job| job.state == JobState::Running)
        {
            let trainer = self.trainer_of(&job);
            let deadline = job.deadline.unwrap_or_else(|| self.context.clock.now());
            let attempt = job.attempts.max(1);
            let backend = match job.backend.as_deref() {
                Some("command") => "command",
                Some("http") => "http",
                _ => "external",
            };
            let id = job.id.clone();
            self.running.insert(
                id.clone(),
                Running {
                    job,
                    attempt,
                    trainer,
                    deadline,
                    kill: None,
                    backend,
                    cancelled: None,
                },
            );
            if backend == "command" {
                let ended = Ended {
                    id,
                    attempt,
                    outcome: AttemptOutcome::Interrupted,
                    version: None,
                    result: None,
                    error: Some(
                        "interrupted: the service stopped while the command ran".to_string(),
                    ),
                };
                self.attempt_ended(ended).await?;
            }
        }
        Ok(())
    }

    async fn open_jobs(&self) -> Result<Vec<Job>, Stopped> {
        loop {
            match self.context.read(|store| store.open_jobs()).await {
                Ok(jobs) => return Ok(jobs),
                Err(_) => self.context.sleep(Duration::from_secs(1)).await?,
            }
        }
    }

    fn trainer_of(&self, job: &Job) -> Option<Trainer> {
        let effects = &self.context.config.effects;
        match job.kind {
            JobKind::Retrain => effects.trainer_for(&job.model).cloned(),
            JobKind::Rollback => effects.rollback_for(&job.model).cloned(),
        }
    }

    /// Starts what may start, times out what ran too long; returns how long to sleep at most.
    async fn schedule(&mut self) -> Result<Duration, Stopped> {
        let now = self.context.clock.now();
        // Deadlines of attempts that wait on the outside world (commands time out themselves).
        let overdue: Vec<(String, u32)> = self
            .running
            .values()
            .filter(|running| running.backend != "command" && running.deadline <= now)
            .map(|running| (running.job.id.clone(), running.attempt))
            .collect();
        for (id, attempt) in overdue {
            let ended = Ended {
                id,
                attempt,
                outcome: AttemptOutcome::TimedOut,
                version: None,
                result: None,
                error: Some("no completion came before the job's time limit".to_string()),
            };
            self.attempt_ended(ended).await?;
        }
        let limit = self.context.config.effects.jobs.max_concurrent.max(1);
        let mut wake = Duration::from_secs(60);
        if self.running.len() < limit {
            let open = self.open_jobs().await?;
            for job in open {
                if self.running.len() >= limit {
                    break;
                }
                if job.state != JobState::Queued || self.running.contains_key(&job.id) {
                    continue;
                }
                if let Some(next) = job.next_attempt_at
                    && next > now
                {
                    wake = wake.min(until(now, next));
                    continue;
                }
                self.start_attempt(job).await?;
            }
        }
        for running in self.running.values() {
            if running.backend != "command" {
                wake = wake.min(until(now, running.deadline));
            }
        }
        Ok(wake.max(Duration::from_millis(1)))
    }

    async fn start_attempt(&mut self, job: Job) -> Result<(), Stopped> {
        let now = self.context.clock.now();
        let attempt = job.attempts.saturating_add(1);
        let trainer = self.trainer_of(&job);
        let backend = match (&trainer, job.kind) {
            (Some(trainer), _) => trainer.backend.clone(),
            (None, JobKind::Retrain) => Backend::External,
            (None, JobKind::Rollback) => {
                // Nothing can shift the traffic: the job fails, saying why.
                self.context
                    .submit(
                        Vec::new(),
                        vec![
                            EffectUpdate::JobStarted {
                                id: job.id.clone(),
                                attempt,
                                at: now,
                                backend: "none".to_string(),
                                deadline: None,
                            },
                            EffectUpdate::JobAttemptEnded {
                                id: job.id.clone(),
                                attempt,
                                at: now,
                                outcome: AttemptOutcome::Failed,
                                error: Some(format!(
                                    "no [[rollbacks]] entry matches model {}",
                                    job.model
                                )),
                                result: None,
                                retry_at: None,
                            },
                            EffectUpdate::JobEnded {
                                id: job.id.clone(),
                                at: now,
                                state: JobState::Failed,
                            },
                        ],
                    )
                    .await?;
                return Ok(());
            }
        };
        let timeout = trainer
            .as_ref()
            .map_or(modelwatch_engine::config::DEFAULT_JOB_TIMEOUT_SECS, |t| {
                t.timeout_secs
            });
        let deadline = now.plus_secs(timeout);
        self.context
            .submit(
                Vec::new(),
                vec![EffectUpdate::JobStarted {
                    id: job.id.clone(),
                    attempt,
                    at: now,
                    backend: backend.kind().to_string(),
                    deadline: Some(deadline),
                }],
            )
            .await?;
        let templated = job.clone();
        let fields = fields(&templated, attempt);
        let mut running = Running {
            job,
            attempt,
            trainer,
            deadline,
            kill: None,
            backend: backend.kind(),
            cancelled: None,
        };
        match backend {
            Backend::Command { argv, env, dir } => {
                let (kill, killed) = oneshot::channel();
                running.kill = Some(kill);
                let command = CommandSpec {
                    argv: argv
                        .iter()
                        .map(|arg| expand_template(arg, &fields, false))
                        .collect(),
                    env: env
                        .iter()
                        .map(|(name, value)| (name.clone(), expand_template(value, &fields, false)))
                        .collect(),
                    dir,
                    fields: field_env(&fields),
                    names_version: running.job.kind == JobKind::Retrain,
                    timeout: Duration::from_secs(timeout),
                };
                let ended = self.ended_sender.clone();
                let id = running.job.id.clone();
                tokio::spawn(async move {
                    let outcome = run_command(command, killed).await;
                    let _ = ended
                        .send(Ended {
                            id,
                            attempt,
                            outcome: outcome.outcome,
                            version: outcome.version,
                            result: outcome.result,
                            error: outcome.error,
                        })
                        .await;
                });
            }
            Backend::Http {
                url,
                body,
                headers,
                secret: _,
            } => {
                let index = self.trainer_index(&running);
                let secret = index.and_then(|key| self.context.secrets.get(&key).cloned());
                let mut request = self
                    .context
                    .client
                    .post(expand_template(&url, &fields, false))
                    .timeout(Duration::from_secs(30))
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(http::IDEMPOTENCY_HEADER, running.job.id.as_str())
                    .body(expand_template(&body, &fields, true));
                for (name, value) in &headers {
                    request = request.header(name, expand_template(value, &fields, false));
                }
                if let Some(secret) = secret {
                    request = request.bearer_auth(String::from_utf8_lossy(&secret));
                }
                let ended = self.ended_sender.clone();
                let id = running.job.id.clone();
                tokio::spawn(async move {
                    let result = request.send().await;
                    let conflict = matches!(&result, Ok(response) if response.status() == reqwest::StatusCode::CONFLICT);
                    match http::answer(result).await {
                        // Accepted: the job waits for its completion or its deadline.
                        Answer::Accepted => {}
                        _ if conflict => {}
                        Answer::Retry { error, .. } | Answer::Refused { error } => {
                            let _ = ended
                                .send(Ended {
                                    id,
                                    attempt,
                                    outcome: AttemptOutcome::Failed,
                                    version: None,
                                    result: None,
                                    error: Some(format!("the trainer's URL answered: {error}")),
                                })
                                .await;
                        }
                    }
                });
            }
            Backend::External => {}
        }
        self.running.insert(running.job.id.clone(), running);
        Ok(())
    }

    /// The key of the running job's backend secret.
    fn trainer_index(&self, running: &Running) -> Option<String> {
        let effects = &self.context.config.effects;
        let (kind, list) = match running.job.kind {
            JobKind::Retrain => ("trainer", &effects.trainers),
            JobKind::Rollback => ("rollback", &effects.rollbacks),
        };
        list.iter()
            .position(|trainer| trainer.model.matches(&running.job.model))
            .map(|index| format!("{kind}:{index}"))
    }

    async fn control(&mut self, request: Control) -> Result<(), Stopped> {
        match request {
            Control::Cancel { id, reply } => {
                if let Some(running) = self.running.get_mut(&id)
                    && let Some(kill) = running.kill.take()
                {
                    // The command's task kills the group and reports the end; the answer
                    // waits for that end to be committed.
                    let _ = kill.send(AttemptOutcome::Cancelled);
                    running.cancelled = Some(reply);
                    return Ok(());
                }
                let answer = self.cancel(&id).await;
                let _ = reply.send(answer);
            }
            Control::Complete { id, report, reply } => {
                let answer = self.complete(&id, report).await;
                let _ = reply.send(answer);
            }
        }
        Ok(())
    }

    async fn cancel(&mut self, id: &str) -> Result<(), CancelError> {
        if let Some(running) = self.running.get_mut(id) {
            let ended = Ended {
                id: id.to_string(),
                attempt: running.attempt,
                outcome: AttemptOutcome::Cancelled,
                version: None,
                result: None,
                error: Some("cancelled through the API".to_string()),
            };
            return self
                .attempt_ended(ended)
                .await
                .map_err(|_| CancelError::Stopping);
        }
        let lookup = id.to_string();
        let job = self
            .context
            .read(move |store| store.job(&lookup))
            .await
            .map_err(|_| CancelError::Stopping)?
            .ok_or_else(|| CancelError::Unknown(id.to_string()))?;
        if job.state.is_final() {
            return Err(CancelError::Over {
                id: id.to_string(),
                state: job.state.as_str(),
            });
        }
        self.finish(&job, None, JobState::Cancelled, None)
            .await
            .map_err(|_| CancelError::Stopping)
    }

    async fn complete(&mut self, id: &str, report: JobReport) -> Result<(), CompleteError> {
        let Some(running) = self.running.get(id) else {
            let lookup = id.to_string();
            let job = self
                .context
                .read(move |store| store.job(&lookup))
                .await
                .map_err(|_| CompleteError::Stopping)?
                .ok_or_else(|| CompleteError::Unknown(id.to_string()))?;
            return Err(CompleteError::NotWaiting {
                id: id.to_string(),
                state: job.state.as_str().to_string(),
            });
        };
        if running.backend == "command" {
            return Err(CompleteError::NotWaiting {
                id: id.to_string(),
                state: format!("running on the {} backend", running.backend),
            });
        }
        let outcome = match report.status {
            JobStatus::Succeeded => {
                if running.job.kind == JobKind::Retrain && report.version.is_none() {
                    return Err(CompleteError::Invalid(
                        "a succeeded retrain must name the version it produced".to_string(),
                    ));
                }
                AttemptOutcome::Succeeded
            }
            JobStatus::Failed => AttemptOutcome::Failed,
            JobStatus::TimedOut => AttemptOutcome::TimedOut,
            JobStatus::Cancelled => AttemptOutcome::Cancelled,
        };
        if let Some(version) = &report.version {
            check_version(version).map_err(CompleteError::Invalid)?;
        }
        let ended = Ended {
            id: id.to_string(),
            attempt: running.attempt,
            outcome,
            version: report.version,
            result: report.result,
            error: report.error,
        };
        self.attempt_ended(ended)
            .await
            .map_err(|_| CompleteError::Stopping)
    }

    /// An attempt ended: retry it later, or end the job.
    async fn attempt_ended(&mut self, ended: Ended) -> Result<(), Stopped> {
        let Some(mut running) = self.running.remove(&ended.id) else {
            return Ok(());
        };
        if running.attempt != ended.attempt {
            // A late report of an attempt already dealt with.
            self.running.insert(ended.id.clone(), running);
            return Ok(());
        }
        let cancelled = running.cancelled.take();
        let result = self.end_attempt(running, ended).await;
        if let Some(reply) = cancelled {
            let _ = reply.send(result.map_err(|_| CancelError::Stopping));
        }
        result
    }

    async fn end_attempt(&mut self, running: Running, ended: Ended) -> Result<(), Stopped> {
        let now = self.context.clock.now();
        let retryable = matches!(
            ended.outcome,
            AttemptOutcome::Failed | AttemptOutcome::TimedOut | AttemptOutcome::Interrupted
        );
        let (max_attempts, delay) = running.trainer.as_ref().map_or(
            (
                modelwatch_engine::config::DEFAULT_JOB_ATTEMPTS,
                modelwatch_engine::config::DEFAULT_JOB_RETRY_DELAY_SECS,
            ),
            |trainer| (trainer.max_attempts, trainer.retry_delay_secs),
        );
        let record = EffectUpdate::JobAttemptEnded {
            id: ended.id.clone(),
            attempt: ended.attempt,
            at: now,
            outcome: ended.outcome,
            error: ended.error.clone(),
            result: ended.result.clone(),
            retry_at: None,
        };
        if retryable && ended.attempt < max_attempts {
            let doublings = ended.attempt.saturating_sub(1).min(20);
            let wait = delay.saturating_mul(1u64 << doublings);
            let retry = EffectUpdate::JobAttemptEnded {
                id: ended.id.clone(),
                attempt: ended.attempt,
                at: now,
                outcome: ended.outcome,
                error: ended.error,
                result: ended.result,
                retry_at: Some(now.plus_secs(wait)),
            };
            return self.context.submit(Vec::new(), vec![retry]).await;
        }
        let state = match ended.outcome {
            AttemptOutcome::Succeeded => JobState::Succeeded,
            AttemptOutcome::TimedOut => JobState::TimedOut,
            AttemptOutcome::Cancelled => JobState::Cancelled,
            AttemptOutcome::Failed | AttemptOutcome::Interrupted => JobState::Failed,
        };
        self.finish(&running.job, Some(record), state, ended.version)
            .await
    }

    /// Ends a job: a retrain through its job-finished input, a rollback directly; with the
    /// last attempt's record in the same commit.
    async fn finish(
        &mut self,
        job: &Job,
        record: Option<EffectUpdate>,
        state: JobState,
        version: Option<String>,
    ) -> Result<(), Stopped> {
        self.running.remove(&job.id);
        let now = self.context.clock.now();
        let mut effects: Vec<EffectUpdate> = record.into_iter().collect();
        let mut inputs = Vec::new();
        match job.kind {
            JobKind::Retrain => {
                let status = match state {
                    JobState::Succeeded => JobStatus::Succeeded,
                    JobState::TimedOut => JobStatus::TimedOut,
                    JobState::Cancelled => JobStatus::Cancelled,
                    _ => JobStatus::Failed,
                };
                inputs.push(Input::JobFinished(JobFinished {
                    model: job.model.clone(),
                    job_id: Some(job.id.clone()),
                    status,
                    version: if status == JobStatus::Succeeded {
                        version
                    } else {
                        None
                    },
                    timestamp: Some(now),
                }));
            }
            JobKind::Rollback => effects.push(EffectUpdate::JobEnded {
                id: job.id.clone(),
                at: now,
                state,
            }),
        }
        self.context.submit(inputs, effects).await
    }
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

/// A command to run for an attempt.
#[derive(Debug)]
struct CommandSpec {
    argv: Vec<String>,
    env: Vec<(String, String)>,
    dir: Option<std::path::PathBuf>,
    fields: Vec<(String, String)>,
    timeout: Duration,
    /// A trainer's last stdout line must name the new version; a rollback only has to exit 0.
    names_version: bool,
}

/// How a command attempt went.
#[derive(Debug)]
struct CommandOutcome {
    outcome: AttemptOutcome,
    version: Option<String>,
    result: Option<String>,
    error: Option<String>,
}

impl CommandOutcome {
    fn failed(outcome: AttemptOutcome, error: String) -> CommandOutcome {
        CommandOutcome {
            outcome,
            version: None,
            result: None,
            error: Some(error),
        }
    }
}

/// Runs a command in a process group of its own until it exits, times out or is killed.
async fn run_command(
    spec: CommandSpec,
    killed: oneshot::Receiver<AttemptOutcome>,
) -> CommandOutcome {
    let Some((program, args)) = spec.argv.split_first() else {
        return CommandOutcome::failed(AttemptOutcome::Failed, "the command is empty".to_string());
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for (name, value) in &spec.fields {
        command.env(name, value);
    }
    for (name, value) in &spec.env {
        command.env(name, value);
    }
    if let Some(dir) = &spec.dir {
        command.current_dir(dir);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            return CommandOutcome::failed(
                AttemptOutcome::Failed,
                format!("cannot start {program}: {error}"),
            );
        }
    };
    let group = child.id().and_then(|pid| i32::try_from(pid).ok());
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let last_line = tokio::spawn(async move {
        let mut last = String::new();
        if let Some(stdout) = stdout {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if !line.trim().is_empty() {
                    last = line;
                }
            }
        }
        last
    });
    let stderr_tail = tokio::spawn(async move {
        let mut text = Vec::new();
        if let Some(mut stderr) = stderr {
            let mut buffer = [0u8; 4096];
            while let Ok(read) = stderr.read(&mut buffer).await {
                if read == 0 {
                    break;
                }
                text.extend_from_slice(&buffer[..read]);
                if text.len() > STDERR_TAIL * 2 {
                    text.drain(..text.len() - STDERR_TAIL);
                }
            }
        }
        let start = text.len().saturating_sub(STDERR_TAIL);
        String::from_utf8_lossy(&text[start..]).trim().to_string()
    });
    let stop = tokio::select! {
        status = child.wait() => Ok(status),
        () = tokio::time::sleep_until(tokio::time::Instant::now() + spec.timeout) => Err(AttemptOutcome::TimedOut),
        outcome = killed => Err(outcome.unwrap_or(AttemptOutcome::Cancelled)),
    };
    let status = match stop {
        Ok(status) => status,
        Err(outcome) => {
            kill_group(group);
            let _ = child.wait().await;
            let error = match outcome {
                AttemptOutcome::TimedOut => format!(
                    "timed out after {} s; the process group was killed",
                    spec.timeout.as_secs()
                ),
                _ => "cancelled through the API; the process group was killed".to_string(),
            };
            return CommandOutcome::failed(outcome, error);
        }
    };
    // The group may have left children holding the pipes: they go too.
    kill_group(group);
    let last = last_line.await.unwrap_or_default();
    let stderr = stderr_tail.await.unwrap_or_default();
    let status = match status {
        Ok(status) => status,
        Err(error) => {
            return CommandOutcome::failed(
                AttemptOutcome::Failed,
                format!("waiting for {program}: {error}"),
            );
        }
    };
    if !status.success() {
        let error = if stderr.is_empty() {
            format!("{program} exited with {status}")
        } else {
            format!("{program} exited with {status}: {stderr}")
        };
        return CommandOutcome::failed(AttemptOutcome::Failed, error);
    }
    if !spec.names_version {
        return CommandOutcome {
            outcome: AttemptOutcome::Succeeded,
            version: None,
            result: None,
            error: None,
        };
    }
    match parse_result(&last) {
        Ok((version, result)) => CommandOutcome {
            outcome: AttemptOutcome::Succeeded,
            version: Some(version),
            result,
            error: None,
        },
        Err(error) => CommandOutcome::failed(AttemptOutcome::Failed, error),
    }
}

fn kill_group(group: Option<i32>) {
    if let Some(group) = group {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(group),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// The version (and the JSON besides it) from a trainer's last stdout line: a JSON object
/// with a string `version`, or the version alone.
fn parse_result(line: &str) -> Result<(String, Option<String>), String> {
    let line = line.trim();
    if line.is_empty() {
        return Err(
            "the trainer printed nothing; its last stdout line must name the new version"
                .to_string(),
        );
    }
    if line.starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(line)
            .map_err(|error| format!("the trainer's last line is not valid JSON: {error}"))?;
        let version = value["version"]
            .as_str()
            .ok_or_else(|| "the trainer's JSON has no string \"version\"".to_string())?;
        check_version(version)?;
        return Ok((version.to_string(), Some(line.to_string())));
    }
    check_version(line)?;
    Ok((line.to_string(), None))
}

/// A produced version must be one that events can name.
fn check_version(version: &str) -> Result<(), String> {
    check_identifier(version).map_err(|problem| format!("the version {problem}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trainers_last_line_names_the_version() {
        assert_eq!(parse_result("1.5.0\n"), Ok(("1.5.0".to_string(), None)));
        let (version, result) = parse_result(r#"{"version": "2", "accuracy": 0.97}"#).unwrap();
        assert_eq!(version, "2");
        assert_eq!(
            result.as_deref(),
            Some(r#"{"version": "2", "accuracy": 0.97}"#)
        );
        assert!(parse_result("").unwrap_err().contains("printed nothing"));
        assert!(
            parse_result(r#"{"accuracy": 1}"#)
                .unwrap_err()
                .contains("no string")
        );
        assert!(
            parse_result("{oops")
                .unwrap_err()
                .contains("not valid JSON")
        );
    }
}
