//! The HTTP service of `modelwatch serve`: the axum routes, their errors, and the start of the
//! writer thread (`writer.rs`) that owns the engine and the store.
//!
//! Handlers parse and stamp events, then hand them to the writer over a bounded queue
//! (`try_send`: a full queue is a 503 with `Retry-After`, never a wait or a drop) and answer
//! 202 only once the writer has committed them. Queries read the store through a second
//! connection of their own, on a blocking thread. Nothing here prints; the binary's
//! `cli/serve.rs` does.
//!
//! Every handler carries its `#[utoipa::path]` and is registered with `utoipa_axum::routes!`,
//! which builds the route and its entry in the OpenAPI document (`GET /openapi.json`,
//! `openapi.rs`) together. Every error is `ApiError`'s one JSON shape, query-string problems
//! included (`queries.rs` parses query strings by hand).

mod actions;
pub mod auth;
mod canary;
#[cfg(test)]
mod ingest_tests;
pub mod metrics;
mod openapi;
mod queries;
pub mod retention;
pub mod writer;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use modelwatch_engine::{
    AlertState, BatchError, Config, Format, InputError, Timestamp, WireParser,
};
use modelwatch_store::{
    AlertFilter, Checkpointer, Checkpoints, DecisionFilter, Listing, Page, Store, StoreError,
};
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot, watch};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use queries::{FromParams, Params, QueryParams};

use crate::clock::Clock;
use crate::effects::{Effects, EffectsError, EffectsSetup, JobControl};
pub use writer::{CommitFailed, Status, WriterError};

/// Where `serve` listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8780";

/// The largest request body taken, in bytes (16 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// How many requests may wait for the writer.
pub const DEFAULT_QUEUE_CAPACITY: usize = 1_024;

/// What a full queue or a recovering server asks clients to wait, in seconds.
const RETRY_AFTER_SECS: &str = "1";

/// The write-ahead log size (pages of 4 KiB, so 40 MB) at which the writer checkpoints by
/// itself, when the checkpoint thread falls behind.
const CHECKPOINT_BACKSTOP_PAGES: u32 = 10_000;

/// Knobs of the service.
#[derive(Clone, Debug)]
pub struct ServiceOptions {
    /// The largest request body, in bytes.
    pub body_limit: usize,
    /// How many requests may wait for the writer.
    pub queue_capacity: usize,
    /// Most series `/metrics` exports.
    pub max_exported_series: usize,
    /// The bearer tokens of the `/v1/...` routes; none: no authentication.
    pub auth: auth::Auth,
    /// Inputs between two engine snapshots.
    pub snapshot_every: u64,
    /// How long raw events are kept.
    pub retention: retention::Retention,
    /// The service's own base URL, for links in notifications.
    pub public_url: String,
}

impl Default for ServiceOptions {
    fn default() -> ServiceOptions {
        ServiceOptions {
            body_limit: DEFAULT_BODY_LIMIT,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            max_exported_series: metrics::DEFAULT_MAX_EXPORTED_SERIES,
            auth: auth::Auth::default(),
            snapshot_every: writer::DEFAULT_SNAPSHOT_EVERY,
            retention: retention::Retention::default(),
            public_url: format!("http://{DEFAULT_LISTEN}"),
        }
    }
}

