//! modelwatch's durable store: the inputs the engine consumed and everything it produced, in
//! one SQLite file (WAL, `synchronous = FULL`) in a data directory. Synchronous, no async and
//! no clock: the service owns a [`Store`] on one thread and hands it receive times.
//!
//! Layout:
//! - `backend`: [`Store`], the one interface over SQLite ([`SqliteStore`], a data directory)
//!   and PostgreSQL ([`pg::PgStore`]); [`StoreLocation`] reads `--store`.
//! - `pg`: the store on PostgreSQL, with partitions and lease fencing for a cluster.
//! - `store`: [`Store::open`] and the group [`Store::commit`] of a [`Batch`] (`batch`: what
//!   it holds and its rules).
//! - `checkpoints`: the [`Checkpointer`] that copies the write-ahead log beside the committing
//!   connection.
//! - `query`: reads for replay ([`Store::inputs_after`]) and for the API ([`Store::alerts`],
//!   [`Store::decisions`], [`Store::canary_verdicts`], [`Store::open_alerts`]), with keyset
//!   pagination.
//! - `points`: series points, buffered by the committing store and written in chunks per
//!   series off the acknowledgement path ([`Store::flush_points`], in bounded steps
//!   [`Store::flush_points_step`], [`Store::rebuild_points`]),
//!   and their reads ([`Store::series`], [`Store::model_names`], [`Store::latest_points`]).
//! - `snapshots`: engine [`Snapshot`]s, saved at once ([`Store::save_snapshot`]) or in bounded
//!   steps ([`Store::begin_snapshot`], [`Store::save_snapshot_step`]).
//! - `retention`: the deletion of old inputs and points ([`Store::delete_old_inputs`],
//!   [`Store::delete_old_points`]).
//! - `outbox`: notifications and jobs, written in the commit of the outputs that cause them,
//!   and the [`EffectUpdate`]s that record what the service did about them.
//! - `registry`: model versions and their status ([`Store::change_version`]), and the audit log.
//! - `gauges`: what `/metrics` reads at scrape time ([`Store::job_counts`],
//!   [`Store::disk_bytes`]).
//! - `schema`: the tables and their migrations ([`SCHEMA_VERSION`]).
//! - `wire_form`: inputs stored in the wire form the wire parser reads back exactly.
//! - `writes`: how every write transaction begins and ends, so that a failed one leaves the
//!   store as it was.
//! - `faults`: with the `fault-injection` feature, `FaultInjector`, which makes writes fail
//!   like a full or failing disk, for tests.
//! - `error`: [`StoreError`], which tells transient failures ([`StoreError::is_transient`])
//!   from corruption ([`StoreError::is_corrupt`]).

mod backend;
mod batch;
mod checkpoints;
mod clauses;
mod error;
mod faults;
mod gauges;
mod outbox;
pub mod pg;
mod points;
mod query;
mod registry;
mod retention;
mod schema;
mod snapshots;
mod store;
mod wire_form;
mod writes;

pub use backend::{Store, StoreLocation};
pub use batch::{Actors, Batch, Record};
pub use checkpoints::{Checkpoint, Checkpointer, Checkpoints};
pub use error::StoreError;
#[cfg(feature = "fault-injection")]
pub use faults::FaultInjector;
pub use outbox::{
    AttemptOutcome, Delivery, DeliveryFilter, DeliveryResult, DeliveryState, EffectUpdate, Job,
    JobAttempt, JobFilter, JobKind, JobState, delivery_id, rollback_job_id,
};
pub use points::{
    LatestPoint, ModelPage, POINTS_PER_CHUNK, POINTS_PER_FLUSH, Point, PointCursor, PointsStep,
    SeriesPage, SeriesQuery,
};
pub use query::{
    AlertFilter, CanaryFilter, DecisionFilter, Listing, MAX_PAGE, MAX_REPLAY_PAGE, Order, Page,
    StoredAlert, StoredCanaryVerdict, StoredDecision, StoredInput,
};
pub use registry::{
    AuditEvent, ModelVersion, RegistryError, VersionChange, VersionSource, VersionStatus,
};
pub use retention::{RetentionTotals, SeriesCursor, Step};
pub use schema::SCHEMA_VERSION;
pub use snapshots::{Snapshot, SnapshotDraft, SnapshotStep};
pub use store::{BUSY_TIMEOUT, Committed, Counts, DB_FILE, SqliteStore};

/// The wire forms of `inputs`, one a line, as the store keeps each: how a batch travels in
/// the ingest log of a cluster. [`decode_inputs`] reads them back into the very same inputs.
///
/// # Errors
///
/// When an input cannot be written as JSON (a non-finite number that slipped past the checks).
pub fn encode_inputs(inputs: &[modelwatch_engine::Input]) -> Result<String, serde_json::Error> {
    wire_form::encode_lines(inputs)
}

/// Reads back what [`encode_inputs`] wrote: the well-known metrics only and no size limits,
/// as the store reads its own inputs (they were validated when they came in).
///
/// # Errors
///
/// What the wire parser finds wrong, as text.
pub fn decode_inputs(text: &str) -> Result<Vec<modelwatch_engine::Input>, String> {
    wire_form::Decoder::new().decode_lines(text)
}
