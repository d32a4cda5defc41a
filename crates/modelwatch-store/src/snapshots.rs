//! Engine snapshots: the engine's whole state (opaque bytes the engine wrote) after some
//! stored input, so that a restart replays only the inputs after it and retention may delete
//! the ones before. Only the latest counts.
//!
//! [`Store::save_snapshot`](crate::Store::save_snapshot) writes one in a single transaction. [`Store::begin_snapshot`](crate::Store::begin_snapshot) and
//! [`Store::save_snapshot_step`](crate::Store::save_snapshot_step) write it in bounded steps the writer interleaves with
//! commits: the state goes in numbered pieces (`snapshot_pieces`, under a draft id), the last
//! piece's transaction adds the snapshot's row (which names the draft), and later steps delete
//! what it replaced (older rows and their pieces, and the pieces of drafts a crash left
//! unfinished), a bounded amount at a time. Until then the older snapshot stays readable, and
//! [`Store::latest_snapshot`](crate::Store::latest_snapshot) reads the newest row.
//!
//! Steps have no fsync of their own (a snapshot derives from stored inputs): the next synced
//! commit makes them durable, and a crash before then loses the newest steps only, never a
//! later write without an earlier one (the write-ahead log keeps their order).

use modelwatch_engine::Timestamp;
use rusqlite::{OptionalExtension, Transaction, params};

use crate::store::read_last_seq;
use crate::writes::Durability;
use crate::{SqliteStore, StoreError};

/// The engine's state after the input numbered `seq`, as [`Store::save_snapshot`](crate::Store::save_snapshot) keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The sequence number of the last input the state includes.
    pub seq: u64,
    /// When it was taken (wall time), for operators.
    pub taken_at: Timestamp,
    /// Which config the state belongs to; a state is only valid under the same rules.
    pub config_digest: String,
    /// The engine's encoding of its state.
    pub state: Vec<u8>,
}

/// A snapshot being saved in steps ([`Store::begin_snapshot`](crate::Store::begin_snapshot), [`Store::save_snapshot_step`](crate::Store::save_snapshot_step)).
#[derive(Debug)]
pub struct SnapshotDraft {
    pub(crate) snapshot: Snapshot,
    /// The id of its pieces in `snapshot_pieces`.
    pub(crate) draft: i64,
    /// Bytes of the state written so far.
    pub(crate) written: usize,
    /// Pieces written so far.
    pub(crate) pieces: i64,
    /// Whether its row is written (the last piece's step did it).
    pub(crate) saved: bool,
}

impl SnapshotDraft {
    /// The snapshot being saved.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// Whether it is saved: its last piece and its row are written, and a restart finds it
    /// once a synced commit followed. Later steps only delete what it replaced.
    pub fn is_saved(&self) -> bool {
        self.saved
    }
}

/// What one [`Store::save_snapshot_step`](crate::Store::save_snapshot_step) did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SnapshotStep {
    /// Bytes of the state this step wrote.
    pub written: usize,
    /// Bytes of replaced snapshots this step deleted.
    pub deleted: usize,
    /// True once the snapshot is saved and nothing it replaced is left: the draft is over.
    pub done: bool,
}

