//! Unit tests for `hddm_w`: hand-checked points, River-checked small streams (one- and
//! two-sided), CPython's `** 2`, readiness, reset, clones and parameter validation. Exactness
//! on long streams is tested with River's own cases and golden fixtures.

use super::*;
use crate::test_support::{indices, lcg_stream};
use crate::{DetectorKind, DetectorSpec, ParamValue};

/// Drift and warning indices, read as River reads them.
fn run(detector: &mut HddmW, stream: &[f64]) -> (Vec<usize>, Vec<usize>) {
    indices(stream, |x| {
        let drift = detector.update(x);
        (drift, detector.warning_detected())
    })
}

fn hddm_w(lambda_val: f64, two_sided_test: bool) -> HddmW {
    HddmW::new(HddmWParams {
        lambda_val,
        two_sided_test,
        ..HddmWParams::default()
    })
}

#[test]
fn defaults_are_rivers() {
    assert_eq!(
        HddmWParams::default(),
        HddmWParams {
            drift_confidence: 0.001,
            warning_confidence: 0.005,
            lambda_val: 0.05,
            two_sided_test: false
        }
    );
    assert_eq!(
        DetectorSpec::parse("hddm_w", &[]).unwrap(),
        DetectorSpec::HddmW(HddmWParams::default())
    );
}

#[test]
fn hand_checked_points() {
    // lambda 1: every weighted mean is the latest value and every ibc is 1, so the increase
    // test after one point is `x2 - x1 > sqrt(2 * ln(1/c) / 2)`: 2.628 at c = 0.001 and 2.302
    // at c = 0.005.
    let mut detector = hddm_w(1.0, false);
    assert_eq!(detector.update_signal(0.0), Signal::NotReady);
    assert_eq!(detector.explain().bound, None);
    assert_eq!(detector.update_signal(2.5), Signal::Warning);
    let explanation = detector.explain();
    assert_eq!(explanation.statistic, "ewma_increase");
    assert_eq!(explanation.value, 2.5);
    assert_eq!(
        explanation.bound,
        Some((2.0 * (1.0_f64 / 0.001).ln() / 2.0).sqrt())
    );
    assert_eq!((explanation.n_seen, explanation.n_needed), (2, 2));
    let mut detector = hddm_w(1.0, false);
    detector.update(0.0);
    assert_eq!(detector.update_signal(10.0), Signal::Drift);
    assert_eq!(
        detector.update_signal(10.0),
        Signal::NotReady,
        "starts afresh"
    );
    // A decrease needs the two-sided test.
    let mut one_sided = hddm_w(1.0, false);
    let mut two_sided = hddm_w(1.0, true);
    for x in [0.0, -10.0] {
        one_sided.update(x);
        two_sided.update(x);
    }
    assert!(!one_sided.drift_detected());
    assert!(two_sided.drift_detected());
    assert_eq!(two_sided.explain().statistic, "ewma_decrease");
    assert_eq!(two_sided.explain().value, 10.0);
}

#[test]
fn sample_update_is_rivers_ewmean() {
    let detector = hddm_w(0.25, false);
    let mut sample = FRESH;
    detector.feed(&mut sample, 4.0);
    assert_eq!((sample.ewma, sample.is_init), (4.0, true));
    assert_eq!(sample.ibc, 0.0625 + 0.5625);
    detector.feed(&mut sample, 0.0);
    assert_eq!(sample.ewma, 0.25 * 0.0 + 0.75 * 4.0);
    // A zero mean is still initialised (River's Rust `EWMean` keeps a flag, not `mean == 0`).
    let mut sample = FRESH;
    detector.feed(&mut sample, 0.0);
    detector.feed(&mut sample, 4.0);
    assert_eq!(sample.ewma, 1.0);
}

#[test]
fn one_minus_lambda_squared_is_cpythons_pow() {
    // CPython: (1 - 0.333064) ** 2 == 0x3fdc77a9a2f42039, one bit above the product.
    let detector = hddm_w(0.333064, false);
    assert_eq!(
        detector.one_minus_lambda_squared.to_bits(),
        0x3fdc77a9a2f42039
    );
    assert_eq!(
        ((1.0 - 0.333064) * (1.0 - 0.333064_f64)).to_bits(),
        0x3fdc77a9a2f42038
    );
}

