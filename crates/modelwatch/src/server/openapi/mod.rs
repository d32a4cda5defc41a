//! The OpenAPI 3.1 document of `modelwatch serve`, answered at `GET /openapi.json` (open, like
//! `/healthz`).
//!
//! Every route documents itself: `#[utoipa::path]` sits on its handler and
//! `utoipa_axum::routes!` registers the handler and its documentation together, so the router
//! cannot hold a route the document lacks. The bodies the server builds in this crate
//! (`Accepted`, the model and series bodies) derive their schemas where they are defined, and
//! each route's parameter struct documents the parameters it parses (`params.rs`). This file
//! holds the rest, written for the document only: what the engine parses and writes by hand
//! (the event wire format of `docs/events.md`, alert transitions, retrain decisions, input
//! errors: `modelwatch-engine` does not depend on utoipa), the error body, and the bearer
//! security scheme.
//!
//! Keep these schemas faithful to the code: CI runs schemathesis against a live server
//! (`.ci/run`), which fails on any response the document does not describe. Response schemas
//! are closed (`#[serde(deny_unknown_fields)]` makes utoipa write `additionalProperties:
//! false`), so a field the code adds without documenting it fails that run too.

mod bodies;
mod outputs;

use std::sync::Arc;

use axum::{Extension, Json};
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

pub(super) use bodies::*;
pub(super) use outputs::*;

/// The document's frame: title, tags, the security scheme and the schemas that no route names
/// directly. The paths come from the router (`utoipa_axum`).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "modelwatch",
        description = "Model monitoring: model servers push metric events; modelwatch evaluates every \
            series with detectors, raises alerts that explain themselves and decides retrains. \
            Without configured tokens nothing is authenticated (serve then listens on loopback only); \
            with tokens, `POST /v1/events` and `POST /v1/jobs/{id}/complete` need the `ingest` scope, \
            every `GET /v1/...` (and `POST /v1/canary/{model}`) the `read` scope, and `admin` grants both and the routes that change \
            things by hand (retention, retrain, cancel, registry changes). `/healthz`, `/readyz`, `/metrics` and `/openapi.json` are open."
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "ingest", description = "Metric events in (docs/events.md)"),
        (name = "query", description = "Stored alerts, retrain decisions, models and series"),
        (name = "actions", description = "Retrain and rollback jobs, and notifications"),
        (name = "registry", description = "Model versions and the audit log"),
        (name = "operations", description = "Probes, Prometheus metrics and this document")
    )
)]
pub(super) struct ApiDoc;

/// Adds the `bearer` HTTP security scheme the `/v1` routes name.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token configured with `serve --token-env NAME:SCOPES` or \
                         `--token-file PATH:SCOPES`. Scopes (the role names of each \
                         operation's security requirement): `ingest` for POST /v1/events \
                         and POST /v1/jobs/{id}/complete, `read` for every GET /v1/..., \
                         `admin` for both and for the routes that change things by hand. A missing or unknown \
                         token is a 401 with `WWW-Authenticate: Bearer`, a token without the \
                         scope a 403.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The finished document, shared by every request of `GET /openapi.json`.
#[derive(Clone)]
pub(super) struct Served(pub(super) Arc<Document>);

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Served(OpenApi)")
    }
}

/// `GET /openapi.json`.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    summary = "This OpenAPI document",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this server", body = Object,
            content_type = "application/json")
    )
)]
pub(super) async fn get_openapi(
    Extension(Served(document)): Extension<Served>,
) -> Json<Arc<Document>> {
    Json(document)
}
// ---------------------------------------------------------------------------------------------
// Errors.

/// The error answers every read route shares: no or an unknown token, a token without the
/// `read` scope, a store that cannot be read.
#[derive(IntoResponses)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) enum ReadErrors {
    /// Missing or unknown bearer token
    #[response(status = 401, headers(("WWW-Authenticate" = String, description = "`Bearer`")))]
    Unauthorized(ErrorResponse),
    /// The token lacks the `read` scope
    #[response(status = 403)]
    Forbidden(ErrorResponse),
    /// The store could not be read
    #[response(status = 500)]
    Unreadable(ErrorResponse),
}

/// The errors of an admin route's authentication and body bounds.
#[derive(IntoResponses)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) enum AdminErrors {
    /// Missing or unknown bearer token
    #[response(status = 401, headers(("WWW-Authenticate" = String, description = "`Bearer`")))]
    Unauthorized(ErrorResponse),
    /// The token lacks the `admin` scope
    #[response(status = 403)]
    Forbidden(ErrorResponse),
    /// The store could not be read or written
    #[response(status = 500)]
    Failed(ErrorResponse),
    /// The declared body is over `--body-limit` (answered before the body is read), or the
    /// body grew past it
    #[response(status = 413)]
    TooLarge(ErrorResponse),
    /// The body did not arrive whole within `--body-timeout`
    #[response(status = 408)]
    TimedOut(ErrorResponse),
}

/// The errors of a route that reports to the service (`ingest` scope), with its body bounds.
#[derive(IntoResponses)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) enum WriteErrors {
    /// Missing or unknown bearer token
    #[response(status = 401, headers(("WWW-Authenticate" = String, description = "`Bearer`")))]
    Unauthorized(ErrorResponse),
    /// The token lacks the `ingest` scope
    #[response(status = 403)]
    Forbidden(ErrorResponse),
    /// The store could not be read or written
    #[response(status = 500)]
    Failed(ErrorResponse),
    /// The declared body is over `--body-limit` (answered before the body is read), or the
    /// body grew past it
    #[response(status = 413)]
    TooLarge(ErrorResponse),
    /// The body did not arrive whole within `--body-timeout`
    #[response(status = 408)]
    TimedOut(ErrorResponse),
}

/// Every error answer: `error` says what is wrong in a sentence. A refused batch lists each
/// problem in `errors` (at most 100; `omitted` counts the rest), and so does a refused body of
/// a route that stores an input (a retrain's `reason`, a job report's `version`); a bad query
/// parameter is named in `parameter`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct ErrorResponse {
    /// What is wrong.
    #[schema(example = "limit: \"abc\" is not a positive whole number")]
    error: String,
    /// The problems of a refused batch (400: not JSON; 422: invalid events), in input order;
    /// of a refused body (422), each naming the body's field (`index` null).
    #[schema(nullable = false)]
    errors: Option<Vec<InputError>>,
    /// How many more problems were found than `errors` lists.
    #[schema(nullable = false, minimum = 1)]
    omitted: Option<u64>,
    /// The query or path parameter at fault (400 on the read routes).
    #[schema(nullable = false, example = "limit")]
    parameter: Option<String>,
    /// The request's id on a 500 (whose `error` is only `internal error`): the server's log
    /// has the detail under it. Every answer also carries it in `X-Request-Id`.
    #[schema(nullable = false, example = "6f1c20a4-000042")]
    request_id: Option<String>,
}

/// One problem of a refused batch: where it is and what is wrong.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct InputError {
    /// 0-based index of the event in the batch; `null` when the problem is outside any event.
    #[schema(required = true)]
    index: Option<u64>,
    /// 1-based line where the event (or the syntax error) is.
    #[schema(minimum = 1)]
    line: u64,
    /// 1-based column of a syntax error.
    #[schema(nullable = false, minimum = 1)]
    column: Option<u64>,
    /// The field at fault, as a path such as `metrics.accuracy` or `model.name`.
    #[schema(nullable = false, example = "metrics.accuracy")]
    field: Option<String>,
    /// What is wrong, lowercase, no trailing period.
    #[schema(example = "value 1.2 is outside the range of accuracy, [0, 1]")]
    message: String,
}
