//! A load generator for `modelwatch serve`: NDJSON batches, single-event requests with their
//! latencies, many series, or predictions and labels (`traffic.rs`), sent over plain HTTP/1.1
//! keep-alive connections to a loopback address, bounded in requests and in time.
//!
//! The client is its own, minimal one (`Client`: whole requests built before the clock, one
//! write each, answers with a Content-Length), not hyper's: on the two cores serve shares with
//! it, hyper's client cost about 2 us more CPU a request and lowered the single-event figures
//! by about 12 % (BENCHMARKS.md, "The load generator's client").
//!
//! ```sh
//! cargo build --release -p modelwatch --example load --bin modelwatch
//! target/release/modelwatch serve --data /tmp/mw-bench &
//! target/release/examples/load batch  --connections 16 --events 1000 --requests 300 --server-pid $!
//! target/release/examples/load single --connections 64 --requests 200000 --duration 20
//! target/release/examples/load series --series 100000 --server-pid $!
//! # predictions and labels need a [[models]] entry: serve --config examples/load/traffic.toml
//! target/release/examples/load predictions --connections 4 --events 1000 --requests 300
//! target/release/examples/load labels --connections 4 --events 1000 --requests 300
//! ```
//!
//! BENCHMARKS.md ("serve: durable ingest", "Predictions and labels") has the figures and the
//! exact commands.
//!
//! Every event carries the same five metrics (`accuracy`, `precision`, `recall`, `f1`,
//! `latency_ms`; the engine derives a sixth series, `macro_score`), valid for the built-in
//! rules, with values drawn from a fixed generator (SplitMix64) and event timestamps that
//! advance by `--step-us` per event from `--start`. Event `k` belongs to instance
//! `k % instances`, where `instances = ceil(series / 6)`, spread over 100 models. All request
//! bodies are built before the clock starts, so the client spends its time on the sockets.
//!
//! The summary counts requests, events and metric values accepted (202), requests per second,
//! latency percentiles (write of the request to the last byte of the answer), and refusals by
//! status: 503 (push-back from a full queue) apart from every other failure. The exit status
//! is 1 when any request failed otherwise (another status, a broken connection) and 2 for bad
//! arguments.

// An example binary reports on the terminal; the workspace denies printing in library code.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod client;
mod report;
mod traffic;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use modelwatch::engine::Timestamp;

use client::Client;
use report::{Report, Unit, memory};
use traffic::TrafficArgs;

/// The metrics of every event, sorted by name as the engine keeps them.
const METRICS: [&str; 5] = ["accuracy", "f1", "latency_ms", "precision", "recall"];

/// Series the engine keeps per instance: the five metrics and the derived `macro_score`.
const SERIES_PER_INSTANCE: u64 = METRICS.len() as u64 + 1;

/// Models the instances are spread over.
const MODELS: u64 = 100;

#[derive(Debug, Parser)]
#[command(about = "Load generator for `modelwatch serve` (loopback only)")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// NDJSON bodies of --events events each, over --connections connections.
    Batch {
        #[command(flatten)]
        common: Common,
        /// Events per request.
        #[arg(long, default_value_t = 1_000)]
        events: usize,
    },
    /// One event per request (application/json), over --connections connections.
    Single {
        #[command(flatten)]
        common: Common,
    },
    /// Creates --series series: every instance gets --rounds events, sent in NDJSON batches of
    /// --events; then counts the series on GET /metrics and reads the server's memory.
    Series {
        #[command(flatten)]
        common: Common,
        /// Events per request.
        #[arg(long, default_value_t = 1_000)]
        events: usize,
        /// Events per instance.
        #[arg(long, default_value_t = 1)]
        rounds: u64,
    },
    /// NDJSON bodies of --events predictions each, every one with 20 features and a score, for
    /// the `[[models]]` entry of `examples/load/traffic.toml` (--series and --incidents do not
    /// apply).
    Predictions {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        traffic: TrafficArgs,
    },
    /// Sends the predictions the labels name before the clock starts, then NDJSON bodies of
    /// --events labels each; checks on GET /v1/models/{name} that every label joined.
    Labels {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        traffic: TrafficArgs,
    },
}

