//! [`StoreError`]: what went wrong in the store, naming the database file and the step that
//! failed. Each message carries its cause, so printing the error alone tells the whole story.

use std::path::PathBuf;

use rusqlite::ErrorCode;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory could not be created.
    #[error("cannot create the data directory {}: {error}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        error: std::io::Error,
    },
    /// SQLite refused a step: opening, a pragma, the migration, a write or a read.
    #[error("{action} failed on {}: {error}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What the store was doing, such as `opening the database` or `committing a batch`.
        action: &'static str,
        /// SQLite's answer.
        error: rusqlite::Error,
    },
    /// The database was written by a newer modelwatch.
    /// PostgreSQL failed a step; `database` is where, without a password.
    #[error("{action} failed on {database}: {}", crate::pg::describe_error(error))]
    Postgres {
        /// The database, as `host:port/name`.
        database: String,
        /// The step that failed.
        action: &'static str,
        /// PostgreSQL's error.
        error: postgres::Error,
    },
    /// A `--store` URL that cannot be used.
    #[error("the store URL {url:?} cannot be used: {reason}")]
    BadUrl {
        /// The URL, with any password replaced by `***`.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// What this backend does not do.
    #[error("the {backend} store cannot {what}")]
    Unsupported {
        /// `SQLite` or `PostgreSQL`.
        backend: &'static str,
        /// What was asked.
        what: &'static str,
    },
    /// A write on a partition this node no longer holds: another node took its lease over
    /// (its lease epoch moved past ours), so nothing was written.
    #[error(
        "partition {partition} is no longer ours: our lease epoch is {ours}, the stored one \
         {stored}; nothing was written"
    )]
    Fenced {
        /// The partition.
        partition: u32,
        /// The epoch this store writes under.
        ours: i64,
        /// The epoch in the lease table (0 when no lease is stored).
        stored: i64,
    },
    #[error(
        "{} has schema version {found}, newer than version {supported} that this modelwatch \
         knows; run a newer modelwatch or use another data directory",
        path.display()
    )]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// The version found in the file (`PRAGMA user_version`).
        found: i64,
        /// The newest version this build can use.
        supported: i64,
    },
    /// The file system does not allow SQLite's write-ahead log.
    #[error("{} cannot use write-ahead logging: the journal mode stayed {mode:?}", path.display())]
    NoWal {
        /// The database file.
        path: PathBuf,
        /// The journal mode SQLite reported instead of `wal`.
        mode: String,
    },
    /// A batch's inputs do not follow on from the stored ones, one by one.
    #[error("input sequence numbers must follow on without gaps: expected {expected}, got {found}")]
    Sequence {
        /// The sequence number the next input must have.
        expected: u64,
        /// The one it had.
        found: u64,
    },
    /// An input has no timestamp; the store keeps resolved times only.
    #[error("input {seq} has no timestamp; stamp it with its receive time before storing it")]
    Unstamped {
        /// The input's sequence number.
        seq: u64,
    },
    /// An output names an input that is not in its batch.
    #[error("output {id} was caused by input {seq}, which is not in the batch")]
    OrphanOutput {
        /// The output's id.
        id: String,
        /// The sequence number it names.
        seq: u64,
    },
    /// A snapshot was offered for a state other than the stored one (saved at once), or for
    /// a state after it (saved in steps).
    #[error(
        "an engine snapshot must be of the stored state: it is at input {snapshot}, the store \
         at input {stored}"
    )]
    SnapshotBehind {
        /// The snapshot's sequence number.
        snapshot: u64,
        /// The store's last sequence number.
        stored: u64,
    },
    /// A value could not be written as JSON (a bug: outputs and inputs always serialize).
    #[error("cannot encode {what} of input {seq} as JSON: {error}")]
    Encode {
        /// What was being encoded: `input` or `output`.
        what: &'static str,
        /// The input's sequence number.
        seq: u64,
        /// serde_json's answer.
        error: serde_json::Error,
    },
    /// A stored value cannot be read back: the file was changed outside modelwatch.
    #[error("stored input {seq} in {} is unreadable: {message}", path.display())]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// The input's sequence number.
        seq: u64,
        /// What is wrong with it.
        message: String,
    },
    /// A stored chunk of series points cannot be read back: the file was changed outside
    /// modelwatch.
    #[error("stored point chunk {chunk} in {} is unreadable: {message}", path.display())]
    CorruptChunk {
        /// The database file.
        path: PathBuf,
        /// The chunk's row id in `point_chunks`.
        chunk: i64,
        /// What is wrong with it.
        message: String,
    },
}

