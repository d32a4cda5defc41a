//! [`PgStore`] on PostgreSQL: the group commit of a batch and the reads of stored inputs.

use crate::query::StoredInput;
use crate::{Batch, Committed, Counts};

use super::{PgStore, not_yet};
use crate::StoreError;

impl PgStore {
    /// As the SQLite store's method of the same name.
    pub fn commit(&mut self, batch: &Batch) -> Result<Committed, StoreError> {
        let _ = batch;
        Err(not_yet("commit"))
    }

    /// As the SQLite store's method of the same name.
    pub fn last_seq(&self) -> Result<u64, StoreError> {
        Err(not_yet("last_seq"))
    }

    /// As the SQLite store's method of the same name.
    pub fn inputs_after(&self, seq: u64, limit: usize) -> Result<Vec<StoredInput>, StoreError> {
        let _ = seq;
        let _ = limit;
        Err(not_yet("inputs_after"))
    }

    /// As the SQLite store's method of the same name.
    pub fn counts(&self) -> Result<Counts, StoreError> {
        Err(not_yet("counts"))
    }
}
