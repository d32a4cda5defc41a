//! Property tests: a prepared reference scores every window as `drift::score` does, bit for
//! bit, and bins it as `drift::histograms` does, on random data with ties, constant columns, few distinct values, −0 and 0, and
//! categories the reference never saw.

use proptest::prelude::*;

use super::super::binning::distinct;
use super::super::{Category, Method, Sample, histograms, score};
use super::{ExactKsCache, PreparedColumn};

/// The same result: equal bits (NaN included), or the same error; a second time with exact
/// ks p-values from the cache.
fn assert_same(
    method: Method,
    reference: &Sample<'_>,
    prepared: &PreparedColumn,
    current: &Sample<'_>,
) {
    // Read as integers (whole numbers) or as floats (`score_floats`).
    for floats in [false, true] {
        let generic = if floats {
            super::super::score_floats(method, reference, current)
        } else {
            score(method, reference, current)
        };
        let mut cache = ExactKsCache::default();
        for _ in 0..2 {
            let fast = prepared.score(method, current, &mut cache, floats);
            match (&generic, &fast) {
                (Ok(a), Ok(b)) => assert!(
                    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                    "{} (floats {floats}): generic {a:e}, prepared {b:e}",
                    method.name()
                ),
                _ => assert_eq!(generic, fast, "{} (floats {floats})", method.name()),
            }
        }
    }
}

/// Numbers from a few distinct values (heavy ties, −0 and 0), or from a wide range.
fn numbers(max: usize) -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        prop::collection::vec(
            prop::sample::select(vec![-0.0, 0.0, 1.0, 2.0, 2.5, -3.0, 7.0]),
            0..max
        ),
        prop::collection::vec(-1000i32..1000, 0..max)
            .prop_map(|values| values.into_iter().map(f64::from).collect()),
        prop::collection::vec(-1.0e3f64..1.0e3, 0..max),
        (any::<i16>(), 0..max).prop_map(|(value, n)| vec![f64::from(value); n]),
    ]
}

fn categories(max: usize) -> impl Strategy<Value = Vec<Category>> {
    let category = prop_oneof![
        prop::sample::select(vec!["a", "b", "c", "d", "zz"])
            .prop_map(|text| Category::Text(text.to_string())),
        any::<bool>().prop_map(Category::Bool),
        prop::sample::select(vec![-0.0, 0.0, 1.0, 3.5]).prop_map(Category::Number),
    ];
    prop::collection::vec(category, 0..max)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn numerical_windows_score_as_the_generic_path(
        reference in numbers(80),
        current in numbers(40),
        shift in prop::sample::select(vec![0.0, 0.5, 100.0]),
    ) {
        let current: Vec<f64> = current.iter().map(|x| x + shift).collect();
        let prepared = PreparedColumn::numerical(reference.clone());
        let (r, c) = (Sample::Numerical(&reference), Sample::Numerical(&current));
        for method in Method::ALL {
            assert_same(method, &r, &prepared, &c);
        }
        let mut union: Vec<f64> = reference.iter().chain(&current).copied().collect();
        union.sort_by(f64::total_cmp);
        union.dedup();
        prop_assert_eq!(prepared.n_unique(&c), union.len());
        prop_assert_eq!(prepared.n_unique(&Sample::Numerical(&[])), distinct(&reference).len());
        for floats in [false, true] {
            prop_assert_eq!(prepared.histograms(&c, floats), histograms(&r, &c, floats));
        }
    }

    #[test]
    fn categorical_windows_score_as_the_generic_path(
        reference in categories(60),
        current in categories(40),
    ) {
        let prepared = PreparedColumn::categorical(&reference);
        let (r, c) = (Sample::Categorical(&reference), Sample::Categorical(&current));
        // TVD's 1,000 permutations take the same fallback as g_test: checked once below.
        for method in Method::ALL.into_iter().filter(|method| *method != Method::Tvd) {
            assert_same(method, &r, &prepared, &c);
        }
        let mut union: Vec<&Category> = reference.iter().chain(&current).collect();
        union.sort();
        union.dedup();
        prop_assert_eq!(prepared.n_unique(&c), union.len());
        prop_assert_eq!(prepared.histograms(&c, false), histograms(&r, &c, false));
        prepared.with_sample(|sample| match sample {
            Sample::Categorical(values) => assert_eq!(*values, &reference[..]),
            Sample::Numerical(_) => panic!("a categorical column"),
        });
    }
}

#[test]
fn a_large_reference_takes_the_sturges_and_exact_ks_paths() {
    // 10,000 values against 1,000: ks exact with unequal sizes, binning by Sturges edges.
    let reference: Vec<f64> = (0..10_000)
        .map(|i| ((i * 7919) % 1000) as f64 / 10.0)
        .collect();
    let current: Vec<f64> = (0..1_000)
        .map(|i| ((i * 104_729) % 997) as f64 / 9.0 + 3.0)
        .collect();
    let prepared = PreparedColumn::numerical(reference.clone());
    let (r, c) = (Sample::Numerical(&reference), Sample::Numerical(&current));
    for method in [
        Method::Ks,
        Method::Wasserstein,
        Method::Ed,
        Method::Psi,
        Method::KlDiv,
        Method::JensenShannon,
        Method::Hellinger,
    ] {
        assert_same(method, &r, &prepared, &c);
    }
    assert_eq!(prepared.histograms(&c, false), histograms(&r, &c, false));
}

#[test]
fn methods_without_a_prepared_path_fall_back_to_the_generic_one() {
    let text = |values: &[&str]| -> Vec<Category> {
        values
            .iter()
            .map(|v| Category::Text((*v).to_string()))
            .collect()
    };
    let reference = text(&["a", "b", "a", "c", "a", "b"]);
    let current = text(&["b", "b", "a", "d", "c", "b"]);
    let prepared = PreparedColumn::categorical(&reference);
    let (r, c) = (
        Sample::Categorical(&reference),
        Sample::Categorical(&current),
    );
    assert_same(Method::Tvd, &r, &prepared, &c);
    assert!(
        prepared
            .score(Method::Tvd, &c, &mut ExactKsCache::default(), false)
            .is_ok()
    );
}
