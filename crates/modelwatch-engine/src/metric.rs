//! Metric names and the catalogue of what each metric means: direction and valid range.
//!
//! Well-known metrics (DESIGN.md section 3) are built in; custom metrics get their direction
//! and range from the `[metrics.NAME]` tables of the config. Nothing here does I/O.

use std::collections::HashMap;

/// Which way a metric gets better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// Larger values are better (accuracy, f1, ...).
    HigherIsBetter,
    /// Smaller values are better (latency, error rate, drift score, ...).
    LowerIsBetter,
    /// No known direction (an undeclared custom metric).
    Unknown,
}

impl Goal {
    /// The config spelling of the goal.
    pub fn as_str(self) -> &'static str {
        match self {
            Goal::HigherIsBetter => "higher_is_better",
            Goal::LowerIsBetter => "lower_is_better",
            Goal::Unknown => "unknown",
        }
    }
}

/// What a metric is: its direction and the closed range its values must lie in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricInfo {
    /// Which way the metric improves.
    pub goal: Goal,
    /// Smallest valid value, inclusive.
    pub min: Option<f64>,
    /// Largest valid value, inclusive.
    pub max: Option<f64>,
    /// Whether every value is exactly 0 or 1: one prediction's outcome (1 = wrong), the input of
    /// the binary detectors (`ddm`, `eddm`, `hddm_a`, `hddm_w`, `fhddm`).
    pub binary: bool,
}

impl MetricInfo {
    const fn unit_interval(goal: Goal) -> MetricInfo {
        MetricInfo {
            goal,
            min: Some(0.0),
            max: Some(1.0),
            binary: false,
        }
    }

    const fn zero_or_one(goal: Goal) -> MetricInfo {
        MetricInfo {
            goal,
            min: Some(0.0),
            max: Some(1.0),
            binary: true,
        }
    }

    const fn non_negative(goal: Goal) -> MetricInfo {
        MetricInfo {
            goal,
            min: Some(0.0),
            max: None,
            binary: false,
        }
    }

    /// A custom metric with the given direction and range, not binary.
    pub const fn new(goal: Goal, min: Option<f64>, max: Option<f64>) -> MetricInfo {
        MetricInfo {
            goal,
            min,
            max,
            binary: false,
        }
    }

    /// Whether `value` is valid for the metric: in its range, and 0 or 1 if it is binary.
    pub fn contains(&self, value: f64) -> bool {
        if self.binary {
            return value == 0.0 || value == 1.0;
        }
        self.min.is_none_or(|min| value >= min) && self.max.is_none_or(|max| value <= max)
    }

    /// The valid values written for people: `0 or 1`, `[0, 1]`, `>= 0`, `<= 5`, or
    /// `any finite number`.
    pub fn range_text(&self) -> String {
        if self.binary {
            return "0 or 1 (one prediction: 1 = wrong, 0 = right)".to_string();
        }
        match (self.min, self.max) {
            (Some(min), Some(max)) => format!("[{min}, {max}]"),
            (Some(min), None) => format!(">= {min}"),
            (None, Some(max)) => format!("<= {max}"),
            (None, None) => "any finite number".to_string(),
        }
    }
}

/// The derived metric: mean of accuracy, precision, recall and f1 when an event has all four.
pub const MACRO_SCORE: &str = "macro_score";

/// The four metrics whose mean is [`MACRO_SCORE`], in the order they are summed.
pub const MACRO_SCORE_PARTS: [&str; 4] = ["accuracy", "precision", "recall", "f1"];

/// The built-in binary metric: one prediction's outcome, 1 if it was wrong, 0 if right.
pub const ERROR: &str = "error";

/// The longest metric name accepted.
pub const MAX_METRIC_NAME_LEN: usize = 64;

/// Looks up a built-in metric. `f1_score` is not listed: it is an alias that the event
/// parser rewrites to `f1` (see [`canonical_metric_name`]).
pub fn well_known(name: &str) -> Option<MetricInfo> {
    use Goal::{HigherIsBetter, LowerIsBetter};
    let info = match name {
        "accuracy" | "precision" | "recall" | "f1" | "auc" | MACRO_SCORE => {
            MetricInfo::unit_interval(HigherIsBetter)
        }
        // Computed from predictions and labels (docs/quality.md); pushed values are held to
        // the same ranges.
        "roc_auc"
        | "average_precision"
        | "precision_macro"
        | "recall_macro"
        | "f1_macro"
        | "precision_weighted"
        | "recall_weighted"
        | "f1_weighted"
        | "roc_auc_ovr"
        | "label_coverage"
        | "estimated_accuracy"
        | "estimated_precision"
        | "estimated_recall"
        | "estimated_f1"
        | "estimated_roc_auc" => MetricInfo::unit_interval(HigherIsBetter),
        "brier" => MetricInfo::unit_interval(LowerIsBetter),
        "log_loss" | "mae" | "mse" | "rmse" | "mape" | "median_ae" | "max_error" => {
            MetricInfo::non_negative(LowerIsBetter)
        }
        "r2" => MetricInfo::new(HigherIsBetter, None, Some(1.0)),
        "error_rate" => MetricInfo::unit_interval(LowerIsBetter),
        ERROR => MetricInfo::zero_or_one(LowerIsBetter),
        "latency_ms" | "drift_score" => MetricInfo::non_negative(LowerIsBetter),
        _ => return None,
    };
    Some(info)
}

/// Maps an alias to its canonical name (`f1_score` to `f1`); other names are returned as is.
pub fn canonical_metric_name(name: &str) -> &str {
    match name {
        "f1_score" => "f1",
        other => other,
    }
}

