//! The crash test for predictions and labels: `modelwatch serve` killed with SIGKILL at
//! seeded-random moments while a client posts batches of predictions and of the labels of
//! earlier ones, restarted on the same data directory each time (restoring engine snapshots
//! that hold the pending join). Afterwards every acknowledged prediction and label is stored
//! once, and the join went exactly as a fresh engine fed the stored inputs in order: the same
//! counts (so no label joined twice, none was lost) and the same realized-quality points.
//!
//! No sleeping: kills are driven by the client's acknowledgements, starts wait for serve's
//! `ready:` line, and the client waits on a condvar for the next server after an error.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::Duration;

use modelwatch::engine::parse_config;
use modelwatch_engine::{Engine, Input, Output, Timestamp};
use modelwatch_store::{MAX_PAGE, Order, SeriesQuery, Store};
use serde_json::{Value, json};

use crate::serve_child::ServeChild;

const CONFIG: &str = r#"
[[models]]
name = "traffic"
task = "binary"
positive = "fraud"
window = 8
label_horizon_secs = 86400

[[rules]]
name = "acc-low"
metric = "accuracy"
detector = { kind = "threshold", below = 0.7 }
"#;

/// Predictions per batch; each batch also labels the predictions of the batch three before.
const PER_BATCH: usize = 3;
const MAX_BATCHES: usize = 400;

fn at(k: usize) -> String {
    Timestamp::from_secs(1_800_000_000 + 60 * k as i64).to_rfc3339()
}

/// The inputs of batch `batch`: its predictions, then the labels of batch `batch - 3` (one of
/// them for an id nobody predicted, every seventh batch).
fn batch_inputs(batch: usize) -> Vec<Value> {
    let mut inputs = Vec::new();
    for index in 0..PER_BATCH {
        let k = batch * PER_BATCH + index;
        let score = ((k * 37) % 100) as f64 / 100.0;
        inputs.push(json!({
            "model": {"name": "traffic", "version": "1"},
            "timestamp": at(k),
            "prediction": {"id": format!("p{k}"), "output": if score > 0.5 { "fraud" } else { "ok" },
                           "score": score, "features": {"k": k, "even": k.is_multiple_of(2)}}
        }));
    }
    if let Some(earlier) = batch.checked_sub(3) {
        for index in 0..PER_BATCH {
            let k = earlier * PER_BATCH + index;
            let truth = if (k * 7919) % 10 < 4 { "fraud" } else { "ok" };
            let id = if batch.is_multiple_of(7) && index == 0 {
                format!("nobody-{k}")
            } else {
                format!("p{k}")
            };
            inputs.push(json!({
                "model": {"name": "traffic"},
                "timestamp": at(batch * PER_BATCH + index),
                "label": {"id": id, "value": truth}
            }));
        }
    }
    inputs
}

struct Current {
    generation: u64,
    base: Option<String>,
}

type Shared = Arc<(Mutex<Current>, Condvar)>;

/// Posts batches until told to stop; sends the generation of every 202; returns the batches
/// acknowledged.
fn client(shared: &Shared, acks: &mpsc::Sender<u64>) -> Vec<usize> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut acked = Vec::new();
    for batch in 0..MAX_BATCHES {
        let (generation, base) = {
            let current = shared.0.lock().unwrap();
            match &current.base {
                Some(base) => (current.generation, base.clone()),
                None => return acked,
            }
        };
        let body: String = batch_inputs(batch)
            .iter()
            .map(|input| format!("{input}\n"))
            .collect();
        let result = agent
            .post(format!("{base}/v1/events"))
            .header("content-type", "application/x-ndjson")
            .send(body)
            .map(|response| response.status().as_u16());
        match result {
            Ok(202) => {
                acked.push(batch);
                let _ = acks.send(generation);
            }
            Ok(503) => {}
            Ok(status) => panic!("batch {batch}: {status}"),
            Err(_) => {
                let (lock, ready) = &**shared;
                let _current = ready
                    .wait_while(lock.lock().unwrap(), |current| {
                        current.base.is_some() && current.generation == generation
                    })
                    .unwrap();
            }
        }
    }
    acked
}

fn start(data: &std::path::Path, config: &std::path::Path) -> ServeChild {
    ServeChild::start(data, |command| {
        command.arg("--config").arg(config);
        command.args(["--snapshot-every", "7"]);
    })
}

