//! The request log: every request gets an id (answered in `X-Request-Id`) and one `debug`
//! event when it is answered, with its method, route (the matched path template, such as
//! `/v1/jobs/{id}`, never the raw path), status, duration and caller (the token's configured
//! name, never its value). A 500 answers only `{"error": "internal error", "request_id": ...}`;
//! its detail goes to the log at `error`, under the same id.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

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

/// Ids of this process's requests: a random prefix, so that two runs do not share ids, and a
/// counter.
fn next_request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static PREFIX: OnceLock<u32> = OnceLock::new();
    let prefix = *PREFIX.get_or_init(|| {
        // The standard library seeds every `RandomState` at random.
        let random = RandomState::new().build_hasher().finish();
        u32::try_from(random >> 32).unwrap_or(0)
    });
    let number = NEXT.fetch_add(1, Ordering::Relaxed) + 1;
    format!("{prefix:08x}-{number:06}")
}

/// The middleware around every route (see the module's documentation).
pub(super) async fn log_request(request: Request, next: Next) -> Response {
    let id = next_request_id();
    let method = request.method().clone();
    // The template (shared, not copied) and the caller are only read when a line is written.
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    let started = Instant::now();
    let mut response = next.run(request).await;
    let caller = response.extensions().get::<Caller>().cloned();
    let caller = caller.as_ref().map_or("-", Caller::name);
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::extract::Path;
    use axum::http::{Request, StatusCode};
    use axum::middleware;
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::super::auth::Caller;
    use super::super::error::ApiError;
    use super::*;

    /// The log lines, shared with the subscriber.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// `GET /v1/things/{id}`: 42 fails with a store error, any other id answers 200; the
    /// caller is `env WATCHER`, as the auth middleware would name it.
    fn router() -> Router {
        async fn thing(Path(id): Path<u32>) -> Response {
            let mut response = if id == 42 {
                ApiError::Internal("disk I/O error at page 7".to_string()).into_response()
            } else {
                (StatusCode::OK, "fine").into_response()
            };
            response
                .extensions_mut()
                .insert(Caller::named("env WATCHER"));
            response
        }
        Router::new()
            .route("/v1/things/{id}", get(thing))
            .layer(middleware::from_fn(log_request))
    }

    async fn call(path: &str) -> (StatusCode, String, serde_json::Value) {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let response = router().oneshot(request).await.unwrap();
        let status = response.status();
        let id = response.headers()[REQUEST_ID_HEADER]
            .to_str()
            .unwrap()
            .to_string();
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (
            status,
            id,
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        )
    }

    #[tokio::test]
    async fn a_500_answers_its_request_id_only_and_the_log_has_the_detail_under_it() {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let (status, fine_id, _) = call("/v1/things/7").await;
        assert_eq!(status, StatusCode::OK);
        let (status, id, body) = call("/v1/things/42").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_ne!(id, fine_id);
        assert_eq!(
            body,
            serde_json::json!({"error": "internal error", "request_id": id})
        );

        let log = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let failed: Vec<&str> = log.lines().filter(|line| line.contains(&id)).collect();
        let error = failed
            .iter()
            .find(|line| line.contains("ERROR"))
            .unwrap_or_else(|| panic!("no error line for {id}:\n{log}"));
        assert!(error.contains("disk I/O error at page 7"), "{error}");
        // Each request has its debug line: method, route template, status, caller.
        for (request_id, status) in [(&fine_id, "200"), (&id, "500")] {
            let line = log
                .lines()
                .find(|line| line.contains("DEBUG") && line.contains(request_id.as_str()))
                .unwrap_or_else(|| panic!("no request line for {request_id}:\n{log}"));
            for field in [
                "method=GET",
                "route=/v1/things/{id}",
                &format!("status={status}"),
                "caller=env WATCHER",
                "duration_ms=",
            ] {
                assert!(line.contains(field), "{field}: {line}");
            }
            assert!(!line.contains("/v1/things/42"), "{line}");
        }
    }
}
