//! A cluster node as a child process (`serve --store postgres://... --log nats://...`),
//! returned once it printed `ready:` (its first round of leases done), and what the tests read
//! of the shared store straight from PostgreSQL, awaiting commits through `LISTEN` (every
//! commit of a partition notifies `modelwatch_commits`), never by sleeping.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

pub struct Node {
    child: Child,
    stdout: Option<BufReader<std::process::ChildStdout>>,
    stderr: tempfile::NamedTempFile,
    pub id: String,
    pub base: String,
}

impl Node {
    /// Starts node `id` on the store at `store` and the log at `log`, with `config`.
    pub fn start(id: &str, store: &str, log: &str, config: &Path, partitions: u32) -> Node {
        Node::start_with(id, store, log, config, partitions, &[], &[])
    }

    /// As [`Node::start`], with more flags and environment variables.
    pub fn start_with(
        id: &str,
        store: &str,
        log: &str,
        config: &Path,
        partitions: u32,
        flags: &[&str],
        env: &[(&str, &str)],
    ) -> Node {
        let mut command = Command::new(env!("CARGO_BIN_EXE_modelwatch"));
        command
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--store",
                store,
                "--log",
                log,
            ])
            .args(["--node-id", id, "--partitions", &partitions.to_string()])
            .args([
                "--lease-ttl",
                "2s",
                "--retention",
                "off",
                "--max-future",
                "off",
            ])
            .args(flags)
            .envs(env.iter().copied())
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "info")
            .current_dir(crate::repo_root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        let stderr = tempfile::NamedTempFile::new().unwrap();
        command.stderr(stderr.reopen().unwrap());
        let mut child = command.spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        let mut base = None;
        loop {
            let mut line = String::new();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "node {id} exited early; it printed:\n{banner}\nand on stderr:\n{}",
                std::fs::read_to_string(stderr.path()).unwrap_or_default()
            );
            banner.push_str(&line);
            if let Some(url) = line.trim().strip_prefix("listening on ") {
                base = Some(url.to_string());
            }
            if line.starts_with("ready:") {
                break;
            }
        }
        // The rest of stdout is read once the node stops: nothing more is printed before
        // `stopped`.
        Node {
            child,
            stdout: Some(stdout),
            stderr,
            id: id.to_string(),
            base: base.unwrap(),
        }
    }

    /// SIGTERM; asserts a clean exit within two minutes (a hang fails the test rather than
    /// stalling it) and returns the rest of stdout.
    pub fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        let mut child = std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap());
        let stdout = self.stdout.take();
        let (sender, exited) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let exit = child.wait().unwrap();
            let mut rest = String::new();
            if let Some(mut stdout) = stdout {
                let _ = std::io::Read::read_to_string(&mut stdout, &mut rest);
            }
            let _ = sender.send((exit, rest));
        });
        let Ok((exit, rest)) = exited.recv_timeout(Duration::from_secs(120)) else {
            panic!(
                "node {} did not stop within two minutes of SIGTERM",
                self.id
            );
        };
        assert!(
            exit.success(),
            "node {} exited with {exit}; stdout: {rest}",
            self.id
        );
        rest
    }

    /// SIGKILL, and reap it.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// The node's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }
}

impl Drop for Node {
    #[allow(clippy::print_stderr)] // a failing test shows the nodes' logs
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- node {} log:\n{}", self.id, self.log());
        }
    }
}

/// What a cluster test runs on: a database of its own on the process's shared PostgreSQL, and
/// a nats-server of its own; `None` (the test is skipped) when either is missing.
pub struct Servers {
    /// The database (dropped with the test).
    _database: modelwatch_testkit::TestDatabase,
    /// Its URL.
    pub url: String,
    /// The ingest log's server.
    pub nats: modelwatch_testkit::NatsServer,
}

impl Servers {
    pub fn start() -> Option<Servers> {
        let postgres = modelwatch_testkit::PostgresServer::shared()?;
        let nats = modelwatch_testkit::NatsServer::start()?;
        let database = postgres.database();
        Some(Servers {
            url: database.url().to_string(),
            _database: database,
            nats,
        })
    }
}

/// Runs `work` with a connection to `url`, on a thread of its own (the synchronous client
/// must not run inside a Tokio runtime).
pub fn with_db<T: Send + 'static>(
    url: &str,
    work: impl FnOnce(&mut postgres::Client) -> T + Send + 'static,
) -> T {
    let url = url.to_string();
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        work(&mut client)
    })
    .join()
    .unwrap()
}

/// Waits until `done` holds of the database, checking again after each commit notice, for at
/// most `limit`.
pub fn await_commits(
    url: &str,
    limit: Duration,
    what: &str,
    done: impl Fn(&mut postgres::Client) -> bool + Send + 'static,
) {
    await_notices(url, "modelwatch_commits", limit, what, done);
}

/// Waits until `done` holds of the leases, checking again after each lease taken.
pub fn await_leases(
    url: &str,
    limit: Duration,
    what: &str,
    done: impl Fn(&mut postgres::Client) -> bool + Send + 'static,
) {
    await_notices(url, "modelwatch_leases", limit, what, done);
}

fn await_notices(
    url: &str,
    channel: &str,
    limit: Duration,
    what: &str,
    done: impl Fn(&mut postgres::Client) -> bool + Send + 'static,
) {
    let what = what.to_string();
    let listen = format!("LISTEN {channel}");
    with_db(url, move |client| {
        client.batch_execute(&listen).unwrap();
        // Each round waits for the next notice, or a second at most (to look again if
        // the notice came between the check and the wait).
        for _ in 0..limit.as_secs().max(1) {
            if done(client) {
                return;
            }
            let mut notices = client.notifications();
            let _ = notices.timeout_iter(Duration::from_secs(1)).next();
        }
        assert!(done(client), "gave up waiting for {what} after {limit:?}");
    });
}

/// How many live leases `owner` holds.
pub fn live_leases(db: &mut postgres::Client, owner: &str) -> i64 {
    db.query_one(
        "SELECT count(*) FROM leases WHERE owner = $1 \
         AND expires_at > (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT",
        &[&owner],
    )
    .unwrap()
    .get(0)
}

/// The node holding the lease of job `id`'s partition.
pub fn job_owner(url: &str, id: &str) -> String {
    let id = id.to_string();
    with_db(url, move |db| {
        db.query_one(
            "SELECT leases.owner FROM jobs JOIN leases ON leases.partition = jobs.partition \
             WHERE jobs.id = $1",
            &[&id],
        )
        .unwrap()
        .get(0)
    })
}

/// How many rows `sql` counts.
pub fn count(client: &mut postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).unwrap().get(0)
}

/// Asks `base` for `path` (a GET without a body, else a POST of `body` as JSON) with
/// `headers`, and returns the status and the body.
pub fn ask(base: &str, path: &str, body: Option<&str>, headers: &[(&str, &str)]) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let url = format!("{base}{path}");
    let mut answer = match body {
        None => {
            let mut request = agent.get(&url);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.call().unwrap()
        }
        Some(body) => {
            let mut request = agent.post(&url).header("content-type", "application/json");
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.send(body).unwrap()
        }
    };
    let status = answer.status().as_u16();
    (status, answer.body_mut().read_to_string().unwrap())
}
