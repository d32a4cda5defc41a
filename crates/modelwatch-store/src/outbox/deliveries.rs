//! Notifications: one `deliveries` row per output and notifier, written in the commit of the
//! output; the attempts the notifiers report; the reads the notifiers and `/v1/deliveries`
//! make; and the deletion of notifications that are over.

use modelwatch_engine::{Output, Timestamp, stable_id};
use rusqlite::{Row, Transaction, params};

use crate::query::{Clauses, Listing, Page};
use crate::retention::Step;
use crate::writes::Durability;
use crate::{MAX_REPLAY_PAGE, SqliteStore, StoreError};

/// Where a notification stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Not yet accepted by its target; the notifier keeps trying.
    Pending,
    /// The target accepted it (a 2xx answer).
    Delivered,
    /// The target refused it for good, or kept failing for longer than the notifier retries.
    GivenUp,
    /// Nothing to send: the target takes no such transition (Alertmanager hears no pending
    /// or inactive alert).
    Skipped,
}

impl DeliveryState {
    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::GivenUp => "given_up",
            DeliveryState::Skipped => "skipped",
        }
    }

    /// Parses the stored spelling.
    pub fn from_name(name: &str) -> Option<DeliveryState> {
        [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::GivenUp,
            DeliveryState::Skipped,
        ]
        .into_iter()
        .find(|state| state.as_str() == name)
    }
}

/// One notification of one output to one notifier.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    /// Stream position: deliveries of one notifier go out in this order.
    pub pos: i64,
    /// The id, sent as `Idempotency-Key`: the same for every attempt.
    pub id: String,
    /// The notifier's name.
    pub notifier: String,
    /// The output it tells of.
    pub output_id: String,
    /// The sequence number of the input that caused the output.
    pub seq: u64,
    /// When the output was committed (wall time).
    pub created_at: Timestamp,
    /// Pending, delivered or given up.
    pub state: DeliveryState,
    /// Attempts so far.
    pub attempts: u32,
    /// When the latest attempt ended.
    pub last_attempt_at: Option<Timestamp>,
    /// Why the latest failed attempt failed.
    pub last_error: Option<String>,
    /// When it was delivered or given up.
    pub done_at: Option<Timestamp>,
    /// The output's JSON.
    pub output: String,
}

/// How an attempt to deliver a notification ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryResult {
    /// The target accepted it.
    Delivered,
    /// There was nothing to send (see [`DeliveryState::Skipped`]).
    Skipped,
    /// The attempt failed.
    Failed {
        /// Why.
        error: String,
        /// Whether that is the end of it (refused for good, or retried long enough).
        give_up: bool,
    },
}

/// Which deliveries to list; `None` matches everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeliveryFilter {
    /// The notifier.
    pub notifier: Option<String>,
    /// The state.
    pub state: Option<DeliveryState>,
    /// The output told of.
    pub output_id: Option<String>,
}

/// The id of the delivery of an output to a notifier.
pub fn delivery_id(output_id: &str, notifier: &str) -> String {
    stable_id(&["delivery", output_id, notifier])
}

/// Writes the pending delivery of `output` to `notifier` (once: a second commit of the same
/// output writes nothing).
pub(super) fn insert_delivery(
    tx: &Transaction<'_>,
    notifier: &str,
    output: &Output,
    json: &str,
    created_at: Timestamp,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO deliveries (id, notifier, output_id, seq, created_at, state, output)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6)",
    )?
    .execute(params![
        delivery_id(output.id(), notifier),
        notifier,
        output.id(),
        output.seq(),
        created_at.as_nanos(),
        json
    ])?;
    Ok(())
}

/// Records an attempt to deliver notification `id` that ended at `at`; a notification that is
/// over takes no more attempts.
pub(super) fn record_attempt(
    tx: &Transaction<'_>,
    id: &str,
    at: Timestamp,
    result: &DeliveryResult,
) -> rusqlite::Result<()> {
    let (state, error, attempted) = match result {
        DeliveryResult::Delivered => (DeliveryState::Delivered, None, 1),
        DeliveryResult::Skipped => (DeliveryState::Skipped, None, 0),
        DeliveryResult::Failed {
            error,
            give_up: true,
        } => (DeliveryState::GivenUp, Some(error.as_str()), 1),
        DeliveryResult::Failed {
            error,
            give_up: false,
        } => (DeliveryState::Pending, Some(error.as_str()), 1),
    };
    let done_at = (state != DeliveryState::Pending).then_some(at.as_nanos());
    tx.prepare_cached(
        "UPDATE deliveries SET attempts = attempts + ?6, last_attempt_at = ?2,
                state = ?3, last_error = coalesce(?4, last_error), done_at = ?5
         WHERE id = ?1 AND state = 'pending'",
    )?
    .execute(params![
        id,
        at.as_nanos(),
        state.as_str(),
        error,
        done_at,
        attempted
    ])?;
    Ok(())
}

