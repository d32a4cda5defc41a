//! The registry and the audit log: status changes with their rules, canary verdicts, and who
//! made each change.

use std::sync::Arc;

use modelwatch_engine::{Event, Input, JobFinished, JobStatus, ModelId, Output};
use modelwatch_store::{
    AttemptOutcome, Batch, EffectUpdate, JobKind, JobState, ModelPage, Order, Page, Record,
    RegistryError, VersionChange, VersionStatus, rollback_job_id,
};

use super::{Harness, at, event};
use crate::backends::Backend;

on_each_backend!(
    the_registry_lists_its_models_in_name_order_a_page_at_a_time,
    registry_changes_follow_their_rules_and_are_audited,
    a_failed_canary_of_the_production_version_brings_back_the_one_it_replaced,
    the_audit_log_names_the_token_that_asked_for_each_change,
);

fn the_registry_lists_its_models_in_name_order_a_page_at_a_time(backend: Backend) {
    let Some(mut h) = Harness::new(backend) else {
        return;
    };
    assert_eq!(
        h.store().registered_models(None, 10).unwrap(),
        ModelPage {
            names: Vec::new(),
            next: None
        }
    );
    for (secs, name, version) in [(0, "b", "1"), (1, "a", "1"), (2, "b", "2"), (3, "c", "1")] {
        h.commit(
            Input::Event(Event {
                model: ModelId::new(name, version, "default"),
                timestamp: Some(at(secs)),
                metrics: vec![("accuracy".to_string(), 0.95)],
            }),
            &[],
            Vec::new(),
        );
    }
    let page = h.store().registered_models(None, 2).unwrap();
    assert_eq!(
        page.names,
        ["a", "b"],
        "each model once, however many versions"
    );
    assert_eq!(page.next.as_deref(), Some("b"));
    let page = h.store().registered_models(Some("b"), 2).unwrap();
    assert_eq!(page.names, ["c"]);
    assert_eq!(page.next, None);
    assert!(
        h.store()
            .registered_models(Some("c"), 2)
            .unwrap()
            .names
            .is_empty()
    );
}

fn registry_changes_follow_their_rules_and_are_audited(backend: Backend) {
    let Some(mut h) = Harness::new(backend) else {
        return;
    };
    h.commit(event("1", 0, 0.95), &[], Vec::new());
    h.commit(event("2", 1, 0.95), &[], Vec::new());
    // The memory of known versions survives a reopen: no second registration.
    h.db.store = h.db.reopen();
    h.commit(event("2", 2, 0.95), &[], Vec::new());
    let status = |h: &Harness| -> Vec<(String, VersionStatus)> {
        h.store()
            .model_versions("fraud")
            .unwrap()
            .into_iter()
            .map(|v| (v.version, v.status))
            .collect()
    };
    assert_eq!(
        status(&h),
        [
            ("1".to_string(), VersionStatus::Production),
            ("2".to_string(), VersionStatus::Candidate)
        ]
    );

    h.store_mut()
        .change_version("fraud", "2", VersionChange::Promote, at(3), "api")
        .unwrap();
    assert_eq!(
        status(&h),
        [
            ("1".to_string(), VersionStatus::Archived),
            ("2".to_string(), VersionStatus::Production)
        ]
    );
    let refused = h
        .store_mut()
        .change_version("fraud", "2", VersionChange::Promote, at(4), "api")
        .unwrap_err();
    assert!(
        matches!(refused, RegistryError::Transition { .. }),
        "{refused}"
    );
    assert_eq!(
        refused.to_string(),
        "version 2 of fraud is production; it cannot promote"
    );
    let unknown = h
        .store_mut()
        .change_version("fraud", "9", VersionChange::Archive, at(4), "api")
        .unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "model fraud has no version 9 in the registry"
    );

    // Rolling back production brings back the one it replaced.
    let rolled = h
        .store_mut()
        .change_version("fraud", "2", VersionChange::Rollback, at(5), "api")
        .unwrap();
    assert_eq!(rolled.status, VersionStatus::RolledBack);
    assert_eq!(
        status(&h),
        [
            ("1".to_string(), VersionStatus::Production),
            ("2".to_string(), VersionStatus::RolledBack)
        ]
    );
    let audit = h.store().audit(Some("fraud"), &Page::default()).unwrap();
    let actions: Vec<_> = audit
        .items
        .iter()
        .rev()
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "version_registered",
            "version_registered",
            "version_archived",
            "version_promoted",
            "version_rolled_back",
            "version_promoted",
        ]
    );
    assert!(
        audit.items[1].detail.contains("rolled back by api"),
        "{audit:?}"
    );
}

