//! The demo's webhook receiver: an axum server on a loopback port that verifies each
//! notification as docs/actions.md tells receivers to (the HMAC-SHA256 of
//! `timestamp.body`, compared in constant time, and a timestamp near the receiver's clock),
//! answers 200 (401 when the signature is wrong), and hands every request it read to the demo
//! over a bounded channel, so the demo waits for deliveries, not for time.

use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use modelwatch::Clock;
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Deliveries the receiver may hold before its handler waits for the demo.
const CHANNEL_CAPACITY: usize = 16;
/// How far a signature's timestamp may be from the receiver's clock, in seconds.
const MAX_SKEW_SECS: i64 = 300;

/// One notification as the receiver saw it.
#[derive(Debug)]
pub(super) struct Delivery {
    /// The request's path.
    pub(super) path: String,
    /// The `Idempotency-Key` header.
    pub(super) key: String,
    /// Whether the signature verified.
    pub(super) signature: Signature,
    /// The status the receiver answered.
    pub(super) status: StatusCode,
    /// The JSON body (null when it was not JSON).
    pub(super) body: Value,
}

/// What the receiver made of a request's signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Signature {
    Verified,
    Missing,
    Wrong,
    /// Right, but signed too long ago (or ahead): a replay.
    Stale,
}

impl Signature {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Signature::Verified => "signature verified",
            Signature::Missing => "unsigned",
            Signature::Wrong => "signature WRONG",
            Signature::Stale => "signature stale",
        }
    }
}

/// A running receiver.
#[derive(Debug)]
pub(super) struct Receiver {
    /// `http://127.0.0.1:PORT/hook`.
    pub(super) url: String,
    pub(super) deliveries: mpsc::Receiver<Delivery>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

#[derive(Clone)]
struct Shared {
    secret: Arc<Vec<u8>>,
    sender: mpsc::Sender<Delivery>,
}

impl Receiver {
    /// Listens on a free loopback port; `secret` is the notifier's.
    pub(super) async fn start(secret: Vec<u8>) -> Result<Receiver> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot listen for the webhook receiver")?;
        let address = listener
            .local_addr()
            .context("cannot read the webhook receiver's address")?;
        let (sender, deliveries) = mpsc::channel(CHANNEL_CAPACITY);
        let router = Router::new()
            .route("/hook", post(receive))
            .with_state(Shared {
                secret: Arc::new(secret),
                sender,
            });
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .into_future(),
        );
        Ok(Receiver {
            url: format!("http://{address}/hook"),
            deliveries,
            stop: Some(stop),
            task,
        })
    }

    /// Stops listening and waits for the server to end.
    pub(super) async fn stop(mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // A handler waiting to hand a delivery over must not hold the shutdown up.
        self.deliveries.close();
        self.task
            .await
            .context("the webhook receiver's task failed")?
            .context("the webhook receiver failed")
    }
}

async fn receive(
    State(shared): State<Shared>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    let signature = check(
        &shared.secret,
        header("x-modelwatch-timestamp").as_deref(),
        header("x-modelwatch-signature").as_deref(),
        &body,
        modelwatch::SystemClock.now().as_nanos() / 1_000_000_000,
    );
    let status = if signature == Signature::Verified {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    };
    let delivery = Delivery {
        path: uri.path().to_string(),
        key: header("idempotency-key").unwrap_or_default(),
        signature,
        status,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    // Waits while the demo has not taken the ones before (bounded, never dropped); a demo that
    // has stopped listening no longer cares.
    let _ = shared.sender.send(delivery).await;
    status
}

/// Verifies `sha256=<hex>` against the HMAC-SHA256 of `timestamp.body`, in constant time, and
/// the timestamp against `now` (Unix seconds).
fn check(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Signature {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Signature::Missing;
    };
    let Some(expected) = signature.strip_prefix("sha256=").and_then(from_hex) else {
        return Signature::Wrong;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return Signature::Wrong;
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    if mac.verify_slice(&expected).is_err() {
        return Signature::Wrong;
    }
    match timestamp.parse::<i64>() {
        Ok(signed) if (now - signed).abs() <= MAX_SKEW_SECS => Signature::Verified,
        _ => Signature::Stale,
    }
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receiver_checks_signatures_as_the_docs_say() {
        let body = br#"{"id": "x"}"#;
        let signed = modelwatch::effects::http::signature(b"key", 1_000, body);
        let check = |secret: &[u8], timestamp, signature: &str, now| {
            check(secret, Some(timestamp), Some(signature), body, now)
        };
        assert_eq!(check(b"key", "1000", &signed, 1_010), Signature::Verified);
        assert_eq!(check(b"other", "1000", &signed, 1_010), Signature::Wrong);
        assert_eq!(check(b"key", "1001", &signed, 1_010), Signature::Wrong);
        assert_eq!(check(b"key", "1000", "sha256=zz", 1_010), Signature::Wrong);
        assert_eq!(check(b"key", "1000", &signed, 5_000), Signature::Stale);
        assert_eq!(
            super::check(b"key", None, Some(&signed), body, 1_000),
            Signature::Missing
        );
    }
}
