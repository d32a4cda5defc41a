//! Unit tests for `kswin`: the Mersenne Twister against `rand_mt`, the CPython generator and
//! `sample` against values printed by CPython 3.11, the p-values against scipy 1.17.1, the
//! incremental window against a naive re-implementation of River's update, River's own KSWIN
//! cases, reset and clone.

use std::collections::VecDeque;
use std::path::Path;

use super::cpython_random::{CpythonRandom, SampleMethod, pool_scratch_len, sample_method};
use super::ks::{DriftTable, p_value, prob_outside_square};
use super::mt19937::Mt19937;
use super::*;
use crate::{DetectorKind, DetectorSpec, ParamError, ParamValue};

/// CPython's `random.Random(seed).sample(range(n), k)`, through the same sampling code as KSWIN.
fn sample(rng: &mut CpythonRandom, n: usize, k: usize) -> Vec<u32> {
    let mut chosen = vec![0; k];
    match sample_method(n, k) {
        SampleMethod::Pool => {
            let mut pool = vec![0; pool_scratch_len(n)];
            for (position, entry) in pool[..n].iter_mut().enumerate() {
                *entry = position as u32;
            }
            rng.sample_pool(n, k, &mut pool, &mut chosen);
        }
        SampleMethod::Set => {
            let mut taken = vec![false; pool_scratch_len(n)];
            rng.sample_set(n, k, &mut taken, &mut chosen);
            assert!(taken.iter().all(|&taken| !taken), "scratch left dirty");
        }
    }
    chosen
}

fn getrandbits_32(seed: u64, count: usize) -> Vec<u32> {
    let mut rng = CpythonRandom::new(seed);
    (0..count).map(|_| rng.getrandbits(32)).collect()
}

#[test]
fn getrandbits_matches_cpython_for_one_and_two_word_seeds() {
    // python3 -c "import random; r = random.Random(SEED); print([r.getrandbits(32) for _ in range(N)])"
    assert_eq!(
        getrandbits_32(42, 5),
        [2746317213, 478163327, 107420369, 3184935163, 1181241943]
    );
    assert_eq!(getrandbits_32(0, 3), [3626764237, 1654615998, 3255389356]);
    assert_eq!(
        getrandbits_32(12_345_678_901, 3),
        [4063089813, 2562312935, 1408749075]
    );
    assert_eq!(
        getrandbits_32(u64::MAX, 3),
        [93740670, 1068495656, 1452108352]
    );
    assert_eq!(getrandbits_32((1 << 63) - 1, 2), [1359979423, 2819855560]);
}

#[test]
fn mersenne_twister_matches_an_independent_implementation() {
    // rand_mt seeds with MT19937's `init_by_array` too; compare across block refills.
    for key in [
        &[0_u32][..],
        &[42],
        &[u32::MAX],
        &[0x4be2_d9b5, 2],
        &[1, 2, 3, 4, 5],
    ] {
        let mut ours = Mt19937::new(key);
        let mut theirs = rand_mt::Mt::new_with_key(key.iter().copied());
        for index in 0..2000 {
            assert_eq!(
                ours.next_u32(),
                theirs.next_u32(),
                "key {key:?}, output {index}"
            );
        }
        ours.seed(key);
        theirs.reseed_with_key(key.iter().copied());
        let mut cursor = ours.cursor();
        for index in 0..700 {
            assert_eq!(
                ours.next_at(&mut cursor),
                theirs.next_u32(),
                "reseeded, output {index}"
            );
        }
        ours.set_cursor(cursor);
        assert_eq!(ours.next_u32(), theirs.next_u32());
    }
}

#[test]
fn randbelow_matches_cpython() {
    // random.Random(42); [r._randbelow(n) for n in (1, 2, 3, 64, 65, 1000)]
    let mut rng = CpythonRandom::new(42);
    let drawn: Vec<u32> = [1, 2, 3, 64, 65, 1000]
        .into_iter()
        .map(|n| rng.randbelow(n))
        .collect();
    assert_eq!(drawn, [0, 0, 2, 35, 31, 228]);
}

