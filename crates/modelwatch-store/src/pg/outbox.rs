//! [`PgStore`] on PostgreSQL: the outbox's reads (deliveries and jobs, over every partition,
//! as SQLite's in `crate::outbox`), the job counts `/metrics` reads, and [`write_effects`],
//! which a commit calls to write the rows its outputs cause (`effects.rs` holds the writes).

use std::collections::{HashMap, HashSet};

use modelwatch_engine::Timestamp;
use postgres::{Row, Transaction};

use super::effects::PgEffects;
use super::query::Clauses;
use super::{PgStore, WriteScope};
use crate::outbox::{
    Delivery, DeliveryFilter, DeliveryState, Job, JobAttempt, JobFilter, JobKind, JobState, Learned,
};
use crate::query::{Listing, Page};
use crate::{Batch, StoreError};

/// The columns [`read_delivery`] reads, in its order.
const DELIVERY_COLUMNS: &str = "pos, id, notifier, output_id, seq, created_at, state, attempts,
     last_attempt_at, last_error, done_at, output";

fn read_delivery(row: &Row) -> Result<Delivery, postgres::Error> {
    let state: String = row.try_get(6)?;
    Ok(Delivery {
        pos: row.try_get(0)?,
        id: row.try_get(1)?,
        notifier: row.try_get(2)?,
        output_id: row.try_get(3)?,
        seq: u64::try_from(row.try_get::<_, i64>(4)?).unwrap_or(0),
        created_at: Timestamp::from_nanos(row.try_get(5)?),
        state: DeliveryState::from_name(&state).unwrap_or(DeliveryState::Pending),
        attempts: count(row, 7)?,
        last_attempt_at: time(row, 8)?,
        last_error: row.try_get(9)?,
        done_at: time(row, 10)?,
        output: row.try_get(11)?,
    })
}

/// The columns [`read_job`] reads, in its order.
const JOB_COLUMNS: &str = "pos, id, kind, model, version, instance, reason, cause, state, backend,
     attempts, created_at, started_at, deadline, next_attempt_at, finished_at, result_version,
     result, error, partition";

fn read_job(row: &Row) -> Result<Job, postgres::Error> {
    let kind: String = row.try_get(2)?;
    let state: String = row.try_get(8)?;
    Ok(Job {
        pos: row.try_get(0)?,
        id: row.try_get(1)?,
        kind: JobKind::from_name(&kind).unwrap_or(JobKind::Retrain),
        model: row.try_get(3)?,
        version: row.try_get(4)?,
        instance: row.try_get(5)?,
        reason: row.try_get(6)?,
        cause: row.try_get(7)?,
        state: JobState::from_name(&state).unwrap_or(JobState::Failed),
        backend: row.try_get(9)?,
        attempts: count(row, 10)?,
        created_at: Timestamp::from_nanos(row.try_get(11)?),
        started_at: time(row, 12)?,
        deadline: time(row, 13)?,
        next_attempt_at: time(row, 14)?,
        finished_at: time(row, 15)?,
        result_version: row.try_get(16)?,
        result: row.try_get(17)?,
        error: row.try_get(18)?,
        partition: u32::try_from(row.try_get::<_, i32>(19)?).unwrap_or(0),
    })
}

/// A nullable time column.
fn time(row: &Row, index: usize) -> Result<Option<Timestamp>, postgres::Error> {
    Ok(row
        .try_get::<_, Option<i64>>(index)?
        .map(Timestamp::from_nanos))
}

/// An attempt count or number (written from a `u32`, so it fits).
fn count(row: &Row, index: usize) -> Result<u32, postgres::Error> {
    Ok(u32::try_from(row.try_get::<_, i64>(index)?).unwrap_or(u32::MAX))
}

