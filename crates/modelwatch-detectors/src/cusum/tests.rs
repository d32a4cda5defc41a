//! Unit tests for `cusum`: hand-computed sums on short streams, the warm-up, modes, the reset
//! after a drift, `explain` and parameter parsing. Exactness against the independent Python
//! reference is tested with the fixtures in `tests/cusum/`.

use super::*;
use crate::ParamValue::{Float, Integer};
use crate::{DetectorSpec, ParamError, ParamValue};

fn with_target(target: f64, k: f64, h: f64, mode: CusumMode) -> Cusum {
    Cusum::new(CusumParams {
        target: Some(target),
        k,
        h,
        mode,
        ..CusumParams::default()
    })
}

fn estimated(warm_up: u64, k: f64, h: f64, mode: CusumMode) -> Cusum {
    Cusum::new(CusumParams {
        target: None,
        k,
        h,
        warm_up,
        mode,
    })
}

#[test]
fn sums_accumulate_and_drift_is_strictly_above_h() {
    // target 0, k 0.5, h 2, x = 1 every time:
    //   s_up   = max(0, s_up + ((1 - 0) - 0.5)) = 0.5, 1.0, 1.5, 2.0, 2.5
    //   s_down = max(0, s_down + ((0 - 1) - 0.5)) = max(0, -1.5) = 0 every time
    // s_up = 2.0 is not > 2 (strict); 2.5 at the fifth point is.
    let mut cusum = with_target(0.0, 0.5, 2.0, CusumMode::Both);
    let expected_up = [0.5, 1.0, 1.5, 2.0];
    for up in expected_up {
        assert_eq!(cusum.update_signal(1.0), Signal::Stable);
        assert_eq!(cusum.up_statistic(), up);
        assert_eq!(cusum.down_statistic(), 0.0);
    }
    assert_eq!(cusum.update_signal(1.0), Signal::Drift);
    assert_eq!(cusum.up_statistic(), 2.5);
    assert!(cusum.drift_detected());
    assert!(!cusum.warning_detected());
    let explanation = cusum.explain();
    assert_eq!(explanation.statistic, "cusum_up");
    assert_eq!(explanation.value, 2.5);
    assert_eq!(explanation.bound, Some(2.0));
    assert_eq!((explanation.n_seen, explanation.n_needed), (5, 1));
}

#[test]
fn sums_fall_back_towards_zero_and_floor_there() {
    // target 0, k 0.5, h 10:
    //   x =  3: s_up = (3 - 0) - 0.5 = 2.5;            s_down = max(0, -3 - 0.5) = 0
    //   x = -1: s_up = 2.5 + (-1 - 0.5) = 1.0;         s_down = max(0, (0 + 1) - 0.5) = 0.5
    //   x = -2: s_up = max(0, 1.0 + (-2.5)) = 0;       s_down = 0.5 + (2 - 0.5) = 2.0
    //   x =  0: s_up = max(0, 0 - 0.5) = 0;            s_down = 2.0 + (0 - 0.5) = 1.5
    let mut cusum = with_target(0.0, 0.5, 10.0, CusumMode::Both);
    let steps = [
        (3.0, 2.5, 0.0),
        (-1.0, 1.0, 0.5),
        (-2.0, 0.0, 2.0),
        (0.0, 0.0, 1.5),
    ];
    for (x, up, down) in steps {
        assert!(!cusum.update(x));
        assert_eq!((cusum.up_statistic(), cusum.down_statistic()), (up, down));
    }
    let explanation = cusum.explain();
    assert_eq!(
        (explanation.statistic, explanation.value),
        ("cusum_down", 1.5)
    );
}

#[test]
fn the_deviation_is_taken_before_the_slack() {
    // x = 0.30000000000000004, target 0.1, k 0.2:
    //   (x - 0.1) - 0.2 = 0.30000000000000004 - 0.2 = 2.7755575615628914e-17 > 0,
    // while x - (0.1 + 0.2) would be exactly 0.0. The specified order keeps the tiny positive sum.
    let mut cusum = with_target(0.1, 0.2, 1.0, CusumMode::Up);
    cusum.update(0.300_000_000_000_000_04);
    assert_eq!(cusum.up_statistic(), 2.775_557_561_562_891_4e-17);
    assert_eq!(cusum.down_statistic(), 0.0);
}

