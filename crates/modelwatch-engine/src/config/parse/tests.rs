//! Tests of config parsing: the built-in config, and every error located.

use super::*;
use crate::config::{Action, DEFAULT_CONFIG_TOML, Severity, default_config};
use modelwatch_detectors::{DetectorKind, DetectorSpec, Direction};

fn errors(text: &str) -> Vec<String> {
    match parse_config(text) {
        Ok(parsed) => panic!("expected errors, got {:?}", parsed.config),
        Err(errors) => errors.errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn the_built_in_config_reproduces_the_five_sketches() {
    let parsed = parse_config(DEFAULT_CONFIG_TOML).unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let config = parsed.config;
    assert_eq!(config.retrain.cooldown_secs, 3600);
    let rule = |name: &str| {
        config
            .rules
            .iter()
            .find(|rule| &*rule.name == name)
            .unwrap()
    };

    let a = rule("a-macro-score-low");
    assert_eq!(a.metric, "macro_score");
    assert_eq!(a.detector.condition().unwrap().bound, 0.80);
    assert!(a.retrains());

    for metric in ["precision", "recall", "f1"] {
        let b = rule(&format!("b-{metric}-low"));
        assert_eq!(
            (b.metric.as_str(), b.detector.condition().unwrap().bound),
            (metric, 0.80)
        );
    }

    let c = rule("c-accuracy-ema-low");
    match &c.detector {
        DetectorSpec::Ema(params) => assert_eq!(params.alpha, 0.25),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.detector.condition().unwrap().bound, 0.85);
    assert_eq!(
        rule("c-f1-ema-low").detector.condition().unwrap().bound,
        0.80
    );
    let latency = rule("c-latency-ema-high").detector.condition().unwrap();
    assert_eq!(
        (latency.direction, latency.bound),
        (Direction::Above, 150.0)
    );

    let d = rule("d-accuracy-window-low");
    match &d.detector {
        DetectorSpec::WindowMean(params) => {
            assert_eq!((params.window, params.min_samples), (1000, 100))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(d.detector.condition().unwrap().bound, 0.90);
    assert_eq!(
        rule("d-accuracy-page-hinkley").detector.kind(),
        DetectorKind::PageHinkley
    );
    assert_eq!(
        rule("d-accuracy-adwin").detector.kind(),
        DetectorKind::Adwin
    );
    assert!(!d.retrains());

    assert_eq!(
        rule("e-accuracy-low").detector.condition().unwrap().bound,
        0.90
    );
    assert_eq!(
        rule("e-latency-high").detector.condition().unwrap().bound,
        200.0
    );
    assert_eq!(
        rule("e-drift-score-high")
            .detector
            .condition()
            .unwrap()
            .bound,
        0.10
    );
    assert_eq!(default_config().unwrap(), config);
}

#[test]
fn a_full_rule_with_every_field() {
    let parsed = parse_config(
        r#"
[metrics.my_kpi]
direction = "higher_is_better"
min = 0
max = 100

[retrain]
cooldown_secs = 600
overrides = [{ model = "fraud-*", cooldown_secs = 60 }]

[[rules]]
name = "kpi-low"
description = "my kpi"
model = "fraud-*"
version = "2.*"
instance = "canary-?"
metric = "my_kpi"
detector = { kind = "ema", alpha = 0.5, below = 10, resolve = 20 }
for = 3
severity = "info"
actions = [{ kind = "retrain" }]
"#,
    )
    .unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let config = parsed.config;
    let rule = &config.rules[0];
    assert_eq!(rule.for_points, 3);
    assert_eq!(rule.severity, Severity::Info);
    assert!(rule.retrains());
    assert!(
        rule.matcher
            .matches(&ModelIdForTest::canary("fraud-detector", "2.1", "canary-1"))
    );
    assert!(
        !rule
            .matcher
            .matches(&ModelIdForTest::canary("fraud-detector", "1.0", "canary-1"))
    );
    assert!(
        !rule
            .matcher
            .matches(&ModelIdForTest::canary("churn", "2.1", "canary-1"))
    );
    assert_eq!(config.retrain.cooldown_for("fraud-detector"), 60);
    assert_eq!(config.retrain.cooldown_for("churn"), 600);
    assert_eq!(config.catalog.goal("my_kpi"), Goal::HigherIsBetter);
}

struct ModelIdForTest;
impl ModelIdForTest {
    fn canary(name: &str, version: &str, instance: &str) -> crate::event::ModelId {
        crate::event::ModelId::new(name, version, instance)
    }
}

#[test]
fn syntax_errors_are_located() {
    let errors = errors("[[rules]]\nname = \"x\"\nmetric = \n");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("line 3, column "), "{errors:?}");
    assert!(errors[0].contains("invalid TOML"), "{errors:?}");
}

#[test]
fn every_semantic_error_is_reported_with_line_and_column() {
    let text = r#"[retrain]
cooldown_secs = -5
colddown = 3

[[rules]]
name = "bad name!"
metric = "Accuracy"
detector = { kind = "ema", alpha = 1.5, below = 0.8, above = 0.9, wobble = 1 }
for = 0
severity = "loud"
actions = ["page"]

[[rules]]
name = "no-detector"
metric = "accuracy"

[[rules]]
name = "change"
metric = "accuracy"
detector = { kind = "adwin" }
for = 3

[[rules]]
name = "change"
metric = "accuracy"
detector = { kind = "sonar" }
"#;
    let errors = errors(text);
    let joined = errors.join("\n");
    for expected in [
        "line 2, column 17: retrain.cooldown_secs: must be a whole number from 0 to",
        "line 3, column 1: retrain.colddown: unknown key \"colddown\"",
        "line 6, column 8: rules[0].name: rule name \"bad name!\" must be",
        "line 7, column 10: rules[0].metric: metric name \"Accuracy\" must start with a lowercase letter",
        "line 8, column 36: rules[0].detector.alpha: must be in (0, 1], got 1.5",
        "rules[0].detector.wobble:",
        "line 9, column 7: rules[0].for: must be a whole number from 1 to 1000000",
        "line 10, column 12: rules[0].severity: \"loud\" is not one of info, warning, critical",
        "line 11, column 12: rules[0].actions[0]: unknown action \"page\"; this version supports: retrain",
        "line 13, column 1: rules[1]: missing required key detector",
        "line 21, column 7: rules[2].for: `for` applies to state detectors only",
        "line 24, column 8: rules[3].name: rule name \"change\" is used twice",
        "line 26, column 21: rules[3].detector.kind: unknown detector kind \"sonar\"",
    ] {
        assert!(
            joined.contains(expected),
            "missing {expected:?} in\n{joined}"
        );
    }
    // Both below and above on one detector is an error of the detector as a whole.
    assert!(
        joined.contains("line 8, column 12: rules[0].detector"),
        "{joined}"
    );
    let mut sorted = errors.clone();
    sorted.sort_by_key(|line| {
        let numbers: Vec<usize> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .take(2)
            .map(|n| n.parse().unwrap())
            .collect();
        (numbers[0], numbers[1])
    });
    assert_eq!(errors, sorted, "errors come in file order");
}

#[test]
fn duplicate_rule_names_and_bad_globs() {
    let errors = errors(
        r#"[[rules]]
name = "r"
metric = "accuracy"
model = "fraud-[z-a"
detector = { kind = "threshold", below = 0.5 }

[[rules]]
name = "r"
metric = "accuracy"
detector = { kind = "threshold", below = 0.5 }
"#,
    );
    let joined = errors.join("\n");
    assert!(
        joined.contains("line 4, column 9: rules[0].model: bad glob"),
        "{joined}"
    );
    assert!(
        joined.contains("line 8, column 8: rules[1].name: rule name \"r\" is used twice"),
        "{joined}"
    );
}

#[test]
fn custom_metric_declarations_are_checked() {
    let errors = errors(
        r#"[metrics.accuracy]
direction = "higher_is_better"

[metrics.kpi]
direction = "up"
min = 5
max = 1

[metrics.Bad]
"#,
    );
    let joined = errors.join("\n");
    assert!(
        joined.contains("line 1, column 10: metrics.accuracy: accuracy is a built-in metric"),
        "{joined}"
    );
    assert!(
        joined.contains("metrics.kpi.direction: \"up\" is not one of"),
        "{joined}"
    );
    assert!(
        joined.contains("metrics.kpi: min 5 is greater than max 1"),
        "{joined}"
    );
    assert!(
        joined.contains("metrics.Bad: metric name \"Bad\""),
        "{joined}"
    );
}

#[test]
fn warnings_for_rules_that_look_wrong() {
    let parsed = parse_config(
        r#"[[rules]]
name = "typo"
metric = "acuracy"
detector = { kind = "threshold", below = 0.5 }

[[rules]]
name = "backwards"
metric = "accuracy"
detector = { kind = "threshold", above = 0.5 }
"#,
    )
    .unwrap();
    let warnings: Vec<String> = parsed.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with(
            "line 3, column 10: rules[0].metric: metric \"acuracy\" is neither built in"
        )
    );
    assert!(
        warnings[1]
            .contains("alerts when accuracy is above its bound, but for accuracy higher is better")
    );
    let empty = parse_config("").unwrap();
    assert!(empty.warnings[0].message.contains("no [[rules]]"));
}

#[test]
fn values_of_the_wrong_type() {
    let errors = errors(
        r#"rules = 5
retrain = "soon"
"#,
    );
    let joined = errors.join("\n");
    assert!(
        joined.contains("line 1, column 9: rules: must be an array of tables"),
        "{joined}"
    );
    assert!(
        joined.contains("line 2, column 11: retrain: must be a table, got string"),
        "{joined}"
    );
}

#[test]
fn binary_detectors_need_binary_metrics() {
    let parsed = parse_config(
        r#"[metrics.wrong_answer]
binary = true
direction = "lower_is_better"

[[rules]]
name = "ddm-on-error"
metric = "error"
detector = { kind = "ddm" }
actions = ["retrain_on_warning", "retrain"]

[[rules]]
name = "eddm-on-custom"
metric = "wrong_answer"
detector = { kind = "eddm", alpha = 0.9, beta = 0.8 }
"#,
    )
    .unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let info = parsed.config.catalog.get("wrong_answer").unwrap();
    assert!(info.binary && info.contains(1.0) && !info.contains(0.5));
    assert_eq!(
        parsed.config.rules[0].actions,
        [Action::RetrainOnWarning, Action::Retrain]
    );

    let errors = errors(
        r#"[metrics.score]
binary = "yes"

[metrics.rate]
binary = true
max = 1

[[rules]]
name = "ddm-on-accuracy"
metric = "accuracy"
detector = { kind = "ddm" }

[[rules]]
name = "warning-without-zone"
metric = "accuracy"
detector = { kind = "adwin" }
actions = ["retrain_on_warning"]
"#,
    );
    let joined = errors.join("\n");
    for expected in [
        "line 2, column 10: metrics.score.binary: must be true or false, got string",
        "metrics.rate: a binary metric takes exactly 0 or 1; leave out min and max",
        "line 11, column 12: rules[0].detector: detector ddm takes one 0/1 outcome per prediction (1 = wrong), but metric accuracy is not binary",
        "line 17, column 11: rules[1].actions: retrain_on_warning needs a detector with a warning zone (ddm, eddm, hddm_a, hddm_w); adwin has none",
    ] {
        assert!(
            joined.contains(expected),
            "missing {expected:?} in\n{joined}"
        );
    }
    assert_eq!(errors.len(), 4, "{joined}");
}

#[test]
fn errors_inside_a_misspelled_or_misbracketed_section_are_reported_too() {
    let text = r#"[[rulez]]
name = "x"
metric = "accuracy"
detector = { kind = "bogus" }

[retrian]
cooldown_secs = -1

[rules]
name = "one"
metric = "accuracy"
detector = { kind = "threshold", belo = 0.5 }

[[jobs]]
max_concurrent = 0

[wat]
anything = 1
"#;
    let errors = errors(text);
    let expected = [
        "line 1, column 3: rulez: unknown key \"rulez\"; did you mean rules? its contents are checked as rules",
        "line 4, column 21: rulez[0].detector.kind: unknown detector kind \"bogus\"",
        "line 6, column 2: retrian: unknown key \"retrian\"; did you mean retrain?",
        "line 7, column 17: retrian.cooldown_secs: must be a whole number from 0 to",
        "line 9, column 1: rules: must be an array of tables ([[rules]]), got table; its keys are checked as one entry",
        "line 12, column 12: rules.detector: one of `below` or `above` is required",
        "line 12, column 41: rules.detector.belo: unknown parameter",
        "line 14, column 1: jobs: must be a table ([jobs]), got an array of tables ([[jobs]])",
        "line 15, column 18: jobs[0].max_concurrent: must be a whole number from 1 to 1024",
        "line 17, column 2: wat: unknown key \"wat\"; expected one of: rules, metrics,",
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for (error, expected) in errors.iter().zip(expected) {
        assert!(error.starts_with(expected), "{error}\nexpected: {expected}");
    }
}

#[test]
fn a_misspelled_notifiers_section_is_read_as_notifiers() {
    let errors = errors(
        "[[notifier]]\nname = \"n\"\nkind = \"webhook\"\nurl = \"nope\"\n\n[[rules]]\nname = \"r\"\nmetric = \"accuracy\"\ndetector = { kind = \"threshold\", below = 0.5 }\n",
    );
    assert_eq!(
        errors,
        [
            "line 1, column 3: notifier: unknown key \"notifier\"; did you mean notifiers? its contents are checked as notifiers",
            "line 4, column 7: notifier[0].url: \"nope\" must start with http:// or https://",
        ]
    );
}
