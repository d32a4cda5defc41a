//! Retention and snapshots in `modelwatch serve`, as a child process: old events are deleted
//! and counted, and the detectors carry on, across SIGKILL restarts, exactly as `replay` of
//! the whole stream says; a changed config after a deletion is said, not hidden.
//!
//! Time is driven by event time: the first part of the stream is dated 2020 (older than any
//! retention period), the rest 2100 (never old), so no test waits for anything to age. serve
//! refuses events older than its retention, so the old part is taken with retention off, and
//! a restart with retention deletes it. The pass that a start runs by itself and the one a
//! test asks for may come in either order: tests read what was deleted from the counters, which
//! add up both.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::serve_child::{Client, ServeChild, example_events, ids, replay};

/// The example's events, re-dated two minutes apart: those before `cut` from 2020-01-01, the
/// rest from 2100-01-01.
fn dated_events(cut: usize) -> Vec<String> {
    example_events()
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let mut event: Value = serde_json::from_str(line).unwrap();
            let (year, step) = if index < cut {
                (2020, index)
            } else {
                (2100, index - cut)
            };
            let minutes = step * 2;
            event["timestamp"] = Value::String(format!(
                "{year}-01-01T{:02}:{:02}:00Z",
                minutes / 60,
                minutes % 60
            ));
            event.to_string()
        })
        .collect()
}

/// The points these events store: one per metric, plus the derived `macro_score` of an event
/// with all four of accuracy, precision, recall and f1.
fn points_of(events: &[String]) -> u64 {
    events
        .iter()
        .map(|line| {
            let event: Value = serde_json::from_str(line).unwrap();
            let metrics = event["metrics"].as_object().unwrap();
            let derived = ["accuracy", "precision", "recall", "f1"]
                .iter()
                .all(|name| metrics.contains_key(*name));
            metrics.len() as u64 + u64::from(derived)
        })
        .sum()
}

fn serve(data: &Path, args: &[&str]) -> ServeChild {
    ServeChild::start(data, |command| {
        command.args(args);
    })
}

#[test]
fn deleting_old_events_is_counted_and_never_changes_what_the_detectors_do() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Cut the stream between an alert firing and its resolution, as the restart test does.
    let (alerts, _) = replay(dir.path(), &example_events());
    let resolved = alerts.iter().find(|a| a["state"] == "resolved").unwrap();
    let cut = resolved["seq"].as_u64().unwrap() as usize - 2;
    let events = dated_events(cut);
    let (alerts, decisions) = replay(dir.path(), &events);
    let alert_id = resolved["alert_id"].as_str().unwrap();
    assert!(
        alerts
            .iter()
            .any(|a| a["alert_id"] == alert_id && a["state"] == "resolved"),
        "re-dating keeps the alert that resolves after the cut"
    );
    let args = ["--retention", "30d", "--snapshot-every", "1000000"];

    let process = serve(
        &data,
        &["--retention", "off", "--snapshot-every", "1000000"],
    );
    let client = Client::of(&process);
    client.ingest(&events[..cut]);
    let series = "/v1/series?model=fraud-detector&version=1.4.0&instance=default&metric=accuracy";
    let (_, before) = client.get(series);
    assert!(before.contains("2020-01-01T00:00:00Z"), "{before}");
    process.stop();

    let process = serve(&data, &args);
    let client = Client::of(&process);
    let (status, report) = client.post("/v1/admin/retention", "application/json", "");
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["snapshot_seq"], cut as u64, "{report}");
    // No notifier is configured: no notification to delete.
    assert_eq!(report["deliveries_deleted"], 0, "{report}");
    let deleted_inputs = "modelwatch_retention_deleted_total{table=\"inputs\"}";
    let deleted_points = "modelwatch_retention_deleted_total{table=\"points\"}";
    assert_eq!(client.metric(deleted_inputs), cut as f64);
    assert_eq!(
        client.metric(deleted_points),
        points_of(&events[..cut]) as f64
    );
    assert_eq!(client.metric("modelwatch_snapshot_seq"), cut as f64);
    let (status, after) = client.get(series);
    assert_eq!(status, 200, "{after}");
    assert!(!after.contains("2020-"), "old points are gone: {after}");
    // A second pass finds nothing more.
    let (_, again) = client.post("/v1/admin/retention", "application/json", "");
    assert_eq!(
        (&again["inputs_deleted"], &again["points_deleted"]),
        (&0.into(), &0.into())
    );
    // Alerts and decisions are the record: retention keeps them.
    let firing_before = client.all("alerts");
    assert!(firing_before.iter().any(|a| a["alert_id"] == alert_id));
    process.kill();

    // Killed without a clean stop: recovery restores the pass's snapshot, with nothing to
    // replay, and the totals survive.
    let process = serve(&data, &args);
    assert_eq!((process.replayed, process.restored), (0, Some(cut as u64)));
    let client = Client::of(&process);
    assert_eq!(client.metric(deleted_inputs), cut as f64);
    assert_eq!(
        client.metric(deleted_points),
        points_of(&events[..cut]) as f64
    );
    let half = cut + (events.len() - cut) / 2;
    client.ingest(&events[cut..half]);
    process.kill();

    // Killed again: the snapshot is still the pass's, and the inputs after it are replayed.
    let process = serve(&data, &args);
    assert_eq!(
        (process.replayed, process.restored),
        ((half - cut) as u64, Some(cut as u64))
    );
    let client = Client::of(&process);
    client.ingest(&events[half..]);
    // Everything stored equals replay of the whole stream, deleted inputs and all.
    assert_eq!(ids(&client.all("alerts")), ids(&alerts));
    assert_eq!(client.all("alerts"), alerts);
    assert_eq!(client.all("decisions"), decisions);
    let rest = process.stop();
    assert!(rest.contains("stopped"), "{rest}");

    // A clean stop saved a snapshot at the last input.
    let process = serve(&data, &args);
    assert_eq!(
        (process.replayed, process.restored),
        (0, Some(events.len() as u64))
    );
    process.stop();
}

