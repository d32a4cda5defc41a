//! The wire parser seen from outside: event-time bounds, syntax errors said in words, and no
//! panic on any text.

use modelwatch_engine::metric::MetricCatalog;
use modelwatch_engine::wire::TimeBounds;
use modelwatch_engine::{BatchError, Format, Input, InputError, Timestamp, WireParser};

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
