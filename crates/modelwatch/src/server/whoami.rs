//! `GET /v1/whoami`: the caller's token name and the scopes it holds, so that a client (the
//! console among others) can show only what the token may do, without trying a change.

use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{Caller, Granted};
use super::openapi;

/// Who the caller is.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct WhoAmI {
    /// The token's name (where its value came from, such as `env MODELWATCH_TOKEN`; never the
    /// value), or `anonymous` when authentication is off.
    #[schema(example = "env MODELWATCH_TOKEN")]
    name: String,
    /// The scopes the token holds, in the order ingest, read, admin: an `admin` token holds all
    /// three, and with authentication off the caller holds all three.
    #[schema(example = json!(["read"]))]
    scopes: Vec<&'static str>,
    /// Whether the server checks tokens.
    authentication: bool,
}

/// `GET /v1/whoami`.
#[utoipa::path(
    get,
    path = "/v1/whoami",
    tag = "query",
    summary = "The caller's token name and scopes",
    description = "Names the token presented and the scopes it holds (`ingest`, `read`, \
        `admin`), so that a client can offer only what the token may do. Needs the `read` scope \
        (or `admin`, which holds it). With authentication off the caller is `anonymous` with \
        every scope.",
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The caller", body = WhoAmI),
        openapi::ReadErrors
    )
)]
pub(super) async fn get_whoami(
    caller: Caller,
    Extension(granted): Extension<Granted>,
) -> Json<WhoAmI> {
    Json(WhoAmI {
        name: caller.name().to_string(),
        scopes: granted
            .scopes()
            .into_iter()
            .map(|scope| scope.as_str())
            .collect(),
        authentication: granted.authentication(),
    })
}
