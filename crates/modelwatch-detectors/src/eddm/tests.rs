//! Unit tests for `eddm`: hand-checked distances, River-checked small streams (the sticky
//! warning and the warning left set on a drift step), readiness, non-binary inputs, River's
//! `** 0.5`, reset, clones and parameter validation. Exactness on long streams is tested with
//! River's own cases and golden fixtures.

use super::*;
use crate::test_support::{indices, lcg_stream};
use crate::{DetectorKind, DetectorSpec, ParamValue};

/// Drift and warning indices, read as River reads them.
fn run(detector: &mut Eddm, stream: &[f64]) -> (Vec<usize>, Vec<usize>) {
    indices(stream, |x| {
        let drift = detector.update(x);
        (drift, detector.warning_detected())
    })
}

fn eddm(warm_start: u64, alpha: f64, beta: f64) -> Eddm {
    Eddm::new(EddmParams {
        warm_start,
        alpha,
        beta,
    })
}

#[test]
fn defaults_are_rivers() {
    assert_eq!(
        EddmParams::default(),
        EddmParams {
            warm_start: 30,
            alpha: 0.95,
            beta: 0.9
        }
    );
    assert_eq!(
        DetectorSpec::parse("eddm", &[]).unwrap(),
        DetectorSpec::Eddm(EddmParams::default())
    );
}

#[test]
fn hand_checked_distances() {
    // warm_start 0, alpha 0.99, beta 0.9. Errors at points 2 and 4 (1-based): distances 2, 2.
    let mut detector = eddm(0, 0.99, 0.9);
    for x in [0.0, 1.0, 0.0, 1.0] {
        assert!(!detector.update(x));
    }
    // Mean 2, variance 0: p2s = 2, equal to the maximum set by the first error.
    assert_eq!(detector.explain().value, 1.0);
    assert!(!detector.warning_detected());
    // An error at point 8: distances 2, 2, 4 have mean 8/3 and variance 4/3, a new maximum.
    for x in [0.0, 0.0, 0.0, 1.0] {
        assert!(!detector.update(x));
    }
    let maximum = 8.0 / 3.0 + 2.0 * (4.0_f64 / 3.0).sqrt();
    assert!((detector.p2s_max - maximum).abs() < 1e-12);
    // An error at point 9: distances 2, 2, 4, 1 (mean 9/4, variance 19/12) give a level of
    // 0.958: below alpha, a warning.
    assert_eq!(detector.update_signal(1.0), Signal::Warning);
    let level = (2.25 + 2.0 * (19.0_f64 / 12.0).sqrt()) / maximum;
    assert!((detector.explain().value - level).abs() < 1e-12);
    // The warning sticks through 0s.
    assert_eq!(detector.update_signal(0.0), Signal::Warning);
    // An error at point 11: distances 2, 2, 4, 1, 2 (mean 11/5, variance 6/5) give a level of
    // 0.882, below beta: drift, and the warning flag is left set.
    assert_eq!(detector.update_signal(1.0), Signal::Drift);
    let level = (2.2 + 2.0 * 1.2_f64.sqrt()) / maximum;
    assert!((detector.explain().value - level).abs() < 1e-12);
    assert!(detector.warning_detected());
    assert_eq!(detector.n_errors(), 5);
    // The next update starts afresh.
    assert_eq!(detector.update_signal(1.0), Signal::Stable);
    assert!(!detector.warning_detected());
    assert_eq!((detector.n_seen(), detector.n_errors()), (1, 1));
    assert_eq!(detector.explain().value, 1.0);
}

