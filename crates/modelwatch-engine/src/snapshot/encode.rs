//! Encoding a snapshot, at once ([`crate::Engine::snapshot`]) or in bounded steps while the
//! engine goes on taking inputs ([`crate::Engine::begin_snapshot`],
//! [`crate::Engine::snapshot_step`]); both through [`Encoding`], so both give the same bytes
//! for the same state.
//!
//! The body is the postcard encoding of `EngineState`, written a field at a time: postcard
//! writes a struct as its fields one after the other and a sequence as its length (a varint)
//! and its elements, so the pieces concatenate to exactly what encoding the whole value gives.
//! What is small is written when the encoding begins (the sequence number, the clock, the rule
//! names, and the retrain and canary state, kept aside to go last); the series, which are
//! nearly all of it, follow a bounded number of bytes per step, in the order of the keys
//! taken when it began (instances sorted by model id, their series by metric).
//!
//! The state is the one at the input the encoding began after, whatever the engine does
//! meanwhile: before an input changes a series that is not encoded yet, the engine hands it to
//! [`Encoding::preserve`], which encodes that series as it still is and keeps the bytes until
//! the steps reach it; a series created since is not among the keys, and everything else was
//! written at the beginning.

use crate::drift_alerts::{DriftAlerts, DriftAlertsState};
use crate::quality::{QualityState, QualityTracker};
use std::borrow::Cow;
use std::sync::Arc;

use foldhash::HashMap;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{
    Asker, CanaryModelState, CanaryRuleState, CandidateState, DeferredState, HEADER_LEN,
    ModelState, PhaseState, SNAPSHOT_FORMAT, SNAPSHOT_MAGIC, SeriesState, SnapshotError,
    TrackerState, VerdictState, canary_rule_key,
};
use crate::canary::tracker::{Candidate, ModelWindows};
use crate::canary::{CanaryTracker, Verdict};
use crate::evaluate::{Evaluator, Phase, Series};
use crate::event::{ModelId, Timestamp};
use crate::retrain::{ModelRetrain, RetrainPolicy};

/// A snapshot encoded in steps, whole: [`crate::Engine::snapshot_step`] gives it once done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedSnapshot {
    /// The last input the state includes (0: none).
    pub seq: u64,
    /// The bytes, as [`crate::Engine::snapshot`] would have given them after that input.
    pub bytes: Vec<u8>,
}

/// A snapshot of the engine's state after input `seq`, as far as it is encoded.
pub(crate) struct Encoding {
    /// The last input the state includes.
    seq: u64,
    /// The header and the body so far.
    bytes: Vec<u8>,
    /// The SHA-256 of the body, fed as it grows.
    digest: Sha256,
    /// How much of `bytes` the digest has taken.
    digested: usize,
    /// Every series when the encoding began: instances sorted by model id, each with its
    /// metrics sorted.
    keys: Vec<(ModelId, Vec<String>)>,
    /// The next series to encode: an index into `keys`, and into its metrics.
    instance: usize,
    metric: usize,
    /// Whether the current instance's header (its id and series count) is written.
    opened: bool,
    /// Series changed since the encoding began, before the steps reached them: their encoding
    /// as they were, by their indices in `keys`.
    preserved: HashMap<(usize, usize), Vec<u8>>,
    /// The retrain and canary state as they were when the encoding began, written last.
    tail: Vec<u8>,
    /// An encoding error met by [`Encoding::preserve`], which cannot return one.
    failed: Option<String>,
}

impl std::fmt::Debug for Encoding {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Encoding")
            .field("seq", &self.seq)
            .field("bytes", &self.bytes.len())
            .field("instance", &self.instance)
            .field("metric", &self.metric)
            .field("preserved", &self.preserved.len())
            .finish_non_exhaustive()
    }
}

/// Appends the postcard encoding of `value` to `bytes`.
fn put<T: Serialize + ?Sized>(bytes: &mut Vec<u8>, value: &T) -> Result<(), SnapshotError> {
    let taken = std::mem::take(bytes);
    *bytes = postcard::to_extend(value, taken)
        .map_err(|error| SnapshotError::Encode(error.to_string()))?;
    Ok(())
}

/// Appends a sequence's length as postcard writes it (a varint, the same for any width).
fn put_len(bytes: &mut Vec<u8>, len: usize) -> Result<(), SnapshotError> {
    put(bytes, &(len as u64))
}

