//! `GET /v1/series`: the points of one metric of a model, oldest first, of one series or of
//! every matching version and instance merged by (time, seq).

use axum::Json;
use axum::extract::State;
use modelwatch_engine::metric::check_series_name;
use modelwatch_engine::wire::check_identifier;
use modelwatch_engine::{ModelId, Timestamp};
use modelwatch_store::{MAX_PAGE, Order, Point, PointCursor, SeriesQuery, Store, StoreError};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::params::{FromParams, Params, QueryParams, parse_cursor};
use super::{AppState, openapi, read_points};

/// The query of `GET /v1/series`: model and metric required; version and instance narrow the
/// series down, all of the model's otherwise.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct SeriesParams {
    /// The model's name (a name events may carry: 1 to 128 bytes of letters, digits and
    /// `. _ : / @ + -`, starting with a letter or digit).
    #[param(
        min_length = 1,
        max_length = 128,
        pattern = "^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$"
    )]
    model: String,
    /// Only this version (a name as `model`); all versions when absent or empty.
    #[param(max_length = 128, pattern = "^([A-Za-z0-9][A-Za-z0-9._:/@+-]*)?$")]
    version: Option<String>,
    /// Only this instance (a name as `model`); all instances when absent or empty.
    #[param(max_length = 128, pattern = "^([A-Za-z0-9][A-Za-z0-9._:/@+-]*)?$")]
    instance: Option<String>,
    /// The metric (a metric name: `[a-z][a-z0-9_]{0,63}`).
    #[param(min_length = 1, max_length = 64, pattern = "^[a-z][a-z0-9_]{0,63}$")]
    metric: String,
    /// Points at or after this event time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    from: Option<Timestamp>,
    /// Points before this event time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    to: Option<Timestamp>,
    /// Start after this cursor, `<nanoseconds>:<seq>`: the previous page's `next`.
    #[param(value_type = Option<String>, pattern = "^-?[0-9]+:[0-9]+$")]
    after: Option<PointCursor>,
    /// Most points on the page: 1 or more (default 100; more than 1000 gives 1000).
    #[param(value_type = Option<u64>, minimum = 1)]
    limit: usize,
}

impl FromParams for SeriesParams {
    const NAMES: &'static [&'static str] = &[
        "model", "version", "instance", "metric", "from", "to", "after", "limit",
    ];

    fn from_params(params: &mut Params) -> Result<SeriesParams, ApiError> {
        // Names no event could carry are mistakes, not series without points.
        let identifier = |name: &'static str, value: String| {
            check_identifier(&value)
                .map(|()| value)
                .map_err(|problem| ApiError::bad_query(name, problem))
        };
        let model = identifier("model", params.required("model")?)?;
        let metric = params.required("metric")?;
        check_series_name(&metric).map_err(|problem| ApiError::bad_query("metric", problem))?;
        Ok(SeriesParams {
            model,
            version: params
                .non_empty("version")
                .map(|version| identifier("version", version))
                .transpose()?,
            instance: params
                .non_empty("instance")
                .map(|instance| identifier("instance", instance))
                .transpose()?,
            metric,
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
    params(SeriesParams),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "One page of points (empty when nothing matches)",
            body = SeriesBody),
        (status = 400, description = "A bad or missing query parameter, named in `parameter`: \
            among them a model, version or instance name, or a metric name, that no event can \
            carry", body = openapi::ErrorResponse),
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
