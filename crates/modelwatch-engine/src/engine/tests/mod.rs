//! Scenario tests of the engine: alert states, change points, retrain decisions, status.

use super::*;
use crate::config::{Severity, parse_config};
use crate::event::{JobStatus, ModelId};
use crate::output::{AlertState, Decision, Reason, RetrainDecision};
use crate::{RuleState, Timestamp};
use modelwatch_detectors::Signal;

fn engine(config: &str) -> Engine {
    let parsed = parse_config(config).unwrap();
    Engine::new(Arc::new(parsed.config))
}

fn at(minute: i64) -> Timestamp {
    Timestamp::from_secs(1_800_000_000 + minute * 60)
}

fn point(model: &str, instance: &str, minute: i64, metric: &str, value: f64) -> Input {
    Input::Event(Event {
        model: ModelId::new(model, "1", instance),
        timestamp: Some(at(minute)),
        metrics: vec![(metric.to_string(), value)],
    })
}

fn job(model: &str, minute: i64, job_id: Option<&str>) -> Input {
    Input::JobFinished(JobFinished {
        model: model.to_string(),
        job_id: job_id.map(str::to_string),
        status: JobStatus::Succeeded,
        version: Some("2".to_string()),
        timestamp: Some(at(minute)),
    })
}

fn manual(model: &str, minute: i64, reason: Option<&str>) -> Input {
    Input::RetrainRequest(crate::event::RetrainRequest {
        model: model.to_string(),
        reason: reason.map(str::to_string),
        timestamp: Some(at(minute)),
    })
}

fn run(engine: &mut Engine, inputs: &[Input]) -> Vec<Output> {
    let mut out = Vec::new();
    for input in inputs {
        engine.process(input, &mut out);
    }
    out
}

/// A compact view of outputs: "seq:state:rule" for alerts, "seq:retrain-decision:reason" for
/// decisions, "seq:job:ended" for job notices.
fn timeline(outputs: &[Output]) -> Vec<String> {
    outputs
        .iter()
        .map(|output| match output {
            Output::Alert(alert) => {
                format!("{}:{}:{}", alert.seq, alert.state.as_str(), alert.rule)
            }
            Output::Retrain(decision) => {
                format!(
                    "{}:retrain-{}:{}",
                    decision.seq,
                    decision.decision.as_str(),
                    decision.reason.as_str()
                )
            }
            Output::JobFinished(notice) => {
                format!("{}:job:{}", notice.seq, notice.ended_outstanding)
            }
            Output::Canary(verdict) => {
                format!(
                    "{}:canary-{}:{}",
                    verdict.seq,
                    verdict.verdict.as_str(),
                    verdict.rule
                )
            }
            Output::Quality(point) => {
                format!(
                    "{}:quality-{}:{}",
                    point.seq,
                    point.source.as_str(),
                    point.model
                )
            }
        })
        .collect()
}

const THRESHOLD_FOR_3: &str = r#"
[[rules]]
name = "low"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9, resolve = 0.95 }
for = 3
"#;

#[test]
fn pending_then_firing_after_for_points_then_resolved_at_the_resolve_bound() {
    let mut engine = engine(THRESHOLD_FOR_3);
    let values = [0.95, 0.85, 0.86, 0.87, 0.92, 0.94, 0.96, 0.97];
    let inputs: Vec<Input> = values
        .iter()
        .enumerate()
        .map(|(i, v)| point("m", "default", i as i64, "accuracy", *v))
        .collect();
    let out = run(&mut engine, &inputs);
    // 0.92 and 0.94 are above the bound but below the resolve bound: still firing.
    assert_eq!(
        timeline(&out),
        ["2:pending:low", "4:firing:low", "7:resolved:low"]
    );
    let alerts: Vec<&AlertEvent> = out
        .iter()
        .filter_map(|o| {
            if let Output::Alert(a) = o {
                Some(a)
            } else {
                None
            }
        })
        .collect();
    assert!(
        alerts.iter().all(|a| a.alert_id == alerts[0].alert_id),
        "one alert, one id"
    );
    let ids: std::collections::HashSet<&str> = alerts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "every transition has its own id");
    let firing = &alerts[1].explanation;
    assert_eq!(
        (firing.value, firing.bound, firing.comparison),
        (0.87, Some(0.9), Some("below"))
    );
    assert_eq!(
        (firing.held, firing.for_points, firing.points),
        (Some(3), Some(3), 4)
    );
    assert_eq!(
        alerts[1].message,
        "accuracy 0.87 is below 0.9 for 3 points: firing"
    );
    let resolved = &alerts[2].explanation;
    assert_eq!(
        (resolved.bound, resolved.comparison),
        (Some(0.95), Some("at_or_above"))
    );
    assert_eq!(
        alerts[2].message,
        "accuracy 0.96 is back at or above 0.95: resolved"
    );
}

