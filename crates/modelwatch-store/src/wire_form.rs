//! How an input is stored: its wire form, the JSON the wire parser reads back into the very
//! same [`Input`]. Replay after a restart depends on that round trip being exact.
//!
//! The serde form of an [`Event`] is not quite the wire form: it lists the derived
//! `macro_score`, which the parser refuses (it derives it again). So events are written here
//! without it; everything else is `Input`'s own serde form. Reading back uses the parser with
//! the well-known metrics only and no size limits: a stored input was validated when it came
//! in, and a later config (narrower ranges of a custom metric, lower limits) must not make the
//! store unreadable.

use modelwatch_engine::metric::MACRO_SCORE;
use modelwatch_engine::wire::Limits;
use modelwatch_engine::{Event, Format, Input, MetricCatalog, ModelId, Timestamp, WireParser};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// The wire form of `input`, as stored in `inputs.input`.
pub(crate) fn encode(input: &Input) -> Result<String, serde_json::Error> {
    match input {
        Input::Event(event) => serde_json::to_string(&WireEvent::from(event)),
        Input::JobFinished(_)
        | Input::RetrainRequest(_)
        | Input::Prediction(_)
        | Input::Label(_)
        | Input::Reference(_) => serde_json::to_string(input),
    }
}

/// The wire forms of `inputs`, one a line: how a batch travels in the ingest log.
pub(crate) fn encode_lines(inputs: &[Input]) -> Result<String, serde_json::Error> {
    let mut text = String::new();
    for input in inputs {
        text.push_str(&encode(input)?);
        text.push('\n');
    }
    Ok(text)
}

/// Reads stored wire forms back into inputs.
#[derive(Debug)]
pub(crate) struct Decoder {
    catalog: MetricCatalog,
}

impl Decoder {
    pub(crate) fn new() -> Decoder {
        Decoder {
            catalog: MetricCatalog::new(),
        }
    }

    /// The inputs of `text`, wire forms one after another (as [`encode_lines`] writes them).
    pub(crate) fn decode_lines(&self, text: &str) -> Result<Vec<Input>, String> {
        let limits = Limits {
            max_inputs: usize::MAX,
            max_metrics: usize::MAX,
            max_errors: 10,
        };
        WireParser::new(&self.catalog)
            .with_limits(limits)
            .accepting_jobs()
            .parse_batch(text, Format::Ndjson)
            .map_err(|error| error.to_string())
    }

    /// The input stored as `text`.
    pub(crate) fn decode(&self, text: &str) -> Result<Input, String> {
        let limits = Limits {
            max_inputs: 1,
            max_metrics: usize::MAX,
            max_errors: 10,
        };
        let parser = WireParser::new(&self.catalog)
            .with_limits(limits)
            .accepting_jobs();
        let mut inputs = parser
            .parse_batch(text, Format::Json)
            .map_err(|error| error.to_string())?;
        match (inputs.pop(), inputs.is_empty()) {
            (Some(input), true) => Ok(input),
            _ => Err("expected exactly one input".to_string()),
        }
    }
}

#[derive(Serialize)]
struct WireEvent<'a> {
    model: &'a ModelId,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<Timestamp>,
    metrics: SentMetrics<'a>,
}

impl<'a> From<&'a Event> for WireEvent<'a> {
    fn from(event: &'a Event) -> WireEvent<'a> {
        WireEvent {
            model: &event.model,
            timestamp: event.timestamp,
            metrics: SentMetrics(&event.metrics),
        }
    }
}

/// The metrics a model server can send: all but the derived macro score.
struct SentMetrics<'a>(&'a [(String, f64)]);

impl Serialize for SentMetrics<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in self.0.iter().filter(|(name, _)| name != MACRO_SCORE) {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use modelwatch_engine::{JobFinished, JobStatus, RetrainRequest};

    use super::*;

    fn round_trip(input: &Input) -> String {
        let text = encode(input).unwrap();
        assert_eq!(&Decoder::new().decode(&text).unwrap(), input, "{text}");
        text
    }

    #[test]
    fn events_round_trip_without_their_derived_macro_score() {
        let event = Event {
            model: ModelId::new("fraud-detector", "1.4.0", "canary-0"),
            timestamp: Some(Timestamp::from_nanos(1_795_852_800_123_456_789)),
            metrics: vec![
                ("accuracy".into(), 0.1 + 0.2),
                ("f1".into(), 0.93),
                ("macro_score".into(), (0.1 + 0.2 + 0.93 + 0.91 + 0.94) / 4.0),
                ("my_kpi".into(), -17e-300),
                ("precision".into(), 0.91),
                ("recall".into(), 0.94),
            ],
        };
        let text = round_trip(&Input::Event(event));
        assert!(!text.contains("macro_score"), "{text}");
        assert!(
            text.contains("\"2026-11-28T08:00:00.123456789Z\""),
            "{text}"
        );
    }

    #[test]
    fn job_notices_round_trip() {
        round_trip(&Input::JobFinished(JobFinished {
            model: "fraud-detector".into(),
            job_id: Some("0123abcd".into()),
            status: JobStatus::TimedOut,
            version: Some("1.5.0".into()),
            timestamp: Some(Timestamp::from_secs(1_795_852_800)),
        }));
        round_trip(&Input::JobFinished(JobFinished {
            model: "m".into(),
            job_id: None,
            status: JobStatus::Failed,
            version: None,
            timestamp: Some(Timestamp::EPOCH),
        }));
    }

    #[test]
    fn retrain_requests_round_trip() {
        let text = round_trip(&Input::RetrainRequest(RetrainRequest {
            model: "fraud-detector".into(),
            reason: Some("labels \"v7\" arrived\tlate".into()),
            timestamp: Some(Timestamp::from_secs(1_795_852_800)),
        }));
        assert_eq!(
            text,
            r#"{"retrain_request":{"model":"fraud-detector","reason":"labels \"v7\" arrived\tlate"},"timestamp":"2026-11-28T08:00:00Z"}"#
        );
        round_trip(&Input::RetrainRequest(RetrainRequest {
            model: "m".into(),
            reason: None,
            timestamp: Some(Timestamp::EPOCH),
        }));
    }

    #[test]
    fn values_outside_a_later_configs_ranges_still_read_back() {
        // A custom metric is unknown to the decoder's catalogue, so any finite value reads back.
        let text = r#"{"model":{"name":"m","version":"1"},"timestamp":"2026-11-22T08:00:00Z","metrics":{"my_kpi":1e300}}"#;
        let Input::Event(event) = Decoder::new().decode(text).unwrap() else {
            panic!("an event reads back as an event");
        };
        assert_eq!(event.metrics, vec![("my_kpi".to_string(), 1e300)]);
    }

    #[test]
    fn garbage_is_reported_not_panicked_on() {
        assert!(Decoder::new().decode("{").is_err());
        assert!(Decoder::new().decode("[{}, {}]").is_err());
    }
}
