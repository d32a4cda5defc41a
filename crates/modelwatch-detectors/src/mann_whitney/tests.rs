//! The Mann-Whitney test against SciPy (`tools/mann_whitney_reference.py`) and against R's
//! `wilcox.test` values that Kayenta's test suite quotes, plus its own invariants.

use serde_json::Value;

use super::*;

const SCIPY: &str = include_str!("../../tests/mann_whitney/scipy.json");
const R: &str = include_str!("../../tests/mann_whitney/r.json");

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn close(got: f64, want: f64, tolerance: f64) -> bool {
    (got - want).abs() <= tolerance * want.abs().max(1.0) || got == want
}

#[test]
fn the_normal_distribution_matches_scipy() {
    let doc: Value = serde_json::from_str(SCIPY).unwrap();
    for case in doc["cdf"].as_array().unwrap() {
        let (x, want) = (case["x"].as_f64().unwrap(), case["cdf"].as_f64().unwrap());
        let got = normal_cdf(x);
        // Relative in the lower tail, where the values are tiny.
        let error = if want > 0.0 {
            (got - want).abs() / want
        } else {
            got
        };
        assert!(error <= 1e-12, "cdf({x}) = {got}, scipy {want}");
    }
    for case in doc["quantile"].as_array().unwrap() {
        let (p, want) = (
            case["p"].as_f64().unwrap(),
            case["quantile"].as_f64().unwrap(),
        );
        let got = normal_quantile(p);
        assert!(
            close(got, want, 1e-12),
            "quantile({p}) = {got}, scipy {want}"
        );
    }
    assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
    assert_eq!(normal_quantile(1.0), f64::INFINITY);
    assert!(normal_quantile(1.5).is_nan());
}

#[test]
fn u_and_p_values_match_scipy() {
    let doc: Value = serde_json::from_str(SCIPY).unwrap();
    let cases = doc["tests"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for (index, case) in cases.iter().enumerate() {
        let candidate = numbers(&case["candidate"]);
        let baseline = numbers(&case["baseline"]);
        let result = mann_whitney(&candidate, &baseline, 0.98).unwrap();
        let want_u = case["u"].as_f64().unwrap();
        let want_p = case["p_value"].as_f64().unwrap();
        assert_eq!(result.u, want_u, "case {index}: U");
        assert!(
            (result.p_value - want_p).abs() <= 1e-9 * want_p.max(1e-300).max(1e-3),
            "case {index}: p {} vs scipy {want_p}",
            result.p_value
        );
        let (lower, upper) = result.interval;
        assert!(lower <= upper, "case {index}: {lower} > {upper}");
    }
}

#[test]
fn intervals_and_intermediate_values_match_r() {
    let doc: Value = serde_json::from_str(R).unwrap();
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let candidate = numbers(&case["candidate"]);
        let baseline = numbers(&case["baseline"]);
        let confidence = case["confidence"].as_f64().unwrap();
        let result = mann_whitney(&candidate, &baseline, confidence).unwrap();
        let interval = numbers(&case["interval"]);
        assert!(
            close(result.interval.0, interval[0], 1e-6)
                && close(result.interval.1, interval[1], 1e-6),
            "{name}: interval {:?}, R {interval:?}",
            result.interval
        );
        let estimate = case["estimate"].as_f64().unwrap();
        let tolerance = case["estimate_tolerance"].as_f64().unwrap();
        assert!(
            close(result.estimate, estimate, tolerance),
            "{name}: estimate {}, R {estimate}",
            result.estimate
        );
        if let Some(quantile) = case["quantile"].as_f64() {
            assert!(close(
                normal_quantile(1.0 - (1.0 - confidence) / 2.0),
                quantile,
                1e-12
            ));
            let samples = Samples {
                x: &candidate,
                y: &baseline,
            };
            let (min, max) = (
                case["mu_min"].as_f64().unwrap(),
                case["mu_max"].as_f64().unwrap(),
            );
            let (x_min, x_max) = min_max(&candidate);
            let (y_min, y_max) = min_max(&baseline);
            assert_eq!((x_min - y_max, x_max - y_min), (min, max));
            for (key, shift, q) in [
                ("difference_at_min_lower", min, quantile),
                ("difference_at_max_lower", max, quantile),
                ("difference_at_min_upper", min, -quantile),
                ("difference_at_max_upper", max, -quantile),
            ] {
                let want = case[key].as_f64().unwrap();
                let got = samples.difference(shift, q).unwrap();
                assert!(close(got, want, 1e-9), "{name}: {key} {got}, R {want}");
            }
        }
    }
}

#[test]
fn a_shifted_candidate_is_found_and_an_equal_one_is_not() {
    // Two interleaved grids: the same spread, the candidate moved up by 3.
    let baseline: Vec<f64> = (0..50).map(|i| f64::from(i) * 0.37 % 5.0).collect();
    let shifted: Vec<f64> = baseline.iter().map(|v| v + 3.0).collect();
    let result = mann_whitney(&shifted, &baseline, 0.98).unwrap();
    assert!(result.p_value < 1e-6, "{result:?}");
    assert!(result.interval.0 > 0.0 && result.interval.0 <= 3.0 && result.interval.1 >= 3.0);
    assert!((result.estimate - 3.0).abs() < 0.2, "{result:?}");
    // Swapped, everything mirrors.
    let swapped = mann_whitney(&baseline, &shifted, 0.98).unwrap();
    assert_eq!(swapped.p_value, result.p_value);
    assert!((swapped.estimate + result.estimate).abs() < 1e-3);
    // The same sample against itself: nothing to see.
    let same = mann_whitney(&baseline, &baseline, 0.98).unwrap();
    assert!(same.p_value > 0.9, "{same:?}");
    assert!(same.interval.0 < 0.0 && same.interval.1 > 0.0, "{same:?}");
}

#[test]
fn bad_samples_are_refused_with_what_is_wrong() {
    let refused = |candidate: &[f64], baseline: &[f64], confidence| {
        mann_whitney(candidate, baseline, confidence)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(refused(&[], &[1.0], 0.98), "the candidate sample is empty");
    assert_eq!(
        refused(&[1.0], &[2.0, f64::NAN], 0.98),
        "value 1 of the baseline sample is not a finite number"
    );
    assert!(refused(&[1.0], &[2.0], 1.0).contains("between 0 and 1"));
    assert!(refused(&[1.0], &[2.0], f64::NAN).contains("between 0 and 1"));
    assert!(refused(&[4.0, 4.0], &[4.0], 0.98).contains("no spread"));
}

#[test]
fn ranks_average_ties_like_r() {
    let (ranks, ties) = average_ranks(&[3.0, 1.0, 3.0, 2.0, 3.0]);
    assert_eq!(ranks, vec![4.0, 1.0, 4.0, 2.0, 4.0]);
    assert_eq!(ties, 24.0);
}
