//! The store's integration tests, on SQLite and PostgreSQL (`backends.rs`): the example
//! stream goes through the engine, into the store in several commits, and back out through
//! replay and the queries. One test binary (STYLE.md section 7).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod backends;
mod input_texts;
mod leases;
mod outbox;
mod points;
mod queries;
mod read_back;
mod requests;
mod retention;
mod snapshots;
mod write_failures;

use std::sync::Arc;

use backends::{Backend, Opened};
use modelwatch_engine::config::default_config;
use modelwatch_engine::{Engine, Format, Input, Output, Timestamp, WireParser};
use modelwatch_store::{
    AlertFilter, Batch, Counts, DB_FILE, DecisionFilter, JobFilter, Order, Page, Record,
    SCHEMA_VERSION, Store, StoreError,
};

const EXAMPLE: &str = include_str!("../../../../examples/degrading-model.jsonl");

/// The example stream through a fresh engine: each input, numbered and stamped, with the
/// outputs it caused.
pub(crate) struct Run {
    pub(crate) records: Vec<Record>,
    pub(crate) outputs: Vec<Vec<Output>>,
}

impl Run {
    pub(crate) fn all_outputs(&self) -> Vec<Output> {
        self.outputs.iter().flatten().cloned().collect()
    }

    /// The inputs `range` (0-based) with their outputs, as one batch.
    pub(crate) fn batch(&self, range: std::ops::Range<usize>) -> Batch {
        let mut batch = Batch::new();
        for index in range {
            batch.push(self.records[index].clone(), self.outputs[index].clone());
        }
        batch
    }
}

pub(crate) fn run(inputs: Vec<Input>) -> Run {
    run_with(Arc::new(default_config().unwrap()), inputs)
}

/// [`run`] under another config.
pub(crate) fn run_with(config: Arc<modelwatch_engine::Config>, inputs: Vec<Input>) -> Run {
    let mut engine = Engine::new(config);
    let mut run = Run {
        records: Vec::new(),
        outputs: Vec::new(),
    };
    for (index, mut input) in inputs.into_iter().enumerate() {
        input.stamp_if_missing(engine.clock());
        let mut out = Vec::new();
        let seq = engine.process(&input, &mut out);
        let received_at = Timestamp::from_secs(1_900_000_000 + index as i64);
        run.records.push(Record {
            seq,
            received_at,
            input,
        });
        run.outputs.push(out);
    }
    run
}

pub(crate) fn example() -> Run {
    run(example_inputs())
}

/// The example stream's inputs.
pub(crate) fn example_inputs() -> Vec<Input> {
    let config = default_config().unwrap();
    WireParser::new(&config.catalog)
        .accepting_jobs()
        .parse_batch(EXAMPLE, Format::Ndjson)
        .unwrap()
}

/// A new store on `backend` holding the whole example (see [`commit_example`]); `None` when
/// the backend is not installed.
pub(crate) fn example_store(backend: Backend) -> Option<(Opened, Run)> {
    let mut opened = backend.open()?;
    let run = commit_example(&mut opened.store);
    Some((opened, run))
}

/// Commits the whole example to an empty `store` in batches of uneven sizes, and flushes
/// its points.
pub(crate) fn commit_example(store: &mut Store) -> Run {
    let run = example();
    let n = run.records.len();
    let mut start = 0;
    let mut written = Counts::default();
    for size in [1, 7, 50, 3].into_iter().chain(std::iter::repeat(40)) {
        if start == n {
            break;
        }
        let end = (start + size).min(n);
        let committed = store.commit(&run.batch(start..end)).unwrap();
        assert_eq!(committed.last_seq, end as u64);
        assert_eq!(committed.written.inputs, (end - start) as u64);
        written.inputs += committed.written.inputs;
        written.points += committed.written.points;
        written.alerts += committed.written.alerts;
        written.decisions += committed.written.decisions;
        written.job_notices += committed.written.job_notices;
        start = end;
    }
    assert_eq!(store.counts().unwrap(), written);
    // As the service does before a read: the points go from memory to their chunks.
    assert_eq!(store.flush_points().unwrap() as u64, written.points);
    assert_eq!(store.counts().unwrap(), written);
    run
}

fn to_json(outputs: &[Output]) -> Vec<String> {
    outputs
        .iter()
        .map(|output| serde_json::to_string(output).unwrap())
        .collect()
}

