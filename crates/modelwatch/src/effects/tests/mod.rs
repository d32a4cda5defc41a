//! The effects in process: the runtime (writer thread, store in a temporary directory) and
//! the effects started as `serve` starts them, driven by a test that ingests events and awaits
//! what the outbox records.
//!
//! - `answers.rs`: how a webhook's or trainer's answer is recorded (redirects are not followed,
//!   the target's body is never kept), against real HTTP receivers on loopback, in real time.
//! - `retries.rs`: retries, backoff, time limits and deadlines on tokio's paused clock, with
//!   the requests going to a `switchboard.rs` instead of sockets.
//! - `commands.rs`: a command trainer's time limit, on the paused clock with a real process.
//! - `logs.rs`: what the effects log for an operator (ids, outcomes, reasons; no secret).
//!
//! Every wait is for an outcome (a commit, a request), bounded by a watchdog in real time so
//! that a missing outcome fails the test instead of hanging it.
//!
//! On a paused clock (`#[tokio::test(start_paused = true)]`) tokio moves time to the next
//! timer whenever the runtime has nothing to do, also while a task waits on a socket or on
//! another thread (tokio issue 4522): then a retry would fire while a commit is under way.
//! So nothing the effects or these tests wait for is outside tokio's view: the writer thread's
//! answers and the store's reads are awaited on blocking threads (tokio holds a paused clock
//! still while a blocking task runs), and requests go to the switchboard, not to sockets. Time
//! then moves only when every task waits on a timer, straight to the earliest one, and wall
//! time ([`TokioClock`](crate::clock::TokioClock)) moves with it: every attempt happens at
//! exactly the time its schedule says.

mod answers;
mod commands;
mod logs;
mod retries;
mod switchboard;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use modelwatch_engine::config::parse_config;
use modelwatch_engine::{Config, Format, WireParser};
use modelwatch_store::{Delivery, DeliveryFilter, Job, JobAttempt, Page, Store};
use tokio::sync::{oneshot, watch};

use super::{Effects, EffectsSetup, Prepared};
use crate::clock::Clock;
use crate::runtime::writer::{Message, Request};
use crate::runtime::{Retention, Runtime, RuntimeOptions, Status};

/// How long, in real time, a test may wait for any one outcome.
pub(super) const WATCHDOG: Duration = Duration::from_secs(60);

/// An accuracy event of model `fraud` (version 1, instance a) at second `second` of a fixed
/// minute.
pub(super) fn accuracy(second: u32, value: f64) -> String {
    serde_json::json!({
        "model": {"name": "fraud", "version": "1", "instance": "a"},
        "timestamp": format!("2026-11-23T08:00:{second:02}Z"),
        "metric": "accuracy",
        "value": value,
    })
    .to_string()
}

/// A runtime and its effects on a temporary store.
pub(super) struct Harness {
    /// The store's directory, removed when the harness goes.
    _dir: tempfile::TempDir,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    runtime: Option<Runtime>,
    effects: Effects,
    outbox: watch::Receiver<u64>,
    reader: Arc<Mutex<Store>>,
}

