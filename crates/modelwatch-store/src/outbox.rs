//! The outbox: notifications to deliver and jobs to run, written in the commit of the outputs
//! that cause them, and what the service did about them, written back as it happens.
//!
//! A commit turns its outputs into rows (see [`write_effects`]): an alert transition or canary
//! verdict with notifiers becomes one `deliveries` row per notifier, whose id (the
//! `Idempotency-Key` every attempt carries) derives from the output's id and the notifier's
//! name; a granted retrain becomes a `queued` job whose id is the decision's; a job notice
//! (the engine's record of a job-finished input) ends the job it names. The service's
//! notifiers and job runner then report attempts and outcomes as [`EffectUpdate`]s, which go
//! into the next group commit ([`crate::Batch::effects`]), so a crash never forgets an
//! attempt it acknowledged, and never loses a row: whatever was pending when it died is
//! pending when it restarts.

use std::collections::{HashMap, HashSet};

use modelwatch_engine::{CanaryVerdict, Decision, Input, JobStatus, Output, Timestamp, stable_id};
use rusqlite::{OptionalExtension, Row, Transaction, params};

use crate::query::{Clauses, Listing, Page};
use crate::registry::{self, VersionSource, VersionStatus};
use crate::store::Batch;
use crate::{Store, StoreError};

/// Where a notification stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Not yet accepted by its target; the notifier keeps trying.
    Pending,
    /// The target accepted it (a 2xx answer).
    Delivered,
    /// The target refused it for good, or kept failing for longer than the notifier retries.
    GivenUp,
    /// Nothing to send: the target takes no such transition (Alertmanager hears no pending
    /// or inactive alert).
    Skipped,
}

impl DeliveryState {
    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::GivenUp => "given_up",
            DeliveryState::Skipped => "skipped",
        }
    }

    /// Parses the stored spelling.
    pub fn from_name(name: &str) -> Option<DeliveryState> {
        [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::GivenUp,
            DeliveryState::Skipped,
        ]
        .into_iter()
        .find(|state| state.as_str() == name)
    }
}

/// One notification of one output to one notifier.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    /// Stream position: deliveries of one notifier go out in this order.
    pub pos: i64,
    /// The id, sent as `Idempotency-Key`: the same for every attempt.
    pub id: String,
    /// The notifier's name.
    pub notifier: String,
    /// The output it tells of.
    pub output_id: String,
    /// The sequence number of the input that caused the output.
    pub seq: u64,
    /// When the output was committed (wall time).
    pub created_at: Timestamp,
    /// Pending, delivered or given up.
    pub state: DeliveryState,
    /// Attempts so far.
    pub attempts: u32,
    /// When the latest attempt ended.
    pub last_attempt_at: Option<Timestamp>,
    /// Why the latest failed attempt failed.
    pub last_error: Option<String>,
    /// When it was delivered or given up.
    pub done_at: Option<Timestamp>,
    /// The output's JSON.
    pub output: String,
}

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Retrains a model; granted by the engine's retrain policy (single flight, cooldown).
    Retrain,
    /// Shifts traffic back from a failed canary.
    Rollback,
}

impl JobKind {
    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Retrain => "retrain",
            JobKind::Rollback => "rollback",
        }
    }

    /// Parses the stored spelling.
    pub fn from_name(name: &str) -> Option<JobKind> {
        [JobKind::Retrain, JobKind::Rollback]
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting for a turn (or for its next attempt, `next_attempt_at`).
    Queued,
    /// An attempt is under way.
    Running,
    /// It produced what it was for.
    Succeeded,
    /// Its last attempt failed.
    Failed,
    /// Its last attempt ran past the time limit.
    TimedOut,
    /// Somebody cancelled it.
    Cancelled,
}

