//! [`Leases`]: the cluster's membership and partition ownership in PostgreSQL, on a
//! connection of its own (the node's lease loop), and the ingest log's recorded layout.
//!
//! A node announces itself in `nodes` with an expiry; a partition's lease in `leases` names
//! its owner, an `epoch` and an expiry. Taking a lease (free, expired, or released) always
//! increments its epoch, and every write of a partition's store checks, in its own
//! transaction, that the stored epoch is still its own (`WriteScope::check_fence`, which
//! holds the row `FOR SHARE`): a node that lost its lease can never commit beside the one
//! that took it over, whatever its clock or its pauses. Expiries are read on PostgreSQL's
//! clock, so the nodes' clocks need not agree.

use postgres::NoTls;

use super::{NOW_MS, describe, off_runtime, redact};
use crate::StoreError;

/// A lease held: the partition and its epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lease {
    /// The partition.
    pub partition: u32,
    /// Its epoch when we took it.
    pub epoch: i64,
}

/// A partition's lease as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseRow {
    /// The partition.
    pub partition: u32,
    /// Who holds (or last held) it.
    pub owner: String,
    /// Its epoch.
    pub epoch: i64,
    /// Whether it is still in force (not expired, not released).
    pub live: bool,
}

/// The node running a partition, as [`Leases::owner`] finds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionOwner {
    /// Its node id.
    pub node: String,
    /// The base URL its HTTP answers at (`--advertise`), if its live heartbeat recorded one.
    pub address: Option<String>,
}

/// The lease loop's connection. Synchronous; each call runs off any Tokio runtime.
pub struct Leases {
    client: super::connection::Connection,
    url: String,
    database: String,
}

impl std::fmt::Debug for Leases {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Leases")
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

impl Leases {
    /// Connects to `url` (whose schema [`super::PgStore::open`] migrated).
    ///
    /// # Errors
    ///
    /// [`StoreError::BadUrl`] or [`StoreError::Postgres`].
    pub fn open(url: &str) -> Result<Leases, StoreError> {
        let config: postgres::Config = url.parse().map_err(|error| StoreError::BadUrl {
            url: redact(url),
            reason: format!("{error}"),
        })?;
        let database = describe(&config);
        let client =
            off_runtime(|| config.connect(NoTls)).map_err(|error| StoreError::Postgres {
                database: database.clone(),
                action: "connecting for leases",
                error,
            })?;
        Ok(Leases {
            client: super::connection::Connection::new(client),
            url: url.to_string(),
            database,
        })
    }

    fn error(&self, action: &'static str) -> impl Fn(postgres::Error) -> StoreError + Send + use<> {
        let database = self.database.clone();
        move |error| StoreError::Postgres {
            database: database.clone(),
            action,
            error,
        }
    }

    /// Records the ingest log's layout the first time (`stream`, `partitions`) and returns
    /// the recorded one: the partition count is fixed when the stream is created, so a node
    /// started with another count is refused by its caller.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read or write fails.
    pub fn log_layout(
        &mut self,
        stream: &str,
        partitions: u32,
    ) -> Result<(String, u32), StoreError> {
        let error = self.error("recording the ingest log's layout");
        let partitions = i32::try_from(partitions).unwrap_or(i32::MAX);
        let client = &mut self.client;
        let url = self.url.as_str();
        let row = off_runtime(|| {
            super::reconnect_if_closed(client, url);
            client.execute(
                "INSERT INTO log_layout (id, stream, partitions) VALUES (1, $1, $2) \
                 ON CONFLICT (id) DO NOTHING",
                &[&stream, &partitions],
            )?;
            client.query_one(
                "SELECT stream, partitions FROM log_layout WHERE id = 1",
                &[],
            )
        })
        .map_err(error)?;
        let recorded: i32 = row.get(1);
        Ok((row.get(0), u32::try_from(recorded).unwrap_or(0)))
    }

    /// Announces `node` alive for `ttl_ms` more, answering HTTP at `address` (the base URL
    /// other nodes forward requests about its partitions to), and returns the live nodes,
    /// sorted.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`].
    pub fn heartbeat(
        &mut self,
        node: &str,
        address: Option<&str>,
        ttl_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        let error = self.error("announcing the node");
        let client = &mut self.client;
        let url = self.url.as_str();
        off_runtime(|| {
            super::reconnect_if_closed(client, url);
            client.execute(
                &format!(
                    "INSERT INTO nodes (node, seen_at, expires_at, address) \
                     VALUES ($1, {NOW_MS}, {NOW_MS} + $2, $3) \
                     ON CONFLICT (node) DO UPDATE SET seen_at = excluded.seen_at, \
                     expires_at = excluded.expires_at, address = excluded.address"
                ),
                &[&node, &ttl_ms, &address],
            )?;
            let rows = client.query(
                &format!("SELECT node FROM nodes WHERE expires_at > {NOW_MS} ORDER BY node"),
                &[],
            )?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        })
        .map_err(error)
    }

