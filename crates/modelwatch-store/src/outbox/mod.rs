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
//! [`EffectUpdate`]s and [`write_effects`], which a commit calls. `write_effects` decides
//! what to write the same way on every backend and writes through [`EffectWrites`]:
//! `sqlite.rs` holds SQLite's ([`SqliteEffects`]), `crate::pg` PostgreSQL's.

mod deliveries;
mod jobs;
mod sqlite;

use std::collections::{HashMap, HashSet};

use modelwatch_engine::{
    CanaryVerdict, Decision, Input, JobNotice, JobStatus, Output, Reason, RetrainDecision,
    Timestamp,
};

pub use deliveries::{Delivery, DeliveryFilter, DeliveryResult, DeliveryState, delivery_id};
pub use jobs::{AttemptOutcome, Job, JobAttempt, JobFilter, JobKind, JobState, rollback_job_id};
pub(crate) use jobs::{RUNNER, job_ended_detail, rollback_queued_detail};
pub(crate) use sqlite::SqliteEffects;

use crate::batch::Batch;
use crate::registry::{VersionSource, VersionStatus};

/// The audit log's actor for what the engine decides by itself.
const ENGINE: &str = "engine";

/// The audit log's actor for what a canary verdict changes.
pub(crate) const CANARY: &str = "canary";

/// What the service did about an outbox row: written in the next group commit.
#[derive(Clone, Debug, PartialEq)]
pub enum EffectUpdate {
    /// An attempt to deliver a notification is about to send, committed before it does (in a
    /// cluster, where another node may take the partition over): a delivery still marked so
    /// when its next attempt starts is one whose send may have happened, and is counted in
    /// `in_doubt` (the next attempt sends it again, with the same delivery id).
    DeliverySending {
        /// The delivery.
        id: String,
    },
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

/// What the registry learned from one commit, applied to [`Store`](crate::Store)'s memory once it commits.
#[derive(Debug, Default)]
pub(crate) struct Learned {
    pub(crate) versions: Vec<(String, String)>,
}

impl Learned {
    /// Adds the versions learned to `known`, once the commit that registered them succeeded.
    pub(crate) fn teach(self, known: &mut HashMap<String, HashSet<String>>) {
        for (model, version) in self.versions {
            known.entry(model).or_default().insert(version);
        }
    }
}

/// The writes a commit's effects make, on one backend's transaction: [`write_effects`]
/// decides what to write (the same on every backend) and calls these to write it.
pub(crate) trait EffectWrites {
    /// The backend's error.
    type Error;

    /// Registers a version unless it is known (see `crate::registry::register`).
    fn register(
        &mut self,
        model: &str,
        version: &str,
        source: (VersionSource, Option<&str>),
        at: Timestamp,
        actor: &str,
    ) -> Result<(), Self::Error>;

    /// Writes the pending delivery of `output` to `notifier`, once.
    fn insert_delivery(
        &mut self,
        notifier: &str,
        output: &Output,
        json: &str,
        created_at: Timestamp,
    ) -> Result<(), Self::Error>;

    /// The version and instance of the alert that asked for a retrain in an earlier commit,
    /// or for a manual retrain the model's production version.
    fn asking_model(
        &mut self,
        alert_id: Option<&str>,
        model: &str,
    ) -> Result<(Option<String>, Option<String>), Self::Error>;

    /// Queues the retrain job a granted decision asks for, once, with its audit row.
    fn queue_retrain(
        &mut self,
        job_id: &str,
        decision: &RetrainDecision,
        asking: (Option<String>, Option<String>),
        created_at: Timestamp,
        actor: &str,
    ) -> Result<(), Self::Error>;

    /// Ends the retrain job a job notice names, unless it is over already.
    fn end_retrain(
        &mut self,
        job_id: &str,
        notice: &JobNotice,
        created_at: Timestamp,
        actor: &str,
    ) -> Result<(), Self::Error>;

    /// A version's status, if it is registered.
    fn status_of(
        &mut self,
        model: &str,
        version: &str,
    ) -> Result<Option<VersionStatus>, Self::Error>;

    /// Queues the rollback job a failed canary verdict asks for, once, with its audit row.
    fn queue_rollback(
        &mut self,
        verdict: &CanaryVerdict,
        created_at: Timestamp,
    ) -> Result<(), Self::Error>;

    /// Sets a version's status, with its audit row; promoting archives the production
    /// version before it.
    #[allow(clippy::too_many_arguments)]
    fn set_status(
        &mut self,
        model: &str,
        version: &str,
        status: VersionStatus,
        at: Timestamp,
        actor: &str,
        detail: &str,
    ) -> Result<(), Self::Error>;

