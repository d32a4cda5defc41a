//! Snapshots of the engine's whole state: [`crate::Engine::snapshot`] encodes it,
//! [`crate::Engine::restore`] gives back an engine that continues exactly where the snapshot
//! was taken, so that a restart replays only the inputs after it. [`crate::Engine::begin_snapshot`]
//! and [`crate::Engine::snapshot_step`] encode the same bytes in bounded steps while inputs go
//! on (`snapshot/encode.rs`).
//!
//! # What is stored
//!
//! Everything the engine's future outputs depend on: every series (points, latest value and
//! time) with, per rule watching it, the running detector (its whole state: windows, bucket
//! rows, KSWIN's generator, ...; see [`modelwatch_detectors::Detector`]), the alert phase, the
//! points held, the open alert's id and the latest statistic; per model the retrain state
//! (clock, outstanding job, when the cooldown last started, deferred request and its askers,
//! decision count); per
//! canary rule (since format 2) each model's baseline window and, per candidate version, its
//! window, points, last verdict and whether judging ended; the traffic state (since format 3:
//! pending joins, windows, CBPE references; since format 4, drift references and windows;
//! since format 5, each model's uploaded reference; since format 6, each instance's latest
//! compared drift window); the data_drift rules' alerts (since format 5: per rule, model instance and column, the open
//! alert's id, firing or not, drifted windows in a row, windows judged); the next sequence
//! number and the clock.
//!
//! Not stored, because the config gives it: the rules themselves (a tracker names its rule by
//! its index in `config.rules`), the conditions of state detectors, each model's cooldown
//! (`[retrain]`, looked up again on restore, as a replay would), and the retrain settings,
//! which models have a trainer among them (a recommendation, which a model without one gets
//! instead of a grant, starts the cooldown as a grant does and is stored the same way, so the
//! format did not change with it).
//! The config is not in the snapshot: restore takes it and checks the snapshot against it.
//!
//! # Checked on restore
//!
//! - The magic, the format version and a SHA-256 of the body: a truncated, altered or
//!   foreign file is refused before anything is decoded.
//! - The snapshot must fit the config: every series must be watched by exactly the rules that
//!   `config.rules_for` gives it now (by index, and each index must name the same rule as when
//!   the snapshot was taken), and each detector must be of its rule's kind with its rule's
//!   parameters (an unseeded `kswin` with the seed the series derives). A config with the same
//!   rules in the same order but, say, other severities, actions, `for` or cooldowns fits (the
//!   new values apply from the restore on), and so does one with new rules at the end that
//!   match no existing series. One that changes which rules watch an existing series, or
//!   renames, moves or re-parameterises a rule that one uses, does not: [`SnapshotError`] says
//!   which series and rule, and the caller replays from the stored inputs instead.
//! - Detector states are checked against their parameters (sizes, ring positions, counts), so
//!   no index can go out of bounds after a restore.
//! - The canary rules must be the config's, in the same order, with the same parameters
//!   (everything that judging depends on: model, metric, candidate, baseline, window,
//!   min_samples, confidence, tolerance, every, promote); otherwise
//!   [`SnapshotError::CanaryRules`]. No window may hold more than its rule's `window`.
//! - The data_drift rules must be the config's, by name and in order (else
//!   [`SnapshotError::Corrupt`] saying so).
//!
//! Restore never panics, whatever the bytes (property-tested).
//!
//! # Layout
//!
//! ```text
//! b"MWSNAP" | format: u32, little-endian | body: postcard | SHA-256 of the body: 32 bytes
//! ```
//!
//! The body is [postcard](https://docs.rs/postcard) (varints, floats as their 8 little-endian
//! bytes, so NaN and infinities keep every bit). Instances are sorted by model id, their
//! series by metric, the retrain models by name: the same state always gives the same bytes,
//! whatever the hash maps' seeds.
//!
//! # Versioning
//!
//! [`SNAPSHOT_FORMAT`] is the version of everything in the body: the state structs of this
//! module and the serde forms of the detectors (`modelwatch-detectors`, feature `serde`).
//! postcard is positional, so adding, removing, reordering or retyping any stored field, in
//! this module or in any detector, changes the format: bump [`SNAPSHOT_FORMAT`]. Bump it too
//! when a detector's meaning of its state changes (a fix that changes what a stored state
//! does next). A build refuses every other version ([`SnapshotError::Format`]); the caller
//! then replays from the stored inputs. A test pins the bytes of one snapshot so that a
//! change of format cannot go unnoticed.
//!
//! # Size
//!
//! Measured by `snapshot_size_per_series` (tests/it/snapshot.rs), per series once its windows
//! are full, its model's entries included: with the built-in config an `accuracy` series
//! (five rules: `window_mean` over 1000 points, `ema`, `threshold`, Page-Hinkley, ADWIN) takes
//! about 9.7 KB, of which the window is 8 KB (8 bytes per point) and ADWIN's bucket rows most
//! of the rest; a `latency_ms` series (`ema` and `threshold`) about 140 bytes; a series with
//! one `window_mean` of 1000 points about 8.1 KB. A `kswin` takes 8 bytes per window point
//! plus 2.5 KB of generator state; `fhddm` 8 bytes per window point. A canary rule takes 8
//! bytes per value of each model's baseline window and of each candidate version's window
//! (emptied when its judging ends). The header, the rule names and the checksum add a few
//! hundred bytes once.

