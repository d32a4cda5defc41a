//! Series points on both backends, through the public interface: commits, flushes (at once
//! and in steps), retention and crashes in any order give the points a plain sorted list
//! would, each once, in pages of any size and either order; what a crash left unwritten comes
//! back from the inputs.

use std::collections::BTreeMap;

use modelwatch_engine::{Event, Input, ModelId, Timestamp};
use modelwatch_store::{Batch, Order, Record, SeriesCursor, SeriesQuery, Store, StoreError};
use proptest::prelude::*;

use crate::backends::{Backend, Opened};

/// The metrics of the generated events: well-known, so stored inputs read back as they went in.
const METRICS: [&str; 2] = ["drift_score", "latency_ms"];

fn model(instance: usize) -> ModelId {
    ModelId::new("m", "1", format!("i{instance}"))
}

/// Event time `time` seconds into the test's range.
fn at(time: i64) -> Timestamp {
    Timestamp::from_secs(1_800_000_000 + time)
}

/// Input `seq`: an event of `instance` at `time` with the metrics `metrics` says (0: the
/// first, 1: the second, else both); its values are derived from `seq`.
fn event(seq: u64, instance: usize, time: i64, metrics: usize) -> Input {
    let metrics = match metrics {
        0 => vec![(METRICS[0].to_string(), seq as f64)],
        1 => vec![(METRICS[1].to_string(), seq as f64 / 2.0)],
        _ => vec![
            (METRICS[0].to_string(), seq as f64),
            (METRICS[1].to_string(), seq as f64 / 2.0),
        ],
    };
    Input::Event(Event {
        model: model(instance),
        timestamp: Some(at(time)),
        metrics,
    })
}

/// A series of the generated events: (instance, metric).
type SeriesKey = (usize, &'static str);

/// Every series' points as they should be: series to (time, seq) to value.
type Expected = BTreeMap<SeriesKey, BTreeMap<(i64, u64), f64>>;

/// Commits `specs` (instance, time, metrics) as inputs after `seq`, noting their points.
fn commit(store: &mut Store, seq: &mut u64, specs: &[(usize, i64, usize)], all: &mut Expected) {
    let mut batch = Batch::new();
    for &(instance, time, metrics) in specs {
        *seq += 1;
        let input = event(*seq, instance, time, metrics);
        if let Input::Event(event) = &input {
            for (metric, value) in &event.metrics {
                let name = METRICS.iter().find(|known| *known == metric).unwrap();
                all.entry((instance, name))
                    .or_default()
                    .insert((at(time).as_nanos(), *seq), *value);
            }
        }
        batch.push(
            Record {
                seq: *seq,
                received_at: Timestamp::from_secs(1_900_000_000),
                input,
            },
            [],
        );
    }
    store.commit(&batch).unwrap();
}

/// Every point of one series through pages of `limit`, in `order`, within [from, to).
fn read_all(
    store: &Store,
    series: SeriesKey,
    range: (Option<i64>, Option<i64>),
    limit: usize,
    order: Order,
) -> Vec<(i64, u64, f64)> {
    let mut points = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .series(&SeriesQuery {
                model: model(series.0),
                metric: series.1.to_string(),
                from: range.0.map(at),
                to: range.1.map(at),
                after,
                limit,
                order,
            })
            .unwrap();
        assert!(page.points.len() <= limit);
        points.extend(
            page.points
                .iter()
                .map(|point| (point.at.as_nanos(), point.seq, point.value)),
        );
        match page.next {
            Some(next) => {
                assert_eq!(page.points.len(), limit, "a page with a next is full");
                after = Some(next);
            }
            None => return points,
        }
    }
}

/// Every stored point of every series, through pages.
fn stored(store: &Store) -> Expected {
    let mut all = Expected::new();
    for instance in 0..3 {
        for metric in METRICS {
            let points = read_all(
                store,
                (instance, metric),
                (None, None),
                4,
                Order::OldestFirst,
            );
            for window in points.windows(2) {
                assert!((window[0].0, window[0].1) < (window[1].0, window[1].1));
            }
            if !points.is_empty() {
                all.insert(
                    (instance, metric),
                    points
                        .into_iter()
                        .map(|(time, seq, value)| ((time, seq), value))
                        .collect(),
                );
            }
        }
    }
    all
}

/// A crash: the store goes without a flush, and another opens on the same database.
fn crash(opened: &mut Opened) {
    opened.store = opened.reopen();
    assert_eq!(opened.store.pending_points(), 0);
}

