//! Jobs: queued by granted decisions, run and retried by the runner's reports, ended by job
//! notices.

use super::*;

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
fn an_effects_only_batch_commits_without_inputs() {
    let mut h = Harness::new();
    h.effects(vec![EffectUpdate::JobEnded {
        id: "nothing".to_string(),
        at: at(0),
        state: JobState::Cancelled,
    }]);
    assert_eq!(h.store.last_seq().unwrap(), 0);
}
