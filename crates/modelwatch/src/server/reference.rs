//! `PUT /v1/models/{name}/reference` (admin): a model's drift reference uploaded as CSV or
//! JSON Lines, stored as an input through the writer (so it is in the inputs table, survives
//! a crash and replays), answered once committed with what is then in force (on a cluster
//! node: committed by the writer of the model's partition, forwarded to the node that runs
//! it, as a retrain asked for by hand is); and
//! `GET /v1/models/{name}/reference` (read): the reference in force, from the engine's state
//! through the writer's queue (answered at once, no commit: a summary, never the rows).

use std::path::Path as FilePath;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use modelwatch_engine::quality::{ReferenceInForce, ReferenceOrigin};
use modelwatch_engine::{Input, ReferenceUpload, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::ApiError;
use super::forward::{Forwardable, writer_for};
use super::params::{NoParams, QueryParams};
use super::{AppState, openapi};
use crate::runtime::writer::{Elsewhere, Message, ReferenceRequest};
use crate::tabular::reference::reference_bytes;

/// The media types the upload takes, in words.
const REFERENCE_TYPES: &str =
    "text/csv (with a header) or application/x-ndjson (one JSON object a line)";

/// How the fields of a stored reference input are named in this route.
const UPLOAD_FIELDS: [(&str, &str); 1] = [("reference.model", "name")];

/// One column of a reference and its type.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReferenceColumnBody {
    name: String,
    /// `numerical` when every value present is a number (as Evidently types a reference
    /// column), `categorical` otherwise.
    #[serde(rename = "type")]
    #[schema(example = "numerical")]
    kind: &'static str,
}

/// Where the reference in force comes from.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReferenceSourceBody {
    /// `upload` (`PUT` on this route), `file` (the config's `reference = { file }`) or `first`
    /// (the config's `reference = { first = N }`: each version's first N predictions).
    #[schema(example = "upload")]
    kind: &'static str,
    /// upload: the sequence number of its input.
    seq: Option<u64>,
    /// upload: when it was taken.
    #[schema(value_type = Option<String>, format = DateTime)]
    at: Option<Timestamp>,
    /// file: the path as the config writes it (relative to the config's directory).
    path: Option<String>,
    /// first: N.
    first: Option<u32>,
}

/// One version's reference under `first = N`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReferenceVersionBody {
    version: String,
    /// Rows it holds so far (complete at N).
    rows: u32,
    columns: Vec<ReferenceColumnBody>,
}

/// The drift reference in force for a model.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReferenceBody {
    model: String,
    source: ReferenceSourceBody,
    /// upload and file: the reference's rows (`null` under `first`).
    rows: Option<u32>,
    /// upload and file: its columns in name order (`null` under `first`).
    columns: Option<Vec<ReferenceColumnBody>>,
    /// first: each version's reference, in the order versions came (`null` otherwise).
    versions: Option<Vec<ReferenceVersionBody>>,
}

impl ReferenceBody {
    fn of(model: String, in_force: ReferenceInForce) -> ReferenceBody {
        let mut source = ReferenceSourceBody {
            kind: "first",
            seq: None,
            at: None,
            path: None,
            first: None,
        };
        match in_force.origin {
            ReferenceOrigin::Upload { seq, at } => {
                source.kind = "upload";
                source.seq = Some(seq);
                source.at = Some(at);
            }
            ReferenceOrigin::File { path } => {
                source.kind = "file";
                source.path = Some(path);
            }
            ReferenceOrigin::First { n } => source.first = Some(n),
        }
        let column =
            |(name, kind): (&str, modelwatch_engine::drift::ColumnType)| ReferenceColumnBody {
                name: name.to_string(),
                kind: kind.as_str(),
            };
        let is_first = source.kind == "first";
        ReferenceBody {
            model,
            rows: in_force.table.as_ref().map(|table| table.rows()),
            columns: (in_force.columns.as_ref()).map(|columns| {
                (columns.iter())
                    .map(|(name, kind)| column((name, *kind)))
                    .collect()
            }),
            versions: is_first.then(|| {
                (in_force.versions.into_iter())
                    .map(|version| ReferenceVersionBody {
                        version: version.version,
                        rows: version.rows,
                        columns: (version.columns.iter())
                            .map(|(name, kind)| column((name, *kind)))
                            .collect(),
                    })
                    .collect()
            }),
            source,
        }
    }
}

