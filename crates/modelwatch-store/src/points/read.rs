//! Series reads: one series' points a page at a time ([`Store::series`](crate::Store::series)), the models with
//! points ([`Store::model_names`](crate::Store::model_names)) and each series' latest point ([`Store::latest_points`](crate::Store::latest_points)).

use modelwatch_engine::{ModelId, Timestamp};
use rusqlite::{OptionalExtension, Row, params};

use super::{Key, RawPoint, decode, find_series, sql_seq};
use crate::query::Order;
use crate::{MAX_PAGE, SqliteStore, StoreError};

/// One series' points in an event-time range: `[from, to)`, either end open when `None`.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesQuery {
    /// The model instance.
    pub model: ModelId,
    /// The metric.
    pub metric: String,
    /// At or after this time.
    pub from: Option<Timestamp>,
    /// Before this time.
    pub to: Option<Timestamp>,
    /// Start after this point (a previous page's `next`).
    pub after: Option<PointCursor>,
    /// The most points wanted, capped like [`crate::Page::limit`].
    pub limit: usize,
    /// Newest or oldest first.
    pub order: Order,
}

/// Where a page of series points ends: a point's time and sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PointCursor {
    /// The point's event time.
    pub at: Timestamp,
    /// The point's input.
    pub seq: u64,
}

/// One metric value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Its event time.
    pub at: Timestamp,
    /// The input it came with.
    pub seq: u64,
    /// The value.
    pub value: f64,
}

/// One page of series points.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesPage {
    /// The points, in the order asked for (by time, then sequence number).
    pub points: Vec<Point>,
    /// The cursor of the next page, or `None` when this page is the last.
    pub next: Option<PointCursor>,
}

/// One page of model names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelPage {
    /// The names, in name order.
    pub names: Vec<String>,
    /// The cursor of the next page (the last name), or `None` when this page is the last.
    pub next: Option<String>,
}

/// The latest point of one series.
#[derive(Clone, Debug, PartialEq)]
pub struct LatestPoint {
    /// The model instance.
    pub model: ModelId,
    /// The metric.
    pub metric: String,
    /// The point.
    pub point: Point,
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

impl SqliteStore {
    fn decode_chunk(&self, chunk: &Chunk) -> Result<Vec<RawPoint>, StoreError> {
        decode(&chunk.blob).map_err(|message| StoreError::CorruptChunk {
            path: self.path.clone(),
            chunk: chunk.id,
            message,
        })
    }

    /// One series' points, one page, ordered by event time and then sequence number. Only
    /// flushed points are read ([`Store::flush_points`](crate::Store::flush_points)).
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
        let series = find_series(&self.connection, &query.model, &query.metric)
            .map_err(self.sqlite("looking a series up"))?;
        let Some(series) = series else {
            return Ok(SeriesPage::empty());
        };
        let Some(mut merge) = PageMerge::new(query) else {
            return Ok(SeriesPage::empty());
        };
        // Chunks that start before the near end and reach it.
        if let Some((time, seq)) = merge.near() {
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
                merge.take(self.decode_chunk(&chunk)?);
            }
        }
        // The others, from the near end on, until no later chunk can hold a point of the page.
        let (near, far) = merge.scan();
        let sql = match query.order {
            Order::OldestFirst => format!(
                "SELECT {CHUNK_COLUMNS} FROM point_chunks
                 WHERE series = ?1 AND (first_time, first_seq) >= (?2, ?3)
                   AND (first_time, first_seq) < (?4, ?5)
                 ORDER BY first_time, first_seq"
            ),
            Order::NewestFirst => format!(
                "SELECT {CHUNK_COLUMNS} FROM point_chunks
                 WHERE series = ?1 AND (last_time, last_seq) < (?2, ?3)
                   AND (last_time, last_seq) >= (?4, ?5)
                 ORDER BY last_time DESC, last_seq DESC"
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
            if merge.is_beyond(chunk.first, chunk.last) {
                break;
            }
            merge.take(self.decode_chunk(&chunk)?);
        }
        Ok(merge.page())
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
        Ok(stored + self.points.len() as u64)
    }
}

