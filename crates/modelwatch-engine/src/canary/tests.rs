//! Tests of canary judgement: the verdict rule and its numbers, then the tracker in the engine
//! (windows, when verdicts are emitted, when judging ends).

use std::sync::Arc;

use modelwatch_detectors::mann_whitney;

use super::*;
use crate::Engine;
use crate::config::parse_config;
use crate::event::{Event, Input, ModelId, Timestamp};
use crate::output::{CanaryVerdict, Output};

fn params(direction: Goal) -> CanaryParams {
    CanaryParams {
        confidence: 0.98,
        min_samples: 10,
        tolerance: 0.0,
        direction,
    }
}

/// `n` values around `center`, spread by a fixed pattern.
fn sample(center: f64, n: usize) -> Vec<f64> {
    (0..n).map(|i| center + ((i * 7) % 11) as f64).collect()
}

#[test]
fn too_few_values_on_either_side_is_not_enough_data() {
    let judgement = judge(
        &params(Goal::LowerIsBetter),
        &sample(100.0, 9),
        &sample(100.0, 50),
    );
    assert_eq!(judgement.verdict, Verdict::NotEnoughData);
    assert_eq!(
        (judgement.candidate_count, judgement.baseline_count),
        (9, 50)
    );
    assert!(judgement.candidate_median.is_some() && judgement.u.is_none());
    let judgement = judge(&params(Goal::LowerIsBetter), &sample(100.0, 50), &[]);
    assert_eq!(judgement.verdict, Verdict::NotEnoughData);
    assert_eq!(judgement.baseline_median, None);
    assert_eq!(
        judgement.describe(),
        "not enough data: 50 candidate and 0 baseline points"
    );
    let json = serde_json::to_value(&judgement).unwrap();
    assert!(json.get("verdict").is_none(), "the verdict goes beside it");
    assert!(json.get("baseline_median").is_none() && json.get("u").is_none());
}

#[test]
fn a_significant_shift_in_the_bad_direction_fails_and_in_the_good_one_passes() {
    let baseline = sample(100.0, 40);
    let slower = sample(130.0, 40);
    let judgement = judge(&params(Goal::LowerIsBetter), &slower, &baseline);
    assert_eq!(judgement.verdict, Verdict::Fail);
    let (low, high) = judgement.interval.unwrap();
    assert!(low > 0.0 && high > low, "{low} {high}");
    assert_eq!(judgement.estimate, Some(30.0));
    // The numbers are the test's.
    let test = mann_whitney(&slower, &baseline, 0.98).unwrap();
    assert_eq!(
        (
            judgement.u,
            judgement.z,
            judgement.p_value,
            judgement.estimate,
            judgement.interval
        ),
        (
            Some(test.u),
            Some(test.z),
            Some(test.p_value),
            Some(test.estimate),
            Some(test.interval)
        )
    );
    assert_eq!(
        (judgement.candidate_median, judgement.baseline_median),
        (Some(135.0), Some(105.0))
    );
    assert!(
        judgement
            .describe()
            .starts_with("median 135 against 105, shift 30 (98% interval "),
        "{}",
        judgement.describe()
    );
    assert!(
        judgement
            .describe()
            .ends_with("is worse than allowed, over 40 candidate and 40 baseline points")
    );
    // Higher is better: the same shift is an improvement.
    let judgement = judge(&params(Goal::HigherIsBetter), &slower, &baseline);
    assert_eq!(judgement.verdict, Verdict::Pass);
    assert!(judgement.describe().contains("is in the good direction"));
    // ... and lower is bad.
    let judgement = judge(&params(Goal::HigherIsBetter), &baseline, &slower);
    assert_eq!(judgement.verdict, Verdict::Fail);
    // Without a direction, any significant shift fails.
    let judgement = judge(&params(Goal::Unknown), &slower, &baseline);
    assert_eq!(judgement.verdict, Verdict::Fail);
}

