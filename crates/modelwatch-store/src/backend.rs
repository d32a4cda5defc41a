//! [`Store`]: the one store interface, over SQLite (a data directory, the default) or
//! PostgreSQL (`--store postgres://...`). Every method means the same on both; the store's
//! integration tests run against both (the conformance suite).

use std::path::Path;

use modelwatch_engine::Timestamp;

use crate::outbox::{Delivery, DeliveryFilter, Job, JobAttempt, JobFilter, JobState};
use crate::pg::PgStore;
use crate::points::{LatestPoint, ModelPage, PointsStep, SeriesPage, SeriesQuery};
use crate::query::{
    AlertFilter, CanaryFilter, DecisionFilter, Listing, Page, StoredAlert, StoredCanaryVerdict,
    StoredDecision, StoredInput,
};
use crate::registry::{AuditEvent, ModelVersion, RegistryError, VersionChange};
use crate::retention::{RetentionTotals, SeriesCursor, Step};
use crate::snapshots::{Snapshot, SnapshotDraft, SnapshotStep};
use crate::store::SqliteStore;
use crate::{Batch, Checkpoints, Committed, Counts, StoreError};

/// Where a store lives: a data directory (SQLite) or a PostgreSQL database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreLocation {
    /// A data directory holding one SQLite file.
    Directory(std::path::PathBuf),
    /// A `postgres://` (or `postgresql://`) URL.
    Postgres(String),
    /// One partition of a cluster's PostgreSQL store, written under a lease's epoch (see
    /// [`crate::pg::Leases`]): every write checks that the epoch is still the partition's.
    PostgresPartition {
        /// The database.
        url: String,
        /// The partition.
        partition: u32,
        /// The lease's epoch.
        epoch: i64,
    },
}

impl StoreLocation {
    /// Reads a `--store` value: a `postgres://` or `postgresql://` URL, else a directory.
    pub fn parse(value: &str) -> StoreLocation {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            StoreLocation::Postgres(value.to_string())
        } else {
            StoreLocation::Directory(std::path::PathBuf::from(value))
        }
    }
}

/// The durable state of a modelwatch service, on SQLite or PostgreSQL.
///
/// Synchronous: the service owns the committing store on one thread and gathers concurrent
/// requests into one [`Store::commit`]; other stores on the same database only read. Every
/// write is one transaction, all or nothing, and what the store keeps in memory about it
/// changes only once it committed.
#[derive(Debug)]
pub struct Store {
    backend: Backend,
}

#[derive(Debug)]
enum Backend {
    Sqlite(Box<SqliteStore>),
    Postgres(Box<PgStore>),
}