    /// After production was rolled back: the newest archived version serves again.
    fn restore_previous(
        &mut self,
        model: &str,
        at: Timestamp,
        actor: &str,
    ) -> Result<(), Self::Error>;

    /// Marks notification `id` as being sent (see [`EffectUpdate::DeliverySending`]).
    fn record_sending(&mut self, id: &str) -> Result<(), Self::Error>;

    /// Records an attempt to deliver notification `id`.
    fn record_attempt(
        &mut self,
        id: &str,
        at: Timestamp,
        result: &DeliveryResult,
    ) -> Result<(), Self::Error>;

    /// Applies a job update the runner reported.
    fn apply_job_update(
        &mut self,
        update: &EffectUpdate,
        actor: Option<&str>,
    ) -> Result<(), Self::Error>;
}

/// Writes the outbox and registry rows a committed batch causes, in its transaction, through
/// `writes` (SQLite's: [`SqliteEffects`]; PostgreSQL's: `crate::pg`).
pub(crate) fn write_effects<W: EffectWrites>(
    writes: &mut W,
    batch: &Batch,
    outputs_json: &[String],
    known: &HashMap<String, HashSet<String>>,
    learned: &mut Learned,
) -> Result<(), W::Error> {
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
        writes.register(
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
                    writes.insert_delivery(notifier, output, json, created_at)?;
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
                    None => writes.asking_model(decision.alert_id.as_deref(), &decision.model)?,
                };
                // A person's request queues the job it asks for; any other grant (an alert's,
                // a deferred one that a job's end lets through) is the engine's decision.
                let actor = match decision.reason {
                    Reason::Manual => asked_by.unwrap_or(ENGINE),
                    _ => ENGINE,
                };
                writes.queue_retrain(job_id, decision, (version, instance), created_at, actor)?;
            }
            Output::Retrain(_) => {}
            Output::Canary(verdict) => {
                for notifier in &verdict.notify {
                    writes.insert_delivery(notifier, output, json, created_at)?;
                }
                write_canary(writes, verdict, created_at)?;
            }
            Output::JobFinished(notice) => {
                let Some(job_id) = &notice.job_id else {
                    continue;
                };
                let actor = asked_by.unwrap_or(ENGINE);
                writes.end_retrain(job_id, notice, created_at, actor)?;
                if let (JobStatus::Succeeded, Some(version)) = (notice.status, &notice.version) {
                    writes.register(
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
        apply_update(writes, update, batch.actors.of_effect(index))?;
    }
    Ok(())
}

/// What a canary verdict changes: a failed candidate with the `rollback` action is rolled back
/// in the registry and gets a rollback job; a passed one with `promote` becomes production.
fn write_canary<W: EffectWrites>(
    writes: &mut W,
    verdict: &CanaryVerdict,
    created_at: Timestamp,
) -> Result<(), W::Error> {
    let model = &verdict.model;
    let known = writes.status_of(&model.name, &model.version)?;
    if verdict.actions.contains(&"rollback") {
        writes.queue_rollback(verdict, created_at)?;
        // As the API's rollback: from candidate or production, and a production version
        // rolled back gives way to the one it replaced.
        if let Some(status @ (VersionStatus::Candidate | VersionStatus::Production)) = known {
            writes.set_status(
                &model.name,
                &model.version,
                VersionStatus::RolledBack,
                created_at,
                CANARY,
                &verdict.message,
            )?;
            if status == VersionStatus::Production {
                writes.restore_previous(&model.name, created_at, CANARY)?;
            }
        }
    }
    if verdict.actions.contains(&"promote")
        && known.is_some_and(|status| status != VersionStatus::Production)
    {
        writes.set_status(
            &model.name,
            &model.version,
            VersionStatus::Production,
            created_at,
            CANARY,
            &verdict.message,
        )?;
    }
    Ok(())
}

/// Applies what the service reports about an outbox row, asked for by `actor` if a request
/// brought it.
fn apply_update<W: EffectWrites>(
    writes: &mut W,
    update: &EffectUpdate,
    actor: Option<&str>,
) -> Result<(), W::Error> {
    match update {
        EffectUpdate::Delivery { id, at, result } => writes.record_attempt(id, *at, result),
        EffectUpdate::DeliverySending { id } => writes.record_sending(id),
        EffectUpdate::JobStarted { .. }
        | EffectUpdate::JobAttemptEnded { .. }
        | EffectUpdate::JobEnded { .. } => writes.apply_job_update(update, actor),
    }
}

#[cfg(test)]
mod tests;