#[test]
fn a_pending_alert_that_clears_becomes_inactive_and_the_next_one_is_new() {
    let mut engine = engine(THRESHOLD_FOR_3);
    let values = [0.85, 0.86, 0.91, 0.80];
    let inputs: Vec<Input> = values
        .iter()
        .enumerate()
        .map(|(i, v)| point("m", "default", i as i64, "accuracy", *v))
        .collect();
    let out = run(&mut engine, &inputs);
    assert_eq!(
        timeline(&out),
        ["1:pending:low", "3:inactive:low", "4:pending:low"]
    );
    let Output::Alert(first) = &out[0] else {
        panic!()
    };
    let Output::Alert(second) = &out[2] else {
        panic!()
    };
    assert_ne!(first.alert_id, second.alert_id);
    let Output::Alert(inactive) = &out[1] else {
        panic!()
    };
    assert_eq!(
        inactive.message,
        "accuracy 0.91 is back at or above 0.9 before the alert fired (2 of 3 points)"
    );
}

#[test]
fn series_are_per_instance_and_rules_match_by_glob() {
    let mut engine = engine(
        r#"
[[rules]]
name = "fraud-low"
model = "fraud-*"
instance = "canary-*"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }
"#,
    );
    let out = run(
        &mut engine,
        &[
            point("fraud-detector", "default", 0, "accuracy", 0.5),
            point("fraud-detector", "canary-0", 1, "accuracy", 0.5),
            point("churn", "canary-0", 2, "accuracy", 0.5),
            point("fraud-detector", "canary-1", 3, "accuracy", 0.95),
        ],
    );
    assert_eq!(timeline(&out), ["2:firing:fraud-low"]);
    let Output::Alert(alert) = &out[0] else {
        panic!()
    };
    assert_eq!(alert.model.instance, "canary-0");
}

#[test]
fn change_detectors_raise_one_off_drift_alerts_with_their_evidence() {
    let mut engine = engine(
        r#"
[[rules]]
name = "ph"
metric = "latency_ms"
detector = { kind = "page_hinkley", threshold = 20.0 }
"#,
    );
    let mut inputs = Vec::new();
    for i in 0..100 {
        let value = if i < 50 { 10.0 } else { 30.0 };
        inputs.push(point("m", "default", i, "latency_ms", value));
    }
    let out = run(&mut engine, &inputs);
    let drifts: Vec<&AlertEvent> = out
        .iter()
        .filter_map(|o| match o {
            Output::Alert(a) if a.state == AlertState::Drift => Some(a),
            _ => None,
        })
        .collect();
    assert!(!drifts.is_empty(), "{:?}", timeline(&out));
    assert_eq!(
        drifts.len(),
        out.len(),
        "change detectors give only drift alerts"
    );
    let first = &drifts[0];
    assert!(first.seq > 50, "{}", first.seq);
    assert_eq!(first.explanation.detector, "page_hinkley");
    assert_eq!(first.explanation.bound, Some(20.0));
    assert!(first.explanation.value > 20.0);
    assert!(
        first
            .message
            .starts_with("page_hinkley found a change in latency_ms after"),
        "{}",
        first.message
    );
}

