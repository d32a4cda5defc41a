//! The read routes over models and series (`GET /v1/models`, `GET /v1/models/{name}` and
//! `GET /v1/series`), and the query-string extractor every read route uses.
//!
//! Query strings are parsed by hand ([`QueryParams`]): each route names the parameters it takes,
//! and every problem (an unknown or repeated parameter, a limit that is not a positive number, a
//! time that is not RFC 3339, ...) is a 400 in the API's error shape naming the parameter, never
//! axum's plain-text rejection. An unknown model is a 404.

use std::str::FromStr;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use modelwatch_engine::{ModelId, Timestamp};
use modelwatch_store::{
    LatestPoint, MAX_PAGE, Order, Page, Point, PointCursor, SeriesQuery, Store, StoreError,
    StoredAlert,
};
use serde::Serialize;
use serde_json::json;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use super::{ApiError, AppState, openapi, read_points};

/// The most models one `/v1/models` page holds (each costs a few index seeks per series).
const MAX_MODELS_PAGE: usize = 100;

/// A route's parsed query string: `T` says which parameters the route takes and parses them.
#[derive(Debug)]
pub(super) struct QueryParams<T>(pub(super) T);

/// The query parameters of one route.
pub(super) trait FromParams: Sized {
    /// Every parameter the route takes; any other is a 400.
    const NAMES: &'static [&'static str];

    /// Takes the parameters out of `params`.
    ///
    /// # Errors
    ///
    /// [`ApiError::BadQuery`] naming the first bad parameter.
    fn from_params(params: &mut Params) -> Result<Self, ApiError>;
}

impl<S: Send + Sync, T: FromParams> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let mut params = Params::from_uri(&parts.uri, T::NAMES)?;
        T::from_params(&mut params).map(QueryParams)
    }
}

/// The name/value pairs of a query string, each name known to the route and given once.
#[derive(Debug)]
pub(super) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    fn from_uri(uri: &axum::http::Uri, names: &[&str]) -> Result<Params, ApiError> {
        // Percent-decoding is lossy (never fails), so this only fails on what is not a query.
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map_err(|rejection| ApiError::bad_query("query", rejection.body_text()))?;
        for (index, (name, _)) in pairs.iter().enumerate() {
            if !names.contains(&name.as_str()) {
                return Err(ApiError::bad_query(
                    name.as_str(),
                    format!(
                        "unknown parameter {name:?}; this route takes {}",
                        names.join(", ")
                    ),
                ));
            }
            if pairs[..index].iter().any(|(earlier, _)| earlier == name) {
                return Err(ApiError::bad_query(name.as_str(), "given more than once"));
            }
        }
        Ok(Params { pairs })
    }

    /// The value of `name`, if given (possibly empty).
    pub(super) fn text(&mut self, name: &str) -> Option<String> {
        let index = self.pairs.iter().position(|(given, _)| given == name)?;
        Some(self.pairs.swap_remove(index).1)
    }

    /// The value of `name`; absent and empty are the same.
    fn non_empty(&mut self, name: &str) -> Option<String> {
        self.text(name).filter(|value| !value.is_empty())
    }

    /// The value of `name`, which must be given and not empty.
    fn required(&mut self, name: &'static str) -> Result<String, ApiError> {
        self.non_empty(name)
            .ok_or_else(|| ApiError::bad_query(name, "required"))
    }

    /// The value of `name` parsed as a `T`; `problem` says what is wrong when it does not parse.
    pub(super) fn parse<T: FromStr>(
        &mut self,
        name: &'static str,
        problem: &str,
    ) -> Result<Option<T>, ApiError> {
        self.text(name)
            .map(|text| {
                text.parse()
                    .map_err(|_| ApiError::bad_query(name, format!("{text:?} {problem}")))
            })
            .transpose()
    }

    /// `limit`: a positive whole number; [`Page::default`]'s when absent.
    pub(super) fn limit(&mut self) -> Result<usize, ApiError> {
        match self.parse::<usize>("limit", "is not a positive whole number")? {
            None => Ok(Page::default().limit),
            Some(0) => Err(ApiError::bad_query(
                "limit",
                "\"0\" is not a positive whole number",
            )),
            Some(limit) => Ok(limit),
        }
    }

    /// The RFC 3339 time of `name`, if given.
    pub(super) fn time(&mut self, name: &'static str) -> Result<Option<Timestamp>, ApiError> {
        self.text(name)
            .map(|text| {
                Timestamp::parse_rfc3339(&text)
                    .map_err(|message| ApiError::bad_query(name, message))
            })
            .transpose()
    }
}

