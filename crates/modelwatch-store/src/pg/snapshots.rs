//! [`PgStore`] on PostgreSQL: engine snapshots of the partition, saved at once or in bounded
//! steps, as the SQLite store's (`crate::snapshots`): the same pieces under a draft id (from
//! the `snapshot_drafts` sequence), the same row naming the draft, the same deletion of what
//! a snapshot replaced a bounded amount at a time. Everything is the store's partition's:
//! its snapshots, the pieces of its drafts, and its last sequence number.

use modelwatch_engine::Timestamp;
use postgres::{GenericClient, IsolationLevel, Transaction};

use super::PgStore;
use crate::StoreError;
use crate::points::sql_seq;
use crate::snapshots::{Snapshot, SnapshotDraft, SnapshotStep};

/// The partition's last sequence number.
fn read_last_seq(client: &mut impl GenericClient, partition: i32) -> Result<u64, postgres::Error> {
    let last: i64 = client
        .query_one(
            "SELECT last_seq FROM partitions WHERE partition = $1",
            &[&partition],
        )?
        .get(0);
    Ok(u64::try_from(last).unwrap_or(0))
}

impl PgStore {
    /// As the SQLite store's method of the same name: keeps `snapshot` as the partition's
    /// latest, replacing any older one, in one transaction.
    ///
    /// # Errors
    ///
    /// [`StoreError::SnapshotBehind`] when `snapshot.seq` is not the partition's last
    /// sequence number; [`StoreError::Postgres`] when the write fails, and then the previous
    /// snapshot stays; [`StoreError::Fenced`] when the partition's lease is no longer ours.
    pub fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let error = self.error("saving an engine snapshot");
        let scope = self.scope();
        let database = self.database.clone();
        let keep = self.snapshot_draft;
        self.call(move |client| {
            let mut tx = client.transaction().map_err(&error)?;
            scope.check_fence(&mut tx, &database)?;
            let partition = scope.key();
            let last_seq = read_last_seq(&mut tx, partition).map_err(&error)?;
            if snapshot.seq != last_seq {
                return Err(StoreError::SnapshotBehind {
                    snapshot: snapshot.seq,
                    stored: last_seq,
                });
            }
            tx.execute("DELETE FROM snapshots WHERE partition = $1", &[&partition])
                .map_err(&error)?;
            tx.execute(
                "DELETE FROM snapshot_pieces WHERE partition = $1 AND draft IS DISTINCT FROM $2",
                &[&partition, &keep],
            )
            .map_err(&error)?;
            tx.execute(
                "INSERT INTO snapshots (partition, seq, taken_at, config_digest, state)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &partition,
                    &sql_seq(snapshot.seq),
                    &snapshot.taken_at.as_nanos(),
                    &snapshot.config_digest,
                    &snapshot.state,
                ],
            )
            .map_err(&error)?;
            tx.commit().map_err(&error)
        })
    }

    /// As the SQLite store's method of the same name: begins saving `snapshot` in steps;
    /// nothing is written yet.
    ///
    /// # Errors
    ///
    /// [`StoreError::SnapshotBehind`] when `snapshot.seq` is past the partition's last
    /// sequence number; [`StoreError::Postgres`] when a read fails.
    pub fn begin_snapshot(&mut self, snapshot: Snapshot) -> Result<SnapshotDraft, StoreError> {
        let error = self.error("beginning an engine snapshot");
        let partition = self.scope().key();
        let (last_seq, draft) = self
            .call(|client| {
                let last_seq = read_last_seq(client, partition)?;
                let draft: i64 = client
                    .query_one("SELECT nextval('snapshot_drafts')", &[])?
                    .get(0);
                Ok((last_seq, draft))
            })
            .map_err(error)?;
        if snapshot.seq > last_seq {
            return Err(StoreError::SnapshotBehind {
                snapshot: snapshot.seq,
                stored: last_seq,
            });
        }
        self.snapshot_draft = Some(draft);
        Ok(SnapshotDraft {
            snapshot,
            draft,
            written: 0,
            pieces: 0,
            saved: false,
        })
    }

    /// As the SQLite store's method of the same name: one bounded step of saving `draft`, in
    /// one transaction.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when PostgreSQL fails, [`StoreError::Fenced`] when the
    /// partition's lease is no longer ours: nothing of the step is written, the draft stays
    /// where it was, and the next call tries the same step again.
    pub fn save_snapshot_step(
        &mut self,
        draft: &mut SnapshotDraft,
        max_bytes: usize,
    ) -> Result<SnapshotStep, StoreError> {
        let error = self.error("saving an engine snapshot");
        let scope = self.scope();
        let database = self.database.clone();
        let max_bytes = max_bytes.max(1);
        let keep = self.snapshot_draft;
        if !draft.saved {
            let state = &draft.snapshot.state;
            let end = draft.written.saturating_add(max_bytes).min(state.len());
            let piece = &state[draft.written..end];
            let last = end == state.len();
            let written = piece.len();
            let unsaved = &*draft;
            self.call(move |client| {
                let mut tx = client.transaction().map_err(&error)?;
                scope.check_fence(&mut tx, &database)?;
                write_piece(&mut tx, scope.key(), unsaved, piece, last).map_err(&error)?;
                tx.commit().map_err(&error)
            })?;
            draft.written = end;
            draft.pieces += 1;
            if last {
                draft.saved = true;
                if self.snapshot_draft == Some(draft.draft) {
                    self.snapshot_draft = None;
                }
            }
            return Ok(SnapshotStep {
                written,
                deleted: 0,
                done: false,
            });
        }
        let (deleted, left) = self.call(move |client| {
            let mut tx = client.transaction().map_err(&error)?;
            scope.check_fence(&mut tx, &database)?;
            let done = delete_replaced(&mut tx, scope.key(), keep, max_bytes).map_err(&error)?;
            tx.commit().map_err(&error)?;
            Ok::<_, StoreError>(done)
        })?;
        Ok(SnapshotStep {
            written: 0,
            deleted,
            done: !left,
        })
    }

    /// As the SQLite store's method of the same name: the partition's latest snapshot, read
    /// in one snapshot of the database (so that its pieces are all of one draft).
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
    pub fn latest_snapshot(&self) -> Result<Option<Snapshot>, StoreError> {
        let error = self.error("reading the latest engine snapshot");
        let partition = self.scope().key();
        self.call(|client| {
            let mut tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let Some(row) = tx.query_opt(
                "SELECT seq, taken_at, config_digest, state, pieces FROM snapshots
                 WHERE partition = $1 ORDER BY seq DESC LIMIT 1",
                &[&partition],
            )?
            else {
                return Ok(None);
            };
            let mut snapshot = Snapshot {
                seq: u64::try_from(row.get::<_, i64>(0)).unwrap_or(0),
                taken_at: Timestamp::from_nanos(row.get(1)),
                config_digest: row.get(2),
                state: row.get(3),
            };
            if let Some(draft) = row.get::<_, Option<i64>>(4) {
                for piece in tx.query(
                    "SELECT bytes FROM snapshot_pieces WHERE draft = $1 ORDER BY piece",
                    &[&draft],
                )? {
                    snapshot.state.extend_from_slice(piece.get::<_, &[u8]>(0));
                }
            }
            tx.commit()?;
            Ok(Some(snapshot))
        })
        .map_err(error)
    }
}

