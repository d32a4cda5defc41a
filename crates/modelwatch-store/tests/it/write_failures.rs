//! Writes that fail the way a sick or full disk makes them fail, on real files: the store must
//! stay exactly as it was (file and memory), show nothing of the failed write, and take the
//! same write once the cause is gone.
//!
//! Two stores go through the same script of writes: `subject`, whose writes are made to fail
//! first, and `reference`, which never sees a failure. A failure is made from outside, by
//! triggers that another connection adds to one table (`RAISE(ABORT, ...)` on insert, update
//! and delete), or inside through the `fault-injection` feature's [`FaultInjector`]: an
//! injected `SQLITE_FULL` at the commit, or SQLite's own `SQLITE_FULL` once the file may not
//! grow. After each failure and after each retry, every read of both stores must agree.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use modelwatch_engine::config::{DEFAULT_CONFIG_TOML, parse_config};
use modelwatch_engine::{Output, Timestamp};
use modelwatch_store::{
    AlertFilter, CanaryFilter, DB_FILE, DecisionFilter, DeliveryFilter, DeliveryResult,
    EffectUpdate, FaultInjector, JobFilter, JobState, Listing, MAX_REPLAY_PAGE, Order, Page,
    SeriesCursor, SeriesQuery, Snapshot, SnapshotDraft, Store, StoreError, VersionChange,
    VersionStatus,
};

use crate::{Run, example_inputs, run_with};

/// Every table a write path touches.
const TABLES: [&str; 15] = [
    "inputs",
    "alerts",
    "decisions",
    "job_notices",
    "canary_verdicts",
    "deliveries",
    "jobs",
    "job_attempts",
    "model_versions",
    "audit",
    "store_state",
    "series",
    "point_chunks",
    "snapshots",
    "snapshot_pieces",
];

/// The example stream under the default rules with an external trainer (so the retrain is
/// granted and the example's job notice registers its version as a candidate) plus two canary
/// rules (a failed canary rolls back and queues a rollback job), every alert transition and
/// verdict notifying `hook`.
fn scenario() -> Run {
    let text = format!(
        r#"{DEFAULT_CONFIG_TOML}
[[trainers]]
kind = "external"

[[rules]]
name = "canary-accuracy"
metric = "accuracy"
actions = ["rollback"]
canary = {{ candidate = {{ instance = "canary-*" }}, baseline = {{ instance = "default" }}, window = 40, min_samples = 10, every = 5 }}

[[rules]]
name = "canary-f1"
metric = "f1"
actions = ["promote"]
canary = {{ candidate = {{ version = "1.5.*" }}, baseline = {{ version = "1.4.*" }}, window = 20, min_samples = 5, every = 2, tolerance = 0.5 }}
"#
    );
    let config = Arc::new(parse_config(&text).unwrap().config);
    let mut run = run_with(config, example_inputs());
    for output in run.outputs.iter_mut().flatten() {
        match output {
            Output::Alert(alert) => alert.notify = vec![Arc::from("hook")],
            Output::Canary(verdict) => verdict.notify = vec![Arc::from("hook")],
            Output::Retrain(_) | Output::JobFinished(_) | Output::Quality(_) => {}
        }
    }
    run
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_secs(1_950_000_000 + secs)
}

/// One write of the script.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// Commit inputs `start..end` of the scenario, with effect updates about the outbox rows
    /// there are (an attempt of the first pending delivery, the start or end of an open job).
    Commit(usize, usize),
    Flush,
    /// One step of a flush in steps, of about this many points.
    FlushStep(usize),
    Snapshot,
    /// Begin a snapshot saved in steps (nothing is written yet).
    BeginSnapshot,
    /// One step of it, of this many bytes.
    SnapshotStep(usize),
    /// Promote the first candidate version of the scenario's model, as `ops-token`.
    Promote,
    DeleteInputs,
    DeletePoints,
    DeleteDeliveries,
}

const SCRIPT: [Op; 28] = [
    Op::Commit(0, 30),
    Op::Commit(30, 60),
    Op::Flush,
    Op::Snapshot,
    Op::Commit(60, 100),
    Op::FlushStep(100),
    Op::BeginSnapshot,
    Op::SnapshotStep(20_000),
    Op::Promote,
    Op::FlushStep(100),
    Op::SnapshotStep(20_000),
    Op::Commit(100, 140),
    Op::FlushStep(100),
    Op::SnapshotStep(20_000),
    Op::SnapshotStep(20_000),
    Op::SnapshotStep(20_000),
    Op::FlushStep(100_000),
    Op::Flush,
    Op::Snapshot,
    Op::BeginSnapshot,
    Op::SnapshotStep(60_000),
    Op::SnapshotStep(60_000),
    Op::DeleteInputs,
    Op::DeletePoints,
    Op::DeletePoints,
    Op::DeleteDeliveries,
    Op::Commit(140, 173),
    Op::Flush,
];