#[test]
fn matches_river_on_small_streams() {
    // River 0.26.1: EDDM(warm_start=10, alpha=0.95, beta=0.9) on
    // lcg_stream(5, [(400, 0.3), (400, 0.1)]).
    let stream = lcg_stream(5, &[(400, 0.3), (400, 0.1)]);
    let (drifts, warnings) = run(&mut eddm(10, 0.95, 0.9), &stream);
    assert_eq!(drifts, [36, 134, 176, 217, 260, 299, 328, 742]);
    assert_eq!(
        &warnings[..27],
        [
            26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 66, 67, 68, 69, 70, 90, 91, 92, 93, 94, 95,
            127, 128, 129, 130, 131
        ]
    );
    assert_eq!(warnings.len(), 269);
    // Quirks: the warning is left set on the drift steps 36, 134 and 742, and sticks through
    // the 0s between errors (26..=36 is one run).
    for drift in [36, 134, 742] {
        assert!(warnings.contains(&drift));
    }
    // River 0.26.1: EDDM() on lcg_stream(11, [(1500, 0.3), (1500, 0.05)]).
    let stream = lcg_stream(11, &[(1500, 0.3), (1500, 0.05)]);
    let (drifts, warnings) = run(&mut Eddm::new(EddmParams::default()), &stream);
    assert_eq!(
        drifts,
        [
            115, 215, 323, 425, 542, 656, 783, 929, 1031, 1126, 1229, 1339
        ]
    );
    assert_eq!(warnings.len(), 76);
}

#[test]
fn warning_signal_and_sticky_flag() {
    let stream = lcg_stream(5, &[(400, 0.3), (400, 0.1)]);
    let mut detector = eddm(10, 0.95, 0.9);
    for &x in &stream {
        let was_warning = detector.warning_detected() && !detector.drift_detected();
        let signal = detector.update_signal(x);
        if signal == Signal::Drift {
            continue;
        }
        assert_eq!(signal == Signal::Warning, detector.warning_detected());
        if x == 0.0 {
            // Only errors move the flag.
            assert_eq!(detector.warning_detected(), was_warning);
        }
    }
}

#[test]
fn not_ready_until_more_than_warm_start_errors() {
    // Every other point is an error: distances of 2, a constant p2s, never a signal.
    let mut detector = Eddm::new(EddmParams::default());
    for _ in 0..30 {
        assert_eq!(detector.update_signal(0.0), Signal::NotReady);
        assert_eq!(detector.update_signal(1.0), Signal::NotReady);
    }
    assert_eq!(detector.update_signal(0.0), Signal::NotReady);
    assert_eq!(detector.update_signal(1.0), Signal::Stable);
    assert_eq!(detector.update_signal(0.0), Signal::Stable);
    assert_eq!(
        (detector.explain().n_seen, detector.explain().n_needed),
        (31, 31)
    );
}

#[test]
fn only_exact_ones_are_errors() {
    let mut detector = eddm(0, 0.95, 0.9);
    for x in [0.0, 0.5, 2.0, 0.999_999, f64::NAN, -1.0, f64::INFINITY] {
        assert!(!detector.update(x));
    }
    assert_eq!((detector.n_seen(), detector.n_errors()), (7, 0));
    detector.update(1.0);
    assert_eq!(detector.n_errors(), 1);
}

