//! Data-drift rules through the engine: alerts per column and for the dataset decision,
//! `for` windows, what a window without enough data does, the explanation of every transition,
//! the retrain they ask for, their state across snapshots, and the config's errors.

use modelwatch_engine::{AlertEvent, AlertState, Engine, Input, Output, parse_config};
use proptest::prelude::*;

use crate::properties::config;
use crate::snapshot::{check_every_cut, feed};
use crate::traffic_drift::{drift_points, models, prediction, value};

fn with_rules(extra: &str, rules: &str) -> String {
    format!("{}\n{rules}", models(extra))
}

fn alerts<'a>(outputs: &'a [Output], rule: &str) -> Vec<&'a AlertEvent> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Alert(alert) if &*alert.rule == rule => Some(alert),
            _ => None,
        })
        .collect()
}

/// 100 reference predictions, then windows of 50: unshifted up to 200, shifted by 3 up to
/// 300, unshifted again up to 400.
fn shifted_stretch() -> Vec<Input> {
    (0..400)
        .map(|n| prediction(n, if (200..300).contains(&n) { 3.0 } else { 0.0 }))
        .collect()
}

#[test]
fn a_column_alert_fires_after_for_windows_and_resolves_with_its_explanation() {
    let rules = r#"
[[rules]]
name = "x-drifts"
model = "m"
data_drift = { columns = ["x"] }
for = 2
severity = "critical"
actions = ["retrain"]
"#;
    let mut engine = Engine::new(config(&with_rules("", rules)));
    let outputs = feed(&mut engine, &shifted_stretch());
    let points = drift_points(&outputs);
    let x_at = |seq: u64| {
        points
            .iter()
            .find(|point| point.seq == seq)
            .and_then(|point| value(point, "drift.x"))
            .unwrap()
    };
    let transitions: Vec<(u64, AlertState)> = alerts(&outputs, "x-drifts")
        .iter()
        .map(|alert| (alert.seq, alert.state))
        .collect();
    // Windows end at 150, 200, ..., 400; x drifts in the two shifted ones (250, 300).
    assert_eq!(
        transitions,
        [
            (250, AlertState::Pending),
            (300, AlertState::Firing),
            (350, AlertState::Resolved)
        ]
    );
    let all = alerts(&outputs, "x-drifts");
    let firing = all[1];
    assert_eq!(firing.metric, "drift.x");
    assert_eq!(firing.actions, ["retrain"]);
    assert_eq!(all[0].alert_id, firing.alert_id);
    let explanation = &firing.explanation;
    assert_eq!(explanation.detector, "data_drift");
    assert_eq!(explanation.statistic, "ks");
    assert_eq!(explanation.value, x_at(300));
    assert_eq!(explanation.bound, Some(0.05));
    assert_eq!(explanation.comparison, Some("at_or_below"));
    assert_eq!(
        (explanation.held, explanation.for_points),
        (Some(2), Some(2))
    );
    assert_eq!(explanation.points, 4, "windows judged: 150, 200, 250, 300");
    let drift = explanation.drift.as_deref().unwrap();
    assert_eq!(drift.column.as_deref(), Some("x"));
    assert_eq!(drift.column_type, Some("numerical"));
    assert_eq!(drift.method, Some("ks"));
    assert_eq!(drift.automatic, Some(true));
    assert_eq!((drift.reference_rows, drift.window_rows), (100, 50));
    assert_eq!(
        (drift.reference_values, drift.window_values),
        (Some(100), Some(50))
    );
    assert!(drift.options.is_empty(), "{:?}", drift.options);
    assert!(
        firing.message.contains("drift.x ks")
            && firing
                .message
                .contains("is at or below 0.05 for 2 windows: firing")
            && firing
                .message
                .contains("reference 100 rows with 100 values, window 50 rows with 50 values"),
        "{}",
        firing.message
    );
    let resolved = all[2];
    assert_eq!(resolved.explanation.comparison, Some("above"));
    assert_eq!(resolved.explanation.value, x_at(350));
    // The firing alert asked for a retrain: recommended, as the config has no trainer.
    assert!(outputs.iter().any(|output| matches!(
        output,
        Output::Retrain(decision) if decision.seq == 300
    )));
    // As JSON, the explanation carries the drift part.
    let json = serde_json::to_value(firing).unwrap();
    assert_eq!(json["explanation"]["drift"]["column"], "x");
    assert_eq!(json["explanation"]["detector"], "data_drift");
}

