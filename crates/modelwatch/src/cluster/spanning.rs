//! Requests spanning partitions of the ingest log: published whole or not at all.
//!
//! A request whose inputs fall in one partition is one message: JetStream stores it or not.
//! A request spanning several partitions is one message per partition, its *parts*, and a
//! publish can fail between two of them. So the parts carry their request and attempt, and
//! a partition processes a part only once the request's commit record in PostgreSQL
//! (`log_requests`, see `modelwatch_store::pg::Decision`) says `commit`:
//!
//! - the accepting node publishes every part, and once JetStream acknowledged them all,
//!   records `commit`, then answers 202;
//! - a partition that meets a part of an undecided request waits for the record; after
//!   [`DECISION_WAIT`] (or at once for a part older than [`ORPHAN_AGE`], its node long gone)
//!   it records `abort` and skips the part;
//! - both records are an insert of the same key, so the first wins and the other reads it: a
//!   node that lost the race answers 503 (after trying again under the next attempt), and a
//!   partition that lost it processes the part.
//!
//! Either every part of a request is processed or none is, whichever node fails when.
//! A retry with the same `Idempotency-Key` after an abandoned attempt publishes again under
//! the next attempt (other message ids); after a committed one it is answered 202 at once.

use std::collections::HashMap;
use std::time::Duration;

use modelwatch_engine::{Input, Timestamp};
use modelwatch_store::pg::{Decision, PgStore, RequestAttempt};
use modelwatch_store::{Store, StoreError};
use tokio::sync::watch;
use tokio::time::Instant;

use super::connection::SharedConnection;
use super::log::{IngestLog, LogError, LogMessage};
use crate::clock::Clock;

/// How long a partition waits for an undecided request before it abandons it.
pub const DECISION_WAIT: Duration = Duration::from_secs(10);

/// A part received this long ago (by the accepting node's clock) whose request is still
/// undecided is abandoned at once: its node is gone. Far above [`DECISION_WAIT`], so that
/// clocks a little apart never abandon a request under way.
pub const ORPHAN_AGE: Duration = Duration::from_secs(120);

/// Attempts the accepting node makes before it answers 503.
const ATTEMPTS: u32 = 3;

/// How often a partition looks for a decision at most, and at least, while it waits.
const FIRST_LOOK: Duration = Duration::from_millis(2);
const LAST_LOOK: Duration = Duration::from_millis(100);

/// The commit records, on a PostgreSQL connection of their own (its calls run on blocking
/// threads); a partition's reader also reads its log position on it.
#[derive(Clone, Debug)]
pub struct Decisions {
    store: SharedConnection<Store>,
}

impl Decisions {
    /// The records in `store` (a PostgreSQL store).
    pub fn new(store: Store) -> Decisions {
        Decisions {
            store: SharedConnection::new(store, "commit records"),
        }
    }

    async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&PgStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, String> {
        (self.store)
            .call(move |store| match store.postgres() {
                Some(pg) => work(pg),
                None => Err(StoreError::Unsupported {
                    backend: "SQLite",
                    what: "record requests spanning partitions",
                }),
            })
            .await
    }

    pub(super) async fn decide(
        &self,
        attempt: RequestAttempt,
        decision: Decision,
        parts: Vec<(u32, u64)>,
    ) -> Result<Decision, String> {
        self.with(move |pg| pg.decide_request(&attempt, decision, &parts))
            .await
    }

    async fn last_attempt(&self, request: String) -> Result<Option<(u32, Decision)>, String> {
        self.with(move |pg| pg.last_request_attempt(&request)).await
    }

    pub(super) async fn look_up(
        &self,
        attempts: Vec<RequestAttempt>,
    ) -> Result<Vec<(RequestAttempt, Decision)>, String> {
        self.with(move |pg| pg.request_decisions(&attempts)).await
    }

    /// The ingest log's stream sequence the partition of this connection committed through.
    ///
    /// # Errors
    ///
    /// Why the read failed.
    pub async fn log_seq(&self) -> Result<u64, String> {
        self.with(|pg| pg.log_seq()).await
    }

    /// Deletes the records nobody can ask for again; returns how many.
    ///
    /// # Errors
    ///
    /// Why the delete failed.
    pub async fn forget(&self) -> Result<u64, String> {
        self.with(|pg| pg.forget_decided_requests()).await
    }
}

