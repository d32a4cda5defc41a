//! The HTTP side of the service, and nothing else: the axum router of `modelwatch serve`, its
//! routes, their parameters and errors, and the OpenAPI document.
//!
//! Handlers parse, then hand what they parsed to the writer through the runtime's
//! [`WriterQueue`] (`try_send`: a full queue is a 503 with `Retry-After`, never a wait or a
//! drop) and answer 202 only once the writer has committed it. Reads go to a query connection
//! of their own, on a blocking thread. Nothing here prints or owns a thread.
//!
//! One file per group of routes: `ingest.rs` (`POST /v1/events`), `alerts.rs` (alerts and
//! decisions), `models.rs`, `series.rs`, `jobs.rs`, `retrain.rs` (manual retrains), `registry.rs`
//! (versions and the audit log), `deliveries.rs`, `reference.rs` and `drift.rs` (a model's
//! drift reference, and where its drift stands), `rules.rs` (the rules that watch a model),
//! `canary.rs`, `whoami.rs` (the caller's token and scopes) and `operations.rs` (probes,
//! `/metrics`, retention). The console's static shell (`crate::console`, `GET /` and
//! `/console/...`) is merged in, open and outside the document.
//! Every handler carries its `#[utoipa::path]` and is registered with `utoipa_axum::routes!`,
//! which builds the route and its entry in the OpenAPI document (`openapi.rs`) together; every
//! query string is parsed by the route's one parameter struct (`params.rs`), which documents it
//! too; every error is `error.rs`'s `ApiError`. Around the
//! routes: `auth.rs` (tokens), `limits.rs` (bodies: size, timeout, bytes in flight) and
//! `request_log.rs` (request ids and the request log); `listen/` serves the router on a socket
//! with connection timeouts and a connection limit.

mod alerts;
pub mod auth;
mod canary;
mod deliveries;
mod drift;
mod error;
mod event_time;
pub mod forward;
mod ingest;
#[cfg(test)]
mod ingest_tests;
mod jobs;
mod limits;
pub mod listen;
mod models;
mod openapi;
mod operations;
mod params;
mod reference;
mod registry;
mod request_log;
mod retrain;
mod rules;
mod series;
mod whoami;

use std::sync::{Arc, Mutex};

use std::time::Duration;
use tokio::sync::watch;

use axum::extract::DefaultBodyLimit;
use axum::{Extension, Router, middleware};
use modelwatch_engine::Config;
use modelwatch_store::{Listing, Store, StoreError};
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::Clock;
use crate::effects::JobControl;
use crate::runtime::metrics::Metrics;
use crate::runtime::writer::Message;
use crate::runtime::{Retention, WriterQueue};
use error::ApiError;
pub use event_time::DEFAULT_MAX_FUTURE;
pub use limits::{DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_BODIES_IN_FLIGHT};
pub use request_log::REQUEST_ID_HEADER;

/// Where `serve` listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8780";

/// The largest request body taken, in bytes (16 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The default cap on series exported by `/metrics`.
pub const DEFAULT_MAX_EXPORTED_SERIES: usize = 10_000;

/// What the routes are built from.
#[derive(Debug)]
pub struct RouterParts {
    /// The validated config.
    pub config: Arc<Config>,
    /// Wall time, for receive times.
    pub clock: Arc<dyn Clock>,
    /// The writer's queue.
    pub queue: WriterQueue,
    /// A store connection for queries.
    pub reader: Store,
    /// The service's counters.
    pub metrics: Arc<Metrics>,
    /// How the routes reach the job runner.
    pub jobs: JobControl,
    /// The bearer tokens of the `/v1/...` routes; none: no authentication.
    pub auth: auth::Auth,
    /// The largest request body, in bytes.
    pub body_limit: usize,
    /// How long a request's body may take to arrive whole (else 408).
    pub body_timeout: Duration,
    /// The most bytes of request bodies held at once (past it, 503 with `Retry-After`).
    pub max_bodies_in_flight: usize,
    /// Most series `/metrics` exports.
    pub max_exported_series: usize,
    /// How long raw events are kept (for `POST /v1/admin/retention`); `POST /v1/events`
    /// refuses events older than that.
    pub retention: Retention,
    /// How far ahead of the clock `POST /v1/events` takes event times; none: any time.
    pub max_future: Option<Duration>,
    /// What `/readyz` adds after `ready` (a cluster node: the partitions it runs).
    pub ready_detail: Option<watch::Receiver<String>>,
    /// A cluster node's partitions: their job runners here, and the way to the node running
    /// any other (`forward.rs`); none on a single node.
    pub routing: forward::Routing,
}

/// What every handler shares.
#[derive(Clone)]
struct AppState {
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    queue: WriterQueue,
    reader: Arc<Mutex<Store>>,
    metrics: Arc<Metrics>,
    max_exported_series: usize,
    /// The largest request body, in bytes (for the 413's message).
    body_limit: usize,
    retention: Retention,
    max_future: Option<Duration>,
    jobs: JobControl,
    ready_detail: Option<watch::Receiver<String>>,
    routing: forward::Routing,
}

