//! How long the store's writer pauses between commits for work that is not a commit: a points
//! flush and an engine snapshot, on a real file in a temporary directory, done at once
//! ([`Store::flush_points`], [`Store::save_snapshot`]) and in bounded steps
//! ([`Store::flush_points_step`], [`Store::save_snapshot_step`]) with commits in between, as
//! the writer would interleave them. Also what the engine takes to encode its state
//! (`Engine::snapshot`), which the writer pays before any store call.
//!
//! ```sh
//! cargo run --release -p modelwatch-store --example pauses
//! cargo run --release -p modelwatch-store --example pauses -- --only flush --dir /other/disk
//! ```
//!
//! `--only flush|snapshot|engine` runs one part. Figures are in BENCHMARKS.md ("serve: the
//! writer's pauses").

// An example binary reports on the terminal; the workspace denies printing in library code.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use modelwatch_engine::config::default_config;
use modelwatch_engine::{Engine, Event, Input, ModelId, Timestamp};
use modelwatch_store::{
    Batch, Checkpointer, Checkpoints, POINTS_PER_FLUSH, Record, Snapshot, Store,
};

/// Metrics per event (as the load generator's events carry).
const METRICS: [&str; 4] = ["accuracy", "latency_ms", "precision", "recall"];

/// Events per commit while filling the buffer.
const EVENTS_PER_COMMIT: usize = 1_000;

/// Events committed between two steps (what a group commit at 25,000 events/s holds).
const EVENTS_BETWEEN_STEPS: usize = 64;

/// Bytes of snapshot steps after which the writer asks for a checkpoint.
const CHECKPOINT_BYTES: usize = 8 << 20;

type Outcome = Result<(), Box<dyn std::error::Error>>;

