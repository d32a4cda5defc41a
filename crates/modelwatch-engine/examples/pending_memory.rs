//! What a prediction waiting for its label costs in memory: feeds 1, 5 and 10 million binary
//! predictions (with a score and 20 features, which the join does not keep) through an
//! [`Engine`] with a `[[models]]` entry, and reports at each size `Engine::pending_bytes()` per
//! pending prediction and the growth of the process's resident memory (VmRSS from
//! /proc/self/status) per pending prediction; then the worst of each per prediction, seen
//! right after a growth of the join's slab or table.
//!
//! ```sh
//! cargo run --release -p modelwatch-engine --example pending_memory            # 1M, 5M, 10M
//! cargo run --release -p modelwatch-engine --example pending_memory -- 2000000  # other sizes
//! ```
//!
//! BENCHMARKS.md ("Predictions and labels") has the figures. One prediction is built once and
//! changed in place (id, time), so the inputs themselves take no memory that grows.

// An example binary reports on the terminal; the workspace denies printing in library code.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::Write as _;
use std::sync::Arc;

use modelwatch_engine::{
    Engine, Feature, Input, ModelId, Outcome, Prediction, Timestamp, parse_config,
};

const CONFIG: &str = r#"
[[models]]
name = "fraud"
task = "binary"
positive = "fraud"
window = 500
label_horizon_secs = 2592000
"#;

/// Smallest count at which a worst case is taken: below it, the first allocations dominate.
const WORST_FROM: usize = 100_000;

fn main() {
    let sizes: Vec<usize> = {
        let given: Vec<usize> = std::env::args()
            .skip(1)
            .map(|arg| {
                arg.replace('_', "").parse().unwrap_or_else(|_| {
                    eprintln!("pending_memory: {arg:?} is not a count of predictions");
                    std::process::exit(2);
                })
            })
            .collect();
        if given.is_empty() {
            vec![1_000_000, 5_000_000, 10_000_000]
        } else {
            given
        }
    };
    let config = match parse_config(CONFIG) {
        Ok(parsed) => Arc::new(parsed.config),
        Err(errors) => {
            eprintln!("pending_memory: {errors}");
            std::process::exit(1);
        }
    };
    let mut engine = Engine::new(config);
    let mut input = Input::Prediction(Prediction {
        model: ModelId::new("fraud", "1.0.0", "pod-0"),
        timestamp: None,
        id: String::new(),
        output: Outcome::Text("ok".to_string()),
        score: Some(0.25),
        scores: None,
        features: Some(
            (0..20)
                .map(|n| {
                    let value = match n % 3 {
                        0 => Feature::Number(f64::from(n) * 1.5),
                        1 => Feature::Text(format!("value-{n}")),
                        _ if n == 2 => Feature::Null,
                        _ => Feature::Number(f64::from(n)),
                    };
                    (format!("f{n:02}"), value)
                })
                .collect(),
        ),
    });
    let start = Timestamp::from_secs(1_795_392_000).as_nanos(); // 2026-11-23T00:00:00Z
    let mut out = Vec::new();
    let rss_at_start = rss_kib();
    println!("pending_memory: VmRSS at start {rss_at_start} KiB");
    println!(
        "{:>11} {:>14} {:>12} {:>14} {:>12}",
        "pending", "pending_bytes", "bytes/pred", "VmRSS delta", "RSS B/pred"
    );
    let total = sizes.iter().copied().max().unwrap_or(0);
    let mut last_bytes = 0;
    let mut worst = (0.0f64, 0usize, 0usize);
    let mut worst_rss = (0.0f64, 0usize, 0usize);
    for n in 0..total {
        let Input::Prediction(prediction) = &mut input else {
            unreachable!("the input is a prediction");
        };
        prediction.id.clear();
        let _ = write!(prediction.id, "req-{n:016x}");
        prediction.timestamp = Some(Timestamp::from_nanos(start + n as i64 * 1_000_000));
        prediction.model.instance.clear();
        let _ = write!(prediction.model.instance, "pod-{}", n % 4);
        let positive = n % 7 == 0;
        prediction.output = Outcome::Text(if positive { "fraud" } else { "ok" }.to_string());
        prediction.score = Some(if positive { 0.875 } else { 0.125 });
        engine.process(&input, &mut out);
        out.clear();
        let pending = n + 1;
        let bytes = engine.pending_bytes();
        if bytes != last_bytes {
            last_bytes = bytes;
            let per = bytes as f64 / pending as f64;
            if pending >= WORST_FROM && per > worst.0 {
                worst = (per, pending, bytes);
            }
            let rss = rss_kib().saturating_sub(rss_at_start) * 1024;
            let rss_per = rss as f64 / pending as f64;
            if pending >= WORST_FROM && rss_per > worst_rss.0 {
                worst_rss = (rss_per, pending, rss);
            }
        }
        if sizes.contains(&pending) {
            let held = engine.traffic("fraud").map(|(_, held)| held).unwrap_or(0);
            if held != pending {
                eprintln!("pending_memory: {held} pending, expected {pending}");
                std::process::exit(1);
            }
            let rss = rss_kib().saturating_sub(rss_at_start) * 1024;
            println!(
                "{pending:>11} {bytes:>14} {:>12.2} {:>11} KiB {:>12.2}",
                bytes as f64 / pending as f64,
                rss / 1024,
                rss as f64 / pending as f64
            );
        }
    }
    println!(
        "worst pending_bytes per prediction from {WORST_FROM} on: {:.2} bytes ({} bytes for {} pending, right after a growth)",
        worst.0, worst.2, worst.1
    );
    println!(
        "worst VmRSS delta per prediction right after a growth, from {WORST_FROM} on: {:.2} bytes ({} KiB for {} pending)",
        worst_rss.0,
        worst_rss.2 / 1024,
        worst_rss.1
    );
}

/// The process's resident memory, in KiB, from /proc/self/status.
fn rss_kib() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
