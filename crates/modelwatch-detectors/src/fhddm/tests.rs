//! Unit tests for `fhddm`: a hand-checked short window, River-checked small streams, the
//! polarity quirk and its fix (on errors rising 0.1 -> 0.4), a line-by-line transcription of
//! River's code as a second model (non-binary values included), readiness, reset, clones and
//! parameter validation. Exactness on long streams is tested with River's own cases and golden
//! fixtures.

use std::collections::VecDeque;

use super::*;
use crate::test_support::lcg_stream;
use crate::{DetectorKind, DetectorSpec, ParamValue};

fn drifts(detector: &mut Fhddm, stream: &[f64]) -> Vec<usize> {
    (0..stream.len())
        .filter(|&index| detector.update(stream[index]))
        .collect()
}

fn fhddm(
    sliding_window_size: usize,
    confidence_level: f64,
    short_window_size: Option<usize>,
    detect_error_increase: bool,
) -> Fhddm {
    Fhddm::new(FhddmParams {
        sliding_window_size,
        confidence_level,
        short_window_size,
        detect_error_increase,
    })
}

/// River's `FHDDM.update`, transcribed line by line with a deque, with the mirrored test when
/// `increase` is set.
struct Transcription {
    size: usize,
    confidence: f64,
    short: Option<usize>,
    increase: bool,
    epsilon: f64,
    epsilon_short: f64,
    window: VecDeque<f64>,
    n_one: f64,
    u_extreme: f64,
    u_short_extreme: f64,
    drift: bool,
}

impl Transcription {
    fn new(size: usize, confidence: f64, short: Option<usize>, increase: bool) -> Transcription {
        let ln = (1.0 / confidence).ln();
        let start = if increase { f64::INFINITY } else { 0.0 };
        Transcription {
            size,
            confidence,
            short,
            increase,
            epsilon: (ln / (2 * size) as f64).sqrt(),
            epsilon_short: (ln / (2 * short.unwrap_or(1)) as f64).sqrt(),
            window: VecDeque::new(),
            n_one: 0.0,
            u_extreme: start,
            u_short_extreme: start,
            drift: false,
        }
    }

    fn update(&mut self, x: f64) -> bool {
        if self.drift {
            *self = Transcription::new(self.size, self.confidence, self.short, self.increase);
        }
        self.window.push_back(x);
        self.n_one += x;
        if self.window.len() == self.size {
            let u = self.n_one / self.size as f64;
            let (long, short) = if self.increase {
                self.u_extreme = if u < self.u_extreme {
                    u
                } else {
                    self.u_extreme
                };
                (u - self.u_extreme > self.epsilon, false)
            } else {
                self.u_extreme = if self.u_extreme < u {
                    u
                } else {
                    self.u_extreme
                };
                (self.u_extreme - u > self.epsilon, false)
            };
            let mut short = short;
            if let Some(length) = self.short {
                let sum = self
                    .window
                    .iter()
                    .skip(self.size - length)
                    .fold(0.0, |sum, x| sum + x);
                let u_s = sum / length as f64;
                short = if self.increase {
                    if u_s < self.u_short_extreme {
                        self.u_short_extreme = u_s;
                    }
                    u_s - self.u_short_extreme > self.epsilon_short
                } else {
                    if self.u_short_extreme < u_s {
                        self.u_short_extreme = u_s;
                    }
                    self.u_short_extreme - u_s > self.epsilon_short
                };
            }
            self.drift = long || short;
            self.n_one -= self.window.pop_front().unwrap();
        }
        self.drift
    }
}

#[test]
fn defaults_are_rivers() {
    assert_eq!(
        FhddmParams::default(),
        FhddmParams {
            sliding_window_size: 100,
            confidence_level: 0.000001,
            short_window_size: None,
            detect_error_increase: false
        }
    );
    assert_eq!(
        DetectorSpec::parse("fhddm", &[]).unwrap(),
        DetectorSpec::Fhddm(FhddmParams::default())
    );
}