#[test]
fn status_shows_not_enough_data_until_the_detector_can_judge() {
    let mut engine = engine(
        r#"
[[rules]]
name = "window"
metric = "accuracy"
detector = { kind = "window_mean", window = 10, min_samples = 5, below = 0.9 }
"#,
    );
    let mut out = Vec::new();
    for i in 0..4 {
        engine.process(&point("m", "default", i, "accuracy", 0.95), &mut out);
    }
    let status = engine.status();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].state, RuleState::NotEnoughData);
    assert_eq!((status[0].detector_points, status[0].needed), (4, 5));
    engine.process(&point("m", "default", 4, "accuracy", 0.95), &mut out);
    assert_eq!(engine.status()[0].state, RuleState::Ok);
    for i in 5..20 {
        engine.process(&point("m", "default", i, "accuracy", 0.5), &mut out);
    }
    let status = &engine.status()[0];
    assert_eq!(status.state, RuleState::Firing);
    assert!(status.alert_id.is_some());
    // (4.75 + 0.5) / 6 = 0.875 < 0.9 at the first low point.
    assert_eq!(timeline(&out), ["6:firing:window"]);
}

#[test]
fn macro_score_rules_fire_per_instance() {
    let mut engine = engine(crate::config::DEFAULT_CONFIG_TOML);
    let event = |instance: &str, score: f64| {
        Input::Event(Event {
            model: ModelId::new("m", "1", instance),
            timestamp: Some(at(0)),
            metrics: vec![("macro_score".to_string(), score)],
        })
    };
    let out = run(
        &mut engine,
        &[event("default", 0.95), event("canary-0", 0.7)],
    );
    assert_eq!(
        timeline(&out),
        [
            "2:firing:a-macro-score-low",
            "2:retrain-recommended:alert_firing"
        ]
    );
}

#[test]
fn inputs_without_timestamp_take_the_latest_time_seen() {
    let mut engine = engine(retrain::RETRAIN);
    let mut late = point("m", "default", 0, "accuracy", 0.5);
    if let Input::Event(event) = &mut late {
        event.timestamp = None;
    }
    let out = run(
        &mut engine,
        &[point("m", "default", 30, "latency_ms", 1.0), late],
    );
    assert_eq!(out[0].at(), at(30));
    assert_eq!(engine.clock(), at(30));
}

#[test]
fn the_same_inputs_give_the_same_outputs_and_ids() {
    let inputs: Vec<Input> = (0..300)
        .map(|i| {
            point(
                "m",
                if i % 2 == 0 { "a" } else { "b" },
                i,
                "accuracy",
                0.8 + 0.15 * ((i as f64) / 7.0).sin(),
            )
        })
        .collect();
    let first = run(&mut engine(crate::config::DEFAULT_CONFIG_TOML), &inputs);
    let second = run(&mut engine(crate::config::DEFAULT_CONFIG_TOML), &inputs);
    assert!(!first.is_empty());
    assert_eq!(
        serde_json::to_string(&first).unwrap(),
        serde_json::to_string(&second).unwrap()
    );
}

