//! [`Batch`]: what one group commit writes (the [`Record`]s of many requests, every output
//! they caused, the effect updates the service reports, and who asked for what), and the
//! rules it must follow, checked before anything is written.

use std::collections::BTreeMap;

use modelwatch_engine::{Input, Output, Timestamp};

use crate::StoreError;
use crate::outbox::EffectUpdate;

/// One input ready to be stored: numbered and stamped by the engine's owner.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The engine's sequence number for it.
    pub seq: u64,
    /// When the service received it (wall time).
    pub received_at: Timestamp,
    /// The input, with its timestamp resolved (never "now").
    pub input: Input,
}

/// What one commit writes: inputs of any number of requests, in sequence order, and every
/// output they caused.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    /// The inputs, their sequence numbers following on from the store's last one.
    pub records: Vec<Record>,
    /// The outputs of those inputs, in the engine's order.
    pub outputs: Vec<Output>,
    /// What the service did about outbox rows (deliveries, jobs), written after the outputs.
    pub effects: Vec<EffectUpdate>,
    /// Who asked for the inputs and effect updates that people's requests brought (see
    /// [`Batch::push_by`]).
    pub actors: Actors,
    /// In a cluster, the ingest log's stream sequence the batch consumes through: the
    /// PostgreSQL store writes it with the batch, in the same transaction, so that a
    /// partition taken over resumes right after it (SQLite has no log and ignores it).
    pub log_seq: Option<u64>,
}

/// Who asked for what in a [`Batch`]: for an input or an effect update that a request
/// brought, the configured name of the request's token (never its value). The audit rows it
/// causes name that actor: a manual retrain's `job_queued`, a job's `job_ended` (a
/// cancellation, a trainer's report), the versions it registers. Everything else is
/// `engine` (the engine's own decisions), `canary` (a verdict) or `runner` (the job runner,
/// ending a rollback job by itself).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actors {
    /// By input sequence number.
    inputs: BTreeMap<u64, String>,
    /// By index in [`Batch::effects`].
    effects: BTreeMap<usize, String>,
}

impl Actors {
    /// Who asked for input `seq`, if a request's token did.
    pub fn of_input(&self, seq: u64) -> Option<&str> {
        self.inputs.get(&seq).map(String::as_str)
    }

    /// Who asked for the effect update at `index` of [`Batch::effects`], if a request's token
    /// did.
    pub fn of_effect(&self, index: usize) -> Option<&str> {
        self.effects.get(&index).map(String::as_str)
    }
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds one processed input and the outputs it caused.
    pub fn push(&mut self, record: Record, outputs: impl IntoIterator<Item = Output>) {
        self.records.push(record);
        self.outputs.extend(outputs);
    }

    /// Adds one processed input and the outputs it caused, asked for by `actor`: the name of
    /// the token of the request that brought it (see [`Actors`]).
    pub fn push_by(
        &mut self,
        record: Record,
        outputs: impl IntoIterator<Item = Output>,
        actor: &str,
    ) {
        self.actors.inputs.insert(record.seq, actor.to_string());
        self.push(record, outputs);
    }

    /// Adds effect updates asked for by `actor` (a cancellation through the API, a trainer's
    /// report): the name of the request's token (see [`Actors`]).
    pub fn push_effects_by(
        &mut self,
        effects: impl IntoIterator<Item = EffectUpdate>,
        actor: &str,
    ) {
        for effect in effects {
            self.actors
                .effects
                .insert(self.effects.len(), actor.to_string());
            self.effects.push(effect);
        }
    }

    /// Whether the batch holds no input and no effect update.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.effects.is_empty()
    }
}

/// The store's last sequence number once `batch` is committed on top of `last_seq`.
pub(crate) fn new_last(batch: &Batch, last_seq: u64) -> u64 {
    batch.records.last().map_or(last_seq, |record| record.seq)
}

/// Checks the batch against the rules of [`Store::commit`](crate::Store::commit) before anything is written.
pub(crate) fn check(batch: &Batch, last_seq: u64) -> Result<(), StoreError> {
    let mut expected = last_seq.saturating_add(1);
    for record in &batch.records {
        if record.seq != expected {
            return Err(StoreError::Sequence {
                expected,
                found: record.seq,
            });
        }
        if record.input.timestamp().is_none() {
            return Err(StoreError::Unstamped { seq: record.seq });
        }
        expected = expected.saturating_add(1);
    }
    let first = last_seq.saturating_add(1);
    let last = batch.records.last().map_or(last_seq, |record| record.seq);
    if let Some(orphan) = batch
        .outputs
        .iter()
        .find(|output| !(first..=last).contains(&output.seq()))
    {
        return Err(StoreError::OrphanOutput {
            id: orphan.id().to_string(),
            seq: orphan.seq(),
        });
    }
    Ok(())
}
