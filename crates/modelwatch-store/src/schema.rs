//! The SQLite schema and its migrations, versioned with `PRAGMA user_version`.
//!
//! `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`; a file at version 0 is new.
//! A migration is SQL, then optionally code for what SQL cannot express (moving points into
//! chunks). Migrations only ever get appended: a released one never changes. A file with a
//! version newer than this build knows is refused, never written.

use std::path::Path;

use rusqlite::{Connection, Transaction};

use crate::{StoreError, points};

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// One step of the schema: SQL, then code run in the same transaction.
pub(crate) struct Migration {
    pub(crate) sql: &'static str,
    code: Option<fn(&Transaction<'_>) -> rusqlite::Result<()>>,
}

/// Times are INTEGER nanoseconds since the Unix epoch (UTC); sequence numbers are the
/// engine's. `pos` columns are insertion order (stream order), the keyset cursor of listings.
pub(crate) const MIGRATIONS: &[Migration] = &[
    // 1: inputs, series points, alert transitions, retrain decisions, job notices.
    Migration {
        sql: "
    CREATE TABLE store_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        last_seq INTEGER NOT NULL
    ) STRICT;
    INSERT INTO store_state (id, last_seq) VALUES (1, 0);

    CREATE TABLE inputs (
        seq INTEGER PRIMARY KEY,
        received_at INTEGER NOT NULL,
        input TEXT NOT NULL
    ) STRICT;

    CREATE TABLE points (
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        instance TEXT NOT NULL,
        metric TEXT NOT NULL,
        time INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY (model, version, instance, metric, time, seq)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE alerts (
        pos INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        alert_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        time INTEGER NOT NULL,
        state TEXT NOT NULL,
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        instance TEXT NOT NULL,
        metric TEXT NOT NULL,
        output TEXT NOT NULL
    ) STRICT;
    CREATE INDEX alerts_by_model ON alerts (model, pos);
    CREATE INDEX alerts_by_state ON alerts (state, pos);
    CREATE INDEX alerts_by_alert_id ON alerts (alert_id, pos);

    CREATE TABLE decisions (
        pos INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        seq INTEGER NOT NULL,
        time INTEGER NOT NULL,
        model TEXT NOT NULL,
        decision TEXT NOT NULL,
        reason TEXT NOT NULL,
        job_id TEXT,
        output TEXT NOT NULL
    ) STRICT;
    CREATE INDEX decisions_by_model ON decisions (model, pos);

    CREATE TABLE job_notices (
        pos INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        seq INTEGER NOT NULL,
        time INTEGER NOT NULL,
        model TEXT NOT NULL,
        job_id TEXT,
        status TEXT NOT NULL,
        version TEXT,
        ended_outstanding INTEGER NOT NULL,
        output TEXT NOT NULL
    ) STRICT;
    CREATE INDEX job_notices_by_model ON job_notices (model, pos);
    ",
        code: None,
    },
    // 2: engine snapshots, and what retention has deleted so far.
    Migration {
        sql: "
    CREATE TABLE snapshots (
        seq INTEGER PRIMARY KEY,
        taken_at INTEGER NOT NULL,
        config_digest TEXT NOT NULL,
        state BLOB NOT NULL
    ) STRICT;

    ALTER TABLE store_state ADD COLUMN inputs_deleted_through INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE store_state ADD COLUMN inputs_deleted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE store_state ADD COLUMN points_deleted INTEGER NOT NULL DEFAULT 0;
    ",
        code: None,
    },
    // 3: series points move from one row per value to chunks of one series' values (see
    // points.rs), written after the commit that stores their inputs; `points_through` is the
    // last input whose points are all in chunks. The code moves the old rows over.
    Migration {
        sql: "
    CREATE TABLE series (
        id INTEGER PRIMARY KEY,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        instance TEXT NOT NULL,
        metric TEXT NOT NULL,
        UNIQUE (model, version, instance, metric)
    ) STRICT;

    CREATE TABLE point_chunks (
        id INTEGER PRIMARY KEY,
        series INTEGER NOT NULL,
        first_time INTEGER NOT NULL,
        first_seq INTEGER NOT NULL,
        last_time INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        last_value REAL NOT NULL,
        count INTEGER NOT NULL,
        points BLOB NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX point_chunks_by_first ON point_chunks (series, first_time, first_seq);
    CREATE INDEX point_chunks_by_last
        ON point_chunks (series, last_time, last_seq, first_time, first_seq);

    ALTER TABLE store_state ADD COLUMN points_through INTEGER NOT NULL DEFAULT 0;
    ",
        code: Some(points::migrate_point_rows),
    },
    // 4: canary verdicts (issue 5), listed by model like the decisions.
    Migration {
        sql: "
    CREATE TABLE canary_verdicts (
        pos INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        seq INTEGER NOT NULL,
        time INTEGER NOT NULL,
        rule TEXT NOT NULL,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        instance TEXT NOT NULL,
        metric TEXT NOT NULL,
        verdict TEXT NOT NULL,
        output TEXT NOT NULL
    ) STRICT;
    CREATE INDEX canary_verdicts_by_model ON canary_verdicts (model, pos);
    CREATE INDEX canary_verdicts_by_model_version ON canary_verdicts (model, version, pos);
    ",
        code: None,
    },
    // 5: the outbox and the registry (see outbox.rs and registry.rs): notifications to
    // deliver, retrain and rollback jobs with their attempts, model versions, and the audit
    // log of every change to them. Rows are written in the commit of the outputs that cause
    // them; what the service then does is written back as it happens.
    Migration {
        sql: "
    CREATE TABLE deliveries (
        pos INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        notifier TEXT NOT NULL,
        output_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_attempt_at INTEGER,
        last_error TEXT,
        done_at INTEGER,
        output TEXT NOT NULL
    ) STRICT;
    CREATE INDEX deliveries_pending ON deliveries (notifier, pos) WHERE state = 'pending';
    CREATE INDEX deliveries_by_notifier ON deliveries (notifier, pos);

    CREATE TABLE jobs (
        pos INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        model TEXT NOT NULL,
        version TEXT,
        instance TEXT,
        reason TEXT NOT NULL,
        cause TEXT NOT NULL,
        state TEXT NOT NULL,
        backend TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        deadline INTEGER,
        next_attempt_at INTEGER,
        finished_at INTEGER,
        result_version TEXT,
        result TEXT,
        error TEXT
    ) STRICT;
    CREATE INDEX jobs_by_state ON jobs (state, pos);
    CREATE INDEX jobs_by_model ON jobs (model, pos);

    CREATE TABLE job_attempts (
        job TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        finished_at INTEGER,
        outcome TEXT,
        error TEXT,
        PRIMARY KEY (job, attempt)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE model_versions (
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        source TEXT NOT NULL,
        job_id TEXT,
        status TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (model, version)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE audit (
        pos INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        model TEXT NOT NULL,
        version TEXT,
        job_id TEXT,
        detail TEXT NOT NULL
    ) STRICT;
    CREATE INDEX audit_by_model ON audit (model, pos);
    ",
        code: None,
    },
    // 6: work the writer does in bounded steps between commits (issue 12). A points flush in
    // steps writes series by series; `series.points_through` is how far one series' points
    // are written when that is beyond `store_state.points_through` (the watermark moves once
    // every series is written). A snapshot in steps writes its state as numbered pieces under
    // a draft id; `snapshots.pieces` names the draft of a snapshot kept that way (NULL: the
    // state is inline).
    Migration {
        sql: "
    ALTER TABLE series ADD COLUMN points_through INTEGER NOT NULL DEFAULT 0;

    CREATE TABLE snapshot_pieces (
        draft INTEGER NOT NULL,
        piece INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (draft, piece)
    ) STRICT;
    ALTER TABLE snapshots ADD COLUMN pieces INTEGER;
    ",
        code: None,
    },
    // 7: quality computed from predictions and labels (issue 13). Each computed point is an
    // output (`output`, as `replay` prints it); `metrics` (a JSON object) holds its values
    // for the series points, which a crash may leave unwritten: `Store::rebuild_points`
    // reads them back from here as it reads metric values back from the inputs.
    Migration {
        sql: "
    CREATE TABLE quality_points (
        pos INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        seq INTEGER NOT NULL,
        time INTEGER NOT NULL,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        instance TEXT NOT NULL,
        source TEXT NOT NULL,
        metrics TEXT NOT NULL,
        output TEXT NOT NULL
    ) STRICT;
    CREATE INDEX quality_points_by_seq ON quality_points (seq);
    CREATE INDEX quality_points_by_model ON quality_points (model, pos);
    ",
        code: None,
    },
];

/// Brings the schema of `connection` (the file at `path`) up to [`SCHEMA_VERSION`], all
/// migrations in one transaction.
pub(crate) fn migrate(connection: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let sqlite = |action| {
        move |error| StoreError::Sqlite {
            path: path.to_path_buf(),
            action,
            error,
        }
    };
    let tx = connection
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sqlite("starting the schema migration"))?;
    let found: i64 = tx
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(sqlite("reading the schema version"))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    let from = usize::try_from(found).unwrap_or(0);
    for migration in &MIGRATIONS[from..] {
        tx.execute_batch(migration.sql)
            .map_err(sqlite("migrating the schema"))?;
        if let Some(code) = migration.code {
            code(&tx).map_err(sqlite("migrating the schema"))?;
        }
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(sqlite("setting the schema version"))?;
    tx.commit()
        .map_err(sqlite("committing the schema migration"))
}
