//! The HTTP service of `modelwatch serve`: the axum routes, their errors, and the start of the
//! writer thread (`writer.rs`) that owns the engine and the store.
//!
//! Handlers parse and stamp events, then hand them to the writer over a bounded queue
//! (`try_send`: a full queue is a 503 with `Retry-After`, never a wait or a drop) and answer
//! 202 only once the writer has committed them. Queries read the store through a second
//! connection of their own, on a blocking thread. Nothing here prints; the binary's
//! `cli/serve.rs` does.

pub mod auth;
pub mod metrics;
mod queries;
pub mod writer;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;

use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use modelwatch_engine::{
    AlertState, BatchError, Config, Format, InputError, Timestamp, WireParser,
};
use modelwatch_store::{AlertFilter, DecisionFilter, Listing, Page, Store, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot, watch};

use crate::clock::Clock;
pub use writer::{CommitFailed, Status, WriterError};

/// The largest request body taken, in bytes (16 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// How many requests may wait for the writer.
pub const DEFAULT_QUEUE_CAPACITY: usize = 1_024;

/// What a full queue or a recovering server asks clients to wait, in seconds.
const RETRY_AFTER_SECS: &str = "1";

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
}

impl Default for ServiceOptions {
    fn default() -> ServiceOptions {
        ServiceOptions {
            body_limit: DEFAULT_BODY_LIMIT,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            max_exported_series: metrics::DEFAULT_MAX_EXPORTED_SERIES,
            auth: auth::Auth::default(),
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
}

/// A started service: the writer thread is running (recovering first) and [`Service::router`]
/// serves HTTP.
#[derive(Debug)]
pub struct Service {
    router: Router,
    status: watch::Receiver<Status>,
    writer: thread::JoinHandle<Result<(), WriterError>>,
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
        let store = Store::open(data_dir)?;
        let store_path = store.path().to_path_buf();
        let reader = Store::open(data_dir)?;
        let (status_sender, status) = watch::channel(Status::Recovering);
        let (queue, receiver) = mpsc::channel(options.queue_capacity.max(1));
        let writer_config = config.clone();
        let metrics = Arc::new(metrics::Metrics::default());
        let writer_metrics = metrics.clone();
        let writer = thread::Builder::new()
            .name("modelwatch-writer".to_string())
            .spawn(move || {
                writer::run(
                    writer_config,
                    store,
                    receiver,
                    &status_sender,
                    &writer_metrics,
                )
            })
            .map_err(ServiceError::Spawn)?;
        let state = AppState {
            config,
            clock,
            queue,
            status: status.clone(),
            reader: Arc::new(Mutex::new(reader)),
            metrics,
            max_exported_series: options.max_exported_series,
        };
        // Probes and scrapes stay open; the /v1 routes need a token's scope (see auth.rs).
        let ingest = Router::new()
            .route("/v1/events", post(post_events))
            .route_layer(middleware::from_fn_with_state(
                (options.auth.clone(), auth::Scope::Ingest),
                auth::require,
            ));
        let reads = Router::new()
            .route("/v1/alerts", get(get_alerts))
            .route("/v1/decisions", get(get_decisions))
            .route("/v1/models", get(queries::get_models))
            .route("/v1/models/{name}", get(queries::get_model))
            .route("/v1/series", get(queries::get_series))
            .route_layer(middleware::from_fn_with_state(
                (options.auth.clone(), auth::Scope::Read),
                auth::require,
            ));
        let router = Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics::get_metrics))
            .merge(ingest)
            .merge(reads)
            .layer(DefaultBodyLimit::max(options.body_limit))
            .with_state(state);
        Ok(Service {
            router,
            status,
            writer,
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
        match self.writer.join() {
            Ok(result) => result.map_err(ServiceError::from),
            Err(_) => Err(ServiceError::WriterPanicked),
        }
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
}

async fn healthz() -> StatusCode {
    StatusCode::OK
}

async fn readyz(State(state): State<AppState>) -> Response {
    match &*state.status.borrow() {
        Status::Ready { .. } => (StatusCode::OK, "ready\n").into_response(),
        Status::Recovering => (StatusCode::SERVICE_UNAVAILABLE, "recovering\n").into_response(),
        Status::Failed { .. } => (StatusCode::SERVICE_UNAVAILABLE, "failed\n").into_response(),
    }
}

#[derive(Serialize)]
struct Accepted {
    accepted: usize,
}

/// `POST /v1/events`, counting every refusal (including the body limit's 413) on `/metrics`.
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
            return rejection.into_response();
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
    let (reply, answer) = oneshot::channel();
    let request = writer::Request {
        inputs,
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
        Ok(Ok(accepted)) => Ok((StatusCode::ACCEPTED, Json(Accepted { accepted }))),
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertsQuery {
    state: Option<String>,
    model: Option<String>,
    since: Option<String>,
    after: Option<i64>,
    limit: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionsQuery {
    model: Option<String>,
    after: Option<i64>,
    limit: Option<usize>,
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

async fn get_alerts(
    State(state): State<AppState>,
    Query(query): Query<AlertsQuery>,
) -> Result<Json<ListingBody>, ApiError> {
    let alert_state = match query.state.as_deref() {
        None => None,
        Some(name) => Some(
            ALERT_STATES
                .into_iter()
                .find(|candidate| candidate.as_str() == name)
                .ok_or_else(|| ApiError::BadQuery {
                    field: "state",
                    message: format!(
                        "unknown alert state {name:?}; expected one of pending, firing, resolved, inactive, drift, warning"
                    ),
                })?,
        ),
    };
    let since = match query.since.as_deref() {
        None => None,
        Some(text) => {
            Some(
                Timestamp::parse_rfc3339(text).map_err(|message| ApiError::BadQuery {
                    field: "since",
                    message,
                })?,
            )
        }
    };
    let filter = AlertFilter {
        model: query.model,
        state: alert_state,
        since,
        ..AlertFilter::default()
    };
    let page = page(query.after, query.limit);
    let listing = read(&state, move |store| store.alerts(&filter, &page)).await?;
    listing_body(listing, |alert| alert.output)
}

async fn get_decisions(
    State(state): State<AppState>,
    Query(query): Query<DecisionsQuery>,
) -> Result<Json<ListingBody>, ApiError> {
    let filter = DecisionFilter {
        model: query.model,
        ..DecisionFilter::default()
    };
    let page = page(query.after, query.limit);
    let listing = read(&state, move |store| store.decisions(&filter, &page)).await?;
    listing_body(listing, |decision| decision.output)
}

fn page(after: Option<i64>, limit: Option<usize>) -> Page {
    let default = Page::default();
    Page {
        after,
        limit: limit.unwrap_or(default.limit),
        order: default.order,
    }
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
    #[error("{field}: {message}")]
    BadQuery {
        field: &'static str,
        message: String,
    },
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
    #[error("{message}")]
    Unauthorized { message: &'static str },
    #[error("this token lacks the {} scope", scope.as_str())]
    Forbidden { scope: auth::Scope },
}

#[derive(Serialize)]
struct ErrorBody<'e> {
    error: String,
    #[serde(skip_serializing_if = "<[InputError]>::is_empty")]
    errors: &'e [InputError],
    #[serde(skip_serializing_if = "is_zero")]
    omitted: usize,
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
        let body = ErrorBody {
            error: title,
            errors,
            omitted,
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
