//! Fuzz target: the wire parser (`WireParser::parse_batch`) on arbitrary text.
//!
//! Every input is parsed in each [`Format`] by three parsers: the HTTP one (events only, as
//! `POST /v1/events` builds it), the replay one (`accepting_jobs`, as `replay` and the store
//! build it) and a replay one with small limits (so that the limits are reached). Beyond "no
//! panic", it checks:
//! - a batch is all or nothing: accepted, it holds one input for each document of the text,
//!   each the input `parse_document` gives alone; refused, it lists at least one problem, at
//!   most the limit, each located on a line of the text (and at an input of the batch);
//! - the HTTP parser accepts nothing that the replay parser reads differently, and the ingest
//!   parser (the HTTP one with `[[models]]`, checking predictions and labels against their
//!   task) nothing that the HTTP one reads differently;
//! - every accepted input, stamped as the service stamps it, is stored (`Store::commit`) and
//!   reads back (`Store::inputs_after`) identical.
//!
//! Bytes that are not UTF-8 are replaced (the parser takes text).

#![no_main]

use std::sync::{LazyLock, Mutex};

use libfuzzer_sys::fuzz_target;
use modelwatch_engine::wire::{Limits, documents};
use modelwatch_engine::{BatchError, Format, Input, InputError, MetricCatalog, WireParser};
use modelwatch_engine::{Config, Timestamp, parse_config};
use modelwatch_fuzz::ScratchStore;

/// The catalogue the parsers check values against: the well-known metrics and the custom ones
/// of docs/config.md (a range, a binary metric).
const CATALOG_CONFIG: &str = r#"
[metrics.conversion_rate]
direction = "higher_is_better"
min = 0
max = 1

[metrics.wrong_label]
binary = true
direction = "lower_is_better"

[[models]]
name = "fraud*"
task = "binary"
positive = "fraud"

[[models]]
name = "price*"
task = "regression"

[[models]]
name = "m*"
task = "multiclass"
"#;

/// Limits small enough that short inputs reach them.
const SMALL: Limits = Limits {
    max_inputs: 4,
    max_metrics: 3,
    max_errors: 2,
};

/// What the service stamps on an input that carries no timestamp (its receive time).
const RECEIVED_AT: Timestamp = Timestamp::from_secs(1_795_852_800);

static CONFIG: LazyLock<Config> = LazyLock::new(|| match parse_config(CATALOG_CONFIG) {
    Ok(parsed) => parsed.config,
    Err(errors) => panic!("the fuzz target's own config is invalid: {errors}"),
});

static CATALOG: LazyLock<MetricCatalog> = LazyLock::new(|| CONFIG.catalog.clone());

static STORE: LazyLock<Mutex<ScratchStore>> =
    LazyLock::new(|| Mutex::new(ScratchStore::new("wire-parser")));

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for format in [Format::Json, Format::Ndjson, Format::Auto] {
        let http_parser = WireParser::new(&CATALOG);
        // Ingest checks predictions and labels against [[models]] too: it refuses more, and
        // what it takes reads the same without the config (as the store reads it).
        let ingest_parser = WireParser::new(&CATALOG).with_models(&CONFIG.models);
        let ingest = ingest_parser.parse_batch(&text, format);
        check_batch(&text, format, &ingest_parser, &ingest, Limits::default());
        let replay_parser = WireParser::new(&CATALOG).accepting_jobs();
        let small_parser = replay_parser.with_limits(SMALL);
        let http = http_parser.parse_batch(&text, format);
        let replay = replay_parser.parse_batch(&text, format);
        let small = small_parser.parse_batch(&text, format);
        check_batch(&text, format, &http_parser, &http, Limits::default());
        check_batch(&text, format, &replay_parser, &replay, Limits::default());
        check_batch(&text, format, &small_parser, &small, SMALL);
        if let Ok(inputs) = &ingest {
            assert_eq!(
                Ok(inputs),
                http.as_ref(),
                "the ingest parser accepted {format:?} text that reads differently without [[models]]"
            );
        }
        if let Ok(inputs) = &http {
            assert_eq!(
                Ok(inputs),
                replay.as_ref(),
                "the HTTP parser accepted {format:?} text that replay reads differently"
            );
        }
        if let Ok(inputs) = replay {
            check_stored_identical(inputs);
        }
    }
});

