//! The schemas of request bodies: the event wire format of `docs/events.md` (parsed by hand in
//! `modelwatch-engine`'s wire parser), and the retention report.

use utoipa::ToSchema;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};

/// The body of `POST /v1/events` as `application/json`: one event, or an array of events
/// (all-or-nothing: if any is bad, none is stored). At most 100,000 events per batch.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code, reason = "a schema of the document only")]
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
