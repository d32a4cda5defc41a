//! Bearer tokens of `modelwatch serve`, run as a child process: 401 without a valid token,
//! 403 naming the missing scope, tokens from the environment and from a file, start-up errors
//! that name the variable but never the value, and the refusal of a public address without
//! tokens (which happens before binding: no test binds a public address); `GET /v1/whoami`
//! and the console's open shell.
//!
//! No sleeping: each start reads the child's stdout up to its `ready:` line.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::serve_child::{ServeChild, http_agent};

const READ_TOKEN: &str = "read-8c1f0e-secret";
const INGEST_TOKEN: &str = "ingest-51a7d2-secret";
const ADMIN_TOKEN: &str = "admin-e09b44-secret";

struct Server {
    process: ServeChild,
    agent: ureq::Agent,
}

impl Server {
    /// Starts serve on 127.0.0.1 with a read token and an ingest token from the environment
    /// and an admin token from a file.
    fn start(dir: &Path) -> Server {
        let token_file = dir.join("admin.token");
        std::fs::write(&token_file, format!("  {ADMIN_TOKEN}\n")).unwrap();
        let process = ServeChild::start(&dir.join("data"), |command| {
            command
                .args(["--token-env", "MW_IT_READ:read"])
                .args(["--token-env", "MW_IT_INGEST:ingest"])
                .arg("--token-file")
                .arg(format!("{}:admin", token_file.display()))
                .env("MW_IT_READ", READ_TOKEN)
                .env("MW_IT_INGEST", INGEST_TOKEN);
        });
        for token in [READ_TOKEN, INGEST_TOKEN, ADMIN_TOKEN] {
            assert!(
                !process.banner.contains(token),
                "a token value was printed: {}",
                process.banner
            );
        }
        Server {
            process,
            agent: http_agent(),
        }
    }

    /// POSTs one valid event; the status, the `WWW-Authenticate` header and the JSON body.
    fn post(&self, token: Option<&str>) -> (u16, Option<String>, Value) {
        let event =
            r#"{"model": {"name": "auth-model", "version": "1"}, "metrics": {"accuracy": 0.9}}"#;
        let mut request = self
            .agent
            .post(format!("{}/v1/events", self.process.base))
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        answer(request.send(event).unwrap())
    }

    fn get(&self, path: &str, token: Option<&str>) -> (u16, Option<String>, Value) {
        let mut request = self.agent.get(format!("{}{path}", self.process.base));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        answer(request.call().unwrap())
    }
}

fn answer(mut response: ureq::http::Response<ureq::Body>) -> (u16, Option<String>, Value) {
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().unwrap().to_string());
    let text = response.body_mut().read_to_string().unwrap();
    (
        status,
        challenge,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn assert_unauthorized((status, challenge, body): (u16, Option<String>, Value)) {
    assert_eq!(status, 401, "{body}");
    assert_eq!(challenge.as_deref(), Some("Bearer"));
    assert!(body["error"].is_string(), "{body}");
}

fn assert_forbidden((status, _, body): (u16, Option<String>, Value), scope: &str) {
    assert_eq!(status, 403, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(error.contains(scope), "{error}");
}

/// `GET /v1/whoami` names the token and its scopes (never its value), needs `read`, and the
/// console's shell stays open without a token.
#[test]
fn whoami_names_the_token_and_its_scopes_and_the_console_shell_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (status, _, body) = server.get("/v1/whoami", Some(READ_TOKEN));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        serde_json::json!({"name": "env MW_IT_READ", "scopes": ["read"], "authentication": true})
    );
    let (status, _, body) = server.get("/v1/whoami", Some(ADMIN_TOKEN));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["scopes"],
        serde_json::json!(["ingest", "read", "admin"])
    );
    assert!(
        body["name"].as_str().unwrap().starts_with("file "),
        "{body}"
    );
    assert!(!body.to_string().contains(ADMIN_TOKEN));
    assert_unauthorized(server.get("/v1/whoami", None));
    assert_forbidden(server.get("/v1/whoami", Some(INGEST_TOKEN)), "read");

    let shell = server
        .agent
        .get(format!("{}/", server.process.base))
        .call()
        .unwrap();
    assert_eq!(shell.status().as_u16(), 200);
    assert_eq!(
        shell.headers()["content-type"].to_str().unwrap(),
        "text/html; charset=utf-8"
    );
}

