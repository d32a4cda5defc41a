//! The `serde` forms of the detectors: a detector stored mid-stream and read back continues
//! exactly as the original does, stores to the same bytes, and reading any bytes never panics.

use modelwatch_detectors::{Detector, DetectorSpec, KswinParams, ParamValue};
use proptest::prelude::*;

use crate::properties::{binary_spec, binary_stream, run, spec, stream};

fn store(detector: &Detector) -> Vec<u8> {
    postcard::to_stdvec(detector).unwrap()
}

fn load(bytes: &[u8]) -> Detector {
    postcard::from_bytes(bytes).unwrap()
}

/// Stores the detector after `prefix`, reads it back, and checks that the copy says exactly
/// what the original says on `rest` and stores to the same bytes before and after.
fn check_round_trip(
    spec: &DetectorSpec,
    prefix: &[f64],
    rest: &[f64],
) -> Result<(), TestCaseError> {
    let mut detector = spec.build();
    run(&mut detector, prefix);
    let bytes = store(&detector);
    let mut restored = load(&bytes);
    prop_assert_eq!(restored.kind(), detector.kind());
    prop_assert_eq!(restored.spec(), detector.spec());
    prop_assert_eq!(store(&restored), bytes);
    prop_assert_eq!(run(&mut restored, rest), run(&mut detector, rest));
    prop_assert_eq!(store(&restored), store(&detector));
    Ok(())
}

/// Finite values with NaN and infinities now and then: stored state must keep every bit.
fn wild_stream() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(
        prop_oneof![
            8 => -5.0..5.0_f64,
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => Just(f64::NEG_INFINITY),
            1 => Just(-0.0),
        ],
        0..300,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn a_restored_detector_continues_exactly(spec in spec(), prefix in stream(), rest in stream()) {
        check_round_trip(&spec, &prefix, &rest)?;
    }

    #[test]
    fn a_restored_binary_detector_continues_exactly(
        spec in binary_spec(),
        prefix in binary_stream(),
        rest in binary_stream(),
    ) {
        check_round_trip(&spec, &prefix, &rest)?;
    }

    #[test]
    fn non_finite_state_is_restored_bit_for_bit(spec in spec(), prefix in wild_stream(), rest in stream()) {
        check_round_trip(&spec, &prefix, &rest)?;
    }

    #[test]
    fn an_unseeded_kswin_keeps_the_seed_it_drew(
        stat_size in 1..12_usize,
        extra in 0..40_usize,
        prefix in stream(),
        rest in stream(),
    ) {
        let spec = DetectorSpec::Kswin(KswinParams {
            alpha: 0.05,
            window_size: 2 * stat_size + extra,
            stat_size,
            seed: None,
        });
        check_round_trip(&spec, &prefix, &rest)?;
    }

    #[test]
    fn any_bytes_are_read_or_refused_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = postcard::from_bytes::<Detector>(&bytes);
    }

    #[test]
    fn a_truncated_or_altered_detector_is_refused_or_read_without_panic(
        spec in spec(),
        prefix in stream(),
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut detector = spec.build();
        run(&mut detector, &prefix);
        let bytes = store(&detector);
        let truncated = &bytes[..cut.index(bytes.len())];
        prop_assert!(postcard::from_bytes::<Detector>(truncated).is_err());
        let mut altered = bytes.clone();
        for (at, mask) in flips {
            altered[at.index(bytes.len())] ^= mask;
        }
        let _ = postcard::from_bytes::<Detector>(&altered);
    }
}

/// Every kind, with the River fixtures' usual parameters, round-trips at a few cut points of
/// one stream (a quick check next to the properties above, with KSWIN's set sampling method:
/// a pool of more than 21 points for 5 samples).
#[test]
fn every_kind_round_trips_at_every_stage() {
    let specs = [
        ("threshold", vec![("below", 0.5)]),
        ("ema", vec![("alpha", 0.3), ("above", 1.0)]),
        ("window_mean", vec![("window", 10.0), ("below", 0.5)]),
        ("page_hinkley", vec![("threshold", 5.0)]),
        ("adwin", vec![("clock", 4.0)]),
        (
            "kswin",
            vec![
                ("window_size", 40.0),
                ("stat_size", 5.0),
                ("alpha", 0.05),
                ("seed", 7.0),
            ],
        ),
        (
            "kswin",
            vec![("window_size", 20.0), ("stat_size", 8.0), ("seed", 1.0)],
        ),
        ("cusum", vec![("h", 2.0)]),
        ("ddm", vec![]),
        ("eddm", vec![]),
        ("hddm_a", vec![("two_sided_test", 1.0)]),
        ("hddm_w", vec![]),
        (
            "fhddm",
            vec![("sliding_window_size", 20.0), ("short_window_size", 5.0)],
        ),
    ];
    let points: Vec<f64> = (0..700)
        .map(|i| {
            let wrong = (i * 7919) % 10 < if i < 350 { 1 } else { 5 };
            f64::from(u8::from(wrong))
        })
        .collect();
    for (kind, params) in specs {
        let params: Vec<(String, ParamValue)> = params
            .into_iter()
            .map(|(name, value)| {
                // Whole floats are accepted where integers are expected.
                let value = if name == "two_sided_test" {
                    ParamValue::Bool(value != 0.0)
                } else {
                    ParamValue::Float(value)
                };
                (name.to_string(), value)
            })
            .collect();
        let spec = DetectorSpec::parse(kind, &params).unwrap();
        for cut in [0, 1, 5, 39, 40, 41, 100, 351, 699] {
            check_round_trip(&spec, &points[..cut], &points[cut..]).unwrap();
        }
    }
}