#[test]
fn serve_killed_mid_traffic_loses_no_prediction_or_label_and_joins_none_twice() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config_path = dir.path().join("traffic.toml");
    std::fs::write(&config_path, CONFIG).unwrap();
    let mut server = start(&data, &config_path);
    let shared: Shared = Arc::new((
        Mutex::new(Current {
            generation: 0,
            base: Some(server.base.clone()),
        }),
        Condvar::new(),
    ));
    let (sender, acks) = mpsc::channel();
    let worker = {
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || client(&shared, &sender))
    };
    // Kill after 1, 2, ... acknowledgements of the current server (a fixed, varied pattern).
    let pattern = [3, 1, 5, 2, 8, 4, 6, 2]; // eight kills
    let mut generation = 0;
    let mut restored = 0;
    for acks_before_kill in pattern {
        let mut seen = 0;
        while seen < acks_before_kill {
            let of = acks
                .recv_timeout(Duration::from_secs(120))
                .expect("the client stopped acknowledging");
            seen += usize::from(of == generation);
        }
        server.kill();
        server = start(&data, &config_path);
        restored += usize::from(server.restored.is_some());
        generation += 1;
        let (lock, ready) = &*shared;
        let mut current = lock.lock().unwrap();
        current.generation = generation;
        current.base = Some(server.base.clone());
        ready.notify_all();
    }
    assert!(restored > 0, "no restart restored a snapshot");
    let mut seen = 0;
    while seen < 10 {
        let of = acks.recv_timeout(Duration::from_secs(120)).unwrap();
        seen += usize::from(of == generation);
    }
    {
        let (lock, ready) = &*shared;
        lock.lock().unwrap().base = None;
        ready.notify_all();
    }
    let acked = worker.join().unwrap();
    let agent = crate::serve_child::http_agent();
    let model: Value = serde_json::from_str(
        &agent
            .get(format!("{}/v1/models/traffic", server.base))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap(),
    )
    .unwrap();
    server.stop();

    // Every acknowledged batch is stored whole, and nothing is stored twice.
    let store = Store::open(&data).unwrap();
    let mut stored = Vec::new();
    let mut last = 0;
    loop {
        let page = store.inputs_after(last, 1000).unwrap();
        let Some(end) = page.last() else { break };
        last = end.seq;
        stored.extend(page.into_iter().map(|stored| stored.input));
    }
    let mut count: HashMap<String, usize> = HashMap::new();
    for input in &stored {
        let key = match input {
            Input::Prediction(prediction) => format!("prediction {}", prediction.id),
            Input::Label(label) => format!("label {} at {:?}", label.id, label.timestamp),
            other => panic!("an input nobody sent: {other:?}"),
        };
        *count.entry(key).or_default() += 1;
    }
    assert!(count.values().all(|n| *n == 1), "an input stored twice");
    for batch in &acked {
        for input in batch_inputs(*batch) {
            let key = match input.get("prediction") {
                Some(prediction) => format!("prediction {}", prediction["id"].as_str().unwrap()),
                None => {
                    let timestamp = Timestamp::parse_rfc3339(input["timestamp"].as_str().unwrap());
                    format!(
                        "label {} at {:?}",
                        input["label"]["id"].as_str().unwrap(),
                        Some(timestamp.unwrap())
                    )
                }
            };
            assert!(
                count.contains_key(&key),
                "acknowledged but not stored: {key}"
            );
        }
    }

    // The join went as a fresh engine fed the stored inputs in order: the same counts and the
    // same realized-quality points, each in the series once.
    let config = Arc::new(parse_config(CONFIG).unwrap().config);
    let mut engine = Engine::new(config);
    let mut outputs = Vec::new();
    for input in &stored {
        engine.process(input, &mut outputs);
    }
    let (counts, pending) = engine.traffic("traffic").unwrap();
    let traffic = &model["traffic"];
    assert_eq!(traffic["joined"], counts.joined, "{model}");
    assert_eq!(traffic["unmatched"], counts.unmatched, "{model}");
    assert_eq!(traffic["duplicates"], 0, "{model}");
    assert_eq!(traffic["predictions"], counts.predictions, "{model}");
    assert_eq!(traffic["pending"], pending, "{model}");
    assert!(counts.joined > 50 && counts.unmatched > 0, "{counts:?}");
    let expected: Vec<(i64, u64, f64)> = outputs
        .iter()
        .filter_map(|output| match output {
            Output::Quality(point) => point
                .metrics
                .iter()
                .find(|(name, _)| name == "accuracy")
                .map(|(_, value)| (point.at.as_nanos(), point.seq, *value)),
            _ => None,
        })
        .collect();
    let mut series = store
        .series(&SeriesQuery {
            model: modelwatch_engine::ModelId::new("traffic", "1", "default"),
            metric: "accuracy".to_string(),
            from: None,
            to: None,
            after: None,
            limit: MAX_PAGE,
            order: Order::OldestFirst,
        })
        .unwrap()
        .points
        .iter()
        .map(|point| (point.at.as_nanos(), point.seq, point.value))
        .collect::<Vec<_>>();
    series.sort_by_key(|(at, seq, _)| (*at, *seq));
    assert!(expected.len() > 5, "{} realized points", expected.len());
    assert_eq!(series, expected);
}
