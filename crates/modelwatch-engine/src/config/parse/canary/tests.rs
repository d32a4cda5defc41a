//! Tests of parsing canary rules: the full form, the defaults and every error located.

use crate::config::canary::{
    CanaryAction, DEFAULT_CANARY_CONFIDENCE, DEFAULT_CANARY_EVERY, DEFAULT_CANARY_MIN_SAMPLES,
    DEFAULT_CANARY_TOLERANCE, DEFAULT_CANARY_WINDOW,
};
use crate::config::{Severity, parse_config};

fn errors(text: &str) -> String {
    match parse_config(text) {
        Ok(parsed) => panic!("expected errors, got {:?}", parsed.config),
        Err(errors) => errors
            .errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn assert_contains(joined: &str, expected: &[&str]) {
    for expected in expected {
        assert!(
            joined.contains(expected),
            "missing {expected:?} in\n{joined}"
        );
    }
}

#[test]
fn a_canary_rule_with_every_field_and_one_with_defaults() {
    let parsed = parse_config(
        r#"
[metrics.conversion]
direction = "higher_is_better"

[[notifiers]]
name = "oncall"
kind = "webhook"
url = "https://hooks.example.com"

[[rules]]
name = "low"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }

[[rules]]
name = "canary-latency"
description = "canary slower than the fleet"
model = "fraud-*"
metric = "latency_ms"
severity = "critical"
actions = ["rollback", "promote"]
notify = ["oncall"]
canary = { candidate = { instance = "canary-*", version = "2.*" }, baseline = { instance = "stable-*" }, window = 100, min_samples = 20, confidence = 0.95, tolerance = 0.1, every = 5 }

[[rules]]
name = "canary-conversion"
metric = "conversion"

[rules.canary]
candidate = { version = "2.*" }
baseline = { version = "1.*" }
"#,
    )
    .unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let config = parsed.config;
    assert_eq!(config.rules.len(), 1, "canary rules are not detector rules");
    assert_eq!(config.canaries.len(), 2);
    let latency = &config.canaries[0];
    assert_eq!(&*latency.name, "canary-latency");
    assert_eq!(
        latency.description.as_deref(),
        Some("canary slower than the fleet")
    );
    assert!(latency.model.matches("fraud-detector") && !latency.model.matches("churn"));
    assert_eq!(latency.metric, "latency_ms");
    assert!(latency.candidate.matches("2.1", "canary-0"));
    assert!(!latency.candidate.matches("1.9", "canary-0"));
    assert!(latency.baseline.matches("1.9", "stable-3"));
    assert_eq!(
        latency.candidate.to_string(),
        "version 2.*, instance canary-*"
    );
    assert_eq!(latency.baseline.to_string(), "instance stable-*");
    assert_eq!(
        (
            latency.window,
            latency.min_samples,
            latency.confidence,
            latency.tolerance,
            latency.every
        ),
        (100, 20, 0.95, 0.1, 5)
    );
    assert_eq!(latency.severity, Severity::Critical);
    assert_eq!(
        latency.actions,
        [CanaryAction::Rollback, CanaryAction::Promote]
    );
    assert_eq!(latency.notify.len(), 1);
    let conversion = &config.canaries[1];
    assert_eq!(
        (
            conversion.window,
            conversion.min_samples,
            conversion.confidence,
            conversion.tolerance,
            conversion.every
        ),
        (
            DEFAULT_CANARY_WINDOW,
            DEFAULT_CANARY_MIN_SAMPLES,
            DEFAULT_CANARY_CONFIDENCE,
            DEFAULT_CANARY_TOLERANCE,
            DEFAULT_CANARY_EVERY
        )
    );
    assert_eq!(conversion.severity, Severity::Warning);
    assert!(conversion.actions.is_empty() && conversion.notify.is_empty());
    assert_eq!(conversion.baseline.to_string(), "version 1.*");
}

#[test]
fn canary_rule_errors_are_located() {
    let text = r#"[metrics.kpi]
min = 0

[[rules]]
name = "c1"
metric = "kpi"
version = "2.*"
instance = "canary"
detector = { kind = "threshold", below = 1 }
for = 3
actions = ["retrain", "rollback", "rollback"]
colour = "red"
canary = { candidate = { instance = "c" }, baseline = { instance = "c" } }

[[rules]]
name = "c2"
metric = "accuracy"
canary = { candidate = {}, baseline = { zone = "a" }, window = 0, confidence = 1.0, tolerance = -0.5, every = 0, min_samples = 0 }

[[rules]]
name = "c3"
metric = "accuracy"
canary = { candidate = { version = "2" }, baseline = { version = "1" }, window = 10, min_samples = 20, speed = 1 }

[[rules]]
name = "c1"
metric = "accuracy"
canary = { candidate = { version = "[z-a" } }

[[rules]]
name = "c5"
metric = "accuracy"
canary = "yes"

[[rules]]
name = "c6"
metric = "accuracy"
canary = { baseline = { version = "1" }, window = 5, candidate = { version = "2" } }
"#;
    let joined = errors(text);
    assert_contains(
        &joined,
        &[
            "line 6, column 10: rules[0].metric: a canary rule needs a metric with a direction, to know which shift is bad; declare [metrics.kpi] direction",
            "line 7, column 1: rules[0].version: a canary rule selects versions and instances in canary.candidate and canary.baseline, not with version",
            "line 8, column 1: rules[0].instance: a canary rule selects versions and instances",
            "line 9, column 1: rules[0].detector: a canary rule has no detector",
            "line 10, column 1: rules[0].for: `for` does not apply to canary rules",
            "line 11, column 12: rules[0].actions[0]: retrain is not an action of canary rules; they can rollback, promote",
            "line 11, column 35: rules[0].actions[2]: action rollback is listed twice",
            "line 12, column 1: rules[0].colour: unknown key \"colour\"; a canary rule has: name, description",
            "line 13, column 55: rules[0].canary.baseline: the baseline selects the same series as the candidate; they must differ",
            "line 18, column 24: rules[1].canary.candidate: must select by instance, version or both",
            "line 18, column 39: rules[1].canary.baseline: must select by instance, version or both",
            "line 18, column 41: rules[1].canary.baseline.zone: unknown key \"zone\"",
            "line 18, column 64: rules[1].canary.window: must be a whole number from 1 to 10000",
            "line 18, column 80: rules[1].canary.confidence: must be strictly between 0 and 1 (such as 0.98), got 1",
            "line 18, column 97: rules[1].canary.tolerance: must be 0 or more",
            "line 18, column 111: rules[1].canary.every: must be a whole number from 1 to 1000000",
            "line 18, column 128: rules[1].canary.min_samples: must be a whole number from 1 to 10000",
            "line 23, column 100: rules[2].canary.min_samples: min_samples (20) is more than the window (10) holds",
            "line 23, column 104: rules[2].canary.speed: unknown key \"speed\"",
            "line 26, column 8: rules[3].name: rule name \"c1\" is used twice",
            "line 28, column 36: rules[3].canary.candidate.version: bad glob",
            "line 28, column 10: rules[3].canary: missing required key baseline",
            "line 33, column 10: rules[4].canary: must be a table, got string",
            "line 38, column 51: rules[5].canary.window: min_samples (30) is more than the window (5) holds",
        ],
    );
}