#[test]
fn noise_passes_and_so_does_a_shift_within_the_tolerance() {
    let baseline = sample(100.0, 40);
    let shuffled: Vec<f64> = (0..40).map(|i| 100.0 + ((i * 3) % 11) as f64).collect();
    let judgement = judge(&params(Goal::LowerIsBetter), &shuffled, &baseline);
    assert_eq!(judgement.verdict, Verdict::Pass);
    let (low, high) = judgement.interval.unwrap();
    assert!(low <= 0.0 && high >= 0.0, "{low} {high}");
    assert!(judgement.describe().contains("is not significant"));

    // 3% slower, significantly: fails at tolerance 0, passes at 5% of the median (105).
    let slower = sample(103.0, 400);
    let baseline = sample(100.0, 400);
    assert_eq!(
        judge(&params(Goal::LowerIsBetter), &slower, &baseline).verdict,
        Verdict::Fail
    );
    let tolerant = CanaryParams {
        tolerance: 0.05,
        ..params(Goal::LowerIsBetter)
    };
    let judgement = judge(&tolerant, &slower, &baseline);
    assert_eq!(judgement.verdict, Verdict::Pass);
    assert_eq!(judgement.allowed_shift, Some(0.05 * 105.0));
    assert!(
        judgement
            .describe()
            .contains("is within the tolerance 5.25"),
        "{}",
        judgement.describe()
    );
}

#[test]
fn equal_samples_pass_and_bad_inputs_never_panic() {
    let judgement = judge(&params(Goal::LowerIsBetter), &[5.0; 20], &[5.0; 30]);
    assert_eq!(judgement.verdict, Verdict::Pass);
    assert_eq!(judgement.u, None);
    assert_eq!(
        judgement.describe(),
        "every value of both sides is the same (median 5 against 5, 20 candidate and 30 baseline points)"
    );
    // Values that are not finite are left out.
    let mut candidate = sample(130.0, 40);
    candidate.push(f64::NAN);
    candidate.push(f64::INFINITY);
    let judgement = judge(&params(Goal::LowerIsBetter), &candidate, &sample(100.0, 40));
    assert_eq!(
        (judgement.verdict, judgement.candidate_count),
        (Verdict::Fail, 40)
    );
    // A confidence outside (0, 1) cannot judge.
    for confidence in [0.0, 1.0, f64::NAN, -3.0] {
        let bad = CanaryParams {
            confidence,
            ..params(Goal::LowerIsBetter)
        };
        assert_eq!(
            judge(&bad, &sample(130.0, 40), &sample(100.0, 40)).verdict,
            Verdict::NotEnoughData
        );
    }
    // min_samples 0 counts as 1; a negative tolerance as 0.
    let loose = CanaryParams {
        min_samples: 0,
        tolerance: -1.0,
        ..params(Goal::LowerIsBetter)
    };
    assert_eq!(judge(&loose, &[], &[1.0]).verdict, Verdict::NotEnoughData);
    assert_eq!(
        judge(&loose, &sample(130.0, 40), &sample(100.0, 40)).verdict,
        Verdict::Fail
    );
}

const CANARY: &str = r#"
[[trainers]]
kind = "external"

[[notifiers]]
name = "releases"
kind = "webhook"
url = "https://hooks.example.com"

[[rules]]
name = "lat-high"
metric = "latency_ms"
detector = { kind = "threshold", above = 1000.0 }
actions = ["retrain"]

[[rules]]
name = "canary-latency"
model = "fraud*"
metric = "latency_ms"
severity = "critical"
actions = ["rollback"]
notify = ["releases"]
canary = { candidate = { instance = "canary-*" }, baseline = { instance = "stable-*" }, window = 30, min_samples = 10, every = 5 }
"#;

fn at(minute: i64) -> Timestamp {
    Timestamp::from_secs(1_800_000_000 + minute * 60)
}

fn point(model: &str, version: &str, instance: &str, minute: i64, value: f64) -> Input {
    Input::Event(Event {
        model: ModelId::new(model, version, instance),
        timestamp: Some(at(minute)),
        metrics: vec![("latency_ms".to_string(), value)],
    })
}