fn main() -> Outcome {
    let mut only = None;
    let mut base = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--only" => only = args.next(),
            "--dir" => base = args.next(),
            _ => {
                return Err(format!(
                    "unknown argument {arg:?}; use --only flush|snapshot|engine, --dir DIR"
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
    let runs = |part: &str| only.as_deref().is_none_or(|only| only == part);
    if runs("flush") {
        for series in [1_000, 10_000] {
            for step in [None, Some(8_192), Some(32_768)] {
                let name = format!("flush-{series}-{}", step.unwrap_or(0));
                flushes(&dir.path().join(name), series, step)?;
            }
        }
    }
    if runs("snapshot") {
        for mib in [1, 10, 100] {
            for piece in [None, Some(256 << 10), Some(1 << 20)] {
                let name = format!("snapshot-{mib}-{}", piece.unwrap_or(0));
                snapshots(&dir.path().join(name), mib, piece)?;
            }
        }
    }
    if runs("engine") {
        for series in [1_200, 12_000, 60_000] {
            engine(series)?;
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

/// A store fed with events of `series` series, numbered on from `next`.
struct Feed {
    store: Store,
    checkpointer: Checkpointer,
    series: usize,
    next: u64,
    time: i64,
}

impl Feed {
    fn open(dir: &std::path::Path, series: usize) -> Result<Feed, Box<dyn std::error::Error>> {
        let mut store = Store::open(dir)?;
        // As serve runs it: checkpoints beside the writer.
        store.set_checkpoints(Checkpoints::Beside {
            backstop_pages: 10_000,
        })?;
        let sqlite = store.sqlite().ok_or("a SQLite store")?;
        let checkpointer = Checkpointer::open(sqlite)?;
        Ok(Feed {
            store,
            checkpointer,
            series,
            next: 1,
            time: 1_800_000_000_000_000_000,
        })
    }

    fn commit(&mut self, count: usize) -> Outcome {
        let batch = batch(self.next, count, self.series, &mut self.time);
        self.store.commit(&batch)?;
        self.next += count as u64;
        Ok(())
    }

    /// Commits events until `POINTS_PER_FLUSH` points wait.
    fn fill(&mut self) -> Outcome {
        while self.store.pending_points() < POINTS_PER_FLUSH {
            let wanted = (POINTS_PER_FLUSH - self.store.pending_points()).div_ceil(METRICS.len());
            self.commit(wanted.min(EVENTS_PER_COMMIT))?;
        }
        Ok(())
    }
}

fn flushes(dir: &std::path::Path, series: usize, step: Option<usize>) -> Outcome {
    let mut feed = Feed::open(dir, series)?;
    let mut pauses = Vec::new();
    let mut rounds = Vec::new();
    for _ in 0..6 {
        feed.fill()?;
        match step {
            None => {
                let (flushed, took) = timed(|| feed.store.flush_points());
                flushed?;
                pauses.push(took);
            }
            Some(max_points) => {
                let mut steps = 0;
                loop {
                    let (step, took) = timed(|| feed.store.flush_points_step(max_points));
                    pauses.push(took);
                    steps += 1;
                    if step?.done {
                        break;
                    }
                    feed.commit(EVENTS_BETWEEN_STEPS)?;
                }
                rounds.push(steps);
            }
        }
        feed.checkpointer.checkpoint()?;
    }
    match step {
        None => println!(
            "flush_points, {POINTS_PER_FLUSH} points over {series} series: {} \
             (the first creates the series)",
            summary(&pauses)
        ),
        Some(max_points) => println!(
            "flush_points_step({max_points}), {POINTS_PER_FLUSH} points over {series} series: \
             {} steps a round; per step {}",
            rounds
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join("/"),
            percentiles(&pauses)
        ),
    }
    Ok(())
}

/// `mib` MiB of bytes that do not compress, as postcard's output of detector state mostly
/// does not.
fn state(mib: usize) -> Vec<u8> {
    let mut state = vec![0u8; mib << 20];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for byte in &mut state {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *byte = x as u8;
    }
    state
}

fn snapshots(dir: &std::path::Path, mib: usize, piece: Option<usize>) -> Outcome {
    let mut feed = Feed::open(dir, 1_000)?;
    feed.commit(1)?;
    let state = state(mib);
    let mut pauses = Vec::new();
    let mut rounds = Vec::new();
    for _ in 0..5 {
        let snapshot = Snapshot {
            seq: feed.next - 1,
            taken_at: Timestamp::from_nanos(feed.time),
            config_digest: "bench".to_string(),
            state: state.clone(),
        };
        match piece {
            None => {
                let (saved, took) = timed(|| feed.store.save_snapshot(&snapshot));
                saved?;
                pauses.push(took);
            }
            Some(max_bytes) => {
                let (draft, took) = timed(|| feed.store.begin_snapshot(snapshot));
                let mut draft = draft?;
                pauses.push(took);
                let mut steps = 0;
                let mut logged = 0;
                loop {
                    let (step, took) =
                        timed(|| feed.store.save_snapshot_step(&mut draft, max_bytes));
                    pauses.push(took);
                    steps += 1;
                    let step = step?;
                    if step.done {
                        break;
                    }
                    feed.commit(EVENTS_BETWEEN_STEPS)?;
                    // As the writer should: a checkpoint (on its own thread, untimed here)
                    // every few MiB of steps keeps the log short.
                    logged += step.written + step.deleted;
                    if logged >= CHECKPOINT_BYTES {
                        feed.checkpointer.checkpoint()?;
                        logged = 0;
                    }
                }
                rounds.push(steps);
            }
        }
        feed.commit(1)?;
        feed.checkpointer.checkpoint()?;
    }
    match piece {
        None => println!(
            "save_snapshot, {mib} MiB: {} (the first into an empty store)",
            summary(&pauses)
        ),
        Some(max_bytes) => println!(
            "save_snapshot_step({} KiB), {mib} MiB: {} steps a snapshot; per step {}",
            max_bytes >> 10,
            rounds
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join("/"),
            percentiles(&pauses)
        ),
    }
    Ok(())
}

/// What `Engine::snapshot` takes for an engine with `series` series under the built-in rules
/// (10 events per instance of the load generator's metrics).
fn engine(series: usize) -> Outcome {
    let config = Arc::new(default_config()?);
    let mut engine = Engine::new(config);
    let instances = series.div_ceil(6);
    let mut outputs = Vec::new();
    let mut time = 1_800_000_000_000_000_000i64;
    for round in 0..10 {
        for instance in 0..instances {
            time += 1_000_000;
            let value = 0.9 + ((instance + round) % 7) as f64 / 100.0;
            let event = Input::Event(Event {
                model: ModelId::new(format!("m{}", instance % 100), "1", format!("i{instance}")),
                timestamp: Some(Timestamp::from_nanos(time)),
                metrics: vec![
                    ("accuracy".to_string(), value),
                    ("f1".to_string(), value),
                    ("latency_ms".to_string(), 40.0 + value),
                    ("precision".to_string(), value),
                    ("recall".to_string(), value),
                ],
            });
            engine.process(&event, &mut outputs);
            outputs.clear();
        }
    }
    let mut pauses = Vec::new();
    let mut len = 0;
    for _ in 0..5 {
        let (bytes, took) = timed(|| engine.snapshot());
        len = bytes?.len();
        pauses.push(took);
    }
    println!(
        "Engine::snapshot, {} series ({} instances), {:.1} MiB: {}",
        instances * 6,
        instances,
        len as f64 / f64::from(1 << 20),
        summary(&pauses)
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

fn percentiles(times: &[Duration]) -> String {
    let mut sorted = times.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    format!(
        "p50 {} / p99 {} / max {} ms over {} steps",
        ms(at(0.5)),
        ms(at(0.99)),
        ms(sorted[sorted.len() - 1]),
        sorted.len()
    )
}
