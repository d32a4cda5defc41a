//! The schemas of request bodies: the input wire format of `docs/events.md` (metric events,
//! predictions and labels) (parsed by hand in
//! `modelwatch-engine`'s wire parser), and the retention report.

use utoipa::ToSchema;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};

/// The body of `POST /v1/events` as `application/json`: one event, or an array of events
/// (all-or-nothing: if any is bad, none is stored). At most 100,000 events per batch.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code, reason = "a schema of the document only")]
#[allow(
    clippy::large_enum_variant,
    reason = "a schema of the document only, never built"
)]
pub(in crate::server) enum EventBatch {
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
pub(in crate::server) enum Event {
    /// Several metrics at once.
    Metrics(MetricsEvent),
    /// One metric.
    Single(SingleMetricEvent),
    /// A prediction a model served (its model needs a `[[models]]` entry).
    Prediction(PredictionEvent),
    /// The true value of an earlier prediction.
    Label(LabelEvent),
}

/// A prediction: `docs/events.md`, "Predictions and labels". Checked against the model's
/// `[[models]]` entry: a model without one is a 422.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) struct PredictionEvent {
    model: EventModel,
    /// As an event's; the start of the prediction's label horizon.
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-12-06T10:00:00Z")]
    timestamp: Option<String>,
    prediction: PredictionBody,
}

/// What the model predicted.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) struct PredictionBody {
    /// The id its label will name: 1 to 256 bytes.
    #[schema(min_length = 1, max_length = 256, example = "req-42")]
    id: String,
    #[schema(schema_with = outcome_schema)]
    output: serde_json::Value,
    /// The probability of the positive class (binary models), in [0, 1]. Not with `scores`.
    #[schema(nullable = false, minimum = 0.0, maximum = 1.0)]
    score: Option<f64>,
    /// The probability of each class, each in [0, 1], summing to 1 within 1e-6.
    #[schema(nullable = false, value_type = Option<std::collections::BTreeMap<String, f64>>)]
    scores: Option<serde_json::Value>,
    /// The features the model saw: up to 1,000 names to a number, a string, a boolean or null.
    #[schema(nullable = false, schema_with = features_schema)]
    features: Option<serde_json::Value>,
}

/// A label: the true value of an earlier prediction, joined by model name and id.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) struct LabelEvent {
    model: LabelModel,
    /// When the label became known.
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-12-07T08:00:00Z")]
    timestamp: Option<String>,
    label: LabelBody,
}

/// A label names only its model: the prediction's version and instance apply.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) struct LabelModel {
    /// The model's name.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$", example = "fraud")]
    name: String,
}

/// The true value.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) struct LabelBody {
    /// The prediction's id.
    #[schema(min_length = 1, max_length = 256, example = "req-42")]
    id: String,
    #[schema(schema_with = outcome_schema)]
    value: serde_json::Value,
}

/// A class (a string, an integer or a boolean) or, for regression, a number.
fn outcome_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::String,
            Type::Integer,
            Type::Boolean,
            Type::Number,
        ]))
        .description(Some(
            "A class (a string of 1 to 256 bytes, an integer or a boolean) or, for a \
             regression model, a number.",
        ))
        .into()
}

/// Feature names to scalar values.
fn features_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(ObjectBuilder::new().schema_type(
            utoipa::openapi::schema::SchemaType::from_iter([
                Type::String,
                Type::Number,
                Type::Boolean,
                Type::Null,
            ]),
        )))
        .max_properties(Some(1000))
        .examples([serde_json::json!({"age": 42, "country": "DE", "income": null})])
        .into()
}

/// An event with several metrics.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "a schema of the document only")]
pub(in crate::server) struct MetricsEvent {
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
pub(in crate::server) struct SingleMetricEvent {
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
pub(in crate::server) struct EventModel {
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
pub(in crate::server) struct RetentionReport {
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