#[test]
fn hand_checked_short_window() {
    // River 0.26.1: FHDDM(sliding_window_size=5, short_window_size=2, confidence_level=0.1)
    // drifts at 7 on this stream: epsilon = sqrt(ln 10 / 10) = 0.48, epsilon_s =
    // sqrt(ln 10 / 4) = 0.76. At index 7 the long rate has dropped from 1 to 0.6 (0.4 < 0.48)
    // but the short one from 1 to 0 (1 > 0.76).
    let stream = [
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0,
        1.0,
    ];
    let mut detector = fhddm(5, 0.1, Some(2), false);
    let mut signals = Vec::new();
    for &x in &stream[..8] {
        signals.push(detector.update_signal(x));
    }
    use Signal::{Drift, NotReady, Stable};
    assert_eq!(
        signals,
        [
            NotReady, NotReady, NotReady, NotReady, Stable, Stable, Stable, Drift
        ]
    );
    let explanation = detector.explain();
    assert_eq!(explanation.statistic, "ones_rate_drop");
    assert_eq!(explanation.value, 1.0);
    assert_eq!(explanation.bound, Some((10.0_f64.ln() / 4.0).sqrt()));
    assert_eq!((explanation.n_seen, explanation.n_needed), (5, 5));
    let mut detector = fhddm(5, 0.1, Some(2), false);
    assert_eq!(drifts(&mut detector, &stream), [7]);
}

#[test]
fn not_ready_until_the_window_is_full() {
    let mut detector = Fhddm::new(FhddmParams::default());
    for _ in 0..99 {
        assert_eq!(detector.update_signal(1.0), Signal::NotReady);
    }
    assert_eq!(detector.update_signal(1.0), Signal::Stable);
    assert!(!detector.warning_detected());
}

#[test]
fn polarity_quirk_and_its_fix_on_errors_rising() {
    // Errors 0.1 -> 0.4 at index 1000. River 0.26.1: FHDDM() finds nothing on this stream,
    // and drifts at 1092 on the inverted stream (1 = correct), which is what the paper meant.
    let rising = lcg_stream(13, &[(1000, 0.1), (1000, 0.4)]);
    assert_eq!(
        drifts(&mut Fhddm::new(FhddmParams::default()), &rising),
        [] as [usize; 0]
    );
    let fixed = FhddmParams {
        detect_error_increase: true,
        ..FhddmParams::default()
    };
    assert_eq!(drifts(&mut Fhddm::new(fixed), &rising), [1092]);
    // Falling errors: River's FHDDM fires (at 1037); the fixed one does not.
    let falling = lcg_stream(13, &[(1000, 0.4), (1000, 0.1)]);
    assert_eq!(
        drifts(&mut Fhddm::new(FhddmParams::default()), &falling),
        [1037]
    );
    assert_eq!(drifts(&mut Fhddm::new(fixed), &falling), [] as [usize; 0]);
    // No false alarm on 3000 points at a stationary 0.2.
    let stationary = lcg_stream(21, &[(3000, 0.2)]);
    assert_eq!(
        drifts(&mut Fhddm::new(fixed), &stationary),
        [] as [usize; 0]
    );
}

#[test]
fn fixed_test_is_rivers_test_on_the_accuracy() {
    // River 0.26.1 on the inverted streams (FHDDM() and FHDDM(short_window_size=20)).
    let expected: [(u64, &[usize], &[usize]); 5] = [
        (0, &[1039], &[1038]),
        (1, &[1149], &[1149, 1718]),
        (2, &[1056], &[1053, 1502]),
        (3, &[1070], &[1035, 1661]),
        (4, &[1060], &[1060, 1207]),
    ];
    for (seed, long_only, stacked) in expected {
        let rising = lcg_stream(seed, &[(1000, 0.1), (1000, 0.4)]);
        let inverted: Vec<f64> = rising.iter().map(|x| 1.0 - x).collect();
        assert_eq!(
            drifts(&mut fhddm(100, 1e-6, None, true), &rising),
            long_only
        );
        assert_eq!(
            drifts(&mut fhddm(100, 1e-6, None, false), &inverted),
            long_only
        );
        assert_eq!(
            drifts(&mut fhddm(100, 1e-6, Some(20), true), &rising),
            stacked
        );
    }
}

#[test]
fn agrees_with_a_transcription_of_rivers_code() {
    let mut state = 99_u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for case in 0..120 {
        let size = [1, 2, 5, 17, 50, 100][case % 6];
        let short = match case % 4 {
            0 => None,
            1 => Some(size),
            2 => Some(1),
            _ => Some(1 + (next() * size as f64) as usize % size),
        };
        let confidence = [1e-6, 0.01, 0.3][case % 3];
        let increase = case % 5 < 2;
        let odd_values = case % 3 == 0;
        let mut detector = fhddm(size, confidence, short, increase);
        let mut model = Transcription::new(size, confidence, short, increase);
        for index in 0..1500 {
            let rate = if (index / 300) % 2 == 0 { 0.15 } else { 0.6 };
            let uniform = next();
            let x = if odd_values && uniform < 0.05 {
                [0.5, 0.1, 2.0, -0.25, 0.3][index % 5]
            } else if next() < rate {
                1.0
            } else {
                0.0
            };
            assert_eq!(
                detector.update(x),
                model.update(x),
                "case {case} (size {size}, short {short:?}, increase {increase}), index {index}"
            );
        }
    }
}

