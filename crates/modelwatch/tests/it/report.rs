//! `modelwatch replay --report FILE.html` as a child process on README's example events: the
//! file holds the alerts `replay` prints (same ids and times) and every point of each chart,
//! two runs give the same bytes, the timeline printed is unchanged, a destination that cannot
//! be written or bad input stops it with a clear error and leaves no file behind, nothing is
//! sent and no job runs; and in a real headless Chromium, opened from disk with the network
//! off, the report's model page shades the firing periods of those alerts at their times and
//! every page of the console renders.
//!
//! The browser test skips without `chromedriver` or `chromium` on PATH, or fails under
//! MODELWATCH_REQUIRE_SERVERS=1 (see `console`). No sleeping: the browser awaits its page.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Map, Value, json};

use crate::console::{PAGES, assert_firing_bands, browser_available, firing_periods};
use crate::console_webdriver::Browser;

/// README's example.
const EVENTS: &str = "examples/degrading-model.jsonl";
const MODEL: &str = "fraud-detector";

fn modelwatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_modelwatch"))
        .args(args)
        .current_dir(crate::repo_root())
        .output()
        .unwrap()
}

/// Runs `modelwatch args`, asserting its exit code; its (stdout, stderr).
fn expect(args: &[&str], code: i32) -> (String, String) {
    let output = modelwatch(args);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        output.status.code(),
        Some(code),
        "{args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    (stdout, stderr)
}

/// The map of API path to answer inlined in a report.
fn inlined(page: &str) -> Map<String, Value> {
    let start = "<script type=\"application/json\" id=\"modelwatch-data\">";
    let from = page.find(start).expect("the report has no data element") + start.len();
    let to = from + page[from..].find("</script>").unwrap();
    // `<\/` is JSON's escape of `</`: the text parses as it is.
    serde_json::from_str(&page[from..to]).unwrap()
}

/// The files of `dir`, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// What `replay --format json` prints of the example, as JSON values.
fn replayed() -> Vec<Value> {
    let (stdout, _) = expect(&["replay", "--format", "json", EVENTS], 0);
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Writes the report of the example to `dir/name`, checking what `replay` prints; its text.
fn report(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let path_text = path.display().to_string();
    let (table, _) = expect(&["replay", EVENTS], 0);
    let (stdout, stderr) = expect(&["replay", "--report", &path_text, EVENTS], 0);
    assert_eq!(stdout, table, "--report changed the timeline printed");
    assert!(
        stderr.starts_with(&format!("report written to {path_text} ("))
            && stderr.lines().count() == 1,
        "{stderr}"
    );
    std::fs::read_to_string(&path).unwrap()
}

#[test]
fn a_report_of_the_example_holds_the_alerts_replay_prints_and_every_point_and_is_the_same_twice() {
    let dir = tempfile::tempdir().unwrap();
    let first = report(dir.path(), "first.html");
    let answers = inlined(&first);
    let outputs = replayed();
    // The JSON timeline too is unchanged by --report.
    let other = dir.path().join("other.html").display().to_string();
    let (json_lines, _) = expect(
        &["replay", "--format", "json", "--report", &other, EVENTS],
        0,
    );
    let printed: Vec<Value> = json_lines
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(printed, outputs);
    std::fs::remove_file(&other).unwrap();

    // Every alert transition replay prints, with its id and times, on the model's page and in
    // the alerts listing (newest first, whole: no cursor to follow).
    let alerts: Vec<&Value> = outputs.iter().filter(|o| o["type"] == "alert").collect();
    assert!(alerts.iter().any(|alert| alert["state"] == "firing"));
    for key in [
        format!("/v1/alerts?model={MODEL}"),
        "/v1/alerts".to_string(),
    ] {
        let listing = &answers[&key];
        assert_eq!(listing["next"], Value::Null, "{key}");
        let items = listing["items"].as_array().unwrap();
        assert_eq!(items.len(), alerts.len(), "{key}");
        for (item, alert) in items.iter().rev().zip(&alerts) {
            for field in [
                "id", "alert_id", "seq", "at", "state", "rule", "metric", "message",
            ] {
                assert_eq!(item[field], alert[field], "{key} {field}");
            }
        }
    }
    let firing = &answers["/v1/alerts?state=firing"]["items"];
    assert_eq!(
        firing.as_array().unwrap().len(),
        alerts.iter().filter(|a| a["state"] == "firing").count()
    );
    // The retrain decisions too.
    let decisions = outputs.iter().filter(|o| o["type"] == "retrain").count();
    assert_eq!(
        answers[&format!("/v1/decisions?model={MODEL}")]["items"]
            .as_array()
            .unwrap()
            .len(),
        decisions
    );

    // One chart a metric, each with every point of the events (and the metrics the engine
    // derives from them, such as `macro_score`, with a point each).
    let events: Vec<Value> = std::fs::read_to_string(crate::repo_root().join(EVENTS))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let model = &answers[&format!("/v1/models/{MODEL}")];
    let mut metrics: Vec<&str> = model["latest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|point| point["metric"].as_str().unwrap())
        .collect();
    metrics.sort_unstable();
    metrics.dedup();
    assert!(metrics.contains(&"accuracy"), "{metrics:?}");
    for metric in metrics {
        let series = &answers[&format!("/v1/series?metric={metric}&model={MODEL}")];
        assert_eq!(series["next"], Value::Null);
        let held = events
            .iter()
            .filter(|event| event["metrics"].get(metric).is_some())
            .count();
        let points = series["points"].as_array().unwrap().len();
        if held == 0 {
            assert!(points > 0, "{metric}");
        } else {
            assert_eq!(points, held, "{metric}");
        }
    }
    // The overview and registry pages' paths, and nothing sent: deliveries wait, jobs queue.
    for key in [
        "/v1/models",
        "/v1/jobs?state=running",
        "/v1/audit",
        "/v1/deliveries",
    ] {
        assert_eq!(answers[key]["next"], Value::Null, "{key}");
    }
    assert_eq!(answers["/v1/jobs?state=running"]["items"], json!([]));

    // Same events, same bytes; and only the two reports are left (no temporary file).
    let second = report(dir.path(), "second.html");
    assert!(first == second, "two reports of the same events differ");
    assert_eq!(files(dir.path()), ["first.html", "second.html"]);
}

#[test]
fn a_report_that_cannot_be_written_or_bad_input_stops_replay_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir/report.html");
    let (stdout, stderr) = expect(
        &["replay", "--report", &missing.display().to_string(), EVENTS],
        1,
    );
    assert!(stdout.is_empty(), "it printed before failing: {stdout}");
    assert!(
        stderr.starts_with(&format!(
            "error: cannot write the report {}",
            missing.display()
        )) && stderr.contains(&format!(
            "there is no directory {}",
            missing.parent().unwrap().display()
        )),
        "{stderr}"
    );

    let directory = dir.path().display().to_string();
    let (_, stderr) = expect(&["replay", "--report", &directory, EVENTS], 1);
    assert!(
        stderr.contains(&format!(
            "cannot write the report {directory}: it is a directory"
        )),
        "{stderr}"
    );

    // Bad input: the replay stops before the report is made, and no file is left.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"model\": {\"name\": \"m\"}, \"metric\": \"accuracy\"}\n",
    )
    .unwrap();
    let target = dir.path().join("report.html");
    let (_, stderr) = expect(
        &[
            "replay",
            "--report",
            &target.display().to_string(),
            &bad.display().to_string(),
        ],
        1,
    );
    assert!(stderr.contains("problems in the input"), "{stderr}");
    assert_eq!(files(dir.path()), ["bad.jsonl"]);
}

