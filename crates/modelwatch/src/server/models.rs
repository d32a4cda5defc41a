//! The models the service knows: `GET /v1/models` (paged by name) and `GET /v1/models/{name}`
//! (404 when unknown), each with its versions, instances, every series' latest value, its
//! open alerts and, for a model with a `[[models]]` entry, how its predictions and labels went.
//!
//! A model is known once an event has named it: the registry keeps every (model, version) an
//! event named, for good, so a model whose points retention deleted is still listed (its alerts
//! may still be open), with no latest values. Models with stored points count too, for a
//! store older than the registry.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use modelwatch_engine::Timestamp;
use modelwatch_store::{LatestPoint, ModelPage, Store, StoreError, StoredAlert};
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::params::{FromParams, NoParams, Params, QueryParams};
use super::{AppState, openapi, read_points};
use crate::runtime::metrics::TrafficSnapshot;
use crate::runtime::writer::{Message, SeriesRequest};

/// The most models one `/v1/models` page holds (each costs a few index seeks per series).
const MAX_MODELS_PAGE: usize = 100;

/// The query of `GET /v1/models`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ModelsQuery {
    /// Start after this model name: the previous page's `next`.
    after: Option<String>,
    /// Most models on the page: 1 or more (default 100, at most 100).
    #[param(value_type = Option<u64>, minimum = 1)]
    limit: usize,
}

impl FromParams for ModelsQuery {
    const NAMES: &'static [&'static str] = &["after", "limit"];

    fn from_params(params: &mut Params) -> Result<ModelsQuery, ApiError> {
        Ok(ModelsQuery {
            after: params.text("after"),
            limit: params.limit()?.min(MAX_MODELS_PAGE),
        })
    }
}

/// One model: its versions, instances, each series' latest value and its open alerts.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ModelBody {
    /// The model's name.
    #[schema(example = "fraud-detector")]
    name: String,
    /// Its versions that have points, in order (none once retention deleted them all).
    versions: Vec<String>,
    /// Its (version, instance) pairs that have points, in order.
    instances: Vec<InstanceBody>,
    /// The latest point of each series that has points, in (version, instance, metric) order.
    latest: Vec<LatestBody>,
    /// The latest transition of each alert that is pending, firing or warning, in the JSON
    /// form `replay --format json` prints, in stream order.
    #[schema(value_type = Vec<openapi::AlertOutput>)]
    alerts: Vec<Box<RawValue>>,
    /// Its predictions and labels, when a `[[models]]` entry of the config matches it
    /// (docs/quality.md); `null` otherwise.
    #[schema(required = true)]
    traffic: Option<TrafficBody>,
}

/// A model's settings for quality from traffic, and how its predictions and labels have gone.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TrafficBody {
    /// `binary`, `multiclass` or `regression`.
    #[schema(example = "binary")]
    task: &'static str,
    /// The positive class of a binary model.
    #[schema(required = true)]
    positive: Option<String>,
    /// Labeled predictions per realized-quality point.
    window: u32,
    /// Labels later than this after their prediction are dropped.
    label_horizon_secs: u64,
    /// How scores are calibrated for estimated quality: `auto`, `isotonic` or `none`.
    calibration: &'static str,
    /// Whether the entry has drift settings (a `reference`), so that
    /// `GET /v1/models/{name}/drift` and `.../reference` answer.
    drift: bool,
    /// Predictions taken.
    predictions: u64,
    /// Predictions waiting for their labels.
    pending: u64,
    /// Labels that joined their prediction within the horizon.
    joined: u64,
    /// Labels after their prediction's horizon: dropped.
    late: u64,
    /// Labels with no prediction waiting (unknown id, labeled already, or expired).
    unmatched: u64,
    /// Predictions whose id was waiting already: ignored.
    duplicates: u64,
    /// Predictions whose horizon passed without a label.
    expired: u64,
    /// Predictions and labels that do not fit the task: ignored.
    unusable: u64,
    /// Labeled share of the predictions resolved so far (joined / (joined + late + expired));
    /// `null` before any is resolved.
    #[schema(required = true)]
    coverage: Option<f64>,
}

/// The traffic section of model `name`.
fn traffic_body(state: &AppState, name: &str, traffic: &[TrafficSnapshot]) -> Option<TrafficBody> {
    let (_, settings) = state.config.models.settings_for(name)?;
    let found = traffic.iter().find(|snapshot| snapshot.model == name);
    let counts = found.map(|snapshot| snapshot.counts).unwrap_or_default();
    let resolved = counts.joined + counts.late + counts.expired;
    Some(TrafficBody {
        task: settings.task.as_str(),
        positive: settings.positive.clone(),
        window: settings.window,
        label_horizon_secs: settings.label_horizon_secs,
        calibration: settings.calibration.as_str(),
        drift: settings.drift.is_some(),
        predictions: counts.predictions,
        pending: found.map_or(0, |snapshot| snapshot.pending as u64),
        joined: counts.joined,
        late: counts.late,
        unmatched: counts.unmatched,
        duplicates: counts.duplicates,
        expired: counts.expired,
        unusable: counts.unusable,
        coverage: (resolved > 0).then(|| counts.joined as f64 / resolved as f64),
    })
}

/// Every model's traffic counts, from the writer (none when it does not answer).
async fn traffic_counts(state: &AppState) -> Vec<TrafficSnapshot> {
    if state.config.models.entries.is_empty() {
        return Vec::new();
    }
    state
        .queue
        .ask(|reply| Message::Series(SeriesRequest { cap: 0, reply }))
        .await
        .map(|snapshot| snapshot.traffic)
        .unwrap_or_default()
}

