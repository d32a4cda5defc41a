//! [`PgStore`] on PostgreSQL: the deletion of old inputs, points and deliveries.

use modelwatch_engine::Timestamp;

use crate::retention::{RetentionTotals, SeriesCursor, Step};

use super::{PgStore, not_yet};
use crate::StoreError;

impl PgStore {
    /// As the SQLite store's method of the same name.
    pub fn retention_totals(&self) -> Result<RetentionTotals, StoreError> {
        Err(not_yet("retention_totals"))
    }

    /// As the SQLite store's method of the same name.
    pub fn delete_old_inputs(
        &mut self,
        cutoff: Timestamp,
        through: u64,
        limit: usize,
    ) -> Result<Step, StoreError> {
        let _ = cutoff;
        let _ = through;
        let _ = limit;
        Err(not_yet("delete_old_inputs"))
    }

    /// As the SQLite store's method of the same name.
    pub fn delete_old_points(
        &mut self,
        cutoff: Timestamp,
        cursor: &mut SeriesCursor,
        max_series: usize,
    ) -> Result<Step, StoreError> {
        let _ = cutoff;
        let _ = cursor;
        let _ = max_series;
        Err(not_yet("delete_old_points"))
    }

    /// As the SQLite store's method of the same name.
    pub fn delete_old_deliveries(
        &mut self,
        cutoff: Timestamp,
        limit: usize,
    ) -> Result<Step, StoreError> {
        let _ = cutoff;
        let _ = limit;
        Err(not_yet("delete_old_deliveries"))
    }
}
