//! Reads the `[[rules]]` entries of detector rules (canary rules are `canary.rs`'s): name,
//! model globs, metric, detector, `for`, severity, actions and notifiers, in the style of
//! `parse.rs` (every error located, all of them collected).

use std::sync::Arc;

use modelwatch_detectors::{DetectorKind, DetectorSpec, Direction};
use toml::de::{DeTable, DeValue};

use super::{Known, Reader, Value, check_name, join, param_value};
use crate::config::drift_rule::DriftRule;
use crate::config::{
    Action, CanaryAction, CanaryRule, Glob, ModelMatcher, Notifier, Rule, Severity,
};
use crate::metric::{Goal, MetricCatalog, canonical_metric_name, check_series_name, quoted};

const MAX_FOR_POINTS: i64 = 1_000_001;

impl Reader<'_> {
    /// The `[[rules]]` entries at `path`: detector rules and canary rules, in file order.
    pub(super) fn rules(
        &mut self,
        value: &Value<'_>,
        path: &str,
        known: &Known<'_>,
    ) -> (Vec<Rule>, Vec<CanaryRule>, Vec<DriftRule>) {
        let mut rules = Vec::new();
        let mut canaries = Vec::new();
        let mut drift_rules = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for (item_path, item) in self.entries(value, path) {
            match self.rule(item, &item_path, known) {
                Some(AnyRule::Detector(rule)) => rules.push(rule),
                Some(AnyRule::Canary(rule)) => canaries.push(rule),
                Some(AnyRule::Drift(rule)) => drift_rules.push(rule),
                None => {}
            }
            self.unique_name(item, &item_path, "rule", &mut names);
        }
        (rules, canaries, drift_rules)
    }

    fn rule(&mut self, item: &Value<'_>, path: &str, known: &Known<'_>) -> Option<AnyRule> {
        let fields = self.table(item, path)?;
        if fields.contains_key("data_drift") {
            return self
                .drift_rule(fields, item, path, known)
                .map(AnyRule::Drift);
        }
        if fields.contains_key("canary") {
            return self
                .canary_rule(fields, item, path, known)
                .map(AnyRule::Canary);
        }
        let catalog = known.catalog;
        self.only_keys(
            fields,
            &[
                "name",
                "description",
                "model",
                "version",
                "instance",
                "metric",
                "detector",
                "for",
                "severity",
                "actions",
                "notify",
            ],
            path,
        );
        let errors_before = self.errors.len();
        let name = self.rule_name(fields, item, path);
        let description = fields
            .get("description")
            .and_then(|value| self.string(value, &join(path, "description")))
            .map(str::to_string);
        let matcher = self.model_matcher(fields, path);
        let metric = self.rule_metric(fields, item, path, catalog);
        let detector = self
            .required(fields, item, path, "detector")
            .and_then(|value| self.detector(value, &join(path, "detector")));
        if let (Some(detector), Some(metric), Some(value)) =
            (&detector, &metric, fields.get("detector"))
        {
            self.check_direction(detector, metric, catalog, value, &join(path, "detector"));
            self.check_binary_input(detector, metric, catalog, value, &join(path, "detector"));
        }
        let for_points = match fields.get("for") {
            None => Some(1),
            Some(value) => {
                let for_points = self.integer(value, &join(path, "for"), 1..MAX_FOR_POINTS);
                // Judged on the kind alone, so the error shows even when the parameters are wrong.
                let kind = fields
                    .get("detector")
                    .and_then(|detector| detector.get_ref().as_table())
                    .and_then(|table| table.get("kind"))
                    .and_then(|kind| kind.get_ref().as_str())
                    .and_then(DetectorKind::from_name);
                if let (Some(kind), Some(_)) = (kind, for_points)
                    && kind.is_change_detector()
                {
                    let message = format!(
                        "`for` applies to state detectors only; {} signals one-off changes",
                        kind.as_str()
                    );
                    self.error(value.span(), &join(path, "for"), message);
                }
                for_points
            }
        };
        let severity = self.severity(fields, path);
        let actions = match fields.get("actions") {
            None => Some(Vec::new()),
            Some(value) => self
                .actions(value, &join(path, "actions"), RuleKind::Detector)
                .map(|actions| {
                    actions
                        .into_iter()
                        .filter_map(|action| match action {
                            AnyAction::Detector(action) => Some(action),
                            AnyAction::Canary(_) => None,
                        })
                        .collect::<Vec<Action>>()
                }),
        };
        let notify = self.rule_notify(fields, path, known);
        if let (Some(actions), Some(detector), Some(value)) =
            (&actions, &detector, fields.get("actions"))
            && actions.contains(&Action::RetrainOnWarning)
            && !detector.kind().has_warning_zone()
        {
            let with_warning: Vec<&str> = DetectorKind::ALL
                .iter()
                .filter(|kind| kind.has_warning_zone())
                .map(|kind| kind.as_str())
                .collect();
            let message = format!(
                "retrain_on_warning needs a detector with a warning zone ({}); {} has none",
                with_warning.join(", "),
                detector.kind()
            );
            self.error(value.span(), &join(path, "actions"), message);
        }
        if self.errors.len() > errors_before {
            return None;
        }
        Some(AnyRule::Detector(Rule {
            name: name?,
            description,
            matcher: matcher?,
            metric: metric?,
            detector: detector?,
            for_points: u32::try_from(for_points?).ok()?,
            severity: severity?,
            actions: actions?,
            notify: notify?,
        }))
    }

    /// A rule's `name`, checked.
    /// A rule's `model`, `version` and `instance` globs (each "anything" when absent); every
    /// bad glob reported.
    pub(super) fn model_matcher(
        &mut self,
        fields: &DeTable<'_>,
        path: &str,
    ) -> Option<ModelMatcher> {
        let mut glob_at = |key: &str| match fields.get(key) {
            None => Some(Glob::Any),
            Some(value) => self.glob(value, &join(path, key)),
        };
        let (name, version, instance) = (glob_at("model"), glob_at("version"), glob_at("instance"));
        Some(ModelMatcher {
            name: name?,
            version: version?,
            instance: instance?,
        })
    }

    pub(super) fn rule_name(
        &mut self,
        fields: &DeTable<'_>,
        item: &Value<'_>,
        path: &str,
    ) -> Option<Arc<str>> {
        self.required(fields, item, path, "name").and_then(|value| {
            let name = self.string(value, &join(path, "name"))?;
            if let Err(message) = check_name("rule", name) {
                self.error(value.span(), &join(path, "name"), message);
                return None;
            }
            Some(Arc::<str>::from(name))
        })
    }

    /// A rule's `metric`, in its canonical spelling; warns when nothing declares it.
    pub(super) fn rule_metric(
        &mut self,
        fields: &DeTable<'_>,
        item: &Value<'_>,
        path: &str,
        catalog: &MetricCatalog,
    ) -> Option<String> {
        self.required(fields, item, path, "metric").and_then(|value| {
            let metric = self.string(value, &join(path, "metric"))?;
            if let Err(message) = check_series_name(metric) {
                self.error(value.span(), &join(path, "metric"), message);
                return None;
            }
            let canonical = canonical_metric_name(metric);
            if !catalog.is_known(canonical) && !metric.starts_with(crate::metric::DRIFT_PREFIX) {
                let message = format!(
                    "metric {} is neither built in nor declared under [metrics]; the rule applies only to events that carry it",
                    quoted(metric)
                );
                self.warn(value.span(), &join(path, "metric"), message);
            }
            Some(canonical.to_string())
        })
    }

    pub(super) fn detector(&mut self, value: &Value<'_>, path: &str) -> Option<DetectorSpec> {
        let table = self.table(value, path)?;
        let kind_path = join(path, "kind");
        let Some(kind_value) = table.get("kind") else {
            let kinds: Vec<&str> = DetectorKind::ALL.iter().map(|kind| kind.as_str()).collect();
            let message = format!("missing required key kind, one of: {}", kinds.join(", "));
            self.error(value.span(), path, message);
            return None;
        };
        let kind = self.string(kind_value, &kind_path)?;
        if DetectorKind::from_name(kind).is_none() {
            let kinds: Vec<&str> = DetectorKind::ALL.iter().map(|kind| kind.as_str()).collect();
            let message = format!(
                "unknown detector kind {}; expected one of: {}",
                quoted(kind),
                kinds.join(", ")
            );
            self.error(kind_value.span(), &kind_path, message);
            return None;
        }
        let mut params = Vec::new();
        let mut spans = Vec::new();
        let mut ok = true;
        for (key, param) in table.iter() {
            let name: &str = key.get_ref();
            if name == "kind" {
                continue;
            }
            match param_value(param.get_ref()) {
                Ok(value) => {
                    params.push((name.to_string(), value));
                    spans.push((name.to_string(), param.span()));
                }
                Err(message) => {
                    self.error(param.span(), &join(path, name), message);
                    ok = false;
                }
            }
        }
        if !ok {
            return None;
        }
        match DetectorSpec::parse(kind, &params) {
            Ok(spec) => Some(spec),
            Err(errors) => {
                for error in errors {
                    let (span, at) = match &error.param {
                        Some(param) => match spans.iter().find(|(name, _)| name == param) {
                            Some((_, span)) => (span.clone(), join(path, param)),
                            None => (value.span(), join(path, param)),
                        },
                        None => (value.span(), path.to_string()),
                    };
                    self.error(span, &at, error.message);
                }
                None
            }
        }
    }

    /// Rejects a binary detector (one 0/1 error per prediction) on a metric that is not binary.
    pub(super) fn check_binary_input(
        &mut self,
        detector: &DetectorSpec,
        metric: &str,
        catalog: &MetricCatalog,
        value: &Value<'_>,
        path: &str,
    ) {
        let kind = detector.kind();
        if !kind.takes_binary_input() || catalog.get(metric).is_some_and(|info| info.binary) {
            return;
        }
        let message = format!(
            "detector {kind} takes one 0/1 outcome per prediction (1 = wrong), but metric {metric} is not binary; \
             report outcomes as the built-in metric `error`, or declare [metrics.{metric}] binary = true"
        );
        self.error(value.span(), path, message);
    }

    /// Warns when a state rule alerts in the direction in which the metric gets better.
    pub(super) fn check_direction(
        &mut self,
        detector: &DetectorSpec,
        metric: &str,
        catalog: &MetricCatalog,
        value: &Value<'_>,
        path: &str,
    ) {
        let Some(condition) = detector.condition() else {
            return;
        };
        let surprising = match (catalog.goal(metric), condition.direction) {
            (Goal::HigherIsBetter, Direction::Above) => Some(("above", "higher is better")),
            (Goal::LowerIsBetter, Direction::Below) => Some(("below", "lower is better")),
            _ => None,
        };
        if let Some((side, goal)) = surprising {
            let message = format!(
                "the rule alerts when {metric} is {side} its bound, but for {metric} {goal}"
            );
            self.warn(value.span(), path, message);
        }
    }

    pub(super) fn actions(
        &mut self,
        value: &Value<'_>,
        path: &str,
        kind: RuleKind,
    ) -> Option<Vec<AnyAction>> {
        let DeValue::Array(array) = value.get_ref() else {
            let example = match kind {
                RuleKind::Detector => "[\"retrain\"]",
                RuleKind::Canary => "[\"rollback\"]",
            };
            let message = format!(
                "must be an array such as {example}, got {}",
                value.get_ref().type_str()
            );
            self.error(value.span(), path, message);
            return None;
        };
        let mut actions = Vec::new();
        let mut ok = true;
        for (index, item) in array.iter().enumerate() {
            let item_path = format!("{path}[{index}]");
            let name = match item.get_ref() {
                DeValue::String(text) => Some((text.as_ref(), item.span())),
                DeValue::Table(table) => {
                    self.only_keys(table, &["kind"], &item_path);
                    match table.get("kind") {
                        Some(kind) => self
                            .string(kind, &join(&item_path, "kind"))
                            .map(|text| (text, kind.span())),
                        None => {
                            self.error(
                                item.span(),
                                &item_path,
                                "missing required key kind".to_string(),
                            );
                            None
                        }
                    }
                }
                other => {
                    let message = format!(
                        "must be an action name or a table with kind, got {}",
                        other.type_str()
                    );
                    self.error(item.span(), &item_path, message);
                    None
                }
            };
            let Some((name, span)) = name else {
                ok = false;
                continue;
            };
            let action = match name {
                "retrain" => AnyAction::Detector(Action::Retrain),
                "retrain_on_warning" => AnyAction::Detector(Action::RetrainOnWarning),
                "rollback" => AnyAction::Canary(CanaryAction::Rollback),
                "promote" => AnyAction::Canary(CanaryAction::Promote),
                other => {
                    let message = match kind {
                        RuleKind::Detector => format!(
                            "unknown action {}; this version supports: retrain, retrain_on_warning (and rollback, promote on canary rules)",
                            quoted(other)
                        ),
                        RuleKind::Canary => format!(
                            "unknown action {}; canary rules support: rollback, promote",
                            quoted(other)
                        ),
                    };
                    self.error(span, &item_path, message);
                    ok = false;
                    continue;
                }
            };
            let misplaced = match (kind, action) {
                (RuleKind::Detector, AnyAction::Canary(action)) => Some(format!(
                    "{} is an action of canary rules only (rules with a canary table); this rule can retrain, retrain_on_warning",
                    action.as_str()
                )),
                (RuleKind::Canary, AnyAction::Detector(action)) => Some(format!(
                    "{} is not an action of canary rules; they can rollback, promote",
                    action.as_str()
                )),
                _ => None,
            };
            if let Some(message) = misplaced {
                self.error(span, &item_path, message);
                ok = false;
                continue;
            }
            if actions.contains(&action) {
                self.error(
                    item.span(),
                    &item_path,
                    format!("action {} is listed twice", action.as_str()),
                );
                ok = false;
            }
            actions.push(action);
        }
        ok.then_some(actions)
    }

    /// A rule's `notify` list (none when absent): names of declared notifiers.
    pub(super) fn rule_notify(
        &mut self,
        fields: &DeTable<'_>,
        path: &str,
        known: &Known<'_>,
    ) -> Option<Vec<Arc<str>>> {
        match fields.get("notify") {
            None => Some(Vec::new()),
            Some(value) => self.notify(
                value,
                &join(path, "notify"),
                known.notifiers,
                known.declared,
            ),
        }
    }

    fn notify(
        &mut self,
        value: &Value<'_>,
        path: &str,
        notifiers: &[Notifier],
        declared: &[&str],
    ) -> Option<Vec<Arc<str>>> {
        let DeValue::Array(array) = value.get_ref() else {
            let message = format!(
                "must be an array of notifier names such as [\"oncall\"], got {}",
                value.get_ref().type_str()
            );
            self.error(value.span(), path, message);
            return None;
        };
        let mut names: Vec<Arc<str>> = Vec::with_capacity(array.len());
        let mut ok = true;
        for (index, item) in array.iter().enumerate() {
            let item_path = format!("{path}[{index}]");
            let Some(name) = self.string(item, &item_path) else {
                ok = false;
                continue;
            };
            if names.iter().any(|known| **known == *name) {
                let message = format!("notifier {} is listed twice", quoted(name));
                self.error(item.span(), &item_path, message);
                ok = false;
                continue;
            }
            // A notifier declared with errors is not in `notifiers`, but its name is known:
            // its own errors say what is wrong, this entry is fine.
            match notifiers.iter().find(|notifier| *notifier.name == *name) {
                Some(notifier) => names.push(notifier.name.clone()),
                None if declared.contains(&name) => {
                    names.push(Arc::from(name));
                }
                None => {
                    let message = if declared.is_empty() {
                        format!(
                            "no notifier is named {}; declare it in [[notifiers]]",
                            quoted(name)
                        )
                    } else {
                        format!(
                            "no notifier is named {}; declared: {}",
                            quoted(name),
                            declared.join(", ")
                        )
                    };
                    self.error(item.span(), &item_path, message);
                    ok = false;
                }
            }
        }
        ok.then_some(names)
    }

    /// A rule's severity, `warning` when absent.
    pub(super) fn severity(&mut self, fields: &DeTable<'_>, path: &str) -> Option<Severity> {
        match fields.get("severity") {
            None => Some(Severity::Warning),
            Some(value) => self
                .string(value, &join(path, "severity"))
                .and_then(|text| {
                    let severity = Severity::from_name(text);
                    if severity.is_none() {
                        let message =
                            format!("{} is not one of info, warning, critical", quoted(text));
                        self.error(value.span(), &join(path, "severity"), message);
                    }
                    severity
                }),
        }
    }
}

/// A parsed `[[rules]]` entry.
pub(super) enum AnyRule {
    Detector(Rule),
    Canary(CanaryRule),
    Drift(DriftRule),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum RuleKind {
    Detector,
    Canary,
}

/// An action of either kind of rule.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum AnyAction {
    Detector(Action),
    Canary(CanaryAction),
}

impl AnyAction {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            AnyAction::Detector(action) => action.as_str(),
            AnyAction::Canary(action) => action.as_str(),
        }
    }
}
