//! The writer's upkeep in bounded steps: writing the pending series points and saving engine
//! snapshots a small part at a time between group commits, so that no single part holds the
//! writer (and the requests waiting for their commit) for long.
//!
//! - Points: once [`POINTS_PER_FLUSH`] points wait, a round of points begins
//!   ([`modelwatch_store::Store::flush_points_step`]); each step writes about [`POINTS_PER_STEP`] points (more when the commit before it
//!   brought more: twice what it brought, so that the steps keep up with any ingest rate and
//!   the points in memory stay bounded), one step after each commit, and steps back to back
//!   while the queue is empty.
//! - Snapshots: when one is due, the engine begins encoding its state after the last committed
//!   input ([`Engine::begin_snapshot`](modelwatch_engine::Engine::begin_snapshot)); the steps
//!   encode it [`SNAPSHOT_BYTES_PER_STEP`] at a time while commits go on (the engine keeps the
//!   state where the encoding began), then save it with `Store::begin_snapshot` and
//!   `Store::save_snapshot_step`, the same amount a step, the last piece and the snapshot's
//!   row in one transaction, so recovery only ever sees a whole snapshot (the previous one
//!   until then; after a crash mid-way, the unfinished pieces are ignored and deleted later).
//!   Recovery restores it and replays the inputs committed after it.
//!
//! A points step that fails for a transient cause (a full disk) is a failed write like a failed
//! commit (`commit.rs`: retried with backoff); any other stops the writer. A failed
//! snapshot step gives that snapshot up, is counted, and the next commit begins another.
//!
//! The one-shot calls remain where nobody waits for a commit or where the work must be whole at
//! once: at recovery, when the queue closes, before a read of points and at the start of a
//! retention pass.

use modelwatch_store::{POINTS_PER_FLUSH, Snapshot, SnapshotDraft};

use super::{Writer, WriterError};

/// Points one step writes at least (about 1 ms over 1,000 series, BENCHMARKS.md).
pub const POINTS_PER_STEP: usize = 8_192;

/// Snapshot bytes one step encodes, and then one step saves (or deletes, of the snapshot it
/// replaces).
pub const SNAPSHOT_BYTES_PER_STEP: usize = 256 * 1024;

/// The upkeep under way, between commits.
#[derive(Debug)]
pub(super) struct Upkeep {
    /// Pending points that begin a round.
    flush_at: usize,
    /// Points one step writes at least.
    points_per_step: usize,
    /// Snapshot bytes one step encodes or saves.
    snapshot_bytes_per_step: usize,
    /// Whether a round of points is being written.
    flushing: bool,
    /// A snapshot encoded and being saved (or deleting what it replaced); while the engine
    /// encodes one, none.
    saving: Option<SnapshotDraft>,
    /// The wall time when the snapshot under way began, its `taken_at`.
    began_at: modelwatch_engine::Timestamp,
}

impl Default for Upkeep {
    fn default() -> Upkeep {
        Upkeep::with_steps(POINTS_PER_FLUSH, POINTS_PER_STEP, SNAPSHOT_BYTES_PER_STEP)
    }
}

impl Upkeep {
    /// Upkeep that begins a round of points once `flush_at` wait, with steps of these sizes.
    pub(super) fn with_steps(
        flush_at: usize,
        points_per_step: usize,
        snapshot_bytes_per_step: usize,
    ) -> Upkeep {
        Upkeep {
            flush_at,
            points_per_step: points_per_step.max(1),
            snapshot_bytes_per_step: snapshot_bytes_per_step.max(1),
            flushing: false,
            saving: None,
            began_at: modelwatch_engine::Timestamp::EPOCH,
        }
    }
}

