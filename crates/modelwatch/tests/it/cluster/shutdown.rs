//! A node stopped with SIGTERM stops its partitions (each commits what it has), gives their
//! leases up, leaves, and exits cleanly; the other node takes the partitions at once, not
//! after the leases' expiry.

use std::time::Duration;

use super::node::{Node, Servers, await_leases, count, live_leases, with_db};
use super::workload::{PARTITIONS, config};
use crate::receiver::Receiver;

#[test]
fn a_node_stopped_with_sigterm_gives_its_partitions_up_and_exits() {
    let Some(servers) = Servers::start() else {
        return;
    };
    let url = servers.url.clone();
    let receiver = Receiver::start(Vec::new());
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &receiver.url);
    let a = Node::start("a", &url, &servers.nats.url(), &config, PARTITIONS);
    let b = Node::start("b", &url, &servers.nats.url(), &config, PARTITIONS);
    await_leases(&url, Duration::from_secs(60), "b's share", move |db| {
        live_leases(db, "b") > 0
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
        move |db| live_leases(db, "a") == i64::from(PARTITIONS),
    );
    drop(a);
}
