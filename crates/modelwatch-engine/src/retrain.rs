//! Retrain decisions: single flight and cooldown per model, in event time.
//!
//! The policy sees, in stream order, every alert transition, every job-finished input and every
//! manual retrain request, and decides each retrain request: granted (a job may start; its id is
//! the decision's id), recommended (the model has no trainer: no job, nothing muted),
//! suppressed (a job is outstanding, or the cooldown has not passed), or withdrawn. A grant and
//! a recommendation asked by an alert both start the model's cooldown, so that a model without
//! a trainer is not recommended again on every alert. A request suppressed by the cooldown is
//! deferred: the first input of that model at or after the end of the cooldown grants (or
//! recommends) it if the alert that asked is still firing (a change-point request always
//! stands). Requests suppressed because a job is outstanding are not deferred: that job
//! answers them.
//!
//! While a job of a model is outstanding, its alerts are muted: a transition to pending,
//! firing, drift or warning is recorded without actions or notifiers and asks for nothing (no
//! decision at all); resolved and inactive transitions are not muted. Manual retrain requests
//! are answered even then: suppressed, in flight. A model without a trainer never has a job,
//! so its alerts are never muted.
//!
//! Event time is per model: the latest timestamp among the model's inputs that the policy
//! looked at (requests, resolutions of deferred requests, job notices, and every input while a
//! request is deferred), so a late event never moves a model's clock backwards, and nothing
//! about one model depends on another.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::RetrainSettings;
use crate::event::{JobFinished, RetrainRequest, Timestamp};
use crate::output::{
    AlertEvent, AlertState, Decision, JobNotice, Output, Reason, RetrainDecision, short_id,
    stable_id,
};

/// The retrain state of every model.
#[derive(Debug)]
pub struct RetrainPolicy {
    pub(crate) settings: RetrainSettings,
    /// Only looked up; `snapshot.rs` sorts before it stores.
    pub(crate) models: HashMap<String, ModelRetrain>,
    /// How many models have a deferred request.
    pub(crate) deferred_count: usize,
}

/// The fields are the crate's so that `snapshot.rs` can store and restore them.
#[derive(Debug, Default)]
pub(crate) struct ModelRetrain {
    pub(crate) clock: Timestamp,
    /// `settings.cooldown_for(model)`, from the config.
    pub(crate) cooldown_secs: u64,
    pub(crate) outstanding: Option<String>,
    /// When the cooldown last started: the last grant, or, for a model without a trainer, the
    /// last recommendation an alert asked for.
    pub(crate) last_granted: Option<Timestamp>,
    pub(crate) deferred: Option<Deferred>,
    pub(crate) decisions: u64,
}

/// A request held back by the cooldown.
#[derive(Debug)]
pub(crate) struct Deferred {
    pub(crate) until: Timestamp,
    /// Firing alerts that asked, oldest first: `(alert_id, rule)`.
    pub(crate) alerts: Vec<(String, Arc<str>)>,
    /// A change point asked; it stands even with no alert firing.
    pub(crate) change: Option<(String, Arc<str>)>,
}

impl RetrainPolicy {
    /// A policy with no history.
    pub fn new(settings: RetrainSettings) -> RetrainPolicy {
        RetrainPolicy {
            settings,
            models: HashMap::new(),
            deferred_count: 0,
        }
    }

    /// Advances `model`'s clock to `at` and grants a deferred request whose cooldown has ended.
    /// Call it for every input of the model, before the input's own outputs.
    #[inline]
    pub fn observe(&mut self, seq: u64, model: &str, at: Timestamp, out: &mut Vec<Output>) {
        if self.deferred_count == 0 {
            return;
        }
        // Only a model with a deferred request is touched, so that what one model decides
        // never depends on whether another model has a deferred request.
        let Some(state) = self.models.get_mut(model) else {
            return;
        };
        if state.deferred.is_none() {
            return;
        }
        state.clock = state.clock.max(at);
        let due = state
            .deferred
            .as_ref()
            .is_some_and(|deferred| state.clock >= deferred.until);
        if !due {
            return;
        }
        let Some(deferred) = state.deferred.take() else {
            return;
        };
        self.deferred_count -= 1;
        let (alert_id, rule) = match (deferred.alerts.into_iter().next(), deferred.change) {
            (Some(alert), _) => alert,
            (None, Some(change)) => change,
            (None, None) => return,
        };
        if let Some(job) = state.outstanding.clone() {
            // A job started meanwhile answers the request.
            let message = format!(
                "retrain of {model} held back by the cooldown is dropped: job {} is outstanding",
                short_id(&job)
            );
            let decision = state.decision(
                seq,
                model,
                Decision::Withdrawn,
                Reason::InFlight,
                Some(job),
                Some((&alert_id, &rule)),
                message,
            );
            out.push(Output::Retrain(decision));
            return;
        }
        let asked = format!("the cooldown ended and rule {rule} still asks for it");
        let decision = state.grant_or_recommend(
            seq,
            model,
            self.settings.has_trainer(model),
            Reason::CooldownEnded,
            Some((&alert_id, &rule)),
            &asked,
        );
        out.push(Output::Retrain(decision));
    }

