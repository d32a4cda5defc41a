//! The bounds on request bodies, through the router with bodies the test streams by hand: a
//! declared length over the limit is a 413 before a byte is read, a body that stops coming is
//! a 408 at the body timeout (the clock is paused once the service is ready, so the timeout
//! is what comes next), and a body that would take the bytes in flight past their cap is a
//! 503 with `Retry-After`, declared or chunked, counted on `/metrics`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, to_bytes};
use axum::http::{Request, Response};
use http_body::Frame;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tower::ServiceExt;

use super::{Routes, accuracy, keep_everything};

const LIMIT: usize = 1_000;
const IN_FLIGHT: usize = 1_500;
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// A body the test sends piece by piece; tells `polled` the first time it is read.
struct Streamed {
    pieces: mpsc::Receiver<Bytes>,
    polled: Option<oneshot::Sender<()>>,
}

impl http_body::Body for Streamed {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(polled) = self.polled.take() {
            let _ = polled.send(());
        }
        self.pieces
            .poll_recv(cx)
            .map(|piece| piece.map(|piece| Ok(Frame::data(piece))))
    }
}

/// A request whose body the sender sends; `polled` resolves once the server reads it.
fn streamed(
    declared: Option<usize>,
) -> (Request<Body>, mpsc::Sender<Bytes>, oneshot::Receiver<()>) {
    let (sender, pieces) = mpsc::channel(16);
    let (polled, first_read) = oneshot::channel();
    let mut request = Request::builder()
        .method("POST")
        .uri("/v1/events")
        .header("content-type", "application/x-ndjson");
    if let Some(length) = declared {
        request = request.header("content-length", length);
    }
    let body = Body::new(Streamed {
        pieces,
        polled: Some(polled),
    });
    (request.body(body).unwrap(), sender, first_read)
}

async fn text(response: Response<Body>) -> (u16, String) {
    let status = response.status().as_u16();
    let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// The answer, which must come without any (paused) time passing: the test fails, instead of
/// hanging, if it waits for a body that never comes.
async fn answered_at_once(
    answer: impl Future<Output = Result<Response<Body>, std::convert::Infallible>>,
) -> Response<Body> {
    let started = Instant::now();
    let response = tokio::time::timeout(BODY_TIMEOUT * 2, answer)
        .await
        .expect("no answer: the server waited for the body")
        .unwrap();
    assert_eq!(started.elapsed(), Duration::ZERO);
    response
}

async fn start(data: &std::path::Path) -> Routes {
    let mut options = keep_everything();
    options.body_limit = LIMIT;
    options.max_bodies_in_flight = IN_FLIGHT;
    options.body_timeout = BODY_TIMEOUT;
    Routes::start(data, "", options).await
}

/// One event as an NDJSON line padded with spaces to `length` bytes.
fn padded_event(length: usize) -> Bytes {
    let mut line = format!("{}\n", accuracy("m", "1", "2026-11-23T11:00:00Z", 0.95)).into_bytes();
    assert!(line.len() <= length);
    line.resize(length, b' ');
    Bytes::from(line)
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_a_413_before_the_body_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let routes = start(dir.path()).await;
    tokio::time::pause();
    let (request, _sender, mut first_read) = streamed(Some(LIMIT + 1));
    // Answered at once; a server that waited for the body would still wait at the bound.
    let response = answered_at_once(routes.router().oneshot(request)).await;
    tokio::time::resume();
    assert_eq!(response.headers()["connection"], "close");
    let (status, body) = text(response).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("limit of 1000 bytes"), "{body}");
    assert!(first_read.try_recv().is_err(), "the body was read");
    routes.stop().await;
}

#[tokio::test]
async fn a_body_that_stops_coming_is_a_408_at_the_body_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let routes = start(dir.path()).await;
    tokio::time::pause();
    let started = Instant::now();
    let (request, sender, _) = streamed(Some(500));
    sender.send(padded_event(200)).await.unwrap();
    let response = tokio::time::timeout(BODY_TIMEOUT * 2, routes.router().oneshot(request))
        .await
        .expect("no answer: the server waited past the body timeout")
        .unwrap();
    assert_eq!(started.elapsed().as_secs(), BODY_TIMEOUT.as_secs());
    assert_eq!(response.headers()["connection"], "close");
    let (status, body) = text(response).await;
    assert_eq!(status, 408, "{body}");
    assert!(body.contains("within 30 s"), "{body}");
    tokio::time::resume();
    routes.stop().await;
}

#[tokio::test]
async fn bodies_past_the_bytes_in_flight_are_a_503_with_retry_after_before_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let routes = start(dir.path()).await;
    // A body of 1,000 declared bytes, read but not finished, holds 1,000 of the 1,500.
    let (request, holding, first_read) = streamed(Some(LIMIT));
    let held = tokio::spawn(routes.router().oneshot(request));
    first_read.await.unwrap();

    // Another 1,000 declared bytes do not fit: refused before a byte is read.
    let (request, _sender, mut refused_read) = streamed(Some(LIMIT));
    tokio::time::pause();
    let response = answered_at_once(routes.router().oneshot(request)).await;
    tokio::time::resume();
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(response.headers()["connection"], "close");
    let (status, body) = text(response).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("in flight"), "{body}");
    assert!(
        refused_read.try_recv().is_err(),
        "the refused body was read"
    );

    // A chunked body is counted as it comes: 400 bytes fit, 200 more do not.
    let (request, chunks, first_chunk_read) = streamed(None);
    let chunked = tokio::spawn(routes.router().oneshot(request));
    first_chunk_read.await.unwrap();
    chunks.send(Bytes::from(vec![b' '; 400])).await.unwrap();
    chunks.send(Bytes::from(vec![b' '; 200])).await.unwrap();
    let (status, body) = text(chunked.await.unwrap().unwrap()).await;
    assert_eq!(status, 503, "{body}");

    // The held body ends; its bytes are given back and the next body is taken.
    holding.send(padded_event(LIMIT)).await.unwrap();
    drop(holding);
    let (status, body) = text(held.await.unwrap().unwrap()).await;
    assert_eq!(status, 202, "{body}");
    let (request, sender, _) = streamed(Some(LIMIT));
    sender.send(padded_event(LIMIT)).await.unwrap();
    drop(sender);
    let (status, body) = text(routes.router().oneshot(request).await.unwrap()).await;
    assert_eq!(status, 202, "{body}");

    let (_, metrics) = text(
        routes
            .router()
            .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
            .await
            .unwrap(),
    )
    .await;
    assert!(
        metrics.contains("modelwatch_ingest_rejected_total{reason=\"bodies_in_flight\"} 2"),
        "{metrics}"
    );
    routes.stop().await;
}
