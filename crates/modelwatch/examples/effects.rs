//! A benchmark of what `modelwatch serve` does about its alerts: notifications delivered per
//! second to webhook receivers, and the delay from the request that fires an alert to the start
//! of the retrain job it asks for. It runs `modelwatch serve` as a child process on a loopback
//! port and a temporary data directory, with a config of its own, and a webhook receiver
//! in-process; bounded in events and in time, and it stops serve when done.
//!
//! ```sh
//! cargo build --release -p modelwatch --example effects --bin modelwatch
//! target/release/examples/effects notify --notifiers 1 --events 20000
//! target/release/examples/effects jobs --models 200 --rate 20
//! ```
//!
//! BENCHMARKS.md ("serve: acting on alerts") has the figures and the exact commands.
//!
//! - `notify`: `--events` accuracy events over 10 instances of one model, each the opposite
//!   side of a threshold from its instance's last one, so every event is an alert transition
//!   that every one of `--notifiers` webhooks is told of. They are sent in NDJSON batches; the
//!   run ends when no delivery is pending. The rate is deliveries received (answered 200) over
//!   the time from the first request sent to the last delivery received.
//! - `jobs`: `--models` models get one failing accuracy event each, `--rate` per second (0: all
//!   in one request); each fires an alert whose retrain decision queues a job that a command
//!   trainer (`echo`) runs. The delay of a job is its `started_at` minus its `created_at` (the
//!   time serve received the event that fired the alert), both on serve's clock.

// An example binary reports on the terminal; the workspace denies printing in library code.
#![allow(clippy::print_stdout, clippy::print_stderr)]
// It measures wall time; it is not the service, whose clock is injected.
#![allow(clippy::disallowed_methods)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::HeaderMap;
use axum::routing::post;
use clap::{Parser, Subcommand};
use modelwatch::engine::Timestamp;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

#[derive(Debug, Parser)]
#[command(about = "Benchmark of serve's notifications and jobs (loopback only)")]
struct Cli {
    /// The modelwatch binary to run as `serve`.
    #[arg(long, global = true, default_value = "target/release/modelwatch")]
    modelwatch: PathBuf,
    /// Give up after this many seconds.
    #[arg(long, global = true, default_value_t = 300)]
    duration: u64,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Notifications per second to webhook receivers.
    Notify {
        /// Webhook notifiers, each told of every alert transition.
        #[arg(long, default_value_t = 1)]
        notifiers: usize,
        /// Events, each an alert transition.
        #[arg(long, default_value_t = 20_000)]
        events: usize,
        /// Events per request.
        #[arg(long, default_value_t = 500)]
        batch: usize,
    },
    /// The delay from a firing alert to the start of its retrain job.
    Jobs {
        /// Models, each with one alert and one job.
        #[arg(long, default_value_t = 200)]
        models: usize,
        /// Events per second; 0 sends them all in one request.
        #[arg(long, default_value_t = 20)]
        rate: u32,
        /// Jobs that may run at once (`[jobs] max_concurrent`).
        #[arg(long, default_value_t = 4)]
        max_concurrent: usize,
    },
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            std::process::exit(1);
        }
    };
    if let Err(message) = runtime.block_on(run(cli)) {
        eprintln!("effects: {message}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(cli.duration);
    let dir = tempfile::tempdir().map_err(|error| format!("temporary directory: {error}"))?;
    match cli.mode {
        Mode::Notify {
            notifiers,
            events,
            batch,
        } => {
            notify(
                &cli.modelwatch,
                dir.path(),
                deadline,
                notifiers,
                events,
                batch,
            )
            .await
        }
        Mode::Jobs {
            models,
            rate,
            max_concurrent,
        } => {
            jobs(
                &cli.modelwatch,
                dir.path(),
                deadline,
                models,
                rate,
                max_concurrent,
            )
            .await
        }
    }
}

/// A running `modelwatch serve`.
struct Serve {
    child: Child,
    base: String,
    client: reqwest::Client,
}

impl Serve {
    /// Starts serve on `config` and waits until it is ready.
    async fn start(binary: &Path, dir: &Path, config: &str) -> Result<Serve, String> {
        let file = dir.join("config.toml");
        std::fs::write(&file, config).map_err(|error| format!("writing the config: {error}"))?;
        let mut child = Command::new(binary)
            .arg("serve")
            .arg("--config")
            .arg(&file)
            .arg("--data")
            .arg(dir.join("data"))
            .args(["--listen", "127.0.0.1:0"])
            // The events are dated: take them whatever the day.
            .args(["--retention", "off", "--max-future", "off"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| format!("cannot run {}: {error}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("serve has no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut base = None;
        while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
            if let Some(address) = line.strip_prefix("listening on ") {
                base = Some(address.to_string());
            }
            if line.starts_with("ready") {
                break;
            }
        }
        let base = base.ok_or("serve stopped before it listened")?;
        // Keep reading serve's output so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Serve {
            child,
            base,
            client: modelwatch::effects::http::client().map_err(|e| e.to_string())?,
        })
    }

    async fn post(&self, path: &str, content_type: &str, body: String) -> Result<(), String> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .map_err(|error| format!("POST {path}: {error}"))?;
        if response.status().as_u16() != 202 {
            return Err(format!("POST {path}: {}", response.status()));
        }
        Ok(())
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(|error| format!("GET {path}: {error}"))?
            .json()
            .await
            .map_err(|error| format!("GET {path}: {error}"))
    }

    /// Stops serve gracefully (SIGTERM) and waits for it.
    async fn stop(mut self) -> Result<(), String> {
        if let Some(pid) = self.child.id() {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).map_err(|e| e.to_string())?);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
        let status = self.child.wait().await.map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("serve exited with {status}"));
        }
        Ok(())
    }
}

