//! PostgreSQL or nats-server restarted mid-run, under three concurrent clients and two nodes.
//!
//! - NATS away: ingest answers 503 (the log cannot acknowledge), the clients retry with the
//!   same `Idempotency-Key`, and once it is back every acknowledged event is committed once.
//! - PostgreSQL away: the log still acknowledges (it is durable on its own), the partitions'
//!   commits fail and are retried on a fresh connection once it is back; every acknowledged
//!   event is committed once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use modelwatch_testkit::{NatsServer, PostgresServer};
use serde_json::Value;

use super::node::{Node, await_commits, count};
use super::workload::{BATCHES, CLIENTS, PARTITIONS, client, config, stored_exactly_once};
use crate::receiver::Receiver;

/// Which server goes away.
#[derive(Clone, Copy, Debug)]
enum Away {
    Postgres,
    Nats,
}

fn restart_mid_run(away: Away) {
    let Some(mut postgres) = PostgresServer::start() else {
        return;
    };
    let Some(mut nats) = NatsServer::start() else {
        return;
    };
    let database = postgres.database();
    let url = database.url().to_string();
    let receiver = Receiver::start(Vec::new());
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &receiver.url);
    let log = nats.url();
    let a = Node::start("a", &url, &log, &config, PARTITIONS);
    let b = Node::start("b", &url, &log, &config, PARTITIONS);
    let nodes = Arc::new(Mutex::new(vec![a.base.clone(), b.base.clone()]));
    let (progress, batches) = std::sync::mpsc::channel();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|index| {
            let nodes = nodes.clone();
            let progress = progress.clone();
            std::thread::spawn(move || client(index, nodes, progress))
        })
        .collect();
    drop(progress);
    for _ in 0..(CLIENTS * BATCHES / 3) {
        batches.recv().unwrap();
    }
    match away {
        Away::Postgres => postgres.stop(),
        Away::Nats => nats.stop(),
    }
    // While it is away: NATS gone means ingest is refused with 503. The probe carries a key:
    // a client would send it again with it, and so does this test once NATS is back.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let probe = super::workload::event(99, 0);
    let send_probe = || {
        agent
            .post(&format!("{}/v1/events", a.base))
            .header("content-type", "application/x-ndjson")
            .header("idempotency-key", "probe")
            .send(probe.to_string())
            .unwrap()
    };
    if let Away::Nats = away {
        let refused = send_probe();
        assert_eq!(refused.status(), 503, "ingest while NATS is away");
        assert!(refused.headers().get("retry-after").is_some());
    }
    match away {
        Away::Postgres => postgres.restart(),
        Away::Nats => nats.restart(),
    }
    let mut acknowledged: Vec<Value> = clients
        .into_iter()
        .flat_map(|client| client.join().unwrap())
        .collect();
    let mut tries = 0;
    while send_probe().status() != 202 {
        tries += 1;
        assert!(tries < 100, "the probe was never acknowledged");
    }
    acknowledged.push(probe.clone());
    let total = acknowledged.len() as i64;
    await_commits(
        &url,
        Duration::from_secs(180),
        "every acknowledged input",
        move |db| count(db, "SELECT count(*) FROM inputs") >= total,
    );
    stored_exactly_once(&url, &acknowledged);
    drop((a, b));
}

#[test]
fn nats_restarted_mid_run_refuses_ingest_meanwhile_and_loses_nothing() {
    restart_mid_run(Away::Nats);
}

#[test]
fn postgres_restarted_mid_run_loses_nothing() {
    restart_mid_run(Away::Postgres);
}
