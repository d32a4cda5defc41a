//! The service's counters, and the Prometheus text exposition (version 0.0.4) that
//! `GET /metrics` answers, encoded by the `prometheus-client` crate.
//!
//! Two sources, one design each:
//! - Counters, the commit latency histogram and the rejections live in [`Metrics`], as
//!   `prometheus-client` metrics in a registry of their own, updated by the ingest handler
//!   (rejections) and by the writer after each commit (inputs committed, latency, retrain
//!   decisions). Queue depth is read off the queue's sender at scrape time, the jobs by state
//!   and the store's bytes on disk off the store (`record_store`). Counters start at zero with
//!   the process (recovery counts nothing).
//! - The per-series gauges come from the engine itself: a scrape sends a
//!   [`super::writer::Message::Series`] through the ingest queue and the writer answers from
//!   `Engine::status` after committing what was queued before it, so the values are always
//!   those of committed inputs and the ingest path pays nothing for them. `series` encodes
//!   that answer at scrape time.
//!
//! Names, labels and HELP texts are what dashboards use: change none of them. A counter is
//! registered without its `_total`, which the encoder adds (to the HELP and TYPE lines too),
//! and a registered metric's help without its final period, which the registry adds. A
//! labelled counter with no sample yet has no HELP and TYPE lines either, and the samples of a
//! labelled counter come in no particular order.

mod series;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, prometheus_text};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use modelwatch_store::JobState;

pub use series::{SeriesSnapshot, TrafficSnapshot};

/// The default cap on series exported by `/metrics`.
pub const DEFAULT_MAX_EXPORTED_SERIES: usize = 10_000;

/// The media type of the text exposition format (version 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Why an ingest request was refused, as the `reason` label spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Not JSON, not UTF-8, or no event at all.
    Syntax,
    /// Events that break the wire format's rules.
    Invalid,
    /// Over the body limit or the batch limit.
    TooLarge,
    /// Neither JSON nor NDJSON.
    UnsupportedMediaType,
    /// The writer's queue is full.
    QueueFull,
    /// Recovering, or the writer cannot commit.
    Unavailable,
    /// The bytes of request bodies in flight were at their cap (on any route).
    BodiesInFlight,
    /// The events would create series beyond `--max-series`.
    SeriesLimit,
}

const REJECTIONS: [Rejection; 8] = [
    Rejection::Syntax,
    Rejection::Invalid,
    Rejection::TooLarge,
    Rejection::UnsupportedMediaType,
    Rejection::QueueFull,
    Rejection::Unavailable,
    Rejection::BodiesInFlight,
    Rejection::SeriesLimit,
];

impl Rejection {
    fn as_str(self) -> &'static str {
        match self {
            Rejection::Syntax => "syntax",
            Rejection::Invalid => "invalid",
            Rejection::TooLarge => "too_large",
            Rejection::UnsupportedMediaType => "unsupported_media_type",
            Rejection::QueueFull => "queue_full",
            Rejection::Unavailable => "unavailable",
            Rejection::BodiesInFlight => "bodies_in_flight",
            Rejection::SeriesLimit => "series_limit",
        }
    }
}

/// How one attempt to deliver a notification ended, as the `outcome` label spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The target accepted it.
    Delivered,
    /// It failed and will be tried again.
    Failed,
    /// It failed for good (refused, or retried for as long as the notifier says).
    GivenUp,
    /// There was nothing to send (the target takes no such output).
    Skipped,
}

impl DeliveryOutcome {
    fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Failed => "failed",
            DeliveryOutcome::GivenUp => "given_up",
            DeliveryOutcome::Skipped => "skipped",
        }
    }
}

/// Upper bounds of the commit latency buckets, in seconds (`+Inf` follows).
const LATENCY_BUCKETS: [f64; 12] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// `reason` of an ingest refusal.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

/// `decision` and `reason` of a retrain decision.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    decision: &'static str,
    reason: &'static str,
}

/// `table` retention deleted rows of.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TableLabel {
    table: &'static str,
}

/// `notifier` and `outcome` of a delivery attempt.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    notifier: String,
    outcome: &'static str,
}

/// `backend` a job attempt started on.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabel {
    backend: String,
}

/// `outcome` of a job attempt.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// `state` of the stored jobs.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

