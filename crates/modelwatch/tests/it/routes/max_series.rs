//! `--max-series`: an ingest request whose events would create a series beyond the cap is
//! refused whole with 422 naming the limit and the series, nothing of it is stored, the
//! refusal is counted on `/metrics`, and the cap holds across a restart.

use modelwatch::ServiceOptions;
use modelwatch_store::{MAX_REPLAY_PAGE, Store};
use serde_json::Value;

use super::{Routes, accuracy, keep_everything};

const CONFIG: &str = r#"
[[rules]]
name = "acc-low"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }
"#;

const AT: &str = "2026-11-23T11:00:00Z";

fn capped(max_series: usize) -> ServiceOptions {
    ServiceOptions {
        max_series: Some(max_series),
        ..keep_everything()
    }
}

fn ndjson(events: &[Value]) -> String {
    events.iter().map(|event| format!("{event}\n")).collect()
}

async fn refused_for_series(routes: &Routes, events: &[Value], series: &str) {
    let answer = routes
        .send(
            "POST",
            "/v1/events",
            "application/x-ndjson",
            &ndjson(events),
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.text);
    let error = answer.body["error"].as_str().unwrap();
    assert!(error.contains("the limit of 3 series"), "{error}");
    assert!(error.contains("--max-series"), "{error}");
    assert!(error.contains(series), "{error}");
    assert!(
        error.contains("nothing of this request is stored"),
        "{error}"
    );
}

fn stored_inputs(data: &std::path::Path) -> usize {
    Store::open(data)
        .unwrap()
        .inputs_after(0, MAX_REPLAY_PAGE)
        .unwrap()
        .len()
}

#[tokio::test]
async fn events_that_would_create_series_beyond_the_cap_are_refused_whole_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let routes = Routes::start(dir.path(), CONFIG, capped(3)).await;
    routes
        .ingest(&[accuracy("a", "1", AT, 0.95), accuracy("b", "1", AT, 0.95)])
        .await;
    // One series of `a` again and two new ones: the second new one is the fourth series.
    refused_for_series(
        &routes,
        &[
            accuracy("a", "1", AT, 0.5),
            accuracy("c", "1", AT, 0.95),
            accuracy("d", "1", AT, 0.95),
        ],
        "metric accuracy of model d version 1 instance default",
    )
    .await;
    // Nothing of it was stored: `a` got no alert from its 0.5.
    let alerts = routes.get("/v1/alerts").await;
    assert_eq!(
        alerts.body["items"].as_array().unwrap().len(),
        0,
        "{}",
        alerts.text
    );
    // A new version is a new series too.
    routes
        .ingest(&[accuracy("c", "1", AT, 0.95), accuracy("a", "1", AT, 0.5)])
        .await;
    refused_for_series(
        &routes,
        &[accuracy("a", "2", AT, 0.95)],
        "metric accuracy of model a version 2 instance default",
    )
    .await;
    let metrics = routes.get("/metrics").await;
    assert!(
        metrics
            .text
            .contains("modelwatch_ingest_rejected_total{reason=\"series_limit\"} 2"),
        "{}",
        metrics.text
    );
    let data = routes.stop().await;
    assert_eq!(stored_inputs(&data), 4);

    // After a restart the engine holds the same three series: the cap still holds.
    let routes = Routes::start(&data, CONFIG, capped(3)).await;
    refused_for_series(
        &routes,
        &[accuracy("e", "1", AT, 0.95)],
        "metric accuracy of model e version 1 instance default",
    )
    .await;
    routes.ingest(&[accuracy("b", "1", AT, 0.95)]).await;
    let data = routes.stop().await;
    assert_eq!(stored_inputs(&data), 5);
}
