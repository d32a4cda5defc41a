//! Unit tests for `ddm`: hand-checked points, River-checked small streams, the zero-error
//! warm-up quirk and its fix, readiness, reset, clones and parameter validation. Exactness on
//! long streams is tested with River's own cases and golden fixtures.

use super::*;
use crate::test_support::{indices, lcg_stream};
use crate::{DetectorKind, DetectorSpec, ParamValue};

/// Drift and warning indices, read as River reads them.
fn run(detector: &mut Ddm, stream: &[f64]) -> (Vec<usize>, Vec<usize>) {
    indices(stream, |x| {
        let drift = detector.update(x);
        (drift, detector.warning_detected())
    })
}

fn ddm(warm_start: u64, ignore_zero_variance_minimum: bool) -> Ddm {
    Ddm::new(DdmParams {
        warm_start,
        ignore_zero_variance_minimum,
        ..DdmParams::default()
    })
}

#[test]
fn defaults_are_rivers() {
    assert_eq!(
        DdmParams::default(),
        DdmParams {
            warm_start: 30,
            warning_threshold: 2.0,
            drift_threshold: 3.0,
            ignore_zero_variance_minimum: false,
        }
    );
    assert_eq!(
        DetectorSpec::parse("ddm", &[]).unwrap(),
        DetectorSpec::Ddm(DdmParams::default())
    );
}

#[test]
fn hand_checked_first_points() {
    // warm_start 0: the first point is tested. x=0: p=0, s=0, the minimum is (0, 0).
    let mut detector = ddm(0, false);
    assert_eq!(detector.update_signal(0.0), Signal::Stable);
    assert_eq!(detector.minimum(), Some((0.0, 0.0)));
    // x=1: p=0.5, s=sqrt(0.25/2); p+s > 0 + 3*0, a drift (the zero-variance quirk).
    assert_eq!(detector.update_signal(1.0), Signal::Drift);
    let explanation = detector.explain();
    assert_eq!(explanation.statistic, "p_plus_s");
    assert_eq!(explanation.value, 0.5 + (0.25_f64 / 2.0).sqrt());
    assert_eq!(explanation.bound, Some(0.0));
    assert_eq!((explanation.n_seen, explanation.n_needed), (2, 1));
    // The next update starts afresh.
    assert_eq!(detector.update_signal(1.0), Signal::Stable);
    assert_eq!(detector.n_seen(), 1);
    assert_eq!(detector.minimum(), Some((1.0, 0.0)));
}

#[test]
fn matches_river_on_small_streams() {
    // River 0.26.1: DDM() on lcg_stream(7, [(500, 0.1), (500, 0.4)]).
    let stream = lcg_stream(7, &[(500, 0.1), (500, 0.4)]);
    let (drifts, warnings) = run(&mut Ddm::new(DdmParams::default()), &stream);
    assert_eq!(drifts, [81, 504]);
    assert_eq!(warnings.len(), 288);
    assert_eq!(
        &warnings[..12],
        [38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 51, 52]
    );
    assert_eq!(warnings.last(), Some(&581));
    assert!(!warnings.contains(&81), "a drift clears the warning flag");
    // River 0.26.1: DDM(warm_start=5) on lcg_stream(3, [(300, 0.2), (300, 0.6)]).
    let stream = lcg_stream(3, &[(300, 0.2), (300, 0.6)]);
    let (drifts, warnings) = run(&mut ddm(5, false), &stream);
    assert_eq!(drifts, [82, 310]);
    assert_eq!(&warnings[..6], [24, 25, 26, 36, 38, 39]);
    assert_eq!(&warnings[warnings.len() - 4..], [341, 391, 393, 394]);
}

#[test]
fn zero_error_warm_up_quirk_and_its_fix() {
    let mut stream = vec![0.0; 40];
    stream.push(1.0);
    // River: 40 zeros then a 1 drifts at index 40.
    let (drifts, _) = run(&mut ddm(30, false), &stream);
    assert_eq!(drifts, [40]);
    // Fixed: the zeros never become the minimum, so the first error sets it instead.
    let mut fixed = ddm(30, true);
    for &x in &stream[..40] {
        assert_eq!(fixed.update_signal(x), Signal::NotReady);
    }
    assert_eq!(fixed.update_signal(1.0), Signal::Stable);
    let p = fixed.error_rate();
    assert!((p - 1.0 / 41.0).abs() < 1e-15);
    assert_eq!(fixed.minimum(), Some((p, (p * (1.0 - p) / 41.0).sqrt())));
    // From then on it is River's DDM: more errors eventually drift.
    let more_errors = lcg_stream(1, &[(300, 0.5)]);
    assert!(more_errors.iter().any(|&x| fixed.update(x)));
}

