//! `POST /v1/events` refuses event times a server should not take: more than `--max-future`
//! ahead of its clock (one event dated 2100 would hold its model's retrain cooldown until
//! then), and older than the retention (the next pass would delete them without a word). The
//! clock is fixed at [`super::NOW`].

use std::time::Duration;

use modelwatch::ServiceOptions;
use modelwatch::runtime::Retention;
use serde_json::json;

use super::{RETRAIN_CONFIG, Routes, accuracy};

/// The problems of a refused batch, as `field: message`.
fn problems(answer: &super::Answer) -> Vec<String> {
    assert_eq!(answer.status, 422, "{}", answer.body);
    answer.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| {
            format!(
                "{}: {}",
                error["field"].as_str().unwrap(),
                error["message"].as_str().unwrap()
            )
        })
        .collect()
}

async fn post(routes: &Routes, events: &[serde_json::Value]) -> super::Answer {
    let body: String = events.iter().map(|event| format!("{event}\n")).collect();
    routes
        .send("POST", "/v1/events", "application/x-ndjson", &body)
        .await
}

#[tokio::test]
async fn an_event_more_than_max_future_ahead_of_the_clock_is_refused_naming_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    // The defaults: --max-future 5m, --retention 30d.
    let routes = Routes::start(dir.path(), RETRAIN_CONFIG, ServiceOptions::default()).await;
    // 2026-11-23T12:05:00Z is exactly 5 minutes ahead: taken.
    routes
        .ingest(&[accuracy("a", "1", "2026-11-23T12:05:00Z", 0.95)])
        .await;
    let answer = post(
        &routes,
        &[
            accuracy("b", "1", "2026-11-23T12:00:00Z", 0.95),
            accuracy("b", "1", "2026-11-23T12:05:01Z", 0.95),
            accuracy("b", "1", "2100-01-01T00:00:00Z", 0.5),
        ],
    )
    .await;
    assert_eq!(
        problems(&answer),
        [
            "timestamp: 2026-11-23T12:05:01Z is more than 5m ahead of the server's clock \
             (--max-future); send the event's real time",
            "timestamp: 2100-01-01T00:00:00Z is more than 5m ahead of the server's clock \
             (--max-future); send the event's real time",
        ]
    );
    assert_eq!(answer.body["errors"][0]["index"], 1);
    // All or nothing: b is unknown, and a 2100 event held no cooldown.
    assert_eq!(routes.get("/v1/models/b").await.status, 404);
    // An event without a timestamp takes the clock's time.
    routes
        .ingest(&[
            json!({"model": {"name": "c", "version": "1"}, "metric": "accuracy", "value": 0.9}),
        ])
        .await;
    let c = routes.get("/v1/models/c").await;
    assert_eq!(c.body["latest"][0]["at"], super::NOW, "{}", c.body);
    routes.stop().await;

    // --max-future off takes any time.
    let dir = tempfile::tempdir().unwrap();
    let options = ServiceOptions {
        max_future: None,
        ..ServiceOptions::default()
    };
    let routes = Routes::start(dir.path(), RETRAIN_CONFIG, options).await;
    routes
        .ingest(&[accuracy("b", "1", "2100-01-01T00:00:00Z", 0.95)])
        .await;
    routes.stop().await;
}

#[tokio::test]
async fn an_event_older_than_the_retention_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let options = ServiceOptions {
        retention: Retention {
            keep: Some(Duration::from_secs(7 * 86_400)),
            ..Retention::default()
        },
        ..ServiceOptions::default()
    };
    let routes = Routes::start(dir.path(), RETRAIN_CONFIG, options).await;
    // Exactly seven days old: taken.
    routes
        .ingest(&[accuracy("a", "1", "2026-11-16T12:00:00Z", 0.95)])
        .await;
    let answer = post(&routes, &[accuracy("a", "1", "2026-11-16T11:59:59Z", 0.95)]).await;
    assert_eq!(
        problems(&answer),
        [
            "timestamp: 2026-11-16T11:59:59Z is older than the retention (--retention 1w): it \
          would be deleted at the next pass; send only events from 2026-11-16T12:00:00Z on"
        ]
    );
    // The bound moves with the clock.
    routes
        .clock
        .set(modelwatch::Timestamp::parse_rfc3339("2026-11-24T12:00:00Z").unwrap());
    let answer = post(&routes, &[accuracy("a", "1", "2026-11-16T12:00:00Z", 0.95)]).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    routes.stop().await;

    // --retention off keeps, and so takes, any time.
    let dir = tempfile::tempdir().unwrap();
    let routes = Routes::start(dir.path(), RETRAIN_CONFIG, super::keep_everything()).await;
    routes
        .ingest(&[accuracy("a", "1", "1999-01-01T00:00:00Z", 0.95)])
        .await;
    routes.stop().await;
}
