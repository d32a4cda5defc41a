//! Drift references over HTTP: `PUT /v1/models/{name}/reference` (CSV or JSON Lines) is stored
//! as an input and answered with what is in force; predictions are then compared with it
//! (`drift.<column>` series); `GET` shows the source, rows and typed columns, and survives a
//! restart; bad bodies are refused with their line and column, nothing half-applied; only the
//! admin scope may upload.

use axum::body::Body;
use axum::http::{Request, header};
use modelwatch::ServiceOptions;
use modelwatch::server::auth::{Auth, Scope, Token};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{Routes, keep_everything};

const CONFIG: &str = r#"
[[models]]
name = "fraud"
task = "binary"
positive = "fraud"
reference = { first = 20 }
drift_window = 10

[[models]]
name = "price"
task = "regression"
"#;

fn prediction(n: u32, age: f64) -> Value {
    let country = ["DE", "FR"][(n % 2) as usize];
    json!({
        "model": {"name": "fraud", "version": "1", "instance": "default"},
        "timestamp": format!("2026-11-23T10:{:02}:{:02}Z", n / 60, n % 60),
        "prediction": {"id": format!("p{n}"), "output": if n.is_multiple_of(2) { "fraud" } else { "ok" },
                       "features": {"age": age, "country": country}}
    })
}

/// A CSV reference whose ages are 20..60, countries DE and FR.
fn csv_reference(rows: u32) -> String {
    let mut text = "age,country,prediction\n".to_string();
    for n in 0..rows {
        let country = ["DE", "FR"][(n % 2) as usize];
        let output = if n.is_multiple_of(2) { "fraud" } else { "ok" };
        text.push_str(&format!("{},{country},{output}\n", 20 + n % 40));
    }
    text
}

#[tokio::test]
async fn an_uploaded_reference_is_in_force_compared_with_and_kept_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let routes = Routes::start(dir.path(), CONFIG, keep_everything()).await;
    let before = routes.get("/v1/models/fraud/reference").await;
    assert_eq!(before.status, 200, "{}", before.text);
    assert_eq!(
        before.body["source"],
        json!({"kind": "first", "seq": null, "at": null, "path": null, "first": 20})
    );
    assert_eq!(before.body["versions"], json!([]));
    let put = routes
        .send(
            "PUT",
            "/v1/models/fraud/reference",
            "text/csv",
            &csv_reference(40),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.body["source"]["kind"], "upload");
    assert_eq!(put.body["source"]["seq"], 1);
    assert_eq!(put.body["source"]["at"], "2026-11-23T12:00:00Z");
    assert_eq!(put.body["rows"], 40);
    assert_eq!(
        put.body["columns"],
        json!([
            {"name": "age", "type": "numerical"},
            {"name": "country", "type": "categorical"},
            {"name": "prediction", "type": "categorical"}
        ])
    );
    // Ages far above the reference's: age drifts from the first window of 10 on (no first-N
    // reference is collected while the upload is in force).
    let predictions: Vec<Value> = (0..20)
        .map(|n| prediction(n, 500.0 + f64::from(n)))
        .collect();
    routes.ingest(&predictions).await;
    let series = routes
        .get("/v1/series?model=fraud&version=1&instance=default&metric=drift.age")
        .await;
    assert_eq!(series.status, 200, "{}", series.text);
    let points = series.body["points"].as_array().unwrap();
    assert_eq!(points.len(), 2, "{}", series.body);
    assert!(
        points
            .iter()
            .all(|point| point["value"].as_f64().unwrap() < 0.05),
        "{}",
        series.body
    );
    let data = routes.stop().await;
    let routes = Routes::start(&data, CONFIG, keep_everything()).await;
    let after = routes.get("/v1/models/fraud/reference").await;
    assert_eq!(after.body, put.body);
    // JSON Lines replaces it, atomically.
    let put = routes
        .send(
            "PUT",
            "/v1/models/fraud/reference",
            "application/x-ndjson",
            "{\"age\": 1, \"country\": \"DE\"}\n{\"age\": null, \"country\": true}\n",
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.body["source"]["seq"], 22);
    assert_eq!(put.body["rows"], 2);
    routes.stop().await;
}

