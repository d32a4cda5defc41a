//! Tests of retrain decisions for models with and without a trainer: without one a retrain is
//! recommended, no job is opened and nothing is muted; with one it is granted as before.

use std::sync::Arc;

use crate::config::{DEFAULT_CONFIG_TOML, parse_config};
use crate::{
    Engine, Event, Input, JobFinished, JobStatus, ModelId, Output, RetrainRequest, Timestamp,
};

fn engine(config: &str) -> Engine {
    Engine::new(Arc::new(parse_config(config).unwrap().config))
}

fn at(minute: i64) -> Timestamp {
    Timestamp::from_secs(1_800_000_000 + minute * 60)
}

fn event(model: &str, minute: i64, metrics: &[(&str, f64)]) -> Input {
    Input::Event(Event {
        model: ModelId::new(model, "1.4.0", "default"),
        timestamp: Some(at(minute)),
        metrics: metrics
            .iter()
            .map(|(name, value)| ((*name).to_string(), *value))
            .collect(),
    })
}

fn manual(model: &str, minute: i64) -> Input {
    Input::RetrainRequest(RetrainRequest {
        model: model.to_string(),
        reason: Some("new labels".to_string()),
        timestamp: Some(at(minute)),
    })
}

fn job(model: &str, minute: i64) -> Input {
    Input::JobFinished(JobFinished {
        model: model.to_string(),
        job_id: None,
        status: JobStatus::Succeeded,
        version: Some("1.5.0".to_string()),
        timestamp: Some(at(minute)),
    })
}

/// "seq:state:rule" for alerts ("+muted" when muted), "seq:retrain-decision:reason" for
/// decisions ("+job" when it names a job), "seq:job:ended" for job notices.
fn timeline(engine: &mut Engine, inputs: &[Input]) -> Vec<String> {
    let mut out = Vec::new();
    for input in inputs {
        engine.process(input, &mut out);
    }
    out.iter()
        .map(|output| match output {
            Output::Alert(alert) => format!(
                "{}:{}:{}{}",
                alert.seq,
                alert.state.as_str(),
                alert.rule,
                if alert.muted_by.is_some() {
                    "+muted"
                } else {
                    ""
                }
            ),
            Output::Retrain(decision) => format!(
                "{}:retrain-{}:{}{}",
                decision.seq,
                decision.decision.as_str(),
                decision.reason.as_str(),
                if decision.job_id.is_some() {
                    "+job"
                } else {
                    ""
                }
            ),
            Output::JobFinished(notice) => {
                format!("{}:job:{}", notice.seq, notice.ended_outstanding)
            }
            Output::Canary(verdict) => format!("{}:canary:{}", verdict.seq, verdict.rule),
            Output::Quality(point) => format!("{}:quality:{}", point.seq, point.model),
        })
        .collect()
}

/// README's first example with the built-in config, which has no trainer: the first alert's
/// retrain is recommended, the second alert beside it is held back by the cooldown that the
/// recommendation started, and neither is muted; nor is a later alert of another metric.
#[test]
fn with_the_built_in_config_a_retrain_is_recommended_and_nothing_is_muted() {
    let mut engine = engine(DEFAULT_CONFIG_TOML);
    let lines = timeline(
        &mut engine,
        &[
            event("fraud-detector", 0, &[("accuracy", 0.81)]),
            event("fraud-detector", 5, &[("latency_ms", 250.0)]),
        ],
    );
    assert_eq!(
        lines,
        [
            "1:firing:c-accuracy-ema-low",
            "1:retrain-recommended:alert_firing",
            "1:firing:e-accuracy-low",
            "1:retrain-suppressed:cooldown",
            "2:firing:c-latency-ema-high",
            "2:retrain-suppressed:cooldown",
            "2:firing:e-latency-high",
            "2:retrain-suppressed:cooldown",
        ]
    );
    assert_eq!(engine.outstanding_job("fraud-detector"), None);
}