/// All or nothing, and every problem located.
fn check_batch(
    text: &str,
    format: Format,
    parser: &WireParser<'_>,
    result: &Result<Vec<Input>, BatchError>,
    limits: Limits,
) {
    let located: Vec<_> = documents(text, format).collect();
    let lines = text.matches('\n').count() + 1;
    match result {
        Ok(inputs) => {
            assert!(!inputs.is_empty(), "an accepted batch holds no input");
            assert_eq!(
                inputs.len(),
                located.len(),
                "an accepted batch does not hold one input per document"
            );
            assert!(inputs.len() <= limits.max_inputs);
            for (document, input) in located.iter().zip(inputs) {
                let document = match document {
                    Ok(document) => document,
                    Err(error) => panic!("a batch with a syntax error was accepted: {error}"),
                };
                assert_eq!(
                    parser.parse_document(document).as_ref(),
                    Ok(input),
                    "a document reads differently alone and in its batch"
                );
            }
        }
        Err(BatchError::Empty) => assert!(located.is_empty(), "a batch with documents is empty"),
        Err(BatchError::TooMany { limit }) => {
            assert_eq!(*limit, limits.max_inputs);
            assert!(
                located.len() > *limit,
                "too many inputs with {} documents",
                located.len()
            );
        }
        Err(BatchError::Syntax { errors, omitted }) => {
            check_errors(errors, *omitted, lines, limits);
            assert!(
                located.iter().any(Result::is_err),
                "a syntax error where every document reads"
            );
            for error in errors {
                assert!(
                    error.column.is_some(),
                    "a syntax error without a column: {error}"
                );
            }
        }
        Err(BatchError::Invalid { errors, omitted }) => {
            check_errors(errors, *omitted, lines, limits);
            assert!(
                located.iter().all(Result::is_ok),
                "an invalid batch that holds a syntax error"
            );
            for error in errors {
                let index = error
                    .index
                    .unwrap_or_else(|| panic!("an invalid input without its index: {error}"));
                assert!(
                    index < located.len(),
                    "error at input {index} of {}",
                    located.len()
                );
            }
        }
    }
}

fn check_errors(errors: &[InputError], omitted: usize, lines: usize, limits: Limits) {
    assert!(!errors.is_empty(), "a refused batch lists no problem");
    assert!(
        errors.len() <= limits.max_errors,
        "more problems listed than the limit"
    );
    assert!(omitted == 0 || errors.len() == limits.max_errors);
    for error in errors {
        assert!(
            (1..=lines).contains(&error.line),
            "problem on line {} of a text of {lines} lines: {error}",
            error.line
        );
        assert_ne!(error.column, Some(0), "problem at column 0: {error}");
        assert!(!error.message.is_empty(), "a problem without a message");
    }
}

/// Stores the inputs the way the service does (numbered, timestamps resolved) and reads them
/// back.
fn check_stored_identical(mut inputs: Vec<Input>) {
    for input in &mut inputs {
        input.stamp_if_missing(RECEIVED_AT);
    }
    let mut store = STORE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let stored = store.round_trip(&inputs, RECEIVED_AT);
    assert_eq!(stored.len(), inputs.len(), "stored inputs went missing");
    for (input, stored) in inputs.iter().zip(&stored) {
        // Debug tells -0.0 from 0.0 and every float apart, which == does not.
        assert_eq!(
            format!("{input:?}"),
            format!("{stored:?}"),
            "an accepted input reads back from the store different"
        );
    }
}
