//! Predictions and labels through the engine: windows of labeled predictions, label coverage,
//! late, unmatched and duplicate traffic, the horizon, and the state surviving a snapshot at
//! every point.

use std::sync::Arc;

use modelwatch_engine::{
    Config, Engine, Input, Label, ModelId, Outcome, Output, Prediction, QualityPoint,
    QualitySource, Timestamp,
};
use proptest::prelude::*;

use crate::properties::config;
use crate::snapshot::{check_every_cut, feed};

const MODELS: &str = r#"
[[models]]
name = "bin*"
task = "binary"
positive = "fraud"
window = 4
label_horizon_secs = 3600

[[models]]
name = "multi"
task = "multiclass"
window = 3
label_horizon_secs = 3600

[[models]]
name = "reg"
task = "regression"
window = 3
label_horizon_secs = 3600

[[rules]]
name = "accuracy-low"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }
actions = ["retrain"]

[[rules]]
name = "coverage-low"
metric = "label_coverage"
detector = { kind = "threshold", below = 0.75 }
"#;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_secs(1_800_000_000 + secs)
}

fn prediction(
    model: &str,
    version: &str,
    secs: i64,
    id: &str,
    output: Outcome,
    score: Option<f64>,
) -> Input {
    Input::Prediction(
        Prediction::new(
            ModelId::new(model, version, "default"),
            Some(at(secs)),
            id.to_string(),
            output,
            score,
            None,
            None,
        )
        .unwrap(),
    )
}

fn label(model: &str, secs: i64, id: &str, value: Outcome) -> Input {
    Input::Label(Label::new(model, Some(at(secs)), id.to_string(), value).unwrap())
}

fn text(class: &str) -> Outcome {
    Outcome::Text(class.to_string())
}

fn points(outputs: &[Output]) -> Vec<&QualityPoint> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Quality(point) => Some(point),
            _ => None,
        })
        .collect()
}

fn engine() -> (Arc<Config>, Engine) {
    let config = config(MODELS);
    (config.clone(), Engine::new(config))
}

#[test]
fn a_window_of_labeled_predictions_gives_one_point_at_the_label_that_completes_it() {
    let (_, mut engine) = engine();
    let mut inputs = Vec::new();
    for n in 0..8 {
        let output = if n % 2 == 0 { "fraud" } else { "ok" };
        inputs.push(prediction(
            "bin-a",
            "1",
            n,
            &format!("p{n}"),
            text(output),
            Some(0.5),
        ));
    }
    // Labels arrive in another order than the predictions; the seventh is wrong.
    for (k, n) in [3, 0, 1, 2, 7, 6, 5, 4].into_iter().enumerate() {
        let truth = if (n % 2 == 0) != (n == 6) {
            "fraud"
        } else {
            "ok"
        };
        inputs.push(label(
            "bin-a",
            100 + k as i64,
            &format!("p{n}"),
            text(truth),
        ));
    }
    let outputs = feed(&mut engine, &inputs);
    let realized: Vec<_> = points(&outputs)
        .into_iter()
        .filter(|point| point.source == QualitySource::Realized)
        .collect();
    assert_eq!(realized.len(), 2);
    assert_eq!((realized[0].seq, realized[0].at), (12, at(103)));
    assert_eq!((realized[1].seq, realized[1].at), (16, at(107)));
    assert_eq!(realized[0].rows, 4);
    assert_eq!(realized[0].model, ModelId::new("bin-a", "1", "default"));
    let coverage: Vec<_> = points(&outputs)
        .into_iter()
        .filter(|point| point.source == QualitySource::Coverage)
        .map(|point| (point.seq, point.metrics.clone()))
        .collect();
    assert_eq!(
        coverage,
        vec![
            (12, vec![("label_coverage".to_string(), 1.0)]),
            (16, vec![("label_coverage".to_string(), 1.0)])
        ]
    );
    let (counts, pending) = engine.traffic("bin-a").unwrap();
    assert_eq!((counts.predictions, counts.joined, pending), (8, 8, 0));
}

#[test]
fn late_unmatched_and_duplicate_traffic_is_counted_not_joined() {
    let (_, mut engine) = engine();
    let inputs = vec![
        prediction("bin-a", "1", 0, "a", text("fraud"), None),
        prediction("bin-a", "1", 1, "a", text("ok"), None),
        prediction("bin-a", "1", 2, "b", text("ok"), None),
        label("bin-a", 10, "nobody", text("ok")),
        label("bin-a", 11, "a", text("fraud")),
        label("bin-a", 12, "a", text("fraud")),
        // Past the one-hour horizon: dropped and counted late.
        label("bin-a", 3 + 3600, "b", text("ok")),
    ];
    let outputs = feed(&mut engine, &inputs);
    assert!(points(&outputs).is_empty());
    let (counts, pending) = engine.traffic("bin-a").unwrap();
    assert_eq!(counts.predictions, 2);
    assert_eq!(counts.duplicates, 1);
    assert_eq!(counts.unmatched, 2);
    assert_eq!(counts.joined, 1);
    assert_eq!((counts.late, counts.expired), (1, 0));
    assert_eq!(pending, 0);
}