impl Writer<'_> {
    /// Whether a snapshot is under way: being encoded, saved, or deleting what it replaced.
    fn snapshot_under_way(&self) -> bool {
        self.upkeep.saving.is_some() || self.engine.snapshot_in_progress().is_some()
    }

    /// Whether upkeep has a step to take.
    pub(super) fn upkeep_pending(&self) -> bool {
        self.upkeep.flushing || self.snapshot_under_way()
    }

    /// After a group commit that added `points` points: begins what is due (a round of points,
    /// a snapshot) and takes one step of each kind under way.
    ///
    /// # Errors
    ///
    /// The store's, when points cannot be written: that stops the writer like a failed
    /// commit.
    pub(super) fn after_commit(&mut self, points: usize) -> Result<(), WriterError> {
        if self.store.pending_points() >= self.upkeep.flush_at {
            self.upkeep.flushing = true;
        }
        let every = self
            .options
            .snapshot_every
            .max(self.snapshot_len / super::SNAPSHOT_BYTES_PER_INPUT)
            .max(1);
        if !self.snapshot_under_way()
            && self.engine.last_seq() >= self.snapshot_seq.saturating_add(every)
        {
            self.begin_snapshot();
        }
        if self.upkeep.flushing {
            let budget = self.upkeep.points_per_step.max(points.saturating_mul(2));
            self.points_step(budget)?;
        }
        if self.snapshot_under_way() {
            self.snapshot_step();
        }
        Ok(())
    }

    /// One step while the queue is empty: points first, then the snapshot, then the retention
    /// pass under way.
    ///
    /// # Errors
    ///
    /// As [`Writer::after_commit`].
    pub(super) fn idle_step(&mut self) -> Result<(), WriterError> {
        if self.upkeep.flushing {
            self.points_step(self.upkeep.points_per_step)
        } else if self.snapshot_under_way() {
            self.snapshot_step();
            Ok(())
        } else {
            self.retention_step();
            Ok(())
        }
    }

    /// Takes the steps under way until none is left: for when the queue closed.
    ///
    /// # Errors
    ///
    /// As [`Writer::after_commit`].
    pub(super) fn finish_upkeep(&mut self) -> Result<(), WriterError> {
        while self.upkeep_pending() {
            if self.upkeep.flushing {
                self.points_step(usize::MAX)?;
            } else {
                self.snapshot_step();
            }
        }
        Ok(())
    }

    /// Writes one step of the round of points under way; asks for a checkpoint when the round
    /// ends (a round adds hundreds of pages to the write-ahead log).
    fn points_step(&mut self, budget: usize) -> Result<(), WriterError> {
        let step = match self.store.flush_points_step(budget) {
            Ok(step) => step,
            Err(error) => {
                // A full disk puts the writer in trouble (its retry writes the points); any
                // other failure stops it, as a failed flush does.
                self.upkeep.flushing = false;
                return self.write_failed(error, false);
            }
        };
        self.metrics
            .record_points_pending(self.store.pending_points());
        if step.done {
            self.upkeep.flushing = false;
            if step.written > 0 {
                self.request_checkpoint();
            }
        }
        Ok(())
    }

    /// Begins encoding a snapshot of the engine after the last committed input. A failure is
    /// counted and changes nothing: the next commit tries again.
    fn begin_snapshot(&mut self) {
        if self.engine.last_seq() == 0 {
            return;
        }
        match self.engine.begin_snapshot() {
            Ok(()) => self.upkeep.began_at = self.wall,
            Err(error) => {
                tracing::warn!(error = %error, "An engine snapshot could not be encoded.");
                self.metrics.record_snapshot_failure();
            }
        }
    }

    /// One step of the snapshot under way: encoding, then saving, then deleting what it
    /// replaced. A failure gives the snapshot up and is counted; the previous one stays.
    fn snapshot_step(&mut self) {
        let bytes = self.upkeep.snapshot_bytes_per_step;
        if let Some(draft) = &mut self.upkeep.saving {
            let was_saved = draft.is_saved();
            match self.store.save_snapshot_step(draft, bytes) {
                Ok(step) => {
                    if !was_saved && draft.is_saved() {
                        let saved = draft.snapshot();
                        let (seq, len) = (saved.seq, saved.state.len());
                        self.snapshot_saved(seq, len);
                    }
                    if step.done {
                        self.upkeep.saving = None;
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error, "A step of saving an engine snapshot failed.");
                    self.metrics.record_snapshot_failure();
                    self.upkeep.saving = None;
                }
            }
            return;
        }
        let encoded = match self.engine.snapshot_step(bytes) {
            Ok(Some(encoded)) => encoded,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(error = %error, "An engine snapshot could not be encoded.");
                self.metrics.record_snapshot_failure();
                return;
            }
        };
        let snapshot = Snapshot {
            seq: encoded.seq,
            taken_at: self.upkeep.began_at,
            config_digest: self.config_digest.clone(),
            state: encoded.bytes,
        };
        match self.store.begin_snapshot(snapshot) {
            Ok(draft) => self.upkeep.saving = Some(draft),
            Err(error) => {
                tracing::warn!(error = %error, "An engine snapshot could not be saved.");
                self.metrics.record_snapshot_failure();
            }
        }
    }

    /// Notes a snapshot saved at input `seq` of `len` bytes: the latest, unless a newer one
    /// was saved at once meanwhile.
    pub(super) fn snapshot_saved(&mut self, seq: u64, len: usize) {
        if seq >= self.snapshot_seq {
            self.snapshot_seq = seq;
            self.snapshot_len = u64::try_from(len).unwrap_or(u64::MAX);
            self.metrics.record_snapshot(seq);
        }
    }
}

#[cfg(test)]
mod tests;
