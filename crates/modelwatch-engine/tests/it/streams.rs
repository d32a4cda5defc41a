//! Generators of input streams for the property tests.

use modelwatch_engine::{Event, Input, JobFinished, JobStatus, ModelId, RetrainRequest, Timestamp};
use proptest::prelude::*;

/// Every detector kind on some metric (KSWIN unseeded and seeded), plus the retrain actions.
pub const ALL_DETECTORS: &str = r#"
# Every model has a trainer: retrains are granted and run (single flight, muting).
[[trainers]]
kind = "external"

[retrain]
cooldown_secs = 600

[metrics.kpi]
direction = "higher_is_better"

[[rules]]
name = "threshold"
metric = "accuracy"
detector = { kind = "threshold", below = 0.8, resolve = 0.85 }
for = 2
actions = ["retrain"]

[[rules]]
name = "ema"
metric = "latency_ms"
detector = { kind = "ema", alpha = 0.3, above = 100.0, min_samples = 3 }
actions = ["retrain"]

[[rules]]
name = "window"
metric = "accuracy"
detector = { kind = "window_mean", window = 20, min_samples = 5, below = 0.85 }

[[rules]]
name = "ph"
metric = "kpi"
detector = { kind = "page_hinkley", threshold = 5.0, min_instances = 10 }
actions = ["retrain"]

[[rules]]
name = "adwin"
metric = "kpi"
detector = { kind = "adwin", clock = 4, grace_period = 5 }
actions = ["retrain"]

[[rules]]
name = "kswin"
metric = "kpi"
detector = { kind = "kswin", window_size = 20, stat_size = 8 }
actions = ["retrain"]

[[rules]]
name = "kswin-seeded"
metric = "kpi"
detector = { kind = "kswin", window_size = 40, stat_size = 5, alpha = 0.05, seed = 7 }

[[rules]]
name = "cusum"
metric = "kpi"
detector = { kind = "cusum", k = 0.5, h = 4.0, warm_up = 5 }
actions = ["retrain"]

[[rules]]
name = "ddm"
metric = "error"
detector = { kind = "ddm", warm_start = 5 }
actions = ["retrain_on_warning", "retrain"]

[[rules]]
name = "eddm"
metric = "error"
detector = { kind = "eddm", warm_start = 3 }
actions = ["retrain"]

[[rules]]
name = "hddm_a"
metric = "error"
detector = { kind = "hddm_a", two_sided_test = true }
actions = ["retrain_on_warning"]

[[rules]]
name = "hddm_w"
metric = "error"
detector = { kind = "hddm_w" }

[[rules]]
name = "fhddm"
metric = "error"
detector = { kind = "fhddm", sliding_window_size = 10 }
actions = ["retrain"]

[[rules]]
name = "canary-latency"
metric = "latency_ms"
actions = ["rollback"]
canary = { candidate = { instance = "canary-*" }, baseline = { instance = "default" }, window = 20, min_samples = 5, every = 3 }

[[rules]]
name = "canary-kpi"
metric = "kpi"
actions = ["rollback", "promote"]
canary = { candidate = { instance = "canary-*" }, baseline = { instance = "default" }, window = 15, min_samples = 4, every = 2, tolerance = 0.1 }
"#;

fn metric_value(metric: &'static str) -> BoxedStrategy<(String, f64)> {
    let values = match metric {
        "accuracy" => (0.5f64..=1.0).boxed(),
        "latency_ms" => (0.0f64..300.0).boxed(),
        // One prediction's outcome, mostly right, in runs so the binary detectors move.
        "error" => prop_oneof![4 => Just(0.0), 1 => Just(1.0)].boxed(),
        _ => prop_oneof![
            -1e6f64..1e6,
            Just(0.0),
            Just(-0.0),
            Just(1e300),
            Just(-1e300),
            Just(f64::MIN_POSITIVE)
        ]
        .boxed(),
    };
    values
        .prop_map(move |value| (metric.to_string(), value))
        .boxed()
}

/// An event of one of the given models, at `minute` plus up to two minutes (sometimes before).
pub fn event(
    models: &'static [&'static str],
) -> impl Strategy<Value = (usize, i64, Vec<(String, f64)>, u8)> {
    (
        0..models.len(),
        -1i64..3,
        prop::collection::vec(
            prop_oneof![
                metric_value("accuracy"),
                metric_value("latency_ms"),
                metric_value("kpi"),
                metric_value("error")
            ],
            1..4,
        ),
        0u8..4,
    )
}

/// A stream of inputs of the given models, in time order with some jitter, with a job
/// notice or a manual retrain request now and then.
pub fn stream(
    models: &'static [&'static str],
    max_len: usize,
) -> impl Strategy<Value = Vec<Input>> {
    prop::collection::vec((event(models), 0u8..20), 1..max_len).prop_map(move |items| {
        let mut minute = 0i64;
        items
            .into_iter()
            .map(|((model, step, metrics, instance), job_roll)| {
                minute += step;
                let at = Timestamp::from_secs(1_800_000_000 + minute * 60);
                if job_roll == 1 {
                    return Input::RetrainRequest(RetrainRequest {
                        model: models[model].to_string(),
                        reason: None,
                        timestamp: Some(at),
                    });
                }
                if job_roll == 0 {
                    return Input::JobFinished(JobFinished {
                        model: models[model].to_string(),
                        job_id: None,
                        status: JobStatus::Failed,
                        version: None,
                        timestamp: Some(at),
                    });
                }
                let mut metrics: Vec<(String, f64)> = metrics;
                metrics.sort_by(|a, b| a.0.cmp(&b.0));
                metrics.dedup_by(|a, b| a.0 == b.0);
                let instance = if instance == 0 { "canary-0" } else { "default" };
                Input::Event(Event {
                    model: ModelId::new(models[model], "1", instance),
                    timestamp: Some(at),
                    metrics,
                })
            })
            .collect()
    })
}