impl JobState {
    /// Every state, in the order documented.
    pub const ALL: [JobState; 6] = [
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::TimedOut,
        JobState::Cancelled,
    ];

    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::TimedOut => "timed_out",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Parses the stored spelling.
    pub fn from_name(name: &str) -> Option<JobState> {
        JobState::ALL
            .into_iter()
            .find(|state| state.as_str() == name)
    }

    /// Whether the job is over.
    pub fn is_final(self) -> bool {
        !matches!(self, JobState::Queued | JobState::Running)
    }

    /// The state a job-finished status ends a job in.
    pub fn ended(status: JobStatus) -> JobState {
        match status {
            JobStatus::Succeeded => JobState::Succeeded,
            JobStatus::Failed => JobState::Failed,
            JobStatus::TimedOut => JobState::TimedOut,
            JobStatus::Cancelled => JobState::Cancelled,
        }
    }
}

/// One retrain or rollback job.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// Stream position.
    pub pos: i64,
    /// The id: a retrain's is its granted decision's id; a rollback's derives from its verdict.
    pub id: String,
    /// Retrain or rollback.
    pub kind: JobKind,
    /// The model (by name).
    pub model: String,
    /// The version it is about: the one whose alert asked, or the canary candidate.
    pub version: Option<String>,
    /// The instance whose alert asked, or the canary's.
    pub instance: Option<String>,
    /// Why: the decision's reason (`alert_firing`, `manual`, ...) or `canary_failed`.
    pub reason: String,
    /// The output that asked for it (the decision or verdict id).
    pub cause: String,
    /// Where it stands.
    pub state: JobState,
    /// The backend of its latest attempt (`command`, `http`, `external`).
    pub backend: Option<String>,
    /// Attempts started so far.
    pub attempts: u32,
    /// When it was created (wall time).
    pub created_at: Timestamp,
    /// When its latest attempt started.
    pub started_at: Option<Timestamp>,
    /// When its running attempt times out.
    pub deadline: Option<Timestamp>,
    /// When a queued job's next attempt may start.
    pub next_attempt_at: Option<Timestamp>,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
    /// The version it produced.
    pub result_version: Option<String>,
    /// What the trainer reported besides the version (JSON), if anything.
    pub result: Option<String>,
    /// Why the latest attempt failed.
    pub error: Option<String>,
}

/// How one attempt of a job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttemptOutcome {
    /// It produced the version (or, for a rollback, shifted traffic).
    Succeeded,
    /// It failed.
    Failed,
    /// It ran past the job's time limit and was stopped.
    TimedOut,
    /// The service stopped while it ran (a crash or kill).
    Interrupted,
    /// Somebody cancelled the job.
    Cancelled,
}

impl AttemptOutcome {
    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Succeeded => "succeeded",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::TimedOut => "timed_out",
            AttemptOutcome::Interrupted => "interrupted",
            AttemptOutcome::Cancelled => "cancelled",
        }
    }
}

