//! [`PgStore`] on PostgreSQL: the deletion of old inputs, points and deliveries, as the
//! SQLite store's (`crate::retention`, and `delete_old_deliveries` in `outbox/deliveries.rs`).
//!
//! Inputs, their quality points and finished deliveries are the store's partition's; its
//! totals are in its `partitions` row. Points are in series of no partition, so a walk goes
//! over every series, locking each row first (see `points.rs`); the points a store deletes are
//! counted in its partition's row and [`PgStore::retention_totals`] adds them all up.

use std::path::PathBuf;

use modelwatch_engine::Timestamp;
use postgres::Transaction;

use super::PgStore;
use crate::points::{RawPoint, decode, encode, sql_seq};
use crate::retention::{RetentionTotals, SeriesCursor, Step};
use crate::{MAX_REPLAY_PAGE, StoreError};

/// A count from PostgreSQL's `bigint` (never negative).
fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl PgStore {
    /// As the SQLite store's method of the same name: the partition's input deletions, and
    /// the points deleted by every partition's store.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
    pub fn retention_totals(&self) -> Result<RetentionTotals, StoreError> {
        let error = self.error("reading the retention totals");
        let partition = self.scope().key();
        let row = self.call(|client| {
            client
                .query_one(
                    "SELECT inputs_deleted_through, inputs_deleted,
                            (SELECT coalesce(sum(points_deleted), 0)::BIGINT FROM partitions)
                     FROM partitions WHERE partition = $1",
                    &[&partition],
                )
                .map_err(error)
        })?;
        Ok(RetentionTotals {
            inputs_deleted_through: count(row.get(0)),
            inputs_deleted: count(row.get(1)),
            points_deleted: count(row.get(2)),
        })
    }

    /// As the SQLite store's method of the same name, on the partition's inputs: up to
    /// `limit` of the oldest, while older than `cutoff` and at most `through` and the
    /// partition's points watermark, in one transaction.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when a read or the deletion fails (nothing is deleted then),
    /// [`StoreError::Corrupt`] when a stored input no longer parses, [`StoreError::Fenced`]
    /// when the partition's lease is no longer ours.
    pub fn delete_old_inputs(
        &mut self,
        cutoff: Timestamp,
        through: u64,
        limit: usize,
    ) -> Result<Step, StoreError> {
        let limit = limit.clamp(1, MAX_REPLAY_PAGE);
        let totals = self.retention_totals()?;
        let partition = self.scope().key();
        let points_through = self
            .call(|client| {
                client.query_one(
                    "SELECT points_through FROM partitions WHERE partition = $1",
                    &[&partition],
                )
            })
            .map_err(self.error("reading the points watermark"))?
            .get::<_, i64>(0);
        let through = through.min(count(points_through));
        let candidates = self.inputs_after(totals.inputs_deleted_through, limit)?;
        let mut last = None;
        let mut stopped = candidates.len() < limit;
        for stored in &candidates {
            let old = stored.input.timestamp().is_some_and(|at| at < cutoff);
            if !old || stored.seq > through {
                stopped = true;
                break;
            }
            last = Some(stored.seq);
        }
        let Some(last) = last else {
            return Ok(Step {
                deleted: 0,
                done: true,
            });
        };
        let error = self.error("deleting old inputs");
        let scope = self.scope();
        let database = self.database.clone();
        let (after, last) = (sql_seq(totals.inputs_deleted_through), sql_seq(last));
        let deleted = self.call(move |client| {
            let mut tx = client.transaction().map_err(&error)?;
            scope.check_fence(&mut tx, &database)?;
            let deleted = tx
                .execute(
                    "DELETE FROM inputs WHERE partition = $1 AND seq > $2 AND seq <= $3",
                    &[&partition, &after, &last],
                )
                .map_err(&error)?;
            tx.execute(
                "DELETE FROM quality_points WHERE partition = $1 AND seq > $2 AND seq <= $3",
                &[&partition, &after, &last],
            )
            .map_err(&error)?;
            tx.execute(
                "UPDATE partitions SET inputs_deleted_through = $2,
                                       inputs_deleted = inputs_deleted + $3
                 WHERE partition = $1",
                &[
                    &partition,
                    &last,
                    &i64::try_from(deleted).unwrap_or(i64::MAX),
                ],
            )
            .map_err(&error)?;
            tx.commit().map_err(&error)?;
            Ok::<_, StoreError>(deleted)
        })?;
        Ok(Step {
            deleted,
            done: stopped,
        })
    }

    /// As the SQLite store's method of the same name: the stored points before `cutoff` of
    /// up to `max_series` series, walking every series in id order from `cursor`, in one
    /// transaction. Points still pending in memory are not touched.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when a read or the deletion fails,
    /// [`StoreError::CorruptChunk`] when a chunk across the cutoff is unreadable,
    /// [`StoreError::Fenced`] when the partition's lease is no longer ours; nothing is
    /// deleted then and the cursor stays where it was.
    pub fn delete_old_points(
        &mut self,
        cutoff: Timestamp,
        cursor: &mut SeriesCursor,
        max_series: usize,
    ) -> Result<Step, StoreError> {
        let error = self.error("deleting old points");
        let scope = self.scope();
        let database = self.database.clone();
        let max_series = max_series.max(1);
        let after = cursor.after;
        let (series, deleted) = self.call(move |client| {
            let mut tx = client.transaction().map_err(&error)?;
            scope.check_fence(&mut tx, &database)?;
            // Locked until the end: a flush adding chunks to one of them waits (see
            // `points.rs`).
            let series: Vec<i64> = tx
                .query(
                    "SELECT id FROM series WHERE id > $1 ORDER BY id LIMIT $2 FOR UPDATE",
                    &[&after, &i64::try_from(max_series).unwrap_or(i64::MAX)],
                )
                .map_err(&error)?
                .iter()
                .map(|row| row.get(0))
                .collect();
            let mut deleted = 0;
            for id in &series {
                deleted += delete_points_before(&mut tx, &database, *id, cutoff)?;
            }
            tx.execute(
                "UPDATE partitions SET points_deleted = points_deleted + $2 WHERE partition = $1",
                &[&scope.key(), &i64::try_from(deleted).unwrap_or(i64::MAX)],
            )
            .map_err(&error)?;
            tx.commit().map_err(&error)?;
            Ok::<_, StoreError>((series, deleted))
        })?;
        if let Some(last) = series.last() {
            cursor.after = *last;
        }
        Ok(Step {
            deleted,
            done: series.len() < max_series,
        })
    }

    /// As the SQLite store's method of the same name (`outbox/deliveries.rs`), on the
    /// partition's deliveries: up to `limit` of the oldest that are over and were created
    /// and ended before `cutoff`, in one transaction.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the deletion fails, [`StoreError::Fenced`] when the
    /// partition's lease is no longer ours; nothing is deleted then.
    pub fn delete_old_deliveries(
        &mut self,
        cutoff: Timestamp,
        limit: usize,
    ) -> Result<Step, StoreError> {
        let error = self.error("deleting old notifications");
        let scope = self.scope();
        let database = self.database.clone();
        let limit = limit.clamp(1, MAX_REPLAY_PAGE);
        let deleted = self.call(move |client| {
            let mut tx = client.transaction().map_err(&error)?;
            scope.check_fence(&mut tx, &database)?;
            let deleted = tx
                .execute(
                    "DELETE FROM deliveries WHERE pos IN (
                         SELECT pos FROM deliveries
                         WHERE partition = $1 AND created_at < $2 AND state != 'pending'
                           AND done_at < $2
                         ORDER BY pos LIMIT $3)",
                    &[
                        &scope.key(),
                        &cutoff.as_nanos(),
                        &i64::try_from(limit).unwrap_or(i64::MAX),
                    ],
                )
                .map_err(&error)?;
            tx.commit().map_err(&error)?;
            Ok::<_, StoreError>(deleted)
        })?;
        Ok(Step {
            deleted,
            done: deleted < limit as u64,
        })
    }
}

