//! The one error type of the routes, [`ApiError`], and its one JSON body shape
//! `{"error": ..., ...}`: a refused batch lists each bad event's index, line and field, a bad
//! parameter is named in `parameter`, a full queue or a recovering server carries
//! `Retry-After`, and a missing token `WWW-Authenticate`. A 500 says only `internal error`
//! and the request's id (`request_id`); its detail travels in the response's extensions
//! ([`InternalError`]) to the request log, which logs it under that id.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use modelwatch_engine::{BatchError, InputError};
use serde::Serialize;

use super::auth;
use crate::runtime::Refused;
use crate::runtime::metrics::Rejection;

/// What a full queue or a recovering server asks clients to wait, in seconds.
const RETRY_AFTER_SECS: &str = "1";

/// Every error a route answers with; one JSON body shape: `{"error": ..., ...}`.
#[derive(Debug, thiserror::Error)]
pub(super) enum ApiError {
    #[error("unsupported content type {content_type:?}: send {accepted}")]
    UnsupportedMediaType {
        content_type: String,
        /// The media types the route takes, in words.
        accepted: &'static str,
    },
    #[error("the body is not UTF-8 (valid up to byte {valid_up_to})")]
    NotUtf8 { valid_up_to: usize },
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// A request that would store an input the store's reader refuses: each problem in
    /// `errors`, its `field` named as the request names it (`reason`, `version`).
    #[error("invalid {what}; nothing was stored")]
    InvalidRequest {
        what: &'static str,
        errors: Vec<InputError>,
    },
    /// A bad query (or path) parameter: `field` names it.
    #[error("{field}: {message}")]
    BadQuery { field: String, message: String },
    /// The writer did not take or commit the request.
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error("internal error: {0}")]
    Internal(String),
    /// What the path names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// What the request asks is held by another node of the cluster.
    #[error("{0}")]
    Elsewhere(String),
    /// What the request asks is held by another node of the cluster, which could not be asked
    /// now (no node holds the partition, or its node did not answer): 503 with `Retry-After`.
    #[error("{0}")]
    NotForwarded(String),
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

/// What `POST /v1/events` takes.
pub(super) const EVENT_TYPES: &str =
    "application/json (an object or an array) or application/x-ndjson";

impl ApiError {
    /// The writer has stopped.
    pub(super) const STOPPED: ApiError = ApiError::Refused(Refused::Stopped);

    pub(super) fn bad_query(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::BadQuery {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A checked constructor's errors (`RetrainRequest::new`, ...) as the request's 422: each
    /// field renamed by `fields` from the input's wire name (`retrain_request.reason`) to the
    /// request's (`reason`), each about the request as a whole (no index, line 1).
    pub(super) fn invalid_request(
        what: &'static str,
        errors: Vec<InputError>,
        fields: &[(&str, &str)],
    ) -> ApiError {
        let errors = errors
            .into_iter()
            .map(|error| InputError {
                index: None,
                line: 1,
                column: None,
                field: error.field.map(|field| {
                    fields
                        .iter()
                        .find(|(wire, _)| *wire == field)
                        .map_or(field, |(_, request)| (*request).to_string())
                }),
                message: error.message,
            })
            .collect();
        ApiError::InvalidRequest { what, errors }
    }
}

/// The detail of a 500, for the request log (never sent to the client).
#[derive(Clone, Debug)]
pub(super) struct InternalError(pub(super) String);

/// What a 500 tells the client.
const INTERNAL_ERROR: &str = "internal error";

/// The opaque answer of a failed request: its status, `internal error` and its id.
pub(super) fn internal_error_response(status: StatusCode, request_id: &str) -> Response {
    let body = ErrorBody {
        error: INTERNAL_ERROR.to_string(),
        errors: &[],
        omitted: 0,
        parameter: None,
        request_id: Some(request_id),
    };
    (status, Json(body)).into_response()
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
    /// The request's id, on a 500 (the log has the detail under it).
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'e str>,
}

/// An error answer without events to list, such as a refused body.
pub(super) fn error_response(
    status: StatusCode,
    error: String,
    parameter: Option<&str>,
) -> Response {
    let body = ErrorBody {
        error,
        errors: &[],
        omitted: 0,
        parameter,
        request_id: None,
    };
    (status, Json(body)).into_response()
}

/// Every path the router does not know: a 404 in the API's error shape.
pub(super) async fn not_found(uri: axum::http::Uri) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        format!("no route for {}; see /openapi.json", uri.path()),
        None,
    )
}

/// A route that does not take this method: a 405 in the API's error shape.
pub(super) async fn method_not_allowed(
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{} does not take {method}; see /openapi.json for its methods",
            uri.path()
        ),
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
            ApiError::Batch(BatchError::Invalid { .. }) | ApiError::InvalidRequest { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Batch(BatchError::TooMany { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Refused(
                Refused::Recovering
                | Refused::QueueFull
                | Refused::Stopped
                | Refused::StoreFailing(_),
            ) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Elsewhere(_) | ApiError::NotForwarded(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Refused(Refused::CommitFailed(_)) | ApiError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) | ApiError::Refused(Refused::TooManySeries(_)) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
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
            ApiError::InvalidRequest { errors, .. } => (self.to_string(), &errors[..], 0),
            other => (other.to_string(), &[][..], 0),
        };
        let parameter = match &self {
            ApiError::BadQuery { field, .. } => Some(field.as_str()),
            _ => None,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            let mut response = (
                status,
                Json(ErrorBody {
                    error: INTERNAL_ERROR.to_string(),
                    errors: &[],
                    omitted: 0,
                    parameter: None,
                    request_id: None,
                }),
            )
                .into_response();
            response
                .extensions_mut()
                .insert(InternalError(self.to_string()));
            return response;
        }
        let body = ErrorBody {
            error: title,
            errors,
            omitted,
            parameter,
            request_id: None,
        };
        let mut response = (status, Json(body)).into_response();
        if matches!(
            self,
            ApiError::Refused(Refused::Recovering | Refused::QueueFull | Refused::StoreFailing(_))
                | ApiError::NotForwarded(_)
        ) {
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

impl ApiError {
    /// The reason `/metrics` counts a refused ingest request under; none for errors that are
    /// not about the events.
    pub(super) fn rejection(&self) -> Option<Rejection> {
        Some(match self {
            ApiError::NotUtf8 { .. }
            | ApiError::Batch(BatchError::Syntax { .. } | BatchError::Empty) => Rejection::Syntax,
            ApiError::Batch(BatchError::Invalid { .. }) => Rejection::Invalid,
            ApiError::Batch(BatchError::TooMany { .. }) => Rejection::TooLarge,
            ApiError::UnsupportedMediaType { .. } => Rejection::UnsupportedMediaType,
            ApiError::Refused(Refused::QueueFull) => Rejection::QueueFull,
            ApiError::Refused(Refused::TooManySeries(_)) => Rejection::SeriesLimit,
            ApiError::Refused(
                Refused::Recovering
                | Refused::Stopped
                | Refused::CommitFailed(_)
                | Refused::StoreFailing(_),
            ) => Rejection::Unavailable,
            ApiError::BadQuery { .. }
            | ApiError::InvalidRequest { .. }
            | ApiError::Internal(_)
            | ApiError::Unauthorized { .. }
            | ApiError::Forbidden { .. }
            | ApiError::NotFound(_)
            | ApiError::Conflict(_)
            | ApiError::Elsewhere(_)
            | ApiError::NotForwarded(_)
            | ApiError::Unprocessable(_) => return None,
        })
    }
}
