//! Routes that store an input hold it to the rules the store's reader applies, so that every
//! stored input reads back at the next start: a bad retrain reason or job version is a 422
//! naming the request's field, and nothing is stored. A model never seen cannot be retrained.

use serde_json::{Value, json};

use super::{RETRAIN_CONFIG, Routes, accuracy, keep_everything};

/// The one problem of a 422: its field and message.
fn only_problem(answer: &super::Answer) -> (String, String) {
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert!(
        answer.body["error"]
            .as_str()
            .unwrap()
            .ends_with("nothing was stored"),
        "{}",
        answer.body
    );
    let errors = answer.body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{}", answer.body);
    (
        errors[0]["field"].as_str().unwrap().to_string(),
        errors[0]["message"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn a_retrain_reason_the_reader_would_refuse_is_a_422_naming_reason() {
    let dir = tempfile::tempdir().unwrap();
    let routes = Routes::start(dir.path(), RETRAIN_CONFIG, keep_everything()).await;
    routes
        .ingest(&[accuracy("fraud", "1", "2026-11-23T08:00:00Z", 0.95)])
        .await;
    let cases = [
        ("x".repeat(1_025), "1024 bytes"),
        ("first\nsecond".to_string(), "line breaks"),
        ("a\u{7}bell".to_string(), "control characters"),
        (String::new(), "1 to 1024 bytes"),
    ];
    for (reason, mention) in cases {
        let body = json!({ "reason": reason }).to_string();
        let answer = routes.post_json("/v1/models/fraud/retrain", &body).await;
        let (field, message) = only_problem(&answer);
        assert_eq!(field, "reason");
        assert!(message.contains(mention), "{message}");
    }
    // The name is held to the rules of a model name, and named as the path names it.
    let answer = routes.post_json("/v1/models/-fraud/retrain", "{}").await;
    assert_eq!(only_problem(&answer).0, "name");
    let decisions = routes.get("/v1/decisions").await;
    assert_eq!(decisions.body["items"], json!([]), "nothing was decided");
    // At the limit, with a tab: granted.
    let reason = format!("{}\t.", "y".repeat(1_022));
    let body = json!({ "reason": reason }).to_string();
    let answer = routes.post_json("/v1/models/fraud/retrain", &body).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    routes.stop().await;
}

#[tokio::test]
async fn a_retrain_body_may_be_empty_null_or_an_object() {
    let dir = tempfile::tempdir().unwrap();
    let routes = Routes::start(dir.path(), RETRAIN_CONFIG, keep_everything()).await;
    for model in ["a", "b", "c"] {
        routes
            .ingest(&[accuracy(model, "1", "2026-11-23T08:00:00Z", 0.95)])
            .await;
    }
    for (model, body) in [("a", ""), ("b", "null"), ("c", r#"{"reason": null}"#)] {
        let answer = routes
            .post_json(&format!("/v1/models/{model}/retrain"), body)
            .await;
        assert_eq!(answer.status, 202, "{body:?}: {}", answer.body);
    }
    // Not JSON is a 400; JSON of another shape a 422.
    let answer = routes.post_json("/v1/models/a/retrain", "{oops").await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.body["parameter"], "body");
    for body in ["[]", "\"why\"", r#"{"why": "because"}"#] {
        let answer = routes.post_json("/v1/models/a/retrain", body).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.body);
    }
    routes.stop().await;
}

#[tokio::test]
async fn a_manual_retrain_of_a_model_never_seen_is_a_404() {
    let dir = tempfile::tempdir().unwrap();
    let routes = Routes::start(dir.path(), RETRAIN_CONFIG, keep_everything()).await;
    let answer = routes.post_json("/v1/models/ghost/retrain", "{}").await;
    assert_eq!(answer.status, 404, "{}", answer.body);
    assert!(
        answer.body["error"].as_str().unwrap().contains("ghost"),
        "{}",
        answer.body
    );
    assert_eq!(routes.get("/v1/decisions").await.body["items"], json!([]));
    // Once an event has named it, it is known.
    routes
        .ingest(&[accuracy("ghost", "1", "2026-11-23T08:00:00Z", 0.95)])
        .await;
    let answer = routes.post_json("/v1/models/ghost/retrain", "{}").await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    routes.stop().await;
}

#[tokio::test]
async fn a_job_report_whose_version_the_reader_would_refuse_is_a_422_naming_version() {
    let dir = tempfile::tempdir().unwrap();
    let routes = Routes::start(dir.path(), RETRAIN_CONFIG, keep_everything()).await;
    routes
        .ingest(&[
            accuracy("fraud", "1", "2026-11-23T08:00:00Z", 0.95),
            accuracy("fraud", "1", "2026-11-23T08:01:00Z", 0.5),
        ])
        .await;
    // No trainer: an external job, waiting for its report.
    let jobs = routes.get("/v1/jobs").await;
    let id = jobs.body["items"][0]["id"].as_str().unwrap().to_string();
    let cases = [
        ("1.5\n0", "contains"),
        ("", "is empty"),
        ("-1", "must start with a letter or digit"),
    ];
    let long = "v".repeat(129);
    for (version, mention) in cases
        .into_iter()
        .chain([(long.as_str(), "the limit is 128")])
    {
        let body = json!({"status": "succeeded", "version": version}).to_string();
        let answer = routes
            .post_json(&format!("/v1/jobs/{id}/complete"), &body)
            .await;
        let (field, message) = only_problem(&answer);
        assert_eq!(field, "version");
        assert!(message.contains(mention), "{message}");
    }
    let job: Value = routes.get(&format!("/v1/jobs/{id}")).await.body;
    assert!(
        job["state"] == "queued" || job["state"] == "running",
        "{job}"
    );
    let answer = routes
        .post_json("/v1/jobs/nope/complete", r#"{"status": "failed"}"#)
        .await;
    assert_eq!(answer.status, 404, "{}", answer.body);
    routes.stop().await;
}

#[tokio::test]
async fn a_manual_retrain_of_a_model_without_trainer_is_recorded_as_recommended_with_200() {
    let dir = tempfile::tempdir().unwrap();
    let config = RETRAIN_CONFIG.replace("[[trainers]]\nkind = \"external\"\n", "");
    assert!(!config.contains("trainers"));
    let routes = Routes::start(dir.path(), &config, keep_everything()).await;
    routes
        .ingest(&[accuracy("fraud", "1", "2026-11-23T08:00:00Z", 0.95)])
        .await;
    let answer = routes.post_json("/v1/models/fraud/retrain", "{}").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["decision"], "recommended", "{}", answer.body);
    assert_eq!(answer.body["reason"], "manual", "{}", answer.body);
    assert!(answer.body.get("job_id").is_none(), "{}", answer.body);
    assert_eq!(routes.get("/v1/jobs").await.body["items"], json!([]));
    routes.stop().await;
}

/// `POST /v1/events` with an `Idempotency-Key` header.
async fn ingest_keyed(routes: &Routes, key: &str, body: &str) -> super::Answer {
    use axum::body::{Body, to_bytes};
    use tower::ServiceExt;
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/events")
        .header("content-type", "application/x-ndjson")
        .header("idempotency-key", key)
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = routes.router().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    super::Answer {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text: String::from_utf8_lossy(&bytes).into_owned(),
        retry_after: None,
    }
}

#[tokio::test]
async fn an_idempotency_key_is_checked_and_a_bad_one_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let routes = Routes::start(dir.path(), "", keep_everything()).await;
    let event = accuracy("fraud", "1", "2026-11-23T08:00:00Z", 0.95).to_string();
    let accepted = ingest_keyed(&routes, "client-7-batch-1", &event).await;
    assert_eq!(accepted.status, 202, "{}", accepted.text);
    for bad in ["", "has space", &"k".repeat(201)] {
        let refused = ingest_keyed(&routes, bad, &event).await;
        assert_eq!(refused.status, 400, "{bad:?}: {}", refused.text);
        assert!(refused.text.contains("Idempotency-Key"), "{}", refused.text);
    }
    let stored = routes.get("/v1/series?model=fraud&metric=accuracy").await;
    assert_eq!(
        stored.body["points"].as_array().map(Vec::len),
        Some(1),
        "{}",
        stored.text
    );
    routes.stop().await;
}
