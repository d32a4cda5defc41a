//! A failed canary runs the rollback job and marks the version rolled back.

use super::*;

#[test]
fn a_failed_canary_runs_the_rollback_and_marks_the_version_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("rolled-back");
    let config = format!(
        r#"
[[rules]]
name = "fraud-canary"
model = "fraud"
metric = "accuracy"
canary = {{ candidate = {{ instance = "canary-*" }}, baseline = {{ instance = "stable-*" }}, window = 40, min_samples = 20, every = 5 }}
severity = "critical"
actions = ["rollback"]

[[rollbacks]]
kind = "command"
command = ["sh", "-c", "echo \"$MODELWATCH_MODEL $MODELWATCH_VERSION $MODELWATCH_INSTANCE\" > {}"]
"#,
        marker.display()
    );
    let serve = serve_with(dir.path(), &config, &[]);
    let client = Client::of(&serve);
    // The baseline (1.0 on stable-0) holds about 0.95; the candidate (2.0 on canary-0) about 0.80.
    let mut events = Vec::new();
    for i in 0..40u32 {
        let wiggle = f64::from(i % 7) * 0.002;
        for (version, instance, level) in [("1.0", "stable-0", 0.95), ("2.0", "canary-0", 0.80)] {
            events.push(
                json!({
                    "model": {"name": "fraud", "version": version, "instance": instance},
                    "timestamp": format!("2026-11-23T09:{:02}:{:02}Z", i / 60, i % 60),
                    "metric": "accuracy",
                    "value": level + wiggle,
                })
                .to_string(),
            );
        }
    }
    client.ingest(&events);
    let jobs = client.all("jobs?kind=rollback");
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let id = jobs[0]["id"].as_str().unwrap();
    let job = get_json(&client, &format!("/v1/jobs/{id}?wait=60"));
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["reason"], "canary_failed");
    assert_eq!(job["version"], "2.0");
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap().trim(),
        "fraud 2.0 canary-0"
    );
    let versions = get_json(&client, "/v1/models/fraud/versions");
    let statuses: Vec<(&str, &str)> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap(),
                v["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(statuses, [("1.0", "production"), ("2.0", "rolled_back")]);
    let audit = client.all("audit?model=fraud");
    assert!(
        audit
            .iter()
            .any(|event| event["actor"] == "canary" && event["action"] == "version_rolled_back"),
        "{audit:?}"
    );
    serve.stop();
}
