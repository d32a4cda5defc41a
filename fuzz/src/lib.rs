//! What the fuzz targets share: a scratch store on a temporary directory that cleans up
//! after the runs that could not (libFuzzer ends a run with `exit`, so no destructor runs).

use std::path::{Path, PathBuf};

use modelwatch_engine::{Input, Timestamp};
use modelwatch_store::{Batch, Record, Store};

/// Commits after which the scratch store starts again empty, so that a long run's store (and
/// the points it buffers) stays small.
const COMMITS_PER_STORE: usize = 2_000;

/// The prefix of every scratch directory; the owning process id ends the name.
const PREFIX: &str = "modelwatch-fuzz-";

/// Where scratch directories go: `MODELWATCH_FUZZ_SCRATCH`, else `/dev/shm` (memory: SQLite's
/// syncs cost nothing there), else the system's temporary directory.
pub fn scratch_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("MODELWATCH_FUZZ_SCRATCH") {
        return PathBuf::from(dir);
    }
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        return shm.to_path_buf();
    }
    std::env::temp_dir()
}

/// A fresh directory `<root>/modelwatch-fuzz-<what>-<pid>`, after removing those left by
/// processes that are gone.
pub fn scratch_dir(what: &str) -> PathBuf {
    let root = scratch_root();
    remove_stale(&root);
    let dir = root.join(format!("{PREFIX}{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(error) = std::fs::create_dir_all(&dir) {
        panic!(
            "cannot create the scratch directory {}: {error}",
            dir.display()
        );
    }
    dir
}

/// Removes the scratch directories whose process no longer runs.
fn remove_stale(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some(pid) = rest
            .rsplit('-')
            .next()
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A store on a scratch directory, written and read back the way the service does.
#[derive(Debug)]
pub struct ScratchStore {
    what: String,
    dir: PathBuf,
    store: Store,
    last_seq: u64,
    commits: usize,
}

impl ScratchStore {
    /// An empty store in a fresh scratch directory named after `what`.
    pub fn new(what: &str) -> ScratchStore {
        let dir = scratch_dir(what);
        let store = open(&dir);
        ScratchStore {
            what: what.to_string(),
            dir,
            store,
            last_seq: 0,
            commits: 0,
        }
    }

    /// Commits `inputs` (each stamped) in one batch, numbered after the last, and reads them
    /// back.
    pub fn round_trip(&mut self, inputs: &[Input], received_at: Timestamp) -> Vec<Input> {
        if self.commits >= COMMITS_PER_STORE {
            *self = ScratchStore::new(&self.what);
        }
        self.commits += 1;
        let mut batch = Batch::new();
        for (seq, input) in (self.last_seq + 1..).zip(inputs) {
            let record = Record {
                seq,
                received_at,
                input: input.clone(),
            };
            batch.push(record, []);
        }
        if let Err(error) = self.store.commit(&batch) {
            panic!("the store refused inputs the wire parser accepted: {error}");
        }
        let read = match self.store.inputs_after(self.last_seq, inputs.len()) {
            Ok(read) => read,
            Err(error) => {
                panic!("the store cannot read back inputs the wire parser accepted: {error}")
            }
        };
        self.last_seq += inputs.len() as u64;
        read.into_iter().map(|stored| stored.input).collect()
    }

    /// The scratch directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn open(dir: &Path) -> Store {
    match Store::open(dir) {
        Ok(store) => store,
        Err(error) => panic!("cannot open a scratch store in {}: {error}", dir.display()),
    }
}