/// A store and what the script keeps beside it.
struct Subject {
    store: Store,
    cursor: SeriesCursor,
    draft: Option<SnapshotDraft>,
}

impl Subject {
    fn open(dir: &Path) -> Subject {
        Subject {
            store: Store::open(dir).unwrap(),
            cursor: SeriesCursor::start(),
            draft: None,
        }
    }

    /// Runs `op`, which `plan` (read from the reference, equal to this store) describes.
    fn apply(&mut self, run: &Run, op: Op, plan: &Plan) -> Result<(), StoreError> {
        let store = &mut self.store;
        match op {
            Op::Commit(start, end) => {
                let mut batch = run.batch(start..end);
                batch.effects = plan.effects.clone();
                store.commit(&batch).map(|_| ())
            }
            Op::Flush => store.flush_points().map(|_| ()),
            Op::FlushStep(max_points) => store.flush_points_step(max_points).map(|_| ()),
            Op::Snapshot => store.save_snapshot(&state(store.last_seq()?, 1)),
            Op::BeginSnapshot => {
                self.draft = Some(store.begin_snapshot(state(store.last_seq()?, 2))?);
                Ok(())
            }
            Op::SnapshotStep(max_bytes) => {
                let draft = self.draft.as_mut().unwrap();
                store.save_snapshot_step(draft, max_bytes).map(|_| ())
            }
            Op::Promote => {
                let (model, version) = plan.candidate.clone().unwrap();
                store
                    .change_version(&model, &version, VersionChange::Promote, at(1), "ops-token")
                    .map(|_| ())
                    .map_err(|error| match error {
                        modelwatch_store::RegistryError::Store(error) => error,
                        other => panic!("{other}"),
                    })
            }
            Op::DeleteInputs => {
                let through = store.latest_snapshot()?.map_or(0, |snapshot| snapshot.seq);
                store.delete_old_inputs(at(0), through, 50).map(|_| ())
            }
            Op::DeletePoints => store
                .delete_old_points(plan.points_cutoff, &mut self.cursor, 4)
                .map(|_| ()),
            Op::DeleteDeliveries => store.delete_old_deliveries(at(10), 10).map(|_| ()),
        }
    }
}

/// An engine state of 50,000 bytes, `kind` telling snapshots apart.
fn state(seq: u64, kind: u8) -> Snapshot {
    Snapshot {
        seq,
        taken_at: at(i64::from(kind)),
        config_digest: "digest".to_string(),
        state: (0..50_000u32).map(|i| (i % 251) as u8 ^ kind).collect(),
    }
}

/// What an op needs to know of the store's state, read from the reference before it.
struct Plan {
    effects: Vec<EffectUpdate>,
    candidate: Option<(String, String)>,
    points_cutoff: Timestamp,
}

fn plan(run: &Run, store: &Store) -> Plan {
    let mut effects = Vec::new();
    if let Some(delivery) = store.pending_deliveries("hook", 0, 1).unwrap().first() {
        effects.push(EffectUpdate::Delivery {
            id: delivery.id.clone(),
            at: at(2),
            result: DeliveryResult::Delivered,
        });
    }
    if let Some(delivery) = store.pending_deliveries("hook", 0, 2).unwrap().get(1) {
        effects.push(EffectUpdate::Delivery {
            id: delivery.id.clone(),
            at: at(2),
            result: DeliveryResult::Failed {
                error: "HTTP 503".to_string(),
                give_up: false,
            },
        });
    }
    for job in store.open_jobs().unwrap() {
        let update = match job.state {
            JobState::Queued => EffectUpdate::JobStarted {
                id: job.id.clone(),
                attempt: job.attempts + 1,
                at: at(3),
                backend: "external".to_string(),
                deadline: Some(at(3_600)),
            },
            _ => EffectUpdate::JobAttemptEnded {
                id: job.id.clone(),
                attempt: job.attempts,
                at: at(4),
                outcome: modelwatch_store::AttemptOutcome::Failed,
                error: Some("exit status 1".to_string()),
                result: None,
                retry_at: Some(at(60)),
            },
        };
        effects.push(update);
    }
    let model = run_model(run);
    let candidate = store
        .model_versions(&model)
        .unwrap()
        .into_iter()
        .find(|version| version.status == VersionStatus::Candidate)
        .map(|version| (model.clone(), version.version));
    // The middle of the stream's event times: some chunks go whole, some are rewritten.
    let times: Vec<Timestamp> = run
        .records
        .iter()
        .filter_map(|record| record.input.timestamp())
        .collect();
    Plan {
        effects,
        candidate,
        points_cutoff: times[times.len() / 2],
    }
}