#[test]
fn pow_half_is_glibc_pow_bit_for_bit() {
    // Values where CPython's `v ** 0.5` (glibc `pow`) differs from the rounded `sqrt(v)`.
    let hard: [(u64, u64); 22] = [
        (0x3fead48f3694b194, 0x3fed4d262fcba55f),
        (0x4000a04d48013f38, 0x3ff710e1a70d3319),
        (0x4089a57796d4aa7f, 0x403ca5c74abbe3d3),
        (0x4015cfc3b78dcf0e, 0x4002ae5fb379b085),
        (0x3fed41b81f10669d, 0x3fee98fe37871a45),
        (0x401ce0014dfaa110, 0x40057e836928c9e4),
        (0x3fe36872205c5476, 0x3fe8ebc5fa82badd),
        (0x4080589c11ba0b0c, 0x4036def0a2ca07db),
        (0x40c43c52b92425f9, 0x405972627749c014),
        (0x3fbf71d8bb1bd468, 0x3fd66e23d68d9e46),
        (0x4082bb91ad2de582, 0x40387bcc7d5f8efc),
        (0x411ac3b338d89432, 0x4084b1998bf2ad78),
        (0x400b3df65efc6fe2, 0x3ffd867c3bf09ebd),
        (0x3fdf3ecf0aa5a680, 0x3fe65be86682e527),
        (0x407401f8c55b1bda, 0x4031e4595393f81a),
        (0x3fdce533733c159e, 0x3fe5807265395f81),
        (0x40c643cb00b09787, 0x405ab134bbafa3d5),
        (0x41102115dffd52d5, 0x408010826b7f9ef6),
        (0x3feeda3d7aa14ec0, 0x3fef6bc777a8213d),
        (0x401ad008ec8d38ef, 0x4004b65dbbfb0365),
        (0x40f46b2e428afc57, 0x40721326d0e2191e),
        (0x3f8d92f803d7f1c0, 0x3fbec35d7b7251a7),
    ];
    for (value, expected) in hard {
        let value = f64::from_bits(value);
        assert_ne!(value.sqrt().to_bits(), expected, "not a hard case");
        assert_eq!(pow_half(value).to_bits(), expected, "pow_half({value})");
    }
    // The fast path agrees with `pow` itself everywhere it is taken.
    let mut state = 1_u64;
    for index in 0..400_000_u32 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let uniform = (state >> 11) as f64 / (1u64 << 53) as f64;
        let value = match index % 4 {
            0 => uniform,
            1 => uniform * 1e6,
            // Sample variances of integer distances: S / (n - 1).
            2 => f64::from(index % 5000) / f64::from(index % 97 + 1),
            _ => f64::from_bits(state >> 2),
        };
        assert_eq!(
            pow_half(value).to_bits(),
            libm_pow_half(value).to_bits(),
            "pow_half({value:e})"
        );
    }
    for value in [
        0.0,
        -0.0,
        1.0,
        4.0,
        0.25,
        f64::INFINITY,
        f64::MIN_POSITIVE,
        5e-324,
    ] {
        assert_eq!(pow_half(value).to_bits(), libm_pow_half(value).to_bits());
    }
    assert!(pow_half(f64::NAN).is_nan() && pow_half(-1.0).is_nan());
}

#[test]
fn reset_equals_a_fresh_detector() {
    let stream = lcg_stream(2, &[(400, 0.3), (400, 0.1)]);
    let mut detector = eddm(5, 0.95, 0.9);
    run(&mut detector, &stream[..333]);
    detector.reset();
    let mut fresh = eddm(5, 0.95, 0.9);
    for &x in &stream {
        assert_eq!(detector.update_signal(x), fresh.update_signal(x));
        assert_eq!(detector.warning_detected(), fresh.warning_detected());
        assert_eq!(detector.explain(), fresh.explain());
    }
}

