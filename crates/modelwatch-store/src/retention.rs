//! Retention: what lets the store forget old inputs without the engine forgetting what they
//! did, since the engine's state is kept in a snapshot (`snapshots.rs`). Retention deletes, in
//! small transactions the caller interleaves with ingest:
//! - inputs, as a prefix of the stream: oldest first, only while their event time is before
//!   the cutoff and only up to the snapshot's sequence number, so recovery (restore the
//!   snapshot, replay the inputs after it) never needs a deleted input, and only up to the
//!   points watermark, so the points of every input after it can still be read back;
//! - points (the values behind `/v1/series`), by event time, series by series in id order:
//!   chunks wholly before the cutoff go, chunks across it are rewritten;
//! - notifications that are over (delivered, given up, skipped), by the wall time they ended:
//!   the outbox's working rows, not the record (`Store::delete_old_deliveries`, beside the
//!   other notification rows in `outbox/deliveries.rs`).
//!
//! Alerts, decisions, job notices, canary verdicts, jobs, the registry and the audit log are the
//! record of what happened and are never deleted. Input and point deletions are counted in
//! `store_state`, so their totals survive restarts.

use modelwatch_engine::Timestamp;
use rusqlite::params;

use crate::points::delete_points_before;
use crate::store::read_points_through;
use crate::writes::Durability;
use crate::{MAX_REPLAY_PAGE, SqliteStore, StoreError};

/// What retention has deleted, over the life of the store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionTotals {
    /// Every input up to this sequence number is deleted; 0 when none is.
    pub inputs_deleted_through: u64,
    /// Inputs deleted.
    pub inputs_deleted: u64,
    /// Points deleted.
    pub points_deleted: u64,
}

/// One step of a deletion: how many rows went, and whether there is nothing more to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// Rows deleted by this step.
    pub deleted: u64,
    /// True once the deletion has reached its end (the next step would delete nothing).
    pub done: bool,
}

/// Where a walk over the stored series stands: after this series id (0: before the first).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeriesCursor {
    pub(crate) after: i64,
}

impl SeriesCursor {
    /// A cursor before the first series.
    pub fn start() -> SeriesCursor {
        SeriesCursor::default()
    }
}

impl SqliteStore {
    /// What retention has deleted so far.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn retention_totals(&self) -> Result<RetentionTotals, StoreError> {
        self.connection
            .query_row(
                "SELECT inputs_deleted_through, inputs_deleted, points_deleted
                 FROM store_state WHERE id = 1",
                [],
                |row| {
                    Ok(RetentionTotals {
                        inputs_deleted_through: row.get(0)?,
                        inputs_deleted: row.get(1)?,
                        points_deleted: row.get(2)?,
                    })
                },
            )
            .map_err(self.sqlite("reading the retention totals"))
    }

    /// Deletes up to `limit` of the oldest stored inputs, in one transaction: those, from the
    /// first one left, whose event time is before `cutoff` and whose sequence number is at
    /// most `through` (the latest snapshot's) and at most the points watermark (every input up
    /// to it has its points written, see [`Store::flush_points`](crate::Store::flush_points)). It stops at the first input
    /// that is newer or beyond, so what is left is always every input after some sequence
    /// number.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when a read or the deletion fails (nothing is deleted then),
    /// [`StoreError::Corrupt`] when a stored input no longer parses.
    pub fn delete_old_inputs(
        &mut self,
        cutoff: Timestamp,
        through: u64,
        limit: usize,
    ) -> Result<Step, StoreError> {
        let limit = limit.clamp(1, MAX_REPLAY_PAGE);
        let totals = self.retention_totals()?;
        let points_through = read_points_through(&self.connection)
            .map_err(self.sqlite("reading the points watermark"))?;
        let through = through.min(points_through);
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
        let sqlite = self.sqlite("deleting old inputs");
        let tx = self
            .writes
            .begin(&self.connection, Durability::Synced)
            .map_err(&sqlite)?;
        let deleted = tx
            .execute(
                "DELETE FROM inputs WHERE seq > ?1 AND seq <= ?2",
                params![totals.inputs_deleted_through, last],
            )
            .map_err(&sqlite)? as u64;
        tx.execute(
            "DELETE FROM quality_points WHERE seq > ?1 AND seq <= ?2",
            params![totals.inputs_deleted_through, last],
        )
        .map_err(&sqlite)?;
        tx.execute(
            "UPDATE store_state SET inputs_deleted_through = ?1,
                                    inputs_deleted = inputs_deleted + ?2 WHERE id = 1",
            params![last, deleted],
        )
        .map_err(&sqlite)?;
        self.writes.commit(tx).map_err(&sqlite)?;
        Ok(Step {
            deleted,
            done: stopped,
        })
    }

    /// Deletes the stored points before `cutoff` of up to `max_series` series, walking the
    /// series in id order from `cursor` (which it moves on), in one transaction. Points still
    /// pending in memory are not touched.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when a read or the deletion fails, [`StoreError::CorruptChunk`]
    /// when a chunk across the cutoff is unreadable; nothing is deleted then and the cursor
    /// stays where it was.
    pub fn delete_old_points(
        &mut self,
        cutoff: Timestamp,
        cursor: &mut SeriesCursor,
        max_series: usize,
    ) -> Result<Step, StoreError> {
        let sqlite = self.sqlite("deleting old points");
        let tx = self
            .writes
            .begin(&self.connection, Durability::Synced)
            .map_err(&sqlite)?;
        let max_series = max_series.max(1);
        let series: Vec<i64> = tx
            .prepare_cached("SELECT id FROM series WHERE id > ?1 ORDER BY id LIMIT ?2")
            .and_then(|mut statement| {
                statement
                    .query_map(params![cursor.after, max_series as i64], |row| row.get(0))?
                    .collect()
            })
            .map_err(&sqlite)?;
        let mut deleted = 0;
        for id in &series {
            deleted += delete_points_before(&tx, &self.path, *id, cutoff)?;
        }
        tx.execute(
            "UPDATE store_state SET points_deleted = points_deleted + ?1 WHERE id = 1",
            [deleted],
        )
        .map_err(&sqlite)?;
        self.writes.commit(tx).map_err(&sqlite)?;
        if let Some(last) = series.last() {
            cursor.after = *last;
        }
        Ok(Step {
            deleted,
            done: series.len() < max_series,
        })
    }
}
