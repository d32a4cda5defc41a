//! Reads a canary rule: a `[[rules]]` entry with a `canary` table instead of a `detector`,
//! which judges a candidate's series of one metric against a baseline's (see
//! `config/canary.rs`). Same style as `parse.rs`: every error located, all of them collected.

use toml::de::DeTable;

use super::rules::{AnyAction, RuleKind};
use super::{Known, Reader, Value, join};
use crate::config::Glob;
use crate::config::canary::{
    CanaryRule, DEFAULT_CANARY_CONFIDENCE, DEFAULT_CANARY_EVERY, DEFAULT_CANARY_MIN_SAMPLES,
    DEFAULT_CANARY_TOLERANCE, DEFAULT_CANARY_WINDOW, MAX_CANARY_WINDOW, SeriesSelector,
};
use crate::metric::{Goal, quoted};

impl Reader<'_> {
    pub(super) fn canary_rule(
        &mut self,
        fields: &DeTable<'_>,
        item: &Value<'_>,
        path: &str,
        known: &Known<'_>,
    ) -> Option<CanaryRule> {
        let errors_before = self.errors.len();
        for (key, _) in fields.iter() {
            let name: &str = key.get_ref();
            let message = match name {
                "name" | "description" | "model" | "metric" | "severity" | "actions"
                | "notify" | "canary" => continue,
                "version" | "instance" => format!(
                    "a canary rule selects versions and instances in canary.candidate and canary.baseline, not with {name}"
                ),
                "detector" => "a canary rule has no detector: it compares the candidate with the baseline by the Mann-Whitney U test; give either detector or canary".to_string(),
                "for" => "`for` does not apply to canary rules: a verdict needs canary.min_samples points on each side".to_string(),
                other => format!(
                    "unknown key {}; a canary rule has: name, description, model, metric, severity, actions, notify, canary",
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
        let model = match fields.get("model") {
            None => Some(Glob::Any),
            Some(value) => self.glob(value, &join(path, "model")),
        };
        let metric = self.rule_metric(fields, item, path, known.catalog);
        if let (Some(metric), Some(value)) = (&metric, fields.get("metric"))
            && known.catalog.goal(metric) == Goal::Unknown
        {
            let message = format!(
                "a canary rule needs a metric with a direction, to know which shift is bad; declare [metrics.{metric}] direction = \"higher_is_better\" or \"lower_is_better\""
            );
            self.error(value.span(), &join(path, "metric"), message);
        }
        let severity = self.severity(fields, path);
        let actions = match fields.get("actions") {
            None => Some(Vec::new()),
            Some(value) => self
                .actions(value, &join(path, "actions"), RuleKind::Canary)
                .map(|actions| {
                    actions
                        .into_iter()
                        .filter_map(|action| match action {
                            AnyAction::Canary(action) => Some(action),
                            AnyAction::Detector(_) => None,
                        })
                        .collect::<Vec<_>>()
                }),
        };
        let notify = self.rule_notify(fields, path, known);
        let canary_path = join(path, "canary");
        let canary = fields
            .get("canary")
            .and_then(|value| self.canary_table(value, &canary_path));
        if self.errors.len() > errors_before {
            return None;
        }
        let canary = canary?;
        Some(CanaryRule {
            name: name?,
            description,
            model: model?,
            metric: metric?,
            candidate: canary.candidate,
            baseline: canary.baseline,
            window: canary.window,
            min_samples: canary.min_samples,
            confidence: canary.confidence,
            tolerance: canary.tolerance,
            every: canary.every,
            severity: severity?,
            actions: actions?,
            notify: notify?,
        })
    }

    fn canary_table(&mut self, value: &Value<'_>, path: &str) -> Option<CanaryTable> {
        let table = self.table(value, path)?;
        self.only_keys(
            table,
            &[
                "candidate",
                "baseline",
                "window",
                "min_samples",
                "confidence",
                "tolerance",
                "every",
            ],
            path,
        );
        let candidate = self
            .required(table, value, path, "candidate")
            .and_then(|side| self.selector(side, &join(path, "candidate")));
        let baseline = self
            .required(table, value, path, "baseline")
            .and_then(|side| self.selector(side, &join(path, "baseline")));
        if let (Some(candidate), Some(baseline), Some(side)) =
            (&candidate, &baseline, table.get("baseline"))
            && candidate == baseline
        {
            self.error(
                side.span(),
                &join(path, "baseline"),
                "the baseline selects the same series as the candidate; they must differ"
                    .to_string(),
            );
        }
        let window = self.count(
            table,
            path,
            "window",
            u64::from(DEFAULT_CANARY_WINDOW),
            1..i64::from(MAX_CANARY_WINDOW) + 1,
        );
        let min_samples = self.count(
            table,
            path,
            "min_samples",
            u64::from(DEFAULT_CANARY_MIN_SAMPLES),
            1..i64::from(MAX_CANARY_WINDOW) + 1,
        );
        if let (Some(window), Some(min_samples)) = (window, min_samples)
            && min_samples > window
        {
            // Point at min_samples when given, else at the window that is too small for it.
            let (span, key) = match (table.get("min_samples"), table.get("window")) {
                (Some(given), _) => (given.span(), "min_samples"),
                (None, Some(given)) => (given.span(), "window"),
                (None, None) => (value.span(), ""),
            };
            let message = format!(
                "min_samples ({min_samples}) is more than the window ({window}) holds; no verdict could ever be reached"
            );
            self.error(span, &join(path, key), message);
        }
        let confidence = match table.get("confidence") {
            None => Some(DEFAULT_CANARY_CONFIDENCE),
            Some(given) => {
                let key_path = join(path, "confidence");
                self.number(given, &key_path).and_then(|confidence| {
                    if confidence > 0.0 && confidence < 1.0 {
                        return Some(confidence);
                    }
                    let message = format!(
                        "must be strictly between 0 and 1 (such as 0.98), got {confidence}"
                    );
                    self.error(given.span(), &key_path, message);
                    None
                })
            }
        };
        let tolerance = match table.get("tolerance") {
            None => Some(DEFAULT_CANARY_TOLERANCE),
            Some(given) => {
                let key_path = join(path, "tolerance");
                self.number(given, &key_path).and_then(|tolerance| {
                    if tolerance >= 0.0 {
                        return Some(tolerance);
                    }
                    let message = format!(
                        "must be 0 or more (a fraction of the baseline's median), got {tolerance}"
                    );
                    self.error(given.span(), &key_path, message);
                    None
                })
            }
        };
        let every = self.count(
            table,
            path,
            "every",
            u64::from(DEFAULT_CANARY_EVERY),
            1..1_000_001,
        );
        Some(CanaryTable {
            candidate: candidate?,
            baseline: baseline?,
            window: u32::try_from(window?).ok()?,
            min_samples: u32::try_from(min_samples?).ok()?,
            confidence: confidence?,
            tolerance: tolerance?,
            every: u32::try_from(every?).ok()?,
        })
    }

    /// `{ instance = "canary-*" }`, `{ version = "2.*" }` or both.
    fn selector(&mut self, value: &Value<'_>, path: &str) -> Option<SeriesSelector> {
        let table = self.table(value, path)?;
        self.only_keys(table, &["version", "instance"], path);
        if !table.contains_key("version") && !table.contains_key("instance") {
            self.error(
                value.span(),
                path,
                "must select by instance, version or both, such as { instance = \"canary-*\" }"
                    .to_string(),
            );
            return None;
        }
        let version = match table.get("version") {
            None => Some(Glob::Any),
            Some(given) => self.glob(given, &join(path, "version")),
        };
        let instance = match table.get("instance") {
            None => Some(Glob::Any),
            Some(given) => self.glob(given, &join(path, "instance")),
        };
        Some(SeriesSelector {
            version: version?,
            instance: instance?,
        })
    }
}

/// The `canary` table of a rule, checked.
struct CanaryTable {
    candidate: SeriesSelector,
    baseline: SeriesSelector,
    window: u32,
    min_samples: u32,
    confidence: f64,
    tolerance: f64,
    every: u32,
}

#[cfg(test)]
mod tests;
