//! Checkpoints: how the write-ahead log gets copied into the database file, by the committing
//! connection itself or by a [`Checkpointer`] beside it on another thread.

use std::path::PathBuf;

use rusqlite::Connection;

use crate::{BUSY_TIMEOUT, SqliteStore, StoreError};

/// How the write-ahead log gets copied into the database file (a checkpoint).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checkpoints {
    /// By the committing connection itself, whenever the log reaches 1,000 pages (SQLite's
    /// default): the commit that crosses the mark waits for the copy.
    InCommits,
    /// By a [`Checkpointer`] beside it; the committing connection only steps in once the log
    /// reaches this many pages (when the checkpointer falls behind).
    Beside {
        /// The log size, in pages, at which a commit checkpoints after all.
        backstop_pages: u32,
    },
}

/// A checkpoint's outcome, as `PRAGMA wal_checkpoint` reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// Pages in the write-ahead log.
    pub log_pages: u64,
    /// Of those, pages now copied into the database file.
    pub checkpointed: u64,
}

/// A connection to a store's file that only checkpoints, so that copying the write-ahead log
/// into the database (and its fsync) happens beside the committing connection, on another
/// thread, instead of inside one of its commits.
#[derive(Debug)]
pub struct Checkpointer {
    connection: Connection,
    path: PathBuf,
}

impl Checkpointer {
    /// A checkpointing connection to `store`'s file.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the file cannot be opened.
    pub fn open(store: &SqliteStore) -> Result<Checkpointer, StoreError> {
        let path = store.path.clone();
        let connection = Connection::open(&path)
            .and_then(|connection| {
                connection.busy_timeout(BUSY_TIMEOUT)?;
                Ok(connection)
            })
            .map_err(|error| StoreError::Sqlite {
                path: path.clone(),
                action: "opening a checkpointing connection",
                error,
            })?;
        Ok(Checkpointer { connection, path })
    }

    /// Copies what it can of the write-ahead log into the database file without waiting for
    /// readers or the writer (`PASSIVE`); the writer starts the log over once all of it is
    /// copied.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when SQLite fails (an I/O error).
    pub fn checkpoint(&mut self) -> Result<Checkpoint, StoreError> {
        self.connection
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                Ok(Checkpoint {
                    log_pages: row.get::<_, i64>(1)?.max(0).unsigned_abs(),
                    checkpointed: row.get::<_, i64>(2)?.max(0).unsigned_abs(),
                })
            })
            .map_err(|error| StoreError::Sqlite {
                path: self.path.clone(),
                action: "checkpointing the write-ahead log",
                error,
            })
    }
}

impl SqliteStore {
    /// Who checkpoints the write-ahead log (see [`Checkpoints`]); [`Checkpoints::InCommits`]
    /// after [`Store::open`](crate::Store::open).
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when SQLite refuses the setting.
    pub fn set_checkpoints(&mut self, checkpoints: Checkpoints) -> Result<(), StoreError> {
        let pages = match checkpoints {
            Checkpoints::InCommits => 1_000,
            Checkpoints::Beside { backstop_pages } => backstop_pages.max(1),
        };
        self.connection
            .pragma_update(None, "wal_autocheckpoint", pages)
            .map_err(|error| StoreError::Sqlite {
                path: self.path.clone(),
                action: "setting wal_autocheckpoint",
                error,
            })
    }
}
