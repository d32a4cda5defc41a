//! `GET /v1/models/{name}/drift` (read): where a model's data drift stands, from the engine's
//! state through the writer's queue (answered at once, no commit): per version and instance,
//! the open window's rows and what it needs, and the latest window compared with the reference
//! in force, column by column: type, method, score, threshold, decision, and the reference's
//! and the window's histograms as Evidently bins them (`docs/http-api.md`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use modelwatch_engine::drift::{Category, Histograms};
use modelwatch_engine::quality::{ColumnOutcome, DriftStatus, InstanceDrift, WindowDrift};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::forward::Forwardable;
use super::params::{NoParams, QueryParams};
use super::reference::{check_engine_reads, no_drift};
use super::{AppState, openapi};
use crate::runtime::writer::{DriftRequest, Message};

/// A model's drift.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DriftBody {
    model: String,
    /// Predictions a window needs (`drift_window`).
    #[schema(example = 1000)]
    window: u32,
    /// The share of drifted columns at which a window's dataset drifted (`drift_share`).
    drift_share: f64,
    /// N under `reference = { first = N }` (each version's reference is its first N
    /// predictions); `null` with an uploaded or file reference.
    first: Option<u32>,
    /// Every version and instance that sent predictions, by version and instance: its open
    /// window.
    open: Vec<OpenWindowBody>,
    /// The latest window of each version and instance compared with the reference in force,
    /// by version and instance; empty before any window is complete (and again after an
    /// upload replaces the reference, until the next window).
    windows: Vec<WindowBody>,
}

/// The window an instance is filling.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct OpenWindowBody {
    version: String,
    instance: String,
    /// Predictions the open window holds.
    rows: u32,
    /// Predictions a window needs (then it is compared).
    needs: u32,
    /// Under `first = N`: the rows of the version's reference so far; its windows start once
    /// it holds N. `null` with an uploaded or file reference.
    reference_rows: Option<u32>,
}

/// The latest window of an instance compared with the reference.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct WindowBody {
    version: String,
    instance: String,
    /// Predictions in the window.
    rows: u32,
    /// Rows in the reference.
    reference_rows: u32,
    /// The share of the scored columns that drifted (the window's `drift_score`); `null` when
    /// none was scored.
    share: Option<f64>,
    /// Whether the dataset drifted: `share` at or above `drift_share`.
    drifted: bool,
    /// Every column of the reference, in name order (`prediction` is the model's output).
    columns: Vec<ColumnBody>,
}

/// One column of a window.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ColumnBody {
    name: String,
    /// `numerical` or `categorical`: the type it is compared as (declared, else numerical
    /// when every value present in the reference is a number).
    #[serde(rename = "type")]
    #[schema(example = "numerical")]
    kind: &'static str,
    /// `scored`, `not_enough_data` (fewer values than `drift_min_samples` on a side) or
    /// `not_scored`.
    #[schema(example = "scored")]
    outcome: &'static str,
    /// not_scored: why, in words.
    reason: Option<String>,
    /// scored: the method, as Evidently names it.
    #[schema(example = "wasserstein")]
    method: Option<&'static str>,
    /// scored: whether the method was Evidently's automatic choice.
    automatic: Option<bool>,
    /// scored: the p-value or distance (`null` if not finite).
    score: Option<f64>,
    /// scored: the threshold the decision used (after calibration and correction).
    threshold: Option<f64>,
    /// scored: whether the column drifted.
    drifted: Option<bool>,
    /// Values present in the reference (`null` when not scored).
    reference_values: Option<u32>,
    /// Values present in the window (`null` when not scored).
    current_values: Option<u32>,
    /// The two sides' histograms; `null` when a side has no value.
    histogram: Option<HistogramBody>,
}

/// The reference's and the window's shares, per bin or per category, as Evidently bins a
/// column: Sturges edges over both sides for a numerical column with more than 20 distinct
/// reference values (bin i is `[edges[i], edges[i+1])`, the last closed), otherwise each
/// category of either side, sorted (numbers as categories). psi, kl_div and jensenshannon score
/// these shares.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct HistogramBody {
    /// Bins: their edges, ascending, one more than the shares; `null` for categories.
    edges: Option<Vec<f64>>,
    /// Categories, sorted (booleans, then numbers, then text); `null` for bins.
    categories: Option<Vec<CategoryValue>>,
    /// The reference's share of its values per bin or category.
    reference: Vec<f64>,
    /// The window's share of its values per bin or category.
    current: Vec<f64>,
}

/// One category: a boolean, a number or a text.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(super) enum CategoryValue {
    Bool(bool),
    Number(f64),
    Text(String),
}

