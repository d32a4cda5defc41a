//! The bounds on request bodies, checked before a handler sees one: a body must arrive whole
//! within the body timeout (else 408), be no larger than the body limit (413, at once when the
//! declared `Content-Length` is over it, before a byte of the body is read), and fit in the
//! budget of body bytes in flight across all requests (else 503 with `Retry-After`, before it
//! is read or parsed: a declared length is reserved whole up front, a chunked body as it
//! streams). The budget is held until the handler has answered, since it holds the bytes
//! until then.
//!
//! A body refused before it was read answers with `Connection: close`: the unread bytes are
//! not worth reading, and the connection cannot carry another request past them.
//! [`drain`] is for answers given before the body was looked at (a 401): it reads a small
//! remainder so that the client, still writing, gets the answer rather than a reset.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body::Body as _;
use tokio::time::Instant;

use super::error::error_response;
use crate::runtime::metrics::{Metrics, Rejection};

/// How long a request's body may take to arrive whole, from the end of its head (30 s).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// The most bytes of request bodies held at once across all requests (64 MiB: four bodies at
/// the default body limit).
pub const DEFAULT_MAX_BODIES_IN_FLIGHT: usize = 64 * 1024 * 1024;

/// The most bytes [`drain`] reads of a body nobody wants (64 KiB).
pub const DRAIN_LIMIT: usize = 64 * 1024;

/// How long [`drain`] waits for them (1 s).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// What a body over the budget asks clients to wait, in seconds.
const RETRY_AFTER_SECS: &str = "1";

/// The bounds of request bodies, shared by every route that takes one.
#[derive(Clone, Debug)]
pub(super) struct BodyBounds {
    /// The largest body, in bytes.
    pub(super) limit: usize,
    /// How long a body may take to arrive whole.
    pub(super) timeout: Duration,
    budget: Arc<BodyBudget>,
    metrics: Arc<Metrics>,
    /// Whether refusals count on `/metrics` (the ingest route's).
    counted: bool,
}

impl BodyBounds {
    pub(super) fn new(
        limit: usize,
        timeout: Duration,
        max_in_flight: usize,
        metrics: Arc<Metrics>,
    ) -> BodyBounds {
        BodyBounds {
            limit,
            timeout,
            budget: Arc::new(BodyBudget {
                cap: max_in_flight,
                used: Mutex::new(0),
            }),
            metrics,
            counted: false,
        }
    }

    /// The same bounds (and budget), with refusals counted on `/metrics`.
    pub(super) fn counted(&self) -> BodyBounds {
        BodyBounds {
            counted: true,
            ..self.clone()
        }
    }

    fn refuse(&self, rejection: Rejection) {
        if self.counted || rejection == Rejection::BodiesInFlight {
            self.metrics.record_refusal(rejection);
        }
    }
}

/// The bytes of bodies in flight, against their cap.
#[derive(Debug)]
struct BodyBudget {
    cap: usize,
    used: Mutex<usize>,
}

/// Bytes taken from the budget, given back when dropped.
struct Reservation {
    budget: Arc<BodyBudget>,
    bytes: usize,
}

impl Reservation {
    /// Takes `bytes` from the budget; none if they do not fit.
    fn take(budget: &Arc<BodyBudget>, bytes: usize) -> Option<Reservation> {
        let mut reservation = Reservation {
            budget: budget.clone(),
            bytes: 0,
        };
        reservation.grow_to(bytes).then_some(reservation)
    }

    /// Grows the reservation to `bytes`; whether they fit.
    fn grow_to(&mut self, bytes: usize) -> bool {
        let more = bytes.saturating_sub(self.bytes);
        let Ok(mut used) = self.budget.used.lock() else {
            return false;
        };
        if used.saturating_add(more) > self.budget.cap {
            return false;
        }
        *used += more;
        self.bytes += more;
        true
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Ok(mut used) = self.budget.used.lock() {
            *used = used.saturating_sub(self.bytes);
        }
    }
}

