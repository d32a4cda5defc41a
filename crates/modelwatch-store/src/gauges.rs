//! What `GET /metrics` reads of the store at scrape time: how many jobs are in each state, and
//! how many bytes the store takes on disk (the database file and its write-ahead log).

use std::path::PathBuf;

use crate::{JobState, SqliteStore, StoreError};

impl SqliteStore {
    /// How many jobs are in each state: every state, in [`JobState::ALL`]'s order, 0 when none.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sqlite`] when the read fails.
    pub fn job_counts(&self) -> Result<Vec<(JobState, u64)>, StoreError> {
        let stored: Vec<(String, i64)> = self.rows(
            "counting jobs by state",
            "SELECT state, COUNT(*) FROM jobs GROUP BY state",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        Ok(JobState::ALL
            .into_iter()
            .map(|state| {
                let count = (stored.iter())
                    .find(|(name, _)| name == state.as_str())
                    .map_or(0, |(_, count)| u64::try_from(*count).unwrap_or(0));
                (state, count)
            })
            .collect())
    }

    /// Bytes of the database file and its write-ahead log on disk; a file that is not there
    /// (the log after a checkpoint that truncated it) counts 0.
    pub fn disk_bytes(&self) -> u64 {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        [self.path.clone(), PathBuf::from(wal)]
            .iter()
            .filter_map(|file| std::fs::metadata(file).ok())
            .map(|metadata| metadata.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use crate::{JobState, SqliteStore};

    #[test]
    fn an_empty_store_has_every_job_state_at_zero_and_a_size() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let counts = store.job_counts().unwrap();
        assert_eq!(
            counts,
            JobState::ALL
                .into_iter()
                .map(|state| (state, 0))
                .collect::<Vec<_>>()
        );
        let db = std::fs::metadata(store.path()).unwrap().len();
        assert!(db > 0);
        assert!(store.disk_bytes() >= db);
    }
}