impl DriftBody {
    fn of(model: String, status: DriftStatus) -> DriftBody {
        let open = (status.instances.iter())
            .map(|instance| OpenWindowBody {
                version: instance.model.version.clone(),
                instance: instance.model.instance.clone(),
                rows: instance.open_rows,
                needs: status.window,
                reference_rows: instance.reference_rows,
            })
            .collect();
        let windows = (status.instances.iter())
            .filter_map(|instance| Some(window(instance, instance.latest.as_ref()?)))
            .collect();
        DriftBody {
            model,
            window: status.window,
            drift_share: status.drift_share,
            first: status.first,
            open,
            windows,
        }
    }
}

fn window(instance: &InstanceDrift, latest: &WindowDrift) -> WindowBody {
    let report = &latest.report;
    WindowBody {
        version: instance.model.version.clone(),
        instance: instance.model.instance.clone(),
        rows: report.window_rows,
        reference_rows: report.reference_rows,
        share: report.share,
        drifted: report.dataset_drifted(),
        columns: (report.columns.iter().zip(&latest.columns))
            .map(|(verdict, (column_type, histograms))| {
                let mut body = ColumnBody {
                    name: verdict.column.clone(),
                    kind: column_type.as_str(),
                    outcome: "scored",
                    reason: None,
                    method: None,
                    automatic: None,
                    score: None,
                    threshold: None,
                    drifted: None,
                    reference_values: None,
                    current_values: None,
                    histogram: histograms.as_ref().map(histogram),
                };
                match &verdict.outcome {
                    ColumnOutcome::Scored(score) => {
                        body.method = Some(score.method.name());
                        body.automatic = Some(score.automatic);
                        body.score = Some(score.score).filter(|score| score.is_finite());
                        body.threshold = Some(score.threshold);
                        body.drifted = Some(score.drifted);
                        body.reference_values = Some(score.reference_values);
                        body.current_values = Some(score.current_values);
                    }
                    ColumnOutcome::NotEnoughData { reference, current } => {
                        body.outcome = "not_enough_data";
                        body.reference_values = Some(*reference);
                        body.current_values = Some(*current);
                    }
                    ColumnOutcome::NotScored(reason) => {
                        body.outcome = "not_scored";
                        body.reason = Some(reason.clone());
                    }
                }
                body
            })
            .collect(),
    }
}

fn histogram(histograms: &Histograms) -> HistogramBody {
    match histograms {
        Histograms::Bins {
            edges,
            reference,
            current,
        } => HistogramBody {
            edges: Some(edges.clone()),
            categories: None,
            reference: reference.clone(),
            current: current.clone(),
        },
        Histograms::Categories {
            categories,
            reference,
            current,
        } => HistogramBody {
            edges: None,
            categories: Some(
                (categories.iter())
                    .map(|category| match category {
                        Category::Bool(flag) => CategoryValue::Bool(*flag),
                        Category::Number(number) => CategoryValue::Number(*number),
                        Category::Text(text) => CategoryValue::Text(text.clone()),
                    })
                    .collect(),
            ),
            reference: reference.clone(),
            current: current.clone(),
        },
    }
}

/// `GET /v1/models/{name}/drift`.
#[utoipa::path(
    get,
    path = "/v1/models/{name}/drift",
    tag = "query",
    summary = "Where a model's data drift stands, with the histograms compared",
    description = "For a model with drift settings (a `[[models]]` entry with a reference): \
        every version and instance's open window (rows held, rows needed, and under \
        `first = N` the version's reference rows so far), and the latest window of each \
        compared with the reference in force, column by column: the type, the method, the \
        score, the threshold and the decision, as the window's drift point had them, and the \
        reference's and the window's histograms as Evidently bins the column (Sturges bins for \
        numbers with more than 20 distinct reference values, categories otherwise). \
        `windows` is empty before any window is complete, and after an upload replaces the \
        reference until the next window.",
    params(("name" = String, Path, description = "The model's name", example = "fraud-detector"), NoParams),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The model's drift", body = DriftBody),
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
pub(super) async fn get_drift(
    State(state): State<AppState>,
    forwardable: Forwardable,
    name: Result<Path<String>, PathRejection>,
    QueryParams(NoParams {}): QueryParams<NoParams>,
) -> Result<Response, ApiError> {
    let Path(model) =
        name.map_err(|rejection| ApiError::bad_query("name", rejection.body_text()))?;
    check_engine_reads(&state)?;
    let asked = model.clone();
    let answer = state
        .queue
        .ask(|reply| {
            Message::Drift(DriftRequest {
                model: asked,
                reply,
            })
        })
        .await
        .ok_or(ApiError::STOPPED)?;
    match answer {
        Ok(Some(status)) => Ok(Json(DriftBody::of(model, status)).into_response()),
        Ok(None) => Err(no_drift(&model)),
        Err(elsewhere) => {
            let what = format!("model {model:?}");
            (forwardable.forward(&state, elsewhere.partition, &what, Bytes::new())).await
        }
    }
}
