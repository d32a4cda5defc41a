//! Unit tests for `spec`: parsing of every kind, defaults, and every kind of bad parameter, with
//! all problems reported together.

use super::*;
use crate::PageHinkleyMode;
use crate::ParamValue::{Bool, Float, Integer};

fn params(list: &[(&str, ParamValue)]) -> Vec<(String, ParamValue)> {
    list.iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect()
}

fn errors(kind: &str, list: &[(&str, ParamValue)]) -> Vec<ParamError> {
    DetectorSpec::parse(kind, &params(list)).expect_err("parameters should be rejected")
}

/// `(param, message)` pairs, for compact assertions.
fn described(errors: &[ParamError]) -> Vec<(Option<&str>, &str)> {
    errors
        .iter()
        .map(|error| (error.param.as_deref(), error.message.as_str()))
        .collect()
}

#[test]
fn defaults_follow_river_and_the_sketches() {
    let spec = DetectorSpec::parse("page_hinkley", &[]).unwrap();
    assert_eq!(
        spec,
        DetectorSpec::PageHinkley(PageHinkleyParams::default())
    );
    assert_eq!(
        PageHinkleyParams::default(),
        PageHinkleyParams {
            min_instances: 30,
            delta: 0.005,
            threshold: 50.0,
            alpha: 1.0 - 0.0001,
            mode: PageHinkleyMode::Both
        }
    );
    let spec = DetectorSpec::parse("adwin", &[]).unwrap();
    assert_eq!(
        spec,
        DetectorSpec::Adwin(AdwinParams {
            delta: 0.002,
            clock: 32,
            max_buckets: 5,
            min_window_length: 5,
            grace_period: 10
        })
    );
    let spec = DetectorSpec::parse("ema", &params(&[("below", Float(0.85))])).unwrap();
    let DetectorSpec::Ema(ema) = spec else {
        panic!("not an ema spec: {spec:?}")
    };
    assert_eq!((ema.alpha, ema.min_samples), (0.25, 1));
    let spec = DetectorSpec::parse(
        "window_mean",
        &params(&[("window", Integer(1000)), ("below", Float(0.9))]),
    )
    .unwrap();
    let DetectorSpec::WindowMean(window_mean) = spec else {
        panic!("not a window_mean spec")
    };
    assert_eq!((window_mean.window, window_mean.min_samples), (1000, 1000));
}

#[test]
fn parses_every_parameter_of_every_kind() {
    let spec = DetectorSpec::parse(
        "threshold",
        &params(&[("above", Integer(150)), ("resolve", Float(120.5))]),
    )
    .unwrap();
    assert_eq!(spec.kind(), DetectorKind::Threshold);
    assert_eq!(
        spec.condition(),
        Some(&Condition {
            direction: Direction::Above,
            bound: 150.0,
            resolve: Some(120.5)
        })
    );
    let spec = DetectorSpec::parse(
        "page_hinkley",
        &params(&[
            ("min_instances", Float(10.0)),
            ("delta", Integer(0)),
            ("threshold", Float(5.5)),
            ("alpha", Float(0.99)),
            ("mode", ParamValue::String("down".into())),
        ]),
    )
    .unwrap();
    assert_eq!(
        spec,
        DetectorSpec::PageHinkley(PageHinkleyParams {
            min_instances: 10,
            delta: 0.0,
            threshold: 5.5,
            alpha: 0.99,
            mode: PageHinkleyMode::Down
        })
    );
    assert_eq!(spec.condition(), None);
    let spec = DetectorSpec::parse(
        "adwin",
        &params(&[
            ("delta", Float(0.01)),
            ("clock", Integer(1)),
            ("max_buckets", Integer(2)),
            ("min_window_length", Integer(1)),
            ("grace_period", Integer(0)),
        ]),
    )
    .unwrap();
    assert!(spec.kind().is_change_detector());
    assert_eq!(spec.build().kind(), DetectorKind::Adwin);
}

