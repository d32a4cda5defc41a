//! `GET /v1/canary/{model}` (and the same as `POST`, for Flagger's webhooks): a canary verdict
//! on demand, judged from the stored points by the canary rules' own test
//! (`modelwatch_engine::judge`), in a shape an Argo Rollouts web metric reads with
//! `jsonPath: "{$.verdict}"` and a Flagger webhook reads from the status code (`gate`).
//!
//! The sides are the engine's: the candidate is one version (the one whose point came last,
//! unless the selector names a version), pooled over its instances that the candidate selector
//! takes; the baseline is every series the baseline selector takes and the candidate's does
//! not. Each side is the last `window` points by sequence number, as a canary rule keeps them,
//! read as each series' newest points by event time: the same points whenever each series
//! arrives in time order (one model server per instance, sending in order).

mod query;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use modelwatch_engine::canary::verdict_message;
use modelwatch_engine::config::{
    CanaryRule, DEFAULT_CANARY_CONFIDENCE, DEFAULT_CANARY_MIN_SAMPLES, DEFAULT_CANARY_TOLERANCE,
    DEFAULT_CANARY_WINDOW, SeriesSelector,
};
use modelwatch_engine::metric::Goal;
use modelwatch_engine::wire::check_identifier;
use modelwatch_engine::{CanaryParams, Judgement, ModelId, judge};
use modelwatch_store::{MAX_PAGE, Order, Point, SeriesQuery, Store, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::params::QueryParams;
use super::{AppState, openapi, read_points};
use query::CanaryQuery;

/// What to judge, resolved from the query and the rule it names.
#[derive(Debug)]
struct Judging {
    model: String,
    rule: Option<String>,
    metric: String,
    candidate: SeriesSelector,
    baseline: SeriesSelector,
    window: u32,
    params: CanaryParams,
}

impl Judging {
    /// The rule's settings overridden by the query's; without a rule, `metric`, `candidate`
    /// and `baseline` are required and the rest have the canary rules' defaults.
    fn resolve(model: String, query: CanaryQuery, rules: &[CanaryRule]) -> Result<Self, ApiError> {
        let rule = match &query.rule {
            None => None,
            Some(name) => Some(find_rule(name, &model, rules)?),
        };
        let required = |name: &'static str| {
            ApiError::bad_query(
                name,
                "required unless `rule` names a canary rule that has it",
            )
        };
        let metric = match (query.metric, rule) {
            (Some(metric), _) if !metric.is_empty() => metric,
            (_, Some(rule)) => rule.metric.clone(),
            _ => return Err(required("metric")),
        };
        let candidate = query
            .candidate
            .or_else(|| rule.map(|rule| rule.candidate.clone()))
            .ok_or_else(|| required("candidate"))?;
        let baseline = query
            .baseline
            .or_else(|| rule.map(|rule| rule.baseline.clone()))
            .ok_or_else(|| required("baseline"))?;
        if candidate == baseline {
            return Err(ApiError::bad_query(
                "baseline",
                "the baseline selects the same series as the candidate; they must differ",
            ));
        }
        let window = query
            .window
            .or(rule.map(|rule| rule.window))
            .unwrap_or(DEFAULT_CANARY_WINDOW);
        let min_samples = query
            .min_samples
            .or(rule.map(|rule| rule.min_samples))
            .unwrap_or(DEFAULT_CANARY_MIN_SAMPLES.min(window));
        if min_samples > window {
            return Err(ApiError::bad_query(
                "min_samples",
                format!("{min_samples} is more than the window, {window}"),
            ));
        }
        let params = CanaryParams {
            confidence: query
                .confidence
                .or(rule.map(|rule| rule.confidence))
                .unwrap_or(DEFAULT_CANARY_CONFIDENCE),
            min_samples: usize::try_from(min_samples).unwrap_or(usize::MAX),
            tolerance: query
                .tolerance
                .or(rule.map(|rule| rule.tolerance))
                .unwrap_or(DEFAULT_CANARY_TOLERANCE),
            // Set once the metric's direction is known (the config's catalog).
            direction: Goal::Unknown,
        };
        Ok(Judging {
            model,
            rule: query.rule,
            metric,
            candidate,
            baseline,
            window,
            params,
        })
    }
}

/// The canary rule `name`, which must watch `model`.
fn find_rule<'r>(
    name: &str,
    model: &str,
    rules: &'r [CanaryRule],
) -> Result<&'r CanaryRule, ApiError> {
    let Some(rule) = rules.iter().find(|rule| *rule.name == *name) else {
        let known: Vec<&str> = rules.iter().map(|rule| &*rule.name).collect();
        let known = if known.is_empty() {
            "the config has none".to_string()
        } else {
            format!("the config has {}", known.join(", "))
        };
        return Err(ApiError::bad_query(
            "rule",
            format!("{name:?} is not a canary rule; {known}"),
        ));
    };
    if !rule.model.matches(model) {
        return Err(ApiError::bad_query(
            "rule",
            format!(
                "canary rule {name:?} does not watch model {model:?} (its model glob is {})",
                rule.model
            ),
        ));
    }
    Ok(rule)
}