#[test]
fn warm_up_estimates_the_mean_as_total_over_count() {
    // warm_up 3 over 0.1, 0.2, 0.3: total = (0.1 + 0.2) + 0.3 = 0.6000000000000001,
    // mean = 0.6000000000000001 / 3 = 0.20000000000000004 (not 0.2).
    // Then x = 0.3, k = 0: s_up = (0.3 - 0.20000000000000004) - 0 = 0.09999999999999995.
    let mut cusum = estimated(3, 0.0, 1.0, CusumMode::Both);
    for x in [0.1, 0.2, 0.3] {
        assert_eq!(cusum.update_signal(x), Signal::NotReady);
        assert_eq!((cusum.up_statistic(), cusum.down_statistic()), (0.0, 0.0));
    }
    assert_eq!(cusum.mean(), Some(0.200_000_000_000_000_04));
    assert_eq!(cusum.update_signal(0.3), Signal::Stable);
    assert_eq!(cusum.up_statistic(), 0.099_999_999_999_999_95);
    assert_eq!(cusum.down_statistic(), 0.0);
}

#[test]
fn after_a_drift_the_mean_is_estimated_again() {
    // warm_up 4 over 1, 2, 3, 4: mean = 10 / 4 = 2.5; k 0.25, h 1, mode down:
    //   x = 2: s_down = (2.5 - 2) - 0.25 = 0.25;         s_up = max(0, (2 - 2.5) - 0.25) = 0
    //   x = 1: s_down = 0.25 + ((2.5 - 1) - 0.25) = 1.5 > 1: drift
    // The next update resets: 7, 7, 7, 7 is a new warm-up (mean 7), then 7 is stable.
    let mut cusum = estimated(4, 0.25, 1.0, CusumMode::Down);
    for x in [1.0, 2.0, 3.0, 4.0] {
        assert_eq!(cusum.update_signal(x), Signal::NotReady);
    }
    assert_eq!(cusum.mean(), Some(2.5));
    assert_eq!(cusum.update_signal(2.0), Signal::Stable);
    assert_eq!(cusum.down_statistic(), 0.25);
    assert_eq!(cusum.update_signal(1.0), Signal::Drift);
    assert_eq!(cusum.down_statistic(), 1.5);
    let explanation = cusum.explain();
    assert_eq!(
        (explanation.statistic, explanation.value),
        ("cusum_down", 1.5)
    );
    assert_eq!((explanation.n_seen, explanation.n_needed), (6, 4));

    for _ in 0..4 {
        assert_eq!(cusum.update_signal(7.0), Signal::NotReady);
        assert_eq!((cusum.up_statistic(), cusum.down_statistic()), (0.0, 0.0));
    }
    assert_eq!(cusum.n_seen(), 4);
    assert_eq!(cusum.mean(), Some(7.0));
    assert_eq!(cusum.update_signal(7.0), Signal::Stable);
}

#[test]
fn after_a_drift_with_a_target_the_sums_restart_at_zero() {
    // target 0, k 0, h 1: x = 2 gives s_up = 2 > 1 at once; the next x = 0.5 starts from 0:
    // s_up = (0.5 - 0) - 0 = 0.5.
    let mut cusum = with_target(0.0, 0.0, 1.0, CusumMode::Both);
    assert!(cusum.update(2.0));
    assert!(!cusum.update(0.5));
    assert_eq!(cusum.up_statistic(), 0.5);
    assert_eq!(cusum.n_seen(), 1);
    assert_eq!(cusum.mean(), Some(0.0));
}

#[test]
fn modes_test_only_the_watched_sums() {
    // target 10, k 1, h 3, x = 5: s_down = (10 - 5) - 1 = 4 > 3, s_up = 0.
    let mut up = with_target(10.0, 1.0, 3.0, CusumMode::Up);
    assert_eq!(up.update_signal(5.0), Signal::Stable);
    assert_eq!(up.down_statistic(), 4.0);
    let explanation = up.explain();
    assert_eq!(
        (explanation.statistic, explanation.value),
        ("cusum_up", 0.0)
    );

    let mut down = with_target(10.0, 1.0, 3.0, CusumMode::Down);
    assert_eq!(down.update_signal(5.0), Signal::Drift);
    let mut both = with_target(10.0, 1.0, 3.0, CusumMode::Both);
    assert_eq!(both.update_signal(5.0), Signal::Drift);
    assert_eq!(both.explain().statistic, "cusum_down");

    // x = 15: s_up = (15 - 10) - 1 = 4 > 3.
    let mut down = with_target(10.0, 1.0, 3.0, CusumMode::Down);
    assert_eq!(down.update_signal(15.0), Signal::Stable);
    let mut up = with_target(10.0, 1.0, 3.0, CusumMode::Up);
    assert_eq!(up.update_signal(15.0), Signal::Drift);
}

