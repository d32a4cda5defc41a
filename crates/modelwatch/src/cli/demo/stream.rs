//! The demo's synthetic model: `fraud-detector` events with explicit event times, one point a
//! minute, whose accuracy follows a fixed curve plus noise from a fixed-seed xorshift, so
//! that every run streams the same values. Nothing here does I/O.

use modelwatch_engine::Timestamp;
use serde_json::json;

/// The model the demo streams.
pub(super) const MODEL: &str = "fraud-detector";
/// The version in production when the demo starts.
pub(super) const VERSION: &str = "1.0.0";
/// The production instance (the canary rule's baseline).
pub(super) const STABLE: &str = "stable-0";
/// The canary instance (the canary rule's candidate).
pub(super) const CANARY: &str = "canary-0";

/// When the stream starts, in event time: 2026-11-22T08:00:00Z.
const START_SECS: i64 = 1_795_334_400;
/// Event time between two points of one instance.
const STEP_SECS: i64 = 60;

/// Points of the degradation phase at most (the alert fires well before).
pub(super) const DEGRADING_POINTS: usize = 40;
/// Points per instance of the canary phase at most (the verdict comes well before).
pub(super) const CANARY_POINTS: usize = 60;

/// A xorshift64 generator: small, fixed-seed, good enough for noise.
#[derive(Debug, Clone)]
pub(super) struct Xorshift(u64);

impl Xorshift {
    pub(super) fn new(seed: u64) -> Xorshift {
        Xorshift(seed.max(1))
    }

    /// The next value in [0, 1).
    pub(super) fn next_f64(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The next value in [-1, 1).
    pub(super) fn next_signed(&mut self) -> f64 {
        self.next_f64() * 2.0 - 1.0
    }
}

/// The synthetic model's points, in the order they are streamed.
#[derive(Debug)]
pub(super) struct Stream {
    noise: Xorshift,
    /// Points streamed so far (both phases; the event time follows it).
    tick: usize,
}

/// One point of one instance.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Point {
    pub(super) version: String,
    pub(super) instance: &'static str,
    pub(super) at: Timestamp,
    pub(super) accuracy: f64,
}

impl Point {
    /// The event as `POST /v1/events` takes it.
    pub(super) fn to_json(&self) -> String {
        json!({
            "model": {"name": MODEL, "version": self.version, "instance": self.instance},
            "timestamp": self.at.to_rfc3339(),
            "metrics": {"accuracy": self.accuracy},
        })
        .to_string()
    }
}

impl Stream {
    pub(super) fn new() -> Stream {
        Stream {
            noise: Xorshift::new(0x6d6f_6465_6c77_6174),
            tick: 0,
        }
    }

    /// Point `index` of the degradation phase: 1.0.0 on stable-0 holds 0.95 for ten
    /// minutes, then slides to 0.81 over twenty.
    pub(super) fn degrading(&mut self, index: usize) -> Point {
        let level = degrading_level(index);
        let point = Point {
            version: VERSION.to_string(),
            instance: STABLE,
            at: self.at(),
            accuracy: self.noisy(level, 0.006),
        };
        self.tick += 1;
        point
    }

    /// One minute of the canary phase: 1.0.0 on stable-0 (still degraded) and the candidate
    /// on canary-0 (0.94, or 0.74 when it is a bad one).
    pub(super) fn canary_pair(&mut self, candidate: &str, bad: bool) -> [Point; 2] {
        let at = self.at();
        let stable = Point {
            version: VERSION.to_string(),
            instance: STABLE,
            at,
            accuracy: self.noisy(0.81, 0.012),
        };
        let level = if bad { 0.74 } else { 0.94 };
        let canary = Point {
            version: candidate.to_string(),
            instance: CANARY,
            at,
            accuracy: self.noisy(level, 0.012),
        };
        self.tick += 1;
        [stable, canary]
    }

    fn at(&self) -> Timestamp {
        let minutes = i64::try_from(self.tick).unwrap_or(i64::MAX / STEP_SECS);
        Timestamp::from_secs(START_SECS + minutes * STEP_SECS)
    }

    /// `level` plus noise within `spread`, rounded to four places, within [0, 1].
    fn noisy(&mut self, level: f64, spread: f64) -> f64 {
        let value = level + spread * self.noise.next_signed();
        (value.clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0
    }
}

/// The accuracy curve of the degradation phase, without noise.
fn degrading_level(index: usize) -> f64 {
    let minute = index as f64;
    if minute < 10.0 {
        0.95
    } else {
        0.95 - 0.14 * ((minute - 10.0) / 20.0).min(1.0)
    }
}

/// `HH:MM` of an event time (for progress lines).
pub(super) fn clock_time(at: Timestamp) -> String {
    let text = at.to_rfc3339();
    text.get(11..16).unwrap_or(&text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_starts_on_the_fixed_day_and_steps_a_minute() {
        let mut stream = Stream::new();
        let first = stream.degrading(0);
        let second = stream.degrading(1);
        assert_eq!(first.at.to_rfc3339(), "2026-11-22T08:00:00Z");
        assert_eq!(second.at.to_rfc3339(), "2026-11-22T08:01:00Z");
        assert_eq!(clock_time(second.at), "08:01");
        let [stable, canary] = stream.canary_pair("1.1.0", false);
        assert_eq!(stable.at, canary.at);
        assert_eq!(stable.at.to_rfc3339(), "2026-11-22T08:02:00Z");
        assert_eq!(canary.instance, CANARY);
        assert_eq!(canary.version, "1.1.0");
    }

    #[test]
    fn the_same_seed_streams_the_same_values_and_the_model_degrades() {
        let values = |bad: bool| {
            let mut stream = Stream::new();
            let mut values: Vec<f64> = (0..DEGRADING_POINTS)
                .map(|index| stream.degrading(index).accuracy)
                .collect();
            values.extend(
                (0..CANARY_POINTS)
                    .flat_map(|_| stream.canary_pair("1.1.0", bad).map(|p| p.accuracy)),
            );
            values
        };
        assert_eq!(values(false), values(false));
        let healthy = values(false);
        assert!(healthy[..10].iter().all(|&v| v > 0.94), "{healthy:?}");
        assert!(healthy[30..40].iter().all(|&v| v < 0.82), "{healthy:?}");
        let bad = values(true);
        assert!(bad.iter().all(|&v| (0.0..=1.0).contains(&v)));
    }

    #[test]
    fn an_event_is_what_the_wire_parser_takes() {
        let mut stream = Stream::new();
        let text = stream.degrading(0).to_json();
        let catalog = modelwatch_engine::MetricCatalog::new();
        let inputs = modelwatch_engine::WireParser::new(&catalog)
            .parse_batch(&text, modelwatch_engine::Format::Json)
            .unwrap();
        assert_eq!(inputs.len(), 1);
        assert_eq!(inputs[0].model_name(), MODEL);
    }
}