#[derive(Debug, Args)]
struct Common {
    /// The server (a loopback address).
    #[arg(long, default_value = "127.0.0.1:8780")]
    addr: SocketAddr,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Most requests to send (batch, single; series computes its own).
    #[arg(long, default_value_t = 600)]
    requests: usize,
    /// Most seconds to send for; requests in flight are still answered.
    #[arg(long, default_value_t = 60.0)]
    duration: f64,
    /// Distinct series (model, version, instance, metric) the events are spread over.
    #[arg(long, default_value_t = 1_200)]
    series: u64,
    /// Time of the first event (RFC 3339); a run prints the "next start" that follows it.
    #[arg(long, default_value = "2026-11-23T00:00:00Z")]
    start: String,
    /// Event time between consecutive events, in microseconds.
    #[arg(long, default_value_t = 1_000)]
    step_us: u64,
    /// Events per thousand with degraded values (alerts, retrain decisions).
    #[arg(long, default_value_t = 0)]
    incidents: u64,
    /// Worker threads of the client's runtime.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// The server's process id: its VmRSS and VmHWM are printed at the end.
    #[arg(long)]
    server_pid: Option<u32>,
    /// An environment variable holding a bearer token (ingest scope) to send.
    #[arg(long, value_name = "NAME")]
    token_env: Option<String>,
}

fn main() {
    let cli = Cli::parse();
    match run(cli) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(message) => {
            eprintln!("load: {message}");
            std::process::exit(1);
        }
    }
}

/// The plan of a run: the requests, whole, and what the summary reports.
struct Plan {
    requests: Vec<Vec<u8>>,
    events_per_request: usize,
    next_start: Timestamp,
    /// What the requests carry, for the summary.
    unit: Unit,
}

fn run(cli: Cli) -> Result<bool, String> {
    let common = match &cli.mode {
        Mode::Batch { common, .. }
        | Mode::Single { common }
        | Mode::Series { common, .. }
        | Mode::Predictions { common, .. }
        | Mode::Labels { common, .. } => common,
    };
    if !common.addr.ip().is_loopback() {
        return Err(format!(
            "{} is not a loopback address; this generator only loads a local server",
            common.addr
        ));
    }
    if !(common.duration > 0.0 && common.duration.is_finite()) {
        return Err("--duration must be a positive number of seconds".to_string());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(common.threads.max(1))
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))?;
    let (plan, count_series) = match &cli.mode {
        Mode::Batch { events, .. } => (plan(common, common.requests, *events, true)?, false),
        Mode::Single { .. } => (plan(common, common.requests, 1, false)?, false),
        Mode::Series { events, rounds, .. } => {
            let total = instances(common.series).saturating_mul(*rounds);
            let events = (*events).max(1);
            let requests = usize::try_from(total.div_ceil(events as u64))
                .map_err(|_| "too many requests".to_string())?;
            (plan(common, requests, events, true)?, true)
        }
        Mode::Predictions { traffic, .. } => {
            let plan = traffic::predictions(common, traffic)?;
            return runtime.block_on(traffic::run(common, traffic, plan));
        }
        Mode::Labels { traffic, .. } => {
            let plan = traffic::labels(common, traffic)?;
            return runtime.block_on(traffic::run(common, traffic, plan));
        }
    };
    println!(
        "plan: {} requests of {} events x {} metrics to {} over {} connections, {} instances ({} series), at most {} s",
        plan.requests.len(),
        plan.events_per_request,
        METRICS.len(),
        common.addr,
        common.connections.max(1),
        instances(common.series),
        instances(common.series) * SERIES_PER_INSTANCE,
        common.duration,
    );
    let plan = Arc::new(plan);
    let mut report = runtime.block_on(drive(
        common,
        plan.clone(),
        Duration::from_secs_f64(common.duration),
    ))?;
    let ok = report.print(plan.events_per_request, &plan.unit);
    println!("next start: {}", plan.next_start);
    print_memory(common, "after the load");
    if count_series {
        match runtime.block_on(count_metrics_series(common)) {
            Ok(line) => println!("server: {line}"),
            Err(message) => println!("server: cannot count series on /metrics: {message}"),
        }
        print_memory(common, "after GET /metrics");
    }
    Ok(ok)
}

