//! The Monitor gives exactly what the single-threaded Engine gives, for any number of shards,
//! and pushes back instead of dropping.

use std::sync::{Arc, Mutex};

use modelwatch::engine::config::{DEFAULT_CONFIG_TOML, parse_config};
use modelwatch::engine::wire::documents;
use modelwatch::{
    Config, Engine, FixedClock, Format, Input, Monitor, MonitorOptions, Output, Timestamp,
    WireParser,
};
use proptest::prelude::*;

fn config() -> Arc<Config> {
    Arc::new(parse_config(DEFAULT_CONFIG_TOML).unwrap().config)
}

/// The built-in rules and canary rules: canary instances against default ones (in the example,
/// 1.5.0 on canary-0, which degrades, against 1.4.0), and version 1.5 against 1.4.
fn config_with_canaries() -> Arc<Config> {
    let text = format!(
        r#"{DEFAULT_CONFIG_TOML}
[[rules]]
name = "canary-accuracy"
metric = "accuracy"
actions = ["rollback"]
canary = {{ candidate = {{ instance = "canary-*" }}, baseline = {{ instance = "default" }}, window = 40, min_samples = 10, every = 5 }}

[[rules]]
name = "canary-latency"
model = "fraud-*"
metric = "latency_ms"
actions = ["promote"]
canary = {{ candidate = {{ version = "1.5.*" }}, baseline = {{ version = "1.4.*" }}, window = 30, min_samples = 8, every = 4, tolerance = 0.5 }}
"#
    );
    Arc::new(parse_config(&text).unwrap().config)
}

fn example_inputs(config: &Config) -> Vec<Input> {
    let text =
        std::fs::read_to_string(crate::repo_root().join("examples/degrading-model.jsonl")).unwrap();
    WireParser::new(&config.catalog)
        .accepting_jobs()
        .parse_batch(&text, Format::Ndjson)
        .unwrap()
}

fn engine_json(config: &Arc<Config>, inputs: &[Input]) -> Vec<String> {
    let mut engine = Engine::new(config.clone());
    let mut out = Vec::new();
    for input in inputs {
        engine.process(input, &mut out);
    }
    out.iter()
        .map(|output| serde_json::to_string(output).unwrap())
        .collect()
}

