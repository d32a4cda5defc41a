//! The outbox: notifications to deliver and jobs to run, written in the commit of the outputs
//! that cause them, and what the service did about them, written back as it happens.
//!
//! A commit turns its outputs into rows (see [`write_effects`]): an alert transition or canary
//! verdict with notifiers becomes one `deliveries` row per notifier, whose id (the
//! `Idempotency-Key` every attempt carries) derives from the output's id and the notifier's
//! name; a granted retrain becomes a `queued` job whose id is the decision's; a job notice
//! (the engine's record of a job-finished input) ends the job it names. The service's
//! notifiers and job runner then report attempts and outcomes as [`EffectUpdate`]s, which go
//! into the next group commit ([`crate::Batch::effects`]), so a crash never forgets an
//! attempt it acknowledged, and never loses a row: whatever was pending when it died is
//! pending when it restarts.
//!
//! `deliveries.rs` holds the notifications (rows, attempts, reads, deletion of those that are
//! over), `jobs.rs` the jobs (rows, attempts, reads); this file what both share: the
//! [`EffectUpdate`]s and [`write_effects`], which a commit calls.

mod deliveries;
mod jobs;

use std::collections::{HashMap, HashSet};

use modelwatch_engine::{CanaryVerdict, Decision, Input, JobStatus, Output, Reason, Timestamp};
use rusqlite::Transaction;

pub use deliveries::{Delivery, DeliveryFilter, DeliveryResult, DeliveryState, delivery_id};
pub use jobs::{AttemptOutcome, Job, JobAttempt, JobFilter, JobKind, JobState, rollback_job_id};

use crate::batch::Batch;
use crate::registry::{self, VersionSource, VersionStatus};

/// The audit log's actor for what the engine decides by itself.
const ENGINE: &str = "engine";

/// What the service did about an outbox row: written in the next group commit.
#[derive(Clone, Debug, PartialEq)]
pub enum EffectUpdate {
    /// An attempt to deliver a notification ended.
    Delivery {
        /// The delivery.
        id: String,
        /// When the attempt ended.
        at: Timestamp,
        /// How.
        result: DeliveryResult,
    },
    /// A job's attempt started: the job is `running`.
    JobStarted {
        /// The job.
        id: String,
        /// Its number, 1 for the first.
        attempt: u32,
        /// When it started.
        at: Timestamp,
        /// The backend that runs it.
        backend: String,
        /// When it times out.
        deadline: Option<Timestamp>,
    },
    /// A job's attempt ended. The job's own end comes from its job-finished input (retrain)
    /// or [`EffectUpdate::JobEnded`] (rollback); with `retry_at` the job is queued again.
    JobAttemptEnded {
        /// The job.
        id: String,
        /// The attempt's number.
        attempt: u32,
        /// When it ended.
        at: Timestamp,
        /// How.
        outcome: AttemptOutcome,
        /// Why it failed.
        error: Option<String>,
        /// What the trainer reported besides the version (JSON).
        result: Option<String>,
        /// When the next attempt may start, if there is one.
        retry_at: Option<Timestamp>,
    },
    /// A job that does not go through the engine (a rollback) ended.
    JobEnded {
        /// The job.
        id: String,
        /// When.
        at: Timestamp,
        /// Its final state.
        state: JobState,
    },
}

/// What the registry learned from one commit, applied to [`Store`]'s memory once it commits.
#[derive(Debug, Default)]
pub(crate) struct Learned {
    pub(crate) versions: Vec<(String, String)>,
}

