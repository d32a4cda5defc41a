//! Snapshots and retention on a real store: only the latest snapshot of the stored state is
//! kept, old inputs go as a prefix never past the snapshot, old points go by event time, and
//! every deletion is counted. On both backends.

use modelwatch_engine::{Input, Timestamp};
use modelwatch_store::{RetentionTotals, SeriesCursor, Snapshot, Store, StoreError};

use crate::backends::Backend;
use crate::example_store;
use crate::snapshots::rows;

fn snapshot(seq: u64, state: &[u8]) -> Snapshot {
    Snapshot {
        seq,
        taken_at: Timestamp::from_secs(1_900_000_000),
        config_digest: "digest".to_string(),
        state: state.to_vec(),
    }
}

/// The event time of the example's input `seq` (1-based).
fn time_of(run: &crate::Run, seq: u64) -> Timestamp {
    run.records[seq as usize - 1]
        .input
        .timestamp()
        .expect("stored inputs are stamped")
}

fn point_count(store: &Store) -> u64 {
    store.counts().unwrap().points
}

fn only_the_latest_snapshot_of_the_stored_state_is_kept(backend: Backend) {
    let Some((mut opened, run)) = example_store(backend) else {
        return;
    };
    let store = &mut opened.store;
    let last = run.records.len() as u64;
    assert_eq!(store.latest_snapshot().unwrap(), None);

    let error = store
        .save_snapshot(&snapshot(last - 1, b"behind"))
        .unwrap_err();
    assert!(
        matches!(error, StoreError::SnapshotBehind { snapshot, stored } if snapshot == last - 1 && stored == last),
        "{error}"
    );
    assert_eq!(
        store.latest_snapshot().unwrap(),
        None,
        "a refused snapshot leaves nothing"
    );

    store.save_snapshot(&snapshot(last, b"first")).unwrap();
    // Bytes that are not UTF-8 and hold zeros come back as they went in.
    let state: Vec<u8> = (0..=255).chain(0..=255).collect();
    store.save_snapshot(&snapshot(last, &state)).unwrap();
    opened.store = opened.reopen();

    assert_eq!(
        opened.store.latest_snapshot().unwrap(),
        Some(snapshot(last, &state))
    );
    assert_eq!(
        rows(&opened, "snapshots"),
        1,
        "older snapshots are replaced"
    );
}

fn old_inputs_go_as_a_prefix_never_past_the_snapshot(backend: Backend) {
    let Some((mut opened, run)) = example_store(backend) else {
        return;
    };
    let store = &mut opened.store;
    let last = run.records.len() as u64;
    assert_eq!(
        store.retention_totals().unwrap(),
        RetentionTotals::default()
    );

    // Everything is older than the cutoff, but the snapshot is at 60: nothing past it goes,
    // and a limit of 25 takes three steps.
    let cutoff = Timestamp::from_secs(4_000_000_000);
    let mut steps = Vec::new();
    loop {
        let step = store.delete_old_inputs(cutoff, 60, 25).unwrap();
        steps.push(step.deleted);
        if step.done {
            break;
        }
    }
    assert_eq!(steps.iter().sum::<u64>(), 60);
    assert_eq!(steps[..3], [25, 25, 10]);
    let totals = store.retention_totals().unwrap();
    assert_eq!(totals.inputs_deleted_through, 60);
    assert_eq!(totals.inputs_deleted, 60);
    let left = store.inputs_after(0, 1_000).unwrap();
    assert_eq!(left.first().map(|stored| stored.seq), Some(61));
    assert_eq!(left.len() as u64, last - 60);

    // Now the cutoff is input 100's time: inputs 61..=99 are older and go; 100 stops it even
    // though the snapshot allows more.
    let cutoff = time_of(&run, 100);
    assert!(time_of(&run, 99) < cutoff);
    let step = store.delete_old_inputs(cutoff, last, 1_000).unwrap();
    assert_eq!(step.deleted, 39);
    assert!(step.done);
    let step = store.delete_old_inputs(cutoff, last, 1_000).unwrap();
    assert_eq!(step.deleted, 0, "a second pass finds nothing more");
    assert!(step.done);
    assert_eq!(store.retention_totals().unwrap().inputs_deleted, 99);
    opened.store = opened.reopen();

    // The totals survive a reopen, and the last sequence number does not move back.
    let store = &opened.store;
    assert_eq!(store.last_seq().unwrap(), last);
    assert_eq!(
        store.retention_totals().unwrap(),
        RetentionTotals {
            inputs_deleted_through: 99,
            inputs_deleted: 99,
            points_deleted: 0
        }
    );
    // Deleting inputs leaves the points, alerts and decisions alone.
    let counts = store.counts().unwrap();
    assert_eq!(counts.inputs, last - 99);
    assert!(counts.alerts > 0 && counts.decisions > 0);
}

fn old_points_go_by_event_time_series_by_series_and_are_counted(backend: Backend) {
    let Some((mut opened, run)) = example_store(backend) else {
        return;
    };
    let store = &mut opened.store;
    let before = point_count(store);
    let cutoff = time_of(&run, 50);
    let expected: u64 = run
        .records
        .iter()
        .filter_map(|record| match &record.input {
            Input::Event(event) if event.timestamp.is_some_and(|at| at < cutoff) => {
                Some(event.metrics.len() as u64)
            }
            _ => None,
        })
        .sum();
    assert!(expected > 0);

    // One series per step: as many steps as series, and the last says done.
    let mut cursor = SeriesCursor::start();
    let mut deleted = 0;
    let mut steps = 0;
    loop {
        let step = store.delete_old_points(cutoff, &mut cursor, 1).unwrap();
        deleted += step.deleted;
        steps += 1;
        if step.done {
            break;
        }
        assert!(steps < 1_000, "the walk over series ends");
    }
    assert_eq!(deleted, expected);
    assert_eq!(point_count(store), before - expected);
    assert_eq!(store.retention_totals().unwrap().points_deleted, expected);
    let series = store.latest_points("fraud-detector").unwrap().len();
    assert_eq!(
        steps,
        series + 1,
        "one step per series, then one that finds none"
    );

    // A second walk over everything finds nothing older.
    let step = store
        .delete_old_points(cutoff, &mut SeriesCursor::start(), 10_000)
        .unwrap();
    assert_eq!(
        step,
        modelwatch_store::Step {
            deleted: 0,
            done: true
        }
    );
    assert_eq!(store.counts().unwrap().inputs, run.records.len() as u64);
}

on_each_backend!(
    only_the_latest_snapshot_of_the_stored_state_is_kept,
    old_inputs_go_as_a_prefix_never_past_the_snapshot,
    old_points_go_by_event_time_series_by_series_and_are_counted,
);
