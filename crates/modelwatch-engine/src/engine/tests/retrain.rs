//! Scenario tests of retrain decisions: single flight, cooldown, deferred grants, manual
//! requests and change points.

use super::*;

pub(super) const RETRAIN: &str = r#"
[[trainers]]
kind = "external"

[retrain]
cooldown_secs = 3600

[[rules]]
name = "acc"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }
actions = ["retrain"]

[[rules]]
name = "lat"
metric = "latency_ms"
detector = { kind = "threshold", above = 100.0 }
actions = ["retrain"]
"#;

#[test]
fn retrain_single_flight_then_cooldown_then_deferred_grant() {
    let mut engine = engine(RETRAIN);
    let out = run(
        &mut engine,
        &[
            point("m", "default", 0, "accuracy", 0.5), // fires, granted
            point("m", "default", 1, "latency_ms", 500.0), // fires, muted: in flight
            job("m", 10, None),                        // ends the job
            point("m", "default", 11, "accuracy", 0.95), // acc resolves
            point("m", "default", 12, "accuracy", 0.5), // fires again, cooldown until minute 60
            point("m", "default", 59, "accuracy", 0.5), // still firing, no transition
            point("m", "default", 60, "accuracy", 0.5), // cooldown over: deferred grant first
        ],
    );
    assert_eq!(
        timeline(&out),
        [
            "1:firing:acc",
            "1:retrain-granted:alert_firing",
            "2:firing:lat",
            "3:job:true",
            "4:resolved:acc",
            "5:firing:acc",
            "5:retrain-suppressed:cooldown",
            "7:retrain-granted:cooldown_ended",
        ]
    );
    let decisions: Vec<&RetrainDecision> = out
        .iter()
        .filter_map(|o| {
            if let Output::Retrain(d) = o {
                Some(d)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        decisions[0].job_id.as_deref(),
        Some(decisions[0].id.as_str())
    );
    let Output::Alert(muted) = &out[2] else {
        panic!("{:?}", out[2])
    };
    assert_eq!(
        muted.muted_by, decisions[0].job_id,
        "names the outstanding job"
    );
    assert!(muted.actions.is_empty());
    assert_eq!(
        muted.message,
        format!(
            "latency_ms 500 is above 100: firing (muted: job {} of m is running)",
            &decisions[0].id[..8]
        )
    );
    assert_eq!(decisions[1].retry_at, Some(at(60)));
    assert_eq!(decisions[1].reason, Reason::Cooldown);
    assert_eq!(decisions[2].decision, Decision::Granted);
    assert_eq!(engine.outstanding_job("m"), decisions[2].job_id.as_deref());
    let Output::JobFinished(notice) = &out[3] else {
        panic!()
    };
    assert_eq!(
        notice.job_id, decisions[0].job_id,
        "a notice without id ends the outstanding job"
    );
}

#[test]
fn a_manual_retrain_ignores_the_cooldown_starts_a_new_one_and_respects_single_flight() {
    let mut engine = engine(RETRAIN);
    let out = run(
        &mut engine,
        &[
            point("m", "default", 0, "accuracy", 0.5), // fires, granted
            manual("m", 1, Some("new labels")),        // suppressed: in flight
            job("m", 2, None),                         // ends the job
            manual("m", 3, None),                      // granted despite the cooldown
            job("m", 4, None),
            point("m", "default", 5, "accuracy", 0.95), // resolves
            point("m", "default", 6, "accuracy", 0.5),  // fires: cooldown from minute 3
            point("m", "default", 63, "accuracy", 0.5), // cooldown over: deferred grant
        ],
    );
    assert_eq!(
        timeline(&out),
        [
            "1:firing:acc",
            "1:retrain-granted:alert_firing",
            "2:retrain-suppressed:in_flight",
            "3:job:true",
            "4:retrain-granted:manual",
            "5:job:true",
            "6:resolved:acc",
            "7:firing:acc",
            "7:retrain-suppressed:cooldown",
            "8:retrain-granted:cooldown_ended",
        ]
    );
    let decisions: Vec<&RetrainDecision> = out
        .iter()
        .filter_map(|o| match o {
            Output::Retrain(d) => Some(d),
            _ => None,
        })
        .collect();
    let suppressed = decisions[1];
    assert_eq!(suppressed.job_id, decisions[0].job_id);
    assert_eq!((&suppressed.alert_id, &suppressed.rule), (&None, &None));
    assert_eq!(
        suppressed.message,
        format!(
            "retrain of m suppressed: job {} is outstanding (asked for by hand: new labels)",
            &decisions[0].id[..8]
        )
    );
    let granted = decisions[2];
    assert_eq!(granted.job_id.as_deref(), Some(granted.id.as_str()));
    assert_eq!((&granted.alert_id, &granted.rule), (&None, &None));
    assert_eq!(granted.message, "retrain of m granted: asked for by hand");
    assert_eq!(
        decisions[3].retry_at,
        Some(at(63)),
        "the manual grant started the cooldown"
    );
    let json = serde_json::to_string(granted).unwrap();
    assert!(json.contains(r#""reason":"manual""#), "{json}");
    assert!(
        !json.contains("alert_id") && !json.contains("rule"),
        "{json}"
    );
}

#[test]
fn a_manual_grant_answers_a_request_the_cooldown_deferred() {
    let mut engine = engine(RETRAIN);
    let out = run(
        &mut engine,
        &[
            point("m", "default", 0, "accuracy", 0.5),
            job("m", 1, None),
            point("m", "default", 2, "accuracy", 0.95),
            point("m", "default", 3, "accuracy", 0.5), // deferred by the cooldown
            manual("m", 4, None),                      // granted; answers the deferred one
            job("m", 5, None),
            point("m", "default", 61, "accuracy", 0.5), // no grant at the old cooldown's end
        ],
    );
    assert_eq!(
        timeline(&out),
        [
            "1:firing:acc",
            "1:retrain-granted:alert_firing",
            "2:job:true",
            "3:resolved:acc",
            "4:firing:acc",
            "4:retrain-suppressed:cooldown",
            "5:retrain-granted:manual",
            "5:retrain-withdrawn:in_flight",
            "6:job:true",
        ]
    );
}

#[test]
fn a_deferred_request_is_withdrawn_when_its_alert_resolves() {
    let mut engine = engine(RETRAIN);
    let out = run(
        &mut engine,
        &[
            point("m", "default", 0, "accuracy", 0.5),
            job("m", 1, None),
            point("m", "default", 2, "accuracy", 0.95),
            point("m", "default", 3, "accuracy", 0.5),
            point("m", "default", 4, "accuracy", 0.95),
            point("m", "default", 90, "accuracy", 0.95),
        ],
    );
    assert_eq!(
        timeline(&out),
        [
            "1:firing:acc",
            "1:retrain-granted:alert_firing",
            "2:job:true",
            "3:resolved:acc",
            "4:firing:acc",
            "4:retrain-suppressed:cooldown",
            "5:resolved:acc",
            "5:retrain-withdrawn:alert_resolved",
        ]
    );
}

#[test]
fn cooldown_and_single_flight_are_per_model_and_overridable() {
    let config = RETRAIN.replace(
        "cooldown_secs = 3600",
        "cooldown_secs = 3600\noverrides = [{ model = \"fast-*\", cooldown_secs = 60 }]",
    );
    let mut engine = engine(&config);
    let out = run(
        &mut engine,
        &[
            point("a", "default", 0, "accuracy", 0.5),
            point("b", "default", 0, "accuracy", 0.5),
            point("fast-model", "default", 0, "accuracy", 0.5),
            job("fast-model", 1, None),
            point("fast-model", "default", 1, "accuracy", 0.95),
            point("fast-model", "default", 2, "accuracy", 0.5),
        ],
    );
    assert_eq!(
        timeline(&out),
        [
            "1:firing:acc",
            "1:retrain-granted:alert_firing",
            "2:firing:acc",
            "2:retrain-granted:alert_firing",
            "3:firing:acc",
            "3:retrain-granted:alert_firing",
            "4:job:true",
            "5:resolved:acc",
            "6:firing:acc",
            "6:retrain-granted:alert_firing",
        ]
    );
}

#[test]
fn a_job_notice_for_another_job_keeps_single_flight() {
    let mut engine = engine(RETRAIN);
    let out = run(
        &mut engine,
        &[
            point("m", "default", 0, "accuracy", 0.5),
            job("m", 1, Some("not-the-job")),
            job("x", 1, None),
        ],
    );
    assert_eq!(
        timeline(&out),
        [
            "1:firing:acc",
            "1:retrain-granted:alert_firing",
            "2:job:false",
            "3:job:false"
        ]
    );
    assert!(engine.outstanding_job("m").is_some());
    let Output::JobFinished(notice) = &out[2] else {
        panic!()
    };
    assert!(
        notice.message.contains("single flight holds"),
        "{}",
        notice.message
    );
}

#[test]
fn a_change_point_request_stands_through_the_cooldown() {
    let mut engine = engine(
        r#"
[[trainers]]
kind = "external"

[[rules]]
name = "ph"
metric = "latency_ms"
detector = { kind = "page_hinkley", threshold = 20.0 }
actions = ["retrain"]
"#,
    );
    let mut inputs = vec![];
    for i in 0..200 {
        let value = if (i / 50) % 2 == 0 { 10.0 } else { 40.0 };
        inputs.push(point("m", "default", i, "latency_ms", value));
    }
    inputs.insert(60, job("m", 59, None));
    inputs.push(point("m", "default", 500, "latency_ms", 40.0));
    let out = run(&mut engine, &inputs);
    let decisions: Vec<String> = timeline(&out)
        .into_iter()
        .filter(|line| line.contains("retrain"))
        .collect();
    // The change at minute 100 comes during the cooldown of the grant at minute 50; the
    // request stands (no alert has to keep firing) and is granted when the cooldown ends.
    assert_eq!(
        decisions,
        [
            "51:retrain-granted:change_detected",
            "102:retrain-suppressed:cooldown",
            "112:retrain-granted:cooldown_ended",
        ]
    );
}
