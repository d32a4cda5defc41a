//! `GET /v1/whoami`: the caller's token name and the scopes it holds, so that a client (the
//! console among others) can show only what the token may do, without trying a change.

use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{Caller, Granted};
use super::openapi;
use super::params::{NoParams, QueryParams};

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
    #[schema(value_type = Vec<ScopeName>, example = json!(["read"]))]
    scopes: Vec<&'static str>,
    /// Whether the server checks tokens.
    authentication: bool,
}

/// A token's scope, as the document names it.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) enum ScopeName {
    Ingest,
    Read,
    Admin,
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
    params(NoParams),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The caller", body = WhoAmI),
        (status = 400, description = "A query parameter (the route takes none)",
            body = openapi::ErrorResponse),
        openapi::ReadErrors
    )
)]
pub(super) async fn get_whoami(
    caller: Caller,
    Extension(granted): Extension<Granted>,
    QueryParams(NoParams {}): QueryParams<NoParams>,
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

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use super::ScopeName;
    use crate::server::auth::Scope;

    /// The documented scopes are the ones tokens hold; the `match` stops compiling when a scope
    /// is added.
    #[test]
    fn the_documented_scopes_are_the_tokens() {
        let schema = serde_json::to_value(ScopeName::schema()).unwrap();
        let documented: Vec<&str> = schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|value| value.as_str().unwrap())
            .collect();
        let scopes = [Scope::Ingest, Scope::Read, Scope::Admin];
        for scope in scopes {
            match scope {
                Scope::Ingest | Scope::Read | Scope::Admin => {}
            }
        }
        let names: Vec<&str> = scopes.iter().map(|scope| scope.as_str()).collect();
        assert_eq!(documented, names);
    }
}