/// Deletes the stored points of series `series` with an event time before `cutoff`, as the
/// SQLite store's `delete_points_before`: chunks wholly before it go, chunks across it are
/// rewritten, and a series left without points loses its row unless a flush in steps wrote
/// it past its partition's watermark. Its partition is not known, so the row stays while any
/// partition not flushed through its last input has a watermark below the row's mark (with
/// one partition, exactly the SQLite store's rule). Returns how many points went.
fn delete_points_before(
    tx: &mut Transaction<'_>,
    database: &str,
    series: i64,
    cutoff: Timestamp,
) -> Result<u64, StoreError> {
    let error = |error| StoreError::Postgres {
        database: database.to_string(),
        action: "deleting old points",
        error,
    };
    let cutoff = cutoff.as_nanos();
    let mut deleted: u64 = tx
        .query(
            "DELETE FROM point_chunks WHERE series = $1 AND last_time < $2 RETURNING count",
            &[&series, &cutoff],
        )
        .map_err(error)?
        .iter()
        .map(|row| count(row.get(0)))
        .sum();
    let across = tx
        .query(
            "SELECT id, points FROM point_chunks WHERE series = $1 AND first_time < $2",
            &[&series, &cutoff],
        )
        .map_err(error)?;
    for row in across {
        let chunk: i64 = row.get(0);
        let points = decode(row.get(1)).map_err(|message| StoreError::CorruptChunk {
            path: PathBuf::from(database),
            chunk,
            message,
        })?;
        let kept: Vec<RawPoint> = points
            .iter()
            .copied()
            .filter(|point| point.time >= cutoff)
            .collect();
        deleted += (points.len() - kept.len()) as u64;
        // The chunk ends at or after the cutoff, so a point is left.
        let Some(first) = kept.first() else { continue };
        tx.execute(
            "UPDATE point_chunks SET first_time = $2, first_seq = $3, count = $4, points = $5
             WHERE id = $1",
            &[
                &chunk,
                &first.time,
                &sql_seq(first.seq),
                &(kept.len() as i64),
                &encode(&kept),
            ],
        )
        .map_err(error)?;
    }
    tx.execute(
        "DELETE FROM series WHERE id = $1
         AND NOT EXISTS (SELECT 1 FROM point_chunks WHERE point_chunks.series = $1)
         AND NOT EXISTS (SELECT 1 FROM partitions
                         WHERE partitions.points_through < partitions.last_seq
                           AND partitions.points_through < series.points_through)",
        &[&series],
    )
    .map_err(error)?;
    Ok(deleted)
}
