//! Tests of the outbox and the registry on real SQLite files: the rows commits write, the
//! updates the service reports, and the registry's status changes with their audit rows.

use std::sync::Arc;

use modelwatch_engine::{Engine, Event, Input, JobFinished, JobStatus, ModelId, Output, Timestamp};

use super::*;
use crate::registry::VersionChange;
use crate::{Batch, Record, RegistryError};

const CONFIG: &str = r#"
[retrain]
cooldown_secs = 60

[[rules]]
name = "acc-low"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }
actions = ["retrain"]
"#;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_secs(1_800_000_000 + secs)
}

fn event(version: &str, secs: i64, accuracy: f64) -> Input {
    Input::Event(Event {
        model: ModelId::new("fraud", version, "canary-0"),
        timestamp: Some(at(secs)),
        metrics: vec![("accuracy".to_string(), accuracy)],
    })
}

/// Runs inputs through an engine and commits each as its own batch, giving every alert the
/// notifiers `notify`, as a config with `notify = [...]` would.
struct Harness {
    engine: Engine,
    store: Store,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let config = modelwatch_engine::parse_config(CONFIG).unwrap().config;
        Harness {
            engine: Engine::new(Arc::new(config)),
            store: Store::open(dir.path()).unwrap(),
            _dir: dir,
        }
    }

    fn commit(&mut self, input: Input, notify: &[&str], effects: Vec<EffectUpdate>) -> Vec<Output> {
        let mut outputs = Vec::new();
        let seq = self.engine.process(&input, &mut outputs);
        for output in &mut outputs {
            if let Output::Alert(alert) = output {
                alert.notify = notify.iter().map(|name| Arc::from(*name)).collect();
            }
        }
        let received_at = input.timestamp().unwrap();
        let mut batch = Batch::new();
        batch.push(
            Record {
                seq,
                received_at,
                input,
            },
            outputs.clone(),
        );
        batch.effects = effects;
        self.store.commit(&batch).unwrap();
        outputs
    }

    fn effects(&mut self, effects: Vec<EffectUpdate>) {
        let batch = Batch {
            effects,
            ..Batch::default()
        };
        self.store.commit(&batch).unwrap();
    }

    fn only_job(&self) -> Job {
        let jobs = self
            .store
            .jobs(&JobFilter::default(), &Page::default())
            .unwrap();
        assert_eq!(jobs.items.len(), 1, "{jobs:?}");
        jobs.items.into_iter().next().unwrap()
    }
}

#[test]
fn an_alert_with_notifiers_becomes_one_pending_delivery_per_notifier() {
    let mut h = Harness::new();
    h.commit(event("1", 0, 0.95), &["hook", "am"], Vec::new());
    let outputs = h.commit(event("1", 1, 0.5), &["hook", "am"], Vec::new());
    let alert_id = outputs[0].id().to_string();
    let hook = h.store.pending_deliveries("hook", 0, 10).unwrap();
    let am = h.store.pending_deliveries("am", 0, 10).unwrap();
    assert_eq!(hook.len(), 1);
    assert_eq!(am.len(), 1);
    assert_eq!(hook[0].id, delivery_id(&alert_id, "hook"));
    assert_ne!(hook[0].id, am[0].id);
    assert_eq!(hook[0].output_id, alert_id);
    assert_eq!(hook[0].state, DeliveryState::Pending);
    let body: serde_json::Value = serde_json::from_str(&hook[0].output).unwrap();
    assert_eq!(body["state"], "firing");

    // A failed attempt keeps it pending and counts; success ends it; later reports change nothing.
    let id = hook[0].id.clone();
    h.effects(vec![EffectUpdate::Delivery {
        id: id.clone(),
        at: at(2),
        result: DeliveryResult::Failed {
            error: "HTTP 503".to_string(),
            give_up: false,
        },
    }]);
    let after_failure = h.store.pending_deliveries("hook", 0, 10).unwrap();
    assert_eq!(after_failure[0].attempts, 1);
    assert_eq!(after_failure[0].last_error.as_deref(), Some("HTTP 503"));
    h.effects(vec![
        EffectUpdate::Delivery {
            id: id.clone(),
            at: at(3),
            result: DeliveryResult::Delivered,
        },
        EffectUpdate::Delivery {
            id: id.clone(),
            at: at(4),
            result: DeliveryResult::Failed {
                error: "late".to_string(),
                give_up: true,
            },
        },
    ]);
    assert!(
        h.store
            .pending_deliveries("hook", 0, 10)
            .unwrap()
            .is_empty()
    );
    let listed = h
        .store
        .deliveries(
            &DeliveryFilter {
                notifier: Some("hook".to_string()),
                ..DeliveryFilter::default()
            },
            &Page::default(),
        )
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].state, DeliveryState::Delivered);
    assert_eq!(listed.items[0].attempts, 2);
    assert_eq!(listed.items[0].done_at, Some(at(3)));

    // Giving up ends the other one.
    h.effects(vec![EffectUpdate::Delivery {
        id: am[0].id.clone(),
        at: at(5),
        result: DeliveryResult::Failed {
            error: "HTTP 400: bad request".to_string(),
            give_up: true,
        },
    }]);
    let given_up = h
        .store
        .deliveries(
            &DeliveryFilter {
                state: Some(DeliveryState::GivenUp),
                ..DeliveryFilter::default()
            },
            &Page::default(),
        )
        .unwrap();
    assert_eq!(given_up.items.len(), 1);
    assert_eq!(given_up.items[0].notifier, "am");
}

