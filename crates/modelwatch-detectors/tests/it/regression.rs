//! River's ADWIN regression checks (`tests/drift/test_adwin_regression.py`) and a few exact
//! states read from River 0.26.1 itself, against the public API.

use modelwatch_detectors::{Adwin, AdwinParams, PageHinkley, PageHinkleyParams};

fn adwin(params: AdwinParams) -> Adwin {
    Adwin::new(params)
}

#[test]
fn constant_stream_never_drifts_and_the_window_grows() {
    let mut detector = adwin(AdwinParams::default());
    for n in 1..=5000_u64 {
        assert!(!detector.update(1.0), "drift on a constant stream at {n}");
        assert_eq!(detector.width(), n);
        assert_eq!(detector.total(), n as f64);
        assert_eq!(detector.variance(), 0.0);
    }
    assert_eq!(detector.n_detections(), 0);
    assert_eq!(detector.estimation(), 1.0);
}

#[test]
fn total_estimation_and_small_windows() {
    let mut detector = adwin(AdwinParams::default());
    assert_eq!(detector.estimation(), 0.0, "empty window");
    detector.update(42.0);
    assert_eq!(
        (detector.width(), detector.total(), detector.estimation()),
        (1, 42.0, 42.0)
    );
    let mut detector = adwin(AdwinParams::default());
    for x in [1.0, 2.0, 3.0, 4.0, 5.0] {
        detector.update(x);
    }
    assert_eq!(
        (detector.width(), detector.total(), detector.estimation()),
        (5, 15.0, 3.0)
    );
    assert_eq!(detector.variance(), 10.0);
    assert_eq!(detector.variance_in_window(), 2.0);
}

#[test]
fn exact_statistics_of_a_deterministic_sequence() {
    // River 0.26.1: width 200.0, total 594.0, variance 797.8200000000005.
    let mut detector = adwin(AdwinParams {
        clock: 1_000_000,
        ..AdwinParams::default()
    });
    for index in 0..200 {
        detector.update(f64::from(index % 7));
    }
    assert_eq!(detector.width(), 200);
    assert_eq!(detector.total(), 594.0);
    assert_eq!(detector.variance(), 797.820_000_000_000_5);
}

#[test]
fn large_and_negative_values() {
    let mut detector = adwin(AdwinParams::default());
    for _ in 0..100 {
        detector.update(1e15);
    }
    assert_eq!(detector.width(), 100);
    assert!((detector.estimation() - 1e15).abs() <= 1.0);
    let mut detector = adwin(AdwinParams::default());
    for _ in 0..100 {
        detector.update(-5.0);
    }
    assert_eq!(detector.estimation(), -5.0);
}

#[test]
fn state_at_a_drift_matches_river() {
    // River 0.26.1: 1000 x 0.0 then 10.0 drifts at index 1023 with width 32.0, estimation 7.5,
    // total 240.0, variance 600.0000000000002 and n_detections 1; the next update resets.
    let mut detector = adwin(AdwinParams::default());
    let stream = std::iter::repeat_n(0.0, 1000).chain(std::iter::repeat_n(10.0, 200));
    let drift = stream
        .enumerate()
        .find(|&(_, x)| detector.update(x))
        .map(|(index, _)| index);
    assert_eq!(drift, Some(1023));
    assert_eq!(
        (detector.width(), detector.estimation(), detector.total()),
        (32, 7.5, 240.0)
    );
    assert_eq!(detector.variance(), 600.000_000_000_000_2);
    assert_eq!(detector.n_detections(), 1);
    detector.update(10.0);
    assert_eq!((detector.width(), detector.n_detections()), (1, 0));
}

#[test]
fn width_is_one_after_the_update_that_follows_a_drift() {
    // River 0.26.1 with clock=1: 500 x 0.0 then 100.0 drifts at index 500 (width 309).
    let mut detector = adwin(AdwinParams {
        clock: 1,
        ..AdwinParams::default()
    });
    for _ in 0..500 {
        assert!(!detector.update(0.0));
    }
    assert!(detector.update(100.0), "the first 100.0 must drift");
    assert_eq!(detector.width(), 309);
    detector.update(50.0);
    assert_eq!(detector.width(), 1);
    assert_eq!(detector.total(), 50.0);
}

#[test]
fn no_detection_within_the_grace_period() {
    let mut detector = adwin(AdwinParams {
        grace_period: 100,
        clock: 1,
        ..AdwinParams::default()
    });
    for index in 0..100 {
        let x = if index < 50 { 0.0 } else { 1000.0 };
        assert!(
            !detector.update(x),
            "drift at {index}, inside the grace period"
        );
    }
    assert_eq!(detector.n_detections(), 0);
    assert_eq!(detector.width(), 100);
}

#[test]
fn immediate_large_shift_is_detected() {
    let mut detector = adwin(AdwinParams {
        delta: 0.01,
        ..AdwinParams::default()
    });
    for _ in 0..200 {
        detector.update(0.0);
    }
    assert!((0..200).any(|_| detector.update(100.0)));
}

#[test]
fn page_hinkley_flag_lasts_one_update() {
    let mut detector = PageHinkley::new(PageHinkleyParams::default());
    let stream = std::iter::repeat_n(0.0, 100).chain(std::iter::repeat_n(5.0, 100));
    let drifts: Vec<usize> = stream
        .enumerate()
        .filter(|&(_, x)| detector.update(x))
        .map(|(index, _)| index)
        .collect();
    assert!(!drifts.is_empty());
    assert!(
        drifts.windows(2).all(|pair| pair[1] - pair[0] >= 30),
        "min_instances after each reset: {drifts:?}"
    );
}
