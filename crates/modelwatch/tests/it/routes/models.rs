//! `/v1/models` lists every model an event ever named, and `/v1/models/{name}` finds it, after
//! retention has deleted all its points too: its alerts may still be open.

use std::time::Duration;

use modelwatch::ServiceOptions;
use modelwatch::runtime::Retention;
use serde_json::json;

use super::{Routes, accuracy};

const CONFIG: &str = r#"
[[rules]]
name = "acc-low"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }
"#;

#[tokio::test]
async fn a_model_whose_points_expired_is_still_listed_and_found() {
    let dir = tempfile::tempdir().unwrap();
    let options = || ServiceOptions {
        retention: Retention {
            keep: Some(Duration::from_secs(86_400)),
            ..Retention::default()
        },
        ..ServiceOptions::default()
    };
    let routes = Routes::start(dir.path(), CONFIG, options()).await;
    routes
        .ingest(&[accuracy("old", "1", "2026-11-23T11:00:00Z", 0.5)])
        .await;
    let data = routes.stop().await;
    // Two days later `old`'s points are past the retention: the pass a start runs, or the one
    // asked for here (whichever comes first), deletes them.
    let routes = Routes::start_at(&data, CONFIG, options(), "2026-11-25T12:00:00Z").await;
    routes
        .ingest(&[accuracy("new", "1", "2026-11-25T11:00:00Z", 0.95)])
        .await;
    let pass = routes.post_json("/v1/admin/retention", "").await;
    assert_eq!(pass.status, 200, "{}", pass.body);
    let series = routes.get("/v1/series?model=old&metric=accuracy").await;
    assert_eq!(series.body["points"], json!([]), "{}", series.body);

    let models = routes.get("/v1/models").await;
    assert_eq!(models.status, 200, "{}", models.body);
    let names: Vec<&str> = models.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|model| model["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["new", "old"], "{}", models.body);
    let old = routes.get("/v1/models/old").await;
    assert_eq!(old.status, 200, "{}", old.body);
    assert_eq!(old.body["latest"], json!([]));
    assert_eq!(old.body["versions"], json!([]));
    assert_eq!(old.body["alerts"][0]["state"], "firing", "{}", old.body);
    assert_eq!(models.body["items"][1], old.body);
    // Pages of one: each model once, in name order.
    let first = routes.get("/v1/models?limit=1").await;
    assert_eq!(first.body["items"][0]["name"], "new");
    assert_eq!(first.body["next"], "new");
    let second = routes.get("/v1/models?limit=1&after=new").await;
    assert_eq!(second.body["items"][0]["name"], "old");
    assert_eq!(second.body["next"], serde_json::Value::Null);
    // A model no event named is still unknown.
    let never = routes.get("/v1/models/never").await;
    assert_eq!(never.status, 404, "{}", never.body);
    routes.stop().await;
}
