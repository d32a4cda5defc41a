//! [`PgStore`] on PostgreSQL: series reads, as the SQLite store's (`crate::points`): one
//! series' points a page at a time (the same merge of overlapping chunks, [`PageMerge`], and
//! the same cursors), the models with points and each series' latest point. They see every
//! partition's series. Names sort byte by byte (`COLLATE "C"`), as SQLite sorts them.

use std::path::PathBuf;

use modelwatch_engine::{ModelId, Timestamp};
use postgres::Row;

use super::PgStore;
use super::points::find_series;
use crate::points::{
    Key, LatestPoint, ModelPage, PageMerge, Point, RawPoint, SeriesPage, SeriesQuery, decode,
    sql_seq,
};
use crate::query::Order;
use crate::{MAX_PAGE, StoreError};

/// The columns [`Chunk::read`] reads, in its order.
const CHUNK_COLUMNS: &str = "id, first_time, first_seq, last_time, last_seq, points";

/// A chunk as a series read sees it.
struct Chunk {
    id: i64,
    first: Key,
    last: Key,
    blob: Vec<u8>,
}

impl Chunk {
    fn read(row: &Row) -> Chunk {
        let seq = |index| u64::try_from(row.get::<_, i64>(index)).unwrap_or(0);
        Chunk {
            id: row.get(0),
            first: (row.get(1), seq(2)),
            last: (row.get(3), seq(4)),
            blob: row.get(5),
        }
    }

    fn points(&self, database: &str) -> Result<Vec<RawPoint>, StoreError> {
        decode(&self.blob).map_err(|message| StoreError::CorruptChunk {
            path: PathBuf::from(database),
            chunk: self.id,
            message,
        })
    }
}

impl PgStore {
    /// As the SQLite store's method of the same name.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails, [`StoreError::CorruptChunk`] when a
    /// chunk is unreadable.
    pub fn series(&self, query: &SeriesQuery) -> Result<SeriesPage, StoreError> {
        let error = self.error("reading a series");
        let database = self.database.clone();
        self.call(|client| {
            let series = find_series(client, &query.model, &query.metric).map_err(&error)?;
            let (Some(series), Some(mut merge)) = (series, PageMerge::new(query)) else {
                return Ok(SeriesPage {
                    points: Vec::new(),
                    next: None,
                });
            };
            // Chunks that start before the near end and reach it.
            if let Some((time, seq)) = merge.near() {
                let rows = client
                    .query(
                        &format!(
                            "SELECT {CHUNK_COLUMNS} FROM point_chunks
                             WHERE series = $1 AND (last_time, last_seq) >= ($2, $3)
                               AND (first_time, first_seq) < ($2, $3)"
                        ),
                        &[&series, &time, &sql_seq(seq)],
                    )
                    .map_err(&error)?;
                for row in &rows {
                    merge.take(Chunk::read(row).points(&database)?);
                }
            }
            // The others, from the near end on, until no later chunk can hold a point of
            // the page: read a portion at a time, so that a long series is not read whole.
            let (near, far) = merge.scan();
            let sql = match query.order {
                Order::OldestFirst => format!(
                    "SELECT {CHUNK_COLUMNS} FROM point_chunks
                     WHERE series = $1 AND (first_time, first_seq) >= ($2, $3)
                       AND (first_time, first_seq) < ($4, $5)
                     ORDER BY first_time, first_seq"
                ),
                Order::NewestFirst => format!(
                    "SELECT {CHUNK_COLUMNS} FROM point_chunks
                     WHERE series = $1 AND (last_time, last_seq) < ($2, $3)
                       AND (last_time, last_seq) >= ($4, $5)
                     ORDER BY last_time DESC, last_seq DESC"
                ),
            };
            let mut tx = client.transaction().map_err(&error)?;
            let statement = tx.prepare(&sql).map_err(&error)?;
            let (near_seq, far_seq) = (sql_seq(near.1), sql_seq(far.1));
            let params: [&(dyn postgres::types::ToSql + Sync); 5] =
                [&series, &near.0, &near_seq, &far.0, &far_seq];
            let portal = tx.bind(&statement, &params).map_err(&error)?;
            'chunks: loop {
                let rows = tx.query_portal(&portal, 16).map_err(&error)?;
                if rows.is_empty() {
                    break;
                }
                for row in &rows {
                    let chunk = Chunk::read(row);
                    if merge.is_beyond(chunk.first, chunk.last) {
                        break 'chunks;
                    }
                    merge.take(chunk.points(&database)?);
                }
            }
            tx.commit().map_err(&error)?;
            Ok(merge.page())
        })
    }

    /// As the SQLite store's method of the same name.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
    pub fn model_names(&self, after: Option<&str>, limit: usize) -> Result<ModelPage, StoreError> {
        let error = self.error("listing models");
        let limit = limit.clamp(1, MAX_PAGE);
        let wanted = i64::try_from(limit + 1).unwrap_or(i64::MAX);
        let mut names: Vec<String> = self.call(|client| {
            client
                .query(
                    "SELECT model FROM series
                     WHERE $1::TEXT IS NULL OR model COLLATE \"C\" > $1::TEXT
                     GROUP BY model ORDER BY model COLLATE \"C\" LIMIT $2",
                    &[&after, &wanted],
                )
                .map(|rows| rows.iter().map(|row| row.get(0)).collect())
                .map_err(error)
        })?;
        let next = if names.len() > limit {
            names.truncate(limit);
            names.last().cloned()
        } else {
            None
        };
        Ok(ModelPage { names, next })
    }

    /// As the SQLite store's method of the same name.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
    pub fn latest_points(&self, model: &str) -> Result<Vec<LatestPoint>, StoreError> {
        let error = self.error("reading the latest points");
        let rows = self.call(|client| {
            client
                .query(
                    "SELECT s.version, s.instance, s.metric,
                            c.last_time, c.last_seq, c.last_value
                     FROM series s CROSS JOIN LATERAL (
                         SELECT last_time, last_seq, last_value FROM point_chunks
                         WHERE series = s.id ORDER BY last_time DESC, last_seq DESC LIMIT 1
                     ) c
                     WHERE s.model = $1
                     ORDER BY s.version COLLATE \"C\", s.instance COLLATE \"C\",
                              s.metric COLLATE \"C\"",
                    &[&model],
                )
                .map_err(error)
        })?;
        Ok(rows
            .iter()
            .map(|row| LatestPoint {
                model: ModelId {
                    name: model.to_string(),
                    version: row.get(0),
                    instance: row.get(1),
                },
                metric: row.get(2),
                point: Point {
                    at: Timestamp::from_nanos(row.get(3)),
                    seq: u64::try_from(row.get::<_, i64>(4)).unwrap_or(0),
                    value: row.get(5),
                },
            })
            .collect())
    }
}
