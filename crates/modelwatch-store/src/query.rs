//! Reads: inputs for replay, alert transitions, retrain decisions and canary verdicts.
//!
//! Listings use keyset pagination: a page ends with a cursor (the last row's position), and
//! the next page starts after it, so paging stays cheap however deep it goes and a commit in
//! between never shifts or repeats rows. Limits are capped at [`MAX_PAGE`] rows
//! ([`MAX_REPLAY_PAGE`] for inputs).

use modelwatch_engine::{
    AlertState, Decision, Input, ModelId, Reason, Severity, Timestamp, Verdict,
};
use rusqlite::types::Value;
use rusqlite::{Row, params, params_from_iter};

pub(crate) use crate::clauses::Clauses;
use crate::store::read_last_seq;
use crate::wire_form::Decoder;
use crate::{Counts, SqliteStore, StoreError};

/// The most rows one listing returns.
pub const MAX_PAGE: usize = 1_000;

/// The most inputs one [`Store::inputs_after`](crate::Store::inputs_after) call returns.
pub const MAX_REPLAY_PAGE: usize = 10_000;

/// Which end a listing starts from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// Latest first (the default: what an operator wants to see).
    #[default]
    NewestFirst,
    /// Earliest first (stream order).
    OldestFirst,
}

/// Where a listing page starts and how long it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// Start after this cursor (a previous page's `next`); `None` starts at the end `order` names.
    pub after: Option<i64>,
    /// The most rows wanted; 0 means 1, and more than [`MAX_PAGE`] means [`MAX_PAGE`].
    pub limit: usize,
    /// Newest or oldest first.
    pub order: Order,
}

impl Default for Page {
    fn default() -> Page {
        Page {
            after: None,
            limit: 100,
            order: Order::NewestFirst,
        }
    }
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq)]
pub struct Listing<T> {
    /// The rows, in the order asked for.
    pub items: Vec<T>,
    /// The cursor of the next page, or `None` when this page is the last.
    pub next: Option<i64>,
}

/// A stored input, as read back for replay.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredInput {
    /// Its sequence number.
    pub seq: u64,
    /// When the service received it.
    pub received_at: Timestamp,
    /// The input, timestamp resolved.
    pub input: Input,
}

/// Which alert transitions to list; `None` fields match everything. Times are event times,
/// `since` inclusive and `until` exclusive.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertFilter {
    /// The model's name.
    pub model: Option<String>,
    /// The model's version.
    pub version: Option<String>,
    /// The model's instance.
    pub instance: Option<String>,
    /// The metric.
    pub metric: Option<String>,
    /// The rule's name.
    pub rule: Option<String>,
    /// One alert's transitions.
    pub alert_id: Option<String>,
    /// The state moved to.
    pub state: Option<AlertState>,
    /// The rule's severity.
    pub severity: Option<Severity>,
    /// At or after this time.
    pub since: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
}

/// A stored alert transition. Enumerations are in their wire spelling.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredAlert {
    /// The listing cursor of this row.
    pub pos: i64,
    /// The transition's id.
    pub id: String,
    /// The alert's id.
    pub alert_id: String,
    /// The sequence number of the input that caused it.
    pub seq: u64,
    /// Its event time.
    pub at: Timestamp,
    /// The state moved to: `pending`, `firing`, ...
    pub state: String,
    /// The rule.
    pub rule: String,
    /// The severity: `info`, `warning` or `critical`.
    pub severity: String,
    /// The model instance.
    pub model: ModelId,
    /// The metric.
    pub metric: String,
    /// The whole output, as the engine serialized it.
    pub output: String,
}

/// Which retrain decisions to list; `None` fields match everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DecisionFilter {
    /// The model's name.
    pub model: Option<String>,
    /// Granted, suppressed or withdrawn.
    pub decision: Option<Decision>,
    /// Why.
    pub reason: Option<Reason>,
    /// The job id.
    pub job_id: Option<String>,
    /// At or after this event time.
    pub since: Option<Timestamp>,
    /// Before this event time.
    pub until: Option<Timestamp>,
}

