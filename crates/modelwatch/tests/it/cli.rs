//! The `modelwatch` binary, run as a child process on good and bad input.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use proptest::prelude::*;

fn modelwatch(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_modelwatch"))
        .args(args)
        .current_dir(crate::repo_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // The child may exit before reading everything (a usage error); that is fine here.
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Checks the exit code and that nothing panicked; returns (stdout, stderr).
fn expect(output: &Output, code: i32) -> (String, String) {
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    (stdout, stderr)
}

fn write_temp(dir: &Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.display().to_string()
}

#[test]
fn replay_of_the_example_shows_alerts_retrain_decisions_and_the_end_state() {
    let (stdout, stderr) = expect(
        &modelwatch(&["replay", "examples/degrading-model.jsonl"], b""),
        0,
    );
    assert!(stderr.is_empty(), "{stderr}");
    let header = stdout.lines().next().unwrap();
    assert!(
        header.starts_with("SEQ") && header.contains("EVENT") && header.contains("DETAIL"),
        "{header}"
    );
    for expected in [
        "fraud-detector@1.5.0/canary-0",
        "e-accuracy-low",
        "firing",
        "retrain recommended",
        "no trainer is configured for fraud-detector, so no job runs",
        "retrain suppressed",
        "job succeeded",
        "page_hinkley found a change in accuracy",
        "the cooldown ended",
        "At the end, after 173 inputs",
        "not_enough_data",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    assert!(
        !stdout.contains("1.4.0/default  accuracy     e-accuracy-low"),
        "the healthy version does not alert"
    );
}

#[test]
fn replay_prints_canary_verdicts_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_temp(
        dir.path(),
        "canary.toml",
        r#"[[rules]]
name = "canary-accuracy"
metric = "accuracy"
severity = "critical"
actions = ["rollback"]
canary = { candidate = { instance = "canary-*" }, baseline = { instance = "default" }, window = 40, min_samples = 10, every = 5 }
"#,
    );
    let (table, stderr) = expect(
        &modelwatch(
            &[
                "replay",
                "--config",
                &config,
                "examples/degrading-model.jsonl",
            ],
            b"",
        ),
        0,
    );
    assert!(stderr.is_empty(), "{stderr}");
    let rows: Vec<&str> = table
        .lines()
        .filter(|line| line.contains("canary-accuracy"))
        .collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(
        rows[0].contains("fraud-detector@1.5.0/canary-0  accuracy  canary-accuracy  canary pass"),
        "{table}"
    );
    assert!(
        rows[1].contains("canary fail")
            && rows[1].contains("accuracy of fraud-detector 1.5.0 fails against the baseline (instance default): median ")
            && rows[1].ends_with("; rollback"),
        "{table}"
    );
    let (json, _) = expect(
        &modelwatch(
            &[
                "replay",
                "--format",
                "json",
                "--config",
                &config,
                "examples/degrading-model.jsonl",
            ],
            b"",
        ),
        0,
    );
    let verdicts: Vec<serde_json::Value> = json
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|value| value["type"] == "canary")
        .collect();
    assert_eq!(verdicts.len(), 2, "{json}");
    assert_eq!(verdicts[1]["verdict"], "fail");
    assert_eq!(verdicts[1]["severity"], "critical");
    assert_eq!(verdicts[1]["actions"], serde_json::json!(["rollback"]));
    assert_eq!(verdicts[1]["judgement"]["candidate_count"], 40);
    assert!(verdicts[1]["judgement"]["interval"][1].as_f64().unwrap() < 0.0);
}

#[test]
fn replay_json_is_one_object_a_line_and_the_same_every_time() {
    let args = [
        "replay",
        "--format",
        "json",
        "examples/degrading-model.jsonl",
    ];
    let (first, _) = expect(&modelwatch(&args, b""), 0);
    let (second, _) = expect(&modelwatch(&args, b""), 0);
    assert_eq!(first, second);
    let mut types = std::collections::BTreeSet::new();
    for line in first.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        types.insert(value["type"].as_str().unwrap().to_string());
        assert_eq!(value["id"].as_str().unwrap().len(), 32);
    }
    assert_eq!(
        types.into_iter().collect::<Vec<_>>(),
        ["alert", "job_finished", "retrain"]
    );
    // Standard input works like a file.
    let example = std::fs::read(crate::repo_root().join("examples/degrading-model.jsonl")).unwrap();
    let (from_stdin, _) = expect(
        &modelwatch(&["replay", "--format", "json", "-"], &example),
        0,
    );
    assert_eq!(from_stdin, first);
}