/// A version and one of its instances.
#[derive(Serialize, ToSchema, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub(super) struct InstanceBody {
    version: String,
    instance: String,
}

/// The latest point of one series.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LatestBody {
    version: String,
    instance: String,
    metric: String,
    /// The sequence number of the input it came with.
    seq: u64,
    /// Its event time.
    #[schema(value_type = String, format = DateTime)]
    at: Timestamp,
    value: f64,
}

/// A page of models, in name order.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ModelsBody {
    items: Vec<ModelBody>,
    /// Pass as `after` for the next page; `null` on the last page.
    #[schema(required = true)]
    next: Option<String>,
}

/// `GET /v1/models?after=&limit=`: models in name order; `after` is the previous page's `next`.
#[utoipa::path(
    get,
    path = "/v1/models",
    tag = "query",
    summary = "Models, in name order, with their latest values and open alerts",
    params(ModelsQuery),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "One page of models", body = ModelsBody),
        (status = 400, description = "A bad query parameter, named in `parameter`",
            body = openapi::ErrorResponse),
        openapi::ReadErrors
    )
)]
pub(super) async fn get_models(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ModelsQuery>,
) -> Result<Json<ModelsBody>, ApiError> {
    let ModelsQuery { after, limit } = query;
    let (models, next) = read_points(&state, move |store| {
        let page = model_page(store, after.as_deref(), limit)?;
        let models = page
            .names
            .iter()
            .map(|name| summary(store, name))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((models, page.next))
    })
    .await?;
    let traffic = traffic_counts(&state).await;
    let items = models
        .into_iter()
        .map(|(name, latest, alerts)| {
            let traffic = traffic_body(&state, &name, &traffic);
            model_body(name, latest, alerts, traffic)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(ModelsBody { items, next }))
}

/// `GET /v1/models/{name}`: one model, 404 when no event ever named it.
#[utoipa::path(
    get,
    path = "/v1/models/{name}",
    tag = "query",
    summary = "One model with its latest values and open alerts",
    params(("name" = String, Path, description = "The model's name"), NoParams),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The model", body = ModelBody),
        (status = 400, description = "The name is not valid UTF-8 once decoded, or a query \
            parameter is given (this route takes none), named in `parameter`",
            body = openapi::ErrorResponse),
        (status = 404, description = "No event ever named this model", body = openapi::ErrorResponse),
        openapi::ReadErrors
    )
)]
pub(super) async fn get_model(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    QueryParams(NoParams {}): QueryParams<NoParams>,
) -> Result<Json<ModelBody>, ApiError> {
    let Path(name) =
        name.map_err(|rejection| ApiError::bad_query("name", rejection.body_text()))?;
    let found = read_points(&state, move |store| {
        let summary = summary(store, &name)?;
        let known = !summary.1.is_empty() || !store.model_versions(&name)?.is_empty();
        Ok(if known { Ok(summary) } else { Err(name) })
    })
    .await?;
    match found {
        Ok((name, latest, alerts)) => {
            let traffic = traffic_counts(&state).await;
            let traffic = traffic_body(&state, &name, &traffic);
            Ok(Json(model_body(name, latest, alerts, traffic)?))
        }
        Err(name) => Err(ApiError::NotFound(format!("unknown model {name:?}"))),
    }
}

/// Whether an event ever named model `name`: the registry has a version of it, or points of
/// it are stored.
///
/// # Errors
///
/// [`StoreError`] when the store cannot be read.
pub(super) fn is_known(store: &Store, name: &str) -> Result<bool, StoreError> {
    Ok(!store.model_versions(name)?.is_empty() || !store.latest_points(name)?.is_empty())
}

/// One page of the known models, in name order: those of the registry and those with stored
/// points. Both sources are in name order, so the first `limit` names of their union are among
/// the first `limit` of each.
fn model_page(store: &Store, after: Option<&str>, limit: usize) -> Result<ModelPage, StoreError> {
    let registered = store.registered_models(after, limit)?;
    let with_points = store.model_names(after, limit)?;
    let more = registered.next.is_some() || with_points.next.is_some();
    let mut names = registered.names;
    names.extend(with_points.names);
    names.sort_unstable();
    names.dedup();
    let more = more || names.len() > limit;
    names.truncate(limit);
    let next = names.last().filter(|_| more).cloned();
    Ok(ModelPage { names, next })
}

type Summary = (String, Vec<LatestPoint>, Vec<StoredAlert>);

fn summary(store: &Store, name: &str) -> Result<Summary, StoreError> {
    Ok((
        name.to_string(),
        store.latest_points(name)?,
        store.open_alerts(name)?,
    ))
}

fn model_body(
    name: String,
    latest: Vec<LatestPoint>,
    alerts: Vec<StoredAlert>,
    traffic: Option<TrafficBody>,
) -> Result<ModelBody, ApiError> {
    let mut instances: Vec<InstanceBody> = latest
        .iter()
        .map(|series| InstanceBody {
            version: series.model.version.clone(),
            instance: series.model.instance.clone(),
        })
        .collect();
    instances.sort();
    instances.dedup();
    let mut versions: Vec<String> = instances.iter().map(|i| i.version.clone()).collect();
    versions.dedup();
    let alerts = alerts
        .into_iter()
        .map(|alert| RawValue::from_string(alert.output))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| ApiError::Internal(format!("a stored output is not JSON: {error}")))?;
    Ok(ModelBody {
        name,
        versions,
        instances,
        latest: latest
            .into_iter()
            .map(|series| LatestBody {
                version: series.model.version,
                instance: series.model.instance,
                metric: series.metric,
                seq: series.point.seq,
                at: series.point.at,
                value: series.point.value,
            })
            .collect(),
        alerts,
        traffic,
    })
}
