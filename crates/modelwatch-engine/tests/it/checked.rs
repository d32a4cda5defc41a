//! The checked constructors hold inputs built in code to the reader's rules: what they refuse,
//! the reader refuses with the same errors, and what they build is what the reader reads.

use modelwatch_engine::metric::MetricCatalog;
use modelwatch_engine::wire::{MAX_ID_LEN, MAX_REASON_LEN};
use modelwatch_engine::{
    BatchError, Event, Format, Input, InputError, JobFinished, JobStatus, ModelId, RetrainRequest,
    Timestamp, WireParser,
};
use proptest::prelude::*;

/// What the store's reader makes of an input's wire form.
fn read_back(text: &str) -> Result<Input, Vec<InputError>> {
    let catalog = MetricCatalog::new();
    match WireParser::new(&catalog)
        .accepting_jobs()
        .parse_batch(text, Format::Json)
    {
        Ok(mut inputs) if inputs.len() == 1 => Ok(inputs.remove(0)),
        Err(BatchError::Invalid { errors, .. }) => Err(errors),
        other => panic!("{text}: {other:?}"),
    }
}

fn messages(errors: &[InputError]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

fn at(secs: i64) -> Option<Timestamp> {
    Some(Timestamp::from_secs(secs))
}

#[test]
fn retrain_requests_built_in_code_meet_the_readers_rules() {
    let request = RetrainRequest::new("fraud-detector", Some("labels\tarrived".into()), None);
    assert_eq!(
        request,
        Ok(RetrainRequest {
            model: "fraud-detector".into(),
            reason: Some("labels\tarrived".into()),
            timestamp: None,
        })
    );
    let long = "é".repeat(MAX_REASON_LEN / 2 + 1);
    for (reason, expected) in [
        (
            long.as_str(),
            "input 0 (line 1): retrain_request.reason: must be 1 to 1024 bytes long",
        ),
        (
            "",
            "input 0 (line 1): retrain_request.reason: must be 1 to 1024 bytes long",
        ),
        (
            "first line\nsecond line",
            "input 0 (line 1): retrain_request.reason: must not contain control characters such as line breaks",
        ),
        (
            "bell\u{7}",
            "input 0 (line 1): retrain_request.reason: must not contain control characters such as line breaks",
        ),
    ] {
        let errors = RetrainRequest::new("m", Some(reason.to_string()), at(1)).unwrap_err();
        assert_eq!(messages(&errors), [expected], "{reason:?}");
    }
    let errors = RetrainRequest::new(
        "bad model",
        Some("a\rb".into()),
        Some(Timestamp::from_nanos(-1)),
    )
    .unwrap_err();
    assert_eq!(
        messages(&errors),
        [
            "input 0 (line 1): timestamp: \"1969-12-31T23:59:59.999999999Z\" is outside the supported range 1970-01-01T00:00:00Z .. 2262-04-11T23:47:16Z",
            "input 0 (line 1): retrain_request.model: \"bad model\" contains ' '; use letters, digits and . _ : / @ + -",
            "input 0 (line 1): retrain_request.reason: must not contain control characters such as line breaks",
        ]
    );
}

#[test]
fn job_notices_built_in_code_meet_the_readers_rules() {
    let job = JobFinished::new(
        "fraud-detector",
        Some("3eb5a2ba".into()),
        JobStatus::Succeeded,
        Some("1.5.0".into()),
        at(1_795_852_800),
    )
    .unwrap();
    assert_eq!(job.version.as_deref(), Some("1.5.0"));
    let errors = JobFinished::new(
        "",
        Some("j".repeat(MAX_ID_LEN + 1)),
        JobStatus::Failed,
        Some("1.5 beta".into()),
        None,
    )
    .unwrap_err();
    assert_eq!(
        messages(&errors),
        [
            "input 0 (line 1): job_finished.model: is empty",
            "input 0 (line 1): job_finished.job_id: must be 1 to 128 bytes long",
            "input 0 (line 1): job_finished.version: \"1.5 beta\" contains ' '; use letters, digits and . _ : / @ + -",
        ]
    );
    // A model or status given but bad is not also reported missing.
    let errors = read_back(r#"{"job_finished": {"model": "", "status": 3}}"#).unwrap_err();
    assert_eq!(
        messages(&errors),
        [
            "input 0 (line 1): job_finished.model: is empty",
            "input 0 (line 1): job_finished.status: must be a string, got a number",
        ]
    );
    let errors = JobFinished::new("m", Some(String::new()), JobStatus::Failed, None, None);
    assert_eq!(
        messages(&errors.unwrap_err()),
        ["input 0 (line 1): job_finished.job_id: must be 1 to 128 bytes long"]
    );
}

#[test]
fn events_built_in_code_are_what_the_reader_reads() {
    let catalog = MetricCatalog::new();
    let model = ModelId::new("fraud-detector", "1.4.0", "default");
    let event = Event::new(
        model.clone(),
        at(1_795_852_800),
        vec![
            ("recall".into(), 0.94),
            ("f1_score".into(), 0.93),
            ("precision".into(), 0.92),
            ("accuracy".into(), 0.93),
            ("my_kpi".into(), -17.0),
        ],
        &catalog,
    )
    .unwrap();
    let read = read_back(
        r#"{"model": {"name": "fraud-detector", "version": "1.4.0"}, "timestamp": "2026-11-28T08:00:00Z",
            "metrics": {"accuracy": 0.93, "precision": 0.92, "recall": 0.94, "f1_score": 0.93, "my_kpi": -17}}"#,
    );
    assert_eq!(read, Ok(Input::Event(event.clone())));
    assert_eq!(Input::Event(event.clone()).check(&catalog), Ok(()));

    let errors = Event::new(
        ModelId::new("m", "", "default"),
        None,
        vec![
            ("accuracy".into(), 1.5),
            ("macro_score".into(), 0.5),
            ("Latency".into(), 1.0),
            ("drift_score".into(), f64::NAN),
        ],
        &catalog,
    )
    .unwrap_err();
    assert_eq!(
        messages(&errors),
        [
            "input 0 (line 1): model.version: is empty",
            "input 0 (line 1): metrics.accuracy: value 1.5 is outside the range of accuracy, [0, 1]",
            "input 0 (line 1): metrics.macro_score: macro_score is derived from accuracy, precision, recall and f1 and cannot be sent",
            "input 0 (line 1): metrics.Latency: metric name \"Latency\" must start with a lowercase letter (names match [a-z][a-z0-9_]{0,63})",
            "input 0 (line 1): metrics.drift_score: NaN is not a finite 64-bit number",
        ]
    );
    let errors = Event::new(model.clone(), None, Vec::new(), &catalog).unwrap_err();
    assert_eq!(
        messages(&errors),
        ["input 0 (line 1): metrics: is empty; give at least one metric"]
    );
    let errors = Event::new(
        model.clone(),
        None,
        vec![("f1".into(), 0.5), ("f1_score".into(), 0.5)],
        &catalog,
    )
    .unwrap_err();
    assert_eq!(
        messages(&errors),
        ["input 0 (line 1): metrics.f1: given more than once (f1_score is an alias of f1)"]
    );

    // An event put together field by field must be in the reader's form.
    let not_canonical = [
        vec![("recall".to_string(), 0.5), ("accuracy".to_string(), 0.5)],
        vec![("f1_score".to_string(), 0.5)],
        vec![
            ("accuracy".to_string(), 0.5),
            ("macro_score".to_string(), 0.5),
        ],
    ];
    for metrics in not_canonical {
        let input = Input::Event(Event {
            model: model.clone(),
            timestamp: None,
            metrics: metrics.clone(),
        });
        let errors = input.check(&catalog).unwrap_err();
        assert_eq!(errors.len(), 1, "{metrics:?}");
        assert_eq!(errors[0].field.as_deref(), Some("metrics"), "{metrics:?}");
        assert!(
            errors[0]
                .message
                .starts_with("not in the form the reader gives"),
            "{errors:?}"
        );
    }
}

#[test]
fn declared_ranges_are_the_catalogues() {
    let mut catalog = MetricCatalog::new();
    catalog.declare(
        "my_kpi",
        modelwatch_engine::metric::MetricInfo::new(
            modelwatch_engine::metric::Goal::HigherIsBetter,
            Some(0.0),
            Some(100.0),
        ),
    );
    let model = ModelId::new("m", "1", "default");
    let errors = Event::new(model, None, vec![("my_kpi".into(), 101.0)], &catalog).unwrap_err();
    assert_eq!(
        messages(&errors),
        ["input 0 (line 1): metrics.my_kpi: value 101 is outside the range of my_kpi, [0, 100]"]
    );
}

/// Any text, long ones, control characters and non-ASCII letters included.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9][a-z0-9._:/@+-]{0,20}",
        any::<String>(),
        "\\PC{0,8}[\\n\\r\\t\\u{0}\\u{7f}\\u{85}\\u{2028}]\\PC{0,8}",
        (1usize..1100).prop_map(|n| "x".repeat(n)),
        (500usize..560).prop_map(|n| "é".repeat(n)),
        Just(String::new()),
    ]
}