#[test]
fn sample_method_follows_cpython_setsize() {
    // setsize = 21 + 4 ** ceil(log(3k, 4)) for k > 5: 277 for k = 30, 21 for k <= 5.
    assert_eq!(sample_method(70, 30), SampleMethod::Pool);
    assert_eq!(sample_method(277, 30), SampleMethod::Pool);
    assert_eq!(sample_method(278, 30), SampleMethod::Set);
    assert_eq!(sample_method(370, 30), SampleMethod::Set);
    assert_eq!(sample_method(21, 5), SampleMethod::Pool);
    assert_eq!(sample_method(22, 5), SampleMethod::Set);
    // k = 6: 4 ** ceil(log4(18)) = 64.
    assert_eq!(sample_method(85, 6), SampleMethod::Pool);
    assert_eq!(sample_method(86, 6), SampleMethod::Set);
    // k = 100 (River's test_kswin): 4 ** ceil(log4(300)) = 1024.
    assert_eq!(sample_method(100, 100), SampleMethod::Pool);
}

#[test]
fn sample_matches_cpython_with_both_methods() {
    // random.Random(42).sample(range(70), 30): the pool method (KSWIN's defaults).
    let mut rng = CpythonRandom::new(42);
    assert_eq!(
        sample(&mut rng, 70, 30),
        [
            14, 3, 35, 31, 28, 17, 13, 43, 47, 57, 34, 5, 37, 27, 2, 1, 58, 63, 69, 32, 38, 54, 67,
            12, 45, 41, 59, 26, 51, 65
        ]
    );
    // random.Random(42).sample(range(370), 30): the set method (window_size 400).
    let mut rng = CpythonRandom::new(42);
    assert_eq!(
        sample(&mut rng, 370, 30),
        [
            327, 57, 12, 140, 125, 114, 71, 52, 346, 279, 44, 302, 216, 16, 15, 47, 111, 119, 258,
            308, 13, 287, 101, 366, 332, 359, 214, 112, 229, 301
        ]
    );
    let mut rng = CpythonRandom::new(1);
    assert_eq!(
        sample(&mut rng, 370, 30),
        [
            68, 291, 32, 130, 60, 253, 230, 241, 333, 194, 107, 48, 249, 14, 199, 221, 311, 1, 356,
            228, 136, 369, 117, 302, 52, 162, 15, 11, 13, 332
        ]
    );
    // r = random.Random(7); r.sample(range(64), 5), r.sample(range(22), 5): set, set.
    let mut rng = CpythonRandom::new(7);
    assert_eq!(sample(&mut rng, 64, 5), [41, 19, 50, 6, 9]);
    assert_eq!(sample(&mut rng, 22, 5), [17, 3, 11, 18, 1]);
    // random.Random(7).sample(range(21), 5): pool.
    let mut rng = CpythonRandom::new(7);
    assert_eq!(sample(&mut rng, 21, 5), [10, 4, 12, 1, 2]);
}

#[test]
fn reseed_equals_a_fresh_generator() {
    let mut rng = CpythonRandom::new(12_345_678_901);
    for _ in 0..1000 {
        rng.getrandbits(32);
    }
    rng.reseed(12_345_678_901);
    assert_eq!(
        (0..700).map(|_| rng.getrandbits(32)).collect::<Vec<_>>(),
        getrandbits_32(12_345_678_901, 700)
    );
}

#[test]
fn p_values_match_scipy_bit_for_bit() {
    // scipy 1.17.1: ks_2samp(range(n), [i + h for i in range(n)], method="auto").pvalue
    let cases: [(usize, usize, f64); 13] = [
        (5, 1, 1.0),
        (7, 1, 0.999_960_953_769_262_9),
        (30, 1, 1.0),
        (30, 4, 0.957_846_290_343_883_8),
        (30, 13, 0.006_548_396_368_058_784),
        (30, 14, 0.002_530_062_236_269_839_7),
        (30, 15, 0.000_899_577_684_017_679_9),
        (30, 17, 8.737_803_591_291_227e-5),
        (30, 30, 1.691_123_389_214_474_2e-17),
        (100, 31, 0.000_120_161_642_919_466_94),
        (100, 32, 6.281_176_788_972_264e-5),
        (1, 1, 1.0),
        (2, 1, 1.0),
    ];
    for (n, h, expected) in cases {
        let got = p_value(n, h);
        assert_eq!(got.to_bits(), expected.to_bits(), "n={n} h={h}: {got}");
    }
    assert_eq!(p_value(30, 0), 1.0);
}

