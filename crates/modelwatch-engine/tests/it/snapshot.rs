//! Engine snapshots: a restored engine continues byte for byte like one that never stopped,
//! the same state gives the same bytes (encoded at once or in steps while inputs go on), any
//! bytes are restored or refused without panic, and a
//! snapshot that does not fit the config is refused with the reason.

use std::sync::Arc;

use modelwatch_engine::config::DEFAULT_CONFIG_TOML;
use modelwatch_engine::{
    Config, Engine, Event, Input, JobFinished, JobStatus, ModelId, Output, SNAPSHOT_FORMAT,
    SnapshotError, Timestamp,
};
use proptest::prelude::*;

use crate::properties::{config, replay};
use crate::streams::{ALL_DETECTORS, stream};

pub(crate) fn feed(engine: &mut Engine, inputs: &[Input]) -> Vec<Output> {
    let mut out = Vec::new();
    for input in inputs {
        engine.process(input, &mut out);
    }
    out
}

fn json(outputs: &[Output]) -> String {
    serde_json::to_string(outputs).unwrap()
}

/// Feeds `inputs[..cut]`, snapshots, restores and feeds the rest; checks the outputs against
/// an uninterrupted run, and that the restored engine and the original end in the same state.
fn check_resume(config: &Arc<Config>, inputs: &[Input], cut: usize) -> Result<(), TestCaseError> {
    let whole = json(&replay(config, inputs));
    let mut original = Engine::new(config.clone());
    let mut outputs = feed(&mut original, &inputs[..cut]);
    let bytes = original.snapshot().unwrap();
    let mut restored = Engine::restore(config.clone(), &bytes).unwrap();
    prop_assert_eq!(
        restored.snapshot().unwrap(),
        bytes,
        "restore, then snapshot: same bytes"
    );
    prop_assert_eq!(restored.next_seq(), original.next_seq());
    prop_assert_eq!(restored.clock(), original.clock());
    outputs.extend(feed(&mut restored, &inputs[cut..]));
    prop_assert_eq!(json(&outputs), whole);
    feed(&mut original, &inputs[cut..]);
    prop_assert_eq!(restored.snapshot().unwrap(), original.snapshot().unwrap());
    prop_assert_eq!(restored.status(), original.status());
    Ok(())
}

/// `bytes` with the body altered by `flips` and the checksum made to match again: what only a
/// bug or a deliberate edit could produce.
fn resealed(bytes: &[u8], flips: &[(prop::sample::Index, u8)]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let body = 10..bytes.len() - 32;
    let mut altered = bytes[..body.end].to_vec();
    for (at, mask) in flips {
        altered[body.start + at.index(body.len())] ^= mask;
    }
    let digest = Sha256::digest(&altered[body.start..]);
    altered.extend_from_slice(&digest);
    altered
}

/// Restores a snapshot taken after every prefix of `inputs` and checks that the restored
/// engine gives, input by input, what an uninterrupted run gives (one pass for the original).
pub(crate) fn check_every_cut(config: &Arc<Config>, inputs: &[Input]) -> Result<(), TestCaseError> {
    let mut reference = Engine::new(config.clone());
    let expected: Vec<String> = inputs
        .iter()
        .map(|input| json(&feed(&mut reference, std::slice::from_ref(input))))
        .collect();
    let mut original = Engine::new(config.clone());
    for cut in 0..=inputs.len() {
        if let Some(input) = cut.checked_sub(1).and_then(|last| inputs.get(last)) {
            feed(&mut original, std::slice::from_ref(input));
        }
        let mut restored = Engine::restore(config.clone(), &original.snapshot().unwrap()).unwrap();
        for (input, expected) in inputs[cut..].iter().zip(&expected[cut..]) {
            prop_assert_eq!(
                &json(&feed(&mut restored, std::slice::from_ref(input))),
                expected,
                "restored after {} inputs",
                cut
            );
        }
    }
    Ok(())
}