#[test]
fn replay_refuses_bad_input_naming_line_and_field_and_prints_no_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"{"model": {"name": "m", "version": "1"}, "metric": "accuracy", "value": 0.5}"#;
    let bad = format!(
        "{good}\n{{\"model\": {{\"name\": \"m\", \"version\": \"1\"}}, \"metric\": \"accuracy\", \"value\": 1.5}}\n{{broken\n{good}\n"
    );
    let file = write_temp(dir.path(), "bad.jsonl", &bad);
    let (stdout, stderr) = expect(&modelwatch(&["replay", &file], b""), 1);
    assert!(
        stdout.is_empty(),
        "nothing is replayed from a bad file: {stdout}"
    );
    assert!(stderr.contains("2 problems in the input"), "{stderr}");
    assert!(
        stderr.contains(
            "bad.jsonl: input 1 (line 2): value: value 1.5 is outside the range of accuracy, [0, 1]"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad.jsonl: input 2 (line 3, column 2): invalid JSON"),
        "{stderr}"
    );

    let empty = write_temp(dir.path(), "empty.jsonl", "\n\n");
    let (_, stderr) = expect(&modelwatch(&["replay", &empty], b""), 1);
    assert!(stderr.contains("empty.jsonl: no inputs"), "{stderr}");

    let (_, stderr) = expect(&modelwatch(&["replay", "does-not-exist.jsonl"], b""), 1);
    assert!(
        stderr.contains("cannot read does-not-exist.jsonl"),
        "{stderr}"
    );
}

#[test]
fn replay_and_check_config_report_every_config_error_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_temp(
        dir.path(),
        "bad.toml",
        r#"[[rules]]
name = "r"
metric = "accuracy"
detector = { kind = "ema", alpha = 2 }

[[rules]]
name = "s"
metric = "accuracy"
detector = { kind = "adwin", delta = 0 }
for = 2
"#,
    );
    for args in [
        vec!["check-config", config.as_str()],
        vec![
            "replay",
            "--config",
            &config,
            "examples/degrading-model.jsonl",
        ],
    ] {
        let (stdout, stderr) = expect(&modelwatch(&args, b""), 1);
        assert!(stdout.is_empty());
        assert!(
            stderr.contains("bad.toml: 4 errors in the config"),
            "{stderr}"
        );
        assert!(
            stderr.contains("line 4, column 12: rules[0].detector:"),
            "{stderr}"
        );
        assert!(
            stderr.contains("line 4, column 36: rules[0].detector.alpha:"),
            "{stderr}"
        );
        assert!(
            stderr.contains("line 9, column 38: rules[1].detector.delta:"),
            "{stderr}"
        );
        assert!(
            stderr
                .contains("line 10, column 7: rules[1].for: `for` applies to state detectors only"),
            "{stderr}"
        );
    }
}

#[test]
fn check_config_accepts_the_built_in_config_and_prints_warnings() {
    let (stdout, stderr) = expect(
        &modelwatch(&["check-config", "config/default.toml"], b""),
        0,
    );
    assert!(
        stdout.starts_with("ok: config/default.toml: 13 rules (10 with retrain)"),
        "{stdout}"
    );
    assert!(stderr.is_empty(), "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let config = write_temp(
        dir.path(),
        "typo.toml",
        "[[rules]]\nname = \"r\"\nmetric = \"acuracy\"\ndetector = { kind = \"threshold\", below = 0.5 }\n",
    );
    let (stdout, stderr) = expect(&modelwatch(&["check-config", &config], b""), 0);
    assert!(
        stdout.starts_with(&format!(
            "ok: {config}: 1 rule (0 with retrain), 0 canary rules,"
        )) && stdout.trim_end().ends_with(", 1 warning"),
        "{stdout}"
    );
    assert!(
        stderr.contains("warning:") && stderr.contains("line 3, column 10: rules[0].metric"),
        "{stderr}"
    );
}

#[test]
fn check_config_counts_in_the_singular_and_the_plural() {
    let dir = tempfile::tempdir().unwrap();
    let one_of_each = "[outbound]\nallow_hosts = [\"hooks.example.com\"]\n\n[[notifiers]]\nname = \"n\"\nkind = \"webhook\"\nurl = \"https://hooks.example.com/n\"\n\n\
         [[trainers]]\nkind = \"external\"\n\n[[rollbacks]]\nkind = \"external\"\n\n\
         [[rules]]\nname = \"r\"\nmetric = \"acuracy\"\ndetector = { kind = \"threshold\", below = 0.5 }\nactions = [\"retrain\"]\nnotify = [\"n\"]\n\n\
         [[rules]]\nname = \"c\"\nmetric = \"accuracy\"\nactions = [\"rollback\"]\ncanary = { candidate = { instance = \"canary\" }, baseline = { instance = \"default\" } }\n";
    let config = write_temp(dir.path(), "one.toml", one_of_each);
    let (stdout, _) = expect(&modelwatch(&["check-config", &config], b""), 0);
    assert_eq!(
        stdout.trim_end(),
        format!(
            "ok: {config}: 1 rule (1 with retrain), 1 canary rule, 1 notifier, 1 trainer, 1 rollback, 1 allowed outbound host, retrain cooldown 3600 s, 1 warning"
        )
    );
    let (stdout, _) = expect(
        &modelwatch(&["check-config", "config/default.toml"], b""),
        0,
    );
    assert_eq!(
        stdout.trim_end(),
        "ok: config/default.toml: 13 rules (10 with retrain), 0 canary rules, 0 notifiers, 0 trainers, 0 rollbacks, retrain cooldown 3600 s, 0 warnings"
    );
}