#[test]
fn fix_changes_nothing_once_the_minimum_has_variance() {
    // Streams whose first warm_start + 1 points contain an error and a non-error: identical.
    for seed in 0..20 {
        let stream = lcg_stream(seed, &[(400, 0.2), (400, 0.5), (400, 0.1)]);
        if !stream[..31].contains(&1.0) {
            continue;
        }
        assert_eq!(
            run(&mut ddm(30, false), &stream),
            run(&mut ddm(30, true), &stream),
            "seed {seed}"
        );
    }
}

#[test]
fn only_errors_never_drift() {
    // River's test: DDM() on np.ones(1000) never drifts.
    for fix in [false, true] {
        let (drifts, warnings) = run(&mut ddm(30, fix), &[1.0; 1000]);
        assert!(drifts.is_empty() && warnings.is_empty());
    }
}

#[test]
fn not_ready_through_the_warm_start() {
    let mut detector = Ddm::new(DdmParams::default());
    for _ in 0..30 {
        assert_eq!(detector.update_signal(0.0), Signal::NotReady);
        assert_eq!(detector.explain().bound, None);
    }
    assert_eq!(detector.update_signal(0.0), Signal::Stable);
    assert_eq!(detector.explain().n_needed, 31);
}

#[test]
fn warning_signal_follows_the_flag() {
    let stream = lcg_stream(7, &[(500, 0.1), (500, 0.4)]);
    let mut detector = Ddm::new(DdmParams::default());
    for &x in &stream {
        let signal = detector.update_signal(x);
        assert_eq!(signal == Signal::Warning, detector.warning_detected());
        assert_eq!(signal == Signal::Drift, detector.drift_detected());
    }
}

#[test]
fn non_binary_and_nan_inputs_do_not_panic() {
    let mut detector = ddm(0, false);
    // 2.0 pushes p above 1: s is NaN, no minimum, no signal (River raises ValueError).
    assert_eq!(detector.update_signal(2.0), Signal::NotReady);
    let mut detector = ddm(0, false);
    for x in [0.25, 0.5, f64::NAN, 1.0, 0.0] {
        assert!(!detector.update(x));
    }
    assert!(detector.error_rate().is_nan());
}

#[test]
fn reset_equals_a_fresh_detector() {
    let stream = lcg_stream(9, &[(300, 0.1), (300, 0.6)]);
    for fix in [false, true] {
        let mut detector = ddm(10, fix);
        run(&mut detector, &stream[..350]);
        detector.reset();
        let mut fresh = ddm(10, fix);
        for &x in &stream {
            assert_eq!(detector.update_signal(x), fresh.update_signal(x));
            assert_eq!(detector.explain(), fresh.explain());
        }
    }
}

#[test]
fn a_clone_stays_in_lockstep() {
    let stream = lcg_stream(4, &[(500, 0.1), (500, 0.4), (500, 0.05)]);
    let mut detector = Ddm::new(DdmParams::default());
    run(&mut detector, &stream[..250]);
    let mut clone = detector.clone();
    for &x in &stream[250..] {
        assert_eq!(detector.update_signal(x), clone.update_signal(x));
        assert_eq!(detector.explain(), clone.explain());
    }
}

#[test]
fn validation_names_each_bad_parameter() {
    let params = [
        ("warm_start".to_owned(), ParamValue::Integer(-1)),
        ("warning_threshold".to_owned(), ParamValue::Float(0.0)),
        (
            "drift_threshold".to_owned(),
            ParamValue::Float(f64::INFINITY),
        ),
        (
            "ignore_zero_variance_minimum".to_owned(),
            ParamValue::Integer(1),
        ),
    ];
    let errors = DetectorSpec::parse("ddm", &params).unwrap_err();
    let named: Vec<&str> = errors
        .iter()
        .map(|error| error.param.as_deref().unwrap())
        .collect();
    assert_eq!(
        named,
        [
            "warm_start",
            "warning_threshold",
            "drift_threshold",
            "ignore_zero_variance_minimum"
        ]
    );
    assert_eq!(errors[3].message, "expected a bool, got an integer");
    let spec = DetectorSpec::parse(
        "ddm",
        &[
            ("warm_start".to_owned(), ParamValue::Integer(0)),
            ("drift_threshold".to_owned(), ParamValue::Integer(4)),
            (
                "ignore_zero_variance_minimum".to_owned(),
                ParamValue::Bool(true),
            ),
        ],
    )
    .unwrap();
    assert_eq!(
        spec,
        DetectorSpec::Ddm(DdmParams {
            warm_start: 0,
            warning_threshold: 2.0,
            drift_threshold: 4.0,
            ignore_zero_variance_minimum: true,
        })
    );
    assert_eq!(spec.condition(), None);
    assert_eq!(spec.build().kind(), DetectorKind::Ddm);
}