impl SqliteStore {
    /// Keeps `snapshot` as the latest, replacing any older one, in one transaction.
    ///
    /// # Errors
    ///
    /// [`StoreError::SnapshotBehind`] when `snapshot.seq` is not the store's last sequence
    /// number (a state must match what is stored); [`StoreError::Sqlite`] when the write fails,
    /// and then the previous snapshot stays.
    pub fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let sqlite = self.sqlite("saving an engine snapshot");
        let tx = self
            .writes
            .begin(&self.connection, Durability::Synced)
            .map_err(&sqlite)?;
        let last_seq = read_last_seq(&tx).map_err(&sqlite)?;
        if snapshot.seq != last_seq {
            return Err(StoreError::SnapshotBehind {
                snapshot: snapshot.seq,
                stored: last_seq,
            });
        }
        tx.execute("DELETE FROM snapshots", []).map_err(&sqlite)?;
        tx.execute(
            "DELETE FROM snapshot_pieces WHERE draft IS NOT ?1",
            [self.snapshot_draft],
        )
        .map_err(&sqlite)?;
        tx.execute(
            "INSERT INTO snapshots (seq, taken_at, config_digest, state) VALUES (?1, ?2, ?3, ?4)",
            params![
                snapshot.seq,
                snapshot.taken_at.as_nanos(),
                snapshot.config_digest,
                snapshot.state
            ],
        )
        .map_err(&sqlite)?;
        self.writes.commit(tx).map_err(&sqlite)
    }

    /// Begins saving `snapshot` in steps ([`Store::save_snapshot_step`](crate::Store::save_snapshot_step)); nothing is written
    /// yet. A draft begun before and not saved is given up (its pieces go with a later step).
    ///
    /// # Errors
    ///
    /// [`StoreError::SnapshotBehind`] when `snapshot.seq` is past the store's last sequence
    /// number. An earlier one is valid: the state after an input the store holds, which
    /// recovery follows with the inputs after it (so the engine may encode its state in steps
    /// while commits go on, and save it once encoded); inputs committed while the steps run
    /// only follow it too.
    /// [`StoreError::Sqlite`] when a read fails.
    pub fn begin_snapshot(&mut self, snapshot: Snapshot) -> Result<SnapshotDraft, StoreError> {
        let sqlite = self.sqlite("beginning an engine snapshot");
        let last_seq = read_last_seq(&self.connection).map_err(&sqlite)?;
        if snapshot.seq > last_seq {
            return Err(StoreError::SnapshotBehind {
                snapshot: snapshot.seq,
                stored: last_seq,
            });
        }
        let draft: i64 = self
            .connection
            .query_row(
                "SELECT max(coalesce((SELECT max(draft) FROM snapshot_pieces), 0),
                            coalesce((SELECT max(pieces) FROM snapshots), 0)) + 1",
                [],
                |row| row.get(0),
            )
            .map_err(&sqlite)?;
        let draft = draft.max(self.snapshot_draft.map_or(0, |last| last + 1));
        self.snapshot_draft = Some(draft);
        Ok(SnapshotDraft {
            snapshot,
            draft,
            written: 0,
            pieces: 0,
            saved: false,
        })
    }

    /// One bounded step of saving `draft`, in one transaction: the next piece of its state
    /// (at most `max_bytes`), the last one together with the snapshot's row; once saved,
    /// the deletion of up to about `max_bytes` of what it replaced. Call it between commits
    /// until `done`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when SQLite fails: nothing of the step is written, the draft
    /// stays where it was, and the next call tries the same step again.
    pub fn save_snapshot_step(
        &mut self,
        draft: &mut SnapshotDraft,
        max_bytes: usize,
    ) -> Result<SnapshotStep, StoreError> {
        let sqlite = self.sqlite("saving an engine snapshot");
        let max_bytes = max_bytes.max(1);
        let tx = self
            .writes
            .begin(&self.connection, Durability::Deferred)
            .map_err(&sqlite)?;
        if !draft.saved {
            let state = &draft.snapshot.state;
            let end = draft.written.saturating_add(max_bytes).min(state.len());
            let piece = &state[draft.written..end];
            let last = end == state.len();
            write_piece(&tx, draft, piece, last).map_err(&sqlite)?;
            self.writes.commit(tx).map_err(&sqlite)?;
            draft.written = end;
            draft.pieces += 1;
            if last {
                draft.saved = true;
                if self.snapshot_draft == Some(draft.draft) {
                    self.snapshot_draft = None;
                }
            }
            return Ok(SnapshotStep {
                written: piece.len(),
                deleted: 0,
                done: false,
            });
        }
        let (deleted, left) =
            delete_replaced(&tx, self.snapshot_draft, max_bytes).map_err(&sqlite)?;
        self.writes.commit(tx).map_err(&sqlite)?;
        Ok(SnapshotStep {
            written: 0,
            deleted,
            done: !left,
        })
    }

    /// The latest snapshot, if any was saved.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn latest_snapshot(&self) -> Result<Option<Snapshot>, StoreError> {
        let sqlite = self.sqlite("reading the latest engine snapshot");
        let latest = self
            .connection
            .query_row(
                "SELECT seq, taken_at, config_digest, state, pieces FROM snapshots
                 ORDER BY seq DESC LIMIT 1",
                [],
                |row| {
                    let snapshot = Snapshot {
                        seq: row.get(0)?,
                        taken_at: Timestamp::from_nanos(row.get(1)?),
                        config_digest: row.get(2)?,
                        state: row.get(3)?,
                    };
                    Ok((snapshot, row.get::<_, Option<i64>>(4)?))
                },
            )
            .optional()
            .map_err(&sqlite)?;
        let Some((mut snapshot, pieces)) = latest else {
            return Ok(None);
        };
        if let Some(draft) = pieces {
            let mut statement = self
                .connection
                .prepare_cached("SELECT bytes FROM snapshot_pieces WHERE draft = ?1 ORDER BY piece")
                .map_err(&sqlite)?;
            let mut rows = statement.query([draft]).map_err(&sqlite)?;
            while let Some(row) = rows.next().map_err(&sqlite)? {
                let bytes: Vec<u8> = row.get(0).map_err(&sqlite)?;
                snapshot.state.extend_from_slice(&bytes);
            }
        }
        Ok(Some(snapshot))
    }
}

