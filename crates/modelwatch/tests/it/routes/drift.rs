//! `GET /v1/models/{name}/drift` with the fraud-traffic example (examples/fraud-traffic.*):
//! the open window before any is complete; then the latest window of each instance, column by
//! column, with the scores its drift points carried and the histograms of the reference (the
//! version's first 400 predictions) and of the window (its last 200), checked against the raw
//! events; the same after a restart; none after an upload replaces the reference; 404 for a
//! model without drift settings.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Routes, keep_everything};

/// After the example's last event.
const NOW: &str = "2026-12-06T00:00:00Z";

fn example() -> (String, Vec<Value>) {
    let root = crate::repo_root();
    let config = std::fs::read_to_string(root.join("examples/fraud-traffic.toml")).unwrap();
    let events = std::fs::read_to_string(root.join("examples/fraud-traffic.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (config, events)
}

async fn ingest(routes: &Routes, events: &[Value]) {
    for chunk in events.chunks(500) {
        routes.ingest(chunk).await;
    }
}

/// The values of feature (or output) `column` of `predictions`, nulls left out.
fn column(predictions: &[&Value], column: &str) -> Vec<Value> {
    predictions
        .iter()
        .map(|event| {
            if column == "prediction" {
                event["prediction"]["output"].clone()
            } else {
                event["prediction"]["features"][column].clone()
            }
        })
        .filter(|value| !value.is_null())
        .collect()
}

/// Each side's share per bin of `edges` (bin i is `[e_i, e_(i+1))`, the last closed).
fn bin_shares(values: &[Value], edges: &[f64]) -> Vec<f64> {
    let last = edges.len() - 2;
    let mut counts = vec![0usize; last + 1];
    for value in values {
        let x = value.as_f64().unwrap();
        let bin = (0..=last)
            .find(|&i| x >= edges[i] && (x < edges[i + 1] || (i == last && x <= edges[i + 1])))
            .unwrap_or_else(|| panic!("{x} is outside the edges {edges:?}"));
        counts[bin] += 1;
    }
    counts
        .iter()
        .map(|count| *count as f64 / values.len() as f64)
        .collect()
}

/// A category as a key: a number by its value (`1` and `1.0` are one category).
fn key(value: &Value) -> String {
    match value.as_f64() {
        Some(number) => format!("number {number}"),
        None => value.to_string(),
    }
}

/// The share of each of `categories` among `values`.
fn category_shares(values: &[Value], categories: &[Value]) -> Vec<f64> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for value in values {
        *counts.entry(key(value)).or_default() += 1;
    }
    categories
        .iter()
        .map(|category| {
            counts.get(&key(category)).copied().unwrap_or(0) as f64 / values.len() as f64
        })
        .collect()
}

/// The latest point of a series of the example's instance.
async fn last_point(routes: &Routes, metric: &str) -> f64 {
    let answer = routes
        .get(&format!(
            "/v1/series?model=fraud-detector&version=2.1.0&instance=web-0&metric={metric}&limit=1000"
        ))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let points = answer.body["points"].as_array().unwrap();
    points.last().unwrap()["value"].as_f64().unwrap()
}

#[tokio::test]
async fn the_drift_route_shows_the_open_window_then_the_latest_with_its_histograms() {
    let dir = tempfile::tempdir().unwrap();
    let (config, events) = example();
    let routes = Routes::start_at(dir.path(), &config, keep_everything(), NOW).await;

    let empty = routes.get("/v1/models/fraud-detector/drift").await;
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert_eq!(
        empty.body,
        json!({"model": "fraud-detector", "window": 200, "drift_share": 0.5, "first": 400,
               "open": [], "windows": []})
    );
    let missing = routes.get("/v1/models/price/drift").await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    assert!(
        missing.body["error"]
            .as_str()
            .unwrap()
            .contains("has no drift settings"),
        "{}",
        missing.text
    );

    // 450 predictions: the version's reference (400) is complete, the open window holds 50.
    let predictions_at: Vec<usize> = (events.iter().enumerate())
        .filter(|(_, event)| event.get("prediction").is_some())
        .map(|(at, _)| at)
        .collect();
    let split = predictions_at[450];
    ingest(&routes, &events[..split]).await;
    let filling = routes.get("/v1/models/fraud-detector/drift").await;
    assert_eq!(filling.status, 200, "{}", filling.text);
    assert_eq!(
        filling.body["open"],
        json!([{"version": "2.1.0", "instance": "web-0", "rows": 50, "needs": 200,
                "reference_rows": 400}])
    );
    assert_eq!(filling.body["windows"], json!([]));

    // All 2,400: ten windows, the open one empty again.
    ingest(&routes, &events[split..]).await;
    let full = routes.get("/v1/models/fraud-detector/drift").await;
    assert_eq!(full.status, 200, "{}", full.text);
    assert_eq!(full.body["open"][0]["rows"], 0, "{}", full.text);
    let windows = full.body["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 1, "{}", full.text);
    let window = &windows[0];
    assert_eq!(
        (&window["version"], &window["instance"], &window["rows"]),
        (&json!("2.1.0"), &json!("web-0"), &json!(200))
    );
    assert_eq!(window["reference_rows"], 400);
    assert_eq!(
        window["share"].as_f64().unwrap(),
        last_point(&routes, "drift_score").await
    );

    let predictions: Vec<&Value> = predictions_at.iter().map(|at| &events[*at]).collect();
    let (reference, current) = (&predictions[..400], &predictions[2200..]);
    let columns = window["columns"].as_array().unwrap();
    // The features and the output, in name order.
    assert_eq!(columns.len(), 21, "{}", full.text);
    let (mut bins, mut categories) = (0, 0);
    for body in columns {
        let name = body["name"].as_str().unwrap();
        assert_eq!(body["outcome"], "scored", "{body}");
        // The score the window's point carried, bit for bit.
        assert_eq!(
            body["score"].as_f64().unwrap(),
            last_point(&routes, &format!("drift.{name}")).await,
            "{name}"
        );
        assert!(
            body["method"].is_string() && body["drifted"].is_boolean(),
            "{body}"
        );
        let (r, c) = (column(reference, name), column(current, name));
        assert_eq!(body["reference_values"], r.len(), "{name}");
        assert_eq!(body["current_values"], c.len(), "{name}");
        let histogram = &body["histogram"];
        let shares = |side: &str| -> Vec<f64> {
            (histogram[side].as_array().unwrap().iter())
                .map(|share| share.as_f64().unwrap())
                .collect()
        };
        if let Some(edges) = histogram["edges"].as_array() {
            bins += 1;
            assert_eq!(body["type"], "numerical", "{name}");
            assert_eq!(histogram["categories"], Value::Null);
            let edges: Vec<f64> = edges.iter().map(|edge| edge.as_f64().unwrap()).collect();
            // Sturges over both sides: from the smallest value to the largest.
            let pooled: Vec<f64> = r.iter().chain(&c).map(|v| v.as_f64().unwrap()).collect();
            let min = pooled.iter().copied().fold(f64::INFINITY, f64::min);
            let max = pooled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            assert_eq!((edges[0], *edges.last().unwrap()), (min, max), "{name}");
            assert!(edges.windows(2).all(|pair| pair[0] < pair[1]), "{name}");
            assert_eq!(shares("reference"), bin_shares(&r, &edges), "{name}");
            assert_eq!(shares("current"), bin_shares(&c, &edges), "{name}");
        } else {
            categories += 1;
            let listed = histogram["categories"].as_array().unwrap();
            // Every value of either side once.
            let mut seen: Vec<String> = r.iter().chain(&c).map(key).collect();
            seen.sort();
            seen.dedup();
            assert_eq!(listed.len(), seen.len(), "{name}: {listed:?}");
            assert_eq!(shares("reference"), category_shares(&r, listed), "{name}");
            assert_eq!(shares("current"), category_shares(&c, listed), "{name}");
        }
    }
    assert!(
        bins >= 5 && categories >= 5,
        "{bins} binned, {categories} by category"
    );
    let channel = columns
        .iter()
        .find(|body| body["name"] == "channel")
        .unwrap();
    assert_eq!(channel["type"], "categorical");
    assert_eq!(
        channel["histogram"]["categories"],
        json!(["app", "pos", "web"]),
        "{channel}"
    );

    // A restart (from the snapshot taken at the stop) shows the same.
    let data = routes.stop().await;
    let routes = Routes::start_at(&data, &config, keep_everything(), NOW).await;
    let after = routes.get("/v1/models/fraud-detector/drift").await;
    assert_eq!(after.body, full.body);

    // An upload replaces the reference: no window was compared with it yet.
    let put = routes
        .send(
            "PUT",
            "/v1/models/fraud-detector/reference",
            "text/csv",
            "amount,channel\n10,web\n20,pos\n",
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let replaced = routes.get("/v1/models/fraud-detector/drift").await;
    assert_eq!(replaced.body["windows"], json!([]));
    assert_eq!(
        replaced.body["open"],
        json!([{"version": "2.1.0", "instance": "web-0", "rows": 0, "needs": 200,
                "reference_rows": null}])
    );
    routes.stop().await;
}
