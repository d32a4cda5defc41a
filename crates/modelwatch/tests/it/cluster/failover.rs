//! The failover test: three nodes and three concurrent clients; one node is killed with
//! SIGKILL mid-run and a fourth joins. Every acknowledged event is committed exactly once;
//! each partition's stored alerts and decisions are what `modelwatch replay --format json`
//! gives for its inputs in the stream's order; one job starts per granted retrain; no
//! delivery is sent twice. Variants restart PostgreSQL or nats-server mid-run instead: ingest
//! answers 503 while it is away, and nothing acknowledged is lost.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use modelwatch_testkit::{NatsServer, PostgresServer};
use serde_json::{Value, json};

use super::node::{Node, await_commits, count, with_db};
use crate::receiver::Receiver;

const PARTITIONS: u32 = 4;
const MODELS_PER_CLIENT: usize = 4;
const CLIENTS: usize = 3;
const BATCHES: usize = 30;

/// The cluster's config: an accuracy threshold that notifies a webhook and asks a retrain
/// of an http trainer (which keeps the job running: single flight holds every later one).
fn config(dir: &Path, receiver: &str) -> std::path::PathBuf {
    let text = format!(
        r#"
[retrain]
cooldown_secs = 60

[[notifiers]]
name = "hook"
kind = "webhook"
url = "{receiver}/hook"
retry_initial_ms = 10
retry_max_secs = 1

[[rules]]
name = "acc-low"
metric = "accuracy"
detector = {{ kind = "threshold", below = 0.9 }}
notify = ["hook"]
actions = ["retrain"]

[[trainers]]
kind = "http"
url = "{receiver}/train"
body = '{{{{"job": "{{job_id}}"}}}}'
"#
    );
    let path = dir.join("cluster.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Event `step` of model `model`: accuracy dips below 0.9 for three steps in every ten.
fn event(model: usize, step: usize) -> Value {
    let value = if step % 10 >= 7 { 0.5 } else { 0.95 };
    json!({
        "model": {"name": format!("m{model}"), "version": "1", "instance": "i"},
        "timestamp": format!("2026-11-23T08:{:02}:{:02}Z", step / 60, step % 60),
        "metric": "accuracy",
        "value": value,
    })
}

/// A client: posts its models' events in batches (two steps of each model per batch) to the
/// nodes in turn, each batch with an Idempotency-Key, again on the next node after a failure
/// (a node killed mid-request may have published it: the key makes the retry the same
/// messages). Returns the events acknowledged, in order.
fn client(index: usize, nodes: Arc<Mutex<Vec<String>>>, progress: std::sync::mpsc::Sender<()>) -> Vec<Value> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let models: Vec<usize> = (0..MODELS_PER_CLIENT).map(|m| index * MODELS_PER_CLIENT + m).collect();
    let mut acknowledged = Vec::new();
    let mut turn = index;
    for batch in 0..BATCHES {
        let events: Vec<Value> = (0..2)
            .flat_map(|half| models.iter().map(move |&model| event(model, batch * 2 + half)))
            .collect();
        let body = events.iter().map(Value::to_string).collect::<Vec<_>>().join("\n");
        let key = format!("client{index}-batch{batch}");
        let mut attempts = 0;
        loop {
            attempts += 1;
            assert!(attempts < 200, "client {index}: batch {batch} never acknowledged");
            let base = {
                let nodes = nodes.lock().unwrap();
                turn += 1;
                nodes[turn % nodes.len()].clone()
            };
            let answer = agent
                .post(&format!("{base}/v1/events"))
                .header("content-type", "application/x-ndjson")
                .header("idempotency-key", &key)
                .send(&body);
            match answer {
                Ok(response) if response.status() == 202 => break,
                // 503 (a server away) or a node gone: the next node, the same key.
                _ => continue,
            }
        }
        acknowledged.extend(events);
        let _ = progress.send(());
    }
    acknowledged
}

#[test]
fn a_killed_node_loses_nothing_and_repeats_nothing() {
    let Some(postgres) = PostgresServer::shared() else {
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
    let log = nats.url();
    let start = |id: &str| Node::start(id, &url, &log, &config, PARTITIONS);
    let a = start("a");
    let b = start("b");
    let c = start("c");
    let nodes = Arc::new(Mutex::new(vec![a.base.clone(), b.base.clone(), c.base.clone()]));
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
    let total = acknowledged.len() as i64;
    await_commits(&url, Duration::from_secs(120), "every acknowledged input", move |db| {
        count(db, "SELECT count(*) FROM inputs") >= total
    });

    // Exactly once: the stored inputs are the acknowledged events, each once.
    let stored = stored_inputs(&url);
    let mut expected: HashMap<String, usize> = HashMap::new();
    for event in &acknowledged {
        *expected.entry(canonical(event)).or_default() += 1;
    }
    let mut found: HashMap<String, usize> = HashMap::new();
    for inputs in stored.values() {
        for input in inputs {
            *found.entry(canonical(&serde_json::from_str(input).unwrap())).or_default() += 1;
        }
    }
    assert_eq!(found.len(), expected.len(), "distinct inputs stored");
    assert_eq!(found, expected, "every acknowledged event stored exactly once");

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
            .filter(|output| ["alert", "retrain", "job_finished"].contains(&output["type"].as_str().unwrap_or("")))
            .map(|output| output["id"].as_str().unwrap().to_string())
            .collect();
        stored_ids.sort();
        replay_ids.sort();
        assert_eq!(stored_ids, replay_ids, "partition {partition}: outputs as replay gives them");
    }

    // Effects once: a job per granted retrain, started once; a delivery per alert
    // transition and notifier, sent once.
    let granted = with_db(&url, |db| {
        count(db, "SELECT count(*) FROM decisions WHERE decision = 'granted'")
    });
    let jobs = with_db(&url, |db| count(db, "SELECT count(*) FROM jobs"));
    assert_eq!(jobs, granted);
    let deliveries = with_db(&url, |db| count(db, "SELECT count(*) FROM deliveries"));
    await_commits(&url, Duration::from_secs(120), "every delivery sent and every job started", |db| {
        count(db, "SELECT count(*) FROM deliveries WHERE state <> 'delivered'") == 0
            && count(db, "SELECT count(*) FROM jobs WHERE state = 'queued'") == 0
    });
    // Every send was read by the receiver before its success was committed; the receiver
    // reports a request just after answering it, so await the distinct ones, then take
    // whatever else it read.
    let mut sent: BTreeMap<String, usize> = BTreeMap::new();
    let mut started: BTreeMap<String, usize> = BTreeMap::new();
    let mut distinct = 0;
    while distinct < deliveries + jobs {
        if tally(&mut sent, &mut started, receiver.next(60)) {
            distinct += 1;
        }
    }
    while let Some(request) = receiver.try_next() {
        tally(&mut sent, &mut started, request);
    }
    assert_eq!(sent.len() as i64, deliveries, "every delivery sent");
    assert!(sent.values().all(|&n| n == 1), "a delivery sent twice: {sent:?}");
    assert_eq!(started.len() as i64, jobs, "every job started");
    assert!(started.values().all(|&n| n == 1), "a job started twice: {started:?}");
    drop((a, c, d));
}

/// Counts a request to the webhook or the trainer by its idempotency key; true when the key
/// is new.
fn tally(
    sent: &mut BTreeMap<String, usize>,
    started: &mut BTreeMap<String, usize>,
    request: crate::receiver::Received,
) -> bool {
    let key = request.headers["idempotency-key"].clone();
    let seen = match request.path.as_str() {
        "/hook" => sent.entry(key).or_default(),
        "/train" => started.entry(key).or_default(),
        other => panic!("unexpected request to {other}"),
    };
    *seen += 1;
    *seen == 1
}

/// Each partition's stored inputs, in sequence order.
fn stored_inputs(url: &str) -> BTreeMap<i32, Vec<String>> {
    with_db(url, |db| {
        let mut stored: BTreeMap<i32, Vec<String>> = BTreeMap::new();
        for row in db
            .query("SELECT partition, input FROM inputs ORDER BY partition, seq", &[])
            .unwrap()
        {
            stored.entry(row.get(0)).or_default().push(row.get(1));
        }
        stored
    })
}

/// An event as compared: model, time and value.
fn canonical(event: &Value) -> String {
    format!(
        "{}|{}|{}",
        event["model"]["name"],
        event["timestamp"],
        event["value"].as_f64().unwrap_or(f64::NAN)
    )
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
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}
