//! The routes of what modelwatch does about its alerts: retrain and rollback jobs
//! (`/v1/jobs`), the model registry (`/v1/models/{name}/versions`), notifications
//! (`/v1/deliveries`) and the audit log (`/v1/audit`).
//!
//! Reads go to the query connection; changes go through the writer's queue (a registry change)
//! or the job runner (cancel, complete), and answer once they are committed. Every response
//! type here is both the serialized body and its OpenAPI schema, so the two cannot drift.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use modelwatch_engine::{Input, JobStatus, RetrainRequest, Timestamp};
use modelwatch_store::{
    AuditEvent, DecisionFilter, Delivery, DeliveryFilter, DeliveryState, Job, JobAttempt,
    JobFilter, JobKind, JobState, Listing, ModelVersion, Page, RegistryError, VersionChange,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

use super::queries::{FromParams, Params, QueryParams};
use super::writer::RegistryRequest;
use super::{ApiError, AppState, ask_writer, openapi, read};
use crate::effects::{CancelError, CompleteError, JobReport};

/// The longest a `wait` may ask for, in seconds.
const MAX_WAIT_SECS: u64 = 60;

/// One job, as the API shows it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct JobBody {
    /// The job's id: for a retrain, its granted decision's id.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    id: String,
    /// `retrain` or `rollback`.
    #[schema(example = "retrain")]
    kind: &'static str,
    /// The model (by name).
    model: String,
    /// The version it is about, when known.
    #[schema(required = true)]
    version: Option<String>,
    /// The instance whose alert asked for it, when one did.
    #[schema(required = true)]
    instance: Option<String>,
    /// Why: `alert_firing`, `change_detected`, `warning_detected`, `cooldown_ended`, `manual`,
    /// `canary_failed`.
    reason: String,
    /// The output that asked for it (a decision or a canary verdict).
    cause: String,
    /// `queued`, `running`, `succeeded`, `failed`, `timed_out` or `cancelled`.
    #[schema(example = "running")]
    state: &'static str,
    /// The backend of its latest attempt: `command`, `http`, `external` (none yet: null).
    #[schema(required = true)]
    backend: Option<String>,
    /// Attempts started so far.
    attempts: u32,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    started_at: Option<Timestamp>,
    /// When the running attempt times out.
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    deadline: Option<Timestamp>,
    /// When a queued job's next attempt may start.
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    next_attempt_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    finished_at: Option<Timestamp>,
    /// The version it produced.
    #[schema(required = true)]
    result_version: Option<String>,
    /// What the trainer reported besides the version (JSON), such as the new version's
    /// metrics.
    #[schema(value_type = Option<Object>, required = true)]
    result: Option<Box<RawValue>>,
    /// Why the latest attempt failed.
    #[schema(required = true)]
    error: Option<String>,
    /// Its attempts, first first (only on `GET /v1/jobs/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    attempt_log: Option<Vec<AttemptBody>>,
}

/// One attempt of a job.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AttemptBody {
    /// 1 for the first.
    attempt: u32,
    #[schema(value_type = String, format = DateTime)]
    started_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    finished_at: Option<Timestamp>,
    /// `succeeded`, `failed`, `timed_out`, `interrupted`, `cancelled`; null while it runs.
    #[schema(required = true)]
    outcome: Option<String>,
    #[schema(required = true)]
    error: Option<String>,
}

fn job_body(job: Job, attempts: Option<Vec<JobAttempt>>) -> JobBody {
    JobBody {
        id: job.id,
        kind: job.kind.as_str(),
        model: job.model,
        version: job.version,
        instance: job.instance,
        reason: job.reason,
        cause: job.cause,
        state: job.state.as_str(),
        backend: job.backend,
        attempts: job.attempts,
        created_at: job.created_at,
        started_at: job.started_at,
        deadline: job.deadline,
        next_attempt_at: job.next_attempt_at,
        finished_at: job.finished_at,
        result_version: job.result_version,
        result: job.result.and_then(|text| RawValue::from_string(text).ok()),
        error: job.error,
        attempt_log: attempts.map(|attempts| {
            attempts
                .into_iter()
                .map(|attempt| AttemptBody {
                    attempt: attempt.attempt,
                    started_at: attempt.started_at,
                    finished_at: attempt.finished_at,
                    outcome: attempt.outcome,
                    error: attempt.error,
                })
                .collect()
        }),
    }
}

