//! The validated configuration: rules, canary rules, custom metrics, the retrain policy, and what
//! acts on the outputs (notifiers, trainers, rollbacks, job limits; DESIGN.md section 5).
//!
//! Text becomes a [`Config`] only through [`parse_config`] (in `parse.rs`), which reports every
//! error with its line and column. The runtime sees nothing but this validated form.

mod canary;
mod drift_rule;
mod effects;
mod models;
mod outbound;
mod parse;

use std::fmt;
use std::sync::Arc;

use modelwatch_detectors::DetectorSpec;

use crate::event::ModelId;
use crate::metric::MetricCatalog;

pub use canary::{
    CanaryAction, CanaryRule, DEFAULT_CANARY_CONFIDENCE, DEFAULT_CANARY_EVERY,
    DEFAULT_CANARY_MIN_SAMPLES, DEFAULT_CANARY_TOLERANCE, DEFAULT_CANARY_WINDOW, MAX_CANARY_WINDOW,
    SeriesSelector,
};
pub use drift_rule::{DriftRule, DriftTarget, MAX_DRIFT_RULE_COLUMNS};
pub use effects::{
    Backend, DEFAULT_HTTP_BODY, DEFAULT_JOB_ATTEMPTS, DEFAULT_JOB_RETRY_DELAY_SECS,
    DEFAULT_JOB_TIMEOUT_SECS, DEFAULT_MAX_CONCURRENT_JOBS, DEFAULT_RESEND_SECS,
    DEFAULT_RETRY_FOR_SECS, DEFAULT_RETRY_INITIAL_MS, DEFAULT_RETRY_MAX_SECS, DEFAULT_TIMEOUT_SECS,
    EffectsConfig, JobSettings, Notifier, NotifierKind, SecretSource, TEMPLATE_FIELDS,
    TemplateFields, Trainer, check_template, expand_template,
};
pub use models::{
    CalibrationSetting, DEFAULT_DRIFT_WINDOW, DEFAULT_LABEL_HORIZON_SECS, DEFAULT_QUALITY_WINDOW,
    DriftCorrection, DriftSettings, MAX_DRIFT_ROWS, MAX_QUALITY_WINDOW, ModelSettings,
    ModelsConfig, ReferenceSource, Task,
};
pub use outbound::{AllowedHost, HostAllowlist, check_url, check_url_template};
pub use parse::{ConfigError, ConfigErrors, ParsedConfig, parse_config};

/// The built-in config (`config/default.toml` in the repository): the five original
/// monitoring modules as rules. Used when no config file is given.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../../../config/default.toml");

/// Parses [`DEFAULT_CONFIG_TOML`].
///
/// # Errors
///
/// Only if the embedded file is broken, which a test rules out.
pub fn default_config() -> Result<Config, ConfigErrors> {
    parse_config(DEFAULT_CONFIG_TOML).map(|parsed| parsed.config)
}

/// How loud an alert is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record.
    Info,
    /// Somebody should look.
    Warning,
    /// Somebody must act.
    Critical,
}

impl Severity {
    /// The config and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    fn from_name(name: &str) -> Option<Severity> {
        [Severity::Info, Severity::Warning, Severity::Critical]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// What a rule does when its alert fires or its detector finds a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Ask the scheduler to retrain the model (single flight and cooldown per model) when the
    /// alert fires or the change detector finds a change.
    Retrain,
    /// Ask for a retrain as soon as a warning-capable detector (`ddm`, `eddm`, `hddm_a`,
    /// `hddm_w`) enters its warning zone, before the drift: River's `DriftRetrainingClassifier`
    /// starts training a background model on warning.
    RetrainOnWarning,
}

impl Action {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Retrain => "retrain",
            Action::RetrainOnWarning => "retrain_on_warning",
        }
    }
}

/// A glob such as `fraud-*`, or "anything".
#[derive(Clone, Debug, PartialEq)]
pub enum Glob {
    /// Matches every string.
    Any,
    /// Matches what the pattern matches.
    Pattern(glob::Pattern),
}

impl Glob {
    /// Compiles a glob; `*` alone becomes [`Glob::Any`].
    ///
    /// # Errors
    ///
    /// The glob's syntax error, as a sentence.
    pub fn new(text: &str) -> Result<Glob, String> {
        if text == "*" {
            return Ok(Glob::Any);
        }
        glob::Pattern::new(text)
            .map(Glob::Pattern)
            .map_err(|error| format!("bad glob: {error}"))
    }

    /// Whether `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        match self {
            Glob::Any => true,
            Glob::Pattern(pattern) => pattern.matches(text),
        }
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Glob::Any => f.write_str("*"),
            Glob::Pattern(pattern) => f.write_str(pattern.as_str()),
        }
    }
}

