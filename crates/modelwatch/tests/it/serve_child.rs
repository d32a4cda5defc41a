//! A `modelwatch serve` child process for the integration tests: started on a free loopback
//! port and returned once it prints `ready:` (recovery done; no sleeping), stopped with SIGTERM
//! or SIGKILL, and killed on drop even when a test fails.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

pub struct ServeChild {
    child: Child,
    stdout: BufReader<ChildStdout>,
    /// `http://127.0.0.1:PORT`, from serve's `listening on` line.
    pub base: String,
    /// Everything serve printed up to and including its `ready:` line.
    pub banner: String,
    /// How many stored inputs recovery replayed.
    pub replayed: u64,
}

impl ServeChild {
    /// Starts `modelwatch serve --listen 127.0.0.1:0 --data DATA`; `configure` adds arguments
    /// and environment.
    pub fn start(data: &Path, configure: impl FnOnce(&mut Command)) -> ServeChild {
        let mut command = Command::new(env!("CARGO_BIN_EXE_modelwatch"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .current_dir(crate::repo_root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        configure(&mut command);
        let mut child = command.spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut base = None;
        let mut banner = String::new();
        let replayed = loop {
            let mut line = String::new();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "serve exited early; it printed:\n{banner}"
            );
            banner.push_str(&line);
            if let Some(url) = line.trim().strip_prefix("listening on ") {
                base = Some(url.to_string());
            }
            if let Some(rest) = line.trim().strip_prefix("ready: replayed ") {
                break rest.split(' ').next().unwrap().parse().unwrap();
            }
        };
        ServeChild {
            child,
            stdout,
            base: base.unwrap(),
            banner,
            replayed,
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

    /// SIGKILL, and reap it.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
