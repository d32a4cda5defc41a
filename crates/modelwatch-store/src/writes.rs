//! Write transactions: how every write of a [`crate::Store`] begins and ends, so that a failed
//! one (a full disk, an I/O error, a busy lock) leaves the store as it was, and the next one
//! succeeds once the cause is gone.
//!
//! A write begins by clearing what an earlier failure may have left on the connection: a
//! transaction SQLite could not roll back, a `synchronous` setting that did not take. It
//! commits through the fault-injection hook (`faults.rs`), which tests use to make it fail.
//! Whatever the store keeps in memory about its writes changes only once the commit succeeded.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::faults::Hook;

/// How durable a write is once it commits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Durability {
    /// On disk before the commit returns (`synchronous = FULL`).
    Synced,
    /// In the write-ahead log without an fsync of its own (`synchronous = NORMAL`): a crash
    /// may lose it, and the next synced commit's fsync makes it durable with that commit. For
    /// rows that derive from synced ones (series points, snapshots), whose loss only costs
    /// their rewriting.
    Deferred,
}

/// What a store knows about its connection's writes.
#[derive(Debug)]
pub(crate) struct Writes {
    /// The connection's `synchronous` setting; `None` when a change failed halfway.
    synchronous: Option<Durability>,
    hook: Hook,
}

impl Writes {
    /// For a connection just opened with `synchronous = FULL` on the database at `path`.
    pub(crate) fn new(path: &std::path::Path) -> Writes {
        Writes {
            synchronous: Some(Durability::Synced),
            hook: Hook::for_database(path),
        }
    }

    /// Begins an immediate write transaction on `connection` (the store's) with the given
    /// durability. A transaction left open by a failed rollback is rolled back first.
    pub(crate) fn begin<'c>(
        &mut self,
        connection: &'c Connection,
        durability: Durability,
    ) -> rusqlite::Result<Transaction<'c>> {
        if !connection.is_autocommit() {
            // Only a failed commit whose rollback failed too leaves one: none of it may stay,
            // and no later write may join it.
            connection.execute_batch("ROLLBACK")?;
        }
        if self.synchronous != Some(durability) {
            self.synchronous = None;
            connection.execute_batch(match durability {
                Durability::Synced => "PRAGMA synchronous = FULL",
                Durability::Deferred => "PRAGMA synchronous = NORMAL",
            })?;
            self.synchronous = Some(durability);
        }
        self.hook.before_write(connection)?;
        Transaction::new_unchecked(connection, TransactionBehavior::Immediate)
    }

    /// Commits `tx`; when that fails, it is rolled back and nothing of it stays.
    pub(crate) fn commit(&self, tx: Transaction<'_>) -> rusqlite::Result<()> {
        self.hook.before_commit()?;
        tx.commit()
    }
}
