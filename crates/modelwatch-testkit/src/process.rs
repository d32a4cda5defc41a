//! A server process tied to the test process: it runs under a small `sh` guard that reads
//! its standard input, which only the test process holds. When the test process ends, for
//! any reason (a panic, a kill, the end of the test binary), the pipe closes, `read`
//! returns, and the guard stops the server and removes its files. No server outlives the
//! tests, and nothing needs `unsafe` or a destructor that may not run.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The shell guard: runs the server command given as arguments, then waits on standard
/// input; at its end (or when the server exits) stops the server with `$SIGNAL`, waits for
/// it, and removes `$CLEANUP` (if set).
///
/// (An asynchronous list's standard input is `/dev/null` unless redirected, so the reader
/// takes the guard's own through descriptor 3.)
const GUARD: &str = r#"
exec 3<&0
"$@" </dev/null &
server=$!
(read _ignored <&3; kill -s "$SIGNAL" "$server" 2>/dev/null) &
reader=$!
wait "$server"
status=$?
kill "$reader" 2>/dev/null
if [ -n "$CLEANUP" ]; then rm -rf "$CLEANUP"; fi
exit "$status"
"#;

/// A running server under its guard.
#[derive(Debug)]
pub(crate) struct GuardedProcess {
    child: Child,
    /// Held open for the life of the server; dropping it stops the server.
    stdin: Option<ChildStdin>,
}

impl GuardedProcess {
    /// Starts `program args` under the guard, stopped with `signal` (a name, `INT`), its
    /// files at `cleanup` removed after it. Waits until a line of its standard error (or
    /// output) contains `ready` (within `timeout`), and returns the lines it printed.
    pub(crate) fn start(
        program: &Path,
        args: &[String],
        signal: &str,
        cleanup: Option<&Path>,
        ready: &str,
        timeout: Duration,
    ) -> Result<GuardedProcess, String> {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(GUARD)
            .arg("guard")
            .arg(program)
            .args(args)
            .env("SIGNAL", signal)
            .env("CLEANUP", cleanup.map(Path::as_os_str).unwrap_or_default())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", program.display()))?;
        let stdin = child.stdin.take();
        let (lines, seen) = mpsc::channel::<String>();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines = lines.clone();
            // Drains the stream for the server's whole life, so that it never blocks on a
            // full pipe; the lines go to the waiter below until it is gone.
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = lines.send(line);
                }
            });
        }
        drop(lines);
        let mut printed = Vec::new();
        loop {
            // A server that falls silent for `timeout` before it is ready has failed.
            match seen.recv_timeout(timeout) {
                Ok(line) => {
                    let done = line.contains(ready);
                    printed.push(line);
                    if done {
                        return Ok(GuardedProcess { child, stdin });
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    return Err(format!(
                        "{} did not say {ready:?} (silent for {timeout:?}); it printed:\n{}",
                        program.display(),
                        printed.join("\n")
                    ));
                }
            }
        }
    }

    /// Stops the server (as the end of the test process would) and waits for it.
    pub(crate) fn stop(mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

impl Drop for GuardedProcess {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// A free TCP port on loopback (bound, then released for the server to take).
pub(crate) fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| format!("no free port on 127.0.0.1: {error}"))
}