/// Which model instances a rule watches.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelMatcher {
    /// Glob on the model name.
    pub name: Glob,
    /// Glob on the version.
    pub version: Glob,
    /// Glob on the instance.
    pub instance: Glob,
}

impl ModelMatcher {
    /// Whether the matcher takes this model instance.
    pub fn matches(&self, model: &ModelId) -> bool {
        self.name.matches(&model.name)
            && self.version.matches(&model.version)
            && self.instance.matches(&model.instance)
    }
}

/// One rule: which series, which detector, how long, how loud, and what to do.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Unique name, used in alerts.
    pub name: Arc<str>,
    /// What the rule is for, in words.
    pub description: Option<String>,
    /// Which model instances.
    pub matcher: ModelMatcher,
    /// Which metric of theirs.
    pub metric: String,
    /// The detector and its parameters.
    pub detector: DetectorSpec,
    /// For state detectors: consecutive points the condition must hold before the alert fires.
    pub for_points: u32,
    /// How loud the alert is.
    pub severity: Severity,
    /// What happens when the alert fires or a change is found.
    pub actions: Vec<Action>,
    /// The notifiers (by name, declared in `[[notifiers]]`) told of every transition.
    pub notify: Vec<Arc<str>>,
}

impl Rule {
    /// Whether the rule asks for a retrain (on alert, on warning, or both).
    pub fn retrains(&self) -> bool {
        self.actions
            .iter()
            .any(|action| matches!(action, Action::Retrain | Action::RetrainOnWarning))
    }
}

/// A cooldown for the models whose names match a glob.
#[derive(Clone, Debug, PartialEq)]
pub struct CooldownOverride {
    /// Which models.
    pub model: Glob,
    /// Their cooldown in seconds of event time.
    pub cooldown_secs: u64,
}

/// How retrain requests are decided.
#[derive(Clone, Debug, PartialEq)]
pub struct RetrainSettings {
    /// Least event time between two granted (or recommended) retrains of one model, in
    /// seconds.
    pub cooldown_secs: u64,
    /// Per-model cooldowns; the first match wins.
    pub overrides: Vec<CooldownOverride>,
    /// The `model` globs of `[[trainers]]`, in file order (the parser copies them from
    /// [`EffectsConfig::trainers`]): a model matching none has no trainer, and its retrains
    /// are recommended, never granted (no job, no muting).
    pub trained_models: Vec<Glob>,
}

/// The default cooldown between granted retrains of a model: one hour.
pub const DEFAULT_COOLDOWN_SECS: u64 = 3600;

impl Default for RetrainSettings {
    fn default() -> RetrainSettings {
        RetrainSettings {
            cooldown_secs: DEFAULT_COOLDOWN_SECS,
            overrides: Vec::new(),
            trained_models: Vec::new(),
        }
    }
}

impl RetrainSettings {
    /// The cooldown that applies to a model.
    pub fn cooldown_for(&self, model: &str) -> u64 {
        self.overrides
            .iter()
            .find(|entry| entry.model.matches(model))
            .map_or(self.cooldown_secs, |entry| entry.cooldown_secs)
    }

    /// Whether a `[[trainers]]` entry matches the model, so that its retrains are granted and
    /// run; otherwise they are only recommended.
    pub fn has_trainer(&self, model: &str) -> bool {
        self.trained_models.iter().any(|glob| glob.matches(model))
    }
}

/// A validated configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    /// The rules, in file order (which is also the order of their alerts for one point).
    pub rules: Vec<Rule>,
    /// Built-in and declared metrics.
    pub catalog: MetricCatalog,
    /// The retrain policy.
    pub retrain: RetrainSettings,
    /// Canary rules: a candidate's series judged against a baseline's.
    pub canaries: Vec<CanaryRule>,
    /// Data-drift rules: drift windows turned into alerts.
    pub drift_rules: Vec<DriftRule>,
    /// Notifiers, trainers, rollback backends and job limits: what the service runs.
    pub effects: EffectsConfig,
    /// `[[models]]`: task, window and label horizon of the models that send predictions.
    pub models: ModelsConfig,
    /// The SHA-256 (lowercase hex) of the TOML text the config was parsed from; empty for a
    /// config built in code. The service keeps engine snapshots only for the same digest.
    pub source_digest: String,
}

impl Config {
    /// The indices of the rules that watch `metric` of `model`, in rule order.
    pub fn rules_for(&self, model: &ModelId, metric: &str) -> Vec<usize> {
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, rule)| rule.metric == metric && rule.matcher.matches(model))
            .map(|(index, _)| index)
            .collect()
    }
}
