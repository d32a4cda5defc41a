//! What the writer takes from its queue ([`Message`]: events, scrapes, retention, flushes,
//! registry changes, reads of drift state) and what it answers (a [`Stored`] count, or why nothing was stored).

use modelwatch_engine::quality::{DriftStatus, ReferenceInForce};
use modelwatch_engine::{Input, Timestamp};
use modelwatch_store::{EffectUpdate, ModelVersion, RegistryError, VersionChange};
use serde::Serialize;
use tokio::sync::oneshot;

use super::series_limit::TooManySeries;
use crate::runtime::metrics::SeriesSnapshot;

/// One accepted HTTP request (or a report of the service's effects) on its way to the writer.
#[derive(Debug)]
pub struct Request {
    /// The inputs, every one with a timestamp.
    pub inputs: Vec<Input>,
    /// What the service did about outbox rows, committed with the inputs.
    pub effects: Vec<EffectUpdate>,
    /// When the server received the request.
    pub received_at: Timestamp,
    /// Who asked, when a person's request brought it: the configured name of its token
    /// (never the value), which the audit rows it causes name.
    pub actor: Option<String>,
    /// In a cluster, the ingest log's stream sequence of the message that brought the
    /// inputs: the commit records it with them, so that a partition resumes after it.
    pub log_seq: Option<u64>,
    /// The request's `Idempotency-Key`, if it had one: in a cluster, the ingest log stores a
    /// retried request with the same key once. A single node's writer does not use it.
    pub idempotency_key: Option<String>,
    /// Where the writer answers: the number of inputs committed, or why nothing was.
    pub reply: oneshot::Sender<Result<Stored, NotStored>>,
}

/// What the writer committed of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored {
    /// How many inputs.
    pub accepted: usize,
    /// The sequence number of its last input (of the last one before it, when it had none).
    /// 0 from a cluster node's front, which publishes rather than commits.
    pub last_seq: u64,
}

/// What the writer takes from its queue.
#[derive(Debug)]
pub enum Message {
    /// Events to commit.
    Events(Request),
    /// A scrape of `/metrics` asking for the series.
    Series(SeriesRequest),
    /// A retention pass: delete what is older than a cutoff.
    Retention(RetentionRequest),
    /// A read of series points: write the points of every committed input first, then answer.
    FlushPoints(oneshot::Sender<Result<(), CommitFailed>>),
    /// A change of a version's status in the registry, after the requests before it.
    Registry(RegistryRequest),
    /// A read of the drift reference in force for a model (`GET /v1/models/{name}/reference`):
    /// answered at once from the engine's state, which holds every input committed before.
    Reference(ReferenceRequest),
    /// A read of a model's drift (`GET /v1/models/{name}/drift`): answered at once from the
    /// engine's state, like [`Message::Reference`].
    Drift(DriftRequest),
}

/// Which model's drift, and where to answer (`None`: no drift settings).
#[derive(Debug)]
pub struct DriftRequest {
    /// The model.
    pub model: String,
    /// Where the writer answers.
    pub reply: oneshot::Sender<Result<Option<DriftStatus>, Elsewhere>>,
}

/// The answer of a cluster node's front for state kept in a partition's engine (drift, the
/// reference in force) when that partition runs on another node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elsewhere {
    /// The model's partition.
    pub partition: u32,
}

/// Which model's drift reference, and where to answer (`None`: no drift settings).
#[derive(Debug)]
pub struct ReferenceRequest {
    /// The model.
    pub model: String,
    /// Where the writer answers.
    pub reply: oneshot::Sender<Result<Option<ReferenceInForce>, Elsewhere>>,
}

/// A person's change of a version's status.
#[derive(Debug)]
pub struct RegistryRequest {
    /// The model.
    pub model: String,
    /// The version.
    pub version: String,
    /// Promote, archive or roll back.
    pub change: VersionChange,
    /// The wall time of the request.
    pub at: Timestamp,
    /// Who asked, as the audit log names them (the token's name, never its value).
    pub actor: String,
    /// Where the writer answers: the version as it now stands, or why it did not change.
    pub reply: oneshot::Sender<Result<ModelVersion, RegistryError>>,
}

/// A scrape's request for every series' latest value and rule states.
#[derive(Debug)]
pub struct SeriesRequest {
    /// Most series to export.
    pub cap: usize,
    /// Where the writer answers.
    pub reply: oneshot::Sender<SeriesSnapshot>,
}

/// A request for a retention pass. One that arrives during a pass joins it.
#[derive(Debug)]
pub struct RetentionRequest {
    /// Inputs and points with an event time before this go.
    pub cutoff: Timestamp,
    /// The wall time of the request, the time of the snapshot the pass takes.
    pub now: Timestamp,
    /// Where the writer answers once the pass is over; none for the periodic pass.
    pub reply: Option<oneshot::Sender<Result<RetentionReport, String>>>,
}

/// What a retention pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    /// Inputs and points with an event time before this were deleted.
    pub cutoff: Timestamp,
    /// The snapshot the pass relied on: no input after it was deleted. 0: none, and so no
    /// input was deleted.
    pub snapshot_seq: u64,
    /// Raw inputs deleted by the pass.
    pub inputs_deleted: u64,
    /// Series points deleted by the pass.
    pub points_deleted: u64,
    /// Notifications that were over (delivered, given up, skipped) before the cutoff, deleted
    /// by the pass.
    pub deliveries_deleted: u64,
}

/// The commit that held a request failed, or the writer takes no events until a write
/// succeeds; nothing of the request is stored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the store failed to commit: {message}")]
pub struct CommitFailed {
    /// The store's error.
    pub message: String,
    /// The cause is transient (a full disk): the writer retries and takes events again once
    /// a write succeeds. Otherwise it has stopped.
    pub retrying: bool,
}

/// Why nothing of a request was stored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotStored {
    /// Its commit failed, or the store cannot write for now.
    #[error(transparent)]
    Commit(#[from] CommitFailed),
    /// Its events would create series beyond `--max-series`.
    #[error(transparent)]
    TooManySeries(#[from] TooManySeries),
}
