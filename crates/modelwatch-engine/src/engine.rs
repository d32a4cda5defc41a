//! The single-threaded engine: inputs in stream order in, outputs in the same order out.
//!
//! This is the reference semantics. The sharded `Monitor` of the `modelwatch` crate splits the
//! same work across tasks and must produce exactly what this produces, byte for byte.

use std::sync::Arc;

use crate::canary::CanaryTracker;
use crate::config::Config;
use crate::drift_alerts::DriftAlerts;
use crate::evaluate::{Evaluator, PointContext, RuleStatus};
use crate::event::{Event, Input, JobFinished, ModelId, Timestamp};
use crate::output::{AlertEvent, Output, QualityPoint};
use crate::quality::{QualityTracker, TrafficCounts};
use crate::retrain::RetrainPolicy;
use crate::snapshot::{self, EncodedSnapshot, Encoding, SnapshotError};

/// Evaluates inputs one at a time: detectors, alert states, retrain decisions and canary
/// verdicts.
#[derive(Debug)]
pub struct Engine {
    evaluator: Evaluator,
    policy: RetrainPolicy,
    canaries: CanaryTracker,
    quality: QualityTracker,
    /// The data-drift rules' alerts.
    drift_alerts: DriftAlerts,
    /// Quality points of the input being processed.
    computed: Vec<QualityPoint>,
    next_seq: u64,
    clock: Timestamp,
    alerts: Vec<(u32, AlertEvent)>,
    /// A snapshot being encoded in steps ([`Engine::begin_snapshot`]).
    encoding: Option<Encoding>,
}

impl Engine {
    /// An engine with no history, numbering inputs from 1.
    pub fn new(config: Arc<Config>) -> Engine {
        let policy = RetrainPolicy::new(config.retrain.clone());
        Engine {
            canaries: CanaryTracker::new(config.clone()),
            quality: QualityTracker::new(config.clone()),
            drift_alerts: DriftAlerts::new(config.clone()),
            computed: Vec::new(),
            evaluator: Evaluator::new(config),
            policy,
            next_seq: 1,
            clock: Timestamp::EPOCH,
            alerts: Vec::new(),
            encoding: None,
        }
    }

    /// A fresh engine (no series, no retrain state) that numbers its next input `last_seq + 1`
    /// and whose clock starts at `clock`: for when the inputs up to `last_seq` are gone and no
    /// usable snapshot exists.
    pub fn starting_after(config: Arc<Config>, last_seq: u64, clock: Timestamp) -> Engine {
        let mut engine = Engine::new(config);
        engine.next_seq = last_seq.saturating_add(1);
        engine.clock = clock;
        engine
    }

    /// Encodes the whole state: every series' detectors, rule trackers and alert phases, the
    /// retrain policy (clocks, outstanding jobs, deferred requests), the canary rules' windows
    /// and verdicts, the next sequence number and the clock. The same state always gives the
    /// same bytes. See [`crate::snapshot`] for the format and its size, and
    /// [`Engine::begin_snapshot`] to encode it in steps.
    ///
    /// # Errors
    ///
    /// [`SnapshotError::Encode`] if the state cannot be encoded, which no state is known to
    /// cause. Then there is no snapshot: keep the inputs it would have replaced.
    pub fn snapshot(&self) -> Result<Vec<u8>, SnapshotError> {
        snapshot::encode(
            &self.evaluator,
            &self.policy,
            &self.canaries,
            &self.quality,
            &self.drift_alerts,
            self.next_seq,
            self.clock,
        )
    }

    /// Begins encoding a snapshot of the state as it is now (after input [`Engine::last_seq`])
    /// in bounded steps ([`Engine::snapshot_step`]), so that a large state is encoded between
    /// inputs rather than in one long pause. Inputs processed meanwhile do not change it: the
    /// steps give the same bytes [`Engine::snapshot`] gives now. Takes what is small at once,
    /// and the keys of every series (a clone of each; sorted). A snapshot begun before and not
    /// finished is given up.
    ///
    /// # Errors
    ///
    /// [`SnapshotError::Encode`], as [`Engine::snapshot`].
    pub fn begin_snapshot(&mut self) -> Result<(), SnapshotError> {
        self.encoding = None;
        self.encoding = Some(Encoding::begin(
            &self.evaluator,
            &self.policy,
            &self.canaries,
            &self.quality,
            &self.drift_alerts,
            self.next_seq,
            self.clock,
        )?);
        Ok(())
    }

