//! Conformance of the outbox and the registry on every backend, through the public `Store`:
//! the deliveries and jobs commits write, the effect updates the service reports, and the
//! registry's versions, status changes and audit rows. This file holds what the tests share:
//! an engine and a store, and inputs of one model.

mod deliveries;
mod jobs;
mod partitions;
mod registry;

use std::sync::Arc;

use modelwatch_engine::{Engine, Event, Input, ModelId, Output, Timestamp};
use modelwatch_store::{Batch, EffectUpdate, Job, JobFilter, Page, Record, Store};

use crate::backends::{Backend, Opened};

/// A retrain policy with a trainer, so that a firing alert's retrain is granted (a job).
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

/// Runs inputs through an engine and commits each as its own batch.
struct Harness {
    engine: Engine,
    db: Opened,
}

impl Harness {
    /// A fresh store on `backend`; `None` when the backend is not installed (the test skips).
    fn new(backend: Backend) -> Option<Harness> {
        let config = modelwatch_engine::parse_config(CONFIG).unwrap().config;
        Some(Harness {
            engine: Engine::new(Arc::new(config)),
            db: backend.open()?,
        })
    }

    fn store(&self) -> &Store {
        &self.db.store
    }

    fn store_mut(&mut self) -> &mut Store {
        &mut self.db.store
    }

    /// Commits `input` with the outputs it causes, every alert told to the notifiers
    /// `notify` (as a config with `notify = [...]` would), and `effects`.
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
        self.store_mut().commit(&batch).unwrap();
        outputs
    }

    /// Commits `input` with the outputs it causes (and `more` after them), as asked for by
    /// `actor` when there is one, and `effects` asked for by `effects_actor`.
    fn commit_by(
        &mut self,
        input: Input,
        actor: Option<&str>,
        more: Vec<Output>,
        (effects, effects_actor): (Vec<EffectUpdate>, &str),
    ) -> Vec<Output> {
        let mut outputs = Vec::new();
        let seq = self.engine.process(&input, &mut outputs);
        outputs.extend(more);
        let record = Record {
            seq,
            received_at: input.timestamp().unwrap(),
            input,
        };
        let mut batch = Batch::new();
        match actor {
            Some(actor) => batch.push_by(record, outputs.clone(), actor),
            None => batch.push(record, outputs.clone()),
        }
        batch.push_effects_by(effects, effects_actor);
        self.store_mut().commit(&batch).unwrap();
        outputs
    }

    /// Commits a batch of effect updates alone.
    fn effects(&mut self, effects: Vec<EffectUpdate>) {
        let batch = Batch {
            effects,
            ..Batch::default()
        };
        self.store_mut().commit(&batch).unwrap();
    }

    fn only_job(&self) -> Job {
        let jobs = self
            .store()
            .jobs(&JobFilter::default(), &Page::default())
            .unwrap();
        assert_eq!(jobs.items.len(), 1, "{jobs:?}");
        jobs.items.into_iter().next().unwrap()
    }
}