/// The routes of the service. Every clone holds the writer's queue open: the writer stops
/// once all of them (and so every in-flight request) are gone.
pub fn router(parts: RouterParts) -> Router {
    let auth = parts.auth.clone();
    let body_limit = parts.body_limit;
    let bodies = limits::BodyBounds::new(
        body_limit,
        parts.body_timeout,
        parts.max_bodies_in_flight,
        parts.metrics.clone(),
    );
    let state = AppState {
        config: parts.config,
        clock: parts.clock,
        queue: parts.queue,
        reader: Arc::new(Mutex::new(parts.reader)),
        metrics: parts.metrics,
        max_exported_series: parts.max_exported_series,
        body_limit,
        retention: parts.retention,
        max_future: parts.max_future,
        ready_detail: parts.ready_detail,
        jobs: parts.jobs,
        routing: parts.routing,
    };
    // Probes, scrapes and the OpenAPI document stay open; the /v1 routes need a token's
    // scope (see auth.rs). `routes!` registers each handler together with its
    // `#[utoipa::path]`, so the document lists exactly the routes served.
    let ingest = OpenApiRouter::new()
        .routes(routes!(ingest::post_events))
        .route_layer(middleware::from_fn_with_state(
            bodies.counted(),
            limits::bound_body,
        ))
        .route_layer(middleware::from_fn_with_state(
            (auth.clone(), auth::Scope::Ingest),
            auth::require,
        ));
    let reads = OpenApiRouter::new()
        .routes(routes!(alerts::get_alerts))
        .routes(routes!(alerts::get_alert))
        .routes(routes!(alerts::get_decisions))
        .routes(routes!(models::get_models))
        .routes(routes!(models::get_model))
        .routes(routes!(reference::get_reference))
        .routes(routes!(drift::get_drift))
        .routes(routes!(rules::get_rules))
        .routes(routes!(series::get_series))
        .routes(routes!(jobs::get_jobs))
        .routes(routes!(jobs::get_job))
        .routes(routes!(registry::get_versions))
        .routes(routes!(deliveries::get_deliveries))
        .routes(routes!(registry::get_audit))
        .routes(routes!(canary::get_canary, canary::post_canary))
        .routes(routes!(whoami::get_whoami))
        .route_layer(middleware::from_fn_with_state(
            bodies.clone(),
            limits::bound_body,
        ))
        .route_layer(middleware::from_fn_with_state(
            (auth.clone(), auth::Scope::Read),
            auth::require,
        ));
    let reports = OpenApiRouter::new()
        .routes(routes!(jobs::post_complete))
        .route_layer(middleware::from_fn_with_state(
            bodies.clone(),
            limits::bound_body,
        ))
        .route_layer(middleware::from_fn_with_state(
            (auth.clone(), auth::Scope::Ingest),
            auth::require,
        ));
    let admin = OpenApiRouter::new()
        .routes(routes!(operations::post_retention))
        .routes(routes!(jobs::post_cancel))
        .routes(routes!(retrain::post_retrain))
        .routes(routes!(reference::put_reference))
        .routes(routes!(registry::post_version_change))
        .route_layer(middleware::from_fn_with_state(
            bodies.clone(),
            limits::bound_body,
        ))
        .route_layer(middleware::from_fn_with_state(
            (auth, auth::Scope::Admin),
            auth::require,
        ));
    let (router, document) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(operations::healthz))
        .routes(routes!(operations::readyz))
        .routes(routes!(operations::get_metrics))
        .routes(routes!(openapi::get_openapi))
        .merge(ingest)
        .merge(reports)
        .merge(reads)
        .merge(admin)
        .split_for_parts();
    router
        .merge(crate::console::router())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(Extension(openapi::Served(Arc::new(document))))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(request_log::log_request))
        .with_state(state)
}

/// Runs a read of series points on the query connection, once the writer has written the
/// points of every input committed so far (they wait in its memory, off the acknowledgement
/// path), so the read sees every acknowledged event. While recovering, or after the writer
/// stopped, there is nobody to ask: the read sees what is stored. So it does while the store
/// cannot write (a full disk): the points of the latest events wait in the writer's memory.
async fn read_points<T: Send + 'static>(
    state: &AppState,
    query: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    match state.queue.ask(Message::FlushPoints).await {
        Some(Err(failed)) if !failed.retrying => {
            return Err(ApiError::Internal(failed.to_string()));
        }
        Some(Err(failed)) => {
            tracing::debug!(reason = %failed.message, "A read of points sees what is stored.");
        }
        Some(Ok(())) | None => {}
    }
    read(state, query).await
}

/// Runs a read on the query connection, on a blocking thread.
async fn read<T: Send + 'static>(
    state: &AppState,
    query: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let reader = state.reader.clone();
    tokio::task::spawn_blocking(move || {
        let store = reader
            .lock()
            .map_err(|_| ApiError::Internal("the query connection is poisoned".to_string()))?;
        query(&store).map_err(|error| ApiError::Internal(error.to_string()))
    })
    .await
    .map_err(|error| ApiError::Internal(format!("a query task failed: {error}")))?
}

/// A page of stored outputs, each in the JSON form `replay --format json` prints.
#[derive(Serialize)]
struct ListingBody {
    items: Vec<Box<RawValue>>,
    next: Option<i64>,
}

fn listing_body<T>(
    listing: Listing<T>,
    output: impl Fn(T) -> String,
) -> Result<ListingBody, ApiError> {
    let items = listing
        .items
        .into_iter()
        .map(|item| RawValue::from_string(output(item)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| ApiError::Internal(format!("a stored output is not JSON: {error}")))?;
    Ok(ListingBody {
        items,
        next: listing.next,
    })
}
