//! Finding a server's program on PATH (or where Debian puts PostgreSQL's), and what a test
//! does when it is missing: skip, or fail under `MODELWATCH_REQUIRE_SERVERS=1`.

use std::path::{Path, PathBuf};

/// Whether missing servers fail the tests (`MODELWATCH_REQUIRE_SERVERS=1`) instead of
/// skipping them.
pub fn require_servers() -> bool {
    std::env::var("MODELWATCH_REQUIRE_SERVERS").as_deref() == Ok("1")
}

/// The path of `program`: on PATH, else in PostgreSQL's versioned directories
/// (`/usr/lib/postgresql/<version>/bin`, newest first, where Debian installs `initdb` and
/// `postgres`). When it is nowhere, prints why the test skips and returns `None`, or panics
/// naming the Debian `package` to install when [`require_servers`].
#[allow(clippy::print_stderr)] // the skip message is the one thing a skipped test says
pub fn find_program(program: &str, package: &str) -> Option<PathBuf> {
    let found = on_path(program).or_else(|| in_postgres_dirs(program));
    if found.is_none() {
        let message = format!(
            "{program} is not on PATH; install the Debian package `{package}` \
             (apt-get install --no-install-recommends {package})"
        );
        assert!(
            !require_servers(),
            "MODELWATCH_REQUIRE_SERVERS=1: {message}"
        );
        eprintln!("skipped: {message}");
    }
    found
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn in_postgres_dirs(program: &str) -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(Path::new("/usr/lib/postgresql"))
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin").join(program)))
        })
        .filter(|(_, candidate)| candidate.is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, candidate)| candidate)
}