/// A page of jobs, newest first.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct JobsBody {
    items: Vec<JobBody>,
    /// Pass as `after` for the next page; null on the last page.
    #[schema(required = true)]
    next: Option<i64>,
}

/// The query of `GET /v1/jobs`.
#[derive(Debug)]
pub(super) struct JobsQuery {
    filter: JobFilter,
    page: Page,
}

impl FromParams for JobsQuery {
    const NAMES: &'static [&'static str] = &["model", "state", "kind", "after", "limit"];

    fn from_params(params: &mut Params) -> Result<JobsQuery, ApiError> {
        let state = params
            .text("state")
            .map(|text| {
                JobState::from_name(&text).ok_or_else(|| {
                    ApiError::bad_query(
                        "state",
                        format!(
                            "{text:?} is not a job state; use queued, running, succeeded, \
                             failed, timed_out or cancelled"
                        ),
                    )
                })
            })
            .transpose()?;
        let kind = params
            .text("kind")
            .map(|text| {
                JobKind::from_name(&text).ok_or_else(|| {
                    ApiError::bad_query("kind", format!("{text:?} is not retrain or rollback"))
                })
            })
            .transpose()?;
        Ok(JobsQuery {
            filter: JobFilter {
                model: params.text("model"),
                state,
                kind,
            },
            page: super::listing_page(params)?,
        })
    }
}

/// `GET /v1/jobs`.
#[utoipa::path(
    get,
    path = "/v1/jobs",
    tag = "actions",
    summary = "Retrain and rollback jobs, newest first",
    params(openapi::JobsParams),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "One page of jobs", body = JobsBody),
        (status = 400, description = "A bad query parameter, named in `parameter`",
            body = openapi::ErrorResponse),
        openapi::ReadErrors
    )
)]
pub(super) async fn get_jobs(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<JobsQuery>,
) -> Result<Json<JobsBody>, ApiError> {
    let JobsQuery { filter, page } = query;
    let listing = read(&state, move |store| store.jobs(&filter, &page)).await?;
    Ok(Json(JobsBody {
        items: listing
            .items
            .into_iter()
            .map(|job| job_body(job, None))
            .collect(),
        next: listing.next,
    }))
}

/// The query of `GET /v1/jobs/{id}`.
#[derive(Debug)]
pub(super) struct JobQuery {
    /// Seconds to wait for the job to end.
    wait: Option<u64>,
}

impl FromParams for JobQuery {
    const NAMES: &'static [&'static str] = &["wait"];

    fn from_params(params: &mut Params) -> Result<JobQuery, ApiError> {
        let wait = params.parse::<u64>("wait", "is not a whole number of seconds")?;
        if wait.is_some_and(|wait| wait > MAX_WAIT_SECS) {
            return Err(ApiError::bad_query(
                "wait",
                format!("at most {MAX_WAIT_SECS} seconds"),
            ));
        }
        Ok(JobQuery { wait })
    }
}

