//! The model registry: every version of every model, where it came from and where it stands,
//! and the audit log of every change to versions and jobs.
//!
//! Versions enter in the commits that reveal them: the first event of a (model, version)
//! registers it as first seen in metrics (production if it is the model's first version,
//! candidate otherwise), and a succeeded job registers the version it produced as a
//! candidate. People change a version's status through [`Store::change_version`](crate::Store::change_version); canary
//! verdicts through the commit of the verdict. Every change writes an audit row.

use modelwatch_engine::Timestamp;
use rusqlite::{OptionalExtension, Row, Transaction, params};

use crate::writes::Durability;

mod read;
use crate::{SqliteStore, StoreError};

/// Where a version stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VersionStatus {
    /// New, not yet serving all traffic (or not judged yet).
    Candidate,
    /// The model's serving version. A model has at most one.
    Production,
    /// Retired.
    Archived,
    /// Taken out of service after it proved worse (a failed canary, or by hand).
    RolledBack,
}

impl VersionStatus {
    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionStatus::Candidate => "candidate",
            VersionStatus::Production => "production",
            VersionStatus::Archived => "archived",
            VersionStatus::RolledBack => "rolled_back",
        }
    }

    /// The audit log's action of a change to this status.
    pub(crate) fn audit_action(self) -> &'static str {
        match self {
            VersionStatus::Candidate => "version_candidate",
            VersionStatus::Production => "version_promoted",
            VersionStatus::Archived => "version_archived",
            VersionStatus::RolledBack => "version_rolled_back",
        }
    }

    /// Parses the stored spelling.
    pub fn from_name(name: &str) -> Option<VersionStatus> {
        [
            VersionStatus::Candidate,
            VersionStatus::Production,
            VersionStatus::Archived,
            VersionStatus::RolledBack,
        ]
        .into_iter()
        .find(|status| status.as_str() == name)
    }
}

/// Where a version came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VersionSource {
    /// Its first metrics event.
    Metrics,
    /// A retrain job produced it.
    Job,
    /// Somebody registered it by hand.
    Manual,
}

impl VersionSource {
    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionSource::Metrics => "metrics",
            VersionSource::Job => "job",
            VersionSource::Manual => "manual",
        }
    }
}

/// One version of a model.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelVersion {
    /// The model (by name).
    pub model: String,
    /// The version.
    pub version: String,
    /// When it was registered (wall time).
    pub created_at: Timestamp,
    /// `metrics`, `job` or `manual`.
    pub source: String,
    /// The job that produced it.
    pub job_id: Option<String>,
    /// Where it stands.
    pub status: VersionStatus,
    /// When its status last changed.
    pub updated_at: Timestamp,
}

/// One change to a version or a job.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEvent {
    /// Stream position.
    pub pos: i64,
    /// When (wall time).
    pub at: Timestamp,
    /// Who: the configured name of the token whose request made the change, or `engine` (the
    /// engine's own decisions), `canary` (a verdict), `runner` (the job runner, ending a
    /// rollback job by itself).
    pub actor: String,
    /// What: `version_registered`, `version_promoted`, `job_queued`, ...
    pub action: String,
    /// The model.
    pub model: String,
    /// The version, if it is about one.
    pub version: Option<String>,
    /// The job, if it is about one.
    pub job_id: Option<String>,
    /// One sentence for people.
    pub detail: String,
}

/// A change of a version's status asked for through the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionChange {
    /// Make it production; the production version before it is archived.
    Promote,
    /// Retire it.
    Archive,
    /// Take it out of service; if it was production, the newest archived version becomes
    /// production again.
    Rollback,
}

