//! modelwatch's engine: turns an ordered stream of model-metric events into alerts and
//! retrain decisions. Pure: no I/O, no clock, no async (the crate depends on none of them).
//!
//! Layout:
//! - `event`: the validated inputs ([`Event`], [`JobFinished`], [`RetrainRequest`], [`Input`]).
//! - `traffic`: predictions and labels ([`Prediction`], [`Label`]).
//! - `reference`: drift references given whole ([`ReferenceTable`], [`ReferenceUpload`]).
//! - `wire`: text to inputs, with every problem located ([`WireParser`]).
//! - `metric`: metric names, directions and ranges ([`MetricCatalog`]).
//! - `config`: the TOML config to a validated [`Config`] ([`parse_config`]).
//! - `evaluate`: per-series detectors and alert states ([`Evaluator`]).
//! - `retrain`: single flight and cooldown per model ([`RetrainPolicy`]).
//! - `canary`: canary judgement ([`judge`]) and the canary rules' windows ([`CanaryTracker`]).
//! - `output`: what the engine emits ([`Output`]).
//! - `drift`: data drift of a column, as Evidently computes it.
//! - `quality`: metrics computed from predictions and labels (realized and estimated).
//! - `engine`: the single-threaded composition ([`Engine`]), the reference semantics.
//! - `summation`: sums and means in NumPy's floating-point order, shared by the computations
//!   that must equal Python libraries'.
//! - `snapshot`: the engine's whole state as bytes and back ([`Engine::snapshot`],
//!   [`Engine::restore`], [`SnapshotError`]), at once or in steps ([`Engine::begin_snapshot`]).

pub mod canary;
pub mod config;
pub mod drift;
mod drift_alerts;
mod engine;
mod evaluate;
mod event;
pub mod metric;
mod output;
pub mod quality;
pub mod reference;
mod retrain;
pub mod snapshot;
mod summation;
pub mod traffic;
pub mod wire;

pub use canary::{CanaryParams, CanaryTracker, Judgement, Verdict, judge};
pub use config::{Action, Config, Rule, Severity, parse_config};
pub use drift_alerts::DriftAlerts;
pub use engine::Engine;
pub use evaluate::{Evaluator, PointContext, RuleState, RuleStatus};
pub use event::{
    DEFAULT_INSTANCE, Event, Input, JobFinished, JobStatus, ModelId, RetrainRequest, Timestamp,
};
pub use metric::MetricCatalog;
pub use output::{
    AlertEvent, AlertState, CanaryVerdict, Decision, DriftExplanation, Explanation, JobNotice,
    Output, QualityPoint, QualitySource, Reason, RetrainDecision, short_id, short_number,
    stable_id,
};
pub use reference::{ReferenceTable, ReferenceUpload};
pub use retrain::RetrainPolicy;
pub use snapshot::{EncodedSnapshot, SNAPSHOT_FORMAT, SNAPSHOT_MAGIC, SnapshotError};
pub use traffic::{Feature, Label, Outcome, Prediction};
pub use wire::{BatchError, Format, InputError, WireParser};

pub use modelwatch_detectors as detectors;