#[test]
fn predictions_past_the_horizon_expire_and_lower_the_coverage() {
    let (_, mut engine) = engine();
    let mut inputs = Vec::new();
    for n in 0..4 {
        inputs.push(prediction(
            "bin-a",
            "1",
            n,
            &format!("p{n}"),
            text("ok"),
            None,
        ));
    }
    inputs.push(label("bin-a", 10, "p0", text("ok")));
    // Two hours on, the model's next prediction sweeps the other three out.
    inputs.push(prediction(
        "bin-a",
        "1",
        7200,
        "late-comer",
        text("ok"),
        None,
    ));
    let outputs = feed(&mut engine, &inputs);
    let coverage: Vec<_> = points(&outputs)
        .into_iter()
        .filter(|point| point.source == QualitySource::Coverage)
        .collect();
    assert_eq!(coverage.len(), 1);
    assert_eq!(coverage[0].seq, 6);
    assert_eq!(
        coverage[0].metrics,
        vec![("label_coverage".to_string(), 0.25)]
    );
    assert_eq!(coverage[0].rows, 4);
    // The coverage rule fires on the computed value, as on a pushed one.
    assert!(outputs.iter().any(|output| matches!(
        output,
        Output::Alert(alert) if &*alert.rule == "coverage-low" && alert.metric == "label_coverage"
    )));
    let (counts, pending) = engine.traffic("bin-a").unwrap();
    assert_eq!((counts.expired, pending), (3, 1));
}

#[test]
fn a_label_joins_the_version_and_instance_of_its_prediction() {
    let (_, mut engine) = engine();
    let mut inputs = Vec::new();
    for n in 0..3 {
        inputs.push(Input::Prediction(
            Prediction::new(
                ModelId::new("reg", "2.0", "canary-0"),
                Some(at(n)),
                format!("r{n}"),
                Outcome::Number(1.5 + n as f64),
                None,
                None,
                None,
            )
            .unwrap(),
        ));
    }
    for n in 0..3 {
        inputs.push(label("reg", 50 + n, &format!("r{n}"), Outcome::Integer(2)));
    }
    let outputs = feed(&mut engine, &inputs);
    let realized = points(&outputs);
    assert_eq!(realized.len(), 2, "{realized:?}");
    assert!(
        realized
            .iter()
            .all(|point| point.model == ModelId::new("reg", "2.0", "canary-0"))
    );
}

#[test]
fn traffic_of_a_model_without_a_models_entry_is_ignored() {
    let (_, mut engine) = engine();
    let outputs = feed(
        &mut engine,
        &[
            prediction("unknown", "1", 0, "a", text("x"), None),
            label("unknown", 1, "a", text("x")),
        ],
    );
    assert!(outputs.is_empty());
    assert!(engine.traffic("unknown").is_none());
}

#[test]
fn estimates_come_once_the_version_has_a_reference_and_before_any_label_of_their_window() {
    let (_, mut engine) = engine();
    let mut inputs = Vec::new();
    // Window 4: four scored predictions, their labels (the first realized window, which the
    // version's CBPE reference is fitted on), then four more predictions with no labels.
    let scores = [0.9, 0.2, 0.7, 0.4, 0.8, 0.1, 0.6, 0.3];
    for (n, score) in scores.iter().enumerate() {
        let output = if *score >= 0.5 { "fraud" } else { "ok" };
        inputs.push(prediction(
            "bin-a",
            "1",
            n as i64,
            &format!("p{n}"),
            text(output),
            Some(*score),
        ));
        if n == 3 {
            for (k, truth) in ["fraud", "ok", "ok", "ok"].into_iter().enumerate() {
                inputs.push(label("bin-a", 10 + k as i64, &format!("p{k}"), text(truth)));
            }
        }
    }
    let outputs = feed(&mut engine, &inputs);
    let estimated: Vec<_> = points(&outputs)
        .into_iter()
        .filter(|point| point.source == QualitySource::Estimated)
        .collect();
    // The first window of predictions came before any reference: no estimate for it.
    assert_eq!(estimated.len(), 1, "{estimated:?}");
    assert_eq!(estimated[0].seq, inputs.len() as u64);
    let names: Vec<&str> = estimated[0]
        .metrics
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(names.contains(&"estimated_accuracy"), "{names:?}");
    assert!(names.contains(&"estimated_roc_auc"), "{names:?}");
}

/// A stream of predictions and labels of the three tasks, with labels late, missing,
/// unmatched and repeated, and metric events between them.
fn traffic_stream(max_len: usize) -> impl Strategy<Value = Vec<Input>> {
    prop::collection::vec((0u8..3, 0u8..6, 0u32..40, 0u8..3, 0i64..900), 1..max_len).prop_map(
        |items| {
            let mut secs = 0;
            let mut inputs = Vec::new();
            for (model, kind, id, value, step) in items {
                secs += step;
                let id = format!("id-{id}");
                let version = if id.len() % 2 == 0 { "1" } else { "2" };
                let (name, output, truth): (&str, Outcome, Outcome) = match model {
                    0 => (
                        "bin-x",
                        text(["fraud", "ok", "ok"][value as usize]),
                        text(["ok", "fraud", "ok"][value as usize]),
                    ),
                    1 => (
                        "multi",
                        text(["a", "b", "c"][value as usize]),
                        text(["c", "b", "a"][value as usize]),
                    ),
                    _ => (
                        "reg",
                        Outcome::Number(0.5 * f64::from(value) + 0.25),
                        Outcome::Integer(i64::from(value)),
                    ),
                };
                let input = if kind < 3 {
                    let score = (model == 0 && kind > 0).then(|| 0.1 + 0.3 * f64::from(value));
                    prediction(name, version, secs, &id, output, score)
                } else {
                    label(name, secs, &id, truth)
                };
                inputs.push(input);
            }
            inputs
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn traffic_state_survives_a_snapshot_at_every_point(inputs in traffic_stream(120)) {
        check_every_cut(&config(MODELS), &inputs)?;
    }
}
