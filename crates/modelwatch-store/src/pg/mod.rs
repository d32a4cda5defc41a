//! [`PgStore`]: the store on PostgreSQL (`--store postgres://...`), shared by every node of a
//! cluster. The same interface and meaning as the SQLite store (`crate::store`); the store's
//! integration tests run against both.
//!
//! A `PgStore` writes one partition (`partition`, 0 without an ingest log): its inputs are
//! numbered 1, 2, 3, ... in that partition, and its snapshots and watermarks are that
//! partition's. Reads see every partition. With a lease ([`PgStore::fence`]) every write
//! transaction first checks that the partition's lease epoch is still ours, so a node that
//! lost its lease can never write beside the one that took it over.
//!
//! Layout: `schema.rs` (migrations), `commit.rs` (the group commit and the reads of inputs;
//! `batch_rows.rs`: a batch's rows as column arrays),
//! `query.rs` (listings of outputs), `points.rs` and `points_read.rs` (series points),
//! `snapshots.rs`,
//! `retention.rs`, `registry.rs`, `outbox.rs` (deliveries and jobs; `effects.rs`: the rows a
//! commit's outputs and effect updates write), `leases.rs` (membership and partition
//! ownership), `requests.rs` (commit records of requests spanning partitions).

mod batch_rows;
mod commit;
mod connection;
mod effects;
mod leases;
mod outbox;
mod points;
mod points_read;
mod query;
mod registry;
mod requests;
mod retention;
mod schema;
mod snapshots;

use std::cell::RefCell;

use postgres::error::SqlState;
use postgres::{Client, NoTls};

use crate::StoreError;
use crate::points::PendingPoints;
pub use leases::{Lease, LeaseRow, Leases, PartitionOwner};
pub use requests::{Decision, RequestAttempt};
pub use schema::PG_SCHEMA_VERSION;

/// Milliseconds since the epoch on PostgreSQL's clock (the one clock every node agrees on).
pub(crate) const NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::BIGINT";

/// A partition's lease, as the writer holds it: every write checks that `epoch` is still the
/// stored one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fence {
    /// The lease's epoch: it grows by one each time the lease changes hands.
    pub epoch: i64,
}

