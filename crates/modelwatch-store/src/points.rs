//! Series points: every metric value of every stored event, for `/v1/series` and the latest
//! values of `/v1/models`, written off the acknowledgement path.
//!
//! Points derive from the stored inputs, so the commit that acknowledges an input does not
//! write them: [`Store::commit`] adds them to a buffer in memory, and [`Store::flush_points`]
//! writes the buffer as one row per series (a chunk: up to [`POINTS_PER_CHUNK`] of its points,
//! sorted, in a blob) and moves the `points_through` watermark in `store_state` in the same
//! transaction. A row per series instead of a row per value is what lets ingest keep up: one
//! B-tree insert carries hundreds of values.
//!
//! The points of every input after the watermark are in the buffer of the store that
//! committed the input or, after a crash, nowhere: [`Store::rebuild_points`] reads them back
//! from the inputs, and `flush_points` calls it before writing, so a flush never skips one.
//! Retention never deletes an input after the watermark, so that read always finds them.
//!
//! Events arrive in stream order, not event-time order, so the chunks of one series may
//! overlap in time: a series read merges them ([`Store::series`]). A point's key is its event
//! time and then its input's sequence number, unique within a series.

use std::collections::HashMap;
use std::path::Path;

use modelwatch_engine::{Input, ModelId, Timestamp};
use rusqlite::{OptionalExtension, Row, Transaction, params};

use crate::query::{LatestPoint, ModelPage, Order, Point, PointCursor, SeriesPage, SeriesQuery};
use crate::writes::Durability;
use crate::{MAX_PAGE, MAX_REPLAY_PAGE, Store, StoreError};

/// Points the writer lets gather in memory before it writes them: 6 MiB, about 2 s of 25,000
/// events/s with 5 metrics each. A flush of 1,200 series took 15 to 35 ms on the 2-core
/// benchmark machine (BENCHMARKS.md); fewer, longer flushes keep more requests clear of them.
pub const POINTS_PER_FLUSH: usize = 262_144;

/// The most points one chunk holds (24 KiB of blob).
pub const POINTS_PER_CHUNK: usize = 1_024;

/// Bytes of one point in a chunk's blob: time (i64), sequence number (u64), value (f64 bits),
/// little-endian.
const POINT_BYTES: usize = 24;

/// A point's key: event time in nanoseconds, then sequence number.
type Key = (i64, u64);

/// One point as chunks hold it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct RawPoint {
    time: i64,
    seq: u64,
    value: f64,
}