/// What the webhook receiver saw.
#[derive(Default)]
struct Received {
    count: u64,
    keys: HashSet<String>,
    last: Option<Instant>,
}

async fn receive(
    State(received): State<Arc<Mutex<Received>>>,
    UrlPath(notifier): UrlPath<String>,
    headers: HeaderMap,
) -> &'static str {
    let key = headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let mut received = received.lock().unwrap_or_else(|p| p.into_inner());
    received.count += 1;
    received.keys.insert(format!("{notifier}/{key}"));
    received.last = Some(Instant::now());
    "ok"
}

/// Starts the webhook receiver; its base URL.
async fn receiver(received: Arc<Mutex<Received>>) -> Result<String, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|error| format!("receiver: {error}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let app = Router::new()
        .route("/hook/{notifier}", post(receive))
        .with_state(received);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{address}"))
}

fn event(model: &str, instance: &str, at: Timestamp, accuracy: f64) -> String {
    json!({
        "model": {"name": model, "version": "1", "instance": instance},
        "timestamp": at.to_rfc3339(),
        "metric": "accuracy",
        "value": accuracy,
    })
    .to_string()
}

async fn notify(
    binary: &Path,
    dir: &Path,
    deadline: Instant,
    notifiers: usize,
    events: usize,
    batch: usize,
) -> Result<(), String> {
    let received = Arc::new(Mutex::new(Received::default()));
    let url = receiver(received.clone()).await?;
    let mut config = String::new();
    let names: Vec<String> = (0..notifiers).map(|n| format!("\"hook-{n}\"")).collect();
    for n in 0..notifiers {
        config.push_str(&format!(
            "[[notifiers]]\nname = \"hook-{n}\"\nkind = \"webhook\"\nurl = \"{url}/hook/{n}\"\n\n"
        ));
    }
    config.push_str(&format!(
        "[[rules]]\nname = \"acc-low\"\nmetric = \"accuracy\"\n\
         detector = {{ kind = \"threshold\", below = 0.9 }}\nnotify = [{}]\n",
        names.join(", ")
    ));
    let serve = Serve::start(binary, dir, &config).await?;
    let start = Timestamp::from_secs(1_795_000_000);
    let bodies: Vec<String> = (0..events)
        .collect::<Vec<_>>()
        .chunks(batch.max(1))
        .map(|chunk| {
            chunk
                .iter()
                .map(|&k| {
                    let instance = format!("i-{}", k % 10);
                    let value = if (k / 10) % 2 == 0 { 0.5 } else { 0.95 };
                    let at = Timestamp::from_nanos(start.as_nanos() + k as i64 * 1_000_000);
                    event("bench", &instance, at, value) + "\n"
                })
                .collect()
        })
        .collect();
    let began = Instant::now();
    for body in bodies {
        serve
            .post("/v1/events", "application/x-ndjson", body)
            .await?;
    }
    let ingested = began.elapsed();
    // Done when nothing is pending (each delivery is committed before the next is read).
    let mut poll = tokio::time::interval(Duration::from_millis(50));
    loop {
        poll.tick().await;
        let pending = serve.get("/v1/deliveries?state=pending&limit=1").await?;
        if pending["items"].as_array().is_some_and(Vec::is_empty) {
            break;
        }
        if Instant::now() > deadline {
            return Err("deliveries still pending at the deadline".to_string());
        }
    }
    let (count, unique, last) = {
        let received = received.lock().unwrap_or_else(|p| p.into_inner());
        (received.count, received.keys.len(), received.last)
    };
    let took = last.map_or(ingested, |last| last - began);
    let given_up = serve.get("/v1/deliveries?state=given_up&limit=1").await?;
    serve.stop().await?;
    println!(
        "notify: {events} events ({notifiers} notifier(s)) ingested in {:.2} s",
        ingested.as_secs_f64()
    );
    println!(
        "notify: {count} deliveries received ({unique} distinct keys) in {:.2} s: {:.0} notifications/s ({:.0} per notifier)",
        took.as_secs_f64(),
        count as f64 / took.as_secs_f64(),
        count as f64 / took.as_secs_f64() / notifiers as f64
    );
    if given_up["items"]
        .as_array()
        .is_some_and(|items| !items.is_empty())
    {
        return Err("some deliveries were given up".to_string());
    }
    Ok(())
}

