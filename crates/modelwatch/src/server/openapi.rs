//! The OpenAPI 3.1 document of `modelwatch serve`, answered at `GET /openapi.json` (open, like
//! `/healthz`).
//!
//! Every route documents itself: `#[utoipa::path]` sits on its handler (`mod.rs`,
//! `queries.rs`) and `utoipa_axum::routes!` registers the handler and its documentation
//! together, so the router cannot hold a route the document lacks. The bodies the server builds
//! in this crate (`Accepted`, the model and series bodies) derive their schemas where they are
//! defined. This file holds the rest, written for the document only: what the engine parses and
//! writes by hand (the event wire format of `docs/events.md`, alert transitions, retrain
//! decisions, input errors: `modelwatch-engine` does not depend on utoipa), the error body, the
//! query parameters (parsed by hand in `queries.rs`), and the bearer security scheme.
//!
//! Keep these schemas faithful to the code: CI runs schemathesis against a live server
//! (`.ci/run`), which fails on any response the document does not describe. Response schemas
//! are closed (`#[serde(deny_unknown_fields)]` makes utoipa write `additionalProperties:
//! false`), so a field the code adds without documenting it fails that run too.

use std::sync::Arc;

use axum::{Extension, Json};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, RefOr, Schema};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi, ToSchema};

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
// Request bodies: the event wire format (docs/events.md, crates/modelwatch-engine/src/wire.rs).

/// The body of `POST /v1/events` as `application/json`: one event, or an array of events
/// (all-or-nothing: if any is bad, none is stored). At most 100,000 events per batch.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) enum EventBatch {
    /// One event.
    One(Event),
    /// Several events, evaluated in array order.
    Many(Vec<Event>),
}

/// A metric event: a model instance's metric values at one time. Either `metrics` (several
/// values) or both `metric` and `value` (one). No other field is accepted, and no field may
/// appear twice.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) enum Event {
    /// Several metrics at once.
    Metrics(MetricsEvent),
    /// One metric.
    Single(SingleMetricEvent),
}

/// An event with several metrics.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct MetricsEvent {
    model: EventModel,
    /// RFC 3339, from 1970 to 2262 (offsets allowed, any fraction); `null` or absent means the
    /// time the server receives it.
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-11-22T08:00:00Z")]
    timestamp: Option<String>,
    #[schema(schema_with = metrics_schema)]
    metrics: std::collections::BTreeMap<String, f64>,
}

/// An event with one metric.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct SingleMetricEvent {
    model: EventModel,
    /// As in the several-metric form.
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-11-22T08:00:00Z")]
    timestamp: Option<String>,
    /// A metric name: `[a-z][a-z0-9_]{0,63}`, not `macro_score` (derived).
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$", example = "f1_score")]
    metric: String,
    /// A finite number within the metric's range (see `metrics`).
    value: f64,
}

/// The metrics of an event: 1 to 256 names (`[a-z][a-z0-9_]{0,63}`) to finite numbers.
fn metrics_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "1 to 256 metric names (`[a-z][a-z0-9_]{0,63}`) to finite numbers. Ranges: \
             accuracy, precision, recall, f1 (alias f1_score), auc and error_rate in [0, 1]; \
             latency_ms and drift_score >= 0; error exactly 0 or 1; other metrics are custom \
             (the config may declare their range). `macro_score` is derived and must not be sent. \
             A value out of range is a 422.",
        ))
        .additional_properties(Some(
            ObjectBuilder::new()
                .schema_type(Type::Number)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Double))),
        ))
        .min_properties(Some(1))
        .max_properties(Some(256))
        .examples([serde_json::json!({"accuracy": 0.93, "latency_ms": 12.5})])
        .into()
}

/// The model instance an event is about. Names, versions and instances are 1 to 128 bytes of
/// `[A-Za-z0-9._:/@+-]`, starting with a letter or digit (`check_identifier` in `wire.rs`).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct EventModel {
    /// The model's name.
    #[schema(
        pattern = "^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$",
        example = "fraud-detector"
    )]
    name: String,
    /// The version the instance serves.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$", example = "1.4.0")]
    version: String,
    /// The instance (canary, replica, ...); `default` when absent.
    #[schema(
        nullable = false,
        pattern = "^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$",
        example = "canary-0"
    )]
    instance: Option<String>,
}

