//! Tests of the wire format: every accepted shape and every kind of bad input.

use super::*;
use crate::metric::{Goal, MetricInfo};

fn catalog() -> MetricCatalog {
    let mut catalog = MetricCatalog::new();
    catalog.declare(
        "my_kpi",
        MetricInfo::new(Goal::HigherIsBetter, Some(0.0), Some(100.0)),
    );
    catalog
}

fn parse(text: &str) -> Result<Vec<Input>, BatchError> {
    WireParser::new(&catalog())
        .accepting_jobs()
        .parse_batch(text, Format::Auto)
}

fn events(text: &str) -> Vec<Event> {
    parse(text)
        .unwrap()
        .into_iter()
        .map(|input| match input {
            Input::Event(event) => event,
            other => panic!("expected an event, got {other:?}"),
        })
        .collect()
}

/// The errors of an invalid batch, as their display strings.
fn invalid(text: &str) -> Vec<String> {
    match parse(text) {
        Err(BatchError::Invalid { errors, .. }) => errors.iter().map(ToString::to_string).collect(),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

fn syntax(text: &str) -> Vec<InputError> {
    match parse(text) {
        Err(BatchError::Syntax { errors, .. }) => errors,
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

const MODEL: &str = r#""model": {"name": "fraud-detector", "version": "1.4.0"}"#;

#[test]
fn the_design_example_parses_with_macro_score() {
    let text = r#"{"model": {"name": "fraud-detector", "version": "1.4.0", "instance": "canary-0"},
 "timestamp": "2026-11-22T08:00:00Z",
 "metrics": {"accuracy": 0.93, "precision": 0.92, "recall": 0.94, "f1": 0.93,
             "latency_ms": 12.5, "drift_score": 0.03, "my_kpi": 17}}"#;
    let events = events(text);
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(
        event.model,
        ModelId::new("fraud-detector", "1.4.0", "canary-0")
    );
    assert_eq!(
        event.timestamp.unwrap().to_rfc3339(),
        "2026-11-22T08:00:00Z"
    );
    let names: Vec<&str> = event
        .metrics
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "accuracy",
            "drift_score",
            "f1",
            "latency_ms",
            "macro_score",
            "my_kpi",
            "precision",
            "recall"
        ]
    );
    assert_eq!(
        event.metric("macro_score"),
        Some((0.93 + 0.92 + 0.94 + 0.93) / 4.0)
    );
    assert_eq!(event.metric("my_kpi"), Some(17.0));
}

#[test]
fn single_metric_form_and_defaults() {
    let events = events(&format!(
        r#"{{{MODEL}, "metric": "f1_score", "value": 0.5}}"#
    ));
    assert_eq!(events[0].model.instance, "default");
    assert_eq!(events[0].timestamp, None);
    assert_eq!(events[0].metrics, vec![("f1".to_string(), 0.5)]);
}

#[test]
fn macro_score_needs_all_four() {
    let events = events(&format!(
        r#"{{{MODEL}, "metrics": {{"accuracy": 0.9, "precision": 0.9, "recall": 0.9}}}}"#
    ));
    assert_eq!(events[0].metric("macro_score"), None);
}

#[test]
fn key_order_does_not_matter() {
    let a = events(&format!(
        r#"{{{MODEL}, "metrics": {{"recall": 0.1, "accuracy": 0.2}}}}"#
    ));
    let b = events(&format!(
        r#"{{"metrics": {{"accuracy": 0.2, "recall": 0.1}}, {MODEL}}}"#
    ));
    assert_eq!(a, b);
}

#[test]
fn array_ndjson_and_pretty_object_forms() {
    let one = format!(r#"{{{MODEL}, "metric": "accuracy", "value": 0.9}}"#);
    let array = format!("[\n{one},\n{one}\n]");
    assert_eq!(events(&array).len(), 2);
    let ndjson = format!("{one}\n\n{one}\n{one}\n");
    assert_eq!(events(&ndjson).len(), 3);
    let pretty = format!("{{\n  {MODEL},\n  \"metric\": \"accuracy\",\n  \"value\": 0.9\n}}\n");
    assert_eq!(events(&pretty).len(), 1);
}

#[test]
fn job_finished_inputs() {
    let inputs = parse(
        r#"{"job_finished": {"model": "fraud-detector", "job_id": "abc", "status": "succeeded", "version": "1.5.0"}, "timestamp": "2026-11-22T09:00:00Z"}"#,
    )
    .unwrap();
    let Input::JobFinished(job) = &inputs[0] else {
        panic!("{inputs:?}")
    };
    assert_eq!(job.model, "fraud-detector");
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(job.version.as_deref(), Some("1.5.0"));
    let refused = WireParser::new(&catalog())
        .parse_batch(
            r#"{"job_finished": {"model": "m", "status": "failed"}}"#,
            Format::Auto,
        )
        .unwrap_err();
    assert!(
        refused.to_string().contains("not accepted here"),
        "{refused}"
    );
    let bad = invalid(r#"{"job_finished": {"model": "m", "status": "exploded"}}"#);
    assert!(
        bad[0].contains("job_finished.status") && bad[0].contains("exploded"),
        "{bad:?}"
    );
}

#[test]
fn retrain_request_inputs() {
    let inputs = parse(
        r#"{"retrain_request": {"model": "fraud-detector", "reason": "new labels\tarrived"}, "timestamp": "2026-11-22T09:00:00Z"}
{"retrain_request": {"model": "churn"}}"#,
    )
    .unwrap();
    assert_eq!(
        inputs,
        [
            Input::RetrainRequest(RetrainRequest {
                model: "fraud-detector".into(),
                reason: Some("new labels\tarrived".into()),
                timestamp: Some(Timestamp::parse_rfc3339("2026-11-22T09:00:00Z").unwrap()),
            }),
            Input::RetrainRequest(RetrainRequest {
                model: "churn".into(),
                reason: None,
                timestamp: None,
            })
        ]
    );
    // The HTTP event endpoint's parser refuses it, as it refuses job notices.
    let refused = WireParser::new(&catalog())
        .parse_batch(r#"{"retrain_request": {"model": "m"}}"#, Format::Auto)
        .unwrap_err();
    assert_eq!(
        refused.to_string().lines().nth(1).unwrap().trim(),
        "input 0 (line 1): retrain_request: retrain_request inputs are not accepted here; ask for a retrain on POST /v1/models/{name}/retrain"
    );
    let bad = invalid(
        r#"{"retrain_request": {"reason": "x", "colour": 1}, "model": {"name": "m", "version": "1"}}
{"retrain_request": {"model": "bad model", "reason": ""}}
{"retrain_request": {"model": "m", "reason": "a\nb"}}
{"retrain_request": "m"}"#,
    );
    assert_eq!(
        bad,
        [
            "input 0 (line 1): model: a retrain_request input carries nothing but retrain_request and timestamp",
            "input 0 (line 1): retrain_request.colour: unknown field; retrain_request has model and reason",
            "input 0 (line 1): retrain_request.model: missing; name the model to retrain",
            "input 1 (line 2): retrain_request.model: \"bad model\" contains ' '; use letters, digits and . _ : / @ + -",
            "input 1 (line 2): retrain_request.reason: must be 1 to 1024 bytes long",
            "input 2 (line 3): retrain_request.reason: must not contain control characters such as line breaks",
            "input 3 (line 4): retrain_request: this field must be a JSON object, got a string",
        ]
    );
}

#[test]
fn non_finite_numbers() {
    let errors = invalid(&format!(
        r#"{{{MODEL}, "metrics": {{"latency_ms": 1e400}}}}"#
    ));
    assert_eq!(
        errors,
        ["input 0 (line 1): metrics.latency_ms: \"1e400\" is not a finite 64-bit number"]
    );
    let errors = invalid(&format!(
        r#"{{{MODEL}, "metric": "my_kpi", "value": -1e999}}"#
    ));
    assert!(
        errors[0].contains("value: \"-1e999\" is not a finite"),
        "{errors:?}"
    );
    // NaN and Infinity are not JSON at all.
    let errors = syntax(&format!(
        r#"{{{MODEL}, "metric": "accuracy", "value": NaN}}"#
    ));
    assert_eq!(errors[0].line, 1);
    assert!(errors[0].message.starts_with("invalid JSON"), "{errors:?}");
}

#[test]
fn out_of_range_values_for_well_known_metrics() {
    let errors = invalid(&format!(
        r#"{{{MODEL}, "metrics": {{"accuracy": 1.2, "recall": -0.1, "latency_ms": -5, "error_rate": 2, "drift_score": -0.5, "auc": 1.5, "my_kpi": 101}}}}"#
    ));
    let joined = errors.join("\n");
    for expected in [
        "metrics.accuracy: value 1.2 is outside the range of accuracy, [0, 1]",
        "metrics.recall: value -0.1 is outside",
        "metrics.latency_ms: value -5 is outside the range of latency_ms, >= 0",
        "metrics.error_rate: value 2 is outside",
        "metrics.drift_score: value -0.5 is outside",
        "metrics.auc: value 1.5 is outside",
        "metrics.my_kpi: value 101 is outside the range of my_kpi, [0, 100]",
    ] {
        assert!(
            joined.contains(expected),
            "missing {expected:?} in\n{joined}"
        );
    }
    assert_eq!(errors.len(), 7);
}

#[test]
fn binary_metrics_take_exactly_zero_or_one() {
    let errors = invalid(&format!(
        r#"[{{{MODEL}, "metric": "error", "value": 0.5}}, {{{MODEL}, "metric": "error", "value": 2}}, {{{MODEL}, "metric": "error", "value": -0.0}}]"#
    ));
    let joined = errors.join("\n");
    assert!(
        joined.contains(
            "input 0 (line 1): value: value 0.5 is outside the range of error, 0 or 1 (one prediction: 1 = wrong, 0 = right)"
        ),
        "{joined}"
    );
    assert!(
        joined.contains("input 1 (line 1): value: value 2 is outside"),
        "{joined}"
    );
    assert_eq!(errors.len(), 2, "-0.0 equals 0 and is accepted: {joined}");
    let inputs = parse(&format!(
        r#"{{{MODEL}, "metric": "error", "value": 1}}
{{{MODEL}, "metric": "error", "value": 0}}"#
    ))
    .expect("0 and 1 are valid errors");
    assert_eq!(inputs.len(), 2);
}

#[test]
fn bad_metric_and_model_names() {
    let errors = invalid(
        r#"{"model": {"name": "fraud detector", "version": "", "instance": "-x"}, "metrics": {"Accuracy": 0.5, "2x": 1, "a-b": 1, "macro_score": 0.9}}"#,
    );
    let joined = errors.join("\n");
    for expected in [
        "model.name: \"fraud detector\" contains ' '",
        "model.version: is empty",
        "model.instance: \"-x\" must start with a letter or digit",
        "metrics.Accuracy: metric name \"Accuracy\" must start with a lowercase letter",
        "metrics.2x: metric name \"2x\" must start with a lowercase letter",
        "metrics.a-b: metric name \"a-b\" contains '-'",
        "metrics.macro_score: macro_score is derived",
    ] {
        assert!(
            joined.contains(expected),
            "missing {expected:?} in\n{joined}"
        );
    }
}

#[test]
fn missing_model_and_missing_fields() {
    let errors = invalid(r#"{"metric": "accuracy", "value": 0.5}"#);
    assert_eq!(
        errors,
        ["input 0 (line 1): model: missing; every event names its model"]
    );
    let errors = invalid(r#"{"model": {"version": "1"}, "metrics": {"accuracy": 0.5}}"#);
    assert_eq!(
        errors,
        ["input 0 (line 1): model.name: missing; the model needs a name"]
    );
    let errors = invalid(&format!("{{{MODEL}}}"));
    assert!(errors[0].contains("metrics: missing"), "{errors:?}");
    let errors = invalid(&format!(r#"{{{MODEL}, "metric": "accuracy"}}"#));
    assert!(errors[0].contains("value: missing"), "{errors:?}");
    let errors = invalid(&format!(
        r#"{{{MODEL}, "metrics": {{"accuracy": 0.5}}, "metric": "accuracy", "value": 1}}"#
    ));
    assert!(errors[0].contains("not both"), "{errors:?}");
    let errors = invalid(&format!(r#"{{{MODEL}, "metrics": {{}}}}"#));
    assert!(errors[0].contains("metrics: is empty"), "{errors:?}");
}

#[test]
fn bad_timestamps() {
    let errors = invalid(&format!(
        r#"[{{{MODEL}, "timestamp": "yesterday", "metric": "accuracy", "value": 0.5}},
{{{MODEL}, "timestamp": 1700000000, "metric": "accuracy", "value": 0.5}},
{{{MODEL}, "timestamp": "1960-01-01T00:00:00Z", "metric": "accuracy", "value": 0.5}}]"#
    ));
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors[0].starts_with("input 0 (line 1): timestamp: \"yesterday\" is not an RFC 3339"),
        "{errors:?}"
    );
    assert_eq!(
        errors[1],
        "input 1 (line 2): timestamp: must be a string, got a number"
    );
    assert!(
        errors[2].starts_with("input 2 (line 3): timestamp:") && errors[2].contains("outside"),
        "{errors:?}"
    );
    let events = events(&format!(
        r#"{{{MODEL}, "timestamp": null, "metric": "accuracy", "value": 0.5}}"#
    ));
    assert_eq!(events[0].timestamp, None);
}

#[test]
fn wrong_types() {
    let errors = invalid(
        r#"[1, "text", {"model": "fraud", "metrics": []}, {"model": {"name": 5, "version": true}, "metric": 3, "value": "0.5"}]"#,
    );
    let joined = errors.join("\n");
    for expected in [
        "input 0 (line 1): an input must be a JSON object, got a number",
        "input 1 (line 1): an input must be a JSON object, got a string",
        "input 2 (line 1): model: this field must be a JSON object, got a string",
        "input 2 (line 1): metrics: this field must be a JSON object, got an array",
        "input 3 (line 1): model.name: must be a string, got a number",
        "input 3 (line 1): model.version: must be a string, got a boolean",
        "input 3 (line 1): metric: must be a string, got a number",
    ] {
        assert!(
            joined.contains(expected),
            "missing {expected:?} in\n{joined}"
        );
    }
    let errors = invalid(&format!(
        r#"{{{MODEL}, "metrics": {{"accuracy": "0.5", "recall": null}}}}"#
    ));
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains("metrics.accuracy: must be a number, got a string"));
    assert!(errors[1].contains("metrics.recall: must be a number, got null"));
}

#[test]
fn unknown_and_duplicate_fields() {
    let errors = invalid(&format!(
        r#"{{{MODEL}, "metrics": {{"accuracy": 0.5, "accuracy": 0.6, "f1": 0.1, "f1_score": 0.2}}, "labels": {{}}, "timestamp": null, "timestamp": null}}"#
    ));
    let joined = errors.join("\n");
    for expected in [
        "labels: unknown field",
        "timestamp: field appears more than once",
        "metrics.accuracy: given more than once",
        "metrics.f1: given more than once (f1_score is an alias of f1)",
    ] {
        assert!(
            joined.contains(expected),
            "missing {expected:?} in\n{joined}"
        );
    }
}

#[test]
fn empty_input() {
    assert_eq!(parse(""), Err(BatchError::Empty));
    assert_eq!(parse(" \n\t\n"), Err(BatchError::Empty));
    assert_eq!(parse("[]"), Err(BatchError::Empty));
}

#[test]
fn oversized_strings_and_batches() {
    let long = "m".repeat(MAX_ID_LEN + 1);
    let errors = invalid(&format!(
        r#"{{"model": {{"name": "{long}", "version": "1"}}, "metric": "accuracy", "value": 1}}"#
    ));
    assert_eq!(
        errors,
        ["input 0 (line 1): model.name: is 129 bytes long; the limit is 128"]
    );
    let long_metric = "m".repeat(65);
    let errors = invalid(&format!(
        r#"{{{MODEL}, "metric": "{long_metric}", "value": 1}}"#
    ));
    assert!(
        errors[0].contains("is 65 bytes long; the limit is 64"),
        "{errors:?}"
    );
    let huge_key = "k".repeat(10_000);
    let errors = invalid(&format!(
        r#"{{{MODEL}, "metric": "accuracy", "value": 1, "{huge_key}": 1}}"#
    ));
    assert!(
        errors[0].len() < 300,
        "an oversized key is cut in the message: {}",
        errors[0].len()
    );

    let one = format!(r#"{{{MODEL}, "metric": "accuracy", "value": 0.9}}"#);
    let text = format!("{one}\n{one}\n{one}\n");
    let limits = Limits {
        max_inputs: 2,
        ..Limits::default()
    };
    let result = WireParser::new(&catalog())
        .with_limits(limits)
        .parse_batch(&text, Format::Ndjson);
    assert_eq!(result, Err(BatchError::TooMany { limit: 2 }));
    let many_metrics: Vec<String> = (0..3).map(|i| format!(r#""m{i}": 1"#)).collect();
    let limits = Limits {
        max_metrics: 2,
        ..Limits::default()
    };
    let text = format!(r#"{{{MODEL}, "metrics": {{{}}}}}"#, many_metrics.join(","));
    let result = WireParser::new(&catalog())
        .with_limits(limits)
        .parse_batch(&text, Format::Auto);
    assert!(
        result
            .unwrap_err()
            .to_string()
            .contains("has 3 metrics; the limit is 2")
    );
}

#[test]
fn every_bad_line_of_ndjson_is_reported_with_its_line() {
    let good = format!(r#"{{{MODEL}, "metric": "accuracy", "value": 0.9}}"#);
    let text = format!(
        "{good}\n{{\"model\": oops}}\n{good}\n{{{MODEL}, \"metric\": \"accuracy\", \"value\": 7}}\n{{\"broken\": \n"
    );
    let errors = syntax(&text);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        (errors[0].index, errors[0].line, errors[0].column),
        (Some(1), 2, Some(11))
    );
    assert_eq!(
        errors[1].line, 6,
        "an unterminated object is reported where the text ends: {errors:?}"
    );
    // Once the syntax is right, the range error on line 4 shows.
    let text =
        format!("{good}\n{good}\n{good}\n{{{MODEL}, \"metric\": \"accuracy\", \"value\": 7}}\n");
    assert_eq!(
        invalid(&text),
        ["input 3 (line 4): value: value 7 is outside the range of accuracy, [0, 1]"]
    );
}

#[test]
fn a_bad_batch_keeps_nothing_and_caps_its_error_list() {
    let bad = format!(r#"{{{MODEL}, "metric": "accuracy", "value": 3}}"#);
    let text = vec![bad; 150].join("\n");
    match parse(&text) {
        Err(BatchError::Invalid { errors, omitted }) => {
            assert_eq!(errors.len(), 100);
            assert_eq!(omitted, 50);
            assert_eq!(errors[99].index, Some(99));
            assert_eq!(errors[99].line, 100);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn json_format_rejects_trailing_values() {
    let one = format!(r#"{{{MODEL}, "metric": "accuracy", "value": 0.9}}"#);
    let result = WireParser::new(&catalog()).parse_batch(&format!("{one}\n{one}"), Format::Json);
    let Err(BatchError::Syntax { errors, .. }) = result else {
        panic!("{result:?}")
    };
    assert_eq!(errors[0].line, 2);
    assert!(
        errors[0].message.contains("trailing characters"),
        "{errors:?}"
    );
}

#[test]
fn syntax_error_inside_an_array_is_located() {
    let errors = syntax("[\n{\"model\": 1},\n{\"model\": ]\n]");
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].line, errors[0].index), (3, None));
}