/// Prints the server's VmRSS and VmHWM when --server-pid names it.
fn print_memory(common: &Common, when: &str) {
    if let Some(pid) = common.server_pid {
        match memory(pid) {
            Ok(line) => println!("server memory {when} (pid {pid}): {line}"),
            Err(message) => println!("server memory {when} (pid {pid}): {message}"),
        }
    }
}

fn instances(series: u64) -> u64 {
    series.div_ceil(SERIES_PER_INSTANCE).max(1)
}

/// Builds every request of the run before anything is sent.
fn plan(common: &Common, requests: usize, events: usize, ndjson: bool) -> Result<Plan, String> {
    let start =
        Timestamp::parse_rfc3339(&common.start).map_err(|message| format!("--start: {message}"))?;
    let instances = instances(common.series);
    let step = i64::try_from(common.step_us.saturating_mul(1_000))
        .map_err(|_| "--step-us is too large".to_string())?;
    let events = events.max(1);
    let head = post_head(common, ndjson)?;
    let mut out = Vec::with_capacity(requests);
    let mut body = String::new();
    let mut k: u64 = 0;
    for _ in 0..requests {
        body.clear();
        for _ in 0..events {
            let at = Timestamp::from_nanos(
                start
                    .as_nanos()
                    .saturating_add(step.saturating_mul(k as i64)),
            );
            write_event(&mut body, k, k % instances, at, common.incidents);
            k += 1;
        }
        out.push(post(&head, &body));
    }
    let next_start = Timestamp::from_nanos(
        start
            .as_nanos()
            .saturating_add(step.saturating_mul(k as i64)),
    );
    Ok(Plan {
        requests: out,
        events_per_request: events,
        next_start,
        unit: Unit::EVENTS,
    })
}

/// The head of every `POST /v1/events` of a run, but its Content-Length.
fn post_head(common: &Common, ndjson: bool) -> Result<String, String> {
    let content_type = if ndjson {
        "application/x-ndjson"
    } else {
        "application/json"
    };
    Ok(format!(
        "POST /v1/events HTTP/1.1\r\nHost: {}\r\nContent-Type: {content_type}\r\n{}",
        common.addr,
        authorization(common)?
    ))
}

/// The Authorization header line of --token-env, or nothing.
fn authorization(common: &Common) -> Result<String, String> {
    match &common.token_env {
        None => Ok(String::new()),
        Some(name) => {
            let token =
                std::env::var(name).map_err(|error| format!("--token-env {name}: {error}"))?;
            Ok(format!("Authorization: Bearer {}\r\n", token.trim()))
        }
    }
}