/// What a retention pass deleted (`POST /v1/admin/retention`).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct RetentionReport {
    /// Inputs and points with an event time before this were deleted.
    #[schema(value_type = String, format = DateTime)]
    cutoff: String,
    /// The engine snapshot the pass relied on: no input after it was deleted (0: none, so no
    /// input was deleted).
    snapshot_seq: u64,
    /// Raw inputs deleted by the pass.
    inputs_deleted: u64,
    /// Series points deleted by the pass.
    points_deleted: u64,
    /// Notifications that were over (delivered, given up, skipped) before the cutoff, deleted
    /// by the pass.
    deliveries_deleted: u64,
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

/// The errors of an admin route's authentication.
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
}

/// The errors of a route that reports to the service (`ingest` scope).
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
}

/// `GET /v1/jobs`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct JobsParams {
    /// Only this model (by name).
    model: Option<String>,
    /// Only jobs in this state: `queued`, `running`, `succeeded`, `failed`, `timed_out`,
    /// `cancelled`.
    state: Option<String>,
    /// Only `retrain` or `rollback` jobs.
    kind: Option<String>,
    /// Start after this cursor: the previous page's `next`.
    after: Option<i64>,
    /// Most items on the page: 1 or more (default 100; more than 1000 gives 1000).
    #[param(minimum = 1)]
    limit: Option<u64>,
}

/// `GET /v1/deliveries`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct DeliveriesParams {
    /// Only this notifier's.
    notifier: Option<String>,
    /// Only deliveries in this state: `pending`, `delivered`, `given_up`, `skipped`.
    state: Option<String>,
    /// Only the deliveries of this output.
    output_id: Option<String>,
    /// Start after this cursor: the previous page's `next`.
    after: Option<i64>,
    /// Most items on the page: 1 or more (default 100; more than 1000 gives 1000).
    #[param(minimum = 1)]
    limit: Option<u64>,
}

/// `GET /v1/audit`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct AuditParams {
    /// Only this model (by name).
    model: Option<String>,
    /// Start after this cursor: the previous page's `next`.
    after: Option<i64>,
    /// Most items on the page: 1 or more (default 100; more than 1000 gives 1000).
    #[param(minimum = 1)]
    limit: Option<u64>,
}

/// Every error answer: `error` says what is wrong in a sentence. A refused batch lists each
/// problem in `errors` (at most 100; `omitted` counts the rest); a bad query parameter is named
/// in `parameter`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct ErrorResponse {
    /// What is wrong.
    #[schema(example = "limit: \"abc\" is not a positive whole number")]
    error: String,
    /// The problems of a refused batch (400: not JSON; 422: invalid events), in input order.
    #[schema(nullable = false)]
    errors: Option<Vec<InputError>>,
    /// How many more problems were found than `errors` lists.
    #[schema(nullable = false, minimum = 1)]
    omitted: Option<u64>,
    /// The query or path parameter at fault (400 on the read routes).
    #[schema(nullable = false, example = "limit")]
    parameter: Option<String>,
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

// ---------------------------------------------------------------------------------------------
// Stored outputs, in the JSON form the engine writes them (`replay --format json`).

/// The state an alert moved to.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) enum AlertState {
    Pending,
    Firing,
    Resolved,
    Inactive,
    Drift,
    Warning,
}

/// A rule's severity.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) enum Severity {
    Info,
    Warning,
    Critical,
}

/// What became of a retrain request.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) enum Decision {
    Granted,
    Suppressed,
    Withdrawn,
}

/// Why a retrain decision went the way it did.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) enum Reason {
    AlertFiring,
    ChangeDetected,
    WarningDetected,
    CooldownEnded,
    Manual,
    InFlight,
    Cooldown,
    AlertResolved,
}

