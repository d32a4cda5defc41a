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
    assert_eq!(first.explanation.detector.as_str(), "page_hinkley");
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

const RETRAIN: &str = r#"
[[trainers]]
kind = "external"

[retrain]
cooldown_secs = 3600

[[rules]]
name = "acc"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }
actions = ["retrain"]

[[rules]]
name = "lat"
metric = "latency_ms"
detector = { kind = "threshold", above = 100.0 }
actions = ["retrain"]
"#;

#[test]
fn retrain_single_flight_then_cooldown_then_deferred_grant() {
    let mut engine = engine(RETRAIN);
    let out = run(
        &mut engine,
        &[
            point("m", "default", 0, "accuracy", 0.5), // fires, granted
            point("m", "default", 1, "latency_ms", 500.0), // fires, muted: in flight
            job("m", 10, None),                        // ends the job
            point("m", "default", 11, "accuracy", 0.95), // acc resolves
            point("m", "default", 12, "accuracy", 0.5), // fires again, cooldown until minute 60
            point("m", "default", 59, "accuracy", 0.5), // still firing, no transition
            point("m", "default", 60, "accuracy", 0.5), // cooldown over: deferred grant first
        ],
    );
    assert_eq!(
        timeline(&out),
        [
            "1:firing:acc",
            "1:retrain-granted:alert_firing",
            "2:firing:lat",
            "3:job:true",
            "4:resolved:acc",
            "5:firing:acc",
            "5:retrain-suppressed:cooldown",
            "7:retrain-granted:cooldown_ended",
        ]
    );
    let decisions: Vec<&RetrainDecision> = out
        .iter()
        .filter_map(|o| {
            if let Output::Retrain(d) = o {
                Some(d)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        decisions[0].job_id.as_deref(),
        Some(decisions[0].id.as_str())
    );
    let Output::Alert(muted) = &out[2] else {
        panic!("{:?}", out[2])
    };
    assert_eq!(
        muted.muted_by, decisions[0].job_id,
        "names the outstanding job"
    );
    assert!(muted.actions.is_empty());
    assert_eq!(
        muted.message,
        format!(
            "latency_ms 500 is above 100: firing (muted: job {} of m is running)",
            &decisions[0].id[..8]
        )
    );
    assert_eq!(decisions[1].retry_at, Some(at(60)));
    assert_eq!(decisions[1].reason, Reason::Cooldown);
    assert_eq!(decisions[2].decision, Decision::Granted);
    assert_eq!(engine.outstanding_job("m"), decisions[2].job_id.as_deref());
    let Output::JobFinished(notice) = &out[3] else {
        panic!()
    };
    assert_eq!(
        notice.job_id, decisions[0].job_id,
        "a notice without id ends the outstanding job"
    );
}

#[test]
fn a_manual_retrain_ignores_the_cooldown_starts_a_new_one_and_respects_single_flight() {
    let mut engine = engine(RETRAIN);
    let out = run(
        &mut engine,
        &[
            point("m", "default", 0, "accuracy", 0.5), // fires, granted
            manual("m", 1, Some("new labels")),        // suppressed: in flight
            job("m", 2, None),                         // ends the job
            manual("m", 3, None),                      // granted despite the cooldown
            job("m", 4, None),
            point("m", "default", 5, "accuracy", 0.95), // resolves
            point("m", "default", 6, "accuracy", 0.5),  // fires: cooldown from minute 3
            point("m", "default", 63, "accuracy", 0.5), // cooldown over: deferred grant
        ],
    );
    assert_eq!(
        timeline(&out),
        [
            "1:firing:acc",
            "1:retrain-granted:alert_firing",
            "2:retrain-suppressed:in_flight",
            "3:job:true",
            "4:retrain-granted:manual",
            "5:job:true",
            "6:resolved:acc",
            "7:firing:acc",
            "7:retrain-suppressed:cooldown",
            "8:retrain-granted:cooldown_ended",
        ]
    );
    let decisions: Vec<&RetrainDecision> = out
        .iter()
        .filter_map(|o| match o {
            Output::Retrain(d) => Some(d),
            _ => None,
        })
        .collect();
    let suppressed = decisions[1];
    assert_eq!(suppressed.job_id, decisions[0].job_id);
    assert_eq!((&suppressed.alert_id, &suppressed.rule), (&None, &None));
    assert_eq!(
        suppressed.message,
        format!(
            "retrain of m suppressed: job {} is outstanding (asked for by hand: new labels)",
            &decisions[0].id[..8]
        )
    );
    let granted = decisions[2];
    assert_eq!(granted.job_id.as_deref(), Some(granted.id.as_str()));
    assert_eq!((&granted.alert_id, &granted.rule), (&None, &None));
    assert_eq!(granted.message, "retrain of m granted: asked for by hand");
    assert_eq!(
        decisions[3].retry_at,
        Some(at(63)),
        "the manual grant started the cooldown"
    );
    let json = serde_json::to_string(granted).unwrap();
    assert!(json.contains(r#""reason":"manual""#), "{json}");
    assert!(
        !json.contains("alert_id") && !json.contains("rule"),
        "{json}"
    );
}

#[test]
fn a_manual_grant_answers_a_request_the_cooldown_deferred() {
    let mut engine = engine(RETRAIN);
    let out = run(
        &mut engine,
        &[
            point("m", "default", 0, "accuracy", 0.5),
            job("m", 1, None),
            point("m", "default", 2, "accuracy", 0.95),
            point("m", "default", 3, "accuracy", 0.5), // deferred by the cooldown
            manual("m", 4, None),                      // granted; answers the deferred one
            job("m", 5, None),
            point("m", "default", 61, "accuracy", 0.5), // no grant at the old cooldown's end
        ],
    );
    assert_eq!(
        timeline(&out),
        [
            "1:firing:acc",
            "1:retrain-granted:alert_firing",
            "2:job:true",
            "3:resolved:acc",
            "4:firing:acc",
            "4:retrain-suppressed:cooldown",
            "5:retrain-granted:manual",
            "5:retrain-withdrawn:in_flight",
            "6:job:true",
        ]
    );
}

#[test]
fn a_deferred_request_is_withdrawn_when_its_alert_resolves() {
    let mut engine = engine(RETRAIN);
    let out = run(
        &mut engine,
        &[
            point("m", "default", 0, "accuracy", 0.5),
            job("m", 1, None),
            point("m", "default", 2, "accuracy", 0.95),
            point("m", "default", 3, "accuracy", 0.5),
            point("m", "default", 4, "accuracy", 0.95),
            point("m", "default", 90, "accuracy", 0.95),
        ],
    );
    assert_eq!(
        timeline(&out),
        [
            "1:firing:acc",
            "1:retrain-granted:alert_firing",
            "2:job:true",
            "3:resolved:acc",
            "4:firing:acc",
            "4:retrain-suppressed:cooldown",
            "5:resolved:acc",
            "5:retrain-withdrawn:alert_resolved",
        ]
    );
}

#[test]
fn cooldown_and_single_flight_are_per_model_and_overridable() {
    let config = RETRAIN.replace(
        "cooldown_secs = 3600",
        "cooldown_secs = 3600\noverrides = [{ model = \"fast-*\", cooldown_secs = 60 }]",
    );
    let mut engine = engine(&config);
    let out = run(
        &mut engine,
        &[
            point("a", "default", 0, "accuracy", 0.5),
            point("b", "default", 0, "accuracy", 0.5),
            point("fast-model", "default", 0, "accuracy", 0.5),
            job("fast-model", 1, None),
            point("fast-model", "default", 1, "accuracy", 0.95),
            point("fast-model", "default", 2, "accuracy", 0.5),
        ],
    );
    assert_eq!(
        timeline(&out),
        [
            "1:firing:acc",
            "1:retrain-granted:alert_firing",
            "2:firing:acc",
            "2:retrain-granted:alert_firing",
            "3:firing:acc",
            "3:retrain-granted:alert_firing",
            "4:job:true",
            "5:resolved:acc",
            "6:firing:acc",
            "6:retrain-granted:alert_firing",
        ]
    );
}

#[test]
fn a_job_notice_for_another_job_keeps_single_flight() {
    let mut engine = engine(RETRAIN);
    let out = run(
        &mut engine,
        &[
            point("m", "default", 0, "accuracy", 0.5),
            job("m", 1, Some("not-the-job")),
            job("x", 1, None),
        ],
    );
    assert_eq!(
        timeline(&out),
        [
            "1:firing:acc",
            "1:retrain-granted:alert_firing",
            "2:job:false",
            "3:job:false"
        ]
    );
    assert!(engine.outstanding_job("m").is_some());
    let Output::JobFinished(notice) = &out[2] else {
        panic!()
    };
    assert!(
        notice.message.contains("single flight holds"),
        "{}",
        notice.message
    );
}

#[test]
fn a_change_point_request_stands_through_the_cooldown() {
    let mut engine = engine(
        r#"
[[trainers]]
kind = "external"

[[rules]]
name = "ph"
metric = "latency_ms"
detector = { kind = "page_hinkley", threshold = 20.0 }
actions = ["retrain"]
"#,
    );
    let mut inputs = vec![];
    for i in 0..200 {
        let value = if (i / 50) % 2 == 0 { 10.0 } else { 40.0 };
        inputs.push(point("m", "default", i, "latency_ms", value));
    }
    inputs.insert(60, job("m", 59, None));
    inputs.push(point("m", "default", 500, "latency_ms", 40.0));
    let out = run(&mut engine, &inputs);
    let decisions: Vec<String> = timeline(&out)
        .into_iter()
        .filter(|line| line.contains("retrain"))
        .collect();
    // The change at minute 100 comes during the cooldown of the grant at minute 50; the
    // request stands (no alert has to keep firing) and is granted when the cooldown ends.
    assert_eq!(
        decisions,
        [
            "51:retrain-granted:change_detected",
            "102:retrain-suppressed:cooldown",
            "112:retrain-granted:cooldown_ended",
        ]
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
    let mut engine = engine(RETRAIN);
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

fn versioned(model: &str, version: &str, minute: i64, metric: &str, value: f64) -> Input {
    Input::Event(Event {
        model: ModelId::new(model, version, "default"),
        timestamp: Some(at(minute)),
        metrics: vec![(metric.to_string(), value)],
    })
}

fn alerts(outputs: &[Output]) -> Vec<&AlertEvent> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Alert(alert) => Some(alert),
            _ => None,
        })
        .collect()
}

const MUTING: &str = r#"
[[trainers]]
kind = "external"

[[notifiers]]
name = "oncall"
kind = "webhook"
url = "https://hooks.example.com"

[[notifiers]]
name = "am"
kind = "alertmanager"
url = "http://localhost:9093"

[[rules]]
name = "acc"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }
for = 2
actions = ["retrain"]
notify = ["am", "oncall"]

[[rules]]
name = "lat"
metric = "latency_ms"
detector = { kind = "threshold", above = 100.0 }
actions = ["retrain"]
notify = ["oncall"]
"#;

#[test]
fn alerts_of_a_model_with_a_running_job_are_muted_but_their_ends_are_not() {
    let mut engine = engine(MUTING);
    let out = run(
        &mut engine,
        &[
            point("m", "default", 0, "latency_ms", 500.0), // fires, granted: the job starts
            point("m", "default", 1, "accuracy", 0.5),     // pending: muted
            point("m", "default", 2, "accuracy", 0.95),    // inactive: not muted
            point("m", "default", 3, "accuracy", 0.5),     // pending: muted
            point("m", "default", 4, "accuracy", 0.5),     // firing: muted, no decision
            point("m", "default", 5, "latency_ms", 50.0),  // resolved: not muted
            point("x", "default", 5, "latency_ms", 500.0), // another model: not muted
            job("m", 6, None),
            point("m", "default", 7, "accuracy", 0.95), // resolved: not muted
            point("m", "default", 8, "accuracy", 0.5),  // pending, no job: not muted
        ],
    );
    assert_eq!(
        timeline(&out),
        [
            "1:firing:lat",
            "1:retrain-granted:alert_firing",
            "2:pending:acc",
            "3:inactive:acc",
            "4:pending:acc",
            "5:firing:acc",
            "6:resolved:lat",
            "7:firing:lat",
            "7:retrain-granted:alert_firing",
            "8:job:true",
            "9:resolved:acc",
            "10:pending:acc",
        ]
    );
    let Output::Retrain(granted) = &out[1] else {
        panic!("{:?}", out[1])
    };
    let job = granted.job_id.clone().unwrap();
    let alerts = alerts(&out);
    let muted: Vec<(u64, Option<&str>, usize, usize)> = alerts
        .iter()
        .map(|alert| {
            (
                alert.seq,
                alert.muted_by.as_deref(),
                alert.actions.len(),
                alert.notify.len(),
            )
        })
        .collect();
    assert_eq!(
        muted,
        [
            (1, None, 1, 1),
            (2, Some(job.as_str()), 0, 0),
            (3, None, 0, 2),
            (4, Some(job.as_str()), 0, 0),
            (5, Some(job.as_str()), 0, 0),
            (6, None, 0, 1),
            (7, None, 1, 1),
            (9, None, 0, 2),
            (10, None, 0, 2),
        ]
    );
    assert_eq!(
        alerts[4].message,
        format!(
            "accuracy 0.5 is below 0.9 for 2 points: firing (muted: job {} of m is running)",
            &job[..8]
        )
    );
    let notify: Vec<&str> = alerts[2].notify.iter().map(|name| &**name).collect();
    assert_eq!(notify, ["am", "oncall"], "in the rule's order");
    // In JSON: notify when there is any, muted_by when muted.
    let json = |index: usize| serde_json::to_value(Output::Alert(alerts[index].clone())).unwrap();
    assert_eq!(json(2)["notify"], serde_json::json!(["am", "oncall"]));
    assert!(json(2).get("muted_by").is_none());
    assert_eq!(json(4)["muted_by"], serde_json::json!(job));
    assert!(json(4).get("notify").is_none());
}

#[test]
fn after_a_job_succeeds_the_new_versions_series_start_fresh_and_the_old_keep_their_state() {
    let mut engine = engine(
        r#"
[[trainers]]
kind = "external"

[[rules]]
name = "acc-window"
metric = "accuracy"
detector = { kind = "window_mean", window = 3, below = 0.9 }
for = 2
actions = ["retrain"]
"#,
    );
    let succeeded = Input::JobFinished(JobFinished {
        model: "m".to_string(),
        job_id: None,
        status: JobStatus::Succeeded,
        version: Some("2".to_string()),
        timestamp: Some(at(10)),
    });
    let out = run(
        &mut engine,
        &[
            versioned("m", "1", 0, "accuracy", 0.5),
            versioned("m", "1", 1, "accuracy", 0.5),
            versioned("m", "1", 2, "accuracy", 0.5), // window full: pending
            versioned("m", "1", 3, "accuracy", 0.5), // firing: the job starts
            succeeded,
            versioned("m", "2", 11, "accuracy", 0.5), // v2: a fresh window, not enough data
            versioned("m", "2", 12, "accuracy", 0.5),
            versioned("m", "1", 13, "accuracy", 0.5), // v1 still firing: no transition
            versioned("m", "2", 14, "accuracy", 0.5), // v2's window is full: pending
            versioned("m", "2", 15, "accuracy", 0.5), // v2 fires on its own points
            versioned("m", "1", 16, "accuracy", 1.0), // v1's window: 0.5, 0.5, 1.0: firing
            versioned("m", "1", 17, "accuracy", 1.0), // 0.5, 1.0, 1.0: firing
            versioned("m", "1", 18, "accuracy", 1.0), // 1.0, 1.0, 1.0: resolved
        ],
    );
    let lines: Vec<String> = alerts(&out)
        .iter()
        .map(|alert| {
            format!(
                "{}:{}:v{}:held {}",
                alert.seq,
                alert.state.as_str(),
                alert.model.version,
                alert.explanation.held.unwrap_or(0)
            )
        })
        .collect();
    assert_eq!(
        lines,
        // v2 needs three points of its own before it can judge, and holds from 1 again: it
        // inherited neither v1's window nor its alert.
        [
            "3:pending:v1:held 1",
            "4:firing:v1:held 2",
            "9:pending:v2:held 1",
            "10:firing:v2:held 2",
            "13:resolved:v1:held 5",
        ]
    );
    let alerts = alerts(&out);
    assert_ne!(
        alerts[2].alert_id, alerts[0].alert_id,
        "v2's alert is its own"
    );
    assert_eq!(
        alerts[3].muted_by, None,
        "the job ended: v2 asks for a retrain"
    );
    assert!(alerts[3].requests_retrain());
    let status = engine.status();
    let points: Vec<(String, u64)> = status
        .iter()
        .map(|status| (status.model.version.clone(), status.points))
        .collect();
    assert_eq!(points, [("1".to_string(), 8), ("2".to_string(), 4)]);
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
