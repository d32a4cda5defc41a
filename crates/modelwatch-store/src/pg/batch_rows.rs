//! A batch's rows for PostgreSQL, column by column: each table's values as arrays, which one
//! `INSERT ... SELECT FROM unnest(...) WITH ORDINALITY` writes in batch order (so `pos`
//! follows the engine's order, as SQLite's rowids do). The columns are those SQLite's commit
//! writes (`crate::store`), plus the partition.

use modelwatch_engine::{Input, Output};
use postgres::Transaction;

use crate::store::Encoded;
use crate::{Batch, Counts, StoreError};

/// A sequence number as PostgreSQL's `bigint`.
pub(super) fn sql_int(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Unsupported {
        backend: "PostgreSQL",
        what: "number inputs past 2^63 - 1",
    })
}

/// A batch's rows, column by column, ready to bind as arrays.
#[derive(Default)]
pub(super) struct Rows<'a> {
    inputs: InputRows<'a>,
    alerts: AlertRows<'a>,
    decisions: DecisionRows<'a>,
    job_notices: JobNoticeRows<'a>,
    canary_verdicts: CanaryRows<'a>,
    quality_points: QualityRows<'a>,
    /// The series points the batch brings (see [`Counts::points`]).
    points: u64,
}

#[derive(Default)]
struct InputRows<'a> {
    seq: Vec<i64>,
    received_at: Vec<i64>,
    input: Vec<&'a str>,
}

#[derive(Default)]
struct AlertRows<'a> {
    id: Vec<&'a str>,
    alert_id: Vec<&'a str>,
    seq: Vec<i64>,
    time: Vec<i64>,
    state: Vec<&'a str>,
    rule: Vec<&'a str>,
    severity: Vec<&'a str>,
    model: Vec<&'a str>,
    version: Vec<&'a str>,
    instance: Vec<&'a str>,
    metric: Vec<&'a str>,
    output: Vec<&'a str>,
}

#[derive(Default)]
struct DecisionRows<'a> {
    id: Vec<&'a str>,
    seq: Vec<i64>,
    time: Vec<i64>,
    model: Vec<&'a str>,
    decision: Vec<&'a str>,
    reason: Vec<&'a str>,
    job_id: Vec<Option<&'a str>>,
    output: Vec<&'a str>,
}

#[derive(Default)]
struct JobNoticeRows<'a> {
    id: Vec<&'a str>,
    seq: Vec<i64>,
    time: Vec<i64>,
    model: Vec<&'a str>,
    job_id: Vec<Option<&'a str>>,
    status: Vec<&'a str>,
    version: Vec<Option<&'a str>>,
    ended_outstanding: Vec<i64>,
    output: Vec<&'a str>,
}

#[derive(Default)]
struct CanaryRows<'a> {
    id: Vec<&'a str>,
    seq: Vec<i64>,
    time: Vec<i64>,
    rule: Vec<&'a str>,
    model: Vec<&'a str>,
    version: Vec<&'a str>,
    instance: Vec<&'a str>,
    metric: Vec<&'a str>,
    verdict: Vec<&'a str>,
    output: Vec<&'a str>,
}

#[derive(Default)]
struct QualityRows<'a> {
    id: Vec<&'a str>,
    seq: Vec<i64>,
    time: Vec<i64>,
    model: Vec<&'a str>,
    version: Vec<&'a str>,
    instance: Vec<&'a str>,
    source: Vec<&'a str>,
    metrics: Vec<String>,
    output: Vec<&'a str>,
}