impl Harness {
    /// Starts the runtime on `config` (TOML) with a store in a temporary directory and the
    /// effects with `prepare`'s secrets and client, and waits for recovery to end.
    pub(super) async fn start(
        config: &str,
        clock: Arc<dyn Clock>,
        prepare: impl FnOnce(&Config) -> Prepared,
    ) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let config = Arc::new(
            parse_config(config)
                .unwrap_or_else(|errors| panic!("{errors}\n{config}"))
                .config,
        );
        let prepared = prepare(&config);
        let data = dir.path().join("data");
        // No periodic retention: its timer would be one more thing for a paused clock to jump to.
        let options = RuntimeOptions {
            retention: Retention {
                keep: None,
                ..Retention::default()
            },
            ..RuntimeOptions::default()
        };
        let runtime = Runtime::start(config.clone(), &data, clock.clone(), &options).unwrap();
        let queue = runtime.queue();
        let effects = Effects::start(
            prepared,
            EffectsSetup {
                config: config.clone(),
                reader: Store::open(&data).unwrap(),
                queue: queue.downgrade(),
                outbox: runtime.outbox(),
                clock: clock.clone(),
                link_base: "http://modelwatch.test".to_string(),
                metrics: runtime.metrics().clone(),
                mark_sends: false,
            },
            queue.status(),
        );
        let mut status = queue.status();
        off_runtime(move || {
            // The writer is a thread: wait for it off the runtime.
            while matches!(*status.borrow_and_update(), Status::Recovering) {
                tokio::runtime::Handle::current()
                    .block_on(status.changed())
                    .unwrap();
            }
        })
        .await;
        assert!(
            queue.is_ready(),
            "recovery failed: {:?}",
            *queue.status().borrow()
        );
        let outbox = runtime.outbox();
        Harness {
            reader: Arc::new(Mutex::new(Store::open(&data).unwrap())),
            _dir: dir,
            config,
            clock,
            runtime: Some(runtime),
            effects,
            outbox,
        }
    }

    /// Commits events (JSON objects, stamped with the clock when they have no time) and waits
    /// for the commit.
    pub(super) async fn ingest(&self, events: &[String]) {
        let text = events.join("\n");
        let mut inputs = WireParser::new(&self.config.catalog)
            .parse_batch(&text, Format::Ndjson)
            .unwrap();
        let now = self.clock.now();
        for input in &mut inputs {
            input.stamp_if_missing(now);
        }
        let (reply, answer) = oneshot::channel();
        self.runtime()
            .queue()
            .try_send(Message::Events(Request {
                log_seq: None,
                idempotency_key: None,
                inputs,
                effects: Vec::new(),
                received_at: now,
                actor: None,
                reply,
            }))
            .unwrap();
        off_runtime(move || answer.blocking_recv().unwrap().unwrap()).await;
    }

    /// Reads the store.
    pub(super) async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Store) -> T + Send + 'static,
    ) -> T {
        let reader = self.reader.clone();
        off_runtime(move || read(&reader.lock().unwrap())).await
    }

    /// Waits until `probe` finds what it looks for in the store, reading it again after each
    /// commit that wrote outputs or effects.
    pub(super) async fn wait_for<T: Send + 'static>(
        &self,
        what: &str,
        probe: impl Fn(&Store) -> Option<T> + Send + Sync + 'static,
    ) -> T {
        let probe = Arc::new(probe);
        let mut outbox = self.outbox.clone();
        let waiting = async {
            loop {
                outbox.borrow_and_update();
                let probe = probe.clone();
                if let Some(found) = self.read(move |store| probe(store)).await {
                    return found;
                }
                outbox
                    .changed()
                    .await
                    .unwrap_or_else(|_| panic!("the writer stopped before {what}"));
            }
        };
        within_watchdog(what, waiting).await
    }

    /// Waits until no delivery is pending, then returns them all, oldest first.
    pub(super) async fn settled_deliveries(&self) -> Vec<Delivery> {
        self.wait_for("every delivery is over", |store| {
            let deliveries = all_deliveries(store);
            let over = !deliveries.is_empty()
                && deliveries
                    .iter()
                    .all(|delivery| delivery.state.as_str() != "pending");
            over.then_some(deliveries)
        })
        .await
    }

    /// Waits until the only job is over, then returns it with its attempts.
    pub(super) async fn finished_job(&self) -> (Job, Vec<JobAttempt>) {
        self.wait_for("the job ends", |store| {
            let jobs = store.jobs(&Default::default(), &Page::default()).unwrap();
            let [job] = jobs.items.as_slice() else {
                return None;
            };
            if !job.state.is_final() {
                return None;
            }
            let attempts = store.job_attempts(&job.id).unwrap();
            Some((job.clone(), attempts))
        })
        .await
    }

    /// How the API reaches the job runner.
    pub(super) fn jobs(&self) -> &super::JobControl {
        &self.effects.jobs
    }

    fn runtime(&self) -> &Runtime {
        self.runtime.as_ref().unwrap()
    }

    /// Stops the effects and the writer, and waits for the writer's last commit.
    pub(super) async fn stop(mut self) {
        self.effects.abort();
        let runtime = self.runtime.take().unwrap();
        off_runtime(move || runtime.join().unwrap()).await;
    }
}

fn all_deliveries(store: &Store) -> Vec<Delivery> {
    let mut deliveries = store
        .deliveries(&DeliveryFilter::default(), &Page::default())
        .unwrap()
        .items;
    deliveries.reverse();
    deliveries
}

/// Runs `work` on a blocking thread: a paused clock stands still while it runs (tokio's
/// blocking tasks hold its auto-advance back), which is what waiting on the writer thread
/// needs.
pub(super) async fn off_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.unwrap()
}

