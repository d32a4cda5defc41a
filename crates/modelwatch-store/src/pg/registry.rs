//! [`PgStore`] on PostgreSQL: model versions, their status changes and the audit log, as the
//! SQLite store's (`crate::registry`): the same rules, details and order. Names sort
//! byte-wise (`COLLATE "C"`), as SQLite's do.

use std::collections::{HashMap, HashSet};

use modelwatch_engine::Timestamp;
use postgres::{GenericClient, Row, Transaction};

use super::PgStore;
use super::query::Clauses;
use crate::points::ModelPage;
use crate::query::{Listing, Page};
use crate::registry::{
    AuditEvent, ModelVersion, RegistryError, VersionChange, VersionSource, VersionStatus,
    registered_detail, registered_status, replaced_detail, restored_detail, source_changed_detail,
    takes_job_source,
};
use crate::{MAX_PAGE, StoreError};

/// The columns [`read_version`] reads, in its order.
const VERSION_COLUMNS: &str = "model, version, created_at, source, job_id, status, updated_at";

fn read_version(row: &Row) -> Result<ModelVersion, postgres::Error> {
    let status: String = row.try_get(5)?;
    Ok(ModelVersion {
        model: row.try_get(0)?,
        version: row.try_get(1)?,
        created_at: Timestamp::from_nanos(row.try_get(2)?),
        source: row.try_get(3)?,
        job_id: row.try_get(4)?,
        status: VersionStatus::from_name(&status).unwrap_or(VersionStatus::Candidate),
        updated_at: Timestamp::from_nanos(row.try_get(6)?),
    })
}

impl PgStore {
    /// Every version of a model, oldest first.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
    pub fn model_versions(&self, model: &str) -> Result<Vec<ModelVersion>, StoreError> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM model_versions WHERE model = $1
             ORDER BY created_at, version COLLATE \"C\""
        );
        let error = self.error("reading a model's versions");
        self.call(|client| {
            client
                .query(&sql, &[&model])
                .and_then(|rows| rows.iter().map(read_version).collect())
                .map_err(error)
        })
    }

    /// Names of the models the registry knows, in name order, one page: names after `after`,
    /// at most `limit` (capped like [`crate::Page::limit`]).
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
    pub fn registered_models(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<ModelPage, StoreError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
        let error = self.error("listing the registry's models");
        let mut names: Vec<String> = self.call(|client| {
            let rows = match after {
                None => client.query(
                    "SELECT model FROM model_versions GROUP BY model
                     ORDER BY model COLLATE \"C\" LIMIT $1",
                    &[&fetch],
                ),
                Some(after) => client.query(
                    "SELECT model FROM model_versions WHERE model > $1 COLLATE \"C\"
                     GROUP BY model ORDER BY model COLLATE \"C\" LIMIT $2",
                    &[&after, &fetch],
                ),
            };
            rows.and_then(|rows| rows.iter().map(|row| row.try_get(0)).collect())
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

    /// One version of a model.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
    pub fn model_version(
        &self,
        model: &str,
        version: &str,
    ) -> Result<Option<ModelVersion>, StoreError> {
        let error = self.error("reading a model version");
        self.call(|client| version_of(client, model, version, false).map_err(error))
    }

    /// The audit log of a model (or of every model), one page.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
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
                    pos: row.try_get(0)?,
                    at: Timestamp::from_nanos(row.try_get(1)?),
                    actor: row.try_get(2)?,
                    action: row.try_get(3)?,
                    model: row.try_get(4)?,
                    version: row.try_get(5)?,
                    job_id: row.try_get(6)?,
                    detail: row.try_get(7)?,
                })
            },
            |event| event.pos,
        )
    }

    /// Changes a version's status as a person asked, in a transaction of its own (the
    /// partition's fence checked first), with an audit row naming `actor`; returns the
    /// version as it now stands. The rules are SQLite's ([`crate::SqliteStore::change_version`]).
    ///
    /// # Errors
    ///
    /// [`RegistryError::UnknownVersion`], [`RegistryError::Transition`], or the store's error
    /// ([`StoreError::Fenced`] included); then nothing changed.
    pub fn change_version(
        &mut self,
        model: &str,
        version: &str,
        change: VersionChange,
        at: Timestamp,
        actor: &str,
    ) -> Result<ModelVersion, RegistryError> {
        let scope = self.scope();
        let database = self.database.clone();
        let error = self.error("changing a version's status");
        let unknown = || RegistryError::UnknownVersion {
            model: model.to_string(),
            version: version.to_string(),
        };
        self.call(|client| {
            let mut tx = client.transaction().map_err(&error)?;
            scope.check_fence(&mut tx, &database)?;
            let current = version_of(&mut tx, model, version, true)
                .map_err(&error)?
                .ok_or_else(unknown)?;
            if let Some(refusal) = change.refusal(model, version, current.status) {
                return Err(refusal);
            }
            let detail = change.detail(model, version, actor);
            set_status(&mut tx, model, version, change.target(), at, actor, &detail)
                .map_err(&error)?;
            if change.restores_previous(current.status) {
                restore_previous(&mut tx, model, at, actor).map_err(&error)?;
            }
            let changed = version_of(&mut tx, model, version, false).map_err(&error)?;
            tx.commit().map_err(&error)?;
            changed.ok_or_else(unknown)
        })
    }
}