fn by_kind(outputs: &[Output], alerts: bool) -> Vec<String> {
    let kept: Vec<Output> = outputs
        .iter()
        .filter(|output| match output {
            Output::Alert(_) => alerts,
            Output::Retrain(_) => !alerts,
            Output::JobFinished(_) | Output::Canary(_) | Output::Quality(_) => false,
        })
        .cloned()
        .collect();
    to_json(&kept)
}

on_each_backend!(
    the_example_survives_a_reopen_and_replays_to_the_same_outputs,
    retrain_requests_are_stored_and_read_back_for_replay,
    a_recommended_retrain_is_stored_and_opens_no_job,
    reopening_continues_from_the_last_sequence_number,
    a_failing_commit_leaves_nothing_behind,
);

fn the_example_survives_a_reopen_and_replays_to_the_same_outputs(backend: Backend) {
    let Some((opened, run)) = example_store(backend) else {
        return;
    };
    let counts = opened.store.counts().unwrap();

    let all = run.all_outputs();
    assert!(all.iter().any(|o| matches!(o, Output::Alert(_))));
    assert!(all.iter().any(|o| matches!(o, Output::Retrain(_))));
    assert!(all.iter().any(|o| matches!(o, Output::JobFinished(_))));

    let store = opened.reopen();
    drop(opened.store);
    assert_eq!(store.counts().unwrap(), counts);
    assert_eq!(store.last_seq().unwrap(), run.records.len() as u64);
    assert_eq!(counts.job_notices, 1);
    let n_points: usize = run
        .records
        .iter()
        .map(|record| match &record.input {
            Input::Event(event) => event.metrics.len(),
            Input::JobFinished(_)
            | Input::RetrainRequest(_)
            | Input::Prediction(_)
            | Input::Label(_)
            | Input::Reference(_) => 0,
        })
        .sum();
    assert_eq!(counts.points, n_points as u64);

    // Every input comes back exactly, page by page, in order.
    let mut stored = Vec::new();
    loop {
        let after = stored.last().map_or(0, |record: &Record| record.seq);
        let page = store.inputs_after(after, 40).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 40);
        stored.extend(page.into_iter().map(|input| Record {
            seq: input.seq,
            received_at: input.received_at,
            input: input.input,
        }));
    }
    assert_eq!(stored, run.records);

    // Replayed through a fresh engine, they give the same outputs, byte for byte.
    let replayed = crate::run(stored.into_iter().map(|record| record.input).collect());
    assert_eq!(to_json(&replayed.all_outputs()), to_json(&all));

    // The stored outputs are the engine's, in stream order.
    let oldest = |limit| Page {
        after: None,
        limit,
        order: Order::OldestFirst,
    };
    let alerts = store
        .alerts(&AlertFilter::default(), &oldest(1000))
        .unwrap();
    assert_eq!(alerts.next, None);
    let stored_alerts: Vec<String> = alerts.items.into_iter().map(|a| a.output).collect();
    assert_eq!(stored_alerts, by_kind(&all, true));
    let decisions = store
        .decisions(&DecisionFilter::default(), &oldest(1000))
        .unwrap();
    let stored_decisions: Vec<String> = decisions.items.into_iter().map(|d| d.output).collect();
    assert_eq!(stored_decisions, by_kind(&all, false));
}

fn retrain_requests_are_stored_and_read_back_for_replay(backend: Backend) {
    let Some(mut opened) = backend.open() else {
        return;
    };
    let config = default_config().unwrap();
    let mut inputs = WireParser::new(&config.catalog)
        .accepting_jobs()
        .parse_batch(EXAMPLE, Format::Ndjson)
        .unwrap();
    let requests = WireParser::new(&config.catalog)
        .accepting_jobs()
        .parse_batch(
            r#"{"retrain_request": {"model": "fraud-detector", "reason": "labels \"v7\" are in"}}
{"retrain_request": {"model": "fraud-detector"}, "timestamp": "2026-11-22T12:00:00Z"}"#,
            Format::Ndjson,
        )
        .unwrap();
    inputs.splice(20..20, requests);
    let run = crate::run(inputs);
    opened
        .store
        .commit(&run.batch(0..run.records.len()))
        .unwrap();
    let store = opened.reopen();
    drop(opened.store);
    let stored: Vec<Record> = store
        .inputs_after(0, 1000)
        .unwrap()
        .into_iter()
        .map(|input| Record {
            seq: input.seq,
            received_at: input.received_at,
            input: input.input,
        })
        .collect();
    assert_eq!(stored, run.records);
    assert!(matches!(stored[20].input, Input::RetrainRequest(_)));
    let replayed = crate::run(stored.into_iter().map(|record| record.input).collect());
    assert_eq!(
        to_json(&replayed.all_outputs()),
        to_json(&run.all_outputs())
    );
    let manual = run
        .all_outputs()
        .into_iter()
        .filter(|output| output.seq() == 21 || output.seq() == 22)
        .count();
    assert!(manual >= 2, "each request is decided");
}

