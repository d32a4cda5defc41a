//! [`PgStore`] on PostgreSQL: engine snapshots of the partition, saved at once or in bounded steps.

use crate::snapshots::{Snapshot, SnapshotDraft, SnapshotStep};

use super::{PgStore, not_yet};
use crate::StoreError;

impl PgStore {
    /// As the SQLite store's method of the same name.
    pub fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let _ = snapshot;
        Err(not_yet("save_snapshot"))
    }

    /// As the SQLite store's method of the same name.
    pub fn begin_snapshot(&mut self, snapshot: Snapshot) -> Result<SnapshotDraft, StoreError> {
        let _ = snapshot;
        Err(not_yet("begin_snapshot"))
    }

    /// As the SQLite store's method of the same name.
    pub fn save_snapshot_step(
        &mut self,
        draft: &mut SnapshotDraft,
        max_bytes: usize,
    ) -> Result<SnapshotStep, StoreError> {
        let _ = draft;
        let _ = max_bytes;
        Err(not_yet("save_snapshot_step"))
    }

    /// As the SQLite store's method of the same name.
    pub fn latest_snapshot(&self) -> Result<Option<Snapshot>, StoreError> {
        Err(not_yet("latest_snapshot"))
    }
}