impl StoreError {
    /// Whether the cause lies outside the data, so that the same operation may succeed if
    /// tried again later: the disk is full, an I/O error, the database busy or locked by
    /// another connection, memory short, the file not openable (too many open files) or
    /// read-only (a file system remounted after errors). A failed write left the store as it
    /// was, so a writer can keep it and retry, with backoff.
    ///
    /// Not transient: a corrupt file ([`StoreError::is_corrupt`]), a newer schema, a batch that
    /// breaks the commit rules, a constraint the code never breaks (a trigger's `RAISE`
    /// included): trying again gives the same answer.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Sqlite { error, .. } => matches!(
                sqlite_code(error),
                Some(
                    ErrorCode::DiskFull
                        | ErrorCode::SystemIoFailure
                        | ErrorCode::DatabaseBusy
                        | ErrorCode::DatabaseLocked
                        | ErrorCode::OutOfMemory
                        | ErrorCode::CannotOpen
                        | ErrorCode::ReadOnly
                        | ErrorCode::FileLockingProtocolFailed
                        | ErrorCode::OperationInterrupted
                )
            ),
            StoreError::CreateDir { error, .. } => matches!(
                error.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::Interrupted
            ),
            StoreError::Postgres { error, .. } => crate::pg::is_transient(error),
            StoreError::SchemaTooNew { .. }
            | StoreError::BadUrl { .. }
            | StoreError::Fenced { .. }
            | StoreError::Unsupported { .. }
            | StoreError::NoWal { .. }
            | StoreError::Sequence { .. }
            | StoreError::Unstamped { .. }
            | StoreError::OrphanOutput { .. }
            | StoreError::SnapshotBehind { .. }
            | StoreError::Encode { .. }
            | StoreError::Corrupt { .. }
            | StoreError::CorruptChunk { .. } => false,
        }
    }

    /// Whether the stored data is damaged: SQLite finds the file malformed or not a database,
    /// or a stored input or point chunk no longer reads back. An operator must restore it.
    pub fn is_corrupt(&self) -> bool {
        match self {
            StoreError::Sqlite { error, .. } => matches!(
                sqlite_code(error),
                Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
            ),
            StoreError::Corrupt { .. } | StoreError::CorruptChunk { .. } => true,
            _ => false,
        }
    }

    /// Whether the disk is full: SQLite's `SQLITE_FULL`, or no room to create the directory.
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::Sqlite { error, .. } => sqlite_code(error) == Some(ErrorCode::DiskFull),
            StoreError::CreateDir { error, .. } => error.kind() == std::io::ErrorKind::StorageFull,
            _ => false,
        }
    }
}

/// SQLite's primary result code behind a rusqlite error, if SQLite gave one.
fn sqlite_code(error: &rusqlite::Error) -> Option<ErrorCode> {
    match error {
        rusqlite::Error::SqliteFailure(failure, _) => Some(failure.code),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::ffi;

    use super::*;

    fn sqlite(code: i32) -> StoreError {
        StoreError::Sqlite {
            path: PathBuf::from("/data/modelwatch.db"),
            action: "committing a batch",
            error: rusqlite::Error::SqliteFailure(ffi::Error::new(code), None),
        }
    }

    #[test]
    fn a_full_disk_an_io_error_or_a_busy_database_is_transient_and_corruption_is_not() {
        for code in [
            ffi::SQLITE_FULL,
            ffi::SQLITE_IOERR,
            ffi::SQLITE_IOERR_FSYNC,
            ffi::SQLITE_IOERR_WRITE,
            ffi::SQLITE_BUSY,
            ffi::SQLITE_BUSY_SNAPSHOT,
            ffi::SQLITE_LOCKED,
            ffi::SQLITE_NOMEM,
            ffi::SQLITE_CANTOPEN,
            ffi::SQLITE_READONLY,
            ffi::SQLITE_PROTOCOL,
        ] {
            let error = sqlite(code);
            assert!(error.is_transient(), "{code}: {error}");
            assert!(!error.is_corrupt(), "{code}: {error}");
        }
        assert!(sqlite(ffi::SQLITE_FULL).is_disk_full());
        assert!(!sqlite(ffi::SQLITE_IOERR).is_disk_full());
        for code in [ffi::SQLITE_CORRUPT, ffi::SQLITE_NOTADB] {
            let error = sqlite(code);
            assert!(
                !error.is_transient() && error.is_corrupt(),
                "{code}: {error}"
            );
        }
        for code in [
            ffi::SQLITE_CONSTRAINT,
            ffi::SQLITE_CONSTRAINT_UNIQUE,
            ffi::SQLITE_CONSTRAINT_TRIGGER,
            ffi::SQLITE_MISMATCH,
            ffi::SQLITE_ERROR,
            ffi::SQLITE_TOOBIG,
        ] {
            let error = sqlite(code);
            assert!(
                !error.is_transient() && !error.is_corrupt(),
                "{code}: {error}"
            );
        }
        let refused = StoreError::Sequence {
            expected: 2,
            found: 3,
        };
        assert!(!refused.is_transient() && !refused.is_corrupt());
        let unreadable = StoreError::Corrupt {
            path: PathBuf::from("/data/modelwatch.db"),
            seq: 4,
            message: "no JSON".to_string(),
        };
        assert!(!unreadable.is_transient() && unreadable.is_corrupt());
        let no_room = StoreError::CreateDir {
            path: PathBuf::from("/data"),
            error: std::io::Error::from(std::io::ErrorKind::StorageFull),
        };
        assert!(no_room.is_transient() && no_room.is_disk_full());
        let not_allowed = StoreError::CreateDir {
            path: PathBuf::from("/data"),
            error: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        };
        assert!(!not_allowed.is_transient());
    }
}