/// A model instance: name, version and instance.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct ModelId {
    /// The model's name.
    #[schema(example = "fraud-detector")]
    name: String,
    /// The version.
    #[schema(example = "1.5.0")]
    version: String,
    /// The instance (`default` when the events named none).
    #[schema(example = "canary-0")]
    instance: String,
}

/// The tag of an alert output.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) enum AlertTag {
    Alert,
}

/// The tag of a retrain decision output.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) enum RetrainTag {
    Retrain,
}

/// An alert's transition, as the engine wrote it.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct AlertOutput {
    /// Always `alert`.
    #[serde(rename = "type")]
    kind: AlertTag,
    /// This transition's id (32 hex digits, stable across replays).
    #[schema(pattern = "^[0-9a-f]{32}$")]
    id: String,
    /// The alert's id, shared by every transition of one alert.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    alert_id: String,
    /// Sequence number of the input that caused it.
    seq: u64,
    /// Event time of that input.
    #[schema(value_type = String, format = DateTime)]
    at: String,
    state: AlertState,
    /// The rule's name.
    rule: String,
    severity: Severity,
    model: ModelId,
    /// The metric.
    metric: String,
    explanation: Explanation,
    /// The rule's actions this transition triggers (`retrain`); none when muted.
    actions: Vec<String>,
    /// The notifiers (by name) the rule tells of its transitions, in the rule's order; absent
    /// when there are none or the transition is muted.
    #[schema(nullable = false)]
    notify: Option<Vec<String>>,
    /// The model's retrain job that was running when this transition happened: the
    /// transition is recorded but asks for nothing and tells nobody. Absent when not muted.
    #[schema(nullable = false, pattern = "^[0-9a-f]{32}$")]
    muted_by: Option<String>,
    /// One sentence for people.
    message: String,
}

/// Why an alert moved: the detector, its statistic, the bound and the points seen.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct Explanation {
    /// The detector kind: threshold, ema, window_mean, page_hinkley, adwin, kswin, cusum, ddm,
    /// eddm, hddm_a, hddm_w or fhddm.
    detector: String,
    /// The statistic's name: `value`, `ema`, `window_mean`, `page_hinkley_down`, ...
    statistic: String,
    /// The statistic's value at this point (`null` if it is not a finite number).
    #[schema(required = true)]
    value: Option<f64>,
    /// The bound it was compared with.
    bound: Option<f64>,
    /// How value and bound relate: `below`, `above`, `at_or_above`, `at_or_below`, `exceeds`.
    #[schema(nullable = false)]
    comparison: Option<String>,
    /// Points the detector has seen since it started (or last reset).
    points: u64,
    /// Consecutive points the condition has held (state detectors).
    #[schema(nullable = false)]
    held: Option<u32>,
    /// Points the condition must hold before firing (state detectors).
    #[serde(rename = "for")]
    #[schema(nullable = false)]
    for_points: Option<u32>,
}

/// A retrain decision for one model, as the engine wrote it.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct RetrainOutput {
    /// Always `retrain`.
    #[serde(rename = "type")]
    kind: RetrainTag,
    /// The decision's id; for a granted decision also the job's id.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    id: String,
    /// Sequence number of the input that caused it.
    seq: u64,
    /// Event time of the decision.
    #[schema(value_type = String, format = DateTime)]
    at: String,
    /// The model (by name).
    model: String,
    decision: Decision,
    reason: Reason,
    /// The job: the new one when granted, the outstanding one when suppressed for single flight.
    #[schema(nullable = false)]
    job_id: Option<String>,
    /// When a cooldown-suppressed request is looked at again.
    #[schema(value_type = Option<String>, format = DateTime, nullable = false)]
    retry_at: Option<String>,
    /// The alert that asked; absent for a manual request.
    #[schema(nullable = false)]
    alert_id: Option<String>,
    /// The rule that asked; absent for a manual request.
    #[schema(nullable = false)]
    rule: Option<String>,
    /// One sentence for people.
    message: String,
}