/// The service's counters, shared by the handlers and the writer.
#[derive(Debug)]
pub struct Metrics {
    /// Every metric below, registered in the order of the exposition.
    registry: Registry,
    ingested: Counter,
    rejected: Family<ReasonLabel, Counter>,
    /// Set from the queue at each scrape.
    queue_depth: Gauge<u64, AtomicU64>,
    commit_duration: Histogram,
    /// Writes to the store that failed (commits, point flushes, snapshot and retention steps).
    write_failures: Counter,
    decisions: Family<DecisionLabels, Counter>,
    /// Inputs and points retention has deleted over the store's life.
    deleted: Family<TableLabel, Counter>,
    retention_failures: Counter,
    /// The sequence number of the latest engine snapshot; 0 before the first.
    snapshot_seq: Gauge<u64, AtomicU64>,
    snapshot_failures: Counter,
    /// Points of committed inputs waiting in the writer's memory.
    points_pending: Gauge<u64, AtomicU64>,
    checkpoints: Counter,
    checkpoint_failures: Counter,
    deliveries: Family<DeliveryLabels, Counter>,
    job_attempts_started: Family<BackendLabel, Counter>,
    job_attempts_ended: Family<OutcomeLabel, Counter>,
    /// Jobs in the store by state, read from the store at each scrape.
    jobs: Family<StateLabel, Gauge<u64, AtomicU64>>,
    /// Bytes of the store's files on disk, read at each scrape.
    store_bytes: Gauge<u64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let metrics = Metrics {
            registry: Registry::default(),
            ingested: Counter::default(),
            rejected: Family::default(),
            queue_depth: Gauge::default(),
            commit_duration: Histogram::new(LATENCY_BUCKETS),
            write_failures: Counter::default(),
            decisions: Family::default(),
            deleted: Family::default(),
            retention_failures: Counter::default(),
            snapshot_seq: Gauge::default(),
            snapshot_failures: Counter::default(),
            points_pending: Gauge::default(),
            checkpoints: Counter::default(),
            checkpoint_failures: Counter::default(),
            deliveries: Family::default(),
            job_attempts_started: Family::default(),
            job_attempts_ended: Family::default(),
            jobs: Family::default(),
            store_bytes: Gauge::default(),
        };
        for rejection in REJECTIONS {
            drop(metrics.rejected.get_or_create(&ReasonLabel {
                reason: rejection.as_str(),
            }));
        }
        for table in ["inputs", "points"] {
            drop(metrics.deleted.get_or_create(&TableLabel { table }));
        }
        for state in JobState::ALL {
            drop(metrics.jobs.get_or_create(&StateLabel {
                state: state.as_str(),
            }));
        }
        metrics.registered()
    }
}

impl Metrics {
    /// Registers every metric, under its exported name, in the order of the exposition.
    fn registered(mut self) -> Metrics {
        let registry = &mut self.registry;
        registry.register(
            "modelwatch_events_ingested",
            "Inputs committed to the store since the process started",
            self.ingested.clone(),
        );
        registry.register(
            "modelwatch_ingest_rejected",
            "Ingest requests refused, by reason; nothing of them was stored",
            self.rejected.clone(),
        );
        registry.register(
            "modelwatch_ingest_queue_depth",
            "Requests waiting for the writer",
            self.queue_depth.clone(),
        );
        registry.register(
            "modelwatch_commit_duration_seconds",
            "Time of each group commit to the store",
            self.commit_duration.clone(),
        );
        registry.register(
            "modelwatch_write_failures",
            "Writes to the store that failed since the process started (a commit, a flush of \
             points, a snapshot or retention step); after one that is transient, such as a full \
             disk, ingest is refused with 503 until a write succeeds",
            self.write_failures.clone(),
        );
        registry.register(
            "modelwatch_retrain_decisions",
            "Retrain decisions committed since the process started, by decision and reason",
            self.decisions.clone(),
        );
        registry.register(
            "modelwatch_retention_deleted",
            "Rows deleted by retention over the store's life: raw inputs, and series points",
            self.deleted.clone(),
        );
        registry.register(
            "modelwatch_retention_failures",
            "Retention steps that failed since the process started (their pass ended; nothing \
             was lost)",
            self.retention_failures.clone(),
        );
        registry.register(
            "modelwatch_snapshot_seq",
            "Sequence number of the latest engine snapshot in the store (0: none yet)",
            self.snapshot_seq.clone(),
        );
        registry.register(
            "modelwatch_snapshot_failures",
            "Engine snapshots that could not be saved since the process started",
            self.snapshot_failures.clone(),
        );
        registry.register(
            "modelwatch_points_pending",
            "Series points of committed events waiting in memory to be written to their chunks \
             (they are read back from the stored events after a crash)",
            self.points_pending.clone(),
        );
        registry.register(
            "modelwatch_wal_checkpoints",
            "Checkpoints of the store's write-ahead log done beside the writer since the process \
             started",
            self.checkpoints.clone(),
        );
        registry.register(
            "modelwatch_wal_checkpoint_failures",
            "Checkpoints of the store's write-ahead log that failed since the process started \
             (the writer checkpoints itself once the log is large)",
            self.checkpoint_failures.clone(),
        );
        registry.register(
            "modelwatch_notification_attempts",
            "Attempts to deliver a notification since the process started, by notifier and \
             outcome (delivered, failed: tried again, given_up, skipped)",
            self.deliveries.clone(),
        );
        registry.register(
            "modelwatch_job_attempts_started",
            "Attempts of retrain and rollback jobs started since the process started, by backend",
            self.job_attempts_started.clone(),
        );
        registry.register(
            "modelwatch_job_attempts_ended",
            "Attempts of retrain and rollback jobs ended since the process started, by outcome",
            self.job_attempts_ended.clone(),
        );
        registry.register(
            "modelwatch_jobs",
            "Retrain and rollback jobs in the store, by state (queued, running, succeeded, \
             failed, timed_out, cancelled)",
            self.jobs.clone(),
        );
        registry.register(
            "modelwatch_store_bytes",
            "Bytes the store takes on disk: its database file and write-ahead log",
            self.store_bytes.clone(),
        );
        self
    }