#[test]
fn check_config_reports_the_errors_inside_a_misspelled_or_misbracketed_table() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_temp(
        dir.path(),
        "typos.toml",
        "[[rulez]]\nname = \"x\"\nnonsense = 1\nmetric = \"accuracy\"\ndetector = { kind = \"bogus\" }\n\n\
         [retrian]\ncooldown_secs = -1\n\n\
         [rules]\nname = \"ok\"\nmetric = \"accuracy\"\ndetector = { kind = \"threshold\", below = 0.5, wat = 2 }\n",
    );
    let (stdout, stderr) = expect(&modelwatch(&["check-config", &config], b""), 1);
    assert!(stdout.is_empty(), "{stdout}");
    for expected in [
        "typos.toml: 7 errors in the config:",
        "line 1, column 3: rulez: unknown key \"rulez\"; did you mean rules?",
        "line 3, column 1: rulez[0].nonsense: unknown key \"nonsense\"",
        "line 5, column 21: rulez[0].detector.kind: unknown detector kind \"bogus\"",
        "line 7, column 2: retrian: unknown key \"retrian\"; did you mean retrain?",
        "line 8, column 17: retrian.cooldown_secs: must be a whole number from 0 to",
        "line 10, column 1: rules: must be an array of tables ([[rules]]), got table",
        "line 13, column 53: rules.detector.wat: unknown parameter for `threshold`",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in\n{stderr}"
        );
    }
}

/// Reads a River case file from the detectors crate's copies.
fn river_case(name: &str) -> (Vec<f64>, Vec<u64>) {
    let path = crate::repo_root()
        .join("crates/modelwatch-detectors/tests/river")
        .join(name);
    let case: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let stream = case["stream"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let drifts = case["drifts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    (stream, drifts)
}

fn detect(args: &[&str], stream: &[f64]) -> serde_json::Value {
    let stdin: String = stream.iter().map(|x| format!("{x}\n")).collect();
    let mut all = vec!["detect"];
    all.extend_from_slice(args);
    let (stdout, _) = expect(&modelwatch(&all, stdin.as_bytes()), 0);
    serde_json::from_str(stdout.trim()).unwrap()
}

#[test]
fn usage_errors_exit_2_and_help_lists_the_commands() {
    let (_, stderr) = expect(&modelwatch(&["replay"], b""), 2);
    assert!(stderr.contains("FILE"), "{stderr}");
    let (stdout, _) = expect(&modelwatch(&["--help"], b""), 0);
    for command in ["replay", "detect", "check-config"] {
        assert!(stdout.contains(command), "{stdout}");
    }
}

#[test]
fn nasty_inputs_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let nasty: Vec<&[u8]> = vec![
        b"",
        b"\xff\xfe\x00garbage",
        b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        b"{\"model\": {\"name\": \"m\", \"version\": \"1\"}, \"metrics\": {\"accuracy\": 1e308, \"latency_ms\": 1e308}}",
        b"{\"model\": {\"name\": \"m\", \"version\": \"1\"}, \"metric\": \"x\", \"value\": -1e308}\n{\"model\": {\"name\": \"m\", \"version\": \"1\"}, \"metric\": \"x\", \"value\": 1e308}",
        b"null\ntrue\n\"text\"\n[]\n{}",
        b"{\"job_finished\": {\"model\": \"m\", \"status\": \"succeeded\"}}",
    ];
    for (index, contents) in nasty.iter().enumerate() {
        let path = dir.path().join(format!("nasty-{index}.jsonl"));
        std::fs::write(&path, contents).unwrap();
        let path = path.display().to_string();
        let output = modelwatch(&["replay", &path], b"");
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{:?}",
            output.status
        );
        assert!(!text(&output.stderr).contains("panicked"));
        let output = modelwatch(&["detect", "--detector", "page_hinkley"], contents);
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{:?}",
            output.status
        );
        let output = modelwatch(&["check-config", &path], b"");
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{:?}",
            output.status
        );
        assert!(!text(&output.stderr).contains("panicked"));
        for data in [path.clone(), path.replace(".jsonl", ".csv")] {
            std::fs::write(&data, contents).unwrap();
            let output = modelwatch(
                &[
                    "quality",
                    "--task",
                    "binary",
                    "--data",
                    &data,
                    "--target",
                    "model",
                    "--prediction",
                    "metric",
                    "--positive",
                    "x",
                ],
                b"",
            );
            assert_eq!(output.status.code(), Some(1), "{:?}", output.status);
            assert!(!text(&output.stderr).contains("panicked"));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_on_stdin_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        for args in [&["replay", "-"][..], &["detect", "--detector", "adwin"][..]] {
            let output = modelwatch(args, &bytes);
            prop_assert!(matches!(output.status.code(), Some(0 | 1)), "{:?}", output.status);
            prop_assert!(!text(&output.stderr).contains("panicked"));
        }
    }
}

mod detect;
mod drift;
mod quality;