#[test]
fn smallest_drifting_h_matches_the_reference_table() {
    // h_crit from the reference (and scipy): the smallest h with p(h) <= alpha and h/n > 0.1.
    let table: [(usize, f64, usize); 6] = [
        (30, 0.005, 14),
        (30, 0.001, 15),
        (30, 0.0001, 17),
        (100, 0.0001, 32),
        (5, 0.05, 5),
        (10, 0.05, 7),
    ];
    for (n, alpha, h_crit) in table {
        let mut drift_table = DriftTable::new(n, alpha);
        assert_eq!(
            drift_table.smallest_drift(),
            Some(h_crit),
            "n={n} alpha={alpha}"
        );
        for h in 0..=n {
            assert_eq!(
                drift_table.drifts(h),
                h >= h_crit,
                "n={n} alpha={alpha} h={h}"
            );
        }
    }
    // alpha = 1: every D > 0.1 drifts; alpha = 0: p(30) = 1.7e-17 is not <= 0.
    assert_eq!(DriftTable::new(30, 1.0).smallest_drift(), Some(4));
    assert_eq!(DriftTable::new(30, 0.0).smallest_drift(), None);
    // Below D = 0.1 nothing drifts, whatever alpha.
    assert_eq!(DriftTable::new(10, 1.0).smallest_drift(), Some(2));
}

#[test]
fn exact_p_value_leaves_0_1_only_where_the_fallback_is_ported() {
    // For D > 0.1 scipy's exact value leaves [0, 1] only at (5, 1) and (7, 1); beyond n = 300,
    // p(h) < 2 * exp(-2 * 0.01 * n / 2) < 0.1 for every h > 0.1 * n, far from 1.
    let mut outside = Vec::new();
    for n in 1..=300_usize {
        for h in 1..=n {
            if h as f64 / n as f64 > 0.1 {
                let p = prob_outside_square(n, h);
                if !(0.0..=1.0).contains(&p) {
                    outside.push((n, h));
                }
            }
        }
    }
    assert_eq!(outside, [(5, 1), (7, 1)]);
}

/// River's update, written out naively: a deque, CPython's sample, `h` by counting.
#[derive(Clone)]
struct NaiveKswin {
    window_size: usize,
    stat_size: usize,
    seed: u64,
    rng: CpythonRandom,
    window: VecDeque<f64>,
    table: DriftTable,
    drift: bool,
    last_h: usize,
}

impl NaiveKswin {
    fn new(params: KswinParams) -> NaiveKswin {
        let seed = params.seed.unwrap();
        NaiveKswin {
            window_size: params.window_size,
            stat_size: params.stat_size,
            seed,
            rng: CpythonRandom::new(seed),
            window: VecDeque::new(),
            table: DriftTable::new(params.stat_size, params.alpha),
            drift: false,
            last_h: 0,
        }
    }

    fn update(&mut self, x: f64) -> bool {
        if self.drift {
            self.rng = CpythonRandom::new(self.seed);
            self.window.clear();
            self.drift = false;
            self.last_h = 0;
        }
        self.window.push_back(x);
        if self.window.len() > self.window_size {
            self.window.pop_front();
        }
        if self.window.len() < self.window_size {
            return false;
        }
        let pool = self.window_size - self.stat_size;
        let sampled: Vec<f64> = sample(&mut self.rng, pool, self.stat_size)
            .into_iter()
            .map(|index| self.window[index as usize])
            .collect();
        let recent: Vec<f64> = self.window.iter().skip(pool).copied().collect();
        let at_most = |values: &[f64], v: f64| {
            values
                .iter()
                .filter(|&&value| order_key(value) <= order_key(v))
                .count() as i64
        };
        let h = sampled
            .iter()
            .chain(&recent)
            .map(|&v| (at_most(&sampled, v) - at_most(&recent, v)).unsigned_abs() as usize)
            .max()
            .unwrap();
        self.last_h = h;
        self.drift = self.table.drifts(h);
        self.drift
    }
}