fn run_model(run: &Run) -> String {
    match &run.records[0].input {
        modelwatch_engine::Input::Event(event) => event.model.name.clone(),
        other => panic!("{other:?}"),
    }
}

/// Every page of a listing, oldest first.
fn all<T>(mut list: impl FnMut(Page) -> Listing<T>) -> Vec<T> {
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let page = list(Page {
            after,
            limit: 1_000,
            order: Order::OldestFirst,
        });
        items.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return items,
        }
    }
}

/// Everything the store's reads show, as text.
fn observe(store: &Store) -> String {
    let mut seen = String::new();
    let mut line = |label: &str, value: &dyn std::fmt::Debug| {
        writeln!(seen, "{label}: {value:?}").unwrap();
    };
    line("last_seq", &store.last_seq().unwrap());
    line("counts", &store.counts().unwrap());
    line("pending points", &store.pending_points());
    line("retention", &store.retention_totals().unwrap());
    line("inputs", &store.inputs_after(0, MAX_REPLAY_PAGE).unwrap());
    let snapshot = store.latest_snapshot().unwrap();
    line("snapshot", &snapshot);
    line(
        "alerts",
        &all(|page| store.alerts(&AlertFilter::default(), &page).unwrap()),
    );
    line(
        "decisions",
        &all(|page| store.decisions(&DecisionFilter::default(), &page).unwrap()),
    );
    line(
        "canary",
        &all(|page| {
            store
                .canary_verdicts(&CanaryFilter::default(), &page)
                .unwrap()
        }),
    );
    line(
        "deliveries",
        &all(|page| store.deliveries(&DeliveryFilter::default(), &page).unwrap()),
    );
    line(
        "pending deliveries",
        &store.pending_deliveries("hook", 0, 10_000).unwrap(),
    );
    let jobs = all(|page| store.jobs(&JobFilter::default(), &page).unwrap());
    for job in &jobs {
        line(&job.id, &store.job_attempts(&job.id).unwrap());
    }
    line("jobs", &jobs);
    line("open jobs", &store.open_jobs().unwrap());
    line("audit", &all(|page| store.audit(None, &page).unwrap()));
    let models = store.model_names(None, 1_000).unwrap();
    line("models", &models);
    for model in models
        .names
        .iter()
        .chain(["fraud-detector".to_string()].iter())
    {
        line("versions", &store.model_versions(model).unwrap());
        line("latest", &store.latest_points(model).unwrap());
        for latest in store.latest_points(model).unwrap() {
            let points = store
                .series(&SeriesQuery {
                    model: latest.model.clone(),
                    metric: latest.metric.clone(),
                    from: None,
                    to: None,
                    after: None,
                    limit: 1_000,
                    order: Order::OldestFirst,
                })
                .unwrap();
            line(&format!("{:?} {}", latest.model, latest.metric), &points);
        }
    }
    seen
}

/// Makes every insert, update and delete on `table` fail, from another connection.
fn sicken(dir: &Path, table: &str) {
    let sql: String = ["INSERT", "UPDATE", "DELETE"]
        .iter()
        .map(|what| {
            format!(
                "CREATE TRIGGER sick_{what} BEFORE {what} ON {table}
                 BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END;"
            )
        })
        .collect();
    rusqlite::Connection::open(dir.join(DB_FILE))
        .unwrap()
        .execute_batch(&sql)
        .unwrap();
}

fn heal(dir: &Path) {
    rusqlite::Connection::open(dir.join(DB_FILE))
        .unwrap()
        .execute_batch(
            "DROP TRIGGER IF EXISTS sick_INSERT; DROP TRIGGER IF EXISTS sick_UPDATE;
             DROP TRIGGER IF EXISTS sick_DELETE;",
        )
        .unwrap();
}

