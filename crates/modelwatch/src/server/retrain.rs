//! `POST /v1/models/{name}/retrain`: a retrain asked for by hand, decided by the engine's
//! retrain policy like an alert's request, through the writer.
//!
//! The request is stored as an input, so it is built with [`RetrainRequest::new`], which holds
//! it to the rules the store's reader applies: a reason the reader would refuse (over 1,024
//! bytes, a line break) is a 422 here, never an input that makes every later start fail. A
//! model no event ever named is a 404.
//!
//! On a cluster node the request is committed by the writer of the model's partition, on the
//! node that runs it (forwarded there from any other), so that the answer is its decision as
//! on a single node. It is an input of the partition like those from the ingest log, stored
//! in order with them and replayed with them.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use modelwatch_engine::{Input, RetrainRequest};
use modelwatch_store::{DecisionFilter, Page};
use serde::Deserialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::ApiError;
use super::forward::{Forwardable, writer_for};
use super::{AppState, models, openapi, read};

/// The body of `POST /v1/models/{name}/retrain` (optional).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RetrainBody {
    /// Why, in the asker's words (kept with the decision): 1 to 1,024 bytes, no control
    /// characters but tabs.
    #[schema(example = "new labelled data", min_length = 1, max_length = 1024)]
    reason: Option<String>,
}

/// How the fields of a stored retrain request are named in this route.
const REQUEST_FIELDS: [(&str, &str); 2] = [
    ("retrain_request.model", "name"),
    ("retrain_request.reason", "reason"),
];

/// `POST /v1/models/{name}/retrain`.
#[utoipa::path(
    post,
    path = "/v1/models/{name}/retrain",
    tag = "actions",
    summary = "Ask for a retrain of a model by hand",
    description = "Goes through the retrain policy like an alert's request: granted unless a job \
        of the model is outstanding (single flight); the cooldown does not hold it back, but it \
        starts a new one. The body is optional: none, `null` or an object.",
    params(("name" = String, Path, description = "The model's name")),
    request_body(content = Option<RetrainBody>, content_type = "application/json"),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Recommended: no `[[trainers]]` entry matches the model, so \
            the decision is recorded and no job runs", body = openapi::RetrainOutput),
        (status = 202, description = "Granted: the decision, whose `job_id` names the queued job",
            body = openapi::RetrainOutput),
        (status = 400, description = "The body is not JSON, or a bad path parameter",
            body = openapi::ErrorResponse),
        (status = 404, description = "No event ever named this model", body = openapi::ErrorResponse),
        (status = 409, description = "Suppressed: a job of the model is outstanding",
            body = openapi::ErrorResponse),
        (status = 422, description = "The body does not fit, or the reason or the model name \
            break the rules of a stored retrain request (each problem in `errors`, its `field` \
            `reason` or `name`); nothing was stored", body = openapi::ErrorResponse),
        (status = 503, description = "Recovering, the queue is full, or the writer stopped; on a \
            cluster node also: the node running the model's partition could not be asked, or the \
            request was forwarded here already (`Modelwatch-Forwarded-By`) and this node does not \
            run the partition either",
            body = openapi::ErrorResponse,
            headers(("Retry-After" = String, description = "Seconds to wait (recovering or queue full)"))),
        openapi::AdminErrors
    )
)]
pub(super) async fn post_retrain(
    State(state): State<AppState>,
    caller: Caller,
    forwardable: Forwardable,
    name: Result<Path<String>, PathRejection>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let Path(model) =
        name.map_err(|rejection| ApiError::bad_query("name", rejection.body_text()))?;
    let reason = reason(&body)?;
    let now = state.clock.now();
    let request = RetrainRequest::new(model.clone(), reason, Some(now))
        .map_err(|errors| ApiError::invalid_request("retrain request", errors, &REQUEST_FIELDS))?;
    let lookup = model.clone();
    if !read(&state, move |store| models::is_known(store, &lookup)).await? {
        return Err(ApiError::NotFound(format!(
            "unknown model {model:?}: no event has named it"
        )));
    }
    // A cluster node commits it on the partition's writer: here, or on the node running it.
    let writer = match writer_for(&state, &model) {
        Ok(writer) => writer,
        Err(partition) => {
            let what = format!("model {model:?}");
            return forwardable.forward(&state, partition, &what, body).await;
        }
    };
    let stored = writer
        .commit_by(vec![Input::RetrainRequest(request)], now, caller.name())
        .await?;
    let seq = stored.last_seq;
    let filter = DecisionFilter {
        model: Some(model),
        ..DecisionFilter::default()
    };
    let decisions = read(&state, move |store| {
        store.decisions(&filter, &Page::default())
    })
    .await?;
    let decision = decisions
        .items
        .into_iter()
        .find(|decision| decision.seq == seq)
        .ok_or_else(|| ApiError::Internal("the retrain request made no decision".to_string()))?;
    // Granted: a job is queued (202). Recommended: the model has no trainer; the decision is
    // recorded and nothing runs (200). Otherwise a job of the model is outstanding (409).
    let status = match decision.decision.as_str() {
        "granted" => Some(StatusCode::ACCEPTED),
        "recommended" => Some(StatusCode::OK),
        _ => None,
    };
    if let Some(status) = status {
        let raw = RawValue::from_string(decision.output)
            .map_err(|error| ApiError::Internal(format!("a stored output is not JSON: {error}")))?;
        Ok((status, Json(raw)).into_response())
    } else {
        let output: serde_json::Value = serde_json::from_str(&decision.output).unwrap_or_default();
        Err(ApiError::Conflict(
            output["message"]
                .as_str()
                .unwrap_or("retrain suppressed")
                .to_string(),
        ))
    }
}

/// The reason a body gives: none for an empty body, `null` or an object without one.
fn reason(body: &[u8]) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let body: Option<RetrainBody> = serde_json::from_slice(body).map_err(|error| {
        if error.is_syntax() || error.is_eof() {
            ApiError::bad_query("body", format!("not JSON: {error}"))
        } else {
            ApiError::Unprocessable(format!("body: {error}"))
        }
    })?;
    Ok(body.and_then(|body| body.reason))
}
