//! `modelwatch quality`: scikit-learn's reference cases written as CSV and JSON Lines files
//! give the reference values, class names and orders are read as documented, and bad files
//! exit 1 naming the line and the column.

use serde_json::{Value, json};

use super::*;

/// One reference case of `crates/modelwatch-engine/tests/golden/quality/{task}.json`.
fn golden_case(task: &str, name: &str) -> Value {
    let path = crate::repo_root()
        .join("crates/modelwatch-engine/tests/golden/quality")
        .join(format!("{task}.json"));
    let document: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    document["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|case| case["name"] == name)
        .unwrap_or_else(|| panic!("no case {name} in {task}.json"))
        .clone()
}

/// Runs `modelwatch quality ARGS --format json` and returns the printed object.
fn quality_json(args: &[&str]) -> Value {
    let mut all = vec!["quality"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let (stdout, stderr) = expect(&modelwatch(&all, b""), 0);
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    serde_json::from_str(&stdout).unwrap()
}

/// The report has the case's rows and exactly its expected metrics, each to 1e-13 relative.
fn assert_reference_values(report: &Value, task: &str, case: &Value) {
    assert_eq!(report["task"], task);
    assert_eq!(report["rows"], case["y_true"].as_array().unwrap().len());
    let metrics = report["metrics"].as_object().unwrap();
    let expected = case["expected"].as_object().unwrap();
    let mut names: Vec<&String> = metrics.keys().collect();
    names.sort();
    let mut expected_names: Vec<&String> = expected.keys().collect();
    expected_names.sort();
    assert_eq!(names, expected_names, "absent: {}", case["absent"]);
    for (name, want) in expected {
        let (got, want) = (metrics[name].as_f64().unwrap(), want.as_f64().unwrap());
        assert!(
            (got - want).abs() <= 1e-13 * want.abs(),
            "{name}: {got} against scikit-learn's {want}"
        );
    }
}

#[test]
fn binary_csv_with_a_named_positive_class_gives_scikit_learns_values() {
    let case = golden_case("binary", "random_200");
    let mut csv = String::from("request,label,predicted,p_fraud\n");
    let class = |value: &Value| {
        if value.as_bool().unwrap() {
            "fraud"
        } else {
            "ok"
        }
    };
    for (row, ((target, prediction), score)) in case["y_true"]
        .as_array()
        .unwrap()
        .iter()
        .zip(case["y_pred"].as_array().unwrap())
        .zip(case["score"].as_array().unwrap())
        .enumerate()
    {
        csv.push_str(&format!(
            "req-{row},{},{},{score}\n",
            class(target),
            class(prediction)
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let data = write_temp(dir.path(), "fraud.csv", &csv);
    let report = quality_json(&[
        "--task",
        "binary",
        "--data",
        &data,
        "--target",
        "label",
        "--prediction",
        "predicted",
        "--score",
        "p_fraud",
        "--positive",
        "fraud",
    ]);
    assert_reference_values(&report, "binary", &case);

    // Without --positive, "fraud" and "ok" are ambiguous.
    let output = modelwatch(
        &[
            "quality",
            "--task",
            "binary",
            "--data",
            &data,
            "--target",
            "label",
            "--prediction",
            "predicted",
        ],
        b"",
    );
    let (_, stderr) = expect(&output, 1);
    assert!(stderr.contains("binary needs --positive"), "{stderr}");
    assert!(stderr.contains("\"fraud\""), "{stderr}");
}

#[test]
fn binary_json_lines_of_booleans_take_true_as_positive_and_leave_undefined_metrics_out() {
    // No predicted positive: precision is undefined and absent.
    let case = golden_case("binary", "no_predicted_positives_80");
    assert!(case["absent"]["precision"].is_string());
    let mut jsonl = String::new();
    for ((target, prediction), score) in case["y_true"]
        .as_array()
        .unwrap()
        .iter()
        .zip(case["y_pred"].as_array().unwrap())
        .zip(case["score"].as_array().unwrap())
    {
        let score = score.as_f64().unwrap();
        let row = json!({"y": target, "output": prediction, "true": score, "false": 1.0 - score});
        jsonl.push_str(&format!("{row}\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let data = write_temp(dir.path(), "window.jsonl", &jsonl);
    let report = quality_json(&[
        "--task",
        "binary",
        "--data",
        &data,
        "--target",
        "y",
        "--prediction",
        "output",
        "--scores",
        "false,true",
    ]);
    assert_reference_values(&report, "binary", &case);
}

#[test]
fn multiclass_json_lines_with_numbers_for_classes_give_scikit_learns_values() {
    // Classes 0..5 of the case are named 2, 10, 33, 100, 250 (JSON numbers), and --scores
    // lists their columns in another order. (The metrics do not depend on the order of the
    // classes; the unit tests of cli/quality/classes.rs check that order.)
    let case = golden_case("multiclass", "random_500_rows_5_classes");
    let names = [2, 10, 33, 100, 250];
    let proba = case["proba"].as_array().unwrap();
    let mut jsonl = String::new();
    for (row, (target, prediction)) in case["y_true"]
        .as_array()
        .unwrap()
        .iter()
        .zip(case["y_pred"].as_array().unwrap())
        .enumerate()
    {
        let name = |value: &Value| names[usize::try_from(value.as_u64().unwrap()).unwrap()];
        let mut object = json!({"label": name(target), "class": name(prediction)});
        for (column, class) in names.iter().enumerate() {
            object[class.to_string()] = proba[row * names.len() + column].clone();
        }
        jsonl.push_str(&format!("{object}\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let data = write_temp(dir.path(), "classes.jsonl", &jsonl);
    let report = quality_json(&[
        "--task",
        "multiclass",
        "--data",
        &data,
        "--target",
        "label",
        "--prediction",
        "class",
        "--scores",
        "250,2,100,33,10",
    ]);
    assert_reference_values(&report, "multiclass", &case);
}

#[test]
fn regression_csv_gives_scikit_learns_values_in_a_table_too() {
    let case = golden_case("regression", "zero_targets_200");
    let mut csv = String::from("y,yhat\n");
    for (target, prediction) in case["y_true"]
        .as_array()
        .unwrap()
        .iter()
        .zip(case["y_pred"].as_array().unwrap())
    {
        csv.push_str(&format!("{target},{prediction}\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let data = write_temp(dir.path(), "prices.csv", &csv);
    let args = [
        "--task",
        "regression",
        "--data",
        &data,
        "--target",
        "y",
        "--prediction",
        "yhat",
    ];
    assert_reference_values(&quality_json(&args), "regression", &case);

    let mut table_args = vec!["quality"];
    table_args.extend_from_slice(&args);
    let (stdout, _) = expect(&modelwatch(&table_args, b""), 0);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["task", "regression"]
    );
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["rows", "200"]
    );
    let names: Vec<&str> = lines[2..]
        .iter()
        .map(|line| line.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["mae", "mape", "max_error", "median_ae", "mse", "r2", "rmse"]
    );
    // Values start in one column.
    let starts: Vec<usize> = lines.iter().map(|line| line.rfind(' ').unwrap()).collect();
    assert!(starts.windows(2).all(|pair| pair[0] == pair[1]), "{stdout}");
}

#[test]
fn bad_files_exit_1_naming_the_line_and_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let binary = |data: &str, extra: &[&str]| -> String {
        let mut args = vec![
            "quality",
            "--task",
            "binary",
            "--data",
            data,
            "--target",
            "y",
            "--prediction",
            "p",
        ];
        args.extend_from_slice(extra);
        let (stdout, stderr) = expect(&modelwatch(&args, b""), 1);
        assert!(stdout.is_empty(), "{stdout}");
        stderr
    };
    let cases: Vec<(&str, &[u8], &[&str], &str)> = vec![
        (
            "missing.csv",
            b"y,p\n1,1\n",
            &["--score", "s"],
            "line 1: no column \"s\"",
        ),
        (
            "word.csv",
            b"y,p,s\n1,1,0.5\n0,1,high\n",
            &["--score", "s"],
            "line 3, column \"s\": \"high\" is not a finite number",
        ),
        (
            "range.csv",
            b"y,p,s\n1,1,0.5\n0,1,1.25\n",
            &["--score", "s"],
            "line 3, column \"s\": 1.25 is not a probability",
        ),
        (
            "ragged.csv",
            b"y,p,s\n1,1,0.5\n0,1\n",
            &["--score", "s"],
            "line 3: 2 fields where the header has 3",
        ),
        (
            "utf8.csv",
            b"y,p\n1,1\n0,\xff\n",
            &[],
            "line 3, column \"p\": not valid UTF-8",
        ),
        ("empty.csv", b"", &[], "empty"),
        ("header.csv", b"y,p\n", &[], "no data rows"),
        (
            "blank.csv",
            b"y,p\n1,\n",
            &[],
            "line 2, column \"p\": the value is empty",
        ),
        (
            "field.jsonl",
            b"{\"y\": 1, \"p\": 1}\n{\"y\": 0}\n",
            &[],
            "line 2: no field \"p\"",
        ),
        (
            "null.jsonl",
            b"{\"y\": 1, \"p\": 1}\n\n{\"y\": null, \"p\": 0}\n",
            &[],
            "line 3, column \"y\": null is not a value",
        ),
        (
            "text.jsonl",
            b"{\"y\": 1, \"p\": 1, \"s\": \"0.5\"}\n{\"y\": 1, \"p\": 1, \"s\": [0.5]}\n",
            &["--score", "s"],
            "line 2, column \"s\": an array is not a value",
        ),
        (
            "array.jsonl",
            b"{\"y\": 1, \"p\": 1}\n[1, 1]\n",
            &[],
            "line 2:",
        ),
        (
            "utf8.jsonl",
            b"{\"y\": 1, \"p\": 1}\n{\"y\": \"\xff\", \"p\": 1}\n",
            &[],
            "line 2: not valid UTF-8",
        ),
        ("empty.jsonl", b"", &[], "empty"),
        (
            "three.csv",
            b"y,p\na,b\nc,a\n",
            &["--positive", "a"],
            "3 classes: \"a\", \"c\", \"b\"",
        ),
        (
            "neither.csv",
            b"y,p\na,b\n",
            &["--positive", "z"],
            "--positive \"z\" is neither",
        ),
    ];
    for (name, contents, extra, message) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        let data = path.display().to_string();
        let stderr = binary(&data, extra);
        assert!(stderr.contains(message), "{name}: {stderr}");
        assert!(
            stderr.contains(name),
            "{name}: the error names the file: {stderr}"
        );
    }
}

#[test]
fn flags_that_do_not_fit_the_task_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_temp(dir.path(), "d.csv", "y,p,a,b\n1,1,0.5,0.5\n");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "quality",
            "--data",
            &data,
            "--target",
            "y",
            "--prediction",
            "p",
        ];
        args.extend_from_slice(extra);
        modelwatch(&args, b"")
    };
    // clap refuses --score with --scores: a usage error.
    expect(
        &run(&["--task", "binary", "--score", "a", "--scores", "a,b"]),
        2,
    );
    expect(&run(&["--task", "ternary"]), 2);
    let (_, stderr) = expect(&run(&["--task", "regression", "--score", "a"]), 1);
    assert!(
        stderr.contains("binary and multiclass tasks only"),
        "{stderr}"
    );
    let (_, stderr) = expect(&run(&["--task", "multiclass", "--scores", "a,b"]), 1);
    assert!(
        stderr.contains("line 2: the target class \"1\" has no column in --scores"),
        "{stderr}"
    );
    let (_, stderr) = expect(&run(&["--task", "binary", "--scores", "a,b"]), 1);
    assert!(
        stderr.contains("no column named like the positive class \"1\""),
        "{stderr}"
    );
}
