//! [`PgEffects`]: the writes of a commit's effects ([`EffectWrites`]) on PostgreSQL, in the
//! commit's transaction: deliveries and jobs (rows carry the commit's partition), their
//! attempts, and the registry's changes (`registry.rs`). The same rows as SQLite's
//! (`crate::outbox::{deliveries, jobs}`); a row another node wrote first is left as it is.

use modelwatch_engine::{CanaryVerdict, JobNotice, Output, RetrainDecision, Timestamp};
use postgres::Transaction;

use super::registry::{self, AuditRow};
use crate::outbox::{
    CANARY, DeliveryResult, DeliveryState, EffectUpdate, EffectWrites, RUNNER, delivery_id,
    job_ended_detail, rollback_job_id, rollback_queued_detail,
};
use crate::registry::{VersionSource, VersionStatus};

/// A PostgreSQL commit's transaction, as `crate::outbox::write_effects` writes through it.
pub(super) struct PgEffects<'a, 'tx> {
    pub(super) tx: &'a mut Transaction<'tx>,
    /// The partition the commit writes.
    pub(super) partition: i32,
}

/// A sequence number or count as PostgreSQL's `bigint`. The commit wrote the batch's inputs
/// first and refused any whose number does not fit, so this never saturates.
fn bigint(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl EffectWrites for PgEffects<'_, '_> {
    type Error = postgres::Error;

    fn register(
        &mut self,
        model: &str,
        version: &str,
        source: (VersionSource, Option<&str>),
        at: Timestamp,
        actor: &str,
    ) -> Result<(), postgres::Error> {
        registry::register(self.tx, model, version, source, at, actor)
    }

    fn insert_delivery(
        &mut self,
        notifier: &str,
        output: &Output,
        json: &str,
        created_at: Timestamp,
    ) -> Result<(), postgres::Error> {
        self.tx.execute(
            "INSERT INTO deliveries (id, notifier, output_id, partition, seq, created_at, state,
                                     output)
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)
             ON CONFLICT (id) DO NOTHING",
            &[
                &delivery_id(output.id(), notifier),
                &notifier,
                &output.id(),
                &self.partition,
                &bigint(output.seq()),
                &created_at.as_nanos(),
                &json,
            ],
        )?;
        Ok(())
    }

    fn asking_model(
        &mut self,
        alert_id: Option<&str>,
        model: &str,
    ) -> Result<(Option<String>, Option<String>), postgres::Error> {
        if let Some(alert_id) = alert_id {
            let found = self.tx.query_opt(
                "SELECT version, instance FROM alerts WHERE alert_id = $1
                 ORDER BY pos DESC LIMIT 1",
                &[&alert_id],
            )?;
            if let Some(row) = found {
                return Ok((Some(row.try_get(0)?), Some(row.try_get(1)?)));
            }
        }
        let production = self
            .tx
            .query_opt(
                "SELECT version FROM model_versions WHERE model = $1 AND status = $2
                 ORDER BY updated_at DESC LIMIT 1",
                &[&model, &VersionStatus::Production.as_str()],
            )?
            .map(|row| row.try_get(0))
            .transpose()?;
        Ok((production, None))
    }

    fn queue_retrain(
        &mut self,
        job_id: &str,
        decision: &RetrainDecision,
        (version, instance): (Option<String>, Option<String>),
        created_at: Timestamp,
        actor: &str,
    ) -> Result<(), postgres::Error> {
        self.tx.execute(
            "INSERT INTO jobs (id, partition, kind, model, version, instance, reason, cause,
                               state, created_at)
             VALUES ($1, $2, 'retrain', $3, $4, $5, $6, $7, 'queued', $8)
             ON CONFLICT (id) DO NOTHING",
            &[
                &job_id,
                &self.partition,
                &decision.model,
                &version,
                &instance,
                &decision.reason.as_str(),
                &decision.id,
                &created_at.as_nanos(),
            ],
        )?;
        let about = AuditRow::about(&decision.model, version.as_deref(), Some(job_id));
        registry::audit(
            self.tx,
            created_at,
            actor,
            "job_queued",
            about,
            &decision.message,
        )
    }

    fn end_retrain(
        &mut self,
        job_id: &str,
        notice: &JobNotice,
        created_at: Timestamp,
        actor: &str,
    ) -> Result<(), postgres::Error> {
        let state = crate::JobState::ended(notice.status);
        let ended = self.tx.execute(
            "UPDATE jobs SET state = $2, finished_at = $3,
                             result_version = coalesce($4, result_version),
                             next_attempt_at = NULL, deadline = NULL
             WHERE id = $1 AND state IN ('queued', 'running')",
            &[
                &job_id,
                &state.as_str(),
                &created_at.as_nanos(),
                &notice.version,
            ],
        )?;
        if ended > 0 {
            let about = AuditRow::about(&notice.model, notice.version.as_deref(), Some(job_id));
            registry::audit(
                self.tx,
                created_at,
                actor,
                "job_ended",
                about,
                &notice.message,
            )?;
        }
        Ok(())
    }

    fn status_of(
        &mut self,
        model: &str,
        version: &str,
    ) -> Result<Option<VersionStatus>, postgres::Error> {
        registry::status_of(self.tx, model, version)
    }

    fn queue_rollback(
        &mut self,
        verdict: &CanaryVerdict,
        created_at: Timestamp,
    ) -> Result<(), postgres::Error> {
        let model = &verdict.model;
        let id = rollback_job_id(&verdict.id);
        let queued = self.tx.execute(
            "INSERT INTO jobs (id, partition, kind, model, version, instance, reason, cause,
                               state, created_at)
             VALUES ($1, $2, 'rollback', $3, $4, $5, 'canary_failed', $6, 'queued', $7)
             ON CONFLICT (id) DO NOTHING",
            &[
                &id,
                &self.partition,
                &model.name,
                &model.version,
                &model.instance,
                &verdict.id,
                &created_at.as_nanos(),
            ],
        )?;
        if queued > 0 {
            let detail = rollback_queued_detail(verdict);
            let about = AuditRow::about(&model.name, Some(&model.version), Some(&id));
            registry::audit(self.tx, created_at, CANARY, "job_queued", about, &detail)?;
        }
        Ok(())
    }

    fn set_status(
        &mut self,
        model: &str,
        version: &str,
        status: VersionStatus,
        at: Timestamp,
        actor: &str,
        detail: &str,
    ) -> Result<(), postgres::Error> {
        registry::set_status(self.tx, model, version, status, at, actor, detail)
    }

    fn restore_previous(
        &mut self,
        model: &str,
        at: Timestamp,
        actor: &str,
    ) -> Result<(), postgres::Error> {
        registry::restore_previous(self.tx, model, at, actor)
    }

    fn record_sending(&mut self, id: &str) -> Result<(), postgres::Error> {
        self.tx.execute(
            "UPDATE deliveries SET in_doubt = in_doubt + (CASE WHEN sending THEN 1 ELSE 0 END),
                    sending = TRUE
             WHERE id = $1 AND state = 'pending'",
            &[&id],
        )?;
        Ok(())
    }

    fn record_attempt(
        &mut self,
        id: &str,
        at: Timestamp,
        result: &DeliveryResult,
    ) -> Result<(), postgres::Error> {
        let (state, error, attempted): (_, _, i64) = match result {
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
        self.tx.execute(
            "UPDATE deliveries SET attempts = attempts + $6, last_attempt_at = $2,
                    state = $3, last_error = coalesce($4, last_error), done_at = $5,
                    sending = FALSE
             WHERE id = $1 AND state = 'pending'",
            &[
                &id,
                &at.as_nanos(),
                &state.as_str(),
                &error,
                &done_at,
                &attempted,
            ],
        )?;
        Ok(())
    }

    fn apply_job_update(
        &mut self,
        update: &EffectUpdate,
        actor: Option<&str>,
    ) -> Result<(), postgres::Error> {
        match update {
            EffectUpdate::Delivery { .. } | EffectUpdate::DeliverySending { .. } => Ok(()),
            EffectUpdate::JobStarted {
                id,
                attempt,
                at,
                backend,
                deadline,
            } => self.start_job(id, i64::from(*attempt), *at, backend, *deadline),
            EffectUpdate::JobAttemptEnded {
                id,
                attempt,
                at,
                outcome,
                error,
                result,
                retry_at,
            } => {
                self.tx.execute(
                    "UPDATE job_attempts SET finished_at = $3, outcome = $4, error = $5
                     WHERE job = $1 AND attempt = $2",
                    &[
                        id,
                        &i64::from(*attempt),
                        &at.as_nanos(),
                        &outcome.as_str(),
                        error,
                    ],
                )?;
                self.tx.execute(
                    "UPDATE jobs SET error = coalesce($2, error), result = coalesce($3, result)
                     WHERE id = $1",
                    &[id, error, result],
                )?;
                if let Some(retry_at) = retry_at {
                    self.tx.execute(
                        "UPDATE jobs SET state = 'queued', next_attempt_at = $2, deadline = NULL
                         WHERE id = $1 AND state = 'running'",
                        &[id, &retry_at.as_nanos()],
                    )?;
                }
                Ok(())
            }
            EffectUpdate::JobEnded { id, at, state } => {
                let ended = self.tx.query_opt(
                    "UPDATE jobs SET state = $2, finished_at = $3, next_attempt_at = NULL,
                            deadline = NULL
                     WHERE id = $1 AND state IN ('queued', 'running')
                     RETURNING model, version, kind",
                    &[id, &state.as_str(), &at.as_nanos()],
                )?;
                if let Some(row) = ended {
                    let model: String = row.try_get(0)?;
                    let version: Option<String> = row.try_get(1)?;
                    let kind: String = row.try_get(2)?;
                    let actor = actor.unwrap_or(RUNNER);
                    let detail = job_ended_detail(&kind, id, &model, *state, actor);
                    let about = AuditRow::about(&model, version.as_deref(), Some(id));
                    registry::audit(self.tx, *at, actor, "job_ended", about, &detail)?;
                }
                Ok(())
            }
        }
    }
}

impl PgEffects<'_, '_> {
    /// A job's attempt started: the job runs it, and the attempt is recorded afresh.
    fn start_job(
        &mut self,
        id: &str,
        attempt: i64,
        at: Timestamp,
        backend: &str,
        deadline: Option<Timestamp>,
    ) -> Result<(), postgres::Error> {
        let started = self.tx.execute(
            "UPDATE jobs SET state = 'running', attempts = $2, started_at = $3,
                    backend = $4, deadline = $5, next_attempt_at = NULL
             WHERE id = $1 AND state IN ('queued', 'running')",
            &[
                &id,
                &attempt,
                &at.as_nanos(),
                &backend,
                &deadline.map(Timestamp::as_nanos),
            ],
        )?;
        if started > 0 {
            // As SQLite's `INSERT OR REPLACE`: a restarted attempt is a new row.
            self.tx.execute(
                "INSERT INTO job_attempts (job, attempt, started_at) VALUES ($1, $2, $3)
                 ON CONFLICT (job, attempt) DO UPDATE
                 SET started_at = EXCLUDED.started_at, finished_at = NULL, outcome = NULL,
                     error = NULL",
                &[&id, &attempt, &at.as_nanos()],
            )?;
        }
        Ok(())
    }
}