/// Runs the inputs through a Monitor in batches of `batch` and collects its output as JSON.
async fn monitor_json(
    config: &Arc<Config>,
    inputs: &[Input],
    shards: usize,
    batch: usize,
) -> Vec<String> {
    let monitor = Monitor::start(
        config.clone(),
        MonitorOptions::default().shards(shards).queue_capacity(2),
    )
    .unwrap();
    let mut subscription = monitor.subscribe().await.unwrap();
    let reader = tokio::spawn(async move {
        let mut lines = Vec::new();
        while let Some(output) = subscription.recv().await {
            lines.push(serde_json::to_string(&*output).unwrap());
        }
        lines
    });
    for chunk in inputs.chunks(batch) {
        monitor.ingest_batch(chunk.to_vec()).await.unwrap();
    }
    monitor.shutdown().await.unwrap();
    reader.await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_matches_the_engine_byte_for_byte_whatever_the_shards() {
    let config = config_with_canaries();
    let mut inputs = example_inputs(&config);
    // Manual retrain requests, while a job runs and after it: the merger decides them.
    let requests = WireParser::new(&config.catalog)
        .accepting_jobs()
        .parse_batch(
            r#"{"retrain_request": {"model": "fraud-detector", "reason": "by hand"}, "timestamp": "2026-11-22T09:34:00Z"}
{"retrain_request": {"model": "fraud-detector"}, "timestamp": "2026-11-22T09:34:00Z"}"#,
            Format::Ndjson,
        )
        .unwrap();
    let at = inputs.len() / 2;
    inputs.splice(at..at, requests);
    let expected = engine_json(&config, &inputs);
    assert!(expected.len() > 10, "the example raises alerts");
    assert!(
        expected
            .iter()
            .any(|line| line.contains("asked for by hand")),
        "the requests are decided"
    );
    assert!(
        expected.iter().any(|line| line.contains(r#""type":"canary""#)
            && line.contains(r#""verdict":"fail""#)),
        "the canary rules judge"
    );
    for (shards, batch) in [(1, 1), (2, 7), (3, 64), (8, 1000)] {
        let actual = monitor_json(&config, &inputs, shards, batch).await;
        assert_eq!(actual, expected, "{shards} shards, batches of {batch}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_monitor_matches_the_engine_on_random_streams(
        lines in prop::collection::vec((0usize..3, 0usize..2, 0.0f64..1.0, 0.0f64..400.0, 0i64..3), 1..300),
        shards in 1usize..6,
        batch in 1usize..50,
    ) {
        let config = config_with_canaries();
        let mut minute = 0;
        let mut inputs = Vec::new();
        for (model, instance, accuracy, latency, step) in lines {
            minute += step;
            let text = format!(
                r#"{{"model": {{"name": "m{model}", "version": "1", "instance": "{}"}}, "timestamp": "2026-11-22T{:02}:{:02}:00Z", "metrics": {{"accuracy": {accuracy}, "precision": {accuracy}, "recall": 0.9, "f1": 0.85, "latency_ms": {latency}}}}}"#,
                if instance == 0 { "canary-0" } else { "default" },
                (minute / 60) % 24,
                minute % 60
            );
            inputs.extend(WireParser::new(&config.catalog).parse_batch(&text, Format::Json).unwrap());
        }
        let expected = engine_json(&config, &inputs);
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let actual = runtime.block_on(monitor_json(&config, &inputs, shards, batch));
        prop_assert_eq!(actual, expected);
    }
}

/// The canary config with `[[models]]` for predictions and labels: quality computed by the
/// router's tracker is evaluated on the shards and decided on by the merger, and drift windows
/// of `t*` move data_drift alerts on the merger.
fn config_with_traffic() -> Arc<Config> {
    let text = format!(
        r#"{}
[[models]]
name = "t*"
task = "binary"
positive = "fraud"
window = 3
label_horizon_secs = 600
reference = {{ first = 6 }}
drift_window = 4

[[rules]]
name = "t-columns-drift"
model = "t*"
data_drift = {{}}
for = 2
actions = ["retrain"]

[[rules]]
name = "t-dataset-drift"
model = "t*"
data_drift = {{ on = "dataset" }}

[[models]]
name = "r*"
task = "regression"
window = 4
"#,
        DEFAULT_CONFIG_TOML
    );
    let mut config = parse_config(&text).unwrap().config;
    config.canaries = config_with_canaries().canaries.clone();
    Arc::new(config)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_monitor_matches_the_engine_on_predictions_and_labels(
        lines in prop::collection::vec((0usize..4, 0usize..2, 0u32..30, 0.0f64..1.0, 0i64..200), 1..300),
        shards in 1usize..6,
        batch in 1usize..50,
    ) {
        let config = config_with_traffic();
        let mut secs = 0;
        let mut inputs = Vec::new();
        for (kind, instance, id, score, step) in lines {
            secs += step;
            let at = format!("2026-11-22T{:02}:{:02}:{:02}Z", (secs / 3600) % 24, (secs / 60) % 60, secs % 60);
            let instance = if instance == 0 { "canary-0" } else { "default" };
            let text = match kind {
                0 => format!(
                    r#"{{"model": {{"name": "t1", "version": "1", "instance": "{instance}"}}, "timestamp": "{at}", "prediction": {{"id": "p{id}", "output": "{}", "score": {score}, "features": {{"f": {}, "g": "{}"}}}}}}"#,
                    if score > 0.5 { "fraud" } else { "ok" },
                    (score * 10.0).floor() + secs as f64 / 1000.0,
                    if step % 2 == 0 { "a" } else { "b" }
                ),
                1 => format!(
                    r#"{{"model": {{"name": "t1"}}, "timestamp": "{at}", "label": {{"id": "p{id}", "value": "{}"}}}}"#,
                    if id % 3 == 0 { "fraud" } else { "ok" }
                ),
                2 => format!(
                    r#"{{"model": {{"name": "r1", "version": "2", "instance": "{instance}"}}, "timestamp": "{at}", "prediction": {{"id": "q{id}", "output": {score}}}}}"#
                ),
                _ => format!(
                    r#"{{"model": {{"name": "r1"}}, "timestamp": "{at}", "label": {{"id": "q{id}", "value": {}}}}}"#,
                    f64::from(id) / 30.0
                ),
            };
            inputs.extend(
                WireParser::new(&config.catalog)
                    .with_models(&config.models)
                    .parse_batch(&text, Format::Json)
                    .unwrap(),
            );
        }
        let expected = engine_json(&config, &inputs);
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let actual = runtime.block_on(monitor_json(&config, &inputs, shards, batch));
        prop_assert_eq!(actual, expected);
    }
}

/// An input that alternates an alert between firing and resolved on every point.
fn flapping(minute: i64) -> Input {
    let value = if minute % 2 == 0 { 0.5 } else { 0.95 };
    let text = format!(
        r#"{{"model": {{"name": "m", "version": "1"}}, "timestamp": "2026-11-22T08:{:02}:00Z", "metric": "accuracy", "value": {value}}}"#,
        minute % 60
    );
    let config = config();
    WireParser::new(&config.catalog)
        .parse_batch(&text, Format::Json)
        .unwrap()
        .remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pipeline_refuses_instead_of_dropping_and_delivers_everything_later() {
    let config = Arc::new(
        parse_config(
            r#"
[[rules]]
name = "low"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }
"#,
        )
        .unwrap()
        .config,
    );
    let options = MonitorOptions::default()
        .shards(2)
        .queue_capacity(1)
        .subscription_capacity(1);
    let monitor = Monitor::start(config, options).unwrap();
    let mut subscription = monitor.subscribe().await.unwrap();
    // Nobody reads the subscription: the pipeline fills up and then refuses.
    let mut accepted = 0i64;
    let mut refused = None;
    for _ in 0..10_000 {
        match monitor.try_ingest_batch(vec![flapping(accepted)]) {
            Ok(()) => accepted += 1,
            Err(modelwatch::TryIngestError::Full(inputs)) => {
                refused = Some(inputs);
                break;
            }
            Err(other) => panic!("{other}"),
        }
        tokio::task::yield_now().await;
    }
    let refused = refused.expect("a pipeline nobody reads from must fill up and refuse");
    assert_eq!(refused.len(), 1, "a refused batch comes back whole");
    assert!(
        accepted < 100,
        "queues are bounded: {accepted} accepted before refusing"
    );
    // Every accepted input's output arrives once somebody reads: one transition per point.
    let mut received = 0;
    while received < accepted {
        let output = subscription.recv().await.unwrap();
        assert_eq!(
            output.seq(),
            (received + 1) as u64,
            "outputs arrive in input order"
        );
        received += 1;
    }
    monitor.shutdown().await.unwrap();
    assert!(
        subscription.recv().await.is_none(),
        "no output beyond the accepted inputs"
    );
}

#[tokio::test]
async fn observers_see_every_output_by_the_time_flush_returns() {
    let config = config();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let options = MonitorOptions::default()
        .shards(3)
        .observer(move |output: &Output| sink.lock().unwrap().push(output.id().to_string()));
    let monitor = Monitor::start(config.clone(), options).unwrap();
    let inputs = example_inputs(&config);
    monitor.ingest_batch(inputs.clone()).await.unwrap();
    monitor.flush().await.unwrap();
    let expected: Vec<String> = {
        let mut engine = Engine::new(config.clone());
        let mut out = Vec::new();
        inputs.iter().for_each(|input| {
            engine.process(input, &mut out);
        });
        out.iter().map(|output| output.id().to_string()).collect()
    };
    assert_eq!(*seen.lock().unwrap(), expected);

    let mut engine = Engine::new(config.clone());
    let mut out = Vec::new();
    inputs.iter().for_each(|input| {
        engine.process(input, &mut out);
    });
    assert_eq!(monitor.status().await.unwrap(), engine.status());
    monitor.shutdown().await.unwrap();
}

#[tokio::test]
async fn inputs_without_timestamp_are_stamped_by_the_clock() {
    let config = config();
    let now = Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
    let options = MonitorOptions::default()
        .shards(2)
        .clock(Arc::new(FixedClock::new(now)));
    let monitor = Monitor::start(config.clone(), options).unwrap();
    let mut subscription = monitor.subscribe().await.unwrap();
    let text = r#"{"model": {"name": "m", "version": "1"}, "metric": "accuracy", "value": 0.1}"#;
    let inputs = WireParser::new(&config.catalog)
        .parse_batch(text, Format::Json)
        .unwrap();
    monitor.ingest_batch(inputs).await.unwrap();
    let first = subscription.recv().await.unwrap();
    assert_eq!(first.at(), now);
    monitor.shutdown().await.unwrap();
}

#[test]
fn starting_outside_a_runtime_is_an_error_not_a_panic() {
    let error = Monitor::start(config(), MonitorOptions::default()).unwrap_err();
    assert!(error.to_string().contains("tokio runtime"), "{error}");
}

#[test]
fn every_example_line_is_one_input() {
    let config = config();
    let text =
        std::fs::read_to_string(crate::repo_root().join("examples/degrading-model.jsonl")).unwrap();
    assert_eq!(
        documents(&text, Format::Ndjson).count(),
        text.lines().count()
    );
    assert_eq!(example_inputs(&config).len(), text.lines().count());
}