/// Runs the script on a subject and a reference; before each op, `sicken` makes the subject's
/// write fail or not. A failed op must leave the subject equal to the reference, which has not
/// run it, and succeed once `heal` ran. Returns the ops that failed, with their errors.
fn script(
    run: &Run,
    mut sicken: impl FnMut(&Path, Op),
    mut heal: impl FnMut(&Path),
) -> Vec<(Op, StoreError)> {
    let subject_dir = tempfile::tempdir().unwrap();
    let reference_dir = tempfile::tempdir().unwrap();
    let mut subject = Subject::open(subject_dir.path());
    let mut reference = Subject::open(reference_dir.path());
    let mut failed = Vec::new();
    for op in SCRIPT {
        let plan = plan(run, &reference.store);
        sicken(subject_dir.path(), op);
        let first = subject.apply(run, op, &plan);
        heal(subject_dir.path());
        if let Err(error) = first {
            assert_eq!(
                observe(&subject.store),
                observe(&reference.store),
                "after a failed {op:?}: {error}"
            );
            subject
                .apply(run, op, &plan)
                .unwrap_or_else(|error| panic!("{op:?} again, once healed: {error}"));
            failed.push((op, error));
        }
        reference.apply(run, op, &plan).unwrap();
        assert_eq!(
            observe(&subject.store),
            observe(&reference.store),
            "after {op:?}"
        );
    }
    // What the subject holds is what it shows after a reopen too (nothing stayed in memory
    // only), and what both store is the same once every point is written.
    drop(subject);
    drop(reference);
    let mut subject = Store::open(subject_dir.path()).unwrap();
    let mut reference = Store::open(reference_dir.path()).unwrap();
    subject.flush_points().unwrap();
    reference.flush_points().unwrap();
    assert_eq!(observe(&subject), observe(&reference));
    failed
}

#[test]
fn a_write_refused_on_any_table_leaves_the_store_as_it_was_and_goes_through_once_healed() {
    let run = scenario();
    for table in TABLES {
        let failed = script(&run, |dir, _| sicken(dir, table), heal);
        assert!(!failed.is_empty(), "no write of the script touched {table}");
        for (op, error) in &failed {
            assert!(
                error.to_string().contains("disk full (simulated)"),
                "{table}, {op:?}: {error}"
            );
            // A trigger's RAISE is a constraint: trying again would not help.
            assert!(!error.is_transient(), "{table}, {op:?}: {error}");
        }
    }
}

#[test]
fn every_write_failed_at_its_commit_leaves_the_store_as_it_was_and_is_transient() {
    let run = scenario();
    let mut injector = None;
    let failed = script(
        &run,
        |dir, _| {
            let faults = FaultInjector::for_dir(dir);
            faults.fail_next_writes(1);
            injector = Some(faults);
        },
        |dir| FaultInjector::for_dir(dir).heal(),
    );
    let writes = SCRIPT
        .iter()
        .filter(|op| !matches!(op, Op::BeginSnapshot))
        .count();
    assert_eq!(
        failed.len(),
        writes,
        "every op but a snapshot's beginning writes"
    );
    for (op, error) in &failed {
        assert!(error.is_transient(), "{op:?}: {error}");
        assert!(error.is_disk_full(), "{op:?}: {error}");
        assert!(!error.is_corrupt(), "{op:?}: {error}");
        assert!(error.to_string().contains("(injected)"), "{op:?}: {error}");
    }
    assert_eq!(injector.unwrap().injected(), writes as u64);
}

#[test]
fn a_disk_that_is_really_full_fails_writes_with_sqlites_own_error_until_it_has_room() {
    let run = scenario();
    // SQLite refuses every write that needs a page the file does not have yet; writes that fit
    // in free pages (after a deletion) may go through, as on a real disk.
    let failed = script(
        &run,
        |dir, op| {
            if matches!(
                op,
                Op::Commit(..) | Op::Flush | Op::FlushStep(_) | Op::Snapshot | Op::SnapshotStep(_)
            ) {
                FaultInjector::for_dir(dir).fill_disk();
            }
        },
        |dir| FaultInjector::for_dir(dir).heal(),
    );
    let kinds: Vec<String> = failed.iter().map(|(op, _)| format!("{op:?}")).collect();
    for wanted in ["Commit", "Flush", "FlushStep", "Snapshot", "SnapshotStep"] {
        assert!(
            kinds.iter().any(|kind| kind.starts_with(wanted)),
            "{wanted} never failed: {kinds:?}"
        );
    }
    for (op, error) in &failed {
        assert!(
            error.is_transient() && error.is_disk_full(),
            "{op:?}: {error}"
        );
        assert!(
            error.to_string().contains("database or disk is full"),
            "{op:?}: {error}"
        );
        assert!(!error.to_string().contains("injected"), "{op:?}: {error}");
    }
}
