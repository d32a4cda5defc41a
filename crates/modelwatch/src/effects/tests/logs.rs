//! What the effects log for an operator, with the ids to look things up by: a notification's
//! failed attempts (warn), giving up (error) and delivery (debug); a job's attempts starting
//! with their backend, ending with their outcome, the job retried (warn) and ended. Never a
//! secret: the webhook's signing key and a trainer's bearer token are in no line.

use std::sync::Arc;
use std::time::Duration;

use modelwatch_engine::{JobStatus, Timestamp};
use serde_json::{Value, json};

use super::switchboard::start;
use super::{Logs, accuracy};
use crate::clock::TokioClock;
use crate::effects::JobReport;
use crate::effects::http::{IDEMPOTENCY_HEADER, backoff};

const SIGNING_KEY: &str = "whsec-do-not-log-0123456789";
const BEARER: &str = "tok-do-not-log-9876543210";

fn clock() -> Arc<TokioClock> {
    Arc::new(TokioClock::new(
        Timestamp::parse_rfc3339("2026-11-23T09:00:00Z").unwrap(),
    ))
}

/// Waits until every task waits on a timer or on nothing: on a paused clock, time cannot move
/// before, since work under way (a commit, a read) holds it still. So an effect that logs once
/// its commit returns has logged by then.
async fn quiet() {
    tokio::time::sleep_until(tokio::time::Instant::now() + Duration::from_millis(1)).await;
}

