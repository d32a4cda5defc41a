//! Reads a data-drift rule: a `[[rules]]` entry with a `data_drift` table instead of a
//! `detector` (see `config/drift_rule.rs`). Same style as `parse.rs`: every error located, all
//! of them collected.

use toml::de::DeTable;

use super::rules::{AnyAction, RuleKind};
use super::{Known, Reader, Value, join};
use crate::config::Action;
use crate::config::drift_rule::{DriftRule, DriftTarget, MAX_DRIFT_RULE_COLUMNS};
use crate::metric::quoted;

const MAX_FOR_WINDOWS: i64 = 1_000_001;

impl Reader<'_> {
    pub(super) fn drift_rule(
        &mut self,
        fields: &DeTable<'_>,
        item: &Value<'_>,
        path: &str,
        known: &Known<'_>,
    ) -> Option<DriftRule> {
        let errors_before = self.errors.len();
        for (key, _) in fields.iter() {
            let name: &str = key.get_ref();
            let message = match name {
                "name" | "description" | "model" | "version" | "instance" | "for"
                | "severity" | "actions" | "notify" | "data_drift" => continue,
                "metric" => "a data_drift rule watches the drift windows' columns: name them in data_drift.columns, not with metric".to_string(),
                "detector" => "a data_drift rule has no detector: each column's drift test decides; give either detector or data_drift".to_string(),
                "canary" => "a rule is either a canary rule or a data_drift rule, not both".to_string(),
                other => format!(
                    "unknown key {}; a data_drift rule has: name, description, model, version, instance, for, severity, actions, notify, data_drift",
                    quoted(other)
                ),
            };
            self.error(key.span(), &join(path, name), message);
        }
        let name = self.rule_name(fields, item, path);
        let description = fields
            .get("description")
            .and_then(|value| self.string(value, &join(path, "description")))
            .map(str::to_string);
        let matcher = self.model_matcher(fields, path);
        let for_windows = match fields.get("for") {
            None => Some(1),
            Some(value) => self.integer(value, &join(path, "for"), 1..MAX_FOR_WINDOWS),
        };
        let severity = self.severity(fields, path);
        let actions = match fields.get("actions") {
            None => Some(Vec::new()),
            Some(value) => self
                .actions(value, &join(path, "actions"), RuleKind::Detector)
                .and_then(|actions| {
                    let mut kept = Vec::new();
                    for action in actions {
                        match action {
                            AnyAction::Detector(Action::Retrain) => kept.push(Action::Retrain),
                            other => {
                                let message = format!(
                                    "{} is not an action of data_drift rules; they can retrain",
                                    other.as_str()
                                );
                                self.error(value.span(), &join(path, "actions"), message);
                                return None;
                            }
                        }
                    }
                    Some(kept)
                }),
        };
        let notify = self.rule_notify(fields, path, known);
        let target = fields
            .get("data_drift")
            .and_then(|value| self.drift_target(value, &join(path, "data_drift")));
        if self.errors.len() > errors_before {
            return None;
        }
        Some(DriftRule {
            name: name?,
            description,
            matcher: matcher?,
            target: target?,
            for_windows: u32::try_from(for_windows?).ok()?,
            severity: severity?,
            actions: actions?,
            notify: notify?,
        })
    }

    /// `data_drift = { on = "columns" | "dataset", columns = [...] }`.
    fn drift_target(&mut self, value: &Value<'_>, path: &str) -> Option<DriftTarget> {
        let table = self.table(value, path)?;
        self.only_keys(table, &["on", "columns"], path);
        let on = match table.get("on") {
            None => Some("columns"),
            Some(value) => match self.string(value, &join(path, "on"))? {
                on @ ("columns" | "dataset") => Some(on),
                other => {
                    let message = format!("{} is not one of columns, dataset", quoted(other));
                    self.error(value.span(), &join(path, "on"), message);
                    None
                }
            },
        }?;
        let columns = match table.get("columns") {
            None => None,
            Some(value) => Some(self.drift_columns(value, &join(path, "columns"))?),
        };
        match (on, columns) {
            ("dataset", Some(_)) => {
                let message = "columns applies to on = \"columns\"; the dataset decision counts every column (drift_share)".to_string();
                if let Some(value) = table.get("columns") {
                    self.error(value.span(), &join(path, "columns"), message);
                }
                None
            }
            ("dataset", None) => Some(DriftTarget::Dataset),
            (_, columns) => Some(DriftTarget::Columns(columns)),
        }
    }

    fn drift_columns(&mut self, value: &Value<'_>, path: &str) -> Option<Vec<String>> {
        let columns = self.column_names(value, path, "[\"amount\", \"prediction\"]")?;
        if columns.is_empty() || columns.len() > MAX_DRIFT_RULE_COLUMNS {
            let message = format!(
                "must name from 1 to {MAX_DRIFT_RULE_COLUMNS} columns (leave columns out for every column)"
            );
            self.error(value.span(), path, message);
            return None;
        }
        Some(columns.into_iter().map(|(column, _)| column).collect())
    }
}
