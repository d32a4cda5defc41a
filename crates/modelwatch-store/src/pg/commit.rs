//! [`PgStore`] on PostgreSQL: the group commit of a batch and the reads of stored inputs.
//!
//! A commit writes each table's rows of the batch with one statement (`batch_rows.rs`).

use std::collections::{HashMap, HashSet};

use modelwatch_engine::Timestamp;
use postgres::{Client, Transaction};

use super::batch_rows::{Rows, sql_int};
use super::{PgStore, WriteScope};
use crate::batch::{check, new_last};
use crate::outbox::Learned;
use crate::query::{MAX_REPLAY_PAGE, StoredInput};
use crate::store::{Encoded, encode};
use crate::wire_form::Decoder;
use crate::{Batch, Committed, Counts, StoreError};

/// The registry's versions by model (see `SqliteStore::known_versions`).
pub(crate) type KnownVersions = HashMap<String, HashSet<String>>;

impl PgStore {
    /// Writes a batch in one transaction: all of it, or nothing. As `SqliteStore::commit`,
    /// in this store's partition, under its lease when it has one.
    ///
    /// # Errors
    ///
    /// As `SqliteStore::commit`, with [`StoreError::Postgres`] for PostgreSQL's failures and
    /// [`StoreError::Fenced`] when the partition's lease moved on.
    pub fn commit(&mut self, batch: &Batch) -> Result<Committed, StoreError> {
        let encoded = encode(batch)?;
        let rows = Rows::of(batch, &encoded)?;
        let scope = self.scope();
        let database = self.database.clone();
        let mut known = self.known_versions.take();
        let mut learned = Learned::default();
        let written = self.call(|client| {
            write_batch(
                client,
                scope,
                &database,
                batch,
                &rows,
                &encoded,
                &mut known,
                &mut learned,
            )
        });
        // Nothing in memory changes before the commit succeeded: a failed one leaves the
        // store as it was, and the same batch can be committed again.
        if written.is_ok()
            && let Some(known) = known.as_mut()
        {
            learned.teach(known);
        }
        self.known_versions = known;
        let (written, last_seq) = written?;
        self.points.add_committed(batch, last_seq);
        Ok(Committed {
            written,
            last_seq: new_last(batch, last_seq),
        })
    }

    /// The sequence number of this store's partition's last input; 0 when there is none.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
    pub fn last_seq(&self) -> Result<u64, StoreError> {
        let partition = self.scope().key();
        let error = self.error("reading the last sequence number");
        let last: i64 = self.call(|client| {
            client
                .query_one(
                    "SELECT last_seq FROM partitions WHERE partition = $1",
                    &[&partition],
                )
                .and_then(|row| row.try_get(0))
                .map_err(error)
        })?;
        Ok(u64::try_from(last).unwrap_or(0))
    }

    /// Up to `limit` inputs (capped at [`MAX_REPLAY_PAGE`]) of this store's partition with
    /// sequence numbers above `seq`, in sequence order, read back for replay.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails, [`StoreError::Corrupt`] when a stored
    /// input no longer parses.
    pub fn inputs_after(&self, seq: u64, limit: usize) -> Result<Vec<StoredInput>, StoreError> {
        let partition = self.scope().key();
        let after = i64::try_from(seq).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit.clamp(1, MAX_REPLAY_PAGE)).unwrap_or(1);
        let error = self.error("reading inputs");
        let rows: Vec<(i64, i64, String)> = self.call(|client| {
            client
                .query(
                    "SELECT seq, received_at, input FROM inputs
                     WHERE partition = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                    &[&partition, &after, &limit],
                )
                .and_then(|rows| {
                    rows.iter()
                        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
                        .collect()
                })
                .map_err(error)
        })?;
        let decoder = Decoder::new();
        let mut inputs = Vec::with_capacity(rows.len());
        for (seq, received_at, text) in rows {
            let seq = u64::try_from(seq).unwrap_or(0);
            let input = decoder
                .decode(&text)
                .map_err(|message| StoreError::Corrupt {
                    path: self.database.clone().into(),
                    seq,
                    message,
                })?;
            inputs.push(StoredInput {
                seq,
                received_at: Timestamp::from_nanos(received_at),
                input,
            });
        }
        Ok(inputs)
    }

    /// How many rows each table holds, over every partition; points count one by one, those
    /// this store holds pending included.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
    pub fn counts(&self) -> Result<Counts, StoreError> {
        let error = self.error("counting rows");
        let counts: Vec<i64> = self.call(|client| {
            client
                .query_one(
                    "SELECT (SELECT count(*) FROM inputs),
                            (SELECT coalesce(sum(count), 0)::BIGINT FROM point_chunks),
                            (SELECT count(*) FROM alerts),
                            (SELECT count(*) FROM decisions),
                            (SELECT count(*) FROM job_notices),
                            (SELECT count(*) FROM canary_verdicts),
                            (SELECT count(*) FROM quality_points)",
                    &[],
                )
                .and_then(|row| (0..row.len()).map(|index| row.try_get(index)).collect())
                .map_err(error)
        })?;
        let count = |index: usize| {
            counts
                .get(index)
                .map_or(0, |&count| u64::try_from(count).unwrap_or(0))
        };
        Ok(Counts {
            inputs: count(0),
            points: count(1) + self.pending_points() as u64,
            alerts: count(2),
            decisions: count(3),
            job_notices: count(4),
            canary_verdicts: count(5),
            quality_points: count(6),
        })
    }
}

