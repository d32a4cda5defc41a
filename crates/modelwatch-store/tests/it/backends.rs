//! The conformance suite's backends: every test written as `fn name(backend: Backend)` and
//! listed in [`on_each_backend!`] runs on SQLite (a temporary directory) and on PostgreSQL
//! (a fresh database on the test process's server, see `modelwatch-testkit`). Without
//! PostgreSQL installed the PostgreSQL runs skip, or fail under
//! `MODELWATCH_REQUIRE_SERVERS=1`.

use modelwatch_store::{Store, StoreLocation};
use modelwatch_testkit::{PostgresServer, TestDatabase};

/// Which backend a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// A store opened for a test, with what keeps its database alive.
/// Keep it whole while the store is used: its parts keep the database alive (destructuring
/// `Opened { store, .. }` drops the test database at once).
pub(crate) struct Opened {
    pub(crate) store: Store,
    pub(crate) location: StoreLocation,
    /// The SQLite data directory (also a scratch directory on PostgreSQL).
    _dir: tempfile::TempDir,
    _database: Option<TestDatabase>,
}

impl Opened {
    /// Another store on the same database (a restart, or a reader beside the writer).
    pub(crate) fn reopen(&self) -> Store {
        Store::open_at(&self.location).unwrap()
    }
}

impl Backend {
    /// A new, empty store; `None` when the backend's server is not installed (the test
    /// skips).
    pub(crate) fn open(self) -> Option<Opened> {
        let dir = tempfile::tempdir().unwrap();
        let (location, database) = match self {
            Backend::Sqlite => (StoreLocation::Directory(dir.path().to_path_buf()), None),
            Backend::Postgres => {
                let database = PostgresServer::shared()?.database();
                (
                    StoreLocation::Postgres(database.url().to_string()),
                    Some(database),
                )
            }
        };
        Some(Opened {
            store: Store::open_at(&location).unwrap(),
            location,
            _dir: dir,
            _database: database,
        })
    }
}

/// For each `name`, a module `name` with the tests `sqlite` and `postgres`, each calling
/// `name(Backend::...)`.
macro_rules! on_each_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::backends::Backend::Sqlite);
            }

            #[test]
            fn postgres() {
                super::$name($crate::backends::Backend::Postgres);
            }
        }
    )*};
}