/// A deterministic stream with ties, shifts, signed zeros, NaN and infinities.
fn awkward_stream(length: usize, salt: u64) -> Vec<f64> {
    let mut rng = CpythonRandom::new(salt);
    (0..length)
        .map(|index| {
            let level = if (index / 300) % 2 == 0 { 0.0 } else { 3.0 };
            match rng.randbelow(40) {
                0 => f64::NAN,
                1 => -0.0,
                2 => 0.0,
                3 => f64::INFINITY,
                4 => f64::NEG_INFINITY,
                5..=19 => level + f64::from(rng.randbelow(4)),
                _ => level + f64::from(rng.getrandbits(20)) / 1_048_576.0,
            }
        })
        .collect()
}

#[test]
fn incremental_window_equals_the_naive_update() {
    let configurations = [
        (0.005, 100, 30, 42),
        (0.05, 30, 5, 99),
        (0.05, 10, 5, 3),
        // p(1) = 1 for one point against one: only alpha = 1 drifts (whenever they differ).
        (1.0, 2, 1, 1),
        // Sampling from 21 points with k = 5 uses the pool method, from 22 the set method.
        (0.05, 26, 5, 7),
        (0.05, 27, 5, 8),
        // The set method with River's default stat_size.
        (0.005, 400, 30, 1),
        (0.0001, 200, 100, 12_345_678_901),
    ];
    for (alpha, window_size, stat_size, seed) in configurations {
        let params = KswinParams {
            alpha,
            window_size,
            stat_size,
            seed: Some(seed),
        };
        let mut fast = Kswin::new(params);
        let mut naive = NaiveKswin::new(params);
        let mut drifts = 0;
        for (index, &x) in awkward_stream(3000, seed ^ 0x5eed).iter().enumerate() {
            let drift = fast.update(x);
            assert_eq!(
                drift,
                naive.update(x),
                "{params:?}: drift differs at index {index}"
            );
            assert_eq!(
                fast.ks_statistic(),
                naive.last_h as f64 / stat_size as f64,
                "{params:?}: D differs at index {index}"
            );
            drifts += usize::from(drift);
        }
        assert!(
            drifts > 0 || window_size >= 200,
            "{params:?}: the stream should make it drift"
        );
    }
}

/// Runs one of River's case files (in `tests/river/`) through `Kswin`.
fn river_case(file: &str) -> (Vec<usize>, Vec<usize>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/river")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let case: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(case["detector"], "KSWIN");
    let param = |name: &str| case["params"].get(name).and_then(serde_json::Value::as_f64);
    let defaults = KswinParams::default();
    let params = KswinParams {
        alpha: param("alpha").unwrap_or(defaults.alpha),
        window_size: param("window_size").map_or(defaults.window_size, |size| size as usize),
        stat_size: param("stat_size").map_or(defaults.stat_size, |size| size as usize),
        seed: case["params"]["seed"].as_u64(),
    };
    let mut detector = Kswin::new(params);
    let got = case["stream"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, x)| detector.update(x.as_f64().unwrap()))
        .map(|(index, _)| index)
        .collect();
    let expected = case["drifts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|index| index.as_u64().unwrap() as usize)
        .collect();
    (got, expected)
}

#[test]
fn river_doctest_case_matches() {
    let (got, expected) = river_case("doctest_kswin.json");
    assert_eq!(expected, [1016]);
    assert_eq!(got, expected);
}

#[test]
fn river_test_case_matches() {
    let (got, expected) = river_case("test_kswin.json");
    assert_eq!(expected, [1042]);
    assert_eq!(got, expected);
}

fn seeded(seed: u64) -> Kswin {
    Kswin::new(KswinParams {
        seed: Some(seed),
        ..KswinParams::default()
    })
}

