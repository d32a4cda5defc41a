//! The service's counters, and their exposition with every series' latest value and rule state
//! in the Prometheus text format (version 0.0.4, written by hand) that `GET /metrics` answers.
//!
//! Two sources, one design each:
//! - Counters, the commit latency histogram and the rejections live in [`Metrics`], plain
//!   atomics updated by the ingest handler (rejections) and by the writer after each commit
//!   (inputs committed, latency, retrain decisions). Queue depth is read off the queue's sender
//!   at scrape time. Counters start at zero with the process (recovery counts nothing).
//! - The per-series gauges come from the engine itself: a scrape sends a
//!   [`super::writer::Message::Series`] through the ingest queue and the writer answers from
//!   `Engine::status` after committing what was queued before it, so the values are always
//!   those of committed inputs and the ingest path pays nothing for them. At most
//!   `ServiceOptions::max_exported_series` series are exported (the first in the engine's
//!   order: model, metric); a comment and `modelwatch_series_omitted` say how many were left
//!   out.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use modelwatch_engine::{RuleState, RuleStatus};

/// The default cap on series exported by `/metrics`.
pub const DEFAULT_MAX_EXPORTED_SERIES: usize = 10_000;

/// The media type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

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
    /// The events would create series beyond `--max-series`.
    SeriesLimit,
}

const REJECTIONS: [Rejection; 7] = [
    Rejection::Syntax,
    Rejection::Invalid,
    Rejection::TooLarge,
    Rejection::UnsupportedMediaType,
    Rejection::QueueFull,
    Rejection::Unavailable,
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
            Rejection::SeriesLimit => "series_limit",
        }
    }
}