    /// Takes `partition` for `node` if its lease is free, expired or released (or was never
    /// taken), with the next epoch; `None` when another node holds it. A lease taken is
    /// announced on `modelwatch_leases` as `<partition>:<node>:<epoch>`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`].
    pub fn acquire(
        &mut self,
        partition: u32,
        node: &str,
        ttl_ms: i64,
    ) -> Result<Option<Lease>, StoreError> {
        let error = self.error("taking a partition's lease");
        let key = i32::try_from(partition).unwrap_or(i32::MAX);
        let client = &mut self.client;
        let url = self.url.as_str();
        let epoch = off_runtime(|| -> Result<Option<i64>, postgres::Error> {
            super::reconnect_if_closed(client, url);
            client.execute(
                "INSERT INTO leases (partition, owner, epoch, expires_at) VALUES ($1, '', 0, 0) \
                 ON CONFLICT (partition) DO NOTHING",
                &[&key],
            )?;
            let row = client.query_opt(
                &format!(
                    "UPDATE leases SET owner = $2, epoch = epoch + 1, expires_at = {NOW_MS} + $3 \
                     WHERE partition = $1 AND expires_at <= {NOW_MS} RETURNING epoch"
                ),
                &[&key, &node, &ttl_ms],
            )?;
            let epoch: Option<i64> = row.map(|row| row.get(0));
            if let Some(epoch) = epoch {
                // Who watches ownership (operators, tests) listens instead of polling.
                let notice = format!("{partition}:{node}:{epoch}");
                client.execute("SELECT pg_notify('modelwatch_leases', $1)", &[&notice])?;
            }
            Ok(epoch)
        })
        .map_err(error)?;
        Ok(epoch.map(|epoch| Lease { partition, epoch }))
    }

    /// Extends a lease we hold; false when it is no longer ours (expired and taken over).
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`].
    pub fn renew(&mut self, lease: Lease, node: &str, ttl_ms: i64) -> Result<bool, StoreError> {
        let error = self.error("renewing a partition's lease");
        let key = i32::try_from(lease.partition).unwrap_or(i32::MAX);
        let client = &mut self.client;
        let url = self.url.as_str();
        let renewed = off_runtime(|| {
            super::reconnect_if_closed(client, url);
            client.execute(
                &format!(
                    "UPDATE leases SET expires_at = {NOW_MS} + $4 \
                     WHERE partition = $1 AND owner = $2 AND epoch = $3"
                ),
                &[&key, &node, &lease.epoch, &ttl_ms],
            )
        })
        .map_err(error)?;
        Ok(renewed == 1)
    }

    /// Gives a lease up at once (its partition stopped here first), so that another node
    /// takes it without waiting for the expiry.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`].
    pub fn release(&mut self, lease: Lease, node: &str) -> Result<(), StoreError> {
        let error = self.error("releasing a partition's lease");
        let key = i32::try_from(lease.partition).unwrap_or(i32::MAX);
        let client = &mut self.client;
        let url = self.url.as_str();
        off_runtime(|| {
            super::reconnect_if_closed(client, url);
            client.execute(
                "UPDATE leases SET expires_at = 0 WHERE partition = $1 AND owner = $2 AND epoch = $3",
                &[&key, &node, &lease.epoch],
            )
        })
        .map_err(error)?;
        Ok(())
    }

    /// Says `node` is gone (a clean stop), so that the others rebalance at once.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`].
    pub fn leave(&mut self, node: &str) -> Result<(), StoreError> {
        let error = self.error("leaving the cluster");
        let client = &mut self.client;
        let url = self.url.as_str();
        off_runtime(|| {
            super::reconnect_if_closed(client, url);
            client.execute("DELETE FROM nodes WHERE node = $1", &[&node])
        })
        .map_err(error)?;
        Ok(())
    }

    /// Who runs `partition` now, and where it answers HTTP: the owner of its live lease
    /// (neither expired nor released), with the address its live heartbeat recorded; `None`
    /// when no node holds it (it is being taken over).
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`].
    pub fn owner(&mut self, partition: u32) -> Result<Option<PartitionOwner>, StoreError> {
        let error = self.error("reading a partition's owner");
        let key = i32::try_from(partition).unwrap_or(i32::MAX);
        let client = &mut self.client;
        let url = self.url.as_str();
        let row = off_runtime(|| {
            super::reconnect_if_closed(client, url);
            client.query_opt(
                &format!(
                    "SELECT leases.owner, nodes.address FROM leases \
                     LEFT JOIN nodes ON nodes.node = leases.owner AND nodes.expires_at > {NOW_MS} \
                     WHERE leases.partition = $1 AND leases.expires_at > {NOW_MS}"
                ),
                &[&key],
            )
        })
        .map_err(error)?;
        Ok(row.map(|row| PartitionOwner {
            node: row.get(0),
            address: row.get(1),
        }))
    }

    /// Every partition's lease as stored, by partition.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`].
    pub fn leases(&mut self) -> Result<Vec<LeaseRow>, StoreError> {
        let error = self.error("reading the leases");
        let client = &mut self.client;
        let url = self.url.as_str();
        let rows = off_runtime(|| {
            super::reconnect_if_closed(client, url);
            client.query(
                &format!(
                    "SELECT partition, owner, epoch, expires_at > {NOW_MS} FROM leases \
                     ORDER BY partition"
                ),
                &[],
            )
        })
        .map_err(error)?;
        Ok(rows
            .iter()
            .map(|row| LeaseRow {
                partition: u32::try_from(row.get::<_, i32>(0)).unwrap_or(0),
                owner: row.get(1),
                epoch: row.get(2),
                live: row.get(3),
            })
            .collect())
    }
}
