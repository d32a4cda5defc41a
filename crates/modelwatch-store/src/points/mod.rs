//! Series points: every metric value of every stored event, for `/v1/series` and the latest
//! values of `/v1/models`, written off the acknowledgement path.
//!
//! Points derive from the stored inputs, so the commit that acknowledges an input does not
//! write them: [`Store::commit`](crate::Store::commit) adds them to a buffer in memory, and [`Store::flush_points`](crate::Store::flush_points)
//! writes the buffer as one row per series (a chunk: up to [`POINTS_PER_CHUNK`] of its points,
//! sorted, in a blob) and moves the `points_through` watermark in `store_state` in the same
//! transaction. A row per series instead of a row per value is what lets ingest keep up: one
//! B-tree insert carries hundreds of values.
//!
//! The points of every input after the watermark are in the buffer of the store that
//! committed the input or, after a crash, nowhere: [`Store::rebuild_points`](crate::Store::rebuild_points) reads them back
//! from the inputs, and `flush_points` calls it before writing, so a flush never skips one.
//! Retention never deletes an input after the watermark, so that read always finds them.
//!
//! [`Store::flush_points_step`](crate::Store::flush_points_step) writes the buffer in bounded steps between commits instead: a
//! round takes the points of the inputs committed when it began, series by series in key
//! order, a series whole (or the oldest part of a long one) per step, and moves the watermark
//! with its last step. A series written before the round ends records how far in its row
//! (`series.points_through`), and reading back after a crash skips its points up to there; a
//! point leaves the buffer when the step that wrote it commits. So, steps or not, every stored
//! input's points are in their series exactly once, or in the buffer, or (after a crash)
//! read back from the inputs by the next flush.
//!
//! Events arrive in stream order, not event-time order, so the chunks of one series may
//! overlap in time: a series read merges them ([`Store::series`](crate::Store::series)). A point's key is its event
//! time and then its input's sequence number, unique within a series.
//!
//! `pending.rs` holds the buffer, `flush.rs` its writing (at once or in bounded steps) and
//! the reading back after a crash, `read.rs` the series reads; this file the chunks' format
//! and what writes and retention share.

mod flush;
mod pending;
mod read;

use std::path::Path;

use modelwatch_engine::{ModelId, Timestamp};
use rusqlite::{OptionalExtension, Transaction, params};

pub use flush::PointsStep;
pub(crate) use flush::pending_at_open;
pub(crate) use pending::{PendingPoints, Plan};
pub(crate) use read::PageMerge;
pub use read::{LatestPoint, ModelPage, Point, PointCursor, SeriesPage, SeriesQuery};

use crate::StoreError;

/// Points the writer lets gather in memory before it writes them: 6 MiB, about 2 s of 25,000
/// events/s with 5 metrics each. Written at once ([`crate::Store::flush_points`]) they pause
/// the writer for tens of milliseconds (BENCHMARKS.md); in steps
/// ([`crate::Store::flush_points_step`]) for a bounded time each.
pub const POINTS_PER_FLUSH: usize = 262_144;

/// The most points one chunk holds (24 KiB of blob).
pub const POINTS_PER_CHUNK: usize = 1_024;

/// Bytes of one point in a chunk's blob: time (i64), sequence number (u64), value (f64 bits),
/// little-endian.
const POINT_BYTES: usize = 24;

/// A point's key: event time in nanoseconds, then sequence number.
pub(crate) type Key = (i64, u64);

/// Metric values as a JSON object, in their order: how `quality_points.metrics` holds a
/// quality output's values.
pub(crate) struct ValuesForm<'a>(pub(crate) &'a [(String, f64)]);

impl serde::Serialize for ValuesForm<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// Reads [`ValuesForm`] back, in its order.
pub(crate) fn read_values(text: &str) -> Result<Vec<(String, f64)>, String> {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|error| error.to_string())?;
    map.into_iter()
        .map(|(name, value)| match value.as_f64() {
            Some(number) => Ok((name, number)),
            None => Err(format!("{name} is not a number")),
        })
        .collect()
}

/// One point as chunks hold it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RawPoint {
    /// Event time, nanoseconds.
    pub(crate) time: i64,
    /// The input it came with.
    pub(crate) seq: u64,
    /// The value.
    pub(crate) value: f64,
}

