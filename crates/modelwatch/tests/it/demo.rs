//! `modelwatch demo` as a user runs it: the binary as a child process (killed by a watchdog if
//! it ever runs past two minutes), its output checked for every step in order, for a good
//! candidate (promoted) and a bad one (rolled back, with `--keep` leaving a store and a config
//! that `check-config` accepts), from accuracy values and, with `--predictions`, from raw
//! traffic. Timings are printed by the demo but never asserted.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a demo may run before the watchdog kills it (its own deadline is 60 s).
const WATCHDOG: Duration = Duration::from_secs(120);

/// Runs `modelwatch demo ARGS...` to its end, or kills it at the watchdog's limit.
fn demo(args: &[&str]) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_modelwatch"))
        .arg("demo")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if finished.recv_timeout(WATCHDOG).is_err() {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            return true;
        }
        false
    });
    let output = child.wait_with_output().unwrap();
    let _ = done.send(());
    let killed = watchdog.join().unwrap();
    assert!(
        !killed,
        "the demo ran past {WATCHDOG:?} and was killed; it printed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Asserts that `steps` appear in `text` in this order.
fn in_order(text: &str, steps: &[&str]) {
    let mut from = 0;
    for step in steps {
        match text[from..].find(step) {
            Some(at) => from += at + step.len(),
            None => panic!("{step:?} does not follow the steps before it in:\n{text}"),
        }
    }
}

/// The directory the demo says it works in (`  directory DIR (...)`).
fn directory(text: &str) -> String {
    let line = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("directory "))
        .unwrap_or_else(|| panic!("no directory line in:\n{text}"));
    line.split(" (").next().unwrap().to_string()
}

fn succeeded(output: &Output) -> String {
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(
        output.status.success(),
        "the demo exited with {}:\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn the_demo_fires_notifies_retrains_registers_and_promotes_a_good_candidate() {
    let output = demo(&[]);
    let stdout = succeeded(&output);
    in_order(
        &stdout,
        &[
            "[1/7] streaming fraud-detector 1.0.0 on stable-0",
            "[1/7] alert firing: fraud-detector 1.0.0/stable-0, rule accuracy-low (critical)",
            "is below 0.9",
            "[2/7] webhook delivered: POST /hook answered 200 OK",
            "signature verified: alert firing (accuracy-low)",
            "[3/7] retrain job",
            "trainer | ",
            "[3/7] retrain job",
            "succeeded",
            "version 1.1.0",
            "[4/7] version registered: fraud-detector 1.1.0 is a candidate, made by job",
            "1.0.0 production",
            "[5/7] canary: streaming 1.1.0 on canary-0 beside 1.0.0 on stable-0",
            "[5/7] canary verdict:",
            "[6/7] webhook delivered:",
            "canary verdict pass",
            "[7/7] promoted: fraud-detector 1.1.0 is in production",
            "1.0.0 archived",
            "done in",
        ],
    );
    assert!(!stdout.contains("rolled back"), "{stdout}");
    let dir = directory(&stdout);
    assert!(
        !Path::new(&dir).exists(),
        "the temporary directory {dir} is left behind"
    );
}

#[test]
fn the_demo_rolls_a_bad_candidate_back_and_keeps_its_store_when_asked() {
    let scratch = tempfile::tempdir().unwrap();
    let kept = scratch.path().join("kept");
    let output = demo(&["--bad-candidate", "--keep", kept.to_str().unwrap()]);
    let stdout = succeeded(&output);
    in_order(
        &stdout,
        &[
            "[1/7] alert firing:",
            "[2/7] webhook delivered:",
            "[3/7] retrain job",
            "succeeded",
            "[4/7] version registered: fraud-detector 1.1.0 is a candidate",
            "[5/7] canary verdict:",
            "[6/7] webhook delivered:",
            "canary verdict fail",
            "[7/7] rollback job",
            "rollback | ",
            "[7/7] rolled back: rollback job",
            "fraud-detector 1.1.0 is rolled_back",
            "1.0.0 production",
            "done in",
        ],
    );
    assert!(!stdout.contains("promoted:"), "{stdout}");
    assert_eq!(directory(&stdout), kept.display().to_string());
    assert!(kept.join("data/modelwatch.db").is_file());
    let check = Command::new(env!("CARGO_BIN_EXE_modelwatch"))
        .arg("check-config")
        .arg(kept.join("demo.toml"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    // The directory is not empty any more: a second demo refuses it.
    let again = demo(&["--keep", kept.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("is not empty"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn the_predictions_demo_computes_accuracy_from_labels_and_promotes_a_good_candidate() {
    let output = demo(&["--predictions"]);
    let stdout = succeeded(&output);
    in_order(
        &stdout,
        &[
            "modelwatch demo --predictions:",
            "[1/7] streaming raw traffic of fraud-detector 1.0.0 on stable-0",
            "08:00-08:09  200 predictions, 0 labels; computed accuracy -",
            // Accuracy appears once labels come, computed by the service.
            "labels; computed accuracy 0.",
            "[1/7] alert firing: fraud-detector 1.0.0/stable-0, rule accuracy-low (critical)",
            "is below 0.9",
            "[2/7] webhook delivered: POST /hook answered 200 OK",
            "signature verified: alert firing (accuracy-low)",
            "[3/7] retrain job",
            "trainer | ",
            "[3/7] retrain job",
            "succeeded",
            "[4/7] version registered: fraud-detector 1.1.0 is a candidate, made by job",
            "[5/7] canary: predictions of 1.1.0 on canary-0 beside 1.0.0 on stable-0",
            "computed accuracy stable-0 0.",
            "canary-0 0.",
            "[5/7] canary verdict: accuracy of fraud-detector 1.1.0 passes",
            "[6/7] webhook delivered:",
            "canary verdict pass",
            "[7/7] promoted: fraud-detector 1.1.0 is in production",
            "1.0.0 archived",
            "done in",
            "the accuracy computed from the labels fell",
            "Try `modelwatch demo --predictions --bad-candidate`",
        ],
    );
    assert!(!stdout.contains("rolled back"), "{stdout}");
}

#[test]
fn the_predictions_demo_rolls_a_bad_candidate_back_on_computed_accuracy() {
    let scratch = tempfile::tempdir().unwrap();
    let kept = scratch.path().join("kept");
    let output = demo(&[
        "--predictions",
        "--bad-candidate",
        "--keep",
        kept.to_str().unwrap(),
    ]);
    let stdout = succeeded(&output);
    in_order(
        &stdout,
        &[
            "[1/7] alert firing:",
            "[3/7] retrain job",
            "[4/7] version registered: fraud-detector 1.1.0 is a candidate",
            "[5/7] canary verdict: accuracy of fraud-detector 1.1.0 fails",
            "canary verdict fail",
            "[7/7] rolled back: rollback job",
            "fraud-detector 1.1.0 is rolled_back",
            "1.0.0 production",
        ],
    );
    // The kept config is the traffic one: it declares the model whose quality it computes.
    let config = std::fs::read_to_string(kept.join("demo.toml")).unwrap();
    assert!(config.contains("[[models]]"), "{config}");
    let check = Command::new(env!("CARGO_BIN_EXE_modelwatch"))
        .arg("check-config")
        .arg(kept.join("demo.toml"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn help_lists_the_demo_but_not_its_bundled_backends() {
    let output = Command::new(env!("CARGO_BIN_EXE_modelwatch"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("\n  demo "), "{help}");
    assert!(!help.contains("demo-trainer"), "{help}");
    assert!(!help.contains("demo-rollback"), "{help}");
}
