//! [`PgStore`] on PostgreSQL: series points, written after their commit in chunks per series
//! (at once or in bounded steps), and read back from the inputs after a crash; as the SQLite
//! store (`crate::points`), whose buffer ([`PendingPoints`]) and chunk format they share.
//!
//! `series` and `point_chunks` have no partition: a model's events all go to one partition,
//! so each series is written by one store. The watermark is the store's partition's
//! (`partitions.points_through`). Retention, which walks every series, locks a series' row
//! before it touches the series, and a flush takes a key-share lock on the rows it writes to,
//! so that retention never deletes a series row a flush is adding chunks to.

use std::collections::HashMap;
use std::path::PathBuf;

use modelwatch_engine::{ModelId, Timestamp};
use postgres::{Client, GenericClient, Transaction};

use super::PgStore;
use crate::points::{PendingPoints, Plan, PointsStep, chunk_rows, read_values, sql_seq};
use crate::{MAX_REPLAY_PAGE, POINTS_PER_FLUSH, StoreError};

/// The pending points of a store just opened on `partition`: none, the partition's watermark,
/// and the series a flush in steps wrote past it before.
pub(super) fn pending_at_open(
    client: &mut Client,
    partition: i32,
) -> Result<PendingPoints, postgres::Error> {
    let stored: i64 = client
        .query_one(
            "SELECT points_through FROM partitions WHERE partition = $1",
            &[&partition],
        )?
        .get(0);
    let mut pending = PendingPoints::at(u64::try_from(stored).unwrap_or(0));
    let rows = client.query(
        "SELECT model, version, instance, metric, points_through FROM series
         WHERE points_through > $1",
        &[&stored],
    )?;
    let mut ahead: HashMap<ModelId, HashMap<String, u64>> = HashMap::new();
    for row in rows {
        let model = ModelId {
            name: row.get(0),
            version: row.get(1),
            instance: row.get(2),
        };
        let through: i64 = row.get(4);
        ahead
            .entry(model)
            .or_default()
            .insert(row.get(3), u64::try_from(through).unwrap_or(0));
    }
    pending.written_ahead = ahead;
    Ok(pending)
}

/// The id of a series, creating its row when there is none; the row stays key-share locked
/// until the transaction ends (see the module documentation).
fn series_id(
    tx: &mut Transaction<'_>,
    model: &ModelId,
    metric: &str,
) -> Result<i64, postgres::Error> {
    let key: [&(dyn postgres::types::ToSql + Sync); 4] =
        [&model.name, &model.version, &model.instance, &metric];
    loop {
        let found = tx.query_opt(
            "SELECT id FROM series
             WHERE model = $1 AND version = $2 AND instance = $3 AND metric = $4
             FOR KEY SHARE",
            &key,
        )?;
        if let Some(row) = found {
            return Ok(row.get(0));
        }
        // Another store may add the same row meanwhile: then this inserts nothing, and the
        // lookup above finds that one.
        let inserted = tx.query_opt(
            "INSERT INTO series (model, version, instance, metric) VALUES ($1, $2, $3, $4)
             ON CONFLICT (model, version, instance, metric) DO NOTHING RETURNING id",
            &key,
        )?;
        if let Some(row) = inserted {
            return Ok(row.get(0));
        }
    }
}

/// Writes what `plan` takes of the round under way as chunks, in `tx`: as the SQLite store,
/// each series written records how far it is written unless the step ends the round, and
/// the round's last step moves the partition's watermark to its target.
fn write_plan(
    tx: &mut Transaction<'_>,
    partition: i32,
    pending: &PendingPoints,
    plan: Plan,
    ends_round: bool,
) -> Result<(), postgres::Error> {
    let Some(target) = pending.round_target() else {
        return Ok(());
    };
    let insert = tx.prepare(
        "INSERT INTO point_chunks
             (series, first_time, first_seq, last_time, last_seq, last_value, count, points)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )?;
    let mark = tx.prepare("UPDATE series SET points_through = $2 WHERE id = $1")?;
    pending.for_each_write(plan, |write| {
        let id = series_id(tx, write.model, write.metric)?;
        for row in chunk_rows(write.points, pending.chunk_points) {
            tx.execute(
                &insert,
                &[
                    &id,
                    &row.first.time,
                    &sql_seq(row.first.seq),
                    &row.last.time,
                    &sql_seq(row.last.seq),
                    &row.last.value,
                    &row.count,
                    &row.blob,
                ],
            )?;
        }
        if !ends_round {
            tx.execute(&mark, &[&id, &sql_seq(write.through)])?;
        }
        Ok::<(), postgres::Error>(())
    })?;
    if ends_round {
        tx.execute(
            "UPDATE partitions SET points_through = $2 WHERE partition = $1",
            &[&partition, &sql_seq(target)],
        )?;
    }
    Ok(())
}

impl PgStore {
    /// As the SQLite store's method of the same name: points waiting in memory.
    pub fn pending_points(&self) -> usize {
        self.points.len()
    }

    /// As the SQLite store's method of the same name: the partition's watermark.
    pub fn points_watermark(&self) -> u64 {
        self.points.stored_through()
    }

