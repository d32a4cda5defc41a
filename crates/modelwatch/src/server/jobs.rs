//! The routes of retrain and rollback jobs: `GET /v1/jobs`, `GET /v1/jobs/{id}?wait=`,
//! `POST /v1/jobs/{id}/cancel` and `POST /v1/jobs/{id}/complete` (the manual retrain that may
//! open one is `retrain.rs`'s).
//!
//! Reads go to the query connection; cancel and complete go to the job runner, and each
//! answers once it is committed. A wait for a job's end watches its runner's commits (on a
//! cluster node, the runner of the job's partition: the node running it is asked). Every response type here is both the serialized body and its
//! OpenAPI schema, so the two cannot drift.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use modelwatch_engine::{JobFinished, JobStatus, Timestamp};
use modelwatch_store::{Job, JobAttempt, JobFilter, JobKind, JobState};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::error::ApiError;
use super::forward::{Forwardable, JsonWithBytes};
use super::params::{FromParams, Params, QueryParams, newest_first};
use super::{AppState, openapi, read};
use crate::effects::{CancelError, CompleteError, JobControl, JobReport};

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
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct JobsQuery {
    /// Only this model (by name).
    model: Option<String>,
    /// Only jobs in this state: `queued`, `running`, `succeeded`, `failed`, `timed_out`,
    /// `cancelled`.
    #[param(value_type = Option<String>)]
    state: Option<JobState>,
    /// Only `retrain` or `rollback` jobs.
    #[param(value_type = Option<String>)]
    kind: Option<JobKind>,
    /// Start after this cursor: the previous page's `next`.
    after: Option<i64>,
    /// Most items on the page: 1 or more (default 100; more than 1000 gives 1000).
    #[param(value_type = Option<u64>, minimum = 1)]
    limit: usize,
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
            model: params.text("model"),
            state,
            kind,
            after: params.cursor()?,
            limit: params.limit()?,
        })
    }
}

/// `GET /v1/jobs`.
#[utoipa::path(
    get,
    path = "/v1/jobs",
    tag = "actions",
    summary = "Retrain and rollback jobs, newest first",
    params(JobsQuery),
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
    let filter = JobFilter {
        model: query.model,
        state: query.state,
        kind: query.kind,
    };
    let page = newest_first(query.after, query.limit);
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
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct JobQuery {
    /// Seconds to wait for the job to end (0 to 60).
    #[param(maximum = 60)]
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
        (at most 60) with the job as it stands. On a cluster node, a wait for a job that is not \
        over is answered by the node running the job's partition (forwarded there).",
    params(("id" = String, Path, description = "The job's id"), JobQuery),
    security(("bearer" = ["read"]), ("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The job", body = JobBody),
        (status = 400, description = "A bad parameter, named in `parameter`",
            body = openapi::ErrorResponse),
        (status = 404, description = "No such job", body = openapi::ErrorResponse),
        (status = 503, description = "On a cluster node, with `wait` for a job that is not \
            over: the node running the job's partition could not be asked (with Retry-After), \
            or the request was forwarded here already (`Modelwatch-Forwarded-By`) and this node \
            does not run the partition either", body = openapi::ErrorResponse,
            headers(("Retry-After" = String, description = "Seconds to wait (the partition's \
                node could not be asked)"))),
        openapi::ReadErrors
    )
)]
pub(super) async fn get_job(
    State(state): State<AppState>,
    forwardable: Forwardable,
    id: Result<Path<String>, PathRejection>,
    QueryParams(query): QueryParams<JobQuery>,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(|rejection| ApiError::bad_query("id", rejection.body_text()))?;
    let wait = Duration::from_secs(query.wait.unwrap_or(0));
    let deadline = tokio::time::Instant::now() + wait;
    // The runner whose commits may end the job: on a cluster node, that of the job's
    // partition, which the node running it waits on (an ended job answers at once).
    let runner = if state.routing.is_some() {
        let (job, attempts) = read_job(&state, id.clone()).await?;
        if job.state.is_final() || wait.is_zero() {
            return Ok(Json(job_body(job, Some(attempts))).into_response());
        }
        match runner_of(&state, &job) {
            Ok(runner) => runner,
            Err(partition) => {
                let what = format!("job {id}");
                return (forwardable.forward_holding(&state, partition, &what, Bytes::new(), wait))
                    .await;
            }
        }
    } else {
        state.jobs.clone()
    };
    let mut outbox = runner.outbox();
    loop {
        outbox.borrow_and_update();
        let (job, attempts) = read_job(&state, id.clone()).await?;
        if job.state.is_final() || tokio::time::Instant::now() >= deadline {
            return Ok(Json(job_body(job, Some(attempts))).into_response());
        }
        // Any commit may end it: look again after the next one, or once the wait is over.
        match tokio::time::timeout_at(deadline, outbox.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return Ok(job_now(&state, id).await?.into_response()),
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
        (status = 503, description = "The service is stopping, or (on a cluster node) the node \
            running the job's partition could not be asked (with Retry-After), or the request \
            was forwarded here already (`Modelwatch-Forwarded-By`) and this node does not run \
            the partition either", body = openapi::ErrorResponse,
            headers(("Retry-After" = String, description = "Seconds to wait (the partition's \
                node could not be asked)"))),
        openapi::AdminErrors
    )
)]
pub(super) async fn post_cancel(
    State(state): State<AppState>,
    caller: Caller,
    forwardable: Forwardable,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(|rejection| ApiError::bad_query("id", rejection.body_text()))?;
    let runner = if state.routing.is_some() {
        // A cluster node: the job's partition says whose runner runs it (404 if none).
        let lookup = id.clone();
        let job = read(&state, move |store| store.job(&lookup))
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("there is no job {id}")))?;
        match runner_of(&state, &job) {
            Ok(runner) => runner,
            Err(partition) => {
                let what = format!("job {id}");
                return forwardable
                    .forward(&state, partition, &what, Bytes::new())
                    .await;
            }
        }
    } else {
        state.jobs.clone()
    };
    runner
        .cancel(id.clone(), caller.name().to_string())
        .await
        .map_err(|error| match error {
            CancelError::Unknown(_) => ApiError::NotFound(error.to_string()),
            CancelError::Over { .. } => ApiError::Conflict(error.to_string()),
            CancelError::Stopping => ApiError::STOPPED,
        })?;
    Ok(job_now(&state, id).await?.into_response())
}

