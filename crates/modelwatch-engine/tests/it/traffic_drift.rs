//! Data drift from traffic through the engine: each version's reference from its first
//! predictions, windows of each instance compared column by column (features and the output as
//! `prediction`), `drift.<column>` and `drift_score` points that rules act on, the options beyond
//! Evidently, and the state surviving a snapshot at every point.

use modelwatch_engine::{
    Engine, Feature, Input, ModelId, Outcome, Output, Prediction, QualityPoint, QualitySource,
    Timestamp,
};
use proptest::prelude::*;

use crate::properties::config;
use crate::snapshot::{check_every_cut, feed};

pub(crate) fn models(extra: &str) -> String {
    format!(
        r#"
[[models]]
name = "m"
task = "binary"
positive = "yes"
reference = {{ first = 100 }}
drift_window = 50
{extra}

[[rules]]
name = "drift-high"
metric = "drift_score"
detector = {{ kind = "threshold", above = 0.1 }}

[[rules]]
name = "x-drift"
metric = "drift.x"
detector = {{ kind = "threshold", below = 0.05 }}
"#
    )
}

/// Prediction `n`: `x` a deterministic spread around `shift`, `c` one of three categories,
/// `gap` missing in every other row.
pub(crate) fn prediction(n: i64, shift: f64) -> Input {
    let x = shift + ((n * 7919) % 101) as f64 / 25.0 - 2.0;
    let features = vec![
        (
            "c".to_string(),
            Feature::Text(["a", "b", "c"][(n % 3) as usize].to_string()),
        ),
        (
            "gap".to_string(),
            if n % 2 == 0 {
                Feature::Null
            } else {
                Feature::Number(n as f64)
            },
        ),
        // Three numbers: Evidently's automatic choice runs chisquare on them as categories.
        ("level".to_string(), Feature::Number((n % 3) as f64)),
        ("x".to_string(), Feature::Number(x)),
    ];
    Input::Prediction(
        Prediction::new(
            ModelId::new("m", "1", "default"),
            Some(Timestamp::from_secs(1_800_000_000 + n)),
            format!("p{n}"),
            Outcome::Text(if x > shift { "yes" } else { "no" }.to_string()),
            None,
            None,
            Some(features),
        )
        .unwrap(),
    )
}

pub(crate) fn drift_points(outputs: &[Output]) -> Vec<&QualityPoint> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Quality(point) if point.source == QualitySource::Drift => Some(point),
            _ => None,
        })
        .collect()
}

pub(crate) fn value(point: &QualityPoint, metric: &str) -> Option<f64> {
    point
        .metrics
        .iter()
        .find(|(name, _)| name == metric)
        .map(|(_, value)| *value)
}

#[test]
fn windows_after_the_reference_are_compared_column_by_column() {
    let config = config(&models(""));
    let mut engine = Engine::new(config);
    let mut inputs: Vec<Input> = (0..200).map(|n| prediction(n, 0.0)).collect();
    inputs.extend((200..250).map(|n| prediction(n, 3.0)));
    let outputs = feed(&mut engine, &inputs);
    let points = drift_points(&outputs);
    // 100 predictions make the reference; then a point every 50.
    let seqs: Vec<u64> = points.iter().map(|point| point.seq).collect();
    assert_eq!(seqs, [150, 200, 250]);
    let names: Vec<&str> = points[0]
        .metrics
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "drift.c",
            "drift.gap",
            "drift.level",
            "drift.prediction",
            "drift.x",
            "drift_score"
        ]
    );
    // The same distribution: x does not drift (ks, the automatic choice for 100 reference
    // values with many distinct ones); shifted by 3, it does.
    assert!(
        value(points[0], "drift.x").unwrap() > 0.05,
        "{}",
        points[0].message
    );
    // Nearly the same shares of each level in every window: chisquare's p-value is high.
    let level = value(points[0], "drift.level").unwrap();
    assert!(level > 0.9 && level < 1.0, "{level}: {}", points[0].message);
    assert!(
        value(points[2], "drift.x").unwrap() < 0.05,
        "{}",
        points[2].message
    );
    assert!(value(points[2], "drift_score").unwrap() > 0.0);
    assert!(points[2].message.contains("x (ks"), "{}", points[2].message);
    // Rules act on the computed values as on pushed ones: `gap` counts up, so it drifts from
    // the first window on and drift_score is above 0.1 at once; x drifts at the shifted one.
    let fired = |rule: &str| -> Vec<u64> {
        outputs
            .iter()
            .filter_map(|output| match output {
                Output::Alert(alert) if &*alert.rule == rule => Some(alert.seq),
                _ => None,
            })
            .collect()
    };
    assert_eq!(fired("drift-high"), [150]);
    assert_eq!(fired("x-drift"), [250]);
}

