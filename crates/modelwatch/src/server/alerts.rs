//! The stored outputs of the engine, newest first: alert transitions (`GET /v1/alerts`), one
//! alert's transitions (`GET /v1/alerts/{id}`, where notifications link to) and retrain
//! decisions (`GET /v1/decisions`), each item in the JSON form `replay --format json` prints.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use modelwatch_engine::{AlertState, Timestamp};
use modelwatch_store::{AlertFilter, DecisionFilter};
use utoipa::IntoParams;

use super::error::ApiError;
use super::params::{FromParams, Params, QueryParams, newest_first};
use super::{AppState, ListingBody, listing_body, openapi, read};

/// Every alert state, in the order the API lists them.
const ALERT_STATES: [AlertState; 6] = [
    AlertState::Pending,
    AlertState::Firing,
    AlertState::Resolved,
    AlertState::Inactive,
    AlertState::Drift,
    AlertState::Warning,
];

/// The query of `GET /v1/alerts`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct AlertsQuery {
    /// Only transitions to this state.
    #[param(value_type = Option<openapi::AlertState>)]
    state: Option<AlertState>,
    /// Only this model (by name).
    model: Option<String>,
    /// Only transitions at or after this event time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<Timestamp>,
    /// Start after this cursor: the previous page's `next`.
    after: Option<i64>,
    /// Most items on the page: 1 or more (default 100; more than 1000 gives 1000).
    #[param(value_type = Option<u64>, minimum = 1)]
    limit: usize,
}

impl FromParams for AlertsQuery {
    const NAMES: &'static [&'static str] = &["state", "model", "since", "after", "limit"];

    fn from_params(params: &mut Params) -> Result<AlertsQuery, ApiError> {
        let state = match params.text("state") {
            None => None,
            Some(name) => Some(
                ALERT_STATES
                    .into_iter()
                    .find(|candidate| candidate.as_str() == name)
                    .ok_or_else(|| {
                        ApiError::bad_query(
                            "state",
                            format!(
                                "unknown alert state {name:?}; expected one of pending, firing, \
                                 resolved, inactive, drift, warning"
                            ),
                        )
                    })?,
            ),
        };
        Ok(AlertsQuery {
            state,
            model: params.text("model"),
            since: params.time("since")?,
            after: params.cursor()?,
            limit: params.limit()?,
        })
    }
}

/// The query of `GET /v1/alerts/{id}`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct AlertQuery {
    /// Start after this cursor: the previous page's `next`.
    after: Option<i64>,
    /// Most items on the page: 1 or more (default 100; more than 1000 gives 1000).
    #[param(value_type = Option<u64>, minimum = 1)]
    limit: usize,
}

impl FromParams for AlertQuery {
    const NAMES: &'static [&'static str] = &["after", "limit"];

    fn from_params(params: &mut Params) -> Result<AlertQuery, ApiError> {
        Ok(AlertQuery {
            after: params.cursor()?,
            limit: params.limit()?,
        })
    }
}

/// The query of `GET /v1/decisions`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DecisionsQuery {
    /// Only this model (by name).
    model: Option<String>,
    /// Start after this cursor: the previous page's `next`.
    after: Option<i64>,
    /// Most items on the page: 1 or more (default 100; more than 1000 gives 1000).
    #[param(value_type = Option<u64>, minimum = 1)]
    limit: usize,
}

impl FromParams for DecisionsQuery {
    const NAMES: &'static [&'static str] = &["model", "after", "limit"];

    fn from_params(params: &mut Params) -> Result<DecisionsQuery, ApiError> {
        Ok(DecisionsQuery {
            model: params.text("model"),
            after: params.cursor()?,
            limit: params.limit()?,
        })
    }
}

/// `GET /v1/alerts`.
#[utoipa::path(
    get,
    path = "/v1/alerts",
    tag = "query",
    summary = "Alert transitions, newest first",
    params(AlertsQuery),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "One page of alert transitions", body = openapi::AlertPage),
        (status = 400, description = "A bad query parameter, named in `parameter`",
            body = openapi::ErrorResponse),
        openapi::ReadErrors
    )
)]
pub(super) async fn get_alerts(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<AlertsQuery>,
) -> Result<Json<ListingBody>, ApiError> {
    let filter = AlertFilter {
        model: query.model,
        state: query.state,
        since: query.since,
        ..AlertFilter::default()
    };
    let page = newest_first(query.after, query.limit);
    let listing = read(&state, move |store| store.alerts(&filter, &page)).await?;
    listing_body(listing, |alert| alert.output).map(Json)
}

/// `GET /v1/alerts/{id}`.
#[utoipa::path(
    get,
    path = "/v1/alerts/{id}",
    tag = "query",
    summary = "One alert's transitions, newest first",
    description = "Every transition of the alert `id` (an alert transition's `alert_id`: one \
        alert per series and rule), newest first, so the first item is where the alert stands. \
        Notifications link here.",
    params(("id" = String, Path, description = "The alert's id (`alert_id`)"), AlertQuery),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "One page of the alert's transitions", body = openapi::AlertPage),
        (status = 400, description = "A bad parameter, named in `parameter`",
            body = openapi::ErrorResponse),
        (status = 404, description = "No transition of this alert is stored", body = openapi::ErrorResponse),
        openapi::ReadErrors
    )
)]
pub(super) async fn get_alert(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    QueryParams(query): QueryParams<AlertQuery>,
) -> Result<Json<ListingBody>, ApiError> {
    let Path(id) = id.map_err(|rejection| ApiError::bad_query("id", rejection.body_text()))?;
    let filter = AlertFilter {
        alert_id: Some(id.clone()),
        ..AlertFilter::default()
    };
    let first_page = query.after.is_none();
    let page = newest_first(query.after, query.limit);
    let listing = read(&state, move |store| store.alerts(&filter, &page)).await?;
    if first_page && listing.items.is_empty() {
        return Err(ApiError::NotFound(format!("there is no alert {id}")));
    }
    listing_body(listing, |alert| alert.output).map(Json)
}

/// `GET /v1/decisions`.
#[utoipa::path(
    get,
    path = "/v1/decisions",
    tag = "query",
    summary = "Retrain decisions, newest first",
    params(DecisionsQuery),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "One page of retrain decisions", body = openapi::DecisionPage),
        (status = 400, description = "A bad query parameter, named in `parameter`",
            body = openapi::ErrorResponse),
        openapi::ReadErrors
    )
)]
pub(super) async fn get_decisions(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<DecisionsQuery>,
) -> Result<Json<ListingBody>, ApiError> {
    let filter = DecisionFilter {
        model: query.model,
        ..DecisionFilter::default()
    };
    let page = newest_first(query.after, query.limit);
    let listing = read(&state, move |store| store.decisions(&filter, &page)).await?;
    listing_body(listing, |decision| decision.output).map(Json)
}
