//! The per-series gauges of `GET /metrics`: each exported series' latest value and where each
//! rule stands on it, encoded at scrape time from the writer's answer ([`SeriesSnapshot`]) by
//! a `prometheus-client` collector, in a registry made for that scrape.
//!
//! At most `ServiceOptions::max_exported_series` series are exported (the first in the engine's
//! order: model, metric); a comment and `modelwatch_series_omitted` say how many were left out.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, prometheus_text};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use modelwatch_engine::quality::TrafficCounts;
use modelwatch_engine::{ModelId, RuleState, RuleStatus};

/// What the writer answers a scrape with: the rules of the first series, and how many series
/// were left out.
#[derive(Clone, Debug, Default)]
pub struct SeriesSnapshot {
    /// Every rule's status on the exported series, in the engine's order.
    pub rules: Vec<RuleStatus>,
    /// Series exported.
    pub exported: usize,
    /// Series left out by the cap.
    pub omitted: usize,
    /// How each model's predictions and labels have gone, by model name.
    pub traffic: Vec<TrafficSnapshot>,
}

/// One model's predictions and labels: the engine's counts and the predictions that wait.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrafficSnapshot {
    /// The model's name.
    pub model: String,
    /// What became of its predictions and labels.
    pub counts: TrafficCounts,
    /// Predictions waiting for their labels.
    pub pending: usize,
}

impl SeriesSnapshot {
    /// Keeps the rules of the first `cap` series of `status` (sorted by model and metric, so
    /// a series' rules are adjacent).
    pub fn capped(mut status: Vec<RuleStatus>, cap: usize) -> SeriesSnapshot {
        let mut series = 0;
        let mut previous: Option<(ModelId, String)> = None;
        status.retain(|rule| {
            let same = previous
                .as_ref()
                .is_some_and(|(model, metric)| *model == rule.model && *metric == rule.metric);
            if !same {
                series += 1;
                previous = Some((rule.model.clone(), rule.metric.clone()));
            }
            series <= cap
        });
        SeriesSnapshot {
            rules: status,
            exported: series.min(cap),
            omitted: series.saturating_sub(cap),
            traffic: Vec::new(),
        }
    }

    /// The first rule of each series: one a series, in order.
    fn series(&self) -> impl Iterator<Item = &RuleStatus> {
        let mut previous: Option<&RuleStatus> = None;
        self.rules.iter().filter(move |rule| {
            let same = previous.is_some_and(|previous| {
                previous.model == rule.model && previous.metric == rule.metric
            });
            previous = Some(rule);
            !same
        })
    }
}

/// Appends the series' comment and gauges to `out`.
pub(super) fn encode(out: &mut String, series: SeriesSnapshot) {
    out.push_str(&format!(
        "# modelwatch exports {} series; {} more left out by the cap on exported series\n",
        series.exported, series.omitted
    ));
    let mut registry = Registry::default();
    registry.register_collector(Box::new(SeriesCollector(series)));
    // Writing to a String cannot fail, and neither can the collector.
    let _ = prometheus_text::encode(out, &registry);
}

/// The labels that name a series.
fn series_labels(rule: &RuleStatus) -> [(&'static str, &str); 4] {
    [
        ("model", &rule.model.name),
        ("version", &rule.model.version),
        ("instance", &rule.model.instance),
        ("metric", &rule.metric),
    ]
}

/// Encodes one scrape's series.
#[derive(Debug)]
struct SeriesCollector(SeriesSnapshot);

impl Collector for SeriesCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snapshot = &self.0;
        ConstGauge::new(snapshot.omitted).encode(encoder.encode_descriptor(
            "modelwatch_series_omitted",
            "Series not exported because of the cap on exported series.",
            None,
            MetricType::Gauge,
        )?)?;

        let mut metric = encoder.encode_descriptor(
            "modelwatch_series_value",
            "The latest value of each series.",
            None,
            MetricType::Gauge,
        )?;
        for rule in snapshot.series() {
            ConstGauge::new(rule.last_value).encode(metric.encode_family(&series_labels(rule))?)?;
        }

        let mut metric = encoder.encode_descriptor(
            "modelwatch_alert_firing",
            "1 when the rule's alert on the series is firing, else 0.",
            None,
            MetricType::Gauge,
        )?;
        for rule in &snapshot.rules {
            let labels = (series_labels(rule), [("rule", &*rule.rule)]);
            ConstGauge::new(u32::from(rule.state == RuleState::Firing))
                .encode(metric.encode_family(&labels)?)?;
        }

        let mut metric = encoder.encode_descriptor(
            "modelwatch_rule_state",
            "Where each rule stands on each series: 1 for its current state.",
            None,
            MetricType::Gauge,
        )?;
        for rule in &snapshot.rules {
            let labels = (
                series_labels(rule),
                [("rule", &*rule.rule), ("state", rule.state.as_str())],
            );
            ConstGauge::new(1u32).encode(metric.encode_family(&labels)?)?;
        }
        encode_traffic(&snapshot.traffic, &mut encoder)
    }
}

/// Reads one count of a model's traffic.
type CountOf = fn(&TrafficCounts) -> u64;

/// The counters of each model's predictions and labels (docs/quality.md).
fn encode_traffic(
    traffic: &[TrafficSnapshot],
    encoder: &mut DescriptorEncoder,
) -> Result<(), std::fmt::Error> {
    if traffic.is_empty() {
        return Ok(());
    }
    let counters: [(&str, &str, CountOf); 4] = [
        (
            "modelwatch_predictions",
            "Predictions taken into the join of each model.",
            |counts| counts.predictions,
        ),
        (
            "modelwatch_predictions_duplicate",
            "Predictions ignored because a prediction with the same id was waiting.",
            |counts| counts.duplicates,
        ),
        (
            "modelwatch_predictions_expired",
            "Predictions whose label horizon passed without a label.",
            |counts| counts.expired,
        ),
        (
            "modelwatch_traffic_unusable",
            "Predictions and labels that do not fit the model's task (the config changed since they were stored).",
            |counts| counts.unusable,
        ),
    ];
    for (name, help, count) in counters {
        let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
        for model in traffic {
            ConstCounter::new(count(&model.counts))
                .encode(metric.encode_family(&[("model", model.model.as_str())])?)?;
        }
    }
    let mut metric = encoder.encode_descriptor(
        "modelwatch_labels",
        "Labels of each model by outcome: joined (in time), late (after the horizon), unmatched (no prediction waiting).",
        None,
        MetricType::Counter,
    )?;
    for model in traffic {
        for (outcome, count) in [
            ("joined", model.counts.joined),
            ("late", model.counts.late),
            ("unmatched", model.counts.unmatched),
        ] {
            let labels = [("model", model.model.as_str()), ("outcome", outcome)];
            ConstCounter::new(count).encode(metric.encode_family(&labels)?)?;
        }
    }
    let mut metric = encoder.encode_descriptor(
        "modelwatch_predictions_pending",
        "Predictions of each model waiting for their labels.",
        None,
        MetricType::Gauge,
    )?;
    for model in traffic {
        ConstGauge::new(model.pending as i64)
            .encode(metric.encode_family(&[("model", model.model.as_str())])?)?;
    }
    Ok(())
}