    /// Appends an alert transition to `out`, followed by the retrain decision it causes, if any.
    ///
    /// While a job of the alert's model is outstanding, a transition to pending, firing, drift
    /// or warning is muted: recorded with no actions and no notifiers, `muted_by` the job, a
    /// message that says so, and no retrain decision at all. Resolved and inactive transitions
    /// are never muted.
    pub fn record_alert(&mut self, mut alert: AlertEvent, out: &mut Vec<Output>) {
        if alert.mutable()
            && let Some(job) = self.outstanding(&alert.model.name)
        {
            let job = job.to_string();
            alert.actions.clear();
            alert.notify.clear();
            alert.message = format!(
                "{} (muted: job {} of {} is running)",
                alert.message,
                short_id(&job),
                alert.model.name
            );
            alert.muted_by = Some(job);
            out.push(Output::Alert(alert));
            return;
        }
        let decision = self.on_alert(&alert);
        out.push(Output::Alert(alert));
        if let Some(decision) = decision {
            out.push(Output::Retrain(decision));
        }
    }

    /// Decides what an alert transition asks of the retrain scheduler, if anything (nothing
    /// for a muted one; see [`RetrainPolicy::record_alert`]).
    pub fn on_alert(&mut self, alert: &AlertEvent) -> Option<RetrainDecision> {
        if alert.muted_by.is_some() {
            return None;
        }
        match alert.state {
            AlertState::Firing | AlertState::Drift | AlertState::Warning
                if alert.requests_retrain() =>
            {
                Some(self.request(alert))
            }
            AlertState::Resolved => self.withdraw(alert),
            _ => None,
        }
    }

    fn request(&mut self, alert: &AlertEvent) -> RetrainDecision {
        let model = alert.model.name.as_str();
        let state = model_state(&mut self.models, &self.settings, model);
        state.clock = state.clock.max(alert.at);
        let reason = match alert.state {
            AlertState::Drift => Reason::ChangeDetected,
            AlertState::Warning => Reason::WarningDetected,
            _ => Reason::AlertFiring,
        };
        let asked = match reason {
            Reason::ChangeDetected => {
                format!("rule {} found a change in {}", alert.rule, alert.metric)
            }
            Reason::WarningDetected => {
                format!("rule {} warns of a change in {}", alert.rule, alert.metric)
            }
            _ => format!("rule {} is firing on {}", alert.rule, alert.metric),
        };
        if let Some(job) = state.outstanding.clone() {
            // Not reached from `record_alert`, which mutes such a transition instead.
            let message = format!(
                "retrain of {model} suppressed: job {} is outstanding ({asked})",
                short_id(&job)
            );
            let decision = state.decision(
                alert.seq,
                model,
                Decision::Suppressed,
                Reason::InFlight,
                Some(job),
                Some((&alert.alert_id, &alert.rule)),
                message,
            );
            return decision;
        }
        if let Some(last) = state.last_granted {
            let until = last.plus_secs(state.cooldown_secs);
            if state.clock < until {
                let message = format!(
                    "retrain of {model} suppressed: cooldown until {until} ({asked}); asked again then if still needed"
                );
                let mut decision = state.decision(
                    alert.seq,
                    model,
                    Decision::Suppressed,
                    Reason::Cooldown,
                    None,
                    Some((&alert.alert_id, &alert.rule)),
                    message,
                );
                decision.retry_at = Some(until);
                let entry = (alert.alert_id.clone(), alert.rule.clone());
                if state.deferred.is_none() {
                    self.deferred_count += 1;
                }
                let deferred = state.deferred.get_or_insert_with(|| Deferred {
                    until,
                    alerts: Vec::new(),
                    change: None,
                });
                if alert.state == AlertState::Drift {
                    deferred.change.get_or_insert(entry);
                } else {
                    deferred.alerts.push(entry);
                }
                return decision;
            }
        }
        state.grant_or_recommend(
            alert.seq,
            model,
            self.settings.has_trainer(model),
            reason,
            Some((&alert.alert_id, &alert.rule)),
            &asked,
        )
    }

