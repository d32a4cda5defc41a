//! Predictions and labels over HTTP: accepted with metric events in one batch, refused with
//! located 422s when they do not fit the model's `[[models]]` entry, computed into quality
//! points that `/v1/series` reads and rules act on, and counted in `/v1/models/{name}` and
//! `/metrics`; after a restart (snapshot or not) the pending join goes on where it was.

use serde_json::{Value, json};

use super::{Routes, keep_everything};

const CONFIG: &str = r#"
[[models]]
name = "fraud*"
task = "binary"
positive = "fraud"
window = 4
label_horizon_secs = 86400

[[models]]
name = "price"
task = "regression"

[retrain]
cooldown_secs = 3600

[[trainers]]
kind = "external"

[[rules]]
name = "acc-low"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }
actions = ["retrain"]
"#;

fn prediction(id: &str, output: &str, score: f64, minute: u32) -> Value {
    json!({
        "model": {"name": "fraud", "version": "2.1.0", "instance": "canary-0"},
        "timestamp": format!("2026-11-23T10:{minute:02}:00Z"),
        "prediction": {"id": id, "output": output, "scores": {"fraud": score, "ok": 1.0 - score},
                       "features": {"age": 42, "country": "DE", "income": null}}
    })
}

fn label(id: &str, value: &str, minute: u32) -> Value {
    json!({
        "model": {"name": "fraud"},
        "timestamp": format!("2026-11-23T11:{minute:02}:00Z"),
        "label": {"id": id, "value": value}
    })
}

fn ndjson(values: &[Value]) -> String {
    values.iter().map(|value| format!("{value}\n")).collect()
}

