//! Criterion benchmarks: nanoseconds per `Detector::update` for every detector kind, on the
//! streams and with the method River's timing uses (20,000 warm-up updates on the detector, then
//! 1,000,000 timed updates; see `support/streams.rs` and `tools/river_bench.py`). The binary
//! detectors run on the 0/1 error stream `bin_abrupt`, the others on the real-valued streams;
//! `kswin` is timed over the first 100,000 points only (it is O(window) per update).

// Benchmark setup fails loudly on impossible specs; that is fine outside library code.
#![allow(clippy::expect_used)]

#[path = "support/streams.rs"]
mod streams;

use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use modelwatch_detectors::{
    Adwin, AdwinParams, Detector, DetectorSpec, PageHinkley, PageHinkleyParams, ParamValue, Signal,
};

/// A named stream: `(name, warm-up points, timed points)`.
struct Stream {
    name: &'static str,
    warm_up: Vec<f64>,
    timed: Vec<f64>,
}

/// Timed updates for `kswin`, whose update draws a sample and walks the whole window.
const KSWIN_TIMED_LEN: usize = 100_000;

/// The real-valued streams (`real_abrupt`, `real_nodrift`) and the binary one (`bin_abrupt`).
fn streams() -> (Vec<Stream>, Vec<Stream>) {
    let abrupt = streams::real_abrupt_block();
    let nodrift = streams::real_nodrift_block();
    let binary = streams::bin_abrupt_block();
    assert_eq!(
        streams::fingerprint(&[&abrupt, &nodrift, &binary]),
        streams::BLOCKS_FINGERPRINT,
        "benchmark streams differ from the recipe River is timed on"
    );
    let stream = |name, block: Vec<f64>| Stream {
        name,
        warm_up: streams::tiled(&block, streams::WARM_UP_LEN),
        timed: streams::tiled(&block, streams::TIMED_LEN),
    };
    (
        vec![
            stream("real_abrupt", abrupt),
            stream("real_nodrift", nodrift),
        ],
        vec![stream("bin_abrupt", binary)],
    )
}

/// The first `len` timed points of each stream (same warm-up).
fn shortened(streams: &[Stream], len: usize) -> Vec<Stream> {
    streams
        .iter()
        .map(|stream| Stream {
            name: stream.name,
            warm_up: stream.warm_up.clone(),
            timed: stream.timed[..len].to_vec(),
        })
        .collect()
}

fn spec(kind: &str, params: &[(&str, ParamValue)]) -> DetectorSpec {
    let params: Vec<(String, ParamValue)> = params
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect();
    DetectorSpec::parse(kind, &params).expect("valid benchmark spec")
}

/// Feeds every point and folds the signals into a number, so no update can be optimised away.
#[inline(never)]
fn run(detector: &mut Detector, points: &[f64]) -> f64 {
    let mut folded = 0.0;
    for &x in points {
        match detector.update(x) {
            Signal::Statistic(value) => folded += value,
            Signal::Drift => folded += 1.0,
            Signal::NotReady | Signal::Stable | Signal::Warning => {}
        }
    }
    folded
}

/// Benchmarks each `(label, spec)` on each stream in group `group_name`.
fn bench_group(
    criterion: &mut Criterion,
    group_name: &str,
    specs: &[(&str, DetectorSpec)],
    streams: &[Stream],
) {
    let mut group = criterion.benchmark_group(group_name);
    // One iteration is a million updates (milliseconds), so ten samples are plenty.
    group.sample_size(10);
    for (label, spec) in specs {
        for stream in streams {
            group.throughput(Throughput::Elements(stream.timed.len() as u64));
            let mut warmed = spec.build();
            run(&mut warmed, &stream.warm_up);
            group.bench_function(BenchmarkId::new(*label, stream.name), |bencher| {
                bencher.iter_batched(
                    || warmed.clone(),
                    |mut detector| run(&mut detector, black_box(&stream.timed)),
                    BatchSize::PerIteration,
                );
            });
        }
    }
    group.finish();
}

/// Benchmarks a concrete detector struct called directly, without the `Detector` enum's
/// dispatch: the cost of the algorithm itself, as a library user calling the struct pays it.
fn bench_direct<D: Clone>(
    criterion: &mut Criterion,
    group_name: &str,
    fresh: impl Fn() -> D,
    update: impl Fn(&mut D, f64) -> bool + Copy,
    streams: &[Stream],
) {
    let mut group = criterion.benchmark_group(group_name);
    group.sample_size(10);
    group.throughput(Throughput::Elements(streams::TIMED_LEN as u64));
    for stream in streams {
        let mut warmed = fresh();
        for &x in &stream.warm_up {
            update(&mut warmed, x);
        }
        group.bench_function(BenchmarkId::new("default", stream.name), |bencher| {
            bencher.iter_batched(
                || warmed.clone(),
                |mut detector| {
                    let mut drifts = 0_u64;
                    for &x in black_box(&stream.timed) {
                        drifts += u64::from(update(&mut detector, x));
                    }
                    drifts
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

fn detectors(criterion: &mut Criterion) {
    let (streams, binary_streams) = streams();
    bench_direct(
        criterion,
        "modelwatch_detectors::Adwin (struct)",
        || Adwin::new(AdwinParams::default()),
        Adwin::update,
        &streams,
    );
    bench_direct(
        criterion,
        "modelwatch_detectors::PageHinkley (struct)",
        || PageHinkley::new(PageHinkleyParams::default()),
        PageHinkley::update,
        &streams,
    );
    let below = ("below", ParamValue::Float(0.5));
    bench_group(
        criterion,
        "modelwatch_detectors::adwin",
        &[
            ("default", spec("adwin", &[])),
            (
                "clock_1",
                spec("adwin", &[("clock", ParamValue::Integer(1))]),
            ),
        ],
        &streams,
    );
    bench_group(
        criterion,
        "modelwatch_detectors::page_hinkley",
        &[("default", spec("page_hinkley", &[]))],
        &streams,
    );
    bench_group(
        criterion,
        "modelwatch_detectors::threshold",
        &[("below", spec("threshold", std::slice::from_ref(&below)))],
        &streams,
    );
    bench_group(
        criterion,
        "modelwatch_detectors::ema",
        &[("alpha_0.25", spec("ema", std::slice::from_ref(&below)))],
        &streams,
    );
    bench_group(
        criterion,
        "modelwatch_detectors::window_mean",
        &[(
            "window_1000",
            spec(
                "window_mean",
                &[("window", ParamValue::Integer(1000)), below.clone()],
            ),
        )],
        &streams,
    );
    bench_group(
        criterion,
        "modelwatch_detectors::cusum",
        &[
            ("default", spec("cusum", &[])),
            (
                "target_0",
                spec("cusum", &[("target", ParamValue::Float(0.0))]),
            ),
        ],
        &streams,
    );
    bench_group(
        criterion,
        "modelwatch_detectors::kswin",
        &[(
            "seed_42",
            spec("kswin", &[("seed", ParamValue::Integer(42))]),
        )],
        &shortened(&streams, KSWIN_TIMED_LEN),
    );
    for kind in ["ddm", "eddm", "hddm_a", "hddm_w", "fhddm"] {
        bench_group(
            criterion,
            &format!("modelwatch_detectors::{kind}"),
            &[("default", spec(kind, &[]))],
            &binary_streams,
        );
    }
}

criterion_group!(benches, detectors);
criterion_main!(benches);
