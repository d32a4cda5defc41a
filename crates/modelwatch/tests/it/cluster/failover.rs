//! The failover test: three nodes and three concurrent clients; one node is killed with
//! SIGKILL mid-run and a fourth joins. Every acknowledged event is committed exactly once;
//! each partition's stored alerts and decisions are what `modelwatch replay --format json`
//! gives for its inputs in the stream's order; one job per granted retrain, started at most
//! once (and surely, but for a job the killed node had just started); no
//! delivery is sent twice, but for a send in flight on the killed node when it died, which
//! the next owner repeats once (same id) and the store counts in doubt. A model's drift is
//! answered by every node, the others forwarding to the one running its partition.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::node::{Node, Servers, ask, await_commits, await_leases, count, with_db};
use super::workload::{BATCHES, CLIENTS, PARTITIONS, client, config, stored_exactly_once};
use crate::receiver::Receiver;

#[test]
fn a_killed_node_loses_nothing_and_repeats_nothing() {
    let Some(servers) = Servers::start() else {
        return;
    };
    let url = servers.url.clone();
    let receiver = Receiver::start(Vec::new());
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &receiver.url);
    let log = servers.nats.url();
    let start = |id: &str| Node::start(id, &url, &log, &config, PARTITIONS);
    let a = start("a");
    let b = start("b");
    let c = start("c");
    // Every node runs partitions before the clients start, b among them.
    await_leases(
        &url,
        Duration::from_secs(60),
        "each node running partitions",
        |db| {
            count(
                db,
                "SELECT count(DISTINCT owner) FROM leases WHERE expires_at > 0 AND owner IN ('a', 'b', 'c')",
            ) == 3
        },
    );
    let nodes = Arc::new(Mutex::new(vec![
        a.base.clone(),
        b.base.clone(),
        c.base.clone(),
    ]));
    let (progress, batches) = std::sync::mpsc::channel();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|index| {
            let nodes = nodes.clone();
            let progress = progress.clone();
            std::thread::spawn(move || client(index, nodes, progress))
        })
        .collect();
    drop(progress);
    // A third of the way: node b dies, node d joins.
    for _ in 0..(CLIENTS * BATCHES / 3) {
        batches.recv().unwrap();
    }
    let b_base = b.base.clone();
    let b_partitions: Vec<i32> = with_db(&url, |db| {
        db.query("SELECT partition FROM leases WHERE owner = 'b'", &[])
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect()
    });
    assert!(
        !b_partitions.is_empty(),
        "b runs partitions when it is killed"
    );
    b.kill();
    let d = start("d");
    {
        let mut nodes = nodes.lock().unwrap();
        nodes.retain(|base| *base != b_base);
        nodes.push(d.base.clone());
    }
    let acknowledged: Vec<Value> = clients
        .into_iter()
        .flat_map(|client| client.join().unwrap())
        .collect();
    // b's partitions resumed elsewhere, under a later epoch.
    let taken_over = format!(
        "SELECT count(*) FROM leases WHERE owner <> 'b' AND epoch > 1 AND partition IN ({})",
        b_partitions
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    let expected_takeovers = b_partitions.len() as i64;
    await_leases(
        &url,
        Duration::from_secs(60),
        "b's partitions taken over",
        move |db| count(db, &taken_over) == expected_takeovers,
    );
    let total = acknowledged.len() as i64;
    await_commits(
        &url,
        Duration::from_secs(120),
        "every acknowledged input",
        move |db| count(db, "SELECT count(*) FROM inputs") >= total,
    );

    // Exactly once: the stored inputs are the acknowledged events, each once.
    let stored = stored_exactly_once(&url, &acknowledged);

    // The outputs: each partition's, as replay computes them from its inputs in order.
    for (partition, inputs) in &stored {
        let file = dir.path().join(format!("partition-{partition}.jsonl"));
        std::fs::write(&file, inputs.join("\n")).unwrap();
        let replayed = replay(&config, &file);
        let partition = *partition;
        let outputs: Vec<String> = with_db(&url, move |db| {
            let mut outputs = Vec::new();
            for table in ["alerts", "decisions", "job_notices"] {
                for row in db
                    .query(
                        &format!("SELECT output FROM {table} WHERE partition = $1 ORDER BY pos"),
                        &[&partition],
                    )
                    .unwrap()
                {
                    outputs.push(row.get(0));
                }
            }
            outputs
        });
        let mut stored_ids: Vec<String> = outputs.iter().map(|output| id_of(output)).collect();
        let mut replay_ids: Vec<String> = replayed
            .iter()
            .filter(|output| {
                ["alert", "retrain", "job_finished"]
                    .contains(&output["type"].as_str().unwrap_or(""))
            })
            .map(|output| output["id"].as_str().unwrap().to_string())
            .collect();
        stored_ids.sort();
        replay_ids.sort();
        assert_eq!(
            stored_ids, replay_ids,
            "partition {partition}: outputs as replay gives them"
        );
    }

    // Effects once: a job per granted retrain, started once; a delivery per alert
    // transition and notifier, sent once.
    let granted = with_db(&url, |db| {
        count(
            db,
            "SELECT count(*) FROM decisions WHERE decision = 'granted'",
        )
    });
    let jobs = with_db(&url, |db| count(db, "SELECT count(*) FROM jobs"));
    assert_eq!(jobs, granted);
    await_commits(
        &url,
        Duration::from_secs(120),
        "every delivery sent and every job started",
        |db| {
            count(
                db,
                "SELECT count(*) FROM deliveries WHERE state <> 'delivered'",
            ) == 0
                && count(db, "SELECT count(*) FROM jobs WHERE state = 'queued'") == 0
        },
    );
    let deliveries = with_db(&url, |db| {
        count(
            db,
            "SELECT count(*) FROM deliveries WHERE state = 'delivered'",
        )
    });
    assert!(
        deliveries > 0 && jobs > 0,
        "the workload acts: {deliveries} deliveries, {jobs} jobs"
    );
    // Every send was read by the receiver before its success was committed; the receiver
    // reports a request just after answering it, so await the distinct ones, then take
    // whatever else it read.
    //
    // A job starts at most once: its start is committed before its trainer is called, so a
    // job of b's partitions that b started may never have reached the trainer (b died between
    // the two; the next owner waits for it until its deadline). Every other job reaches it.
    let b_list = b_partitions
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let certain_jobs = with_db(&url, move |db| {
        count(
            db,
            &format!("SELECT count(*) FROM jobs WHERE partition NOT IN ({b_list})"),
        )
    });
    let mut sent: BTreeMap<String, usize> = BTreeMap::new();
    let mut started: BTreeMap<String, usize> = BTreeMap::new();
    while (sent.len() as i64) < deliveries || (started.len() as i64) < certain_jobs {
        tally(&mut sent, &mut started, receiver.next(60));
    }
    while let Some(request) = receiver.try_next() {
        tally(&mut sent, &mut started, request);
    }
    assert_eq!(sent.len() as i64, deliveries, "every delivery sent");
    // A send under way on the killed node may have happened before its success was
    // committed: the next owner sends it again (same delivery id), and the store counts it in
    // doubt. Every other delivery is sent once.
    let in_doubt: BTreeMap<String, i64> = with_db(&url, |db| {
        db.query(
            "SELECT id, in_doubt FROM deliveries WHERE in_doubt > 0",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
    });
    for (id, times) in &sent {
        let allowed = 1 + in_doubt.get(id).copied().unwrap_or(0);
        assert!(
            (*times as i64) <= allowed,
            "delivery {id} sent {times} times, {allowed} allowed (in doubt: {in_doubt:?})"
        );
    }
    assert!(
        in_doubt.len() <= b_partitions.len(),
        "more sends in doubt than the one under way on each of b's partitions: {in_doubt:?}"
    );
    assert!(
        (certain_jobs..=jobs).contains(&(started.len() as i64)),
        "jobs started: {} of {jobs} ({certain_jobs} outside b's partitions)",
        started.len()
    );
    assert!(
        started.values().all(|&n| n == 1),
        "a job started twice: {started:?}"
    );
    // What a partition's engine holds is answered by the node that runs it, and by the others
    // through it: model m0's drift (it has no drift settings: 404, the owner's answer, from
    // every node). Marked as forwarded already, only the owner answers it; the others name
    // the partition (503). Its series are on the owner's /metrics.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut owners = Vec::new();
    let mut answers = Vec::new();
    for node in [&a, &c, &d] {
        let (status, body) = ask(&node.base, "/v1/models/m0/drift", None, &[]);
        assert_eq!(status, 404, "drift of m0 on {}: {body}", node.id);
        answers.push(body);
        let marked = [("modelwatch-forwarded-by", "a-test")];
        let (status, body) = ask(&node.base, "/v1/models/m0/drift", None, &marked);
        match status {
            404 => owners.push(node.base.clone()),
            503 => assert!(body.contains("partition"), "{body}"),
            other => panic!("drift of m0 on {}, marked: {other} {body}", node.id),
        }
    }
    assert!(
        answers.iter().all(|answer| *answer == answers[0]),
        "{answers:?}"
    );
    assert_eq!(owners.len(), 1, "one node runs m0's partition");
    let metrics = agent
        .get(&format!("{}/metrics", owners[0]))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(metrics.contains("model=\"m0\""), "{metrics}");
    drop((a, c, d));
}

/// Counts a request to the webhook or the trainer by its idempotency key.
fn tally(
    sent: &mut BTreeMap<String, usize>,
    started: &mut BTreeMap<String, usize>,
    request: crate::receiver::Received,
) {
    let key = request.headers["idempotency-key"].clone();
    let seen = match request.path.as_str() {
        "/hook" => sent.entry(key).or_default(),
        "/train" => started.entry(key).or_default(),
        other => panic!("unexpected request to {other}"),
    };
    *seen += 1;
}

fn id_of(output: &str) -> String {
    let value: Value = serde_json::from_str(output).unwrap();
    value["id"].as_str().unwrap().to_string()
}

/// `modelwatch replay --format json` of `file` under `config`.
fn replay(config: &Path, file: &Path) -> Vec<Value> {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_modelwatch"))
        .args(["replay", "--format", "json", "--config"])
        .arg(config)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}
