//! The cluster end to end: `serve` nodes as child processes on a real PostgreSQL and a real
//! `nats-server` with JetStream (both from their Debian packages, started on loopback by
//! `modelwatch-testkit`; skipped without them, failed under `MODELWATCH_REQUIRE_SERVERS=1`).
//!
//! - `node.rs`: a node as a child process, and the store read straight from PostgreSQL.
//! - `failover.rs`: three nodes, three clients, one node killed, one joining; every
//!   acknowledged event committed once, the outputs those of `replay`, effects once.
//! - `forwarding.rs`: drift, references and a job's completion asked of a node that does not
//!   run the partition, answered by the one that does (or a 503 naming it when it cannot be
//!   reached).
//! - `outages.rs`: PostgreSQL or nats-server restarted mid-run: nothing acknowledged lost.
//! - `reads.rs`: answers as a single node's: a reference upload with the reference in force,
//!   a job's long poll through any node, drift and references while NATS is stopped.
//! - `shutdown.rs`: a node stopped with SIGTERM gives its partitions up and exits.
//! - `spanning.rs`: a request spanning partitions, half-published by a node that died:
//!   abandoned whole, or completed whole by a keyed retry.
//! - `workload.rs`: the config, the events, the clients, the exactly-once check.

mod failover;
mod forwarding;
mod node;
mod outages;
mod reads;
mod shutdown;
mod spanning;
mod workload;
