//! The synthetic raw traffic of `modelwatch demo --predictions`: `fraud-detector`'s
//! predictions (a score, the predicted class and a few features) and the labels that come
//! 20 to 60 minutes of event time after them, from a fixed-seed xorshift, so that every run
//! streams the same inputs. The service computes accuracy from them; nothing here computes
//! a metric. Nothing here does I/O.
//!
//! A prediction is either of the familiar kind (a confident score that its outcome follows)
//! or of a new kind (crypto merchants through the app: a score near the middle, and an
//! outcome that follows it only loosely). Version 1.0.0 degrades as the new kind grows to
//! half of its traffic; a good retrained version handles it, a bad one is lost on most of it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use modelwatch_engine::Timestamp;
use serde_json::json;

use super::stream::{CANARY, MODEL, STABLE, VERSION, Xorshift};

/// When the traffic starts, in event time: 2026-11-22T08:00:00Z.
const START_SECS: i64 = 1_795_334_400;
/// Predictions per minute of event time, per instance.
pub(super) const PER_MINUTE: usize = 20;
/// Labels come this long after their prediction at least, plus up to `LABEL_SPREAD_SECS`.
const LABEL_DELAY_SECS: i64 = 20 * 60;
const LABEL_SPREAD_SECS: f64 = 40.0 * 60.0;
/// The label delay, for people.
pub(super) const LABEL_DELAY_TEXT: &str = "20 to 60 minutes";
/// Labeled predictions per computed point: `window` in `traffic.toml` (a test checks).
pub(super) const WINDOW: u32 = 100;

/// Minutes of the degradation phase at most (the alert fires well before).
pub(super) const DEGRADING_MINUTES: usize = 300;
/// Minutes of the canary phase at most (the verdict comes well before).
pub(super) const CANARY_MINUTES: usize = 300;

/// The share of the new kind of transaction in 1.0.0's traffic once it has degraded.
const DEGRADED_SHARE: f64 = 0.5;

/// The share of the new kind of transaction in 1.0.0's traffic: none for an hour, then
/// growing to `DEGRADED_SHARE` over the next hour.
fn new_kind_share(minute: usize) -> f64 {
    let minute = minute as f64;
    (DEGRADED_SHARE * (minute - 60.0) / 60.0).clamp(0.0, DEGRADED_SHARE)
}

/// One input of a batch: its event time (seconds) and its JSON line.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Line {
    pub(super) at: i64,
    pub(super) json: String,
}

/// Minutes of traffic, ready to post: predictions and the labels that came in those minutes,
/// in event-time order.
#[derive(Debug)]
pub(super) struct Batch {
    pub(super) lines: Vec<Line>,
    pub(super) predictions: usize,
    pub(super) labels: usize,
    /// The first minute's start and the last minute's end.
    pub(super) from: Timestamp,
    pub(super) to: Timestamp,
}

impl Batch {
    /// The NDJSON body of `POST /v1/events`.
    pub(super) fn body(&self) -> String {
        self.lines
            .iter()
            .map(|line| line.json.clone() + "\n")
            .collect()
    }
}

/// How the model that serves a prediction does.
#[derive(Clone, Copy, Debug)]
enum Serving {
    /// 1.0.0 at a minute of the degradation phase.
    Current { minute: usize },
    /// 1.0.0 after it: the new kind is half of its traffic.
    Degraded,
    /// The retrained version: a good one or a bad one.
    Retrained { bad: bool },
}

