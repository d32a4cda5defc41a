//! Engine snapshots on both backends: saved at once or in bounded steps while inputs keep
//! coming, the older one readable until the newer is saved, what it replaced deleted a
//! bounded amount at a time, and a draft a crash left unfinished cleaned up after.

use modelwatch_engine::{Event, Input, ModelId, Timestamp};
use modelwatch_store::{
    Batch, DB_FILE, Record, Snapshot, SnapshotDraft, Store, StoreError, StoreLocation,
};

use crate::backends::{Backend, Opened};

fn commit(store: &mut Store, seq: u64) {
    let mut batch = Batch::new();
    batch.push(
        Record {
            seq,
            received_at: Timestamp::from_secs(1_900_000_000),
            input: Input::Event(Event {
                model: ModelId::new("m", "1", "i"),
                timestamp: Some(Timestamp::from_secs(1_800_000_000 + seq as i64)),
                metrics: vec![("accuracy".to_string(), 0.9)],
            }),
        },
        [],
    );
    store.commit(&batch).unwrap();
}

fn snapshot(seq: u64, len: usize) -> Snapshot {
    Snapshot {
        seq,
        taken_at: Timestamp::from_secs(1_900_000_000),
        config_digest: format!("digest-{seq}"),
        state: (0..len).map(|i| (i * 7 + seq as usize) as u8).collect(),
    }
}

/// The rows of `table` in the store's database, counted beside the store.
pub(crate) fn rows(opened: &Opened, table: &str) -> i64 {
    let sql = format!("SELECT count(*) FROM {table}");
    match &opened.location {
        StoreLocation::Directory(dir) => rusqlite::Connection::open(dir.join(DB_FILE))
            .unwrap()
            .query_row(&sql, [], |row| row.get(0))
            .unwrap(),
        StoreLocation::Postgres(url) | StoreLocation::PostgresPartition { url, .. } => {
            postgres::Client::connect(url, postgres::NoTls)
                .unwrap()
                .query_one(&sql, &[])
                .unwrap()
                .get(0)
        }
    }
}

/// Steps `draft` until it is saved, committing an input after each step; then until done.
fn save(opened: &mut Opened, draft: &mut SnapshotDraft, max_bytes: usize, seq: &mut u64) {
    let store = &mut opened.store;
    let before = store.latest_snapshot().unwrap();
    let len = draft.snapshot().state.len();
    let mut written = 0;
    while !draft.is_saved() {
        assert_eq!(store.latest_snapshot().unwrap(), before, "not saved yet");
        let step = store.save_snapshot_step(draft, max_bytes).unwrap();
        assert!(step.written <= max_bytes && !step.done, "{step:?}");
        written += step.written;
        *seq += 1;
        commit(store, *seq);
    }
    assert_eq!(written, len);
    assert_eq!(
        store.latest_snapshot().unwrap().as_ref(),
        Some(draft.snapshot())
    );
    loop {
        let step = store.save_snapshot_step(draft, max_bytes).unwrap();
        assert_eq!(step.written, 0);
        if step.done {
            break;
        }
    }
    assert_eq!(
        store.latest_snapshot().unwrap().as_ref(),
        Some(draft.snapshot())
    );
    assert_eq!(rows(opened, "snapshots"), 1, "only the latest");
}

