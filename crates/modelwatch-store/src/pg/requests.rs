//! Commit records of requests spanning partitions of the ingest log (`log_requests`): the
//! one place where such a request is decided, whole, committed or abandoned.
//!
//! A request whose inputs fall in several partitions is published as one message per
//! partition. Those messages are a request's *parts*, and none of them is processed before
//! its request's record says `commit`. The accepting node writes `commit` once JetStream
//! acknowledged every part; a partition that waited too long for it writes `abort`. Both are
//! an insert of the same primary key, so the first one wins and the loser reads it:
//! either every part is processed or none is, whichever node fails when.
//!
//! A record is kept until it cannot be asked for again: a commit until every partition
//! named in it committed past its part's stream sequence, an abort for a day (a part read
//! later, its record gone, is abandoned again: its request was answered 503 long ago).

use super::{NOW_MS, PgStore};
use crate::StoreError;

/// How long an abandoned request's record is kept.
const ABORTS_KEPT_MS: i64 = 24 * 3600 * 1000;

/// What became of a request spanning partitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Decision {
    /// Every part is processed.
    Commit,
    /// No part is processed; the request was answered 503.
    Abort,
}

impl Decision {
    fn as_str(self) -> &'static str {
        match self {
            Decision::Commit => "commit",
            Decision::Abort => "abort",
        }
    }

    fn parse(text: &str) -> Decision {
        // The table's CHECK allows these two only.
        if text == "commit" {
            Decision::Commit
        } else {
            Decision::Abort
        }
    }
}

/// One attempt at publishing a request: a retried request with the same idempotency key
/// publishes again under the next attempt after an abandoned one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestAttempt {
    /// The request's id.
    pub request: String,
    /// Its attempt, from 0.
    pub attempt: u32,
}

impl PgStore {
    /// Decides `attempt` unless it is decided already, and returns the decision in force.
    /// `parts` are the partitions and stream sequences of its messages (empty for an abort,
    /// whose writer does not know them).
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the write or read fails.
    pub fn decide_request(
        &self,
        attempt: &RequestAttempt,
        decision: Decision,
        parts: &[(u32, u64)],
    ) -> Result<Decision, StoreError> {
        let error = self.error("deciding a request spanning partitions");
        let number = i32::try_from(attempt.attempt).unwrap_or(i32::MAX);
        let partitions: Vec<i32> = parts
            .iter()
            .map(|(partition, _)| i32::try_from(*partition).unwrap_or(i32::MAX))
            .collect();
        let seqs: Vec<i64> = parts
            .iter()
            .map(|(_, seq)| i64::try_from(*seq).unwrap_or(i64::MAX))
            .collect();
        let request = attempt.request.as_str();
        let stored: String = self
            .call(|client| {
                let inserted = client.query_opt(
                    &format!(
                        "INSERT INTO log_requests \
                         (request, attempt, decision, partitions, seqs, decided_at) \
                         VALUES ($1, $2, $3, $4, $5, {NOW_MS}) \
                         ON CONFLICT (request, attempt) DO NOTHING RETURNING decision"
                    ),
                    &[&request, &number, &decision.as_str(), &partitions, &seqs],
                )?;
                match inserted {
                    Some(row) => Ok(row.get(0)),
                    None => client
                        .query_one(
                            "SELECT decision FROM log_requests WHERE request = $1 AND attempt = $2",
                            &[&request, &number],
                        )
                        .map(|row| row.get(0)),
                }
            })
            .map_err(error)?;
        Ok(Decision::parse(&stored))
    }

    /// The last decided attempt of `request`, if any is still recorded.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
    pub fn last_request_attempt(
        &self,
        request: &str,
    ) -> Result<Option<(u32, Decision)>, StoreError> {
        let error = self.error("reading a request's attempts");
        let row = self
            .call(|client| {
                client.query_opt(
                    "SELECT attempt, decision FROM log_requests WHERE request = $1 \
                     ORDER BY attempt DESC LIMIT 1",
                    &[&request],
                )
            })
            .map_err(error)?;
        Ok(row.map(|row| {
            let attempt: i32 = row.get(0);
            let decision: String = row.get(1);
            (
                u32::try_from(attempt).unwrap_or(0),
                Decision::parse(&decision),
            )
        }))
    }

    /// The decisions recorded for `attempts` (those not decided yet are left out).
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the read fails.
    pub fn request_decisions(
        &self,
        attempts: &[RequestAttempt],
    ) -> Result<Vec<(RequestAttempt, Decision)>, StoreError> {
        let error = self.error("reading the decisions of requests spanning partitions");
        let requests: Vec<&str> = attempts.iter().map(|a| a.request.as_str()).collect();
        let numbers: Vec<i32> = attempts
            .iter()
            .map(|a| i32::try_from(a.attempt).unwrap_or(i32::MAX))
            .collect();
        let rows = self
            .call(|client| {
                client.query(
                    "SELECT r.request, r.attempt, r.decision FROM log_requests r \
                     JOIN unnest($1::TEXT[], $2::INTEGER[]) AS asked(request, attempt) \
                     ON r.request = asked.request AND r.attempt = asked.attempt",
                    &[&requests, &numbers],
                )
            })
            .map_err(error)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let attempt: i32 = row.get(1);
                let decision: String = row.get(2);
                (
                    RequestAttempt {
                        request: row.get(0),
                        attempt: u32::try_from(attempt).unwrap_or(0),
                    },
                    Decision::parse(&decision),
                )
            })
            .collect())
    }

    /// Deletes the records nobody can ask for again (see the module documentation) and
    /// returns how many.
    ///
    /// # Errors
    ///
    /// [`StoreError::Postgres`] when the delete fails.
    pub fn forget_decided_requests(&self) -> Result<u64, StoreError> {
        let error = self.error("forgetting decided requests");
        self.call(|client| {
            client.execute(
                &format!(
                    "DELETE FROM log_requests r WHERE \
                     (r.decision = 'abort' AND r.decided_at < {NOW_MS} - $1) \
                     OR (r.decision = 'commit' AND NOT EXISTS ( \
                         SELECT 1 FROM unnest(r.partitions, r.seqs) AS part(partition, seq) \
                         LEFT JOIN partitions p ON p.partition = part.partition \
                         WHERE coalesce(p.log_seq, 0) < part.seq))"
                ),
                &[&ABORTS_KEPT_MS],
            )
        })
        .map_err(error)
    }
}