/// The job runner that runs `job`: the service's on a single node; on a cluster node, that
/// of the job's partition when it runs here, else the partition (whose node to ask).
fn runner_of(state: &AppState, job: &Job) -> Result<JobControl, u32> {
    match &state.routing {
        None => Ok(state.jobs.clone()),
        Some(routing) => routing.jobs(job.partition).ok_or(job.partition),
    }
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
    /// The version it produced (required when a retrain succeeded): a name events may carry,
    /// 1 to 128 bytes of letters, digits and `. _ : / @ + -`, starting with a letter or digit.
    #[schema(
        example = "1.5.0",
        min_length = 1,
        max_length = 128,
        pattern = "^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$"
    )]
    version: Option<String>,
    /// Anything else worth keeping, such as the new version's metrics.
    #[schema(value_type = Option<Object>)]
    result: Option<Box<RawValue>>,
    /// Why it failed.
    error: Option<String>,
}

/// How the fields of a job-finished input are named in `POST /v1/jobs/{id}/complete`.
const REPORT_FIELDS: [(&str, &str); 3] = [
    ("job_finished.model", "model"),
    ("job_finished.job_id", "id"),
    ("job_finished.version", "version"),
];

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
        (status = 422, description = "The report does not fit the job, or breaks the rules of a \
            stored job notice (each problem in `errors`, its `field` such as `version`)",
            body = openapi::ErrorResponse),
        (status = 503, description = "The service is stopping, or (on a cluster node) the node \
            running the job's partition could not be asked (with Retry-After), or the request \
            was forwarded here already (`Modelwatch-Forwarded-By`) and this node does not run \
            the partition either", body = openapi::ErrorResponse,
            headers(("Retry-After" = String, description = "Seconds to wait (the partition's \
                node could not be asked)"))),
        openapi::WriteErrors
    )
)]
pub(super) async fn post_complete(
    State(state): State<AppState>,
    caller: Caller,
    forwardable: Forwardable,
    id: Result<Path<String>, PathRejection>,
    body: Result<JsonWithBytes<CompleteBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(|rejection| ApiError::bad_query("id", rejection.body_text()))?;
    let JsonWithBytes(body, bytes) = body.map_err(json_rejection)?;
    let status = JobStatus::from_name(&body.status).ok_or_else(|| {
        ApiError::Unprocessable(format!(
            "status: {:?} is not succeeded, failed, timed_out or cancelled",
            body.status
        ))
    })?;
    // The runner turns the report into a job-finished input, which the store must read back:
    // check it by the reader's rules here, each problem named as this route names it.
    let job = read(&state, {
        let id = id.clone();
        move |store| store.job(&id)
    })
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("there is no job {id}")))?;
    JobFinished::new(
        job.model.clone(),
        Some(id.clone()),
        status,
        body.version.clone(),
        Some(state.clock.now()),
    )
    .map_err(|errors| ApiError::invalid_request("job report", errors, &REPORT_FIELDS))?;
    let runner = match runner_of(&state, &job) {
        Ok(runner) => runner,
        Err(partition) => {
            let what = format!("job {id}");
            return forwardable.forward(&state, partition, &what, bytes).await;
        }
    };
    let report = JobReport {
        status,
        version: body.version,
        result: body.result.map(|raw| raw.get().to_string()),
        error: body.error,
    };
    runner
        .complete(id.clone(), report, caller.name().to_string())
        .await
        .map_err(|error| match error {
            CompleteError::Unknown(_) => ApiError::NotFound(error.to_string()),
            CompleteError::NotWaiting { .. } => ApiError::Conflict(error.to_string()),
            CompleteError::Invalid(message) => ApiError::Unprocessable(message),
            CompleteError::Stopping => ApiError::STOPPED,
        })?;
    Ok(job_now(&state, id).await?.into_response())
}

/// A JSON body that could not be taken, in the API's error shape.
fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType {
            accepted: "application/json",
            content_type: "none or not application/json".to_string(),
        },
        JsonRejection::JsonDataError(error) => ApiError::Unprocessable(error.body_text()),
        other => ApiError::bad_query("body", other.body_text()),
    }
}