#[test]
fn unknown_kind_lists_the_valid_ones() {
    let errors = errors("sideways", &[]);
    let valid: Vec<&str> = DetectorKind::ALL.iter().map(|kind| kind.as_str()).collect();
    let expected = format!(
        "unknown detector kind `sideways`; valid kinds: {}",
        valid.join(", ")
    );
    assert_eq!(described(&errors), [(None, expected.as_str())]);
    assert!(
        expected.starts_with(
            "unknown detector kind `sideways`; valid kinds: threshold, ema, window_mean, page_hinkley, adwin, "
        ),
        "{expected}"
    );
    assert!(expected.contains(", cusum"), "{expected}");
}

#[test]
fn collects_every_problem_at_once() {
    let errors = errors(
        "ema",
        &[
            ("alpha", Float(1.5)),
            ("min_samples", Float(2.5)),
            ("lambda", Float(0.1)),
            ("below", ParamValue::String("high".into())),
            ("resolve", Float(f64::NAN)),
        ],
    );
    assert_eq!(
        described(&errors),
        [
            (
                Some("lambda"),
                "unknown parameter for `ema`; valid parameters: alpha, min_samples, below, above, resolve"
            ),
            (Some("alpha"), "must be in (0, 1], got 1.5"),
            (Some("min_samples"), "must be a whole number, got 2.5"),
            (Some("below"), "expected a number, got a string"),
            (Some("resolve"), "must be finite, got NaN"),
        ]
    );
}

#[test]
fn below_and_above_are_exclusive_and_one_is_required() {
    let errors_both = errors("threshold", &[("below", Float(0.8)), ("above", Float(0.9))]);
    assert_eq!(
        described(&errors_both),
        [(
            None,
            "`below` and `above` are mutually exclusive; give only one"
        )]
    );
    let errors_none = errors("ema", &[("alpha", Float(0.5))]);
    assert_eq!(
        described(&errors_none),
        [(None, "one of `below` or `above` is required")]
    );
}

#[test]
fn resolve_must_be_on_the_good_side_of_the_bound() {
    let errors_below = errors(
        "threshold",
        &[("below", Float(0.8)), ("resolve", Float(0.7))],
    );
    assert_eq!(errors_below.len(), 1);
    assert_eq!(errors_below[0].param.as_deref(), Some("resolve"));
    assert!(
        errors_below[0]
            .message
            .starts_with("must be >= the `below` bound (0.8)"),
        "{:?}",
        errors_below[0]
    );
    let errors_above = errors(
        "window_mean",
        &[
            ("window", Integer(5)),
            ("above", Float(200.0)),
            ("resolve", Float(250.0)),
        ],
    );
    assert!(
        errors_above[0]
            .message
            .starts_with("must be <= the `above` bound (200)"),
        "{errors_above:?}"
    );
    // Equal to the bound is fine on both sides.
    assert!(
        DetectorSpec::parse(
            "threshold",
            &params(&[("below", Float(0.8)), ("resolve", Float(0.8))])
        )
        .is_ok()
    );
}

#[test]
fn missing_required_window_and_min_samples_above_window() {
    assert_eq!(
        described(&errors("window_mean", &[("below", Float(0.9))])),
        [(Some("window"), "is required")]
    );
    assert_eq!(
        described(&errors(
            "window_mean",
            &[
                ("window", Integer(10)),
                ("min_samples", Integer(11)),
                ("below", Float(0.9))
            ]
        )),
        [(Some("min_samples"), "must be <= window (10), got 11")]
    );
}

#[test]
fn integers_are_range_checked_and_typed() {
    let errors = errors(
        "adwin",
        &[
            ("clock", Integer(0)),
            ("max_buckets", Integer(100_000)),
            ("min_window_length", Bool(true)),
            ("grace_period", Float(-1.0)),
            ("delta", Float(1.0)),
        ],
    );
    assert_eq!(
        described(&errors),
        [
            (Some("delta"), "must be in (0, 1), got 1"),
            (Some("clock"), "must be between 1 and 2147483647, got 0"),
            (Some("max_buckets"), "must be between 1 and 256, got 100000"),
            (Some("min_window_length"), "expected an integer, got a bool"),
            (
                Some("grace_period"),
                "must be between 0 and 2147483647, got -1"
            ),
        ]
    );
    let huge = errors_for_float_integer(1e30);
    assert_eq!(
        described(&huge),
        [(
            Some("min_instances"),
            "must be between 1 and 9007199254740992, got 1000000000000000000000000000000"
        )]
    );
}