const DELIVERY_COLUMNS: &str = "pos, id, notifier, output_id, seq, created_at, state, attempts,
     last_attempt_at, last_error, done_at, output";

fn read_delivery(row: &Row<'_>) -> rusqlite::Result<Delivery> {
    let state: String = row.get(6)?;
    Ok(Delivery {
        pos: row.get(0)?,
        id: row.get(1)?,
        notifier: row.get(2)?,
        output_id: row.get(3)?,
        seq: row.get(4)?,
        created_at: Timestamp::from_nanos(row.get(5)?),
        state: DeliveryState::from_name(&state).unwrap_or(DeliveryState::Pending),
        attempts: row.get(7)?,
        last_attempt_at: row.get::<_, Option<i64>>(8)?.map(Timestamp::from_nanos),
        last_error: row.get(9)?,
        done_at: row.get::<_, Option<i64>>(10)?.map(Timestamp::from_nanos),
        output: row.get(11)?,
    })
}

impl SqliteStore {
    /// The pending deliveries of a notifier after stream position `after`, oldest first.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn pending_deliveries(
        &self,
        notifier: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.rows(
            "reading pending deliveries",
            &format!(
                "SELECT {DELIVERY_COLUMNS} FROM deliveries
                 WHERE notifier = ?1 AND state = 'pending' AND pos > ?2
                 ORDER BY pos LIMIT ?3"
            ),
            params![notifier, after, i64::try_from(limit).unwrap_or(i64::MAX)],
            read_delivery,
        )
    }

    /// Deliveries matching `filter`, one page.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn deliveries(
        &self,
        filter: &DeliveryFilter,
        page: &Page,
    ) -> Result<Listing<Delivery>, StoreError> {
        let mut clauses = Clauses::default();
        clauses.equals("notifier", filter.notifier.as_deref());
        clauses.equals("state", filter.state.map(DeliveryState::as_str));
        clauses.equals("output_id", filter.output_id.as_deref());
        self.list(
            &format!("SELECT {DELIVERY_COLUMNS} FROM deliveries"),
            clauses,
            page,
            read_delivery,
            |delivery| delivery.pos,
        )
    }

    /// Deletes up to `limit` notifications that are over (delivered, given up or skipped)
    /// and ended before `cutoff` (wall time), oldest first, in one transaction. Pending ones
    /// stay, however old. Done once it reaches a notification created at or after `cutoff`
    /// (every later one is newer) or the end.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when a read or the deletion fails; nothing is deleted then.
    pub fn delete_old_deliveries(
        &mut self,
        cutoff: Timestamp,
        limit: usize,
    ) -> Result<Step, StoreError> {
        let sqlite = self.sqlite("deleting old notifications");
        let limit = limit.clamp(1, MAX_REPLAY_PAGE);
        let tx = self
            .writes
            .begin(&self.connection, Durability::Synced)
            .map_err(&sqlite)?;
        // The oldest rows created before the cutoff that are over and ended before it: the
        // index on `pos` is walked from the start, and pending rows are few.
        let old: Vec<i64> = tx
            .prepare_cached(
                "SELECT pos FROM deliveries
                 WHERE created_at < ?1 AND state != 'pending' AND done_at < ?1
                 ORDER BY pos LIMIT ?2",
            )
            .and_then(|mut statement| {
                statement
                    .query_map(params![cutoff.as_nanos(), limit as i64], |row| row.get(0))?
                    .collect()
            })
            .map_err(&sqlite)?;
        let mut deleted = 0;
        {
            let mut delete = tx
                .prepare_cached("DELETE FROM deliveries WHERE pos = ?1")
                .map_err(&sqlite)?;
            for pos in &old {
                deleted += delete.execute([pos]).map_err(&sqlite)? as u64;
            }
        }
        self.writes.commit(tx).map_err(&sqlite)?;
        Ok(Step {
            deleted,
            done: old.len() < limit,
        })
    }
}
