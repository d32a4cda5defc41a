//! `GET /v1/deliveries`: the notifications of outputs to notifiers, and where they stand.

use axum::Json;
use axum::extract::State;
use modelwatch_engine::Timestamp;
use modelwatch_store::{Delivery, DeliveryFilter, DeliveryState, Listing};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::params::{FromParams, Params, QueryParams, newest_first};
use super::{AppState, openapi, read};

/// One notification of an output to a notifier.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DeliveryBody {
    /// The delivery's id, sent as `Idempotency-Key` with every attempt.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    id: String,
    notifier: String,
    /// The output it tells of.
    output_id: String,
    /// `pending`, `delivered`, `given_up` or `skipped`.
    #[schema(example = "delivered")]
    state: &'static str,
    attempts: u32,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    last_attempt_at: Option<Timestamp>,
    #[schema(required = true)]
    last_error: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    done_at: Option<Timestamp>,
}

fn delivery_body(delivery: Delivery) -> DeliveryBody {
    DeliveryBody {
        id: delivery.id,
        notifier: delivery.notifier,
        output_id: delivery.output_id,
        state: delivery.state.as_str(),
        attempts: delivery.attempts,
        created_at: delivery.created_at,
        last_attempt_at: delivery.last_attempt_at,
        last_error: delivery.last_error,
        done_at: delivery.done_at,
    }
}

/// A page of deliveries, newest first.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DeliveriesBody {
    items: Vec<DeliveryBody>,
    #[schema(required = true)]
    next: Option<i64>,
}

/// The query of `GET /v1/deliveries`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DeliveriesQuery {
    /// Only this notifier's.
    notifier: Option<String>,
    /// Only deliveries in this state: `pending`, `delivered`, `given_up`, `skipped`.
    #[param(value_type = Option<String>)]
    state: Option<DeliveryState>,
    /// Only the deliveries of this output.
    output_id: Option<String>,
    /// Start after this cursor: the previous page's `next`.
    after: Option<i64>,
    /// Most items on the page: 1 or more (default 100; more than 1000 gives 1000).
    #[param(value_type = Option<u64>, minimum = 1)]
    limit: usize,
}

impl FromParams for DeliveriesQuery {
    const NAMES: &'static [&'static str] = &["notifier", "state", "output_id", "after", "limit"];

    fn from_params(params: &mut Params) -> Result<DeliveriesQuery, ApiError> {
        let state = params
            .text("state")
            .map(|text| {
                DeliveryState::from_name(&text).ok_or_else(|| {
                    ApiError::bad_query(
                        "state",
                        format!(
                            "{text:?} is not a delivery state; use pending, delivered, given_up \
                             or skipped"
                        ),
                    )
                })
            })
            .transpose()?;
        Ok(DeliveriesQuery {
            notifier: params.text("notifier"),
            state,
            output_id: params.text("output_id"),
            after: params.cursor()?,
            limit: params.limit()?,
        })
    }
}

/// `GET /v1/deliveries`.
#[utoipa::path(
    get,
    path = "/v1/deliveries",
    tag = "actions",
    summary = "Notifications and where they stand, newest first",
    params(DeliveriesQuery),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "One page of deliveries", body = DeliveriesBody),
        (status = 400, description = "A bad query parameter, named in `parameter`",
            body = openapi::ErrorResponse),
        openapi::ReadErrors
    )
)]
pub(super) async fn get_deliveries(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<DeliveriesQuery>,
) -> Result<Json<DeliveriesBody>, ApiError> {
    let filter = DeliveryFilter {
        notifier: query.notifier,
        state: query.state,
        output_id: query.output_id,
    };
    let page = newest_first(query.after, query.limit);
    let listing: Listing<Delivery> =
        read(&state, move |store| store.deliveries(&filter, &page)).await?;
    Ok(Json(DeliveriesBody {
        items: listing.items.into_iter().map(delivery_body).collect(),
        next: listing.next,
    }))
}