/// The store on PostgreSQL. See the module documentation.
pub struct PgStore {
    /// One connection; reads take `&self`, so it sits in a cell (a store is used by one
    /// thread at a time).
    pub(crate) client: RefCell<connection::Connection>,
    /// The URL it was opened with (kept to open another connection; never logged).
    url: String,
    /// `host:port/name`, for errors and logs.
    pub(crate) database: String,
    /// The partition this store writes.
    pub(crate) partition: u32,
    /// The lease every write checks, when the partition is leased.
    pub(crate) fence: Option<Fence>,
    /// The registry's versions by model, loaded by the first commit, so that a commit looks
    /// up in memory whether an event's version is new.
    pub(crate) known_versions: Option<commit::KnownVersions>,
    /// Points of the partition's committed inputs not yet written (see `points.rs`).
    pub(crate) points: PendingPoints,
    /// The draft of the snapshot being saved in steps, whose pieces no other write deletes.
    pub(crate) snapshot_draft: Option<i64>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PgStore")
            .field("database", &self.database)
            .field("partition", &self.partition)
            .field("fence", &self.fence)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to `url` and brings the schema up to date; writes go to partition 0.
    ///
    /// # Errors
    ///
    /// [`StoreError::BadUrl`] for a URL the client cannot read, [`StoreError::Postgres`] when
    /// the server cannot be reached or refuses, [`StoreError::SchemaTooNew`] when a newer
    /// modelwatch migrated the database.
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        PgStore::open_partition(url, 0)
    }

    /// Connects to `url` to write `partition`.
    ///
    /// # Errors
    ///
    /// As [`PgStore::open`].
    pub fn open_partition(url: &str, partition: u32) -> Result<PgStore, StoreError> {
        let config: postgres::Config = url.parse().map_err(|error| StoreError::BadUrl {
            url: redact(url),
            reason: format!("{error}"),
        })?;
        let database = describe(&config);
        let pg = |action| {
            let database = database.clone();
            move |error| StoreError::Postgres {
                database,
                action,
                error,
            }
        };
        let partition_key = i32::try_from(partition).map_err(|_| StoreError::BadUrl {
            url: redact(url),
            reason: format!("partition {partition} is out of range"),
        })?;
        let (client, points) = off_runtime(|| -> Result<(Client, PendingPoints), StoreError> {
            let mut client = config.connect(NoTls).map_err(pg("connecting"))?;
            let mut tx = client
                .transaction()
                .map_err(pg("starting the schema migration"))?;
            match schema::migrate(&mut tx).map_err(pg("migrating the schema"))? {
                schema::Migrated::Current => {}
                schema::Migrated::TooNew(found) => {
                    return Err(StoreError::SchemaTooNew {
                        path: database.clone().into(),
                        found,
                        supported: PG_SCHEMA_VERSION,
                    });
                }
            }
            tx.execute(
                "INSERT INTO partitions (partition) VALUES ($1) \
                 ON CONFLICT (partition) DO NOTHING",
                &[&partition_key],
            )
            .map_err(pg("registering the partition"))?;
            tx.commit().map_err(pg("committing the schema migration"))?;
            let points = points::pending_at_open(&mut client, partition_key)
                .map_err(pg("reading how far series points are written"))?;
            Ok((client, points))
        })?;
        Ok(PgStore {
            client: RefCell::new(connection::Connection::new(client)),
            url: url.to_string(),
            database,
            partition,
            fence: None,
            known_versions: None,
            points,
            snapshot_draft: None,
        })
    }

    /// The URL the store was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database as `host:port/name`.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The partition this store writes.
    pub fn partition(&self) -> u32 {
        self.partition
    }

    /// The ingest log's stream sequence this partition has committed through (0: none).
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
    pub fn log_seq(&self) -> Result<u64, StoreError> {
        let error = self.error("reading the partition's log position");
        let key = self.scope().key();
        let stored: i64 = self
            .call(|client| {
                client
                    .query_one(
                        "SELECT log_seq FROM partitions WHERE partition = $1",
                        &[&key],
                    )
                    .map(|row| row.get(0))
            })
            .map_err(error)?;
        Ok(u64::try_from(stored).unwrap_or(0))
    }

    /// The partition whose outbox the effects of this store work from: on a fenced store (a
    /// cluster's partition, run by one node) its own rows only, so that each delivery and job
    /// is worked on by the node that runs its partition; else every row.
    pub(crate) fn outbox_partition(&self) -> Option<i32> {
        self.fence.map(|_| self.scope().key())
    }

    /// Makes every later write check the partition's lease epoch first (see [`Fence`]).
    pub fn fence(&mut self, fence: Fence) {
        self.fence = Some(fence);
    }

    /// Runs `work` on the connection. The synchronous client drives its own Tokio runtime,
    /// which must not run inside another one (the service's async tasks), so `work` runs on
    /// a scoped thread of its own: the store stays callable from anywhere, as SQLite's is.
    ///
    /// A connection that broke (the server restarted, the network failed) is opened again
    /// first; if that fails too, `work` runs on the broken one and fails with a transient
    /// error, so the caller retries as after any transient failure.
    pub(crate) fn call<R: Send>(&self, work: impl FnOnce(&mut Client) -> R + Send) -> R {
        let mut guard = self.client.borrow_mut();
        let client: &mut Client = &mut guard;
        let url = self.url.as_str();
        off_runtime(|| {
            reconnect_if_closed(client, url);
            work(client)
        })
    }

    /// The error of a failed step.
    pub(crate) fn error(
        &self,
        action: &'static str,
    ) -> impl Fn(postgres::Error) -> StoreError + Send + use<> {
        let database = self.database.clone();
        move |error| StoreError::Postgres {
            database: database.clone(),
            action,
            error,
        }
    }

    /// What a write transaction needs to know of this store, as a value a [`PgStore::call`]
    /// closure can take along (the store itself stays on its thread).
    pub(crate) fn scope(&self) -> WriteScope {
        WriteScope {
            partition: self.partition,
            fence: self.fence,
        }
    }

    /// Bytes the database takes on disk.
    pub fn disk_bytes(&self) -> u64 {
        self.call(|client| {
            client
                .query_one("SELECT pg_database_size(current_database())", &[])
                .ok()
                .and_then(|row| row.try_get::<_, i64>(0).ok())
        })
        .map_or(0, |bytes| u64::try_from(bytes).unwrap_or(0))
    }
}