#[test]
fn the_options_beyond_evidently_say_what_applied() {
    let inputs: Vec<Input> = (0..250)
        .map(|n| prediction(n, if n >= 200 { 3.0 } else { 0.0 }))
        .collect();
    let run = |extra: &str| {
        let mut engine = Engine::new(config(&models(extra)));
        let outputs = feed(&mut engine, &inputs);
        drift_points(&outputs)
            .last()
            .map(|point| (point.metrics.clone(), point.message.clone()))
            .unwrap()
    };
    let (metrics, message) = run("drift_min_samples = 30");
    // gap has 25 values in a window of 50: not enough.
    assert!(
        !metrics.iter().any(|(name, _)| name == "drift.gap"),
        "{message}"
    );
    assert!(message.contains("gap: not_enough_data"), "{message}");
    let (_, message) = run(r#"drift_correction = "bonferroni""#);
    assert!(message.contains("Bonferroni over"), "{message}");
    let (_, message) = run(r#"drift_correction = "benjamini_hochberg""#);
    assert!(message.contains("Benjamini-Hochberg over"), "{message}");
    let (_, message) = run("drift_calibrate = 3");
    assert!(message.contains("calibrated on the reference"), "{message}");
    let (metrics, message) = run(r#"drift_method = "wasserstein""#);
    assert!(message.contains("x (wasserstein"), "{message}");
    assert!(metrics.iter().any(|(name, _)| name == "drift.x"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn drift_state_survives_a_snapshot_at_every_point(shifts in prop::collection::vec(0u8..3, 30..60)) {
        let text = models("").replace("first = 100", "first = 10").replace("drift_window = 50", "drift_window = 7");
        let inputs: Vec<Input> = shifts
            .iter()
            .enumerate()
            .map(|(n, shift)| prediction(n as i64, f64::from(*shift)))
            .collect();
        check_every_cut(&config(&text), &inputs)?;
    }
}

#[test]
fn a_declared_type_overrides_the_references() {
    let inputs: Vec<Input> = (0..250)
        .map(|n| prediction(n, if n >= 200 { 3.0 } else { 0.0 }))
        .collect();
    let mut engine = Engine::new(config(&models(
        "drift_categorical = [\"x\"]\ndrift_numerical = [\"c\"]",
    )));
    let outputs = feed(&mut engine, &inputs);
    let last = *drift_points(&outputs).last().unwrap();
    // x's numbers are categories now: chisquare, not ks (the values of the shifted window are
    // new categories, so its p-value is 0).
    assert_eq!(value(last, "drift.x"), Some(0.0), "{}", last.message);
    assert!(last.message.contains("x (chisquare"), "{}", last.message);
    // c holds only text: declared numerical, it has no number to compare.
    assert!(value(last, "drift.c").is_none());
    assert!(
        last.message
            .contains("c: no number in the reference (declared numerical)"),
        "{}",
        last.message
    );
    let errors = modelwatch_engine::parse_config(&models(
        "drift_categorical = [\"x\"]\ndrift_numerical = [\"x\"]",
    ))
    .err()
    .unwrap()
    .to_string();
    assert!(
        errors.contains("models[0].drift_numerical[0]")
            && errors.contains("declared both categorical and numerical"),
        "{errors}"
    );
}