impl RawPoint {
    pub(crate) fn key(&self) -> Key {
        (self.time, self.seq)
    }

    fn point(self) -> Point {
        Point {
            at: Timestamp::from_nanos(self.time),
            seq: self.seq,
            value: self.value,
        }
    }
}

/// A chunk's blob: the points, sorted by key.
pub(crate) fn encode(points: &[RawPoint]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(points.len() * POINT_BYTES);
    for point in points {
        blob.extend_from_slice(&point.time.to_le_bytes());
        blob.extend_from_slice(&point.seq.to_le_bytes());
        blob.extend_from_slice(&point.value.to_bits().to_le_bytes());
    }
    blob
}

/// A chunk's points back from its blob.
pub(crate) fn decode(blob: &[u8]) -> Result<Vec<RawPoint>, String> {
    if !blob.len().is_multiple_of(POINT_BYTES) {
        return Err(format!(
            "its blob is {} bytes, not a whole number of {POINT_BYTES}-byte points",
            blob.len()
        ));
    }
    let word = |bytes: &[u8]| -> [u8; 8] {
        let mut word = [0; 8];
        word.copy_from_slice(bytes);
        word
    };
    Ok(blob
        .chunks_exact(POINT_BYTES)
        .map(|bytes| RawPoint {
            time: i64::from_le_bytes(word(&bytes[0..8])),
            seq: u64::from_le_bytes(word(&bytes[8..16])),
            value: f64::from_bits(u64::from_le_bytes(word(&bytes[16..24]))),
        })
        .collect())
}

/// A sequence number as the databases store it (sequence numbers never get near
/// `i64::MAX`).
pub(crate) fn sql_seq(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// The id of a stored series, if it has one.
fn find_series(
    connection: &rusqlite::Connection,
    model: &ModelId,
    metric: &str,
) -> rusqlite::Result<Option<i64>> {
    connection
        .prepare_cached(
            "SELECT id FROM series
             WHERE model = ?1 AND version = ?2 AND instance = ?3 AND metric = ?4",
        )?
        .query_row(
            params![model.name, model.version, model.instance, metric],
            |row| row.get(0),
        )
        .optional()
}

/// The id of a series, creating its row when there is none.
fn series_id(tx: &Transaction<'_>, model: &ModelId, metric: &str) -> rusqlite::Result<i64> {
    if let Some(id) = find_series(tx, model, metric)? {
        return Ok(id);
    }
    tx.prepare_cached(
        "INSERT OR ROLLBACK INTO series (model, version, instance, metric) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![model.name, model.version, model.instance, metric])?;
    Ok(tx.last_insert_rowid())
}

/// One chunk's row: its first and last point, how many it holds and its blob.
pub(crate) struct ChunkRow {
    pub(crate) first: RawPoint,
    pub(crate) last: RawPoint,
    pub(crate) count: i64,
    pub(crate) blob: Vec<u8>,
}

/// One series' points, sorted by key, as the rows of chunks of at most `chunk_points`.
pub(crate) fn chunk_rows(
    points: &[RawPoint],
    chunk_points: usize,
) -> impl Iterator<Item = ChunkRow> + '_ {
    points.chunks(chunk_points.max(1)).filter_map(|chunk| {
        let (first, last) = (chunk.first()?, chunk.last()?);
        Some(ChunkRow {
            first: *first,
            last: *last,
            count: chunk.len() as i64,
            blob: encode(chunk),
        })
    })
}

/// Writes one series' points, sorted by key, as chunks of at most `chunk_points`.
fn insert_chunks(
    tx: &Transaction<'_>,
    series: i64,
    points: &[RawPoint],
    chunk_points: usize,
) -> rusqlite::Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT OR ROLLBACK INTO point_chunks
             (series, first_time, first_seq, last_time, last_seq, last_value, count, points)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for row in chunk_rows(points, chunk_points) {
        insert.execute(params![
            series,
            row.first.time,
            sql_seq(row.first.seq),
            row.last.time,
            sql_seq(row.last.seq),
            row.last.value,
            row.count,
            row.blob
        ])?;
    }
    Ok(())
}