/// A stored retrain decision. Enumerations are in their wire spelling.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredDecision {
    /// The listing cursor of this row.
    pub pos: i64,
    /// The decision's id.
    pub id: String,
    /// The sequence number of the input that caused it.
    pub seq: u64,
    /// Its event time.
    pub at: Timestamp,
    /// The model's name.
    pub model: String,
    /// `granted`, `suppressed` or `withdrawn`.
    pub decision: String,
    /// The reason, such as `alert_firing` or `cooldown`.
    pub reason: String,
    /// The job, if the decision names one.
    pub job_id: Option<String>,
    /// The whole output, as the engine serialized it.
    pub output: String,
}

/// Which canary verdicts to list; `None` fields match everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CanaryFilter {
    /// The model's name.
    pub model: Option<String>,
    /// The candidate's version.
    pub version: Option<String>,
    /// The canary rule's name.
    pub rule: Option<String>,
    /// Pass or fail.
    pub verdict: Option<Verdict>,
    /// At or after this event time.
    pub since: Option<Timestamp>,
    /// Before this event time.
    pub until: Option<Timestamp>,
}

/// A stored canary verdict. Enumerations are in their wire spelling.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredCanaryVerdict {
    /// The listing cursor of this row.
    pub pos: i64,
    /// The verdict's id.
    pub id: String,
    /// The sequence number of the input that caused it.
    pub seq: u64,
    /// Its event time.
    pub at: Timestamp,
    /// The canary rule.
    pub rule: String,
    /// The candidate instance whose point triggered the judgement.
    pub model: ModelId,
    /// The metric compared.
    pub metric: String,
    /// `pass` or `fail`.
    pub verdict: String,
    /// The whole output, as the engine serialized it.
    pub output: String,
}

