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
//! window, points, last verdict and whether judging ended; the next sequence number and the
//! clock.
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
pub use encode::EncodedSnapshot;
pub(crate) use encode::{Encoding, encode};

/// The first bytes of every snapshot.
pub const SNAPSHOT_MAGIC: [u8; 6] = *b"MWSNAP";

/// The snapshot format this build writes and reads (see the module docs for when it changes).
pub const SNAPSHOT_FORMAT: u32 = 2;

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

fn restore_canaries(
    config: &Arc<Config>,
    stored: Vec<CanaryRuleState<'_>>,
) -> Result<CanaryTracker, SnapshotError> {
    let expected: Vec<String> = config.canaries.iter().map(canary_rule_key).collect();
    if !stored
        .iter()
        .map(|rule| &*rule.key)
        .eq(expected.iter().map(String::as_str))
    {
        return Err(SnapshotError::CanaryRules {
            snapshot: stored.iter().map(|rule| rule.key.to_string()).collect(),
            config: expected,
        });
    }
    let mut tracker = CanaryTracker::new(config.clone());
    for ((rule, state), stored) in config.canaries.iter().zip(&mut tracker.rules).zip(stored) {
        let capacity = usize::try_from(rule.window).unwrap_or(usize::MAX);
        let window = |values: Vec<f64>, what: &dyn Fn() -> String| {
            if values.len() > capacity {
                return Err(SnapshotError::Corrupt(format!(
                    "{} holds {} values; rule {} keeps {capacity}",
                    what(),
                    values.len(),
                    rule.name
                )));
            }
            Ok(Window {
                values: values.into(),
            })
        };
        state.models.reserve(stored.models.len());
        for model in stored.models {
            let name = model.name.into_owned();
            let baseline = window(model.baseline, &|| format!("the baseline window of {name}"))?;
            let mut windows = ModelWindows {
                baseline,
                candidates: HashMap::default(),
            };
            for candidate in model.candidates {
                let version = candidate.version.into_owned();
                let what = || format!("the window of candidate {name} {version}");
                if (candidate.window.len() as u64) > candidate.points
                    || (candidate.done && !candidate.window.is_empty())
                {
                    return Err(SnapshotError::Corrupt(format!(
                        "{} holds {} values after {} points{}",
                        what(),
                        candidate.window.len(),
                        candidate.points,
                        if candidate.done {
                            ", judging ended"
                        } else {
                            ""
                        }
                    )));
                }
                let restored = Candidate {
                    window: window(candidate.window, &what)?,
                    points: candidate.points,
                    last: candidate.last.map(|verdict| match verdict {
                        VerdictState::Pass => Verdict::Pass,
                        VerdictState::Fail => Verdict::Fail,
                    }),
                    done: candidate.done,
                };
                if windows.candidates.insert(version, restored).is_some() {
                    return Err(SnapshotError::Corrupt(format!(
                        "a candidate of {name} under rule {} is stored twice",
                        rule.name
                    )));
                }
            }
            if state.models.insert(name.clone(), windows).is_some() {
                return Err(SnapshotError::Corrupt(format!(
                    "the canary windows of {name} under rule {} are stored twice",
                    rule.name
                )));
            }
        }
    }
    Ok(tracker)
}

