//! Which snapshots a config accepts (other severities, actions and cooldowns fit; other rules
//! do not, with the reason), which bytes are refused, the pinned format, and the size per
//! series.

use super::*;

/// A snapshot of `RETRAIN` after a few points of model `m`.
fn retrain_snapshot() -> Vec<u8> {
    let mut engine = Engine::new(config(RETRAIN));
    feed(
        &mut engine,
        &[
            point("m", 0, "accuracy", 0.5),
            point("m", 1, "latency_ms", 50.0),
            point("m", 2, "error", 1.0),
        ],
    );
    engine.snapshot().unwrap()
}

fn restore_with(text: &str) -> Result<Engine, SnapshotError> {
    Engine::restore(config(text), &retrain_snapshot())
}

#[test]
fn a_config_with_other_severities_actions_and_cooldowns_fits() {
    let changed = RETRAIN
        .replace("cooldown_secs = 3600", "cooldown_secs = 60")
        .replace("for = 2", "for = 3\nseverity = \"critical\"")
        .replace("actions = [\"retrain\"]", "actions = []");
    let engine = restore_with(&changed).unwrap();
    assert_eq!(engine.next_seq(), 4);
    // A rule for a metric no series has yet fits too.
    let added = format!(
        "{RETRAIN}\n[[rules]]\nname = \"drift\"\nmetric = \"drift_score\"\ndetector = {{ kind = \"threshold\", above = 0.1 }}\n"
    );
    restore_with(&added).unwrap();
}

#[test]
fn a_snapshot_that_does_not_fit_the_config_is_refused_with_the_reason() {
    let message = |text: &str| restore_with(text).err().map(|error| error.to_string());

    let renamed = RETRAIN.replace("name = \"lat\"", "name = \"latency\"");
    assert_eq!(
        message(&renamed).as_deref(),
        Some(
            "snapshot does not fit the config: rule 1 was `lat` when the snapshot was taken \
             and is `latency` in the config"
        )
    );

    let other_params = RETRAIN.replace("above = 100.0", "above = 200.0");
    assert_eq!(
        message(&other_params).as_deref(),
        Some(
            "snapshot does not fit the config: the threshold detector of rule `lat` on series \
             m@1/default latency_ms has other parameters than the config's rule"
        )
    );

    let other_kind = RETRAIN.replace(
        "{ kind = \"threshold\", above = 100.0 }",
        "{ kind = \"ema\", alpha = 0.5, above = 100.0 }",
    );
    assert_eq!(
        message(&other_kind).as_deref(),
        Some(
            "snapshot does not fit the config: rule `lat` on series m@1/default latency_ms ran \
             a threshold detector, the config's rule is ema"
        )
    );

    let extra_rule = format!(
        "{RETRAIN}\n[[rules]]\nname = \"acc-ema\"\nmetric = \"accuracy\"\ndetector = {{ kind = \"ema\", below = 0.8 }}\n"
    );
    assert_eq!(
        message(&extra_rule).as_deref(),
        Some(
            "snapshot does not fit the config: series m@1/default accuracy was watched by rules \
             [acc], the config gives it [acc, acc-ema]"
        )
    );

    let fewer_rules = RETRAIN
        .split("[[rules]]\nname = \"errors\"")
        .next()
        .unwrap()
        .to_string();
    assert!(matches!(
        restore_with(&fewer_rules),
        Err(SnapshotError::RuleOutOfRange {
            index: 2,
            rules: 2,
            ..
        })
    ));
}

#[test]
fn foreign_and_future_bytes_are_refused_with_the_reason() {
    let config = config(RETRAIN);
    let mut bytes = retrain_snapshot();
    let error = |bytes: &[u8]| {
        Engine::restore(config.clone(), bytes)
            .err()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        error(b"{\"not\": \"a snapshot\"}"),
        "not an engine snapshot: the bytes do not start with \"MWSNAP\""
    );
    assert_eq!(error(b"MWS"), "snapshot is truncated: 3 bytes");
    assert_eq!(error(&bytes[..8]), "snapshot is truncated: 8 bytes");
    assert_eq!(
        error(&bytes[..bytes.len() - 1]),
        "snapshot is corrupt: its checksum does not match (truncated or altered)"
    );
    bytes[6..10].copy_from_slice(&(SNAPSHOT_FORMAT + 1).to_le_bytes());
    assert_eq!(
        error(&bytes),
        format!(
            "snapshot format {}; this build reads {SNAPSHOT_FORMAT}",
            SNAPSHOT_FORMAT + 1
        )
    );
}

