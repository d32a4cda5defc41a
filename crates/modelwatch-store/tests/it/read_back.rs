//! Every input the service can accept reads back from the store as itself: inputs accepted by
//! the HTTP parser (`WireParser::new`), by replay's (`accepting_jobs`) or by the engine's
//! checked constructors are committed to a real store (on each backend), another store on
//! the same database reads them, and `inputs_after` must give them back identical. And what
//! the checked constructors refuse, the store's reader refuses too, so nothing it could not
//! read is ever built.

#![allow(clippy::result_large_err)]

use std::cell::RefCell;

use modelwatch_engine::metric::MetricCatalog;
use modelwatch_engine::{Format, Input, RetrainRequest, Timestamp, WireParser};
use modelwatch_store::{Batch, MAX_REPLAY_PAGE, Record};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};

use crate::backends::{Backend, Opened};
use crate::input_texts::{built, event_text, json, special_text, traffic_text};

/// When the inputs without a timestamp were received (they are stamped with it).
const RECEIVED: Timestamp = Timestamp::from_secs(1_900_000_000);

/// Commits `inputs` (stamped) in one batch to the store, reads them back through another
/// store on the same database, as a restart does, and returns both.
fn stored_and_read_back(store: &mut Opened, inputs: &[Input]) -> (Vec<Input>, Vec<Input>) {
    let stamped: Vec<Input> = inputs
        .iter()
        .cloned()
        .map(|mut input| {
            input.stamp_if_missing(RECEIVED);
            input
        })
        .collect();
    let before = store.store.last_seq().unwrap();
    let mut batch = Batch::new();
    for (index, input) in stamped.iter().enumerate() {
        let record = Record {
            seq: before + index as u64 + 1,
            received_at: RECEIVED,
            input: input.clone(),
        };
        batch.push(record, Vec::new());
    }
    store.store.commit(&batch).unwrap();
    let reader = store.reopen();
    let mut read = Vec::new();
    loop {
        let page = reader
            .inputs_after(before + read.len() as u64, MAX_REPLAY_PAGE)
            .unwrap_or_else(|error| panic!("{error}"));
        if page.is_empty() {
            break;
        }
        read.extend(page.into_iter().map(|stored| stored.input));
    }
    (stamped, read)
}

/// Runs 64 cases of `strategy` on one store of `backend` (each case's inputs follow on from
/// the ones before): `accepted` gives the inputs a case stores, which must read back
/// identical.
fn read_back_cases<S: Strategy>(
    backend: Backend,
    strategy: S,
    accepted: impl Fn(S::Value) -> Result<Vec<Input>, TestCaseError>,
) {
    let Some(opened) = backend.open() else {
        return;
    };
    let opened = RefCell::new(opened);
    let mut runner = TestRunner::new(ProptestConfig::with_cases(64));
    let result = runner.run(&strategy, |value| {
        let accepted = accepted(value)?;
        let (stored, read) = stored_and_read_back(&mut opened.borrow_mut(), &accepted);
        prop_assert_eq!(read, stored);
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}\n{runner}");
    }
}

/// The store's reader: the well-known metrics only, no limits, the service's own inputs too.
fn read_as_the_store_does(text: &str) -> Option<Input> {
    let catalog = MetricCatalog::new();
    let limits = modelwatch_engine::wire::Limits {
        max_inputs: 1,
        max_metrics: usize::MAX,
        max_errors: 10,
    };
    let mut inputs = WireParser::new(&catalog)
        .with_limits(limits)
        .accepting_jobs()
        .parse_batch(text, Format::Json)
        .ok()?;
    (inputs.len() == 1).then(|| inputs.remove(0))
}