#[tokio::test]
async fn bad_bodies_are_refused_with_their_place_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let routes = Routes::start(dir.path(), CONFIG, keep_everything()).await;
    for (content_type, body, status, message) in [
        ("text/csv", "", 422, "body: the file is empty"),
        ("text/csv", "age,country\n", 422, "body: no data rows"),
        (
            "text/csv",
            "age,country\n1,DE\n2\n",
            422,
            "body: line 3: 1 field where the header has 2",
        ),
        (
            "text/csv",
            "age,age\n1,2\n",
            422,
            "body: line 1: column \"age\" appears twice",
        ),
        (
            "application/x-ndjson",
            "{\"a\": 1}\n{\"a\": [2]}\n",
            422,
            "body: line 2, column \"a\"",
        ),
        (
            "application/x-ndjson",
            "{}\n",
            422,
            "the first object has no field",
        ),
        ("application/json", "{}", 415, "text/csv"),
    ] {
        let answer = routes
            .send("PUT", "/v1/models/fraud/reference", content_type, body)
            .await;
        assert_eq!(answer.status, status, "{body:?}: {}", answer.text);
        let error = answer.body["error"].as_str().unwrap();
        assert!(error.contains(message), "{body:?}: {error}");
    }
    for model in ["price", "unknown"] {
        let answer = routes
            .send(
                "PUT",
                &format!("/v1/models/{model}/reference"),
                "text/csv",
                "a\n1\n",
            )
            .await;
        assert_eq!(answer.status, 404, "{}", answer.text);
        assert!(answer.text.contains("no drift settings"), "{}", answer.text);
        assert_eq!(
            routes
                .get(&format!("/v1/models/{model}/reference"))
                .await
                .status,
            404
        );
    }
    // Nothing was stored: the reference in force is still the first predictions.
    let answer = routes.get("/v1/models/fraud/reference").await;
    assert_eq!(answer.body["source"]["kind"], "first");
    // A reference is not an event: ingest refuses it.
    let answer = routes
        .send(
            "POST",
            "/v1/events",
            "application/json",
            r#"{"reference": {"model": "fraud", "columns": {"a": [1]}}}"#,
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.text);
    assert!(
        answer.text.contains("PUT /v1/models/{name}/reference"),
        "{}",
        answer.text
    );
    routes.stop().await;
}

#[tokio::test]
async fn only_the_admin_scope_uploads_and_the_read_scope_reads() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = vec![
        Token::new("reader", "read-token-value", &[Scope::Read]),
        Token::new("pusher", "ingest-token-value", &[Scope::Ingest]),
        Token::new("boss", "admin-token-value", &[Scope::Admin]),
    ];
    let options = ServiceOptions {
        auth: Auth::new(tokens).unwrap(),
        ..keep_everything()
    };
    let routes = Routes::start(dir.path(), CONFIG, options).await;
    let send = |method: &'static str, token: &'static str| {
        let router = routes.router();
        async move {
            let request = Request::builder()
                .method(method)
                .uri("/v1/models/fraud/reference")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "text/csv")
                .body(Body::from("age\n1\n"))
                .unwrap();
            router.oneshot(request).await.unwrap().status().as_u16()
        }
    };
    assert_eq!(send("PUT", "read-token-value").await, 403);
    assert_eq!(send("PUT", "ingest-token-value").await, 403);
    assert_eq!(send("GET", "ingest-token-value").await, 403);
    assert_eq!(send("GET", "read-token-value").await, 200);
    assert_eq!(send("PUT", "admin-token-value").await, 200);
    routes.stop().await;
}

/// GET and PUT say the type each column is compared as: the one `drift_categorical` or
/// `drift_numerical` declares, else the reference's own.
#[tokio::test(start_paused = true)]
async fn declared_column_types_are_the_types_shown() {
    let dir = tempfile::tempdir().unwrap();
    let config = CONFIG.replace(
        "drift_window = 10",
        "drift_window = 10\ndrift_categorical = [\"age\"]",
    );
    let routes = Routes::start(dir.path(), &config, keep_everything()).await;
    let put = routes
        .send(
            "PUT",
            "/v1/models/fraud/reference",
            "text/csv",
            &csv_reference(40),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(
        put.body["columns"][0],
        json!({"name": "age", "type": "categorical"})
    );
    let get = routes.get("/v1/models/fraud/reference").await;
    assert_eq!(get.body["columns"], put.body["columns"]);
}
