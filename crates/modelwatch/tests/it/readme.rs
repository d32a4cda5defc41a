//! README's first commands are real: the curl that posts an event is accepted by `serve` on
//! its defaults, and the curl that lists alerts shows the alert README says it shows.

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
fn the_readme_curls_post_an_event_and_list_the_alert_it_fires() {
    let lines = curl_lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let post = &lines[0];
    let url = post
        .split_whitespace()
        .find(|word| word.starts_with("localhost:"))
        .unwrap();
    let args = quoted(post);
    assert_eq!(args[0], "content-type: application/json", "{post}");
    let body = args[1];
    let list = quoted(&lines[1])[0];

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
    let mut response = agent.get(on(&process.base, list)).call().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let alerts: Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    let items = alerts["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .any(|alert| alert["rule"] == "e-accuracy-low" && alert["state"] == "firing"),
        "{alerts}"
    );
    process.stop();
}