impl PgStore {
    /// The pending deliveries of a notifier after stream position `after`, oldest first (of
    /// its partition only, on a fenced store: see `PgStore::outbox_partition`).
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
    pub fn pending_deliveries(
        &self,
        notifier: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries
             WHERE notifier = $1 AND state = 'pending' AND pos > $2
               AND ($4::INTEGER IS NULL OR partition = $4)
             ORDER BY pos LIMIT $3"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let partition = self.outbox_partition();
        let error = self.error("reading pending deliveries");
        self.call(|client| {
            client
                .query(&sql, &[&notifier, &after, &limit, &partition])
                .and_then(|rows| rows.iter().map(read_delivery).collect())
                .map_err(error)
        })
    }

    /// Deliveries matching `filter`, one page.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
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
    /// [`StoreError::Postgres`] when the read fails.
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
    /// [`StoreError::Postgres`] when the read fails.
    pub fn job(&self, id: &str) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let error = self.error("reading a job");
        self.call(|client| {
            client
                .query_opt(&sql, &[&id])
                .and_then(|row| row.as_ref().map(read_job).transpose())
                .map_err(error)
        })
    }

    /// The attempts of a job, first first.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
    pub fn job_attempts(&self, id: &str) -> Result<Vec<JobAttempt>, StoreError> {
        let error = self.error("reading a job's attempts");
        self.call(|client| {
            client
                .query(
                    "SELECT attempt, started_at, finished_at, outcome, error FROM job_attempts
                     WHERE job = $1 ORDER BY attempt",
                    &[&id],
                )
                .and_then(|rows| {
                    rows.iter()
                        .map(|row| {
                            Ok(JobAttempt {
                                attempt: count(row, 0)?,
                                started_at: Timestamp::from_nanos(row.try_get(1)?),
                                finished_at: time(row, 2)?,
                                outcome: row.try_get(3)?,
                                error: row.try_get(4)?,
                            })
                        })
                        .collect()
                })
                .map_err(error)
        })
    }

    /// Every job that is not over (queued or running), oldest first (of its partition only,
    /// on a fenced store).
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
    pub fn open_jobs(&self) -> Result<Vec<Job>, StoreError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state IN ('queued', 'running')
               AND ($1::INTEGER IS NULL OR partition = $1)
             ORDER BY pos"
        );
        let partition = self.outbox_partition();
        let error = self.error("reading the open jobs");
        self.call(|client| {
            client
                .query(&sql, &[&partition])
                .and_then(|rows| rows.iter().map(read_job).collect())
                .map_err(error)
        })
    }

    /// How many jobs are in each state: every state, in [`JobState::ALL`]'s order, 0 when
    /// none.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
    pub fn job_counts(&self) -> Result<Vec<(JobState, u64)>, StoreError> {
        let error = self.error("counting jobs by state");
        let stored: Vec<(String, i64)> = self.call(|client| {
            client
                .query("SELECT state, COUNT(*) FROM jobs GROUP BY state", &[])
                .and_then(|rows| {
                    rows.iter()
                        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                        .collect()
                })
                .map_err(error)
        })?;
        Ok(JobState::ALL
            .into_iter()
            .map(|state| {
                let count = (stored.iter())
                    .find(|(name, _)| name == state.as_str())
                    .map_or(0, |(_, count)| u64::try_from(*count).unwrap_or(0));
                (state, count)
            })
            .collect())
    }
}

/// Writes the outbox and registry rows a committed batch causes, and applies its effect
/// updates, in its transaction (whose fence the commit checked): what
/// `crate::outbox::write_effects` decides, written through [`PgEffects`].
pub(super) fn write_effects(
    tx: &mut Transaction<'_>,
    scope: WriteScope,
    batch: &Batch,
    outputs_json: &[String],
    known: &HashMap<String, HashSet<String>>,
    learned: &mut Learned,
) -> Result<(), postgres::Error> {
    let mut writes = PgEffects {
        tx,
        partition: scope.key(),
    };
    crate::outbox::write_effects(&mut writes, batch, outputs_json, known, learned)
}