#[test]
fn a_granted_retrain_is_a_queued_job_that_its_notice_ends_and_whose_version_is_registered() {
    let mut h = Harness::new();
    h.commit(event("1.0", 0, 0.95), &[], Vec::new());
    let outputs = h.commit(event("1.0", 1, 0.5), &[], Vec::new());
    let Output::Retrain(decision) = &outputs[1] else {
        panic!("{outputs:?}")
    };
    let job = h.only_job();
    assert_eq!(Some(&job.id), decision.job_id.as_ref());
    assert_eq!(job.kind, JobKind::Retrain);
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.version.as_deref(), Some("1.0"));
    assert_eq!(job.instance.as_deref(), Some("canary-0"));
    assert_eq!(job.reason, "alert_firing");
    assert_eq!(job.cause, decision.id);
    assert_eq!(h.store.open_jobs().unwrap().len(), 1);

    // First attempt fails and is retried; the second runs.
    h.effects(vec![EffectUpdate::JobStarted {
        id: job.id.clone(),
        attempt: 1,
        at: at(2),
        backend: "command".to_string(),
        deadline: Some(at(100)),
    }]);
    assert_eq!(h.only_job().state, JobState::Running);
    h.effects(vec![EffectUpdate::JobAttemptEnded {
        id: job.id.clone(),
        attempt: 1,
        at: at(3),
        outcome: AttemptOutcome::Failed,
        error: Some("exit status 1".to_string()),
        result: None,
        retry_at: Some(at(10)),
    }]);
    let waiting = h.only_job();
    assert_eq!(waiting.state, JobState::Queued);
    assert_eq!(waiting.next_attempt_at, Some(at(10)));
    assert_eq!(waiting.error.as_deref(), Some("exit status 1"));
    h.effects(vec![EffectUpdate::JobStarted {
        id: job.id.clone(),
        attempt: 2,
        at: at(10),
        backend: "command".to_string(),
        deadline: None,
    }]);

    // The job-finished input and its attempt's end commit together.
    let finished = Input::JobFinished(JobFinished {
        model: "fraud".to_string(),
        job_id: Some(job.id.clone()),
        status: JobStatus::Succeeded,
        version: Some("1.1".to_string()),
        timestamp: Some(at(11)),
    });
    h.commit(
        finished,
        &[],
        vec![EffectUpdate::JobAttemptEnded {
            id: job.id.clone(),
            attempt: 2,
            at: at(11),
            outcome: AttemptOutcome::Succeeded,
            error: None,
            result: Some(r#"{"accuracy":0.97}"#.to_string()),
            retry_at: None,
        }],
    );
    let done = h.only_job();
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(done.result_version.as_deref(), Some("1.1"));
    assert_eq!(done.result.as_deref(), Some(r#"{"accuracy":0.97}"#));
    assert_eq!(done.finished_at, Some(at(11)));
    assert!(h.store.open_jobs().unwrap().is_empty());
    let attempts = h.store.job_attempts(&job.id).unwrap();
    let outcomes: Vec<_> = attempts.iter().map(|a| a.outcome.as_deref()).collect();
    assert_eq!(outcomes, [Some("failed"), Some("succeeded")]);

    let versions = h.store.model_versions("fraud").unwrap();
    let summary: Vec<_> = versions
        .iter()
        .map(|v| {
            (
                v.version.as_str(),
                v.status,
                v.source.as_str(),
                v.job_id.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("1.0", VersionStatus::Production, "metrics", None),
            (
                "1.1",
                VersionStatus::Candidate,
                "job",
                Some(job.id.as_str())
            ),
        ]
    );
}

#[test]
fn the_registry_lists_its_models_in_name_order_a_page_at_a_time() {
    let mut h = Harness::new();
    assert_eq!(
        h.store.registered_models(None, 10).unwrap(),
        crate::ModelPage {
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
    let page = h.store.registered_models(None, 2).unwrap();
    assert_eq!(
        page.names,
        ["a", "b"],
        "each model once, however many versions"
    );
    assert_eq!(page.next.as_deref(), Some("b"));
    let page = h.store.registered_models(Some("b"), 2).unwrap();
    assert_eq!(page.names, ["c"]);
    assert_eq!(page.next, None);
    assert!(
        h.store
            .registered_models(Some("c"), 2)
            .unwrap()
            .names
            .is_empty()
    );
}

#[test]
fn registry_changes_follow_their_rules_and_are_audited() {
    let mut h = Harness::new();
    h.commit(event("1", 0, 0.95), &[], Vec::new());
    h.commit(event("2", 1, 0.95), &[], Vec::new());
    // The memory of known versions survives a reopen: no second registration.
    let dir = h.store.path().parent().unwrap().to_path_buf();
    h.store = Store::open(&dir).unwrap();
    h.commit(event("2", 2, 0.95), &[], Vec::new());
    let status = |h: &Harness| -> Vec<(String, VersionStatus)> {
        h.store
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

    h.store
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
        .store
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
        .store
        .change_version("fraud", "9", VersionChange::Archive, at(4), "api")
        .unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "model fraud has no version 9 in the registry"
    );

    // Rolling back production brings back the one it replaced.
    let rolled = h
        .store
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
    let audit = h.store.audit(Some("fraud"), &Page::default()).unwrap();
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

#[test]
fn a_failed_canary_of_the_production_version_brings_back_the_one_it_replaced() {
    let mut h = Harness::new();
    h.commit(event("1", 0, 0.95), &[], Vec::new());
    h.commit(event("2", 1, 0.95), &[], Vec::new());
    h.store
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
    h.store.commit(&batch).unwrap();
    let versions: Vec<(String, VersionStatus)> = h
        .store
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
    let audit = h.store.audit(Some("fraud"), &Page::default()).unwrap();
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

#[test]
fn retention_deletes_notifications_that_ended_before_the_cutoff_and_keeps_pending_ones() {
    let mut h = Harness::new();
    // Three transitions (firing, resolved, firing) told to one notifier, created at 1, 2, 3.
    h.commit(event("1", 0, 0.95), &["hook"], Vec::new());
    h.commit(event("1", 1, 0.5), &["hook"], Vec::new());
    h.commit(event("1", 2, 0.95), &["hook"], Vec::new());
    h.commit(event("1", 3, 0.5), &["hook"], Vec::new());
    let pending = h.store.pending_deliveries("hook", 0, 10).unwrap();
    assert_eq!(pending.len(), 3);
    // The first delivered at 10, the second given up at 20; the third is still pending.
    h.effects(vec![
        EffectUpdate::Delivery {
            id: pending[0].id.clone(),
            at: at(10),
            result: DeliveryResult::Delivered,
        },
        EffectUpdate::Delivery {
            id: pending[1].id.clone(),
            at: at(20),
            result: DeliveryResult::Failed {
                error: "HTTP 410".to_string(),
                give_up: true,
            },
        },
    ]);
    let left = |h: &Harness| -> Vec<String> {
        h.store
            .deliveries(&DeliveryFilter::default(), &Page::default())
            .unwrap()
            .items
            .into_iter()
            .rev()
            .map(|delivery| delivery.id)
            .collect()
    };
    // A cutoff at 15: only the one that ended at 10 goes.
    let step = h.store.delete_old_deliveries(at(15), 100).unwrap();
    assert_eq!(
        step,
        crate::Step {
            deleted: 1,
            done: true
        }
    );
    assert_eq!(left(&h), [pending[1].id.clone(), pending[2].id.clone()]);
    // Much later: the given-up one goes too, step by step; the pending one stays.
    let first = h.store.delete_old_deliveries(at(1_000), 1).unwrap();
    assert_eq!(
        first,
        crate::Step {
            deleted: 1,
            done: false
        }
    );
    let second = h.store.delete_old_deliveries(at(1_000), 1).unwrap();
    assert_eq!(
        second,
        crate::Step {
            deleted: 0,
            done: true
        }
    );
    assert_eq!(left(&h), [pending[2].id.clone()]);
    assert_eq!(h.store.pending_deliveries("hook", 0, 10).unwrap().len(), 1);
}

#[test]
fn an_effects_only_batch_commits_without_inputs() {
    let mut h = Harness::new();
    h.effects(vec![EffectUpdate::JobEnded {
        id: "nothing".to_string(),
        at: at(0),
        state: JobState::Cancelled,
    }]);
    assert_eq!(h.store.last_seq().unwrap(), 0);
}
