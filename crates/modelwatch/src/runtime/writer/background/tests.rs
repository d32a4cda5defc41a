//! The writer's upkeep in steps, driven commit by commit: commits go through while a snapshot
//! is encoded and saved, the snapshot saved is the state where it began, recovery restores it
//! and replays the rest exactly, and a crash in the middle of one loses nothing.

use std::sync::Arc;

use modelwatch_engine::config::{DEFAULT_CONFIG_TOML, parse_config};
use modelwatch_engine::{Config, Engine, Event, Input, ModelId, Timestamp};
use modelwatch_store::{Batch, Record, Store};

use super::Upkeep;
use crate::runtime::metrics::Metrics;
use crate::runtime::writer::recovery::recover;
use tokio::sync::watch;

use crate::runtime::writer::{Status, Writer, WriterOptions};

fn config() -> Arc<Config> {
    Arc::new(parse_config(DEFAULT_CONFIG_TOML).unwrap().config)
}

/// A writer on `store` that starts with the engine `recover` rebuilds, snapshots every 50
/// inputs, begins a round of points at 60 and takes small steps: 64 points, 512 bytes.
fn start<'m>(store: Store, metrics: &'m Metrics, engine: Engine, restored: u64) -> Writer<'m> {
    let options = WriterOptions {
        snapshot_every: 50,
        started_at: Timestamp::from_secs(1_900_000_000),
        max_series: None,
    };
    let ready = Status::Ready {
        replayed: 0,
        restored: None,
        note: None,
    };
    // The writer's status and its retry timers outlive the test's writers (leaked: a few
    // bytes per test); these tests never fail a write, so no timer is ever set.
    let status: &'static watch::Sender<Status> =
        Box::leak(Box::new(watch::channel(ready.clone()).0));
    let runtime: &'static tokio::runtime::Runtime = Box::leak(Box::new(
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap(),
    ));
    Writer {
        engine,
        config: config(),
        config_digest: config().source_digest.clone(),
        store,
        metrics,
        options,
        snapshot_seq: restored,
        snapshot_len: 0,
        wall: options.started_at,
        pass: None,
        checkpoints: None,
        outbox: None,
        commits: 0,
        timers: runtime.handle().clone(),
        status,
        ready,
        trouble: None,
        failed_writes: 0,
        upkeep: Upkeep::with_steps(60, 64, 512),
    }
}

/// The `n`th event: one of 40 instances, 2 metrics (in the order, and without the derived
/// metrics, in which the store gives it back).
fn event(n: u64) -> Input {
    let value = 0.8 + (n % 7) as f64 / 100.0;
    Input::Event(Event {
        model: ModelId::new("m", "1", format!("i{}", n % 40)),
        timestamp: Some(Timestamp::from_secs(1_800_000_000 + n as i64)),
        metrics: ["accuracy", "latency_ms"]
            .iter()
            .map(|metric| (metric.to_string(), value))
            .collect(),
    })
}

/// Commits one event as the writer's loop does, then lets the upkeep take its steps.
fn commit(writer: &mut Writer<'_>) {
    let input = event(writer.engine.next_seq());
    let mut outputs = Vec::new();
    let seq = writer.engine.process(&input, &mut outputs);
    let mut batch = Batch::new();
    batch.push(
        Record {
            seq,
            received_at: Timestamp::from_secs(1_900_000_000),
            input,
        },
        outputs,
    );
    let before = writer.store.pending_points();
    writer.store.commit(&batch).unwrap();
    let points = writer.store.pending_points() - before;
    writer.after_commit(points).unwrap();
}

/// Commits until the writer begins a snapshot; returns the input it is of and the bytes the
/// engine gives at once then.
fn commit_until_a_snapshot_begins(writer: &mut Writer<'_>) -> (u64, Vec<u8>) {
    for _ in 0..200 {
        commit(writer);
        if let Some(seq) = writer.engine.snapshot_in_progress() {
            assert_eq!(seq, writer.engine.last_seq(), "of the last input committed");
            return (seq, writer.engine.snapshot().unwrap());
        }
    }
    panic!("no snapshot began within 200 inputs");
}