/// One attempt of a job.
#[derive(Clone, Debug, PartialEq)]
pub struct JobAttempt {
    /// 1 for the first.
    pub attempt: u32,
    /// When it started.
    pub started_at: Timestamp,
    /// When it ended; `None` while it runs.
    pub finished_at: Option<Timestamp>,
    /// How it ended (`succeeded`, `failed`, `timed_out`, `interrupted`, `cancelled`).
    pub outcome: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// What the service did about an outbox row: written in the next group commit.
#[derive(Clone, Debug, PartialEq)]
pub enum EffectUpdate {
    /// An attempt to deliver a notification ended.
    Delivery {
        /// The delivery.
        id: String,
        /// When the attempt ended.
        at: Timestamp,
        /// How.
        result: DeliveryResult,
    },
    /// A job's attempt started: the job is `running`.
    JobStarted {
        /// The job.
        id: String,
        /// Its number, 1 for the first.
        attempt: u32,
        /// When it started.
        at: Timestamp,
        /// The backend that runs it.
        backend: String,
        /// When it times out.
        deadline: Option<Timestamp>,
    },
    /// A job's attempt ended. The job's own end comes from its job-finished input (retrain)
    /// or [`EffectUpdate::JobEnded`] (rollback); with `retry_at` the job is queued again.
    JobAttemptEnded {
        /// The job.
        id: String,
        /// The attempt's number.
        attempt: u32,
        /// When it ended.
        at: Timestamp,
        /// How.
        outcome: AttemptOutcome,
        /// Why it failed.
        error: Option<String>,
        /// What the trainer reported besides the version (JSON).
        result: Option<String>,
        /// When the next attempt may start, if there is one.
        retry_at: Option<Timestamp>,
    },
    /// A job that does not go through the engine (a rollback) ended.
    JobEnded {
        /// The job.
        id: String,
        /// When.
        at: Timestamp,
        /// Its final state.
        state: JobState,
    },
    /// An audit row for a change someone asked for by hand (a cancel, a manual retrain),
    /// written in the commit that makes the change.
    Audit {
        /// When.
        at: Timestamp,
        /// Who asked: a token's name, never its value.
        actor: String,
        /// What, such as `job_cancelled`.
        action: String,
        /// The model.
        model: String,
        /// The version, when the change is about one.
        version: Option<String>,
        /// The job, when the change is about one.
        job_id: Option<String>,
        /// One sentence for people.
        detail: String,
    },
}

/// How an attempt to deliver a notification ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryResult {
    /// The target accepted it.
    Delivered,
    /// There was nothing to send (see [`DeliveryState::Skipped`]).
    Skipped,
    /// The attempt failed.
    Failed {
        /// Why.
        error: String,
        /// Whether that is the end of it (refused for good, or retried long enough).
        give_up: bool,
    },
}

/// Which deliveries to list; `None` matches everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeliveryFilter {
    /// The notifier.
    pub notifier: Option<String>,
    /// The state.
    pub state: Option<DeliveryState>,
    /// The output told of.
    pub output_id: Option<String>,
}

/// Which jobs to list; `None` matches everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobFilter {
    /// The model.
    pub model: Option<String>,
    /// The state.
    pub state: Option<JobState>,
    /// The kind.
    pub kind: Option<JobKind>,
}

/// The id of the delivery of an output to a notifier.
pub fn delivery_id(output_id: &str, notifier: &str) -> String {
    stable_id(&["delivery", output_id, notifier])
}

/// The id of the rollback job a failed canary verdict asks for.
pub fn rollback_job_id(verdict_id: &str) -> String {
    stable_id(&["rollback", verdict_id])
}

/// What the registry learned from one commit, applied to [`Store`]'s memory once it commits.
#[derive(Debug, Default)]
pub(crate) struct Learned {
    pub(crate) versions: Vec<(String, String)>,
}

