//! Monitor throughput, in metric values per second, with the engine bench's workload
//! (1,000 series, 5 rules each), ingested in batches of 1,000 events, for 1, 2 and 4 shards.
//!
//! `cargo bench -p modelwatch --bench monitor`

use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use modelwatch::engine::config::parse_config;
use modelwatch::{Monitor, MonitorOptions};

#[path = "../../modelwatch-engine/benches/workload.rs"]
mod workload;

fn monitor_throughput(c: &mut Criterion) {
    let config = match parse_config(&workload::config_text()) {
        Ok(parsed) => Arc::new(parsed.config),
        Err(errors) => panic!("{errors}"),
    };
    let inputs = workload::inputs(20_000);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => panic!("{error}"),
    };
    let mut group = c.benchmark_group("monitor");
    group.throughput(Throughput::Elements(
        (inputs.len() * workload::METRICS_PER_EVENT) as u64,
    ));
    for shards in [1, 2, 4] {
        let monitor = runtime.block_on(async {
            let monitor = Monitor::start(config.clone(), MonitorOptions::default().shards(shards))?;
            // Warm up: create every series once.
            monitor.ingest_batch(inputs.clone()).await?;
            monitor.flush().await?;
            Ok::<_, modelwatch::MonitorError>(Arc::new(monitor))
        });
        let monitor = match monitor {
            Ok(monitor) => monitor,
            Err(error) => panic!("{error}"),
        };
        group.bench_function(
            format!("ingest_batch/1000_series_5_rules/{shards}_shards"),
            |b| {
                b.to_async(&runtime).iter_batched(
                    || inputs.chunks(1000).map(<[_]>::to_vec).collect::<Vec<_>>(),
                    |batches| {
                        let monitor = monitor.clone();
                        async move {
                            for batch in batches {
                                let _ = monitor.ingest_batch(batch).await;
                            }
                            let _ = monitor.flush().await;
                        }
                    },
                    BatchSize::PerIteration,
                )
            },
        );
    }
    group.finish();
}

criterion_group!(benches, monitor_throughput);
criterion_main!(benches);
