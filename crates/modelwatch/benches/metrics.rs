//! `GET /metrics` at the default cap: rendering the exposition of every counter and 10,000
//! exported series (their latest values and rule states under the built-in config), from the
//! same counters and the same `SeriesSnapshot` the writer answers a scrape with.
//!
//! `cargo bench -p modelwatch --bench metrics`
//!
//! `metrics/render` is what a scrape costs: `runtime::metrics::render` (encoded by
//! `prometheus-client`), which takes the scrape's snapshot and drops it. `drop_snapshot` is that
//! drop alone. `render_fresh_registry` is the design not taken: the series as
//! `prometheus-client` families filled in a registry made for each scrape, instead of the
//! collector that encodes them straight from the snapshot. BENCHMARKS.md has the figures, and
//! those of the hand-written renderer this replaced.

// The bench reports the size of what it renders on the terminal.
#![allow(clippy::print_stderr)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use modelwatch::engine::config::default_config;
use modelwatch::runtime::metrics::{self, DeliveryOutcome, Metrics, Rejection, SeriesSnapshot};
use modelwatch::{Engine, Format, WireParser};

/// The series exported: `metrics::DEFAULT_MAX_EXPORTED_SERIES`.
const SERIES: usize = metrics::DEFAULT_MAX_EXPORTED_SERIES;

/// Series per instance under the built-in config: five metrics sent and `macro_score`.
const SERIES_PER_INSTANCE: usize = 6;

/// Events per instance: enough for some rules to judge, and for a few alerts to fire.
const EVENTS_PER_INSTANCE: usize = 3;

/// The status of at least `SERIES` series, as the writer caps it for a scrape.
fn series_snapshot() -> SeriesSnapshot {
    let config = match default_config() {
        Ok(config) => Arc::new(config),
        Err(errors) => panic!("{errors}"),
    };
    let instances = SERIES.div_ceil(SERIES_PER_INSTANCE);
    let mut text = String::new();
    for round in 0..EVENTS_PER_INSTANCE {
        for instance in 0..instances {
            // One instance in 50 degrades on its last event.
            let quality = if round + 1 == EVENTS_PER_INSTANCE && instance % 50 == 0 {
                0.6
            } else {
                0.95 - 0.01 * (instance % 5) as f64
            };
            let second = round * instances + instance;
            text.push_str(&format!(
                r#"{{"model":{{"name":"model-{}","version":"1.0.0","instance":"pod-{instance}"}},"timestamp":"2026-01-01T{:02}:{:02}:{:02}Z","metrics":{{"accuracy":{quality},"precision":{quality},"recall":{quality},"f1":{quality},"latency_ms":{}}}}}"#,
                instance % 100,
                second / 3600,
                second / 60 % 60,
                second % 60,
                40 + instance % 7,
            ));
            text.push('\n');
        }
    }
    let inputs = match WireParser::new(&config.catalog).parse_batch(&text, Format::Ndjson) {
        Ok(inputs) => inputs,
        Err(error) => panic!("{error}"),
    };
    let mut engine = Engine::new(config);
    let mut outputs = Vec::new();
    for input in &inputs {
        engine.process(input, &mut outputs);
        outputs.clear();
    }
    SeriesSnapshot::capped(engine.status(), SERIES)
}

/// Counters with a sample under every label a running serve shows.
fn counters() -> Metrics {
    let metrics = Metrics::default();
    for step in 0..1_000u64 {
        let decisions: &[(&'static str, &'static str)] = match step % 10 {
            0 => &[("granted", "alert_firing")],
            1 => &[("suppressed", "cooldown"), ("recommended", "alert_firing")],
            _ => &[],
        };
        metrics.record_commit(
            Duration::from_micros(300 + step * 37 % 30_000),
            64,
            decisions,
        );
    }
    for rejection in [
        Rejection::Syntax,
        Rejection::Invalid,
        Rejection::TooLarge,
        Rejection::QueueFull,
    ] {
        metrics.record_refusal(rejection);
    }
    metrics.set_deleted(120_000, 600_000);
    metrics.record_deleted(1_000, 5_000);
    metrics.record_snapshot(1_200_000);
    metrics.record_points_pending(65_000);
    metrics.record_checkpoint(true);
    for notifier in ["ops-webhook", "pager \"night\""] {
        for outcome in [
            DeliveryOutcome::Delivered,
            DeliveryOutcome::Failed,
            DeliveryOutcome::GivenUp,
        ] {
            metrics.record_delivery(notifier, outcome);
        }
    }
    metrics.record_job_started("command");
    metrics.record_job_started("http");
    metrics.record_job_attempt_ended("succeeded");
    metrics.record_job_attempt_ended("timed_out");
    metrics
}

