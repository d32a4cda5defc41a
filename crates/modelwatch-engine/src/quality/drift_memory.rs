//! The bytes the drift state holds in memory (`docs/drift.md`, "In `serve` and `replay`"):
//! the reference tables (each version's first predictions, the uploaded one), their prepared
//! forms, and every instance's open window and latest compared one.

use super::drift::Table;
use super::tracker::QualityTracker;

impl QualityTracker {
    /// Bytes the drift state holds: reference tables and their prepared forms, open windows
    /// and the latest compared ones.
    pub fn drift_bytes(&self) -> usize {
        self.models
            .values()
            .map(|traffic| {
                let firsts = traffic.drift_references.iter().map(|(_, table)| table);
                let uploaded = traffic.uploaded.iter().map(|upload| &upload.table.table);
                let windows = traffic.instances.iter().flat_map(|instance| {
                    std::iter::once(&instance.drift).chain(instance.last_drift.as_ref())
                });
                let tables: usize = firsts
                    .chain(uploaded)
                    .chain(windows)
                    .map(Table::memory_bytes)
                    .sum();
                tables + traffic.drift_prepared.memory_bytes()
            })
            .sum()
    }
}
