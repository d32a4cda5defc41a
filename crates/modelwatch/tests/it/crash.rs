//! The crash test: `modelwatch serve` killed with SIGKILL at seeded-random moments while three
//! clients post NDJSON batches, restarted on the same data directory each time; afterwards
//! every acknowledged event is stored exactly once, every batch is stored whole or not at
//! all, and the stored alerts and decisions are what `modelwatch replay` computes from the
//! stored inputs in stored order.
//!
//! No sleeping: kills are driven by the clients' acknowledgements (a seeded number of 202s
//! since the last start), starts wait for serve's `ready:` line, clients wait on a condvar for
//! the next server after a connection error.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use modelwatch_engine::{Input, ModelId, Timestamp};
use modelwatch_store::{MAX_PAGE, Order, SeriesQuery, Store};
use serde_json::Value;

use crate::serve_child::{ServeChild, ids, replay};

/// A series point as the store gives it back: event time (ns), sequence number, value.
type StoredPoint = (i64, u64, f64);

const CLIENTS: usize = 3;
const BATCH: usize = 4;
/// Per client: the most batches it sends, whatever happens (the test's bound).
const MAX_BATCHES: usize = 250;
const KILLS: usize = 12;

/// A small deterministic generator (SplitMix64).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// 1..=8.
    fn acks_until_kill(&mut self) -> usize {
        (self.next() % 8) as usize + 1
    }
}

/// A running serve child and the rest of its stdout.
/// Which server the clients should talk to: its generation and base URL, or `None` when the
/// test is over.
struct Current {
    generation: u64,
    base: Option<String>,
}

type Shared = Arc<(Mutex<Current>, Condvar)>;

enum Report {
    /// A 202 from the server of this generation.
    Acked { generation: u64 },
    /// A client sent its last batch.
    Finished,
    /// Something that must not happen.
    Failed(String),
}

fn timestamp(k: usize) -> String {
    // 2027-01-15T08:00:00Z, then two minutes a point.
    Timestamp::from_secs(1_800_000_000 + 120 * k as i64).to_rfc3339()
}

/// Event `index` of batch `batch` of client `client`: model `crash-<client>`, its own
/// timestamp, accuracy and f1 crossing 0.80 (and 0.90) now and then.
fn event(client: usize, batch: usize, index: usize) -> String {
    let k = batch * BATCH + index;
    let level = match (k / 6 + client) % 4 {
        0 | 1 => 0.95,
        2 => 0.86,
        _ => 0.72,
    };
    let accuracy = level + (k % 1000) as f64 * 1e-5;
    serde_json::json!({
        "model": {"name": format!("crash-{client}"), "version": "1"},
        "timestamp": timestamp(k),
        "metrics": {"accuracy": accuracy, "f1": level - 0.01, "latency_ms": 40.0 + k as f64},
    })
    .to_string()
}

fn batch_body(client: usize, batch: usize) -> String {
    (0..BATCH)
        .map(|index| event(client, batch, index) + "\n")
        .collect()
}

/// Posts batches until told to stop or out of batches; returns the batches acknowledged.
fn client(client: usize, shared: &Shared, reports: &mpsc::Sender<Report>) -> Vec<usize> {
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
        let result = agent
            .post(format!("{base}/v1/events"))
            .header("content-type", "application/x-ndjson")
            .send(batch_body(client, batch))
            .and_then(|mut response| {
                let status = response.status().as_u16();
                response
                    .body_mut()
                    .read_to_string()
                    .map(|text| (status, text))
            });
        match result {
            Ok((202, text)) => {
                let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if body["accepted"] != BATCH {
                    let _ = reports.send(Report::Failed(format!("202 with {text}")));
                    return acked;
                }
                acked.push(batch);
                let _ = reports.send(Report::Acked { generation });
            }
            // Queue full: nothing stored, go on.
            Ok((503, _)) => {}
            Ok((status, text)) => {
                let _ = reports.send(Report::Failed(format!("{status}: {text}")));
                return acked;
            }
            // The server was killed under this request: wait for the next one.
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
    let _ = reports.send(Report::Finished);
    acked
}

/// Every output of a listing (alerts or decisions), oldest first, page by page.
fn listing(base: &str, name: &str) -> Vec<Value> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut items = Vec::new();
    let mut after = String::new();
    loop {
        let mut response = agent
            .get(format!("{base}/v1/{name}?limit=1000{after}"))
            .call()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let body: Value =
            serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
        items.extend(body["items"].as_array().unwrap().iter().cloned());
        match &body["next"] {
            Value::Null => break,
            next => after = format!("&after={next}"),
        }
    }
    items.reverse();
    items
}

