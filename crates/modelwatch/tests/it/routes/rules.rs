//! `GET /v1/models/{name}/rules`: the config's rules whose model glob takes the name, in the
//! config's order, with the bound of the level detectors; a 404 for a model no event has
//! named; no query parameter is taken.

use serde_json::{Value, json};

use super::{Routes, keep_everything};

const CONFIG: &str = r#"
[[rules]]
name = "conversion-drop"
description = "conversion rate EMA below 2%"
model = "shop-*"
instance = "canary-*"
metric = "conversion_rate"
detector = { kind = "ema", alpha = 0.2, below = 0.02, resolve = 0.025 }
for = 3
severity = "warning"

[[rules]]
name = "latency-ceiling"
metric = "latency_ms"
detector = { kind = "threshold", above = 250.0 }
actions = ["retrain"]

[[rules]]
name = "error-rate-change"
model = "shop-eu"
metric = "error"
detector = { kind = "ddm" }
"#;

fn event(model: &str) -> Value {
    json!({"model": {"name": model, "version": "1"}, "timestamp": "2026-11-22T08:00:00Z",
           "metrics": {"latency_ms": 40.0}})
}

#[tokio::test]
async fn the_rules_that_take_a_models_name_with_their_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let routes = Routes::start(dir.path(), CONFIG, keep_everything()).await;

    routes.ingest(&[event("shop-eu")]).await;
    let shop = routes.get("/v1/models/shop-eu/rules").await;
    assert_eq!(shop.status, 200, "{}", shop.text);
    assert_eq!(shop.body["model"], "shop-eu");
    let names: Vec<&str> = (shop.body["rules"].as_array().unwrap().iter())
        .map(|rule| rule["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["conversion-drop", "latency-ceiling", "error-rate-change"]
    );
    assert_eq!(
        shop.body["rules"][0],
        json!({
            "name": "conversion-drop",
            "description": "conversion rate EMA below 2%",
            "metric": "conversion_rate",
            "version": "*",
            "instance": "canary-*",
            "detector": "ema",
            "condition": {"direction": "below", "bound": 0.02, "resolve": 0.025},
            "for_points": 3,
            "severity": "warning",
            "actions": [],
            "notify": [],
        })
    );
    assert_eq!(
        shop.body["rules"][1]["condition"],
        json!({"direction": "above", "bound": 250.0, "resolve": null})
    );
    assert_eq!(shop.body["rules"][1]["actions"], json!(["retrain"]));
    // A change detector has no bound in the metric's unit.
    assert_eq!(shop.body["rules"][2]["detector"], "ddm");
    assert_eq!(shop.body["rules"][2]["condition"], json!(null));

    // A model no event has named is a 404, as for `GET /v1/models/{name}`.
    let unknown = routes.get("/v1/models/fraud/rules").await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    // Once named, only the rule for every model takes that name.
    routes.ingest(&[event("fraud")]).await;
    let other = routes.get("/v1/models/fraud/rules").await;
    assert_eq!(other.status, 200, "{}", other.text);
    let names: Vec<&str> = (other.body["rules"].as_array().unwrap().iter())
        .map(|rule| rule["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["latency-ceiling"]);

    let bad = routes.get("/v1/models/fraud/rules?limit=3").await;
    assert_eq!(bad.status, 400, "{}", bad.text);
}
