//! `GET /metrics` of `modelwatch serve`: the values after the example stream, `promtool check
//! metrics` on the body, and a real Prometheus scraping serve and answering a query.
//!
//! serve starts as a child process and is ready at its `ready:` line (no sleeping).
//! Prometheus scrapes on its own clock, so the test puts a relay between them and awaits the
//! scrapes themselves, then queries Prometheus's HTTP API once.
//! Without `promtool` or `prometheus` on PATH the checks that need them skip, or fail when
//! MODELWATCH_REQUIRE_SERVERS=1 (as `.ci/run` sets).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use serde_json::Value;

use crate::serve_child::{ServeChild, example_events, http_agent, server_available};

/// serve as a child process, killed on drop.
struct Serve {
    process: ServeChild,
    agent: ureq::Agent,
}

impl Serve {
    fn start(data: &Path, extra: &[&str]) -> Serve {
        Serve {
            process: ServeChild::start(data, |command| {
                command.args(extra);
            }),
            agent: http_agent(),
        }
    }

    fn post(&self, content_type: &str, body: &str) -> u16 {
        self.agent
            .post(format!("{}/v1/events", self.process.base))
            .header("content-type", content_type)
            .send(body)
            .unwrap()
            .status()
            .as_u16()
    }

    fn metrics(&self) -> String {
        let mut response = self
            .agent
            .get(format!("{}/metrics", self.process.base))
            .call()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let content_type = response
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        response.body_mut().read_to_string().unwrap()
    }
}

/// A child process killed (and reaped) on drop, even when the test fails.
pub struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The value of the sample whose name and labels are `series` exactly.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().unwrap())
        })
}

fn post_examples(serve: &Serve) -> usize {
    let events = example_events();
    for chunk in events.chunks(50) {
        assert_eq!(
            serve.post("application/x-ndjson", &(chunk.join("\n") + "\n")),
            202
        );
    }
    events.len()
}