/// The commit's transaction: checks the fence and the batch, writes it with its effects and
/// moves the partition's last sequence number. Returns the rows written and the last
/// sequence number before the batch. `known` is loaded on first use and kept for the next
/// commit; `learned` collects the versions this batch registers.
#[allow(clippy::too_many_arguments)]
fn write_batch(
    client: &mut Client,
    scope: WriteScope,
    database: &str,
    batch: &Batch,
    rows: &Rows<'_>,
    encoded: &Encoded,
    known: &mut Option<KnownVersions>,
    learned: &mut Learned,
) -> Result<(Counts, u64), StoreError> {
    let pg = |action| {
        move |error| StoreError::Postgres {
            database: database.to_string(),
            action,
            error,
        }
    };
    let mut tx = client.transaction().map_err(pg("starting a commit"))?;
    scope.check_fence(&mut tx, database)?;
    let last_seq: i64 = tx
        .query_one(
            "SELECT last_seq FROM partitions WHERE partition = $1 FOR UPDATE",
            &[&scope.key()],
        )
        .and_then(|row| row.try_get(0))
        .map_err(pg("reading the last sequence number"))?;
    let last_seq = u64::try_from(last_seq).unwrap_or(0);
    check(batch, last_seq)?;
    let log_seq = batch.log_seq.map(sql_int).transpose()?;
    let new_last = sql_int(new_last(batch, last_seq))?;
    if batch.is_empty() {
        // Nothing to write, unless the ingest log moved on (its messages brought no input).
        if log_seq.is_some() {
            finish(tx, scope, new_last, log_seq).map_err(pg("committing a batch"))?;
        }
        return Ok((Counts::default(), last_seq));
    }
    let known = match known {
        Some(known) => known,
        None => known
            .insert(super::registry::known_versions(&mut tx).map_err(pg("reading the registry"))?),
    };
    let written = rows
        .insert(&mut tx, scope.key())
        .map_err(pg("writing a batch"))?;
    super::outbox::write_effects(&mut tx, scope, batch, &encoded.outputs, known, learned)
        .map_err(pg("writing the outbox"))?;
    finish(tx, scope, new_last, log_seq).map_err(pg("committing a batch"))?;
    Ok((written, last_seq))
}

/// Moves the partition's last sequence number (and its log position, when the batch has
/// one), notifies `modelwatch_commits` (`<partition>:<last_seq>`, delivered when the
/// transaction commits: what waits for commits listens there instead of polling), and
/// commits.
fn finish(
    mut tx: Transaction<'_>,
    scope: WriteScope,
    last_seq: i64,
    log_seq: Option<i64>,
) -> Result<(), postgres::Error> {
    tx.execute(
        "UPDATE partitions SET last_seq = $2, log_seq = coalesce($3, log_seq)
         WHERE partition = $1",
        &[&scope.key(), &last_seq, &log_seq],
    )?;
    let notice = format!("{}:{last_seq}", scope.partition);
    tx.execute("SELECT pg_notify('modelwatch_commits', $1)", &[&notice])?;
    tx.commit()
}