impl<'a> Rows<'a> {
    /// The rows of `batch`, whose JSON is `encoded`: the same columns SQLite's commit writes.
    pub(super) fn of(batch: &'a Batch, encoded: &'a Encoded) -> Result<Rows<'a>, StoreError> {
        let mut rows = Rows::default();
        for (record, text) in batch.records.iter().zip(&encoded.inputs) {
            rows.inputs.seq.push(sql_int(record.seq)?);
            rows.inputs.received_at.push(record.received_at.as_nanos());
            rows.inputs.input.push(text);
            if let Input::Event(event) = &record.input {
                rows.points += event.metrics.len() as u64;
            }
        }
        for (output, text) in batch.outputs.iter().zip(&encoded.outputs) {
            let seq = sql_int(output.seq())?;
            let time = output.at().as_nanos();
            match output {
                Output::Alert(alert) => {
                    let columns = &mut rows.alerts;
                    columns.id.push(&alert.id);
                    columns.alert_id.push(&alert.alert_id);
                    columns.seq.push(seq);
                    columns.time.push(time);
                    columns.state.push(alert.state.as_str());
                    columns.rule.push(&alert.rule);
                    columns.severity.push(alert.severity.as_str());
                    columns.model.push(&alert.model.name);
                    columns.version.push(&alert.model.version);
                    columns.instance.push(&alert.model.instance);
                    columns.metric.push(&alert.metric);
                    columns.output.push(text);
                }
                Output::Retrain(decision) => {
                    let columns = &mut rows.decisions;
                    columns.id.push(&decision.id);
                    columns.seq.push(seq);
                    columns.time.push(time);
                    columns.model.push(&decision.model);
                    columns.decision.push(decision.decision.as_str());
                    columns.reason.push(decision.reason.as_str());
                    columns.job_id.push(decision.job_id.as_deref());
                    columns.output.push(text);
                }
                Output::JobFinished(notice) => {
                    let columns = &mut rows.job_notices;
                    columns.id.push(&notice.id);
                    columns.seq.push(seq);
                    columns.time.push(time);
                    columns.model.push(&notice.model);
                    columns.job_id.push(notice.job_id.as_deref());
                    columns.status.push(notice.status.as_str());
                    columns.version.push(notice.version.as_deref());
                    columns
                        .ended_outstanding
                        .push(i64::from(notice.ended_outstanding));
                    columns.output.push(text);
                }
                Output::Canary(verdict) => {
                    let columns = &mut rows.canary_verdicts;
                    columns.id.push(&verdict.id);
                    columns.seq.push(seq);
                    columns.time.push(time);
                    columns.rule.push(&verdict.rule);
                    columns.model.push(&verdict.model.name);
                    columns.version.push(&verdict.model.version);
                    columns.instance.push(&verdict.model.instance);
                    columns.metric.push(&verdict.metric);
                    columns.verdict.push(verdict.verdict.as_str());
                    columns.output.push(text);
                }
                Output::Quality(point) => {
                    let metrics = serde_json::to_string(&crate::points::ValuesForm(&point.metrics))
                        .map_err(|error| StoreError::Encode {
                            what: "quality metrics",
                            seq: point.seq,
                            error,
                        })?;
                    let columns = &mut rows.quality_points;
                    columns.id.push(&point.id);
                    columns.seq.push(seq);
                    columns.time.push(time);
                    columns.model.push(&point.model.name);
                    columns.version.push(&point.model.version);
                    columns.instance.push(&point.model.instance);
                    columns.source.push(point.source.as_str());
                    columns.metrics.push(metrics);
                    columns.output.push(text);
                    rows.points += point.metrics.len() as u64;
                }
            }
        }
        Ok(rows)
    }

    /// Inserts every row into `partition`, one statement per table that has rows; returns
    /// what was written.
    pub(super) fn insert(
        &self,
        tx: &mut Transaction<'_>,
        partition: i32,
    ) -> Result<Counts, postgres::Error> {
        let inputs = &self.inputs;
        insert(
            tx,
            "inputs",
            &["seq", "received_at", "input"],
            &["bigint", "bigint", "text"],
            &[&partition, &inputs.seq, &inputs.received_at, &inputs.input],
            inputs.seq.len(),
        )?;
        let alerts = &self.alerts;
        insert(
            tx,
            "alerts",
            &[
                "id", "alert_id", "seq", "time", "state", "rule", "severity", "model", "version",
                "instance", "metric", "output",
            ],
            &[
                "text", "text", "bigint", "bigint", "text", "text", "text", "text", "text", "text",
                "text", "text",
            ],
            &[
                &partition,
                &alerts.id,
                &alerts.alert_id,
                &alerts.seq,
                &alerts.time,
                &alerts.state,
                &alerts.rule,
                &alerts.severity,
                &alerts.model,
                &alerts.version,
                &alerts.instance,
                &alerts.metric,
                &alerts.output,
            ],
            alerts.id.len(),
        )?;
        let decisions = &self.decisions;
        insert(
            tx,
            "decisions",
            &[
                "id", "seq", "time", "model", "decision", "reason", "job_id", "output",
            ],
            &[
                "text", "bigint", "bigint", "text", "text", "text", "text", "text",
            ],
            &[
                &partition,
                &decisions.id,
                &decisions.seq,
                &decisions.time,
                &decisions.model,
                &decisions.decision,
                &decisions.reason,
                &decisions.job_id,
                &decisions.output,
            ],
            decisions.id.len(),
        )?;
        let notices = &self.job_notices;
        insert(
            tx,
            "job_notices",
            &[
                "id",
                "seq",
                "time",
                "model",
                "job_id",
                "status",
                "version",
                "ended_outstanding",
                "output",
            ],
            &[
                "text", "bigint", "bigint", "text", "text", "text", "text", "bigint", "text",
            ],
            &[
                &partition,
                &notices.id,
                &notices.seq,
                &notices.time,
                &notices.model,
                &notices.job_id,
                &notices.status,
                &notices.version,
                &notices.ended_outstanding,
                &notices.output,
            ],
            notices.id.len(),
        )?;
        let verdicts = &self.canary_verdicts;
        insert(
            tx,
            "canary_verdicts",
            &[
                "id", "seq", "time", "rule", "model", "version", "instance", "metric", "verdict",
                "output",
            ],
            &[
                "text", "bigint", "bigint", "text", "text", "text", "text", "text", "text", "text",
            ],
            &[
                &partition,
                &verdicts.id,
                &verdicts.seq,
                &verdicts.time,
                &verdicts.rule,
                &verdicts.model,
                &verdicts.version,
                &verdicts.instance,
                &verdicts.metric,
                &verdicts.verdict,
                &verdicts.output,
            ],
            verdicts.id.len(),
        )?;
        let quality = &self.quality_points;
        insert(
            tx,
            "quality_points",
            &[
                "id", "seq", "time", "model", "version", "instance", "source", "metrics", "output",
            ],
            &[
                "text", "bigint", "bigint", "text", "text", "text", "text", "text", "text",
            ],
            &[
                &partition,
                &quality.id,
                &quality.seq,
                &quality.time,
                &quality.model,
                &quality.version,
                &quality.instance,
                &quality.source,
                &quality.metrics,
                &quality.output,
            ],
            quality.id.len(),
        )?;
        Ok(Counts {
            inputs: inputs.seq.len() as u64,
            points: self.points,
            alerts: alerts.id.len() as u64,
            decisions: decisions.id.len() as u64,
            job_notices: notices.id.len() as u64,
            canary_verdicts: verdicts.id.len() as u64,
            quality_points: quality.id.len() as u64,
        })
    }
}

/// `INSERT INTO table (partition, columns...)` of `rows` rows, in array order: `values` is
/// the partition, then one array per column (of the SQL `types`). Nothing when `rows` is 0.
fn insert(
    tx: &mut Transaction<'_>,
    table: &str,
    columns: &[&str],
    types: &[&str],
    values: &[&(dyn postgres::types::ToSql + Sync)],
    rows: usize,
) -> Result<(), postgres::Error> {
    if rows == 0 {
        return Ok(());
    }
    let arrays: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(index, sql_type)| format!("${}::{sql_type}[]", index + 2))
        .collect();
    let sql = format!(
        "INSERT INTO {table} (partition, {columns})
         SELECT $1::integer, {columns} FROM unnest({arrays})
             WITH ORDINALITY AS batch ({columns}, batch_order)
         ORDER BY batch_order",
        columns = columns.join(", "),
        arrays = arrays.join(", "),
    );
    tx.execute(&sql, values).map(|_| ())
}