fn a_snapshot_saved_in_steps_reads_back_whole_and_replaces_the_one_before_step_by_step(
    backend: Backend,
) {
    let Some(mut opened) = backend.open() else {
        return;
    };
    let mut seq = 1;
    commit(&mut opened.store, seq);
    opened.store.save_snapshot(&snapshot(seq, 5_000)).unwrap();

    // Saved in pieces of 1,000 bytes while inputs keep coming; the inline one before it
    // stays the latest until the last piece, and goes afterwards.
    let mut first = opened.store.begin_snapshot(snapshot(seq, 10_500)).unwrap();
    save(&mut opened, &mut first, 1_000, &mut seq);
    assert_eq!(rows(&opened, "snapshot_pieces"), 11);

    // The next one replaces it, pieces included.
    let mut second = opened.store.begin_snapshot(snapshot(seq, 2_500)).unwrap();
    save(&mut opened, &mut second, 1_000, &mut seq);
    assert_eq!(rows(&opened, "snapshot_pieces"), 3);

    // A crash in the middle of one leaves the saved one; the next cleans up after it.
    let mut lost = opened.store.begin_snapshot(snapshot(seq, 9_000)).unwrap();
    for _ in 0..4 {
        opened.store.save_snapshot_step(&mut lost, 1_000).unwrap();
    }
    opened.store = opened.reopen();
    assert_eq!(
        opened.store.latest_snapshot().unwrap().as_ref(),
        Some(second.snapshot())
    );
    seq += 1;
    commit(&mut opened.store, seq);
    let mut third = opened.store.begin_snapshot(snapshot(seq, 1_500)).unwrap();
    save(&mut opened, &mut third, 1_000, &mut seq);
    assert_eq!(rows(&opened, "snapshot_pieces"), 2);

    // A snapshot saved at once in between keeps the draft's pieces; the draft, older,
    // never becomes the latest, and its own steps delete it.
    let store = &mut opened.store;
    let mut older = store.begin_snapshot(snapshot(seq, 3_000)).unwrap();
    store.save_snapshot_step(&mut older, 1_000).unwrap();
    seq += 1;
    commit(store, seq);
    let newer = snapshot(seq, 700);
    store.save_snapshot(&newer).unwrap();
    while !older.is_saved() {
        store.save_snapshot_step(&mut older, 1_000).unwrap();
    }
    assert_eq!(store.latest_snapshot().unwrap(), Some(newer.clone()));
    while !store.save_snapshot_step(&mut older, 1_000).unwrap().done {}
    assert_eq!(store.latest_snapshot().unwrap(), Some(newer));
    assert_eq!(rows(&opened, "snapshots"), 1);
    assert_eq!(rows(&opened, "snapshot_pieces"), 0);

    // A snapshot of a state the store has not got may not begin; one of an earlier state
    // may, and is saved behind the latest.
    let store = &mut opened.store;
    let ahead = store.begin_snapshot(snapshot(seq + 1, 10)).unwrap_err();
    assert!(
        matches!(ahead, StoreError::SnapshotBehind { .. }),
        "{ahead}"
    );
    let mut earlier = store.begin_snapshot(snapshot(seq - 1, 10)).unwrap();
    while !store.save_snapshot_step(&mut earlier, 1_000).unwrap().done {}
    assert_eq!(
        store.latest_snapshot().unwrap().map(|latest| latest.seq),
        Some(seq)
    );
}

fn the_deletion_of_a_replaced_snapshot_takes_bounded_steps(backend: Backend) {
    let Some(mut opened) = backend.open() else {
        return;
    };
    let mut seq = 1;
    commit(&mut opened.store, seq);
    let mut big = opened
        .store
        .begin_snapshot(snapshot(seq, 64 * 1_000))
        .unwrap();
    save(&mut opened, &mut big, 1_000, &mut seq);
    let store = &mut opened.store;
    let mut small = store.begin_snapshot(snapshot(seq, 100)).unwrap();
    store.save_snapshot_step(&mut small, 1_000).unwrap();
    assert!(small.is_saved());
    let mut steps = 0;
    loop {
        let step = store.save_snapshot_step(&mut small, 8_000).unwrap();
        assert!(step.deleted <= 8_000, "{step:?}");
        steps += 1;
        if step.done {
            break;
        }
    }
    assert!(
        steps >= 8,
        "64 pieces of 1,000 bytes in steps of 8,000: {steps}"
    );
    assert_eq!(rows(&opened, "snapshot_pieces"), 1);
}

on_each_backend!(
    a_snapshot_saved_in_steps_reads_back_whole_and_replaces_the_one_before_step_by_step,
    the_deletion_of_a_replaced_snapshot_takes_bounded_steps,
);