/// Upper bounds of the commit latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The service's counters, shared by the handlers and the writer.
#[derive(Debug, Default)]
pub struct Metrics {
    ingested: AtomicU64,
    rejected: [AtomicU64; REJECTIONS.len()],
    commits: AtomicU64,
    /// Commits per latency bucket (not cumulative; the last is `+Inf`).
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    latency_nanos: AtomicU64,
    /// Retrain decisions by (decision, reason).
    decisions: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// Inputs and points retention has deleted over the store's life.
    inputs_deleted: AtomicU64,
    points_deleted: AtomicU64,
    retention_failures: AtomicU64,
    /// The sequence number of the latest engine snapshot; 0 before the first.
    snapshot_seq: AtomicU64,
    snapshot_failures: AtomicU64,
    /// Points of committed inputs waiting in the writer's memory.
    points_pending: AtomicU64,
    checkpoints: AtomicU64,
    checkpoint_failures: AtomicU64,
    /// Delivery attempts by (notifier, outcome).
    deliveries: Mutex<BTreeMap<(String, &'static str), u64>>,
    /// Job attempts started, by backend.
    job_attempts_started: Mutex<BTreeMap<String, u64>>,
    /// Job attempts ended, by outcome.
    job_attempts_ended: Mutex<BTreeMap<&'static str, u64>>,
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

/// Adds one to `key`'s count.
fn count<K: Ord>(counts: &Mutex<BTreeMap<K, u64>>, key: K) {
    let mut counts = counts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *counts.entry(key).or_insert(0) += 1;
}

impl Metrics {
    /// Records one successful commit: how long `Store::commit` took, the inputs it stored and
    /// the (decision, reason) of each retrain decision stored with them.
    pub fn record_commit(
        &self,
        took: Duration,
        inputs: usize,
        decisions: &[(&'static str, &'static str)],
    ) {
        self.ingested
            .fetch_add(u64::try_from(inputs).unwrap_or(u64::MAX), Ordering::Relaxed);
        self.commits.fetch_add(1, Ordering::Relaxed);
        let seconds = took.as_secs_f64();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        if let Some(counter) = self.latency_buckets.get(bucket) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        self.latency_nanos.fetch_add(
            u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        for key in decisions {
            count(&self.decisions, *key);
        }
    }

    /// Sets the deletion totals to the store's (read at recovery; they survive restarts).
    pub fn set_deleted(&self, inputs: u64, points: u64) {
        self.inputs_deleted.store(inputs, Ordering::Relaxed);
        self.points_deleted.store(points, Ordering::Relaxed);
    }

    /// Counts inputs and points retention has just deleted.
    pub fn record_deleted(&self, inputs: u64, points: u64) {
        self.inputs_deleted.fetch_add(inputs, Ordering::Relaxed);
        self.points_deleted.fetch_add(points, Ordering::Relaxed);
    }

    /// Counts a retention step that failed (and so ended its pass).
    pub fn record_retention_failure(&self) {
        self.retention_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Records the sequence number of the snapshot just saved (or found at recovery).
    pub fn record_snapshot(&self, seq: u64) {
        self.snapshot_seq.store(seq, Ordering::Relaxed);
    }

    /// Counts a snapshot that could not be saved.
    pub fn record_snapshot_failure(&self) {
        self.snapshot_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Records how many points wait in the writer's memory for their chunks.
    pub fn record_points_pending(&self, points: usize) {
        self.points_pending
            .store(u64::try_from(points).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Records one checkpoint of the write-ahead log, done or failed.
    pub fn record_checkpoint(&self, ok: bool) {
        let counter = if ok {
            &self.checkpoints
        } else {
            &self.checkpoint_failures
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one committed delivery attempt of `notifier`.
    pub fn record_delivery(&self, notifier: &str, outcome: DeliveryOutcome) {
        count(&self.deliveries, (notifier.to_string(), outcome.as_str()));
    }

    /// Counts one committed job attempt start on `backend` (`command`, `http`, ...).
    pub fn record_job_started(&self, backend: &str) {
        count(&self.job_attempts_started, backend.to_string());
    }

    /// Counts one committed job attempt end (`succeeded`, `failed`, `timed_out`, ...).
    pub fn record_job_attempt_ended(&self, outcome: &'static str) {
        count(&self.job_attempts_ended, outcome);
    }

    /// Counts a refused ingest request under its reason.
    pub fn record_refusal(&self, rejection: Rejection) {
        if let Some(index) = REJECTIONS.iter().position(|known| *known == rejection)
            && let Some(counter) = self.rejected.get(index)
        {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What the writer answers a scrape with: the rules of the first series, and how many series
/// were left out.
#[derive(Debug, Default)]
pub struct SeriesSnapshot {
    /// Every rule's status on the exported series, in the engine's order.
    pub rules: Vec<RuleStatus>,
    /// Series exported.
    pub exported: usize,
    /// Series left out by the cap.
    pub omitted: usize,
}

impl SeriesSnapshot {
    /// Keeps the rules of the first `cap` series of `status` (sorted by model and metric, so
    /// a series' rules are adjacent).
    pub fn capped(mut status: Vec<RuleStatus>, cap: usize) -> SeriesSnapshot {
        let mut series = 0;
        let mut previous: Option<(modelwatch_engine::ModelId, String)> = None;
        status.retain(|rule| {
            let same = previous
                .as_ref()
                .is_some_and(|(model, metric)| *model == rule.model && *metric == rule.metric);
            if !same {
                series += 1;
                previous = Some((rule.model.clone(), rule.metric.clone()));
            }
            series <= cap
        });
        SeriesSnapshot {
            rules: status,
            exported: series.min(cap),
            omitted: series.saturating_sub(cap),
        }
    }
}

/// A metric with one sample and no labels: its header and its value.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    header(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value escaped as the text format wants it.
fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for character in value.chars() {
        match character {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// A sample value: Prometheus spells the non-finite ones `NaN`, `+Inf`, `-Inf`.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{value}")
    }
}

/// The exposition: every counter, the queue depth (`depth` requests waiting) and the series
/// the writer exported, if it could be asked.
pub fn render(metrics: &Metrics, depth: usize, series: Option<&SeriesSnapshot>) -> String {
    let mut out = String::new();
    single(
        &mut out,
        "modelwatch_events_ingested_total",
        "counter",
        "Inputs committed to the store since the process started.",
        metrics.ingested.load(Ordering::Relaxed),
    );
    header(
        &mut out,
        "modelwatch_ingest_rejected_total",
        "counter",
        "Ingest requests refused, by reason; nothing of them was stored.",
    );
    for (rejection, counter) in REJECTIONS.iter().zip(&metrics.rejected) {
        let _ = writeln!(
            out,
            "modelwatch_ingest_rejected_total{{reason=\"{}\"}} {}",
            rejection.as_str(),
            counter.load(Ordering::Relaxed)
        );
    }
    single(
        &mut out,
        "modelwatch_ingest_queue_depth",
        "gauge",
        "Requests waiting for the writer.",
        depth,
    );
    header(
        &mut out,
        "modelwatch_commit_duration_seconds",
        "histogram",
        "Time of each group commit to the store.",
    );
    let mut cumulative = 0;
    for (index, counter) in metrics.latency_buckets.iter().enumerate() {
        cumulative += counter.load(Ordering::Relaxed);
        let bound = LATENCY_BUCKETS
            .get(index)
            .map_or_else(|| "+Inf".to_string(), |bound| number(*bound));
        let _ = writeln!(
            out,
            "modelwatch_commit_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
        );
    }
    let nanos = metrics.latency_nanos.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "modelwatch_commit_duration_seconds_sum {}",
        number(Duration::from_nanos(nanos).as_secs_f64())
    );
    let _ = writeln!(out, "modelwatch_commit_duration_seconds_count {cumulative}");
    header(
        &mut out,
        "modelwatch_retrain_decisions_total",
        "counter",
        "Retrain decisions committed since the process started, by decision and reason.",
    );
    {
        let decisions = metrics
            .decisions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for ((decision, reason), count) in decisions.iter() {
            let _ = writeln!(
                out,
                "modelwatch_retrain_decisions_total{{decision=\"{decision}\",reason=\"{reason}\"}} {count}"
            );
        }
    }
    render_retention(&mut out, metrics);
    render_effects(&mut out, metrics);
    if let Some(series) = series {
        render_series(&mut out, series);
    }
    out
}

fn render_retention(out: &mut String, metrics: &Metrics) {
    header(
        out,
        "modelwatch_retention_deleted_total",
        "counter",
        "Rows deleted by retention over the store's life: raw inputs, and series points.",
    );
    for (table, counter) in [
        ("inputs", &metrics.inputs_deleted),
        ("points", &metrics.points_deleted),
    ] {
        let _ = writeln!(
            out,
            "modelwatch_retention_deleted_total{{table=\"{table}\"}} {}",
            counter.load(Ordering::Relaxed)
        );
    }
    single(
        out,
        "modelwatch_retention_failures_total",
        "counter",
        "Retention steps that failed since the process started (their pass ended; nothing was lost).",
        metrics.retention_failures.load(Ordering::Relaxed),
    );
    single(
        out,
        "modelwatch_snapshot_seq",
        "gauge",
        "Sequence number of the latest engine snapshot in the store (0: none yet).",
        metrics.snapshot_seq.load(Ordering::Relaxed),
    );
    single(
        out,
        "modelwatch_snapshot_failures_total",
        "counter",
        "Engine snapshots that could not be saved since the process started.",
        metrics.snapshot_failures.load(Ordering::Relaxed),
    );
    single(
        out,
        "modelwatch_points_pending",
        "gauge",
        "Series points of committed events waiting in memory to be written to their chunks \
         (they are read back from the stored events after a crash).",
        metrics.points_pending.load(Ordering::Relaxed),
    );
    single(
        out,
        "modelwatch_wal_checkpoints_total",
        "counter",
        "Checkpoints of the store's write-ahead log done beside the writer since the process \
         started.",
        metrics.checkpoints.load(Ordering::Relaxed),
    );
    single(
        out,
        "modelwatch_wal_checkpoint_failures_total",
        "counter",
        "Checkpoints of the store's write-ahead log that failed since the process started (the \
         writer checkpoints itself once the log is large).",
        metrics.checkpoint_failures.load(Ordering::Relaxed),
    );
}

/// Writes a counter with one sample per key of `counts`; `labels` spells a key's labels.
fn render_counts<K>(
    out: &mut String,
    name: &str,
    help: &str,
    counts: &Mutex<BTreeMap<K, u64>>,
    labels: impl Fn(&K) -> String,
) {
    header(out, name, "counter", help);
    let counts = counts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (key, count) in counts.iter() {
        let _ = writeln!(out, "{name}{{{}}} {count}", labels(key));
    }
}

fn render_effects(out: &mut String, metrics: &Metrics) {
    render_counts(
        out,
        "modelwatch_notification_attempts_total",
        "Attempts to deliver a notification since the process started, by notifier and \
         outcome (delivered, failed: tried again, given_up, skipped).",
        &metrics.deliveries,
        |(notifier, outcome)| format!("notifier=\"{}\",outcome=\"{outcome}\"", escape(notifier)),
    );
    render_counts(
        out,
        "modelwatch_job_attempts_started_total",
        "Attempts of retrain and rollback jobs started since the process started, by backend.",
        &metrics.job_attempts_started,
        |backend| format!("backend=\"{}\"", escape(backend)),
    );
    render_counts(
        out,
        "modelwatch_job_attempts_ended_total",
        "Attempts of retrain and rollback jobs ended since the process started, by outcome.",
        &metrics.job_attempts_ended,
        |outcome| format!("outcome=\"{outcome}\""),
    );
}

fn render_series(out: &mut String, series: &SeriesSnapshot) {
    let _ = writeln!(
        out,
        "# modelwatch exports {} series; {} more left out by the cap on exported series",
        series.exported, series.omitted
    );
    single(
        out,
        "modelwatch_series_omitted",
        "gauge",
        "Series not exported because of the cap on exported series.",
        series.omitted,
    );
    let labels = |rule: &RuleStatus| {
        format!(
            "model=\"{}\",version=\"{}\",instance=\"{}\",metric=\"{}\"",
            escape(&rule.model.name),
            escape(&rule.model.version),
            escape(&rule.model.instance),
            escape(&rule.metric)
        )
    };
    header(
        out,
        "modelwatch_series_value",
        "gauge",
        "The latest value of each series.",
    );
    let mut previous: Option<&RuleStatus> = None;
    for rule in &series.rules {
        let same = previous
            .is_some_and(|previous| previous.model == rule.model && previous.metric == rule.metric);
        previous = Some(rule);
        if !same {
            let _ = writeln!(
                out,
                "modelwatch_series_value{{{}}} {}",
                labels(rule),
                number(rule.last_value)
            );
        }
    }
    header(
        out,
        "modelwatch_alert_firing",
        "gauge",
        "1 when the rule's alert on the series is firing, else 0.",
    );
    for rule in &series.rules {
        let _ = writeln!(
            out,
            "modelwatch_alert_firing{{{},rule=\"{}\"}} {}",
            labels(rule),
            escape(&rule.rule),
            u8::from(rule.state == RuleState::Firing)
        );
    }
    header(
        out,
        "modelwatch_rule_state",
        "gauge",
        "Where each rule stands on each series: 1 for its current state.",
    );
    for rule in &series.rules {
        let _ = writeln!(
            out,
            "modelwatch_rule_state{{{},rule=\"{}\",state=\"{}\"}} 1",
            labels(rule),
            escape(&rule.rule),
            rule.state.as_str()
        );
    }
}