#[test]
fn tokens_are_checked_by_scope_and_probes_stay_open() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    // Probes and scrapes need no token.
    assert_eq!(server.get("/healthz", None).0, 200);
    assert_eq!(server.get("/readyz", None).0, 200);
    assert_eq!(server.get("/metrics", None).0, 200);

    // No token, a wrong token, another scheme: 401 with a challenge.
    assert_unauthorized(server.post(None));
    assert_unauthorized(server.get("/v1/alerts", None));
    assert_unauthorized(server.get("/v1/models", None));
    assert_unauthorized(server.post(Some("not-a-token")));
    assert_unauthorized(server.get("/v1/alerts", Some(&format!("{READ_TOKEN}x"))));
    let basic = server
        .agent
        .get(format!("{}/v1/alerts", server.process.base))
        .header("authorization", format!("Basic {READ_TOKEN}"))
        .call()
        .unwrap();
    assert_unauthorized(answer(basic));

    // A read token reads but cannot ingest; an ingest token ingests but cannot read.
    assert_eq!(server.get("/v1/alerts", Some(READ_TOKEN)).0, 200);
    assert_eq!(server.get("/v1/models", Some(READ_TOKEN)).0, 200);
    assert_forbidden(server.post(Some(READ_TOKEN)), "ingest");
    let (status, _, body) = server.post(Some(INGEST_TOKEN));
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["accepted"], 1);
    assert_forbidden(server.get("/v1/alerts", Some(INGEST_TOKEN)), "read");
    assert_forbidden(server.get("/v1/decisions", Some(INGEST_TOKEN)), "read");

    // The admin token, read from a file (trimmed), does both.
    let (status, _, body) = server.post(Some(ADMIN_TOKEN));
    assert_eq!(status, 202, "{body}");
    let (status, _, body) = server.get("/v1/models/auth-model", Some(ADMIN_TOKEN));
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.get("/v1/alerts", Some(ADMIN_TOKEN)).0, 200);
}

/// Runs serve to its exit; the exit code and stdout and stderr together.
fn run_serve(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_modelwatch"));
    command
        .arg("serve")
        .arg("--data")
        .arg(dir.join("data"))
        .args(args)
        .env_remove("MW_IT_MISSING")
        .stdin(Stdio::null());
    for (name, value) in envs {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

#[test]
fn a_missing_or_empty_token_is_a_startup_error_naming_its_source_never_its_value() {
    let dir = tempfile::tempdir().unwrap();
    let present = ("MW_IT_PRESENT", "present-3d9a71-secret");
    let (code, text) = run_serve(
        dir.path(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--token-env",
            "MW_IT_PRESENT:admin",
            "--token-env",
            "MW_IT_MISSING:read",
        ],
        &[present],
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("MW_IT_MISSING") && text.contains("not set"),
        "{text}"
    );
    assert!(!text.contains(present.1), "{text}");

    let (code, text) = run_serve(
        dir.path(),
        &["--listen", "127.0.0.1:0", "--token-env", "MW_IT_EMPTY:read"],
        &[("MW_IT_EMPTY", "  ")],
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("MW_IT_EMPTY") && text.contains("empty"),
        "{text}"
    );

    let missing = dir.path().join("no-such.token");
    let (code, text) = run_serve(
        dir.path(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--token-file",
            &format!("{}:read", missing.display()),
        ],
        &[],
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("no-such.token"), "{text}");

    let (code, text) = run_serve(
        dir.path(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--token-env",
            "MW_IT_PRESENT:write",
        ],
        &[present],
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("\"write\""), "{text}");
    assert!(!text.contains(present.1), "{text}");
}

#[test]
fn a_public_address_without_tokens_is_refused_before_binding() {
    let dir = tempfile::tempdir().unwrap();
    let (code, text) = run_serve(dir.path(), &["--listen", "0.0.0.0:0"], &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("refusing to listen on 0.0.0.0:0"), "{text}");
    assert!(text.contains("--allow-unauthenticated"), "{text}");
    // Nothing was started: the data directory was not even created.
    assert!(!dir.path().join("data").exists());
}
