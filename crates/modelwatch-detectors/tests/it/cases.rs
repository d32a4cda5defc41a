//! Data-driven tests: every case file in `tests/river/` (River's own tests and doctests),
//! `tests/golden/` (fixtures generated from River by `tools/river_fixtures.py`) and
//! `tests/cusum/` (fixtures of our own CUSUM from its independent Python reference,
//! `tools/cusum_reference.py`) runs through one `check`, which demands the exact drift and
//! warning indices.

use std::path::{Path, PathBuf};

use modelwatch_detectors::{Detector, DetectorSpec, ParamValue, Signal};
use serde::Deserialize;

/// One case file, in the format of River's case files.
#[derive(Debug, Deserialize)]
struct Case {
    name: Option<String>,
    /// River's class name, e.g. `ADWIN`, `PageHinkley`, `DDM`.
    detector: String,
    /// River constructor arguments.
    params: serde_json::Map<String, serde_json::Value>,
    stream: Vec<f64>,
    /// Indices `i` where `drift_detected` was true right after `update(stream[i])`.
    drifts: Vec<usize>,
    /// Indices where `warning_detected` was true.
    warnings: Vec<usize>,
}

fn kind_for_river_class(class: &str) -> &'static str {
    match class {
        "ADWIN" => "adwin",
        "PageHinkley" => "page_hinkley",
        "KSWIN" => "kswin",
        "DDM" => "ddm",
        "EDDM" => "eddm",
        "HDDMA" | "HDDM_A" => "hddm_a",
        "HDDMW" | "HDDM_W" => "hddm_w",
        "FHDDM" => "fhddm",
        // Our own detector, checked against tools/cusum_reference.py (no River counterpart).
        "CUSUM" => "cusum",
        other => panic!("no port of River detector `{other}`"),
    }
}

fn param_value(value: &serde_json::Value) -> ParamValue {
    match value {
        serde_json::Value::Bool(flag) => ParamValue::Bool(*flag),
        serde_json::Value::String(text) => ParamValue::String(text.clone()),
        serde_json::Value::Number(number) => match number.as_i64() {
            Some(integer) => ParamValue::Integer(integer),
            None => ParamValue::Float(number.as_f64().expect("a JSON number is an f64")),
        },
        other => panic!("unsupported parameter value {other}"),
    }
}

/// Builds the case's detector through `DetectorSpec::parse`, runs the stream through it and
/// returns a description of the first difference from River, if any.
fn check(case: &Case) -> Result<(), String> {
    let params: Vec<(String, ParamValue)> = case
        .params
        .iter()
        .map(|(name, value)| (name.clone(), param_value(value)))
        .collect();
    let spec = DetectorSpec::parse(kind_for_river_class(&case.detector), &params)
        .map_err(|errors| format!("parameters rejected: {errors:?}"))?;
    let mut detector: Detector = spec.build();
    let mut drifts = Vec::new();
    let mut warnings = Vec::new();
    for (index, &x) in case.stream.iter().enumerate() {
        let signal = detector.update(x);
        match signal {
            Signal::Drift => drifts.push(index),
            Signal::Warning | Signal::NotReady | Signal::Stable => {}
            Signal::Statistic(value) => {
                return Err(format!("change detector returned statistic {value}"));
            }
        }
        // River's warning flag can be set on a drift step too, so it is read separately.
        let warning = detector.warning_detected();
        if warning {
            warnings.push(index);
        }
        if (signal == Signal::Warning) != (warning && signal != Signal::Drift) {
            return Err(format!(
                "index {index}: signal {signal:?} disagrees with warning_detected() = {warning}"
            ));
        }
    }
    if drifts != case.drifts {
        return Err(format!(
            "drifts: expected {:?}, got {drifts:?}",
            case.drifts
        ));
    }
    if warnings != case.warnings {
        return Err(format!(
            "warnings: expected {:?}, got {warnings:?}",
            case.warnings
        ));
    }
    Ok(())
}

fn case_files(directory: &str) -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(directory);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", directory.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .collect();
    paths.sort();
    assert!(
        !paths.is_empty(),
        "no case files in {}: the exactness tests would prove nothing",
        directory.display()
    );
    paths
}

/// Checks every case file in `directory`, reporting all failures at once.
fn check_directory(directory: &str) -> usize {
    let paths = case_files(directory);
    let mut failures = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).expect("readable case file");
        let case: Case = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("{}: not a case file: {error}", path.display()));
        assert!(!case.stream.is_empty(), "{}: empty stream", path.display());
        if let Err(difference) = check(&case) {
            let name = case.name.as_deref().unwrap_or("unnamed");
            failures.push(format!("{} ({name}): {difference}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from River:\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n")
    );
    paths.len()
}

#[test]
fn river_own_cases_match_exactly() {
    let checked = check_directory("river");
    // Copied from River's test suite and doctests: 3 ADWIN, 4 PageHinkley, 2 KSWIN, 3 DDM,
    // 2 EDDM, 3 HDDMA, 3 HDDMW and 2 FHDDM case files.
    assert_eq!(checked, 22, "expected every copied River case file");
}

#[test]
fn golden_fixtures_from_river_match_exactly() {
    let checked = check_directory("golden");
    assert!(
        checked >= 20,
        "expected the generated golden fixtures, found {checked}"
    );
}

#[test]
fn cusum_matches_its_python_reference_exactly() {
    let checked = check_directory("cusum");
    assert!(
        checked >= 20,
        "expected the fixtures of tools/cusum_reference.py, found {checked}"
    );
}

#[test]
fn check_rejects_a_wrong_expectation() {
    let mut case: Case = serde_json::from_str(
        &std::fs::read_to_string(&case_files("river")[0]).expect("readable case file"),
    )
    .expect("case file");
    case.drifts.push(case.stream.len());
    assert!(check(&case).is_err(), "check must notice a missing drift");
}