impl Encoding {
    /// Begins a snapshot of the state the arguments hold: writes the header and what is small,
    /// and takes the keys of every series.
    pub(crate) fn begin(
        evaluator: &Evaluator,
        policy: &RetrainPolicy,
        canaries: &CanaryTracker,
        quality: &QualityTracker,
        drift_alerts: &DriftAlerts,
        next_seq: u64,
        clock: Timestamp,
    ) -> Result<Encoding, SnapshotError> {
        let mut keys: Vec<(ModelId, Vec<String>)> = evaluator
            .instances
            .iter()
            .map(|(model, metrics)| {
                let mut metrics: Vec<String> = metrics.keys().cloned().collect();
                metrics.sort_unstable();
                (model.clone(), metrics)
            })
            .collect();
        keys.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut bytes = Vec::with_capacity(4096);
        bytes.extend_from_slice(&SNAPSHOT_MAGIC);
        bytes.extend_from_slice(&SNAPSHOT_FORMAT.to_le_bytes());
        put(&mut bytes, &next_seq)?;
        put(&mut bytes, &clock.as_nanos())?;
        let rules: Vec<&str> = evaluator
            .config
            .rules
            .iter()
            .map(|rule| &*rule.name)
            .collect();
        put(&mut bytes, &rules)?;
        put_len(&mut bytes, keys.len())?;
        let mut models: Vec<(&String, &ModelRetrain)> = policy.models.iter().collect();
        models.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let models: Vec<ModelState<'_>> = models
            .into_iter()
            .map(|(name, model)| store_model(name, model))
            .collect();
        let mut tail = Vec::new();
        put(&mut tail, &models)?;
        put(&mut tail, &store_canaries(canaries))?;
        put(&mut tail, &QualityState::of(quality))?;
        put(&mut tail, &DriftAlertsState::of(drift_alerts))?;
        Ok(Encoding {
            seq: next_seq.saturating_sub(1),
            bytes,
            digest: Sha256::new(),
            digested: HEADER_LEN,
            keys,
            instance: 0,
            metric: 0,
            opened: false,
            preserved: HashMap::default(),
            tail,
            failed: None,
        })
    }

    /// The last input the snapshot's state includes.
    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }

    /// Called before an input changes the series of `model` named by `metrics`: those the
    /// steps have not reached yet are encoded now, as they still are.
    pub(crate) fn preserve<'m>(
        &mut self,
        evaluator: &Evaluator,
        model: &ModelId,
        metrics: impl IntoIterator<Item = &'m str>,
    ) {
        let Ok(instance) = self.keys.binary_search_by(|(key, _)| key.cmp(model)) else {
            return; // an instance created since the encoding began
        };
        if instance < self.instance {
            return;
        }
        let Some(current) = evaluator.instances.get(model) else {
            return;
        };
        for metric in metrics {
            let Ok(index) = self.keys[instance]
                .1
                .binary_search_by(|key| key.as_str().cmp(metric))
            else {
                continue; // a series created since
            };
            if (instance == self.instance && index < self.metric)
                || self.preserved.contains_key(&(instance, index))
            {
                continue;
            }
            let Some(series) = current.get(metric) else {
                continue;
            };
            let mut encoded = Vec::new();
            match put(&mut encoded, &store_series(metric, series)) {
                Ok(()) => {
                    self.preserved.insert((instance, index), encoded);
                }
                Err(error) => self.failed = Some(error.to_string()),
            }
        }
    }

    /// Encodes the next series, at least one and until about `max_bytes` more are written;
    /// the last step writes the retrain and canary state and the digest. Returns whether it
    /// is done, and then [`Encoding::finish`] gives the bytes.
    ///
    /// `evaluator` must be the one the encoding began on, changed since only by inputs whose
    /// series went through [`Encoding::preserve`] first.
    pub(crate) fn step(
        &mut self,
        evaluator: &Evaluator,
        max_bytes: usize,
    ) -> Result<bool, SnapshotError> {
        if let Some(message) = self.failed.take() {
            return Err(SnapshotError::Encode(message));
        }
        let start = self.bytes.len();
        while let Some((model, metrics)) = self.keys.get(self.instance) {
            if !self.opened {
                put(
                    &mut self.bytes,
                    &(&model.name, &model.version, &model.instance),
                )?;
                put_len(&mut self.bytes, metrics.len())?;
                self.opened = true;
            }
            while let Some(metric) = metrics.get(self.metric) {
                match self.preserved.remove(&(self.instance, self.metric)) {
                    Some(encoded) => self.bytes.extend_from_slice(&encoded),
                    None => {
                        let series = evaluator
                            .instances
                            .get(model)
                            .and_then(|series| series.get(metric))
                            .ok_or_else(|| {
                                SnapshotError::Encode(format!(
                                    "series {model} {metric} is gone from the engine"
                                ))
                            })?;
                        put(&mut self.bytes, &store_series(metric, series))?;
                    }
                }
                self.metric += 1;
                if self.bytes.len() - start >= max_bytes {
                    self.digest_new();
                    return Ok(false);
                }
            }
            self.instance += 1;
            self.metric = 0;
            self.opened = false;
        }
        let tail = std::mem::take(&mut self.tail);
        self.bytes.extend_from_slice(&tail);
        self.digest_new();
        Ok(true)
    }

    /// Feeds the digest what the body gained since it last did.
    fn digest_new(&mut self) {
        if let Some(new) = self.bytes.get(self.digested..) {
            self.digest.update(new);
        }
        self.digested = self.bytes.len();
    }

    /// The snapshot, once [`Encoding::step`] said it is done.
    pub(crate) fn finish(self) -> EncodedSnapshot {
        let mut bytes = self.bytes;
        let digest = self.digest.finalize();
        bytes.extend_from_slice(&digest);
        EncodedSnapshot {
            seq: self.seq,
            bytes,
        }
    }
}

