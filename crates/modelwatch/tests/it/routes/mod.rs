//! serve's routes in process: a [`Service`] on a temporary store with a fixed clock, driven
//! through its router with `tower::ServiceExt::oneshot` (no socket, no child process, no day of
//! the week in any outcome).
//!
//! - `inputs`: routes that store an input check it as the store's reader will (retrain, job
//!   reports), and a manual retrain of a model never seen is a 404.
//! - `event_time`: events too far ahead of the clock or older than the retention are refused.
//! - `models`: a model whose points expired is still listed and found.
//! - `params`: routes refuse parameters they do not take, and names no event could carry.
//! - `alerts`: `GET /v1/alerts/{id}`.
//! - `bodies`: the bounds on request bodies (413 on the declared length, 408 past the body
//!   timeout, 503 past the bytes in flight), on a paused clock.
//! - `reference`: drift references uploaded and read (`PUT`/`GET /v1/models/{name}/reference`).
//! - `drift`: where a model's drift stands, with the histograms compared
//!   (`GET /v1/models/{name}/drift`), on the fraud-traffic example.
//! - `rules`: the rules that watch a model, with their bounds (`GET /v1/models/{name}/rules`).
//! - `max_series`: events beyond `--max-series` are refused whole with 422, and counted.
//! - `full_disk`: a store that cannot write refuses events with the reason while reads go on,
//!   and the writer takes events again by itself once it can write.

mod alerts;
mod bodies;
mod drift;
mod event_time;
mod full_disk;
mod inputs;
mod max_series;
mod models;
mod params;
mod reference;
mod rules;
mod traffic;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, header};
use modelwatch::engine::parse_config;
use modelwatch::runtime::Status;
use modelwatch::{FixedClock, Service, ServiceOptions, Timestamp};
use serde_json::Value;
use tower::ServiceExt;

/// The fixed "now" of these tests: 2026-11-23T12:00:00Z.
pub const NOW: &str = "2026-11-23T12:00:00Z";

/// One rule: accuracy below 0.9 fires and asks for a retrain (no trainer: external jobs).
pub const RETRAIN_CONFIG: &str = r#"
[retrain]
cooldown_secs = 3600

[[trainers]]
kind = "external"

[[rules]]
name = "acc-low"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }
actions = ["retrain"]
"#;

/// A started service and its router.
pub struct Routes {
    service: Service,
    router: Router,
    pub clock: Arc<FixedClock>,
    data: PathBuf,
}

/// An answer: its status, its body as JSON (`Null` when it is not JSON) and as text, and its
/// `Retry-After` header.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub retry_after: Option<String>,
}

impl Routes {
    /// A service on `config` (TOML) with `options`, its clock at [`NOW`], once recovered.
    pub async fn start(data: &Path, config: &str, options: ServiceOptions) -> Routes {
        Routes::start_at(data, config, options, NOW).await
    }

    /// A service as [`Routes::start`] gives it, its clock at `now` (RFC 3339) from the start:
    /// the retention pass a start runs by itself sees that time too.
    pub async fn start_at(data: &Path, config: &str, options: ServiceOptions, now: &str) -> Routes {
        let config = parse_config(config).unwrap().config;
        let clock = Arc::new(FixedClock::new(Timestamp::parse_rfc3339(now).unwrap()));
        let service = Service::start(Arc::new(config), data, clock.clone(), options).unwrap();
        let mut status = service.status();
        let ready = status
            .wait_for(|status| !matches!(status, Status::Recovering))
            .await
            .unwrap()
            .clone();
        assert!(matches!(ready, Status::Ready { .. }), "{ready:?}");
        Routes {
            router: service.router(),
            service,
            clock,
            data: data.to_path_buf(),
        }
    }

    /// A request of `method` to `path`, with a JSON body unless it is empty.
    pub async fn send(&self, method: &str, path: &str, content_type: &str, body: &str) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if !content_type.is_empty() {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let request = request.body(Body::from(body.to_string())).unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|value| value.to_str().unwrap().to_string());
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        Answer {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text: String::from_utf8_lossy(&bytes).into_owned(),
            retry_after,
        }
    }

    /// The router, for requests the helpers do not make.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Where the writer stands.
    pub fn status(&self) -> tokio::sync::watch::Receiver<Status> {
        self.service.status()
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, "", "").await
    }

    pub async fn post_json(&self, path: &str, body: &str) -> Answer {
        self.send("POST", path, "application/json", body).await
    }

    /// POSTs events (NDJSON), asserting they are all taken.
    pub async fn ingest(&self, events: &[Value]) {
        let body: String = events.iter().map(|event| format!("{event}\n")).collect();
        let answer = self
            .send("POST", "/v1/events", "application/x-ndjson", &body)
            .await;
        assert_eq!(answer.status, 202, "{}", answer.body);
    }

    /// Stops the service (the writer commits what it has) and hands back its data directory.
    pub async fn stop(self) -> PathBuf {
        let Routes {
            service,
            router,
            data,
            ..
        } = self;
        drop(router);
        tokio::task::spawn_blocking(move || service.join())
            .await
            .unwrap()
            .unwrap();
        data
    }
}

/// Options with retention off and the default bound on times ahead of the clock.
pub fn keep_everything() -> ServiceOptions {
    ServiceOptions {
        retention: modelwatch::runtime::Retention {
            keep: None,
            ..modelwatch::runtime::Retention::default()
        },
        ..ServiceOptions::default()
    }
}

/// An accuracy event of `model` version `version` at `at` (RFC 3339).
pub fn accuracy(model: &str, version: &str, at: &str, value: f64) -> Value {
    serde_json::json!({
        "model": {"name": model, "version": version},
        "timestamp": at,
        "metric": "accuracy",
        "value": value,
    })
}