/// Baseline and candidate points in turn: `n` each, the candidate's from `candidate(i)`.
fn pairs(
    model: &str,
    version: &str,
    start: i64,
    n: usize,
    candidate: impl Fn(usize) -> f64,
) -> Vec<Input> {
    let mut inputs = Vec::new();
    for i in 0..n {
        let minute = start + i as i64;
        inputs.push(point(
            model,
            "1.0",
            "stable-0",
            minute,
            100.0 + ((i * 7) % 11) as f64,
        ));
        inputs.push(point(model, version, "canary-0", minute, candidate(i)));
    }
    inputs
}

fn verdicts(config: &str, inputs: &[Input]) -> Vec<CanaryVerdict> {
    let mut engine = Engine::new(Arc::new(parse_config(config).unwrap().config));
    let mut out = Vec::new();
    for input in inputs {
        engine.process(input, &mut out);
    }
    out.into_iter()
        .filter_map(|output| match output {
            Output::Canary(verdict) => Some(verdict),
            _ => None,
        })
        .collect()
}

#[test]
fn a_slower_candidate_fails_once_with_rollback_and_is_judged_no_more() {
    let inputs = pairs("fraud", "2.0", 0, 60, |i| 130.0 + ((i * 5) % 11) as f64);
    let verdicts = verdicts(CANARY, &inputs);
    assert_eq!(verdicts.len(), 1, "{verdicts:?}");
    let fail = &verdicts[0];
    // Judged at candidate points 5 and 10; the first with 10 on each side is the 10th.
    assert_eq!(fail.seq, 20);
    assert_eq!(fail.verdict, Verdict::Fail);
    assert_eq!(fail.model, ModelId::new("fraud", "2.0", "canary-0"));
    assert_eq!(fail.baseline, "instance stable-*");
    assert_eq!(fail.metric, "latency_ms");
    assert_eq!(fail.severity, crate::Severity::Critical);
    assert_eq!(fail.actions, ["rollback"]);
    assert_eq!(fail.notify.len(), 1);
    assert_eq!(
        (
            fail.judgement.candidate_count,
            fail.judgement.baseline_count
        ),
        (10, 10)
    );
    assert!(
        fail.message.starts_with(
            "latency_ms of fraud 2.0 fails against the baseline (instance stable-*): median "
        ) && fail.message.ends_with("; rollback"),
        "{}",
        fail.message
    );
    let json = serde_json::to_value(Output::Canary(fail.clone())).unwrap();
    assert_eq!(json["type"], "canary");
    assert_eq!(json["verdict"], "fail");
    assert_eq!(json["judgement"]["candidate_count"], 10);
    assert_eq!(json["notify"], serde_json::json!(["releases"]));
}

#[test]
fn a_pass_is_emitted_once_and_can_turn_into_a_fail_without_promote() {
    let mut inputs = pairs("fraud", "2.0", 0, 40, |i| 100.0 + ((i * 3) % 11) as f64);
    inputs.extend(pairs("fraud", "2.0", 40, 40, |i| {
        140.0 + ((i * 3) % 11) as f64
    }));
    let verdicts = verdicts(CANARY, &inputs);
    let seen: Vec<(u64, Verdict, Vec<&str>)> = verdicts
        .iter()
        .map(|verdict| (verdict.seq, verdict.verdict, verdict.actions.clone()))
        .collect();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!((seen[0].0, seen[0].1), (20, Verdict::Pass));
    assert!(seen[0].2.is_empty(), "the rule has no promote");
    assert_eq!(verdicts[0].severity, crate::Severity::Info);
    assert_eq!(
        (seen[1].1, seen[1].2.as_slice()),
        (Verdict::Fail, &["rollback"][..])
    );
    assert!(
        seen[1].0 > 80,
        "the window must fill with slower points first"
    );
}

