//! The PostgreSQL schema and its migrations, versioned in `store_meta.schema_version`.
//!
//! `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`; a database without
//! `store_meta` is new. Migrations only ever get appended, and run in one transaction under
//! an advisory lock, so that nodes starting together migrate once. A database with a version
//! newer than this build knows is refused, never written.
//!
//! The tables are SQLite's (`crate::schema`), with a partition where a table holds what one
//! engine wrote: each partition of the ingest log is an engine with its own input sequence
//! (`partitions.last_seq`), snapshots and watermarks. Without a log everything is partition 0.
//! `pos` columns are identities: keyset pages follow them as SQLite's rowids.

use postgres::Transaction;

/// The version this build writes.
pub const PG_SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The advisory lock key the migration holds ("mwschema").
const MIGRATION_LOCK: i64 = 0x6d77_7363_6865_6d61;

const MIGRATIONS: &[&str] = &[
    // 1: everything SQLite's schema version 7 holds, with partitions and leases.
    "
    CREATE TABLE partitions (
        partition INTEGER PRIMARY KEY,
        last_seq BIGINT NOT NULL DEFAULT 0,
        points_through BIGINT NOT NULL DEFAULT 0,
        inputs_deleted_through BIGINT NOT NULL DEFAULT 0,
        inputs_deleted BIGINT NOT NULL DEFAULT 0,
        points_deleted BIGINT NOT NULL DEFAULT 0,
        log_seq BIGINT NOT NULL DEFAULT 0
    );

    CREATE TABLE leases (
        partition INTEGER PRIMARY KEY,
        owner TEXT NOT NULL,
        epoch BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );

    CREATE TABLE nodes (
        node TEXT PRIMARY KEY,
        seen_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );

    CREATE TABLE log_layout (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        stream TEXT NOT NULL,
        partitions INTEGER NOT NULL
    );

    CREATE TABLE inputs (
        partition INTEGER NOT NULL,
        seq BIGINT NOT NULL,
        received_at BIGINT NOT NULL,
        input TEXT NOT NULL,
        PRIMARY KEY (partition, seq)
    );

    CREATE TABLE series (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        instance TEXT NOT NULL,
        metric TEXT NOT NULL,
        points_through BIGINT NOT NULL DEFAULT 0,
        UNIQUE (model, version, instance, metric)
    );

    CREATE TABLE point_chunks (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        series BIGINT NOT NULL,
        first_time BIGINT NOT NULL,
        first_seq BIGINT NOT NULL,
        last_time BIGINT NOT NULL,
        last_seq BIGINT NOT NULL,
        last_value DOUBLE PRECISION NOT NULL,
        count BIGINT NOT NULL,
        points BYTEA NOT NULL
    );
    CREATE UNIQUE INDEX point_chunks_by_first ON point_chunks (series, first_time, first_seq);
    CREATE INDEX point_chunks_by_last
        ON point_chunks (series, last_time, last_seq, first_time, first_seq);

    CREATE TABLE alerts (
        pos BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        alert_id TEXT NOT NULL,
        partition INTEGER NOT NULL,
        seq BIGINT NOT NULL,
        time BIGINT NOT NULL,
        state TEXT NOT NULL,
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        instance TEXT NOT NULL,
        metric TEXT NOT NULL,
        output TEXT NOT NULL
    );
    CREATE INDEX alerts_by_model ON alerts (model, pos);
    CREATE INDEX alerts_by_state ON alerts (state, pos);
    CREATE INDEX alerts_by_alert_id ON alerts (alert_id, pos);

    CREATE TABLE decisions (
        pos BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        partition INTEGER NOT NULL,
        seq BIGINT NOT NULL,
        time BIGINT NOT NULL,
        model TEXT NOT NULL,
        decision TEXT NOT NULL,
        reason TEXT NOT NULL,
        job_id TEXT,
        output TEXT NOT NULL
    );
    CREATE INDEX decisions_by_model ON decisions (model, pos);

    CREATE TABLE job_notices (
        pos BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        partition INTEGER NOT NULL,
        seq BIGINT NOT NULL,
        time BIGINT NOT NULL,
        model TEXT NOT NULL,
        job_id TEXT,
        status TEXT NOT NULL,
        version TEXT,
        ended_outstanding BIGINT NOT NULL,
        output TEXT NOT NULL
    );
    CREATE INDEX job_notices_by_model ON job_notices (model, pos);

    CREATE TABLE canary_verdicts (
        pos BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        partition INTEGER NOT NULL,
        seq BIGINT NOT NULL,
        time BIGINT NOT NULL,
        rule TEXT NOT NULL,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        instance TEXT NOT NULL,
        metric TEXT NOT NULL,
        verdict TEXT NOT NULL,
        output TEXT NOT NULL
    );
    CREATE INDEX canary_verdicts_by_model ON canary_verdicts (model, pos);
    CREATE INDEX canary_verdicts_by_model_version ON canary_verdicts (model, version, pos);

    CREATE TABLE quality_points (
        pos BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        partition INTEGER NOT NULL,
        seq BIGINT NOT NULL,
        time BIGINT NOT NULL,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        instance TEXT NOT NULL,
        source TEXT NOT NULL,
        metrics TEXT NOT NULL,
        output TEXT NOT NULL
    );
    CREATE INDEX quality_points_by_seq ON quality_points (partition, seq);
    CREATE INDEX quality_points_by_model ON quality_points (model, pos);

    CREATE TABLE snapshots (
        partition INTEGER NOT NULL,
        seq BIGINT NOT NULL,
        taken_at BIGINT NOT NULL,
        config_digest TEXT NOT NULL,
        state BYTEA NOT NULL,
        pieces BIGINT,
        PRIMARY KEY (partition, seq)
    );

    CREATE SEQUENCE snapshot_drafts;
    CREATE TABLE snapshot_pieces (
        partition INTEGER NOT NULL,
        draft BIGINT NOT NULL,
        piece BIGINT NOT NULL,
        bytes BYTEA NOT NULL,
        PRIMARY KEY (draft, piece)
    );

    CREATE TABLE deliveries (
        pos BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        notifier TEXT NOT NULL,
        output_id TEXT NOT NULL,
        partition INTEGER NOT NULL,
        seq BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        state TEXT NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0,
        last_attempt_at BIGINT,
        last_error TEXT,
        done_at BIGINT,
        output TEXT NOT NULL,
        sending BOOLEAN NOT NULL DEFAULT FALSE,
        in_doubt BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX deliveries_pending ON deliveries (notifier, pos) WHERE state = 'pending';
    CREATE INDEX deliveries_by_notifier ON deliveries (notifier, pos);

    CREATE TABLE jobs (
        pos BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        partition INTEGER NOT NULL,
        kind TEXT NOT NULL,
        model TEXT NOT NULL,
        version TEXT,
        instance TEXT,
        reason TEXT NOT NULL,
        cause TEXT NOT NULL,
        state TEXT NOT NULL,
        backend TEXT,
        attempts BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        started_at BIGINT,
        deadline BIGINT,
        next_attempt_at BIGINT,
        finished_at BIGINT,
        result_version TEXT,
        result TEXT,
        error TEXT
    );
    CREATE INDEX jobs_by_state ON jobs (state, pos);
    CREATE INDEX jobs_by_model ON jobs (model, pos);

    CREATE TABLE job_attempts (
        job TEXT NOT NULL,
        attempt BIGINT NOT NULL,
        started_at BIGINT NOT NULL,
        finished_at BIGINT,
        outcome TEXT,
        error TEXT,
        PRIMARY KEY (job, attempt)
    );

    CREATE TABLE model_versions (
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        source TEXT NOT NULL,
        job_id TEXT,
        status TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (model, version)
    );

    CREATE TABLE audit (
        pos BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        model TEXT NOT NULL,
        version TEXT,
        job_id TEXT,
        detail TEXT NOT NULL
    );
    CREATE INDEX audit_by_model ON audit (model, pos);
    ",
    // 2: the commit records of requests spanning partitions of the ingest log, and where
    // each node answers HTTP (for requests forwarded to the node running a partition).
    "
    CREATE TABLE log_requests (
        request TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        decision TEXT NOT NULL CHECK (decision IN ('commit', 'abort')),
        partitions INTEGER[] NOT NULL,
        seqs BIGINT[] NOT NULL,
        decided_at BIGINT NOT NULL,
        PRIMARY KEY (request, attempt)
    );

    ALTER TABLE nodes ADD COLUMN address TEXT;
    ",
];

/// What the migration found: the version before it, and whether it is newer than this build.
pub(crate) enum Migrated {
    /// The schema is at [`PG_SCHEMA_VERSION`] now.
    Current,
    /// The database is at a newer version; nothing was written.
    TooNew(i64),
}

/// Brings the schema up to [`PG_SCHEMA_VERSION`] in `tx`, under the migration lock.
pub(crate) fn migrate(tx: &mut Transaction<'_>) -> Result<Migrated, postgres::Error> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS store_meta (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            schema_version BIGINT NOT NULL
        );
        INSERT INTO store_meta (id, schema_version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;",
    )?;
    let found: i64 = tx
        .query_one("SELECT schema_version FROM store_meta WHERE id = 1", &[])?
        .get(0);
    if found > PG_SCHEMA_VERSION {
        return Ok(Migrated::TooNew(found));
    }
    let from = usize::try_from(found).unwrap_or(0);
    for migration in &MIGRATIONS[from.min(MIGRATIONS.len())..] {
        tx.batch_execute(migration)?;
    }
    tx.execute(
        "UPDATE store_meta SET schema_version = $1 WHERE id = 1",
        &[&PG_SCHEMA_VERSION],
    )?;
    Ok(Migrated::Current)
}
