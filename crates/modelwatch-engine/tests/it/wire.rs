//! The wire parser seen from outside: event-time bounds, syntax errors said in words, and no
//! panic on any text.

use modelwatch_engine::metric::MetricCatalog;
use modelwatch_engine::wire::TimeBounds;
use modelwatch_engine::{BatchError, Format, Input, InputError, Timestamp, WireParser};
use proptest::prelude::*;

fn time(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

fn event(timestamp: Option<&str>) -> String {
    let timestamp = timestamp
        .map(|time| format!(r#", "timestamp": "{time}""#))
        .unwrap_or_default();
    format!(
        r#"{{"model": {{"name": "m", "version": "1"}}, "metric": "accuracy", "value": 0.9{timestamp}}}"#
    )
}

/// The server's clock in these tests, and its bounds: 5 minutes ahead, 30 days back.
fn bounds() -> TimeBounds {
    let now = time("2026-11-22T08:00:00Z");
    TimeBounds::new()
        .not_after(
            now.plus_secs(300),
            "5m ahead of the server's clock (--max-future)",
        )
        .not_before(
            Timestamp::from_nanos(now.as_nanos() - 30 * 86_400 * 1_000_000_000),
            "the retention (30d)",
        )
}

fn parse_bounded(text: &str) -> Result<Vec<Input>, BatchError> {
    let catalog = MetricCatalog::new();
    let bounds = bounds();
    WireParser::new(&catalog)
        .with_time_bounds(&bounds)
        .parse_batch(text, Format::Auto)
}

fn invalid(result: Result<Vec<Input>, BatchError>) -> Vec<String> {
    match result {
        Err(BatchError::Invalid { errors, .. }) => errors.iter().map(ToString::to_string).collect(),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

#[test]
fn events_dated_past_the_latest_time_are_refused_naming_the_limit() {
    let errors = invalid(parse_bounded(&event(Some("2100-01-01T00:00:00Z"))));
    assert_eq!(
        errors,
        [
            "input 0 (line 1): timestamp: 2100-01-01T00:00:00Z is more than 5m ahead of the server's clock (--max-future); send the event's real time"
        ]
    );
    // The bound itself is accepted, a nanosecond past it is not.
    assert!(parse_bounded(&event(Some("2026-11-22T08:05:00Z"))).is_ok());
    assert!(parse_bounded(&event(Some("2026-11-22T09:05:00.000000001+01:00"))).is_err());
}

#[test]
fn events_older_than_the_earliest_time_are_refused_naming_the_limit() {
    let errors = invalid(parse_bounded(&event(Some("2026-01-01T00:00:00Z"))));
    assert_eq!(
        errors,
        [
            "input 0 (line 1): timestamp: 2026-01-01T00:00:00Z is older than the retention (30d): it would be deleted at the next pass; send only events from 2026-10-23T08:00:00Z on"
        ]
    );
    assert!(parse_bounded(&event(Some("2026-10-23T08:00:00Z"))).is_ok());
    assert!(parse_bounded(&event(Some("2026-10-23T07:59:59.999Z"))).is_err());
}

#[test]
fn a_batch_with_one_event_out_of_bounds_is_refused_whole() {
    let text = [
        event(Some("2026-11-22T07:59:00Z")),
        event(None),
        event(Some("2100-01-01T00:00:00Z")),
        r#"{"model": {"name": "m", "version": "1"}, "metric": "accuracy", "value": 0.9, "timestamp": null}"#.to_string(),
        event(Some("1970-01-01T00:00:00Z")),
    ]
    .join("\n");
    let result = parse_bounded(&text);
    let Err(BatchError::Invalid { errors, omitted }) = result else {
        panic!("{result:?}")
    };
    let located: Vec<(Option<usize>, usize, Option<&str>)> = errors
        .iter()
        .map(|error: &InputError| (error.index, error.line, error.field.as_deref()))
        .collect();
    assert_eq!(
        located,
        [
            (Some(2), 3, Some("timestamp")),
            (Some(4), 5, Some("timestamp"))
        ]
    );
    assert_eq!(omitted, 0);
    // Without the bad ones, the rest (without a timestamp, or null) goes in.
    let good: Vec<&str> = text
        .lines()
        .filter(|line| !line.contains("2100") && !line.contains("1970"))
        .collect();
    assert_eq!(parse_bounded(&good.join("\n")).unwrap().len(), 3);
}

#[test]
fn bounds_apply_to_every_input_with_a_time_and_only_when_set() {
    let catalog = MetricCatalog::new();
    let bounds = bounds();
    let request = r#"{"retrain_request": {"model": "m"}, "timestamp": "2100-01-01T00:00:00Z"}"#;
    let result = WireParser::new(&catalog)
        .accepting_jobs()
        .with_time_bounds(&bounds)
        .parse_batch(request, Format::Auto);
    assert!(invalid(result)[0].contains("timestamp: 2100-01-01T00:00:00Z is more than 5m ahead"),);
    let unbounded = WireParser::new(&catalog).accepting_jobs();
    assert!(unbounded.parse_batch(request, Format::Auto).is_ok());
    let only_future = TimeBounds::new().not_after(
        time("2026-11-22T08:05:00Z"),
        "5m ahead of the server's clock (--max-future)",
    );
    let parser = WireParser::new(&catalog).with_time_bounds(&only_future);
    assert!(
        parser
            .parse_batch(&event(Some("1970-01-01T00:00:00Z")), Format::Auto)
            .is_ok()
    );
}

/// The first error of `text` as the HTTP parser reports it (the body sent as JSON).
fn first_error(text: &str, format: Format) -> String {
    let catalog = MetricCatalog::new();
    match WireParser::new(&catalog).parse_batch(text, format) {
        Err(BatchError::Syntax { errors, .. } | BatchError::Invalid { errors, .. }) => {
            errors[0].to_string()
        }
        other => panic!("{text}: {other:?}"),
    }
}

#[test]
fn json_syntax_errors_say_in_words_what_was_expected() {
    let value = "expected a JSON value: an object, an array, a string in double quotes, a \
                 number, true, false or null";
    let cases = [
        (r#"{"model": tru}"#, "line 1, column 14: invalid JSON: expected true, false or null".to_string()),
        (r#"{"model": nul}"#, "line 1, column 14: invalid JSON: expected true, false or null".to_string()),
        (r#"{"model": oops}"#, format!("line 1, column 11: invalid JSON: {value}")),
        ("{\"model\": \n  }", format!("line 2, column 3: invalid JSON: {value}")),
        (r#"{"model": "#, "line 1, column 10: invalid JSON: the text ends where a value should be".to_string()),
        (
            r#"{"model": {"name": "m""#,
            "line 1, column 22: invalid JSON: the text ends inside an object: a `}` is missing".to_string(),
        ),
        (
            "[{\"model\": 1}",
            "line 1, column 13: invalid JSON: the text ends inside an array: a `]` is missing".to_string(),
        ),
        (
            r#"{"model": "fraud"#,
            "line 1, column 16: invalid JSON: the text ends inside a string: a closing `\"` is missing".to_string(),
        ),
        (
            r#"{"model" {}}"#,
            "line 1, column 10: invalid JSON: expected `:` between an object's key and its value".to_string(),
        ),
        (
            "[{} {}]",
            "line 1, column 5: invalid JSON: expected `,` or `]` after an array's element".to_string(),
        ),
        (
            r#"{"metric": "accuracy" "value": 1}"#,
            "line 1, column 23: invalid JSON: expected `,` or `}` after an object's value".to_string(),
        ),
        (
            "{model: 1}",
            "line 1, column 2: invalid JSON: expected an object's key: a string in double quotes".to_string(),
        ),
        (
            "[{},]",
            "line 1, column 5: invalid JSON: a comma before the closing bracket: remove it".to_string(),
        ),
        (
            "[{}] x",
            "line 1, column 6: invalid JSON: more text after the end of the JSON value".to_string(),
        ),
        (
            r#"{"value": 01}"#,
            "line 1, column 12: invalid JSON: invalid number: JSON numbers look like 12, -0.5 or 1e-3".to_string(),
        ),
        (
            r#"{"metric": "\q"}"#,
            "line 1, column 14: invalid JSON: invalid escape in a string: use \\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\u and four hex digits".to_string(),
        ),
        (
            "{\"metric\": \"a\tb\"}",
            "line 1, column 13: invalid JSON: a string holds a raw control character such as a line break or tab: write it escaped (\\n, \\t)".to_string(),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(first_error(text, Format::Json), expected, "{text}");
    }
    // A text ending in a line break ends at column 1 of the next line, not column 0.
    assert_eq!(
        first_error("[{}\n", Format::Json),
        "line 2, column 1: invalid JSON: the text ends inside an array: a `]` is missing"
    );
    // In NDJSON the same words, with the input's index.
    assert_eq!(
        first_error("{}\n{\"model\": tru}", Format::Ndjson),
        "input 1 (line 2, column 14): invalid JSON: expected true, false or null"
    );
    // Half a surrogate pair is found when the string is read, and said the same way.
    for text in [
        r#"{"model": {"name": "\ud800", "version": "1"}, "metric": "accuracy", "value": 1}"#,
        r#"{"model": {"name": "\udc00", "version": "1"}, "metric": "accuracy", "value": 1}"#,
    ] {
        assert_eq!(
            first_error(text, Format::Json),
            "input 0 (line 1): model.name: unreadable string: a \\u escape holds half of a surrogate pair without the other half"
        );
    }
    assert_eq!(
        first_error(r#"{"\ud800": 1}"#, Format::Json),
        "input 0 (line 1): unreadable object: a \\u escape holds half of a surrogate pair without the other half"
    );
}

/// Valid inputs of every kind, with multi-byte text, to be cut and spliced.
const SEEDS: &[&str] = &[
    r#"{"model": {"name": "fraud-detector", "version": "1.4.0", "instance": "canary-0"}, "timestamp": "2026-11-22T08:00:00.5+01:00", "metrics": {"accuracy": 0.93, "f1_score": 0.5, "my_kpi": -1e300}}"#,
    r#"{"model": {"name": "m", "version": "1"}, "metric": "error", "value": 1}"#,
    r#"{"job_finished": {"model": "m", "job_id": "ünïcødé ✓", "status": "succeeded", "version": "2"}, "timestamp": "2026-11-22T09:00:00Z"}"#,
    r#"{"retrain_request": {"model": "m", "reason": "labels \"v7\" arrived\t€ 🎉"}}"#,
];

/// Pieces that break JSON in every way the framing must survive.
const PIECES: &[&str] = &[
    "",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "\\u",
    "\\ud800",
    "\n",
    "\r\n",
    "\t",
    " ",
    "é",
    "€",
    "🎉",
    "\u{2028}",
    "\u{0}",
    "tru",
    "nul",
    "-",
    "1e999",
    "0.",
    "[[[[",
    "{\"a\":",
    "\"timestamp\": \"2100-01-01T00:00:00Z\"",
    "\"timestamp\": \"1970-01-01T00:00:00Z\"",
];

/// A text made of seeds, each cut and spliced at character boundaries.
fn mangled() -> impl Strategy<Value = String> {
    let part = (
        prop::sample::select(SEEDS.to_vec()),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        prop::sample::select(PIECES.to_vec()),
        prop::sample::select(vec!["\n", "\n\n", " ", ",", "", "\r\n"]),
    )
        .prop_map(|(seed, at, end, piece, separator)| {
            let chars: Vec<char> = seed.chars().collect();
            let at = at.index(chars.len() + 1);
            let end = at + end.index(chars.len() + 1 - at);
            let before: String = chars[..at].iter().collect();
            let after: String = chars[end..].iter().collect();
            format!("{before}{piece}{after}{separator}")
        });
    (
        prop::collection::vec(part, 1..6),
        prop::sample::select(vec!["", "[", " \n"]),
        prop::sample::select(vec!["", "]", "\n"]),
    )
        .prop_map(|(parts, open, close)| format!("{open}{}{close}", parts.concat()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn mangled_text_is_refused_with_located_errors_never_a_panic(text in mangled()) {
        let catalog = MetricCatalog::new();
        let bounds = bounds();
        let lines = text.split('\n').count();
        for parser in [
            WireParser::new(&catalog),
            WireParser::new(&catalog).accepting_jobs(),
            WireParser::new(&catalog).accepting_jobs().with_time_bounds(&bounds),
        ] {
            for format in [Format::Auto, Format::Json, Format::Ndjson] {
                let errors = match parser.parse_batch(&text, format) {
                    Ok(inputs) => {
                        prop_assert!(!inputs.is_empty());
                        continue;
                    }
                    Err(BatchError::Syntax { errors, .. } | BatchError::Invalid { errors, .. }) => errors,
                    Err(BatchError::Empty | BatchError::TooMany { .. }) => continue,
                };
                prop_assert!(!errors.is_empty());
                for error in &errors {
                    prop_assert!(error.line >= 1 && error.line <= lines, "{error} in {text:?}");
                    prop_assert!(error.column.is_none_or(|column| column >= 1), "{error}");
                    prop_assert!(!error.message.is_empty() && !error.message.ends_with('.'), "{error}");
                }
            }
        }
    }
}
