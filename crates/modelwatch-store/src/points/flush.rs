//! Writing the pending points: [`Store::flush_points`] at once, and reading back what a
//! crash left unwritten ([`Store::rebuild_points`]).

use modelwatch_engine::ModelId;
use rusqlite::Transaction;

use super::{PendingPoints, RawPoint, insert_chunks, series_id};
use crate::writes::Durability;
use crate::{MAX_REPLAY_PAGE, POINTS_PER_FLUSH, Store, StoreError};

/// Writes `series` (sorted) as chunks and moves the watermark to `pending.through`, in one
/// transaction.
fn write_chunks(
    tx: &Transaction<'_>,
    series: &[(&ModelId, &String, &Vec<RawPoint>)],
    pending: &PendingPoints,
) -> rusqlite::Result<()> {
    for (model, metric, points) in series {
        let id = series_id(tx, model, metric)?;
        insert_chunks(tx, id, points, pending.chunk_points)?;
    }
    tx.prepare_cached("UPDATE store_state SET points_through = ?1 WHERE id = 1")?
        .execute([pending.through])?;
    Ok(())
}

impl Store {
    /// How many points wait in memory for [`Store::flush_points`].
    pub fn pending_points(&self) -> usize {
        self.points.count
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
            if self.points.count >= POINTS_PER_FLUSH {
                self.write_points()?;
            }
        }
        Ok(read)
    }

    /// Writes every pending point to chunks and moves the watermark to the last committed
    /// input, in one transaction; reads back first what a crash left unwritten
    /// ([`Store::rebuild_points`]). Returns how many points it wrote.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when SQLite fails, [`StoreError::Corrupt`] when a stored input
    /// no longer parses. Nothing is written then and the points stay pending.
    pub fn flush_points(&mut self) -> Result<usize, StoreError> {
        self.rebuild_points()?;
        self.write_points()
    }

    /// Writes the pending points (see [`Store::flush_points`]) without reading anything back.
    fn write_points(&mut self) -> Result<usize, StoreError> {
        let pending = &mut self.points;
        if pending.count == 0 && pending.through == pending.stored_through {
            return Ok(0);
        }
        for metrics in pending.series.values_mut() {
            for points in metrics.values_mut() {
                points.sort_unstable_by_key(RawPoint::key);
            }
        }
        // In key order: the series index is walked once, and the same points give the same
        // rows.
        let mut series: Vec<(&ModelId, &String, &Vec<RawPoint>)> = pending
            .series
            .iter()
            .flat_map(|(model, metrics)| {
                metrics
                    .iter()
                    .map(move |(metric, points)| (model, metric, points))
            })
            .collect();
        series.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let path = &self.path;
        let sqlite = |error| StoreError::Sqlite {
            path: path.clone(),
            action: "writing series points",
            error,
        };
        // No fsync of its own: the chunks derive from inputs already on disk. In WAL mode the
        // transaction is still all or nothing, and the next commit's fsync makes it durable
        // with that commit; a crash before then loses the chunks and the watermark together,
        // and the points are read back from the inputs.
        let tx = self
            .writes
            .begin(&self.connection, Durability::Deferred)
            .map_err(sqlite)?;
        write_chunks(&tx, &series, pending).map_err(sqlite)?;
        self.writes.commit(tx).map_err(sqlite)?;
        let written = pending.count;
        pending.series.clear();
        pending.count = 0;
        pending.stored_through = pending.through;
        Ok(written)
    }
}
