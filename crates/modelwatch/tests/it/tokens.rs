//! Who may change what, and who did: `admin` is a scope of its own (a token with `ingest` and
//! `read` is refused every change made by hand), one token value configured twice stops the
//! start naming both entries, and the audit log names the token (never its value) behind each
//! promote, cancel and manual retrain. Serve runs as a child process; no sleeping: each step
//! waits for its answer.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::serve_child::{ServeChild, http_agent};

const BOTH_TOKEN: &str = "both-7e21c9-secret";
const ADMIN_TOKEN: &str = "admin-4b8d10-secret";
/// The admin token's name: where its value came from.
const ADMIN_NAME: &str = "env MW_IT_ADMIN_TOKEN";

/// A config whose rule never fires on the events below, and a trainer that runs until it is
/// cancelled.
const CONFIG: &str = r#"
[[rules]]
name = "acc-very-low"
metric = "accuracy"
detector = { kind = "threshold", below = 0.1 }

[[trainers]]
kind = "command"
command = ["sleep", "600"]
"#;

struct Server {
    process: ServeChild,
    agent: ureq::Agent,
}

impl Server {
    /// Serve with an `ingest,read` token and an `admin` token, both from the environment;
    /// stderr (the log, at `log_level`) goes to `DIR/stderr.log`.
    fn start(dir: &Path, log_level: &str) -> Server {
        let config = dir.join("config.toml");
        std::fs::write(&config, CONFIG).unwrap();
        let stderr = std::fs::File::create(dir.join("stderr.log")).unwrap();
        let process = ServeChild::start(&dir.join("data"), |command| {
            command
                .arg("--config")
                .arg(&config)
                .args(["--token-env", "MW_IT_BOTH:ingest,read"])
                .args(["--token-env", "MW_IT_ADMIN_TOKEN:admin"])
                .args(["--log-level", log_level])
                .env("MW_IT_BOTH", BOTH_TOKEN)
                .env("MW_IT_ADMIN_TOKEN", ADMIN_TOKEN)
                .stderr(stderr);
        });
        Server {
            process,
            agent: http_agent(),
        }
    }

    /// A request with this token: the status and the body as text.
    fn call(&self, method: &str, path: &str, token: &str, body: Option<&str>) -> (u16, String) {
        let url = format!("{}{path}", self.process.base);
        let bearer = format!("Bearer {token}");
        let mut response = match (method, body) {
            ("GET", _) => self
                .agent
                .get(&url)
                .header("authorization", &bearer)
                .call()
                .unwrap(),
            (_, Some(body)) => self
                .agent
                .post(&url)
                .header("authorization", &bearer)
                .header("content-type", "application/json")
                .send(body)
                .unwrap(),
            (_, None) => self
                .agent
                .post(&url)
                .header("authorization", &bearer)
                .send_empty()
                .unwrap(),
        };
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap())
    }

    fn json(&self, method: &str, path: &str, token: &str, body: Option<&str>) -> (u16, Value) {
        let (status, text) = self.call(method, path, token, body);
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn event(version: &str, second: u32) -> String {
    json!({
        "model": {"name": "fraud", "version": version},
        "timestamp": format!("2026-11-23T08:00:{second:02}Z"),
        "metric": "accuracy",
        "value": 0.95,
    })
    .to_string()
}

/// The changes made by hand, each needing `admin`.
const ADMIN_ROUTES: [&str; 6] = [
    "/v1/admin/retention",
    "/v1/models/fraud/versions/2/promote",
    "/v1/models/fraud/versions/2/archive",
    "/v1/models/fraud/versions/2/rollback",
    "/v1/models/fraud/retrain",
    "/v1/jobs/00000000000000000000000000000000/cancel",
];

#[test]
fn a_token_with_ingest_and_read_is_refused_every_admin_route() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), "info");
    // It ingests and reads.
    let (status, body) = server.json("POST", "/v1/events", BOTH_TOKEN, Some(&event("1", 0)));
    assert_eq!(status, 202, "{body}");
    let (status, body) = server.json("POST", "/v1/events", BOTH_TOKEN, Some(&event("2", 1)));
    assert_eq!(status, 202, "{body}");
    assert_eq!(server.call("GET", "/v1/models", BOTH_TOKEN, None).0, 200);
    // Every change by hand is a 403 naming the admin scope, and changed nothing.
    for route in ADMIN_ROUTES {
        let (status, body) = server.json("POST", route, BOTH_TOKEN, None);
        assert_eq!(status, 403, "{route}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains("admin"),
            "{route}: {body}"
        );
    }
    let (_, versions) = server.json("GET", "/v1/models/fraud/versions", BOTH_TOKEN, None);
    assert_eq!(versions["versions"][1]["status"], "candidate", "{versions}");
    let (_, jobs) = server.json("GET", "/v1/jobs", BOTH_TOKEN, None);
    assert_eq!(jobs["items"], json!([]), "{jobs}");
    // The admin token passes the same routes' authorization (whatever they then answer; no
    // retrain, which would start a trainer).
    for route in ADMIN_ROUTES
        .iter()
        .filter(|route| !route.ends_with("/retrain"))
    {
        let (status, body) = server.json("POST", route, ADMIN_TOKEN, None);
        assert!(![401, 403].contains(&status), "{route}: {status} {body}");
    }
    server.process.stop();
}