#[test]
fn a_recommendation_names_no_job_and_says_why() {
    let mut engine = engine(DEFAULT_CONFIG_TOML);
    let mut out = Vec::new();
    engine.process(&event("fraud-detector", 0, &[("accuracy", 0.81)]), &mut out);
    let (alert, decision) = match &out[..2] {
        [Output::Alert(alert), Output::Retrain(decision)] => (alert, decision),
        other => panic!("{other:?}"),
    };
    assert_eq!(alert.actions, ["retrain"], "not muted: it asks");
    assert_eq!(decision.job_id, None);
    assert_eq!(decision.alert_id.as_deref(), Some(alert.alert_id.as_str()));
    assert_eq!(
        decision.message,
        "retrain of fraud-detector recommended: rule c-accuracy-ema-low is firing on accuracy; \
         no trainer is configured for fraud-detector, so no job runs"
    );
}

/// The cooldown spaces recommendations out as it spaces grants: a request it held back is
/// recommended when it ends if its alert still fires. A manual request is recommended at once
/// and changes neither the cooldown nor the deferred request.
#[test]
fn recommendations_follow_the_cooldown_and_manual_requests_are_recommended_too() {
    let mut engine = engine(DEFAULT_CONFIG_TOML);
    let lines = timeline(
        &mut engine,
        &[
            event("fraud-detector", 0, &[("drift_score", 0.5)]),
            event("fraud-detector", 10, &[("precision", 0.5)]),
            manual("fraud-detector", 20),
            event("fraud-detector", 59, &[("drift_score", 0.5)]),
            event("fraud-detector", 60, &[("drift_score", 0.5)]),
            manual("other-model", 61),
        ],
    );
    assert_eq!(
        lines,
        [
            "1:firing:e-drift-score-high",
            "1:retrain-recommended:alert_firing",
            "2:firing:b-precision-low",
            "2:retrain-suppressed:cooldown",
            "3:retrain-recommended:manual",
            "5:retrain-recommended:cooldown_ended",
            "6:retrain-recommended:manual",
        ]
    );
}

const WITH_A_TRAINER: &str = r#"
[[trainers]]
model = "fraud-*"
kind = "external"
"#;

/// With a trainer for the model, retrains are granted, open a job and mute the model's other
/// alerts as before; a model the trainer's glob does not match is only recommended.
#[test]
fn with_a_trainer_the_retrain_is_granted_and_mutes_the_models_alerts() {
    let mut engine = engine(&format!("{DEFAULT_CONFIG_TOML}{WITH_A_TRAINER}"));
    let lines = timeline(
        &mut engine,
        &[
            event("fraud-detector", 0, &[("accuracy", 0.81)]),
            event("fraud-detector", 5, &[("latency_ms", 250.0)]),
            manual("fraud-detector", 6),
            event("churn", 7, &[("accuracy", 0.81)]),
            job("fraud-detector", 8),
            manual("fraud-detector", 9),
        ],
    );
    assert_eq!(
        lines,
        [
            "1:firing:c-accuracy-ema-low",
            "1:retrain-granted:alert_firing+job",
            "1:firing:e-accuracy-low+muted",
            "2:firing:c-latency-ema-high+muted",
            "2:firing:e-latency-high+muted",
            "3:retrain-suppressed:in_flight+job",
            "4:firing:c-accuracy-ema-low",
            "4:retrain-recommended:alert_firing",
            "4:firing:e-accuracy-low",
            "4:retrain-suppressed:cooldown",
            "5:job:true",
            "6:retrain-granted:manual+job",
        ]
    );
}

#[test]
fn the_config_says_which_models_have_a_trainer() {
    let with = parse_config(&format!("{DEFAULT_CONFIG_TOML}{WITH_A_TRAINER}"))
        .unwrap()
        .config;
    assert!(with.retrain.has_trainer("fraud-detector"));
    assert!(!with.retrain.has_trainer("churn"));
    let without = crate::config::default_config().unwrap();
    assert!(without.retrain.trained_models.is_empty());
    assert!(!without.retrain.has_trainer("fraud-detector"));
}