fn a_failed_canary_of_the_production_version_brings_back_the_one_it_replaced(backend: Backend) {
    let Some(mut h) = Harness::new(backend) else {
        return;
    };
    h.commit(event("1", 0, 0.95), &[], Vec::new());
    h.commit(event("2", 1, 0.95), &[], Vec::new());
    h.store_mut()
        .change_version("fraud", "2", VersionChange::Promote, at(2), "api")
        .unwrap();
    // A canary rule fails 2 (promoted by hand before its canary ended) with `rollback`.
    let input = event("2", 3, 0.95);
    let mut outputs = Vec::new();
    let seq = h.engine.process(&input, &mut outputs);
    let params = modelwatch_engine::CanaryParams {
        confidence: 0.98,
        min_samples: 1,
        tolerance: 0.0,
        direction: modelwatch_engine::metric::Goal::HigherIsBetter,
    };
    outputs.push(Output::Canary(modelwatch_engine::CanaryVerdict {
        id: "verdict-1".to_string(),
        seq,
        at: at(3),
        rule: Arc::from("fraud-canary"),
        severity: modelwatch_engine::Severity::Critical,
        model: ModelId::new("fraud", "2", "canary-0"),
        baseline: "instance stable-*".to_string(),
        metric: "accuracy".to_string(),
        verdict: modelwatch_engine::Verdict::Fail,
        judgement: modelwatch_engine::judge(&params, &[0.5, 0.5], &[0.9, 0.95]),
        actions: vec!["rollback"],
        notify: Vec::new(),
        message: "accuracy of fraud 2 fails against the baseline".to_string(),
    }));
    let mut batch = Batch::new();
    batch.push(
        Record {
            seq,
            received_at: at(3),
            input,
        },
        outputs,
    );
    h.store_mut().commit(&batch).unwrap();
    let versions: Vec<(String, VersionStatus)> = h
        .store()
        .model_versions("fraud")
        .unwrap()
        .into_iter()
        .map(|v| (v.version, v.status))
        .collect();
    assert_eq!(
        versions,
        [
            ("1".to_string(), VersionStatus::Production),
            ("2".to_string(), VersionStatus::RolledBack)
        ]
    );
    let job = h.only_job();
    assert_eq!(job.kind, JobKind::Rollback);
    assert_eq!(job.version.as_deref(), Some("2"));
    let audit = h.store().audit(Some("fraud"), &Page::default()).unwrap();
    let newest: Vec<(&str, &str)> = audit.items[..2]
        .iter()
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        newest,
        [
            ("version_promoted", "canary"),
            ("version_rolled_back", "canary")
        ]
    );
}

/// A failed canary verdict on `version` with the `rollback` action, for input `seq`.
fn failed_canary(id: &str, seq: u64, version: &str, secs: i64) -> Output {
    let params = modelwatch_engine::CanaryParams {
        confidence: 0.98,
        min_samples: 1,
        tolerance: 0.0,
        direction: modelwatch_engine::metric::Goal::HigherIsBetter,
    };
    Output::Canary(modelwatch_engine::CanaryVerdict {
        id: id.to_string(),
        seq,
        at: at(secs),
        rule: Arc::from("fraud-canary"),
        severity: modelwatch_engine::Severity::Critical,
        model: ModelId::new("fraud", version, "canary-0"),
        baseline: "instance stable-*".to_string(),
        metric: "accuracy".to_string(),
        verdict: modelwatch_engine::Verdict::Fail,
        judgement: modelwatch_engine::judge(&params, &[0.5, 0.5], &[0.9, 0.95]),
        actions: vec!["rollback"],
        notify: Vec::new(),
        message: format!("accuracy of fraud {version} fails against the baseline"),
    })
}

