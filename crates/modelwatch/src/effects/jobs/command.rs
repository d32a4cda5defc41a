//! The `command` backend: runs a trainer or rollback program in a process group of its own,
//! with a time limit, and reads the version it produced from its last stdout line.

use std::process::Stdio;
use std::time::Duration;

use modelwatch_engine::wire::check_identifier;
use modelwatch_store::AttemptOutcome;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::oneshot;

/// Most bytes of a command's stderr kept for the error message.
const STDERR_TAIL: usize = 2_000;

/// A command to run for an attempt.
#[derive(Debug)]
pub(super) struct CommandSpec {
    pub(super) argv: Vec<String>,
    pub(super) env: Vec<(String, String)>,
    pub(super) dir: Option<std::path::PathBuf>,
    pub(super) fields: Vec<(String, String)>,
    pub(super) timeout: Duration,
    /// A trainer's last stdout line must name the new version; a rollback only has to exit 0.
    pub(super) names_version: bool,
}

/// How a command attempt went.
#[derive(Debug)]
pub(super) struct CommandOutcome {
    pub(super) outcome: AttemptOutcome,
    pub(super) version: Option<String>,
    pub(super) result: Option<String>,
    pub(super) error: Option<String>,
}

impl CommandOutcome {
    fn failed(outcome: AttemptOutcome, error: String) -> CommandOutcome {
        CommandOutcome {
            outcome,
            version: None,
            result: None,
            error: Some(error),
        }
    }
}

/// Runs a command in a process group of its own until it exits, times out or is killed.
pub(super) async fn run_command(
    spec: CommandSpec,
    killed: oneshot::Receiver<AttemptOutcome>,
) -> CommandOutcome {
    let Some((program, args)) = spec.argv.split_first() else {
        return CommandOutcome::failed(AttemptOutcome::Failed, "the command is empty".to_string());
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for (name, value) in &spec.fields {
        command.env(name, value);
    }
    for (name, value) in &spec.env {
        command.env(name, value);
    }
    if let Some(dir) = &spec.dir {
        command.current_dir(dir);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            return CommandOutcome::failed(
                AttemptOutcome::Failed,
                format!("cannot start {program}: {error}"),
            );
        }
    };
    let group = child.id().and_then(|pid| i32::try_from(pid).ok());
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let last_line = tokio::spawn(async move {
        let mut last = String::new();
        if let Some(stdout) = stdout {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if !line.trim().is_empty() {
                    last = line;
                }
            }
        }
        last
    });
    let stderr_tail = tokio::spawn(async move {
        let mut text = Vec::new();
        if let Some(mut stderr) = stderr {
            let mut buffer = [0u8; 4096];
            while let Ok(read) = stderr.read(&mut buffer).await {
                if read == 0 {
                    break;
                }
                text.extend_from_slice(&buffer[..read]);
                if text.len() > STDERR_TAIL * 2 {
                    text.drain(..text.len() - STDERR_TAIL);
                }
            }
        }
        let start = text.len().saturating_sub(STDERR_TAIL);
        String::from_utf8_lossy(&text[start..]).trim().to_string()
    });
    let stop = tokio::select! {
        status = child.wait() => Ok(status),
        () = tokio::time::sleep_until(tokio::time::Instant::now() + spec.timeout) => Err(AttemptOutcome::TimedOut),
        outcome = killed => Err(outcome.unwrap_or(AttemptOutcome::Cancelled)),
    };
    let status = match stop {
        Ok(status) => status,
        Err(outcome) => {
            kill_group(group);
            let _ = child.wait().await;
            let error = match outcome {
                AttemptOutcome::TimedOut => format!(
                    "timed out after {} s; the process group was killed",
                    spec.timeout.as_secs()
                ),
                _ => "cancelled through the API; the process group was killed".to_string(),
            };
            return CommandOutcome::failed(outcome, error);
        }
    };
    // The group may have left children holding the pipes: they go too.
    kill_group(group);
    let last = last_line.await.unwrap_or_default();
    let stderr = stderr_tail.await.unwrap_or_default();
    let status = match status {
        Ok(status) => status,
        Err(error) => {
            return CommandOutcome::failed(
                AttemptOutcome::Failed,
                format!("waiting for {program}: {error}"),
            );
        }
    };
    if !status.success() {
        let error = if stderr.is_empty() {
            format!("{program} exited with {status}")
        } else {
            format!("{program} exited with {status}: {stderr}")
        };
        return CommandOutcome::failed(AttemptOutcome::Failed, error);
    }
    if !spec.names_version {
        return CommandOutcome {
            outcome: AttemptOutcome::Succeeded,
            version: None,
            result: None,
            error: None,
        };
    }
    match parse_result(&last) {
        Ok((version, result)) => CommandOutcome {
            outcome: AttemptOutcome::Succeeded,
            version: Some(version),
            result,
            error: None,
        },
        Err(error) => CommandOutcome::failed(AttemptOutcome::Failed, error),
    }
}

fn kill_group(group: Option<i32>) {
    if let Some(group) = group {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(group),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// The version (and the JSON besides it) from a trainer's last stdout line: a JSON object
/// with a string `version`, or the version alone.
fn parse_result(line: &str) -> Result<(String, Option<String>), String> {
    let line = line.trim();
    if line.is_empty() {
        return Err(
            "the trainer printed nothing; its last stdout line must name the new version"
                .to_string(),
        );
    }
    if line.starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(line)
            .map_err(|error| format!("the trainer's last line is not valid JSON: {error}"))?;
        let version = value["version"]
            .as_str()
            .ok_or_else(|| "the trainer's JSON has no string \"version\"".to_string())?;
        check_version(version)?;
        return Ok((version.to_string(), Some(line.to_string())));
    }
    check_version(line)?;
    Ok((line.to_string(), None))
}

/// A produced version must be one that events can name.
pub(super) fn check_version(version: &str) -> Result<(), String> {
    check_identifier(version).map_err(|problem| format!("the version {problem}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trainers_last_line_names_the_version() {
        assert_eq!(parse_result("1.5.0\n"), Ok(("1.5.0".to_string(), None)));
        let (version, result) = parse_result(r#"{"version": "2", "accuracy": 0.97}"#).unwrap();
        assert_eq!(version, "2");
        assert_eq!(
            result.as_deref(),
            Some(r#"{"version": "2", "accuracy": 0.97}"#)
        );
        assert!(parse_result("").unwrap_err().contains("printed nothing"));
        assert!(
            parse_result(r#"{"accuracy": 1}"#)
                .unwrap_err()
                .contains("no string")
        );
        assert!(
            parse_result("{oops")
                .unwrap_err()
                .contains("not valid JSON")
        );
    }
}
