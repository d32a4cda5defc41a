//! A transport for paused-time tests: every request the effects make is handed to the test as
//! a [`Call`] over a channel, with the tokio time it was made at, and the test answers it (a
//! status, a failure) or drops it, which leaves the request hanging until the effect's own
//! time limit. No socket is involved, so tokio's paused clock moves only when every task waits
//! on a timer, never while a request is under way.

use std::sync::Arc;
use std::time::Duration;

use modelwatch_engine::Config;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::{Harness, within_watchdog};
use crate::clock::Clock;
use crate::effects::transport::{Post, Reply, Sending, Transport};
use crate::effects::{Prepared, read_secrets};

/// The effects' end: what they send through.
#[derive(Debug)]
struct Line {
    calls: mpsc::Sender<Call>,
}

impl Transport for Line {
    fn send(&self, post: Post) -> Sending<'_> {
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            let call = Call {
                post,
                at: Instant::now(),
                reply,
            };
            if self.calls.send(call).await.is_err() {
                return Err("the switchboard is gone".to_string());
            }
            match answer.await {
                Ok(result) => result,
                // Dropped unanswered: the request hangs until the caller's time limit.
                Err(_) => std::future::pending().await,
            }
        })
    }
}

/// The test's end: the requests, in the order they were made.
pub(super) struct Switchboard {
    calls: mpsc::Receiver<Call>,
}

/// A harness whose effects send through a switchboard, and the switchboard.
pub(super) async fn start(config: &str, clock: Arc<dyn Clock>) -> (Harness, Switchboard) {
    let mut switchboard = None;
    let harness = Harness::start(config, clock, |config| {
        let (prepared, board) = prepared(config);
        switchboard = Some(board);
        prepared
    })
    .await;
    (harness, switchboard.unwrap())
}

/// The effects' secrets with a switchboard as their transport, and the switchboard.
fn prepared(config: &Config) -> (Prepared, Switchboard) {
    let (sender, calls) = mpsc::channel(64);
    let prepared = Prepared {
        secrets: read_secrets(config).unwrap(),
        transport: Arc::new(Line { calls: sender }),
    };
    (prepared, Switchboard { calls })
}

impl Switchboard {
    /// The next request, once it is made.
    pub(super) async fn next(&mut self) -> Call {
        within_watchdog("a request is made", self.calls.recv())
            .await
            .unwrap()
    }

    /// True when no request is waiting to be answered.
    pub(super) fn is_quiet(&mut self) -> bool {
        self.calls.try_recv().is_err()
    }
}

/// One request, waiting for the test's answer.
pub(super) struct Call {
    pub(super) post: Post,
    /// The tokio time it was made at.
    pub(super) at: Instant,
    reply: oneshot::Sender<Result<Reply, String>>,
}

impl Call {
    /// The value of a header (names in lower case).
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.post
            .headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Answers with `status`.
    pub(super) fn answer(self, status: u16) {
        self.reply_with(Ok(Reply {
            status,
            retry_after: None,
        }));
    }

    /// Answers with `status` and a `Retry-After` of `wait`.
    pub(super) fn answer_retry_after(self, status: u16, wait: Duration) {
        self.reply_with(Ok(Reply {
            status,
            retry_after: Some(wait),
        }));
    }

    /// Fails as a request that got no answer does, saying `why`.
    pub(super) fn fail(self, why: &str) {
        self.reply_with(Err(why.to_string()));
    }

    fn reply_with(self, result: Result<Reply, String>) {
        // The effect may have given up on it (its time limit): nothing to answer then.
        let _ = self.reply.send(result);
    }
}