    /// Records one successful commit: how long `Store::commit` took, the inputs it stored and
    /// the (decision, reason) of each retrain decision stored with them.
    pub fn record_commit(
        &self,
        took: Duration,
        inputs: usize,
        decisions: &[(&'static str, &'static str)],
    ) {
        self.ingested
            .inc_by(u64::try_from(inputs).unwrap_or(u64::MAX));
        self.commit_duration.observe(took.as_secs_f64());
        for (decision, reason) in decisions {
            self.decisions
                .get_or_create(&DecisionLabels { decision, reason })
                .inc();
        }
    }

    /// Counts a write to the store that failed.
    pub fn record_write_failure(&self) {
        self.write_failures.inc();
    }

    /// Sets the deletion totals to the store's (read at recovery; they survive restarts).
    pub fn set_deleted(&self, inputs: u64, points: u64) {
        for (table, total) in [("inputs", inputs), ("points", points)] {
            self.deleted
                .get_or_create(&TableLabel { table })
                .inner()
                .store(total, Ordering::Relaxed);
        }
    }

    /// Counts inputs and points retention has just deleted.
    pub fn record_deleted(&self, inputs: u64, points: u64) {
        for (table, deleted) in [("inputs", inputs), ("points", points)] {
            self.deleted
                .get_or_create(&TableLabel { table })
                .inc_by(deleted);
        }
    }

    /// Counts a retention step that failed (and so ended its pass).
    pub fn record_retention_failure(&self) {
        self.retention_failures.inc();
    }

    /// Records the sequence number of the snapshot just saved (or found at recovery).
    pub fn record_snapshot(&self, seq: u64) {
        self.snapshot_seq.set(seq);
    }

    /// Counts a snapshot that could not be saved.
    pub fn record_snapshot_failure(&self) {
        self.snapshot_failures.inc();
    }

    /// Records how many points wait in the writer's memory for their chunks.
    pub fn record_points_pending(&self, points: usize) {
        self.points_pending
            .set(u64::try_from(points).unwrap_or(u64::MAX));
    }

    /// Records one checkpoint of the write-ahead log, done or failed.
    pub fn record_checkpoint(&self, ok: bool) {
        if ok {
            self.checkpoints.inc();
        } else {
            self.checkpoint_failures.inc();
        }
    }

    /// Counts one committed delivery attempt of `notifier`.
    pub fn record_delivery(&self, notifier: &str, outcome: DeliveryOutcome) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                notifier: notifier.to_string(),
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// Counts one committed job attempt start on `backend` (`command`, `http`, ...).
    pub fn record_job_started(&self, backend: &str) {
        self.job_attempts_started
            .get_or_create(&BackendLabel {
                backend: backend.to_string(),
            })
            .inc();
    }

    /// Counts one committed job attempt end (`succeeded`, `failed`, `timed_out`, ...).
    pub fn record_job_attempt_ended(&self, outcome: &'static str) {
        self.job_attempts_ended
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    }

    /// Records what a scrape read of the store: how many jobs are in each state, and the bytes
    /// of its files.
    pub fn record_store(&self, jobs: &[(JobState, u64)], bytes: u64) {
        for (state, count) in jobs {
            self.jobs
                .get_or_create(&StateLabel {
                    state: state.as_str(),
                })
                .set(*count);
        }
        self.store_bytes.set(bytes);
    }

    /// Counts a refused ingest request under its reason.
    pub fn record_refusal(&self, rejection: Rejection) {
        self.rejected
            .get_or_create(&ReasonLabel {
                reason: rejection.as_str(),
            })
            .inc();
    }
}

/// The exposition: every counter, the queue depth (`depth` requests waiting) and the series
/// the writer exported, if it could be asked.
pub fn render(metrics: &Metrics, depth: usize, series: Option<SeriesSnapshot>) -> String {
    metrics
        .queue_depth
        .set(u64::try_from(depth).unwrap_or(u64::MAX));
    let mut out = String::new();
    // Writing to a String cannot fail, and neither can the encoding of these metrics.
    let _ = prometheus_text::encode(&mut out, &metrics.registry);
    if let Some(series) = series {
        series::encode(&mut out, series);
    }
    out
}
