//! [`ClusterService`]: `modelwatch serve --store postgres://... --log nats://...`, one node of
//! a cluster: the routes (reads from PostgreSQL, ingest into the log through the [`Front`],
//! requests about other nodes' partitions forwarded there by the [`Forwarder`]), and the
//! [`Node`] running this node's share of the partitions.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use modelwatch_engine::Config;
use modelwatch_store::Store;
use modelwatch_store::pg::Leases;
use tokio::sync::watch;

use super::forward::Forwarder;
use super::front::Front;
use super::log::{IngestLog, LogError, LogOptions};
use super::node::{LocalPartitions, Node, NodeOptions, Ownership};
use super::partition::PartitionSetup;
use super::spanning::Decisions;
use crate::clock::Clock;
use crate::effects::JobControl;
use crate::runtime::RuntimeOptions;
use crate::runtime::metrics::Metrics;
use crate::server::listen::{self, ConnectionLimits, Incoming};
use crate::server::{self, RouterParts};
use crate::service::ServiceOptions;

/// Where the cluster's parts are and who this node is.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// The PostgreSQL store (`postgres://...`).
    pub store_url: String,
    /// The ingest log.
    pub log: LogOptions,
    /// This node.
    pub node: NodeOptions,
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// PostgreSQL.
    #[error(transparent)]
    Store(#[from] modelwatch_store::StoreError),
    /// NATS.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The node disagrees with the cluster's recorded layout.
    #[error(
        "the ingest log {stream} was made with {recorded} partitions; this node was started \
         with --partitions {asked} (the count is fixed: start it with {recorded})"
    )]
    Partitions {
        /// The stream.
        stream: String,
        /// The recorded count.
        recorded: u32,
        /// The count asked.
        asked: u32,
    },
    /// A task failed.
    #[error("{0}")]
    Task(String),
}

/// A started cluster node.
#[derive(Debug)]
pub struct ClusterService {
    router: Router,
    connections: ConnectionLimits,
    front: Front,
    node: Node,
    database: String,
}

impl ClusterService {
    /// Connects to PostgreSQL (migrating its schema) and NATS (making the stream), checks the
    /// partition count against the recorded one, and starts the routes and the lease loop.
    ///
    /// # Errors
    ///
    /// [`ClusterError`]: a server cannot be reached, or the partition count differs.
    pub async fn start(
        config: Arc<Config>,
        cluster: ClusterOptions,
        clock: Arc<dyn Clock>,
        options: ServiceOptions,
    ) -> Result<ClusterService, ClusterError> {
        let url = cluster.store_url.clone();
        let stream = cluster.log.stream.clone();
        let asked = cluster.log.partitions;
        let (reader, registry, decisions, recorded, owners) =
            tokio::task::spawn_blocking(move || {
                let reader = Store::open_postgres(&url)?;
                let registry = Store::open_postgres(&url)?;
                let decisions = Store::open_postgres(&url)?;
                let mut leases = Leases::open(&url)?;
                let recorded = leases.log_layout(&stream, asked)?;
                // Its connection serves the lookups of partitions' owners from now on.
                Ok::<_, modelwatch_store::StoreError>((
                    reader, registry, decisions, recorded, leases,
                ))
            })
            .await
            .map_err(|error| ClusterError::Task(error.to_string()))??;
        let (stream, partitions) = recorded;
        if partitions != asked {
            return Err(ClusterError::Partitions {
                stream,
                recorded: partitions,
                asked,
            });
        }
        let database = reader.describe();
        let log = IngestLog::connect(cluster.log.clone()).await?;
        let local = LocalPartitions::new(partitions);
        let front = Front::start(
            log.clone(),
            local.clone(),
            registry,
            Decisions::new(decisions),
            &cluster.node.node_id,
            clock.now(),
        );
        // The node's counters: its routes' and every partition's writer's, one `/metrics`.
        let metrics = Arc::new(Metrics::default());
        let setup = PartitionSetup {
            config: config.clone(),
            store_url: cluster.store_url.clone(),
            log,
            clock: clock.clone(),
            link_base: options.public_url.clone(),
            runtime: RuntimeOptions {
                queue_capacity: options.queue_capacity,
                snapshot_every: options.snapshot_every,
                retention: options.retention,
                // Checked at ingest on a single node; here the log has acknowledged the events
                // before a partition sees them, so nothing may refuse them after.
                max_series: None,
                metrics: Some(metrics.clone()),
            },
        };
        let forwarder = Forwarder::new(cluster.node.node_id.clone(), local.clone(), owners)
            .map_err(|error| {
                ClusterError::Task(format!(
                    "cannot build the HTTP client for forwarding: {error}"
                ))
            })?;
        let node = Node::start(setup, cluster.node.clone(), local).await?;
        let router = server::router(RouterParts {
            config,
            clock,
            queue: front.queue().clone(),
            reader,
            metrics,
            jobs: JobControl::detached(),
            auth: options.auth,
            body_limit: options.body_limit,
            body_timeout: options.body_timeout,
            max_bodies_in_flight: options.max_bodies_in_flight,
            max_exported_series: options.max_exported_series,
            retention: options.retention,
            max_future: options.max_future,
            ready_detail: Some(ready_detail(node.ownership())),
            routing: Some(Arc::new(forwarder)),
        })
        .merge(ownership_route(node.ownership()));
        Ok(ClusterService {
            router,
            connections: options.connections,
            front,
            node,
            database,
        })
    }

    /// The routes.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Serves the routes on `incoming` until `shutdown` resolves.
    pub fn listen<I: Incoming>(
        &self,
        incoming: I,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> impl Future<Output = ()> + Send + 'static {
        listen::listen(incoming, self.router(), self.connections, shutdown)
    }

    /// What this node runs.
    pub fn ownership(&self) -> watch::Receiver<Ownership> {
        self.node.ownership()
    }

    /// The PostgreSQL database, as `host:port/name`.
    pub fn store_description(&self) -> &str {
        &self.database
    }

    /// Stops the partitions here (each commits what it has), gives their leases up, and
    /// ends the front.
    pub async fn stop(self) {
        drop(self.router);
        self.node.stop().await;
        let joined = tokio::time::timeout(Duration::from_secs(5), self.front.join()).await;
        if joined.is_err() {
            tracing::warn!("Requests were still under way when the node stopped.");
        }
    }
}

/// `GET /v1/cluster/partitions`: which partitions this node runs (no token needed, like
/// `/readyz`).
fn ownership_route(ownership: watch::Receiver<Ownership>) -> Router {
    Router::new().route(
        "/cluster/partitions",
        axum::routing::get(move || {
            let ownership = ownership.borrow().clone();
            async move {
                axum::Json(serde_json::json!({
                    "ready": ownership.ready,
                    "recovering": ownership.recovering,
                    "nodes": ownership.nodes,
                }))
            }
        }),
    )
}

/// The lines `/readyz` adds on a cluster node, following its ownership.
fn ready_detail(mut ownership: watch::Receiver<Ownership>) -> watch::Receiver<String> {
    let describe = |ownership: &Ownership| {
        let list = |partitions: &[u32]| {
            partitions
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        format!(
            "partitions: {}\nrecovering: {}\nnodes: {}\n",
            list(&ownership.ready),
            list(&ownership.recovering),
            ownership.nodes
        )
    };
    let (sender, receiver) = watch::channel(describe(&ownership.borrow()));
    tokio::spawn(async move {
        while ownership.changed().await.is_ok() {
            let text = describe(&ownership.borrow_and_update());
            if sender.send(text).is_err() {
                break;
            }
        }
    });
    receiver
}
