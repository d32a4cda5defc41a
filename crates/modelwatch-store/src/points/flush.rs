//! Writing the pending points: [`Store::flush_points`](crate::Store::flush_points) at once, [`Store::flush_points_step`](crate::Store::flush_points_step)
//! in bounded steps between commits, and reading back what a crash left unwritten
//! ([`Store::rebuild_points`](crate::Store::rebuild_points)).

use std::collections::HashMap;

use modelwatch_engine::{ModelId, Timestamp};
use rusqlite::{Connection, Transaction, params};

use super::{PendingPoints, Plan, insert_chunks, series_id};
use crate::writes::Durability;
use crate::{MAX_REPLAY_PAGE, POINTS_PER_FLUSH, SqliteStore, StoreError};

/// What one [`Store::flush_points_step`](crate::Store::flush_points_step) did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PointsStep {
    /// Points this step wrote.
    pub written: usize,
    /// True once the round is over: every point of the inputs committed when it began is
    /// written and the watermark moved. The next step begins a new round.
    pub done: bool,
}

/// Writes what `plan` takes of the round under way as chunks, in `tx`, each series' points
/// sorted by key. Unless the step ends the round, each series written records how far it is
/// written; with the round's last step the watermark moves to its target instead.
fn write_plan(
    tx: &Transaction<'_>,
    pending: &PendingPoints,
    plan: Plan,
    ends_round: bool,
) -> rusqlite::Result<()> {
    let Some(target) = pending.round_target() else {
        return Ok(());
    };
    pending.for_each_write(plan, |write| {
        let id = series_id(tx, write.model, write.metric)?;
        insert_chunks(tx, id, write.points, pending.chunk_points)?;
        if !ends_round {
            tx.prepare_cached("UPDATE series SET points_through = ?2 WHERE id = ?1")?
                .execute(params![id, write.through])?;
        }
        Ok::<(), rusqlite::Error>(())
    })?;
    if ends_round {
        tx.prepare_cached("UPDATE store_state SET points_through = ?1 WHERE id = 1")?
            .execute([target])?;
    }
    Ok(())
}

/// The pending points of a store just opened: none, the database's watermark at
/// `stored_through`, and the series a flush in steps wrote past it before.
pub(crate) fn pending_at_open(
    connection: &Connection,
    stored_through: u64,
) -> rusqlite::Result<PendingPoints> {
    let mut pending = PendingPoints::at(stored_through);
    pending.written_ahead = read_written_ahead(connection, stored_through)?;
    Ok(pending)
}

/// The series a flush in steps wrote past the watermark `stored_through`, and how far.
fn read_written_ahead(
    connection: &Connection,
    stored_through: u64,
) -> rusqlite::Result<HashMap<ModelId, HashMap<String, u64>>> {
    let mut ahead: HashMap<ModelId, HashMap<String, u64>> = HashMap::new();
    let mut statement = connection.prepare(
        "SELECT model, version, instance, metric, points_through FROM series
         WHERE points_through > ?1",
    )?;
    let mut rows = statement.query([stored_through])?;
    while let Some(row) = rows.next()? {
        let model = ModelId {
            name: row.get(0)?,
            version: row.get(1)?,
            instance: row.get(2)?,
        };
        ahead
            .entry(model)
            .or_default()
            .insert(row.get(3)?, row.get(4)?);
    }
    Ok(ahead)
}

impl SqliteStore {
    /// How many points wait in memory for [`Store::flush_points`](crate::Store::flush_points).
    pub fn pending_points(&self) -> usize {
        self.points.len()
    }

    /// The points watermark: every input up to this one has its series points in chunks, so
    /// reads of series see them. [`Store::flush_points`](crate::Store::flush_points) moves it to the last committed
    /// input; [`Store::flush_points_step`](crate::Store::flush_points_step) to the last input committed when its round began,
    /// once the round is done.
    pub fn points_watermark(&self) -> u64 {
        self.points.stored_through
    }

    /// Reads back the points of the inputs that have them neither in a chunk nor pending (the
    /// inputs a crash left after the watermark), writing them whenever
    /// [`POINTS_PER_FLUSH`] gather. Returns how many inputs it read. Quick when there are
    /// none: one read of the last sequence number.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when a read or a write fails, [`StoreError::Corrupt`] when a
    /// stored input no longer parses. What was read stays pending, to be written by the next
    /// flush.
    pub fn rebuild_points(&mut self) -> Result<u64, StoreError> {
        let last_seq = self.last_seq()?;
        let mut read = 0;
        while self.points.through < last_seq {
            let page = self.inputs_after(self.points.through, MAX_REPLAY_PAGE)?;
            let before = read;
            let page_after = self.points.through;
            for stored in page.iter().take_while(|stored| stored.seq <= last_seq) {
                let expected = self.points.through + 1;
                if stored.seq != expected {
                    return Err(StoreError::Corrupt {
                        path: self.path.clone(),
                        seq: expected,
                        message: format!(
                            "it is missing (the next stored input is {}), and its series points \
                             were never written",
                            stored.seq
                        ),
                    });
                }
                self.points.add(stored.seq, &stored.input);
                read += 1;
            }
            self.rebuild_quality_points(page_after, self.points.through)?;
            if read == before {
                return Err(StoreError::Corrupt {
                    path: self.path.clone(),
                    seq: self.points.through + 1,
                    message: format!(
                        "it is missing (the store's last input is {last_seq}), and its series \
                         points were never written"
                    ),
                });
            }
            if self.points.len() >= POINTS_PER_FLUSH {
                self.write_points()?;
            }
        }
        Ok(read)
    }

