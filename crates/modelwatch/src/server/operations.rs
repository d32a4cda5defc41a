//! The operator's routes: liveness and readiness probes, `GET /metrics` and
//! `POST /v1/admin/retention`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::oneshot;

use super::error::ApiError;
use super::{AppState, openapi, read};
use crate::runtime::Status;
use crate::runtime::metrics;
use crate::runtime::retention;
use crate::runtime::writer::{Message, RetentionRequest, SeriesRequest};

/// `GET /healthz`.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    summary = "Liveness: the process answers HTTP",
    responses((status = 200, description = "Alive (empty body)"))
)]
pub(super) async fn healthz() -> StatusCode {
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
        (status = 503, description = "Still replaying the stored inputs (`recovering`), the \
            store cannot write for now and the writer retries (`the last commit failed: ...; \
            retrying`, with the store's error, such as a full disk), or the writer stopped after a failed commit \
            (`failed`)", body = String, content_type = "text/plain", example = "recovering\n")
    )
)]
pub(super) async fn readyz(State(state): State<AppState>) -> Response {
    match &*state.queue.status().borrow() {
        Status::Ready { .. } => match &state.ready_detail {
            Some(detail) => {
                (StatusCode::OK, format!("ready\n{}", *detail.borrow())).into_response()
            }
            None => (StatusCode::OK, "ready\n").into_response(),
        },
        Status::Recovering => (StatusCode::SERVICE_UNAVAILABLE, "recovering\n").into_response(),
        Status::Retrying { message } => {
            (StatusCode::SERVICE_UNAVAILABLE, format!("{message}\n")).into_response()
        }
        Status::Failed { .. } => (StatusCode::SERVICE_UNAVAILABLE, "failed\n").into_response(),
    }
}

/// `GET /metrics`: the counters, and the series the writer exports.
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
pub(super) async fn get_metrics(State(state): State<AppState>) -> Response {
    // Without a writer to answer (still recovering, or stopped) a scrape exports the counters
    // alone.
    let cap = state.max_exported_series;
    let series = state
        .queue
        .ask(|reply| Message::Series(SeriesRequest { cap, reply }))
        .await;
    // The jobs by state and the store's size, from the query connection; a failed read keeps
    // the values of the scrape before (and says so in the log).
    match read(&state, |store| {
        Ok((store.job_counts()?, store.disk_bytes()))
    })
    .await
    {
        Ok((jobs, bytes)) => state.metrics.record_store(&jobs, bytes),
        Err(error) => {
            tracing::warn!(%error, "A scrape could not read the jobs and the store's size.")
        }
    }
    let body = metrics::render(&state.metrics, state.queue.depth(), series);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        body,
    )
        .into_response()
}

/// `POST /v1/admin/retention`: runs a pass now (or joins the one under way) and answers with
/// what it deleted.
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
pub(super) async fn post_retention(State(state): State<AppState>) -> Result<Response, ApiError> {
    let Some(keep) = state.retention.keep else {
        return Err(ApiError::Conflict(
            "retention is off (--retention off): nothing is ever deleted".to_string(),
        ));
    };
    state.queue.check_ready()?;
    let now = state.clock.now();
    let (reply, answer) = oneshot::channel();
    let request = RetentionRequest {
        cutoff: retention::cutoff(now, keep),
        now,
        reply: Some(reply),
    };
    state.queue.try_send(Message::Retention(request))?;
    match answer.await {
        Ok(Ok(report)) => Ok((StatusCode::OK, Json(report)).into_response()),
        Ok(Err(message)) => Err(ApiError::Internal(format!("retention failed: {message}"))),
        Err(_) => Err(ApiError::STOPPED),
    }
}