/// Runs serve until it exits, or until it is ready (then it is killed and the code is `None`);
/// the exit code and stdout and stderr together.
fn run_serve(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let stderr = dir.join("run-stderr.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_modelwatch"))
        .arg("serve")
        .arg("--data")
        .arg(dir.join("data"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    let mut ready = false;
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        text.push_str(&line);
        if line.starts_with("ready:") {
            ready = true;
            child.kill().unwrap();
            break;
        }
    }
    let status = child.wait().unwrap();
    text.push_str(&std::fs::read_to_string(&stderr).unwrap());
    (if ready { None } else { status.code() }, text)
}

#[test]
fn one_token_value_configured_twice_stops_the_start_naming_both_entries_not_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let shared = "shared-93c0aa-secret";
    let file = dir.path().join("read.token");
    std::fs::write(&file, format!("{shared}\n")).unwrap();
    let (code, text) = run_serve(
        dir.path(),
        &[
            "--token-env",
            "MW_IT_SHARED:ingest",
            "--token-file",
            &format!("{}:read", file.display()),
        ],
        &[("MW_IT_SHARED", shared)],
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("env MW_IT_SHARED"), "{text}");
    assert!(text.contains(&format!("file {}", file.display())), "{text}");
    assert!(text.contains("same value"), "{text}");
    assert!(!text.contains(shared), "{text}");
    // Nothing was started.
    assert!(!dir.path().join("data").exists());
}

#[test]
fn the_audit_log_names_the_token_behind_each_change_never_its_value() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), "trace");
    let mut answers = Vec::new();
    for (version, second) in [("1", 0), ("2", 1)] {
        let (status, body) = server.call(
            "POST",
            "/v1/events",
            BOTH_TOKEN,
            Some(&event(version, second)),
        );
        assert_eq!(status, 202, "{body}");
        answers.push(body);
    }

    let (status, body) = server.call(
        "POST",
        "/v1/models/fraud/versions/2/promote",
        ADMIN_TOKEN,
        None,
    );
    assert_eq!(status, 200, "{body}");
    answers.push(body);
    let (status, body) = server.call("POST", "/v1/models/fraud/retrain", ADMIN_TOKEN, None);
    assert_eq!(status, 202, "{body}");
    let job_id = serde_json::from_str::<Value>(&body).unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    answers.push(body);
    let (status, body) = server.call(
        "POST",
        &format!("/v1/jobs/{job_id}/cancel"),
        ADMIN_TOKEN,
        None,
    );
    assert_eq!(status, 200, "{body}");
    answers.push(body);
    let (status, body) = server.call("GET", "/v1/audit?limit=1000", BOTH_TOKEN, None);
    assert_eq!(status, 200, "{body}");
    answers.push(body.clone());

    let audit: Value = serde_json::from_str(&body).unwrap();
    let rows: Vec<(String, String, String)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|row| {
            (
                row["action"].as_str().unwrap().to_string(),
                row["version"].as_str().unwrap_or("-").to_string(),
                row["actor"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let by_admin = |action: &str, version: &str| {
        rows.contains(&(
            action.to_string(),
            version.to_string(),
            ADMIN_NAME.to_string(),
        ))
    };
    assert!(by_admin("version_promoted", "2"), "{rows:?}");
    assert!(by_admin("version_archived", "1"), "{rows:?}");
    // The manual retrain's job was queued, and then cancelled, by the admin token.
    for action in ["job_queued", "job_ended"] {
        assert!(
            audit["items"].as_array().unwrap().iter().any(|row| {
                row["action"] == action
                    && row["actor"] == ADMIN_NAME
                    && row["job_id"] == job_id.as_str()
            }),
            "{action}: {audit}"
        );
    }
    // Versions first seen in events are the engine's doing.
    assert!(
        rows.contains(&("version_registered".into(), "1".into(), "engine".into())),
        "{rows:?}"
    );

    server.process.stop();
    let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    for token in [BOTH_TOKEN, ADMIN_TOKEN] {
        for answer in &answers {
            assert!(
                !answer.contains(token),
                "a token value was answered: {answer}"
            );
        }
        assert!(!log.contains(token), "a token value was logged:\n{log}");
    }
}
