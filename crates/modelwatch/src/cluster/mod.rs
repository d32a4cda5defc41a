//! Cluster mode: several `serve` nodes on one PostgreSQL store, their inputs ordered by an
//! ingest log on NATS JetStream (docs/cluster.md).
//!
//! - `connection.rs`: `SharedConnection`, a synchronous PostgreSQL connection the node's
//!   tasks share, used off the async threads.
//! - `front.rs`: [`Front`], what serves the routes' queue on a cluster node.
//! - `forward.rs`: [`Forwarder`], requests about another node's partition sent to that node.
//! - `log.rs`: [`IngestLog`], the stream partitioned by model, publish and read.
//! - `node.rs`: [`Node`], the lease loop: this node's share of the partitions.
//! - `partition.rs`: [`PartitionRun`], one partition run here under its lease.
//! - `service.rs`: [`ClusterService`], a node: routes, front and lease loop together.
//! - `spanning.rs`: requests spanning partitions, published whole or not at all.
mod connection;
mod forward;
mod front;
mod log;
mod node;
mod partition;
mod service;
mod spanning;
#[cfg(test)]
mod spanning_tests;

pub use forward::{FORWARD_TIMEOUT, Forwarder};
pub use front::Front;
pub use log::{IngestLog, LogError, LogMessage, LogOptions, Part, input_model, partition_of};
pub use node::{LocalPartitions, Node, NodeOptions, Ownership};
pub use partition::{PartitionError, PartitionRun, PartitionSetup};
pub use service::{ClusterError, ClusterOptions, ClusterService};
pub use spanning::{DECISION_WAIT, Decisions, ORPHAN_AGE, publish_request};