fn timestamp() -> impl Strategy<Value = Option<Timestamp>> {
    prop_oneof![
        Just(None),
        any::<i64>().prop_map(|nanos| Some(Timestamp::from_nanos(nanos))),
        (0i64..4_000_000_000).prop_map(|secs| Some(Timestamp::from_secs(secs))),
    ]
}

fn status() -> impl Strategy<Value = JobStatus> {
    prop::sample::select(JobStatus::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_retrain_request_is_built_exactly_when_its_wire_form_reads_back(
        model in text(),
        reason in prop::option::of(text()),
        timestamp in timestamp(),
    ) {
        let unchecked = Input::RetrainRequest(RetrainRequest {
            model: model.clone(),
            reason: reason.clone(),
            timestamp,
        });
        let read = read_back(&serde_json::to_string(&unchecked).unwrap());
        let built = RetrainRequest::new(model, reason, timestamp).map(Input::RetrainRequest);
        prop_assert_eq!(built, read);
    }

    #[test]
    fn a_job_notice_is_built_exactly_when_its_wire_form_reads_back(
        model in text(),
        job_id in prop::option::of(text()),
        status in status(),
        version in prop::option::of(text()),
        timestamp in timestamp(),
    ) {
        let unchecked = Input::JobFinished(JobFinished {
            model: model.clone(),
            job_id: job_id.clone(),
            status,
            version: version.clone(),
            timestamp,
        });
        let read = read_back(&serde_json::to_string(&unchecked).unwrap());
        let built = JobFinished::new(model, job_id, status, version, timestamp)
            .map(Input::JobFinished);
        prop_assert_eq!(built, read);
    }
}