/// A whole request: `head` (from [`post_head`]), its Content-Length and `body`.
fn post(head: &str, body: &str) -> Vec<u8> {
    let mut request = format!("{head}Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    request.extend_from_slice(body.as_bytes());
    request
}

/// SplitMix64: the value stream of event `k`.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A uniform number in [-1, 1) from the generator's state.
fn uniform(state: &mut u64) -> f64 {
    *state = splitmix(*state);
    ((*state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

fn write_event(out: &mut String, k: u64, instance: u64, at: Timestamp, incidents: u64) {
    use std::fmt::Write as _;
    let mut state = k;
    let incident = incidents > 0 && splitmix(k ^ 0x5EED) % 1_000 < incidents;
    let (quality, latency) = if incident {
        (0.70, 260.0)
    } else {
        (0.95, 40.0)
    };
    let accuracy = quality + 0.02 * uniform(&mut state);
    let precision = quality - 0.01 + 0.02 * uniform(&mut state);
    let recall = quality + 0.02 * uniform(&mut state);
    let f1 = quality - 0.005 + 0.02 * uniform(&mut state);
    let latency_ms = latency + 5.0 * uniform(&mut state);
    let model = instance % MODELS;
    let _ = writeln!(
        out,
        r#"{{"model":{{"name":"model-{model}","version":"1.0.0","instance":"pod-{instance}"}},"timestamp":"{at}","metrics":{{"accuracy":{accuracy:.4},"precision":{precision:.4},"recall":{recall:.4},"f1":{f1:.4},"latency_ms":{latency_ms:.2}}}}}"#
    );
}

#[allow(clippy::disallowed_methods)] // the generator measures wall time; it is not the service
fn now() -> Instant {
    Instant::now()
}

/// Sends the plan's requests over --connections connections for at most `duration`.
async fn drive(common: &Common, plan: Arc<Plan>, duration: Duration) -> Result<Report, String> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..common.connections.max(1) {
        let plan = plan.clone();
        let next = next.clone();
        let addr = common.addr;
        tasks.push(tokio::spawn(async move {
            connection(addr, &plan, &next, deadline).await
        }));
    }
    let mut report = Report::default();
    // A request in flight at the deadline gets a grace period, then the run is cut off.
    let cutoff = tokio::time::Instant::from_std(deadline + Duration::from_secs(30));
    for task in tasks {
        match tokio::time::timeout_at(cutoff, task).await {
            Ok(Ok(part)) => report.merge(part),
            Ok(Err(error)) => return Err(format!("a connection task failed: {error}")),
            Err(_) => {
                report.broken += 1;
                report
                    .first_broken
                    .get_or_insert_with(|| "no answer 30 s after the deadline".to_string());
            }
        }
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// One keep-alive connection taking requests from the plan until it or the time runs out.
async fn connection(
    addr: SocketAddr,
    plan: &Plan,
    next: &AtomicUsize,
    deadline: Instant,
) -> Report {
    let mut report = Report::default();
    let mut client: Option<Client> = None;
    loop {
        if now() >= deadline {
            break;
        }
        let index = next.fetch_add(1, Ordering::Relaxed);
        let Some(request) = plan.requests.get(index) else {
            break;
        };
        if client.is_none() {
            match Client::connect(addr).await {
                Ok(connected) => client = Some(connected),
                Err(error) => {
                    report.broken += 1;
                    report
                        .first_broken
                        .get_or_insert(format!("connect: {error}"));
                    break;
                }
            }
        }
        let Some(open) = client.as_mut() else { break };
        let sent = now();
        match open.exchange(request).await {
            Ok(answer) => {
                report.latencies.push(sent.elapsed().as_nanos() as u64);
                match answer.status {
                    202 => {
                        report.accepted += 1;
                        report.events += plan.events_per_request as u64;
                    }
                    503 => report.pushed_back += 1,
                    status => {
                        let entry = report
                            .failed
                            .entry(status)
                            .or_insert_with(|| (0, answer.body.chars().take(300).collect()));
                        entry.0 += 1;
                    }
                }
                if answer.close {
                    client = None;
                }
            }
            Err(error) => {
                report.broken += 1;
                report.first_broken.get_or_insert(error);
                client = None;
            }
        }
    }
    report
}

/// `GET /metrics`, the line that says how many series the engine holds.
async fn count_metrics_series(common: &Common) -> Result<String, String> {
    let mut client = Client::connect(common.addr)
        .await
        .map_err(|error| error.to_string())?;
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        common.addr
    );
    let answer = client.exchange(request.as_bytes()).await?;
    if answer.status != 200 {
        return Err(format!("status {}", answer.status));
    }
    answer
        .body
        .lines()
        .find(|line| line.starts_with("# modelwatch exports"))
        .map(|line| line.trim_start_matches("# ").to_string())
        .ok_or_else(|| "no series line".to_string())
}
