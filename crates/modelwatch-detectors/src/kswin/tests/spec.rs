//! KSWIN's spec: defaults and build, every problem reported, a window twice the sample.

use super::*;

#[test]
fn spec_defaults_and_build() {
    let spec = parse(&[]).unwrap();
    assert_eq!(spec, DetectorSpec::Kswin(KswinParams::default()));
    assert_eq!(spec.kind(), DetectorKind::Kswin);
    assert!(spec.kind().is_change_detector());
    assert_eq!(DetectorKind::from_name("kswin"), Some(DetectorKind::Kswin));
    assert!(DetectorKind::ALL.contains(&DetectorKind::Kswin));
    assert_eq!(spec.condition(), None);
    let mut detector = spec.build();
    assert_eq!(detector.kind(), DetectorKind::Kswin);
    assert_eq!(detector.update(1.0), Signal::NotReady);
    assert!(!detector.warning_detected());
    assert_eq!(detector.explain().statistic, "ks_statistic");
    let spec = parse(&[
        ("alpha", ParamValue::Float(0.0001)),
        ("window_size", ParamValue::Integer(200)),
        ("stat_size", ParamValue::Float(100.0)),
        ("seed", ParamValue::Integer(12_345_678_901)),
    ])
    .unwrap();
    assert_eq!(
        spec,
        DetectorSpec::Kswin(KswinParams {
            alpha: 0.0001,
            window_size: 200,
            stat_size: 100,
            seed: Some(12_345_678_901),
        })
    );
}

#[test]
fn spec_reports_every_problem() {
    let errors = parse(&[
        ("alpha", ParamValue::Float(1.5)),
        ("window_size", ParamValue::Integer(1)),
        ("stat_size", ParamValue::Integer(0)),
        ("seed", ParamValue::Integer(-42)),
        ("window", ParamValue::Integer(3)),
    ])
    .unwrap_err();
    let params: Vec<Option<&str>> = errors.iter().map(|error| error.param.as_deref()).collect();
    assert_eq!(
        params,
        [
            Some("window"),
            Some("alpha"),
            Some("window_size"),
            Some("stat_size"),
            Some("seed")
        ],
        "{errors:?}"
    );
    assert!(errors[4].message.contains("use 42"), "{}", errors[4]);
}

#[test]
fn spec_needs_a_window_twice_the_sample() {
    // River accepts window_size >= stat_size but `random.sample` fails at the first full
    // window unless window_size - stat_size >= stat_size.
    let errors = parse(&[("window_size", ParamValue::Integer(59))]).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].param, None);
    assert!(
        errors[0].message.contains("at least twice"),
        "{}",
        errors[0]
    );
    assert!(parse(&[("window_size", ParamValue::Integer(60))]).is_ok());
    assert!(parse(&[("stat_size", ParamValue::Integer(51))]).is_err());
}