impl VersionChange {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionChange::Promote => "promote",
            VersionChange::Archive => "archive",
            VersionChange::Rollback => "rollback",
        }
    }

    /// Whether the change is allowed from `status`: promote from any status but production,
    /// archive from any but archived, rollback from candidate or production.
    pub(crate) fn allowed_from(self, status: VersionStatus) -> bool {
        match self {
            VersionChange::Promote => status != VersionStatus::Production,
            VersionChange::Archive => status != VersionStatus::Archived,
            VersionChange::Rollback => {
                matches!(status, VersionStatus::Candidate | VersionStatus::Production)
            }
        }
    }

    /// The status the change sets.
    pub(crate) fn target(self) -> VersionStatus {
        match self {
            VersionChange::Promote => VersionStatus::Production,
            VersionChange::Archive => VersionStatus::Archived,
            VersionChange::Rollback => VersionStatus::RolledBack,
        }
    }

    /// The audit detail of the change, made by `actor`.
    pub(crate) fn detail(self, model: &str, version: &str, actor: &str) -> String {
        match self {
            VersionChange::Promote => {
                format!("version {version} of {model} promoted to production by {actor}")
            }
            VersionChange::Archive => format!("version {version} of {model} archived by {actor}"),
            VersionChange::Rollback => {
                format!("version {version} of {model} rolled back by {actor}")
            }
        }
    }

    /// Whether the change, made from `status`, brings back the version production replaced.
    pub(crate) fn restores_previous(self, status: VersionStatus) -> bool {
        self == VersionChange::Rollback && status == VersionStatus::Production
    }

    /// The refusal of the change from `status`, if it is not allowed.
    pub(crate) fn refusal(
        self,
        model: &str,
        version: &str,
        status: VersionStatus,
    ) -> Option<RegistryError> {
        (!self.allowed_from(status)).then(|| RegistryError::Transition {
            model: model.to_string(),
            version: version.to_string(),
            status,
            change: self,
        })
    }
}

/// Why a version change was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry has no such version.
    #[error("model {model} has no version {version} in the registry")]
    UnknownVersion {
        /// The model.
        model: String,
        /// The version.
        version: String,
    },
    /// The change makes no sense from the version's status.
    #[error("version {version} of {model} is {status}; it cannot {change}", status = status.as_str(), change = change.as_str())]
    Transition {
        /// The model.
        model: String,
        /// The version.
        version: String,
        /// Its status.
        status: VersionStatus,
        /// The change asked for.
        change: VersionChange,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RegistryError {
    /// Whether trying again later may succeed: only a transient store failure
    /// ([`StoreError::is_transient`]); a refused change is refused again.
    pub fn is_transient(&self) -> bool {
        match self {
            RegistryError::Store(error) => error.is_transient(),
            RegistryError::UnknownVersion { .. } | RegistryError::Transition { .. } => false,
        }
    }
}

/// Every registered version, by model.
pub(crate) fn known_versions(
    tx: &Transaction<'_>,
) -> rusqlite::Result<std::collections::HashMap<String, std::collections::HashSet<String>>> {
    let mut known: std::collections::HashMap<String, std::collections::HashSet<String>> =
        std::collections::HashMap::new();
    let mut statement = tx.prepare("SELECT model, version FROM model_versions")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        known.entry(row.get(0)?).or_default().insert(row.get(1)?);
    }
    Ok(known)
}

/// Registers a version unless it is known, with an audit row naming `actor`; a version first
/// seen in metrics that a job then reports as its product takes the job as its source.
pub(crate) fn register(
    tx: &Transaction<'_>,
    model: &str,
    version: &str,
    (source, job_id): (VersionSource, Option<&str>),
    at: Timestamp,
    actor: &str,
) -> rusqlite::Result<()> {
    let existing: Option<String> = tx
        .prepare_cached("SELECT source FROM model_versions WHERE model = ?1 AND version = ?2")?
        .query_row(params![model, version], |row| row.get(0))
        .optional()?;
    match existing {
        Some(known) if takes_job_source(source, &known) => {
            tx.prepare_cached(
                "UPDATE model_versions SET source = ?3, job_id = ?4 WHERE model = ?1 AND version = ?2",
            )?
            .execute(params![model, version, source.as_str(), job_id])?;
            let detail = source_changed_detail(model, version);
            audit(
                tx,
                at,
                actor,
                "version_source",
                model,
                Some(version),
                job_id,
                &detail,
            )?;
        }
        Some(_) => {}
        None => {
            let has_production: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM model_versions WHERE model = ?1 AND status = 'production')",
                )?
                .query_row([model], |row| row.get(0))?;
            let status = registered_status(source, has_production);
            tx.prepare_cached(
                "INSERT INTO model_versions (model, version, created_at, source, job_id, status,
                                             updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?3)",
            )?
            .execute(params![
                model,
                version,
                at.as_nanos(),
                source.as_str(),
                job_id,
                status.as_str()
            ])?;
            let detail = registered_detail(model, version, source, status);
            audit(
                tx,
                at,
                actor,
                "version_registered",
                model,
                Some(version),
                job_id,
                &detail,
            )?;
        }
    }
    Ok(())
}