/// Writes the outbox and registry rows a committed batch causes, in its transaction.
pub(crate) fn write_effects(
    tx: &Transaction<'_>,
    batch: &Batch,
    outputs_json: &[String],
    known: &HashMap<String, HashSet<String>>,
    learned: &mut Learned,
) -> rusqlite::Result<()> {
    // Versions first seen in metrics.
    for record in &batch.records {
        let Input::Event(event) = &record.input else {
            continue;
        };
        let name = &event.model.name;
        let version = &event.model.version;
        let seen = known
            .get(name)
            .is_some_and(|versions| versions.contains(version))
            || learned
                .versions
                .iter()
                .any(|(model, known)| model == name && known == version);
        if seen {
            continue;
        }
        registry::register(
            tx,
            name,
            version,
            VersionSource::Metrics,
            None,
            record.received_at,
        )?;
        learned.versions.push((name.clone(), version.clone()));
    }
    // `Store::commit` checked that the records number on one by one and that every output
    // comes from one of them: an output's record is at its seq's offset from the first.
    let first_seq = batch.records.first().map_or(0, |record| record.seq);
    let received = |seq: u64| -> Timestamp {
        usize::try_from(seq.saturating_sub(first_seq))
            .ok()
            .and_then(|offset| batch.records.get(offset))
            .map_or(Timestamp::EPOCH, |record| record.received_at)
    };
    for (index, (output, json)) in batch.outputs.iter().zip(outputs_json).enumerate() {
        let created_at = received(output.seq());
        match output {
            Output::Alert(alert) => {
                for notifier in &alert.notify {
                    insert_delivery(tx, notifier, output, json, created_at)?;
                }
            }
            Output::Retrain(decision) if decision.decision == Decision::Granted => {
                let Some(job_id) = &decision.job_id else {
                    continue;
                };
                let asking = decision.alert_id.as_deref().and_then(|alert_id| {
                    batch.outputs[..index]
                        .iter()
                        .rev()
                        .find_map(|earlier| match earlier {
                            Output::Alert(alert) if alert.alert_id == alert_id => Some(alert),
                            _ => None,
                        })
                });
                let (version, instance) = match asking {
                    Some(alert) => (
                        Some(alert.model.version.clone()),
                        Some(alert.model.instance.clone()),
                    ),
                    None => asking_model(tx, decision.alert_id.as_deref(), &decision.model)?,
                };
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO jobs (id, kind, model, version, instance, reason, cause,
                                                 state, created_at)
                     VALUES (?1, 'retrain', ?2, ?3, ?4, ?5, ?6, 'queued', ?7)",
                )?
                .execute(params![
                    job_id,
                    decision.model,
                    version,
                    instance,
                    decision.reason.as_str(),
                    decision.id,
                    created_at.as_nanos(),
                ])?;
                registry::audit(
                    tx,
                    created_at,
                    "engine",
                    "job_queued",
                    &decision.model,
                    version.as_deref(),
                    Some(job_id),
                    &decision.message,
                )?;
            }
            Output::Retrain(_) => {}
            Output::Canary(verdict) => {
                for notifier in &verdict.notify {
                    insert_delivery(tx, notifier, output, json, created_at)?;
                }
                write_canary(tx, verdict, created_at)?;
            }
            Output::JobFinished(notice) => {
                let Some(job_id) = &notice.job_id else {
                    continue;
                };
                let state = JobState::ended(notice.status);
                let ended = tx
                    .prepare_cached(
                        "UPDATE jobs SET state = ?2, finished_at = ?3,
                                         result_version = coalesce(?4, result_version),
                                         next_attempt_at = NULL, deadline = NULL
                         WHERE id = ?1 AND state IN ('queued', 'running')",
                    )?
                    .execute(params![
                        job_id,
                        state.as_str(),
                        created_at.as_nanos(),
                        notice.version
                    ])?;
                if ended > 0 {
                    registry::audit(
                        tx,
                        created_at,
                        "engine",
                        "job_ended",
                        &notice.model,
                        notice.version.as_deref(),
                        Some(job_id),
                        &notice.message,
                    )?;
                }
                if let (JobStatus::Succeeded, Some(version)) = (notice.status, &notice.version) {
                    registry::register(
                        tx,
                        &notice.model,
                        version,
                        VersionSource::Job,
                        Some(job_id),
                        created_at,
                    )?;
                    learned
                        .versions
                        .push((notice.model.clone(), version.clone()));
                }
            }
        }
    }
    for update in &batch.effects {
        apply_update(tx, update)?;
    }
    Ok(())
}

