//! Proptest strategies for inputs: their text as senders write it (events, job notices,
//! retrain requests, predictions, labels), and inputs as code builds them through the
//! engine's checked constructors.

#![allow(clippy::result_large_err)]

use std::sync::Arc;

use modelwatch_engine::metric::MetricCatalog;
use modelwatch_engine::reference::Cell;
use modelwatch_engine::{
    Event, Input, JobFinished, JobStatus, ModelId, ReferenceTable, ReferenceUpload, RetrainRequest,
    Timestamp,
};
use proptest::prelude::*;

/// A model name, version or instance: odd but valid.
fn identifier() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}",
        "[0-9][.:/@+-]{1,3}",
        Just("default".to_string()),
    ]
}

/// Any text: valid identifiers, long text, control characters, any Unicode.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        identifier(),
        any::<String>(),
        "\\PC{0,12}[\\n\\r\\t\\u{0}\\u{1b}\\u{7f}\\u{85}\\u{2028}\\u{feff}]\\PC{0,12}",
        (1000usize..1100).prop_map(|n| "r".repeat(n)),
        (340usize..345).prop_map(|n| "€".repeat(n)),
        (0usize..3).prop_map(|n| "\t".repeat(n)),
    ]
}

/// Mostly a valid identifier, sometimes any text.
fn mostly_identifier() -> impl Strategy<Value = String> {
    prop_oneof![4 => identifier(), 1 => any_text()]
}

/// An RFC 3339 time, offsets and fractions of any length included.
fn rfc3339() -> impl Strategy<Value = String> {
    prop_oneof![
        (0i64..=i64::MAX).prop_map(|nanos| Timestamp::from_nanos(nanos).to_rfc3339()),
        "(19[7-9][0-9]|2[0-2][0-9][0-9])-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,12})?([Zz]|[+-](0[0-9]|1[0-4]):[0-5][0-9])",
    ]
}

