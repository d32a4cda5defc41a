//! Tests of the exposition `GET /metrics` answers: the names, types, HELP texts and labels that
//! dashboards and docs rely on (the encoder adds `_total` and final periods: none doubled, none
//! lost), values as Prometheus spells them, and label values escaped.

use std::sync::Arc;
use std::time::Duration;

use modelwatch_engine::{ModelId, RuleState, RuleStatus, Timestamp};
use modelwatch_store::JobState;

use super::{DeliveryOutcome, Metrics, Rejection, SeriesSnapshot, render};

/// Every family, in the order of the exposition: name, type and HELP text.
const FAMILIES: [(&str, &str, &str); 22] = [
    (
        "modelwatch_events_ingested_total",
        "counter",
        "Inputs committed to the store since the process started.",
    ),
    (
        "modelwatch_ingest_rejected_total",
        "counter",
        "Ingest requests refused, by reason; nothing of them was stored.",
    ),
    (
        "modelwatch_ingest_queue_depth",
        "gauge",
        "Requests waiting for the writer.",
    ),
    (
        "modelwatch_commit_duration_seconds",
        "histogram",
        "Time of each group commit to the store.",
    ),
    (
        "modelwatch_write_failures_total",
        "counter",
        "Writes to the store that failed since the process started (a commit, a flush of points, \
         a snapshot or retention step); after one that is transient, such as a full disk, ingest \
         is refused with 503 until a write succeeds.",
    ),
    (
        "modelwatch_retrain_decisions_total",
        "counter",
        "Retrain decisions committed since the process started, by decision and reason.",
    ),
    (
        "modelwatch_retention_deleted_total",
        "counter",
        "Rows deleted by retention over the store's life: raw inputs, and series points.",
    ),
    (
        "modelwatch_retention_failures_total",
        "counter",
        "Retention steps that failed since the process started (their pass ended; nothing was \
         lost).",
    ),
    (
        "modelwatch_snapshot_seq",
        "gauge",
        "Sequence number of the latest engine snapshot in the store (0: none yet).",
    ),
    (
        "modelwatch_snapshot_failures_total",
        "counter",
        "Engine snapshots that could not be saved since the process started.",
    ),
    (
        "modelwatch_points_pending",
        "gauge",
        "Series points of committed events waiting in memory to be written to their chunks \
         (they are read back from the stored events after a crash).",
    ),
    (
        "modelwatch_wal_checkpoints_total",
        "counter",
        "Checkpoints of the store's write-ahead log done beside the writer since the process \
         started.",
    ),
    (
        "modelwatch_wal_checkpoint_failures_total",
        "counter",
        "Checkpoints of the store's write-ahead log that failed since the process started (the \
         writer checkpoints itself once the log is large).",
    ),
    (
        "modelwatch_notification_attempts_total",
        "counter",
        "Attempts to deliver a notification since the process started, by notifier and \
         outcome (delivered, failed: tried again, given_up, skipped).",
    ),
    (
        "modelwatch_job_attempts_started_total",
        "counter",
        "Attempts of retrain and rollback jobs started since the process started, by backend.",
    ),
    (
        "modelwatch_job_attempts_ended_total",
        "counter",
        "Attempts of retrain and rollback jobs ended since the process started, by outcome.",
    ),
    (
        "modelwatch_jobs",
        "gauge",
        "Retrain and rollback jobs in the store, by state (queued, running, succeeded, failed, \
         timed_out, cancelled).",
    ),
    (
        "modelwatch_store_bytes",
        "gauge",
        "Bytes the store takes on disk: its database file and write-ahead log.",
    ),
    (
        "modelwatch_series_omitted",
        "gauge",
        "Series not exported because of the cap on exported series.",
    ),
    (
        "modelwatch_series_value",
        "gauge",
        "The latest value of each series.",
    ),
    (
        "modelwatch_alert_firing",
        "gauge",
        "1 when the rule's alert on the series is firing, else 0.",
    ),
    (
        "modelwatch_rule_state",
        "gauge",
        "Where each rule stands on each series: 1 for its current state.",
    ),
];

fn status(instance: &str, metric: &str, rule: &str, state: RuleState, value: f64) -> RuleStatus {
    RuleStatus {
        rule: Arc::from(rule),
        rule_index: 0,
        model: ModelId {
            name: "fraud-detector".to_string(),
            version: "1.5.0".to_string(),
            instance: instance.to_string(),
        },
        metric: metric.to_string(),
        state,
        points: 3,
        detector_points: 3,
        needed: 1,
        statistic: None,
        last_value: value,
        last_at: Timestamp::from_nanos(0),
        alert_id: None,
    }
}