/// Checks every series read against `all`: pages of `limit` both ways within `range`, and
/// each series' latest point.
fn check_reads(store: &Store, all: &Expected, range: (Option<i64>, Option<i64>), limit: usize) {
    let (from, to) = (
        range.0.map(|t| at(t).as_nanos()),
        range.1.map(|t| at(t).as_nanos()),
    );
    for instance in 0..3 {
        for metric in METRICS {
            let series = all.get(&(instance, metric)).cloned().unwrap_or_default();
            let expected: Vec<(i64, u64, f64)> = series
                .iter()
                .filter(|((time, _), _)| {
                    from.is_none_or(|from| *time >= from) && to.is_none_or(|to| *time < to)
                })
                .map(|((time, seq), value)| (*time, *seq, *value))
                .collect();
            let oldest = read_all(store, (instance, metric), range, limit, Order::OldestFirst);
            assert_eq!(oldest, expected);
            let mut newest = read_all(store, (instance, metric), range, limit, Order::NewestFirst);
            newest.reverse();
            assert_eq!(newest, expected);
            let latest = store
                .latest_points("m")
                .unwrap()
                .into_iter()
                .find(|latest| latest.model == model(instance) && latest.metric == metric)
                .map(|latest| {
                    (
                        latest.point.at.as_nanos(),
                        latest.point.seq,
                        latest.point.value,
                    )
                });
            let last = series
                .iter()
                .next_back()
                .map(|((time, seq), value)| (*time, *seq, *value));
            assert_eq!(latest, last);
        }
    }
}

/// What a generated run does to the store.
#[derive(Clone, Debug)]
enum Action {
    Commit(Vec<(usize, i64, usize)>),
    Flush,
    /// One step of a flush in steps, of about this many points.
    FlushStep(usize),
    /// Delete the stored points before this time, in walks of this many series.
    Delete(i64, usize),
    /// A crash; then read the points back at once, or leave that to the next flush.
    Crash {
        rebuild: bool,
    },
}

fn action() -> impl Strategy<Value = Action> {
    let spec = (0..3usize, 0..40i64, 0..3usize);
    prop_oneof![
        6 => prop::collection::vec(spec, 1..12).prop_map(Action::Commit),
        1 => Just(Action::Flush),
        4 => (1..8usize).prop_map(Action::FlushStep),
        1 => (0..40i64, 1..4usize).prop_map(|(time, walk)| Action::Delete(time, walk)),
        1 => any::<bool>().prop_map(|rebuild| Action::Crash { rebuild }),
    ]
}

/// Runs `actions`, checking after each that no stored point is wrong or twice, and at the
/// end (after a flush) that every point is stored and reads back in pages.
fn run_actions(
    backend: Backend,
    actions: &[Action],
    range: (Option<i64>, Option<i64>),
    limit: usize,
) {
    let Some(mut opened) = backend.open() else {
        return;
    };
    let mut all = Expected::new();
    let mut seq = 0;
    for action in actions {
        match action {
            Action::Commit(specs) => commit(&mut opened.store, &mut seq, specs, &mut all),
            Action::Flush => {
                opened.store.flush_points().unwrap();
                assert_eq!(opened.store.pending_points(), 0);
                assert_eq!(opened.store.points_watermark(), seq);
            }
            Action::FlushStep(max_points) => {
                let before = opened.store.pending_points();
                let step = opened.store.flush_points_step(*max_points).unwrap();
                assert!(
                    step.written <= *max_points || before <= *max_points,
                    "{step:?}"
                );
            }
            Action::Delete(time, walk) => {
                // Retention deletes stored points only, never those in memory.
                let cutoff = at(*time);
                let mut expected = 0;
                for (series, points) in stored(&opened.store) {
                    for (time, seq) in points.keys() {
                        if *time < cutoff.as_nanos() {
                            all.get_mut(&series).unwrap().remove(&(*time, *seq));
                            expected += 1;
                        }
                    }
                }
                all.retain(|_, points| !points.is_empty());
                let mut cursor = SeriesCursor::start();
                let mut deleted = 0;
                loop {
                    let step = opened
                        .store
                        .delete_old_points(cutoff, &mut cursor, *walk)
                        .unwrap();
                    deleted += step.deleted;
                    if step.done {
                        break;
                    }
                }
                assert_eq!(deleted, expected);
            }
            Action::Crash { rebuild } => {
                crash(&mut opened);
                if *rebuild {
                    opened.store.rebuild_points().unwrap();
                }
            }
        }
        // Stored points are right and stored once (a series read would show a repeat).
        for (series, points) in stored(&opened.store) {
            for (key, value) in points {
                assert_eq!(all.get(&series).and_then(|all| all.get(&key)), Some(&value));
            }
        }
    }
    // Whatever was pending, or lost in a crash, a flush writes.
    opened.store.flush_points().unwrap();
    assert_eq!(stored(&opened.store), all);
    let total: usize = all.values().map(BTreeMap::len).sum();
    assert_eq!(opened.store.counts().unwrap().points, total as u64);
    check_reads(&opened.store, &all, range, limit);
    let names = opened.store.model_names(None, 10).unwrap().names;
    assert_eq!(names.is_empty(), total == 0);
}

