//! [`Store`](crate::Store): opening the database and the group commit of inputs with their outputs.
//!
//! What a batch holds lives in `batch.rs`, checkpoints in `checkpoints.rs`, reads in
//! `query.rs`, series points in `points/`. Nothing here reads a clock: receive times come from
//! the caller.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use modelwatch_engine::{Input, Output};
use rusqlite::{Connection, Transaction, params};

use crate::batch::{Batch, Record, check, new_last};
use crate::outbox::{Learned, SqliteEffects, write_effects};
use crate::points::PendingPoints;
use crate::writes::{Durability, Writes};
use crate::{StoreError, schema, wire_form};

/// The database file inside the data directory.
pub const DB_FILE: &str = "modelwatch.db";

/// How long a statement waits for another connection's lock before it fails.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements kept per connection (`prepare_cached`); listings build a few variants.
const STATEMENT_CACHE: usize = 64;

/// The durable state of a modelwatch service: one SQLite file in a data directory.
///
/// Synchronous and single-connection: the service owns it on one thread and gathers
/// concurrent requests into one [`Store::commit`](crate::Store::commit). One store commits to a file at a time: the
/// committing store holds the points of its commits in memory until
/// [`Store::flush_points`](crate::Store::flush_points). Other stores on the same file only read.
///
/// Every write (a commit, a points flush, a snapshot, a retention step, a version change) is
/// one transaction, all or nothing, and what the store keeps in memory about it changes only
/// once it committed: after a failed write the store is as it was before it, and the next
/// write can succeed.
#[derive(Debug)]
pub struct SqliteStore {
    pub(crate) connection: Connection,
    pub(crate) path: PathBuf,
    /// Points of committed inputs not yet written.
    pub(crate) points: PendingPoints,
    /// The registry's versions by model, loaded by the first commit, so that a commit looks
    /// up in memory whether an event's version is new.
    pub(crate) known_versions: Option<HashMap<String, HashSet<String>>>,
    /// How writes begin and end (see `writes.rs`).
    pub(crate) writes: Writes,
    /// The draft of the snapshot being saved in steps, whose pieces no other write deletes.
    pub(crate) snapshot_draft: Option<i64>,
}

/// Row counts, of one commit or of the whole store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Inputs (events, job-finished notices and retrain requests).
    pub inputs: u64,
    /// Metric values, one per series point (of a commit: taken into memory, written by the
    /// next [`Store::flush_points`](crate::Store::flush_points)).
    pub points: u64,
    /// Alert transitions.
    pub alerts: u64,
    /// Retrain decisions.
    pub decisions: u64,
    /// Job notices.
    pub job_notices: u64,
    /// Canary verdicts.
    pub canary_verdicts: u64,
    /// Quality points computed from predictions and labels.
    pub quality_points: u64,
}

/// What a commit wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Committed {
    /// The rows written.
    pub written: Counts,
    /// The store's last sequence number after the commit.
    pub last_seq: u64,
}