fn render_exposition(c: &mut Criterion) {
    let snapshot = series_snapshot();
    let metrics = counters();
    let text = metrics::render(&metrics, 3, Some(snapshot.clone()));
    eprintln!(
        "exposition: {} series ({} rule statuses, {} omitted), {} bytes, {} lines",
        snapshot.exported,
        snapshot.rules.len(),
        snapshot.omitted,
        text.len(),
        text.lines().count()
    );
    // `render` takes the snapshot (a scrape's own) and drops it: the copy is made outside the
    // timing, the drop is inside, as in serve.
    c.bench_function("metrics/render/10000_series", |b| {
        b.iter_batched(
            || snapshot.clone(),
            |snapshot| metrics::render(&metrics, 3, Some(snapshot)),
            BatchSize::LargeInput,
        )
    });
    c.bench_function("metrics/drop_snapshot/10000_series", |b| {
        b.iter_batched(|| snapshot.clone(), drop, BatchSize::LargeInput)
    });
    let text = fresh_registry::render(&metrics, &snapshot);
    eprintln!("exposition with a fresh registry: {} bytes", text.len());
    c.bench_function("metrics/render_fresh_registry/10000_series", |b| {
        b.iter(|| fresh_registry::render(&metrics, &snapshot))
    });
}

/// The series gauges as `prometheus-client` metric families in a registry made for each
/// scrape, instead of a collector that encodes them from the snapshot: the alternative
/// `metrics::render` does not take, measured here.
mod fresh_registry {
    use prometheus_client::encoding::{EncodeLabelSet, prometheus_text};
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::gauge::Gauge;
    use prometheus_client::registry::Registry;
    use std::sync::atomic::AtomicU64;

    use modelwatch::engine::RuleState;
    use modelwatch::runtime::metrics::{self, Metrics, SeriesSnapshot};

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct SeriesLabels {
        model: String,
        version: String,
        instance: String,
        metric: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct RuleLabels {
        #[prometheus(flatten)]
        series: SeriesLabels,
        rule: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct StateLabels {
        #[prometheus(flatten)]
        series: SeriesLabels,
        rule: String,
        state: &'static str,
    }

    pub fn render(metrics: &Metrics, snapshot: &SeriesSnapshot) -> String {
        let mut out = metrics::render(metrics, 3, None);
        out.push_str(&format!(
            "# modelwatch exports {} series; {} more left out by the cap on exported series\n",
            snapshot.exported, snapshot.omitted
        ));
        let omitted = Gauge::<u64, AtomicU64>::default();
        omitted.set(snapshot.omitted as u64);
        let values = Family::<SeriesLabels, Gauge<f64, AtomicU64>>::default();
        let firing = Family::<RuleLabels, Gauge>::default();
        let states = Family::<StateLabels, Gauge>::default();
        for rule in &snapshot.rules {
            let series = SeriesLabels {
                model: rule.model.name.clone(),
                version: rule.model.version.clone(),
                instance: rule.model.instance.clone(),
                metric: rule.metric.clone(),
            };
            values.get_or_create(&series).set(rule.last_value);
            firing
                .get_or_create(&RuleLabels {
                    series: series.clone(),
                    rule: rule.rule.to_string(),
                })
                .set(i64::from(rule.state == RuleState::Firing));
            states
                .get_or_create(&StateLabels {
                    series,
                    rule: rule.rule.to_string(),
                    state: rule.state.as_str(),
                })
                .set(1);
        }
        let mut registry = Registry::default();
        registry.register(
            "modelwatch_series_omitted",
            "Series not exported because of the cap on exported series",
            omitted,
        );
        registry.register(
            "modelwatch_series_value",
            "The latest value of each series",
            values,
        );
        registry.register(
            "modelwatch_alert_firing",
            "1 when the rule's alert on the series is firing, else 0",
            firing,
        );
        registry.register(
            "modelwatch_rule_state",
            "Where each rule stands on each series: 1 for its current state",
            states,
        );
        let _ = prometheus_text::encode(&mut out, &registry);
        out
    }
}

criterion_group!(benches, render_exposition);
criterion_main!(benches);