/// A page of alert transitions, newest first.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct AlertPage {
    items: Vec<AlertOutput>,
    /// Pass as `after` for the next page; `null` on the last page.
    #[schema(required = true)]
    next: Option<i64>,
}

/// A page of retrain decisions, newest first.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct DecisionPage {
    items: Vec<RetrainOutput>,
    /// Pass as `after` for the next page; `null` on the last page.
    #[schema(required = true)]
    next: Option<i64>,
}

// ---------------------------------------------------------------------------------------------
// Query parameters (parsed by hand in queries.rs; an unknown or repeated parameter is a 400).

/// `GET /v1/alerts`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct AlertsParams {
    /// Only transitions to this state.
    state: Option<AlertState>,
    /// Only this model (by name).
    model: Option<String>,
    /// Only transitions at or after this event time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<String>,
    /// Start after this cursor: the previous page's `next`.
    after: Option<i64>,
    /// Most items on the page: 1 or more (default 100; more than 1000 gives 1000).
    #[param(minimum = 1)]
    limit: Option<u64>,
}

/// `GET /v1/decisions`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct DecisionsParams {
    /// Only this model (by name).
    model: Option<String>,
    /// Start after this cursor: the previous page's `next`.
    after: Option<i64>,
    /// Most items on the page: 1 or more (default 100; more than 1000 gives 1000).
    #[param(minimum = 1)]
    limit: Option<u64>,
}

/// `GET /v1/models`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct ModelsParams {
    /// Start after this model name: the previous page's `next`.
    after: Option<String>,
    /// Most models on the page: 1 or more (default 100, at most 100).
    #[param(minimum = 1)]
    limit: Option<u64>,
}

/// `GET /v1/series`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct SeriesParams {
    /// The model's name.
    #[param(min_length = 1)]
    model: String,
    /// Only this version; all versions when absent or empty.
    version: Option<String>,
    /// Only this instance; all instances when absent or empty.
    instance: Option<String>,
    /// The metric.
    #[param(min_length = 1)]
    metric: String,
    /// Points at or after this event time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    from: Option<String>,
    /// Points before this event time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    to: Option<String>,
    /// Start after this cursor, `<nanoseconds>:<seq>`: the previous page's `next`.
    #[param(pattern = "^-?[0-9]+:[0-9]+$")]
    after: Option<String>,
    /// Most points on the page: 1 or more (default 100; more than 1000 gives 1000).
    #[param(minimum = 1)]
    limit: Option<u64>,
}

/// `GET /v1/canary/{model}` and `POST /v1/canary/{model}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct CanaryParams {
    /// A canary rule of the config (watching this model) whose settings to use; the other
    /// parameters override them.
    rule: Option<String>,
    /// The metric compared; required without `rule`.
    metric: Option<String>,
    /// The candidate's series: `instance=GLOB`, `version=GLOB` or both joined by a comma
    /// (`version=2.0,instance=canary-*`); required without `rule`.
    #[param(example = "instance=canary-*")]
    candidate: Option<String>,
    /// The baseline's series, as `candidate`; they must differ. Required without `rule`.
    #[param(example = "instance=stable-*")]
    baseline: Option<String>,
    /// The most recent points of each side compared (default 200).
    #[param(minimum = 1, maximum = 10000)]
    window: Option<u32>,
    /// Fewer points on either side: `not_enough_data` (default 30, or the window if smaller).
    #[param(minimum = 0)]
    min_samples: Option<u32>,
    /// The test's confidence, strictly between 0 and 1 (default 0.98).
    #[param(exclusive_minimum = 0, exclusive_maximum = 1)]
    confidence: Option<f64>,
    /// A significant bad shift fails only when larger than this fraction of the baseline's
    /// median (default 0).
    #[param(minimum = 0)]
    tolerance: Option<f64>,
    /// `pass` or `fail`: answer 200 only for that verdict, 412 for any other.
    gate: Option<Verdict>,
}

/// A canary verdict.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) enum Verdict {
    Pass,
    Fail,
    NotEnoughData,
}