/// Whether a version a job reports as its product takes over the source of one first seen
/// in metrics (stored as `known`).
pub(crate) fn takes_job_source(source: VersionSource, known: &str) -> bool {
    source == VersionSource::Job && known == VersionSource::Metrics.as_str()
}

/// The audit detail of a version first seen in metrics that a job then reports as its product.
pub(crate) fn source_changed_detail(model: &str, version: &str) -> String {
    format!("version {version} of {model} was produced by a job")
}

/// The status a new version is registered with: production if it is the model's first
/// version and no job produced it, candidate otherwise.
pub(crate) fn registered_status(source: VersionSource, has_production: bool) -> VersionStatus {
    if has_production || source == VersionSource::Job {
        VersionStatus::Candidate
    } else {
        VersionStatus::Production
    }
}

/// The audit detail of a version's registration.
pub(crate) fn registered_detail(
    model: &str,
    version: &str,
    source: VersionSource,
    status: VersionStatus,
) -> String {
    match source {
        VersionSource::Metrics => format!(
            "version {version} of {model} first seen in metrics, registered as {}",
            status.as_str()
        ),
        VersionSource::Job => format!(
            "version {version} of {model} produced by a job, registered as {}",
            status.as_str()
        ),
        VersionSource::Manual => format!(
            "version {version} of {model} registered by hand as {}",
            status.as_str()
        ),
    }
}

/// A version's status, if it is registered.
pub(crate) fn status_of(
    tx: &Transaction<'_>,
    model: &str,
    version: &str,
) -> rusqlite::Result<Option<VersionStatus>> {
    let status: Option<String> = tx
        .prepare_cached("SELECT status FROM model_versions WHERE model = ?1 AND version = ?2")?
        .query_row(params![model, version], |row| row.get(0))
        .optional()?;
    Ok(status.as_deref().and_then(VersionStatus::from_name))
}

/// Appends an audit row.
#[allow(clippy::too_many_arguments)]
pub(crate) fn audit(
    tx: &Transaction<'_>,
    at: Timestamp,
    actor: &str,
    action: &str,
    model: &str,
    version: Option<&str>,
    job_id: Option<&str>,
    detail: &str,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO audit (at, actor, action, model, version, job_id, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        at.as_nanos(),
        actor,
        action,
        model,
        version,
        job_id,
        detail
    ])?;
    Ok(())
}