/// `GET /v1/jobs/{id}?wait=S`.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}",
    tag = "actions",
    summary = "One job with its attempts",
    description = "With `wait`, answers as soon as the job is over, or after that many seconds \
        (at most 60) with the job as it stands.",
    params(
        ("id" = String, Path, description = "The job's id"),
        ("wait" = Option<u64>, Query, description = "Seconds to wait for the job to end (0 to 60)")
    ),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The job", body = JobBody),
        (status = 400, description = "A bad parameter, named in `parameter`",
            body = openapi::ErrorResponse),
        (status = 404, description = "No such job", body = openapi::ErrorResponse),
        openapi::ReadErrors
    )
)]
pub(super) async fn get_job(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    QueryParams(query): QueryParams<JobQuery>,
) -> Result<Json<JobBody>, ApiError> {
    let Path(id) = id.map_err(|rejection| ApiError::bad_query("id", rejection.body_text()))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(query.wait.unwrap_or(0));
    let mut outbox = state.jobs.outbox();
    loop {
        outbox.borrow_and_update();
        let (job, attempts) = read_job(&state, id.clone()).await?;
        if job.state.is_final() || tokio::time::Instant::now() >= deadline {
            return Ok(Json(job_body(job, Some(attempts))));
        }
        // Any commit may end it: look again after the next one, or once the wait is over.
        match tokio::time::timeout_at(deadline, outbox.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return job_now(&state, id).await,
        }
    }
}

/// `POST /v1/jobs/{id}/cancel`.
#[utoipa::path(
    post,
    path = "/v1/jobs/{id}/cancel",
    tag = "actions",
    summary = "Cancel a queued or running job",
    description = "A running command is killed with its whole process group. Answers once the \
        cancellation is committed (a retrain's single flight is lifted then).",
    params(("id" = String, Path, description = "The job's id")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The job, cancelled", body = JobBody),
        (status = 400, description = "A bad path parameter", body = openapi::ErrorResponse),
        (status = 404, description = "No such job", body = openapi::ErrorResponse),
        (status = 409, description = "The job is already over", body = openapi::ErrorResponse),
        (status = 503, description = "The service is stopping", body = openapi::ErrorResponse),
        openapi::AdminErrors
    )
)]
pub(super) async fn post_cancel(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<JobBody>, ApiError> {
    let Path(id) = id.map_err(|rejection| ApiError::bad_query("id", rejection.body_text()))?;
    state
        .jobs
        .cancel(id.clone())
        .await
        .map_err(|error| match error {
            CancelError::Unknown(_) => ApiError::NotFound(error.to_string()),
            CancelError::Over { .. } => ApiError::Conflict(error.to_string()),
            CancelError::Stopping => ApiError::WriterStopped,
        })?;
    job_now(&state, id).await
}

/// The job as it now stands, as the routes show it.
async fn job_now(state: &AppState, id: String) -> Result<Json<JobBody>, ApiError> {
    let (job, attempts) = read_job(state, id).await?;
    Ok(Json(job_body(job, Some(attempts))))
}

/// A job and its attempts; 404 when there is no such job.
async fn read_job(state: &AppState, id: String) -> Result<(Job, Vec<JobAttempt>), ApiError> {
    let lookup = id.clone();
    let found = read(state, move |store| {
        let Some(job) = store.job(&lookup)? else {
            return Ok(None);
        };
        let attempts = store.job_attempts(&lookup)?;
        Ok(Some((job, attempts)))
    })
    .await?;
    found.ok_or_else(|| ApiError::NotFound(format!("there is no job {id}")))
}

/// The body of `POST /v1/jobs/{id}/complete`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CompleteBody {
    /// How the job ended: `succeeded`, `failed`, `timed_out` or `cancelled`.
    #[schema(example = "succeeded")]
    status: String,
    /// The version it produced (required when a retrain succeeded).
    #[schema(example = "1.5.0")]
    version: Option<String>,
    /// Anything else worth keeping, such as the new version's metrics.
    #[schema(value_type = Option<Object>)]
    result: Option<Box<RawValue>>,
    /// Why it failed.
    error: Option<String>,
}

