//! Unit tests for `threshold`.

use super::*;
use crate::Direction;

fn detector() -> Threshold {
    Threshold::new(ThresholdParams {
        condition: Condition {
            direction: Direction::Below,
            bound: 0.8,
            resolve: None,
        },
    })
}

#[test]
fn every_value_is_the_statistic() {
    let mut threshold = detector();
    assert_eq!(threshold.value(), None);
    assert_eq!(threshold.update(0.75), Signal::Statistic(0.75));
    assert_eq!(threshold.update(0.95), Signal::Statistic(0.95));
    assert_eq!(threshold.value(), Some(0.95));
    assert_eq!(
        threshold.explain(),
        Explanation {
            statistic: "value",
            value: 0.95,
            bound: Some(0.8),
            n_seen: 2,
            n_needed: 1
        }
    );
}

#[test]
fn reset_forgets_the_points() {
    let mut threshold = detector();
    threshold.update(0.5);
    threshold.reset();
    assert_eq!(threshold.value(), None);
    assert_eq!(threshold.explain().n_seen, 0);
}
