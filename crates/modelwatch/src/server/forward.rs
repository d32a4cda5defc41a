//! Requests about a partition another node of a cluster runs (docs/cluster.md, "Forwarding"):
//! what a route answers there by asking the node that runs it.
//!
//! A cluster node gives its routes a [`PartitionRouting`] (a single node gives none): the job
//! runners of the partitions it runs, and a way to forward a request to the node running any
//! other partition. A route that would otherwise answer "another node runs it" (a model's
//! drift or reference, a job's cancel, completion or long poll) sends the same request there,
//! marked with [`FORWARDED_BY_HEADER`], and passes the answer on. A request that carries the
//! mark is never forwarded again: a node that does not run the partition either (it moved
//! meanwhile) answers 503 naming it, so a request crosses at most one hop. A write that
//! answers with its outcome (a reference upload, a retrain asked for by hand) is committed by
//! the writer of its model's partition, on the node that runs it (`writer_for`).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::effects::JobControl;
use crate::runtime::WriterQueue;

/// The header a forwarded request carries: the id of the node that forwarded it.
pub const FORWARDED_BY_HEADER: &str = "modelwatch-forwarded-by";

/// What a cluster node gives its routes: where the partitions' job runners and engines are.
pub trait PartitionRouting: Send + Sync + std::fmt::Debug {
    /// The job runner of `partition`, if this node runs it.
    fn jobs(&self, partition: u32) -> Option<JobControl>;

    /// The writer of `model`'s partition if this node runs it, else the partition: what a
    /// write that must answer with its outcome (a reference upload, a retrain asked for by
    /// hand) commits through.
    fn writer_of(&self, model: &str) -> Result<WriterQueue, u32>;

    /// Sends `request` to the node running `partition` and returns its answer.
    fn forward(
        &self,
        partition: u32,
        request: ForwardRequest,
    ) -> BoxFuture<'static, Result<ForwardedAnswer, ForwardError>>;
}

/// A request to send on, as the route received it.
#[derive(Clone, Debug)]
pub struct ForwardRequest {
    /// Its method.
    pub method: Method,
    /// Its path and query string (`/v1/models/m/drift?x=1`).
    pub path_and_query: String,
    /// The caller's `Authorization` header, passed on as is (every node takes the same tokens).
    pub authorization: Option<HeaderValue>,
    /// Its `Content-Type`.
    pub content_type: Option<HeaderValue>,
    /// Its body.
    pub body: Bytes,
    /// How long the owner may hold the request on purpose (a long poll's `wait`), on top of
    /// the forwarding timeout.
    pub holds: Duration,
}

/// The answer of the node running the partition, passed on to the caller.
#[derive(Clone, Debug)]
pub struct ForwardedAnswer {
    /// Its status.
    pub status: StatusCode,
    /// Its `Content-Type`.
    pub content_type: Option<HeaderValue>,
    /// Its `Retry-After`, if any (the owner was recovering, say).
    pub retry_after: Option<HeaderValue>,
    /// Its body.
    pub body: Bytes,
}

/// Why a request could not be forwarded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ForwardError {
    /// No node holds the partition's lease now: it is being taken over.
    #[error(
        "partition {partition} has no live owner now (it is being taken over); try again shortly"
    )]
    NoOwner {
        /// The partition.
        partition: u32,
    },
    /// The lease says this node runs the partition, but it is starting or stopping here.
    #[error("partition {partition} is starting or stopping on this node; try again shortly")]
    Moving {
        /// The partition.
        partition: u32,
    },
    /// The partition's owner could not be looked up.
    #[error("the node running partition {partition} cannot be looked up: {error}")]
    Lookup {
        /// The partition.
        partition: u32,
        /// Why, in words.
        error: String,
    },
    /// The owner could not be asked, or did not answer.
    #[error("partition {partition} runs on node {owner}, which could not be asked: {error}")]
    Failed {
        /// The partition.
        partition: u32,
        /// The owner's node id.
        owner: String,
        /// Why, in words.
        error: String,
    },
}