    /// As the SQLite store's method of the same name: reads back the points of the
    /// partition's inputs that have them neither in a chunk nor pending.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when a read or a write fails, [`StoreError::Corrupt`] when a
    /// stored input is missing or no longer parses.
    pub fn rebuild_points(&mut self) -> Result<u64, StoreError> {
        let last_seq = self.last_seq()?;
        let mut read = 0;
        while self.points.through() < last_seq {
            let page_after = self.points.through();
            let page = self.inputs_after(page_after, MAX_REPLAY_PAGE)?;
            let before = read;
            for stored in page.iter().take_while(|stored| stored.seq <= last_seq) {
                let expected = self.points.through() + 1;
                if stored.seq != expected {
                    return Err(self.corrupt(
                        expected,
                        format!(
                            "it is missing (the next stored input is {}), and its series points \
                             were never written",
                            stored.seq
                        ),
                    ));
                }
                self.points.add(stored.seq, &stored.input);
                read += 1;
            }
            self.rebuild_quality_points(page_after, self.points.through())?;
            if read == before {
                return Err(self.corrupt(
                    self.points.through() + 1,
                    format!(
                        "it is missing (the store's last input is {last_seq}), and its series \
                         points were never written"
                    ),
                ));
            }
            if self.points.len() >= POINTS_PER_FLUSH {
                self.write_points()?;
            }
        }
        Ok(read)
    }

    /// [`StoreError::Corrupt`] about the partition's input `seq`.
    fn corrupt(&self, seq: u64, message: String) -> StoreError {
        StoreError::Corrupt {
            path: PathBuf::from(&self.database),
            seq,
            message,
        }
    }

    /// Adds the values of the quality outputs of the partition's inputs `after + 1 ..=
    /// through` to the pending points, as the commit added them.
    fn rebuild_quality_points(&mut self, after: u64, through: u64) -> Result<(), StoreError> {
        if through <= after {
            return Ok(());
        }
        let error = self.error("reading quality points back");
        let partition = self.scope().key();
        let rows = self.call(|client| {
            client
                .query(
                    "SELECT seq, time, model, version, instance, metrics FROM quality_points
                     WHERE partition = $1 AND seq > $2 AND seq <= $3 ORDER BY pos",
                    &[&partition, &sql_seq(after), &sql_seq(through)],
                )
                .map_err(error)
        })?;
        for row in rows {
            let seq = u64::try_from(row.get::<_, i64>(0)).unwrap_or(0);
            let model = ModelId {
                name: row.get(2),
                version: row.get(3),
                instance: row.get(4),
            };
            let values = read_values(row.get(5)).map_err(|message| {
                self.corrupt(
                    seq,
                    format!("its quality point's values do not read back: {message}"),
                )
            })?;
            self.points
                .add_values(seq, &model, Timestamp::from_nanos(row.get(1)), &values);
        }
        Ok(())
    }

    /// As the SQLite store's method of the same name: every pending point to chunks and the
    /// watermark to the partition's last input, reading back first what a crash left.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when PostgreSQL fails, [`StoreError::Corrupt`] when a stored
    /// input no longer parses; the points stay pending then. [`StoreError::Fenced`] when the
    /// partition's lease is no longer ours.
    pub fn flush_points(&mut self) -> Result<usize, StoreError> {
        self.rebuild_points()?;
        self.write_points()
    }

    /// As the SQLite store's method of the same name: one bounded step of a round.
    ///
    /// # Errors
    ///
    /// As [`PgStore::flush_points`]: nothing of the step is written then, and the next step
    /// tries the same part again.
    pub fn flush_points_step(&mut self, max_points: usize) -> Result<PointsStep, StoreError> {
        self.rebuild_points()?;
        if self.points.is_flushed() {
            return Ok(PointsStep {
                written: 0,
                done: true,
            });
        }
        self.points.begin_round();
        self.write_step(max_points.max(1))
    }

    /// Writes the pending points without reading anything back: the round under way ends
    /// first, and the points committed since make a second one.
    fn write_points(&mut self) -> Result<usize, StoreError> {
        let mut written = 0;
        while !self.points.is_flushed() {
            self.points.begin_round();
            written += self.write_step(usize::MAX)?.written;
        }
        Ok(written)
    }

    /// Writes the next step of the round under way, in one transaction; its points leave
    /// memory once it committed.
    fn write_step(&mut self, budget: usize) -> Result<PointsStep, StoreError> {
        let plan = self.points.plan_step(budget);
        let ends_round = self.points.ends_round(plan);
        let written = self.points.planned_points(plan);
        let scope = self.scope();
        let database = self.database.clone();
        let error = self.error("writing series points");
        let pending = &self.points;
        self.call(move |client| {
            let mut tx = client.transaction().map_err(&error)?;
            scope.check_fence(&mut tx, &database)?;
            write_plan(&mut tx, scope.key(), pending, plan, ends_round).map_err(&error)?;
            tx.commit().map_err(&error)
        })?;
        self.points.written(plan);
        Ok(PointsStep {
            written,
            done: ends_round,
        })
    }
}

/// The id of a stored series, if it has one (for reads: no lock).
pub(super) fn find_series(
    client: &mut impl GenericClient,
    model: &ModelId,
    metric: &str,
) -> Result<Option<i64>, postgres::Error> {
    Ok(client
        .query_opt(
            "SELECT id FROM series
             WHERE model = $1 AND version = $2 AND instance = $3 AND metric = $4",
            &[&model.name, &model.version, &model.instance, &metric],
        )?
        .map(|row| row.get(0)))
}