#[test]
fn a_pass_with_promote_ends_judging_and_each_candidate_version_has_its_own_window() {
    let config = CANARY.replace(
        r#"actions = ["rollback"]"#,
        r#"actions = ["rollback", "promote"]"#,
    );
    let mut inputs = pairs("fraud", "2.0", 0, 40, |i| 100.0 + ((i * 3) % 11) as f64);
    // 2.0 got worse, but it was promoted: no more verdicts for it.
    inputs.extend(pairs("fraud", "2.0", 40, 40, |i| {
        140.0 + ((i * 3) % 11) as f64
    }));
    // 2.1 starts from an empty window of its own (the baseline's is shared) and fails.
    inputs.extend(pairs("fraud", "2.1", 80, 10, |i| {
        150.0 + ((i * 3) % 11) as f64
    }));
    // Another model, with its own baseline, and a model the rule does not watch.
    inputs.extend(pairs("fraud-2", "9", 90, 10, |i| 150.0 + i as f64));
    inputs.extend(pairs("churn", "9", 100, 20, |i| 150.0 + i as f64));
    let verdicts = verdicts(&config, &inputs);
    let seen: Vec<(String, String, Verdict, Vec<&str>)> = verdicts
        .iter()
        .map(|verdict| {
            (
                verdict.model.name.clone(),
                verdict.model.version.clone(),
                verdict.verdict,
                verdict.actions.clone(),
            )
        })
        .collect();
    let row = |name: &str, version: &str, verdict, action: &'static str| {
        (name.to_string(), version.to_string(), verdict, vec![action])
    };
    assert_eq!(
        seen,
        [
            row("fraud", "2.0", Verdict::Pass, "promote"),
            row("fraud", "2.1", Verdict::Fail, "rollback"),
            row("fraud-2", "9", Verdict::Fail, "rollback"),
        ],
        "churn is not watched"
    );
    assert_eq!(verdicts[2].judgement.baseline_count, 10, "fraud-2's own");
    assert_eq!(verdicts[1].seq, 180, "2.1's tenth point");
    assert_eq!(verdicts[1].judgement.candidate_count, 10);
    assert_eq!(
        verdicts[1].judgement.baseline_count, 30,
        "the shared baseline"
    );
}

#[test]
fn a_series_matching_both_sides_is_candidate_only_and_verdicts_follow_the_alerts_unmuted() {
    let config = CANARY.replace(
        r#"baseline = { instance = "stable-*" }"#,
        r#"baseline = { version = "1.*" }"#,
    );
    // Version 1.0 on canary-0 matches both selectors: it is a candidate.
    let mut inputs = pairs("fraud", "1.0", 0, 20, |i| 100.0 + ((i * 3) % 11) as f64);
    let verdicts_seen = verdicts(&config, &inputs);
    assert_eq!(verdicts_seen.len(), 1);
    assert_eq!(verdicts_seen[0].model.version, "1.0");
    assert_eq!(verdicts_seen[0].judgement.baseline_count, 10);
    assert_eq!(verdicts_seen[0].judgement.candidate_count, 10);

    // A canary verdict comes after the input's alerts, and a running job does not mute it.
    inputs = pairs("fraud", "2.0", 0, 9, |i| 130.0 + i as f64);
    inputs.push(point("fraud", "2.0", "stable-0", 9, 5000.0)); // fires lat-high: a job starts
    inputs.push(point("fraud", "2.0", "canary-0", 10, 5000.0)); // the 10th candidate point
    let mut engine = Engine::new(Arc::new(parse_config(CANARY).unwrap().config));
    let mut out = Vec::new();
    for input in &inputs {
        engine.process(input, &mut out);
    }
    let kinds: Vec<&str> = out
        .iter()
        .map(|output| match output {
            Output::Alert(alert) if alert.muted_by.is_some() => "muted alert",
            Output::Alert(_) => "alert",
            Output::Retrain(_) => "retrain",
            Output::JobFinished(_) => "job",
            Output::Canary(_) => "canary",
            Output::Quality(_) => "quality",
        })
        .collect();
    assert_eq!(kinds, ["alert", "retrain", "muted alert", "canary"]);
    let Some(Output::Canary(verdict)) = out.last() else {
        panic!("{out:?}")
    };
    assert_eq!(verdict.actions, ["rollback"]);
    assert!(!verdict.message.contains("muted"));
}
