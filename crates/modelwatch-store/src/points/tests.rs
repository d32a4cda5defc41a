//! Series points on real SQLite files: commits, flushes, retention and crashes in any order
//! give the points a plain sorted list would, whatever chunks they landed in.

use std::collections::BTreeMap;

use modelwatch_engine::{Event, Input, ModelId, Timestamp};
use proptest::prelude::*;
use rusqlite::Connection;

use super::read::successor;
use super::*;
use crate::schema::MIGRATIONS;
use crate::{Batch, Order, Record, SeriesCursor, SeriesQuery, SqliteStore};

/// The metrics of the generated events: well-known, so stored inputs read back as they went in.
const METRICS: [&str; 2] = ["drift_score", "latency_ms"];

fn model(instance: usize) -> ModelId {
    ModelId::new("m", "1", format!("i{instance}"))
}

/// One generated event: its instance, its event time (seconds) and which metrics it carries.
#[derive(Clone, Debug)]
struct Spec {
    instance: usize,
    time: i64,
    metrics: usize,
}

fn event(spec: &Spec, seq: u64) -> Input {
    let metrics = match spec.metrics {
        0 => vec![(METRICS[0].to_string(), seq as f64)],
        1 => vec![(METRICS[1].to_string(), seq as f64 / 2.0)],
        _ => vec![
            (METRICS[0].to_string(), seq as f64),
            (METRICS[1].to_string(), seq as f64 / 2.0),
        ],
    };
    Input::Event(Event {
        model: model(spec.instance),
        timestamp: Some(Timestamp::from_secs(1_800_000_000 + spec.time)),
        metrics,
    })
}

/// What a test does to the store.
#[derive(Clone, Debug)]
enum Action {
    Commit(Vec<Spec>),
    Flush,
    /// One step of a flush in steps, of about this many points.
    FlushStep(usize),
    /// Delete the stored points before this time (seconds), in walks of this many series.
    Delete(i64, usize),
    /// Drop the store without flushing (a crash) and open it again; read the points back
    /// from the inputs at once, or leave that to the next flush.
    Crash {
        rebuild: bool,
    },
}

fn spec() -> impl Strategy<Value = Spec> {
    (0..3usize, 0..40i64, 0..3usize).prop_map(|(instance, time, metrics)| Spec {
        instance,
        time,
        metrics,
    })
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => prop::collection::vec(spec(), 1..12).prop_map(Action::Commit),
        1 => Just(Action::Flush),
        4 => (1..8usize).prop_map(Action::FlushStep),
        1 => (0..40i64, 1..4usize).prop_map(|(time, walk)| Action::Delete(time, walk)),
        1 => any::<bool>().prop_map(|rebuild| Action::Crash { rebuild }),
    ]
}