#[tokio::test]
async fn labels_join_their_predictions_into_quality_points_that_rules_act_on() {
    let dir = tempfile::tempdir().unwrap();
    let routes = Routes::start(dir.path(), CONFIG, keep_everything()).await;
    // Predictions, a pushed metric and the first labels, mixed in one batch.
    let mut batch = vec![
        prediction("r1", "fraud", 0.9, 0),
        prediction("r2", "ok", 0.2, 1),
        prediction("r3", "fraud", 0.7, 2),
        prediction("r4", "ok", 0.4, 3),
        json!({"model": {"name": "fraud", "version": "2.1.0"}, "timestamp": "2026-11-23T10:05:00Z",
               "metrics": {"latency_ms": 12.0}}),
        label("r1", "fraud", 0),
        label("r2", "ok", 1),
    ];
    let answer = routes
        .send(
            "POST",
            "/v1/events",
            "application/x-ndjson",
            &ndjson(&batch),
        )
        .await;
    assert_eq!(
        (answer.status, &answer.body),
        (202, &json!({"accepted": 7}))
    );
    batch = vec![label("r3", "ok", 2), label("r4", "fraud", 3)];
    let answer = routes
        .send(
            "POST",
            "/v1/events",
            "application/json",
            &Value::Array(batch).to_string(),
        )
        .await;
    assert_eq!(answer.status, 202, "{}", answer.body);

    // Two of four right: accuracy 0.5, at the time of the label that completed the window.
    let series = routes.get("/v1/series?model=fraud&metric=accuracy").await;
    assert_eq!(series.status, 200, "{}", series.body);
    let points = series.body["points"].as_array().unwrap();
    assert_eq!(points.len(), 1, "{}", series.body);
    assert_eq!(points[0]["at"], "2026-11-23T11:03:00Z");
    assert_eq!(points[0]["instance"], "canary-0");
    assert_eq!(points[0]["value"], 0.5);
    let alerts = routes.get("/v1/alerts?state=firing").await;
    assert_eq!(
        alerts.body["items"][0]["rule"], "acc-low",
        "{}",
        alerts.body
    );
    assert_eq!(alerts.body["items"][0]["metric"], "accuracy");

    let model = routes.get("/v1/models/fraud").await;
    assert_eq!(model.status, 200, "{}", model.body);
    let traffic = &model.body["traffic"];
    assert_eq!(traffic["task"], "binary", "{}", model.body);
    assert_eq!(traffic["window"], 4);
    assert_eq!(traffic["drift"], false, "no reference: no drift settings");
    assert_eq!(traffic["predictions"], 4);
    assert_eq!(traffic["joined"], 4);
    assert_eq!(traffic["pending"], 0);
    assert_eq!(traffic["coverage"], 1.0);
    let metrics = routes.get("/metrics").await;
    assert!(
        metrics
            .text
            .contains(r#"modelwatch_labels_total{model="fraud",outcome="joined"} 4"#),
        "{}",
        metrics.text
    );
    assert!(
        metrics
            .text
            .contains(r#"modelwatch_predictions_pending{model="fraud"} 0"#),
        "{}",
        metrics.text
    );
    routes.stop().await;
}

#[tokio::test]
async fn traffic_that_does_not_fit_the_models_entry_is_refused_whole_and_located() {
    let dir = tempfile::tempdir().unwrap();
    let routes = Routes::start(dir.path(), CONFIG, keep_everything()).await;
    let long_id = "x".repeat(257);
    let cases = [
        (
            json!({"model": {"name": "other", "version": "1"}, "prediction": {"id": "a", "output": "x"}}),
            "model.name",
            "no [[models]] entry",
        ),
        (
            json!({"model": {"name": "price"}, "label": {"id": "a", "value": "high"}}),
            "label.value",
            "regression model's label is a number",
        ),
        (
            json!({"model": {"name": "fraud", "version": "1"}, "prediction": {"id": long_id, "output": "ok"}}),
            "prediction.id",
            "257 bytes",
        ),
        (
            json!({"model": {"name": "fraud", "version": "1"}, "prediction": {"id": "a", "output": "ok", "score": 1.5}}),
            "prediction.score",
            "[0, 1]",
        ),
        (
            json!({"model": {"name": "fraud", "version": "1"}, "prediction": {"id": "a", "output": "ok", "scores": {"fraud": 0.5, "ok": 0.6}}}),
            "prediction.scores",
            "sum to 1.1",
        ),
        (
            json!({"model": {"name": "fraud", "version": "1"}, "prediction": {"id": "a", "output": "ok", "scores": {"ok": 1.0}}}),
            "prediction.scores",
            "positive class",
        ),
    ];
    for (bad, field, says) in cases {
        // A good prediction first: the batch is refused whole.
        let body = ndjson(&[prediction("ok-1", "ok", 0.1, 0), bad]);
        let answer = routes
            .send("POST", "/v1/events", "application/x-ndjson", &body)
            .await;
        assert_eq!(answer.status, 422, "{}", answer.body);
        let error = &answer.body["errors"][0];
        assert_eq!(error["index"], 1, "{}", answer.body);
        assert_eq!(error["line"], 2, "{}", answer.body);
        assert_eq!(error["field"], field, "{}", answer.body);
        assert!(
            error["message"].as_str().unwrap().contains(says),
            "{}",
            answer.body
        );
    }
    let model = routes.get("/v1/models/fraud").await;
    assert_eq!(model.status, 404, "nothing was stored: {}", model.body);
    routes.stop().await;
}

#[tokio::test]
async fn the_pending_join_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let routes = Routes::start(dir.path(), CONFIG, keep_everything()).await;
    routes
        .ingest(&[
            prediction("r1", "fraud", 0.9, 0),
            prediction("r2", "ok", 0.2, 1),
            prediction("r3", "fraud", 0.7, 2),
            prediction("r4", "ok", 0.4, 3),
            label("r1", "fraud", 0),
        ])
        .await;
    let data = routes.stop().await;
    let routes = Routes::start(&data, CONFIG, keep_everything()).await;
    let model = routes.get("/v1/models/fraud").await;
    assert_eq!(model.body["traffic"]["pending"], 3, "{}", model.body);
    routes
        .ingest(&[
            label("r2", "ok", 1),
            label("r3", "fraud", 2),
            label("r4", "ok", 3),
        ])
        .await;
    let series = routes.get("/v1/series?model=fraud&metric=accuracy").await;
    assert_eq!(series.body["points"][0]["value"], 1.0, "{}", series.body);
    let model = routes.get("/v1/models/fraud").await;
    assert_eq!(model.body["traffic"]["joined"], 4, "{}", model.body);
    routes.stop().await;
}