#[test]
fn commits_go_through_while_a_snapshot_is_saved_in_steps_and_recovery_restores_it() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = Metrics::default();
    let mut writer = start(
        Store::open(dir.path()).unwrap(),
        &metrics,
        Engine::new(config()),
        0,
    );
    let (began, expected) = commit_until_a_snapshot_begins(&mut writer);
    assert!(
        expected.len() > 20 * 512,
        "the state takes many steps: {} bytes",
        expected.len()
    );

    // Every commit takes a step; the inputs keep coming, and nothing is saved until the
    // snapshot is whole.
    let mut during = 0;
    while writer.snapshot_seq < began {
        assert_eq!(writer.store.latest_snapshot().unwrap(), None);
        commit(&mut writer);
        during += 1;
        assert!(during < 1_000, "the snapshot ends");
    }
    assert!(
        during > 20,
        "{during} commits while the snapshot was under way"
    );
    let saved = writer.store.latest_snapshot().unwrap().unwrap();
    assert_eq!(saved.seq, began);
    assert!(
        saved.state == expected,
        "the state where the snapshot began"
    );
    assert!(writer.store.last_seq().unwrap() > began + 20);

    // The points were written in rounds of steps along the way, not at once.
    assert!(writer.store.points_watermark() > 0);
    assert!(writer.store.pending_points() < 200);

    // Recovery restores the snapshot and replays what followed: the writer's state exactly.
    let state = writer.engine.snapshot().unwrap();
    let last = writer.engine.last_seq();
    drop(writer);
    let mut store = Store::open(dir.path()).unwrap();
    let recovered = recover(config(), &mut store, &metrics).unwrap();
    assert_eq!(recovered.restored, Some(began));
    assert_eq!(recovered.replayed, last - began);
    assert!(recovered.engine.snapshot().unwrap() == state);
}

#[test]
fn a_crash_in_the_middle_of_a_snapshot_keeps_the_one_before_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = Metrics::default();
    let mut writer = start(
        Store::open(dir.path()).unwrap(),
        &metrics,
        Engine::new(config()),
        0,
    );
    let (first, _) = commit_until_a_snapshot_begins(&mut writer);
    while writer.snapshot_seq < first || writer.upkeep_pending() {
        commit(&mut writer);
    }
    // The next one gets as far as some of its pieces; then the process dies (no clean stop:
    // the writer is dropped as it stands).
    let (second, _) = commit_until_a_snapshot_begins(&mut writer);
    assert!(second > first);
    while writer.upkeep.saving.is_none() {
        commit(&mut writer);
    }
    writer.snapshot_step();
    writer.snapshot_step();
    let draft = writer.upkeep.saving.as_ref().unwrap();
    assert!(!draft.is_saved(), "two pieces of many");
    assert_eq!(draft.snapshot().seq, second);
    let state = writer.engine.snapshot().unwrap();
    let last = writer.engine.last_seq();
    drop(writer);

    let mut store = Store::open(dir.path()).unwrap();
    assert_eq!(store.latest_snapshot().unwrap().unwrap().seq, first);
    let recovered = recover(config(), &mut store, &metrics).unwrap();
    assert_eq!(recovered.restored, Some(first));
    assert_eq!(recovered.replayed, last - first);
    assert!(recovered.engine.snapshot().unwrap() == state);

    // The next writer's snapshot replaces it, and the unfinished pieces go.
    let mut writer = start(store, &metrics, recovered.engine, first);
    let (third, _) = commit_until_a_snapshot_begins(&mut writer);
    while writer.upkeep_pending() {
        writer.idle_step().unwrap();
    }
    assert_eq!(writer.store.latest_snapshot().unwrap().unwrap().seq, third);
}
