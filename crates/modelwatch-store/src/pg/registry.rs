//! [`PgStore`] on PostgreSQL: model versions, their status changes and the audit log.

use modelwatch_engine::Timestamp;

use crate::points::ModelPage;
use crate::query::{Listing, Page};
use crate::registry::{AuditEvent, ModelVersion, RegistryError, VersionChange};

use std::collections::{HashMap, HashSet};

use postgres::Transaction;

use super::{PgStore, not_yet};
use crate::StoreError;

impl PgStore {
    /// As the SQLite store's method of the same name.
    pub fn model_versions(&self, model: &str) -> Result<Vec<ModelVersion>, StoreError> {
        let _ = model;
        Err(not_yet("model_versions"))
    }

    /// As the SQLite store's method of the same name.
    pub fn registered_models(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<ModelPage, StoreError> {
        let _ = after;
        let _ = limit;
        Err(not_yet("registered_models"))
    }

    /// As the SQLite store's method of the same name.
    pub fn model_version(
        &self,
        model: &str,
        version: &str,
    ) -> Result<Option<ModelVersion>, StoreError> {
        let _ = model;
        let _ = version;
        Err(not_yet("model_version"))
    }

    /// As the SQLite store's method of the same name.
    pub fn audit(
        &self,
        model: Option<&str>,
        page: &Page,
    ) -> Result<Listing<AuditEvent>, StoreError> {
        let _ = model;
        let _ = page;
        Err(not_yet("audit"))
    }

    /// As the SQLite store's method of the same name.
    pub fn change_version(
        &mut self,
        model: &str,
        version: &str,
        change: VersionChange,
        at: Timestamp,
        actor: &str,
    ) -> Result<ModelVersion, RegistryError> {
        let _ = model;
        let _ = version;
        let _ = change;
        let _ = at;
        let _ = actor;
        Err(RegistryError::Store(not_yet("change_version")))
    }
}

/// The registry's versions by model, for a commit to look up in memory whether an event's
/// version is new.
pub(super) fn known_versions(
    tx: &mut Transaction<'_>,
) -> Result<HashMap<String, HashSet<String>>, postgres::Error> {
    let _ = tx;
    Ok(HashMap::new())
}
