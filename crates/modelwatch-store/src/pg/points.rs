//! [`PgStore`] on PostgreSQL: series points: written after their commit, in chunks per series, and read by page.

use crate::points::{LatestPoint, ModelPage, PointsStep, SeriesPage, SeriesQuery};

use super::{PgStore, not_yet};
use crate::StoreError;

impl PgStore {
    /// As the SQLite store's method of the same name.
    pub fn pending_points(&self) -> usize {
        0
    }

    /// As the SQLite store's method of the same name.
    pub fn points_watermark(&self) -> u64 {
        0
    }

    /// As the SQLite store's method of the same name.
    pub fn rebuild_points(&mut self) -> Result<u64, StoreError> {
        Err(not_yet("rebuild_points"))
    }

    /// As the SQLite store's method of the same name.
    pub fn flush_points(&mut self) -> Result<usize, StoreError> {
        Err(not_yet("flush_points"))
    }

    /// As the SQLite store's method of the same name.
    pub fn flush_points_step(&mut self, max_points: usize) -> Result<PointsStep, StoreError> {
        let _ = max_points;
        Err(not_yet("flush_points_step"))
    }

    /// As the SQLite store's method of the same name.
    pub fn series(&self, query: &SeriesQuery) -> Result<SeriesPage, StoreError> {
        let _ = query;
        Err(not_yet("series"))
    }

    /// As the SQLite store's method of the same name.
    pub fn model_names(&self, after: Option<&str>, limit: usize) -> Result<ModelPage, StoreError> {
        let _ = after;
        let _ = limit;
        Err(not_yet("model_names"))
    }

    /// As the SQLite store's method of the same name.
    pub fn latest_points(&self, model: &str) -> Result<Vec<LatestPoint>, StoreError> {
        let _ = model;
        Err(not_yet("latest_points"))
    }
}