    /// The input after which the snapshot being encoded in steps was begun, if one is.
    pub fn snapshot_in_progress(&self) -> Option<u64> {
        self.encoding.as_ref().map(Encoding::seq)
    }

    /// Encodes the next part of the snapshot begun by [`Engine::begin_snapshot`]: the next
    /// series, at least one, until about `max_bytes` more bytes are encoded. Returns the whole
    /// snapshot once the last part is encoded (and then none is in progress); `None` before,
    /// and when no snapshot is in progress.
    ///
    /// # Errors
    ///
    /// [`SnapshotError::Encode`], as [`Engine::snapshot`]; the snapshot is given up.
    pub fn snapshot_step(
        &mut self,
        max_bytes: usize,
    ) -> Result<Option<EncodedSnapshot>, SnapshotError> {
        let Some(encoding) = &mut self.encoding else {
            return Ok(None);
        };
        match encoding.step(&self.evaluator, max_bytes.max(1)) {
            Ok(false) => Ok(None),
            Ok(true) => Ok(self.encoding.take().map(Encoding::finish)),
            Err(error) => {
                self.encoding = None;
                Err(error)
            }
        }
    }

    /// An engine in exactly the state [`Engine::snapshot`] captured, for `config`: fed the
    /// inputs that followed the snapshot, it gives the outputs, byte for byte, that the
    /// snapshotted engine would have given. Never panics, whatever the bytes.
    ///
    /// # Errors
    ///
    /// The bytes are not a snapshot of this format ([`SnapshotError::BadMagic`],
    /// [`SnapshotError::Format`]), are truncated or corrupt, or do not fit `config` (a series
    /// watched by other rules, a detector of another kind or with other parameters; see
    /// [`crate::snapshot`]).
    pub fn restore(config: Arc<Config>, bytes: &[u8]) -> Result<Engine, SnapshotError> {
        let parts = snapshot::decode(config, bytes)?;
        Ok(Engine {
            evaluator: parts.evaluator,
            policy: parts.policy,
            canaries: parts.canaries,
            quality: parts.quality,
            drift_alerts: parts.drift_alerts,
            computed: Vec::new(),
            next_seq: parts.next_seq,
            clock: parts.clock,
            alerts: Vec::new(),
            encoding: None,
        })
    }