#[test]
fn a_clone_stays_in_lockstep() {
    let stream = lcg_stream(8, &[(600, 0.3), (600, 0.05)]);
    let mut detector = Eddm::new(EddmParams::default());
    run(&mut detector, &stream[..500]);
    let mut clone = detector.clone();
    for &x in &stream[500..] {
        assert_eq!(detector.update_signal(x), clone.update_signal(x));
        assert_eq!(detector.warning_detected(), clone.warning_detected());
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
    // River: ValueError when alpha < beta.
    let errors = DetectorSpec::parse(
        "eddm",
        &params(&[
            ("alpha", ParamValue::Float(0.8)),
            ("beta", ParamValue::Float(0.9)),
        ]),
    )
    .unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].param.as_deref(), Some("alpha"));
    assert_eq!(errors[0].message, "must be >= beta (0.9), got 0.8");
    // Against the default beta too.
    let errors =
        DetectorSpec::parse("eddm", &params(&[("alpha", ParamValue::Float(0.85))])).unwrap_err();
    assert_eq!(errors[0].param.as_deref(), Some("alpha"));
    let errors = DetectorSpec::parse(
        "eddm",
        &params(&[
            ("warm_start", ParamValue::Float(2.5)),
            ("alpha", ParamValue::Float(1.5)),
            ("beta", ParamValue::Integer(0)),
        ]),
    )
    .unwrap_err();
    let named: Vec<&str> = errors
        .iter()
        .map(|error| error.param.as_deref().unwrap())
        .collect();
    assert_eq!(named, ["warm_start", "alpha", "beta"]);
    let spec = DetectorSpec::parse(
        "eddm",
        &params(&[
            ("warm_start", ParamValue::Integer(0)),
            ("alpha", ParamValue::Float(0.8)),
            ("beta", ParamValue::Float(0.8)),
        ]),
    )
    .unwrap();
    assert_eq!(
        spec,
        DetectorSpec::Eddm(EddmParams {
            warm_start: 0,
            alpha: 0.8,
            beta: 0.8
        })
    );
    assert_eq!(spec.build().kind(), DetectorKind::Eddm);
}

/// River's `EDDM.update`, transcribed line by line (`** 0.5` as glibc's `pow`).
struct Transcription {
    params: EddmParams,
    n: u64,
    n_errors: u64,
    last_error: u64,
    count: f64,
    mean: f64,
    sum_squares: f64,
    p2s_max: f64,
    drift: bool,
    warning: bool,
}

impl Transcription {
    fn new(params: EddmParams) -> Transcription {
        Transcription {
            params,
            n: 0,
            n_errors: 0,
            last_error: 0,
            count: 0.0,
            mean: 0.0,
            sum_squares: 0.0,
            p2s_max: -1.0,
            drift: false,
            warning: false,
        }
    }

    fn update(&mut self, x: f64) -> (bool, bool) {
        if self.drift {
            *self = Transcription::new(self.params);
        }
        self.n += 1;
        if x == 1.0 {
            self.n_errors += 1;
            let distance = (self.n - self.last_error) as f64;
            let mean_old = self.mean;
            self.count += 1.0;
            self.mean += (1.0 / self.count) * (distance - self.mean);
            self.sum_squares += 1.0 * (distance - mean_old) * (distance - self.mean);
            if self.n > self.params.warm_start {
                let variance = if self.count > 1.0 {
                    self.sum_squares / (self.count - 1.0)
                } else {
                    0.0
                };
                let p2s = self.mean + 2.0 * libm_pow_half(variance);
                if p2s > self.p2s_max {
                    self.p2s_max = p2s;
                } else if self.n_errors > self.params.warm_start {
                    let level = p2s / self.p2s_max;
                    if level < self.params.beta {
                        self.drift = true;
                    } else {
                        self.warning = level < self.params.alpha;
                    }
                }
            }
            self.last_error = self.n;
        }
        (self.drift, self.warning)
    }
}

#[test]
fn agrees_with_a_transcription_of_rivers_code() {
    let parameter_sets = [
        EddmParams::default(),
        eddm(0, 0.99, 0.97).params,
        eddm(5, 0.8, 0.8).params,
        eddm(30, 1.0, 0.5).params,
    ];
    let mut seed = 100;
    for params in parameter_sets {
        for segments in [
            &[(40_000, 0.3)][..],
            &[(20_000, 0.05), (20_000, 0.5)],
            &[(500, 0.0), (5_000, 0.9), (5_000, 1.0)],
        ] {
            seed += 1;
            let stream = lcg_stream(seed, segments);
            let mut detector = Eddm::new(params);
            let mut model = Transcription::new(params);
            for (index, &x) in stream.iter().enumerate() {
                let drift = detector.update(x);
                assert_eq!(
                    (drift, detector.warning_detected()),
                    model.update(x),
                    "{params:?}, seed {seed}, index {index}"
                );
            }
        }
    }
}