/// Why the service could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The writer thread could not be started.
    #[error("cannot start the writer thread: {0}")]
    Spawn(std::io::Error),
    /// The writer stopped with an error.
    #[error(transparent)]
    Writer(#[from] WriterError),
    /// The writer thread panicked.
    #[error("the writer thread panicked")]
    WriterPanicked,
    /// The notifiers or the job runner cannot start (a secret cannot be read).
    #[error(transparent)]
    Effects(#[from] EffectsError),
    /// The service was started outside a Tokio runtime.
    #[error("the service must be started within a Tokio runtime")]
    NoRuntime,
}

/// A started service: the writer thread is running (recovering first) and [`Service::router`]
/// serves HTTP.
#[derive(Debug)]
pub struct Service {
    router: Router,
    status: watch::Receiver<Status>,
    writer: thread::JoinHandle<Result<(), WriterError>>,
    checkpointer: thread::JoinHandle<()>,
    effects: Effects,
    store_path: std::path::PathBuf,
}

impl Service {
    /// Opens the store in `data_dir` and starts the writer, which first replays the stored
    /// inputs; watch [`Service::status`] for the end of recovery.
    ///
    /// # Errors
    ///
    /// [`ServiceError::Store`] when the store cannot be opened, [`ServiceError::Spawn`] when
    /// the thread cannot be started.
    pub fn start(
        config: Arc<Config>,
        data_dir: &Path,
        clock: Arc<dyn Clock>,
        options: ServiceOptions,
    ) -> Result<Service, ServiceError> {
        let mut store = Store::open(data_dir)?;
        let store_path = store.path().to_path_buf();
        let reader = Store::open(data_dir)?;
        // Checkpoints of the write-ahead log run on their own thread and connection, so that
        // no commit waits for one (the writer steps in only if the log grows past 40 MB).
        let mut checkpointer = Checkpointer::open(&store)?;
        store.set_checkpoints(Checkpoints::Beside {
            backstop_pages: CHECKPOINT_BACKSTOP_PAGES,
        })?;
        let (checkpoints, checkpoint_requests) = std::sync::mpsc::sync_channel::<()>(1);
        let (status_sender, status) = watch::channel(Status::Recovering);
        let (outbox_sender, outbox) = watch::channel(0u64);
        let (queue, receiver) = mpsc::channel(options.queue_capacity.max(1));
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ServiceError::NoRuntime)?;
        let metrics = Arc::new(metrics::Metrics::default());
        // Before the writer starts: a secret that cannot be read stops the start.
        let effects = Effects::start(
            EffectsSetup {
                config: config.clone(),
                reader: Store::open(data_dir)?,
                queue: queue.downgrade(),
                outbox,
                clock: clock.clone(),
                link_base: options.public_url.clone(),
                metrics: metrics.clone(),
            },
            status.clone(),
        )?;
        let writer_config = config.clone();
        let writer_metrics = metrics.clone();
        let writer_options = writer::WriterOptions {
            snapshot_every: options.snapshot_every,
            started_at: clock.now(),
        };
        let writer = thread::Builder::new()
            .name("modelwatch-writer".to_string())
            .spawn(move || {
                writer::run(
                    writer_config,
                    store,
                    receiver,
                    &status_sender,
                    &writer_metrics,
                    writer_options,
                    writer::WriterLinks {
                        checkpoints: Some(checkpoints),
                        outbox: Some(outbox_sender),
                    },
                )
            })
            .map_err(ServiceError::Spawn)?;
        let checkpoint_metrics = metrics.clone();
        // Ends when the writer does (it holds the only sender).
        let checkpointer = thread::Builder::new()
            .name("modelwatch-checkpoint".to_string())
            .spawn(move || {
                for () in checkpoint_requests {
                    checkpoint_metrics.record_checkpoint(checkpointer.checkpoint().is_ok());
                }
            })
            .map_err(ServiceError::Spawn)?;
        if let Some(keep) = options.retention.keep {
            runtime.spawn(retention::periodic(
                queue.downgrade(),
                status.clone(),
                clock.clone(),
                keep,
                options.retention.interval,
            ));
        }
        let state = AppState {
            config,
            clock,
            queue,
            status: status.clone(),
            reader: Arc::new(Mutex::new(reader)),
            metrics,
            max_exported_series: options.max_exported_series,
            body_limit: options.body_limit,
            retention: options.retention,
            jobs: effects.jobs.clone(),
        };
        // Probes, scrapes and the OpenAPI document stay open; the /v1 routes need a token's
        // scope (see auth.rs). `routes!` registers each handler together with its
        // `#[utoipa::path]`, so the document lists exactly the routes served.
        let ingest = OpenApiRouter::new()
            .routes(routes!(post_events))
            .route_layer(middleware::from_fn_with_state(
                (options.auth.clone(), auth::Scope::Ingest),
                auth::require,
            ));
        let reads = OpenApiRouter::new()
            .routes(routes!(get_alerts))
            .routes(routes!(get_decisions))
            .routes(routes!(queries::get_models))
            .routes(routes!(queries::get_model))
            .routes(routes!(queries::get_series))
            .routes(routes!(actions::get_jobs))
            .routes(routes!(actions::get_job))
            .routes(routes!(actions::get_versions))
            .routes(routes!(actions::get_deliveries))
            .routes(routes!(actions::get_audit))
            .routes(routes!(canary::get_canary, canary::post_canary))
            .route_layer(middleware::from_fn_with_state(
                (options.auth.clone(), auth::Scope::Read),
                auth::require,
            ));
        let reports = OpenApiRouter::new()
            .routes(routes!(actions::post_complete))
            .route_layer(middleware::from_fn_with_state(
                (options.auth.clone(), auth::Scope::Ingest),
                auth::require,
            ));
        let admin = OpenApiRouter::new()
            .routes(routes!(post_retention))
            .routes(routes!(actions::post_cancel))
            .routes(routes!(actions::post_retrain))
            .routes(routes!(actions::post_version_change))
            .route_layer(middleware::from_fn_with_state(
                (options.auth.clone(), auth::Scope::Admin),
                auth::require,
            ));
        let (router, document) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
            .routes(routes!(healthz))
            .routes(routes!(readyz))
            .routes(routes!(get_metrics))
            .routes(routes!(openapi::get_openapi))
            .merge(ingest)
            .merge(reports)
            .merge(reads)
            .merge(admin)
            .split_for_parts();
        let router = router
            .fallback(not_found)
            .layer(Extension(openapi::Served(Arc::new(document))))
            .layer(DefaultBodyLimit::max(options.body_limit))
            .with_state(state);
        Ok(Service {
            router,
            status,
            writer,
            checkpointer,
            effects,
            store_path,
        })
    }

    /// The routes. Every clone holds the ingest queue open: the writer stops once all of
    /// them (and so every in-flight request) are gone.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Where the writer stands (recovering, ready, failed).
    pub fn status(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    /// The database file.
    pub fn store_path(&self) -> &Path {
        &self.store_path
    }

    /// Drops the routes (closing the queue once no request holds it) and waits for the
    /// writer to commit what it has and stop. Blocks: call it off the async runtime.
    ///
    /// # Errors
    ///
    /// What stopped the writer, if it failed.
    pub fn join(self) -> Result<(), ServiceError> {
        drop(self.router);
        let written = match self.writer.join() {
            Ok(result) => result.map_err(ServiceError::from),
            Err(_) => Err(ServiceError::WriterPanicked),
        };
        // The writer is gone, so is the checkpointer's queue: it ends after its last request.
        let _ = self.checkpointer.join();
        // The effects end by themselves once the writer is gone; a request under way (a
        // webhook, a running command) is cut short and tried again at the next start.
        self.effects.abort();
        written
    }
}

#[derive(Clone)]
struct AppState {
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    queue: mpsc::Sender<writer::Job>,
    status: watch::Receiver<Status>,
    reader: Arc<Mutex<Store>>,
    metrics: Arc<metrics::Metrics>,
    max_exported_series: usize,
    /// The largest request body, in bytes (for the 413's message).
    body_limit: usize,
    retention: retention::Retention,
    jobs: JobControl,
}

/// `GET /healthz`.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    summary = "Liveness: the process answers HTTP",
    responses((status = 200, description = "Alive (empty body)"))
)]
async fn healthz() -> StatusCode {
    StatusCode::OK
}