    /// Adds the values of the quality outputs of inputs `after + 1 ..= through` to the pending
    /// points, as [`Store::commit`](crate::Store::commit) added them.
    fn rebuild_quality_points(&mut self, after: u64, through: u64) -> Result<(), StoreError> {
        if through <= after {
            return Ok(());
        }
        let rows = (|| {
            let mut statement = self.connection.prepare_cached(
                "SELECT seq, time, model, version, instance, metrics FROM quality_points
                 WHERE seq > ?1 AND seq <= ?2 ORDER BY pos",
            )?;
            let rows = statement.query_map(rusqlite::params![after, through], |row| {
                Ok((
                    row.get::<_, u64>(0)?,
                    row.get::<_, i64>(1)?,
                    ModelId {
                        name: row.get(2)?,
                        version: row.get(3)?,
                        instance: row.get(4)?,
                    },
                    row.get::<_, String>(5)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })()
        .map_err(self.sqlite("reading quality points back"))?;
        for (seq, time, model, metrics) in rows {
            let values = super::read_values(&metrics).map_err(|message| StoreError::Corrupt {
                path: self.path.clone(),
                seq,
                message: format!("its quality point's values do not read back: {message}"),
            })?;
            self.points
                .add_values(seq, &model, Timestamp::from_nanos(time), &values);
        }
        Ok(())
    }

    /// Writes every pending point to chunks and moves the watermark to the last committed
    /// input, in one transaction; reads back first what a crash left unwritten
    /// ([`Store::rebuild_points`](crate::Store::rebuild_points)). A flush in steps under way is overtaken: this writes what
    /// it had left too. Returns how many points it wrote.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when SQLite fails, [`StoreError::Corrupt`] when a stored input
    /// no longer parses. Nothing is written then and the points stay pending.
    pub fn flush_points(&mut self) -> Result<usize, StoreError> {
        self.rebuild_points()?;
        self.write_points()
    }

    /// Writes a bounded part of the pending points: one step of a round that writes, series
    /// by series in key order, the points of every input committed when the round began, and
    /// moves the watermark there with its last step. A step writes about `max_points` points
    /// (a series counts for a few more than its points; at least one point is written), in
    /// one transaction without an fsync of its own, like [`Store::flush_points`](crate::Store::flush_points). The writer
    /// calls it between commits until `done`; commits in between add points for the next
    /// round.
    ///
    /// A point leaves memory once the step that wrote it committed; a series written before
    /// the round ends records how far it is written, so that reading the inputs back after a
    /// crash ([`Store::rebuild_points`](crate::Store::rebuild_points)) does not write its points twice. Reads of series see
    /// a series' points as soon as a step wrote them.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when SQLite fails, [`StoreError::Corrupt`] when a stored input
    /// no longer parses. Nothing of the step is written then, its points stay pending, and
    /// the next step tries the same part again.
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

    /// Writes the pending points (see [`Store::flush_points`](crate::Store::flush_points)) without reading anything back.
    fn write_points(&mut self) -> Result<usize, StoreError> {
        // A round under way ends first; the points committed since make a second one.
        let mut written = 0;
        while !self.points.is_flushed() {
            self.points.begin_round();
            written += self.write_step(usize::MAX)?.written;
        }
        Ok(written)
    }

    /// Writes the next step of the round under way.
    fn write_step(&mut self, budget: usize) -> Result<PointsStep, StoreError> {
        let pending = &mut self.points;
        let plan = pending.plan_step(budget);
        let ends_round = pending.ends_round(plan);
        let written = pending.planned_points(plan);
        let path = &self.path;
        let sqlite = |error| StoreError::Sqlite {
            path: path.clone(),
            action: "writing series points",
            error,
        };
        // No fsync of its own: the chunks derive from inputs already on disk. In WAL mode the
        // transaction is still all or nothing, and the next commit's fsync makes it durable
        // with that commit; a crash before then loses the chunks and their marks together,
        // and the points are read back from the inputs.
        let tx = self
            .writes
            .begin(&self.connection, Durability::Deferred)
            .map_err(sqlite)?;
        write_plan(&tx, pending, plan, ends_round).map_err(sqlite)?;
        self.writes.commit(tx).map_err(sqlite)?;
        pending.written(plan);
        Ok(PointsStep {
            written,
            done: ends_round,
        })
    }
}
