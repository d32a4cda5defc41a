//! Reads the TOML config into a [`Config`], collecting every error with its line and column.
//!
//! The file is parsed into a spanned TOML tree first and then walked by hand, so that one
//! wrong value does not hide the next: `check-config` lists them all.

use std::fmt;
use std::ops::Range;

use modelwatch_detectors::ParamValue;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{
    Config, CooldownOverride, EffectsConfig, Glob, HostAllowlist, ModelsConfig, Notifier,
    RetrainSettings,
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
        allowlist: None,
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
    /// `[outbound] allow_hosts`, read first: every outbound URL is checked against it.
    allowlist: Option<HostAllowlist>,
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
        let misspelled = self.unknown_sections(root);
        let mut effects = EffectsConfig::default();
        if let Some(value) = root.get("outbound") {
            effects.outbound = self.outbound(value, "outbound");
            self.allowlist.clone_from(&effects.outbound);
        }
        let catalog = match root.get("metrics") {
            Some(value) => self.metrics(value, "metrics"),
            None => MetricCatalog::new(),
        };
        let mut retrain = match root.get("retrain") {
            Some(value) => self.retrain(value, "retrain"),
            None => RetrainSettings::default(),
        };
        if let Some(value) = root.get("notifiers") {
            effects.notifiers = self.notifiers(value, "notifiers");
        }
        if let Some(value) = root.get("trainers") {
            effects.trainers = self.trainers(value, "trainers");
        }
        retrain.trained_models = effects
            .trainers
            .iter()
            .map(|trainer| trainer.model.clone())
            .collect();
        if let Some(value) = root.get("rollbacks") {
            effects.rollbacks = self.trainers(value, "rollbacks");
        }
        if let Some(value) = root.get("jobs") {
            effects.jobs = self.jobs(value, "jobs");
        }
        // Every name declared, even of a notifier with errors (those are reported on their
        // own): a rule naming it is not wrong as well.
        let declared: Vec<&str> = match root.get("notifiers").map(Value::get_ref) {
            Some(DeValue::Array(items)) => items.iter().collect(),
            Some(DeValue::Table(_)) => root.get("notifiers").into_iter().collect(),
            _ => Vec::new(),
        }
        .into_iter()
        .filter_map(|item| item.get_ref().as_table()?.get("name")?.get_ref().as_str())
        .collect();
        let known = Known {
            catalog: &catalog,
            notifiers: &effects.notifiers,
            declared: &declared,
        };
        let (rules, canaries, drift_rules) = match root.get("rules") {
            None => {
                self.warn(
                    span,
                    "",
                    "the config has no [[rules]]; nothing will alert".to_string(),
                );
                (Vec::new(), Vec::new(), Vec::new())
            }
            Some(value) => self.rules(value, "rules", &known),
        };
        let models = match root.get("models") {
            Some(value) => self.models(value, "models"),
            None => ModelsConfig::default(),
        };
        for (path, section, value) in misspelled {
            self.misspelled_section(section, path, value, &known);
        }
        Config {
            rules,
            catalog,
            retrain,
            canaries,
            drift_rules,
            effects,
            models,
            source_digest: String::new(),
        }
    }

    /// `[metrics]` at `section`: the custom metrics.
    fn metrics(&mut self, value: &Value<'_>, section: &str) -> MetricCatalog {
        let mut catalog = MetricCatalog::new();
        for (section, table) in self.section_tables(value, section) {
            self.metrics_table(table, &section, &mut catalog);
        }
        catalog
    }

    fn metrics_table(&mut self, table: &DeTable<'_>, section: &str, catalog: &mut MetricCatalog) {
        for (key, value) in table.iter() {
            let name: &str = key.get_ref();
            let path = join(section, name);
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
    }

    /// `[retrain]` at `section`: the cooldowns.
    fn retrain(&mut self, value: &Value<'_>, section: &str) -> RetrainSettings {
        let mut settings = RetrainSettings::default();
        for (section, table) in self.section_tables(value, section) {
            self.retrain_table(table, &section, &mut settings);
        }
        settings
    }

    fn retrain_table(
        &mut self,
        table: &DeTable<'_>,
        section: &str,
        settings: &mut RetrainSettings,
    ) {
        self.only_keys(table, &["cooldown_secs", "overrides"], section);
        if let Some(value) = table.get("cooldown_secs")
            && let Some(secs) =
                self.integer(value, &join(section, "cooldown_secs"), 0..MAX_COOLDOWN_SECS)
        {
            settings.cooldown_secs = secs.unsigned_abs();
        }
        if let Some(value) = table.get("overrides") {
            let DeValue::Array(array) = value.get_ref() else {
                let message = format!(
                    "must be an array of tables, got {}",
                    value.get_ref().type_str()
                );
                self.error(value.span(), &join(section, "overrides"), message);
                return;
            };
            for (index, item) in array.iter().enumerate() {
                let path = format!("{}[{index}]", join(section, "overrides"));
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
}

/// What the rules are checked against.
struct Known<'k> {
    catalog: &'k MetricCatalog,
    /// The notifiers that parsed.
    notifiers: &'k [Notifier],
    /// Every notifier name in the file.
    declared: &'k [&'k str],
}

const MAX_COOLDOWN_SECS: i64 = 366 * 24 * 3600 + 1;

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
mod drift_rule;
mod effects;
mod models;
mod outbound;
mod rules;
mod sections;

#[cfg(test)]
mod tests;