/// The built-in config has no trainer: the example's retrains are recommended, and a
/// recommended decision is stored as a decision but opens no job (only a granted one does).
fn a_recommended_retrain_is_stored_and_opens_no_job(backend: Backend) {
    let Some((opened, run)) = example_store(backend) else {
        return;
    };
    let store = &opened.store;
    let recommended = run
        .all_outputs()
        .into_iter()
        .filter(|output| {
            matches!(output, Output::Retrain(decision) if decision.decision.as_str() == "recommended")
        })
        .count();
    assert!(recommended > 0, "the example asks for retrains");
    let stored = store
        .decisions(&DecisionFilter::default(), &Page::default())
        .unwrap();
    assert!(stored.items.iter().any(|d| d.decision == "recommended"));
    assert!(stored.items.iter().all(|d| d.decision != "granted"));
    let jobs = store.jobs(&JobFilter::default(), &Page::default()).unwrap();
    assert!(jobs.items.is_empty(), "{:?}", jobs.items);
    assert!(store.open_jobs().unwrap().is_empty());
}

fn reopening_continues_from_the_last_sequence_number(backend: Backend) {
    let Some(mut opened) = backend.open() else {
        return;
    };
    let run = example();
    opened.store.commit(&run.batch(0..10)).unwrap();
    let before = opened.store.counts().unwrap();

    // Dropped without a flush, as by a crash: the points come back from the inputs.
    let mut store = opened.reopen();
    drop(opened.store);
    assert_eq!(store.counts().unwrap().points, 0);
    assert_eq!(store.flush_points().unwrap() as u64, before.points);
    assert_eq!(store.counts().unwrap(), before);
    assert_eq!(store.last_seq().unwrap(), 10);
    let error = store.commit(&run.batch(0..10)).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Sequence {
                expected: 11,
                found: 1
            }
        ),
        "{error}"
    );
    let committed = store.commit(&run.batch(10..20)).unwrap();
    assert_eq!(committed.last_seq, 20);
    // An empty batch writes nothing and reports where the store stands.
    let committed = store.commit(&Batch::new()).unwrap();
    assert_eq!(
        (committed.last_seq, committed.written),
        (20, Counts::default())
    );
}

fn a_failing_commit_leaves_nothing_behind(backend: Backend) {
    let Some(mut opened) = backend.open() else {
        return;
    };
    let run = example();
    let store = &mut opened.store;
    store.commit(&run.batch(0..60)).unwrap();
    let before = store.counts().unwrap();
    let outputs_after_60: usize = run.outputs[60..].iter().map(Vec::len).sum();
    assert!(outputs_after_60 > 0, "the test needs outputs past input 60");

    // A repeated sequence number inside the batch.
    let mut batch = run.batch(60..70);
    batch.records[5].seq = batch.records[4].seq;
    let error = store.commit(&batch).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Sequence {
                expected: 66,
                found: 65
            }
        ),
        "{error}"
    );

    // An input without a timestamp.
    let mut batch = run.batch(60..70);
    if let Input::Event(event) = &mut batch.records[3].input {
        event.timestamp = None;
    }
    let error = store.commit(&batch).unwrap_err();
    assert!(
        matches!(error, StoreError::Unstamped { seq: 64 }),
        "{error}"
    );

    // An output from an input outside the batch.
    let mut batch = run.batch(60..70);
    let later = run.all_outputs().pop().unwrap();
    assert!(later.seq() > 70);
    batch.outputs.push(later.clone());
    let error = store.commit(&batch).unwrap_err();
    assert!(
        matches!(&error, StoreError::OrphanOutput { id, seq } if id == later.id() && *seq == later.seq()),
        "{error}"
    );

    // The database itself refuses the batch late, after writing inputs: the same output
    // twice breaks the unique id. The transaction rolls all of it back.
    let mut batch = run.batch(60..run.records.len());
    let repeated = batch.outputs[batch.outputs.len() - 1].clone();
    batch.outputs.push(repeated);
    let error = store.commit(&batch).unwrap_err();
    let message = error.to_string();
    match backend {
        Backend::Sqlite => {
            assert!(
                matches!(
                    error,
                    StoreError::Sqlite {
                        action: "writing a batch",
                        ..
                    }
                ),
                "{error}"
            );
            assert!(
                message.contains(DB_FILE) && message.contains("UNIQUE"),
                "{message}"
            );
        }
        Backend::Postgres => {
            assert!(
                matches!(
                    &error,
                    StoreError::Postgres {
                        action: "writing a batch",
                        database,
                        error,
                    } if message.contains(database.as_str())
                        && error.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION)
                ),
                "{error:?}"
            );
        }
    }

    assert_eq!(store.counts().unwrap(), before);
    assert_eq!(store.last_seq().unwrap(), 60);
    // After a restart.
    let mut store = opened.reopen();
    drop(opened.store);
    store.flush_points().unwrap();
    assert_eq!(store.counts().unwrap(), before);
    // The good batch still goes in afterwards.
    store.commit(&run.batch(60..run.records.len())).unwrap();
    assert_eq!(store.last_seq().unwrap(), run.records.len() as u64);
}