/// Decodes a snapshot and checks it against `config` (see the module docs).
pub(crate) fn decode(config: Arc<Config>, bytes: &[u8]) -> Result<Parts, SnapshotError> {
    let truncated = SnapshotError::Truncated { len: bytes.len() };
    match bytes.get(..SNAPSHOT_MAGIC.len()) {
        Some(magic) if magic == SNAPSHOT_MAGIC => {}
        // A prefix of the magic: the start of a snapshot, cut short.
        None if SNAPSHOT_MAGIC.starts_with(bytes) => return Err(truncated),
        _ => return Err(SnapshotError::BadMagic),
    }
    let Some((header, rest)) = bytes.split_at_checked(HEADER_LEN) else {
        return Err(truncated);
    };
    let format = header
        .get(SNAPSHOT_MAGIC.len()..)
        .and_then(|version| <[u8; 4]>::try_from(version).ok())
        .map_or(0, u32::from_le_bytes);
    if format != SNAPSHOT_FORMAT {
        return Err(SnapshotError::Format {
            found: format,
            supported: SNAPSHOT_FORMAT,
        });
    }
    let Some((body, digest)) = rest
        .len()
        .checked_sub(DIGEST_LEN)
        .and_then(|body_len| rest.split_at_checked(body_len))
    else {
        return Err(truncated);
    };
    if Sha256::digest(body).as_slice() != digest {
        return Err(SnapshotError::Checksum);
    }
    let (state, left) = postcard::take_from_bytes::<EngineState<'_>>(body).map_err(decode_error)?;
    if !left.is_empty() {
        return Err(SnapshotError::Corrupt(format!(
            "{} bytes after the state",
            left.len()
        )));
    }
    if state.next_seq == 0 {
        return Err(SnapshotError::Corrupt(
            "the next sequence number is 0; inputs are numbered from 1".to_string(),
        ));
    }
    let instances = restore_instances(&config, &state.rules, state.instances)?;
    let policy = restore_policy(&config, state.models)?;
    let canaries = restore_canaries(&config, state.canaries)?;
    Ok(Parts {
        evaluator: Evaluator {
            config,
            series: instances.values().map(HashMap::len).sum(),
            instances,
        },
        policy,
        canaries,
        next_seq: state.next_seq,
        clock: Timestamp::from_nanos(state.clock),
    })
}

fn decode_error(error: postcard::Error) -> SnapshotError {
    SnapshotError::Corrupt(match error {
        // postcard drops the message of a custom error: these come from values that do not
        // fit (a detector's checks, an unknown enum variant).
        postcard::Error::SerdeDeCustom => {
            "a value is out of range: an unknown variant, or a detector state that does not \
             fit its parameters"
                .to_string()
        }
        other => other.to_string(),
    })
}

