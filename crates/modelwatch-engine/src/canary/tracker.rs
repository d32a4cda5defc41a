//! The canary rules' state in the engine: per (rule, model name, candidate version) the last
//! `window` candidate values, per (rule, model name) the last `window` baseline values, and
//! what was last emitted; judged after every `every`-th candidate point.
//!
//! Run on every event after its alerts, rules in config order ([`crate::Engine`] and the
//! `Monitor`'s merger both do), so the verdicts are a pure function of the input order.
//! Memory is bounded by the windows: a candidate version whose judging has ended keeps only
//! its last verdict.

use std::collections::VecDeque;
use std::sync::Arc;

use foldhash::HashMap;

use super::{CanaryParams, Verdict, judge};
use crate::config::{CanaryAction, CanaryRule, Config, Severity};
use crate::event::{Event, Timestamp};
use crate::output::{CanaryVerdict, Output, stable_id};

/// The windows and verdicts of every canary rule.
#[derive(Debug)]
pub struct CanaryTracker {
    pub(crate) config: Arc<Config>,
    /// One per canary rule, in config order.
    pub(crate) rules: Vec<RuleWindows>,
}

/// One canary rule's state. The maps are only looked up; `snapshot.rs` sorts before it stores.
#[derive(Debug, Default)]
pub(crate) struct RuleWindows {
    /// By model name.
    pub(crate) models: HashMap<String, ModelWindows>,
}

/// One model's windows under one canary rule.
#[derive(Debug, Default)]
pub(crate) struct ModelWindows {
    pub(crate) baseline: Window,
    /// By candidate version.
    pub(crate) candidates: HashMap<String, Candidate>,
}

/// One candidate version under one canary rule.
#[derive(Debug, Default)]
pub(crate) struct Candidate {
    /// Emptied when judging ends.
    pub(crate) window: Window,
    /// Candidate points taken since the version was first seen (judged every `every`).
    pub(crate) points: u64,
    /// The last verdict emitted.
    pub(crate) last: Option<Verdict>,
    /// Judging has ended (a fail, or a pass with `promote`): later points are ignored.
    pub(crate) done: bool,
}

/// The most recent values, oldest first, at most the rule's `window` of them.
#[derive(Debug, Default)]
pub(crate) struct Window {
    pub(crate) values: VecDeque<f64>,
}

impl Window {
    fn push(&mut self, value: f64, capacity: usize) {
        if self.values.len() >= capacity {
            self.values.pop_front();
        }
        self.values.push_back(value);
    }
}

impl CanaryTracker {
    /// A tracker with empty windows for the canary rules of `config`.
    pub fn new(config: Arc<Config>) -> CanaryTracker {
        let rules = config
            .canaries
            .iter()
            .map(|_| RuleWindows::default())
            .collect();
        CanaryTracker { config, rules }
    }

    /// Takes an event's values of the canary rules' metrics into their windows, judges where a
    /// candidate's `every`-th point came, and appends the verdicts that changed to `out`, in
    /// rule order.
    pub fn observe_event(&mut self, seq: u64, at: Timestamp, event: &Event, out: &mut Vec<Output>) {
        let CanaryTracker { config, rules } = self;
        for (rule, state) in config.canaries.iter().zip(rules.iter_mut()) {
            if !rule.model.matches(&event.model.name) {
                continue;
            }
            let Some(value) = event.metric(&rule.metric) else {
                continue;
            };
            let model = &event.model;
            let is_candidate = rule.candidate.matches(&model.version, &model.instance);
            if !is_candidate && !rule.baseline.matches(&model.version, &model.instance) {
                continue;
            }
            let windows = match state.models.get_mut(&model.name) {
                Some(windows) => windows,
                None => state.models.entry(model.name.clone()).or_default(),
            };
            let capacity = usize::try_from(rule.window).unwrap_or(usize::MAX);
            if !is_candidate {
                windows.baseline.push(value, capacity);
                continue;
            }
            let candidate = match windows.candidates.get_mut(&model.version) {
                Some(candidate) => candidate,
                None => windows.candidates.entry(model.version.clone()).or_default(),
            };
            if candidate.done {
                continue;
            }
            candidate.window.push(value, capacity);
            candidate.points += 1;
            if candidate.points % u64::from(rule.every.max(1)) != 0 {
                continue;
            }
            let params = CanaryParams::of_rule(rule, config.catalog.goal(&rule.metric));
            let judgement = judge(
                &params,
                candidate.window.values.make_contiguous(),
                windows.baseline.values.make_contiguous(),
            );
            let verdict = judgement.verdict;
            if verdict == Verdict::NotEnoughData || candidate.last == Some(verdict) {
                continue;
            }
            candidate.last = Some(verdict);
            let action = match verdict {
                Verdict::Fail => Some(CanaryAction::Rollback),
                Verdict::Pass => Some(CanaryAction::Promote),
                Verdict::NotEnoughData => None,
            }
            .filter(|action| rule.actions.contains(action));
            if verdict == Verdict::Fail || action == Some(CanaryAction::Promote) {
                candidate.done = true;
                candidate.window = Window::default();
            }
            let actions: Vec<&'static str> = action.into_iter().map(CanaryAction::as_str).collect();
            let message = message(rule, event, verdict, &judgement.describe(), &actions);
            out.push(Output::Canary(CanaryVerdict {
                id: stable_id(&[
                    "canary",
                    &rule.name,
                    &model.name,
                    &model.version,
                    &seq.to_string(),
                ]),
                seq,
                at,
                rule: rule.name.clone(),
                severity: match verdict {
                    Verdict::Fail => rule.severity,
                    _ => Severity::Info,
                },
                model: model.clone(),
                baseline: rule.baseline.to_string(),
                metric: rule.metric.clone(),
                verdict,
                judgement,
                actions,
                notify: rule.notify.clone(),
                message,
            }));
        }
    }

    /// The config it tracks.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }
}

/// The verdict in words (the rule is named beside it, as for alerts), with the actions it
/// asks for.
fn message(
    rule: &CanaryRule,
    event: &Event,
    verdict: Verdict,
    described: &str,
    actions: &[&str],
) -> String {
    let mut message = super::verdict_message(
        &rule.metric,
        &event.model.name,
        &event.model.version,
        &rule.baseline.to_string(),
        verdict,
        described,
    );
    if !actions.is_empty() {
        message.push_str("; ");
        message.push_str(&actions.join(", "));
    }
    message
}