/// Sets a version's status, with its audit row; promoting archives the production version
/// before it.
pub(crate) fn set_status(
    tx: &Transaction<'_>,
    model: &str,
    version: &str,
    status: VersionStatus,
    at: Timestamp,
    actor: &str,
    detail: &str,
) -> rusqlite::Result<()> {
    if status == VersionStatus::Production {
        let previous: Vec<String> = tx
            .prepare_cached(
                "SELECT version FROM model_versions
                 WHERE model = ?1 AND status = 'production' AND version != ?2",
            )?
            .query_map(params![model, version], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for old in previous {
            set_one(tx, model, &old, VersionStatus::Archived, at)?;
            let why = replaced_detail(model, &old, version);
            audit(
                tx,
                at,
                actor,
                "version_archived",
                model,
                Some(&old),
                None,
                &why,
            )?;
        }
    }
    set_one(tx, model, version, status, at)?;
    audit(
        tx,
        at,
        actor,
        status.audit_action(),
        model,
        Some(version),
        None,
        detail,
    )
}

/// The audit detail of the production version `old` archived as `version` took its place.
pub(crate) fn replaced_detail(model: &str, old: &str, version: &str) -> String {
    format!("version {old} of {model} archived: {version} became production")
}

/// The audit detail of the version `previous` serving again after a rollback.
pub(crate) fn restored_detail(model: &str, previous: &str) -> String {
    format!("version {previous} of {model} is production again after the rollback")
}

fn set_one(
    tx: &Transaction<'_>,
    model: &str,
    version: &str,
    status: VersionStatus,
    at: Timestamp,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE model_versions SET status = ?3, updated_at = ?4 WHERE model = ?1 AND version = ?2",
    )?
    .execute(params![model, version, status.as_str(), at.as_nanos()])?;
    Ok(())
}

fn read_version(row: &Row<'_>) -> rusqlite::Result<ModelVersion> {
    let status: String = row.get(5)?;
    Ok(ModelVersion {
        model: row.get(0)?,
        version: row.get(1)?,
        created_at: Timestamp::from_nanos(row.get(2)?),
        source: row.get(3)?,
        job_id: row.get(4)?,
        status: VersionStatus::from_name(&status).unwrap_or(VersionStatus::Candidate),
        updated_at: Timestamp::from_nanos(row.get(6)?),
    })
}

const VERSION_COLUMNS: &str = "model, version, created_at, source, job_id, status, updated_at";

impl SqliteStore {
    /// Changes a version's status as a person asked, in a transaction of its own, with an
    /// audit row naming `actor`; returns the version as it now stands.
    ///
    /// Promote works from any status but production; archive from any but archived; rollback
    /// from candidate or production (when production, the newest archived version becomes
    /// production again).
    ///
    /// # Errors
    ///
    /// [`RegistryError::UnknownVersion`], [`RegistryError::Transition`], or the store's error;
    /// then nothing changed.
    pub fn change_version(
        &mut self,
        model: &str,
        version: &str,
        change: VersionChange,
        at: Timestamp,
        actor: &str,
    ) -> Result<ModelVersion, RegistryError> {
        let sqlite = self.sqlite("changing a version's status");
        let current =
            self.model_version(model, version)?
                .ok_or_else(|| RegistryError::UnknownVersion {
                    model: model.to_string(),
                    version: version.to_string(),
                })?;
        if let Some(refusal) = change.refusal(model, version, current.status) {
            return Err(refusal);
        }
        let tx = self
            .writes
            .begin(&self.connection, Durability::Synced)
            .map_err(&sqlite)?;
        let result = (|| -> rusqlite::Result<()> {
            let detail = change.detail(model, version, actor);
            set_status(&tx, model, version, change.target(), at, actor, &detail)?;
            if change.restores_previous(current.status) {
                restore_previous(&tx, model, at, actor)?;
            }
            Ok(())
        })();
        result.map_err(&sqlite)?;
        self.writes.commit(tx).map_err(&sqlite)?;
        self.model_version(model, version)?
            .ok_or_else(|| RegistryError::UnknownVersion {
                model: model.to_string(),
                version: version.to_string(),
            })
    }
}

/// After production was rolled back: the newest archived version serves again.
pub(crate) fn restore_previous(
    tx: &Transaction<'_>,
    model: &str,
    at: Timestamp,
    actor: &str,
) -> rusqlite::Result<()> {
    let previous: Option<String> = tx
        .prepare_cached(
            "SELECT version FROM model_versions WHERE model = ?1 AND status = 'archived'
             ORDER BY updated_at DESC, version DESC LIMIT 1",
        )?
        .query_row([model], |row| row.get(0))
        .optional()?;
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
