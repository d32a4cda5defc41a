//! The model registry's routes: a model's versions (`GET /v1/models/{name}/versions`), a
//! person's change of a version's status (`POST .../versions/{v}/promote|archive|rollback`,
//! committed by the writer) and the audit log of versions and jobs (`GET /v1/audit`).

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use modelwatch_engine::Timestamp;
use modelwatch_store::{AuditEvent, ModelVersion, RegistryError, VersionChange};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::error::ApiError;
use super::params::{FromParams, NoParams, Params, QueryParams, newest_first};
use super::{AppState, openapi, read};
use crate::runtime::writer::{Message, RegistryRequest};

/// One version of a model in the registry.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct VersionBody {
    model: String,
    version: String,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    /// `metrics` (first seen in events), `job` (produced by a retrain) or `manual`.
    source: String,
    /// The job that produced it.
    #[schema(required = true)]
    job_id: Option<String>,
    /// `candidate`, `production`, `archived` or `rolled_back`.
    #[schema(example = "candidate")]
    status: &'static str,
    #[schema(value_type = String, format = DateTime)]
    updated_at: Timestamp,
}

fn version_body(version: ModelVersion) -> VersionBody {
    VersionBody {
        model: version.model,
        version: version.version,
        created_at: version.created_at,
        source: version.source,
        job_id: version.job_id,
        status: version.status.as_str(),
        updated_at: version.updated_at,
    }
}

/// A model's versions, oldest first.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct VersionsBody {
    model: String,
    versions: Vec<VersionBody>,
}

/// `GET /v1/models/{name}/versions`.
#[utoipa::path(
    get,
    path = "/v1/models/{name}/versions",
    tag = "registry",
    summary = "A model's versions in the registry, oldest first",
    params(("name" = String, Path, description = "The model's name"), NoParams),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The versions", body = VersionsBody),
        (status = 400, description = "A bad path parameter, or a query parameter (this route \
            takes none), named in `parameter`", body = openapi::ErrorResponse),
        (status = 404, description = "The registry has no version of this model", body = openapi::ErrorResponse),
        openapi::ReadErrors
    )
)]
pub(super) async fn get_versions(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    QueryParams(NoParams {}): QueryParams<NoParams>,
) -> Result<Json<VersionsBody>, ApiError> {
    let Path(name) =
        name.map_err(|rejection| ApiError::bad_query("name", rejection.body_text()))?;
    let lookup = name.clone();
    let versions = read(&state, move |store| store.model_versions(&lookup)).await?;
    if versions.is_empty() {
        return Err(ApiError::NotFound(format!(
            "model {name:?} has no version in the registry"
        )));
    }
    Ok(Json(VersionsBody {
        model: name,
        versions: versions.into_iter().map(version_body).collect(),
    }))
}

/// `POST /v1/models/{name}/versions/{version}/{change}`.
#[utoipa::path(
    post,
    path = "/v1/models/{name}/versions/{version}/{change}",
    tag = "registry",
    summary = "Promote, archive or roll back a version",
    description = "`promote` makes it production (the production version before it is \
        archived); `archive` retires it; `rollback` takes a candidate or production version out \
        of service (when it was production, the newest archived version is production again). \
        Every change is an audit event.",
    params(
        ("name" = String, Path, description = "The model's name"),
        ("version" = String, Path, description = "The version"),
        ("change" = String, Path, description = "`promote`, `archive` or `rollback`")
    ),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The version as it now stands", body = VersionBody),
        (status = 400, description = "A bad path parameter", body = openapi::ErrorResponse),
        (status = 404, description = "No such version, or no such change", body = openapi::ErrorResponse),
        (status = 409, description = "The change makes no sense from the version's status",
            body = openapi::ErrorResponse),
        (status = 503, description = "Recovering, or the writer stopped", body = openapi::ErrorResponse),
        openapi::AdminErrors
    )
)]
pub(super) async fn post_version_change(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Result<Json<VersionBody>, ApiError> {
    let Path((model, version, change)) =
        path.map_err(|rejection| ApiError::bad_query("path", rejection.body_text()))?;
    let change = match change.as_str() {
        "promote" => VersionChange::Promote,
        "archive" => VersionChange::Archive,
        "rollback" => VersionChange::Rollback,
        other => {
            return Err(ApiError::NotFound(format!(
                "no such change {other:?}; use promote, archive or rollback"
            )));
        }
    };
    let at = state.clock.now();
    let answer = state
        .queue
        .ask(|reply| {
            Message::Registry(RegistryRequest {
                model,
                version,
                change,
                at,
                actor: caller.name().to_string(),
                reply,
            })
        })
        .await
        .ok_or(ApiError::STOPPED)?;
    answer
        .map(|version| Json(version_body(version)))
        .map_err(|error| match error {
            RegistryError::UnknownVersion { .. } => ApiError::NotFound(error.to_string()),
            RegistryError::Transition { .. } => ApiError::Conflict(error.to_string()),
            RegistryError::Store(_) => ApiError::Internal(error.to_string()),
        })
}

/// One change to a version or a job.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditBody {
    #[schema(value_type = String, format = DateTime)]
    at: Timestamp,
    /// `engine` (an output of the engine), `canary` (a verdict), or the name of the token
    /// that asked for the change by hand (`env NAME`, `file PATH`; `anonymous` without
    /// authentication).
    actor: String,
    /// `version_registered`, `version_promoted`, `version_archived`, `version_rolled_back`,
    /// `version_source`, `job_queued`, `job_ended`.
    action: String,
    model: String,
    #[schema(required = true)]
    version: Option<String>,
    #[schema(required = true)]
    job_id: Option<String>,
    /// One sentence for people.
    detail: String,
}

/// A page of the audit log, newest first.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditPage {
    items: Vec<AuditBody>,
    #[schema(required = true)]
    next: Option<i64>,
}

/// The query of `GET /v1/audit`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct AuditQuery {
    /// Only this model (by name).
    model: Option<String>,
    /// Start after this cursor: the previous page's `next`.
    after: Option<i64>,
    /// Most items on the page: 1 or more (default 100; more than 1000 gives 1000).
    #[param(value_type = Option<u64>, minimum = 1)]
    limit: usize,
}

impl FromParams for AuditQuery {
    const NAMES: &'static [&'static str] = &["model", "after", "limit"];

    fn from_params(params: &mut Params) -> Result<AuditQuery, ApiError> {
        Ok(AuditQuery {
            model: params.text("model"),
            after: params.cursor()?,
            limit: params.limit()?,
        })
    }
}

/// `GET /v1/audit`.
#[utoipa::path(
    get,
    path = "/v1/audit",
    tag = "registry",
    summary = "The audit log of versions and jobs, newest first",
    params(AuditQuery),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "One page of the audit log", body = AuditPage),
        (status = 400, description = "A bad query parameter, named in `parameter`",
            body = openapi::ErrorResponse),
        openapi::ReadErrors
    )
)]
pub(super) async fn get_audit(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let model = query.model;
    let page = newest_first(query.after, query.limit);
    let listing = read(&state, move |store| store.audit(model.as_deref(), &page)).await?;
    Ok(Json(AuditPage {
        items: listing
            .items
            .into_iter()
            .map(|event: AuditEvent| AuditBody {
                at: event.at,
                actor: event.actor,
                action: event.action,
                model: event.model,
                version: event.version,
                job_id: event.job_id,
                detail: event.detail,
            })
            .collect(),
        next: listing.next,
    }))
}