fn series_reads_give_every_point_once_in_order_whatever_the_chunks(backend: Backend) {
    let cases = match backend {
        Backend::Sqlite => 32,
        // A fresh database per case.
        Backend::Postgres => 12,
    };
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(cases));
    let strategy = (
        prop::collection::vec(action(), 1..16),
        1..6usize,
        prop::option::of(0..40i64),
        prop::option::of(0..40i64),
    );
    runner
        .run(&strategy, |(actions, limit, from, to)| {
            run_actions(backend, &actions, (from, to), limit);
            Ok(())
        })
        .unwrap();
}

/// Events 1..=n: instance `seq % 3`, time `seq`, both metrics.
fn regular(range: std::ops::RangeInclusive<u64>) -> Vec<(usize, i64, usize)> {
    range
        .map(|seq| ((seq % 3) as usize, seq as i64, 2))
        .collect()
}

fn a_crash_loses_no_point_the_next_flush_reads_them_back_from_the_inputs(backend: Backend) {
    let Some(mut opened) = backend.open() else {
        return;
    };
    let (mut seq, mut all) = (0, Expected::new());
    commit(&mut opened.store, &mut seq, &regular(1..=10), &mut all);
    assert_eq!(opened.store.pending_points(), 20);
    assert_eq!(opened.store.counts().unwrap().points, 20, "pending count");
    assert_eq!(opened.store.flush_points().unwrap(), 20);
    assert_eq!(opened.store.points_watermark(), 10);
    commit(&mut opened.store, &mut seq, &regular(11..=15), &mut all);
    assert_eq!(opened.store.pending_points(), 10);
    crash(&mut opened);
    let store = &mut opened.store;
    assert_eq!(store.points_watermark(), 10);
    assert_eq!(
        store.counts().unwrap().points,
        20,
        "inputs 11 to 15 lost their points"
    );
    // A store behind does not take a commit's points: they would leave a gap.
    commit(store, &mut seq, &regular(16..=16), &mut all);
    assert_eq!(store.pending_points(), 0);
    // The flush reads 11 to 16 back.
    assert_eq!(store.flush_points().unwrap(), 12);
    assert_eq!(store.points_watermark(), 16);
    assert_eq!(store.counts().unwrap().points, 32);
    assert_eq!(
        store.rebuild_points().unwrap(),
        0,
        "nothing left to read back"
    );
    assert_eq!(stored(store), all);
}

fn a_crash_in_a_flush_in_steps_writes_no_point_twice(backend: Backend) {
    let Some(mut opened) = backend.open() else {
        return;
    };
    let (mut seq, mut all) = (0, Expected::new());
    commit(&mut opened.store, &mut seq, &regular(1..=30), &mut all);
    // Steps of about 20 points: some series are written, the round is not over.
    let step = opened.store.flush_points_step(20).unwrap();
    assert!(step.written > 0 && !step.done, "{step:?}");
    assert_eq!(opened.store.points_watermark(), 0, "the round is not over");
    let written = stored(&opened.store);
    assert!(!written.is_empty(), "a step's points are read at once");
    // More inputs wait for the next round.
    commit(&mut opened.store, &mut seq, &regular(31..=33), &mut all);
    crash(&mut opened);
    assert_eq!(opened.store.rebuild_points().unwrap(), 33);
    assert_eq!(
        opened.store.pending_points(),
        66 - written.values().map(BTreeMap::len).sum::<usize>(),
        "the series written ahead are not read back"
    );
    loop {
        let step = opened.store.flush_points_step(7).unwrap();
        if step.done {
            break;
        }
    }
    assert_eq!(opened.store.points_watermark(), 33);
    assert_eq!(opened.store.pending_points(), 0);
    assert_eq!(stored(&opened.store), all);
    assert_eq!(opened.store.counts().unwrap().points, 66);
}

