//! Unit tests for `signal`: breach and clear semantics of [`Condition`], with and without
//! hysteresis.

use super::*;

fn below(bound: f64, resolve: Option<f64>) -> Condition {
    Condition {
        direction: Direction::Below,
        bound,
        resolve,
    }
}

fn above(bound: f64, resolve: Option<f64>) -> Condition {
    Condition {
        direction: Direction::Above,
        bound,
        resolve,
    }
}

#[test]
fn below_breaches_strictly_under_the_bound() {
    let condition = below(0.9, None);
    assert!(condition.breached(0.89));
    assert!(!condition.breached(0.9));
    assert!(!condition.breached(0.91));
    assert!(condition.cleared(0.9));
    assert!(!condition.cleared(0.89));
}

#[test]
fn above_breaches_strictly_over_the_bound() {
    let condition = above(150.0, None);
    assert!(condition.breached(150.5));
    assert!(!condition.breached(150.0));
    assert!(condition.cleared(150.0));
    assert!(!condition.cleared(150.5));
}

#[test]
fn resolve_leaves_a_dead_band_for_hysteresis() {
    let condition = below(0.8, Some(0.85));
    // Breach below 0.8, clear only at 0.85 or more; in between, neither.
    assert!(condition.breached(0.79));
    assert!(!condition.breached(0.82) && !condition.cleared(0.82));
    assert!(condition.cleared(0.85));

    let condition = above(200.0, Some(180.0));
    assert!(condition.breached(201.0));
    assert!(!condition.breached(190.0) && !condition.cleared(190.0));
    assert!(condition.cleared(180.0));
}

#[test]
fn nan_neither_breaches_nor_clears() {
    for condition in [below(1.0, None), above(1.0, Some(0.5))] {
        assert!(!condition.breached(f64::NAN));
        assert!(!condition.cleared(f64::NAN));
    }
}

#[test]
fn direction_names_match_the_parameters() {
    assert_eq!(Direction::Below.as_str(), "below");
    assert_eq!(Direction::Above.as_str(), "above");
}