impl SeriesPage {
    fn empty() -> SeriesPage {
        SeriesPage {
            points: Vec::new(),
            next: None,
        }
    }
}

/// A page of one series being merged from its chunks, whatever the database: the range of
/// keys the query asks for, and the points found so far. A backend reads the chunks that
/// straddle [`PageMerge::near`], then those of [`PageMerge::scan`] in order of their near
/// end until [`PageMerge::is_beyond`], handing each one's points to [`PageMerge::take`].
pub(crate) struct PageMerge {
    order: Order,
    limit: usize,
    /// The range `[low, high)` of keys.
    low: Option<Key>,
    high: Option<Key>,
    /// Up to `limit + 1` points, in the order asked for.
    found: Vec<RawPoint>,
}

impl PageMerge {
    /// The merge of `query`'s page; `None` when the page is empty whatever is stored (its
    /// cursor is the last key there can be).
    pub(crate) fn new(query: &SeriesQuery) -> Option<PageMerge> {
        let mut low: Option<Key> = query.from.map(|from| (from.as_nanos(), 0));
        let mut high: Option<Key> = query.to.map(|to| (to.as_nanos(), 0));
        if let Some(cursor) = query.after {
            let key = (cursor.at.as_nanos(), cursor.seq);
            match query.order {
                Order::OldestFirst => low = low.max(Some(successor(key)?)),
                Order::NewestFirst => high = Some(high.map_or(key, |high| high.min(key))),
            }
        }
        Some(PageMerge {
            order: query.order,
            limit: query.limit.clamp(1, MAX_PAGE),
            low,
            high,
            found: Vec::new(),
        })
    }

    /// The near end of the range, if it has one: chunks that start before it and reach it
    /// (`first < near <= last`) are read first.
    pub(crate) fn near(&self) -> Option<Key> {
        match self.order {
            Order::OldestFirst => self.low,
            Order::NewestFirst => self.high,
        }
    }

    /// The bounds `(near, far)` of the ordered read of the other chunks: oldest first, those
    /// with `near <= first < far` by `first`; newest first, those with `far <= last < near`
    /// by `last` descending.
    pub(crate) fn scan(&self) -> (Key, Key) {
        let lowest = self.low.unwrap_or((i64::MIN, 0));
        let highest = self.high.unwrap_or((i64::MAX, u64::MAX));
        match self.order {
            Order::OldestFirst => (lowest, highest),
            Order::NewestFirst => (highest, lowest),
        }
    }

    /// Whether the page is full and the chunk from `first` to `last` starts beyond it (so
    /// do all later chunks of the ordered read).
    pub(crate) fn is_beyond(&self, first: Key, last: Key) -> bool {
        self.found
            .get(self.limit)
            .is_some_and(|edge| match self.order {
                Order::OldestFirst => edge.key() < first,
                Order::NewestFirst => edge.key() > last,
            })
    }

    /// Merges a chunk's points in.
    pub(crate) fn take(&mut self, points: Vec<RawPoint>) {
        let (low, high) = (self.low, self.high);
        self.found.extend(points.into_iter().filter(|point| {
            low.is_none_or(|low| point.key() >= low) && high.is_none_or(|high| point.key() < high)
        }));
        match self.order {
            Order::OldestFirst => self.found.sort_unstable_by_key(RawPoint::key),
            Order::NewestFirst => self
                .found
                .sort_unstable_by_key(|point| std::cmp::Reverse(point.key())),
        }
        self.found.truncate(self.limit + 1);
    }

    /// The page, with the cursor of the next one when there are more points.
    pub(crate) fn page(mut self) -> SeriesPage {
        let next = if self.found.len() > self.limit {
            self.found.truncate(self.limit);
            self.found.last().map(|point| PointCursor {
                at: Timestamp::from_nanos(point.time),
                seq: point.seq,
            })
        } else {
            None
        };
        SeriesPage {
            points: self.found.into_iter().map(RawPoint::point).collect(),
            next,
        }
    }
}

/// The key right after `key`, if there is one.
pub(crate) fn successor((time, seq): Key) -> Option<Key> {
    match seq.checked_add(1) {
        Some(seq) => Some((time, seq)),
        None => time.checked_add(1).map(|time| (time, 0)),
    }
}
