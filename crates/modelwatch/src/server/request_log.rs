//! The request log: every request gets an id (answered in `X-Request-Id`) and one `debug`
//! event when it is answered, with its method, route (the matched path template, such as
//! `/v1/jobs/{id}`, never the raw path), status, duration and caller (the token's configured
//! name, never its value). A 500 answers only `{"error": "internal error", "request_id": ...}`;
//! its detail goes to the log at `error`, under the same id.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tokio::time::Instant;

use super::auth::Caller;
use super::error::{InternalError, internal_error_response};

/// The header that carries a request's id in the answer.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The route of a request no route matched.
const UNMATCHED: &str = "(unmatched)";

/// Ids of this process's requests: a prefix from the start time, so that two runs do not
/// share ids, and a counter.
fn next_request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static PREFIX: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let prefix = *PREFIX.get_or_init(|| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        // The low bits of the start time in milliseconds: enough to tell runs apart.
        u32::try_from(now.as_millis() & u128::from(u32::MAX)).unwrap_or(0)
    });
    let number = NEXT.fetch_add(1, Ordering::Relaxed) + 1;
    format!("{prefix:08x}-{number:06}")
}

/// The middleware around every route (see the module's documentation).
pub(super) async fn log_request(request: Request, next: Next) -> Response {
    let id = next_request_id();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_string(), |path| path.as_str().to_string());
    let started = Instant::now();
    let mut response = next.run(request).await;
    let caller = response
        .extensions()
        .get::<Caller>()
        .map_or_else(String::new, |caller| caller.name().to_string());
    if let Some(InternalError(detail)) = response.extensions_mut().remove::<InternalError>() {
        tracing::error!(
            request_id = %id,
            method = %method,
            route = %route,
            caller = %caller,
            error = %detail,
            "A request failed with an internal error."
        );
        let status = response.status();
        response = internal_error_response(status, &id);
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    tracing::debug!(
        request_id = %id,
        method = %method,
        route = %route,
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        caller = %caller,
        "Answered a request."
    );
    response
}