/// A report has no effects: with a webhook for every transition and a trainer that leaves a
/// file, the trainer never runs, no job has an attempt, and every delivery waits, untried.
#[test]
fn a_report_sends_nothing_and_runs_no_job() {
    let dir = tempfile::tempdir().unwrap();
    let trained = dir.path().join("trained");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[notifiers]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:9/hook"

[[trainers]]
kind = "command"
command = ["touch", "{}"]

[[rules]]
name = "acc-low"
metric = "accuracy"
detector = {{ kind = "threshold", below = 0.9 }}
actions = ["retrain"]
notify = ["hook"]
"#,
            trained.display()
        ),
    )
    .unwrap();
    let target = dir.path().join("report.html");
    let (stdout, _) = expect(
        &[
            "replay",
            "--config",
            &config.display().to_string(),
            "--report",
            &target.display().to_string(),
            EVENTS,
        ],
        0,
    );
    assert!(stdout.contains("retrain granted"), "{stdout}");
    let answers = inlined(&std::fs::read_to_string(&target).unwrap());
    let deliveries = answers["/v1/deliveries"]["items"].as_array().unwrap();
    assert!(!deliveries.is_empty());
    for delivery in deliveries {
        assert_eq!(delivery["state"], "pending", "{delivery}");
        assert_eq!(delivery["attempts"], 0, "{delivery}");
    }
    let jobs = answers["/v1/jobs"]["items"].as_array().unwrap();
    assert!(!jobs.is_empty());
    for job in jobs {
        assert_eq!(job["attempts"], 0, "{job}");
        // The job's own page is in the report too, and its cause's event time is its own.
        let page = &answers[&format!("/v1/jobs/{}", job["id"].as_str().unwrap())];
        assert_eq!(page["created_at"], "2026-11-22T09:16:00Z", "{page}");
    }
    assert!(!trained.exists(), "the trainer ran");
}

/// The report opened from disk, with the network off and no server anywhere: the model page
/// shades each firing period of the alerts replay prints at its times, read-only, with no
/// console error.
#[test]
fn the_report_opened_from_disk_offline_shades_the_firing_periods_replay_reports() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    report(dir.path(), "report.html");
    let alerts: Vec<Value> = replayed()
        .into_iter()
        .filter(|output| output["type"] == "alert")
        .collect();
    let expected = firing_periods(&alerts);

    let browser = Browser::start();
    browser.go_offline();
    let url = format!(
        "file://{}#/model/{MODEL}",
        dir.path().join("report.html").display()
    );
    assert_eq!(browser.page_at(&url), "ready");
    assert_firing_bands(&browser, &expected);
    let shown = browser.run(
        "return [document.getElementById('token').textContent, navigator.onLine,
                 document.getElementById('updated').textContent]",
        &[],
    );
    assert!(shown[0].as_str().unwrap().contains("read-only"), "{shown}");
    assert_eq!(shown[1], json!(false), "the browser was online: {shown}");
    // No time of the browser's clock: the file is never read again.
    assert_eq!(shown[2], json!(""), "{shown}");
    let errors = browser.severe_errors();
    assert!(errors.is_empty(), "{errors:?}");

    // Every page of the console renders from the file alone.
    let file = format!("file://{}", dir.path().join("report.html").display());
    for page in PAGES {
        assert_eq!(browser.page_at(&format!("{file}{page}")), "ready", "{page}");
        let errors = browser.severe_errors();
        assert!(errors.is_empty(), "{page}: {errors:?}");
    }
}