/// The query of `GET /v1/models`.
#[derive(Debug)]
pub(super) struct ModelsQuery {
    after: Option<String>,
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

/// The query of `GET /v1/series`: model and metric required; version and instance narrow the
/// series down, all of the model's otherwise.
#[derive(Debug)]
pub(super) struct SeriesParams {
    model: String,
    version: Option<String>,
    instance: Option<String>,
    metric: String,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    after: Option<PointCursor>,
    limit: usize,
}

impl FromParams for SeriesParams {
    const NAMES: &'static [&'static str] = &[
        "model", "version", "instance", "metric", "from", "to", "after", "limit",
    ];

    fn from_params(params: &mut Params) -> Result<SeriesParams, ApiError> {
        Ok(SeriesParams {
            model: params.required("model")?,
            version: params.non_empty("version"),
            instance: params.non_empty("instance"),
            metric: params.required("metric")?,
            from: params.time("from")?,
            to: params.time("to")?,
            after: params
                .text("after")
                .as_deref()
                .map(parse_cursor)
                .transpose()?,
            limit: params.limit()?.min(MAX_PAGE),
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
    /// Its versions that have points, in order.
    versions: Vec<String>,
    /// Its (version, instance) pairs that have points, in order.
    instances: Vec<InstanceBody>,
    /// The latest point of each series, in (version, instance, metric) order.
    latest: Vec<LatestBody>,
    /// The latest transition of each alert that is pending, firing or warning, in the JSON
    /// form `replay --format json` prints, in stream order.
    #[schema(value_type = Vec<openapi::AlertOutput>)]
    alerts: Vec<Box<RawValue>>,
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

/// One point of a series.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PointBody {
    /// The version of the series the point belongs to.
    version: String,
    /// The instance of the series the point belongs to.
    instance: String,
    /// The sequence number of the input it came with.
    seq: u64,
    /// Its event time.
    #[schema(value_type = String, format = DateTime)]
    at: Timestamp,
    value: f64,
}

/// The series asked for: the model, and the version and instance if the query named them.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SeriesModel {
    name: String,
    /// Absent when the query did not name a version.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    version: Option<String>,
    /// Absent when the query did not name an instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    instance: Option<String>,
}

/// A page of points of one metric of a model, oldest first (by event time, then sequence
/// number), across the matching versions and instances.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SeriesBody {
    model: SeriesModel,
    metric: String,
    points: Vec<PointBody>,
    /// Pass as `after` for the next page: `<nanoseconds>:<seq>` of the last point; `null` on
    /// the last page.
    #[schema(required = true, example = "1795334400000000000:42")]
    next: Option<String>,
}

/// `GET /v1/models?after=&limit=`: models in name order; `after` is the previous page's `next`.
#[utoipa::path(
    get,
    path = "/v1/models",
    tag = "query",
    summary = "Models, in name order, with their latest values and open alerts",
    params(openapi::ModelsParams),
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
#[utoipa::path(
    get,
    path = "/v1/models/{name}",
    tag = "query",
    summary = "One model with its latest values and open alerts",
    params(("name" = String, Path, description = "The model's name")),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The model", body = ModelBody),
        (status = 400, description = "The name is not valid UTF-8 once decoded",
            body = openapi::ErrorResponse),
        (status = 404, description = "No point of this model is stored", body = openapi::ErrorResponse),
        openapi::ReadErrors
    )
)]
pub(super) async fn get_model(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(name) =
        name.map_err(|rejection| ApiError::bad_query("name", rejection.body_text()))?;
    let (name, latest, alerts) = read_points(&state, move |store| summary(store, &name)).await?;
    if latest.is_empty() {
        let error = format!("unknown model {name:?}");
        return Ok((StatusCode::NOT_FOUND, Json(json!({ "error": error }))).into_response());
    }
    Ok(Json(model_body(name, latest, alerts)?).into_response())
}

