//! Jobs: retrain jobs queued by granted decisions and ended by job notices, rollback jobs
//! queued by failed canary verdicts, the attempts the job runner reports, and their reads.

use modelwatch_engine::{
    CanaryVerdict, JobNotice, JobStatus, RetrainDecision, Timestamp, stable_id,
};
use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::{CANARY, EffectUpdate};
use crate::query::{Clauses, Listing, Page};
use crate::registry::{self, VersionStatus};
use crate::{SqliteStore, StoreError};

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
    /// The partition whose writer wrote it, and whose effects run it (0 on a single node).
    pub partition: u32,
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

/// The audit log's actor for the job runner, ending a job by itself (a rollback that
/// succeeded, failed or timed out).
pub(crate) const RUNNER: &str = "runner";

/// The audit detail of the rollback job a failed canary verdict queues.
pub(crate) fn rollback_queued_detail(verdict: &CanaryVerdict) -> String {
    let model = &verdict.model;
    format!(
        "rollback of version {} of {} queued: {}",
        model.version, model.name, verdict.message
    )
}

/// The audit detail of a job that a [`EffectUpdate::JobEnded`] ended, naming `actor` unless
/// it is the runner.
pub(crate) fn job_ended_detail(
    kind: &str,
    id: &str,
    model: &str,
    state: JobState,
    actor: &str,
) -> String {
    match actor {
        RUNNER => format!("{kind} job {id} of {model} ended {}", state.as_str()),
        _ => format!(
            "{kind} job {id} of {model} ended {} by {actor}",
            state.as_str()
        ),
    }
}

/// The id of the rollback job a failed canary verdict asks for.
pub fn rollback_job_id(verdict_id: &str) -> String {
    stable_id(&["rollback", verdict_id])
}

/// Queues the retrain job a granted decision asks for (once: a second commit of the same
/// decision writes nothing), about the version and instance of the alert that asked, with
/// its audit row.
pub(super) fn queue_retrain(
    tx: &Transaction<'_>,
    job_id: &str,
    decision: &RetrainDecision,
    (version, instance): (Option<String>, Option<String>),
    created_at: Timestamp,
    actor: &str,
) -> rusqlite::Result<()> {
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
        actor,
        "job_queued",
        &decision.model,
        version.as_deref(),
        Some(job_id),
        &decision.message,
    )
}

/// Ends the retrain job a job notice names, unless it is over already, with its audit row
/// naming `actor`.
pub(super) fn end_retrain(
    tx: &Transaction<'_>,
    job_id: &str,
    notice: &JobNotice,
    created_at: Timestamp,
    actor: &str,
) -> rusqlite::Result<()> {
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
            actor,
            "job_ended",
            &notice.model,
            notice.version.as_deref(),
            Some(job_id),
            &notice.message,
        )?;
    }
    Ok(())
}

/// Queues the rollback job a failed canary verdict asks for (once), with its audit row.
pub(super) fn queue_rollback(
    tx: &Transaction<'_>,
    verdict: &CanaryVerdict,
    created_at: Timestamp,
) -> rusqlite::Result<()> {
    let model = &verdict.model;
    let id = rollback_job_id(&verdict.id);
    let queued = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO jobs (id, kind, model, version, instance, reason, cause,
                                     state, created_at)
         VALUES (?1, 'rollback', ?2, ?3, ?4, 'canary_failed', ?5, 'queued', ?6)",
        )?
        .execute(params![
            id,
            model.name,
            model.version,
            model.instance,
            verdict.id,
            created_at.as_nanos()
        ])?;
    if queued > 0 {
        let detail = rollback_queued_detail(verdict);
        registry::audit(
            tx,
            created_at,
            CANARY,
            "job_queued",
            &model.name,
            Some(&model.version),
            Some(&id),
            &detail,
        )?;
    }
    Ok(())
}

/// The version and instance of the alert that asked for a retrain in an earlier commit, or
/// for a manual retrain the model's production version.
pub(super) fn asking_model(
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

/// Applies a job update the runner reported (a start, an attempt's end, the end of a job the
/// engine does not see); a delivery update is not one and changes nothing here.
pub(super) fn apply_update(
    tx: &Transaction<'_>,
    update: &EffectUpdate,
    actor: Option<&str>,
) -> rusqlite::Result<()> {
    match update {
        EffectUpdate::Delivery { .. } | EffectUpdate::DeliverySending { .. } => {}
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
            let ended: Option<(String, Option<String>, String)> = tx
                .prepare_cached(
                    "UPDATE jobs SET state = ?2, finished_at = ?3, next_attempt_at = NULL,
                            deadline = NULL
                     WHERE id = ?1 AND state IN ('queued', 'running')
                     RETURNING model, version, kind",
                )?
                .query_row(params![id, state.as_str(), at.as_nanos()], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })
                .optional()?;
            if let Some((model, version, kind)) = ended {
                let actor = actor.unwrap_or(RUNNER);
                let detail = job_ended_detail(&kind, id, &model, *state, actor);
                registry::audit(
                    tx,
                    *at,
                    actor,
                    "job_ended",
                    &model,
                    version.as_deref(),
                    Some(id),
                    &detail,
                )?;
            }
        }
    }
    Ok(())
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
        partition: 0,
    })
}

impl SqliteStore {
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
