//! Requests spanning partitions, published whole or not at all (`cluster/spanning.rs`): a
//! node stands in for an accepting node that died mid-request by publishing some parts
//! itself, straight to the log, and never committing them.
//!
//! - Parts of a request nobody commits are abandoned by their partitions (a commit record
//!   `abort`), never stored, and the partitions go on with later requests.
//! - A request half-published by a node that died is completed by a retry with the same
//!   `Idempotency-Key` on a live node: every input stored once.
//! - A part published again under the same message id is stored once, and its
//!   acknowledgement gives the sequence it was first stored at (what the commit record
//!   keeps to know when it may be forgotten).

use std::time::Duration;

use modelwatch::clock::{Clock, SystemClock};
use modelwatch::cluster::{IngestLog, LogOptions, partition_of};
use modelwatch_engine::config::default_config;
use modelwatch_engine::{Format, Input, Timestamp, WireParser};
use modelwatch_store::pg::RequestAttempt;
use serde_json::Value;

use super::node::{Node, Servers, await_commits, count, with_db};
use super::workload::{PARTITIONS, config, event, stored_exactly_once};
use crate::receiver::Receiver;

/// Two models in different partitions.
fn two_partitions() -> (usize, usize) {
    let first = 0;
    let other = (1..)
        .find(|&m| {
            partition_of(&format!("m{m}"), PARTITIONS)
                != partition_of(&format!("m{first}"), PARTITIONS)
        })
        .unwrap();
    (first, other)
}

fn inputs(events: &[Value]) -> Vec<Input> {
    let config = default_config().unwrap();
    let text = events
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    WireParser::new(&config.catalog)
        .parse_batch(&text, Format::Ndjson)
        .unwrap()
}

fn post(base: &str, events: &[Value], key: &str) -> u16 {
    let body = events
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    agent
        .post(&format!("{base}/v1/events"))
        .header("content-type", "application/x-ndjson")
        .header("idempotency-key", key)
        .send(&body)
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn a_request_spanning_partitions_is_processed_whole_or_not_at_all() {
    let Some(servers) = Servers::start() else {
        return;
    };
    let url = servers.url.clone();
    let receiver = Receiver::start(Vec::new());
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &receiver.url);
    let node = Node::start("a", &url, &servers.nats.url(), &config, PARTITIONS);
    let (m, n) = two_partitions();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let log = runtime
        .block_on(IngestLog::connect(LogOptions {
            url: servers.nats.url(),
            stream: "MODELWATCH".to_string(),
            partitions: PARTITIONS,
            replicas: 1,
        }))
        .unwrap();
    let publish_first_part = |request: &str, events: &[Value], received_at: Timestamp| {
        let parts = log.parts(inputs(events)).unwrap();
        assert_eq!(parts.len(), 2, "the request spans two partitions");
        let attempt = RequestAttempt {
            request: request.to_string(),
            attempt: 0,
        };
        let publish = || {
            runtime.block_on(log.publish(request, Some(&attempt), &parts[..1], received_at, None))
        };
        let first = publish().unwrap();
        // Published again under the same id: stored once, acknowledged at the same sequence.
        assert_eq!(publish().unwrap(), first);
    };

    // 1. An orphan: one part of two, received long ago by a node gone since, never committed.
    let orphan = [event(m, 0), event(n, 0)];
    publish_first_part("orphan", &orphan, Timestamp::from_nanos(0));
    // A later request to the same models is processed: the partition did not stall.
    let later = [event(m, 1), event(n, 1)];
    assert_eq!(post(&node.base, &later, "later"), 202);
    await_commits(&url, Duration::from_secs(60), "the later request", |db| {
        count(db, "SELECT count(*) FROM inputs") >= 2
    });
    let aborted = with_db(&url, |db| {
        count(
            db,
            "SELECT count(*) FROM log_requests \
             WHERE request = 'orphan' AND attempt = 0 AND decision = 'abort'",
        )
    });
    assert_eq!(aborted, 1, "the orphan's record says abort");

    // 2. Half-published by a node that died just now; the client retries on a live node
    //    with the same key (the accepting node's request id is `key-<key>`).
    let retried = [event(m, 2), event(n, 2)];
    publish_first_part("key-retried", &retried, SystemClock.now());
    assert_eq!(post(&node.base, &retried, "retried"), 202);
    // And once more, as a client that never saw the 202 would.
    assert_eq!(post(&node.base, &retried, "retried"), 202);
    await_commits(&url, Duration::from_secs(60), "the retried request", |db| {
        count(db, "SELECT count(*) FROM inputs") >= 4
    });
    let acknowledged: Vec<Value> = later.iter().chain(&retried).cloned().collect();
    stored_exactly_once(&url, &acknowledged);
    drop(node);
}