mod decode;
mod encode;

use std::borrow::Cow;
use std::sync::Arc;

use foldhash::HashMap;
use modelwatch_detectors::{Detector, DetectorKind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::canary::tracker::{Candidate, ModelWindows, Window};
use crate::canary::{CanaryTracker, Verdict};
use crate::config::{CanaryAction, CanaryRule, Config};
use crate::evaluate::{Evaluator, Phase, RuleTracker, Series, series_seed};
use crate::event::{ModelId, Timestamp};
use crate::retrain::{Deferred, ModelRetrain, RetrainPolicy};
pub(crate) use decode::decode;
pub use encode::EncodedSnapshot;
pub(crate) use encode::{Encoding, encode};

/// The first bytes of every snapshot.
pub const SNAPSHOT_MAGIC: [u8; 6] = *b"MWSNAP";

/// The snapshot format this build writes and reads (see the module docs for when it changes).
pub const SNAPSHOT_FORMAT: u32 = 6;

/// The magic and the format version.
const HEADER_LEN: usize = SNAPSHOT_MAGIC.len() + 4;

/// The SHA-256 of the body, at the end.
const DIGEST_LEN: usize = 32;

/// Why a snapshot cannot be restored (or, never expected, made).
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The bytes do not start with [`SNAPSHOT_MAGIC`].
    #[error("not an engine snapshot: the bytes do not start with \"MWSNAP\"")]
    BadMagic,
    /// Another format version than [`SNAPSHOT_FORMAT`].
    #[error("snapshot format {found}; this build reads {supported}")]
    Format {
        /// The snapshot's version.
        found: u32,
        /// This build's, [`SNAPSHOT_FORMAT`].
        supported: u32,
    },
    /// Too short to hold a header and a checksum.
    #[error("snapshot is truncated: {len} bytes")]
    Truncated {
        /// How many bytes there are.
        len: usize,
    },
    /// The body's SHA-256 differs from the stored one: truncated or altered.
    #[error("snapshot is corrupt: its checksum does not match (truncated or altered)")]
    Checksum,
    /// The checksum matches but the body does not decode, or holds contradictions.
    #[error("snapshot is corrupt: {0}")]
    Corrupt(String),
    /// A tracker names a rule index the config does not have.
    #[error(
        "snapshot does not fit the config: series {series} has a tracker of rule index {index}, \
         the config has {rules} rules"
    )]
    RuleOutOfRange {
        /// The series (`model@version/instance metric`).
        series: String,
        /// The rule index stored.
        index: usize,
        /// How many rules the config has.
        rules: usize,
    },
    /// The rule at an index has another name than when the snapshot was taken.
    #[error(
        "snapshot does not fit the config: rule {index} was `{snapshot}` when the snapshot was \
         taken and is `{config}` in the config"
    )]
    RuleRenamed {
        /// The rule's index.
        index: usize,
        /// Its name in the snapshot.
        snapshot: String,
        /// Its name in the config.
        config: String,
    },
    /// A series was watched by other rules than the config now gives it.
    #[error(
        "snapshot does not fit the config: series {series} was watched by rules [{}], the \
         config gives it [{}]",
        snapshot.join(", "),
        config.join(", ")
    )]
    RulesDiffer {
        /// The series (`model@version/instance metric`).
        series: String,
        /// The rules (names) in the snapshot.
        snapshot: Vec<String>,
        /// The rules (names) of the config that match it.
        config: Vec<String>,
    },
    /// A detector of another kind than its rule's.
    #[error(
        "snapshot does not fit the config: rule `{rule}` on series {series} ran a {snapshot} \
         detector, the config's rule is {config}"
    )]
    DetectorKind {
        /// The rule.
        rule: String,
        /// The series (`model@version/instance metric`).
        series: String,
        /// The stored detector's kind.
        snapshot: DetectorKind,
        /// The rule's kind in the config.
        config: DetectorKind,
    },
    /// A detector of its rule's kind with other parameters.
    #[error(
        "snapshot does not fit the config: the {kind} detector of rule `{rule}` on series \
         {series} has other parameters than the config's rule"
    )]
    DetectorParams {
        /// The rule.
        rule: String,
        /// The series (`model@version/instance metric`).
        series: String,
        /// The detector's kind.
        kind: DetectorKind,
    },
    /// The canary rules differ from the config's (names, order or parameters).
    #[error(
        "snapshot does not fit the config: the canary rules were [{}], the config has [{}]",
        snapshot.join("; "),
        config.join("; ")
    )]
    CanaryRules {
        /// The canary rules (name and parameters) in the snapshot.
        snapshot: Vec<String>,
        /// The config's.
        config: Vec<String>,
    },
    /// The state could not be encoded (never expected: every stored type encodes).
    #[error("cannot encode the engine state: {0}")]
    Encode(String),
}

