//! `settle` on a paused clock and a real PostgreSQL: a partition keeps the parts of
//! committed requests, waits for undecided ones, and abandons a request only after
//! [`DECISION_WAIT`] (or at once when its part is an orphan), recording why.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use modelwatch_engine::Timestamp;
use modelwatch_store::Store;
use modelwatch_store::pg::{Decision, RequestAttempt};
use modelwatch_testkit::PostgresServer;
use tokio::sync::watch;
use tokio::time::Instant;

use super::log::LogMessage;
use super::spanning::{DECISION_WAIT, Decisions, ORPHAN_AGE, Settled, settle};
use crate::clock::FixedClock;

/// The partition's clock: wall time as the test sets it.
const NOW: i64 = 1_800_000_000_000_000_000;

fn part(seq: u64, request: Option<&str>, received_at: i64) -> LogMessage {
    LogMessage {
        seq,
        inputs: Vec::new(),
        received_at: Timestamp::from_nanos(received_at),
        actor: None,
        spanning: request.map(attempt),
    }
}

fn attempt(request: &str) -> RequestAttempt {
    RequestAttempt {
        request: request.to_string(),
        attempt: 0,
    }
}

fn seqs(waiting: &[LogMessage]) -> Vec<u64> {
    waiting.iter().map(|message| message.seq).collect()
}

async fn decisions(database: &str) -> Decisions {
    let url = database.to_string();
    let store = tokio::task::spawn_blocking(move || Store::open_postgres(&url).unwrap())
        .await
        .unwrap();
    Decisions::new(store)
}

async fn decided(decisions: &Decisions, request: &str) -> Option<Decision> {
    let asked = attempt(request);
    decisions
        .look_up(vec![asked])
        .await
        .unwrap()
        .first()
        .map(|(_, decision)| *decision)
}

#[tokio::test(start_paused = true)]
async fn committed_parts_are_kept_and_an_undecided_request_is_abandoned_after_the_wait() {
    let Some(server) = PostgresServer::shared() else {
        return;
    };
    let database = server.database();
    let decisions = decisions(database.url()).await;
    decisions
        .decide(attempt("committed"), Decision::Commit, vec![(0, 2)])
        .await
        .unwrap();
    let clock = FixedClock::new(Timestamp::from_nanos(NOW));
    let (_stop, mut stopped) = watch::channel(false);
    let mut waiting = vec![
        part(1, None, NOW),
        part(2, Some("committed"), NOW),
        part(3, Some("undecided"), NOW),
        part(4, None, NOW),
    ];
    let started = Instant::now();
    let settled = settle(&decisions, &clock, 0, &mut waiting, &mut stopped).await;
    assert!(matches!(settled, Settled::Ready));
    assert_eq!(seqs(&waiting), vec![1, 2, 4]);
    assert!(
        started.elapsed() >= DECISION_WAIT,
        "abandoned before the wait was over"
    );
    assert_eq!(
        decided(&decisions, "undecided").await,
        Some(Decision::Abort)
    );
    // The accepting node, late, reads the abort: it answers 503 and tries the next attempt.
    let late = decisions
        .decide(attempt("undecided"), Decision::Commit, vec![(0, 3)])
        .await
        .unwrap();
    assert_eq!(late, Decision::Abort);
}

#[tokio::test(start_paused = true)]
async fn a_part_waits_for_its_commit_and_an_orphan_is_abandoned_at_once() {
    let Some(server) = PostgresServer::shared() else {
        return;
    };
    let database = server.database();
    let decisions = decisions(database.url()).await;
    let clock = FixedClock::new(Timestamp::from_nanos(NOW));
    let (_stop, mut stopped) = watch::channel(false);

    // Committed by the accepting node while the partition waits.
    let committing = decisions.clone();
    let commit = tokio::spawn(async move {
        tokio::time::sleep_until(Instant::now() + Duration::from_millis(300)).await;
        committing
            .decide(attempt("slow"), Decision::Commit, vec![(0, 1)])
            .await
            .unwrap()
    });
    let mut waiting = vec![part(1, Some("slow"), NOW), part(2, None, NOW)];
    let settled = settle(&decisions, &clock, 0, &mut waiting, &mut stopped).await;
    assert!(matches!(settled, Settled::Ready));
    assert_eq!(commit.await.unwrap(), Decision::Commit);
    assert_eq!(seqs(&waiting), vec![1, 2]);

    // Received by a node long gone: abandoned without waiting.
    let long_ago = NOW - i64::try_from(ORPHAN_AGE.as_nanos()).unwrap();
    let mut waiting = vec![part(3, Some("orphan"), long_ago), part(4, None, NOW)];
    let started = Instant::now();
    let settled = settle(&decisions, &clock, 0, &mut waiting, &mut stopped).await;
    assert!(matches!(settled, Settled::Ready));
    assert_eq!(seqs(&waiting), vec![4]);
    assert!(started.elapsed() < DECISION_WAIT);
    assert_eq!(decided(&decisions, "orphan").await, Some(Decision::Abort));
}

#[tokio::test(start_paused = true)]
async fn a_partition_told_to_stop_stops_waiting() {
    let Some(server) = PostgresServer::shared() else {
        return;
    };
    let database = server.database();
    let decisions = decisions(database.url()).await;
    let clock = FixedClock::new(Timestamp::from_nanos(NOW));
    let (stop, mut stopped) = watch::channel(false);
    let stopping = tokio::spawn(async move {
        tokio::time::sleep_until(Instant::now() + Duration::from_secs(1)).await;
        stop.send(true).unwrap();
        stop
    });
    let mut waiting = vec![part(1, Some("undecided"), NOW)];
    let settled = settle(&decisions, &clock, 0, &mut waiting, &mut stopped).await;
    assert!(matches!(settled, Settled::Stopped));
    drop(stopping.await.unwrap());
    // Nothing was decided: the next owner waits in turn.
    assert_eq!(decided(&decisions, "undecided").await, None);
}
