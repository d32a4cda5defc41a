//! Reads the TOML config into a [`Config`], collecting every error with its line and column.
//!
//! The file is parsed into a spanned TOML tree first and then walked by hand, so that one
//! wrong value does not hide the next: `check-config` lists them all.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use modelwatch_detectors::{DetectorKind, DetectorSpec, Direction, ParamValue};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{
    Action, CanaryAction, CanaryRule, Config, CooldownOverride, EffectsConfig, Glob, ModelMatcher,
    Notifier, RetrainSettings, Rule,
};
use crate::metric::{
    Goal, MetricCatalog, MetricInfo, canonical_metric_name, check_metric_name, quoted, well_known,
};

/// One problem in a config file, located.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ConfigError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Where in the document, such as `rules[2].detector.alpha`; empty for the whole file.
    pub path: String,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: ", self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Every error found in a config file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigErrors {
    /// The errors, in file order.
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    fn render(&self) -> String {
        let count = self.errors.len();
        let mut text = format!(
            "{count} error{} in the config:",
            if count == 1 { "" } else { "s" }
        );
        for error in &self.errors {
            text.push_str("\n  ");
            text.push_str(&error.to_string());
        }
        text
    }
}

/// A valid config and the warnings about it (things that are allowed but look wrong).
#[derive(Clone, Debug)]
pub struct ParsedConfig {
    /// The configuration.
    pub config: Config,
    /// Located warnings, in file order.
    pub warnings: Vec<ConfigError>,
}

/// Parses and validates a config file.
///
/// # Errors
///
/// [`ConfigErrors`] with every problem found, each with line, column and path.
pub fn parse_config(text: &str) -> Result<ParsedConfig, ConfigErrors> {
    let mut reader = Reader {
        text,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        for error in syntax_errors {
            let span = error.span().unwrap_or(0..0);
            reader.error(
                span,
                "",
                format!("invalid TOML: {}", error.message().trim_end_matches('.')),
            );
        }
        return Err(reader.into_errors());
    }
    let mut config = reader.document(document.get_ref(), document.span());
    if !reader.errors.is_empty() {
        return Err(reader.into_errors());
    }
    config.source_digest = source_digest(text);
    let mut warnings = reader.warnings;
    warnings.sort_by_key(|warning| (warning.line, warning.column));
    Ok(ParsedConfig { config, warnings })
}

/// The SHA-256 of a config's text, in lowercase hex.
fn source_digest(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

type Value<'i> = Spanned<DeValue<'i>>;

struct Reader<'t> {
    text: &'t str,
    errors: Vec<ConfigError>,
    warnings: Vec<ConfigError>,
}