/// The wire form of an input as the store writes it: an event without its derived
/// `macro_score` (and each metric as it is, repeated ones too), the others as they serialize.
fn wire_form(input: &Input) -> String {
    match input {
        Input::Event(event) => {
            let metrics: Vec<String> = event
                .metrics
                .iter()
                .filter(|(name, _)| name != modelwatch_engine::metric::MACRO_SCORE)
                .map(|(name, value)| {
                    format!("{}:{}", json(name), serde_json::to_string(value).unwrap())
                })
                .collect();
            let timestamp = event
                .timestamp
                .map(|timestamp| format!(r#""timestamp":"{timestamp}","#))
                .unwrap_or_default();
            format!(
                r#"{{"model":{},{timestamp}"metrics":{{{}}}}}"#,
                serde_json::to_string(&event.model).unwrap(),
                metrics.join(",")
            )
        }
        Input::JobFinished(_)
        | Input::RetrainRequest(_)
        | Input::Prediction(_)
        | Input::Label(_)
        | Input::Reference(_) => serde_json::to_string(input).unwrap(),
    }
}

fn parsed(parser: WireParser<'_>, texts: &[String]) -> Vec<Input> {
    texts
        .iter()
        .filter_map(|text| parser.parse_batch(text, Format::Auto).ok())
        .flatten()
        .collect()
}

on_each_backend!(
    events_accepted_over_http_read_back_identical,
    inputs_accepted_by_replay_read_back_identical,
    predictions_and_labels_accepted_read_back_identical,
    inputs_built_by_the_checked_constructors_read_back_identical,
    a_retrain_reason_the_reader_refuses_is_never_built,
);

fn events_accepted_over_http_read_back_identical(backend: Backend) {
    read_back_cases(
        backend,
        prop::collection::vec(event_text(), 1..24),
        |texts| {
            let catalog = MetricCatalog::new();
            Ok(parsed(WireParser::new(&catalog), &texts))
        },
    );
}

fn inputs_accepted_by_replay_read_back_identical(backend: Backend) {
    read_back_cases(
        backend,
        prop::collection::vec(prop_oneof![event_text(), special_text()], 1..24),
        |texts| {
            let catalog = MetricCatalog::new();
            Ok(parsed(WireParser::new(&catalog).accepting_jobs(), &texts))
        },
    );
}

fn predictions_and_labels_accepted_read_back_identical(backend: Backend) {
    read_back_cases(
        backend,
        prop::collection::vec(prop_oneof![traffic_text(), event_text()], 1..24),
        |texts| {
            let catalog = MetricCatalog::new();
            Ok(parsed(WireParser::new(&catalog), &texts))
        },
    );
}

fn inputs_built_by_the_checked_constructors_read_back_identical(backend: Backend) {
    read_back_cases(backend, prop::collection::vec(built(), 1..24), |inputs| {
        let mut accepted = Vec::new();
        for input in inputs {
            match input {
                Ok(input) => {
                    prop_assert_eq!(input.check(&MetricCatalog::new()), Ok(()));
                    accepted.push(input);
                }
                Err(refused) => {
                    // Refused in code: refused by the reader too, or read back otherwise.
                    let read = read_as_the_store_does(&wire_form(&refused));
                    if matches!(refused, Input::Event(_)) {
                        prop_assert!(
                            read.as_ref() != Some(&refused),
                            "{:?} reads back as {:?}",
                            refused,
                            read
                        );
                    } else {
                        prop_assert!(read.is_none(), "{:?} reads back as {:?}", refused, read);
                    }
                    prop_assert!(refused.check(&MetricCatalog::new()).is_err());
                }
            }
        }
        Ok(accepted)
    });
}

fn a_retrain_reason_the_reader_refuses_is_never_built(backend: Backend) {
    let Some(mut opened) = backend.open() else {
        return;
    };
    for reason in ["x".repeat(1025), "line one\nline two".to_string()] {
        let refused = RetrainRequest::new("fraud-detector", Some(reason.clone()), None);
        assert!(refused.is_err(), "{reason:?}");
        let unchecked = Input::RetrainRequest(RetrainRequest {
            model: "fraud-detector".into(),
            reason: Some(reason),
            timestamp: Some(RECEIVED),
        });
        assert_eq!(read_as_the_store_does(&wire_form(&unchecked)), None);
    }
    let built = RetrainRequest::new("fraud-detector", Some("x".repeat(1024)), None).unwrap();
    let (stored, read) = stored_and_read_back(&mut opened, &[Input::RetrainRequest(built)]);
    assert_eq!(read, stored);
}