    /// Processes one input, appending its outputs to `out`. Returns the input's sequence number.
    ///
    /// An input without a timestamp takes the latest event time seen so far.
    pub fn process(&mut self, input: &Input, out: &mut Vec<Output>) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let at = input.timestamp().unwrap_or(self.clock);
        self.clock = self.clock.max(at);
        match input {
            Input::Event(event) => self.process_event(seq, at, event, out),
            Input::JobFinished(job) => self.process_job(seq, at, job, out),
            Input::RetrainRequest(request) => {
                self.policy.observe(seq, &request.model, at, out);
                self.policy.on_retrain_request(seq, at, request, out);
            }
            Input::Prediction(prediction) => {
                self.policy.observe(seq, &prediction.model.name, at, out);
                let mut computed = std::mem::take(&mut self.computed);
                self.quality
                    .on_prediction(seq, at, prediction, &mut computed);
                self.apply_computed(seq, &mut computed, out);
                self.computed = computed;
            }
            Input::Reference(upload) => {
                self.policy.observe(seq, &upload.model, at, out);
                self.quality.on_reference(seq, at, upload);
            }
            Input::Label(label) => {
                self.policy.observe(seq, &label.model, at, out);
                let mut computed = std::mem::take(&mut self.computed);
                self.quality.on_label(seq, at, label, &mut computed);
                self.apply_computed(seq, &mut computed, out);
                self.computed = computed;
            }
        }
        seq
    }

    /// Outputs the quality points an input completed and runs their values through the rules
    /// of their series, as the values of a metric event.
    fn apply_computed(
        &mut self,
        seq: u64,
        computed: &mut Vec<QualityPoint>,
        out: &mut Vec<Output>,
    ) {
        let mut drift_alerts = Vec::new();
        for point in computed.drain(..) {
            let event = Event {
                model: point.model.clone(),
                timestamp: Some(point.at),
                metrics: point.metrics.clone(),
            };
            self.drift_alerts.observe(&point, &mut drift_alerts);
            out.push(Output::Quality(point));
            if !event.metrics.is_empty() {
                self.evaluate_points(seq, event.timestamp.unwrap_or(self.clock), &event, out);
            }
            for alert in drift_alerts.drain(..) {
                self.policy.record_alert(alert, out);
            }
        }
    }

    fn process_event(&mut self, seq: u64, at: Timestamp, event: &Event, out: &mut Vec<Output>) {
        self.policy.observe(seq, &event.model.name, at, out);
        self.evaluate_points(seq, at, event, out);
    }

    /// Runs an event's values through the rules of their series and the canary rules.
    fn evaluate_points(&mut self, seq: u64, at: Timestamp, event: &Event, out: &mut Vec<Output>) {
        if let Some(encoding) = &mut self.encoding {
            let metrics = event.metrics.iter().map(|(metric, _)| metric.as_str());
            encoding.preserve(&self.evaluator, &event.model, metrics);
        }
        let context = PointContext {
            seq,
            at,
            model: &event.model,
        };
        let points = event
            .metrics
            .iter()
            .enumerate()
            .map(|(index, (metric, value))| (index as u32, metric.as_str(), *value));
        self.evaluator
            .evaluate_event(&context, points, &mut self.alerts);
        for (_, alert) in self.alerts.drain(..) {
            self.policy.record_alert(alert, out);
        }
        self.canaries.observe_event(seq, at, event, out);
    }

    fn process_job(&mut self, seq: u64, at: Timestamp, job: &JobFinished, out: &mut Vec<Output>) {
        self.policy.observe(seq, &job.model, at, out);
        self.policy.on_job_finished(seq, at, job, out);
    }

    /// Where every rule stands on every series, sorted by model, metric and rule.
    pub fn status(&self) -> Vec<RuleStatus> {
        self.evaluator.status()
    }

    /// How many series (a metric of a model instance) the engine holds: each costs memory
    /// until the process ends.
    pub fn series_count(&self) -> usize {
        self.evaluator.series_count()
    }

    /// The series that processing `inputs` would create, each once, in the order the inputs
    /// name them, so that a caller can refuse a batch beyond a limit before processing any of
    /// it.
    pub fn new_series<'i>(&self, inputs: &'i [Input]) -> Vec<(&'i ModelId, &'i str)> {
        let mut seen = std::collections::HashSet::new();
        let mut new = Vec::new();
        for input in inputs {
            let Input::Event(event) = input else { continue };
            for (metric, _) in &event.metrics {
                let series = (&event.model, metric.as_str());
                if !self.evaluator.has_series(series.0, series.1) && seen.insert(series) {
                    new.push(series);
                }
            }
        }
        new
    }

    /// How model `name`'s predictions and labels have gone, and how many predictions wait for
    /// their labels; `None` for a model that sent none.
    pub fn traffic(&self, name: &str) -> Option<(TrafficCounts, usize)> {
        self.quality.counts(name)
    }

    /// Every model's traffic counts and pending predictions, by name.
    pub fn all_traffic(&self) -> Vec<(&str, TrafficCounts, usize)> {
        self.quality.all_counts()
    }

    /// The drift reference in force for model `name`; `None` without drift settings.
    pub fn reference_in_force(&self, name: &str) -> Option<crate::quality::ReferenceInForce> {
        self.quality.reference_in_force(name)
    }

    /// Model `name`'s drift: each instance's open window and latest compared one, judged
    /// again with its histograms; `None` without drift settings. `&mut` for the prepared
    /// references only (derived state).
    pub fn drift_status(&mut self, name: &str) -> Option<crate::quality::DriftStatus> {
        self.quality.drift_status(name)
    }

    /// Bytes the pending joins of predictions hold in memory.
    pub fn pending_bytes(&self) -> usize {
        self.quality.pending_bytes()
    }

    /// Bytes the drift references (tables and prepared forms) and open drift windows hold.
    pub fn drift_bytes(&self) -> usize {
        self.quality.drift_bytes()
    }

    /// The job outstanding for a model, if any.
    pub fn outstanding_job(&self, model: &str) -> Option<&str> {
        self.policy.outstanding(model)
    }

    /// The sequence number the next input will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The sequence number of the latest input processed (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.next_seq.saturating_sub(1)
    }

    /// The latest event time seen.
    pub fn clock(&self) -> Timestamp {
        self.clock
    }
}

#[cfg(test)]
mod tests;