/// What a canary verdict changes: a failed candidate with the `rollback` action is rolled back
/// in the registry and gets a rollback job; a passed one with `promote` becomes production.
fn write_canary(
    tx: &Transaction<'_>,
    verdict: &CanaryVerdict,
    created_at: Timestamp,
) -> rusqlite::Result<()> {
    let model = &verdict.model;
    let known = registry::status_of(tx, &model.name, &model.version)?;
    if verdict.actions.contains(&"rollback") {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO jobs (id, kind, model, version, instance, reason, cause,
                                         state, created_at)
             VALUES (?1, 'rollback', ?2, ?3, ?4, 'canary_failed', ?5, 'queued', ?6)",
        )?
        .execute(params![
            rollback_job_id(&verdict.id),
            model.name,
            model.version,
            model.instance,
            verdict.id,
            created_at.as_nanos()
        ])?;
        // As the API's rollback: from candidate or production, and a production version
        // rolled back gives way to the one it replaced.
        if let Some(status @ (VersionStatus::Candidate | VersionStatus::Production)) = known {
            registry::set_status(
                tx,
                &model.name,
                &model.version,
                VersionStatus::RolledBack,
                created_at,
                "canary",
                &verdict.message,
            )?;
            if status == VersionStatus::Production {
                registry::restore_previous(tx, &model.name, created_at, "canary")?;
            }
        }
    }
    if verdict.actions.contains(&"promote")
        && known.is_some_and(|status| status != VersionStatus::Production)
    {
        registry::set_status(
            tx,
            &model.name,
            &model.version,
            VersionStatus::Production,
            created_at,
            "canary",
            &verdict.message,
        )?;
    }
    Ok(())
}

fn insert_delivery(
    tx: &Transaction<'_>,
    notifier: &str,
    output: &Output,
    json: &str,
    created_at: Timestamp,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO deliveries (id, notifier, output_id, seq, created_at, state, output)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6)",
    )?
    .execute(params![
        delivery_id(output.id(), notifier),
        notifier,
        output.id(),
        output.seq(),
        created_at.as_nanos(),
        json
    ])?;
    Ok(())
}

