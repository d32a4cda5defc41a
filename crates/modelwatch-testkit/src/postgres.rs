//! [`PostgresServer`]: a throwaway PostgreSQL cluster (`initdb` in a temporary directory,
//! `postgres` on a free loopback port, trust authentication, `fsync=off`), and
//! [`TestDatabase`]: a fresh database in it per test, dropped after.
//!
//! PostgreSQL refuses to run as root, and CI runs as root: then the cluster's files belong to
//! the `postgres` user and the programs run as that user (`setpriv`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::process::{GuardedProcess, free_port};
use crate::programs::find_program;

/// How long the server may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running PostgreSQL cluster on loopback.
#[derive(Debug)]
pub struct PostgresServer {
    port: u16,
    /// The cluster's files (`data/`) and socket; kept across restarts.
    dir: PathBuf,
    /// The temporary directory, when this value owns it (not for the shared server, whose
    /// files its guard removes at the end of the test process).
    _owned: Option<tempfile::TempDir>,
    postgres: PathBuf,
    run_as: Option<(u32, u32)>,
    process: Option<GuardedProcess>,
}

static SHARED: OnceLock<Result<PostgresServer, String>> = OnceLock::new();
static DATABASES: AtomicU64 = AtomicU64::new(0);

impl PostgresServer {
    /// The test process's server, started by the first test that asks; `None` (the test
    /// skips) when PostgreSQL is not installed.
    ///
    /// # Panics
    ///
    /// When PostgreSQL is installed but does not start, or is missing under
    /// `MODELWATCH_REQUIRE_SERVERS=1`.
    pub fn shared() -> Option<&'static PostgresServer> {
        let programs = programs()?;
        let started = SHARED.get_or_init(|| PostgresServer::launch(programs, true));
        match started {
            Ok(server) => Some(server),
            Err(message) => panic!("PostgreSQL did not start: {message}"),
        }
    }

    /// A server of the test's own, to stop and start again; `None` when PostgreSQL is not
    /// installed.
    ///
    /// # Panics
    ///
    /// As [`PostgresServer::shared`].
    pub fn start() -> Option<PostgresServer> {
        let programs = programs()?;
        match PostgresServer::launch(programs, false) {
            Ok(server) => Some(server),
            Err(message) => panic!("PostgreSQL did not start: {message}"),
        }
    }

    fn launch(programs: (PathBuf, PathBuf), shared: bool) -> Result<PostgresServer, String> {
        let (initdb, postgres) = programs;
        let temporary = tempfile::Builder::new()
            .prefix("modelwatch-pg-")
            .tempdir()
            .map_err(|error| format!("no temporary directory: {error}"))?;
        let dir = temporary.path().to_path_buf();
        let run_as = postgres_user()?;
        let data = dir.join("data");
        std::fs::create_dir(&data).map_err(|error| format!("cannot create {data:?}: {error}"))?;
        if let Some((uid, gid)) = run_as {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
                .map_err(|error| format!("cannot open {dir:?} to postgres: {error}"))?;
            std::os::unix::fs::chown(&data, Some(uid), Some(gid))
                .map_err(|error| format!("cannot give {data:?} to postgres: {error}"))?;
        }
        let mut init = command(run_as, &initdb);
        init.args(["-D"])
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ])
            .stdout(std::process::Stdio::null());
        let output = init
            .output()
            .map_err(|error| format!("cannot run {}: {error}", initdb.display()))?;
        if !output.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let (owned, cleanup) = if shared {
            // Static: never dropped. The guard removes the files when the process ends.
            (None, Some(temporary.keep()))
        } else {
            (Some(temporary), None)
        };
        let mut server = PostgresServer {
            port: free_port()?,
            dir,
            _owned: owned,
            postgres,
            run_as,
            process: None,
        };
        server.run(cleanup.as_deref())?;
        Ok(server)
    }

    fn run(&mut self, cleanup: Option<&Path>) -> Result<(), String> {
        let data = self.dir.join("data");
        let mut args: Vec<String> = Vec::new();
        let program = match self.run_as {
            Some((uid, gid)) => {
                args.extend([
                    format!("--reuid={uid}"),
                    format!("--regid={gid}"),
                    "--clear-groups".to_string(),
                    self.postgres.display().to_string(),
                ]);
                PathBuf::from("setpriv")
            }
            None => self.postgres.clone(),
        };
        args.extend([
            "-D".to_string(),
            data.display().to_string(),
            "-p".to_string(),
            self.port.to_string(),
            "-k".to_string(),
            data.display().to_string(),
            "-c".to_string(),
            "listen_addresses=127.0.0.1".to_string(),
            "-c".to_string(),
            "fsync=off".to_string(),
            "-c".to_string(),
            "max_connections=300".to_string(),
        ]);
        let program = if program.is_absolute() {
            program
        } else {
            find_program("setpriv", "util-linux").ok_or("setpriv is missing")?
        };
        self.process = Some(GuardedProcess::start(
            &program,
            &args,
            "INT",
            cleanup,
            "database system is ready to accept connections",
            START_TIMEOUT,
        )?);
        Ok(())
    }

    /// Stops the server (a fast shutdown: open connections break).
    pub fn stop(&mut self) {
        if let Some(process) = self.process.take() {
            process.stop();
        }
    }

    /// Starts the stopped server again, on the same port and files.
    ///
    /// # Panics
    ///
    /// When it does not start.
    pub fn restart(&mut self) {
        self.stop();
        if let Err(message) = self.run(None) {
            panic!("PostgreSQL did not start again: {message}");
        }
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name` as the superuser.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// A new, empty database of its own for one test; dropped with the returned value.
    ///
    /// # Panics
    ///
    /// When the server refuses.
    pub fn database(&self) -> TestDatabase {
        let name = format!(
            "mw_{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::Relaxed)
        );
        admin(&self.url("postgres"), &format!("CREATE DATABASE {name}"));
        TestDatabase {
            url: self.url(&name),
            admin_url: self.url("postgres"),
            name,
        }
    }
}

/// A database of one test, dropped (with its connections) when this value is.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    /// Its URL: `postgres://postgres@127.0.0.1:<port>/<name>`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // A failure here (the server stopped by the test) leaves a database in a cluster
        // that goes away with the test process.
        let _ = std::thread::spawn(move || {
            if let Ok(mut client) = postgres::Client::connect(&admin_url, postgres::NoTls) {
                let _ = client.batch_execute(&sql);
            }
        })
        .join();
    }
}

