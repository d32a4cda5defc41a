//! modelwatch's integration tests: one binary (see STYLE.md section 7).
//!
//! - `actions`: notifications (a failing webhook, a real Alertmanager) and retrain jobs.
//! - `receiver`: a scripted HTTP receiver for them.
//! - `monitor`: the sharded Monitor against the single-threaded engine, back-pressure, flush.
//! - `cli`: the `modelwatch` binary run as a child process on good and bad files.
//! - `demo`: `modelwatch demo` end to end, promoting a good candidate and rolling back a bad one.
//! - `crash`: serve killed with SIGKILL at random moments under concurrent clients, restarted.
//! - `serve`: `modelwatch serve` as a child process: HTTP ingest, queries, restart.
//! - `auth`: serve's bearer tokens and scopes, and its refusal of a public address without them.
//! - `tokens`: admin is a scope of its own, one value twice stops the start, the audit log
//!   names the token behind each change.
//! - `prometheus`: `GET /metrics` of serve, `promtool check metrics`, a real Prometheus.
//! - `grafana_dashboard`: deploy/grafana/modelwatch.json's queries, checked by promtool against
//!   a real Prometheus scraping serve.
//! - `http_api`: serve's HTTP edges: /openapi.json, 413 and 415, bad query strings, series.
//! - `edge`: serve's connection and body limits end to end (413 before the body, probes
//!   through a full connection limit, the shutdown deadline).
//! - `listener`: the listener's timeouts, connection limit and shutdown deadline, in process on
//!   a paused clock.
//! - `serve_child`: the serve child process those four share.
//! - `routes`: serve's routes in process (a fixed clock, a temporary store, `oneshot`).
//! - `stored_inputs`: a retrain request the store could not read back is refused, and serve
//!   restarts after a kill.
//! - `console` (with its WebDriver client `console_webdriver`): the web console in a real
//!   headless Chromium against serve; `console_drift`: its per-feature drift histograms.
//! - `report`: `modelwatch replay --report`, its file's data and bytes, and the file opened
//!   from disk in Chromium with the network off.
//! - `docs`: every TOML and JSON example in the docs parses.
//! - `tidy`: every Rust file documents itself; no skipped, panicking or sleeping tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod actions;
mod auth;
mod canary;
mod cli;
mod cluster;
mod console;
mod console_drift;
mod console_webdriver;
mod crash;
mod crash_traffic;
mod demo;
mod docs;
mod drift_reference;
mod edge;
mod failures;
mod grafana_dashboard;
mod http_api;
mod listener;
mod monitor;
mod prometheus;
mod readme;
mod receiver;
mod report;
mod retention;
mod routes;
mod serve;
mod serve_child;
mod serve_postgres;
mod stored_inputs;
mod tidy;
mod tokens;
mod traffic_example;

use std::path::PathBuf;

/// The repository's root, where `examples/` and `config/` are.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
