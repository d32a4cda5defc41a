//! Unit tests of the store's group commit: what one commit writes, counts and reads back.

use modelwatch_engine::{ModelId, Timestamp};

use super::*;
use crate::{Checkpointer, Checkpoints};

#[test]
fn every_commit_is_durable_and_waits_for_locks() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let pragma = |name: &str| -> i64 {
        store
            .connection
            .query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
            .unwrap()
    };
    assert_eq!(pragma("synchronous"), 2, "FULL");
    assert_eq!(pragma("busy_timeout"), BUSY_TIMEOUT.as_millis() as i64);
}

#[test]
fn a_checkpointer_beside_the_writer_copies_the_log_the_writer_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path()).unwrap();
    store
        .set_checkpoints(Checkpoints::Beside {
            backstop_pages: 1_000_000,
        })
        .unwrap();
    let mut checkpointer = Checkpointer::open(&store).unwrap();
    for first in (1..=2_000).step_by(100) {
        store.commit(&events(first..=first + 99)).unwrap();
    }
    store.flush_points().unwrap();
    let done = checkpointer.checkpoint().unwrap();
    assert!(done.log_pages > 100, "{done:?}");
    assert_eq!(done.checkpointed, done.log_pages);
    // With commits checkpointing again, the log is copied by the commit that fills it.
    store.set_checkpoints(Checkpoints::InCommits).unwrap();
    let pages: i64 = store
        .connection
        .query_row("PRAGMA wal_autocheckpoint", [], |row| row.get(0))
        .unwrap();
    assert_eq!(pages, 1_000);
}

fn events(seqs: std::ops::RangeInclusive<u64>) -> Batch {
    let mut batch = Batch::new();
    for seq in seqs {
        let event = modelwatch_engine::Event {
            model: ModelId::new("m", "1", format!("i{}", seq % 3)),
            timestamp: Some(Timestamp::from_secs(1_795_392_000 + seq as i64)),
            metrics: vec![
                ("accuracy".to_string(), 0.9),
                ("latency_ms".to_string(), seq as f64),
                ("recall".to_string(), 0.8),
            ],
        };
        let record = Record {
            seq,
            received_at: Timestamp::from_secs(1_795_392_000),
            input: Input::Event(event),
        };
        batch.push(record, []);
    }
    batch
}

fn rows(store: &SqliteStore, table: &str) -> i64 {
    store
        .connection
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
            row.get(0)
        })
        .unwrap()
}

#[test]
fn a_transaction_a_failed_rollback_left_open_is_rolled_back_and_writes_go_on_synced() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path()).unwrap();
    store.commit(&events(1..=5)).unwrap();
    // What a commit whose rollback failed too (an I/O error) leaves: a transaction, with
    // a write in it, on the store's connection.
    store
        .connection
        .execute_batch("BEGIN IMMEDIATE; INSERT INTO inputs VALUES (90, 0, '{}');")
        .unwrap();
    assert_eq!(store.flush_points().unwrap(), 15);
    store.commit(&events(6..=10)).unwrap();
    let synchronous: i64 = store
        .connection
        .query_row("PRAGMA synchronous", [], |row| row.get(0))
        .unwrap();
    assert_eq!(synchronous, 2, "a commit after a flush is synced (FULL)");
    store
        .save_snapshot(&crate::Snapshot {
            seq: 10,
            taken_at: Timestamp::from_secs(0),
            config_digest: "d".to_string(),
            state: vec![1, 2, 3],
        })
        .unwrap();
    drop(store);
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(
        rows(&store, "inputs"),
        10,
        "the stray row went with its transaction"
    );
    assert_eq!(store.last_seq().unwrap(), 10);
}

#[test]
fn inputs_go_in_many_rows_at_a_time_and_a_refused_row_takes_the_whole_batch_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path()).unwrap();
    let written = store.commit(&events(1..=5)).unwrap().written;
    assert_eq!((written.inputs, written.points), (5, 15));
    assert_eq!(store.pending_points(), 15);
    // An input row already there under number 90: SQLite refuses it after the first
    // statement of 64 inputs went in.
    let batch = events(6..=100);
    assert!(batch.records.len() > ROWS_PER_INSERT);
    store
        .connection
        .execute("INSERT INTO inputs VALUES (90, 0, '{}')", [])
        .unwrap();
    let error = store.commit(&batch).unwrap_err();
    assert!(error.to_string().contains("UNIQUE"), "{error}");
    assert_eq!(rows(&store, "inputs"), 6);
    assert_eq!(read_last_seq(&store.connection).unwrap(), 5);
    assert_eq!(
        store.pending_points(),
        15,
        "no point of a refused batch is taken"
    );
    // The same connection takes the batch once the conflict is gone.
    store
        .connection
        .execute("DELETE FROM inputs WHERE seq = 90", [])
        .unwrap();
    let written = store.commit(&batch).unwrap().written;
    assert_eq!((written.inputs, written.points), (95, 285));
    assert_eq!(rows(&store, "inputs"), 100);
    assert_eq!(store.pending_points(), 300);
    assert_eq!(store.flush_points().unwrap(), 300);
    assert_eq!(store.counts().unwrap().points, 300);
    let latency: Vec<(i64, f64)> = (0..3)
        .flat_map(|instance| {
            let page = store
                .series(&crate::SeriesQuery {
                    model: ModelId::new("m", "1", format!("i{instance}")),
                    metric: "latency_ms".to_string(),
                    from: None,
                    to: None,
                    after: None,
                    limit: 1_000,
                    order: crate::Order::OldestFirst,
                })
                .unwrap();
            page.points
                .into_iter()
                .map(|point| (point.seq as i64, point.value))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut sorted = latency.clone();
    sorted.sort_by_key(|(seq, _)| *seq);
    let expected: Vec<(i64, f64)> = (1..=100).map(|seq| (seq, seq as f64)).collect();
    assert_eq!(sorted, expected);
}
