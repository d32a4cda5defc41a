//! [`StoreError`]: what went wrong in the store, naming the database file and the step that
//! failed. Each message carries its cause, so printing the error alone tells the whole story.

use std::path::PathBuf;

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
    /// A snapshot was offered for a state other than the stored one.
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