/// On PostgreSQL a batch carries the ingest log's position into its partition, in its
/// transaction; a batch with no input still moves it, one without a position leaves it.
#[test]
fn a_commit_writes_the_log_position_with_the_batch_on_postgres() {
    let Some(mut opened) = Backend::Postgres.open() else {
        return;
    };
    let run = example();
    let log_seq = |store: &Store| store.postgres().unwrap().log_seq().unwrap();
    assert_eq!(log_seq(&opened.store), 0);
    let mut batch = run.batch(0..5);
    batch.log_seq = Some(9);
    opened.store.commit(&batch).unwrap();
    assert_eq!(log_seq(&opened.store), 9);
    opened.store.commit(&run.batch(5..8)).unwrap();
    assert_eq!(log_seq(&opened.store), 9);
    let moved = Batch {
        log_seq: Some(12),
        ..Batch::new()
    };
    let committed = opened.store.commit(&moved).unwrap();
    assert_eq!(
        (committed.last_seq, committed.written),
        (8, Counts::default())
    );
    assert_eq!(log_seq(&opened.reopen()), 12);
    // A refused batch moves nothing.
    let mut refused = run.batch(9..10);
    refused.log_seq = Some(20);
    assert!(opened.store.commit(&refused).is_err());
    assert_eq!(log_seq(&opened.store), 12);
}

/// A store whose lease epoch is not the stored one commits nothing.
#[test]
fn a_fenced_out_commit_writes_nothing_on_postgres() {
    let Some(mut opened) = Backend::Postgres.open() else {
        return;
    };
    let run = example();
    opened.store.commit(&run.batch(0..5)).unwrap();
    let before = opened.store.counts().unwrap();
    let pg = opened.store.postgres_mut().unwrap();
    pg.fence(modelwatch_store::pg::Fence { epoch: 3 });
    let error = opened.store.commit(&run.batch(5..10)).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Fenced {
                partition: 0,
                ours: 3,
                stored: 0
            }
        ),
        "{error}"
    );
    assert_eq!(opened.store.counts().unwrap(), before);
    assert_eq!(opened.store.last_seq().unwrap(), 5);
}

#[test]
fn a_store_from_a_newer_modelwatch_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let path = dir.path().join(DB_FILE);
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(connection);

    let error = Store::open(dir.path()).unwrap_err();
    match &error {
        StoreError::SchemaTooNew {
            path: at,
            found,
            supported,
        } => {
            assert_eq!(
                (at, *found, *supported),
                (&path, SCHEMA_VERSION + 1, SCHEMA_VERSION)
            );
        }
        other => panic!("unexpected error: {other}"),
    }
    let message = error.to_string();
    assert!(
        message.contains(&path.display().to_string()) && message.contains("newer"),
        "{message}"
    );
}

#[test]
fn open_creates_the_directory_and_uses_the_write_ahead_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("a").join("modelwatch-data");
    let store = Store::open(&data).unwrap();
    assert_eq!(store.sqlite().unwrap().path(), data.join(DB_FILE));
    assert_eq!(store.last_seq().unwrap(), 0);
    let connection = rusqlite::Connection::open(data.join(DB_FILE)).unwrap();
    let mode: String = connection
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn a_data_directory_that_cannot_be_made_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, "x").unwrap();
    let error = Store::open(&file.join("data")).unwrap_err();
    assert!(matches!(error, StoreError::CreateDir { .. }), "{error}");
    assert!(error.to_string().contains("not-a-directory"), "{error}");
}
