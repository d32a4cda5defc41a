//! Unit tests for `page_hinkley`: readiness, modes, the reset after a drift and `explain`.
//! Exactness against River is tested with River's own cases and golden fixtures.

use super::*;

fn detector(mode: PageHinkleyMode) -> PageHinkley {
    PageHinkley::new(PageHinkleyParams {
        mode,
        ..PageHinkleyParams::default()
    })
}

/// 200 points at 0, then points at `level`; the index of the first drift.
fn first_drift(detector: &mut PageHinkley, level: f64) -> Option<usize> {
    (0..400).find(|&index| detector.update(if index < 200 { 0.0 } else { level }))
}

#[test]
fn not_ready_below_min_instances() {
    let mut page_hinkley = detector(PageHinkleyMode::Both);
    for _ in 0..29 {
        assert_eq!(page_hinkley.update_signal(0.0), Signal::NotReady);
    }
    assert_eq!(page_hinkley.update_signal(0.0), Signal::Stable);
}

#[test]
fn modes_choose_the_direction_of_change() {
    assert!(first_drift(&mut detector(PageHinkleyMode::Up), 10.0).is_some());
    assert!(first_drift(&mut detector(PageHinkleyMode::Down), 10.0).is_none());
    assert!(first_drift(&mut detector(PageHinkleyMode::Down), -10.0).is_some());
    assert!(first_drift(&mut detector(PageHinkleyMode::Up), -10.0).is_none());
    assert!(first_drift(&mut detector(PageHinkleyMode::Both), -10.0).is_some());
}

#[test]
fn the_update_after_a_drift_starts_from_scratch() {
    let mut page_hinkley = detector(PageHinkleyMode::Both);
    let index = first_drift(&mut page_hinkley, 10.0).unwrap();
    assert!(index > 200);
    assert!(page_hinkley.drift_detected());
    let explanation = page_hinkley.explain();
    assert_eq!(explanation.statistic, "page_hinkley_up");
    assert!(explanation.value > 50.0);
    assert_eq!(explanation.bound, Some(50.0));
    assert_eq!(page_hinkley.update_signal(10.0), Signal::NotReady);
    assert_eq!(page_hinkley.n_seen(), 1);
    assert_eq!(page_hinkley.mean(), 10.0);
}

#[test]
fn explain_shows_the_larger_watched_side() {
    let mut page_hinkley = detector(PageHinkleyMode::Down);
    assert_eq!(page_hinkley.explain().value, 0.0);
    for _ in 0..10 {
        page_hinkley.update(1.0);
    }
    let explanation = page_hinkley.explain();
    assert_eq!(explanation.statistic, "page_hinkley_down");
    assert_eq!((explanation.n_seen, explanation.n_needed), (10, 30));
}

#[test]
fn reset_equals_a_fresh_detector() {
    let mut page_hinkley = detector(PageHinkleyMode::Both);
    for index in 0..100 {
        page_hinkley.update(f64::from(index));
    }
    page_hinkley.reset();
    let mut fresh = detector(PageHinkleyMode::Both);
    for index in 0..300 {
        let x = f64::from(index % 17);
        assert_eq!(page_hinkley.update_signal(x), fresh.update_signal(x));
    }
    assert_eq!(page_hinkley.mean().to_bits(), fresh.mean().to_bits());
}

#[test]
fn mode_names_round_trip() {
    for mode in [
        PageHinkleyMode::Up,
        PageHinkleyMode::Down,
        PageHinkleyMode::Both,
    ] {
        assert_eq!(PageHinkleyMode::from_name(mode.as_str()), Some(mode));
    }
    assert_eq!(PageHinkleyMode::from_name("sideways"), None);
}