/// The 404 of a model without drift settings.
pub(super) fn no_drift(model: &str) -> ApiError {
    ApiError::NotFound(format!(
        "model {model:?} has no drift settings: give its [[models]] entry a reference \
         (reference = {{ first = N }} or {{ file = \"path\" }})"
    ))
}

/// Refuses a read of a partition engine's state (drift, the reference in force) when nothing
/// can answer it: a single node's writer that is not ready. A cluster node's front answers
/// these reads from its partitions' writers, or forwards them, whether or not the ingest log
/// (NATS) is connected: they pass there.
pub(super) fn check_engine_reads(state: &AppState) -> Result<(), ApiError> {
    if state.routing.is_none() {
        state.queue.check_ready()?;
    }
    Ok(())
}

/// The reference in force for `model`, from the engine of its partition; [`Elsewhere`] when
/// another node of the cluster runs the partition.
async fn ask_in_force(
    state: &AppState,
    model: String,
) -> Result<Result<ReferenceBody, Elsewhere>, ApiError> {
    check_engine_reads(state)?;
    let asked = model.clone();
    let answer = state
        .queue
        .ask(|reply| {
            Message::Reference(ReferenceRequest {
                model: asked,
                reply,
            })
        })
        .await
        .ok_or(ApiError::STOPPED)?;
    match answer {
        Ok(Some(in_force)) => Ok(Ok(ReferenceBody::of(model, in_force))),
        Ok(None) => Err(no_drift(&model)),
        Err(elsewhere) => Ok(Err(elsewhere)),
    }
}

/// `GET /v1/models/{name}/reference`.
#[utoipa::path(
    get,
    path = "/v1/models/{name}/reference",
    tag = "query",
    summary = "The drift reference in force for a model",
    description = "Where it comes from (an upload, with its sequence number and time; the \
        config's file; or the config's `first = N`, with each version's rows so far), its rows \
        and its columns with their types. An upload replaces the config's reference for every \
        version and instance of the model.",
    params(("name" = String, Path, description = "The model's name", example = "fraud-detector"), NoParams),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The reference in force", body = ReferenceBody),
        (status = 400, description = "A bad path parameter", body = openapi::ErrorResponse),
        (status = 404, description = "The model has no `[[models]]` entry with drift settings",
            body = openapi::ErrorResponse),
        (status = 503, description = "Recovering (with Retry-After), the writer has stopped, \
            or (on a cluster node, which answers whether or not the ingest log is connected) \
            the node running the model's partition could not be asked (with Retry-After), or \
            the request was forwarded here already (`Modelwatch-Forwarded-By`) and this node \
            does not run the partition either",
            body = openapi::ErrorResponse,
            headers(("Retry-After" = String, description = "Seconds to wait (recovering, or the \
                partition's node could not be asked)"))),
        openapi::ReadErrors
    )
)]
pub(super) async fn get_reference(
    State(state): State<AppState>,
    forwardable: Forwardable,
    name: Result<Path<String>, PathRejection>,
    QueryParams(NoParams {}): QueryParams<NoParams>,
) -> Result<Response, ApiError> {
    let Path(model) =
        name.map_err(|rejection| ApiError::bad_query("name", rejection.body_text()))?;
    match ask_in_force(&state, model.clone()).await? {
        Ok(body) => Ok(Json(body).into_response()),
        Err(elsewhere) => {
            let what = format!("model {model:?}");
            (forwardable.forward(&state, elsewhere.partition, &what, Bytes::new())).await
        }
    }
}