#[test]
fn matches_river_on_small_streams() {
    let rising = lcg_stream(7, &[(500, 0.1), (500, 0.4)]);
    let falling = lcg_stream(7, &[(500, 0.4), (500, 0.1)]);
    // River 0.26.1: HDDMW() on the rising stream.
    let (drifts, warnings) = run(&mut hddm_w(0.05, false), &rising);
    assert_eq!(drifts, [528]);
    assert_eq!(warnings, [514, 515, 517, 518, 519, 520, 522, 523, 525, 527]);
    // HDDMW() misses a fall; HDDMW(two_sided_test=True) detects it.
    assert_eq!(run(&mut hddm_w(0.05, false), &falling), (vec![], vec![]));
    let (drifts, warnings) = run(&mut hddm_w(0.05, true), &falling);
    assert_eq!(drifts, [517]);
    assert_eq!(warnings, [513, 514, 515, 516]);
}

#[test]
fn reset_equals_a_fresh_detector() {
    let stream = lcg_stream(3, &[(400, 0.1), (400, 0.5), (400, 0.1)]);
    for two_sided in [false, true] {
        let mut detector = hddm_w(0.05, two_sided);
        run(&mut detector, &stream[..450]);
        detector.reset();
        let mut fresh = hddm_w(0.05, two_sided);
        for &x in &stream {
            assert_eq!(detector.update_signal(x), fresh.update_signal(x));
            assert_eq!(detector.warning_detected(), fresh.warning_detected());
            assert_eq!(detector.explain(), fresh.explain());
        }
    }
}

#[test]
fn a_clone_stays_in_lockstep() {
    let stream = lcg_stream(6, &[(400, 0.1), (400, 0.5), (400, 0.1)]);
    let mut detector = hddm_w(0.1, true);
    run(&mut detector, &stream[..300]);
    let mut clone = detector.clone();
    for &x in &stream[300..] {
        assert_eq!(detector.update_signal(x), clone.update_signal(x));
        assert_eq!(detector.warning_detected(), clone.warning_detected());
        assert_eq!(detector.explain(), clone.explain());
    }
}

#[test]
fn nan_makes_it_silent_without_panicking() {
    let mut detector = hddm_w(0.05, true);
    for x in [0.0, f64::NAN, 1.0, 1.0, 1.0] {
        assert!(!detector.update(x));
        assert!(!detector.warning_detected());
    }
}

#[test]
fn validation_names_each_bad_parameter() {
    let params = [
        ("drift_confidence".to_owned(), ParamValue::Float(1.0)),
        ("warning_confidence".to_owned(), ParamValue::Float(-0.1)),
        ("lambda_val".to_owned(), ParamValue::Float(0.0)),
        ("two_sided_test".to_owned(), ParamValue::Float(1.0)),
    ];
    let errors = DetectorSpec::parse("hddm_w", &params).unwrap_err();
    let named: Vec<&str> = errors
        .iter()
        .map(|error| error.param.as_deref().unwrap())
        .collect();
    assert_eq!(
        named,
        [
            "drift_confidence",
            "warning_confidence",
            "lambda_val",
            "two_sided_test"
        ]
    );
    assert_eq!(errors[2].message, "must be in (0, 1], got 0");
    let spec = DetectorSpec::parse(
        "hddm_w",
        &[
            ("lambda_val".to_owned(), ParamValue::Integer(1)),
            ("two_sided_test".to_owned(), ParamValue::Bool(true)),
        ],
    )
    .unwrap();
    assert_eq!(
        spec,
        DetectorSpec::HddmW(HddmWParams {
            lambda_val: 1.0,
            two_sided_test: true,
            ..HddmWParams::default()
        })
    );
    assert_eq!(spec.build().kind(), DetectorKind::HddmW);
}
