//! Fault injection for tests (cargo feature `fault-injection`): make a store's writes fail the
//! way a full or failing disk makes them fail, from a test that does not own the [`Store`](crate::Store).
//!
//! A [`FaultInjector`] is found by the data directory ([`FaultInjector::for_dir`]), so a test
//! can reach the store a service opened inside itself. Every store on that directory's
//! database obeys it, at every write transaction (a commit, a points flush or flush step, a
//! snapshot or snapshot step, a retention step, a version change):
//! - [`FaultInjector::fail_next_writes`]: the next `n` writes fail at their `COMMIT` with
//!   `SQLITE_FULL` (the whole transaction was written, then rolled back);
//! - [`FaultInjector::fail_writes`]: every write fails so, until [`FaultInjector::heal`];
//! - [`FaultInjector::fill_disk`]: SQLite's own `SQLITE_FULL`: the writer's connection may not
//!   grow the database file past its current size (`PRAGMA max_page_count`), so a write that
//!   needs a new page fails where SQLite finds out, and one that fits in free pages succeeds,
//!   as on a real full disk.
//!
//! Without the feature the hook is a unit type whose checks compile to nothing.
//!
//! [`Store`](crate::Store): crate::Store

#[cfg(feature = "fault-injection")]
pub use injector::FaultInjector;
#[cfg(feature = "fault-injection")]
pub(crate) use injector::Hook;

/// What a store checks at each write: nothing, without the `fault-injection` feature.
#[cfg(not(feature = "fault-injection"))]
#[derive(Debug, Default)]
pub(crate) struct Hook;

#[cfg(not(feature = "fault-injection"))]
impl Hook {
    pub(crate) fn for_database(_path: &std::path::Path) -> Hook {
        Hook
    }

    #[allow(clippy::unused_self, clippy::unnecessary_wraps)]
    pub(crate) fn before_write(
        &mut self,
        _connection: &rusqlite::Connection,
    ) -> rusqlite::Result<()> {
        Ok(())
    }

    #[allow(clippy::unused_self, clippy::unnecessary_wraps)]
    pub(crate) fn before_commit(&self) -> rusqlite::Result<()> {
        Ok(())
    }
}

#[cfg(feature = "fault-injection")]
mod injector {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, LazyLock, Mutex, PoisonError};

    use rusqlite::Connection;
    use rusqlite::ffi;

    use crate::DB_FILE;

    /// What the tests asked of one database.
    #[derive(Debug, Default)]
    struct Faults {
        /// Writes left to fail at their commit.
        fail_next: AtomicU64,
        /// Every write fails at its commit.
        fail_all: AtomicBool,
        /// The database may not grow.
        full: AtomicBool,
        /// Writes failed so far by injection (not by SQLite's page limit).
        injected: AtomicU64,
    }

    /// Every database tests injected faults into, by canonical path.
    static DATABASES: LazyLock<Mutex<HashMap<PathBuf, Arc<Faults>>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));

    fn faults_of(database: &Path) -> Arc<Faults> {
        let key = database
            .parent()
            .and_then(|dir| dir.canonicalize().ok())
            .map_or_else(|| database.to_path_buf(), |dir| dir.join(DB_FILE));
        let mut databases = DATABASES.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(databases.entry(key).or_default())
    }

    /// Makes the writes of every store on one data directory fail, for tests (see the module
    /// documentation). Clone it freely; every clone acts on the same directory.
    #[derive(Clone, Debug)]
    pub struct FaultInjector {
        faults: Arc<Faults>,
    }

    impl FaultInjector {
        /// The injector of the store in data directory `dir` (opened or not yet).
        pub fn for_dir(dir: &Path) -> FaultInjector {
            FaultInjector {
                faults: faults_of(&dir.join(DB_FILE)),
            }
        }

        /// The next `n` write transactions fail at their `COMMIT` with `SQLITE_FULL`, after
        /// everything else in them was written (then they roll back).
        pub fn fail_next_writes(&self, n: u64) {
            self.faults.fail_next.store(n, Ordering::SeqCst);
        }

        /// Every write transaction fails at its `COMMIT` with `SQLITE_FULL` until
        /// [`FaultInjector::heal`].
        pub fn fail_writes(&self) {
            self.faults.fail_all.store(true, Ordering::SeqCst);
        }

        /// From the next write on, the database file may not grow past the size it has then
        /// (`PRAGMA max_page_count` on the writing connection): SQLite itself answers
        /// `SQLITE_FULL` ("database or disk is full") to a write that needs a new page, until
        /// [`FaultInjector::heal`].
        pub fn fill_disk(&self) {
            self.faults.full.store(true, Ordering::SeqCst);
        }

        /// Ends every fault: the next write behaves normally.
        pub fn heal(&self) {
            self.faults.fail_next.store(0, Ordering::SeqCst);
            self.faults.fail_all.store(false, Ordering::SeqCst);
            self.faults.full.store(false, Ordering::SeqCst);
        }

        /// How many writes failed by injection so far ([`FaultInjector::fail_next_writes`]
        /// and [`FaultInjector::fail_writes`]; not those SQLite refused for a full disk).
        pub fn injected(&self) -> u64 {
            self.faults.injected.load(Ordering::SeqCst)
        }
    }

    /// What one store checks at each write.
    #[derive(Debug)]
    pub(crate) struct Hook {
        faults: Arc<Faults>,
        /// The page limit this connection had before [`FaultInjector::fill_disk`], while it
        /// runs with a lower one.
        capped_from: Option<i64>,
    }

    impl Hook {
        pub(crate) fn for_database(path: &Path) -> Hook {
            Hook {
                faults: faults_of(path),
                capped_from: None,
            }
        }

        /// Applies or lifts the page limit of [`FaultInjector::fill_disk`]; called outside
        /// any transaction.
        pub(crate) fn before_write(&mut self, connection: &Connection) -> rusqlite::Result<()> {
            let full = self.faults.full.load(Ordering::SeqCst);
            match (full, self.capped_from) {
                (true, None) => {
                    let limit: i64 =
                        connection.query_row("PRAGMA max_page_count", [], |row| row.get(0))?;
                    let pages: i64 =
                        connection.query_row("PRAGMA page_count", [], |row| row.get(0))?;
                    connection.query_row(
                        &format!("PRAGMA max_page_count = {pages}"),
                        [],
                        |_| Ok(()),
                    )?;
                    self.capped_from = Some(limit);
                }
                (false, Some(limit)) => {
                    connection.query_row(
                        &format!("PRAGMA max_page_count = {limit}"),
                        [],
                        |_| Ok(()),
                    )?;
                    self.capped_from = None;
                }
                _ => {}
            }
            Ok(())
        }

        /// Fails the commit about to happen when a test asked for it.
        pub(crate) fn before_commit(&self) -> rusqlite::Result<()> {
            let faults = &self.faults;
            let next = faults
                .fail_next
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                })
                .is_ok();
            if next || faults.fail_all.load(Ordering::SeqCst) {
                faults.injected.fetch_add(1, Ordering::SeqCst);
                return Err(rusqlite::Error::SqliteFailure(
                    ffi::Error::new(ffi::SQLITE_FULL),
                    Some("database or disk is full (injected)".to_string()),
                ));
            }
            Ok(())
        }
    }
}
