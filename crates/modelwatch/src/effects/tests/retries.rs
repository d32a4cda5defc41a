//! Retries, backoff, time limits and deadlines on tokio's paused clock: the effects send through
//! a switchboard, wall time follows tokio's ([`TokioClock`]), and time moves only when every
//! task waits on a timer, straight to the next one. So a wait of an hour takes no time, and
//! every attempt happens at exactly the time its schedule says, which the tests check to the
//! nanosecond.

use std::sync::Arc;
use std::time::Duration;

use modelwatch_engine::Timestamp;
use tokio::time::Instant;

use super::accuracy;
use super::switchboard::{Call, start};
use crate::clock::{Clock, TokioClock};
use crate::effects::http::{IDEMPOTENCY_HEADER, backoff};

/// When the tests' wall clock starts.
fn start_time() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-23T09:00:00Z").unwrap()
}

/// The wall time `instant` stands for on a clock made at `origin` showing [`start_time`].
fn wall(origin: Instant, instant: Instant) -> Timestamp {
    let elapsed = i64::try_from((instant - origin).as_nanos()).unwrap();
    Timestamp::from_nanos(start_time().as_nanos() + elapsed)
}

/// Lets every timer due within `span` fire (tokio's clock jumps from one to the next).
async fn let_pass(span: Duration) {
    tokio::time::sleep_until(Instant::now() + span).await;
}

const WEBHOOK: &str = r#"
[[notifiers]]
name = "hook"
kind = "webhook"
url = "http://hook.test/alerts"
timeout_secs = 5
retry_initial_ms = 1000
retry_max_secs = 8
retry_for_secs = 30

[[rules]]
name = "acc-low"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }
notify = ["hook"]
"#;

#[tokio::test(start_paused = true)]
async fn a_notifiers_retries_follow_the_backoff_and_give_up_after_retry_for_secs() {
    let origin = Instant::now();
    let clock = Arc::new(TokioClock::new(start_time()));
    let (harness, mut switchboard) = start(WEBHOOK, clock.clone()).await;
    // Two transitions: firing, then resolved; the second waits for the first.
    harness
        .ingest(&[accuracy(0, 0.95), accuracy(1, 0.5), accuracy(2, 0.97)])
        .await;
    let committed = Instant::now();
    assert_eq!(
        committed, origin,
        "time stood still while the writer committed"
    );

    let initial = Duration::from_secs(1);
    let max = Duration::from_secs(8);
    let retry_for = Duration::from_secs(30);
    let mut expected = committed;
    let mut first_key = None;
    let mut attempts = 0;
    let last_end = loop {
        let call: Call = switchboard.next().await;
        attempts += 1;
        let key = call.header(IDEMPOTENCY_HEADER).unwrap().to_string();
        let key = first_key.get_or_insert(key).clone();
        assert_eq!(
            call.header(IDEMPOTENCY_HEADER),
            Some(key.as_str()),
            "only the first notification is tried until it is over"
        );
        assert_eq!(call.at, expected, "attempt {attempts} at its time");
        let at = call.at;
        // Each way an attempt fails: an error status, no answer within timeout_secs, no
        // connection, a Retry-After longer than the backoff.
        let (ended, asked) = match attempts {
            2 => {
                drop(call);
                (at + Duration::from_secs(5), None)
            }
            3 => {
                call.fail("cannot connect: connection refused");
                (at, None)
            }
            4 => {
                call.answer_retry_after(503, Duration::from_secs(20));
                (at, Some(Duration::from_secs(20)))
            }
            _ => {
                call.answer(500);
                (at, None)
            }
        };
        if ended - committed >= retry_for {
            break ended;
        }
        let wait = backoff(initial, max, attempts, &key);
        let full = initial.saturating_mul(1 << (attempts - 1)).min(max);
        assert!(wait >= full / 2 && wait <= full, "{wait:?} of {full:?}");
        // Retry-After is respected up to retry_max_secs.
        expected = ended + wait.max(asked.unwrap_or_default().min(max));
    };
    assert!(attempts >= 6, "{attempts} attempts in 30 s");

    // Given up: the next notification goes out at once, and is delivered.
    let second = switchboard.next().await;
    assert_eq!(second.at, last_end);
    assert_ne!(second.header(IDEMPOTENCY_HEADER), first_key.as_deref());
    second.answer(200);
    let deliveries = harness.settled_deliveries().await;
    let [first, second] = deliveries.as_slice() else {
        panic!("{deliveries:?}");
    };
    assert_eq!(first.state.as_str(), "given_up");
    assert_eq!(first.attempts, attempts);
    assert_eq!(first.last_attempt_at, Some(wall(origin, last_end)));
    assert_eq!(first.done_at, Some(wall(origin, last_end)));
    assert_eq!(
        first.last_error.as_deref(),
        Some("the target answered 500 Internal Server Error (given up after 30 s of retries)")
    );
    assert_eq!(second.state.as_str(), "delivered");
    assert_eq!(second.attempts, 1);
    assert_eq!(second.done_at, Some(wall(origin, last_end)));
    assert_eq!(clock.now(), wall(origin, last_end));

    // Nothing more is sent, however long it waits.
    let_pass(Duration::from_secs(3_600)).await;
    assert!(switchboard.is_quiet(), "a notification was sent again");
    harness.stop().await;
}

