//! Scenario tests of muting: the alerts of a model with a running job, and the series of a
//! new version after a job succeeds.

use super::*;

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