#[test]
fn explain_before_any_point() {
    let cusum = Cusum::new(CusumParams::default());
    let explanation = cusum.explain();
    assert_eq!(
        explanation,
        Explanation {
            statistic: "cusum_up",
            value: 0.0,
            bound: Some(5.0),
            n_seen: 0,
            n_needed: 30,
        }
    );
}

#[test]
fn reset_equals_a_fresh_detector() {
    let mut cusum = estimated(5, 0.5, 3.0, CusumMode::Both);
    for index in 0..50 {
        cusum.update(f64::from(index % 7));
    }
    cusum.reset();
    let mut fresh = estimated(5, 0.5, 3.0, CusumMode::Both);
    for index in 0..300 {
        let x = f64::from((index * 7) % 13) + if index > 150 { 2.0 } else { 0.0 };
        assert_eq!(cusum.update_signal(x), fresh.update_signal(x));
        assert_eq!(
            cusum.up_statistic().to_bits(),
            fresh.up_statistic().to_bits()
        );
        assert_eq!(
            cusum.down_statistic().to_bits(),
            fresh.down_statistic().to_bits()
        );
    }
}

#[test]
fn mode_names_round_trip() {
    for mode in [CusumMode::Up, CusumMode::Down, CusumMode::Both] {
        assert_eq!(CusumMode::from_name(mode.as_str()), Some(mode));
    }
    assert_eq!(CusumMode::from_name("sideways"), None);
}

fn params(list: &[(&str, ParamValue)]) -> Vec<(String, ParamValue)> {
    list.iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect()
}

fn errors(list: &[(&str, ParamValue)]) -> Vec<ParamError> {
    DetectorSpec::parse("cusum", &params(list)).expect_err("parameters should be rejected")
}

#[test]
fn parses_defaults_and_every_parameter() {
    let spec = DetectorSpec::parse("cusum", &[]).expect("defaults are valid");
    assert_eq!(spec, DetectorSpec::Cusum(CusumParams::default()));
    assert_eq!(
        CusumParams::default(),
        CusumParams {
            target: None,
            k: 0.5,
            h: 5.0,
            warm_up: 30,
            mode: CusumMode::Both,
        }
    );
    let spec = DetectorSpec::parse(
        "cusum",
        &params(&[
            ("target", Float(0.9)),
            ("k", Integer(0)),
            ("h", Float(0.25)),
            ("mode", ParamValue::String("down".to_owned())),
        ]),
    )
    .expect("valid parameters");
    assert_eq!(
        spec,
        DetectorSpec::Cusum(CusumParams {
            target: Some(0.9),
            k: 0.0,
            h: 0.25,
            warm_up: 30,
            mode: CusumMode::Down,
        })
    );
    let spec = DetectorSpec::parse("cusum", &params(&[("warm_up", Integer(5))]))
        .expect("valid parameters");
    assert_eq!(spec.kind(), crate::DetectorKind::Cusum);
    assert_eq!(spec.condition(), None);
}

#[test]
fn rejects_every_bad_parameter_at_once() {
    let errors = errors(&[
        ("target", Float(1.0)),
        ("warm_up", Integer(10)),
        ("k", Float(-0.1)),
        ("h", Float(0.0)),
        ("mode", ParamValue::String("sideways".to_owned())),
    ]);
    let params: Vec<Option<&str>> = errors.iter().map(|error| error.param.as_deref()).collect();
    assert_eq!(
        params,
        [Some("k"), Some("h"), Some("warm_up"), Some("mode")],
        "{errors:?}"
    );
    assert!(errors[2].message.contains("target"), "{errors:?}");
    // Both invalid, and still both given: three problems.
    let errors = self::errors(&[("warm_up", Integer(0)), ("target", Float(f64::NAN))]);
    let params: Vec<Option<&str>> = errors.iter().map(|error| error.param.as_deref()).collect();
    assert_eq!(
        params,
        [Some("target"), Some("warm_up"), Some("warm_up")],
        "{errors:?}"
    );
}