/// `GET /readyz`.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    summary = "Readiness: recovery has finished and the writer runs",
    responses(
        (status = 200, description = "Ready", body = String, content_type = "text/plain",
            example = "ready\n"),
        (status = 503, description = "Still replaying the stored inputs (`recovering`), or the \
            writer stopped after a failed commit (`failed`)", body = String,
            content_type = "text/plain", example = "recovering\n")
    )
)]
async fn readyz(State(state): State<AppState>) -> Response {
    match &*state.status.borrow() {
        Status::Ready { .. } => (StatusCode::OK, "ready\n").into_response(),
        Status::Recovering => (StatusCode::SERVICE_UNAVAILABLE, "recovering\n").into_response(),
        Status::Failed { .. } => (StatusCode::SERVICE_UNAVAILABLE, "failed\n").into_response(),
    }
}

/// `GET /metrics` (the handler is `metrics.rs`'s).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    summary = "Prometheus metrics",
    description = "The Prometheus text exposition format 0.0.4: events ingested and refused (by \
        reason), queue depth, commit latency, retrain decisions, and each series' latest value \
        and rule state (at most `--metrics-max-series` series).",
    responses(
        (status = 200, description = "The metrics", body = String,
            content_type = "text/plain; version=0.0.4")
    )
)]
async fn get_metrics(state: State<AppState>) -> Response {
    metrics::get_metrics(state).await
}

