//! Test support: the servers the cluster tests need, started for real on loopback from their
//! Debian packages (PostgreSQL, `nats-server`), never faked.
//!
//! A server that is not installed makes the test skip, saying which package to install, or
//! fail when `MODELWATCH_REQUIRE_SERVERS=1` (as `.ci/run` sets). Every server is bound to the
//! life of the test process: it stops when the process ends, however it ends (see
//! `process.rs`), and its files live in a temporary directory that goes with it.
//!
//! - `programs.rs`: finding a server's program ([`find_program`]).
//! - `process.rs`: a server process tied to the test process.
//! - `postgres.rs`: [`PostgresServer`] (one per test process) and a fresh [`TestDatabase`]
//!   per test.
//! - `nats.rs`: [`NatsServer`] with JetStream, one per test (restartable).

mod nats;
mod postgres;
mod process;
mod programs;

pub use nats::NatsServer;
pub use postgres::{PostgresServer, TestDatabase};
pub use programs::{find_program, require_servers};