impl Reader<'_> {
    fn into_errors(mut self) -> ConfigErrors {
        self.errors.sort_by_key(|error| (error.line, error.column));
        ConfigErrors {
            errors: self.errors,
        }
    }

    fn locate(&self, span: Range<usize>, path: &str, message: String) -> ConfigError {
        let start = span.start.min(self.text.len());
        let start = (0..=start)
            .rev()
            .find(|at| self.text.is_char_boundary(*at))
            .unwrap_or(0);
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        let column = self.text[line_start..start].chars().count() + 1;
        ConfigError {
            line,
            column,
            path: path.to_string(),
            message,
        }
    }

    /// Notes the `name` of the table `item` at `path` among `names` (of `what`: rules,
    /// notifiers), with an error when it came before.
    fn unique_name<'v>(
        &mut self,
        item: &'v Value<'_>,
        path: &str,
        what: &str,
        names: &mut Vec<&'v str>,
    ) {
        let name = item
            .get_ref()
            .as_table()
            .and_then(|table| table.get("name"));
        if let Some(name) = name
            && let DeValue::String(text) = name.get_ref()
        {
            if names.contains(&text.as_ref()) {
                let message = format!(
                    "{what} name {} is used twice; names must be unique",
                    quoted(text)
                );
                self.error(name.span(), &join(path, "name"), message);
            }
            names.push(text.as_ref());
        }
    }

    fn error(&mut self, span: Range<usize>, path: &str, message: String) {
        let error = self.locate(span, path, message);
        self.errors.push(error);
    }

    fn warn(&mut self, span: Range<usize>, path: &str, message: String) {
        let warning = self.locate(span, path, message);
        self.warnings.push(warning);
    }

    /// Reports keys of `table` not in `allowed`.
    fn only_keys(&mut self, table: &DeTable<'_>, allowed: &[&str], path: &str) {
        for (key, _) in table.iter() {
            let name: &str = key.get_ref();
            if !allowed.contains(&name) {
                let message = format!(
                    "unknown key {}; expected one of: {}",
                    quoted(name),
                    allowed.join(", ")
                );
                self.error(key.span(), &join(path, name), message);
            }
        }
    }

    fn table<'v, 'i>(&mut self, value: &'v Value<'i>, path: &str) -> Option<&'v DeTable<'i>> {
        match value.get_ref() {
            DeValue::Table(table) => Some(table),
            other => {
                self.error(
                    value.span(),
                    path,
                    format!("must be a table, got {}", other.type_str()),
                );
                None
            }
        }
    }

    fn string<'v>(&mut self, value: &'v Value<'_>, path: &str) -> Option<&'v str> {
        match value.get_ref() {
            DeValue::String(text) => Some(text.as_ref()),
            other => {
                self.error(
                    value.span(),
                    path,
                    format!("must be a string, got {}", other.type_str()),
                );
                None
            }
        }
    }

    fn integer(&mut self, value: &Value<'_>, path: &str, range: Range<i64>) -> Option<i64> {
        let number = match value.get_ref() {
            DeValue::Integer(integer) => {
                i64::from_str_radix(integer.as_str(), integer.radix()).ok()
            }
            other => {
                self.error(
                    value.span(),
                    path,
                    format!("must be a whole number, got {}", other.type_str()),
                );
                return None;
            }
        };
        match number {
            Some(number) if range.contains(&number) => Some(number),
            _ => {
                let message = format!(
                    "must be a whole number from {} to {}",
                    range.start,
                    range.end - 1
                );
                self.error(value.span(), path, message);
                None
            }
        }
    }

    fn number(&mut self, value: &Value<'_>, path: &str) -> Option<f64> {
        match param_value(value.get_ref()) {
            Ok(ParamValue::Integer(number)) => Some(number as f64),
            Ok(ParamValue::Float(number)) if number.is_finite() => Some(number),
            Ok(ParamValue::Float(_)) => {
                self.error(value.span(), path, "must be a finite number".to_string());
                None
            }
            _ => {
                let message = format!("must be a number, got {}", value.get_ref().type_str());
                self.error(value.span(), path, message);
                None
            }
        }
    }

    fn glob(&mut self, value: &Value<'_>, path: &str) -> Option<Glob> {
        let text = self.string(value, path)?;
        match Glob::new(text) {
            Ok(glob) => Some(glob),
            Err(message) => {
                self.error(value.span(), path, message);
                None
            }
        }
    }

    fn document(&mut self, root: &DeTable<'_>, span: Range<usize>) -> Config {
        self.only_keys(
            root,
            &[
                "rules",
                "metrics",
                "retrain",
                "notifiers",
                "trainers",
                "rollbacks",
                "jobs",
            ],
            "",
        );
        let catalog = match root.get("metrics") {
            Some(value) => self.metrics(value),
            None => MetricCatalog::new(),
        };
        let retrain = match root.get("retrain") {
            Some(value) => self.retrain(value),
            None => RetrainSettings::default(),
        };
        let mut effects = EffectsConfig::default();
        if let Some(value) = root.get("notifiers") {
            effects.notifiers = self.notifiers(value);
        }
        if let Some(value) = root.get("trainers") {
            effects.trainers = self.trainers(value, "trainers");
        }
        if let Some(value) = root.get("rollbacks") {
            effects.rollbacks = self.trainers(value, "rollbacks");
        }
        if let Some(value) = root.get("jobs") {
            effects.jobs = self.jobs(value);
        }
        // Every name declared, even of a notifier with errors (those are reported on their
        // own): a rule naming it is not wrong as well.
        let declared: Vec<&str> = root
            .get("notifiers")
            .and_then(|value| value.get_ref().as_array())
            .into_iter()
            .flat_map(|items| items.iter())
            .filter_map(|item| item.get_ref().as_table()?.get("name")?.get_ref().as_str())
            .collect();
        let known = Known {
            catalog: &catalog,
            notifiers: &effects.notifiers,
            declared: &declared,
        };
        let mut rules = Vec::new();
        let mut canaries = Vec::new();
        match root.get("rules") {
            None => self.warn(
                span,
                "",
                "the config has no [[rules]]; nothing will alert".to_string(),
            ),
            Some(value) => match value.get_ref() {
                DeValue::Array(array) => {
                    let mut names: Vec<&str> = Vec::new();
                    for (index, item) in array.iter().enumerate() {
                        let path = format!("rules[{index}]");
                        match self.rule(item, &path, &known) {
                            Some(AnyRule::Detector(rule)) => rules.push(rule),
                            Some(AnyRule::Canary(rule)) => canaries.push(rule),
                            None => {}
                        }
                        self.unique_name(item, &path, "rule", &mut names);
                    }
                }
                other => {
                    let message = format!(
                        "must be an array of tables ([[rules]]), got {}",
                        other.type_str()
                    );
                    self.error(value.span(), "rules", message);
                }
            },
        }
        Config {
            rules,
            catalog,
            retrain,
            canaries,
            effects,
            source_digest: String::new(),
        }
    }

    fn metrics(&mut self, value: &Value<'_>) -> MetricCatalog {
        let mut catalog = MetricCatalog::new();
        let Some(table) = self.table(value, "metrics") else {
            return catalog;
        };
        for (key, value) in table.iter() {
            let name: &str = key.get_ref();
            let path = format!("metrics.{name}");
            if let Err(message) = check_metric_name(name) {
                self.error(key.span(), &path, message);
                continue;
            }
            if well_known(canonical_metric_name(name)).is_some() {
                let message =
                    format!("{name} is a built-in metric; its range and direction are fixed");
                self.error(key.span(), &path, message);
                continue;
            }
            let Some(fields) = self.table(value, &path) else {
                continue;
            };
            self.only_keys(
                fields,
                &["direction", "min", "max", "binary", "description"],
                &path,
            );
            let goal = match fields.get("direction") {
                None => Goal::Unknown,
                Some(value) => match self.string(value, &join(&path, "direction")) {
                    Some("higher_is_better") => Goal::HigherIsBetter,
                    Some("lower_is_better") => Goal::LowerIsBetter,
                    Some(other) => {
                        let message = format!(
                            "{} is not one of higher_is_better, lower_is_better",
                            quoted(other)
                        );
                        self.error(value.span(), &join(&path, "direction"), message);
                        Goal::Unknown
                    }
                    None => Goal::Unknown,
                },
            };
            if let Some(value) = fields.get("description") {
                self.string(value, &join(&path, "description"));
            }
            let min = fields
                .get("min")
                .and_then(|value| self.number(value, &join(&path, "min")));
            let max = fields
                .get("max")
                .and_then(|value| self.number(value, &join(&path, "max")));
            if let (Some(low), Some(high)) = (min, max)
                && low > high
            {
                self.error(
                    value.span(),
                    &path,
                    format!("min {low} is greater than max {high}"),
                );
            }
            let binary = match fields.get("binary") {
                None => false,
                Some(value) => match value.get_ref() {
                    DeValue::Boolean(flag) => *flag,
                    other => {
                        let message = format!("must be true or false, got {}", other.type_str());
                        self.error(value.span(), &join(&path, "binary"), message);
                        false
                    }
                },
            };
            if binary && (fields.contains_key("min") || fields.contains_key("max")) {
                self.error(
                    value.span(),
                    &path,
                    "a binary metric takes exactly 0 or 1; leave out min and max".to_string(),
                );
            }
            let mut info = MetricInfo::new(goal, min, max);
            info.binary = binary;
            catalog.declare(name, info);
        }
        catalog
    }

    fn retrain(&mut self, value: &Value<'_>) -> RetrainSettings {
        let mut settings = RetrainSettings::default();
        let Some(table) = self.table(value, "retrain") else {
            return settings;
        };
        self.only_keys(table, &["cooldown_secs", "overrides"], "retrain");
        if let Some(value) = table.get("cooldown_secs")
            && let Some(secs) = self.integer(value, "retrain.cooldown_secs", 0..MAX_COOLDOWN_SECS)
        {
            settings.cooldown_secs = secs.unsigned_abs();
        }
        if let Some(value) = table.get("overrides") {
            let DeValue::Array(array) = value.get_ref() else {
                let message = format!(
                    "must be an array of tables, got {}",
                    value.get_ref().type_str()
                );
                self.error(value.span(), "retrain.overrides", message);
                return settings;
            };
            for (index, item) in array.iter().enumerate() {
                let path = format!("retrain.overrides[{index}]");
                let Some(fields) = self.table(item, &path) else {
                    continue;
                };
                self.only_keys(fields, &["model", "cooldown_secs"], &path);
                let model = self
                    .required(fields, item, &path, "model")
                    .and_then(|v| self.glob(v, &join(&path, "model")));
                let secs = self
                    .required(fields, item, &path, "cooldown_secs")
                    .and_then(|v| {
                        self.integer(v, &join(&path, "cooldown_secs"), 0..MAX_COOLDOWN_SECS)
                    });
                if let (Some(model), Some(secs)) = (model, secs) {
                    settings.overrides.push(CooldownOverride {
                        model,
                        cooldown_secs: secs.unsigned_abs(),
                    });
                }
            }
        }
        settings
    }

    fn required<'v, 'i>(
        &mut self,
        table: &'v DeTable<'i>,
        whole: &Value<'_>,
        path: &str,
        key: &str,
    ) -> Option<&'v Value<'i>> {
        let value = table.get(key);
        if value.is_none() {
            self.error(whole.span(), path, format!("missing required key {key}"));
        }
        value
    }

    fn rule(&mut self, item: &Value<'_>, path: &str, known: &Known<'_>) -> Option<AnyRule> {
        let fields = self.table(item, path)?;
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
        let glob_at = |reader: &mut Self, key: &str| match fields.get(key) {
            None => Some(Glob::Any),
            Some(value) => reader.glob(value, &join(path, key)),
        };
        let model = glob_at(self, "model");
        let version = glob_at(self, "version");
        let instance = glob_at(self, "instance");
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
            matcher: ModelMatcher {
                name: model?,
                version: version?,
                instance: instance?,
            },
            metric: metric?,
            detector: detector?,
            for_points: u32::try_from(for_points?).ok()?,
            severity: severity?,
            actions: actions?,
            notify: notify?,
        }))
    }

    /// A rule's `name`, checked.
    fn rule_name(
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
    fn rule_metric(
        &mut self,
        fields: &DeTable<'_>,
        item: &Value<'_>,
        path: &str,
        catalog: &MetricCatalog,
    ) -> Option<String> {
        self.required(fields, item, path, "metric").and_then(|value| {
            let metric = self.string(value, &join(path, "metric"))?;
            if let Err(message) = check_metric_name(metric) {
                self.error(value.span(), &join(path, "metric"), message);
                return None;
            }
            let canonical = canonical_metric_name(metric);
            if !catalog.is_known(canonical) {
                let message = format!(
                    "metric {} is neither built in nor declared under [metrics]; the rule applies only to events that carry it",
                    quoted(metric)
                );
                self.warn(value.span(), &join(path, "metric"), message);
            }
            Some(canonical.to_string())
        })
    }

    fn detector(&mut self, value: &Value<'_>, path: &str) -> Option<DetectorSpec> {
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
    fn check_binary_input(
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
    fn check_direction(
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

    fn actions(&mut self, value: &Value<'_>, path: &str, kind: RuleKind) -> Option<Vec<AnyAction>> {
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
}

/// What the rules are checked against.
struct Known<'k> {
    catalog: &'k MetricCatalog,
    /// The notifiers that parsed.
    notifiers: &'k [Notifier],
    /// Every notifier name in the file.
    declared: &'k [&'k str],
}

/// A parsed `[[rules]]` entry.
enum AnyRule {
    Detector(Rule),
    Canary(CanaryRule),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RuleKind {
    Detector,
    Canary,
}

/// An action of either kind of rule.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AnyAction {
    Detector(Action),
    Canary(CanaryAction),
}

impl AnyAction {
    fn as_str(self) -> &'static str {
        match self {
            AnyAction::Detector(action) => action.as_str(),
            AnyAction::Canary(action) => action.as_str(),
        }
    }
}

const MAX_COOLDOWN_SECS: i64 = 366 * 24 * 3600 + 1;
const MAX_FOR_POINTS: i64 = 1_000_001;

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Checks the name of a rule or notifier (`what`): 1 to 64 of `[A-Za-z0-9_.-]`, starting with
/// a letter or digit.
fn check_name(what: &str, name: &str) -> Result<(), String> {
    let valid_start = name.starts_with(|c: char| c.is_ascii_alphanumeric());
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if name.is_empty() || name.len() > 64 || !valid_start || !valid_chars {
        return Err(format!(
            "{what} name {} must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit",
            quoted(name)
        ));
    }
    Ok(())
}

fn param_value(value: &DeValue<'_>) -> Result<ParamValue, String> {
    match value {
        DeValue::Integer(integer) => i64::from_str_radix(integer.as_str(), integer.radix())
            .map(ParamValue::Integer)
            .map_err(|_| format!("integer {} does not fit in 64 bits", integer.as_str())),
        DeValue::Float(float) => float
            .as_str()
            .parse::<f64>()
            .map(ParamValue::Float)
            .map_err(|_| format!("unreadable number {}", float.as_str())),
        DeValue::Boolean(flag) => Ok(ParamValue::Bool(*flag)),
        DeValue::String(text) => Ok(ParamValue::String(text.to_string())),
        other => Err(format!(
            "must be a number, string or boolean, got {}",
            other.type_str()
        )),
    }
}

mod canary;
mod effects;

#[cfg(test)]
mod tests;