/// The points of both sides, read from the store.
#[derive(Debug, Default)]
struct Sides {
    /// The candidate version judged; `None` when no series is a candidate.
    version: Option<String>,
    candidate_series: Vec<ModelId>,
    baseline_series: Vec<ModelId>,
    candidate: Vec<f64>,
    baseline: Vec<f64>,
}

/// Reads both sides' windows (see the module docs).
fn read_sides(store: &Store, judging: &Judging) -> Result<Sides, StoreError> {
    let series: Vec<_> = store
        .latest_points(&judging.model)?
        .into_iter()
        .filter(|series| series.metric == judging.metric)
        .collect();
    let is_candidate = |model: &ModelId| judging.candidate.matches(&model.version, &model.instance);
    // The candidate version whose point came last.
    let version = series
        .iter()
        .filter(|series| is_candidate(&series.model))
        .max_by_key(|series| series.point.seq)
        .map(|series| series.model.version.clone());
    let candidate_series: Vec<ModelId> = series
        .iter()
        .filter(|series| {
            is_candidate(&series.model) && Some(&series.model.version) == version.as_ref()
        })
        .map(|series| series.model.clone())
        .collect();
    let baseline_series: Vec<ModelId> = series
        .iter()
        .filter(|series| {
            !is_candidate(&series.model)
                && judging
                    .baseline
                    .matches(&series.model.version, &series.model.instance)
        })
        .map(|series| series.model.clone())
        .collect();
    let window = usize::try_from(judging.window).unwrap_or(usize::MAX);
    Ok(Sides {
        candidate: pooled(store, &candidate_series, &judging.metric, window)?,
        baseline: pooled(store, &baseline_series, &judging.metric, window)?,
        version,
        candidate_series,
        baseline_series,
    })
}

/// The last `window` values by sequence number of the series' `metric` together.
fn pooled(
    store: &Store,
    series: &[ModelId],
    metric: &str,
    window: usize,
) -> Result<Vec<f64>, StoreError> {
    let mut points: Vec<Point> = Vec::new();
    for model in series {
        points.extend(newest_points(store, model, metric, window)?);
    }
    points.sort_unstable_by_key(|point| point.seq);
    let skip = points.len().saturating_sub(window);
    Ok(points
        .into_iter()
        .skip(skip)
        .map(|point| point.value)
        .collect())
}

/// A series' newest `count` points by event time, newest first.
fn newest_points(
    store: &Store,
    model: &ModelId,
    metric: &str,
    count: usize,
) -> Result<Vec<Point>, StoreError> {
    let mut points = Vec::new();
    let mut after = None;
    while points.len() < count {
        let page = store.series(&SeriesQuery {
            model: model.clone(),
            metric: metric.to_string(),
            from: None,
            to: None,
            after,
            limit: (count - points.len()).min(MAX_PAGE),
            order: Order::NewestFirst,
        })?;
        points.extend(page.points);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(points)
}

/// The verdict on demand.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CanaryBody {
    /// The model (by name).
    #[schema(example = "fraud-detector")]
    model: String,
    /// The canary rule the settings came from, if the query named one.
    #[schema(required = true)]
    rule: Option<String>,
    /// The metric compared.
    #[schema(example = "latency_ms")]
    metric: String,
    /// `pass`, `fail` or `not_enough_data`: what an Argo Rollouts web metric reads
    /// (`jsonPath: "{$.verdict}"`).
    #[schema(value_type = openapi::Verdict)]
    verdict: &'static str,
    /// The verdict in words.
    message: String,
    /// The numbers behind the verdict.
    #[schema(value_type = openapi::Judgement)]
    judgement: Judgement,
    /// The candidate side.
    candidate: CanarySide,
    /// The baseline side.
    baseline: CanarySide,
    /// The settings judged with.
    settings: CanarySettings,
}

/// One side of a comparison.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CanarySide {
    /// The side's selector, in words (`instance canary-*`).
    #[schema(example = "instance canary-*")]
    selector: String,
    /// The candidate version judged (null when no series is a candidate; always null for the
    /// baseline, which pools every version).
    #[schema(required = true)]
    version: Option<String>,
    /// The series whose points were pooled.
    series: Vec<CanarySeries>,
}

/// A series of the model.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CanarySeries {
    version: String,
    instance: String,
}

/// The settings a verdict was judged with.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CanarySettings {
    /// The most recent points of each side compared.
    window: u32,
    /// Fewer points on either side: `not_enough_data`.
    min_samples: u32,
    /// The confidence of the test.
    confidence: f64,
    /// The largest bad shift tolerated, as a fraction of the baseline's median.
    tolerance: f64,
    /// The metric's direction: `higher_is_better`, `lower_is_better` or `unknown` (any
    /// significant shift is bad).
    #[schema(example = "lower_is_better")]
    direction: &'static str,
}