fn restore_instances(
    config: &Config,
    rule_names: &[Cow<'_, str>],
    stored: Vec<InstanceState<'_>>,
) -> Result<HashMap<ModelId, HashMap<String, Series>>, SnapshotError> {
    let mut instances: HashMap<ModelId, HashMap<String, Series>> = HashMap::default();
    instances.reserve(stored.len());
    for instance in stored {
        let model = ModelId::new(instance.name, instance.version, instance.instance);
        let mut metrics: HashMap<String, Series> = HashMap::default();
        metrics.reserve(instance.series.len());
        for series in instance.series {
            let metric = series.metric.into_owned();
            let restored = restore_series(config, rule_names, &model, &metric, series.trackers)?;
            let series = Series {
                points: series.points,
                last_value: series.last_value,
                last_at: Timestamp::from_nanos(series.last_at),
                trackers: restored,
            };
            if metrics.insert(metric.clone(), series).is_some() {
                return Err(SnapshotError::Corrupt(format!(
                    "series {model} {metric} is stored twice"
                )));
            }
        }
        if instances.contains_key(&model) {
            return Err(SnapshotError::Corrupt(format!(
                "model instance {model} is stored twice"
            )));
        }
        instances.insert(model, metrics);
    }
    Ok(instances)
}

fn restore_series(
    config: &Config,
    rule_names: &[Cow<'_, str>],
    model: &ModelId,
    metric: &str,
    stored: Vec<TrackerState<'_>>,
) -> Result<Vec<RuleTracker>, SnapshotError> {
    let label = || format!("{model} {metric}");
    for tracker in &stored {
        let index = tracker.rule;
        let Some(rule) = config.rules.get(index) else {
            return Err(SnapshotError::RuleOutOfRange {
                series: label(),
                index,
                rules: config.rules.len(),
            });
        };
        let Some(then) = rule_names.get(index) else {
            return Err(SnapshotError::Corrupt(format!(
                "series {} names rule index {index}; the snapshot lists {} rules",
                label(),
                rule_names.len()
            )));
        };
        if **then != *rule.name {
            return Err(SnapshotError::RuleRenamed {
                index,
                snapshot: then.to_string(),
                config: rule.name.to_string(),
            });
        }
    }
    let expected = config.rules_for(model, metric);
    if !stored
        .iter()
        .map(|tracker| tracker.rule)
        .eq(expected.iter().copied())
    {
        let names = |indices: &mut dyn Iterator<Item = usize>| -> Vec<String> {
            indices
                .filter_map(|index| config.rules.get(index))
                .map(|rule| rule.name.to_string())
                .collect()
        };
        return Err(SnapshotError::RulesDiffer {
            series: label(),
            snapshot: names(&mut stored.iter().map(|tracker| tracker.rule)),
            config: names(&mut expected.into_iter()),
        });
    }
    let mut trackers = Vec::with_capacity(stored.len());
    for tracker in stored {
        let Some(rule) = config.rules.get(tracker.rule) else {
            return Err(SnapshotError::Corrupt("a rule index moved".to_string()));
        };
        let detector = tracker.detector.into_owned();
        if detector.kind() != rule.detector.kind() {
            return Err(SnapshotError::DetectorKind {
                rule: rule.name.to_string(),
                series: label(),
                snapshot: detector.kind(),
                config: rule.detector.kind(),
            });
        }
        // What `Series::new` builds: an unseeded kswin takes the series' own seed.
        let expected = if rule.detector.uses_random_seed() {
            rule.detector
                .with_seed(series_seed(&rule.name, model, metric))
        } else {
            rule.detector.clone()
        };
        if detector.spec() != expected {
            return Err(SnapshotError::DetectorParams {
                rule: rule.name.to_string(),
                series: label(),
                kind: detector.kind(),
            });
        }
        trackers.push(RuleTracker {
            rule: tracker.rule,
            detector,
            condition: rule.detector.condition().copied(),
            phase: match tracker.phase {
                PhaseState::Quiet => Phase::Quiet,
                PhaseState::Pending => Phase::Pending,
                PhaseState::Firing => Phase::Firing,
                PhaseState::Warning => Phase::Warning,
            },
            ready: tracker.ready,
            held: tracker.held,
            alert_id: tracker.alert_id.map(Cow::into_owned),
            last_statistic: tracker.last_statistic,
        });
    }
    Ok(trackers)
}

fn restore_policy(
    config: &Config,
    stored: Vec<ModelState<'_>>,
) -> Result<RetrainPolicy, SnapshotError> {
    let mut policy = RetrainPolicy::new(config.retrain.clone());
    policy.models.reserve(stored.len());
    // The config's own names, so that restored requests share them as live ones do.
    let rule_name = |name: Cow<'_, str>| -> Arc<str> {
        config
            .rules
            .iter()
            .find(|rule| *rule.name == *name)
            .map_or_else(|| Arc::from(name.as_ref()), |rule| rule.name.clone())
    };
    let asker = |(alert_id, rule): Asker<'_>| (alert_id.into_owned(), rule_name(rule));
    for model in stored {
        let name = model.name.into_owned();
        let deferred = model.deferred.map(|deferred| Deferred {
            until: Timestamp::from_nanos(deferred.until),
            alerts: deferred.alerts.into_iter().map(asker).collect(),
            change: deferred.change.map(asker),
        });
        policy.deferred_count += usize::from(deferred.is_some());
        let state = ModelRetrain {
            clock: Timestamp::from_nanos(model.clock),
            cooldown_secs: config.retrain.cooldown_for(&name),
            outstanding: model.outstanding.map(Cow::into_owned),
            last_granted: model.last_granted.map(Timestamp::from_nanos),
            deferred,
            decisions: model.decisions,
        };
        if policy.models.contains_key(&name) {
            return Err(SnapshotError::Corrupt(format!(
                "the retrain state of model {name} is stored twice"
            )));
        }
        policy.models.insert(name, state);
    }
    Ok(policy)
}