/// Serve with an engine snapshot every few inputs, so restarts restore one and replay the
/// inputs after it: a snapshot that differs in any way from the replayed state would show in
/// the final comparison with `replay`.
fn start(data: &std::path::Path) -> ServeChild {
    ServeChild::start(data, |command| {
        command.args(["--snapshot-every", "9"]);
    })
}

#[test]
fn serve_killed_at_random_moments_loses_and_duplicates_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut rng = SplitMix64(0x6d6f_6465_6c77_6174);
    let mut server = start(&data);
    let shared: Shared = Arc::new((
        Mutex::new(Current {
            generation: 0,
            base: Some(server.base.clone()),
        }),
        Condvar::new(),
    ));
    let (sender, reports) = mpsc::channel();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|index| {
            let shared = Arc::clone(&shared);
            let sender = sender.clone();
            std::thread::spawn(move || client(index, &shared, &sender))
        })
        .collect();
    drop(sender);

    let mut generation = 0;
    let mut kills = 0;
    let mut restored = 0;
    let mut acks = 0;
    let mut target = rng.acks_until_kill();
    while kills < KILLS {
        // A bound on a hang, not a pause: reports arrive as fast as serve answers.
        match reports.recv_timeout(Duration::from_secs(120)) {
            Ok(Report::Acked { generation: of }) if of == generation => acks += 1,
            Ok(Report::Acked { .. }) => continue,
            Ok(Report::Finished) => panic!("a client ran out of batches after {kills} kills"),
            Ok(Report::Failed(message)) => panic!("{message}"),
            Err(error) => panic!("no report from the clients: {error}"),
        }
        if acks < target {
            continue;
        }
        server.kill();
        kills += 1;
        server = start(&data);
        restored += usize::from(server.restored.is_some());
        generation += 1;
        acks = 0;
        target = rng.acks_until_kill();
        let (lock, ready) = &*shared;
        let mut current = lock.lock().unwrap();
        current.generation = generation;
        current.base = Some(server.base.clone());
        ready.notify_all();
    }
    assert!(restored > 0, "no restart restored a snapshot");
    // A few more acknowledged batches on the last server, then the clients stop.
    while acks < 6 {
        match reports.recv_timeout(Duration::from_secs(120)) {
            Ok(Report::Acked { generation: of }) if of == generation => acks += 1,
            Ok(Report::Acked { .. }) => {}
            Ok(Report::Finished) => {}
            Ok(Report::Failed(message)) => panic!("{message}"),
            Err(error) => panic!("no report from the clients: {error}"),
        }
    }
    {
        let (lock, ready) = &*shared;
        lock.lock().unwrap().base = None;
        ready.notify_all();
    }
    let acked: Vec<Vec<usize>> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    for report in reports.try_iter() {
        if let Report::Failed(message) = report {
            panic!("{message}");
        }
    }
    let alerts = listing(&server.base, "alerts");
    let decisions = listing(&server.base, "decisions");
    server.stop();

    // The stored inputs, in sequence order.
    let store = Store::open(&data).unwrap();
    let mut stored = Vec::new();
    let mut last = 0;
    loop {
        let page = store.inputs_after(last, 1000).unwrap();
        let Some(end) = page.last() else { break };
        last = end.seq;
        stored.extend(page);
    }
    // Every stored event's values are in the series, once: points lost in a kill were read back
    // from the stored events by the next start, and the last, clean stop wrote the rest.
    let mut expected_points: BTreeMap<(ModelId, String), Vec<StoredPoint>> = BTreeMap::new();
    for input in &stored {
        if let Input::Event(event) = &input.input {
            for (metric, value) in &event.metrics {
                expected_points
                    .entry((event.model.clone(), metric.clone()))
                    .or_default()
                    .push((event.timestamp.unwrap().as_nanos(), input.seq, *value));
            }
        }
    }
    let total: usize = expected_points.values().map(Vec::len).sum();
    assert_eq!(store.counts().unwrap().points, total as u64);
    for ((model, metric), mut expected) in expected_points {
        expected.sort_by_key(|(time, seq, _)| (*time, *seq));
        let mut got = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .series(&SeriesQuery {
                    model: model.clone(),
                    metric: metric.clone(),
                    from: None,
                    to: None,
                    after,
                    limit: MAX_PAGE,
                    order: Order::OldestFirst,
                })
                .unwrap();
            got.extend(
                page.points
                    .iter()
                    .map(|point| (point.at.as_nanos(), point.seq, point.value)),
            );
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(got, expected, "{model:?} {metric}");
    }
    drop(store);
    let seqs: Vec<u64> = stored.iter().map(|input| input.seq).collect();
    assert_eq!(seqs, (1..=stored.len() as u64).collect::<Vec<_>>());

    // Each stored input is one of ours, named by (model, timestamp), and stored once.
    let mut lines: HashMap<(String, String), (usize, usize, String)> = HashMap::new();
    for client in 0..CLIENTS {
        for batch in 0..MAX_BATCHES {
            for index in 0..BATCH {
                let k = batch * BATCH + index;
                lines.insert(
                    (format!("crash-{client}"), timestamp(k)),
                    (client, batch, event(client, batch, index)),
                );
            }
        }
    }
    let mut seen = HashSet::new();
    let mut stored_batches: HashMap<(usize, usize), usize> = HashMap::new();
    let mut jsonl = String::new();
    for input in &stored {
        let Input::Event(event) = &input.input else {
            panic!("seq {}: not an event", input.seq)
        };
        let key = (
            event.model.name.clone(),
            event.timestamp.unwrap().to_rfc3339(),
        );
        let (client, batch, line) = lines
            .get(&key)
            .unwrap_or_else(|| panic!("seq {}: an event nobody sent: {key:?}", input.seq));
        assert!(seen.insert(key.clone()), "stored twice: {key:?}");
        *stored_batches.entry((*client, *batch)).or_default() += 1;
        jsonl.push_str(line);
        jsonl.push('\n');
    }
    // Whole batches only, and every acknowledged one.
    for (batch, count) in &stored_batches {
        assert_eq!(*count, BATCH, "batch {batch:?} stored in part");
    }
    let mut acknowledged = 0;
    for (client, batches) in acked.iter().enumerate() {
        for batch in batches {
            assert!(
                stored_batches.contains_key(&(client, *batch)),
                "acknowledged batch {batch} of client {client} is not stored"
            );
            acknowledged += 1;
        }
    }
    assert!(stored_batches.len() >= acknowledged);

    // The stored outputs are what replay computes from the stored inputs in stored order.
    let stored_lines: Vec<String> = jsonl.lines().map(str::to_string).collect();
    let (expected_alerts, expected_decisions) = replay(dir.path(), &stored_lines);
    let resolved = alerts
        .iter()
        .filter(|alert| alert["state"] == "resolved")
        .count();
    assert!(resolved > 3, "only {resolved} alerts resolved");
    assert!(!decisions.is_empty());
    assert_eq!(ids(&alerts), ids(&expected_alerts));
    assert_eq!(alerts, expected_alerts);
    assert_eq!(ids(&decisions), ids(&expected_decisions));
    assert_eq!(decisions, expected_decisions);
    eprintln!(
        "crash test: {kills} kills, {acknowledged} batches acknowledged, {} stored, {} alert \
         transitions, {} decisions",
        stored_batches.len(),
        alerts.len(),
        decisions.len()
    );
}
