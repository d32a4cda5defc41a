//! Engine throughput on one core, in metric values per second: 1,000 series, 5 rules each.
//!
//! `cargo bench -p modelwatch-engine --bench engine`

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use modelwatch_engine::Engine;
use modelwatch_engine::config::parse_config;

#[path = "workload.rs"]
mod workload;

fn engine_throughput(c: &mut Criterion) {
    let config = match parse_config(&workload::config_text()) {
        Ok(parsed) => Arc::new(parsed.config),
        Err(errors) => panic!("{errors}"),
    };
    let inputs = workload::inputs(20_000);
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(
        (inputs.len() * workload::METRICS_PER_EVENT) as u64,
    ));
    let mut engine = Engine::new(config);
    let mut outputs = Vec::new();
    // Warm up: create every series once, so the loop measures the steady state.
    for input in &inputs {
        engine.process(input, &mut outputs);
    }
    group.bench_function("process/1000_series_5_rules", |b| {
        b.iter(|| {
            for input in &inputs {
                engine.process(input, &mut outputs);
                outputs.clear();
            }
        })
    });
    group.finish();
}

criterion_group!(benches, engine_throughput);
criterion_main!(benches);
