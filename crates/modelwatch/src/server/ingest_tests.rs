//! Unit tests of `POST /v1/events` against a writer that never drains its queue: a full queue
//! is a 503 with `Retry-After` and is counted, never a wait or a silent drop.

use std::sync::{Arc, Mutex};

use axum::body::{Bytes, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use modelwatch_engine::Timestamp;
use modelwatch_engine::config::default_config;
use modelwatch_store::Store;
use tokio::sync::{mpsc, oneshot, watch};

use super::AppState;
use super::ingest::post_events;
use crate::clock::FixedClock;
use crate::runtime::metrics::{self, Metrics};
use crate::runtime::writer::{Message, Request};
use crate::runtime::{Retention, Status, WriterQueue};

const EVENT: &str = r#"{"model":{"name":"m","version":"1"},"timestamp":"2026-11-22T08:00:00Z","metrics":{"accuracy":0.9}}"#;

fn state(queue: mpsc::Sender<Message>, status: Status, data: &std::path::Path) -> AppState {
    let (_, receiver) = watch::channel(status);
    AppState {
        config: Arc::new(default_config().unwrap()),
        // The time of EVENT: neither ahead of the clock nor older than the retention.
        clock: Arc::new(FixedClock::new(Timestamp::from_secs(1_795_334_400))),
        queue: WriterQueue::new(queue, receiver),
        reader: Arc::new(Mutex::new(Store::open(data).unwrap())),
        metrics: Arc::new(Metrics::default()),
        max_exported_series: 10,
        body_limit: super::DEFAULT_BODY_LIMIT,
        retention: Retention::default(),
        max_future: Some(super::DEFAULT_MAX_FUTURE),
        ready_detail: None,
        jobs: crate::effects::JobControl::detached(),
        routing: None,
    }
}

fn json_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers
}

fn ready() -> Status {
    Status::Ready {
        replayed: 0,
        restored: None,
        note: None,
    }
}

#[tokio::test]
async fn a_full_queue_is_a_503_with_retry_after_and_nothing_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    let (queue, mut receiver) = mpsc::channel(1);
    // The one place in the queue is taken by a request the writer has not picked up.
    let (reply, _answer) = oneshot::channel();
    queue
        .try_send(Message::Events(Request {
            log_seq: None,
            idempotency_key: None,
            effects: Vec::new(),
            inputs: Vec::new(),
            received_at: Timestamp::EPOCH,
            actor: None,
            reply,
        }))
        .unwrap();
    let state = state(queue, ready(), dir.path());
    let metrics = state.metrics.clone();

    let response = post_events(
        State(state),
        json_headers(),
        Ok(Bytes::from_static(EVENT.as_bytes())),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response.headers().get(header::RETRY_AFTER),
        Some(&HeaderValue::from_static("1"))
    );
    let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("queue is full"),
        "{body}"
    );
    // Only the first job is in the queue: the refused request left nothing behind.
    assert!(
        matches!(receiver.try_recv(), Ok(Message::Events(request)) if request.inputs.is_empty())
    );
    assert!(receiver.try_recv().is_err());
    let text = metrics::render(&metrics, 0, None);
    assert!(
        text.contains("modelwatch_ingest_rejected_total{reason=\"queue_full\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn while_recovering_events_are_a_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let (queue, mut receiver) = mpsc::channel(8);
    let state = state(queue, Status::Recovering, dir.path());
    let response = post_events(
        State(state),
        json_headers(),
        Ok(Bytes::from_static(EVENT.as_bytes())),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    assert!(receiver.try_recv().is_err(), "nothing reached the writer");
}