fn inputs_go_only_up_to_the_points_watermark(backend: Backend) {
    let Some(mut opened) = backend.open() else {
        return;
    };
    let (mut seq, mut all) = (0, Expected::new());
    commit(&mut opened.store, &mut seq, &regular(1..=10), &mut all);
    let far = Timestamp::from_secs(1_900_000_000);
    let step = opened.store.delete_old_inputs(far, 10, 100).unwrap();
    assert_eq!(
        step.deleted, 0,
        "no input goes before its points are written"
    );
    opened.store.flush_points().unwrap();
    commit(&mut opened.store, &mut seq, &regular(11..=12), &mut all);
    let step = opened.store.delete_old_inputs(far, 12, 100).unwrap();
    assert_eq!(step.deleted, 10);
    // After a crash, the points of 11 and 12 come back from their inputs, still stored.
    crash(&mut opened);
    assert_eq!(opened.store.flush_points().unwrap(), 4);
    assert_eq!(opened.store.counts().unwrap().points, 24);
}

fn model_names_come_in_pages_in_byte_order(backend: Backend) {
    let Some(mut opened) = backend.open() else {
        return;
    };
    // Upper case sorts before lower case byte by byte, whatever the database's locale.
    let names = ["b", "B", "a-2", "a", "Z", "a_1"];
    let mut batch = Batch::new();
    for (index, name) in names.iter().enumerate() {
        batch.push(
            Record {
                seq: index as u64 + 1,
                received_at: Timestamp::from_secs(1_900_000_000),
                input: Input::Event(Event {
                    model: ModelId::new(*name, "1", "i"),
                    timestamp: Some(at(index as i64)),
                    metrics: vec![(METRICS[0].to_string(), 1.0)],
                }),
            },
            [],
        );
    }
    opened.store.commit(&batch).unwrap();
    assert!(opened.store.model_names(None, 10).unwrap().names.is_empty());
    opened.store.flush_points().unwrap();
    let mut sorted: Vec<String> = names.iter().map(|name| name.to_string()).collect();
    sorted.sort();
    let mut listed = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = opened.store.model_names(after.as_deref(), 4).unwrap();
        assert!(page.names.len() <= 4);
        listed.extend(page.names);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(listed, sorted);
    assert!(opened.store.latest_points("nope").unwrap().is_empty());
    let latest = opened.store.latest_points("B").unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!((latest[0].point.seq, latest[0].point.value), (2, 1.0));
}

fn an_input_missing_after_the_watermark_is_named_not_skipped(backend: Backend) {
    let Some(mut opened) = backend.open() else {
        return;
    };
    let (mut seq, mut all) = (0, Expected::new());
    commit(&mut opened.store, &mut seq, &regular(1..=10), &mut all);
    opened.store.flush_points().unwrap();
    commit(&mut opened.store, &mut seq, &regular(11..=14), &mut all);
    opened.store = opened.reopen();
    // Changed outside modelwatch: inputs 12 and 14 are gone, their points never written.
    let sql = "DELETE FROM inputs WHERE seq IN (12, 14)";
    match &opened.location {
        modelwatch_store::StoreLocation::Directory(dir) => {
            let connection = rusqlite::Connection::open(dir.join(modelwatch_store::DB_FILE));
            connection.unwrap().execute(sql, []).unwrap();
        }
        modelwatch_store::StoreLocation::Postgres(url)
        | modelwatch_store::StoreLocation::PostgresPartition { url, .. } => {
            let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
            client.execute(sql, &[]).unwrap();
        }
    }
    let error = opened.store.flush_points().unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, StoreError::Corrupt { seq: 12, .. })
            && message.contains("next stored input is 13"),
        "{message}"
    );
    assert_eq!(
        opened.store.points_watermark(),
        10,
        "nothing more is written"
    );
}

on_each_backend!(
    series_reads_give_every_point_once_in_order_whatever_the_chunks,
    a_crash_loses_no_point_the_next_flush_reads_them_back_from_the_inputs,
    a_crash_in_a_flush_in_steps_writes_no_point_twice,
    inputs_go_only_up_to_the_points_watermark,
    model_names_come_in_pages_in_byte_order,
    an_input_missing_after_the_watermark_is_named_not_skipped,
);
