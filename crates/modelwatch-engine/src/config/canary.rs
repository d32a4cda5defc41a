//! The validated form of canary rules: a candidate's series of one metric judged against a
//! baseline's of the same model, by the Mann-Whitney U test, as Kayenta judges canaries.

use std::sync::Arc;

use crate::config::{Glob, Severity};

/// The default confidence of canary judgement (Kayenta's default): 98%.
pub const DEFAULT_CANARY_CONFIDENCE: f64 = 0.98;
/// The default number of most recent points of each side that are compared.
pub const DEFAULT_CANARY_WINDOW: u32 = 200;
/// The largest window a canary rule may have (memory: 8 bytes per point and side).
pub const MAX_CANARY_WINDOW: u32 = 10_000;
/// The default number of points each side needs before a verdict.
pub const DEFAULT_CANARY_MIN_SAMPLES: u32 = 30;
/// The default tolerance: any significant shift in the bad direction fails.
pub const DEFAULT_CANARY_TOLERANCE: f64 = 0.0;
/// The default number of candidate points between two judgements.
pub const DEFAULT_CANARY_EVERY: u32 = 10;

/// Which series of a model form one side of a canary comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesSelector {
    /// Glob on the version.
    pub version: Glob,
    /// Glob on the instance.
    pub instance: Glob,
}

impl SeriesSelector {
    /// Whether the selector takes this version and instance.
    pub fn matches(&self, version: &str, instance: &str) -> bool {
        self.version.matches(version) && self.instance.matches(instance)
    }
}

impl std::fmt::Display for SeriesSelector {
    /// `version 2.*, instance canary-*`, leaving out a part that matches anything.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.version, &self.instance) {
            (Glob::Any, Glob::Any) => f.write_str("every series"),
            (Glob::Any, instance) => write!(f, "instance {instance}"),
            (version, Glob::Any) => write!(f, "version {version}"),
            (version, instance) => write!(f, "version {version}, instance {instance}"),
        }
    }
}

/// What a canary verdict does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CanaryAction {
    /// On fail: run the model's rollback backend and mark the candidate version rolled back.
    Rollback,
    /// On pass: mark the candidate version production (the previous one archived).
    Promote,
}

impl CanaryAction {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CanaryAction::Rollback => "rollback",
            CanaryAction::Promote => "promote",
        }
    }
}

/// One canary rule.
#[derive(Clone, Debug, PartialEq)]
pub struct CanaryRule {
    /// Unique name (shared with the detector rules' names).
    pub name: Arc<str>,
    /// What the rule is for, in words.
    pub description: Option<String>,
    /// Glob on the model name.
    pub model: Glob,
    /// The metric compared; its direction says which shift is bad.
    pub metric: String,
    /// The candidate's series.
    pub candidate: SeriesSelector,
    /// The baseline's series.
    pub baseline: SeriesSelector,
    /// The most recent points of each side that are compared.
    pub window: u32,
    /// Fewer points on either side: the verdict is "not enough data".
    pub min_samples: u32,
    /// The confidence of the test, strictly between 0 and 1.
    pub confidence: f64,
    /// A significant shift in the bad direction fails only when it is larger than this
    /// fraction of the baseline's median (0: any significant shift fails).
    pub tolerance: f64,
    /// Judge after every `every` candidate points.
    pub every: u32,
    /// How loud a failed verdict is.
    pub severity: Severity,
    /// What verdicts do.
    pub actions: Vec<CanaryAction>,
    /// The notifiers told of every verdict change.
    pub notify: Vec<Arc<str>>,
}