/// What a route needs of its request to forward it: method, path and query, the caller's
/// `Authorization` and `Content-Type`, and whether another node forwarded it already.
#[derive(Debug)]
pub(super) struct Forwardable {
    method: Method,
    path_and_query: String,
    authorization: Option<HeaderValue>,
    content_type: Option<HeaderValue>,
    forwarded_by: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Forwardable {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Forwardable, Self::Rejection> {
        let headers = &parts.headers;
        Ok(Forwardable {
            method: parts.method.clone(),
            path_and_query: parts
                .uri
                .path_and_query()
                .map_or_else(|| parts.uri.path().to_string(), ToString::to_string),
            authorization: headers.get(header::AUTHORIZATION).cloned(),
            content_type: headers.get(header::CONTENT_TYPE).cloned(),
            forwarded_by: headers
                .get(FORWARDED_BY_HEADER)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned()),
        })
    }
}

impl Forwardable {
    /// Answers the request by asking the node running `partition`, with `body`. `what` names
    /// what the request is about (`model "m"`, `job 0f...`) for the 503 of a request that was
    /// forwarded here already (never forwarded twice) or that cannot be forwarded.
    pub(super) async fn forward(
        self,
        state: &AppState,
        partition: u32,
        what: &str,
        body: Bytes,
    ) -> Result<Response, ApiError> {
        self.forward_holding(state, partition, what, body, Duration::ZERO)
            .await
    }

    /// [`Forwardable::forward`] of a request the owner may hold for up to `holds` on purpose
    /// (a long poll), which the forwarding's timeout allows for.
    pub(super) async fn forward_holding(
        self,
        state: &AppState,
        partition: u32,
        what: &str,
        body: Bytes,
        holds: Duration,
    ) -> Result<Response, ApiError> {
        let Some(routing) = state.routing.clone() else {
            return Err(ApiError::Elsewhere(format!(
                "{what} belongs to partition {partition}, which another node of the cluster runs"
            )));
        };
        if let Some(by) = self.forwarded_by {
            return Err(ApiError::Elsewhere(format!(
                "{what} belongs to partition {partition}, which this node does not run; node \
                 {by:?} forwarded the request here, and a forwarded request is not forwarded \
                 again (the partition may be moving: try again)"
            )));
        }
        let request = ForwardRequest {
            method: self.method,
            path_and_query: self.path_and_query,
            authorization: self.authorization,
            content_type: self.content_type,
            body,
            holds,
        };
        let answer = routing
            .forward(partition, request)
            .await
            .map_err(|error| ApiError::NotForwarded(format!("{what}: {error}")))?;
        Ok(answer.into_response())
    }
}

impl IntoResponse for ForwardedAnswer {
    fn into_response(self) -> Response {
        let mut response = (self.status, Body::from(self.body)).into_response();
        let headers = response.headers_mut();
        if let Some(content_type) = self.content_type {
            headers.insert(header::CONTENT_TYPE, content_type);
        }
        if let Some(retry_after) = self.retry_after {
            headers.insert(header::RETRY_AFTER, retry_after);
        }
        response
    }
}

/// A JSON body as [`axum::Json`] takes it (same checks, same rejections), with its bytes kept
/// to be forwarded as they came.
pub(super) struct JsonWithBytes<T>(pub(super) T, pub(super) Bytes);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonWithBytes<T> {
    type Rejection = JsonRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        // The body limit travels in the extensions: the second reading keeps it.
        let (headers, extensions) = (parts.headers.clone(), parts.extensions.clone());
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state).await?;
        let mut again = Request::new(Body::from(bytes.clone()));
        *again.headers_mut() = headers;
        *again.extensions_mut() = extensions;
        let axum::Json(value) = axum::Json::<T>::from_request(again, state).await?;
        Ok(JsonWithBytes(value, bytes))
    }
}

/// The writer a write that answers with its outcome commits through: a single node's, or on
/// a cluster node the writer of `model`'s partition when it runs here; `Err` with the
/// partition when another node runs it (the route forwards the request there).
pub(super) fn writer_for(state: &AppState, model: &str) -> Result<WriterQueue, u32> {
    match &state.routing {
        None => Ok(state.queue.clone()),
        Some(routing) => routing.writer_of(model),
    }
}

/// The routing of a cluster node, for the router's state.
pub(super) type Routing = Option<Arc<dyn PartitionRouting>>;