#[test]
fn a_warning_zone_is_a_visible_alert_that_can_ask_for_a_retrain() {
    let mut engine = engine(
        r#"
[[trainers]]
kind = "external"

[[rules]]
name = "errors-ddm"
metric = "error"
detector = { kind = "ddm" }
severity = "critical"
actions = ["retrain_on_warning", "retrain"]
"#,
    );
    // 10 % wrong predictions, then 50 %.
    let errors: Vec<f64> = (0..400)
        .map(|i| {
            let wrong = if i < 200 { i % 10 == 0 } else { i % 2 == 0 };
            f64::from(u8::from(wrong))
        })
        .collect();
    // What the detector alone says, to check the engine's wiring against.
    let mut detector = modelwatch_detectors::DetectorSpec::parse("ddm", &[])
        .unwrap()
        .build();
    let signals: Vec<Signal> = errors.iter().map(|&x| detector.update(x)).collect();
    let first_warning = signals.iter().position(|s| *s == Signal::Warning).unwrap();
    let first_drift = signals.iter().position(|s| *s == Signal::Drift).unwrap();
    assert!(first_warning < first_drift, "{first_warning} {first_drift}");

    let inputs: Vec<Input> = errors
        .iter()
        .enumerate()
        .map(|(i, &x)| point("fraud", "default", i as i64, "error", x))
        .collect();
    let outputs = run(&mut engine, &inputs[..=first_drift]);
    let warning_seq = first_warning as u64 + 1;
    let alerts: Vec<&AlertEvent> = outputs
        .iter()
        .filter_map(|output| match output {
            Output::Alert(alert) => Some(alert),
            _ => None,
        })
        .collect();
    let warning = alerts[0];
    assert_eq!(
        (warning.seq, warning.state, warning.severity),
        (warning_seq, AlertState::Warning, Severity::Warning),
        "a warning is never louder than `warning`"
    );
    assert_eq!(warning.actions, ["retrain"]);
    let decisions: Vec<&RetrainDecision> = outputs
        .iter()
        .filter_map(|output| match output {
            Output::Retrain(decision) => Some(decision),
            _ => None,
        })
        .collect();
    assert_eq!(
        (decisions[0].seq, decisions[0].decision, decisions[0].reason),
        (warning_seq, Decision::Granted, Reason::WarningDetected)
    );
    let drift = alerts.last().unwrap();
    assert_eq!(
        (drift.seq, drift.state, drift.severity),
        (
            first_drift as u64 + 1,
            AlertState::Drift,
            Severity::Critical
        )
    );
    // The drift comes while the job the warning started runs: muted, it asks for nothing.
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert_eq!(drift.muted_by, decisions[0].job_id);
    assert!(drift.actions.is_empty());
    assert!(
        drift.message.ends_with(&format!(
            "(muted: job {} of fraud is running)",
            &decisions[0].id[..8]
        )),
        "{}",
        drift.message
    );
}

#[test]
fn new_series_names_each_series_a_batch_would_create_once_and_the_count_follows_and_survives_a_snapshot()
 {
    let config = "[[rules]]\nname = \"r\"\nmetric = \"accuracy\"\ndetector = { kind = \"threshold\", below = 0.9 }\n";
    let mut engine = engine(config);
    run(&mut engine, &[point("a", "default", 0, "accuracy", 0.95)]);
    assert_eq!(engine.series_count(), 1);
    let batch = [
        point("a", "default", 1, "accuracy", 0.95),
        point("b", "default", 1, "accuracy", 0.95),
        point("a", "canary", 1, "accuracy", 0.95),
        point("b", "default", 2, "latency", 3.0),
        point("b", "default", 3, "accuracy", 0.95),
        job("a", 4, None),
    ];
    let new: Vec<(String, &str)> = engine
        .new_series(&batch)
        .into_iter()
        .map(|(model, metric)| (format!("{}/{}", model.name, model.instance), metric))
        .collect();
    assert_eq!(
        new,
        [
            ("b/default".to_string(), "accuracy"),
            ("a/canary".to_string(), "accuracy"),
            ("b/default".to_string(), "latency"),
        ]
    );
    // Asking changes nothing; processing creates exactly those.
    assert_eq!(engine.series_count(), 1);
    run(&mut engine, &batch);
    assert_eq!(engine.series_count(), 4);
    assert!(engine.new_series(&batch).is_empty());
    let restored = Engine::restore(engine_config(config), &engine.snapshot().unwrap()).unwrap();
    assert_eq!(restored.series_count(), 4);
}

fn engine_config(config: &str) -> Arc<Config> {
    Arc::new(parse_config(config).unwrap().config)
}

mod muting;
mod retrain;