/// `POST /v1/admin/retention` (the handler is `retention.rs`'s).
#[utoipa::path(
    post,
    path = "/v1/admin/retention",
    tag = "operations",
    summary = "Run a retention pass now",
    description = "Deletes stored inputs and points older than `--retention` (or joins the pass \
        under way) and answers with what it deleted.",
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "What the pass deleted", body = openapi::RetentionReport),
        (status = 401, description = "Missing or unknown bearer token", body = openapi::ErrorResponse,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 403, description = "The token lacks the `admin` scope", body = openapi::ErrorResponse),
        (status = 409, description = "Retention is off (`--retention off`)", body = openapi::ErrorResponse),
        (status = 500, description = "The pass failed", body = openapi::ErrorResponse),
        (status = 503, description = "Recovering, the queue is full, or the writer stopped",
            body = openapi::ErrorResponse,
            headers(("Retry-After" = String, description = "Seconds to wait (recovering or queue full)")))
    )
)]
async fn post_retention(state: State<AppState>) -> Response {
    retention::post_retention(state).await
}

/// `{"accepted": N}`: how many events were stored.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Accepted {
    /// The number of events stored, all of the batch.
    accepted: usize,
}

/// `POST /v1/events`, counting every refusal (including the body limit's 413) on `/metrics`.
#[utoipa::path(
    post,
    path = "/v1/events",
    tag = "ingest",
    summary = "Ingest metric events",
    description = "One event or an array of events as `application/json`, or events separated by \
        whitespace (normally one a line) as `application/x-ndjson`; the format of `docs/events.md`. \
        A batch is all-or-nothing: the answer 202 comes once every event is committed to the \
        store, and a refused batch leaves no trace. Missing timestamps take the receive time.",
    request_body(
        description = "The events (at most 100,000 per batch, at most the body limit in bytes)",
        content(
            (openapi::EventBatch = "application/json"),
            (String = "application/x-ndjson",
                example = "{\"model\": {\"name\": \"fraud-detector\", \"version\": \"1.4.0\"}, \"metric\": \"accuracy\", \"value\": 0.93}\n")
        )
    ),
    security(("bearer" = ["ingest"]), ("bearer" = ["admin"])),
    responses(
        (status = 202, description = "Every event is stored", body = Accepted),
        (status = 400, description = "Not JSON (each syntax error in `errors` with its line and \
            column), no event at all, not UTF-8, or a body that could not be read",
            body = openapi::ErrorResponse),
        (status = 401, description = "Missing or unknown bearer token", body = openapi::ErrorResponse,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 403, description = "The token lacks the `ingest` scope", body = openapi::ErrorResponse),
        (status = 413, description = "The body is larger than the body limit, or holds more than \
            100,000 events; nothing was stored", body = openapi::ErrorResponse),
        (status = 415, description = "Content-Type is neither application/json nor \
            application/x-ndjson", body = openapi::ErrorResponse),
        (status = 422, description = "Invalid events: each problem in `errors` with the event's \
            index, line and field; nothing was stored", body = openapi::ErrorResponse),
        (status = 500, description = "The commit failed; nothing of this request is stored and \
            the server stops", body = openapi::ErrorResponse),
        (status = 503, description = "Recovering or the ingest queue is full (with Retry-After), \
            or the writer has stopped", body = openapi::ErrorResponse,
            headers(("Retry-After" = String, description = "Seconds to wait (recovering or queue full)")))
    )
)]
async fn post_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let metrics = state.metrics.clone();
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            metrics.record_body_refusal(rejection.status());
            let message = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                format!(
                    "the body is larger than the limit of {} bytes; nothing was stored (send \
                     smaller batches)",
                    state.body_limit
                )
            } else {
                format!("cannot read the body: {}", rejection.body_text())
            };
            return error_response(rejection.status(), message, None);
        }
    };
    match ingest(state, headers, body).await {
        Ok(accepted) => accepted.into_response(),
        Err(error) => {
            metrics.record_refusal(&error);
            error.into_response()
        }
    }
}