/// `future`, or a panic naming `what` when it takes longer than [`WATCHDOG`] in real time
/// (a paused clock does not move a tokio timer, so the watchdog is a thread of its own).
pub(super) async fn within_watchdog<T>(what: &str, future: impl Future<Output = T>) -> T {
    let (expired, mut fired) = watch::channel(false);
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(WATCHDOG) {
            let _ = expired.send(true);
        }
    });
    let result = tokio::select! {
        result = future => result,
        _ = fired.wait_for(|fired| *fired) => {
            panic!("{what}: did not happen within {} s of real time", WATCHDOG.as_secs())
        }
    };
    drop(done);
    let _ = watchdog.join();
    result
}

/// One request a [`Target`] read.
#[derive(Debug)]
pub(super) struct Seen {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) headers: axum::http::HeaderMap,
    pub(super) body: String,
}

/// An HTTP receiver on a loopback port, in process: answers each request as its script says
/// and hands it over a channel.
pub(super) struct Target {
    /// `http://127.0.0.1:PORT`.
    pub(super) url: String,
    requests: tokio::sync::mpsc::Receiver<Seen>,
    server: tokio::task::JoinHandle<()>,
}

impl Target {
    /// Serves on a free loopback port, answering every request with `answer`.
    pub(super) async fn start(
        answer: impl Fn(&Seen) -> axum::response::Response + Clone + Send + Sync + 'static,
    ) -> Target {
        use axum::extract::Request as HttpRequest;
        let (sender, requests) = tokio::sync::mpsc::channel(64);
        let router = axum::Router::new().fallback(move |request: HttpRequest| {
            let answer = answer.clone();
            let sender = sender.clone();
            async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                let seen = Seen {
                    method: parts.method.to_string(),
                    path: parts.uri.path().to_string(),
                    headers: parts.headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                };
                let response = answer(&seen);
                let _ = sender.send(seen).await;
                response
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Target {
            url,
            requests,
            server,
        }
    }

    /// The next request.
    pub(super) async fn next(&mut self) -> Seen {
        within_watchdog("a request reaches the target", self.requests.recv())
            .await
            .unwrap()
    }

    /// True when no request is waiting to be read.
    pub(super) fn is_quiet(&mut self) -> bool {
        self.requests.try_recv().is_err()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The events logged on this thread (the runtime's, in a `#[tokio::test]`) while it lives, as
/// the JSON objects `serve --log-format json` writes, debug level and up.
///
/// One subscriber for the whole test binary, installed by the first capture, writes each event
/// into the capture of the thread that logs it (or nowhere). A subscriber per test
/// (`set_default`) would race: tracing caches per call site whether anyone listens, and a call
/// site first reached by a test without a subscriber while another registers its own can stay
/// silent for good.
pub(super) struct Logs {
    buffer: Arc<Mutex<Vec<u8>>>,
}

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<Arc<Mutex<Vec<u8>>>>> =
        const { std::cell::RefCell::new(None) };
}

/// Writes into the capture of the calling thread, if it has one.
struct ThreadCapture;

impl std::io::Write for ThreadCapture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|capture| {
            if let Some(buffer) = &*capture.borrow() {
                buffer.lock().unwrap().extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Starts capturing this thread's events.
    pub(super) fn capture() -> Logs {
        static INSTALLED: std::sync::Once = std::sync::Once::new();
        INSTALLED.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .json()
                .with_max_level(tracing::Level::DEBUG)
                .with_writer(|| ThreadCapture)
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
        });
        let buffer = Arc::new(Mutex::new(Vec::new()));
        CAPTURE.with(|capture| *capture.borrow_mut() = Some(buffer.clone()));
        Logs { buffer }
    }
    /// Everything written so far.
    pub(super) fn text(&self) -> String {
        String::from_utf8(self.buffer.lock().unwrap().clone()).unwrap()
    }

    /// The events whose message is `message`: their level and fields.
    pub(super) fn events(&self, message: &str) -> Vec<(String, serde_json::Value)> {
        self.text()
            .lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
            .filter(|event| event["fields"]["message"] == message)
            .map(|event| {
                (
                    event["level"].as_str().unwrap().to_string(),
                    event["fields"].clone(),
                )
            })
            .collect()
    }
}

impl Drop for Logs {
    fn drop(&mut self) {
        CAPTURE.with(|capture| *capture.borrow_mut() = None);
    }
}