    fn withdraw(&mut self, alert: &AlertEvent) -> Option<RetrainDecision> {
        if self.deferred_count == 0 {
            return None;
        }
        let model = alert.model.name.as_str();
        let state = self.models.get_mut(model)?;
        let deferred = state.deferred.as_mut()?;
        state.clock = state.clock.max(alert.at);
        let before = deferred.alerts.len();
        deferred
            .alerts
            .retain(|(alert_id, _)| *alert_id != alert.alert_id);
        if deferred.alerts.len() == before
            || !deferred.alerts.is_empty()
            || deferred.change.is_some()
        {
            return None;
        }
        state.deferred = None;
        self.deferred_count -= 1;
        let message = format!(
            "retrain of {model} held back by the cooldown is withdrawn: rule {} resolved on {}",
            alert.rule, alert.metric
        );
        let decision = state.decision(
            alert.seq,
            model,
            Decision::Withdrawn,
            Reason::AlertResolved,
            None,
            Some((&alert.alert_id, &alert.rule)),
            message,
        );
        Some(decision)
    }

    /// Decides a retrain asked for by hand: granted unless a job of the model is outstanding
    /// (then suppressed, in flight). The cooldown does not hold it back, but a grant starts a
    /// new one; a request the cooldown deferred is answered by the new job (withdrawn, in
    /// flight). For a model without a trainer it is recommended, and changes nothing else: no
    /// cooldown starts and a deferred request stays deferred. Call [`RetrainPolicy::observe`]
    /// for the input first.
    pub fn on_retrain_request(
        &mut self,
        seq: u64,
        at: Timestamp,
        request: &RetrainRequest,
        out: &mut Vec<Output>,
    ) {
        let model = request.model.as_str();
        let state = model_state(&mut self.models, &self.settings, model);
        state.clock = state.clock.max(at);
        let asked = match &request.reason {
            Some(reason) => format!("asked for by hand: {reason}"),
            None => "asked for by hand".to_string(),
        };
        if let Some(job) = state.outstanding.clone() {
            let message = format!(
                "retrain of {model} suppressed: job {} is outstanding ({asked})",
                short_id(&job)
            );
            let decision = state.decision(
                seq,
                model,
                Decision::Suppressed,
                Reason::InFlight,
                Some(job),
                None,
                message,
            );
            out.push(Output::Retrain(decision));
            return;
        }
        if !self.settings.has_trainer(model) {
            let decision = state.recommend(seq, model, Reason::Manual, None, &asked);
            out.push(Output::Retrain(decision));
            return;
        }
        let decision = state.grant(seq, model, Reason::Manual, None, &asked);
        let job = decision.id.clone();
        out.push(Output::Retrain(decision));
        let Some(deferred) = state.deferred.take() else {
            return;
        };
        self.deferred_count -= 1;
        let asker = deferred.alerts.into_iter().next().or(deferred.change);
        let Some((alert_id, rule)) = asker else {
            return;
        };
        let message = format!(
            "retrain of {model} held back by the cooldown is dropped: job {} answers it",
            short_id(&job)
        );
        let withdrawn = state.decision(
            seq,
            model,
            Decision::Withdrawn,
            Reason::InFlight,
            Some(job),
            Some((&alert_id, &rule)),
            message,
        );
        out.push(Output::Retrain(withdrawn));
    }