async fn ingest(
    state: AppState,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let format = body_format(&headers)?;
    match &*state.status.borrow() {
        Status::Ready { .. } => {}
        Status::Recovering => return Err(ApiError::Recovering),
        Status::Failed { .. } => return Err(ApiError::WriterStopped),
    }
    let text = std::str::from_utf8(&body).map_err(|error| ApiError::NotUtf8 {
        valid_up_to: error.valid_up_to(),
    })?;
    let received_at = state.clock.now();
    let mut inputs = WireParser::new(&state.config.catalog).parse_batch(text, format)?;
    for input in &mut inputs {
        input.stamp_if_missing(received_at);
    }
    let stored = commit_inputs(&state, inputs, received_at).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            accepted: stored.accepted,
        }),
    ))
}

/// Hands inputs (stamped) to the writer (a full queue is a 503, never a wait) and waits for
/// their commit.
async fn commit_inputs(
    state: &AppState,
    inputs: Vec<modelwatch_engine::Input>,
    received_at: Timestamp,
) -> Result<writer::Stored, ApiError> {
    match &*state.status.borrow() {
        Status::Ready { .. } => {}
        Status::Recovering => return Err(ApiError::Recovering),
        Status::Failed { .. } => return Err(ApiError::WriterStopped),
    }
    let (reply, answer) = oneshot::channel();
    let request = writer::Request {
        inputs,
        effects: Vec::new(),
        received_at,
        reply,
    };
    state
        .queue
        .try_send(writer::Job::Events(request))
        .map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => ApiError::QueueFull,
            mpsc::error::TrySendError::Closed(_) => ApiError::WriterStopped,
        })?;
    match answer.await {
        Ok(Ok(stored)) => Ok(stored),
        Ok(Err(failed)) => Err(ApiError::CommitFailed(failed)),
        Err(_) => Err(ApiError::WriterStopped),
    }
}

/// The body's format from its media type (parameters such as `charset` are ignored).
fn body_format(headers: &HeaderMap) -> Result<Format, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media_type.as_str() {
        "application/json" => Ok(Format::Json),
        "application/x-ndjson" => Ok(Format::Ndjson),
        _ => Err(ApiError::UnsupportedMediaType {
            content_type: content_type.to_string(),
        }),
    }
}

/// The query of `GET /v1/alerts`.
#[derive(Debug)]
struct AlertsQuery {
    state: Option<AlertState>,
    model: Option<String>,
    since: Option<Timestamp>,
    page: Page,
}

impl FromParams for AlertsQuery {
    const NAMES: &'static [&'static str] = &["state", "model", "since", "after", "limit"];

    fn from_params(params: &mut Params) -> Result<AlertsQuery, ApiError> {
        let state = match params.text("state") {
            None => None,
            Some(name) => Some(
                ALERT_STATES
                    .into_iter()
                    .find(|candidate| candidate.as_str() == name)
                    .ok_or_else(|| {
                        ApiError::bad_query(
                            "state",
                            format!(
                                "unknown alert state {name:?}; expected one of pending, firing, \
                                 resolved, inactive, drift, warning"
                            ),
                        )
                    })?,
            ),
        };
        Ok(AlertsQuery {
            state,
            model: params.text("model"),
            since: params.time("since")?,
            page: listing_page(params)?,
        })
    }
}