/// One version of a model; in a transaction, `lock` locks its row until it ends.
fn version_of(
    client: &mut impl GenericClient,
    model: &str,
    version: &str,
    lock: bool,
) -> Result<Option<ModelVersion>, postgres::Error> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM model_versions WHERE model = $1 AND version = $2{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    client
        .query_opt(&sql, &[&model, &version])?
        .as_ref()
        .map(read_version)
        .transpose()
}

/// The registry's versions by model, for a commit to look up in memory whether an event's
/// version is new.
pub(super) fn known_versions(
    tx: &mut Transaction<'_>,
) -> Result<HashMap<String, HashSet<String>>, postgres::Error> {
    let mut known: HashMap<String, HashSet<String>> = HashMap::new();
    for row in tx.query("SELECT model, version FROM model_versions", &[])? {
        known
            .entry(row.try_get(0)?)
            .or_default()
            .insert(row.try_get(1)?);
    }
    Ok(known)
}

/// Registers a version unless it is known, with an audit row naming `actor`; a version first
/// seen in metrics that a job then reports as its product takes the job as its source. As
/// `crate::registry::register`; a version another node registers at the same time is known.
pub(super) fn register(
    tx: &mut Transaction<'_>,
    model: &str,
    version: &str,
    (source, job_id): (VersionSource, Option<&str>),
    at: Timestamp,
    actor: &str,
) -> Result<(), postgres::Error> {
    let existing: Option<String> = tx
        .query_opt(
            "SELECT source FROM model_versions WHERE model = $1 AND version = $2",
            &[&model, &version],
        )?
        .map(|row| row.try_get(0))
        .transpose()?;
    match existing {
        Some(known) if takes_job_source(source, &known) => {
            tx.execute(
                "UPDATE model_versions SET source = $3, job_id = $4
                 WHERE model = $1 AND version = $2",
                &[&model, &version, &source.as_str(), &job_id],
            )?;
            let detail = source_changed_detail(model, version);
            let row = AuditRow::about(model, Some(version), job_id);
            audit(tx, at, actor, "version_source", row, &detail)?;
        }
        Some(_) => {}
        None => {
            let has_production: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM model_versions
                                    WHERE model = $1 AND status = 'production')",
                    &[&model],
                )?
                .try_get(0)?;
            let status = registered_status(source, has_production);
            let inserted = tx.execute(
                "INSERT INTO model_versions (model, version, created_at, source, job_id, status,
                                             updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $3)
                 ON CONFLICT (model, version) DO NOTHING",
                &[
                    &model,
                    &version,
                    &at.as_nanos(),
                    &source.as_str(),
                    &job_id,
                    &status.as_str(),
                ],
            )?;
            if inserted > 0 {
                let detail = registered_detail(model, version, source, status);
                let row = AuditRow::about(model, Some(version), job_id);
                audit(tx, at, actor, "version_registered", row, &detail)?;
            }
        }
    }
    Ok(())
}