/// Writes the next piece of `draft`; the last one adds the snapshot's row too.
fn write_piece(
    tx: &Transaction<'_>,
    draft: &SnapshotDraft,
    piece: &[u8],
    last: bool,
) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO snapshot_pieces (draft, piece, bytes) VALUES (?1, ?2, ?3)")?
        .execute(params![draft.draft, draft.pieces, piece])?;
    if last {
        let snapshot = &draft.snapshot;
        // A row of the same input (a snapshot saved again without inputs in between) gives
        // way; an older one stays until the next step deletes it, a newer one stays the
        // latest (this one is then deleted instead).
        tx.prepare_cached(
            "INSERT OR REPLACE INTO snapshots (seq, taken_at, config_digest, state, pieces)
             VALUES (?1, ?2, ?3, x'', ?4)",
        )?
        .execute(params![
            snapshot.seq,
            snapshot.taken_at.as_nanos(),
            snapshot.config_digest,
            draft.draft
        ])?;
    }
    Ok(())
}

/// Deletes up to about `max_bytes` of what the latest snapshot replaced: older rows and the
/// pieces of every draft but the latest snapshot's and `keep` (a draft being written), at
/// least one row or piece when there is one. Returns the bytes deleted and whether any are
/// left.
fn delete_replaced(
    tx: &Transaction<'_>,
    keep: Option<i64>,
    max_bytes: usize,
) -> rusqlite::Result<(usize, bool)> {
    let latest: Option<(u64, Option<i64>)> = tx
        .query_row(
            "SELECT seq, pieces FROM snapshots ORDER BY seq DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let (latest_seq, latest_draft) = latest.map_or((u64::MAX, None), |(seq, draft)| (seq, draft));
    let budget = i64::try_from(max_bytes).unwrap_or(i64::MAX);
    let mut deleted: i64 = 0;
    let old_rows: Vec<(u64, i64)> = tx
        .prepare_cached("SELECT seq, length(state) FROM snapshots WHERE seq < ?1 ORDER BY seq")?
        .query_map([latest_seq], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut left = false;
    for (seq, length) in old_rows {
        if deleted > 0 && deleted.saturating_add(length) > budget {
            left = true;
            break;
        }
        tx.prepare_cached("DELETE FROM snapshots WHERE seq = ?1")?
            .execute([seq])?;
        deleted = deleted.saturating_add(length);
    }
    if !left {
        let mut pieces = tx.prepare_cached(
            "SELECT draft, piece, length(bytes) FROM snapshot_pieces
             WHERE draft IS NOT ?1 AND draft IS NOT ?2 ORDER BY draft, piece LIMIT 64",
        )?;
        let old: Vec<(i64, i64, i64)> = pieces
            .query_map(params![latest_draft, keep], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut delete =
            tx.prepare_cached("DELETE FROM snapshot_pieces WHERE draft = ?1 AND piece = ?2")?;
        let mut taken = 0;
        for (draft, piece, length) in &old {
            if deleted > 0 && deleted.saturating_add(*length) > budget {
                break;
            }
            delete.execute(params![draft, piece])?;
            deleted = deleted.saturating_add(*length);
            taken += 1;
        }
        left = taken < old.len() || old.len() == 64;
    }
    Ok((usize::try_from(deleted).unwrap_or(usize::MAX), left))
}

#[cfg(test)]
mod tests {
    use modelwatch_engine::{Event, Input, ModelId};

    use super::*;
    use crate::{Batch, Record};

    fn commit(store: &mut SqliteStore, seq: u64) {
        let mut batch = Batch::new();
        batch.push(
            Record {
                seq,
                received_at: Timestamp::from_secs(1_900_000_000),
                input: Input::Event(Event {
                    model: ModelId::new("m", "1", "i"),
                    timestamp: Some(Timestamp::from_secs(1_800_000_000 + seq as i64)),
                    metrics: vec![("accuracy".to_string(), 0.9)],
                }),
            },
            [],
        );
        store.commit(&batch).unwrap();
    }

    fn snapshot(seq: u64, len: usize) -> Snapshot {
        Snapshot {
            seq,
            taken_at: Timestamp::from_secs(1_900_000_000),
            config_digest: format!("digest-{seq}"),
            state: (0..len).map(|i| (i * 7 + seq as usize) as u8).collect(),
        }
    }

    fn count(store: &SqliteStore, sql: &str) -> i64 {
        store
            .connection
            .query_row(sql, [], |row| row.get(0))
            .unwrap()
    }

    /// Steps `draft` until it is saved, committing an input after each step; then until done.
    fn save(store: &mut SqliteStore, draft: &mut SnapshotDraft, max_bytes: usize, seq: &mut u64) {
        let before = store.latest_snapshot().unwrap();
        let len = draft.snapshot().state.len();
        let mut written = 0;
        while !draft.is_saved() {
            assert_eq!(store.latest_snapshot().unwrap(), before, "not saved yet");
            let step = store.save_snapshot_step(draft, max_bytes).unwrap();
            assert!(step.written <= max_bytes && !step.done, "{step:?}");
            written += step.written;
            *seq += 1;
            commit(store, *seq);
        }
        assert_eq!(written, len);
        assert_eq!(
            store.latest_snapshot().unwrap().as_ref(),
            Some(draft.snapshot())
        );
        loop {
            let step = store.save_snapshot_step(draft, max_bytes).unwrap();
            assert_eq!(step.written, 0);
            if step.done {
                break;
            }
        }
        assert_eq!(
            store.latest_snapshot().unwrap().as_ref(),
            Some(draft.snapshot())
        );
        assert_eq!(
            count(store, "SELECT count(*) FROM snapshots"),
            1,
            "only the latest"
        );
    }

    #[test]
    fn a_snapshot_saved_in_steps_reads_back_whole_and_replaces_the_one_before_step_by_step() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(dir.path()).unwrap();
        let mut seq = 1;
        commit(&mut store, seq);
        store.save_snapshot(&snapshot(seq, 5_000)).unwrap();

        // Saved in pieces of 1,000 bytes while inputs keep coming; the inline one before it
        // stays the latest until the last piece, and goes afterwards.
        let mut first = store.begin_snapshot(snapshot(seq, 10_500)).unwrap();
        save(&mut store, &mut first, 1_000, &mut seq);
        assert_eq!(count(&store, "SELECT count(*) FROM snapshot_pieces"), 11);

        // The next one replaces it, pieces included.
        let mut second = store.begin_snapshot(snapshot(seq, 2_500)).unwrap();
        save(&mut store, &mut second, 1_000, &mut seq);
        assert_eq!(count(&store, "SELECT count(*) FROM snapshot_pieces"), 3);

        // A crash in the middle of one leaves the saved one; the next cleans up after it.
        let mut lost = store.begin_snapshot(snapshot(seq, 9_000)).unwrap();
        for _ in 0..4 {
            store.save_snapshot_step(&mut lost, 1_000).unwrap();
        }
        drop(store);
        let mut store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(
            store.latest_snapshot().unwrap().as_ref(),
            Some(second.snapshot())
        );
        seq += 1;
        commit(&mut store, seq);
        let mut third = store.begin_snapshot(snapshot(seq, 1_500)).unwrap();
        save(&mut store, &mut third, 1_000, &mut seq);
        assert_eq!(count(&store, "SELECT count(*) FROM snapshot_pieces"), 2);

        // A snapshot saved at once in between keeps the draft's pieces; the draft, older,
        // never becomes the latest, and its own steps delete it.
        let mut older = store.begin_snapshot(snapshot(seq, 3_000)).unwrap();
        store.save_snapshot_step(&mut older, 1_000).unwrap();
        seq += 1;
        commit(&mut store, seq);
        let newer = snapshot(seq, 700);
        store.save_snapshot(&newer).unwrap();
        while !older.is_saved() {
            store.save_snapshot_step(&mut older, 1_000).unwrap();
        }
        assert_eq!(store.latest_snapshot().unwrap(), Some(newer.clone()));
        while !store.save_snapshot_step(&mut older, 1_000).unwrap().done {}
        assert_eq!(store.latest_snapshot().unwrap(), Some(newer));
        assert_eq!(count(&store, "SELECT count(*) FROM snapshots"), 1);
        assert_eq!(count(&store, "SELECT count(*) FROM snapshot_pieces"), 0);

        // A snapshot of a state the store has not got may not begin; one of an earlier
        // state may, and is saved behind the latest.
        let ahead = store.begin_snapshot(snapshot(seq + 1, 10)).unwrap_err();
        assert!(
            matches!(ahead, StoreError::SnapshotBehind { .. }),
            "{ahead}"
        );
        let mut earlier = store.begin_snapshot(snapshot(seq - 1, 10)).unwrap();
        while !store.save_snapshot_step(&mut earlier, 1_000).unwrap().done {}
        assert_eq!(
            store.latest_snapshot().unwrap().map(|latest| latest.seq),
            Some(seq)
        );
    }

    #[test]
    fn the_deletion_of_a_replaced_snapshot_takes_bounded_steps() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(dir.path()).unwrap();
        let mut seq = 1;
        commit(&mut store, seq);
        let mut big = store.begin_snapshot(snapshot(seq, 64 * 1_000)).unwrap();
        save(&mut store, &mut big, 1_000, &mut seq);
        let mut small = store.begin_snapshot(snapshot(seq, 100)).unwrap();
        store.save_snapshot_step(&mut small, 1_000).unwrap();
        assert!(small.is_saved());
        let mut steps = 0;
        loop {
            let step = store.save_snapshot_step(&mut small, 8_000).unwrap();
            assert!(step.deleted <= 8_000, "{step:?}");
            steps += 1;
            if step.done {
                break;
            }
        }
        assert!(
            steps >= 8,
            "64 pieces of 1,000 bytes in steps of 8,000: {steps}"
        );
        assert_eq!(count(&store, "SELECT count(*) FROM snapshot_pieces"), 1);
    }
}
