//! modelwatch watches machine-learning models in production and acts when they degrade.
//!
//! This crate is the library facade: the [`Monitor`] runs the pure engine
//! ([`modelwatch_engine`]) on tokio tasks, sharded by series, with bounded queues and
//! ordered output. [`Service`] is `modelwatch serve` on the durable store: its core
//! ([`runtime`]: the writer thread, counters, retention), its effects ([`effects`]:
//! notifiers, jobs) and its HTTP routes ([`server`]); [`report`] replays events through the
//! same writer and routes for a self-contained HTML report ([`console::standalone_page`]).
//! The `modelwatch` binary (`main.rs`, `cli/`) is built on it.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use modelwatch::{Monitor, MonitorOptions, WireParser, Format};
//!
//! let config = Arc::new(modelwatch::engine::config::default_config()?);
//! let monitor = Monitor::start(config.clone(), MonitorOptions::default())?;
//! let mut outputs = monitor.subscribe().await?;
//! let text = r#"{"model": {"name": "fraud", "version": "1"}, "metric": "accuracy", "value": 0.5}"#;
//! let inputs = WireParser::new(&config.catalog).parse_batch(text, Format::Auto)?;
//! monitor.ingest_batch(inputs).await?;
//! while let Some(output) = outputs.recv().await {
//!     println!("{}", output.message());
//! #   break;
//! }
//! monitor.shutdown().await?;
//! # Ok(())
//! # }
//! ```

pub mod clock;
pub mod cluster;
pub mod console;
pub mod effects;
pub mod monitor;
pub mod report;
pub mod runtime;
pub mod server;
pub mod service;
pub mod tabular;

pub use clock::{Clock, FixedClock, SystemClock, TokioClock};
pub use monitor::{Monitor, MonitorError, MonitorOptions, Observer, Subscription, TryIngestError};
pub use service::{Service, ServiceError, ServiceOptions};

pub use modelwatch_detectors as detectors;
pub use modelwatch_engine as engine;
pub use modelwatch_engine::{
    AlertEvent, AlertState, CanaryVerdict, Config, Engine, Event, Format, Input, JobFinished,
    ModelId, Output, RetrainDecision, RetrainRequest, RuleStatus, Timestamp, WireParser,
};

/// README's Rust examples, compiled as doctests so that they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
