//! Jobs: queued by granted decisions, run and retried by the runner's reports, ended by job
//! notices; their reads and counts.

use modelwatch_engine::{Input, JobFinished, JobStatus, Output};
use modelwatch_store::{
    AttemptOutcome, Batch, EffectUpdate, JobFilter, JobKind, JobState, Page, VersionStatus,
};

use super::{Harness, at, event};
use crate::backends::Backend;

on_each_backend!(
    a_granted_retrain_is_a_queued_job_that_its_notice_ends_and_whose_version_is_registered,
    an_effects_only_batch_commits_without_inputs,
    a_restarted_attempt_starts_afresh_and_an_ended_job_takes_no_more_updates,
);

fn a_granted_retrain_is_a_queued_job_that_its_notice_ends_and_whose_version_is_registered(
    backend: Backend,
) {
    let Some(mut h) = Harness::new(backend) else {
        return;
    };
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
    assert_eq!(job.created_at, at(1));
    assert_eq!(job.attempts, 0);
    assert_eq!(h.store().open_jobs().unwrap(), std::slice::from_ref(&job));
    assert_eq!(h.store().job(&job.id).unwrap().as_ref(), Some(&job));
    assert_eq!(h.store().job("no-such-job").unwrap(), None);
    let counts = |h: &Harness| -> Vec<(JobState, u64)> {
        (h.store().job_counts().unwrap().into_iter())
            .filter(|(_, count)| *count > 0)
            .collect()
    };
    assert_eq!(counts(&h), [(JobState::Queued, 1)]);

    // First attempt fails and is retried; the second runs.
    h.effects(vec![EffectUpdate::JobStarted {
        id: job.id.clone(),
        attempt: 1,
        at: at(2),
        backend: "command".to_string(),
        deadline: Some(at(100)),
    }]);
    let running = h.only_job();
    assert_eq!(running.state, JobState::Running);
    assert_eq!(running.backend.as_deref(), Some("command"));
    assert_eq!(
        (running.attempts, running.started_at, running.deadline),
        (1, Some(at(2)), Some(at(100)))
    );
    assert_eq!(counts(&h), [(JobState::Running, 1)]);
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
    assert_eq!(waiting.deadline, None);
    assert_eq!(waiting.error.as_deref(), Some("exit status 1"));
    h.effects(vec![EffectUpdate::JobStarted {
        id: job.id.clone(),
        attempt: 2,
        at: at(10),
        backend: "command".to_string(),
        deadline: None,
    }]);
    assert_eq!(h.only_job().next_attempt_at, None);

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
    assert_eq!(done.error.as_deref(), Some("exit status 1"), "kept");
    assert_eq!(done.finished_at, Some(at(11)));
    assert!(h.store().open_jobs().unwrap().is_empty());
    assert_eq!(counts(&h), [(JobState::Succeeded, 1)]);
    let attempts = h.store().job_attempts(&job.id).unwrap();
    let summary: Vec<_> = attempts
        .iter()
        .map(|a| {
            (
                a.attempt,
                a.started_at,
                a.finished_at,
                a.outcome.as_deref(),
                a.error.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, at(2), Some(at(3)), Some("failed"), Some("exit status 1")),
            (2, at(10), Some(at(11)), Some("succeeded"), None),
        ]
    );

    let versions = h.store().model_versions("fraud").unwrap();
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
    // The filters.
    let listed = |filter: JobFilter| {
        h.store()
            .jobs(&filter, &Page::default())
            .unwrap()
            .items
            .len()
    };
    let by = |model: &str, state, kind| JobFilter {
        model: Some(model.to_string()),
        state: Some(state),
        kind: Some(kind),
    };
    assert_eq!(
        listed(by("fraud", JobState::Succeeded, JobKind::Retrain)),
        1
    );
    assert_eq!(listed(by("fraud", JobState::Queued, JobKind::Retrain)), 0);
    assert_eq!(
        listed(by("fraud", JobState::Succeeded, JobKind::Rollback)),
        0
    );
    assert_eq!(
        listed(by("other", JobState::Succeeded, JobKind::Retrain)),
        0
    );
}

fn an_effects_only_batch_commits_without_inputs(backend: Backend) {
    let Some(mut h) = Harness::new(backend) else {
        return;
    };
    h.effects(vec![EffectUpdate::JobEnded {
        id: "nothing".to_string(),
        at: at(0),
        state: JobState::Cancelled,
    }]);
    assert_eq!(h.store().last_seq().unwrap(), 0);
    let counts = h.store().job_counts().unwrap();
    assert_eq!(
        counts,
        JobState::ALL.map(|state| (state, 0)),
        "every state, none of them"
    );
    assert!(
        (h.store().audit(None, &Page::default()).unwrap().items).is_empty(),
        "no job, no audit row"
    );
}

fn a_restarted_attempt_starts_afresh_and_an_ended_job_takes_no_more_updates(backend: Backend) {
    let Some(mut h) = Harness::new(backend) else {
        return;
    };
    h.commit(event("1.0", 0, 0.95), &[], Vec::new());
    h.commit(event("1.0", 1, 0.5), &[], Vec::new());
    let id = h.only_job().id;
    let started = |secs| EffectUpdate::JobStarted {
        id: id.clone(),
        attempt: 1,
        at: at(secs),
        backend: "http".to_string(),
        deadline: None,
    };
    h.effects(vec![started(2)]);
    h.effects(vec![EffectUpdate::JobAttemptEnded {
        id: id.clone(),
        attempt: 1,
        at: at(3),
        outcome: AttemptOutcome::Interrupted,
        error: Some("stopped".to_string()),
        result: None,
        retry_at: None,
    }]);
    // The same attempt starts again (after a restart): its row is new.
    h.effects(vec![started(4)]);
    let attempts = h.store().job_attempts(&id).unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        (
            attempts[0].started_at,
            attempts[0].finished_at,
            attempts[0].outcome.as_deref(),
            attempts[0].error.as_deref()
        ),
        (at(4), None, None, None)
    );
    // Cancelled through the API: ended once, with its audit row; later reports change nothing.
    let mut batch = Batch::new();
    batch.push_effects_by(
        [EffectUpdate::JobEnded {
            id: id.clone(),
            at: at(5),
            state: JobState::Cancelled,
        }],
        "oncall",
    );
    h.store_mut().commit(&batch).unwrap();
    h.effects(vec![
        started(6),
        EffectUpdate::JobEnded {
            id: id.clone(),
            at: at(7),
            state: JobState::Failed,
        },
    ]);
    let job = h.only_job();
    assert_eq!(
        (job.state, job.finished_at, job.started_at),
        (JobState::Cancelled, Some(at(5)), Some(at(4)))
    );
    let audit = h.store().audit(Some("fraud"), &Page::default()).unwrap();
    let newest = &audit.items[0];
    assert_eq!(
        (newest.action.as_str(), newest.actor.as_str(), newest.at),
        ("job_ended", "oncall", at(5))
    );
    assert_eq!(
        newest.detail,
        format!("retrain job {id} of fraud ended cancelled by oncall")
    );
    assert_eq!(
        (audit.items.iter())
            .filter(|event| event.action == "job_ended")
            .count(),
        1
    );
}
