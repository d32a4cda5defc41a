//! Tests of the outbox on real SQLite files that the conformance suite (`tests/it/outbox`,
//! every backend) does not hold. This file holds what they share: an engine and a store, and
//! inputs of one model.

mod deliveries;

use std::sync::Arc;

use modelwatch_engine::{Engine, Event, Input, ModelId, Output, Timestamp};

use super::*;
use crate::{Batch, Record, SqliteStore};

const CONFIG: &str = r#"
[retrain]
cooldown_secs = 60

[[trainers]]
kind = "external"

[[rules]]
name = "acc-low"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }
actions = ["retrain"]
"#;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_secs(1_800_000_000 + secs)
}

fn event(version: &str, secs: i64, accuracy: f64) -> Input {
    Input::Event(Event {
        model: ModelId::new("fraud", version, "canary-0"),
        timestamp: Some(at(secs)),
        metrics: vec![("accuracy".to_string(), accuracy)],
    })
}

/// Runs inputs through an engine and commits each as its own batch, giving every alert the
/// notifiers `notify`, as a config with `notify = [...]` would.
struct Harness {
    engine: Engine,
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let config = modelwatch_engine::parse_config(CONFIG).unwrap().config;
        Harness {
            engine: Engine::new(Arc::new(config)),
            store: SqliteStore::open(dir.path()).unwrap(),
            _dir: dir,
        }
    }

    fn commit(&mut self, input: Input, notify: &[&str], effects: Vec<EffectUpdate>) -> Vec<Output> {
        let mut outputs = Vec::new();
        let seq = self.engine.process(&input, &mut outputs);
        for output in &mut outputs {
            if let Output::Alert(alert) = output {
                alert.notify = notify.iter().map(|name| Arc::from(*name)).collect();
            }
        }
        let received_at = input.timestamp().unwrap();
        let mut batch = Batch::new();
        batch.push(
            Record {
                seq,
                received_at,
                input,
            },
            outputs.clone(),
        );
        batch.effects = effects;
        self.store.commit(&batch).unwrap();
        outputs
    }

    fn effects(&mut self, effects: Vec<EffectUpdate>) {
        let batch = Batch {
            effects,
            ..Batch::default()
        };
        self.store.commit(&batch).unwrap();
    }
}
