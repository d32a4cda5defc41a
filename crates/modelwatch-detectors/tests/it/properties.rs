//! Property tests for every detector kind: any finite stream is handled without panicking,
//! `reset` gives back a fresh detector, and a clone taken mid-stream stays in lockstep.

use modelwatch_detectors::{
    AdwinParams, Condition, Detector, DetectorSpec, Direction, EmaParams, Explanation,
    PageHinkleyMode, PageHinkleyParams, Signal, ThresholdParams, WindowMeanParams,
};
use proptest::prelude::*;

fn condition() -> impl Strategy<Value = Condition> {
    (
        any::<bool>(),
        -10.0..10.0_f64,
        proptest::option::of(0.0..5.0_f64),
    )
        .prop_map(|(below, bound, margin)| {
            if below {
                Condition {
                    direction: Direction::Below,
                    bound,
                    resolve: margin.map(|m| bound + m),
                }
            } else {
                Condition {
                    direction: Direction::Above,
                    bound,
                    resolve: margin.map(|m| bound - m),
                }
            }
        })
}

fn spec() -> impl Strategy<Value = DetectorSpec> {
    prop_oneof![
        condition().prop_map(|condition| DetectorSpec::Threshold(ThresholdParams { condition })),
        (0.001..=1.0_f64, 1..20_u64, condition()).prop_map(|(alpha, min_samples, condition)| {
            DetectorSpec::Ema(EmaParams {
                alpha,
                min_samples,
                condition,
            })
        }),
        (1..50_usize, 1..50_usize, condition()).prop_map(|(window, min_samples, condition)| {
            DetectorSpec::WindowMean(WindowMeanParams {
                window,
                min_samples: min_samples.min(window),
                condition,
            })
        }),
        (
            1..60_u64,
            -1.0..1.0_f64,
            0.01..100.0_f64,
            0.5..=1.0_f64,
            0..3_usize
        )
            .prop_map(|(min_instances, delta, threshold, alpha, mode)| {
                DetectorSpec::PageHinkley(PageHinkleyParams {
                    min_instances,
                    delta,
                    threshold,
                    alpha,
                    mode: [
                        PageHinkleyMode::Up,
                        PageHinkleyMode::Down,
                        PageHinkleyMode::Both,
                    ][mode],
                })
            }),
        (1e-6..0.999_f64, 1..40_u32, 1..8_u32, 1..12_u32, 0..30_u32).prop_map(
            |(delta, clock, max_buckets, min_window_length, grace_period)| {
                DetectorSpec::Adwin(AdwinParams {
                    delta,
                    clock,
                    max_buckets,
                    min_window_length,
                    grace_period,
                })
            }
        ),
    ]
}

/// Finite values: mostly moderate (so change detectors fire), sometimes anything finite.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => -5.0..5.0_f64,
        2 => (0..4_i32).prop_map(f64::from),
        1 => -1e300..1e300_f64,
        1 => prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
    ]
}

/// A stream with a level shift somewhere, so change detectors see changes.
fn stream() -> impl Strategy<Value = Vec<f64>> {
    (
        prop::collection::vec(value(), 0..600),
        0..600_usize,
        -20.0..20.0_f64,
    )
        .prop_map(|(mut points, shift_at, shift)| {
            for point in points.iter_mut().skip(shift_at) {
                if point.abs() < 10.0 {
                    *point += shift;
                }
            }
            points
        })
}

/// A signal and an explanation compared bit for bit (NaN statistics included).
fn fingerprint(signal: Signal, explanation: Explanation) -> (u8, u64, u64, &'static str, u64, u64) {
    let (tag, bits) = match signal {
        Signal::NotReady => (0, 0),
        Signal::Statistic(value) => (1, value.to_bits()),
        Signal::Stable => (2, 0),
        Signal::Warning => (3, 0),
        Signal::Drift => (4, 0),
    };
    let bound = explanation.bound.map_or(u64::MAX, f64::to_bits);
    (
        tag,
        bits,
        bound,
        explanation.statistic,
        explanation.value.to_bits(),
        explanation.n_seen,
    )
}

fn run(detector: &mut Detector, points: &[f64]) -> Vec<(u8, u64, u64, &'static str, u64, u64)> {
    points
        .iter()
        .map(|&x| fingerprint(detector.update(x), detector.explain()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_finite_stream_is_handled(spec in spec(), points in stream()) {
        let mut detector = spec.build();
        let change_detector = spec.kind().is_change_detector();
        for &x in &points {
            let signal = detector.update(x);
            let explanation = detector.explain();
            prop_assert_eq!(matches!(signal, Signal::Statistic(_)), !change_detector && signal != Signal::NotReady);
            prop_assert!(explanation.n_needed >= 1);
            if let (Signal::NotReady, false) = (signal, change_detector) {
                prop_assert!(explanation.n_seen < explanation.n_needed);
            }
        }
    }

    #[test]
    fn reset_behaves_like_a_fresh_detector(spec in spec(), prefix in stream(), rest in stream()) {
        let mut detector = spec.build();
        run(&mut detector, &prefix);
        detector.reset();
        let mut fresh = spec.build();
        prop_assert_eq!(detector.explain().n_seen, 0);
        prop_assert_eq!(run(&mut detector, &rest), run(&mut fresh, &rest));
    }

    #[test]
    fn a_clone_stays_in_lockstep(spec in spec(), prefix in stream(), rest in stream()) {
        let mut detector = spec.build();
        run(&mut detector, &prefix);
        let mut clone = detector.clone();
        prop_assert_eq!(run(&mut detector, &rest), run(&mut clone, &rest));
    }
}