/// Publishes a request's `inputs` whole or not at all (see the module documentation) and
/// returns how many were accepted. `keyed`: `request` comes from the client's
/// `Idempotency-Key`, so an earlier attempt at it may be recorded.
///
/// # Errors
///
/// [`LogError`]: nothing of the request will be processed, unless it is a publish or
/// record failure of a request that a retry with the same key completes.
pub async fn publish_request(
    log: &IngestLog,
    decisions: &Decisions,
    request: &str,
    keyed: bool,
    inputs: Vec<Input>,
    received_at: Timestamp,
    actor: Option<&str>,
) -> Result<usize, LogError> {
    let accepted = inputs.len();
    let parts = log.parts(inputs)?;
    if parts.len() <= 1 {
        log.publish(request, None, &parts, received_at, actor)
            .await?;
        return Ok(accepted);
    }
    let mut attempt = 0;
    if keyed {
        match decisions
            .last_attempt(request.to_string())
            .await
            .map_err(LogError::Decision)?
        {
            Some((_, Decision::Commit)) => return Ok(accepted),
            Some((last, Decision::Abort)) => attempt = last + 1,
            None => {}
        }
    }
    for _ in 0..ATTEMPTS {
        let spanning = RequestAttempt {
            request: request.to_string(),
            attempt,
        };
        let stored = log
            .publish(request, Some(&spanning), &parts, received_at, actor)
            .await?;
        match decisions
            .decide(spanning, Decision::Commit, stored)
            .await
            .map_err(LogError::Decision)?
        {
            Decision::Commit => return Ok(accepted),
            Decision::Abort => {
                tracing::warn!(
                    attempt,
                    "A partition abandoned a request spanning partitions before it was \
                     committed: publishing it again."
                );
                attempt += 1;
            }
        }
    }
    Err(LogError::Abandoned { attempts: ATTEMPTS })
}

/// How settling a partition's messages ended.
pub enum Settled {
    /// Every message left is to be processed.
    Ready,
    /// The partition was told to stop.
    Stopped,
    /// The records could not be read or written.
    Failed(String),
}

/// Settles the parts among `waiting`: waits until each one's request is decided (deciding
/// `abort` itself once it waited long enough), then drops the parts of abandoned requests.
pub async fn settle(
    decisions: &Decisions,
    clock: &dyn Clock,
    partition: u32,
    waiting: &mut Vec<LogMessage>,
    stopped: &mut watch::Receiver<bool>,
) -> Settled {
    let mut known: HashMap<RequestAttempt, Decision> = HashMap::new();
    let mut first_seen: HashMap<RequestAttempt, Instant> = HashMap::new();
    let mut look = FIRST_LOOK;
    loop {
        let undecided: Vec<RequestAttempt> = waiting
            .iter()
            .filter_map(|message| message.spanning.clone())
            .filter(|attempt| !known.contains_key(attempt))
            .collect();
        if undecided.is_empty() {
            break;
        }
        match decisions.look_up(undecided).await {
            Ok(found) => known.extend(found),
            Err(message) => return Settled::Failed(message),
        }
        // The first part still undecided holds back the messages after it.
        let Some(first) = waiting.iter().find(|message| {
            message
                .spanning
                .as_ref()
                .is_some_and(|a| !known.contains_key(a))
        }) else {
            break;
        };
        let Some(attempt) = first.spanning.clone() else {
            break;
        };
        let seen = *first_seen
            .entry(attempt.clone())
            .or_insert_with(Instant::now);
        let age = clock
            .now()
            .as_nanos()
            .saturating_sub(first.received_at.as_nanos());
        let orphan = u128::try_from(age).unwrap_or(0) >= ORPHAN_AGE.as_nanos();
        if orphan || seen.elapsed() >= DECISION_WAIT {
            match decisions
                .decide(attempt.clone(), Decision::Abort, Vec::new())
                .await
            {
                Ok(decision) => {
                    if decision == Decision::Abort {
                        tracing::warn!(
                            partition,
                            seq = first.seq,
                            attempt = attempt.attempt,
                            "A request spanning partitions was not committed in time: its \
                             part here is abandoned (the request was answered 503)."
                        );
                    }
                    known.insert(attempt, decision);
                }
                Err(message) => return Settled::Failed(message),
            }
            continue;
        }
        let until = (Instant::now() + look).min(seen + DECISION_WAIT);
        tokio::select! {
            _ = stopped.changed() => return Settled::Stopped,
            () = tokio::time::sleep_until(until) => {}
        }
        look = (look * 2).min(LAST_LOOK);
    }
    waiting.retain(|message| match &message.spanning {
        None => true,
        Some(attempt) => known.get(attempt) == Some(&Decision::Commit),
    });
    Settled::Ready
}
