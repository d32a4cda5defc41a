//! The engine's integration tests: one binary (see STYLE.md section 7).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cbpe;
mod checked;
mod drift;
mod drift_rules;
mod properties;
mod quality_metrics;
mod snapshot;
mod streams;
mod traffic;
mod traffic_drift;
mod uploaded_reference;
mod wire;
mod wire_traffic;