/// The version and instance of the alert that asked for a retrain in an earlier commit, or
/// for a manual retrain the model's production version.
fn asking_model(
    tx: &Transaction<'_>,
    alert_id: Option<&str>,
    model: &str,
) -> rusqlite::Result<(Option<String>, Option<String>)> {
    if let Some(alert_id) = alert_id {
        let found = tx
            .prepare_cached(
                "SELECT version, instance FROM alerts WHERE alert_id = ?1 ORDER BY pos DESC LIMIT 1",
            )?
            .query_row([alert_id], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        if let Some((version, instance)) = found {
            return Ok((Some(version), Some(instance)));
        }
    }
    let production = tx
        .prepare_cached(
            "SELECT version FROM model_versions WHERE model = ?1 AND status = ?2
             ORDER BY updated_at DESC LIMIT 1",
        )?
        .query_row(params![model, VersionStatus::Production.as_str()], |row| {
            row.get(0)
        })
        .optional()?;
    Ok((production, None))
}

fn apply_update(tx: &Transaction<'_>, update: &EffectUpdate) -> rusqlite::Result<()> {
    match update {
        EffectUpdate::Delivery { id, at, result } => {
            let (state, error, attempted) = match result {
                DeliveryResult::Delivered => (DeliveryState::Delivered, None, 1),
                DeliveryResult::Skipped => (DeliveryState::Skipped, None, 0),
                DeliveryResult::Failed {
                    error,
                    give_up: true,
                } => (DeliveryState::GivenUp, Some(error.as_str()), 1),
                DeliveryResult::Failed {
                    error,
                    give_up: false,
                } => (DeliveryState::Pending, Some(error.as_str()), 1),
            };
            let done_at = (state != DeliveryState::Pending).then_some(at.as_nanos());
            tx.prepare_cached(
                "UPDATE deliveries SET attempts = attempts + ?6, last_attempt_at = ?2,
                        state = ?3, last_error = coalesce(?4, last_error), done_at = ?5
                 WHERE id = ?1 AND state = 'pending'",
            )?
            .execute(params![
                id,
                at.as_nanos(),
                state.as_str(),
                error,
                done_at,
                attempted
            ])?;
        }
        EffectUpdate::JobStarted {
            id,
            attempt,
            at,
            backend,
            deadline,
        } => {
            let started = tx
                .prepare_cached(
                    "UPDATE jobs SET state = 'running', attempts = ?2, started_at = ?3,
                            backend = ?4, deadline = ?5, next_attempt_at = NULL
                     WHERE id = ?1 AND state IN ('queued', 'running')",
                )?
                .execute(params![
                    id,
                    attempt,
                    at.as_nanos(),
                    backend,
                    deadline.map(Timestamp::as_nanos)
                ])?;
            if started > 0 {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO job_attempts (job, attempt, started_at)
                     VALUES (?1, ?2, ?3)",
                )?
                .execute(params![id, attempt, at.as_nanos()])?;
            }
        }
        EffectUpdate::JobAttemptEnded {
            id,
            attempt,
            at,
            outcome,
            error,
            result,
            retry_at,
        } => {
            tx.prepare_cached(
                "UPDATE job_attempts SET finished_at = ?3, outcome = ?4, error = ?5
                 WHERE job = ?1 AND attempt = ?2",
            )?
            .execute(params![id, attempt, at.as_nanos(), outcome.as_str(), error])?;
            tx.prepare_cached(
                "UPDATE jobs SET error = coalesce(?2, error), result = coalesce(?3, result)
                 WHERE id = ?1",
            )?
            .execute(params![id, error, result])?;
            if let Some(retry_at) = retry_at {
                tx.prepare_cached(
                    "UPDATE jobs SET state = 'queued', next_attempt_at = ?2, deadline = NULL
                     WHERE id = ?1 AND state = 'running'",
                )?
                .execute(params![id, retry_at.as_nanos()])?;
            }
        }
        EffectUpdate::JobEnded { id, at, state } => {
            tx.prepare_cached(
                "UPDATE jobs SET state = ?2, finished_at = ?3, next_attempt_at = NULL,
                        deadline = NULL
                 WHERE id = ?1 AND state IN ('queued', 'running')",
            )?
            .execute(params![id, state.as_str(), at.as_nanos()])?;
        }
        EffectUpdate::Audit {
            at,
            actor,
            action,
            model,
            version,
            job_id,
            detail,
        } => registry::audit(
            tx,
            *at,
            actor,
            action,
            model,
            version.as_deref(),
            job_id.as_deref(),
            detail,
        )?,
    }
    Ok(())
}

const DELIVERY_COLUMNS: &str = "pos, id, notifier, output_id, seq, created_at, state, attempts,
     last_attempt_at, last_error, done_at, output";

fn read_delivery(row: &Row<'_>) -> rusqlite::Result<Delivery> {
    let state: String = row.get(6)?;
    Ok(Delivery {
        pos: row.get(0)?,
        id: row.get(1)?,
        notifier: row.get(2)?,
        output_id: row.get(3)?,
        seq: row.get(4)?,
        created_at: Timestamp::from_nanos(row.get(5)?),
        state: DeliveryState::from_name(&state).unwrap_or(DeliveryState::Pending),
        attempts: row.get(7)?,
        last_attempt_at: row.get::<_, Option<i64>>(8)?.map(Timestamp::from_nanos),
        last_error: row.get(9)?,
        done_at: row.get::<_, Option<i64>>(10)?.map(Timestamp::from_nanos),
        output: row.get(11)?,
    })
}

const JOB_COLUMNS: &str = "pos, id, kind, model, version, instance, reason, cause, state, backend,
     attempts, created_at, started_at, deadline, next_attempt_at, finished_at, result_version,
     result, error";

