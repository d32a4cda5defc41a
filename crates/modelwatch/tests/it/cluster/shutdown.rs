//! A node stopped with SIGTERM stops its partitions (each commits what it has), gives their
//! leases up, leaves, and exits cleanly; the other node takes the partitions at once, not
//! after the leases' expiry.

use std::time::Duration;

use modelwatch_testkit::{NatsServer, PostgresServer};

use super::node::{Node, await_leases, count, with_db};
use super::workload::{PARTITIONS, config};
use crate::receiver::Receiver;

#[test]
fn a_node_stopped_with_sigterm_gives_its_partitions_up_and_exits() {
    let Some(postgres) = PostgresServer::start() else {
        return;
    };
    let Some(nats) = NatsServer::start() else {
        return;
    };
    let database = postgres.database();
    let url = database.url().to_string();
    let receiver = Receiver::start(Vec::new());
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &receiver.url);
    let a = Node::start("a", &url, &nats.url(), &config, PARTITIONS);
    let b = Node::start("b", &url, &nats.url(), &config, PARTITIONS);
    let live = |owner: &'static str| {
        move |db: &mut postgres::Client| {
            count(
                db,
                &format!(
                    "SELECT count(*) FROM leases WHERE owner = '{owner}' \
                     AND expires_at > (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT"
                ),
            )
        }
    };
    await_leases(&url, Duration::from_secs(60), "b's share", move |db| {
        live("b")(db) > 0
    });
    let stdout = b.stop();
    assert!(stdout.contains("stopped"), "b's last words: {stdout}");
    let left = with_db(&url, |db| {
        count(db, "SELECT count(*) FROM nodes WHERE node = 'b'")
    });
    assert_eq!(left, 0, "b left the cluster");
    // The lease TTL is 2 s and a takes what is free on its next tick: all of them, at once.
    await_leases(
        &url,
        Duration::from_secs(60),
        "a taking everything",
        move |db| live("a")(db) == i64::from(PARTITIONS),
    );
    drop(a);
}