/// Each method calls the backend's method of the same name and arguments.
macro_rules! on_backend {
    () => {};
    (
        $(#[$meta:meta])*
        fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty;
        $($rest:tt)*
    ) => {
        $(#[$meta])*
        pub fn $name(&self $(, $arg: $ty)*) -> $ret {
            match &self.backend {
                Backend::Sqlite(store) => store.$name($($arg),*),
                Backend::Postgres(store) => store.$name($($arg),*),
            }
        }
        on_backend! { $($rest)* }
    };
    (
        $(#[$meta:meta])*
        fn $name:ident(&mut self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty;
        $($rest:tt)*
    ) => {
        $(#[$meta])*
        pub fn $name(&mut self $(, $arg: $ty)*) -> $ret {
            match &mut self.backend {
                Backend::Sqlite(store) => store.$name($($arg),*),
                Backend::Postgres(store) => store.$name($($arg),*),
            }
        }
        on_backend! { $($rest)* }
    };
}

impl Store {
    /// Opens the SQLite store in `dir` (see [`SqliteStore::open`]).
    ///
    /// # Errors
    ///
    /// As [`SqliteStore::open`].
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Ok(Store {
            backend: Backend::Sqlite(Box::new(SqliteStore::open(dir)?)),
        })
    }

    /// Opens the PostgreSQL store at `url` (see [`PgStore::open`]).
    ///
    /// # Errors
    ///
    /// As [`PgStore::open`].
    pub fn open_postgres(url: &str) -> Result<Store, StoreError> {
        Ok(Store {
            backend: Backend::Postgres(Box::new(PgStore::open(url)?)),
        })
    }

    /// Opens the store at `location`.
    ///
    /// # Errors
    ///
    /// As [`Store::open`] or [`Store::open_postgres`].
    pub fn open_at(location: &StoreLocation) -> Result<Store, StoreError> {
        match location {
            StoreLocation::Directory(dir) => Store::open(dir),
            StoreLocation::Postgres(url) => Store::open_postgres(url),
            StoreLocation::PostgresPartition {
                url,
                partition,
                epoch,
            } => {
                let mut store = PgStore::open_partition(url, *partition)?;
                store.fence(crate::pg::Fence { epoch: *epoch });
                Ok(Store {
                    backend: Backend::Postgres(Box::new(store)),
                })
            }
        }
    }

    /// Where the store lives: the SQLite file, or the PostgreSQL database as
    /// `host:port/name` (never a password).
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Sqlite(store) => store.path().display().to_string(),
            Backend::Postgres(store) => store.database().to_string(),
        }
    }

    /// The SQLite store, when the store is one: for what only SQLite has (its file, the
    /// checkpoints of its write-ahead log).
    pub fn sqlite(&self) -> Option<&SqliteStore> {
        match &self.backend {
            Backend::Sqlite(store) => Some(store),
            Backend::Postgres(_) => None,
        }
    }

    /// The PostgreSQL store, when the store is one.
    pub fn postgres(&self) -> Option<&PgStore> {
        match &self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(store) => Some(store),
        }
    }

    /// The PostgreSQL store, when the store is one, to change (its partition's fencing).
    pub fn postgres_mut(&mut self) -> Option<&mut PgStore> {
        match &mut self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(store) => Some(store),
        }
    }

    /// Who checkpoints SQLite's write-ahead log (see [`Checkpoints`]); PostgreSQL has no such
    /// setting, so this does nothing there.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when SQLite refuses the setting.
    pub fn set_checkpoints(&mut self, checkpoints: Checkpoints) -> Result<(), StoreError> {
        match &mut self.backend {
            Backend::Sqlite(store) => store.set_checkpoints(checkpoints),
            Backend::Postgres(_) => Ok(()),
        }
    }

    on_backend! {
        /// Writes a batch in one transaction: all of it, or nothing (see
        /// [`SqliteStore::commit`] for the rules a batch must follow).
        ///
        /// # Errors
        ///
        /// A batch that breaks the rules, or a failed write; either way nothing is stored.
        fn commit(&mut self, batch: &Batch) -> Result<Committed, StoreError>;
        /// The sequence number of the last stored input (0 when none).
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn last_seq(&self) -> Result<u64, StoreError>;
        /// Up to `limit` stored inputs after `seq`, in order.
        ///
        /// # Errors
        ///
        /// When the read fails or an input is unreadable.
        fn inputs_after(&self, seq: u64, limit: usize) -> Result<Vec<StoredInput>, StoreError>;
        /// Alert transitions, filtered, a page at a time.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn alerts(&self, filter: &AlertFilter, page: &Page) -> Result<Listing<StoredAlert>, StoreError>;
        /// Retrain decisions, filtered, a page at a time.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn decisions(&self, filter: &DecisionFilter, page: &Page) -> Result<Listing<StoredDecision>, StoreError>;
        /// Canary verdicts, filtered, a page at a time.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn canary_verdicts(&self, filter: &CanaryFilter, page: &Page) -> Result<Listing<StoredCanaryVerdict>, StoreError>;
        /// The alerts of `model` whose latest transition is not a resolve.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn open_alerts(&self, model: &str) -> Result<Vec<StoredAlert>, StoreError>;
        /// Every alert whose latest transition is a fire.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn firing_alerts(&self) -> Result<Vec<StoredAlert>, StoreError>;
        /// Row counts of the whole store.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn counts(&self) -> Result<Counts, StoreError>;
        /// Saves an engine snapshot at once.
        ///
        /// # Errors
        ///
        /// When the write fails or the snapshot is not of the stored state.
        fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), StoreError>;
        /// Begins saving a snapshot in bounded steps.
        ///
        /// # Errors
        ///
        /// When the snapshot is not of the stored state or the write fails.
        fn begin_snapshot(&mut self, snapshot: Snapshot) -> Result<SnapshotDraft, StoreError>;
        /// Saves up to `max_bytes` more of a snapshot draft.
        ///
        /// # Errors
        ///
        /// When the write fails.
        fn save_snapshot_step(&mut self, draft: &mut SnapshotDraft, max_bytes: usize) -> Result<SnapshotStep, StoreError>;
        /// The latest whole snapshot, if any.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn latest_snapshot(&self) -> Result<Option<Snapshot>, StoreError>;
        /// Points of committed inputs not yet written.
        fn pending_points(&self) -> usize;
        /// The last input whose points are all written.
        fn points_watermark(&self) -> u64;
        /// Reads back the points of inputs after the watermark (after a crash).
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn rebuild_points(&mut self) -> Result<u64, StoreError>;
        /// Writes every pending point.
        ///
        /// # Errors
        ///
        /// When the write fails; the points stay pending.
        fn flush_points(&mut self) -> Result<usize, StoreError>;
        /// Writes up to about `max_points` pending points.
        ///
        /// # Errors
        ///
        /// When the write fails; the points stay pending.
        fn flush_points_step(&mut self, max_points: usize) -> Result<PointsStep, StoreError>;
        /// A page of one series' points.
        ///
        /// # Errors
        ///
        /// When the read fails or a chunk is unreadable.
        fn series(&self, query: &SeriesQuery) -> Result<SeriesPage, StoreError>;
        /// Models with points, by name, a page at a time.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn model_names(&self, after: Option<&str>, limit: usize) -> Result<ModelPage, StoreError>;
        /// Each series of `model` with its latest point.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn latest_points(&self, model: &str) -> Result<Vec<LatestPoint>, StoreError>;
        /// What retention has deleted so far.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn retention_totals(&self) -> Result<RetentionTotals, StoreError>;
        /// Deletes up to `limit` inputs older than `cutoff`, through input `through`.
        ///
        /// # Errors
        ///
        /// When the write fails; nothing is deleted.
        fn delete_old_inputs(&mut self, cutoff: Timestamp, through: u64, limit: usize) -> Result<Step, StoreError>;
        /// Deletes points older than `cutoff` of up to `max_series` series from `cursor` on.
        ///
        /// # Errors
        ///
        /// When the write fails; nothing is deleted.
        fn delete_old_points(&mut self, cutoff: Timestamp, cursor: &mut SeriesCursor, max_series: usize) -> Result<Step, StoreError>;
        /// Every version of `model` in the registry.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn model_versions(&self, model: &str) -> Result<Vec<ModelVersion>, StoreError>;
        /// Models in the registry, by name, a page at a time.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn registered_models(&self, after: Option<&str>, limit: usize) -> Result<ModelPage, StoreError>;
        /// One version of a model, if registered.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn model_version(&self, model: &str, version: &str) -> Result<Option<ModelVersion>, StoreError>;
        /// The audit log, of one model or all, a page at a time.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn audit(&self, model: Option<&str>, page: &Page) -> Result<Listing<AuditEvent>, StoreError>;
        /// Changes a version's status, with its audit row, in one transaction.
        ///
        /// # Errors
        ///
        /// A change the version's status does not allow, or a failed write.
        fn change_version(&mut self, model: &str, version: &str, change: VersionChange, at: Timestamp, actor: &str) -> Result<ModelVersion, RegistryError>;
        /// Up to `limit` pending deliveries of `notifier` after position `after`.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn pending_deliveries(&self, notifier: &str, after: i64, limit: usize) -> Result<Vec<Delivery>, StoreError>;
        /// Deliveries, filtered, a page at a time.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn deliveries(&self, filter: &DeliveryFilter, page: &Page) -> Result<Listing<Delivery>, StoreError>;
        /// Deletes up to `limit` finished deliveries older than `cutoff`.
        ///
        /// # Errors
        ///
        /// When the write fails.
        fn delete_old_deliveries(&mut self, cutoff: Timestamp, limit: usize) -> Result<Step, StoreError>;
        /// Jobs, filtered, a page at a time.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn jobs(&self, filter: &JobFilter, page: &Page) -> Result<Listing<Job>, StoreError>;
        /// One job, if any.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn job(&self, id: &str) -> Result<Option<Job>, StoreError>;
        /// A job's attempts, in order.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn job_attempts(&self, id: &str) -> Result<Vec<JobAttempt>, StoreError>;
        /// Jobs not in a final state.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn open_jobs(&self) -> Result<Vec<Job>, StoreError>;
        /// How many jobs are in each state.
        ///
        /// # Errors
        ///
        /// When the read fails.
        fn job_counts(&self) -> Result<Vec<(JobState, u64)>, StoreError>;
        /// Bytes the store takes on disk (PostgreSQL: the database's size).
        fn disk_bytes(&self) -> u64;
    }
}