/// `POST /v1/jobs/{id}/complete`.
#[utoipa::path(
    post,
    path = "/v1/jobs/{id}/complete",
    tag = "actions",
    summary = "Report the end of a job run by an http or external trainer",
    description = "The trainer (an Airflow DAG's last task, say) reports how the job ended. A \
        succeeded retrain registers its version as a candidate and lifts the model's single \
        flight; a failed one is retried while the trainer's `max_attempts` allow.",
    params(("id" = String, Path, description = "The job's id")),
    request_body = CompleteBody,
    security(("bearer" = ["ingest"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The job as it now stands", body = JobBody),
        (status = 400, description = "The body is not JSON, or a bad path parameter",
            body = openapi::ErrorResponse),
        (status = 404, description = "No such job", body = openapi::ErrorResponse),
        (status = 409, description = "The job does not wait for a completion (over, queued, or \
            run by a command)", body = openapi::ErrorResponse),
        (status = 415, description = "The body is not application/json", body = openapi::ErrorResponse),
        (status = 422, description = "The report does not fit the job", body = openapi::ErrorResponse),
        (status = 503, description = "The service is stopping", body = openapi::ErrorResponse),
        openapi::WriteErrors
    )
)]
pub(super) async fn post_complete(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<CompleteBody>, JsonRejection>,
) -> Result<Json<JobBody>, ApiError> {
    let Path(id) = id.map_err(|rejection| ApiError::bad_query("id", rejection.body_text()))?;
    let Json(body) = body.map_err(json_rejection)?;
    let status = JobStatus::from_name(&body.status).ok_or_else(|| {
        ApiError::Unprocessable(format!(
            "status: {:?} is not succeeded, failed, timed_out or cancelled",
            body.status
        ))
    })?;
    let report = JobReport {
        status,
        version: body.version,
        result: body.result.map(|raw| raw.get().to_string()),
        error: body.error,
    };
    state
        .jobs
        .complete(id.clone(), report)
        .await
        .map_err(|error| match error {
            CompleteError::Unknown(_) => ApiError::NotFound(error.to_string()),
            CompleteError::NotWaiting { .. } => ApiError::Conflict(error.to_string()),
            CompleteError::Invalid(message) => ApiError::Unprocessable(message),
            CompleteError::Stopping => ApiError::WriterStopped,
        })?;
    job_now(&state, id).await
}

/// A JSON body that could not be taken, in the API's error shape.
fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType {
            content_type: "none or not application/json".to_string(),
        },
        JsonRejection::JsonDataError(error) => ApiError::Unprocessable(error.body_text()),
        other => ApiError::bad_query("body", other.body_text()),
    }
}

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
    params(("name" = String, Path, description = "The model's name")),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The versions", body = VersionsBody),
        (status = 400, description = "A bad path parameter", body = openapi::ErrorResponse),
        (status = 404, description = "The registry has no version of this model", body = openapi::ErrorResponse),
        openapi::ReadErrors
    )
)]
pub(super) async fn get_versions(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
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
    let answer = ask_writer(&state, |reply| {
        super::writer::Job::Registry(RegistryRequest {
            model,
            version,
            change,
            at,
            reply,
        })
    })
    .await
    .ok_or(ApiError::WriterStopped)?;
    answer
        .map(|version| Json(version_body(version)))
        .map_err(|error| match error {
            RegistryError::UnknownVersion { .. } => ApiError::NotFound(error.to_string()),
            RegistryError::Transition { .. } => ApiError::Conflict(error.to_string()),
            RegistryError::Store(_) => ApiError::Internal(error.to_string()),
        })
}

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
#[derive(Debug)]
pub(super) struct DeliveriesQuery {
    filter: DeliveryFilter,
    page: Page,
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
            filter: DeliveryFilter {
                notifier: params.text("notifier"),
                state,
                output_id: params.text("output_id"),
            },
            page: super::listing_page(params)?,
        })
    }
}

/// `GET /v1/deliveries`.
#[utoipa::path(
    get,
    path = "/v1/deliveries",
    tag = "actions",
    summary = "Notifications and where they stand, newest first",
    params(openapi::DeliveriesParams),
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
    let DeliveriesQuery { filter, page } = query;
    let listing: Listing<Delivery> =
        read(&state, move |store| store.deliveries(&filter, &page)).await?;
    Ok(Json(DeliveriesBody {
        items: listing.items.into_iter().map(delivery_body).collect(),
        next: listing.next,
    }))
}

