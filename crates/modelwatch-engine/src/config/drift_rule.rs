//! A data-drift rule: a `[[rules]]` entry with a `data_drift` table, which turns the drift
//! windows of the models it matches (`[[models]]` drift settings, `docs/drift.md`) into alerts,
//! one per column or one for the dataset decision.

use std::sync::Arc;

use super::{Action, ModelMatcher, Severity};

/// Columns per window a rule may name.
pub const MAX_DRIFT_RULE_COLUMNS: usize = 1000;

/// What a data-drift rule alerts on.
#[derive(Clone, Debug, PartialEq)]
pub enum DriftTarget {
    /// One alert per column (on the series `drift.<column>`): every column of the reference
    /// when `None`, else these, in the config's order.
    Columns(Option<Vec<String>>),
    /// One alert on the dataset decision (on the series `drift_score`): the share of drifted
    /// columns reaching `drift_share`.
    Dataset,
}

/// A `[[rules]]` entry with `data_drift = { ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftRule {
    /// Unique name, used in alerts.
    pub name: Arc<str>,
    /// What the rule is for, in words.
    pub description: Option<String>,
    /// Which model instances.
    pub matcher: ModelMatcher,
    /// Columns or the dataset.
    pub target: DriftTarget,
    /// Consecutive drifted windows before the alert fires (`for`, default 1). A window whose
    /// column is `not_enough_data` or not scored neither counts nor breaks the run.
    pub for_windows: u32,
    /// How loud the alert is.
    pub severity: Severity,
    /// `retrain` when the alert fires, or nothing.
    pub actions: Vec<Action>,
    /// The notifiers (by name) told of every transition.
    pub notify: Vec<Arc<str>>,
}
