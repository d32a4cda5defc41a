//! Streaming drift on one core, in feature values per second through drift windows: 40
//! numerical and 10 categorical features, a 10,000-row reference (`reference = { first =
//! 10000 }`), windows of 1,000 predictions (`drift_window = 1000`), fed to the quality tracker
//! as `Engine::process` feeds it. Four cases: Evidently's automatic methods (wasserstein and
//! jensenshannon at this size), ks named for every numerical column, and each with
//! `drift_calibrate = 3`; and ks after one window only. Only the values of the measured windows
//! count. Twenty windows are scored
//! before the measurement, as in a service that has been running: the reference is prepared,
//! the calibrated thresholds and the exact ks p-values of the usual D values are cached.
//!
//! `cargo bench -p modelwatch-engine --bench drift_stream`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use modelwatch_engine::config::parse_config;
use modelwatch_engine::quality::QualityTracker;
use modelwatch_engine::{
    Feature, ModelId, Outcome, Prediction, QualityPoint, QualitySource, Timestamp,
};

const NUMERICAL: usize = 40;
const CATEGORICAL: usize = 10;
const REFERENCE: usize = 10_000;
const WINDOW: usize = 1_000;
/// Windows per measured iteration.
const WINDOWS: usize = 2;
/// Windows scored before the measurement.
const WARM_WINDOWS: usize = 20;

fn config_text(ks: bool, calibrate: bool) -> String {
    let mut text = String::from(
        "[[models]]\nname = \"m\"\ntask = \"binary\"\npositive = \"yes\"\nreference = { first = 10000 }\ndrift_window = 1000\n",
    );
    if ks {
        let methods: Vec<String> = (0..NUMERICAL)
            .map(|j| format!("n{j:02} = \"ks\""))
            .collect();
        text.push_str(&format!("drift_methods = {{ {} }}\n", methods.join(", ")));
    }
    if calibrate {
        text.push_str("drift_calibrate = 3\n");
    }
    text
}

/// A deterministic stream of uniform numbers in [0, 1).
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Prediction `n`: numbers roughly normal with a per-column scale and offset (the windows
/// after the reference shifted a little in a few columns), categories skewed over 8 values.
fn prediction(n: usize, stream: &mut Stream) -> Prediction {
    let shifted = n >= REFERENCE && (n / WINDOW) % 2 == 1;
    let mut features = Vec::with_capacity(NUMERICAL + CATEGORICAL);
    for j in 0..NUMERICAL {
        let normal = (0..4).map(|_| stream.next()).sum::<f64>() - 2.0;
        let shift = if shifted && j % 8 == 0 { 0.1 } else { 0.0 };
        let value = (normal + shift) * (1.0 + j as f64) + 10.0 * j as f64;
        features.push((format!("n{j:02}"), Feature::Number(value)));
    }
    for j in 0..CATEGORICAL {
        let u = stream.next();
        let category = (u * u * 8.0) as usize;
        features.push((format!("c{j}"), Feature::Text(format!("cat{category}"))));
    }
    let output = if stream.next() < 0.3 { "yes" } else { "no" };
    match Prediction::new(
        ModelId::new("m", "1", "default"),
        Some(Timestamp::from_secs(1_800_000_000 + n as i64)),
        format!("p{n}"),
        Outcome::Text(output.to_string()),
        None,
        None,
        Some(features),
    ) {
        Ok(prediction) => prediction,
        Err(problems) => panic!("{problems:?}"),
    }
}

fn drift_points(out: &[QualityPoint]) -> usize {
    out.iter()
        .filter(|point| point.source == QualitySource::Drift)
        .count()
}

fn drift_stream(c: &mut Criterion) {
    let mut stream = Stream(0x9e37_79b9_7f4a_7c15);
    let total = REFERENCE + (WARM_WINDOWS + WINDOWS) * WINDOW;
    let predictions: Vec<Prediction> = (0..total).map(|n| prediction(n, &mut stream)).collect();
    let measured = &predictions[REFERENCE + WARM_WINDOWS * WINDOW..];
    let mut group = c.benchmark_group("drift_stream");
    group.sample_size(10);
    group.throughput(Throughput::Elements(
        (measured.len() * (NUMERICAL + CATEGORICAL)) as u64,
    ));
    // ks_after_one_window: as ks, with one window scored before rather than twenty, so that
    // most exact ks p-values are computed rather than found in the cache.
    for (name, ks, calibrate, warm_windows) in [
        ("auto", false, false, WARM_WINDOWS),
        ("ks", true, false, WARM_WINDOWS),
        ("auto_calibrated", false, true, WARM_WINDOWS),
        ("ks_calibrated", true, true, WARM_WINDOWS),
        ("ks_after_one_window", true, false, 1),
    ] {
        let warm = &predictions[..REFERENCE + warm_windows * WINDOW];
        let config = match parse_config(&config_text(ks, calibrate)) {
            Ok(parsed) => Arc::new(parsed.config),
            Err(errors) => panic!("{errors}"),
        };
        let mut tracker = QualityTracker::new(config);
        let mut out = Vec::new();
        for (n, prediction) in warm.iter().enumerate() {
            let at = prediction.timestamp.unwrap_or(Timestamp::EPOCH);
            tracker.on_prediction(n as u64 + 1, at, prediction, &mut out);
        }
        assert_eq!(
            drift_points(&out),
            warm_windows,
            "windows scored before measuring"
        );
        group.bench_function(name, |b| {
            b.iter_batched(
                || tracker.clone(),
                |mut tracker| {
                    let mut out = Vec::new();
                    for (n, prediction) in measured.iter().enumerate() {
                        let at = prediction.timestamp.unwrap_or(Timestamp::EPOCH);
                        tracker.on_prediction(n as u64 + 1, at, prediction, &mut out);
                    }
                    assert_eq!(drift_points(&out), WINDOWS);
                    black_box(out)
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, drift_stream);
criterion_main!(benches);