/// One change to a version or a job.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditBody {
    #[schema(value_type = String, format = DateTime)]
    at: Timestamp,
    /// `engine` (an output of the engine), `api` (a request), `canary` (a verdict).
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
#[derive(Debug)]
pub(super) struct AuditQuery {
    model: Option<String>,
    page: Page,
}

impl FromParams for AuditQuery {
    const NAMES: &'static [&'static str] = &["model", "after", "limit"];

    fn from_params(params: &mut Params) -> Result<AuditQuery, ApiError> {
        Ok(AuditQuery {
            model: params.text("model"),
            page: super::listing_page(params)?,
        })
    }
}

/// `GET /v1/audit`.
#[utoipa::path(
    get,
    path = "/v1/audit",
    tag = "registry",
    summary = "The audit log of versions and jobs, newest first",
    params(openapi::AuditParams),
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
    let AuditQuery { model, page } = query;
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

/// The body of `POST /v1/models/{name}/retrain` (optional).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RetrainBody {
    /// Why, in the asker's words (kept with the decision).
    #[schema(example = "new labelled data")]
    reason: Option<String>,
}

/// `POST /v1/models/{name}/retrain`.
#[utoipa::path(
    post,
    path = "/v1/models/{name}/retrain",
    tag = "actions",
    summary = "Ask for a retrain of a model by hand",
    description = "Goes through the retrain policy like an alert's request: granted unless a job \
        of the model is outstanding (single flight); the cooldown does not hold it back, but it \
        starts a new one. The body is optional.",
    params(("name" = String, Path, description = "The model's name")),
    request_body(content = Option<RetrainBody>, content_type = "application/json"),
    security(("bearer" = ["admin"])),
    responses(
        (status = 202, description = "Granted: the decision, whose `job_id` names the queued job",
            body = openapi::RetrainOutput),
        (status = 400, description = "The body is not JSON, or a bad path parameter",
            body = openapi::ErrorResponse),
        (status = 409, description = "Suppressed: a job of the model is outstanding",
            body = openapi::ErrorResponse),
        (status = 422, description = "The body does not fit, or the model name is not valid",
            body = openapi::ErrorResponse),
        (status = 503, description = "Recovering, the queue is full, or the writer stopped",
            body = openapi::ErrorResponse,
            headers(("Retry-After" = String, description = "Seconds to wait (recovering or queue full)"))),
        openapi::AdminErrors
    )
)]
pub(super) async fn post_retrain(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    body: axum::body::Bytes,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let Path(model) =
        name.map_err(|rejection| ApiError::bad_query("name", rejection.body_text()))?;
    let reason = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let body: RetrainBody = serde_json::from_slice(&body)
            .map_err(|error| ApiError::Unprocessable(format!("body: {error}")))?;
        body.reason
    };
    modelwatch_engine::wire::check_identifier(&model)
        .map_err(|problem| ApiError::Unprocessable(format!("name: {problem}")))?;
    let now = state.clock.now();
    let input = Input::RetrainRequest(RetrainRequest {
        model: model.clone(),
        reason,
        timestamp: Some(now),
    });
    let stored = super::commit_inputs(&state, vec![input], now).await?;
    let seq = stored.last_seq;
    let filter = DecisionFilter {
        model: Some(model),
        ..DecisionFilter::default()
    };
    let decisions = read(&state, move |store| {
        store.decisions(&filter, &Page::default())
    })
    .await?;
    let decision = decisions
        .items
        .into_iter()
        .find(|decision| decision.seq == seq)
        .ok_or_else(|| ApiError::Internal("the retrain request made no decision".to_string()))?;
    if decision.decision == "granted" {
        let raw = RawValue::from_string(decision.output)
            .map_err(|error| ApiError::Internal(format!("a stored output is not JSON: {error}")))?;
        Ok((axum::http::StatusCode::ACCEPTED, Json(raw)).into_response())
    } else {
        let output: serde_json::Value = serde_json::from_str(&decision.output).unwrap_or_default();
        Err(ApiError::Conflict(
            output["message"]
                .as_str()
                .unwrap_or("retrain suppressed")
                .to_string(),
        ))
    }
}