#[test]
fn a_changed_config_after_deletion_rebuilds_from_the_inputs_left_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cut = 40;
    let events = dated_events(cut);
    let process = serve(&data, &["--retention", "off"]);
    Client::of(&process).ingest(&events);
    process.stop();
    let process = serve(&data, &["--retention", "30d"]);
    let client = Client::of(&process);
    let (status, report) = client.post("/v1/admin/retention", "application/json", "");
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        client.metric("modelwatch_retention_deleted_total{table=\"inputs\"}"),
        cut as f64
    );
    process.stop();

    // The same rules in another text: another digest, so the snapshot is not used.
    let config = dir.path().join("modelwatch.toml");
    let text = std::fs::read_to_string(crate::repo_root().join("config/default.toml")).unwrap();
    std::fs::write(&config, format!("# edited\n{text}")).unwrap();
    let process = serve(&data, &["--config", config.to_str().unwrap()]);
    assert!(
        process.banner.contains(&format!(
            "note: the config differs from the one of the snapshot at input {}; retention \
             deleted inputs 1 to {cut}, so the detector state is rebuilt from the inputs after \
             them",
            events.len()
        )),
        "{}",
        process.banner
    );
    assert_eq!(
        (process.replayed, process.restored),
        ((events.len() - cut) as u64, None)
    );
    process.stop();
    // The rebuilt state was saved: the next start under this config restores it.
    let process = serve(&data, &["--config", config.to_str().unwrap()]);
    assert_eq!(
        (process.replayed, process.restored),
        (0, Some(events.len() as u64))
    );
    process.stop();
}

#[test]
fn with_retention_off_nothing_is_deleted_and_the_admin_route_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let process = serve(&dir.path().join("data"), &["--retention", "off"]);
    let client = Client::of(&process);
    client.ingest(&dated_events(50));
    let (status, body) = client.post("/v1/admin/retention", "application/json", "");
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("retention is off"),
        "{body}"
    );
    assert_eq!(
        client.metric("modelwatch_retention_deleted_total{table=\"inputs\"}"),
        0.0
    );
    process.stop();
}

#[test]
fn bad_retention_flags_are_refused_with_the_value_named() {
    let output = Command::new(env!("CARGO_BIN_EXE_modelwatch"))
        .args(["serve", "--retention", "30 days"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("\"30 days\" is not a duration"), "{stderr}");
    let output = Command::new(env!("CARGO_BIN_EXE_modelwatch"))
        .args(["serve", "--snapshot-every", "0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("--snapshot-every"), "{stderr}");
}
