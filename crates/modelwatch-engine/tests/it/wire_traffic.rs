//! Predictions and labels on the wire: their forms, the classes and numbers they carry, every
//! problem of an input listed with its field, and the checks of the model's `[[models]]` entry.

use modelwatch_engine::metric::MetricCatalog;
use modelwatch_engine::{BatchError, Feature, Format, Input, Outcome, WireParser, parse_config};

const MODELS: &str = r#"
[[models]]
name = "fraud*"
task = "binary"
positive = "fraud"

[[models]]
name = "kind"
task = "multiclass"

[[models]]
name = "price"
task = "regression"
"#;

fn problems(parser: &WireParser<'_>, text: &str) -> Vec<(Option<String>, String)> {
    match parser.parse_batch(text, Format::Auto) {
        Err(BatchError::Invalid { errors, .. }) => errors
            .into_iter()
            .map(|error| (error.field, error.message))
            .collect(),
        other => panic!("{text}: {other:?}"),
    }
}

#[test]
fn a_prediction_reads_with_its_scores_and_features_sorted_and_writes_back_the_same() {
    let catalog = MetricCatalog::new();
    let text = r#"{"model": {"name": "fraud", "version": "2.1.0", "instance": "canary-0"}, "timestamp": "2026-12-06T10:00:00Z",
 "prediction": {"id": "req-42", "output": "fraud", "scores": {"ok": 0.09, "fraud": 0.91},
                "features": {"income": null, "age": 42, "country": "DE", "vip": true}}}"#;
    let inputs = WireParser::new(&catalog)
        .parse_batch(text, Format::Auto)
        .unwrap();
    let Input::Prediction(prediction) = &inputs[0] else {
        panic!("{inputs:?}")
    };
    assert_eq!(prediction.output, Outcome::Text("fraud".to_string()));
    assert_eq!(prediction.score_of("fraud"), Some(0.91));
    let names: Vec<&str> = prediction
        .features
        .iter()
        .flatten()
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(names, ["age", "country", "income", "vip"]);
    assert_eq!(prediction.features.as_ref().unwrap()[2].1, Feature::Null);
    let written = serde_json::to_string(&inputs[0]).unwrap();
    assert_eq!(
        written,
        r#"{"model":{"name":"fraud","version":"2.1.0","instance":"canary-0"},"timestamp":"2026-12-06T10:00:00Z","prediction":{"id":"req-42","output":"fraud","scores":{"fraud":0.91,"ok":0.09},"features":{"age":42.0,"country":"DE","income":null,"vip":true}}}"#
    );
    let again = WireParser::new(&catalog)
        .parse_batch(&written, Format::Auto)
        .unwrap();
    assert_eq!(again, inputs);
}

#[test]
fn integers_booleans_and_numbers_are_told_apart_and_name_classes_as_text() {
    let catalog = MetricCatalog::new();
    let outputs = [
        ("1", Outcome::Integer(1), Some("1")),
        ("-0", Outcome::Integer(0), Some("0")),
        ("true", Outcome::Bool(true), Some("true")),
        ("1.0", Outcome::Number(1.0), None),
        ("1e3", Outcome::Number(1000.0), None),
        (
            "12345678901234567890",
            Outcome::Number(12_345_678_901_234_567_890.0),
            None,
        ),
    ];
    for (text, outcome, class) in outputs {
        let line =
            format!(r#"{{"model": {{"name": "x"}}, "label": {{"id": "a", "value": {text}}}}}"#);
        let inputs = WireParser::new(&catalog)
            .parse_batch(&line, Format::Auto)
            .unwrap();
        let Input::Label(label) = &inputs[0] else {
            panic!("{inputs:?}")
        };
        assert_eq!(label.value, outcome, "{text}");
        assert_eq!(label.value.class().as_deref(), class, "{text}");
    }
}

#[test]
fn every_problem_of_an_input_is_listed_with_its_field() {
    let catalog = MetricCatalog::new();
    let parser = WireParser::new(&catalog);
    let long = "x".repeat(257);
    let text = format!(
        r#"{{"model": {{"name": "fraud"}}, "prediction": {{"id": "{long}", "output": null, "score": 0.5, "scores": {{"a": 1.0}}, "extra": 1}}}}"#
    );
    let fields: Vec<String> = problems(&parser, &text)
        .into_iter()
        .filter_map(|(field, _)| field)
        .collect();
    for expected in [
        "model.version",
        "prediction.extra",
        "prediction.id",
        "prediction.output",
        "prediction.scores",
    ] {
        assert!(
            fields.iter().any(|field| field == expected),
            "{expected}: {fields:?}"
        );
    }
    let label = r#"{"model": {"name": "fraud", "version": "1"}, "label": {"id": "a", "value": "x"}, "metrics": {"accuracy": 1}}"#;
    let fields: Vec<String> = problems(&parser, label)
        .into_iter()
        .filter_map(|(field, _)| field)
        .collect();
    assert!(fields.contains(&"model.version".to_string()), "{fields:?}");
    assert!(fields.contains(&"metrics".to_string()), "{fields:?}");
}

#[test]
fn the_models_entry_decides_what_a_prediction_and_a_label_may_carry() {
    let config = parse_config(MODELS).unwrap().config;
    let parser = WireParser::new(&config.catalog).with_models(&config.models);
    let refused = [
        (
            r#"{"model": {"name": "kind", "version": "1"}, "prediction": {"id": "a", "output": "x", "score": 0.5}}"#,
            "prediction.score",
        ),
        (
            r#"{"model": {"name": "price", "version": "1"}, "prediction": {"id": "a", "output": 2.5, "scores": {"a": 1}}}"#,
            "prediction.scores",
        ),
        (
            r#"{"model": {"name": "price", "version": "1"}, "prediction": {"id": "a", "output": "high"}}"#,
            "prediction.output",
        ),
        (
            r#"{"model": {"name": "fraud-x", "version": "1"}, "prediction": {"id": "a", "output": 0.5}}"#,
            "prediction.output",
        ),
        (
            r#"{"model": {"name": "kind"}, "label": {"id": "a", "value": 2.5}}"#,
            "label.value",
        ),
        (
            r#"{"model": {"name": "other"}, "label": {"id": "a", "value": 1}}"#,
            "model.name",
        ),
    ];
    for (text, field) in refused {
        let found = problems(&parser, text);
        assert!(
            found.iter().any(|(f, _)| f.as_deref() == Some(field)),
            "{text}: {found:?}"
        );
    }
    let accepted = r#"{"model": {"name": "fraud-x", "version": "1"}, "prediction": {"id": "a", "output": true, "scores": {"fraud": 0.2, "ok": 0.8}}}
{"model": {"name": "price", "version": "1"}, "prediction": {"id": "b", "output": 3}}
{"model": {"name": "price"}, "label": {"id": "b", "value": 2.75}}
{"model": {"name": "kind", "version": "1"}, "prediction": {"id": "c", "output": 2, "scores": {"1": 0.5, "2": 0.5}}}"#;
    assert_eq!(parser.parse_batch(accepted, Format::Auto).unwrap().len(), 4);
}
