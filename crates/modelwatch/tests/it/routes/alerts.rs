//! `GET /v1/alerts/{id}`: one alert's transitions, newest first; where notifications link.

use serde_json::Value;

use super::{Routes, accuracy, keep_everything};

const CONFIG: &str = r#"
[[rules]]
name = "acc-low"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }
"#;

#[tokio::test]
async fn an_alert_is_found_by_its_id_with_its_transitions_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let routes = Routes::start(dir.path(), CONFIG, keep_everything()).await;
    routes
        .ingest(&[
            accuracy("m", "1", "2026-11-23T08:00:00Z", 0.95),
            accuracy("m", "1", "2026-11-23T08:01:00Z", 0.5),
            accuracy("m", "1", "2026-11-23T08:02:00Z", 0.95),
            accuracy("other", "1", "2026-11-23T08:03:00Z", 0.5),
        ])
        .await;
    let all = routes.get("/v1/alerts?model=m").await;
    let id = all.body["items"][0]["alert_id"]
        .as_str()
        .unwrap()
        .to_string();
    let answer = routes.get(&format!("/v1/alerts/{id}")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let items = answer.body["items"].as_array().unwrap();
    let states: Vec<&str> = items
        .iter()
        .map(|item| item["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["resolved", "firing"], "{}", answer.body);
    assert!(items.iter().all(|item| item["alert_id"] == id.as_str()));
    assert_eq!(
        answer.body["items"], all.body["items"],
        "m has this one alert"
    );
    // Pages, as every listing.
    let first = routes.get(&format!("/v1/alerts/{id}?limit=1")).await;
    assert_eq!(first.body["items"][0]["state"], "resolved");
    let next = first.body["next"].as_i64().unwrap();
    let second = routes
        .get(&format!("/v1/alerts/{id}?limit=1&after={next}"))
        .await;
    assert_eq!(second.body["items"][0]["state"], "firing");
    assert_eq!(second.body["next"], Value::Null);
    // Unknown: 404; a bad parameter: 400.
    let unknown = routes.get("/v1/alerts/0123456789abcdef").await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let bad = routes.get(&format!("/v1/alerts/{id}?state=firing")).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.body["parameter"], "state");
    routes.stop().await;
}
