//! `GET /v1/models/{name}/rules`: the config's rules that watch a model, with their detector
//! and, for the detectors whose statistic is in the metric's own unit, the bound it is
//! compared with; so that a client (the console's charts among others) can draw every
//! threshold, also those of rules that never fired.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use modelwatch_detectors::{Condition, DetectorSpec};
use modelwatch_engine::config::Rule;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::params::{NoParams, QueryParams};
use super::{AppState, models, openapi, read};

/// The rules that watch a model.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RulesBody {
    /// The model asked about.
    #[schema(example = "fraud-detector")]
    model: String,
    /// The `[[rules]]` whose `model` glob takes the name, in the config's order.
    rules: Vec<RuleBody>,
}

/// One rule, as the config has it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleBody {
    /// The rule's name, as alerts carry it.
    #[schema(example = "accuracy-floor")]
    name: String,
    /// What the rule is for, in words.
    description: Option<String>,
    /// The metric it watches.
    #[schema(example = "accuracy")]
    metric: String,
    /// The globs on the model's version and instance (`*`: any).
    #[schema(example = "*")]
    version: String,
    #[schema(example = "*")]
    instance: String,
    /// The detector (`threshold`, `ema`, `window_mean`, `page_hinkley`, `adwin`, ...).
    #[schema(example = "threshold")]
    detector: &'static str,
    /// For `threshold`, `ema` and `window_mean`, whose statistic is in the metric's unit: the
    /// bound it is compared with; null for the change detectors.
    condition: Option<ConditionBody>,
    /// Consecutive points the condition must hold before the alert fires.
    for_points: u32,
    /// `info`, `warning` or `critical`.
    #[schema(example = "critical")]
    severity: &'static str,
    /// What the rule does besides alerting (`retrain`, `retrain_on_warning`).
    actions: Vec<&'static str>,
    /// The notifiers told of its transitions.
    notify: Vec<String>,
}

/// The bound a level detector's statistic is compared with.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ConditionBody {
    /// `below`: breached while the statistic is strictly below the bound; `above`: strictly
    /// above.
    #[schema(value_type = DirectionName, example = "below")]
    direction: &'static str,
    #[schema(example = 0.9)]
    bound: f64,
    /// The level the statistic must reach again to clear; null: the bound.
    resolve: Option<f64>,
}

/// Which side of the bound breaches.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) enum DirectionName {
    Below,
    Above,
}

fn condition(spec: &DetectorSpec) -> Option<&Condition> {
    match spec {
        DetectorSpec::Threshold(params) => Some(&params.condition),
        DetectorSpec::Ema(params) => Some(&params.condition),
        DetectorSpec::WindowMean(params) => Some(&params.condition),
        _ => None,
    }
}

fn rule_body(rule: &Rule) -> RuleBody {
    RuleBody {
        name: rule.name.to_string(),
        description: rule.description.clone(),
        metric: rule.metric.clone(),
        version: rule.matcher.version.to_string(),
        instance: rule.matcher.instance.to_string(),
        detector: rule.detector.kind().as_str(),
        condition: condition(&rule.detector).map(|condition| ConditionBody {
            direction: condition.direction.as_str(),
            bound: condition.bound,
            resolve: condition.resolve,
        }),
        for_points: rule.for_points,
        severity: rule.severity.as_str(),
        actions: rule.actions.iter().map(|action| action.as_str()).collect(),
        notify: rule.notify.iter().map(ToString::to_string).collect(),
    }
}

/// `GET /v1/models/{name}/rules`.
#[utoipa::path(
    get,
    path = "/v1/models/{name}/rules",
    tag = "query",
    summary = "The rules that watch a model",
    description = "Every `[[rules]]` entry whose `model` glob takes the name, in the config's \
        order, fired or not: its metric, the globs on version \
        and instance, the detector, and for `threshold`, `ema` and `window_mean` (statistics in \
        the metric's unit) the bound with its direction and resolve level. An empty list when \
        no rule takes the name.",
    params(("name" = String, Path, description = "The model's name", example = "fraud-detector"), NoParams),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The rules", body = RulesBody),
        (status = 400, description = "A bad path parameter or query", body = openapi::ErrorResponse),
        (status = 404, description = "No event has named the model", body = openapi::ErrorResponse),
        openapi::ReadErrors
    )
)]
pub(super) async fn get_rules(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    QueryParams(NoParams {}): QueryParams<NoParams>,
) -> Result<Json<RulesBody>, ApiError> {
    let Path(model) =
        name.map_err(|rejection| ApiError::bad_query("name", rejection.body_text()))?;
    let lookup = model.clone();
    if !read(&state, move |store| models::is_known(store, &lookup)).await? {
        return Err(ApiError::NotFound(format!(
            "unknown model {model:?}: no event has named it"
        )));
    }
    let rules = (state.config.rules.iter())
        .filter(|rule| rule.matcher.name.matches(&model))
        .map(rule_body)
        .collect();
    Ok(Json(RulesBody { model, rules }))
}
