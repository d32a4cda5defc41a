//! Property tests for every detector kind: any finite stream is handled without panicking,
//! `reset` gives back a fresh detector, and a clone taken mid-stream stays in lockstep.

use modelwatch_detectors::{
    AdwinParams, Condition, Detector, DetectorSpec, Direction, EmaParams, Explanation,
    PageHinkleyMode, PageHinkleyParams, Signal, ThresholdParams, WindowMeanParams,
};
use modelwatch_detectors::{CusumMode, CusumParams, KswinParams};
use modelwatch_detectors::{DdmParams, EddmParams, FhddmParams, HddmAParams, HddmWParams};
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

pub(crate) fn spec() -> impl Strategy<Value = DetectorSpec> {
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
        (
            proptest::option::of(-5.0..5.0_f64),
            0.0..2.0_f64,
            0.01..20.0_f64,
            1..40_u64,
            0..3_usize
        )
            .prop_map(|(target, k, h, warm_up, mode)| {
                DetectorSpec::Cusum(CusumParams {
                    target,
                    k,
                    h,
                    warm_up,
                    mode: [CusumMode::Up, CusumMode::Down, CusumMode::Both][mode],
                })
            }),
        binary_spec(),
        // Seeded: an unseeded KSWIN draws a fresh seed per build, so two builds differ.
        (
            0.0..=1.0_f64,
            1..12_usize,
            0..30_usize,
            proptest::option::of(0..u64::MAX >> 1)
        )
            .prop_map(|(alpha, stat_size, extra, seed)| {
                DetectorSpec::Kswin(KswinParams {
                    alpha,
                    window_size: 2 * stat_size + extra,
                    stat_size,
                    seed: Some(seed.unwrap_or(42)),
                })
            }),
    ]
}

/// River's binary detectors (fed the same arbitrary values: they accept any `f64`).
pub(crate) fn binary_spec() -> impl Strategy<Value = DetectorSpec> {
    prop_oneof![
        (0..40_u64, 0.1..4.0_f64, 0.1..6.0_f64, any::<bool>()).prop_map(
            |(warm_start, warning_threshold, drift_threshold, ignore_zero_variance_minimum)| {
                DetectorSpec::Ddm(DdmParams {
                    warm_start,
                    warning_threshold,
                    drift_threshold,
                    ignore_zero_variance_minimum,
                })
            }
        ),
        (0..40_u64, 0.01..=1.0_f64, 0.0..=1.0_f64).prop_map(|(warm_start, alpha, share)| {
            DetectorSpec::Eddm(EddmParams {
                warm_start,
                alpha,
                beta: (alpha * share).max(1e-3).min(alpha),
            })
        }),
        (1e-4..0.5_f64, 1e-4..0.5_f64, any::<bool>()).prop_map(
            |(drift_confidence, warning_confidence, two_sided_test)| {
                DetectorSpec::HddmA(HddmAParams {
                    drift_confidence,
                    warning_confidence,
                    two_sided_test,
                })
            }
        ),
        (1e-4..0.5_f64, 1e-4..0.5_f64, 0.01..=1.0_f64, any::<bool>()).prop_map(
            |(drift_confidence, warning_confidence, lambda_val, two_sided_test)| {
                DetectorSpec::HddmW(HddmWParams {
                    drift_confidence,
                    warning_confidence,
                    lambda_val,
                    two_sided_test,
                })
            }
        ),
        (
            1..60_usize,
            1e-7..0.5_f64,
            proptest::option::of(1..60_usize),
            any::<bool>()
        )
            .prop_map(
                |(sliding_window_size, confidence_level, short, detect_error_increase)| {
                    DetectorSpec::Fhddm(FhddmParams {
                        sliding_window_size,
                        confidence_level,
                        short_window_size: short.map(|short| short.min(sliding_window_size)),
                        detect_error_increase,
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
pub(crate) fn stream() -> impl Strategy<Value = Vec<f64>> {
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

/// What one update says, compared bit for bit (NaN statistics included): the signal, River's
/// warning flag and the explanation.
pub(crate) type Fingerprint = (u8, bool, u64, u64, &'static str, u64, u64);

fn fingerprint(signal: Signal, warning: bool, explanation: Explanation) -> Fingerprint {
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
        warning,
        bits,
        bound,
        explanation.statistic,
        explanation.value.to_bits(),
        explanation.n_seen,
    )
}

pub(crate) fn run(detector: &mut Detector, points: &[f64]) -> Vec<Fingerprint> {
    points
        .iter()
        .map(|&x| {
            let signal = detector.update(x);
            fingerprint(signal, detector.warning_detected(), detector.explain())
        })
        .collect()
}

/// 0/1 outcomes whose error rate changes once, as the binary detectors expect.
pub(crate) fn binary_stream() -> impl Strategy<Value = Vec<f64>> {
    (0.0..0.5_f64, 0.0..1.0_f64, 0..800_usize, any::<u64>()).prop_map(
        |(before, after, change_at, seed)| {
            // SplitMix64, so the stream is a pure function of the drawn values.
            let mut state = seed;
            (0..800)
                .map(|index| {
                    state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                    let mut z = state;
                    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                    let uniform = ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64;
                    let rate = if index < change_at { before } else { after };
                    f64::from(u8::from(uniform < rate))
                })
                .collect()
        },
    )
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
    fn binary_detectors_on_outcome_streams(spec in binary_spec(), prefix in binary_stream(), rest in binary_stream()) {
        let mut detector = spec.build();
        let prefix_run = run(&mut detector, &prefix);
        // A warning signal always comes with River's flag; drift wins over a warning.
        for (tag, warning, ..) in &prefix_run {
            prop_assert!(*tag != 3 || *warning);
            prop_assert!(*tag == 4 || *tag == 3 || !*warning);
        }
        let mut clone = detector.clone();
        let mut fresh = spec.build();
        let after_clone = run(&mut clone, &rest);
        prop_assert_eq!(&run(&mut detector, &rest), &after_clone);
        detector.reset();
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