/// Writes the next piece of `draft`; the last one adds the snapshot's row too (a row of the
/// same input gives way, as in the SQLite store).
fn write_piece(
    tx: &mut Transaction<'_>,
    partition: i32,
    draft: &SnapshotDraft,
    piece: &[u8],
    last: bool,
) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO snapshot_pieces (partition, draft, piece, bytes) VALUES ($1, $2, $3, $4)",
        &[&partition, &draft.draft, &draft.pieces, &piece],
    )?;
    if last {
        let snapshot = &draft.snapshot;
        tx.execute(
            "INSERT INTO snapshots (partition, seq, taken_at, config_digest, state, pieces)
             VALUES ($1, $2, $3, $4, ''::BYTEA, $5)
             ON CONFLICT (partition, seq) DO UPDATE SET taken_at = excluded.taken_at,
                 config_digest = excluded.config_digest, state = excluded.state,
                 pieces = excluded.pieces",
            &[
                &partition,
                &sql_seq(snapshot.seq),
                &snapshot.taken_at.as_nanos(),
                &snapshot.config_digest,
                &draft.draft,
            ],
        )?;
    }
    Ok(())
}

/// Deletes up to about `max_bytes` of what the partition's latest snapshot replaced, as the
/// SQLite store's: older rows, then the pieces of every draft but the latest snapshot's and
/// `keep`, at least one row or piece when there is one. Returns the bytes deleted and
/// whether any are left.
fn delete_replaced(
    tx: &mut Transaction<'_>,
    partition: i32,
    keep: Option<i64>,
    max_bytes: usize,
) -> Result<(usize, bool), postgres::Error> {
    let latest = tx.query_opt(
        "SELECT seq, pieces FROM snapshots WHERE partition = $1 ORDER BY seq DESC LIMIT 1",
        &[&partition],
    )?;
    let (latest_seq, latest_draft): (i64, Option<i64>) =
        latest.map_or((i64::MAX, None), |row| (row.get(0), row.get(1)));
    let budget = i64::try_from(max_bytes).unwrap_or(i64::MAX);
    let mut deleted: i64 = 0;
    let old_rows = tx.query(
        "SELECT seq, octet_length(state)::BIGINT FROM snapshots
         WHERE partition = $1 AND seq < $2 ORDER BY seq",
        &[&partition, &latest_seq],
    )?;
    let mut left = false;
    for row in old_rows {
        let (seq, length): (i64, i64) = (row.get(0), row.get(1));
        if deleted > 0 && deleted.saturating_add(length) > budget {
            left = true;
            break;
        }
        tx.execute(
            "DELETE FROM snapshots WHERE partition = $1 AND seq = $2",
            &[&partition, &seq],
        )?;
        deleted = deleted.saturating_add(length);
    }
    if !left {
        let old = tx.query(
            "SELECT draft, piece, octet_length(bytes)::BIGINT FROM snapshot_pieces
             WHERE partition = $1 AND draft IS DISTINCT FROM $2 AND draft IS DISTINCT FROM $3
             ORDER BY draft, piece LIMIT 64",
            &[&partition, &latest_draft, &keep],
        )?;
        let delete = tx.prepare("DELETE FROM snapshot_pieces WHERE draft = $1 AND piece = $2")?;
        let mut taken = 0;
        for row in &old {
            let (draft, piece, length): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
            if deleted > 0 && deleted.saturating_add(length) > budget {
                break;
            }
            tx.execute(&delete, &[&draft, &piece])?;
            deleted = deleted.saturating_add(length);
            taken += 1;
        }
        left = taken < old.len() || old.len() == 64;
    }
    Ok((usize::try_from(deleted).unwrap_or(usize::MAX), left))
}