#[test]
fn binary_kinds_are_the_five_river_binary_detectors() {
    let binary: Vec<&str> = DetectorKind::ALL
        .iter()
        .filter(|kind| kind.takes_binary_input())
        .map(|kind| kind.as_str())
        .collect();
    assert_eq!(binary, ["ddm", "eddm", "hddm_a", "hddm_w", "fhddm"]);
    for kind in DetectorKind::ALL {
        if kind.takes_binary_input() {
            assert!(kind.is_change_detector());
            assert_eq!(DetectorKind::from_name(kind.as_str()), Some(*kind));
        }
    }
}

/// River's `DDM.update`, transcribed line by line (with `ignore_zero_variance_minimum`'s floor).
struct Transcription {
    params: DdmParams,
    n: f64,
    p: f64,
    p_min: f64,
    s_min: f64,
    ps_min: f64,
    drift: bool,
    warning: bool,
}

impl Transcription {
    fn new(params: DdmParams) -> Transcription {
        Transcription {
            params,
            n: 0.0,
            p: 0.0,
            p_min: f64::INFINITY,
            s_min: 0.0,
            ps_min: f64::INFINITY,
            drift: false,
            warning: false,
        }
    }

    fn update(&mut self, x: f64) -> (bool, bool) {
        if self.drift {
            *self = Transcription::new(self.params);
        }
        self.n += 1.0;
        self.p += (1.0 / self.n) * (x - self.p);
        let p_i = self.p;
        let s_i = (p_i * (1.0 - p_i) / self.n).sqrt();
        let floor = if self.params.ignore_zero_variance_minimum {
            0.0
        } else {
            -1.0
        };
        if self.n > self.params.warm_start as f64 {
            if p_i + s_i <= self.ps_min && s_i > floor {
                self.p_min = p_i;
                self.s_min = s_i;
                self.ps_min = self.p_min + self.s_min;
            }
            self.warning = p_i + s_i > self.p_min + self.params.warning_threshold * self.s_min;
            if p_i + s_i > self.p_min + self.params.drift_threshold * self.s_min {
                self.drift = true;
                self.warning = false;
            }
        }
        (self.drift, self.warning)
    }
}

#[test]
fn agrees_with_a_transcription_of_rivers_code() {
    // Long stationary stretches put `p + s` close to the minimum for many points: the cases
    // where the estimates must hand over to River's arithmetic.
    let parameter_sets = [
        DdmParams::default(),
        DdmParams {
            warm_start: 0,
            ..DdmParams::default()
        },
        DdmParams {
            warning_threshold: 1.0,
            drift_threshold: 1.0,
            ..DdmParams::default()
        },
        DdmParams {
            warning_threshold: 0.5,
            drift_threshold: 0.9,
            ..DdmParams::default()
        },
        DdmParams {
            warning_threshold: 2.0,
            drift_threshold: 8.0,
            ignore_zero_variance_minimum: true,
            ..DdmParams::default()
        },
    ];
    let mut seed = 0;
    for params in parameter_sets {
        for segments in [
            &[(30_000, 0.05)][..],
            &[(20_000, 0.3), (5_000, 0.5)],
            &[(100, 0.0), (3_000, 0.01), (3_000, 0.2)],
            &[(2_000, 0.9), (2_000, 1.0), (2_000, 0.1)],
        ] {
            seed += 1;
            let mut stream = lcg_stream(seed, segments);
            if seed % 3 == 0 {
                // Fractional errors too.
                for (index, x) in stream.iter_mut().enumerate() {
                    if *x == 1.0 {
                        *x = [0.25, 0.5, 1.0, 0.75][index % 4];
                    }
                }
            }
            let mut detector = Ddm::new(params);
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