/// Clears the timestamps the mask picks: such inputs take the engine's clock, which the
/// snapshot must carry too.
fn without_some_timestamps(mut inputs: Vec<Input>, mask: &[bool]) -> Vec<Input> {
    for (input, clear) in inputs.iter_mut().zip(mask.iter().cycle()) {
        if *clear {
            match input {
                Input::Event(event) => event.timestamp = None,
                Input::JobFinished(job) => job.timestamp = None,
                Input::RetrainRequest(request) => request.timestamp = None,
                Input::Prediction(prediction) => prediction.timestamp = None,
                Input::Label(label) => label.timestamp = None,
                Input::Reference(upload) => upload.timestamp = None,
            }
        }
    }
    inputs
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_restored_engine_continues_byte_for_byte(
        inputs in stream(&["a", "b", "c"], 300),
        cut in any::<prop::sample::Index>(),
        mask in prop::collection::vec(prop::bool::weighted(0.1), 1..20),
    ) {
        let inputs = without_some_timestamps(inputs, &mask);
        let cut = cut.index(inputs.len() + 1);
        for text in [ALL_DETECTORS, DEFAULT_CONFIG_TOML] {
            check_resume(&config(text), &inputs, cut)?;
        }
    }

    #[test]
    fn the_same_state_gives_the_same_bytes(inputs in stream(&["a", "b", "c"], 200)) {
        let config = config(ALL_DETECTORS);
        let mut first = Engine::new(config.clone());
        let mut second = Engine::new(config);
        feed(&mut first, &inputs);
        feed(&mut second, &inputs);
        prop_assert_eq!(first.snapshot().unwrap(), second.snapshot().unwrap());
    }

    #[test]
    fn any_bytes_are_restored_or_refused_without_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        header in any::<bool>(),
    ) {
        let config = config(ALL_DETECTORS);
        let mut bytes = bytes;
        if header {
            // Past the magic and the version, into the checksum and the body.
            let mut framed = b"MWSNAP".to_vec();
            framed.extend_from_slice(&SNAPSHOT_FORMAT.to_le_bytes());
            framed.append(&mut bytes);
            bytes = framed;
        }
        prop_assert!(Engine::restore(config, &bytes).is_err());
    }

    #[test]
    fn a_truncated_or_altered_snapshot_is_refused(
        inputs in stream(&["a", "b"], 150),
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1..=255u8), 1..4),
    ) {
        let config = config(ALL_DETECTORS);
        let mut engine = Engine::new(config.clone());
        feed(&mut engine, &inputs);
        let bytes = engine.snapshot().unwrap();
        let truncated = &bytes[..cut.index(bytes.len())];
        prop_assert!(Engine::restore(config.clone(), truncated).is_err());
        let mut altered = bytes.clone();
        for (at, mask) in flips {
            altered[at.index(bytes.len())] ^= mask;
        }
        prop_assert!(Engine::restore(config, &altered).is_err());
    }

    #[test]
    fn an_altered_body_with_a_matching_checksum_is_refused_or_runs_without_panic(
        inputs in stream(&["a", "b"], 150),
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1..=255u8), 1..4),
    ) {
        let config = config(ALL_DETECTORS);
        let cut = cut.index(inputs.len() + 1);
        let mut engine = Engine::new(config.clone());
        feed(&mut engine, &inputs[..cut]);
        let bytes = resealed(&engine.snapshot().unwrap(), &flips);
        if let Ok(mut restored) = Engine::restore(config, &bytes) {
            feed(&mut restored, &inputs[cut..]);
            let _ = restored.snapshot().unwrap();
        }
    }
}

/// Feeds `inputs[..cut]`, begins a snapshot in steps of at most `max_bytes` and feeds the
/// rest, `per_step` inputs between two steps; checks that the steps give the bytes a snapshot
/// at once gave at the cut, and that the engine's own state went on unchanged by them.
fn check_steps(
    config: &Arc<Config>,
    inputs: &[Input],
    cut: usize,
    max_bytes: usize,
    per_step: usize,
) -> Result<(), TestCaseError> {
    let mut at_cut = Engine::new(config.clone());
    feed(&mut at_cut, &inputs[..cut]);
    let expected = at_cut.snapshot().unwrap();
    let mut engine = Engine::new(config.clone());
    let mut outputs = feed(&mut engine, &inputs[..cut]);
    engine.begin_snapshot().unwrap();
    prop_assert_eq!(engine.snapshot_in_progress(), Some(cut as u64));
    let mut rest = inputs[cut..].chunks(per_step.max(1));
    let mut steps = 0;
    let encoded = loop {
        if let Some(encoded) = engine.snapshot_step(max_bytes).unwrap() {
            break encoded;
        }
        steps += 1;
        prop_assert!(steps <= expected.len(), "a step encodes something");
        if let Some(chunk) = rest.next() {
            outputs.extend(feed(&mut engine, chunk));
        }
    };
    prop_assert_eq!(engine.snapshot_in_progress(), None);
    prop_assert_eq!(encoded.seq, cut as u64);
    prop_assert!(
        encoded.bytes == expected,
        "the bytes of the state at the cut"
    );
    for chunk in rest {
        outputs.extend(feed(&mut engine, chunk));
    }
    prop_assert_eq!(json(&outputs), json(&replay(config, inputs)));
    let mut uninterrupted = Engine::new(config.clone());
    feed(&mut uninterrupted, inputs);
    prop_assert!(engine.snapshot().unwrap() == uninterrupted.snapshot().unwrap());
    let restored = Engine::restore(config.clone(), &encoded.bytes).unwrap();
    prop_assert_eq!(restored.last_seq(), cut as u64);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn a_snapshot_encoded_in_steps_is_the_state_where_it_began(
        inputs in stream(&["a", "b", "c"], 300),
        cut in any::<prop::sample::Index>(),
        max_bytes in 1usize..2_000,
        per_step in 1usize..8,
    ) {
        let cut = cut.index(inputs.len() + 1);
        for text in [ALL_DETECTORS, DEFAULT_CONFIG_TOML] {
            check_steps(&config(text), &inputs, cut, max_bytes, per_step)?;
        }
    }
}