/// The query of `GET /v1/decisions`.
#[derive(Debug)]
struct DecisionsQuery {
    model: Option<String>,
    page: Page,
}

impl FromParams for DecisionsQuery {
    const NAMES: &'static [&'static str] = &["model", "after", "limit"];

    fn from_params(params: &mut Params) -> Result<DecisionsQuery, ApiError> {
        Ok(DecisionsQuery {
            model: params.text("model"),
            page: listing_page(params)?,
        })
    }
}

/// A listing's `after` (a previous page's `next`) and `limit`, newest first.
fn listing_page(params: &mut Params) -> Result<Page, ApiError> {
    Ok(Page {
        after: params.parse("after", "is not a cursor; pass a previous page's \"next\"")?,
        limit: params.limit()?,
        order: Page::default().order,
    })
}

/// A page of stored outputs, each in the JSON form `replay --format json` prints.
#[derive(Serialize)]
struct ListingBody {
    items: Vec<Box<RawValue>>,
    next: Option<i64>,
}

const ALERT_STATES: [AlertState; 6] = [
    AlertState::Pending,
    AlertState::Firing,
    AlertState::Resolved,
    AlertState::Inactive,
    AlertState::Drift,
    AlertState::Warning,
];

/// `GET /v1/alerts`.
#[utoipa::path(
    get,
    path = "/v1/alerts",
    tag = "query",
    summary = "Alert transitions, newest first",
    params(openapi::AlertsParams),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "One page of alert transitions", body = openapi::AlertPage),
        (status = 400, description = "A bad query parameter, named in `parameter`",
            body = openapi::ErrorResponse),
        openapi::ReadErrors
    )
)]
async fn get_alerts(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<AlertsQuery>,
) -> Result<Json<ListingBody>, ApiError> {
    let filter = AlertFilter {
        model: query.model,
        state: query.state,
        since: query.since,
        ..AlertFilter::default()
    };
    let page = query.page;
    let listing = read(&state, move |store| store.alerts(&filter, &page)).await?;
    listing_body(listing, |alert| alert.output)
}

/// `GET /v1/decisions`.
#[utoipa::path(
    get,
    path = "/v1/decisions",
    tag = "query",
    summary = "Retrain decisions, newest first",
    params(openapi::DecisionsParams),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "One page of retrain decisions", body = openapi::DecisionPage),
        (status = 400, description = "A bad query parameter, named in `parameter`",
            body = openapi::ErrorResponse),
        openapi::ReadErrors
    )
)]
async fn get_decisions(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<DecisionsQuery>,
) -> Result<Json<ListingBody>, ApiError> {
    let filter = DecisionFilter {
        model: query.model,
        ..DecisionFilter::default()
    };
    let page = query.page;
    let listing = read(&state, move |store| store.decisions(&filter, &page)).await?;
    listing_body(listing, |decision| decision.output)
}

/// Runs a read of series points on the query connection, once the writer has written the
/// points of every input committed so far (they wait in its memory, off the acknowledgement
/// path), so the read sees every acknowledged event. While recovering, or after the writer
/// stopped, there is nobody to ask: the read sees what is stored.
async fn read_points<T: Send + 'static>(
    state: &AppState,
    query: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    if let Some(Err(failed)) = ask_writer(state, writer::Job::FlushPoints).await {
        return Err(ApiError::Internal(failed.to_string()));
    }
    read(state, query).await
}