/// `PUT /v1/models/{name}/reference`.
#[utoipa::path(
    put,
    path = "/v1/models/{name}/reference",
    tag = "actions",
    summary = "Upload a model's drift reference",
    description = "The body is CSV with a header (`text/csv`) or JSON Lines \
        (`application/x-ndjson`: one object a line, its keys the columns, each value a number, \
        a string, a boolean or null). An empty CSV cell, an empty string and null are missing \
        values; a column is numerical when every value present is a number. Columns are \
        compared by name with the predictions' features and their output (`prediction`). \
        Stored as an input and replaced atomically: from its sequence number on, the next drift \
        window of every version and instance of the model is compared with it. Answered once \
        committed, with the reference now in force (on a cluster node: committed by the writer \
        of the model's partition, on the node that runs it, the same answer). At most the body limit (`--body-limit`, \
        default 16 MiB), 1,001 columns and 1,000,000 rows.",
    params(("name" = String, Path, description = "The model's name", example = "fraud-detector")),
    request_body(
        description = "The reference's rows",
        content(
            (String = "text/csv", example = "age,country,prediction\n31,DE,yes\n45,FR,no\n"),
            (String = "application/x-ndjson",
                example = "{\"age\": 31, \"country\": \"DE\", \"prediction\": \"yes\"}\n")
        )
    ),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Stored: the reference now in force", body = ReferenceBody),
        (status = 400, description = "A bad path parameter", body = openapi::ErrorResponse),
        (status = 404, description = "The model has no `[[models]]` entry with drift settings",
            body = openapi::ErrorResponse),
        (status = 415, description = "Content-Type is neither text/csv nor application/x-ndjson",
            body = openapi::ErrorResponse),
        (status = 422, description = "Not a reference: an empty body, no column, a ragged row, a \
            column twice, a value that is not a number, string, boolean or null, a name or text \
            too long; the message names the line and column; nothing was stored",
            body = openapi::ErrorResponse),
        (status = 503, description = "Recovering, the queue is full, or the writer stopped; \
            on a cluster node also: the node running the model's partition could not be asked, \
            or the request was forwarded here already (`Modelwatch-Forwarded-By`) and this node \
            does not run the partition either", body = openapi::ErrorResponse,
            headers(("Retry-After" = String, description = "Seconds to wait (recovering, queue \
                full, or the partition's node could not be asked)"))),
        openapi::AdminErrors
    )
)]
pub(super) async fn put_reference(
    State(state): State<AppState>,
    caller: Caller,
    forwardable: Forwardable,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Path(model) =
        name.map_err(|rejection| ApiError::bad_query("name", rejection.body_text()))?;
    let json_lines = body_format(&headers)?;
    let has_drift = (state.config.models.settings_for(&model))
        .is_some_and(|(_, settings)| settings.drift.is_some());
    if !has_drift {
        return Err(no_drift(&model));
    }
    // A cluster node commits it on the partition's writer: here, or on the node running it.
    let writer = match writer_for(&state, &model) {
        Ok(writer) => writer,
        Err(partition) => {
            let what = format!("model {model:?}");
            return forwardable.forward(&state, partition, &what, body).await;
        }
    };
    writer.check_ready()?;
    let table = tokio::task::spawn_blocking(move || {
        reference_bytes(FilePath::new("body"), body.to_vec(), json_lines)
    })
    .await
    .map_err(|error| ApiError::Internal(format!("reading a reference failed: {error}")))?
    .map_err(|error| ApiError::Unprocessable(format!("{error:#}; nothing was stored")))?;
    let now = state.clock.now();
    let upload = ReferenceUpload::new(model.clone(), Arc::new(table), Some(now))
        .map_err(|errors| ApiError::invalid_request("reference", errors, &UPLOAD_FIELDS))?;
    writer
        .commit_by(vec![Input::Reference(upload)], now, caller.name())
        .await?;
    match ask_in_force(&state, model.clone()).await? {
        Ok(in_force) => Ok(Json(in_force).into_response()),
        // The partition moved away since the commit: its next owner has the upload in force.
        Err(elsewhere) => Err(ApiError::Elsewhere(format!(
            "the reference of model {model:?} is stored; partition {} moved to another node \
             meanwhile: GET /v1/models/{model}/reference there shows it",
            elsewhere.partition
        ))),
    }
}

/// Whether the body is JSON Lines (else CSV), from its media type.
fn body_format(headers: &HeaderMap) -> Result<bool, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let media_type = (content_type.split(';').next().unwrap_or(""))
        .trim()
        .to_ascii_lowercase();
    match media_type.as_str() {
        "text/csv" => Ok(false),
        "application/x-ndjson" => Ok(true),
        _ => Err(ApiError::UnsupportedMediaType {
            content_type: content_type.to_string(),
            accepted: REFERENCE_TYPES,
        }),
    }
}