/// `GET /v1/series`: points of one metric of a model, oldest first, in `[from, to)`; of one
/// series when `version` and `instance` are given, else of every matching series merged in
/// (time, seq) order (each point says its version and instance).
#[utoipa::path(
    get,
    path = "/v1/series",
    tag = "query",
    summary = "Points of a metric of a model, oldest first",
    description = "The points of `metric` of `model` in `[from, to)`, by event time and then \
        sequence number. `version` and `instance` narrow them down to those series; without \
        them the points of every version and instance are merged (each point names its version \
        and instance). Page with `after`: the previous page's `next`.",
    params(openapi::SeriesParams),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "One page of points (empty when nothing matches)",
            body = SeriesBody),
        (status = 400, description = "A bad or missing query parameter, named in `parameter`",
            body = openapi::ErrorResponse),
        openapi::ReadErrors
    )
)]
pub(super) async fn get_series(
    State(state): State<AppState>,
    QueryParams(params): QueryParams<SeriesParams>,
) -> Result<Json<SeriesBody>, ApiError> {
    let (params, points, next) = read_points(&state, move |store| {
        let (points, next) = series_points(store, &params)?;
        Ok((params, points, next))
    })
    .await?;
    Ok(Json(SeriesBody {
        model: SeriesModel {
            name: params.model,
            version: params.version,
            instance: params.instance,
        },
        metric: params.metric,
        points,
        next: next.map(|cursor| format!("{}:{}", cursor.at.as_nanos(), cursor.seq)),
    }))
}

/// One page of the points of every series matching `params`, merged by (time, seq).
///
/// Each series is read with the same range, cursor and limit, so the first `limit` points of
/// the merge are the first `limit` of the union: a point left out of a series' page comes after
/// `limit` points of that series. A point's (time, seq) is unique across the series of one
/// model and metric (an input names one model instance), so the cursor orders them all.
fn series_points(
    store: &Store,
    params: &SeriesParams,
) -> Result<(Vec<PointBody>, Option<PointCursor>), StoreError> {
    let models: Vec<ModelId> = match (&params.version, &params.instance) {
        (Some(version), Some(instance)) => {
            vec![ModelId::new(params.model.as_str(), version, instance)]
        }
        (version, instance) => store
            .latest_points(&params.model)?
            .into_iter()
            .filter(|series| {
                series.metric == params.metric
                    && version.as_ref().is_none_or(|v| *v == series.model.version)
                    && instance
                        .as_ref()
                        .is_none_or(|i| *i == series.model.instance)
            })
            .map(|series| series.model)
            .collect(),
    };
    let mut points: Vec<(Point, usize)> = Vec::new();
    let mut more = false;
    for (index, model) in models.iter().enumerate() {
        let page = store.series(&SeriesQuery {
            model: model.clone(),
            metric: params.metric.clone(),
            from: params.from,
            to: params.to,
            after: params.after,
            limit: params.limit,
            order: Order::OldestFirst,
        })?;
        more |= page.next.is_some();
        points.extend(page.points.into_iter().map(|point| (point, index)));
    }
    points.sort_by_key(|(point, _)| (point.at, point.seq));
    more |= points.len() > params.limit;
    points.truncate(params.limit);
    let next = points
        .last()
        .filter(|_| more)
        .map(|(point, _)| PointCursor {
            at: point.at,
            seq: point.seq,
        });
    let points = points
        .into_iter()
        .map(|(point, index)| PointBody {
            version: models[index].version.clone(),
            instance: models[index].instance.clone(),
            seq: point.seq,
            at: point.at,
            value: point.value,
        })
        .collect();
    Ok((points, next))
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

/// A series cursor: `<nanoseconds>:<seq>`, as a page's `next` gives it.
fn parse_cursor(text: &str) -> Result<PointCursor, ApiError> {
    let bad = || {
        ApiError::bad_query(
            "after",
            format!("{text:?} is not a cursor; pass a previous page's \"next\""),
        )
    };
    let (at, seq) = text.split_once(':').ok_or_else(bad)?;
    Ok(PointCursor {
        at: Timestamp::from_nanos(at.parse().map_err(|_| bad())?),
        seq: seq.parse().map_err(|_| bad())?,
    })
}
