//! [`SqliteEffects`]: the writes of a commit's effects ([`EffectWrites`]) on SQLite, in the
//! commit's transaction.

use modelwatch_engine::{CanaryVerdict, JobNotice, Output, RetrainDecision, Timestamp};
use rusqlite::Transaction;

use super::{DeliveryResult, EffectUpdate, EffectWrites, deliveries, jobs};
use crate::registry::{self, VersionSource, VersionStatus};

/// A SQLite commit's transaction, as [`super::write_effects`] writes through it.
pub(crate) struct SqliteEffects<'a, 'tx>(pub(crate) &'a Transaction<'tx>);

impl EffectWrites for SqliteEffects<'_, '_> {
    type Error = rusqlite::Error;

    fn register(
        &mut self,
        model: &str,
        version: &str,
        source: (VersionSource, Option<&str>),
        at: Timestamp,
        actor: &str,
    ) -> rusqlite::Result<()> {
        registry::register(self.0, model, version, source, at, actor)
    }

    fn insert_delivery(
        &mut self,
        notifier: &str,
        output: &Output,
        json: &str,
        created_at: Timestamp,
    ) -> rusqlite::Result<()> {
        deliveries::insert_delivery(self.0, notifier, output, json, created_at)
    }

    fn asking_model(
        &mut self,
        alert_id: Option<&str>,
        model: &str,
    ) -> rusqlite::Result<(Option<String>, Option<String>)> {
        jobs::asking_model(self.0, alert_id, model)
    }

    fn queue_retrain(
        &mut self,
        job_id: &str,
        decision: &RetrainDecision,
        asking: (Option<String>, Option<String>),
        created_at: Timestamp,
        actor: &str,
    ) -> rusqlite::Result<()> {
        jobs::queue_retrain(self.0, job_id, decision, asking, created_at, actor)
    }

    fn end_retrain(
        &mut self,
        job_id: &str,
        notice: &JobNotice,
        created_at: Timestamp,
        actor: &str,
    ) -> rusqlite::Result<()> {
        jobs::end_retrain(self.0, job_id, notice, created_at, actor)
    }

    fn status_of(&mut self, model: &str, version: &str) -> rusqlite::Result<Option<VersionStatus>> {
        registry::status_of(self.0, model, version)
    }

    fn queue_rollback(
        &mut self,
        verdict: &CanaryVerdict,
        created_at: Timestamp,
    ) -> rusqlite::Result<()> {
        jobs::queue_rollback(self.0, verdict, created_at)
    }

    fn set_status(
        &mut self,
        model: &str,
        version: &str,
        status: VersionStatus,
        at: Timestamp,
        actor: &str,
        detail: &str,
    ) -> rusqlite::Result<()> {
        registry::set_status(self.0, model, version, status, at, actor, detail)
    }

    fn restore_previous(
        &mut self,
        model: &str,
        at: Timestamp,
        actor: &str,
    ) -> rusqlite::Result<()> {
        registry::restore_previous(self.0, model, at, actor)
    }

    /// A single node marks no sends: there is no other node to take its outbox over, and
    /// after a crash its restart repeats the attempt under way, with the same delivery id.
    fn record_sending(&mut self, _id: &str) -> rusqlite::Result<()> {
        Ok(())
    }

    fn record_attempt(
        &mut self,
        id: &str,
        at: Timestamp,
        result: &DeliveryResult,
    ) -> rusqlite::Result<()> {
        deliveries::record_attempt(self.0, id, at, result)
    }

    fn apply_job_update(
        &mut self,
        update: &EffectUpdate,
        actor: Option<&str>,
    ) -> rusqlite::Result<()> {
        jobs::apply_update(self.0, update, actor)
    }
}