proptest! {
    // Every cut of a stream: quadratic, so fewer cases.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn one_model_restored_at_every_point(inputs in stream(&["m"], 120)) {
        check_every_cut(&config(ALL_DETECTORS), &inputs)?;
    }
}

fn at(minute: i64) -> Timestamp {
    Timestamp::from_secs(1_800_000_000 + minute * 60)
}

fn point(model: &str, minute: i64, metric: &str, value: f64) -> Input {
    Input::Event(Event {
        model: ModelId::new(model, "1", "default"),
        timestamp: Some(at(minute)),
        metrics: vec![(metric.to_string(), value)],
    })
}

fn job(model: &str, minute: i64, job_id: Option<&str>) -> Input {
    Input::JobFinished(JobFinished {
        model: model.to_string(),
        job_id: job_id.map(str::to_string),
        status: JobStatus::Succeeded,
        version: Some("2".to_string()),
        timestamp: Some(at(minute)),
    })
}

const RETRAIN: &str = r#"
# Every model has a trainer: retrains are granted and run (single flight, muting).
[[trainers]]
kind = "external"

[retrain]
cooldown_secs = 3600

[[rules]]
name = "acc"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }
for = 2
actions = ["retrain"]

[[rules]]
name = "lat"
metric = "latency_ms"
detector = { kind = "threshold", above = 100.0 }
actions = ["retrain"]

[[rules]]
name = "errors"
metric = "error"
detector = { kind = "ddm", warm_start = 5 }
actions = ["retrain_on_warning", "retrain"]
"#;

/// A grant, a request suppressed while the job runs, the job's end, a request deferred by the
/// cooldown and granted when it ends, a second model deferred and withdrawn: restored at every
/// point in between, the outputs stay the same.
#[test]
fn retrain_state_survives_every_cut() {
    let config = config(RETRAIN);
    let mut inputs = vec![
        point("m", 0, "accuracy", 0.5),
        point("m", 1, "accuracy", 0.5),     // firing: granted
        point("m", 2, "latency_ms", 500.0), // muted: in flight
        job("m", 10, None),
        point("m", 11, "accuracy", 0.95), // resolved
        point("m", 12, "accuracy", 0.5),
        point("m", 13, "accuracy", 0.5), // firing: deferred until minute 61
        point("n", 13, "latency_ms", 500.0), // n: granted
        job("n", 14, Some("not-the-job")),
        job("n", 15, None),
        point("n", 16, "latency_ms", 10.0),
        point("n", 17, "latency_ms", 500.0), // n: deferred
        point("n", 18, "latency_ms", 10.0),  // n: withdrawn
        point("m", 59, "accuracy", 0.5),
        point("m", 61, "accuracy", 0.5), // cooldown over: granted
    ];
    for i in 0..40 {
        let wrong = if i < 20 { i % 10 == 0 } else { i % 2 == 0 };
        inputs.push(point("e", 70 + i, "error", f64::from(u8::from(wrong))));
    }
    let whole = replay(&config, &inputs);
    let decisions: Vec<String> = whole
        .iter()
        .filter_map(|output| match output {
            Output::Retrain(decision) => Some(format!(
                "{}:{}:{}",
                decision.seq,
                decision.decision.as_str(),
                decision.reason.as_str()
            )),
            _ => None,
        })
        .collect();
    assert!(
        decisions.contains(&"7:suppressed:cooldown".to_string())
            && decisions.contains(&"15:granted:cooldown_ended".to_string())
            && decisions.contains(&"13:withdrawn:alert_resolved".to_string()),
        "{decisions:?}"
    );
    assert!(
        decisions.iter().any(|d| d.ends_with("warning_detected")),
        "{decisions:?}"
    );
    check_every_cut(&config, &inputs).unwrap();
    check_resume(&config, &inputs, 7).unwrap();
}