/// Migration 3: moves the rows of the old `points` table (one per value) into chunks and drops
/// it. Every stored input then has its points in chunks, so the watermark is the last input.
pub(crate) fn migrate_point_rows(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    {
        let mut rows = tx.prepare(
            "SELECT model, version, instance, metric, time, seq, value FROM points
             ORDER BY model, version, instance, metric, time, seq",
        )?;
        let mut rows = rows.query([])?;
        let mut current: Option<(ModelId, String, i64)> = None;
        let mut points: Vec<RawPoint> = Vec::with_capacity(POINTS_PER_CHUNK);
        while let Some(row) = rows.next()? {
            let model = ModelId {
                name: row.get(0)?,
                version: row.get(1)?,
                instance: row.get(2)?,
            };
            let metric: String = row.get(3)?;
            let point = RawPoint {
                time: row.get(4)?,
                seq: row.get(5)?,
                value: row.get(6)?,
            };
            let same = current
                .as_ref()
                .is_some_and(|(m, name, _)| *m == model && *name == metric);
            if !same || points.len() == POINTS_PER_CHUNK {
                if let Some((_, _, id)) = &current {
                    insert_chunks(tx, *id, &points, POINTS_PER_CHUNK)?;
                }
                points.clear();
                if !same {
                    let id = series_id(tx, &model, &metric)?;
                    current = Some((model, metric, id));
                }
            }
            points.push(point);
        }
        if let Some((_, _, id)) = &current {
            insert_chunks(tx, *id, &points, POINTS_PER_CHUNK)?;
        }
    }
    tx.execute_batch(
        "DROP TABLE points;
         UPDATE store_state SET points_through = last_seq WHERE id = 1;",
    )
}

/// Deletes the stored points of series `series` with an event time before `cutoff`: chunks
/// wholly before it go, chunks across it are rewritten with the points left, and a series left
/// without points loses its row. Returns how many points went.
///
/// # Errors
///
/// [`StoreError::Sqlite`] when SQLite fails, [`StoreError::CorruptChunk`] when a chunk across
/// the cutoff is unreadable.
pub(crate) fn delete_points_before(
    tx: &Transaction<'_>,
    path: &Path,
    series: i64,
    cutoff: Timestamp,
) -> Result<u64, StoreError> {
    let sqlite = |error| StoreError::Sqlite {
        path: path.to_path_buf(),
        action: "deleting old points",
        error,
    };
    let cutoff = cutoff.as_nanos();
    let mut deleted: u64 = tx
        .prepare_cached(
            "DELETE FROM point_chunks WHERE series = ?1 AND last_time < ?2 RETURNING count",
        )
        .and_then(|mut statement| {
            statement
                .query_map(params![series, cutoff], |row| row.get::<_, u64>(0))?
                .sum::<rusqlite::Result<u64>>()
        })
        .map_err(sqlite)?;
    let across: Vec<(i64, Vec<u8>)> = tx
        .prepare_cached("SELECT id, points FROM point_chunks WHERE series = ?1 AND first_time < ?2")
        .and_then(|mut statement| {
            statement
                .query_map(params![series, cutoff], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })?
                .collect()
        })
        .map_err(sqlite)?;
    for (chunk, blob) in across {
        let points = decode(&blob).map_err(|message| StoreError::CorruptChunk {
            path: path.to_path_buf(),
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
        tx.prepare_cached(
            "UPDATE point_chunks SET first_time = ?2, first_seq = ?3, count = ?4, points = ?5
             WHERE id = ?1",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                chunk,
                first.time,
                sql_seq(first.seq),
                kept.len() as i64,
                encode(&kept)
            ])
        })
        .map_err(sqlite)?;
    }
    // A series a flush in steps wrote past the watermark keeps its row, which says how far:
    // the points it holds must not come back from the inputs after a crash.
    tx.prepare_cached(
        "DELETE FROM series WHERE id = ?1
         AND NOT EXISTS (SELECT 1 FROM point_chunks WHERE series = ?1)
         AND points_through <= (SELECT points_through FROM store_state WHERE id = 1)",
    )
    .and_then(|mut statement| statement.execute([series]))
    .map_err(sqlite)?;
    Ok(deleted)
}

#[cfg(test)]
mod tests;
