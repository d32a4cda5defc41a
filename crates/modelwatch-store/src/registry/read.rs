//! Registry reads: a model's versions, the models with versions, one version, and the audit
//! log, a page at a time.

use modelwatch_engine::Timestamp;
use rusqlite::{OptionalExtension, Row, params};

use super::{AuditEvent, ModelVersion, VERSION_COLUMNS, read_version};
use crate::points::ModelPage;
use crate::query::{Clauses, Listing, Page};
use crate::{MAX_PAGE, SqliteStore, StoreError};

impl SqliteStore {
    /// Every version of a model, oldest first.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn model_versions(&self, model: &str) -> Result<Vec<ModelVersion>, StoreError> {
        self.rows(
            "reading a model's versions",
            &format!(
                "SELECT {VERSION_COLUMNS} FROM model_versions WHERE model = ?1
                 ORDER BY created_at, version"
            ),
            [model],
            read_version,
        )
    }

    /// Names of the models the registry knows (every model an event named since the registry
    /// exists, whether or not points of it are still stored), in name order, one page: names
    /// after `after`, at most `limit` (capped like [`crate::Page::limit`]).
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn registered_models(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<ModelPage, StoreError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
        let action = "listing the registry's models";
        let name = |row: &Row<'_>| row.get::<_, String>(0);
        let mut names = match after {
            None => self.rows(
                action,
                "SELECT DISTINCT model FROM model_versions ORDER BY model LIMIT ?1",
                [fetch],
                name,
            ),
            Some(after) => self.rows(
                action,
                "SELECT DISTINCT model FROM model_versions WHERE model > ?1 ORDER BY model
                 LIMIT ?2",
                params![after, fetch],
                name,
            ),
        }?;
        let next = if names.len() > limit {
            names.truncate(limit);
            names.last().cloned()
        } else {
            None
        };
        Ok(ModelPage { names, next })
    }

    /// One version of a model.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn model_version(
        &self,
        model: &str,
        version: &str,
    ) -> Result<Option<ModelVersion>, StoreError> {
        let action = "reading a model version";
        self.connection
            .prepare_cached(&format!(
                "SELECT {VERSION_COLUMNS} FROM model_versions WHERE model = ?1 AND version = ?2"
            ))
            .and_then(|mut statement| {
                statement
                    .query_row(params![model, version], read_version)
                    .optional()
            })
            .map_err(self.sqlite(action))
    }

    /// The audit log of a model (or of every model), one page.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn audit(
        &self,
        model: Option<&str>,
        page: &Page,
    ) -> Result<Listing<AuditEvent>, StoreError> {
        let mut clauses = Clauses::default();
        clauses.equals("model", model);
        self.list(
            "SELECT pos, at, actor, action, model, version, job_id, detail FROM audit",
            clauses,
            page,
            |row| {
                Ok(AuditEvent {
                    pos: row.get(0)?,
                    at: Timestamp::from_nanos(row.get(1)?),
                    actor: row.get(2)?,
                    action: row.get(3)?,
                    model: row.get(4)?,
                    version: row.get(5)?,
                    job_id: row.get(6)?,
                    detail: row.get(7)?,
                })
            },
            |event| event.pos,
        )
    }
}