#[test]
fn not_ready_until_the_window_is_full() {
    let mut kswin = seeded(42);
    for index in 0..99 {
        assert_eq!(kswin.update_signal(f64::from(index % 3)), Signal::NotReady);
    }
    let explanation = kswin.explain();
    assert_eq!(
        (
            explanation.statistic,
            explanation.value,
            explanation.n_seen,
            explanation.n_needed
        ),
        ("ks_statistic", 0.0, 99, 100)
    );
    assert_eq!(kswin.update_signal(0.0), Signal::Stable);
    assert_eq!(kswin.explain().n_seen, 100);
    assert!(!kswin.warning_detected());
}

#[test]
fn a_drift_is_explained_and_the_next_update_starts_from_scratch() {
    let mut kswin = seeded(42);
    let index = (0..2000)
        .find(|&index| kswin.update(if index < 500 { 0.0 } else { 1.0 }))
        .unwrap();
    assert!((500..600).contains(&index), "drift at {index}");
    let explanation = kswin.explain();
    // The default parameters drift from h = 14 of 30.
    assert_eq!(explanation.bound, Some(14.0 / 30.0));
    assert!(explanation.value >= 14.0 / 30.0);
    assert_eq!(explanation.n_seen, 100);
    assert_eq!(kswin.update_signal(1.0), Signal::NotReady);
    assert_eq!(kswin.n_seen(), 1);
    assert_eq!(kswin.ks_statistic(), 0.0);
}

#[test]
fn reset_equals_a_fresh_detector() {
    let stream = awkward_stream(2500, 5);
    let mut used = seeded(7);
    for &x in &stream[..777] {
        used.update(x);
    }
    used.reset();
    let mut fresh = seeded(7);
    for &x in &stream {
        assert_eq!(used.update_signal(x), fresh.update_signal(x));
        assert_eq!(
            used.ks_statistic().to_bits(),
            fresh.ks_statistic().to_bits()
        );
    }
}

#[test]
fn a_clone_stays_in_lockstep() {
    let stream = awkward_stream(3000, 9);
    let mut original = seeded(3);
    for &x in &stream[..1234] {
        original.update(x);
    }
    let mut copy = original.clone();
    for &x in &stream[1234..] {
        assert_eq!(original.update_signal(x), copy.update_signal(x));
        assert_eq!(original.explain(), copy.explain());
    }
}

#[test]
fn unseeded_detectors_draw_and_keep_a_seed() {
    let mut first = Kswin::new(KswinParams::default());
    let second = Kswin::new(KswinParams::default());
    assert_ne!(first.seed(), second.seed());
    let seed = first.seed();
    first.reset();
    assert_eq!(first.seed(), seed);
    assert_eq!(seeded(42).seed(), 42);
}

#[test]
fn signed_zeros_are_equal_and_nan_is_the_largest() {
    assert_eq!(order_key(-0.0), order_key(0.0));
    assert_eq!(order_key(f64::NAN), order_key(-f64::NAN));
    let ordered = [
        f64::NEG_INFINITY,
        -1e300,
        -1.0,
        -1e-300,
        0.0,
        1e-300,
        1.0,
        f64::INFINITY,
        f64::NAN,
    ];
    for pair in ordered.windows(2) {
        assert!(order_key(pair[0]) < order_key(pair[1]), "{pair:?}");
    }
}

#[test]
fn out_of_range_sizes_are_clamped() {
    let mut kswin = Kswin::new(KswinParams {
        window_size: 10,
        stat_size: 0,
        seed: Some(1),
        ..KswinParams::default()
    });
    for index in 0..100 {
        kswin.update(f64::from(index));
    }
    let mut kswin = Kswin::new(KswinParams {
        window_size: 10,
        stat_size: 8,
        seed: Some(1),
        ..KswinParams::default()
    });
    assert_eq!(kswin.explain().n_needed, 16);
    for index in 0..100 {
        kswin.update(f64::from(index));
    }
}

fn parse(params: &[(&str, ParamValue)]) -> Result<DetectorSpec, Vec<ParamError>> {
    let params: Vec<(String, ParamValue)> = params
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect();
    DetectorSpec::parse("kswin", &params)
}

mod spec;
