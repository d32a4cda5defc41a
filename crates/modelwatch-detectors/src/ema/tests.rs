//! Unit tests for `ema`: hand-computed averages (inputs chosen to be exact in binary) and the
//! minimum sample count.

use super::*;
use crate::Direction;

fn detector(alpha: f64, min_samples: u64) -> Ema {
    Ema::new(EmaParams {
        alpha,
        min_samples,
        condition: Condition {
            direction: Direction::Below,
            bound: 0.85,
            resolve: None,
        },
    })
}

#[test]
fn first_point_sets_the_average() {
    let mut ema = detector(0.5, 1);
    assert_eq!(ema.update(1.0), Signal::Statistic(1.0));
    assert_eq!(ema.update(3.0), Signal::Statistic(2.0));
    assert_eq!(ema.update(5.0), Signal::Statistic(3.5));
}

#[test]
fn sketch_c_alpha_weights_the_newest_point_a_quarter() {
    let mut ema = detector(DEFAULT_ALPHA, 1);
    ema.update(4.0);
    // 0.25 * 8 + 0.75 * 4 = 5
    assert_eq!(ema.update(8.0), Signal::Statistic(5.0));
    // 0.25 * 1 + 0.75 * 5 = 4
    assert_eq!(ema.update(1.0), Signal::Statistic(4.0));
}

#[test]
fn not_ready_below_min_samples() {
    let mut ema = detector(0.5, 3);
    assert_eq!(ema.update(1.0), Signal::NotReady);
    assert_eq!(ema.update(3.0), Signal::NotReady);
    assert_eq!(ema.update(5.0), Signal::Statistic(3.5));
    assert_eq!(ema.value(), Some(3.5));
    assert_eq!(
        ema.explain(),
        Explanation {
            statistic: "ema",
            value: 3.5,
            bound: Some(0.85),
            n_seen: 3,
            n_needed: 3
        }
    );
}

#[test]
fn alpha_one_tracks_the_last_point() {
    let mut ema = detector(1.0, 1);
    ema.update(7.0);
    assert_eq!(ema.update(-2.5), Signal::Statistic(-2.5));
}

#[test]
fn reset_starts_over() {
    let mut ema = detector(0.5, 2);
    ema.update(100.0);
    ema.update(100.0);
    ema.reset();
    assert_eq!(ema.value(), None);
    assert_eq!(ema.update(1.0), Signal::NotReady);
    assert_eq!(ema.update(3.0), Signal::Statistic(2.0));
}