/// The engine's state as it is stored. Borrowed when encoding, owned when decoded.
#[derive(Serialize, Deserialize)]
struct EngineState<'a> {
    next_seq: u64,
    /// Nanoseconds since the epoch.
    clock: i64,
    /// The names of the config's rules when the snapshot was taken, in order: what the
    /// trackers' rule indices meant.
    rules: Vec<Cow<'a, str>>,
    /// Sorted by model id.
    instances: Vec<InstanceState<'a>>,
    /// Retrain state, sorted by model name.
    models: Vec<ModelState<'a>>,
    /// Canary state, one per canary rule of the config, in order.
    canaries: Vec<CanaryRuleState<'a>>,
    /// Quality from traffic (since format 3): each model's pending join and windows; since
    /// format 4, the drift references and windows; since format 5, the uploaded reference.
    quality: crate::quality::QualityState,
    /// The data-drift rules' alerts (since format 5).
    drift_alerts: crate::drift_alerts::DriftAlertsState,
}

/// One canary rule's windows.
#[derive(Serialize, Deserialize)]
struct CanaryRuleState<'a> {
    /// The rule's name and judging parameters ([`canary_rule_key`]).
    key: Cow<'a, str>,
    /// Sorted by model name.
    models: Vec<CanaryModelState<'a>>,
}

#[derive(Serialize, Deserialize)]
struct CanaryModelState<'a> {
    name: Cow<'a, str>,
    /// Oldest first.
    baseline: Vec<f64>,
    /// Sorted by version.
    candidates: Vec<CandidateState<'a>>,
}

#[derive(Serialize, Deserialize)]
struct CandidateState<'a> {
    version: Cow<'a, str>,
    /// Oldest first.
    window: Vec<f64>,
    points: u64,
    last: Option<VerdictState>,
    done: bool,
}

/// A canary verdict, as stored.
#[derive(Clone, Copy, Serialize, Deserialize)]
enum VerdictState {
    Pass,
    Fail,
}

#[derive(Serialize, Deserialize)]
struct InstanceState<'a> {
    name: Cow<'a, str>,
    version: Cow<'a, str>,
    instance: Cow<'a, str>,
    /// Sorted by metric.
    series: Vec<SeriesState<'a>>,
}

#[derive(Serialize, Deserialize)]
struct SeriesState<'a> {
    metric: Cow<'a, str>,
    points: u64,
    last_value: f64,
    last_at: i64,
    /// In rule order.
    trackers: Vec<TrackerState<'a>>,
}

#[derive(Serialize, Deserialize)]
struct TrackerState<'a> {
    /// Index into `config.rules`.
    rule: usize,
    detector: Cow<'a, Detector>,
    phase: PhaseState,
    ready: bool,
    held: u32,
    alert_id: Option<Cow<'a, str>>,
    last_statistic: Option<f64>,
}

/// The alert phase, as stored (its own type, so that the engine's may change freely).
#[derive(Clone, Copy, Serialize, Deserialize)]
enum PhaseState {
    Quiet,
    Pending,
    Firing,
    Warning,
}

#[derive(Serialize, Deserialize)]
struct ModelState<'a> {
    name: Cow<'a, str>,
    clock: i64,
    outstanding: Option<Cow<'a, str>>,
    last_granted: Option<i64>,
    deferred: Option<DeferredState<'a>>,
    decisions: u64,
}

/// An alert id and the rule (name) that asked.
type Asker<'a> = (Cow<'a, str>, Cow<'a, str>);

#[derive(Serialize, Deserialize)]
struct DeferredState<'a> {
    until: i64,
    alerts: Vec<Asker<'a>>,
    change: Option<Asker<'a>>,
}

/// What [`decode`] gives back: the engine's parts.
pub(crate) struct Parts {
    pub(crate) evaluator: Evaluator,
    pub(crate) policy: RetrainPolicy,
    pub(crate) canaries: CanaryTracker,
    pub(crate) quality: crate::quality::QualityTracker,
    pub(crate) drift_alerts: crate::drift_alerts::DriftAlerts,
    pub(crate) next_seq: u64,
    pub(crate) clock: Timestamp,
}

/// What identifies a canary rule's state: its name and everything judging depends on.
fn canary_rule_key(rule: &CanaryRule) -> String {
    let promote = rule.actions.contains(&CanaryAction::Promote);
    format!(
        "{} (model {}, metric {}, candidate {}/{}, baseline {}/{}, window {}, min_samples {}, \
         confidence {:?}, tolerance {:?}, every {}, promote {promote})",
        rule.name,
        rule.model,
        rule.metric,
        rule.candidate.version,
        rule.candidate.instance,
        rule.baseline.version,
        rule.baseline.instance,
        rule.window,
        rule.min_samples,
        rule.confidence,
        rule.tolerance,
        rule.every
    )
}