fn errors_for_float_integer(value: f64) -> Vec<ParamError> {
    errors("page_hinkley", &[("min_instances", Float(value))])
}

#[test]
fn page_hinkley_checks_threshold_alpha_mode_and_finiteness() {
    let errors = errors(
        "page_hinkley",
        &[
            ("threshold", Float(0.0)),
            ("alpha", Float(0.0)),
            ("mode", ParamValue::String("sideways".into())),
            ("delta", Float(f64::INFINITY)),
            ("mode", ParamValue::String("up".into())),
        ],
    );
    assert_eq!(
        described(&errors),
        [
            (Some("mode"), "given more than once"),
            (Some("delta"), "must be finite, got inf"),
            (Some("threshold"), "must be > 0, got 0"),
            (Some("alpha"), "must be in (0, 1], got 0"),
            (
                Some("mode"),
                "must be one of up, down, both; got `sideways`"
            ),
        ]
    );
    assert_eq!(
        described(&self::errors("page_hinkley", &[("mode", Integer(1))])),
        [(Some("mode"), "expected a string, got an integer")]
    );
}

#[test]
fn errors_display_with_their_parameter() {
    let error = ParamError {
        param: Some("alpha".into()),
        message: "must be in (0, 1], got 2".into(),
    };
    assert_eq!(
        error.to_string(),
        "parameter `alpha`: must be in (0, 1], got 2"
    );
    let error = ParamError {
        param: None,
        message: "one of `below` or `above` is required".into(),
    };
    assert_eq!(error.to_string(), "one of `below` or `above` is required");
}

#[test]
fn kinds_round_trip_and_list_their_parameters() {
    for &kind in DetectorKind::ALL {
        assert_eq!(DetectorKind::from_name(kind.as_str()), Some(kind));
        assert!(!kind.param_names().is_empty());
    }
    assert_eq!(DetectorKind::from_name("Threshold"), None);
    // Every kind but the three state detectors is a change detector.
    let state_detectors: Vec<&str> = DetectorKind::ALL
        .iter()
        .filter(|kind| !kind.is_change_detector())
        .map(|kind| kind.as_str())
        .collect();
    assert_eq!(state_detectors, ["threshold", "ema", "window_mean"]);
}

#[test]
fn the_kind_predicates_name_their_kinds() {
    let named = |predicate: fn(DetectorKind) -> bool| -> Vec<&str> {
        DetectorKind::ALL
            .iter()
            .filter(|kind| predicate(**kind))
            .map(|kind| kind.as_str())
            .collect()
    };
    assert_eq!(
        named(DetectorKind::takes_binary_input),
        ["ddm", "eddm", "hddm_a", "hddm_w", "fhddm"]
    );
    assert_eq!(
        named(DetectorKind::has_warning_zone),
        ["ddm", "eddm", "hddm_a", "hddm_w"]
    );
}

#[test]
fn only_an_unseeded_kswin_takes_the_seed_it_is_given() {
    let unseeded = DetectorSpec::parse("kswin", &[]).unwrap();
    assert!(unseeded.uses_random_seed());
    match unseeded.with_seed(7) {
        DetectorSpec::Kswin(params) => assert_eq!(params.seed, Some(7)),
        other => panic!("{other:?}"),
    }
    let seeded = DetectorSpec::parse("kswin", &params(&[("seed", Integer(42))])).unwrap();
    assert!(!seeded.uses_random_seed());
    assert_eq!(seeded.with_seed(7), seeded);
    assert_eq!(seeded.build_with_seed(7).spec(), seeded);
    for &kind in DetectorKind::ALL {
        if kind == DetectorKind::Kswin {
            continue;
        }
        let spec = DetectorSpec::parse(kind.as_str(), &params(&[("below", Float(0.5))]))
            .or_else(|_| {
                DetectorSpec::parse(
                    kind.as_str(),
                    &params(&[("window", Integer(10)), ("below", Float(0.5))]),
                )
            })
            .or_else(|_| DetectorSpec::parse(kind.as_str(), &[]))
            .unwrap();
        assert!(!spec.uses_random_seed(), "{kind}");
        assert_eq!(spec.with_seed(7), spec, "{kind}");
    }
}
