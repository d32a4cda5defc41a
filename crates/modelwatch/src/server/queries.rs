//! The read routes over models and series: `GET /v1/models`, `GET /v1/models/{name}` and
//! `GET /v1/series`. Every bad query parameter is a 400 naming it; an unknown model a 404.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use modelwatch_engine::{ModelId, Timestamp};
use modelwatch_store::{
    LatestPoint, Order, Page, PointCursor, SeriesQuery, Store, StoreError, StoredAlert,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use serde_json::value::RawValue;

use super::{ApiError, AppState, read};

/// The most models one `/v1/models` page holds (each costs a few index seeks per series).
const MAX_MODELS_PAGE: usize = 100;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ModelsQuery {
    after: Option<String>,
    limit: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SeriesParams {
    model: Option<String>,
    version: Option<String>,
    instance: Option<String>,
    metric: Option<String>,
    from: Option<String>,
    to: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// One model: its versions, instances, each series' latest value and its open alerts.
#[derive(Serialize)]
pub(super) struct ModelBody {
    name: String,
    versions: Vec<String>,
    instances: Vec<InstanceBody>,
    latest: Vec<LatestBody>,
    /// The latest transition of each alert that is pending, firing or warning, in the JSON
    /// form `replay --format json` prints.
    alerts: Vec<Box<RawValue>>,
}

#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct InstanceBody {
    version: String,
    instance: String,
}

#[derive(Serialize)]
pub(super) struct LatestBody {
    version: String,
    instance: String,
    metric: String,
    seq: u64,
    at: Timestamp,
    value: f64,
}

#[derive(Serialize)]
pub(super) struct ModelsBody {
    items: Vec<ModelBody>,
    next: Option<String>,
}

#[derive(Serialize)]
pub(super) struct PointBody {
    seq: u64,
    at: Timestamp,
    value: f64,
}

#[derive(Serialize)]
pub(super) struct SeriesBody {
    model: ModelId,
    metric: String,
    points: Vec<PointBody>,
    /// The `after` of the next page: `<nanoseconds>:<seq>` of the last point.
    next: Option<String>,
}

/// `GET /v1/models?after=&limit=`: models in name order; `after` is the previous page's `next`.
pub(super) async fn get_models(
    State(state): State<AppState>,
    query: Result<Query<ModelsQuery>, QueryRejection>,
) -> Result<Json<ModelsBody>, ApiError> {
    let Query(query) = query.map_err(bad_query_string)?;
    let limit = parse_limit(query.limit.as_deref())?.clamp(1, MAX_MODELS_PAGE);
    let after = query.after;
    let (models, next) = read(&state, move |store| {
        let page = store.model_names(after.as_deref(), limit)?;
        let models = page
            .names
            .iter()
            .map(|name| summary(store, name))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((models, page.next))
    })
    .await?;
    let items = models
        .into_iter()
        .map(|(name, latest, alerts)| model_body(name, latest, alerts))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(ModelsBody { items, next }))
}

/// `GET /v1/models/{name}`: one model, 404 when it has no stored points.
pub(super) async fn get_model(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let (name, latest, alerts) = read(&state, move |store| summary(store, &name)).await?;
    if latest.is_empty() {
        let error = format!("unknown model {name:?}");
        return Ok((StatusCode::NOT_FOUND, Json(json!({ "error": error }))).into_response());
    }
    Ok(Json(model_body(name, latest, alerts)?).into_response())
}

/// `GET /v1/series`: one series' points, oldest first, in `[from, to)`. `model`, `version`,
/// `instance` and `metric` are all required (a page cursor orders the points of one series).
pub(super) async fn get_series(
    State(state): State<AppState>,
    query: Result<Query<SeriesParams>, QueryRejection>,
) -> Result<Json<SeriesBody>, ApiError> {
    let Query(params) = query.map_err(bad_query_string)?;
    let model = ModelId {
        name: required("model", params.model)?,
        version: required("version", params.version)?,
        instance: required("instance", params.instance)?,
    };
    let metric = required("metric", params.metric)?;
    let from = parse_time("from", params.from.as_deref())?;
    let to = parse_time("to", params.to.as_deref())?;
    let after = params.after.as_deref().map(parse_cursor).transpose()?;
    let limit = parse_limit(params.limit.as_deref())?;
    let query = SeriesQuery {
        model,
        metric,
        from,
        to,
        after,
        limit,
        order: Order::OldestFirst,
    };
    let (query, page) = read(&state, move |store| {
        let page = store.series(&query)?;
        Ok((query, page))
    })
    .await?;
    Ok(Json(SeriesBody {
        model: query.model,
        metric: query.metric,
        points: page
            .points
            .into_iter()
            .map(|point| PointBody {
                seq: point.seq,
                at: point.at,
                value: point.value,
            })
            .collect(),
        next: page
            .next
            .map(|cursor| format!("{}:{}", cursor.at.as_nanos(), cursor.seq)),
    }))
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
    })
}

fn bad_query_string(rejection: QueryRejection) -> ApiError {
    ApiError::BadQuery {
        field: "query",
        message: rejection.body_text(),
    }
}

fn required(field: &'static str, value: Option<String>) -> Result<String, ApiError> {
    match value {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(ApiError::BadQuery {
            field,
            message: "required".to_string(),
        }),
    }
}

fn parse_time(field: &'static str, text: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    text.map(|text| {
        Timestamp::parse_rfc3339(text).map_err(|message| ApiError::BadQuery {
            field,
            message: format!("{message} (expected an RFC 3339 time such as 2026-01-31T12:00:00Z)"),
        })
    })
    .transpose()
}

fn parse_limit(text: Option<&str>) -> Result<usize, ApiError> {
    match text {
        None => Ok(Page::default().limit),
        Some(text) => match text.parse::<usize>() {
            Ok(limit) if limit > 0 => Ok(limit),
            _ => Err(ApiError::BadQuery {
                field: "limit",
                message: format!("{text:?} is not a positive whole number"),
            }),
        },
    }
}

/// A series cursor: `<nanoseconds>:<seq>`, as a page's `next` gives it.
fn parse_cursor(text: &str) -> Result<PointCursor, ApiError> {
    let bad = || ApiError::BadQuery {
        field: "after",
        message: format!("{text:?} is not a cursor; pass a previous page's \"next\""),
    };
    let (at, seq) = text.split_once(':').ok_or_else(bad)?;
    Ok(PointCursor {
        at: Timestamp::from_nanos(at.parse().map_err(|_| bad())?),
        seq: seq.parse().map_err(|_| bad())?,
    })
}