/// The prefix of the series of a column's drift score: `drift.<column>` (`docs/drift.md`).
pub const DRIFT_PREFIX: &str = "drift.";

/// Checks the name of a series a rule may watch or `/v1/series` may read: a metric name
/// ([`check_metric_name`]), or `drift.<column>` where the column is a feature name (1 to 256
/// bytes, no control characters) or `prediction`.
///
/// # Errors
///
/// Returns a sentence saying what is wrong with the name.
pub fn check_series_name(name: &str) -> Result<(), String> {
    match name.strip_prefix(DRIFT_PREFIX) {
        Some(column) => {
            if column.is_empty() || column.len() > 256 || column.chars().any(char::is_control) {
                Err(format!(
                    "{} names no column: drift.<column> takes a feature name of 1 to 256 bytes without control characters",
                    quoted(name)
                ))
            } else {
                Ok(())
            }
        }
        None => check_metric_name(name),
    }
}

/// Checks a metric name against `[a-z][a-z0-9_]{0,63}`.
///
/// # Errors
///
/// Returns a sentence saying what is wrong with the name.
pub fn check_metric_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Err("metric name is empty".to_string()),
        Some(first) if !first.is_ascii_lowercase() => {
            return Err(format!(
                "metric name {} must start with a lowercase letter (names match [a-z][a-z0-9_]{{0,63}})",
                quoted(name)
            ));
        }
        Some(_) => {}
    }
    if name.len() > MAX_METRIC_NAME_LEN {
        return Err(format!(
            "metric name {} is {} bytes long; the limit is {MAX_METRIC_NAME_LEN}",
            quoted(name),
            name.len()
        ));
    }
    if let Some(bad) = chars.find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Err(format!(
            "metric name {} contains {bad:?}; names match [a-z][a-z0-9_]{{0,63}}",
            quoted(name)
        ));
    }
    Ok(())
}

/// Quotes a user-supplied string for an error message, cut to a readable length.
pub fn quoted(text: &str) -> String {
    const LIMIT: usize = 64;
    if text.len() <= LIMIT {
        return format!("{text:?}");
    }
    let mut end = LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}... ({} bytes)", &text[..end], text.len())
}

/// Every metric the engine knows: the built-in ones plus the config's custom declarations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricCatalog {
    custom: HashMap<String, MetricInfo>,
}

impl MetricCatalog {
    /// A catalogue with only the well-known metrics.
    pub fn new() -> MetricCatalog {
        MetricCatalog::default()
    }

    /// Declares a custom metric; a later declaration of the same name replaces the earlier one.
    pub fn declare(&mut self, name: &str, info: MetricInfo) {
        self.custom.insert(name.to_string(), info);
    }

    /// What the catalogue knows of `name`, if anything.
    pub fn get(&self, name: &str) -> Option<MetricInfo> {
        if let Some(info) = well_known(name) {
            return Some(info);
        }
        if self.custom.is_empty() {
            return None;
        }
        self.custom.get(name).copied()
    }

    /// The goal of `name`; `Unknown` for an undeclared custom metric.
    pub fn goal(&self, name: &str) -> Goal {
        self.get(name).map_or(Goal::Unknown, |info| info.goal)
    }

    /// Whether the metric is built in or declared.
    pub fn is_known(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_ranges_and_goals() {
        let accuracy = well_known("accuracy").unwrap();
        assert_eq!(accuracy.goal, Goal::HigherIsBetter);
        assert!(accuracy.contains(0.0) && accuracy.contains(1.0));
        assert!(!accuracy.contains(1.000001) && !accuracy.contains(-0.1));
        let latency = well_known("latency_ms").unwrap();
        assert_eq!(latency.goal, Goal::LowerIsBetter);
        assert!(latency.contains(1e9) && !latency.contains(-1.0));
        assert_eq!(latency.range_text(), ">= 0");
        assert!(
            well_known("f1_score").is_none(),
            "aliases are rewritten before lookup"
        );
        assert_eq!(canonical_metric_name("f1_score"), "f1");
    }

    #[test]
    fn metric_names() {
        assert!(check_metric_name("my_kpi_2").is_ok());
        assert!(check_metric_name(&"a".repeat(64)).is_ok());
        let long = check_metric_name(&"a".repeat(65)).unwrap_err();
        assert!(long.contains("65 bytes"), "{long}");
        assert!(check_metric_name("").unwrap_err().contains("empty"));
        assert!(
            check_metric_name("2fast")
                .unwrap_err()
                .contains("start with a lowercase")
        );
        assert!(check_metric_name("Accuracy").is_err());
        assert!(check_metric_name("latency-ms").unwrap_err().contains("'-'"));
    }

    #[test]
    fn custom_metrics_are_looked_up_after_built_ins() {
        let mut catalog = MetricCatalog::new();
        assert_eq!(catalog.goal("my_kpi"), Goal::Unknown);
        catalog.declare(
            "my_kpi",
            MetricInfo::new(Goal::HigherIsBetter, None, Some(100.0)),
        );
        assert_eq!(catalog.goal("my_kpi"), Goal::HigherIsBetter);
        assert!(!catalog.get("my_kpi").unwrap().contains(101.0));
        assert!(catalog.is_known("accuracy"));
        let error = catalog.get("error").unwrap();
        assert!(error.binary && error.contains(0.0) && error.contains(1.0));
        assert!(!error.contains(0.5) && !error.contains(2.0));
        assert_eq!(
            error.range_text(),
            "0 or 1 (one prediction: 1 = wrong, 0 = right)"
        );
    }

    #[test]
    fn quoting_cuts_long_input() {
        let text = "é".repeat(100);
        let quoted = quoted(&text);
        assert!(quoted.ends_with("(200 bytes)"), "{quoted}");
    }
}