const CANARY: &str = r#"
[[rules]]
name = "canary-latency"
metric = "latency_ms"
actions = ["rollback", "promote"]
canary = { candidate = { version = "2*" }, baseline = { version = "1" }, window = 12, min_samples = 6, every = 3 }
"#;

fn versioned(version: &str, instance: &str, minute: i64, value: f64) -> Input {
    Input::Event(Event {
        model: ModelId::new("m", version, instance),
        timestamp: Some(at(minute)),
        metrics: vec![("latency_ms".to_string(), value)],
    })
}

/// Baseline and candidate windows, a pass that promotes 2.0, a fail of 2.1 and points after
/// both ended: restored at every point in between, the outputs stay the same.
#[test]
fn canary_state_survives_every_cut() {
    let config = config(CANARY);
    let mut inputs = Vec::new();
    for i in 0..40_i64 {
        let spread = ((i * 7) % 11) as f64;
        inputs.push(versioned("1", "default", i, 100.0 + spread));
        inputs.push(versioned(
            "2.0",
            "canary-0",
            i,
            100.0 + ((i * 3) % 11) as f64,
        ));
        if i >= 20 {
            inputs.push(versioned("2.1", "canary-1", i, 140.0 + spread));
        }
    }
    let whole = replay(&config, &inputs);
    let verdicts: Vec<String> = whole
        .iter()
        .filter_map(|output| match output {
            Output::Canary(verdict) => Some(format!(
                "{}:{}",
                verdict.model.version,
                verdict.verdict.as_str()
            )),
            _ => None,
        })
        .collect();
    assert_eq!(verdicts, ["2.0:pass", "2.1:fail"]);
    check_every_cut(&config, &inputs).unwrap();
}

#[test]
fn a_snapshot_whose_canary_rules_differ_from_the_config_is_refused() {
    let mut engine = Engine::new(config(CANARY));
    feed(
        &mut engine,
        &[
            versioned("1", "default", 0, 1.0),
            versioned("2", "c", 1, 2.0),
        ],
    );
    let bytes = engine.snapshot().unwrap();
    Engine::restore(config(CANARY), &bytes).unwrap();
    let error = |text: &str| {
        Engine::restore(config(text), &bytes)
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default()
    };
    let snapshot_rule = "canary-latency (model *, metric latency_ms, candidate 2*/*, baseline 1/*, \
         window 12, min_samples 6, confidence 0.98, tolerance 0.0, every 3, promote true)";
    assert_eq!(
        error(&CANARY.replace("window = 12", "window = 20")),
        format!(
            "snapshot does not fit the config: the canary rules were [{snapshot_rule}], the config \
             has [{}]",
            snapshot_rule.replace("window 12", "window 20")
        )
    );
    assert!(
        error(&CANARY.replace("canary-latency", "canary-lat"))
            .contains("the config has [canary-lat (model *")
    );
    assert!(
        error(&CANARY.replace(r#""rollback", "promote""#, r#""rollback""#))
            .contains("promote false")
    );
    assert!(error("").ends_with("the config has []"));
    // Severity and notifiers do not change what is judged: they fit.
    let louder = CANARY.replace(
        "metric = \"latency_ms\"",
        "metric = \"latency_ms\"\nseverity = \"critical\"",
    );
    Engine::restore(config(&louder), &bytes).unwrap();
}

#[test]
fn starting_after_numbers_on_and_keeps_the_clock() {
    let config = config(RETRAIN);
    let mut engine = Engine::starting_after(config, 41, at(30));
    assert_eq!(
        (engine.last_seq(), engine.next_seq(), engine.clock()),
        (41, 42, at(30))
    );
    let mut late = point("m", 0, "accuracy", 0.5);
    if let Input::Event(event) = &mut late {
        event.timestamp = None;
    }
    let mut out = Vec::new();
    assert_eq!(engine.process(&late, &mut out), 42);
    assert_eq!(engine.last_seq(), 42);
    assert!(
        engine
            .status()
            .iter()
            .all(|status| status.last_at == at(30))
    );
    let [Output::Alert(pending)] = &out[..] else {
        panic!("{out:?}")
    };
    assert_eq!((pending.seq, pending.at), (42, at(30)));
}

mod fit;