#[test]
fn every_column_and_the_dataset_follow_the_windows_decisions() {
    let rules = r#"
[[rules]]
name = "columns"
model = "m"
data_drift = {}

[[rules]]
name = "dataset"
model = "m"
data_drift = { on = "dataset" }
"#;
    let mut engine = Engine::new(config(&with_rules("drift_share = 0.4", rules)));
    let outputs = feed(&mut engine, &shifted_stretch());
    let points = drift_points(&outputs);
    // The dataset alert follows drift_score >= drift_share window by window (for = 1).
    let mut expected = Vec::new();
    let mut open = false;
    for point in &points {
        let drifted = value(point, "drift_score").unwrap() >= 0.4;
        if drifted && !open {
            expected.push((point.seq, AlertState::Firing));
        } else if !drifted && open {
            expected.push((point.seq, AlertState::Resolved));
        }
        open = drifted;
    }
    let dataset: Vec<(u64, AlertState)> = alerts(&outputs, "dataset")
        .iter()
        .map(|alert| (alert.seq, alert.state))
        .collect();
    assert!(!dataset.is_empty(), "the shift drifts the dataset");
    assert_eq!(dataset, expected);
    let first = alerts(&outputs, "dataset")[0];
    assert_eq!(first.metric, "drift_score");
    assert_eq!(first.explanation.statistic, "drift_share");
    let drift = first.explanation.drift.as_deref().unwrap();
    assert_eq!(drift.column, None);
    assert!(drift.drifted_columns.unwrap() * 5 >= 2 * drift.columns_total.unwrap());
    // One alert per column that drifts: gap counts up, so it drifts from the first window.
    let columns: Vec<String> = alerts(&outputs, "columns")
        .iter()
        .filter(|alert| alert.state == AlertState::Firing)
        .map(|alert| alert.metric.clone())
        .collect();
    assert!(columns.contains(&"drift.gap".to_string()), "{columns:?}");
    assert!(columns.contains(&"drift.x".to_string()), "{columns:?}");
}

#[test]
fn a_column_without_enough_data_never_alerts() {
    let rules = r#"
[[rules]]
name = "gap-drifts"
model = "m"
data_drift = { columns = ["gap"] }
"#;
    let run = |extra: &str| {
        let mut engine = Engine::new(config(&with_rules(extra, rules)));
        let outputs = feed(&mut engine, &shifted_stretch());
        alerts(&outputs, "gap-drifts").len()
    };
    // gap counts up (it drifts in every window) but has 25 values in a window of 50.
    assert_eq!(run(""), 1, "it fires once and stays firing");
    assert_eq!(run("drift_min_samples = 30"), 0);
}

#[test]
fn the_options_applied_are_in_the_explanation() {
    let rules = r#"
[[rules]]
name = "x-drifts"
model = "m"
data_drift = { columns = ["x"] }
"#;
    let mut engine = Engine::new(config(&with_rules(
        "drift_correction = \"bonferroni\"\ndrift_min_samples = 10",
        rules,
    )));
    let outputs = feed(&mut engine, &shifted_stretch());
    let firing = alerts(&outputs, "x-drifts")
        .into_iter()
        .find(|alert| alert.state == AlertState::Firing)
        .unwrap();
    let options = &firing.explanation.drift.as_deref().unwrap().options;
    assert!(
        options
            .iter()
            .any(|option| option.starts_with("Bonferroni")),
        "{options:?}"
    );
    assert!(
        options
            .iter()
            .any(|option| option.contains("drift_min_samples")),
        "{options:?}"
    );
    // Bonferroni divides the threshold by the p-value columns scored.
    assert!(firing.explanation.bound.unwrap() < 0.05);
    assert!(firing.message.contains("Bonferroni"), "{}", firing.message);
}

#[test]
fn config_errors_name_the_key() {
    let bad = [
        (
            r#"data_drift = {}
metric = "accuracy""#,
            "rules[0].metric",
        ),
        (
            r#"data_drift = {}
detector = { kind = "threshold", above = 1 }"#,
            "rules[0].detector",
        ),
        (r#"data_drift = { on = "rows" }"#, "rules[0].data_drift.on"),
        (
            r#"data_drift = { on = "dataset", columns = ["x"] }"#,
            "rules[0].data_drift.columns",
        ),
        (
            r#"data_drift = { columns = [] }"#,
            "rules[0].data_drift.columns",
        ),
        (
            r#"data_drift = { columns = ["x", "x"] }"#,
            "rules[0].data_drift.columns[1]",
        ),
        (
            r#"data_drift = {}
actions = ["retrain_on_warning"]"#,
            "rules[0].actions",
        ),
        (
            r#"data_drift = { column = ["x"] }"#,
            "rules[0].data_drift.column",
        ),
        (r#"data_drift = "x""#, "rules[0].data_drift"),
    ];
    for (body, path) in bad {
        let text = format!("[[rules]]\nname = \"r\"\n{body}\n");
        let errors = parse_config(&text)
            .err()
            .unwrap_or_else(|| panic!("{text} parsed"));
        let text_errors = errors.to_string();
        assert!(
            text_errors.contains(path),
            "{body}: expected an error at {path}, got {text_errors}"
        );
    }
    let good = parse_config("[[rules]]\nname = \"r\"\ndata_drift = {}\nfor = 3\n").unwrap();
    assert_eq!(good.config.drift_rules.len(), 1);
    assert_eq!(good.config.drift_rules[0].for_windows, 3);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn drift_alerts_survive_a_snapshot_at_every_point(shifts in prop::collection::vec(0u8..3, 30..60)) {
        let rules = r#"
[[rules]]
name = "columns"
model = "m"
data_drift = {}
for = 2

[[rules]]
name = "dataset"
model = "m"
data_drift = { on = "dataset" }
"#;
        let text = with_rules("", rules)
            .replace("first = 100", "first = 10")
            .replace("drift_window = 50", "drift_window = 7");
        let inputs: Vec<Input> = shifts
            .iter()
            .enumerate()
            .map(|(n, shift)| prediction(n as i64, f64::from(*shift)))
            .collect();
        check_every_cut(&config(&text), &inputs)?;
    }
}