/// The numbers behind a canary verdict (`modelwatch_engine::Judgement`). What the test did
/// not compute is left out: medians without points, the test's figures when it did not run.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(super) struct Judgement {
    /// The candidate's values judged.
    candidate_count: u64,
    /// The baseline's values judged.
    baseline_count: u64,
    #[schema(nullable = false)]
    candidate_median: Option<f64>,
    #[schema(nullable = false)]
    baseline_median: Option<f64>,
    /// The test's confidence.
    confidence: f64,
    /// The Mann-Whitney U statistic of the candidate.
    #[schema(nullable = false)]
    u: Option<f64>,
    /// The standardized statistic.
    #[schema(nullable = false)]
    z: Option<f64>,
    /// The two-sided p-value.
    #[schema(nullable = false)]
    p_value: Option<f64>,
    /// The estimated shift, candidate minus baseline.
    #[schema(nullable = false)]
    estimate: Option<f64>,
    /// The confidence interval of the shift: lower, upper.
    #[schema(nullable = false, min_items = 2, max_items = 2)]
    interval: Option<Vec<f64>>,
    /// The largest bad shift tolerated.
    #[schema(nullable = false)]
    allowed_shift: Option<f64>,
}

#[cfg(test)]
mod tests {
    use modelwatch_engine::{
        AlertState as State, Decision as Made, Reason as Why, Severity as Level, Verdict,
    };
    use utoipa::PartialSchema;

    /// The `enum` values of a documented enumeration.
    fn documented<T: PartialSchema>() -> Vec<String> {
        let schema = serde_json::to_value(T::schema()).unwrap();
        schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|value| value.as_str().unwrap().to_string())
            .collect()
    }

    /// Each list names every variant: the `match` stops compiling when the engine adds one.
    #[test]
    fn the_documented_enumerations_are_the_engines() {
        let states = [
            State::Pending,
            State::Firing,
            State::Resolved,
            State::Inactive,
            State::Drift,
            State::Warning,
        ];
        for state in states {
            match state {
                State::Pending
                | State::Firing
                | State::Resolved
                | State::Inactive
                | State::Drift
                | State::Warning => {}
            }
        }
        let names: Vec<&str> = states.into_iter().map(State::as_str).collect();
        assert_eq!(documented::<super::AlertState>(), names);

        let levels = [Level::Info, Level::Warning, Level::Critical];
        for level in levels {
            match level {
                Level::Info | Level::Warning | Level::Critical => {}
            }
        }
        let names: Vec<&str> = levels.into_iter().map(Level::as_str).collect();
        assert_eq!(documented::<super::Severity>(), names);

        let made = [Made::Granted, Made::Suppressed, Made::Withdrawn];
        for decision in made {
            match decision {
                Made::Granted | Made::Suppressed | Made::Withdrawn => {}
            }
        }
        let names: Vec<&str> = made.into_iter().map(Made::as_str).collect();
        assert_eq!(documented::<super::Decision>(), names);

        let reasons = [
            Why::AlertFiring,
            Why::ChangeDetected,
            Why::WarningDetected,
            Why::CooldownEnded,
            Why::Manual,
            Why::InFlight,
            Why::Cooldown,
            Why::AlertResolved,
        ];
        for reason in reasons {
            match reason {
                Why::AlertFiring
                | Why::ChangeDetected
                | Why::WarningDetected
                | Why::CooldownEnded
                | Why::Manual
                | Why::InFlight
                | Why::Cooldown
                | Why::AlertResolved => {}
            }
        }
        let names: Vec<&str> = reasons.into_iter().map(Why::as_str).collect();
        assert_eq!(documented::<super::Reason>(), names);

        let verdicts = [Verdict::Pass, Verdict::Fail, Verdict::NotEnoughData];
        for verdict in verdicts {
            match verdict {
                Verdict::Pass | Verdict::Fail | Verdict::NotEnoughData => {}
            }
        }
        let names: Vec<&str> = verdicts.into_iter().map(Verdict::as_str).collect();
        assert_eq!(documented::<super::Verdict>(), names);
    }
}