/// The bytes of one snapshot, pinned: if this fails, the format changed (a field of the
/// engine's state or of a detector added, removed, reordered or retyped) or a detector's state
/// means something else now. Bump `SNAPSHOT_FORMAT` (see the `snapshot` module docs), then
/// update the digest.
#[test]
fn the_format_is_pinned() {
    // Since format 3, traffic too: a binary model's pending join, windows and CBPE reference,
    // a multiclass model's score rows and a regression model's pending predictions; since
    // format 4, the binary model's drift reference and window; since format 5, its uploaded
    // reference and a data_drift rule's alerts (pending for ever: `for` is never reached); since
    // format 6, each instance's latest compared drift window.
    let models = r#"
[[rules]]
name = "tb-drift"
model = "tb"
data_drift = {}
for = 1000

[[models]]
name = "tb"
task = "binary"
positive = "fraud"
window = 20
reference = { first = 30 }
drift_window = 25

[[models]]
name = "tm"
task = "multiclass"
window = 30

[[models]]
name = "tr"
task = "regression"
window = 30
"#;
    let config = config(&format!("{ALL_DETECTORS}{models}"));
    let mut engine = Engine::new(config);
    let mut inputs = Vec::new();
    for i in 0..400_i64 {
        let x = i as f64;
        let wrong = (i * 7919) % 10 < if i < 200 { 1 } else { 4 };
        let metrics = vec![
            (
                "accuracy".to_string(),
                0.9 - 0.2 * f64::from(u8::from(i > 250)) + 0.01 * (x / 7.0).sin(),
            ),
            ("error".to_string(), f64::from(u8::from(wrong))),
            (
                "kpi".to_string(),
                if i < 300 {
                    (x / 3.0).cos()
                } else {
                    5.0 + (x / 3.0).cos()
                },
            ),
            ("latency_ms".to_string(), 80.0 + 40.0 * (x / 11.0).sin()),
        ];
        inputs.push(Input::Event(Event {
            // Model a's canary instance feeds the canary rules' candidate windows (format 2).
            model: ModelId::new(
                if i % 3 == 0 { "b" } else { "a" },
                "1",
                if i % 3 == 1 && i % 2 == 0 {
                    "canary-0"
                } else {
                    "default"
                },
            ),
            timestamp: Some(at(i)),
            metrics,
        }));
        if i % 50 == 49 {
            inputs.push(job("a", i, None));
        }
        inputs.extend(traffic(i));
    }
    feed(&mut engine, &inputs);
    let bytes = engine.snapshot().unwrap();
    use sha2::{Digest, Sha256};
    let digest: String = Sha256::digest(&bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    assert_eq!(
        (bytes.len(), digest.as_str()),
        (
            83423,
            "f0bf4055b6cbfebbf2142c43547181b02d991d05529cf80cd28e3f4da8e5484a"
        )
    );
}

/// The predictions and labels of step `i` of the pinned stream: every step a prediction of each
/// model, and labels of the binary model's predictions two steps back (a third of them never).
fn traffic(i: i64) -> Vec<Input> {
    use modelwatch_engine::{Feature, Label, Outcome, Prediction};
    let class = |text: &str| Outcome::Text(text.to_string());
    let p = ((i * 37) % 100) as f64 / 100.0;
    let features = vec![
        ("age".to_string(), Feature::Number((i % 50) as f64)),
        (
            "country".to_string(),
            Feature::Text(["DE", "FR", "IT"][(i % 3) as usize].to_string()),
        ),
        (
            "income".to_string(),
            if i % 7 == 0 {
                Feature::Null
            } else {
                Feature::Number(p * 1000.0)
            },
        ),
    ];
    let predict = |model: &str, output: Outcome, score, scores| {
        Input::Prediction(
            Prediction::new(
                ModelId::new(model, "1", "default"),
                Some(at(i)),
                format!("{model}-{i}"),
                output,
                score,
                scores,
                (model == "tb").then(|| features.clone()),
            )
            .unwrap(),
        )
    };
    let mut inputs = vec![
        predict(
            "tb",
            class(if p > 0.5 { "fraud" } else { "ok" }),
            Some(p),
            None,
        ),
        predict(
            "tm",
            class(["a", "b", "c"][(i % 3) as usize]),
            None,
            Some(vec![
                ("a".to_string(), p / 2.0),
                ("b".to_string(), 1.0 - p),
                ("c".to_string(), p / 2.0),
            ]),
        ),
        predict("tr", Outcome::Number(p * 10.0 + 0.5), None, None),
    ];
    if i == 350 {
        use modelwatch_engine::reference::Cell;
        use modelwatch_engine::{ReferenceTable, ReferenceUpload};
        let table = ReferenceTable::new(vec![
            (
                "age".to_string(),
                (0..40).map(|n| Cell::Number(f64::from(n % 17))).collect(),
            ),
            (
                "country".to_string(),
                (0..40)
                    .map(|n| Cell::Text(["DE", "FR"][n % 2].to_string()))
                    .collect(),
            ),
        ])
        .unwrap();
        inputs.push(Input::Reference(
            ReferenceUpload::new("tb", std::sync::Arc::new(table), Some(at(i))).unwrap(),
        ));
    }
    if i >= 2 && i % 3 != 0 {
        let truth = if (i * 7919) % 10 < 3 { "fraud" } else { "ok" };
        inputs.push(Input::Label(
            Label::new("tb", Some(at(i)), format!("tb-{}", i - 2), class(truth)).unwrap(),
        ));
    }
    inputs
}

/// The figures in the `snapshot` module docs.
#[test]
fn snapshot_size_per_series() {
    let size = |text: &str, metric: &str, points: i64, series: usize| -> usize {
        let mut engine = Engine::new(config(text));
        let empty = engine.snapshot().unwrap().len();
        for s in 0..series {
            for i in 0..points {
                let input = Input::Event(Event {
                    model: ModelId::new(format!("model-{s}"), "1", "default"),
                    timestamp: Some(at(i)),
                    metrics: vec![(metric.to_string(), 0.95 + 0.01 * ((i as f64) / 5.0).sin())],
                });
                engine.process(&input, &mut Vec::new());
            }
        }
        (engine.snapshot().unwrap().len() - empty) / series
    };
    let default_accuracy = size(DEFAULT_CONFIG_TOML, "accuracy", 2000, 4);
    let default_latency = size(DEFAULT_CONFIG_TOML, "latency_ms", 2000, 4);
    let window = size(
        "[[rules]]\nname = \"w\"\nmetric = \"accuracy\"\ndetector = { kind = \"window_mean\", window = 1000, below = 0.9 }\n",
        "accuracy",
        2000,
        4,
    );
    // Per series, with its model's share of the instance and retrain entries.
    assert!(
        (9_000..10_500).contains(&default_accuracy)
            && default_latency < 200
            && (8_000..8_200).contains(&window),
        "{default_accuracy} {default_latency} {window}"
    );
}
