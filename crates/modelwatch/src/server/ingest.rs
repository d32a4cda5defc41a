//! `POST /v1/events`: a batch of events in, all or nothing, answered 202 once the writer has
//! committed every one of them and everything they caused.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use modelwatch_engine::{Format, WireParser};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, error_response};
use super::{AppState, event_time, openapi};
use crate::runtime::metrics::Rejection;

/// `{"accepted": N}`: how many events were stored.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Accepted {
    /// The number of events stored, all of the batch.
    accepted: usize,
}

/// `POST /v1/events`, counting every refusal on `/metrics` (the body bounds' 413 and 503 are
/// counted by `limits.rs`, before the handler).
#[utoipa::path(
    post,
    path = "/v1/events",
    tag = "ingest",
    summary = "Ingest metric events",
    description = "One event or an array of events as `application/json`, or events separated by \
        whitespace (normally one a line) as `application/x-ndjson`; the format of `docs/events.md`. \
        A batch is all-or-nothing: the answer 202 comes once every event is committed to the \
        store, and a refused batch leaves no trace. Missing timestamps take the receive time; \
        a timestamp more than `--max-future` (default 5m) ahead of the server's clock, or older \
        than the retention window (`--retention`, default 30d), is refused (422, the error \
        names the limit).",
    request_body(
        description = "The events (at most 100,000 per batch, at most the body limit in bytes)",
        content(
            (openapi::EventBatch = "application/json"),
            (String = "application/x-ndjson",
                example = "{\"model\": {\"name\": \"fraud-detector\", \"version\": \"1.4.0\"}, \"metric\": \"accuracy\", \"value\": 0.93}\n")
        )
    ),
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 200 visible ASCII \
            characters. On a cluster node the ingest log stores a request retried with the same \
            key once (within 15 minutes); a single node checks it and does not keep it.")
    ),
    security(("bearer" = ["ingest"]), ("bearer" = ["admin"])),
    responses(
        (status = 202, description = "Every event is stored", body = Accepted),
        (status = 400, description = "Not JSON (each syntax error in `errors` with its line and \
            column), no event at all, not UTF-8, a body that could not be read, or an \
            `Idempotency-Key` header that is not 1 to 200 visible ASCII characters",
            body = openapi::ErrorResponse),
        (status = 401, description = "Missing or unknown bearer token", body = openapi::ErrorResponse,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 403, description = "The token lacks the `ingest` scope", body = openapi::ErrorResponse),
        (status = 408, description = "The body did not arrive whole within the body timeout \
            (`--body-timeout`); nothing was stored and the connection is closed",
            body = openapi::ErrorResponse),
        (status = 413, description = "The body is larger than the body limit (answered before it \
            is read when its Content-Length says so), or holds more than 100,000 events; nothing \
            was stored", body = openapi::ErrorResponse),
        (status = 415, description = "Content-Type is neither application/json nor \
            application/x-ndjson", body = openapi::ErrorResponse),
        (status = 422, description = "Invalid events: each problem in `errors` with the event's \
            index, line and field (a timestamp too far ahead or older than the retention \
            included); nothing was stored", body = openapi::ErrorResponse),
        (status = 500, description = "The commit failed; nothing of this request is stored and \
            the server stops. The body is only `internal error` and the request's id; the \
            server's log has the cause under it", body = openapi::ErrorResponse),
        (status = 503, description = "Recovering, the ingest queue is full, or the request \
            bodies in flight are at their cap (all with Retry-After), or the writer has stopped",
            body = openapi::ErrorResponse,
            headers(("Retry-After" = String, description = "Seconds to wait (recovering, queue \
                full, bodies in flight)")))
    )
)]
pub(super) async fn post_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let metrics = state.metrics.clone();
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                metrics.record_refusal(Rejection::TooLarge);
            }
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
            if let Some(rejection) = error.rejection() {
                metrics.record_refusal(rejection);
            }
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
    state.queue.check_ready()?;
    let text = std::str::from_utf8(&body).map_err(|error| ApiError::NotUtf8 {
        valid_up_to: error.valid_up_to(),
    })?;
    let received_at = state.clock.now();
    let bounds = event_time::bounds(received_at, state.max_future, &state.retention);
    let mut inputs = WireParser::new(&state.config.catalog)
        .with_time_bounds(&bounds)
        .with_models(&state.config.models)
        .parse_batch(text, format)?;
    for input in &mut inputs {
        input.stamp_if_missing(received_at);
    }
    let key = idempotency_key(&headers)?;
    let stored = state.queue.commit_keyed(inputs, received_at, key).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            accepted: stored.accepted,
        }),
    ))
}

/// The `Idempotency-Key` header, if any: 1 to 200 visible ASCII characters (it becomes part
/// of the ingest log's message ids in a cluster).
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().ok().filter(|key| {
        !key.is_empty() && key.len() <= 200 && key.bytes().all(|byte| byte.is_ascii_graphic())
    });
    match key {
        Some(key) => Ok(Some(key.to_string())),
        None => Err(ApiError::BadQuery {
            field: "Idempotency-Key".to_string(),
            message: "the header must be 1 to 200 visible ASCII characters".to_string(),
        }),
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
            accepted: super::error::EVENT_TYPES,
        }),
    }
}