/// A label waiting for its time: (time, id, class).
type Due = Reverse<(i64, u64, &'static str)>;

/// The traffic generator, in the order the demo streams it.
#[derive(Debug)]
pub(super) struct TrafficStream {
    noise: Xorshift,
    /// Minutes streamed so far (both phases; event time follows it).
    minute: usize,
    /// Predictions made so far (their ids).
    made: u64,
    /// Labels not yet come.
    due: BinaryHeap<Due>,
}

impl TrafficStream {
    pub(super) fn new() -> TrafficStream {
        TrafficStream {
            noise: Xorshift::new(0x7472_6166_6669_6321),
            minute: 0,
            made: 0,
            due: BinaryHeap::new(),
        }
    }

    /// The next `minutes` of the degradation phase (`first` counts them from its start): 1.0.0
    /// on stable-0, and the labels that come meanwhile.
    pub(super) fn degrading(&mut self, first: usize, minutes: usize) -> Batch {
        self.batch(minutes, |stream, offset, lines| {
            let serving = Serving::Current {
                minute: first + offset,
            };
            stream.minute_of(VERSION, STABLE, serving, lines);
        })
    }

    /// The next `minutes` of the canary phase: 1.0.0 on stable-0 (degraded) beside the
    /// candidate on canary-0, and the labels that come meanwhile.
    pub(super) fn canary(&mut self, minutes: usize, candidate: &str, bad: bool) -> Batch {
        self.batch(minutes, |stream, _, lines| {
            stream.minute_of(VERSION, STABLE, Serving::Degraded, lines);
            stream.minute_of(candidate, CANARY, Serving::Retrained { bad }, lines);
        })
    }

    fn batch(
        &mut self,
        minutes: usize,
        mut each: impl FnMut(&mut TrafficStream, usize, &mut Vec<Line>),
    ) -> Batch {
        let from = self.minute_start(self.minute);
        let mut lines = Vec::new();
        for offset in 0..minutes {
            each(self, offset, &mut lines);
            self.minute += 1;
        }
        let predictions = lines.len();
        let to = self.minute_start(self.minute);
        while let Some(Reverse((at, id, class))) = self.due.peek().copied() {
            if at >= to {
                break;
            }
            self.due.pop();
            lines.push(label(at, id, class));
        }
        let labels = lines.len() - predictions;
        // Stable: a label due at the same second as a prediction follows it.
        lines.sort_by_key(|line| line.at);
        Batch {
            lines,
            predictions,
            labels,
            from: Timestamp::from_secs(from),
            to: Timestamp::from_secs(to),
        }
    }

    fn minute_start(&self, minute: usize) -> i64 {
        START_SECS + i64::try_from(minute).unwrap_or(i64::MAX / 120) * 60
    }

    /// One minute of predictions of `version` on `instance`; their labels wait in `due`.
    fn minute_of(
        &mut self,
        version: &str,
        instance: &str,
        serving: Serving,
        lines: &mut Vec<Line>,
    ) {
        let start = self.minute_start(self.minute);
        for index in 0..PER_MINUTE {
            let at = start + (index * 60 / PER_MINUTE) as i64;
            self.made += 1;
            let id = self.made;
            let new_kind = match serving {
                Serving::Current { minute } => self.noise.next_f64() < new_kind_share(minute),
                Serving::Degraded => self.noise.next_f64() < DEGRADED_SHARE,
                Serving::Retrained { bad } => bad && self.noise.next_f64() < 0.8,
            };
            let (score, fraud) = self.outcome(new_kind);
            let class = if fraud { "fraud" } else { "ok" };
            let delay = LABEL_DELAY_SECS + (self.noise.next_f64() * LABEL_SPREAD_SECS) as i64;
            self.due.push(Reverse((at + delay, id, class)));
            let features = self.features(new_kind, score);
            lines.push(Line {
                at,
                json: json!({
                    "model": {"name": MODEL, "version": version, "instance": instance},
                    "timestamp": Timestamp::from_secs(at).to_rfc3339(),
                    "prediction": {
                        "id": prediction_id(id),
                        "output": if score >= 0.5 { "fraud" } else { "ok" },
                        "score": score,
                        "features": features,
                    },
                })
                .to_string(),
            });
        }
    }

    /// A prediction's score (rounded to four places) and whether it is in truth fraud: a
    /// confident score that the outcome follows, or, for the new kind, a score near the
    /// middle that the outcome follows loosely.
    fn outcome(&mut self, new_kind: bool) -> (f64, bool) {
        let fraudulent = self.noise.next_f64() < if new_kind { 0.4 } else { 0.3 };
        let (centre, spread) = if new_kind { (1.0, 1.0) } else { (3.5, 1.2) };
        let z = if fraudulent { centre } else { -centre } + spread * self.gaussian();
        let score = sigmoid(z);
        let p_fraud = if new_kind {
            0.35 + 0.3 * (score - 0.5)
        } else {
            score
        };
        let rounded = (score * 10_000.0).round() / 10_000.0;
        (rounded, self.noise.next_f64() < p_fraud)
    }

    fn features(&mut self, new_kind: bool, score: f64) -> serde_json::Value {
        let pick = |noise: &mut Xorshift, items: &[&'static str]| {
            let index = (noise.next_f64() * items.len() as f64) as usize;
            items[index.min(items.len() - 1)]
        };
        let amount = (20.0 + 400.0 * score * self.noise.next_f64() * 2.0).round();
        let merchant = if new_kind {
            "crypto"
        } else {
            pick(
                &mut self.noise,
                &["grocery", "travel", "electronics", "fuel"],
            )
        };
        let channel = if new_kind {
            "app"
        } else {
            pick(&mut self.noise, &["web", "app", "pos"])
        };
        json!({
            "amount": amount,
            "country": pick(&mut self.noise, &["DE", "FR", "NL", "PL"]),
            "merchant_category": merchant,
            "channel": channel,
            "new_device": self.noise.next_f64() < 0.1 + 0.4 * score,
        })
    }

    /// A standard normal value (Box-Muller).
    fn gaussian(&mut self) -> f64 {
        let u = 1.0 - self.noise.next_f64();
        let v = self.noise.next_f64();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

fn label(at: i64, id: u64, class: &str) -> Line {
    Line {
        at,
        json: json!({
            "model": {"name": MODEL},
            "timestamp": Timestamp::from_secs(at).to_rfc3339(),
            "label": {"id": prediction_id(id), "value": class},
        })
        .to_string(),
    }
}

fn prediction_id(id: u64) -> String {
    format!("tx-{id:07}")
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    /// The accuracy, over the labels in `lines`, of the predictions in `lines` that `keep`
    /// selects.
    fn accuracy(lines: &[Line], keep: impl Fn(&Value) -> bool) -> f64 {
        let mut outputs = std::collections::HashMap::new();
        let (mut right, mut labeled) = (0u32, 0u32);
        for line in lines {
            let value: Value = serde_json::from_str(&line.json).unwrap();
            if let Some(prediction) = value.get("prediction") {
                if keep(&value) {
                    outputs.insert(prediction["id"].clone(), prediction["output"].clone());
                }
            } else if let Some(output) = outputs.get(&value["label"]["id"]) {
                labeled += 1;
                right += u32::from(*output == value["label"]["value"]);
            }
        }
        assert!(labeled > 500, "{labeled} labels");
        f64::from(right) / f64::from(labeled)
    }

    fn before(minute: i64) -> impl Fn(&Value) -> bool {
        move |value| {
            let at = Timestamp::parse_rfc3339(value["timestamp"].as_str().unwrap()).unwrap();
            at.as_nanos() < (START_SECS + minute * 60) * 1_000_000_000
        }
    }

    #[test]
    fn batches_are_in_event_time_order_and_labels_come_later() {
        let mut stream = TrafficStream::new();
        let first = stream.degrading(0, 10);
        assert_eq!(first.from.to_rfc3339(), "2026-11-22T08:00:00Z");
        assert_eq!(first.to.to_rfc3339(), "2026-11-22T08:10:00Z");
        assert_eq!(first.predictions, 10 * PER_MINUTE);
        assert_eq!(first.labels, 0, "no label comes within 20 minutes");
        let second = stream.degrading(10, 30);
        assert!(second.labels > 0);
        assert!(second.lines.windows(2).all(|pair| pair[0].at <= pair[1].at));
        assert!(second.lines.iter().all(|line| line.at >= START_SECS + 600));
        assert_eq!(second.body().lines().count(), second.lines.len());
    }

    #[test]
    fn the_same_seed_streams_the_same_lines_and_the_model_degrades() {
        let run = || {
            let mut stream = TrafficStream::new();
            let mut lines = Vec::new();
            for first in (0..240).step_by(10) {
                lines.extend(stream.degrading(first, 10).lines);
            }
            lines
        };
        let lines = run();
        assert_eq!(lines, run());
        let healthy = accuracy(&lines, before(60));
        let degraded = accuracy(&lines, |value| !before(120)(value));
        assert!(healthy > 0.93, "{healthy}");
        assert!(degraded < 0.85, "{degraded}");
    }

    #[test]
    fn a_good_candidate_beats_the_degraded_version_and_a_bad_one_does_not() {
        let lines = |bad: bool| {
            let mut stream = TrafficStream::new();
            let mut lines = Vec::new();
            for _ in 0..12 {
                lines.extend(stream.canary(10, "1.1.0", bad).lines);
            }
            lines
        };
        let on =
            |instance: &'static str| move |value: &Value| value["model"]["instance"] == instance;
        let stable = accuracy(&lines(false), on(STABLE));
        let good = accuracy(&lines(false), on(CANARY));
        let bad = accuracy(&lines(true), on(CANARY));
        assert!(good > 0.92, "{good}");
        assert!(stable < 0.85, "{stable}");
        assert!(bad < stable - 0.05, "{bad} {stable}");
    }

    #[test]
    fn every_line_is_what_the_wire_parser_takes_under_the_demo_config() {
        let mut stream = TrafficStream::new();
        let _ = stream.degrading(0, 30);
        let body = stream.degrading(30, 30).body();
        let text = super::super::tests::rendered(super::super::TRAFFIC_TEMPLATE);
        let config = modelwatch_engine::config::parse_config(&text)
            .unwrap()
            .config;
        let inputs = modelwatch_engine::WireParser::new(&config.catalog)
            .with_models(&config.models)
            .parse_batch(&body, modelwatch_engine::Format::Ndjson)
            .unwrap();
        assert_eq!(inputs.len(), body.lines().count());
        let settings = config.models.settings_for(MODEL).unwrap().1;
        assert_eq!(settings.positive.as_deref(), Some("fraud"));
        assert_eq!(settings.window, WINDOW);
    }
}