#[test]
fn metrics_count_ingest_and_refusals_and_export_series_that_promtool_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&dir.path().join("data"), &[]);
    let before = serve.metrics();
    assert_eq!(
        sample(&before, "modelwatch_events_ingested_total"),
        Some(0.0)
    );

    let bad = r#"{"model": {"name": "m", "version": "1"}, "metrics": {"accuracy": 2}}"#;
    assert_eq!(serve.post("application/json", bad), 422);
    assert_eq!(serve.post("application/json", "[{\"model\": "), 400);
    assert_eq!(serve.post("text/plain", bad), 415);
    let posted = post_examples(&serve);

    let body = serve.metrics();
    assert_eq!(
        sample(&body, "modelwatch_events_ingested_total"),
        Some(posted as f64)
    );
    for (reason, count) in [
        ("invalid", 1.0),
        ("syntax", 1.0),
        ("unsupported_media_type", 1.0),
        ("too_large", 0.0),
        ("queue_full", 0.0),
    ] {
        let series = format!("modelwatch_ingest_rejected_total{{reason=\"{reason}\"}}");
        assert_eq!(sample(&body, &series), Some(count), "{series}");
    }
    assert_eq!(sample(&body, "modelwatch_ingest_queue_depth"), Some(0.0));
    // Group commit: one commit per request at most, plus those of the job runner, which
    // starts each granted retrain's job and commits that on its own (the built-in config has
    // no trainer: its retrains are only recommended, and open no job).
    let commits = sample(&body, "modelwatch_commit_duration_seconds_count").unwrap();
    let granted: f64 = body
        .lines()
        .filter(|line| line.starts_with("modelwatch_retrain_decisions_total{decision=\"granted\""))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum();
    assert!(
        commits >= 1.0 && commits <= posted.div_ceil(50) as f64 + granted,
        "{commits} commits, {granted} granted"
    );
    assert_eq!(
        sample(
            &body,
            "modelwatch_commit_duration_seconds_bucket{le=\"+Inf\"}"
        ),
        Some(commits)
    );
    assert_eq!(
        sample(
            &body,
            "modelwatch_retrain_decisions_total{decision=\"recommended\",reason=\"alert_firing\"}"
        ),
        Some(1.0)
    );
    // The canary's accuracy ends low: its alert is firing and its last value is exported.
    let labels = r#"model="fraud-detector",version="1.5.0",instance="canary-0",metric="accuracy""#;
    assert_eq!(
        sample(
            &body,
            &format!("modelwatch_alert_firing{{{labels},rule=\"e-accuracy-low\"}}")
        ),
        Some(1.0)
    );
    let last_value = example_events()
        .iter()
        .rev()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .find(|event| {
            event["model"]["version"] == "1.5.0" && event["metrics"]["accuracy"].is_number()
        })
        .unwrap()["metrics"]["accuracy"]
        .as_f64()
        .unwrap();
    assert_eq!(
        sample(&body, &format!("modelwatch_series_value{{{labels}}}")),
        Some(last_value)
    );
    assert_eq!(sample(&body, "modelwatch_series_omitted"), Some(0.0));
    // Read off the store at the scrape: no job (the built-in config has no trainer), and the
    // database's bytes.
    assert_eq!(
        sample(&body, "modelwatch_jobs{state=\"running\"}"),
        Some(0.0)
    );
    let database = std::fs::metadata(dir.path().join("data/modelwatch.db"))
        .unwrap()
        .len();
    let bytes = sample(&body, "modelwatch_store_bytes").unwrap();
    assert!(bytes >= database as f64, "{bytes} < {database}");
    // The values wait in memory for their chunks (far fewer than a flush takes), until a read
    // of points has them written first.
    let values: usize = example_events()
        .iter()
        .map(|line| {
            let event: Value = serde_json::from_str(line).unwrap();
            event["metrics"]
                .as_object()
                .map_or(0, |metrics| metrics.len())
        })
        .sum();
    let pending = sample(&body, "modelwatch_points_pending").unwrap();
    assert!(pending >= values as f64, "{pending} < {values}");
    let models = serve
        .agent
        .get(format!("{}/v1/models", serve.process.base))
        .call()
        .unwrap();
    assert_eq!(models.status().as_u16(), 200);
    assert_eq!(
        sample(&serve.metrics(), "modelwatch_points_pending"),
        Some(0.0)
    );

    if server_available("promtool", "prometheus") {
        let file = dir.path().join("metrics.txt");
        std::fs::write(&file, &body).unwrap();
        let output = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::fs::File::open(&file).unwrap())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn the_cap_on_exported_series_leaves_the_rest_out_and_says_how_many() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&dir.path().join("data"), &["--metrics-max-series", "2"]);
    post_examples(&serve);
    let body = serve.metrics();
    let exported: std::collections::BTreeSet<&str> = body
        .lines()
        .filter(|line| line.starts_with("modelwatch_series_value{"))
        .map(|line| line.rsplit_once(' ').unwrap().0)
        .collect();
    assert_eq!(exported.len(), 2, "{body}");
    let omitted = sample(&body, "modelwatch_series_omitted").unwrap();
    assert!(omitted > 0.0);
    assert!(
        body.contains(&format!(
            "# modelwatch exports 2 series; {omitted} more left out"
        )),
        "{body}"
    );
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Stands between Prometheus and serve: answers every scrape with serve's `/metrics` and reports
/// each one answered, so the test awaits Prometheus's scrapes themselves instead of sleeping.
pub struct ScrapeRelay {
    pub address: String,
    scrapes: mpsc::Receiver<()>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ScrapeRelay {
    pub fn start(metrics_url: String) -> ScrapeRelay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (sender, scrapes) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                // Read the request head; Prometheus sends a plain GET without a body.
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                let Ok(mut response) = agent.get(&metrics_url).call() else {
                    continue;
                };
                let body = response.body_mut().read_to_string().unwrap_or_default();
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                if stream.write_all(reply.as_bytes()).is_ok() {
                    drop(stream);
                    let _ = sender.send(());
                }
            }
        });
        ScrapeRelay {
            address,
            scrapes,
            stop,
            thread: Some(thread),
        }
    }

    /// Waits for the next answered scrape, 30 s at most.
    pub fn await_scrape(&self) {
        self.scrapes
            .recv_timeout(Duration::from_secs(30))
            .expect("Prometheus did not scrape within 30 s");
    }
}

impl Drop for ScrapeRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(&self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A real Prometheus on a free loopback port, scraping `target` every second, its data and
/// log under `dir` (`prometheus.log`); killed on drop. Returns it and its port.
pub fn start_prometheus(dir: &Path, target: &str) -> (KillOnDrop, u16) {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: modelwatch\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let prometheus = KillOnDrop(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("prom-data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    (prometheus, port)
}

#[test]
fn a_real_prometheus_scrapes_serve_and_answers_with_the_ingested_count() {
    if !server_available("prometheus", "prometheus") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&dir.path().join("data"), &[]);
    let posted = post_examples(&serve);
    let relay = ScrapeRelay::start(format!("{}/metrics", serve.process.base));
    let (prometheus, port) = start_prometheus(dir.path(), &relay.address);
    // A target's scrapes run one after another: once the second has been answered, the
    // samples of the first are in Prometheus's head and can be queried.
    relay.await_scrape();
    relay.await_scrape();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .into();
    let query =
        format!("http://127.0.0.1:{port}/api/v1/query?query=modelwatch_events_ingested_total");
    let mut response = agent.get(&query).call().unwrap();
    let answer = response.body_mut().read_to_string().unwrap();
    let body: Value = serde_json::from_str(&answer).unwrap();
    let log = std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
    let value = body["data"]["result"][0]["value"][1]
        .as_str()
        .unwrap_or_else(|| panic!("no modelwatch_events_ingested_total in {answer}\nlog:\n{log}"));
    assert_eq!(value, posted.to_string());
    drop(prometheus);
}