impl SqliteStore {
    /// Opens the store in `dir`, creating the directory and the database as needed, and
    /// brings the schema up to date.
    ///
    /// The database runs in WAL mode with `synchronous = FULL`: once [`Store::commit`](crate::Store::commit)
    /// returns, the batch survives a crash or power loss. (Series points are written later;
    /// after a crash [`Store::rebuild_points`](crate::Store::rebuild_points) or the next flush reads them back from the
    /// inputs.)
    ///
    /// # Errors
    ///
    /// [`StoreError::CreateDir`] or [`StoreError::Sqlite`] when the directory or file cannot
    /// be made or opened, [`StoreError::NoWal`] when the file system refuses the write-ahead
    /// log, [`StoreError::SchemaTooNew`] when a newer modelwatch wrote the file.
    pub fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|error| StoreError::CreateDir {
            path: dir.to_path_buf(),
            error,
        })?;
        let path = dir.join(DB_FILE);
        let sqlite = |action| {
            let path = path.clone();
            move |error| StoreError::Sqlite {
                path,
                action,
                error,
            }
        };
        let mut connection = Connection::open(&path).map_err(sqlite("opening the database"))?;
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(sqlite("setting the busy timeout"))?;
        let mode: String = connection
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(sqlite("switching to write-ahead logging"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::NoWal { path, mode });
        }
        connection
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF;")
            .map_err(sqlite("setting synchronous = FULL"))?;
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        schema::migrate(&mut connection, &path)?;
        let points_through =
            read_points_through(&connection).map_err(sqlite("reading the points watermark"))?;
        let points = crate::points::pending_at_open(&connection, points_through)
            .map_err(sqlite("reading how far series points are written"))?;
        Ok(SqliteStore {
            connection,
            writes: Writes::new(&path),
            path,
            points,
            known_versions: None,
            snapshot_draft: None,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a batch in one transaction: all of it, or nothing. Its series points go to
    /// memory once it is committed, for the next [`Store::flush_points`](crate::Store::flush_points).
    ///
    /// Inputs must carry their timestamps and number on from [`Store::last_seq`](crate::Store::last_seq) one by one
    /// (replay numbers inputs from 1, so a gap or a repeat would change every later id).
    /// Every output must come from an input of the batch. An empty batch writes nothing.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sequence`], [`StoreError::Unstamped`] or [`StoreError::OrphanOutput`]
    /// for a batch that breaks those rules (checked before anything is written);
    /// [`StoreError::Sqlite`] when SQLite fails (disk full, I/O error). Either way nothing of
    /// the batch is stored, and the store is as it was before the call, in the file and in
    /// memory: it can go on serving reads, and the same batch can be committed again once the
    /// cause is gone ([`StoreError::is_transient`] tells whether that may happen).
    pub fn commit(&mut self, batch: &Batch) -> Result<Committed, StoreError> {
        let path = &self.path;
        let sqlite = |action| {
            move |error| StoreError::Sqlite {
                path: path.clone(),
                action,
                error,
            }
        };
        let encoded = encode(batch)?;
        let tx = self
            .writes
            .begin(&self.connection, Durability::Synced)
            .map_err(sqlite("starting a commit"))?;
        let last_seq = read_last_seq(&tx).map_err(sqlite("reading the last sequence number"))?;
        check(batch, last_seq)?;
        if batch.is_empty() {
            return Ok(Committed {
                written: Counts::default(),
                last_seq,
            });
        }
        let known = match self.known_versions.take() {
            Some(known) => known,
            None => crate::registry::known_versions(&tx).map_err(sqlite("reading the registry"))?,
        };
        let mut learned = Learned::default();
        let written = (|| {
            let written = write(&tx, batch, &encoded).map_err(sqlite("writing a batch"))?;
            write_effects(
                &mut SqliteEffects(&tx),
                batch,
                &encoded.outputs,
                &known,
                &mut learned,
            )
            .map_err(sqlite("writing the outbox"))?;
            tx.prepare_cached("UPDATE store_state SET last_seq = ?1 WHERE id = 1")
                .and_then(|mut statement| statement.execute([new_last(batch, last_seq)]))
                .map_err(sqlite("writing the last sequence number"))?;
            self.writes
                .commit(tx)
                .map_err(sqlite("committing a batch"))?;
            Ok(written)
        })();
        // Nothing in memory changes before the commit succeeded: a failed one leaves the store
        // as it was, and the same batch can be committed again.
        let mut known = known;
        let written = match written {
            Ok(written) => written,
            Err(error) => {
                self.known_versions = Some(known);
                return Err(error);
            }
        };
        learned.teach(&mut known);
        self.known_versions = Some(known);
        self.points.add_committed(batch, last_seq);
        Ok(Committed {
            written,
            last_seq: new_last(batch, last_seq),
        })
    }
}

pub(crate) fn read_last_seq(connection: &Connection) -> rusqlite::Result<u64> {
    connection
        .prepare_cached("SELECT last_seq FROM store_state WHERE id = 1")?
        .query_row([], |row| row.get(0))
}

/// The points watermark: every input up to it has its series points in chunks.
pub(crate) fn read_points_through(connection: &Connection) -> rusqlite::Result<u64> {
    connection
        .prepare_cached("SELECT points_through FROM store_state WHERE id = 1")?
        .query_row([], |row| row.get(0))
}

/// The JSON of a batch's inputs (wire form) and outputs (serde form), in batch order.
pub(crate) struct Encoded {
    pub(crate) inputs: Vec<String>,
    pub(crate) outputs: Vec<String>,
}

pub(crate) fn encode(batch: &Batch) -> Result<Encoded, StoreError> {
    let inputs = batch
        .records
        .iter()
        .map(|record| {
            wire_form::encode(&record.input).map_err(|error| StoreError::Encode {
                what: "input",
                seq: record.seq,
                error,
            })
        })
        .collect::<Result<_, _>>()?;
    let outputs = batch
        .outputs
        .iter()
        .map(|output| {
            serde_json::to_string(output).map_err(|error| StoreError::Encode {
                what: "output",
                seq: output.seq(),
                error,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Encoded { inputs, outputs })
}

/// Rows per multi-row `INSERT`: one statement execution writes this many inputs.
const ROWS_PER_INSERT: usize = 64;

/// `INSERT OR ROLLBACK INTO table (columns) VALUES (?, ...), ...` with `rows` rows of
/// placeholders.
///
/// `OR ROLLBACK`: a statement that writes many rows and may abort halfway needs a statement
/// journal (SQLite copies every page it touches first, about a tenth of a commit's time). A
/// failed row rolls the whole transaction back instead, which is what a failed commit does
/// anyway: nothing of the batch is stored.
fn insert_sql(table: &str, columns: &[&str], rows: usize) -> String {
    let row = format!("({})", vec!["?"; columns.len()].join(", "));
    format!(
        "INSERT OR ROLLBACK INTO {table} ({}) VALUES {}",
        columns.join(", "),
        vec![row; rows].join(", ")
    )
}

const INPUT_COLUMNS: [&str; 3] = ["seq", "received_at", "input"];
static INSERT_INPUTS: LazyLock<[String; 2]> = LazyLock::new(|| {
    [
        insert_sql("inputs", &INPUT_COLUMNS, ROWS_PER_INSERT),
        insert_sql("inputs", &INPUT_COLUMNS, 1),
    ]
});

/// Inserts `rows` with the statements of `sql` (many rows at a time, then one at a time):
/// `bind` binds one row's values from the given first parameter index on.
fn insert_rows<T>(
    tx: &Transaction<'_>,
    sql: &[String; 2],
    columns: usize,
    rows: &[T],
    bind: impl Fn(&mut rusqlite::Statement<'_>, usize, &T) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let mut chunks = rows.chunks_exact(ROWS_PER_INSERT);
    if chunks.len() > 0 {
        let mut statement = tx.prepare_cached(&sql[0])?;
        for chunk in &mut chunks {
            for (row, values) in chunk.iter().enumerate() {
                bind(&mut statement, row * columns + 1, values)?;
            }
            statement.raw_execute()?;
        }
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut statement = tx.prepare_cached(&sql[1])?;
        for values in rest {
            bind(&mut statement, 1, values)?;
            statement.raw_execute()?;
        }
    }
    Ok(())
}

fn write(tx: &Transaction<'_>, batch: &Batch, encoded: &Encoded) -> rusqlite::Result<Counts> {
    let mut counts = Counts::default();
    let inputs: Vec<(&Record, &String)> = batch.records.iter().zip(&encoded.inputs).collect();
    insert_rows(
        tx,
        &INSERT_INPUTS,
        INPUT_COLUMNS.len(),
        &inputs,
        |statement, at, (record, text)| {
            statement.raw_bind_parameter(at, record.seq)?;
            statement.raw_bind_parameter(at + 1, record.received_at.as_nanos())?;
            statement.raw_bind_parameter(at + 2, text.as_str())
        },
    )?;
    counts.inputs = inputs.len() as u64;
    counts.points = batch
        .records
        .iter()
        .map(|record| match &record.input {
            Input::Event(event) => event.metrics.len() as u64,
            Input::JobFinished(_)
            | Input::RetrainRequest(_)
            | Input::Prediction(_)
            | Input::Label(_)
            | Input::Reference(_) => 0,
        })
        .sum::<u64>()
        + batch
            .outputs
            .iter()
            .map(|output| match output {
                Output::Quality(point) => point.metrics.len() as u64,
                _ => 0,
            })
            .sum::<u64>();
    for (output, text) in batch.outputs.iter().zip(&encoded.outputs) {
        let seq = output.seq();
        let time = output.at().as_nanos();
        match output {
            Output::Alert(alert) => {
                tx.prepare_cached(
                    "INSERT INTO alerts (id, alert_id, seq, time, state, rule, severity,
                                         model, version, instance, metric, output)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )?
                .execute(params![
                    alert.id,
                    alert.alert_id,
                    seq,
                    time,
                    alert.state.as_str(),
                    &*alert.rule,
                    alert.severity.as_str(),
                    alert.model.name,
                    alert.model.version,
                    alert.model.instance,
                    alert.metric,
                    text
                ])?;
                counts.alerts += 1;
            }
            Output::Retrain(decision) => {
                tx.prepare_cached(
                    "INSERT INTO decisions (id, seq, time, model, decision, reason, job_id, output)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    decision.id,
                    seq,
                    time,
                    decision.model,
                    decision.decision.as_str(),
                    decision.reason.as_str(),
                    decision.job_id,
                    text
                ])?;
                counts.decisions += 1;
            }
            Output::JobFinished(notice) => {
                tx.prepare_cached(
                    "INSERT INTO job_notices (id, seq, time, model, job_id, status, version,
                                              ended_outstanding, output)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?
                .execute(params![
                    notice.id,
                    seq,
                    time,
                    notice.model,
                    notice.job_id,
                    notice.status.as_str(),
                    notice.version,
                    notice.ended_outstanding,
                    text
                ])?;
                counts.job_notices += 1;
            }
            Output::Canary(verdict) => {
                tx.prepare_cached(
                    "INSERT INTO canary_verdicts (id, seq, time, rule, model, version, instance,
                                                  metric, verdict, output)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?
                .execute(params![
                    verdict.id,
                    seq,
                    time,
                    &*verdict.rule,
                    verdict.model.name,
                    verdict.model.version,
                    verdict.model.instance,
                    verdict.metric,
                    verdict.verdict.as_str(),
                    text
                ])?;
                counts.canary_verdicts += 1;
            }
            Output::Quality(point) => {
                let metrics = serde_json::to_string(&crate::points::ValuesForm(&point.metrics))
                    .map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))?;
                tx.prepare_cached(
                    "INSERT INTO quality_points (id, seq, time, model, version, instance,
                                                 source, metrics, output)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?
                .execute(params![
                    point.id,
                    seq,
                    time,
                    point.model.name,
                    point.model.version,
                    point.model.instance,
                    point.source.as_str(),
                    metrics,
                    text
                ])?;
                counts.quality_points += 1;
            }
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests;