/// A series of the generated events: (instance, metric).
type SeriesKey = (usize, &'static str);

/// One generated point: its series, its key (time, seq) and its value.
type Generated = (SeriesKey, (i64, u64), f64);

/// Every series' points as they should be: series to (time, seq) to value.
type Expected = BTreeMap<SeriesKey, BTreeMap<(i64, u64), f64>>;

fn points_of(seq: u64, spec: &Spec) -> Vec<Generated> {
    let Input::Event(event) = event(spec, seq) else {
        return Vec::new();
    };
    let time = event.timestamp.unwrap_or_default().as_nanos();
    event
        .metrics
        .iter()
        .map(|(metric, value)| {
            let name = METRICS
                .iter()
                .find(|known| *known == metric)
                .copied()
                .unwrap_or_default();
            ((spec.instance, name), (time, seq), *value)
        })
        .collect()
}

fn open(dir: &std::path::Path) -> SqliteStore {
    let mut store = SqliteStore::open(dir).unwrap();
    // Small chunks, so that pages and deletions cross many of them.
    store.points.chunk_points = 3;
    store
}

/// Every point of one series through pages of `limit`, in `order`, within [from, to).
fn read_all(
    store: &SqliteStore,
    series: (usize, &str),
    from: Option<i64>,
    to: Option<i64>,
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
                from: from.map(Timestamp::from_nanos),
                to: to.map(Timestamp::from_nanos),
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

/// Every stored point of every series, read back through pages: (time, seq, value) in key
/// order, each once.
fn chunks(store: &SqliteStore) -> BTreeMap<SeriesKey, Vec<(i64, u64, f64)>> {
    let mut all = BTreeMap::new();
    for instance in 0..3 {
        for metric in METRICS {
            let points = read_all(store, (instance, metric), None, None, 4, Order::OldestFirst);
            if !points.is_empty() {
                all.insert((instance, metric), points);
            }
        }
    }
    all
}

/// The invariant of points: every point of a stored input (less those retention deleted) is
/// in a chunk or in the store's memory, never both and never twice; once the store's memory
/// follows on from the last input (nothing left to read back), none is missing.
fn check_points(store: &SqliteStore, all: &Expected) -> Result<(), TestCaseError> {
    let stored = chunks(store);
    let mut memory: Expected = BTreeMap::new();
    for (model, metric, point) in store.points.all() {
        let instance: usize = model.instance[1..].parse().unwrap();
        let name = METRICS
            .iter()
            .find(|known| **known == metric)
            .copied()
            .unwrap();
        let previous = memory
            .entry((instance, name))
            .or_default()
            .insert(point.key(), point.value);
        prop_assert!(previous.is_none(), "a point twice in memory: {:?}", point);
    }
    let caught_up = store.points.through() == store.last_seq().unwrap();
    let mut seen: Expected = BTreeMap::new();
    for (series, points) in &stored {
        for window in points.windows(2) {
            prop_assert!(
                (window[0].0, window[0].1) < (window[1].0, window[1].1),
                "{:?}",
                window
            );
        }
        for (time, seq, value) in points {
            let in_memory = memory
                .get(series)
                .is_some_and(|m| m.contains_key(&(*time, *seq)));
            prop_assert!(
                !in_memory,
                "{:?} {:?} in a chunk and in memory",
                series,
                (time, seq)
            );
            seen.entry(*series)
                .or_default()
                .insert((*time, *seq), *value);
        }
    }
    for (series, points) in memory {
        seen.entry(series).or_default().extend(points);
    }
    if caught_up {
        prop_assert_eq!(&seen, all);
    } else {
        for (series, points) in &seen {
            for (key, value) in points {
                prop_assert_eq!(all.get(series).and_then(|all| all.get(key)), Some(value));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn series_reads_give_every_point_once_in_order_whatever_the_chunks(
        actions in prop::collection::vec(action(), 1..20),
        limit in 1..6usize,
        from in prop::option::of(0..40i64),
        to in prop::option::of(0..40i64),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        // Every point of a stored input, less those retention deleted.
        let mut all: Expected = BTreeMap::new();
        let mut seq = 0;
        for action in &actions {
            match action {
                Action::Commit(specs) => {
                    let mut batch = Batch::new();
                    for spec in specs {
                        seq += 1;
                        for (series, key, value) in points_of(seq, spec) {
                            all.entry(series).or_default().insert(key, value);
                        }
                        let record = Record {
                            seq,
                            received_at: Timestamp::from_secs(1_900_000_000),
                            input: event(spec, seq),
                        };
                        batch.push(record, []);
                    }
                    store.commit(&batch).unwrap();
                }
                Action::Flush => {
                    store.flush_points().unwrap();
                    prop_assert_eq!(store.pending_points(), 0);
                    prop_assert_eq!(store.points_watermark(), seq);
                }
                Action::FlushStep(max_points) => {
                    let before = store.pending_points();
                    let done = store.flush_points_step(*max_points).unwrap();
                    prop_assert!(done.written <= (*max_points).max(1) || before <= *max_points);
                    if done.done {
                        prop_assert!(store.points.round.is_none());
                    }
                }
                Action::Delete(time, walk) => {
                    let cutoff = Timestamp::from_secs(1_800_000_000 + time);
                    // Retention deletes stored points only, never those in memory.
                    let mut expected = 0;
                    for (series, points) in chunks(&store) {
                        for (time, seq, _) in points {
                            if time < cutoff.as_nanos() {
                                all.get_mut(&series).unwrap().remove(&(time, seq));
                                expected += 1;
                            }
                        }
                    }
                    all.retain(|_, points| !points.is_empty());
                    let mut cursor = SeriesCursor::start();
                    let mut deleted = 0;
                    loop {
                        let step = store.delete_old_points(cutoff, &mut cursor, *walk).unwrap();
                        deleted += step.deleted;
                        if step.done {
                            break;
                        }
                    }
                    prop_assert_eq!(deleted, expected);
                }
                Action::Crash { rebuild } => {
                    drop(store);
                    store = open(dir.path());
                    prop_assert_eq!(store.pending_points(), 0);
                    if *rebuild {
                        store.rebuild_points().unwrap();
                    }
                }
            }
            check_points(&store, &all)?;
        }
        // Whatever was pending, or lost in a crash, a flush writes.
        store.flush_points().unwrap();
        let stored = all.clone();
        let total: usize = stored.values().map(BTreeMap::len).sum();
        prop_assert_eq!(store.counts().unwrap().points, total as u64);
        let from = from.map(|time| Timestamp::from_secs(1_800_000_000 + time).as_nanos());
        let to = to.map(|time| Timestamp::from_secs(1_800_000_000 + time).as_nanos());
        for instance in 0..3 {
            for metric in METRICS {
                let all = stored.get(&(instance, metric)).cloned().unwrap_or_default();
                let mut expected: Vec<(i64, u64, f64)> = all
                    .iter()
                    .filter(|((time, _), _)| {
                        from.is_none_or(|from| *time >= from) && to.is_none_or(|to| *time < to)
                    })
                    .map(|((time, seq), value)| (*time, *seq, *value))
                    .collect();
                let oldest = read_all(&store, (instance, metric), from, to, limit, Order::OldestFirst);
                prop_assert_eq!(&oldest, &expected);
                let mut newest = read_all(&store, (instance, metric), from, to, limit, Order::NewestFirst);
                newest.reverse();
                prop_assert_eq!(&newest, &expected);
                // The latest point of the series, if it has any.
                let latest = store
                    .latest_points("m")
                    .unwrap()
                    .into_iter()
                    .find(|latest| latest.model == model(instance) && latest.metric == metric)
                    .map(|latest| (latest.point.at.as_nanos(), latest.point.seq, latest.point.value));
                expected = all.iter().map(|((time, seq), value)| (*time, *seq, *value)).collect();
                prop_assert_eq!(latest, expected.last().copied());
            }
        }
        let names = store.model_names(None, 10).unwrap().names;
        prop_assert_eq!(names.is_empty(), total == 0);
    }
}

fn commit(store: &mut SqliteStore, seqs: std::ops::RangeInclusive<u64>) {
    let mut batch = Batch::new();
    for seq in seqs {
        let spec = Spec {
            instance: (seq % 3) as usize,
            time: seq as i64,
            metrics: 2,
        };
        batch.push(
            Record {
                seq,
                received_at: Timestamp::from_secs(1_900_000_000),
                input: event(&spec, seq),
            },
            [],
        );
    }
    store.commit(&batch).unwrap();
}

fn watermark(store: &SqliteStore) -> u64 {
    crate::store::read_points_through(&store.connection).unwrap()
}

#[test]
fn a_crash_loses_no_point_the_next_flush_reads_them_back_from_the_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    commit(&mut store, 1..=10);
    assert_eq!(store.flush_points().unwrap(), 20);
    assert_eq!(watermark(&store), 10);
    commit(&mut store, 11..=15);
    assert_eq!(store.pending_points(), 10);
    drop(store);

    let mut store = open(dir.path());
    assert_eq!(
        store.counts().unwrap().points,
        20,
        "inputs 11 to 15 lost their points"
    );
    // A store behind does not take a commit's points: they would leave a gap.
    commit(&mut store, 16..=16);
    assert_eq!(store.pending_points(), 0);
    // The flush reads 11 to 16 back.
    assert_eq!(store.flush_points().unwrap(), 12);
    assert_eq!(watermark(&store), 16);
    assert_eq!(store.counts().unwrap().points, 32);
    assert_eq!(
        store.rebuild_points().unwrap(),
        0,
        "nothing left to read back"
    );
}

#[test]
fn inputs_go_only_up_to_the_points_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    commit(&mut store, 1..=10);
    let far = Timestamp::from_secs(1_900_000_000);
    let step = store.delete_old_inputs(far, 10, 100).unwrap();
    assert_eq!(
        step.deleted, 0,
        "no input goes before its points are written"
    );
    store.flush_points().unwrap();
    commit(&mut store, 11..=12);
    let step = store.delete_old_inputs(far, 12, 100).unwrap();
    assert_eq!(step.deleted, 10);
    // After a crash, the points of 11 and 12 come back from their inputs, still stored.
    drop(store);
    let mut store = open(dir.path());
    assert_eq!(store.flush_points().unwrap(), 4);
    assert_eq!(store.counts().unwrap().points, 24);
}

#[test]
fn an_unreadable_chunk_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    commit(&mut store, 1..=3);
    store.flush_points().unwrap();
    let chunk: i64 = store
        .connection
        .query_row(
            "UPDATE point_chunks SET points = x'0102' WHERE id = (SELECT min(id) FROM point_chunks)
             RETURNING id",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let errors: Vec<StoreError> = (0..3)
        .flat_map(|instance| {
            METRICS.iter().map(move |metric| SeriesQuery {
                model: model(instance),
                metric: (*metric).to_string(),
                from: None,
                to: None,
                after: None,
                limit: 10,
                order: Order::OldestFirst,
            })
        })
        .filter_map(|query| store.series(&query).err())
        .collect();
    assert_eq!(errors.len(), 1);
    let message = errors[0].to_string();
    assert!(
        message.contains(&format!("chunk {chunk}")) && message.contains("2 bytes"),
        "{message}"
    );
}

#[test]
fn a_version_2_store_moves_its_point_rows_into_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(crate::DB_FILE);
    {
        let connection = Connection::open(&path).unwrap();
        for migration in &MIGRATIONS[..2] {
            connection.execute_batch(migration.sql).unwrap();
        }
        connection.pragma_update(None, "user_version", 2).unwrap();
        // 2,500 points of one series (three chunks) and one of another, out of key order.
        for seq in (1..=2_500u64).rev() {
            connection
                .execute(
                    "INSERT INTO points VALUES ('m', '1', 'i0', 'latency_ms', ?1, ?2, ?3)",
                    params![seq as i64 * 10, seq as i64, seq as f64],
                )
                .unwrap();
        }
        connection
            .execute(
                "INSERT INTO points VALUES ('m', '1', 'i1', 'drift_score', 5, 2501, 0.5)",
                [],
            )
            .unwrap();
        connection
            .execute("UPDATE store_state SET last_seq = 2501", [])
            .unwrap();
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(watermark(&store), 2_501);
    let chunks: i64 = store
        .connection
        .query_row("SELECT count(*) FROM point_chunks", [], |row| row.get(0))
        .unwrap();
    assert_eq!(chunks, 4);
    let gone: i64 = store
        .connection
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'points'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(gone, 0);
    assert_eq!(store.counts().unwrap().points, 2_501);
    let all = read_all(
        &store,
        (0, "latency_ms"),
        None,
        None,
        1_000,
        Order::OldestFirst,
    );
    let expected: Vec<(i64, u64, f64)> = (1..=2_500u64)
        .map(|seq| (seq as i64 * 10, seq, seq as f64))
        .collect();
    assert_eq!(all, expected);
    let latest = store.latest_points("m").unwrap();
    assert_eq!(latest.len(), 2);
    assert_eq!(latest[1].point.value, 0.5);
}

#[test]
fn chunk_blobs_round_trip_every_value() {
    let points = [
        RawPoint {
            time: i64::MIN,
            seq: 1,
            value: f64::MIN_POSITIVE,
        },
        RawPoint {
            time: -1,
            seq: u64::MAX,
            value: -0.0,
        },
        RawPoint {
            time: i64::MAX,
            seq: 7,
            value: f64::MAX,
        },
    ];
    let blob = encode(&points);
    assert_eq!(blob.len(), 3 * POINT_BYTES);
    let back = decode(&blob).unwrap();
    assert_eq!(back.len(), 3);
    for (a, b) in points.iter().zip(&back) {
        assert_eq!(
            (a.time, a.seq, a.value.to_bits()),
            (b.time, b.seq, b.value.to_bits())
        );
    }
    assert_eq!(successor((5, u64::MAX)), Some((6, 0)));
    assert_eq!(successor((i64::MAX, u64::MAX)), None);
}

#[test]
fn an_input_missing_after_the_watermark_is_named_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path());
    commit(&mut store, 1..=10);
    store.flush_points().unwrap();
    commit(&mut store, 11..=14);
    drop(store);
    // Changed outside modelwatch: inputs 12 and 14 are gone, their points never written.
    let connection = Connection::open(dir.path().join(crate::DB_FILE)).unwrap();
    connection
        .execute("DELETE FROM inputs WHERE seq IN (12, 14)", [])
        .unwrap();
    drop(connection);
    let mut store = open(dir.path());
    let error = store.flush_points().unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, StoreError::Corrupt { seq: 12, .. })
            && message.contains("next stored input is 13"),
        "{message}"
    );
    assert_eq!(watermark(&store), 10, "nothing more is written");
}
