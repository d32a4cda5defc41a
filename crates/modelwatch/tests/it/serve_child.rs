//! A `modelwatch serve` child process for the integration tests: started on a free loopback
//! port and returned once it prints `ready:` (recovery done; no sleeping), stopped with SIGTERM
//! or SIGKILL, and killed on drop even when a test fails. Its stderr (the log) goes to a file,
//! printed only when the test fails, so that a passing run prints none of the errors a test
//! provokes on purpose.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use serde_json::Value;

pub struct ServeChild {
    child: Child,
    /// Where serve's stderr goes.
    stderr: tempfile::NamedTempFile,
    stdout: BufReader<ChildStdout>,
    /// `http://127.0.0.1:PORT`, from serve's `listening on` line.
    pub base: String,
    /// Everything serve printed up to and including its `ready:` line.
    pub banner: String,
    /// How many stored inputs recovery replayed.
    pub replayed: u64,
    /// The input of the engine snapshot recovery restored, if it restored one.
    pub restored: Option<u64>,
}

impl ServeChild {
    /// Starts `modelwatch serve --listen 127.0.0.1:0 --data DATA`; `configure` adds arguments
    /// and environment. Retention and the bound on event times ahead of the clock are off
    /// unless `configure` passes `--retention` or `--max-future`.
    pub fn start(data: &Path, configure: impl FnOnce(&mut Command)) -> ServeChild {
        ServeChild::launch(
            &[std::ffi::OsStr::new("--data"), data.as_os_str()],
            configure,
        )
    }

    /// As [`ServeChild::start`], on the store `--store STORE` names (a PostgreSQL URL).
    pub fn start_on(store: &str, configure: impl FnOnce(&mut Command)) -> ServeChild {
        ServeChild::launch(
            &[std::ffi::OsStr::new("--store"), std::ffi::OsStr::new(store)],
            configure,
        )
    }

    fn launch(store: &[&std::ffi::OsStr], configure: impl FnOnce(&mut Command)) -> ServeChild {
        let mut command = Command::new(env!("CARGO_BIN_EXE_modelwatch"));
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(store)
            .current_dir(crate::repo_root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        let stderr = tempfile::NamedTempFile::new().unwrap();
        command.stderr(stderr.reopen().unwrap());
        configure(&mut command);
        // The example events are dated: a test that wants retention (or the bound on times
        // ahead) asks for it, the others take their events whatever the day they run.
        for flag in ["--retention", "--max-future"] {
            if !command.get_args().any(|arg| arg == flag) {
                command.args([flag, "off"]);
            }
        }
        let mut child = command.spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut base = None;
        let mut banner = String::new();
        let (replayed, restored) = loop {
            let mut line = String::new();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "serve exited early; it printed:\n{banner}\nand on stderr:\n{}",
                std::fs::read_to_string(stderr.path()).unwrap_or_default()
            );
            banner.push_str(&line);
            if let Some(url) = line.trim().strip_prefix("listening on ") {
                base = Some(url.to_string());
            }
            // `ready: replayed N stored inputs[ after the snapshot at input S]`
            if let Some(rest) = line.trim().strip_prefix("ready: replayed ") {
                let replayed = rest.split(' ').next().unwrap().parse().unwrap();
                let restored = rest
                    .split_once(" after the snapshot at input ")
                    .map(|(_, seq)| seq.parse().unwrap());
                break (replayed, restored);
            }
        };
        ServeChild {
            child,
            stderr,
            stdout,
            base: base.unwrap(),
            banner,
            replayed,
            restored,
        }
    }

    /// SIGTERM; asserts a clean exit and returns the rest of stdout.
    pub fn stop(mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).unwrap();
        assert!(exit.success(), "serve exited with {exit}; stdout: {rest}");
        rest
    }

    /// Waits for serve to exit by itself; its exit status and the rest of stdout.
    pub fn wait(mut self) -> (std::process::ExitStatus, String) {
        let exit = self.child.wait().unwrap();
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).unwrap();
        (exit, rest)
    }

    /// SIGKILL, and reap it.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for ServeChild {
    #[allow(clippy::print_stderr)] // a failing test shows serve's log
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.stderr.path()).unwrap_or_default();
            eprintln!("serve's stderr:\n{log}");
        }
    }
}