impl SqliteStore {
    /// The sequence number of the last stored input; 0 when there is none.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn last_seq(&self) -> Result<u64, StoreError> {
        read_last_seq(&self.connection).map_err(self.sqlite("reading the last sequence number"))
    }

    /// Up to `limit` inputs (capped at [`MAX_REPLAY_PAGE`]) with sequence numbers above
    /// `seq`, in sequence order, read back into [`Input`]s for replay.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails, [`StoreError::Corrupt`] when a stored input
    /// no longer parses.
    pub fn inputs_after(&self, seq: u64, limit: usize) -> Result<Vec<StoredInput>, StoreError> {
        let action = "reading inputs";
        let limit = limit.clamp(1, MAX_REPLAY_PAGE);
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT seq, received_at, input FROM inputs WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(self.sqlite(action))?;
        let rows = statement
            .query_map(params![seq, limit as i64], |row| {
                Ok((
                    row.get::<_, u64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .map_err(self.sqlite(action))?;
        let decoder = Decoder::new();
        let mut inputs = Vec::new();
        for row in rows {
            let (seq, received_at, text) = row.map_err(self.sqlite(action))?;
            let input = decoder
                .decode(&text)
                .map_err(|message| StoreError::Corrupt {
                    path: self.path.clone(),
                    seq,
                    message,
                })?;
            inputs.push(StoredInput {
                seq,
                received_at: Timestamp::from_nanos(received_at),
                input,
            });
        }
        Ok(inputs)
    }

    /// Alert transitions matching `filter`, one page.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn alerts(
        &self,
        filter: &AlertFilter,
        page: &Page,
    ) -> Result<Listing<StoredAlert>, StoreError> {
        let mut clauses = Clauses::default();
        clauses.equals("model", filter.model.as_deref());
        clauses.equals("version", filter.version.as_deref());
        clauses.equals("instance", filter.instance.as_deref());
        clauses.equals("metric", filter.metric.as_deref());
        clauses.equals("rule", filter.rule.as_deref());
        clauses.equals("alert_id", filter.alert_id.as_deref());
        clauses.equals("state", filter.state.map(AlertState::as_str));
        clauses.equals("severity", filter.severity.map(Severity::as_str));
        clauses.time_range(filter.since, filter.until);
        self.list(
            &format!("SELECT {ALERT_COLUMNS} FROM alerts"),
            clauses,
            page,
            read_alert,
            |alert| alert.pos,
        )
    }

    /// Retrain decisions matching `filter`, one page.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn decisions(
        &self,
        filter: &DecisionFilter,
        page: &Page,
    ) -> Result<Listing<StoredDecision>, StoreError> {
        let mut clauses = Clauses::default();
        clauses.equals("model", filter.model.as_deref());
        clauses.equals("decision", filter.decision.map(Decision::as_str));
        clauses.equals("reason", filter.reason.map(Reason::as_str));
        clauses.equals("job_id", filter.job_id.as_deref());
        clauses.time_range(filter.since, filter.until);
        self.list(
            "SELECT pos, id, seq, time, model, decision, reason, job_id, output FROM decisions",
            clauses,
            page,
            |row| {
                Ok(StoredDecision {
                    pos: row.get(0)?,
                    id: row.get(1)?,
                    seq: row.get(2)?,
                    at: Timestamp::from_nanos(row.get(3)?),
                    model: row.get(4)?,
                    decision: row.get(5)?,
                    reason: row.get(6)?,
                    job_id: row.get(7)?,
                    output: row.get(8)?,
                })
            },
            |decision| decision.pos,
        )
    }

    /// Canary verdicts matching `filter`, one page.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn canary_verdicts(
        &self,
        filter: &CanaryFilter,
        page: &Page,
    ) -> Result<Listing<StoredCanaryVerdict>, StoreError> {
        let mut clauses = Clauses::default();
        clauses.equals("model", filter.model.as_deref());
        clauses.equals("version", filter.version.as_deref());
        clauses.equals("rule", filter.rule.as_deref());
        clauses.equals("verdict", filter.verdict.map(Verdict::as_str));
        clauses.time_range(filter.since, filter.until);
        self.list(
            "SELECT pos, id, seq, time, rule, model, version, instance, metric, verdict, output
             FROM canary_verdicts",
            clauses,
            page,
            |row| {
                Ok(StoredCanaryVerdict {
                    pos: row.get(0)?,
                    id: row.get(1)?,
                    seq: row.get(2)?,
                    at: Timestamp::from_nanos(row.get(3)?),
                    rule: row.get(4)?,
                    model: ModelId::new(
                        row.get::<_, String>(5)?,
                        row.get::<_, String>(6)?,
                        row.get::<_, String>(7)?,
                    ),
                    metric: row.get(8)?,
                    verdict: row.get(9)?,
                    output: row.get(10)?,
                })
            },
            |verdict| verdict.pos,
        )
    }

    /// The open alerts of `model`: for each alert id, its latest transition, when that moved
    /// it to `pending`, `firing` or `warning`; in stream order.
    ///
    /// Reads the model's transitions through `alerts_by_model` and finds each one's latest
    /// through `alerts_by_alert_id`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn open_alerts(&self, model: &str) -> Result<Vec<StoredAlert>, StoreError> {
        self.rows(
            "reading the open alerts",
            &format!(
                "SELECT {ALERT_COLUMNS} FROM alerts AS a
                 WHERE a.model = ?1
                   AND a.pos = (SELECT max(b.pos) FROM alerts AS b WHERE b.alert_id = a.alert_id)
                   AND a.state IN ('pending', 'firing', 'warning')
                 ORDER BY a.pos"
            ),
            [model],
            read_alert,
        )
    }

    /// Every alert whose latest transition is `firing` or `warning`, over all models, in
    /// stream order: what Alertmanager is told again and again while it lasts.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn firing_alerts(&self) -> Result<Vec<StoredAlert>, StoreError> {
        self.rows(
            "reading the firing alerts",
            &format!(
                "SELECT {ALERT_COLUMNS} FROM alerts AS a
                 WHERE a.state IN ('firing', 'warning')
                   AND a.pos = (SELECT max(b.pos) FROM alerts AS b WHERE b.alert_id = a.alert_id)
                 ORDER BY a.pos"
            ),
            [],
            read_alert,
        )
    }

    /// Every row a statement returns, each read by `read`; `action` names the read in errors.
    pub(crate) fn rows<T>(
        &self,
        action: &'static str,
        sql: &str,
        params: impl rusqlite::Params,
        read: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        self.connection
            .prepare_cached(sql)
            .and_then(|mut statement| statement.query_map(params, read)?.collect())
            .map_err(self.sqlite(action))
    }

    /// How many rows each table holds; points count one by one, those this store holds
    /// pending included.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn counts(&self) -> Result<Counts, StoreError> {
        let count = |table: &str| -> Result<u64, StoreError> {
            self.connection
                .prepare_cached(&format!("SELECT count(*) FROM {table}"))
                .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
                .map_err(self.sqlite("counting rows"))
        };
        Ok(Counts {
            inputs: count("inputs")?,
            points: self.count_points()?,
            alerts: count("alerts")?,
            decisions: count("decisions")?,
            job_notices: count("job_notices")?,
            canary_verdicts: count("canary_verdicts")?,
            quality_points: count("quality_points")?,
        })
    }

    pub(crate) fn list<T>(
        &self,
        select: &str,
        mut clauses: Clauses,
        page: &Page,
        read: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
        pos: impl Fn(&T) -> i64,
    ) -> Result<Listing<T>, StoreError> {
        let action = "listing rows";
        let limit = page.limit.clamp(1, MAX_PAGE);
        let (direction, comparison) = match page.order {
            Order::OldestFirst => ("ASC", ">"),
            Order::NewestFirst => ("DESC", "<"),
        };
        if let Some(after) = page.after {
            clauses.push(&format!("pos {comparison} ?"), [Value::Integer(after)]);
        }
        let sql = format!(
            "{select}{} ORDER BY pos {direction} LIMIT ?",
            clauses.where_clause()
        );
        let mut values = clauses.values;
        values.push(Value::Integer(limit as i64 + 1));
        let mut statement = self
            .connection
            .prepare_cached(&sql)
            .map_err(self.sqlite(action))?;
        let mut items = statement
            .query_map(params_from_iter(values), |row| read(row))
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
            .map_err(self.sqlite(action))?;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(pos)
        } else {
            None
        };
        Ok(Listing { items, next })
    }

    pub(crate) fn sqlite(
        &self,
        action: &'static str,
    ) -> impl Fn(rusqlite::Error) -> StoreError + use<> {
        let path = self.path.clone();
        move |error| StoreError::Sqlite {
            path: path.clone(),
            action,
            error,
        }
    }
}

/// The columns [`read_alert`] reads, in its order.
const ALERT_COLUMNS: &str =
    "pos, id, alert_id, seq, time, state, rule, severity, model, version, instance, metric, output";

fn read_alert(row: &Row<'_>) -> rusqlite::Result<StoredAlert> {
    Ok(StoredAlert {
        pos: row.get(0)?,
        id: row.get(1)?,
        alert_id: row.get(2)?,
        seq: row.get(3)?,
        at: Timestamp::from_nanos(row.get(4)?),
        state: row.get(5)?,
        rule: row.get(6)?,
        severity: row.get(7)?,
        model: ModelId {
            name: row.get(8)?,
            version: row.get(9)?,
            instance: row.get(10)?,
        },
        metric: row.get(11)?,
        output: row.get(12)?,
    })
}
