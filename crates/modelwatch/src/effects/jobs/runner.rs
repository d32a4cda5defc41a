//! The runner: the one task that owns the running attempts, starts queued jobs, enforces
//! deadlines, takes cancels and completions, and commits each step through the writer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use modelwatch_engine::config::{Backend, Trainer, expand_template};
use modelwatch_engine::{Input, JobFinished, JobStatus, Timestamp};
use modelwatch_store::{AttemptOutcome, EffectUpdate, Job, JobKind, JobState};
use tokio::sync::{mpsc, oneshot};

use super::command::{CommandSpec, run_command};
use super::{
    CancelError, Control, Ended, field_env, fields, http, log_attempt_ended, log_job_ended, until,
};
use crate::effects::{Context, Stopped};

mod control;

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
    /// Who ended it through the API (a cancel, a report): a token's name, which the audit
    /// row of its end names.
    ended_by: Option<String>,
}

pub(super) struct Runner {
    context: Arc<Context>,
    running: HashMap<String, Running>,
    ended_sender: mpsc::Sender<Ended>,
    ended: mpsc::Receiver<Ended>,
}

impl Runner {
    pub(super) fn new(context: Arc<Context>) -> Runner {
        let (ended_sender, ended) = mpsc::channel(64);
        Runner {
            context,
            running: HashMap::new(),
            ended_sender,
            ended,
        }
    }

    pub(super) async fn run(mut self, mut control: mpsc::Receiver<Control>) -> Result<(), Stopped> {
        self.adopt_or_interrupt().await?;
        let mut outbox = self.context.outbox.clone();
        let mut draining = self.context.draining.clone();
        loop {
            // Draining: what runs keeps running outside (the next owner waits for it again);
            // nothing new starts here.
            if *draining.borrow_and_update() {
                return Ok(());
            }
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
                _ = draining.changed() => {}
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
                    ended_by: None,
                },
            );
            if backend != "command" {
                tracing::info!(
                    job = %id,
                    attempt,
                    backend,
                    deadline = %deadline.to_rfc3339(),
                    "Waiting again for a job's attempt that the previous run started."
                );
            }
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
                Err(error) => {
                    tracing::warn!(error = %error, "Cannot read the open jobs; trying again in 1 s.");
                    self.context.sleep(Duration::from_secs(1)).await?;
                }
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
                if self.running.len() >= limit || *self.context.draining.borrow() {
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
                        None,
                    )
                    .await?;
                tracing::error!(
                    job = %job.id,
                    model = %job.model,
                    "A rollback job failed: no [[rollbacks]] entry matches its model."
                );
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
                None,
            )
            .await?;
        tracing::info!(
            job = %job.id,
            kind = job.kind.as_str(),
            model = %job.model,
            attempt,
            backend = backend.kind(),
            timeout_secs = timeout,
            "Started a job's attempt."
        );
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
            ended_by: None,
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
                let secret = self
                    .trainer_index(&running)
                    .and_then(|key| self.context.secrets.get(&key).cloned());
                let request = http::HttpRequest {
                    url: expand_template(&url, &fields, false),
                    body: expand_template(&body, &fields, true),
                    headers: headers
                        .iter()
                        .map(|(name, value)| (name.clone(), expand_template(value, &fields, false)))
                        .collect(),
                    secret,
                    job_id: running.job.id.clone(),
                    attempt,
                    outbound: self.context.config.effects.outbound.clone(),
                    role: match running.job.kind {
                        JobKind::Retrain => "trainer",
                        JobKind::Rollback => "rollback",
                    },
                };
                tokio::spawn(http::send(
                    self.context.transport.clone(),
                    request,
                    self.ended_sender.clone(),
                ));
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
            let retry_at = now.plus_secs(wait);
            let retry = EffectUpdate::JobAttemptEnded {
                id: ended.id.clone(),
                attempt: ended.attempt,
                at: now,
                outcome: ended.outcome,
                error: ended.error.clone(),
                result: ended.result.clone(),
                retry_at: Some(retry_at),
            };
            self.context.submit(Vec::new(), vec![retry], None).await?;
            log_attempt_ended(
                &ended.id,
                ended.attempt,
                ended.outcome,
                ended.error.as_deref(),
                None,
            );
            tracing::warn!(
                job = %ended.id,
                attempt = ended.attempt.saturating_add(1),
                max_attempts,
                retry_in_secs = wait,
                retry_at = %retry_at.to_rfc3339(),
                "A job is tried again."
            );
            return Ok(());
        }
        let state = match ended.outcome {
            AttemptOutcome::Succeeded => JobState::Succeeded,
            AttemptOutcome::TimedOut => JobState::TimedOut,
            AttemptOutcome::Cancelled => JobState::Cancelled,
            AttemptOutcome::Failed | AttemptOutcome::Interrupted => JobState::Failed,
        };
        let version = ended.version.clone();
        let actor = running.ended_by.clone();
        self.finish(&running.job, Some(record), state, version, actor)
            .await?;
        log_attempt_ended(
            &ended.id,
            ended.attempt,
            ended.outcome,
            ended.error.as_deref(),
            ended.version.as_deref(),
        );
        log_job_ended(&running.job, state);
        Ok(())
    }

    /// Ends a job: a retrain through its job-finished input, a rollback directly; with the
    /// last attempt's record in the same commit, asked for by `actor` when a request through
    /// the API ended it (the audit log names that token).
    async fn finish(
        &mut self,
        job: &Job,
        record: Option<EffectUpdate>,
        state: JobState,
        version: Option<String>,
        actor: Option<String>,
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
                let version = version.filter(|_| status == JobStatus::Succeeded);
                let notice = |status, version| {
                    JobFinished::new(
                        job.model.as_str(),
                        Some(job.id.clone()),
                        status,
                        version,
                        Some(now),
                    )
                };
                // Every version that gets here was checked (the trainer's line, the API's
                // report); should one not be, the job fails rather than store a notice the
                // store could not read back.
                match notice(status, version).or_else(|_| notice(JobStatus::Failed, None)) {
                    Ok(notice) => inputs.push(Input::JobFinished(notice)),
                    Err(_) => effects.push(EffectUpdate::JobEnded {
                        id: job.id.clone(),
                        at: now,
                        state: JobState::Failed,
                    }),
                }
            }
            JobKind::Rollback => effects.push(EffectUpdate::JobEnded {
                id: job.id.clone(),
                at: now,
                state,
            }),
        }
        self.context.submit(inputs, effects, actor).await
    }
}