/// The `timestamp` member of an input, if any.
fn timestamp_member() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(r#", "timestamp": null"#.to_string()),
        rfc3339().prop_map(|time| format!(r#", "timestamp": "{time}""#)),
    ]
}

/// A finite number in `min..=max` (drawn from `values`), spelled as a sender might.
fn number(
    values: impl Strategy<Value = f64> + 'static,
    min: f64,
    max: f64,
) -> impl Strategy<Value = String> {
    let in_range = move |value: f64| (value >= min && value <= max).then_some(value);
    prop_oneof![
        values.prop_filter_map("in range", in_range),
        prop::sample::select(vec![
            0.0,
            -0.0,
            1.0,
            5e-324,
            f64::MIN_POSITIVE,
            0.1 + 0.2,
            1e-7,
            f64::MAX,
            -f64::MAX,
            123_456_789.0,
        ])
        .prop_map(move |value| value.clamp(min, max)),
    ]
    .prop_map(|value| serde_json::to_string(&value).unwrap())
    .boxed()
    .prop_union(
        prop::sample::select(vec![
            "0",
            "-0",
            "1E0",
            "0.50",
            "1e-3",
            "1.0000000000000000001",
            "17",
        ])
        .prop_filter_map("in range", move |text| {
            in_range(text.parse().ok()?).map(|_| text.to_string())
        })
        .boxed(),
    )
}

/// A metric and its value: built-in ones in their ranges, aliases, custom names of any
/// allowed form with any finite value.
fn metric() -> impl Strategy<Value = (String, String)> {
    let unit = prop::sample::select(vec![
        "accuracy",
        "precision",
        "recall",
        "f1",
        "f1_score",
        "auc",
        "error_rate",
    ]);
    prop_oneof![
        (unit, number(0.0..=1.0, 0.0, 1.0)).prop_map(|(name, value)| (name.to_string(), value)),
        (
            prop::sample::select(vec!["latency_ms", "drift_score"]),
            number(any::<f64>().prop_map(f64::abs), 0.0, f64::MAX)
        )
            .prop_map(|(name, value)| (name.to_string(), value)),
        prop::sample::select(vec!["0", "1", "1.0", "0e5"])
            .prop_map(|value| ("error".to_string(), value.to_string())),
        (
            "[a-z][a-z0-9_]{0,63}",
            number(any::<f64>(), -f64::MAX, f64::MAX)
        ),
    ]
}

/// The text of one event, as a model server might send it to `POST /v1/events`.
pub(crate) fn event_text() -> impl Strategy<Value = String> {
    let model = (identifier(), identifier(), prop::option::of(identifier())).prop_map(
        |(name, version, instance)| {
            let instance = instance
                .map(|instance| format!(r#", "instance": {}"#, json(&instance)))
                .unwrap_or_default();
            format!(
                r#"{{"version": {}, "name": {}{instance}}}"#,
                json(&version),
                json(&name)
            )
        },
    );
    let metrics = prop_oneof![
        prop::collection::vec(metric(), 1..8).prop_map(|metrics| {
            let members: Vec<String> = metrics
                .iter()
                .map(|(name, value)| format!("{}: {value}", json(name)))
                .collect();
            format!(r#""metrics": {{{}}}"#, members.join(", "))
        }),
        metric()
            .prop_map(|(name, value)| format!(r#""metric": {}, "value": {value}"#, json(&name))),
    ];
    (model, timestamp_member(), metrics).prop_map(|(model, timestamp, metrics)| {
        format!(r#"{{{metrics}, "model": {model}{timestamp}}}"#)
    })
}

/// The text of a job notice or a retrain request, as a replay file might hold it.
pub(crate) fn special_text() -> impl Strategy<Value = String> {
    let job = (
        mostly_identifier(),
        prop::option::of(any_text()),
        prop::sample::select(JobStatus::ALL.to_vec()),
        prop::option::of(mostly_identifier()),
    )
        .prop_map(|(model, job_id, status, version)| {
            let mut body = format!(
                r#""model": {}, "status": "{}""#,
                json(&model),
                status.as_str()
            );
            if let Some(job_id) = job_id {
                body.push_str(&format!(r#", "job_id": {}"#, json(&job_id)));
            }
            if let Some(version) = version {
                body.push_str(&format!(r#", "version": {}"#, json(&version)));
            }
            format!(r#"{{"job_finished": {{{body}}}"#)
        });
    let request =
        (mostly_identifier(), prop::option::of(any_text())).prop_map(|(model, reason)| {
            let reason = reason
                .map(|reason| format!(r#", "reason": {}"#, json(&reason)))
                .unwrap_or_default();
            format!(
                r#"{{"retrain_request": {{"model": {}{reason}}}"#,
                json(&model)
            )
        });
    (prop_oneof![job, request], timestamp_member())
        .prop_map(|(input, timestamp)| format!("{input}{timestamp}}}"))
}

/// An output or label value as a sender writes it: a class (string, integer, boolean) or a
/// number, spelled in any of the ways JSON allows.
fn outcome_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any_text().prop_map(|text| json(&text)),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        number(any::<f64>(), -f64::MAX, f64::MAX),
        prop::sample::select(vec!["1.0", "-0", "1e3", "12345678901234567890", "0.5"])
            .prop_map(str::to_string),
    ]
}

/// The text of a prediction or a label, as a model server might send it.
pub(crate) fn traffic_text() -> impl Strategy<Value = String> {
    let score = prop_oneof![
        Just(String::new()),
        number(0.0..=1.0, 0.0, 1.0).prop_map(|value| format!(r#", "score": {value}"#)),
        (0.0f64..=1.0).prop_map(|p| format!(
            r#", "scores": {{"b": {}, "a": {}}}"#,
            serde_json::to_string(&p).unwrap(),
            serde_json::to_string(&(1.0 - p)).unwrap()
        )),
    ];
    let feature = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        number(any::<f64>(), -f64::MAX, f64::MAX),
        "\\PC{0,20}".prop_map(|text| json(&text)),
    ];
    let features = prop_oneof![
        Just(String::new()),
        prop::collection::btree_map("\\PC{1,12}", feature, 0..6).prop_map(|features| {
            let members: Vec<String> = features
                .iter()
                .map(|(name, value)| format!("{}: {value}", json(name)))
                .collect();
            format!(r#", "features": {{{}}}"#, members.join(", "))
        }),
    ];
    let prediction = (
        identifier(),
        identifier(),
        any_text(),
        outcome_text(),
        score,
        features,
    )
        .prop_map(|(name, version, id, output, score, features)| {
            format!(
                r#"{{"model": {{"name": {}, "version": {}}}, "prediction": {{"id": {}, "output": {output}{score}{features}}}"#,
                json(&name),
                json(&version),
                json(&id)
            )
        });
    let label = (identifier(), any_text(), outcome_text()).prop_map(|(name, id, value)| {
        format!(
            r#"{{"model": {{"name": {}}}, "label": {{"id": {}, "value": {value}}}"#,
            json(&name),
            json(&id)
        )
    });
    (prop_oneof![prediction, label], timestamp_member())
        .prop_map(|(input, timestamp)| format!("{input}{timestamp}}}"))
}

pub(crate) fn json(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// Any timestamp an input built in code may carry, before the epoch included.
fn any_timestamp() -> impl Strategy<Value = Option<Timestamp>> {
    prop_oneof![
        Just(None),
        any::<i64>().prop_map(|nanos| Some(Timestamp::from_nanos(nanos))),
        (0i64..=i64::MAX).prop_map(|nanos| Some(Timestamp::from_nanos(nanos))),
    ]
}

/// An input as code might build it, through its checked constructor; `Err` holds the input
/// built field by field instead, which the constructor refused.
pub(crate) fn built() -> impl Strategy<Value = Result<Input, Input>> {
    let request = (
        mostly_identifier(),
        prop::option::of(any_text()),
        any_timestamp(),
    )
        .prop_map(|(model, reason, timestamp)| {
            RetrainRequest::new(model.clone(), reason.clone(), timestamp)
                .map(Input::RetrainRequest)
                .map_err(|_| {
                    Input::RetrainRequest(RetrainRequest {
                        model,
                        reason,
                        timestamp,
                    })
                })
        });
    let job = (
        mostly_identifier(),
        prop::option::of(any_text()),
        prop::sample::select(JobStatus::ALL.to_vec()),
        prop::option::of(mostly_identifier()),
        any_timestamp(),
    )
        .prop_map(|(model, job_id, status, version, timestamp)| {
            JobFinished::new(
                model.clone(),
                job_id.clone(),
                status,
                version.clone(),
                timestamp,
            )
            .map(Input::JobFinished)
            .map_err(|_| {
                Input::JobFinished(JobFinished {
                    model,
                    job_id,
                    status,
                    version,
                    timestamp,
                })
            })
        });
    let value = prop_oneof![
        1 => any::<f64>(),
        4 => 0.0..=1.0,
        1 => prop::sample::select(vec![0.0, -0.0, 1.0, 2.0, f64::NAN, f64::INFINITY, 5e-324]),
    ];
    let name = prop_oneof![
        3 => prop::sample::select(vec![
            "accuracy",
            "precision",
            "recall",
            "f1",
            "f1_score",
            "error",
            "latency_ms",
            "macro_score",
        ])
        .prop_map(str::to_string),
        3 => "[a-z][a-z0-9_]{0,63}",
        1 => any_text(),
    ];
    let event = (
        (
            mostly_identifier(),
            mostly_identifier(),
            mostly_identifier(),
        ),
        prop_oneof![
            Just(None),
            (0i64..=i64::MAX).prop_map(|nanos| Some(Timestamp::from_nanos(nanos))),
            any_timestamp(),
        ],
        prop::collection::vec((name, value), 0..5),
    )
        .prop_map(|((name, version, instance), timestamp, metrics)| {
            let model = ModelId::new(name, version, instance);
            let catalog = MetricCatalog::new();
            Event::new(model.clone(), timestamp, metrics.clone(), &catalog)
                .map(Input::Event)
                .map_err(|_| {
                    Input::Event(Event {
                        model,
                        timestamp,
                        metrics,
                    })
                })
        });
    let cell = prop_oneof![
        Just(Cell::Missing),
        any::<f64>().prop_map(Cell::Number),
        prop::sample::select(vec![0.0, -0.0, 1.5, 1e300, 5e-324]).prop_map(Cell::Number),
        any::<bool>().prop_map(Cell::Bool),
        any_text().prop_map(Cell::Text),
    ];
    let reference = (
        mostly_identifier(),
        any_timestamp(),
        prop::collection::vec((mostly_identifier(), prop::collection::vec(cell, 3)), 1..4),
    )
        .prop_filter_map(
            "a table the constructor takes",
            |(model, timestamp, columns)| {
                let table = Arc::new(ReferenceTable::new(columns).ok()?);
                Some(
                    ReferenceUpload::new(model.clone(), table.clone(), timestamp)
                        .map(Input::Reference)
                        .map_err(|_| {
                            Input::Reference(ReferenceUpload {
                                model,
                                table,
                                timestamp,
                            })
                        }),
                )
            },
        );
    prop_oneof![request, job, event, reference]
}