/// `events` with only `keys` of each one's fields, and the level.
fn only(events: Vec<(String, Value)>, keys: &[&str]) -> Vec<Value> {
    events
        .into_iter()
        .map(|(level, fields)| {
            let mut picked = serde_json::Map::new();
            picked.insert("level".to_string(), Value::String(level));
            for key in keys {
                picked.insert(key.to_string(), fields[*key].clone());
            }
            Value::Object(picked)
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_notifications_failed_attempts_giving_up_and_delivery_are_logged_with_ids() {
    let logs = Logs::capture();
    let secrets = tempfile::tempdir().unwrap();
    let key_file = secrets.path().join("hook.secret");
    std::fs::write(&key_file, SIGNING_KEY).unwrap();
    let config = format!(
        r#"
[[notifiers]]
name = "hook"
kind = "webhook"
url = "http://hook.test/alerts"
secret_file = "{}"
retry_initial_ms = 1000
retry_max_secs = 8
retry_for_secs = 2

[[rules]]
name = "acc-low"
metric = "accuracy"
detector = {{ kind = "threshold", below = 0.9 }}
notify = ["hook"]
"#,
        key_file.display()
    );
    let (harness, mut switchboard) = start(&config, clock()).await;
    harness
        .ingest(&[accuracy(0, 0.95), accuracy(1, 0.5), accuracy(2, 0.97)])
        .await;
    // The first notification fails until it is given up (2 s), the second is delivered.
    let first = switchboard.next().await;
    let first_id = first.header(IDEMPOTENCY_HEADER).unwrap().to_string();
    first.answer(500);
    let second_id = loop {
        let call = switchboard.next().await;
        let id = call.header(IDEMPOTENCY_HEADER).unwrap().to_string();
        if id == first_id {
            call.answer(500);
        } else {
            call.answer(204);
            break id;
        }
    };
    let deliveries = harness.settled_deliveries().await;
    let attempts = deliveries[0].attempts;
    assert!(attempts >= 2, "{deliveries:?}");
    quiet().await;

    let retried = only(
        logs.events("A notification's attempt failed; it is tried again."),
        &["notifier", "delivery", "attempt", "reason", "retry_in_ms"],
    );
    let expected: Vec<Value> = (1..attempts)
        .map(|attempt| {
            let wait = backoff(
                Duration::from_secs(1),
                Duration::from_secs(8),
                attempt,
                &first_id,
            );
            json!({"level": "WARN", "notifier": "hook", "delivery": first_id,
                   "attempt": attempt, "reason": "the target answered 500 Internal Server Error",
                   "retry_in_ms": wait.as_millis()})
        })
        .collect();
    assert_eq!(retried, expected);
    assert_eq!(
        only(
            logs.events("Gave up a notification."),
            &["notifier", "delivery", "attempt", "reason"]
        ),
        [
            json!({"level": "ERROR", "notifier": "hook", "delivery": first_id,
                "attempt": attempts,
                "reason": "the target answered 500 Internal Server Error (given up after 2 s \
                           of retries)"})
        ]
    );
    assert_eq!(
        only(
            logs.events("Delivered a notification."),
            &["notifier", "delivery", "attempt"]
        ),
        [json!({"level": "DEBUG", "notifier": "hook", "delivery": second_id, "attempt": 1})]
    );
    assert!(!logs.text().contains(SIGNING_KEY), "{}", logs.text());
    harness.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_jobs_attempts_retry_and_end_are_logged_with_ids_and_never_its_token() {
    let logs = Logs::capture();
    let secrets = tempfile::tempdir().unwrap();
    let token_file = secrets.path().join("airflow.token");
    std::fs::write(&token_file, BEARER).unwrap();
    let config = format!(
        r#"
[[rules]]
name = "acc-low"
metric = "accuracy"
detector = {{ kind = "threshold", below = 0.9 }}
actions = ["retrain"]

[[trainers]]
kind = "http"
url = "http://airflow.test/api/v1/dags/retrain/dagRuns"
secret_file = "{}"
timeout_secs = 60
max_attempts = 2
retry_delay_secs = 10
"#,
        token_file.display()
    );
    let (harness, mut switchboard) = start(&config, clock()).await;
    harness.ingest(&[accuracy(0, 0.95), accuracy(1, 0.5)]).await;
    // Attempt 1 is accepted and never completed: it times out, and the job is retried.
    let first = switchboard.next().await;
    assert_eq!(
        first.header("authorization"),
        Some(format!("Bearer {BEARER}").as_str())
    );
    let job = first.header(IDEMPOTENCY_HEADER).unwrap().to_string();
    first.answer(200);
    // Attempt 2 is accepted and completed with a version.
    switchboard.next().await.answer(200);
    let report = JobReport {
        status: JobStatus::Succeeded,
        version: Some("2".to_string()),
        result: None,
        error: None,
    };
    harness
        .jobs()
        .complete(job.clone(), report, "trainer".to_string())
        .await
        .unwrap();
    let (finished, _) = harness.finished_job().await;
    assert_eq!(finished.state.as_str(), "succeeded");
    quiet().await;

    assert_eq!(
        only(
            logs.events("Started a job's attempt."),
            &["job", "kind", "model", "attempt", "backend"]
        ),
        [1, 2].map(
            |attempt| json!({"level": "INFO", "job": job, "kind": "retrain",
                                  "model": "fraud", "attempt": attempt, "backend": "http"})
        )
    );
    assert_eq!(
        only(
            logs.events("A job's attempt ended."),
            &["job", "attempt", "outcome", "reason", "version"]
        ),
        [
            json!({"level": "INFO", "job": job, "attempt": 1, "outcome": "timed_out",
                   "reason": "no completion came before the job's time limit", "version": ""}),
            json!({"level": "INFO", "job": job, "attempt": 2, "outcome": "succeeded",
                   "reason": "", "version": "2"}),
        ]
    );
    assert_eq!(
        only(
            logs.events("A job is tried again."),
            &["job", "attempt", "max_attempts", "retry_in_secs"]
        ),
        [
            json!({"level": "WARN", "job": job, "attempt": 2, "max_attempts": 2,
                "retry_in_secs": 10})
        ]
    );
    assert_eq!(
        only(logs.events("A job ended."), &["job", "kind", "state"]),
        [json!({"level": "INFO", "job": job, "kind": "retrain", "state": "succeeded"})]
    );
    assert!(!logs.text().contains(BEARER), "{}", logs.text());
    harness.stop().await;
}