/// A version's status, if it is registered.
pub(super) fn status_of(
    tx: &mut Transaction<'_>,
    model: &str,
    version: &str,
) -> Result<Option<VersionStatus>, postgres::Error> {
    let status: Option<String> = tx
        .query_opt(
            "SELECT status FROM model_versions WHERE model = $1 AND version = $2",
            &[&model, &version],
        )?
        .map(|row| row.try_get(0))
        .transpose()?;
    Ok(status.as_deref().and_then(VersionStatus::from_name))
}

/// What an audit row is about: a model, and maybe one of its versions and a job.
#[derive(Clone, Copy)]
pub(super) struct AuditRow<'a> {
    model: &'a str,
    version: Option<&'a str>,
    job_id: Option<&'a str>,
}

impl<'a> AuditRow<'a> {
    pub(super) fn about(
        model: &'a str,
        version: Option<&'a str>,
        job_id: Option<&'a str>,
    ) -> AuditRow<'a> {
        AuditRow {
            model,
            version,
            job_id,
        }
    }
}

/// Appends an audit row.
pub(super) fn audit(
    tx: &mut Transaction<'_>,
    at: Timestamp,
    actor: &str,
    action: &str,
    about: AuditRow<'_>,
    detail: &str,
) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO audit (at, actor, action, model, version, job_id, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &at.as_nanos(),
            &actor,
            &action,
            &about.model,
            &about.version,
            &about.job_id,
            &detail,
        ],
    )?;
    Ok(())
}

/// Sets a version's status, with its audit row; promoting archives the production version
/// before it. As `crate::registry::set_status`.
pub(super) fn set_status(
    tx: &mut Transaction<'_>,
    model: &str,
    version: &str,
    status: VersionStatus,
    at: Timestamp,
    actor: &str,
    detail: &str,
) -> Result<(), postgres::Error> {
    if status == VersionStatus::Production {
        let previous: Vec<String> = tx
            .query(
                "SELECT version FROM model_versions
                 WHERE model = $1 AND status = 'production' AND version != $2",
                &[&model, &version],
            )?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
        for old in previous {
            set_one(tx, model, &old, VersionStatus::Archived, at)?;
            let why = replaced_detail(model, &old, version);
            let row = AuditRow::about(model, Some(&old), None);
            audit(tx, at, actor, "version_archived", row, &why)?;
        }
    }
    set_one(tx, model, version, status, at)?;
    let row = AuditRow::about(model, Some(version), None);
    audit(tx, at, actor, status.audit_action(), row, detail)
}

fn set_one(
    tx: &mut Transaction<'_>,
    model: &str,
    version: &str,
    status: VersionStatus,
    at: Timestamp,
) -> Result<(), postgres::Error> {
    tx.execute(
        "UPDATE model_versions SET status = $3, updated_at = $4
         WHERE model = $1 AND version = $2",
        &[&model, &version, &status.as_str(), &at.as_nanos()],
    )?;
    Ok(())
}

/// After production was rolled back: the newest archived version serves again.
pub(super) fn restore_previous(
    tx: &mut Transaction<'_>,
    model: &str,
    at: Timestamp,
    actor: &str,
) -> Result<(), postgres::Error> {
    let previous: Option<String> = tx
        .query_opt(
            "SELECT version FROM model_versions WHERE model = $1 AND status = 'archived'
             ORDER BY updated_at DESC, version COLLATE \"C\" DESC LIMIT 1",
            &[&model],
        )?
        .map(|row| row.try_get(0))
        .transpose()?;
    if let Some(previous) = previous {
        let detail = restored_detail(model, &previous);
        set_status(
            tx,
            model,
            &previous,
            VersionStatus::Production,
            at,
            actor,
            &detail,
        )?;
    }
    Ok(())
}
