//! Fuzz target: the config loader (`parse_config`, what `replay`, `serve` and `check-config`
//! read a TOML config with) on arbitrary text.
//!
//! Beyond "no panic", it checks that a refused config lists at least one error, and that
//! every error and warning is located on a line and column of the text, in file order. A
//! config that loads is then put to work as the commands do: an engine is built on it and
//! takes a few events of every well-known metric, so that every rule's detector is made
//! from the parameters the loader let through.
//!
//! Bytes that are not UTF-8 are replaced (a config is text).

#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use modelwatch_engine::config::ConfigError;
use modelwatch_engine::{Engine, Format, WireParser, parse_config};

/// Events that carry every well-known metric (and so the derived macro score) of three
/// instances, a second apart, the first one without a timestamp.
const EVENTS: &str = r#"
{"model":{"name":"fraud-detector","version":"1.4.0"},"metrics":{"accuracy":0.93,"precision":0.92,"recall":0.94,"f1":0.93,"latency_ms":40.1,"drift_score":0.02,"error":0}}
{"model":{"name":"fraud-detector","version":"1.4.0","instance":"canary-0"},"timestamp":"2026-11-22T08:00:01Z","metrics":{"accuracy":0.41,"precision":0.5,"recall":0.3,"f1":0.38,"latency_ms":900,"drift_score":0.9,"error":1}}
{"model":{"name":"shop-ranker","version":"2"},"timestamp":"2026-11-22T08:00:02Z","metric":"accuracy","value":0.7}
"#;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse_config(&text) {
        Err(errors) => {
            assert!(!errors.errors.is_empty(), "a refused config lists no error");
            check_located(&text, &errors.errors);
            for error in &errors.errors {
                assert!(!error.message.is_empty(), "an error without a message");
            }
        }
        Ok(parsed) => {
            check_located(&text, &parsed.warnings);
            let config = Arc::new(parsed.config);
            // A config may narrow a well-known metric's range so that the events are refused:
            // then only the engine's start is checked.
            let inputs = WireParser::new(&config.catalog)
                .parse_batch(EVENTS, Format::Ndjson)
                .unwrap_or_default();
            let mut engine = Engine::new(config);
            let mut outputs = Vec::new();
            for input in &inputs {
                engine.process(input, &mut outputs);
            }
        }
    }
});

/// Every problem is at a line of the text and a column of that line (or just past its end),
/// in file order.
fn check_located(text: &str, problems: &[ConfigError]) {
    let lines: Vec<&str> = text.split('\n').collect();
    for problem in problems {
        assert!(
            (1..=lines.len()).contains(&problem.line),
            "{problem}: line {} of a text of {} lines",
            problem.line,
            lines.len()
        );
        let width = lines[problem.line - 1].chars().count();
        assert!(
            (1..=width + 1).contains(&problem.column),
            "{problem}: column {} of a line of {width} characters",
            problem.column
        );
    }
    assert!(
        problems
            .windows(2)
            .all(|pair| (pair[0].line, pair[0].column) <= (pair[1].line, pair[1].column)),
        "problems out of file order"
    );
}
