//! Replays Evidently 0.7.23's reference cases (`tests/golden/drift/`, written by
//! `tools/drift_reference.py`) through `drift::score`: the same score to 1e-9 relative, the
//! same decision at the recorded threshold, a refusal where Evidently refused, and
//! `auto_method` choosing what Evidently chose.

// The test prints the largest differences it sees (`--nocapture`), for tools/README.md.
#![allow(clippy::print_stdout)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use modelwatch_engine::drift::{self, Category, ColumnType, Method, Sample};
use serde_json::Value;

/// The agreement required, relative to Evidently's score.
const TOLERANCE: f64 = 1e-9;

/// The methods whose cases are checked: every method Evidently ships for tabular columns
/// except empirical_mmd (unseeded permutations, no cases).
const CHECKED: &[&str] = &[
    "ks",
    "wasserstein",
    "ed",
    "psi",
    "kl_div",
    "jensenshannon",
    "hellinger",
    "chisquare",
    "z",
    "g_test",
    "mannw",
    "t_test",
    "fisher_exact",
    "anderson",
    "TVD",
    "cramer_von_mises",
    "es",
];

fn golden(name: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/drift")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    let document: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(document["versions"]["evidently"], "0.7.23");
    document["cases"].as_array().unwrap().clone()
}

/// One side's values, missing values removed (as Evidently's `dropna`).
fn present(values: &Value) -> Vec<&Value> {
    values
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| !v.is_null())
        .collect()
}

/// The column type Evidently gives the column: numerical when every value present in the
/// reference is a number (and the case did not declare it categorical).
fn column_type(case: &Value) -> ColumnType {
    let numbers = present(&case["reference"]).iter().all(|v| v.is_number());
    if case["declared_categorical"].as_bool().unwrap() || !numbers {
        ColumnType::Categorical
    } else {
        ColumnType::Numerical
    }
}

fn category(value: &Value) -> Category {
    match value {
        Value::Bool(b) => Category::Bool(*b),
        Value::Number(n) => Category::Number(n.as_f64().unwrap()),
        Value::String(s) => Category::Text(s.clone()),
        other => panic!("not a category: {other}"),
    }
}

/// A side's values, typed as the column.
enum Values {
    Numbers(Vec<f64>),
    Categories(Vec<Category>),
}

impl Values {
    fn of(values: &Value, column_type: ColumnType) -> Values {
        let present = present(values);
        match column_type {
            ColumnType::Numerical => {
                // A current side of text under a numerical reference: Evidently compares it as
                // it is; no case here does that.
                Values::Numbers(present.iter().map(|v| v.as_f64().unwrap()).collect())
            }
            ColumnType::Categorical => {
                Values::Categories(present.into_iter().map(category).collect())
            }
        }
    }

    fn sample(&self) -> Sample<'_> {
        match self {
            Values::Numbers(v) => Sample::Numerical(v),
            Values::Categories(v) => Sample::Categorical(v),
        }
    }

    fn distinct(&self) -> BTreeSet<Category> {
        match self {
            Values::Numbers(v) => v.iter().map(|x| Category::Number(*x)).collect(),
            Values::Categories(v) => v.iter().cloned().collect(),
        }
    }
}

/// Checks one case; returns the relative difference of the score, if there is a score.
fn check(file: &str, case: &Value, method: Method) -> Option<f64> {
    let name = case["name"].as_str().unwrap();
    let column_type = column_type(case);
    let reference = Values::of(&case["reference"], column_type);
    let current = Values::of(&case["current"], column_type);
    // pandas reads a column with a missing cell, or of numbers written as floats (`1.0`), as
    // float64: NumPy's integer Sturges rule then does not apply.
    let float_side = |side: &Value| {
        (side.as_array().unwrap().iter()).any(|value| value.is_null() || value.is_f64())
    };
    let floats = column_type == ColumnType::Numerical
        && (float_side(&case["reference"]) || float_side(&case["current"]));
    let result = if floats {
        drift::score_floats(method, &reference.sample(), &current.sample())
    } else {
        drift::score(method, &reference.sample(), &current.sample())
    };
    if let Some(error) = case.get("error") {
        // Evidently raises: so do we, never a NaN-like `Undefined` (which means no drift).
        assert!(
            matches!(&result, Err(e) if !matches!(e, drift::DriftError::Undefined { .. })),
            "{file}/{name}: Evidently refused ({error}), we gave {result:?}"
        );
        return None;
    }
    if case.get("rounding_noise").is_some() || case.get("set_order_dependent").is_some() {
        // Evidently's score rests on a singular value made of rounding noise (es), or on
        // Python's set order of three categories (fisher_exact): only that we answer is
        // checked.
        assert!(
            matches!(result, Ok(_) | Err(drift::DriftError::Undefined { .. })),
            "{file}/{name}: {result:?}"
        );
        return None;
    }
    let recorded = match case["column_type"].as_str().unwrap() {
        "num" => ColumnType::Numerical,
        _ => ColumnType::Categorical,
    };
    assert_eq!(column_type, recorded, "{file}/{name}: column type");
    let drifted = case["drifted"].as_bool().unwrap();
    let Some(expected) = case["score"].as_f64() else {
        // Evidently's score is NaN (never drifted): we refuse or give NaN.
        assert!(!drifted);
        match result {
            Ok(score) => assert!(score.is_nan(), "{file}/{name}: {score}, not NaN"),
            Err(error) => assert!(
                matches!(error, drift::DriftError::Undefined { .. }),
                "{file}/{name}: {error}"
            ),
        }
        return None;
    };
    let score = result.unwrap_or_else(|e| panic!("{file}/{name}: {e}"));
    let difference = if expected == score {
        0.0
    } else {
        (score - expected).abs() / expected.abs().max(f64::MIN_POSITIVE)
    };
    assert!(
        difference <= TOLERANCE,
        "{file}/{name}: {score} against Evidently's {expected} (relative {difference:e})"
    );
    let threshold = case["threshold"].as_f64().unwrap();
    assert_eq!(
        method.drifted(score, threshold),
        drifted,
        "{file}/{name}: decision at {threshold}"
    );
    Some(difference)
}