/// Encodes an engine's state at once (see the module docs of `snapshot` for the layout).
pub(crate) fn encode(
    evaluator: &Evaluator,
    policy: &RetrainPolicy,
    canaries: &CanaryTracker,
    quality: &QualityTracker,
    drift_alerts: &DriftAlerts,
    next_seq: u64,
    clock: Timestamp,
) -> Result<Vec<u8>, SnapshotError> {
    let mut encoding = Encoding::begin(
        evaluator,
        policy,
        canaries,
        quality,
        drift_alerts,
        next_seq,
        clock,
    )?;
    while !encoding.step(evaluator, usize::MAX)? {}
    Ok(encoding.finish().bytes)
}

fn store_series<'a>(metric: &'a str, series: &'a Series) -> SeriesState<'a> {
    SeriesState {
        metric: Cow::Borrowed(metric),
        points: series.points,
        last_value: series.last_value,
        last_at: series.last_at.as_nanos(),
        trackers: series
            .trackers
            .iter()
            .map(|tracker| TrackerState {
                rule: tracker.rule,
                detector: Cow::Borrowed(&tracker.detector),
                phase: match tracker.phase {
                    Phase::Quiet => PhaseState::Quiet,
                    Phase::Pending => PhaseState::Pending,
                    Phase::Firing => PhaseState::Firing,
                    Phase::Warning => PhaseState::Warning,
                },
                ready: tracker.ready,
                held: tracker.held,
                alert_id: tracker.alert_id.as_deref().map(Cow::Borrowed),
                last_statistic: tracker.last_statistic,
            })
            .collect(),
    }
}

fn store_model<'a>(name: &'a str, model: &'a ModelRetrain) -> ModelState<'a> {
    let asker = |(alert_id, rule): &'a (String, Arc<str>)| -> Asker<'a> {
        (Cow::Borrowed(alert_id), Cow::Borrowed(&**rule))
    };
    ModelState {
        name: Cow::Borrowed(name),
        clock: model.clock.as_nanos(),
        outstanding: model.outstanding.as_deref().map(Cow::Borrowed),
        last_granted: model.last_granted.map(Timestamp::as_nanos),
        deferred: model.deferred.as_ref().map(|deferred| DeferredState {
            until: deferred.until.as_nanos(),
            alerts: deferred.alerts.iter().map(asker).collect(),
            change: deferred.change.as_ref().map(asker),
        }),
        decisions: model.decisions,
    }
}

fn store_canaries(tracker: &CanaryTracker) -> Vec<CanaryRuleState<'_>> {
    tracker
        .config
        .canaries
        .iter()
        .zip(&tracker.rules)
        .map(|(rule, state)| {
            let mut models: Vec<(&String, &ModelWindows)> = state.models.iter().collect();
            models.sort_unstable_by(|a, b| a.0.cmp(b.0));
            CanaryRuleState {
                key: Cow::Owned(canary_rule_key(rule)),
                models: models
                    .into_iter()
                    .map(|(name, windows)| {
                        let mut candidates: Vec<(&String, &Candidate)> =
                            windows.candidates.iter().collect();
                        candidates.sort_unstable_by(|a, b| a.0.cmp(b.0));
                        CanaryModelState {
                            name: Cow::Borrowed(name),
                            baseline: windows.baseline.values.iter().copied().collect(),
                            candidates: candidates
                                .into_iter()
                                .map(|(version, candidate)| CandidateState {
                                    version: Cow::Borrowed(version),
                                    window: candidate.window.values.iter().copied().collect(),
                                    points: candidate.points,
                                    last: candidate.last.and_then(|verdict| match verdict {
                                        Verdict::Pass => Some(VerdictState::Pass),
                                        Verdict::Fail => Some(VerdictState::Fail),
                                        Verdict::NotEnoughData => None,
                                    }),
                                    done: candidate.done,
                                })
                                .collect(),
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}