/// Writes the outbox and registry rows a committed batch causes, in its transaction.
pub(crate) fn write_effects(
    tx: &Transaction<'_>,
    batch: &Batch,
    outputs_json: &[String],
    known: &HashMap<String, HashSet<String>>,
    learned: &mut Learned,
) -> rusqlite::Result<()> {
    // Versions first seen in metrics or predictions.
    for record in &batch.records {
        let model = match &record.input {
            Input::Event(event) => &event.model,
            Input::Prediction(prediction) => &prediction.model,
            _ => continue,
        };
        let name = &model.name;
        let version = &model.version;
        let seen = known
            .get(name)
            .is_some_and(|versions| versions.contains(version))
            || learned
                .versions
                .iter()
                .any(|(model, known)| model == name && known == version);
        if seen {
            continue;
        }
        registry::register(
            tx,
            name,
            version,
            (VersionSource::Metrics, None),
            record.received_at,
            batch.actors.of_input(record.seq).unwrap_or(ENGINE),
        )?;
        learned.versions.push((name.clone(), version.clone()));
    }
    // `Store::commit` checked that the records number on one by one and that every output
    // comes from one of them: an output's record is at its seq's offset from the first.
    let first_seq = batch.records.first().map_or(0, |record| record.seq);
    let received = |seq: u64| -> Timestamp {
        usize::try_from(seq.saturating_sub(first_seq))
            .ok()
            .and_then(|offset| batch.records.get(offset))
            .map_or(Timestamp::EPOCH, |record| record.received_at)
    };
    for (index, (output, json)) in batch.outputs.iter().zip(outputs_json).enumerate() {
        let created_at = received(output.seq());
        // Who asked for the input that caused the output.
        let asked_by = batch.actors.of_input(output.seq());
        match output {
            Output::Quality(_) => {}
            Output::Alert(alert) => {
                for notifier in &alert.notify {
                    deliveries::insert_delivery(tx, notifier, output, json, created_at)?;
                }
            }
            Output::Retrain(decision) if decision.decision == Decision::Granted => {
                let Some(job_id) = &decision.job_id else {
                    continue;
                };
                let asking = decision.alert_id.as_deref().and_then(|alert_id| {
                    batch.outputs[..index]
                        .iter()
                        .rev()
                        .find_map(|earlier| match earlier {
                            Output::Alert(alert) if alert.alert_id == alert_id => Some(alert),
                            _ => None,
                        })
                });
                let (version, instance) = match asking {
                    Some(alert) => (
                        Some(alert.model.version.clone()),
                        Some(alert.model.instance.clone()),
                    ),
                    None => jobs::asking_model(tx, decision.alert_id.as_deref(), &decision.model)?,
                };
                // A person's request queues the job it asks for; any other grant (an alert's,
                // a deferred one that a job's end lets through) is the engine's decision.
                let actor = match decision.reason {
                    Reason::Manual => asked_by.unwrap_or(ENGINE),
                    _ => ENGINE,
                };
                jobs::queue_retrain(tx, job_id, decision, (version, instance), created_at, actor)?;
            }
            Output::Retrain(_) => {}
            Output::Canary(verdict) => {
                for notifier in &verdict.notify {
                    deliveries::insert_delivery(tx, notifier, output, json, created_at)?;
                }
                write_canary(tx, verdict, created_at)?;
            }
            Output::JobFinished(notice) => {
                let Some(job_id) = &notice.job_id else {
                    continue;
                };
                let actor = asked_by.unwrap_or(ENGINE);
                jobs::end_retrain(tx, job_id, notice, created_at, actor)?;
                if let (JobStatus::Succeeded, Some(version)) = (notice.status, &notice.version) {
                    registry::register(
                        tx,
                        &notice.model,
                        version,
                        (VersionSource::Job, Some(job_id)),
                        created_at,
                        actor,
                    )?;
                    learned
                        .versions
                        .push((notice.model.clone(), version.clone()));
                }
            }
        }
    }
    for (index, update) in batch.effects.iter().enumerate() {
        apply_update(tx, update, batch.actors.of_effect(index))?;
    }
    Ok(())
}

/// What a canary verdict changes: a failed candidate with the `rollback` action is rolled back
/// in the registry and gets a rollback job; a passed one with `promote` becomes production.
fn write_canary(
    tx: &Transaction<'_>,
    verdict: &CanaryVerdict,
    created_at: Timestamp,
) -> rusqlite::Result<()> {
    let model = &verdict.model;
    let known = registry::status_of(tx, &model.name, &model.version)?;
    if verdict.actions.contains(&"rollback") {
        jobs::queue_rollback(tx, verdict, created_at)?;
        // As the API's rollback: from candidate or production, and a production version
        // rolled back gives way to the one it replaced.
        if let Some(status @ (VersionStatus::Candidate | VersionStatus::Production)) = known {
            registry::set_status(
                tx,
                &model.name,
                &model.version,
                VersionStatus::RolledBack,
                created_at,
                "canary",
                &verdict.message,
            )?;
            if status == VersionStatus::Production {
                registry::restore_previous(tx, &model.name, created_at, "canary")?;
            }
        }
    }
    if verdict.actions.contains(&"promote")
        && known.is_some_and(|status| status != VersionStatus::Production)
    {
        registry::set_status(
            tx,
            &model.name,
            &model.version,
            VersionStatus::Production,
            created_at,
            "canary",
            &verdict.message,
        )?;
    }
    Ok(())
}

/// Applies what the service reports about an outbox row, asked for by `actor` if a request
/// brought it.
fn apply_update(
    tx: &Transaction<'_>,
    update: &EffectUpdate,
    actor: Option<&str>,
) -> rusqlite::Result<()> {
    match update {
        EffectUpdate::Delivery { id, at, result } => {
            deliveries::record_attempt(tx, id, *at, result)
        }
        EffectUpdate::JobStarted { .. }
        | EffectUpdate::JobAttemptEnded { .. }
        | EffectUpdate::JobEnded { .. } => jobs::apply_update(tx, update, actor),
    }
}

#[cfg(test)]
mod tests;