#[test]
fn window_of_one() {
    let mut detector = fhddm(1, 0.3, Some(1), false);
    // Every point fills the window: the rate is the point itself.
    assert_eq!(detector.update_signal(1.0), Signal::Stable);
    assert_eq!(detector.update_signal(0.0), Signal::Drift);
    assert_eq!(detector.update_signal(0.0), Signal::Stable);
}

#[test]
fn nan_makes_it_silent_without_panicking() {
    let mut detector = fhddm(3, 0.3, Some(2), false);
    for x in [1.0, f64::NAN, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0] {
        assert!(!detector.update(x));
    }
}

#[test]
fn reset_equals_a_fresh_detector() {
    let stream = lcg_stream(5, &[(700, 0.4), (700, 0.05), (700, 0.4)]);
    for (short, increase) in [(None, false), (Some(20), false), (Some(30), true)] {
        let mut detector = fhddm(100, 1e-6, short, increase);
        drifts(&mut detector, &stream[..1234]);
        detector.reset();
        let mut fresh = fhddm(100, 1e-6, short, increase);
        for &x in &stream {
            assert_eq!(detector.update_signal(x), fresh.update_signal(x));
            assert_eq!(detector.explain(), fresh.explain());
        }
    }
}

#[test]
fn a_clone_stays_in_lockstep() {
    let stream = lcg_stream(8, &[(700, 0.4), (700, 0.05), (700, 0.4)]);
    let mut detector = fhddm(100, 1e-6, Some(20), false);
    drifts(&mut detector, &stream[..777]);
    let mut clone = detector.clone();
    for &x in &stream[777..] {
        assert_eq!(detector.update_signal(x), clone.update_signal(x));
        assert_eq!(detector.explain(), clone.explain());
    }
}

#[test]
fn validation_names_each_bad_parameter() {
    let params = |list: &[(&str, ParamValue)]| -> Vec<(String, ParamValue)> {
        list.iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect()
    };
    let errors = DetectorSpec::parse(
        "fhddm",
        &params(&[
            ("sliding_window_size", ParamValue::Integer(0)),
            ("confidence_level", ParamValue::Float(1.0)),
            ("short_window_size", ParamValue::Float(2.5)),
            ("detect_error_increase", ParamValue::String("true".into())),
        ]),
    )
    .unwrap_err();
    let named: Vec<&str> = errors
        .iter()
        .map(|error| error.param.as_deref().unwrap())
        .collect();
    assert_eq!(
        named,
        [
            "sliding_window_size",
            "confidence_level",
            "short_window_size",
            "detect_error_increase"
        ]
    );
    let errors = DetectorSpec::parse(
        "fhddm",
        &params(&[
            ("sliding_window_size", ParamValue::Integer(50)),
            ("short_window_size", ParamValue::Integer(51)),
        ]),
    )
    .unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].param.as_deref(), Some("short_window_size"));
    assert_eq!(
        errors[0].message,
        "must be <= sliding_window_size (50), got 51"
    );
    // Against the default window too.
    let errors = DetectorSpec::parse(
        "fhddm",
        &params(&[("short_window_size", ParamValue::Integer(101))]),
    )
    .unwrap_err();
    assert_eq!(errors[0].param.as_deref(), Some("short_window_size"));
    let spec = DetectorSpec::parse(
        "fhddm",
        &params(&[
            ("sliding_window_size", ParamValue::Integer(50)),
            ("short_window_size", ParamValue::Integer(50)),
            ("detect_error_increase", ParamValue::Bool(true)),
        ]),
    )
    .unwrap();
    assert_eq!(
        spec,
        DetectorSpec::Fhddm(FhddmParams {
            sliding_window_size: 50,
            confidence_level: 0.000001,
            short_window_size: Some(50),
            detect_error_increase: true
        })
    );
    assert_eq!(spec.build().kind(), DetectorKind::Fhddm);
}