#[test]
fn every_method_gives_evidentlys_scores_and_decisions() {
    for &file in CHECKED {
        let method = Method::from_name(file).unwrap();
        let cases = golden(file);
        assert!(cases.len() >= 10, "{file}: too few cases");
        let mut largest: f64 = 0.0;
        for case in &cases {
            assert_eq!(
                case.get("method").and_then(Value::as_str).unwrap_or(file),
                file
            );
            if let Some(difference) = check(file, case, method) {
                largest = largest.max(difference);
            }
        }
        println!(
            "{file}: {} cases, largest relative difference {largest:e}",
            cases.len()
        );
    }
}

#[test]
fn the_automatic_choice_is_evidentlys() {
    let cases = golden("auto");
    assert!(cases.len() >= 30);
    let mut largest: f64 = 0.0;
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let column_type = column_type(case);
        let reference = Values::of(&case["reference"], column_type);
        let current = Values::of(&case["current"], column_type);
        let mut distinct = reference.distinct();
        distinct.extend(current.distinct());
        let chosen = drift::auto_method(column_type, reference.sample().len(), distinct.len());
        let expected = case["method"].as_str().unwrap();
        assert_eq!(chosen.name(), expected, "auto/{name}");
        if CHECKED.contains(&expected)
            && chosen.allows(column_type)
            && let Some(difference) = check("auto", case, chosen)
        {
            largest = largest.max(difference);
        }
        if column_type == ColumnType::Numerical && !chosen.allows(column_type) {
            // Evidently's automatic choice runs chisquare or z on a numerical column with 2 to
            // 5 values (which naming the method refuses): its numbers are the categories.
            let (Values::Numbers(r), Values::Numbers(c)) = (&reference, &current) else {
                unreachable!()
            };
            let r: Vec<Category> = r.iter().map(|x| Category::Number(*x)).collect();
            let c: Vec<Category> = c.iter().map(|x| Category::Number(*x)).collect();
            let score = drift::score(chosen, &Sample::Categorical(&r), &Sample::Categorical(&c))
                .unwrap_or_else(|e| panic!("auto/{name}: {e}"));
            let expected = case["score"].as_f64().unwrap();
            let difference = (score - expected).abs() / expected.abs().max(f64::MIN_POSITIVE);
            assert!(
                difference <= TOLERANCE,
                "auto/{name}: {score} against {expected}"
            );
            let threshold = case["threshold"].as_f64().unwrap();
            assert_eq!(
                chosen.drifted(score, threshold),
                case["drifted"].as_bool().unwrap()
            );
            largest = largest.max(difference);
        }
    }
    println!(
        "auto: {} cases, largest relative difference {largest:e}",
        cases.len()
    );
}

mod any_samples {
    use modelwatch_engine::drift::{self, Method, Sample};
    use proptest::prelude::*;

    fn values() -> impl Strategy<Value = Vec<f64>> {
        prop_oneof![
            prop::collection::vec(-1e6f64..1e6, 1..80),
            prop::collection::vec((0i32..6).prop_map(f64::from), 1..80),
        ]
    }

    proptest! {
        /// Any samples: a p-value in [0, 1], a distance at least 0, never a panic.
        #[test]
        fn numerical_methods_give_a_score_in_range(r in values(), c in values()) {
            for method in [
                Method::Ks,
                Method::Wasserstein,
                Method::Ed,
                Method::Psi,
                Method::KlDiv,
                Method::JensenShannon,
                Method::Hellinger,
            ] {
                let score = drift::score(method, &Sample::Numerical(&r), &Sample::Numerical(&c));
                let score = score.unwrap();
                if method.is_p_value() {
                    prop_assert!((0.0..=1.0).contains(&score), "{}: {score}", method.name());
                } else {
                    prop_assert!(score >= 0.0, "{}: {score}", method.name());
                }
            }
        }
    }
}
