//! The benchmark workload shared by the engine and Monitor benches: 1,000 series with 5 rules
//! each (200 model instances x 5 metrics; a threshold, ema, window_mean, page_hinkley and
//! adwin rule on every metric), fed events that carry all 5 metrics of one instance.

use modelwatch_engine::{Event, Input, ModelId, Timestamp};

/// The config: 25 rules, 5 matching each series.
pub fn config_text() -> String {
    let mut text = String::from("[metrics.kpi]\ndirection = \"higher_is_better\"\n");
    for (metric, side, bound) in [
        ("accuracy", "below", 0.80),
        ("latency_ms", "above", 180.0),
        ("drift_score", "above", 0.30),
        ("error_rate", "above", 0.20),
        ("kpi", "below", 20.0),
    ] {
        text.push_str(&format!(
            r#"
[[rules]]
name = "{metric}-threshold"
metric = "{metric}"
detector = {{ kind = "threshold", {side} = {bound} }}
for = 3
actions = ["retrain"]

[[rules]]
name = "{metric}-ema"
metric = "{metric}"
detector = {{ kind = "ema", alpha = 0.25, {side} = {bound} }}
actions = ["retrain"]

[[rules]]
name = "{metric}-window"
metric = "{metric}"
detector = {{ kind = "window_mean", window = 100, min_samples = 10, {side} = {bound} }}

[[rules]]
name = "{metric}-page-hinkley"
metric = "{metric}"
detector = {{ kind = "page_hinkley", threshold = 5.0 }}

[[rules]]
name = "{metric}-adwin"
metric = "{metric}"
detector = {{ kind = "adwin" }}
"#
        ));
    }
    text
}

/// Number of metric values per event.
pub const METRICS_PER_EVENT: usize = 5;

/// `events` events, round robin over 200 instances. Values wander within their bounds and
/// cross them during incidents of 10 events, one every 1,000 events of an instance, so that
/// about 1 output comes per 100 values, like a fleet with a few degraded models at any time.
/// Deterministic.
pub fn inputs(events: usize) -> Vec<Input> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..events)
        .map(|i| {
            let instance = i % 200;
            let round = i / 200;
            let incident = if (round + 7 * instance) % 1000 < 10 {
                1.0
            } else {
                0.0
            };
            let metrics = vec![
                (
                    "accuracy".to_string(),
                    0.93 - 0.2 * incident + 0.04 * noise(),
                ),
                (
                    "drift_score".to_string(),
                    0.05 + 0.4 * incident + 0.05 * noise(),
                ),
                (
                    "error_rate".to_string(),
                    0.05 + 0.3 * incident + 0.05 * noise(),
                ),
                ("kpi".to_string(), 40.0 - 30.0 * incident + 10.0 * noise()),
                (
                    "latency_ms".to_string(),
                    80.0 + 150.0 * incident + 30.0 * noise(),
                ),
            ];
            Input::Event(Event {
                model: ModelId::new(
                    format!("model-{}", instance / 4),
                    "1.0.0",
                    format!("replica-{}", instance % 4),
                ),
                timestamp: Some(Timestamp::from_secs(1_800_000_000 + i as i64)),
                metrics,
            })
        })
        .collect()
}