impl RawPoint {
    fn key(&self) -> Key {
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

/// The points of inputs after the `points_through` watermark, waiting for a flush.
#[derive(Debug)]
pub(crate) struct PendingPoints {
    /// Per model instance, per metric, in arrival order.
    series: HashMap<ModelId, HashMap<String, Vec<RawPoint>>>,
    /// How many points `series` holds.
    count: usize,
    /// Every input up to this one has its points in a chunk or in `series`.
    through: u64,
    /// The watermark in the database: every input up to this one has its points in a chunk.
    stored_through: u64,
    /// The most points a chunk holds: [`POINTS_PER_CHUNK`], smaller in tests.
    chunk_points: usize,
}

impl PendingPoints {
    /// Nothing pending, with the database's watermark at `stored_through`.
    pub(crate) fn at(stored_through: u64) -> PendingPoints {
        PendingPoints {
            series: HashMap::new(),
            count: 0,
            through: stored_through,
            stored_through,
            chunk_points: POINTS_PER_CHUNK,
        }
    }

    /// Adds the points of input `seq`, the input after `through` (the caller checks).
    pub(crate) fn add(&mut self, seq: u64, input: &Input) {
        self.through = seq;
        let Input::Event(event) = input else { return };
        let time = event.timestamp.unwrap_or_default().as_nanos();
        if event.metrics.is_empty() {
            return;
        }
        let metrics = match self.series.get_mut(&event.model) {
            Some(metrics) => metrics,
            None => self.series.entry(event.model.clone()).or_default(),
        };
        for (metric, value) in &event.metrics {
            let point = RawPoint {
                time,
                seq,
                value: *value,
            };
            match metrics.get_mut(metric.as_str()) {
                Some(points) => points.push(point),
                None => {
                    metrics.insert(metric.clone(), vec![point]);
                }
            }
        }
        self.count += event.metrics.len();
    }

    /// Where the points stand: every input up to this one has its points stored or pending.
    pub(crate) fn through(&self) -> u64 {
        self.through
    }
}

/// A chunk's blob: the points, sorted by key.
fn encode(points: &[RawPoint]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(points.len() * POINT_BYTES);
    for point in points {
        blob.extend_from_slice(&point.time.to_le_bytes());
        blob.extend_from_slice(&point.seq.to_le_bytes());
        blob.extend_from_slice(&point.value.to_bits().to_le_bytes());
    }
    blob
}

/// A chunk's points back from its blob.
fn decode(blob: &[u8]) -> Result<Vec<RawPoint>, String> {
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

/// A sequence number as SQLite stores it (sequence numbers never get near `i64::MAX`).
fn sql_seq(seq: u64) -> i64 {
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
    for chunk in points.chunks(chunk_points.max(1)) {
        let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
            continue;
        };
        insert.execute(params![
            series,
            first.time,
            sql_seq(first.seq),
            last.time,
            sql_seq(last.seq),
            last.value,
            chunk.len() as i64,
            encode(chunk)
        ])?;
    }
    Ok(())
}

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

/// The columns [`read_chunk`] reads, in its order.
const CHUNK_COLUMNS: &str = "id, first_time, first_seq, last_time, last_seq, points";

/// A chunk as a series read sees it.
struct Chunk {
    id: i64,
    first: Key,
    last: Key,
    blob: Vec<u8>,
}

fn read_chunk(row: &Row<'_>) -> rusqlite::Result<Chunk> {
    Ok(Chunk {
        id: row.get(0)?,
        first: (row.get(1)?, row.get(2)?),
        last: (row.get(3)?, row.get(4)?),
        blob: row.get(5)?,
    })
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

    fn decode_chunk(&self, chunk: &Chunk) -> Result<Vec<RawPoint>, StoreError> {
        decode(&chunk.blob).map_err(|message| StoreError::CorruptChunk {
            path: self.path.clone(),
            chunk: chunk.id,
            message,
        })
    }

    /// One series' points, one page, ordered by event time and then sequence number. Only
    /// flushed points are read ([`Store::flush_points`]).
    ///
    /// The page is a merge of the series' chunks, which may overlap: the chunks that straddle
    /// the near end of the range (found through `point_chunks_by_last`), then the others in
    /// order of their near end, until the page is full and the next chunk starts beyond it.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails, [`StoreError::CorruptChunk`] when a chunk
    /// is unreadable.
    pub fn series(&self, query: &SeriesQuery) -> Result<SeriesPage, StoreError> {
        let action = "reading a series";
        let limit = query.limit.clamp(1, MAX_PAGE);
        let series = find_series(&self.connection, &query.model, &query.metric)
            .map_err(self.sqlite("looking a series up"))?;
        let Some(series) = series else {
            return Ok(SeriesPage {
                points: Vec::new(),
                next: None,
            });
        };
        // The range [low, high) of keys.
        let mut low: Option<Key> = query.from.map(|from| (from.as_nanos(), 0));
        let mut high: Option<Key> = query.to.map(|to| (to.as_nanos(), 0));
        if let Some(cursor) = query.after {
            let key = (cursor.at.as_nanos(), cursor.seq);
            match query.order {
                Order::OldestFirst => {
                    let Some(next) = successor(key) else {
                        return Ok(SeriesPage {
                            points: Vec::new(),
                            next: None,
                        });
                    };
                    low = low.max(Some(next));
                }
                Order::NewestFirst => high = Some(high.map_or(key, |high| high.min(key))),
            }
        }
        let in_range = |point: &RawPoint| {
            low.is_none_or(|low| point.key() >= low) && high.is_none_or(|high| point.key() < high)
        };
        let wanted = limit + 1;
        let mut found: Vec<RawPoint> = Vec::new();
        let take = |chunk: &Chunk, found: &mut Vec<RawPoint>| -> Result<(), StoreError> {
            found.extend(self.decode_chunk(chunk)?.into_iter().filter(in_range));
            match query.order {
                Order::OldestFirst => found.sort_unstable_by_key(RawPoint::key),
                Order::NewestFirst => {
                    found.sort_unstable_by_key(|point| std::cmp::Reverse(point.key()))
                }
            }
            found.truncate(wanted);
            Ok(())
        };
        // Chunks that start before the near end and reach it.
        let near = match query.order {
            Order::OldestFirst => low,
            Order::NewestFirst => high,
        };
        if let Some((time, seq)) = near {
            let mut statement = self
                .connection
                .prepare_cached(&format!(
                    "SELECT {CHUNK_COLUMNS} FROM point_chunks
                     WHERE series = ?1 AND (last_time, last_seq) >= (?2, ?3)
                       AND (first_time, first_seq) < (?2, ?3)"
                ))
                .map_err(self.sqlite(action))?;
            let mut rows = statement
                .query(params![series, time, sql_seq(seq)])
                .map_err(self.sqlite(action))?;
            while let Some(row) = rows.next().map_err(self.sqlite(action))? {
                let chunk = read_chunk(row).map_err(self.sqlite(action))?;
                take(&chunk, &mut found)?;
            }
        }
        // The others, from the near end on, until no later chunk can hold a point of the page.
        let (sql, near, far) = match query.order {
            Order::OldestFirst => (
                format!(
                    "SELECT {CHUNK_COLUMNS} FROM point_chunks
                     WHERE series = ?1 AND (first_time, first_seq) >= (?2, ?3)
                       AND (first_time, first_seq) < (?4, ?5)
                     ORDER BY first_time, first_seq"
                ),
                low.unwrap_or((i64::MIN, 0)),
                high.unwrap_or((i64::MAX, u64::MAX)),
            ),
            Order::NewestFirst => (
                format!(
                    "SELECT {CHUNK_COLUMNS} FROM point_chunks
                     WHERE series = ?1 AND (last_time, last_seq) < (?2, ?3)
                       AND (last_time, last_seq) >= (?4, ?5)
                     ORDER BY last_time DESC, last_seq DESC"
                ),
                high.unwrap_or((i64::MAX, u64::MAX)),
                low.unwrap_or((i64::MIN, 0)),
            ),
        };
        let mut statement = self
            .connection
            .prepare_cached(&sql)
            .map_err(self.sqlite(action))?;
        let mut rows = statement
            .query(params![
                series,
                near.0,
                sql_seq(near.1),
                far.0,
                sql_seq(far.1)
            ])
            .map_err(self.sqlite(action))?;
        while let Some(row) = rows.next().map_err(self.sqlite(action))? {
            let chunk = read_chunk(row).map_err(self.sqlite(action))?;
            if let Some(edge) = found.get(limit) {
                let beyond = match query.order {
                    Order::OldestFirst => edge.key() < chunk.first,
                    Order::NewestFirst => edge.key() > chunk.last,
                };
                if beyond {
                    break;
                }
            }
            take(&chunk, &mut found)?;
        }
        let next = if found.len() > limit {
            found.truncate(limit);
            found.last().map(|point| PointCursor {
                at: Timestamp::from_nanos(point.time),
                seq: point.seq,
            })
        } else {
            None
        };
        Ok(SeriesPage {
            points: found.into_iter().map(RawPoint::point).collect(),
            next,
        })
    }

    /// Names of the models that have stored points, in name order, one page: names after
    /// `after`, at most `limit` (capped like [`crate::Page::limit`]).
    ///
    /// A skip scan of the `series` key: one index seek per name, however many series.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn model_names(&self, after: Option<&str>, limit: usize) -> Result<ModelPage, StoreError> {
        let action = "listing models";
        let limit = limit.clamp(1, MAX_PAGE);
        let mut first = self
            .connection
            .prepare_cached("SELECT model FROM series ORDER BY model LIMIT 1")
            .map_err(self.sqlite(action))?;
        let mut following = self
            .connection
            .prepare_cached("SELECT model FROM series WHERE model > ?1 ORDER BY model LIMIT 1")
            .map_err(self.sqlite(action))?;
        let mut names: Vec<String> = Vec::new();
        while names.len() <= limit {
            let previous = names.last().map(String::as_str).or(after);
            let next = match previous {
                None => first.query_row([], |row| row.get(0)),
                Some(previous) => following.query_row([previous], |row| row.get(0)),
            }
            .optional()
            .map_err(self.sqlite(action))?;
            match next {
                Some(name) => names.push(name),
                None => break,
            }
        }
        let next = if names.len() > limit {
            names.truncate(limit);
            names.last().cloned()
        } else {
            None
        };
        Ok(ModelPage { names, next })
    }

    /// The latest stored point (by event time, then sequence number) of every series of
    /// `model`, in (version, instance, metric) order; empty for a model without points.
    ///
    /// One index seek per series: the chunk that ends last holds the latest point, and its
    /// row carries it.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn latest_points(&self, model: &str) -> Result<Vec<LatestPoint>, StoreError> {
        let action = "reading the latest points";
        let mut series = self
            .connection
            .prepare_cached(
                "SELECT id, version, instance, metric FROM series WHERE model = ?1
                 ORDER BY version, instance, metric",
            )
            .map_err(self.sqlite(action))?;
        let mut latest = self
            .connection
            .prepare_cached(
                "SELECT last_time, last_seq, last_value FROM point_chunks WHERE series = ?1
                 ORDER BY last_time DESC, last_seq DESC LIMIT 1",
            )
            .map_err(self.sqlite(action))?;
        let rows = series
            .query_map([model], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                ))
            })
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
            .map_err(self.sqlite(action))?;
        let mut points = Vec::with_capacity(rows.len());
        for (id, version, instance, metric) in rows {
            let point = latest
                .query_row([id], |row| {
                    Ok(Point {
                        at: Timestamp::from_nanos(row.get(0)?),
                        seq: row.get(1)?,
                        value: row.get(2)?,
                    })
                })
                .optional()
                .map_err(self.sqlite(action))?;
            if let Some(point) = point {
                points.push(LatestPoint {
                    model: ModelId {
                        name: model.to_string(),
                        version,
                        instance,
                    },
                    metric,
                    point,
                });
            }
        }
        Ok(points)
    }

    /// Stored points, plus those this store holds pending.
    pub(crate) fn count_points(&self) -> Result<u64, StoreError> {
        let stored: u64 = self
            .connection
            .prepare_cached("SELECT coalesce(sum(count), 0) FROM point_chunks")
            .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
            .map_err(self.sqlite("counting rows"))?;
        Ok(stored + self.points.count as u64)
    }
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
    tx.prepare_cached(
        "DELETE FROM series WHERE id = ?1
         AND NOT EXISTS (SELECT 1 FROM point_chunks WHERE series = ?1)",
    )
    .and_then(|mut statement| statement.execute([series]))
    .map_err(sqlite)?;
    Ok(deleted)
}

/// The key right after `key`, if there is one.
fn successor((time, seq): Key) -> Option<Key> {
    match seq.checked_add(1) {
        Some(seq) => Some((time, seq)),
        None => time.checked_add(1).map(|time| (time, 0)),
    }
}

#[cfg(test)]
mod tests;
