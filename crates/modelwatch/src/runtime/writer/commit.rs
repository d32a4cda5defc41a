//! What the writer does when the store cannot write for a while (a full disk, an I/O error, a
//! busy database: [`StoreError::is_transient`]).
//!
//! The requests of a failed commit are told that nothing of them is stored (503, with the
//! store's reason). The engine had already consumed their inputs, so it is rolled back to what
//! the store holds: rebuilt from the latest snapshot and the stored inputs after it, as
//! recovery does (reads only, which work on a full disk). Until a write succeeds again the
//! status is [`Status::Retrying`] with the reason (`/readyz` answers 503 with it), events are
//! refused with it, and reads, scrapes and version changes go on. The writer tries a write
//! again after a backoff (100 ms, doubling up to 5 s, on tokio's clock, which tests drive):
//! the pending series points if there are any, then a snapshot of the rolled-back engine
//! unless the latest one is of it (which also makes the next rollback quick). Once that
//! succeeds the writer takes events again, by itself. A disk that is nearly full may take that
//! write and refuse the next commit: the backoff goes on growing until a commit of events
//! succeeds, so such a disk is tried every 5 s at most. Any other failure stops the writer,
//! as before.

use std::time::Duration;

use modelwatch_store::StoreError;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::recovery::rebuild;
use super::{CommitFailed, Message, Status, Writer, WriterError};

/// The wait before the first try after a failed write.
pub const FIRST_RETRY: Duration = Duration::from_millis(100);

/// The longest wait between two tries: the wait doubles up to it.
pub const LAST_RETRY: Duration = Duration::from_secs(5);

/// The store failed to write; the writer waits to try again.
#[derive(Debug)]
pub(super) struct Trouble {
    /// Why the writer takes no events, as `/readyz` and refused requests say it.
    reason: String,
    /// When to try a write again.
    retry_at: Instant,
    /// The engine is still ahead of the store: rebuilding it failed too.
    engine_ahead: bool,
}

impl Trouble {
    /// What a refused request is told.
    pub(super) fn refusal(&self) -> CommitFailed {
        CommitFailed {
            message: self.reason.clone(),
            retrying: true,
        }
    }
}

/// What the writer got while it waited to try a write again.
pub(super) enum Waited {
    /// A message came first.
    Message(Message),
    /// Time to try.
    Retry,
    /// Every sender is gone.
    Closed,
}

/// The wait after `failures` failed writes in a row: 100 ms, doubling, at most 5 s.
pub fn retry_delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    FIRST_RETRY.saturating_mul(1 << doublings).min(LAST_RETRY)
}

impl Writer<'_> {
    /// A write failed. A transient failure puts the writer in trouble (rolling the engine
    /// back to the store when `engine_ahead`: it consumed inputs the store refused); any
    /// other is returned, to stop the writer.
    ///
    /// # Errors
    ///
    /// `error` when it is not transient; what stops a rollback that cannot be retried.
    pub(super) fn write_failed(
        &mut self,
        error: StoreError,
        engine_ahead: bool,
    ) -> Result<(), WriterError> {
        self.metrics.record_write_failure();
        if !error.is_transient() {
            return Err(error.into());
        }
        self.failed_writes = self.failed_writes.saturating_add(1);
        let failures = self.failed_writes;
        let engine_ahead = engine_ahead
            || self
                .trouble
                .as_ref()
                .is_some_and(|trouble| trouble.engine_ahead);
        let delay = retry_delay(failures);
        tracing::warn!(
            error = %error,
            failures,
            retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "A write to the store failed; events are refused until a write succeeds."
        );
        let reason = format!("the last commit failed: {error}; retrying");
        self.status.send_replace(Status::Retrying {
            message: reason.clone(),
        });
        self.trouble = Some(Trouble {
            reason,
            retry_at: self.deadline(delay),
            engine_ahead,
        });
        if engine_ahead {
            self.roll_back()?;
        }
        Ok(())
    }

    /// Whether the engine holds only what the store holds, so that scrapes may read it.
    pub(super) fn engine_matches_store(&self) -> bool {
        !self
            .trouble
            .as_ref()
            .is_some_and(|trouble| trouble.engine_ahead)
    }

    /// Rebuilds the engine from the store. A read that fails for a transient cause is tried
    /// again at the next retry.
    fn roll_back(&mut self) -> Result<(), WriterError> {
        match rebuild(self.config.clone(), &self.store, self.metrics) {
            Ok(rebuilt) => {
                tracing::info!(
                    last_seq = rebuilt.engine.last_seq(),
                    replayed = rebuilt.replayed,
                    "The engine is rolled back to the store's last commit."
                );
                self.engine = rebuilt.engine;
                if let Some(trouble) = &mut self.trouble {
                    trouble.engine_ahead = false;
                }
                Ok(())
            }
            Err(WriterError::Store(error)) if error.is_transient() => {
                tracing::warn!(error = %error, "Rolling the engine back to the store failed.");
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// Waits for the next message, or for the time to try a write again.
    pub(super) fn wait(&self, queue: &mut mpsc::Receiver<Message>) -> Waited {
        let Some(trouble) = &self.trouble else {
            return queue
                .blocking_recv()
                .map_or(Waited::Closed, Waited::Message);
        };
        let retry_at = trouble.retry_at;
        let received = self
            .timers
            .block_on(async { tokio::time::timeout_at(retry_at, queue.recv()).await });
        match received {
            Ok(Some(message)) => Waited::Message(message),
            Ok(None) => Waited::Closed,
            Err(_) => Waited::Retry,
        }
    }

    /// Tries a write: the pending points, else a snapshot of the engine. Success ends the
    /// trouble; a transient failure waits longer.
    ///
    /// # Errors
    ///
    /// A failure that is not transient.
    pub(super) fn retry(&mut self) -> Result<(), WriterError> {
        if self.trouble.is_none() {
            return Ok(());
        }
        if !self.engine_matches_store() {
            self.roll_back()?;
            if !self.engine_matches_store() {
                self.failed_writes = self.failed_writes.saturating_add(1);
                let retry_at = self.deadline(retry_delay(self.failed_writes));
                if let Some(trouble) = &mut self.trouble {
                    trouble.retry_at = retry_at;
                }
                return Ok(());
            }
        }
        let mut written = Ok(());
        if self.store.pending_points() > 0 {
            written = self.flush_points().map(drop);
        }
        if written.is_ok() && self.engine.last_seq() > self.snapshot_seq {
            written = self.save_snapshot();
        }
        match written {
            Ok(()) => {
                self.trouble = None;
                tracing::info!(
                    failures = self.failed_writes,
                    "The store writes again; the writer takes events again."
                );
                self.status.send_replace(self.ready.clone());
                Ok(())
            }
            Err(error) => self.write_failed(error, false),
        }
    }

    /// `delay` from now on tokio's clock (paused in tests).
    fn deadline(&self, delay: Duration) -> Instant {
        let _entered = self.timers.enter();
        Instant::now() + delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_starts_at_100_ms_and_doubles_up_to_5_s() {
        let waits: Vec<u128> = (1..=9).map(|n| retry_delay(n).as_millis()).collect();
        assert_eq!(
            waits,
            [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000]
        );
        assert_eq!(retry_delay(u32::MAX), LAST_RETRY);
    }
}