/// An attempt's start, end, outcome and error.
type AttemptLine<'a> = (
    Timestamp,
    Option<Timestamp>,
    Option<&'a str>,
    Option<&'a str>,
);

const HTTP_TRAINER: &str = r#"
[[rules]]
name = "acc-low"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }
actions = ["retrain"]

[[trainers]]
kind = "http"
url = "http://airflow.test/api/v1/dags/retrain/dagRuns"
timeout_secs = 600
max_attempts = 3
retry_delay_secs = 30
"#;

#[tokio::test(start_paused = true)]
async fn an_http_jobs_attempts_time_out_at_their_deadline_and_are_retried_by_policy() {
    let origin = Instant::now();
    let (harness, mut switchboard) =
        start(HTTP_TRAINER, Arc::new(TokioClock::new(start_time()))).await;
    harness.ingest(&[accuracy(0, 0.95), accuracy(1, 0.5)]).await;
    let secs = Duration::from_secs;

    // Attempt 1 is accepted, and nobody completes it: it times out at its deadline (600 s),
    // and the next starts retry_delay_secs (30) later.
    let first = switchboard.next().await;
    assert_eq!(first.at, origin);
    let job_id = first.header(IDEMPOTENCY_HEADER).unwrap().to_string();
    first.answer(200);
    // Attempt 2's POST is refused: it fails at once; the wait doubles (60 s).
    let second = switchboard.next().await;
    assert_eq!(second.at, origin + secs(600 + 30));
    assert_eq!(second.header(IDEMPOTENCY_HEADER), Some(job_id.as_str()));
    second.answer(503);
    // Attempt 3, the last one allowed, is accepted and times out: the job is over.
    let third = switchboard.next().await;
    assert_eq!(third.at, origin + secs(630 + 60));
    third.answer(202);

    let (job, attempts) = harness.finished_job().await;
    assert_eq!(job.id, job_id);
    assert_eq!(job.state.as_str(), "timed_out", "{job:?}");
    let log: Vec<AttemptLine> = attempts
        .iter()
        .map(|attempt| {
            (
                attempt.started_at,
                attempt.finished_at,
                attempt.outcome.as_deref(),
                attempt.error.as_deref(),
            )
        })
        .collect();
    let at = |offset: u64| wall(origin, origin + secs(offset));
    let timed_out = Some("no completion came before the job's time limit");
    assert_eq!(
        log,
        [
            (at(0), Some(at(600)), Some("timed_out"), timed_out),
            (
                at(630),
                Some(at(630)),
                Some("failed"),
                Some("POST to the trainer's URL: the target answered 503 Service Unavailable")
            ),
            (at(690), Some(at(1_290)), Some("timed_out"), timed_out),
        ]
    );
    assert_eq!(job.finished_at, Some(at(1_290)));
    let_pass(secs(86_400)).await;
    assert!(switchboard.is_quiet(), "a fourth attempt was made");
    harness.stop().await;
}