/// Runs one statement as the superuser, on a thread of its own (the synchronous client must
/// not run inside a test's Tokio runtime).
fn admin(url: &str, sql: &str) {
    let url = url.to_string();
    let sql = sql.to_string();
    let done = std::thread::spawn(move || -> Result<(), String> {
        let mut client = postgres::Client::connect(&url, postgres::NoTls)
            .map_err(|error| format!("cannot connect to {url}: {error}"))?;
        client
            .batch_execute(&sql)
            .map_err(|error| format!("{sql} failed: {error}"))
    })
    .join();
    match done {
        Ok(Ok(())) => {}
        Ok(Err(message)) => panic!("{message}"),
        Err(_) => panic!("the admin connection panicked"),
    }
}

fn programs() -> Option<(PathBuf, PathBuf)> {
    let initdb = find_program("initdb", "postgresql")?;
    let postgres = find_program("postgres", "postgresql")?;
    Some((initdb, postgres))
}

/// The `postgres` user's ids when running as root (PostgreSQL refuses root), else `None`.
fn postgres_user() -> Result<Option<(u32, u32)>, String> {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().next())
                .and_then(|id| id.parse::<u32>().ok())
        });
    if uid != Some(0) {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd")
        .map_err(|error| format!("cannot read /etc/passwd: {error}"))?;
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&"postgres") && fields.len() > 3).then(|| {
                Some((
                    fields[2].parse::<u32>().ok()?,
                    fields[3].parse::<u32>().ok()?,
                ))
            })?
        })
        .map(Some)
        .ok_or_else(|| "running as root, and there is no postgres user to run PostgreSQL as".into())
}

fn command(run_as: Option<(u32, u32)>, program: &Path) -> std::process::Command {
    match run_as {
        Some((uid, gid)) => {
            let mut command = std::process::Command::new("setpriv");
            command
                .arg(format!("--reuid={uid}"))
                .arg(format!("--regid={gid}"))
                .arg("--clear-groups")
                .arg(program);
            command
        }
        None => std::process::Command::new(program),
    }
}