fn the_audit_log_names_the_token_that_asked_for_each_change(backend: Backend) {
    let Some(mut h) = Harness::new(backend) else {
        return;
    };
    let none = || (Vec::new(), "nobody");
    // Versions first seen in metrics: by the token that sent the event, if the service says.
    h.commit_by(event("1.0", 0, 0.95), None, Vec::new(), none());
    h.commit_by(event("1.1", 1, 0.95), Some("ingest-a"), Vec::new(), none());
    // A manual retrain, and its cancellation through the API.
    let request = Input::RetrainRequest(modelwatch_engine::RetrainRequest {
        model: "fraud".to_string(),
        reason: Some("labels are in".to_string()),
        timestamp: Some(at(2)),
    });
    h.commit_by(request, Some("ops-admin"), Vec::new(), none());
    let manual = h.only_job();
    let cancel = Input::JobFinished(JobFinished {
        model: "fraud".to_string(),
        job_id: Some(manual.id.clone()),
        status: JobStatus::Cancelled,
        version: None,
        timestamp: Some(at(3)),
    });
    let cancelled = EffectUpdate::JobAttemptEnded {
        id: manual.id.clone(),
        attempt: 1,
        at: at(3),
        outcome: AttemptOutcome::Cancelled,
        error: None,
        result: None,
        retry_at: None,
    };
    h.commit_by(
        cancel,
        Some("oncall"),
        Vec::new(),
        (vec![cancelled], "oncall"),
    );
    // An alert's retrain is the engine's decision, whoever sent the event; the trainer that
    // reports the job's end registers the version it made.
    h.commit_by(
        event("1.1", 1_000, 0.95),
        Some("ingest-a"),
        Vec::new(),
        none(),
    );
    let outputs = h.commit_by(
        event("1.1", 1_001, 0.5),
        Some("ingest-a"),
        Vec::new(),
        none(),
    );
    let alerted = outputs
        .iter()
        .find_map(|output| match output {
            Output::Retrain(decision) => decision.job_id.clone(),
            _ => None,
        })
        .unwrap();
    let report = Input::JobFinished(JobFinished {
        model: "fraud".to_string(),
        job_id: Some(alerted.clone()),
        status: JobStatus::Succeeded,
        version: Some("1.2".to_string()),
        timestamp: Some(at(1_002)),
    });
    h.commit_by(report, Some("trainer"), Vec::new(), none());
    // A promotion through the API.
    h.store_mut()
        .change_version("fraud", "1.2", VersionChange::Promote, at(1_003), "release")
        .unwrap();
    // Two failed canaries queue rollback jobs: one cancelled through the API, one failed by
    // the runner itself.
    let input = event("1.2", 1_004, 0.95);
    let seq = h.engine.last_seq() + 1;
    h.commit_by(
        input,
        None,
        vec![
            failed_canary("verdict-1", seq, "1.2", 1_004),
            failed_canary("verdict-2", seq, "1.1", 1_004),
        ],
        none(),
    );
    let ended = |id: &str, state| EffectUpdate::JobEnded {
        id: id.to_string(),
        at: at(1_005),
        state,
    };
    let first = rollback_job_id("verdict-1");
    let second = rollback_job_id("verdict-2");
    h.effects(vec![ended(&second, JobState::Failed)]);
    let mut batch = Batch::new();
    batch.push_effects_by([ended(&first, JobState::Cancelled)], "oncall");
    assert_eq!(batch.actors.of_effect(0), Some("oncall"));
    h.store_mut().commit(&batch).unwrap();

    let audit = h
        .store()
        .audit(
            Some("fraud"),
            &Page {
                after: None,
                limit: 100,
                order: Order::OldestFirst,
            },
        )
        .unwrap();
    let rows: Vec<(&str, &str, Option<&str>, Option<&str>)> = audit
        .items
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.actor.as_str(),
                e.version.as_deref(),
                e.job_id.as_deref(),
            )
        })
        .collect();
    let manual = Some(manual.id.as_str());
    let alerted = Some(alerted.as_str());
    assert_eq!(
        rows,
        [
            ("version_registered", "engine", Some("1.0"), None),
            ("version_registered", "ingest-a", Some("1.1"), None),
            ("job_queued", "ops-admin", Some("1.0"), manual),
            ("job_ended", "oncall", None, manual),
            ("job_queued", "engine", Some("1.1"), alerted),
            ("job_ended", "trainer", Some("1.2"), alerted),
            ("version_registered", "trainer", Some("1.2"), alerted),
            ("version_archived", "release", Some("1.0"), None),
            ("version_promoted", "release", Some("1.2"), None),
            ("job_queued", "canary", Some("1.2"), Some(first.as_str())),
            ("version_rolled_back", "canary", Some("1.2"), None),
            ("version_promoted", "canary", Some("1.0"), None),
            ("job_queued", "canary", Some("1.1"), Some(second.as_str())),
            ("version_rolled_back", "canary", Some("1.1"), None),
            ("job_ended", "runner", Some("1.1"), Some(second.as_str())),
            ("job_ended", "oncall", Some("1.2"), Some(first.as_str())),
        ],
        "{audit:#?}"
    );
    let by_oncall = audit.items.last().unwrap();
    assert!(by_oncall.detail.contains("by oncall"), "{by_oncall:?}");
}
