//! How the answer of a webhook or an http trainer is recorded, against real receivers on
//! loopback: a redirect is a failed attempt and is never followed (the signature headers go
//! nowhere else), and what the target says in its body is never kept: `last_error` and a job's
//! errors hold the status and a reason of our own.

use std::sync::Arc;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Harness, Target, accuracy};
use crate::clock::SystemClock;
use crate::effects::Effects;
use crate::effects::http::{IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// What a careless target puts in an error page.
const SECRET_BODY: &str = "Traceback: db password=hunter2 api_key=sk-live-0123456789";

/// Two accuracy events of model `fraud`: the second fires `acc-low`.
fn firing() -> Vec<String> {
    vec![accuracy(0, 0.95), accuracy(1, 0.5)]
}

/// A signed webhook `hook` to `url`, given up after its first failed attempt.
fn webhook(url: &str, secret_file: &std::path::Path) -> String {
    format!(
        r#"
[[notifiers]]
name = "hook"
kind = "webhook"
url = "{url}/hook"
secret_file = "{}"
retry_for_secs = 0

[[rules]]
name = "acc-low"
metric = "accuracy"
detector = {{ kind = "threshold", below = 0.9 }}
notify = ["hook"]
"#,
        secret_file.display()
    )
}

/// An http trainer at `url` with one attempt.
fn http_trainer(url: &str) -> String {
    format!(
        r#"
[[rules]]
name = "acc-low"
metric = "accuracy"
detector = {{ kind = "threshold", below = 0.9 }}
actions = ["retrain"]

[[trainers]]
kind = "http"
url = "{url}/dags/retrain/dagRuns"
max_attempts = 1
"#
    )
}

fn secret_file(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("hook.secret");
    std::fs::write(&path, "s3cret\n").unwrap();
    path
}

fn redirect_to(location: String) -> impl Fn(&super::Seen) -> Response + Clone {
    move |_| (StatusCode::FOUND, [(header::LOCATION, location.clone())]).into_response()
}

fn failing(_: &super::Seen) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/plain")],
        SECRET_BODY,
    )
        .into_response()
}

async fn start(config: &str) -> Harness {
    Harness::start(config, Arc::new(SystemClock), |config| {
        Effects::prepare(config).unwrap()
    })
    .await
}

#[tokio::test]
async fn a_webhook_that_redirects_is_given_up_and_the_redirect_is_not_followed() {
    let mut elsewhere = Target::start(|_| StatusCode::OK.into_response()).await;
    let mut target = Target::start(redirect_to(format!("{}/collect", elsewhere.url))).await;
    let secrets = tempfile::tempdir().unwrap();
    let harness = start(&webhook(&target.url, &secret_file(&secrets))).await;
    harness.ingest(&firing()).await;
    let deliveries = tokio::select! {
        seen = elsewhere.next() => panic!("the redirect was followed: {seen:?}"),
        deliveries = harness.settled_deliveries() => deliveries,
    };
    let sent = target.next().await;
    assert_eq!(sent.method, "POST");
    assert!(sent.headers.contains_key(SIGNATURE_HEADER));
    assert!(sent.headers.contains_key(TIMESTAMP_HEADER));
    assert!(sent.headers.contains_key(IDEMPOTENCY_HEADER));
    let [delivery] = deliveries.as_slice() else {
        panic!("{deliveries:?}");
    };
    let body: serde_json::Value = serde_json::from_str(&sent.body).unwrap();
    assert_eq!(body["id"], delivery.id);
    assert_eq!(delivery.state.as_str(), "given_up", "{delivery:?}");
    assert_eq!(delivery.attempts, 1, "a redirect is not retried");
    assert_eq!(
        delivery.last_error.as_deref(),
        Some("the target redirected (302 Found) to a location that is not followed")
    );
    assert!(elsewhere.is_quiet(), "the redirect's target was reached");
    assert!(target.is_quiet(), "a redirect is not retried");
    harness.stop().await;
}

#[tokio::test]
async fn an_http_trainer_that_redirects_fails_its_attempt_and_is_not_followed() {
    let mut elsewhere = Target::start(|_| StatusCode::OK.into_response()).await;
    let mut target = Target::start(redirect_to(format!("{}/collect", elsewhere.url))).await;
    let harness = start(&http_trainer(&target.url)).await;
    harness.ingest(&firing()).await;
    let (job, attempts) = tokio::select! {
        seen = elsewhere.next() => panic!("the redirect was followed: {seen:?}"),
        job = harness.finished_job() => job,
    };
    assert_eq!(target.next().await.path, "/dags/retrain/dagRuns");
    assert_eq!(job.state.as_str(), "failed", "{job:?}");
    let errors: Vec<Option<&str>> = attempts
        .iter()
        .map(|attempt| attempt.error.as_deref())
        .collect();
    assert_eq!(
        errors,
        [Some(
            "POST to the trainer's URL: the target redirected (302 Found) to a location that \
             is not followed"
        )]
    );
    assert!(elsewhere.is_quiet(), "the redirect's target was reached");
    harness.stop().await;
}

#[tokio::test]
async fn a_webhooks_error_page_is_not_kept_only_its_status() {
    let mut target = Target::start(failing).await;
    let secrets = tempfile::tempdir().unwrap();
    let harness = start(&webhook(&target.url, &secret_file(&secrets))).await;
    harness.ingest(&firing()).await;
    let deliveries = harness.settled_deliveries().await;
    target.next().await;
    let [delivery] = deliveries.as_slice() else {
        panic!("{deliveries:?}");
    };
    assert_eq!(delivery.state.as_str(), "given_up", "{delivery:?}");
    assert_eq!(
        delivery.last_error.as_deref(),
        Some("the target answered 500 Internal Server Error (given up after 0 s of retries)")
    );
    assert!(!format!("{delivery:?}").contains("hunter2"));
    harness.stop().await;
}

#[tokio::test]
async fn an_http_trainers_error_page_is_not_kept_only_its_status() {
    let mut target = Target::start(failing).await;
    let harness = start(&http_trainer(&target.url)).await;
    harness.ingest(&firing()).await;
    let (job, attempts) = harness.finished_job().await;
    target.next().await;
    assert_eq!(job.state.as_str(), "failed", "{job:?}");
    let expected = "POST to the trainer's URL: the target answered 500 Internal Server Error";
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].error.as_deref(), Some(expected));
    assert_eq!(job.error.as_deref(), Some(expected));
    assert!(!format!("{job:?} {attempts:?}").contains("hunter2"));
    harness.stop().await;
}

#[tokio::test]
async fn a_webhook_nobody_listens_on_records_the_refused_connection() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let secrets = tempfile::tempdir().unwrap();
    let harness = start(&webhook(&url, &secret_file(&secrets))).await;
    harness.ingest(&firing()).await;
    let deliveries = harness.settled_deliveries().await;
    assert_eq!(
        deliveries[0].last_error.as_deref(),
        Some("cannot connect: connection refused (given up after 0 s of retries)")
    );
    harness.stop().await;
}
