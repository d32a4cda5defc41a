//! [`PgStore`] on PostgreSQL: listings of stored outputs: alerts, decisions, canary verdicts,
//! over every partition, with the filters, order and keyset pages of SQLite's (`crate::query`).

use modelwatch_engine::{AlertState, Decision, ModelId, Reason, Severity, Timestamp, Verdict};
use postgres::Row;
use postgres::types::ToSql;

use super::PgStore;
use crate::StoreError;
use crate::query::{
    AlertFilter, CanaryFilter, DecisionFilter, Listing, MAX_PAGE, Order, Page, StoredAlert,
    StoredCanaryVerdict, StoredDecision,
};

/// A value bound to a statement.
type Param = Box<dyn ToSql + Sync + Send>;

/// A `WHERE` clause under construction, with `$n` placeholders: conditions joined by `AND`,
/// values in order (column names come from the store's code, values are always bound).
#[derive(Default)]
pub(super) struct Clauses {
    conditions: Vec<String>,
    values: Vec<Param>,
}

impl Clauses {
    /// Adds `column <operator> $n` with `value` as `$n`.
    fn compare(&mut self, column: &str, operator: &str, value: Param) {
        self.values.push(value);
        self.conditions
            .push(format!("{column} {operator} ${}", self.values.len()));
    }

    pub(super) fn equals(&mut self, column: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.compare(column, "=", Box::new(value.to_string()));
        }
    }

    /// Event times: `since` inclusive, `until` exclusive.
    fn time_range(&mut self, since: Option<Timestamp>, until: Option<Timestamp>) {
        if let Some(since) = since {
            self.compare("time", ">=", Box::new(since.as_nanos()));
        }
        if let Some(until) = until {
            self.compare("time", "<", Box::new(until.as_nanos()));
        }
    }

    fn where_clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }
}

impl PgStore {
    /// Alert transitions matching `filter`, one page.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
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
    /// [`StoreError::Postgres`] when the read fails.
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
                    pos: row.try_get(0)?,
                    id: row.try_get(1)?,
                    seq: seq(row, 2)?,
                    at: Timestamp::from_nanos(row.try_get(3)?),
                    model: row.try_get(4)?,
                    decision: row.try_get(5)?,
                    reason: row.try_get(6)?,
                    job_id: row.try_get(7)?,
                    output: row.try_get(8)?,
                })
            },
            |decision| decision.pos,
        )
    }

    /// Canary verdicts matching `filter`, one page.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
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
                    pos: row.try_get(0)?,
                    id: row.try_get(1)?,
                    seq: seq(row, 2)?,
                    at: Timestamp::from_nanos(row.try_get(3)?),
                    rule: row.try_get(4)?,
                    model: ModelId::new(
                        row.try_get::<_, String>(5)?,
                        row.try_get::<_, String>(6)?,
                        row.try_get::<_, String>(7)?,
                    ),
                    metric: row.try_get(8)?,
                    verdict: row.try_get(9)?,
                    output: row.try_get(10)?,
                })
            },
            |verdict| verdict.pos,
        )
    }

    /// The open alerts of `model`: for each alert id, its latest transition, when that moved
    /// it to `pending`, `firing` or `warning`; in stream order.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
    pub fn open_alerts(&self, model: &str) -> Result<Vec<StoredAlert>, StoreError> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts AS a
             WHERE a.model = $1
               AND a.pos = (SELECT max(b.pos) FROM alerts AS b WHERE b.alert_id = a.alert_id)
               AND a.state IN ('pending', 'firing', 'warning')
             ORDER BY a.pos"
        );
        let error = self.error("reading the open alerts");
        self.call(|client| {
            client
                .query(&sql, &[&model])
                .and_then(|rows| rows.iter().map(read_alert).collect())
                .map_err(error)
        })
    }

    /// Every alert whose latest transition is `firing` or `warning`, over all models, in
    /// stream order.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
    pub fn firing_alerts(&self) -> Result<Vec<StoredAlert>, StoreError> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts AS a
             WHERE a.state IN ('firing', 'warning')
               AND a.pos = (SELECT max(b.pos) FROM alerts AS b WHERE b.alert_id = a.alert_id)
             ORDER BY a.pos"
        );
        let error = self.error("reading the firing alerts");
        self.call(|client| {
            client
                .query(&sql, &[])
                .and_then(|rows| rows.iter().map(read_alert).collect())
                .map_err(error)
        })
    }

    /// One keyset page of `select` (which must read `pos`) under `clauses`: up to the page's
    /// limit of rows after its cursor, each read by `read`; `pos` gives a row's cursor.
    pub(super) fn list<T: Send>(
        &self,
        select: &str,
        mut clauses: Clauses,
        page: &Page,
        read: impl Fn(&Row) -> Result<T, postgres::Error> + Send,
        pos: impl Fn(&T) -> i64,
    ) -> Result<Listing<T>, StoreError> {
        let limit = page.limit.clamp(1, MAX_PAGE);
        let (direction, comparison) = match page.order {
            Order::OldestFirst => ("ASC", ">"),
            Order::NewestFirst => ("DESC", "<"),
        };
        if let Some(after) = page.after {
            clauses.compare("pos", comparison, Box::new(after));
        }
        let where_clause = clauses.where_clause();
        let mut values = clauses.values;
        values.push(Box::new(i64::try_from(limit + 1).unwrap_or(i64::MAX)));
        let sql = format!(
            "{select}{where_clause} ORDER BY pos {direction} LIMIT ${}",
            values.len()
        );
        let error = self.error("listing rows");
        let mut items = self.call(|client| {
            let params: Vec<&(dyn ToSql + Sync)> = values
                .iter()
                .map(|value| -> &(dyn ToSql + Sync) { value.as_ref() })
                .collect();
            client
                .query(&sql, &params)
                .and_then(|rows| rows.iter().map(read).collect::<Result<Vec<T>, _>>())
                .map_err(error)
        })?;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(pos)
        } else {
            None
        };
        Ok(Listing { items, next })
    }
}

/// The columns [`read_alert`] reads, in its order.
const ALERT_COLUMNS: &str =
    "pos, id, alert_id, seq, time, state, rule, severity, model, version, instance, metric, output";

fn read_alert(row: &Row) -> Result<StoredAlert, postgres::Error> {
    Ok(StoredAlert {
        pos: row.try_get(0)?,
        id: row.try_get(1)?,
        alert_id: row.try_get(2)?,
        seq: seq(row, 3)?,
        at: Timestamp::from_nanos(row.try_get(4)?),
        state: row.try_get(5)?,
        rule: row.try_get(6)?,
        severity: row.try_get(7)?,
        model: ModelId {
            name: row.try_get(8)?,
            version: row.try_get(9)?,
            instance: row.try_get(10)?,
        },
        metric: row.try_get(11)?,
        output: row.try_get(12)?,
    })
}

/// A sequence number column (never negative: commits write only those).
fn seq(row: &Row, index: usize) -> Result<u64, postgres::Error> {
    Ok(u64::try_from(row.try_get::<_, i64>(index)?).unwrap_or(0))
}