fn canary_side(
    selector: &SeriesSelector,
    version: Option<String>,
    series: Vec<ModelId>,
) -> CanarySide {
    CanarySide {
        selector: selector.to_string(),
        version,
        series: series
            .into_iter()
            .map(|model| CanarySeries {
                version: model.version,
                instance: model.instance,
            })
            .collect(),
    }
}

/// Judges and answers: 200, or 412 when `gate` names another verdict than the one reached.
async fn canary(
    state: AppState,
    name: Result<Path<String>, PathRejection>,
    query: CanaryQuery,
) -> Result<Response, ApiError> {
    let Path(model) =
        name.map_err(|rejection| ApiError::bad_query("model", rejection.body_text()))?;
    check_identifier(&model)
        .map_err(|problem| ApiError::bad_query("model", format!("the model name {problem}")))?;
    let gate = query.gate;
    let mut judging = Judging::resolve(model, query, &state.config.canaries)?;
    judging.params.direction = state.config.catalog.goal(&judging.metric);
    let (judging, sides) = read_points(&state, move |store| {
        let sides = read_sides(store, &judging)?;
        Ok((judging, sides))
    })
    .await?;
    let judgement = judge(&judging.params, &sides.candidate, &sides.baseline);
    let verdict = judgement.verdict;
    let baseline = judging.baseline.to_string();
    let message = match &sides.version {
        Some(version) => verdict_message(
            &judging.metric,
            &judging.model,
            version,
            &baseline,
            verdict,
            &judgement.describe(),
        ),
        None => format!(
            "no series of {} with {} points is a candidate ({}): not enough data",
            judging.model, judging.metric, judging.candidate
        ),
    };
    let body = CanaryBody {
        model: judging.model,
        rule: judging.rule,
        metric: judging.metric,
        verdict: verdict.as_str(),
        message,
        judgement,
        candidate: canary_side(&judging.candidate, sides.version, sides.candidate_series),
        baseline: canary_side(&judging.baseline, None, sides.baseline_series),
        settings: CanarySettings {
            window: judging.window,
            min_samples: u32::try_from(judging.params.min_samples).unwrap_or(u32::MAX),
            confidence: judging.params.confidence,
            tolerance: judging.params.tolerance,
            direction: judging.params.direction.as_str(),
        },
    };
    let status = match gate {
        Some(gate) if gate != verdict => StatusCode::PRECONDITION_FAILED,
        _ => StatusCode::OK,
    };
    Ok((status, Json(body)).into_response())
}

/// `GET /v1/canary/{model}`: the verdict, for an Argo Rollouts web metric or a person.
#[utoipa::path(
    get,
    path = "/v1/canary/{model}",
    tag = "actions",
    summary = "A canary verdict on demand, from the stored points",
    description = "Judges the candidate against the baseline as a canary rule does (the \
        Mann-Whitney U test): `rule` takes a canary rule's settings, the other parameters \
        override them or stand alone. The candidate is the version whose point came last \
        (unless the selector names one), pooled over its instances; the baseline pools every \
        series its selector takes and the candidate's does not; each side is its last `window` \
        points. With `gate`, the status says whether the verdict is the one named (200) or not \
        (412), for Flagger's webhooks (docs/actions.md).",
    params(("model" = String, Path, description = "The model's name"), CanaryQuery),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The verdict (with `gate`: the verdict named)",
            body = CanaryBody),
        (status = 400, description = "A bad or missing query parameter, or an unknown rule, \
            named in `parameter`", body = openapi::ErrorResponse),
        (status = 412, description = "With `gate`: a verdict other than the one named",
            body = CanaryBody),
        openapi::ReadErrors
    )
)]
pub(super) async fn get_canary(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    QueryParams(query): QueryParams<CanaryQuery>,
) -> Result<Response, ApiError> {
    canary(state, name, query).await
}

/// `POST /v1/canary/{model}`: the same as `GET`, for Flagger's webhooks, which POST (their
/// body is not read).
#[utoipa::path(
    post,
    path = "/v1/canary/{model}",
    tag = "actions",
    summary = "A canary verdict on demand (as GET), for Flagger's webhooks",
    description = "The same as `GET /v1/canary/{model}`; the request body (Flagger's webhook \
        payload) is not read. Use `gate=fail` on a Flagger `rollback` webhook (200 stops the \
        analysis and rolls back) and `gate=pass` on a `confirm-promotion` webhook (promotion \
        waits for 200).",
    params(("model" = String, Path, description = "The model's name"), CanaryQuery),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The verdict (with `gate`: the verdict named)",
            body = CanaryBody),
        (status = 400, description = "A bad or missing query parameter, or an unknown rule, \
            named in `parameter`", body = openapi::ErrorResponse),
        (status = 412, description = "With `gate`: a verdict other than the one named",
            body = CanaryBody),
        openapi::ReadErrors
    )
)]
pub(super) async fn post_canary(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    QueryParams(query): QueryParams<CanaryQuery>,
) -> Result<Response, ApiError> {
    canary(state, name, query).await
}