async fn jobs(
    binary: &Path,
    dir: &Path,
    deadline: Instant,
    models: usize,
    rate: u32,
    max_concurrent: usize,
) -> Result<(), String> {
    let config = format!(
        "[jobs]\nmax_concurrent = {max_concurrent}\n\n\
         [[trainers]]\nkind = \"command\"\ncommand = [\"echo\", \"2\"]\n\n\
         [[rules]]\nname = \"acc-low\"\nmetric = \"accuracy\"\n\
         detector = {{ kind = \"threshold\", below = 0.9 }}\nactions = [\"retrain\"]\n"
    );
    let serve = Serve::start(binary, dir, &config).await?;
    let at = Timestamp::from_secs(1_795_000_000);
    let events: Vec<String> = (0..models)
        .map(|m| event(&format!("model-{m}"), "default", at, 0.5))
        .collect();
    if rate == 0 {
        let body = events.iter().map(|e| format!("{e}\n")).collect();
        serve
            .post("/v1/events", "application/x-ndjson", body)
            .await?;
    } else {
        let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
        for event in events {
            pace.tick().await;
            serve.post("/v1/events", "application/json", event).await?;
        }
    }
    let mut poll = tokio::time::interval(Duration::from_millis(100));
    let jobs = loop {
        poll.tick().await;
        let page = serve.get("/v1/jobs?state=succeeded&limit=1000").await?;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= models {
            break items;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{} of {models} jobs succeeded by the deadline",
                items.len()
            ));
        }
    };
    serve.stop().await?;
    let time = |job: &Value, field: &str| -> Result<i64, String> {
        let text = job[field]
            .as_str()
            .ok_or(format!("a job without {field}"))?;
        Ok(Timestamp::parse_rfc3339(text)?.as_nanos())
    };
    let mut delays = Vec::new();
    let mut runs = Vec::new();
    for job in &jobs {
        delays.push(time(job, "started_at")? - time(job, "created_at")?);
        runs.push(time(job, "finished_at")? - time(job, "created_at")?);
    }
    println!(
        "jobs: {models} alerts, {} per second ({}), max_concurrent {max_concurrent}",
        rate,
        if rate == 0 {
            "all in one request"
        } else {
            "one a request"
        }
    );
    println!(
        "jobs: alert received to job started: {}",
        summary(&mut delays)
    );
    println!(
        "jobs: alert received to job succeeded: {}",
        summary(&mut runs)
    );
    Ok(())
}

/// p50 / p90 / p99 / max of nanosecond durations, in milliseconds.
fn summary(values: &mut [i64]) -> String {
    values.sort_unstable();
    let at = |q: f64| {
        let index = ((values.len() as f64 - 1.0) * q).round() as usize;
        values.get(index).copied().unwrap_or(0) as f64 / 1e6
    };
    format!(
        "p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    )
}
