//! Properties of the engine: determinism, independence of series, no panics on any input.

use std::sync::Arc;

use modelwatch_engine::config::{DEFAULT_CONFIG_TOML, parse_config};
use modelwatch_engine::{Config, Engine, Format, Input, Output, WireParser};
use proptest::prelude::*;

use crate::streams::{ALL_DETECTORS, stream};

pub(crate) fn config(text: &str) -> Arc<Config> {
    Arc::new(parse_config(text).unwrap().config)
}

pub(crate) fn replay(config: &Arc<Config>, inputs: &[Input]) -> Vec<Output> {
    let mut engine = Engine::new(config.clone());
    let mut out = Vec::new();
    for input in inputs {
        engine.process(input, &mut out);
    }
    out
}

/// What an output says about its model, without the ids and sequence numbers that depend on
/// where in the whole stream it happened.
fn meaning(output: &Output) -> String {
    match output {
        Output::Alert(alert) => {
            format!(
                "alert {} {} {} {} {} {}",
                alert.at,
                alert.state.as_str(),
                alert.rule,
                alert.model,
                alert.metric,
                serde_json::to_string(&alert.explanation).unwrap()
            ) + &match &alert.muted_by {
                // The job's id depends on its input's place in the whole stream.
                Some(job) => alert.message.replace(&job[..8], "<job>") + " muted",
                None => alert.message.clone(),
            }
        }
        Output::Retrain(decision) => format!(
            "retrain {} {} {} {:?} {:?}",
            decision.at,
            decision.decision.as_str(),
            decision.reason.as_str(),
            decision.rule,
            decision.retry_at
        ),
        Output::JobFinished(notice) => {
            format!(
                "job {} {} {}",
                notice.at,
                notice.status.as_str(),
                notice.ended_outstanding
            )
        }
        Output::Canary(verdict) => format!(
            "canary {} {} {} {} {}",
            verdict.at,
            verdict.rule,
            verdict.model,
            verdict.verdict.as_str(),
            verdict.message
        ),
        Output::Quality(point) => format!("quality {} {}", point.at, point.message),
    }
}

fn model_of(output: &Output) -> &str {
    match output {
        Output::Alert(alert) => &alert.model.name,
        Output::Retrain(decision) => &decision.model,
        Output::JobFinished(notice) => &notice.model,
        Output::Canary(verdict) => &verdict.model.name,
        Output::Quality(point) => &point.model.name,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn replaying_twice_gives_identical_output(inputs in stream(&["a", "b", "c"], 300)) {
        for text in [ALL_DETECTORS, DEFAULT_CONFIG_TOML] {
            let config = config(text);
            let first = serde_json::to_string(&replay(&config, &inputs)).unwrap();
            let second = serde_json::to_string(&replay(&config, &inputs)).unwrap();
            prop_assert_eq!(first, second);
        }
    }

    #[test]
    fn interleaving_other_models_never_changes_a_models_output(
        target in stream(&["target"], 200),
        others in stream(&["other-1", "other-2"], 200),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..200),
    ) {
        let config = config(ALL_DETECTORS);
        let alone: Vec<String> = replay(&config, &target).iter().map(meaning).collect();
        // Interleave: the target's inputs keep their order, the others go in between.
        let mut positions: Vec<usize> = cuts.iter().map(|cut| cut.index(target.len() + 1)).collect();
        positions.sort_unstable();
        let mut mixed = Vec::new();
        let mut other = others.into_iter();
        let mut next_position = positions.into_iter().peekable();
        for (index, input) in target.iter().enumerate() {
            while next_position.next_if(|position| *position <= index).is_some() {
                mixed.extend(other.next());
            }
            mixed.push(input.clone());
        }
        mixed.extend(other);
        let together: Vec<String> = replay(&config, &mixed)
            .iter()
            .filter(|output| model_of(output) == "target")
            .map(meaning)
            .collect();
        prop_assert_eq!(alone, together);
    }

    #[test]
    fn any_text_is_parsed_or_refused_without_panic(text in any::<String>()) {
        let catalog = modelwatch_engine::MetricCatalog::new();
        let parser = WireParser::new(&catalog).accepting_jobs();
        for format in [Format::Auto, Format::Json, Format::Ndjson] {
            let _ = parser.parse_batch(&text, format);
        }
    }

    #[test]
    fn json_shaped_garbage_is_refused_with_located_errors(value in json_value(4)) {
        let catalog = modelwatch_engine::MetricCatalog::new();
        let parser = WireParser::new(&catalog).accepting_jobs();
        let text = value.to_string();
        if let Err(error) = parser.parse_batch(&text, Format::Auto) {
            prop_assert!(!error.to_string().is_empty());
        }
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let _ = parser.parse_batch(&pretty, Format::Auto);
    }

    #[test]
    fn every_detector_takes_any_finite_input(inputs in stream(&["a"], 400)) {
        let config = config(ALL_DETECTORS);
        let outputs = replay(&config, &inputs);
        for output in &outputs {
            prop_assert_eq!(output.id().len(), 32);
        }
    }
}

/// JSON values that look like events: the right keys, any values.
fn json_value(depth: u32) -> impl Strategy<Value = serde_json::Value> {
    let key = prop_oneof![
        Just("model".to_string()),
        Just("name".to_string()),
        Just("version".to_string()),
        Just("instance".to_string()),
        Just("metrics".to_string()),
        Just("metric".to_string()),
        Just("value".to_string()),
        Just("timestamp".to_string()),
        Just("accuracy".to_string()),
        Just("job_finished".to_string()),
        Just("status".to_string()),
        "[a-z_]{0,8}",
        ".{0,12}",
    ];
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| serde_json::json!(x)),
        any::<i64>().prop_map(|x| serde_json::json!(x)),
        ".{0,20}".prop_map(serde_json::Value::String),
        Just(serde_json::json!("2026-11-22T08:00:00Z")),
    ];
    leaf.prop_recursive(depth, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|entries| serde_json::Value::Object(entries.into_iter().collect())),
        ]
    })
}
