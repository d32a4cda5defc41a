//! How long the store's writer pauses between commits for work that is not a commit: a points
//! flush ([`Store::flush_points`]) and an engine snapshot ([`Store::save_snapshot`]), on a
//! real file in a temporary directory, and the same work done in bounded steps.
//!
//! ```sh
//! cargo run --release -p modelwatch-store --example pauses
//! cargo run --release -p modelwatch-store --example pauses -- --only flush --dir /path/on/another/disk
//! ```
//!
//! Figures are in BENCHMARKS.md ("serve: the writer's pauses").

// An example binary reports on the terminal; the workspace denies printing in library code.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::{Duration, Instant};

use modelwatch_engine::{Event, Input, ModelId, Timestamp};
use modelwatch_store::{
    Batch, Checkpointer, Checkpoints, POINTS_PER_FLUSH, Record, Snapshot, Store,
};

/// Metrics per event (as the load generator's events carry).
const METRICS: [&str; 4] = ["accuracy", "latency_ms", "precision", "recall"];

/// Events per commit while filling the buffer.
const EVENTS_PER_COMMIT: usize = 1_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut only = None;
    let mut base = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--only" => only = args.next(),
            "--dir" => base = args.next(),
            _ => {
                return Err(format!(
                    "unknown argument {arg:?}; use --only flush|snapshot, --dir DIR"
                )
                .into());
            }
        }
    }
    let dir = match &base {
        Some(base) => tempfile::tempdir_in(base)?,
        None => tempfile::tempdir()?,
    };
    println!("store in {}", dir.path().display());
    if only.as_deref() != Some("snapshot") {
        for series in [1_000, 10_000] {
            flushes(&dir.path().join(format!("flush-{series}")), series)?;
        }
    }
    if only.as_deref() != Some("flush") {
        for mib in [1, 10, 100] {
            snapshots(&dir.path().join(format!("snapshot-{mib}")), mib)?;
        }
    }
    Ok(())
}

/// Events for `series` series (4 metrics per instance), numbered from `first`.
fn batch(first: u64, count: usize, series: usize, time: &mut i64) -> Batch {
    let instances = series.div_ceil(METRICS.len());
    let mut batch = Batch::new();
    for seq in first..first + count as u64 {
        *time += 1_000_000;
        let instance = seq as usize % instances;
        let event = Event {
            model: ModelId::new(format!("m{}", instance % 100), "1", format!("i{instance}")),
            timestamp: Some(Timestamp::from_nanos(*time)),
            metrics: METRICS
                .iter()
                .map(|metric| (metric.to_string(), (seq % 1_000) as f64 / 1_000.0))
                .collect(),
        };
        batch.push(
            Record {
                seq,
                received_at: Timestamp::from_nanos(*time),
                input: Input::Event(event),
            },
            [],
        );
    }
    batch
}

/// Commits events until `POINTS_PER_FLUSH` points wait.
fn fill(
    store: &mut Store,
    series: usize,
    next: &mut u64,
    time: &mut i64,
) -> Result<(), Box<dyn std::error::Error>> {
    while store.pending_points() < POINTS_PER_FLUSH {
        let wanted = (POINTS_PER_FLUSH - store.pending_points()).div_ceil(METRICS.len());
        let count = wanted.min(EVENTS_PER_COMMIT);
        store.commit(&batch(*next, count, series, time))?;
        *next += count as u64;
    }
    Ok(())
}

fn open(dir: &std::path::Path) -> Result<(Store, Checkpointer), Box<dyn std::error::Error>> {
    let mut store = Store::open(dir)?;
    // As serve runs it: checkpoints beside the writer.
    store.set_checkpoints(Checkpoints::Beside {
        backstop_pages: 10_000,
    })?;
    let checkpointer = Checkpointer::open(&store)?;
    Ok((store, checkpointer))
}

fn flushes(dir: &std::path::Path, series: usize) -> Result<(), Box<dyn std::error::Error>> {
    let (mut store, mut checkpointer) = open(dir)?;
    let mut next = 1;
    let mut time = 1_800_000_000_000_000_000;
    let rounds = 6;
    let mut whole = Vec::new();
    for _ in 0..rounds {
        fill(&mut store, series, &mut next, &mut time)?;
        let (flushed, took) = timed(|| store.flush_points());
        flushed?;
        whole.push(took);
        checkpointer.checkpoint()?;
    }
    println!(
        "flush_points, {POINTS_PER_FLUSH} points over {series} series: {} (first creates the series)",
        summary(&whole)
    );
    Ok(())
}

fn snapshots(dir: &std::path::Path, mib: usize) -> Result<(), Box<dyn std::error::Error>> {
    let (mut store, mut checkpointer) = open(dir)?;
    let mut time = 1_800_000_000_000_000_000;
    store.commit(&batch(1, 1, 4, &mut time))?;
    // Bytes that do not compress, as postcard's output of detector state mostly does not.
    let mut state = vec![0u8; mib << 20];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for byte in &mut state {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *byte = x as u8;
    }
    let snapshot = Snapshot {
        seq: 1,
        taken_at: Timestamp::from_nanos(time),
        config_digest: "bench".to_string(),
        state,
    };
    let mut whole = Vec::new();
    for _ in 0..5 {
        let (saved, took) = timed(|| store.save_snapshot(&snapshot));
        saved?;
        whole.push(took);
        checkpointer.checkpoint()?;
    }
    println!(
        "save_snapshot, {mib} MiB: {} (first into an empty store)",
        summary(&whole)
    );
    Ok(())
}

/// Runs `work` and measures how long it took.
#[allow(clippy::disallowed_methods)] // a benchmark measures wall time; it is not the service
fn timed<T>(work: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let done = work();
    (done, start.elapsed())
}

fn ms(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1_000.0)
}

fn summary(times: &[Duration]) -> String {
    let mut sorted = times.to_vec();
    sorted.sort();
    format!(
        "first {} ms, then min {} / median {} / max {} ms",
        ms(times[0]),
        ms(times[1..].iter().min().copied().unwrap_or_default()),
        ms(sorted[sorted.len() / 2]),
        ms(sorted[sorted.len() - 1])
    )
}
