//! The cluster tests' workload: the config (a threshold that notifies a webhook and asks
//! retrains of an http trainer), the events, the clients that post them to the nodes in turn
//! with an `Idempotency-Key`, and the check that every acknowledged event is stored once.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::node::with_db;

pub const PARTITIONS: u32 = 4;
pub const MODELS_PER_CLIENT: usize = 4;
pub const CLIENTS: usize = 3;
pub const BATCHES: usize = 30;

/// The cluster's config: an accuracy threshold that notifies a webhook and asks a retrain
/// of an http trainer (which keeps the job running: single flight holds every later one).
pub fn config(dir: &Path, receiver: &str) -> std::path::PathBuf {
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

[jobs]
max_concurrent = 20

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
pub fn event(model: usize, step: usize) -> Value {
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
pub fn client(
    index: usize,
    nodes: Arc<Mutex<Vec<String>>>,
    progress: std::sync::mpsc::Sender<()>,
) -> Vec<Value> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let models: Vec<usize> = (0..MODELS_PER_CLIENT)
        .map(|m| index * MODELS_PER_CLIENT + m)
        .collect();
    let mut acknowledged = Vec::new();
    let mut turn = index;
    for batch in 0..BATCHES {
        let events: Vec<Value> = (0..2)
            .flat_map(|half| {
                models
                    .iter()
                    .map(move |&model| event(model, batch * 2 + half))
            })
            .collect();
        let body = events
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        let key = format!("client{index}-batch{batch}");
        let mut attempts = 0;
        loop {
            attempts += 1;
            assert!(
                attempts < 200,
                "client {index}: batch {batch} never acknowledged"
            );
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

/// Asserts that the stored inputs are the acknowledged events, each once, and returns each
/// partition's stored inputs in sequence order.
pub fn stored_exactly_once(url: &str, acknowledged: &[Value]) -> BTreeMap<i32, Vec<String>> {
    let stored = stored_inputs(url);
    let mut expected: HashMap<String, usize> = HashMap::new();
    for event in acknowledged {
        *expected.entry(canonical(event)).or_default() += 1;
    }
    let mut found: HashMap<String, usize> = HashMap::new();
    for inputs in stored.values() {
        for input in inputs {
            *found
                .entry(canonical(&serde_json::from_str(input).unwrap()))
                .or_default() += 1;
        }
    }
    assert_eq!(found.len(), expected.len(), "distinct inputs stored");
    assert_eq!(
        found, expected,
        "every acknowledged event stored exactly once"
    );

    stored
}

/// Each partition's stored inputs, in sequence order.
pub fn stored_inputs(url: &str) -> BTreeMap<i32, Vec<String>> {
    with_db(url, |db| {
        let mut stored: BTreeMap<i32, Vec<String>> = BTreeMap::new();
        for row in db
            .query(
                "SELECT partition, input FROM inputs ORDER BY partition, seq",
                &[],
            )
            .unwrap()
        {
            stored.entry(row.get(0)).or_default().push(row.get(1));
        }
        stored
    })
}

/// An event as compared: model, time and accuracy (sent as `metric` and `value`, stored in
/// the wire form's `metrics` map).
pub fn canonical(event: &Value) -> String {
    let value = event["value"]
        .as_f64()
        .or_else(|| event["metrics"]["accuracy"].as_f64())
        .unwrap_or(f64::NAN);
    format!("{}|{}|{value}", event["model"]["name"], event["timestamp"])
}