/// An HTTP client that returns error statuses instead of failing on them.
pub fn http_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// The example's events (the HTTP endpoint takes no job notices), one a line.
pub fn example_events() -> Vec<String> {
    std::fs::read_to_string(crate::repo_root().join("examples/degrading-model.jsonl"))
        .unwrap()
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.contains("\"job_finished\""))
        .map(str::to_string)
        .collect()
}

/// What `modelwatch replay --format json` prints for these events, split into alerts and
/// retrain decisions.
pub fn replay(dir: &Path, events: &[String]) -> (Vec<Value>, Vec<Value>) {
    let file = dir.join("events.jsonl");
    std::fs::write(&file, events.join("\n")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_modelwatch"))
        .args(["replay", "--format", "json"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success());
    let outputs: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let of_type = |kind: &str| {
        outputs
            .iter()
            .filter(|output| output["type"] == kind)
            .cloned()
            .collect::<Vec<_>>()
    };
    (of_type("alert"), of_type("retrain"))
}

pub fn ndjson(lines: &[String]) -> String {
    lines.join("\n") + "\n"
}

pub fn ids(outputs: &[Value]) -> Vec<&str> {
    outputs
        .iter()
        .map(|output| output["id"].as_str().unwrap())
        .collect()
}

/// A client of one serve child, for the tests that talk to it over HTTP.
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

impl Client {
    /// A client of `process`.
    pub fn of(process: &ServeChild) -> Client {
        Client {
            base: process.base.clone(),
            agent: http_agent(),
        }
    }

    /// POST `body` to `path`: the status and the JSON answer (null when not JSON).
    pub fn post(&self, path: &str, content_type: &str, body: &str) -> (u16, Value) {
        self.send(
            self.agent.post(format!("{}{path}", self.base)),
            content_type,
            body,
        )
    }

    /// PUT `body` to `path`: the status and the JSON answer (null when not JSON).
    pub fn put(&self, path: &str, content_type: &str, body: &str) -> (u16, Value) {
        self.send(
            self.agent.put(format!("{}{path}", self.base)),
            content_type,
            body,
        )
    }

    fn send(
        &self,
        request: ureq::RequestBuilder<ureq::typestate::WithBody>,
        content_type: &str,
        body: &str,
    ) -> (u16, Value) {
        let mut response = request
            .header("content-type", content_type)
            .send(body)
            .unwrap();
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// POST the events as NDJSON, 25 a request, each answered 202.
    pub fn ingest(&self, events: &[String]) {
        for chunk in events.chunks(25) {
            let (status, body) = self.post("/v1/events", "application/x-ndjson", &ndjson(chunk));
            assert_eq!(status, 202, "{body}");
        }
    }

    /// GET `path`: the status and the body.
    pub fn get(&self, path: &str) -> (u16, String) {
        let mut response = self
            .agent
            .get(format!("{}{path}", self.base))
            .call()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap())
    }

    /// Every item of a `/v1` listing (at most 1,000; `listing` may carry a query), oldest first.
    pub fn all(&self, listing: &str) -> Vec<Value> {
        let separator = if listing.contains('?') { '&' } else { '?' };
        let (status, text) = self.get(&format!("/v1/{listing}{separator}limit=1000"));
        assert_eq!(status, 200, "{text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["next"], Value::Null);
        let mut items = body["items"].as_array().unwrap().clone();
        items.reverse();
        items
    }

    /// A sample of `/metrics`, by its whole name with labels.
    pub fn metric(&self, sample: &str) -> f64 {
        let (status, text) = self.get("/metrics");
        assert_eq!(status, 200);
        text.lines()
            .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {sample} in:\n{text}"))
            .parse()
            .unwrap()
    }
}

/// Whether `program` is on PATH; when it is not, skips (false) or, with
/// MODELWATCH_REQUIRE_SERVERS=1, fails saying which Debian package to install.
#[allow(clippy::print_stderr)] // the skip message is the one thing a skipped test says
pub fn server_available(program: &str, package: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()));
    if !found {
        let message = format!(
            "{program} is not on PATH; install the Debian package `{package}` \
             (apt-get install --no-install-recommends {package})"
        );
        assert!(
            std::env::var("MODELWATCH_REQUIRE_SERVERS").as_deref() != Ok("1"),
            "MODELWATCH_REQUIRE_SERVERS=1: {message}"
        );
        eprintln!("skipped: {message}");
    }
    found
}
