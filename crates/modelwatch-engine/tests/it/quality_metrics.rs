//! Replays scikit-learn's reference cases (`tests/golden/quality/`, written by
//! `tools/quality_reference.py`) through `quality::metrics`: every expected metric must agree
//! to 1e-13 relative, and every metric scikit-learn leaves undefined must be absent. Any other
//! window, however malformed, gives sorted finite metrics and no panic.

// The tests print the differences they see (`--nocapture`), for tools/README.md.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use modelwatch_engine::quality::metrics::{self, Metric};
use proptest::prelude::*;
use serde_json::Value;

/// The agreement required, relative to the expected value. The values agree bit for bit but
/// for `log_loss`, whose logarithm differs from NumPy's by one unit in the last place at
/// times (2.2e-16 relative); the margin leaves room for other platforms' `ln`.
const TOLERANCE: f64 = 1e-13;

fn golden(task: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/quality")
        .join(format!("{task}.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    let document: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(document["sklearn_version"], "1.9.1");
    let cases = document["cases"].as_array().unwrap().clone();
    assert!(cases.len() >= 10, "{task}: too few cases");
    cases
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn bools(value: &Value) -> Vec<bool> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_bool().unwrap())
        .collect()
}

fn classes(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| u32::try_from(v.as_u64().unwrap()).unwrap())
        .collect()
}

/// Checks one case's computed metrics against its expected and absent ones; returns the
/// largest relative difference seen (`--nocapture` prints each value that is not identical).
fn check(task: &str, case: &Value, computed: &[Metric]) -> f64 {
    let name = case["name"].as_str().unwrap();
    let computed: BTreeMap<&str, f64> = computed.iter().copied().collect();
    let expected = case["expected"].as_object().unwrap();
    let absent = case["absent"].as_object().unwrap();
    let mut names: Vec<&str> = expected.keys().map(String::as_str).collect();
    names.extend(absent.keys().map(String::as_str));
    names.sort_unstable();
    let mut computed_names: Vec<&str> = computed.keys().copied().collect();
    computed_names.extend(absent.keys().map(String::as_str));
    computed_names.sort_unstable();
    assert_eq!(
        computed_names, names,
        "{task}/{name}: computed metrics plus absent ones differ from scikit-learn's"
    );
    let mut worst: f64 = 0.0;
    for (metric, value) in expected {
        let want = value.as_f64().unwrap();
        let got = computed[metric.as_str()];
        let difference = (got - want).abs() / want.abs().max(f64::MIN_POSITIVE);
        assert!(
            difference <= TOLERANCE,
            "{task}/{name}: {metric} = {got:e}, scikit-learn {want:e} (relative {difference:e})"
        );
        if got != want {
            println!("{task}/{name}: {metric} = {got:e}, scikit-learn {want:e} ({difference:e})");
        }
        worst = worst.max(difference);
    }
    for (metric, reason) in absent {
        assert!(
            !computed.contains_key(metric.as_str()),
            "{task}/{name}: {metric} must be absent ({reason})"
        );
    }
    worst
}

#[test]
fn binary_metrics_equal_scikit_learns() {
    let mut worst: f64 = 0.0;
    for case in golden("binary") {
        let score = (!case["score"].is_null()).then(|| floats(&case["score"]));
        let computed = metrics::binary(
            &bools(&case["y_true"]),
            &bools(&case["y_pred"]),
            score.as_deref(),
        );
        worst = worst.max(check("binary", &case, &computed));
    }
    println!("binary: largest relative difference {worst:e}");
}

#[test]
fn multiclass_metrics_equal_scikit_learns() {
    let mut worst: f64 = 0.0;
    for case in golden("multiclass") {
        let proba = (!case["proba"].is_null()).then(|| floats(&case["proba"]));
        let n_classes = usize::try_from(case["n_classes"].as_u64().unwrap()).unwrap();
        let computed = metrics::multiclass(
            &classes(&case["y_true"]),
            &classes(&case["y_pred"]),
            n_classes,
            proba.as_deref(),
        );
        worst = worst.max(check("multiclass", &case, &computed));
    }
    println!("multiclass: largest relative difference {worst:e}");
}

#[test]
fn regression_metrics_equal_scikit_learns() {
    let mut worst: f64 = 0.0;
    for case in golden("regression") {
        let computed = metrics::regression(&floats(&case["y_true"]), &floats(&case["y_pred"]));
        worst = worst.max(check("regression", &case, &computed));
    }
    println!("regression: largest relative difference {worst:e}");
}

/// Sorted by name, each name once, every value finite.
fn well_formed(computed: &[Metric]) -> bool {
    computed.windows(2).all(|pair| pair[0].0 < pair[1].0)
        && computed.iter().all(|(_, value)| value.is_finite())
}

fn any_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => 0.0..=1.0,
        1 => Just(0.0),
        1 => Just(1.0),
        1 => any::<f64>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Any window, of any length (the prediction slice sometimes longer), with any numbers
    /// (NaN, infinities, scores outside [0, 1]) and class indices beyond `n_classes`: no
    /// panic, and the result is sorted, finite, and empty exactly when the shapes are bad.
    #[test]
    fn any_window_gives_well_formed_metrics_without_panicking(
        rows in 0usize..40,
        extra in prop_oneof![8 => Just(0usize), 1 => 1usize..3],
        n_classes in 0usize..5,
        labels in prop::collection::vec(0u32..6, 1..90),
        values in prop::collection::vec(any_value(), 1..300),
        with_scores in any::<bool>(),
    ) {
        let cycle = |count: usize| -> Vec<f64> {
            values.iter().copied().cycle().take(count).collect()
        };
        let cycle_back = |count: usize| -> Vec<f64> {
            values.iter().copied().rev().cycle().take(count).collect()
        };
        let classes: Vec<u32> = labels.iter().copied().cycle().take(rows).collect();
        let predicted: Vec<u32> = labels.iter().copied().rev().cycle().take(rows + extra).collect();
        let y_true: Vec<bool> = classes.iter().map(|class| class % 2 == 1).collect();
        let y_pred: Vec<bool> = predicted.iter().map(|class| class % 2 == 1).collect();
        let bad_shape = rows == 0 || extra != 0;

        let score = cycle(rows);
        let computed = metrics::binary(&y_true, &y_pred, with_scores.then_some(&score[..]));
        prop_assert!(well_formed(&computed));
        prop_assert_eq!(computed.is_empty(), bad_shape);

        let proba = cycle(rows * n_classes);
        let computed =
            metrics::multiclass(&classes, &predicted, n_classes, with_scores.then_some(&proba[..]));
        prop_assert!(well_formed(&computed));
        let in_range = classes.iter().chain(&predicted).all(|&class| (class as usize) < n_classes);
        prop_assert_eq!(computed.is_empty(), bad_shape || !in_range);

        let computed = metrics::regression(&cycle(rows), &cycle_back(rows + extra));
        prop_assert!(well_formed(&computed));
    }
}
