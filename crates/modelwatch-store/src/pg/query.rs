//! [`PgStore`] on PostgreSQL: listings of stored outputs: alerts, decisions, canary verdicts.

use crate::query::{
    AlertFilter, CanaryFilter, DecisionFilter, Listing, Page, StoredAlert, StoredCanaryVerdict,
    StoredDecision,
};

use super::{PgStore, not_yet};
use crate::StoreError;

impl PgStore {
    /// As the SQLite store's method of the same name.
    pub fn alerts(
        &self,
        filter: &AlertFilter,
        page: &Page,
    ) -> Result<Listing<StoredAlert>, StoreError> {
        let _ = filter;
        let _ = page;
        Err(not_yet("alerts"))
    }

    /// As the SQLite store's method of the same name.
    pub fn decisions(
        &self,
        filter: &DecisionFilter,
        page: &Page,
    ) -> Result<Listing<StoredDecision>, StoreError> {
        let _ = filter;
        let _ = page;
        Err(not_yet("decisions"))
    }

    /// As the SQLite store's method of the same name.
    pub fn canary_verdicts(
        &self,
        filter: &CanaryFilter,
        page: &Page,
    ) -> Result<Listing<StoredCanaryVerdict>, StoreError> {
        let _ = filter;
        let _ = page;
        Err(not_yet("canary_verdicts"))
    }

    /// As the SQLite store's method of the same name.
    pub fn open_alerts(&self, model: &str) -> Result<Vec<StoredAlert>, StoreError> {
        let _ = model;
        Err(not_yet("open_alerts"))
    }

    /// As the SQLite store's method of the same name.
    pub fn firing_alerts(&self) -> Result<Vec<StoredAlert>, StoreError> {
        Err(not_yet("firing_alerts"))
    }
}