    /// Records that a job ended, lifting single flight if it was the outstanding one.
    pub fn on_job_finished(
        &mut self,
        seq: u64,
        at: Timestamp,
        job: &JobFinished,
        out: &mut Vec<Output>,
    ) {
        let state = model_state(&mut self.models, &self.settings, &job.model);
        state.clock = state.clock.max(at);
        let ended = match (&state.outstanding, &job.job_id) {
            (Some(outstanding), Some(named)) => outstanding == named,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let model = &job.model;
        let status = job.status.as_str();
        let message = match (&state.outstanding, ended) {
            (Some(outstanding), true) => match &job.version {
                Some(version) => format!(
                    "job {} of {model} {status}, version {version}",
                    short_id(outstanding)
                ),
                None => format!("job {} of {model} {status}", short_id(outstanding)),
            },
            (Some(outstanding), false) => format!(
                "job {} of {model} {status}, but the outstanding job is {}; single flight holds",
                short_id(job.job_id.as_deref().unwrap_or("?")),
                short_id(outstanding)
            ),
            (None, _) => format!("a job of {model} {status}, but none was outstanding"),
        };
        let job_id = job.job_id.clone().or_else(|| {
            if ended {
                state.outstanding.clone()
            } else {
                None
            }
        });
        if ended {
            state.outstanding = None;
        }
        let seq_text = seq.to_string();
        out.push(Output::JobFinished(JobNotice {
            id: stable_id(&["job_finished", model, &seq_text]),
            seq,
            at,
            model: model.clone(),
            job_id,
            status: job.status,
            version: job.version.clone(),
            ended_outstanding: ended,
            message,
        }));
    }

    /// The job outstanding for `model`, if any.
    pub fn outstanding(&self, model: &str) -> Option<&str> {
        self.models
            .get(model)
            .and_then(|state| state.outstanding.as_deref())
    }
}

fn model_state<'m>(
    models: &'m mut HashMap<String, ModelRetrain>,
    settings: &RetrainSettings,
    model: &str,
) -> &'m mut ModelRetrain {
    models
        .entry(model.to_string())
        .or_insert_with(|| ModelRetrain {
            cooldown_secs: settings.cooldown_for(model),
            ..ModelRetrain::default()
        })
}

impl ModelRetrain {
    #[allow(clippy::too_many_arguments)]
    fn decision(
        &mut self,
        seq: u64,
        model: &str,
        decision: Decision,
        reason: Reason,
        job_id: Option<String>,
        asker: Option<(&str, &Arc<str>)>,
        message: String,
    ) -> RetrainDecision {
        self.decisions += 1;
        let id = stable_id(&[
            "retrain",
            model,
            &seq.to_string(),
            &self.decisions.to_string(),
        ]);
        RetrainDecision {
            id,
            seq,
            at: self.clock,
            model: model.to_string(),
            decision,
            reason,
            job_id,
            retry_at: None,
            alert_id: asker.map(|(alert_id, _)| alert_id.to_string()),
            rule: asker.map(|(_, rule)| rule.clone()),
            message,
        }
    }

    /// Decides a retrain that an alert asked for and nothing holds back: granted when the
    /// model has a trainer ([`ModelRetrain::grant`]), recommended otherwise. Either starts the
    /// cooldown.
    fn grant_or_recommend(
        &mut self,
        seq: u64,
        model: &str,
        has_trainer: bool,
        reason: Reason,
        asker: Option<(&str, &Arc<str>)>,
        asked: &str,
    ) -> RetrainDecision {
        if has_trainer {
            return self.grant(seq, model, reason, asker, asked);
        }
        self.last_granted = Some(self.clock);
        self.recommend(seq, model, reason, asker, asked)
    }

    /// Grants a retrain: a job whose id is the decision's is outstanding (single flight, and
    /// the model's alerts are muted until it ends), and the cooldown starts.
    fn grant(
        &mut self,
        seq: u64,
        model: &str,
        reason: Reason,
        asker: Option<(&str, &Arc<str>)>,
        asked: &str,
    ) -> RetrainDecision {
        let message = format!("retrain of {model} granted: {asked}");
        let mut decision =
            self.decision(seq, model, Decision::Granted, reason, None, asker, message);
        decision.job_id = Some(decision.id.clone());
        self.outstanding = Some(decision.id.clone());
        self.last_granted = Some(self.clock);
        decision
    }

    /// Recommends a retrain of a model without a trainer: no job, nothing else changes.
    fn recommend(
        &mut self,
        seq: u64,
        model: &str,
        reason: Reason,
        asker: Option<(&str, &Arc<str>)>,
        asked: &str,
    ) -> RetrainDecision {
        let message = format!(
            "retrain of {model} recommended: {asked}; no trainer is configured for {model}, so no job runs"
        );
        self.decision(
            seq,
            model,
            Decision::Recommended,
            reason,
            None,
            asker,
            message,
        )
    }
}

#[cfg(test)]
mod tests;