/// Why a body was refused.
enum Refusal {
    TooLarge,
    Busy,
    TimedOut,
    Unreadable(String),
}

/// The middleware of the routes that take a body: reads it whole within the bounds, then
/// hands the handler the buffered body.
pub(super) async fn bound_body(
    State(bounds): State<BodyBounds>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_none() && body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let limit = u64::try_from(bounds.limit).unwrap_or(u64::MAX);
    let read = match declared {
        Some(length) if length > limit => Err((Refusal::TooLarge, true)),
        _ => {
            let reserved = declared
                .and_then(|length| usize::try_from(length).ok())
                .unwrap_or(0);
            match Reservation::take(&bounds.budget, reserved) {
                None => Err((Refusal::Busy, true)),
                Some(reservation) => read_within(body, &bounds, reservation).await,
            }
        }
    };
    match read {
        Ok((bytes, reservation)) => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            drop(reservation);
            response
        }
        Err((refusal, unread)) => refusal_response(&bounds, refusal, unread),
    }
}

/// Reads `body` whole within the bounds, growing `reservation` as it comes; on a refusal,
/// whether bytes may be left unread.
async fn read_within(
    mut body: Body,
    bounds: &BodyBounds,
    mut reservation: Reservation,
) -> Result<(Bytes, Reservation), (Refusal, bool)> {
    let deadline = Instant::now() + bounds.timeout;
    let mut buffer = Vec::with_capacity(reservation.bytes);
    loop {
        let frame =
            tokio::time::timeout_at(deadline, poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)))
                .await;
        let data = match frame {
            Err(_) => return Err((Refusal::TimedOut, true)),
            Ok(None) => return Ok((Bytes::from(buffer), reservation)),
            Ok(Some(Err(error))) => return Err((Refusal::Unreadable(error.to_string()), true)),
            Ok(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue,
            },
        };
        let total = buffer.len().saturating_add(data.len());
        if total > bounds.limit {
            return Err((Refusal::TooLarge, !body.is_end_stream()));
        }
        if !reservation.grow_to(total) {
            return Err((Refusal::Busy, !body.is_end_stream()));
        }
        buffer.extend_from_slice(&data);
    }
}

fn refusal_response(bounds: &BodyBounds, refusal: Refusal, unread: bool) -> Response {
    let (status, message) = match refusal {
        Refusal::TooLarge => {
            bounds.refuse(Rejection::TooLarge);
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the body is larger than the limit of {} bytes; nothing was stored (send \
                     smaller batches)",
                    bounds.limit
                ),
            )
        }
        Refusal::Busy => {
            bounds.refuse(Rejection::BodiesInFlight);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "too many request bodies are in flight; nothing was stored, try again shortly"
                    .to_string(),
            )
        }
        Refusal::TimedOut => (
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the body did not arrive within {} s; nothing was stored",
                bounds.timeout.as_secs()
            ),
        ),
        Refusal::Unreadable(error) => (
            StatusCode::BAD_REQUEST,
            format!("cannot read the body: {error}"),
        ),
    };
    let retry = status == StatusCode::SERVICE_UNAVAILABLE;
    let mut response = error_response(status, message, None);
    if retry {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECS),
        );
    }
    if unread {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads what is left of a body nobody will use, at most [`DRAIN_LIMIT`] bytes for at most a
/// second, so that a client still sending it reads the answer instead of a reset; whether it
/// ended (if not, the answer should close the connection).
pub(super) async fn drain(mut body: Body) -> bool {
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    let mut read = 0usize;
    while read <= DRAIN_LIMIT {
        if body.is_end_stream() {
            return true;
        }
        let frame =
            tokio::time::timeout_at(deadline, poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)))
                .await;
        match frame {
            Ok(None) => return true,
            Ok(Some(Ok(frame))) => {
                read += frame.data_ref().map_or(0, Bytes::len);
            }
            Ok(Some(Err(_))) | Err(_) => return false,
        }
    }
    false
}
