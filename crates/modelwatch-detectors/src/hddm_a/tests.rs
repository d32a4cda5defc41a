//! Unit tests for `hddm_a`: hand-checked points, River-checked small streams (one- and
//! two-sided), readiness, reset, clones and parameter validation. Exactness on long streams is
//! tested with River's own cases and golden fixtures.

use super::*;
use crate::test_support::{indices, lcg_stream};
use crate::{DetectorKind, DetectorSpec, ParamValue};

/// Drift and warning indices, read as River reads them.
fn run(detector: &mut HddmA, stream: &[f64]) -> (Vec<usize>, Vec<usize>) {
    indices(stream, |x| {
        let drift = detector.update(x);
        (drift, detector.warning_detected())
    })
}

fn hddm_a(two_sided_test: bool) -> HddmA {
    HddmA::new(HddmAParams {
        two_sided_test,
        ..HddmAParams::default()
    })
}

#[test]
fn defaults_are_rivers() {
    assert_eq!(
        HddmAParams::default(),
        HddmAParams {
            drift_confidence: 0.001,
            warning_confidence: 0.005,
            two_sided_test: false
        }
    );
    assert_eq!(
        DetectorSpec::parse("hddm_a", &[]).unwrap(),
        DetectorSpec::HddmA(HddmAParams::default())
    );
}

#[test]
fn hand_checked_points() {
    let mut detector = hddm_a(false);
    // The first point is its own cut point: nothing to test.
    assert_eq!(detector.update_signal(0.0), Signal::NotReady);
    assert_eq!(detector.explain().bound, None);
    // Zeros keep the mean at 0 while the bound shrinks: x_min follows z.
    for _ in 0..9 {
        assert_eq!(detector.update_signal(0.0), Signal::Stable);
    }
    assert_eq!(detector.x_min.n, 10.0);
    // A 1 raises z.mean to 1/11 and its lower bound with it: x_min stays at n = 10, and
    // m = (11 - 10) / 10 / 11 gives a drift bound sqrt(m/2 * ln 2000) = 0.587 > 1/11.
    assert_eq!(detector.update_signal(1.0), Signal::Stable);
    assert_eq!(detector.x_min.n, 10.0);
    let explanation = detector.explain();
    assert_eq!(explanation.statistic, "mean_increase");
    assert!((explanation.value - 1.0 / 11.0).abs() < 1e-15);
    let m: f64 = (11.0 - 10.0) / 10.0 * (1.0 / 11.0);
    assert_eq!(
        explanation.bound,
        Some((m / 2.0 * (2.0_f64 / 0.001).ln()).sqrt())
    );
    assert_eq!((explanation.n_seen, explanation.n_needed), (11, 2));
    // Ones from now on: the increase is detected soon.
    let drift = (0..100).find(|_| detector.update(1.0));
    assert!(drift.is_some());
    assert_eq!(
        detector.update_signal(1.0),
        Signal::NotReady,
        "starts afresh"
    );
}

#[test]
fn matches_river_on_small_streams() {
    let rising = lcg_stream(7, &[(500, 0.1), (500, 0.4)]);
    let falling = lcg_stream(7, &[(500, 0.4), (500, 0.1)]);
    // River 0.26.1: HDDMA() on the rising stream.
    let (drifts, warnings) = run(&mut hddm_a(false), &rising);
    assert_eq!(drifts, [541]);
    assert_eq!(warnings, (527..=540).collect::<Vec<_>>());
    // HDDMA() misses a fall; HDDMA(two_sided_test=True) detects it.
    assert_eq!(run(&mut hddm_a(false), &falling), (vec![], vec![]));
    let (drifts, warnings) = run(&mut hddm_a(true), &falling);
    assert_eq!(drifts, [533]);
    assert_eq!(warnings, [528, 529, 530, 531, 532]);
}

#[test]
fn two_sided_decrease_drift_keeps_an_increase_warning() {
    // Fabricated state: an increase warning and a decrease drift in the same update, which the
    // decrease test (run second) cannot clear.
    let mut detector = hddm_a(true);
    detector.update(0.0);
    detector.z = Cut {
        n: 100.0,
        mean: 0.5,
        bound: 0.0,
    };
    // Cut points that the next point will not move (their cached bounds say so).
    detector.x_min = Cut {
        n: 50.0,
        mean: 0.315,
        bound: f64::NEG_INFINITY,
    };
    detector.x_max = Cut {
        n: 50.0,
        mean: 0.9,
        bound: f64::NEG_INFINITY,
    };
    // After one more 0.5 (n = 101, m = 51/50/101): the increase 0.185 sits between the
    // warning bound (0.1739) and the drift bound (0.1959); the decrease 0.4 is past the latter.
    assert!(detector.update(0.5));
    assert!(detector.warning_detected());
    assert_eq!(detector.explain().statistic, "mean_decrease");
}

#[test]
fn reset_equals_a_fresh_detector() {
    let stream = lcg_stream(3, &[(400, 0.1), (400, 0.5), (400, 0.1)]);
    for two_sided in [false, true] {
        let mut detector = hddm_a(two_sided);
        run(&mut detector, &stream[..450]);
        detector.reset();
        let mut fresh = hddm_a(two_sided);
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
    let mut detector = hddm_a(true);
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
    let mut detector = hddm_a(true);
    for x in [0.0, f64::NAN, 1.0, 1.0, 1.0] {
        assert!(!detector.update(x));
        assert!(!detector.warning_detected());
    }
}

#[test]
fn validation_names_each_bad_parameter() {
    let params = [
        ("drift_confidence".to_owned(), ParamValue::Float(0.0)),
        ("warning_confidence".to_owned(), ParamValue::Integer(1)),
        (
            "two_sided_test".to_owned(),
            ParamValue::String("yes".into()),
        ),
    ];
    let errors = DetectorSpec::parse("hddm_a", &params).unwrap_err();
    let named: Vec<&str> = errors
        .iter()
        .map(|error| error.param.as_deref().unwrap())
        .collect();
    assert_eq!(
        named,
        ["drift_confidence", "warning_confidence", "two_sided_test"]
    );
    assert_eq!(errors[0].message, "must be in (0, 1), got 0");
    let spec = DetectorSpec::parse(
        "hddm_a",
        &[
            ("drift_confidence".to_owned(), ParamValue::Float(0.01)),
            ("two_sided_test".to_owned(), ParamValue::Bool(true)),
        ],
    )
    .unwrap();
    assert_eq!(
        spec,
        DetectorSpec::HddmA(HddmAParams {
            drift_confidence: 0.01,
            warning_confidence: 0.005,
            two_sided_test: true
        })
    );
    assert_eq!(spec.build().kind(), DetectorKind::HddmA);
}