/// The partition a write goes to and the lease it must still hold.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WriteScope {
    pub(crate) partition: u32,
    pub(crate) fence: Option<Fence>,
}

impl WriteScope {
    /// The partition as PostgreSQL's `integer`.
    pub(crate) fn key(self) -> i32 {
        i32::try_from(self.partition).unwrap_or(i32::MAX)
    }

    /// In a write transaction, checks the fence (when there is one): the stored epoch must
    /// be ours, and stays so until the transaction ends (the lease row is locked against
    /// the update that would hand it over).
    pub(crate) fn check_fence(
        self,
        tx: &mut postgres::Transaction<'_>,
        database: &str,
    ) -> Result<(), StoreError> {
        let Some(fence) = self.fence else {
            return Ok(());
        };
        let stored: i64 = tx
            .query_opt(
                "SELECT epoch FROM leases WHERE partition = $1 FOR SHARE",
                &[&self.key()],
            )
            .map_err(|error| StoreError::Postgres {
                database: database.to_string(),
                action: "checking the partition's lease",
                error,
            })?
            .map_or(0, |row| row.get(0));
        if stored == fence.epoch {
            Ok(())
        } else {
            Err(StoreError::Fenced {
                partition: self.partition,
                ours: fence.epoch,
                stored,
            })
        }
    }
}

/// Opens the connection again when it broke (called off any Tokio runtime).
pub(crate) fn reconnect_if_closed(client: &mut Client, url: &str) {
    if !client.is_closed() {
        return;
    }
    // A failure leaves the broken connection: the caller's statement fails on it with a
    // transient error that names the database, and the next call tries again.
    if let Ok(fresh) = url
        .parse::<postgres::Config>()
        .and_then(|config| config.connect(NoTls))
    {
        *client = fresh;
    }
}

/// Runs `work` on a scoped thread and returns what it returns; a panic in it is re-raised
/// here, as if `work` had run on the calling thread.
fn off_runtime<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|scope| match scope.spawn(work).join() {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// Whether a PostgreSQL error may pass: the connection broke, the server is shutting down or
/// out of resources, or a transaction lost a race.
pub(crate) fn is_transient(error: &postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    match error.code() {
        Some(code) => {
            let class = &code.code()[..2];
            matches!(class, "08" | "53" | "57" | "58")
                || *code == SqlState::T_R_SERIALIZATION_FAILURE
                || *code == SqlState::T_R_DEADLOCK_DETECTED
        }
        // No SQL state: an I/O error talking to the server.
        None => true,
    }
}

/// PostgreSQL's own message of an error from the server (its severity, code, message and
/// detail), else the client's.
pub(crate) fn describe_error(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = format!("{}: {} ({})", db.severity(), db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(": ");
                text.push_str(detail);
            }
            text
        }
        None => error.to_string(),
    }
}

/// `host:port/name` of a connection config.
fn describe(config: &postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.clone(),
        Some(postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let name = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("{host}:{port}/{name}")
}

/// A URL with its password, if any, replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, None), |(a, p)| (a, Some(p)));
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{user_info}@{host}"),
        },
        None => authority.to_string(),
    };
    match path {
        Some(path) => format!("{scheme}://{authority}/{path}"),
        None => format!("{scheme}://{authority}"),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_the_password_only() {
        assert_eq!(
            redact("postgres://mw:secret@db:5432/mw?sslmode=disable"),
            "postgres://mw:***@db:5432/mw?sslmode=disable"
        );
        assert_eq!(redact("postgres://mw@db/mw"), "postgres://mw@db/mw");
        assert_eq!(redact("postgresql://db"), "postgresql://db");
    }
}
