//! Unit tests for `window_mean`: hand-computed means, the minimum sample count, allocation and
//! numerical drift of the running sum.

use super::*;
use crate::Direction;

fn detector(window: usize, min_samples: usize) -> WindowMean {
    WindowMean::new(WindowMeanParams {
        window,
        min_samples,
        condition: Condition {
            direction: Direction::Below,
            bound: 0.9,
            resolve: None,
        },
    })
}

#[test]
fn mean_of_the_last_window_points() {
    let mut window_mean = detector(3, 2);
    let signals: Vec<Signal> = [1.0, 2.0, 3.0, 4.0, 8.0]
        .into_iter()
        .map(|x| window_mean.update(x))
        .collect();
    assert_eq!(
        signals,
        [
            Signal::NotReady,
            Signal::Statistic(1.5),
            Signal::Statistic(2.0),
            Signal::Statistic(3.0),
            Signal::Statistic(5.0),
        ]
    );
    assert_eq!(window_mean.len(), 3);
    assert_eq!(
        window_mean.explain(),
        Explanation {
            statistic: "window_mean",
            value: 5.0,
            bound: Some(0.9),
            n_seen: 3,
            n_needed: 2
        }
    );
}

#[test]
fn sketch_d_needs_min_samples_before_reporting() {
    let mut window_mean = detector(1000, 100);
    for _ in 0..99 {
        assert_eq!(window_mean.update(0.5), Signal::NotReady);
    }
    assert_eq!(window_mean.update(0.5), Signal::Statistic(0.5));
}

#[test]
fn new_clamps_nonsense_instead_of_panicking() {
    let mut window_mean = detector(0, 5);
    assert_eq!(window_mean.params().window, 1);
    assert_eq!(window_mean.params().min_samples, 1);
    assert_eq!(window_mean.update(2.0), Signal::Statistic(2.0));
    assert_eq!(window_mean.update(4.0), Signal::Statistic(4.0));
}

#[test]
fn never_reallocates_after_construction_even_when_cloned() {
    let mut window_mean = detector(64, 1);
    let capacity = window_mean.values.capacity();
    let mut clone = window_mean.clone();
    for index in 0..1000 {
        window_mean.update(f64::from(index));
        clone.update(f64::from(index));
    }
    assert_eq!(window_mean.values.capacity(), capacity);
    assert_eq!(clone.values.capacity(), capacity);
    window_mean.reset();
    assert_eq!(window_mean.values.capacity(), capacity);
}

#[test]
fn running_sum_does_not_drift_over_millions_of_updates() {
    // Bursts of huge values followed by small ones: adding and subtracting 1e12 rounds at about
    // 1e-4 each time, which would swamp the small values' mean without the periodic resum.
    let window = 10;
    let mut window_mean = detector(window, window);
    let value = |index: usize| {
        if (index / window).is_multiple_of(2) {
            1e12 + (index % 7) as f64
        } else {
            0.1 * (index % 13) as f64
        }
    };
    let n_updates = 2_000_000 + 2 * window;
    let mut last = Signal::NotReady;
    for index in 0..n_updates {
        last = window_mean.update(value(index));
    }
    let exact: f64 = (n_updates - window..n_updates).map(value).sum::<f64>() / window as f64;
    let Signal::Statistic(mean) = last else {
        panic!("expected a statistic, got {last:?}")
    };
    assert!(
        (mean - exact).abs() <= 1e-12 * exact.abs().max(1.0),
        "mean {mean}, exact {exact}"
    );
}

#[test]
fn reset_starts_over() {
    let mut window_mean = detector(2, 1);
    window_mean.update(10.0);
    window_mean.update(20.0);
    window_mean.reset();
    assert!(window_mean.is_empty());
    assert_eq!(window_mean.update(1.0), Signal::Statistic(1.0));
    assert_eq!(window_mean.update(3.0), Signal::Statistic(2.0));
}
