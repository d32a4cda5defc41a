//! README's first commands are real: the curl that posts an event is accepted by `serve` on
//! its defaults, the curl that lists alerts shows the alerts README says it shows, none muted,
//! and the curl that lists decisions shows the recommended and the suppressed retrain README
//! describes.

use serde_json::Value;

use crate::serve_child::{ServeChild, http_agent};

/// The shell block of README that holds `curl -X POST`, continuation lines joined.
fn curl_lines() -> Vec<String> {
    let readme = std::fs::read_to_string(crate::repo_root().join("README.md")).unwrap();
    let block = readme
        .split("```sh")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .find(|block| block.contains("curl -X POST"))
        .expect("README has a shell block with curl -X POST");
    block
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("curl "))
        .map(str::to_string)
        .collect()
}

/// The single-quoted arguments of a shell line, in order.
fn quoted(line: &str) -> Vec<&str> {
    line.split('\'').skip(1).step_by(2).collect()
}

/// `localhost:8780/...` of README, sent to the test's server instead.
fn on(base: &str, url: &str) -> String {
    let path = url
        .strip_prefix("localhost:8780")
        .unwrap_or_else(|| panic!("README's URL {url} is not on serve's default address"));
    format!("{base}{path}")
}

#[test]
fn the_readme_curls_post_an_event_and_show_what_readme_says() {
    let readme = std::fs::read_to_string(crate::repo_root().join("README.md")).unwrap();
    let lines = curl_lines();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let post = &lines[0];
    let url = post
        .split_whitespace()
        .find(|word| word.starts_with("localhost:"))
        .unwrap();
    let args = quoted(post);
    assert_eq!(args[0], "content-type: application/json", "{post}");
    let body = args[1];
    let alerts_url = quoted(&lines[1])[0];
    let decisions_url = quoted(&lines[2])[0];

    let dir = tempfile::tempdir().unwrap();
    let process = ServeChild::start(&dir.path().join("data"), |_| {});
    let agent = http_agent();
    let mut response = agent
        .post(on(&process.base, url))
        .header("content-type", "application/json")
        .send(body)
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    assert_eq!(
        response.body_mut().read_to_string().unwrap(),
        r#"{"accepted":1}"#,
        "README says so"
    );
    let get = |url: &str| -> Value {
        let mut response = agent.get(on(&process.base, url)).call().unwrap();
        assert_eq!(response.status().as_u16(), 200);
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
    };

    // The firing alerts are exactly the two README names, and neither is muted.
    let alerts = get(alerts_url);
    let mut firing: Vec<&str> = alerts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|alert| {
            assert_eq!(alert["state"], "firing", "{alert}");
            assert!(alert.get("muted_by").is_none(), "{alert}");
            alert["rule"].as_str().unwrap()
        })
        .collect();
    firing.sort_unstable();
    assert_eq!(firing, ["c-accuracy-ema-low", "e-accuracy-low"], "{alerts}");
    for rule in &firing {
        assert!(readme.contains(&format!("`{rule}`")), "README names {rule}");
    }

    // One retrain is recommended (no trainer, no job), the other suppressed by the cooldown.
    let decisions = get(decisions_url);
    let mut made: Vec<(&str, &str)> = decisions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|decision| {
            assert!(decision.get("job_id").is_none(), "{decision}");
            (
                decision["decision"].as_str().unwrap(),
                decision["reason"].as_str().unwrap(),
            )
        })
        .collect();
    made.sort_unstable();
    assert_eq!(
        made,
        [("recommended", "alert_firing"), ("suppressed", "cooldown")],
        "{decisions}"
    );
    assert!(readme.contains("`recommended`") && readme.contains("`suppressed`"));
    let mut response = agent
        .get(format!("{}/v1/jobs", process.base))
        .call()
        .unwrap();
    let jobs: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(jobs["items"], serde_json::json!([]), "no job runs");
    process.stop();
}

/// Every timeline row of README's replay excerpt is a row `replay` prints for the example.
#[test]
fn the_readme_replay_excerpt_is_what_replay_prints() {
    let readme = std::fs::read_to_string(crate::repo_root().join("README.md")).unwrap();
    let excerpt = readme
        .split("## What `replay` shows")
        .nth(1)
        .and_then(|section| section.split("```text").nth(1))
        .and_then(|block| block.split("```").next())
        .expect("README has a replay excerpt");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_modelwatch"))
        .args(["replay", "examples/degrading-model.jsonl"])
        .current_dir(crate::repo_root())
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    let rows: Vec<&str> = excerpt
        .lines()
        .filter(|line| line.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert!(rows.len() >= 5, "{excerpt}");
    for row in rows {
        assert!(
            printed
                .lines()
                .any(|line| line.trim_end() == row.trim_end()),
            "README's row is not in replay's output: {row}"
        );
    }
}