/// Sends the writer a job carrying `reply` and waits for the answer, behind the ingest requests
/// already queued. `None` when there is nobody to ask: recovering, or the writer has stopped.
async fn ask_writer<T>(
    state: &AppState,
    job: impl FnOnce(oneshot::Sender<T>) -> writer::Job,
) -> Option<T> {
    if !matches!(&*state.status.borrow(), Status::Ready { .. }) {
        return None;
    }
    let (reply, answer) = oneshot::channel();
    state.queue.send(job(reply)).await.ok()?;
    answer.await.ok()
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

fn listing_body<T>(
    listing: Listing<T>,
    output: impl Fn(T) -> String,
) -> Result<Json<ListingBody>, ApiError> {
    let items = listing
        .items
        .into_iter()
        .map(|item| RawValue::from_string(output(item)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| ApiError::Internal(format!("a stored output is not JSON: {error}")))?;
    Ok(Json(ListingBody {
        items,
        next: listing.next,
    }))
}

/// Every error a route answers with; one JSON body shape: `{"error": ..., ...}`.
#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error(
        "unsupported content type {content_type:?}: send application/json (an object or an array) or application/x-ndjson"
    )]
    UnsupportedMediaType { content_type: String },
    #[error("the body is not UTF-8 (valid up to byte {valid_up_to})")]
    NotUtf8 { valid_up_to: usize },
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// A bad query (or path) parameter: `field` names it.
    #[error("{field}: {message}")]
    BadQuery { field: String, message: String },
    #[error("the server is replaying its stored events; retry shortly")]
    Recovering,
    #[error("the ingest queue is full; retry shortly")]
    QueueFull,
    #[error("the writer has stopped after a failed commit; the server is shutting down")]
    WriterStopped,
    #[error("{0}; nothing of this request is stored and the server stops accepting events")]
    CommitFailed(CommitFailed),
    #[error("internal error: {0}")]
    Internal(String),
    /// What the path names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request does not fit the state of what it names.
    #[error("{0}")]
    Conflict(String),
    /// The body is well-formed but does not make sense.
    #[error("{0}")]
    Unprocessable(String),
    #[error("{message}")]
    Unauthorized { message: &'static str },
    #[error("this token lacks the {} scope", scope.as_str())]
    Forbidden { scope: auth::Scope },
}

impl ApiError {
    fn bad_query(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::BadQuery {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The one error body (`openapi::ErrorResponse` documents it).
#[derive(Serialize)]
struct ErrorBody<'e> {
    error: String,
    #[serde(skip_serializing_if = "<[InputError]>::is_empty")]
    errors: &'e [InputError],
    #[serde(skip_serializing_if = "is_zero")]
    omitted: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameter: Option<&'e str>,
}

/// An error answer without events to list, such as a refused body.
fn error_response(status: StatusCode, error: String, parameter: Option<&str>) -> Response {
    let body = ErrorBody {
        error,
        errors: &[],
        omitted: 0,
        parameter,
    };
    (status, Json(body)).into_response()
}

/// Every path the router does not know: a 404 in the API's error shape.
async fn not_found(uri: axum::http::Uri) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        format!("no route for {}; see /openapi.json", uri.path()),
        None,
    )
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotUtf8 { .. } | ApiError::BadQuery { .. } => StatusCode::BAD_REQUEST,
            ApiError::Batch(BatchError::Empty | BatchError::Syntax { .. }) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Batch(BatchError::Invalid { .. }) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Batch(BatchError::TooMany { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Recovering | ApiError::QueueFull | ApiError::WriterStopped => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::CommitFailed(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let (title, errors, omitted) = match &self {
            ApiError::Batch(BatchError::Syntax { errors, omitted }) => (
                "the body is not valid JSON".to_string(),
                &errors[..],
                *omitted,
            ),
            ApiError::Batch(BatchError::Invalid { errors, omitted }) => (
                "invalid events; nothing was stored".to_string(),
                &errors[..],
                *omitted,
            ),
            other => (other.to_string(), &[][..], 0),
        };
        let parameter = match &self {
            ApiError::BadQuery { field, .. } => Some(field.as_str()),
            _ => None,
        };
        let body = ErrorBody {
            error: title,
            errors,
            omitted,
            parameter,
        };
        let mut response = (status, Json(body)).into_response();
        if matches!(self, ApiError::Recovering | ApiError::QueueFull) {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        if matches!(self, ApiError::Unauthorized { .. }) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