/// Counters with a sample under every family, and three series (two exported).
fn exposition() -> String {
    let metrics = Metrics::default();
    metrics.record_commit(
        Duration::from_micros(700),
        64,
        &[("granted", "alert_firing"), ("suppressed", "cooldown")],
    );
    metrics.record_commit(Duration::from_secs(3), 1, &[("granted", "alert_firing")]);
    metrics.record_refusal(Rejection::QueueFull);
    metrics.record_write_failure();
    metrics.set_deleted(100, 500);
    metrics.record_deleted(1, 5);
    metrics.record_retention_failure();
    metrics.record_snapshot(42);
    metrics.record_snapshot_failure();
    metrics.record_points_pending(7);
    metrics.record_checkpoint(true);
    metrics.record_checkpoint(false);
    metrics.record_delivery("pager \"night\"\\2", DeliveryOutcome::GivenUp);
    metrics.record_job_started("command");
    metrics.record_job_attempt_ended("timed_out");
    metrics.record_store(&[(JobState::Running, 1), (JobState::Failed, 3)], 123_456);
    let rules = vec![
        status(
            "canary-0",
            "accuracy",
            "e-accuracy-low",
            RuleState::Firing,
            0.61,
        ),
        status("canary-0", "accuracy", "d-drift", RuleState::Ok, 0.61),
        status(
            "canary-0",
            "latency_ms",
            "l-high",
            RuleState::Pending,
            f64::NAN,
        ),
        status("canary-1", "accuracy", "e-accuracy-low", RuleState::Ok, 0.9),
    ];
    render(&metrics, 2, Some(SeriesSnapshot::capped(rules, 2)))
}

#[test]
fn every_family_keeps_its_name_type_and_help_text() {
    let body = exposition();
    let mut found = Vec::new();
    let mut lines = body.lines().filter(|line| line.starts_with("# HELP "));
    for line in &mut lines {
        let (name, help) = line["# HELP ".len()..].split_once(' ').unwrap();
        let kind = body
            .lines()
            .find_map(|line| line.strip_prefix(&format!("# TYPE {name} ")))
            .unwrap();
        found.push((name, kind, help));
    }
    assert_eq!(found, FAMILIES, "{body}");
}

#[test]
fn samples_keep_their_labels_and_values() {
    let body = exposition();
    let samples: Vec<&str> = body.lines().filter(|line| !line.starts_with('#')).collect();
    let series = r#"model="fraud-detector",version="1.5.0",instance="canary-0""#;
    for expected in [
        "modelwatch_events_ingested_total 65".to_string(),
        r#"modelwatch_ingest_rejected_total{reason="queue_full"} 1"#.to_string(),
        r#"modelwatch_ingest_rejected_total{reason="syntax"} 0"#.to_string(),
        "modelwatch_ingest_queue_depth 2".to_string(),
        "modelwatch_write_failures_total 1".to_string(),
        r#"modelwatch_commit_duration_seconds_bucket{le="0.0005"} 0"#.to_string(),
        r#"modelwatch_commit_duration_seconds_bucket{le="0.001"} 1"#.to_string(),
        r#"modelwatch_commit_duration_seconds_bucket{le="2.5"} 1"#.to_string(),
        r#"modelwatch_commit_duration_seconds_bucket{le="+Inf"} 2"#.to_string(),
        "modelwatch_commit_duration_seconds_count 2".to_string(),
        r#"modelwatch_retrain_decisions_total{decision="granted",reason="alert_firing"} 2"#
            .to_string(),
        r#"modelwatch_retention_deleted_total{table="inputs"} 101"#.to_string(),
        r#"modelwatch_retention_deleted_total{table="points"} 505"#.to_string(),
        "modelwatch_snapshot_seq 42".to_string(),
        "modelwatch_points_pending 7".to_string(),
        "modelwatch_wal_checkpoint_failures_total 1".to_string(),
        r#"modelwatch_notification_attempts_total{notifier="pager \"night\"\\2",outcome="given_up"} 1"#
            .to_string(),
        r#"modelwatch_job_attempts_started_total{backend="command"} 1"#.to_string(),
        r#"modelwatch_job_attempts_ended_total{outcome="timed_out"} 1"#.to_string(),
        r#"modelwatch_jobs{state="running"} 1"#.to_string(),
        r#"modelwatch_jobs{state="failed"} 3"#.to_string(),
        r#"modelwatch_jobs{state="queued"} 0"#.to_string(),
        "modelwatch_store_bytes 123456".to_string(),
        "modelwatch_series_omitted 1".to_string(),
        format!(r#"modelwatch_series_value{{{series},metric="latency_ms"}} NaN"#),
        format!(
            r#"modelwatch_alert_firing{{{series},metric="accuracy",rule="e-accuracy-low"}} 1"#
        ),
        format!(r#"modelwatch_alert_firing{{{series},metric="accuracy",rule="d-drift"}} 0"#),
        format!(
            r#"modelwatch_rule_state{{{series},metric="latency_ms",rule="l-high",state="pending"}} 1"#
        ),
    ] {
        assert!(samples.contains(&expected.as_str()), "{expected}\n{body}");
    }
    let value = samples
        .iter()
        .find_map(|line| {
            line.strip_prefix(&format!(
                r#"modelwatch_series_value{{{series},metric="accuracy"}} "#
            ))
        })
        .unwrap();
    assert_eq!(value.parse::<f64>().unwrap(), 0.61);
    let sum = samples
        .iter()
        .find_map(|line| line.strip_prefix("modelwatch_commit_duration_seconds_sum "))
        .unwrap();
    assert!((sum.parse::<f64>().unwrap() - 3.0007).abs() < 1e-9, "{sum}");
    // The third series is left out, and said to be.
    assert!(!body.contains("canary-1"), "{body}");
    assert!(
        body.contains("# modelwatch exports 2 series; 1 more left out by the cap"),
        "{body}"
    );
}
