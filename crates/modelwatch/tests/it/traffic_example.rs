//! `examples/fraud-traffic.jsonl` (raw traffic: predictions and labels) replayed with its
//! config as README shows it: the estimate fires before the labels come, then the accuracy
//! computed from the labels fires and a retrain decision follows; README's command and excerpt
//! are what `replay` runs and prints, and its `modelwatch drift` excerpt what `drift` prints.

use std::process::Command;

use serde_json::Value;

/// README's section on the example.
fn readme_section() -> String {
    let readme = std::fs::read_to_string(crate::repo_root().join("README.md")).unwrap();
    readme
        .split("### Raw traffic: `examples/fraud-traffic.jsonl`")
        .nth(1)
        .and_then(|section| section.split("\n## ").next())
        .expect("README has a section on the raw traffic example")
        .to_string()
}

/// The arguments of README's `cargo run -- replay ...` line for the example.
fn readme_args() -> Vec<String> {
    let section = readme_section();
    let line = section
        .lines()
        .find_map(|line| line.trim().strip_prefix("cargo run -- "))
        .expect("README shows the command");
    line.split_whitespace().map(str::to_string).collect()
}

/// `modelwatch ARGS...` from the repository's root; its standard output.
fn run(args: &[String]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_modelwatch"))
        .args(args)
        .current_dir(crate::repo_root())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.is_empty(), "no warning expected: {stderr}");
    String::from_utf8(output.stdout).unwrap()
}

/// The first output that `matches`, with its index.
fn first(outputs: &[Value], matches: impl Fn(&Value) -> bool) -> Option<(usize, &Value)> {
    outputs
        .iter()
        .enumerate()
        .find(|(_, output)| matches(output))
}

fn fires(rule: &'static str) -> impl Fn(&Value) -> bool {
    move |output| output["type"] == "alert" && output["rule"] == rule && output["state"] == "firing"
}

#[test]
fn the_traffic_example_fires_on_computed_accuracy() {
    let args = readme_args();
    assert_eq!(
        args,
        [
            "replay",
            "--config",
            "examples/fraud-traffic.toml",
            "examples/fraud-traffic.jsonl"
        ]
    );
    let size = std::fs::metadata(crate::repo_root().join("examples/fraud-traffic.jsonl"))
        .unwrap()
        .len();
    assert!(size < 2_000_000, "the example is {size} bytes");
    let mut json = args.clone();
    json.insert(1, "--format=json".to_string());
    let outputs: Vec<Value> = run(&json)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();

    // Realized accuracy is computed from the labels, healthy at first.
    let (_, realized) = first(&outputs, |output| {
        output["type"] == "quality" && output["source"] == "realized"
    })
    .expect("a realized quality point");
    assert!(
        realized["metrics"]["accuracy"].as_f64().unwrap() > 0.9,
        "{realized}"
    );

    // The estimate fires first, then the accuracy computed from the labels.
    let (estimated_at, _) =
        first(&outputs, fires("estimated-accuracy-low")).expect("the estimate fires");
    let (fired_at, alert) = first(&outputs, fires("accuracy-low")).expect("accuracy fires");
    assert!(estimated_at < fired_at);
    assert_eq!(alert["metric"], "accuracy");
    assert!(
        alert["explanation"]["value"].as_f64().unwrap() < 0.9,
        "{alert}"
    );
    assert!(outputs[..fired_at].iter().any(|output| {
        output["type"] == "quality"
            && output["seq"] == alert["seq"]
            && output["metrics"]["accuracy"] == alert["explanation"]["value"]
    }));

    // A retrain decision follows, asked for by that alert.
    let (decided_at, decision) =
        first(&outputs, |output| output["type"] == "retrain").expect("a retrain decision");
    assert!(decided_at > fired_at);
    assert_eq!(decision["rule"], "accuracy-low");
    assert_eq!(decision["alert_id"], alert["alert_id"]);
    assert_eq!(decision["decision"], "recommended");

    for rule in ["f1-low", "label-coverage-low"] {
        assert!(first(&outputs, fires(rule)).is_some(), "{rule} fires");
    }
}

/// Every row of README's excerpt is a row `replay` prints; `...` stands for text left out.
#[test]
fn the_readme_traffic_excerpt_is_what_replay_prints() {
    let section = readme_section();
    let excerpt = section
        .split("```text")
        .nth(1)
        .and_then(|block| block.split("```").next())
        .expect("README has an excerpt");
    let printed = run(&readme_args());
    let rows: Vec<&str> = excerpt
        .lines()
        .filter(|line| line.starts_with(|c: char| c.is_ascii_digit()) || line.starts_with("At "))
        .collect();
    assert!(rows.len() >= 8, "{excerpt}");
    for row in rows {
        let pieces: Vec<&str> = row.split("...").collect();
        let found = printed.lines().any(|line| {
            let Some(mut rest) = line.strip_prefix(pieces[0]) else {
                return false;
            };
            for piece in &pieces[1..] {
                match rest.find(piece) {
                    Some(at) => rest = &rest[at + piece.len()..],
                    None => return false,
                }
            }
            pieces.len() > 1 || rest.is_empty()
        });
        assert!(found, "README's row is not in replay's output: {row}");
    }
}

/// README's `modelwatch drift` run on the example's tables prints exactly its second excerpt,
/// and the tables are the predictions of the traffic file (reference: the first 400, as the
/// config's `reference = { first = 400 }`; current: the last 1,000).
#[test]
fn the_readme_drift_excerpt_is_what_drift_prints_for_the_example() {
    let section = readme_section();
    let line = section
        .lines()
        .filter_map(|line| line.trim().strip_prefix("cargo run -- "))
        .find(|line| line.starts_with("drift "))
        .expect("README shows the drift command");
    let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let excerpt = section
        .split("```text")
        .nth(2)
        .and_then(|block| block.split("```").next())
        .expect("README has the drift excerpt")
        .trim_start_matches('\n');
    assert_eq!(run(&args), excerpt);
    let read = |path: &str| {
        std::fs::read_to_string(crate::repo_root().join(path))
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .collect::<Vec<Value>>()
    };
    let predictions: Vec<Value> = read("examples/fraud-traffic.jsonl")
        .into_iter()
        .filter_map(|event| event.get("prediction").cloned())
        .map(|prediction| {
            let mut row = prediction["features"].clone();
            row["prediction"] = prediction["output"].clone();
            row
        })
        .collect();
    assert_eq!(read("examples/fraud-reference.jsonl"), predictions[..400]);
    assert_eq!(
        read("examples/fraud-current.jsonl"),
        predictions[predictions.len() - 1000..]
    );
}
