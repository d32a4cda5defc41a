//! `modelwatch detect`: River's own cases, binary input, the seed of an unseeded kswin,
//! breaches of threshold-like detectors, and bad parameters and numbers.

use super::*;

#[test]
fn detect_reproduces_rivers_own_cases() {
    let (stream, drifts) = river_case("test_adwin.json");
    let result = detect(&["--detector", "adwin"], &stream);
    assert_eq!(result["drifts"], serde_json::json!(drifts));
    assert_eq!(result["warnings"], serde_json::json!([]));

    for mode in ["up", "down", "both"] {
        let (stream, drifts) = river_case(&format!("test_page_hinkley_{mode}.json"));
        let mode_param = format!("mode={mode}");
        let result = detect(
            &["--detector", "page_hinkley", "--param", &mode_param],
            &stream,
        );
        assert_eq!(result["drifts"], serde_json::json!(drifts), "mode {mode}");
    }
    let (stream, _) = river_case("test_adwin.json");
    let result = detect(
        &[
            "--detector",
            "adwin",
            "--param",
            "delta=0.5",
            "--param",
            "clock=1",
        ],
        &stream,
    );
    assert!(
        result["drifts"].as_array().unwrap().len() > 1,
        "a loose delta detects more: {result}"
    );
}

/// River's class name to our detector kind.
fn kind_of_river_class(class: &str) -> &'static str {
    match class {
        "ADWIN" => "adwin",
        "PageHinkley" => "page_hinkley",
        "KSWIN" => "kswin",
        "DDM" => "ddm",
        "EDDM" => "eddm",
        "HDDMA" => "hddm_a",
        "HDDMW" => "hddm_w",
        "FHDDM" => "fhddm",
        other => panic!("no kind for River class {other}"),
    }
}

#[test]
fn detect_reproduces_every_river_case_with_rivers_parameter_names() {
    let directory = crate::repo_root().join("crates/modelwatch-detectors/tests/river");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|extension| extension != "json") {
            continue;
        }
        let case: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut args = vec![
            "--detector".to_string(),
            kind_of_river_class(case["detector"].as_str().unwrap()).to_string(),
        ];
        for (name, value) in case["params"].as_object().unwrap() {
            let value = match value {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            args.push("--param".to_string());
            args.push(format!("{name}={value}"));
        }
        let stream: Vec<f64> = case["stream"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let result = detect(&args, &stream);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(result["drifts"], case["drifts"], "{name}: {args:?}");
        assert_eq!(result["warnings"], case["warnings"], "{name}: {args:?}");
        checked.push(name);
    }
    assert!(checked.len() >= 20, "{checked:?}");
}

#[test]
fn detect_takes_only_zero_or_one_for_binary_detectors() {
    for kind in ["ddm", "eddm", "hddm_a", "hddm_w", "fhddm"] {
        let (_, stderr) = expect(
            &modelwatch(&["detect", "--detector", kind], b"0\n1\n0.5\n"),
            1,
        );
        assert!(
            stderr.contains(&format!(
                "line 3: \"0.5\" is not 0 or 1; {kind} takes one outcome per prediction (1 = wrong, 0 = right)"
            )),
            "{stderr}"
        );
    }
    let result = detect(&["--detector", "ddm"], &[0.0, 1.0, 0.0]);
    assert_eq!(result, serde_json::json!({"drifts": [], "warnings": []}));
}

#[test]
fn detect_says_which_seed_an_unseeded_kswin_drew() {
    let stream: String = (0..300).map(|i| format!("{}\n", i % 7)).collect();
    let output = modelwatch(&["detect", "--detector", "kswin"], stream.as_bytes());
    let (stdout, stderr) = expect(&output, 0);
    let seed = stderr
        .strip_prefix("note: kswin has no seed, so it drew seed ")
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("{stderr}"));
    let seed_param = format!("seed={seed}");
    let again = modelwatch(
        &["detect", "--detector", "kswin", "--param", &seed_param],
        stream.as_bytes(),
    );
    let (repeated, quiet) = expect(&again, 0);
    assert_eq!(repeated, stdout, "the printed seed repeats the run");
    assert!(quiet.is_empty(), "{quiet}");
}

#[test]
fn detect_prints_breaches_for_threshold_like_detectors() {
    let result = detect(
        &["--detector", "threshold", "--param", "below=0.5"],
        &[0.9, 0.4, 0.6, 0.1],
    );
    assert_eq!(
        result,
        serde_json::json!({"drifts": [], "warnings": [], "breaches": [1, 3]})
    );
    let result = detect(
        &[
            "--detector",
            "ema",
            "--param",
            "alpha=0.5",
            "--param",
            "above=10",
        ],
        &[0.0, 30.0, 0.0, 0.0],
    );
    // ema: 0, 15, 7.5, 3.75
    assert_eq!(result["breaches"], serde_json::json!([1]));
}

#[test]
fn detect_refuses_bad_parameters_and_bad_numbers() {
    let (_, stderr) = expect(
        &modelwatch(
            &[
                "detect",
                "--detector",
                "adwin",
                "--param",
                "delta=2",
                "--param",
                "clok=3",
            ],
            b"",
        ),
        1,
    );
    assert!(stderr.contains("--param delta:"), "{stderr}");
    assert!(stderr.contains("--param clok:"), "{stderr}");
    let (_, stderr) = expect(
        &modelwatch(&["detect", "--detector", "adwin", "--param", "delta"], b""),
        1,
    );
    assert!(stderr.contains("must look like NAME=VALUE"), "{stderr}");
    let (_, stderr) = expect(&modelwatch(&["detect", "--detector", "kswim"], b""), 1);
    assert!(
        stderr.contains("unknown detector \"kswim\"; expected one of: threshold"),
        "{stderr}"
    );
    let (_, stderr) = expect(
        &modelwatch(&["detect", "--detector", "adwin"], b"1\n2\nthree\n"),
        1,
    );
    assert!(
        stderr.contains("line 3: \"three\" is not a finite number"),
        "{stderr}"
    );
    let (_, stderr) = expect(
        &modelwatch(&["detect", "--detector", "adwin"], b"1\nNaN\n"),
        1,
    );
    assert!(
        stderr.contains("line 2: \"NaN\" is not a finite number"),
        "{stderr}"
    );
    let (_, stderr) = expect(
        &modelwatch(&["detect", "--detector", "adwin"], b"1\n1e999\n"),
        1,
    );
    assert!(stderr.contains("line 2"), "{stderr}");
}