fn read_job(row: &Row<'_>) -> rusqlite::Result<Job> {
    let kind: String = row.get(2)?;
    let state: String = row.get(8)?;
    let time = |index: usize| -> rusqlite::Result<Option<Timestamp>> {
        Ok(row.get::<_, Option<i64>>(index)?.map(Timestamp::from_nanos))
    };
    Ok(Job {
        pos: row.get(0)?,
        id: row.get(1)?,
        kind: JobKind::from_name(&kind).unwrap_or(JobKind::Retrain),
        model: row.get(3)?,
        version: row.get(4)?,
        instance: row.get(5)?,
        reason: row.get(6)?,
        cause: row.get(7)?,
        state: JobState::from_name(&state).unwrap_or(JobState::Failed),
        backend: row.get(9)?,
        attempts: row.get(10)?,
        created_at: Timestamp::from_nanos(row.get(11)?),
        started_at: time(12)?,
        deadline: time(13)?,
        next_attempt_at: time(14)?,
        finished_at: time(15)?,
        result_version: row.get(16)?,
        result: row.get(17)?,
        error: row.get(18)?,
    })
}

impl Store {
    /// The pending deliveries of a notifier after stream position `after`, oldest first.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn pending_deliveries(
        &self,
        notifier: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.rows(
            "reading pending deliveries",
            &format!(
                "SELECT {DELIVERY_COLUMNS} FROM deliveries
                 WHERE notifier = ?1 AND state = 'pending' AND pos > ?2
                 ORDER BY pos LIMIT ?3"
            ),
            params![notifier, after, i64::try_from(limit).unwrap_or(i64::MAX)],
            read_delivery,
        )
    }

    /// Deliveries matching `filter`, one page.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn deliveries(
        &self,
        filter: &DeliveryFilter,
        page: &Page,
    ) -> Result<Listing<Delivery>, StoreError> {
        let mut clauses = Clauses::default();
        clauses.equals("notifier", filter.notifier.as_deref());
        clauses.equals("state", filter.state.map(DeliveryState::as_str));
        clauses.equals("output_id", filter.output_id.as_deref());
        self.list(
            &format!("SELECT {DELIVERY_COLUMNS} FROM deliveries"),
            clauses,
            page,
            read_delivery,
            |delivery| delivery.pos,
        )
    }

    /// Jobs matching `filter`, one page.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn jobs(&self, filter: &JobFilter, page: &Page) -> Result<Listing<Job>, StoreError> {
        let mut clauses = Clauses::default();
        clauses.equals("model", filter.model.as_deref());
        clauses.equals("state", filter.state.map(JobState::as_str));
        clauses.equals("kind", filter.kind.map(JobKind::as_str));
        self.list(
            &format!("SELECT {JOB_COLUMNS} FROM jobs"),
            clauses,
            page,
            read_job,
            |job| job.pos,
        )
    }

    /// The job with this id.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn job(&self, id: &str) -> Result<Option<Job>, StoreError> {
        let action = "reading a job";
        self.connection
            .prepare_cached(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"))
            .and_then(|mut statement| statement.query_row([id], read_job).optional())
            .map_err(self.sqlite(action))
    }

    /// The attempts of a job, first first.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn job_attempts(&self, id: &str) -> Result<Vec<JobAttempt>, StoreError> {
        self.rows(
            "reading a job's attempts",
            "SELECT attempt, started_at, finished_at, outcome, error FROM job_attempts
             WHERE job = ?1 ORDER BY attempt",
            [id],
            |row| {
                Ok(JobAttempt {
                    attempt: row.get(0)?,
                    started_at: Timestamp::from_nanos(row.get(1)?),
                    finished_at: row.get::<_, Option<i64>>(2)?.map(Timestamp::from_nanos),
                    outcome: row.get(3)?,
                    error: row.get(4)?,
                })
            },
        )
    }

    /// Every job that is not over (queued or running), oldest first.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn open_jobs(&self) -> Result<Vec<Job>, StoreError> {
        self.rows(
            "reading the open jobs",
            &format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE state IN ('queued', 'running') ORDER BY pos"
            ),
            [],
            read_job,
        )
    }
}

#[cfg(test)]
mod tests;
