//! The pending join: predictions of one model waiting for their labels, in at most 64 bytes
//! each.
//!
//! A prediction is kept as a [`Pending`] of 40 bytes: a 96-bit key (the first 12 bytes of the
//! SHA-256 of its id; the id itself is not kept), its time, its output and score, and which
//! instance of the model made it. Entries sit in a dense slab that grows by a quarter at a
//! time, found through a table of 4-byte slab indices; so a pending prediction costs 40 bytes
//! times the slab's slack (at most 1.25) plus the table's 5 bytes per bucket (a load factor
//! from 7/16 to 7/8): between 50 and 62 bytes ([`PendingJoin::memory_bytes`]; BENCHMARKS.md,
//! "Predictions and labels", has the figures at 1, 5 and 10 million). Features are never kept
//! here.
//!
//! Two ids collide when their keys are equal: with 10 million predictions pending, the
//! chance that any two of them do is about 6 in 10^16. A collision makes the later prediction
//! count as a duplicate of the earlier one.
//!
//! The slab's order is a function of the inputs (pushes at the end, removals move the last
//! entry into the hole), so the same inputs give the same slab, and a snapshot that keeps the
//! order restores the same state.

use hashbrown::HashTable;
use sha2::{Digest, Sha256};

/// A prediction id's key: the first 12 bytes of its SHA-256.
pub type IdKey = [u32; 3];

/// The key of a prediction id.
pub fn id_key(id: &str) -> IdKey {
    let digest = Sha256::digest(id.as_bytes());
    let word = |at: usize| {
        u32::from_le_bytes([digest[at], digest[at + 1], digest[at + 2], digest[at + 3]])
    };
    [word(0), word(4), word(8)]
}

/// One prediction waiting for its label: 40 bytes, aligned to 4.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pending {
    key: IdKey,
    time: [u32; 2],
    output: [u32; 2],
    score: [u32; 2],
    /// The model instance (an index into the model's instances).
    pub instance: u32,
}

fn split(bits: u64) -> [u32; 2] {
    [bits as u32, (bits >> 32) as u32]
}

fn join(parts: [u32; 2]) -> u64 {
    u64::from(parts[0]) | (u64::from(parts[1]) << 32)
}

impl Pending {
    /// A pending prediction: `output` is a class index or a regression value's bits, `score`
    /// the bits of the positive class's probability (or of the score row's index, for a
    /// multiclass model with scores), `u64::MAX` for none.
    pub fn new(key: IdKey, time: i64, instance: u32, output: u64, score: u64) -> Pending {
        Pending {
            key,
            time: split(time as u64),
            output: split(output),
            score: split(score),
            instance,
        }
    }

    /// The id's key.
    pub fn key(&self) -> IdKey {
        self.key
    }

    /// When the prediction was made (nanoseconds since the epoch).
    pub fn time(&self) -> i64 {
        join(self.time) as i64
    }

    /// The output as given to [`Pending::new`].
    pub fn output(&self) -> u64 {
        join(self.output)
    }

    /// The score as given to [`Pending::new`].
    pub fn score(&self) -> u64 {
        join(self.score)
    }
}

fn hash(key: &IdKey) -> u64 {
    u64::from(key[0]) | (u64::from(key[1]) << 32)
}

/// The predictions of one model waiting for their labels.
#[derive(Clone, Debug, Default)]
pub struct PendingJoin {
    slab: Vec<Pending>,
    index: HashTable<u32>,
}

impl PartialEq for PendingJoin {
    fn eq(&self, other: &PendingJoin) -> bool {
        self.slab == other.slab
    }
}

/// The most predictions one model may have pending: slab indices are 32 bits.
pub const MAX_PENDING: usize = u32::MAX as usize;

impl PendingJoin {
    /// A join holding `entries` in this order (from a snapshot), or `None` if two share a key
    /// or there are too many.
    pub fn from_entries(entries: Vec<Pending>) -> Option<PendingJoin> {
        let mut join = PendingJoin::default();
        join.index
            .reserve(entries.len(), |at| hash(&entries[*at as usize].key));
        join.slab = entries;
        for at in 0..join.slab.len() {
            if !join.index_entry(at)? {
                return None;
            }
        }
        Some(join)
    }

    /// The entries in slab order.
    pub fn entries(&self) -> &[Pending] {
        &self.slab
    }

    /// How many predictions wait.
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.slab.is_empty()
    }

    /// Bytes held in memory: the slab's capacity and the table's allocation (every bucket,
    /// with its control byte, not only the 7/8 of them that may be filled).
    pub fn memory_bytes(&self) -> usize {
        self.slab.capacity() * std::mem::size_of::<Pending>() + self.index.allocation_size()
    }

    fn index_entry(&mut self, at: usize) -> Option<bool> {
        let key = self.slab.get(at)?.key;
        let slab = &self.slab;
        if self
            .index
            .find(hash(&key), |other| slab[*other as usize].key == key)
            .is_some()
        {
            return Some(false);
        }
        let position = u32::try_from(at).ok()?;
        self.index.insert_unique(hash(&key), position, |other| {
            hash(&slab[*other as usize].key)
        });
        Some(true)
    }

    /// Adds a prediction. `false` (and nothing changes) when one with the same key waits
    /// already, or the join is full.
    pub fn insert(&mut self, pending: Pending) -> bool {
        if self.slab.len() >= MAX_PENDING {
            return false;
        }
        if self.slab.len() == self.slab.capacity() {
            // Grow by a quarter, not double: the slab's slack stays under 25 %.
            let more = (self.slab.len() / 4).max(16);
            self.slab.reserve_exact(more);
        }
        self.slab.push(pending);
        match self.index_entry(self.slab.len() - 1) {
            Some(true) => true,
            _ => {
                self.slab.pop();
                false
            }
        }
    }

    /// Takes the prediction with `key` out, if one waits.
    pub fn remove(&mut self, key: &IdKey) -> Option<Pending> {
        let slab = &self.slab;
        let entry = self
            .index
            .find_entry(hash(key), |at| slab[*at as usize].key == *key)
            .ok()?;
        let (at, _) = entry.remove();
        Some(self.take(at as usize))
    }

    /// Removes the entry at slab position `at` (already out of the index), moving the last
    /// entry into its place.
    fn take(&mut self, at: usize) -> Pending {
        let last = self.slab.len() - 1;
        if at != last {
            let moved = self.slab[last].key;
            let slab = &self.slab;
            if let Some(slot) = self
                .index
                .find_mut(hash(&moved), |other| slab[*other as usize].key == moved)
            {
                *slot = at as u32;
            }
        }
        let removed = self.slab.swap_remove(at);
        self.shrink_if_sparse();
        removed
    }

    fn shrink_if_sparse(&mut self) {
        if self.slab.capacity() > 64 && self.slab.len() < self.slab.capacity() / 2 {
            let target = self.slab.len() + self.slab.len() / 4;
            self.slab.shrink_to(target);
            let slab = &self.slab;
            self.index.shrink_to(0, |at| hash(&slab[*at as usize].key));
        }
    }

    /// Removes every prediction made before `cutoff` (nanoseconds), calling `expired` on each
    /// in slab order.
    pub fn expire_before(&mut self, cutoff: i64, mut expired: impl FnMut(&Pending)) {
        let mut at = 0;
        while at < self.slab.len() {
            if self.slab[at].time() < cutoff {
                let key = self.slab[at].key;
                let slab = &self.slab;
                if let Ok(entry) = self
                    .index
                    .find_entry(hash(&key), |other| slab[*other as usize].key == key)
                {
                    entry.remove();
                }
                let removed = self.take(at);
                expired(&removed);
            } else {
                at += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(id: &str, time: i64) -> Pending {
        Pending::new(id_key(id), time, 0, 1, u64::MAX)
    }

    #[test]
    fn a_pending_prediction_takes_forty_bytes() {
        assert_eq!(std::mem::size_of::<Pending>(), 40);
    }

    #[test]
    fn joins_once_and_refuses_duplicates() {
        let mut join = PendingJoin::default();
        assert!(join.insert(pending("a", 1)));
        assert!(join.insert(pending("b", 2)));
        assert!(!join.insert(pending("a", 3)));
        assert_eq!(join.len(), 2);
        assert_eq!(join.remove(&id_key("a")).map(|p| p.time()), Some(1));
        assert_eq!(join.remove(&id_key("a")), None);
        assert_eq!(join.remove(&id_key("b")).map(|p| p.time()), Some(2));
        assert!(join.is_empty());
    }

    #[test]
    fn removals_keep_every_other_entry_findable() {
        let mut join = PendingJoin::default();
        for n in 0..1000 {
            assert!(join.insert(pending(&format!("id-{n}"), n)));
        }
        for n in (0..1000).step_by(3) {
            assert_eq!(
                join.remove(&id_key(&format!("id-{n}"))).map(|p| p.time()),
                Some(n)
            );
        }
        let mut expired = Vec::new();
        join.expire_before(500, |p| expired.push(p.time()));
        assert_eq!(expired.len(), (0..500).filter(|n| n % 3 != 0).count());
        for n in 500..1000 {
            let found = join.remove(&id_key(&format!("id-{n}"))).map(|p| p.time());
            assert_eq!(found, (n % 3 != 0).then_some(n));
        }
        assert!(join.is_empty());
    }

    #[test]
    fn memory_counts_every_bucket_and_stays_under_64_bytes_a_prediction() {
        let mut join = PendingJoin::default();
        let mut worst = 0.0f64;
        for n in 0..150_000 {
            assert!(join.insert(pending(&format!("id-{n}"), n)));
            if join.len() >= 10_000 {
                worst = worst.max(join.memory_bytes() as f64 / join.len() as f64);
            }
        }
        // The table fills at most 7/8 of its buckets; each bucket is a u32 and a control byte.
        let buckets = join.index.capacity() / 7 * 8;
        assert!(join.memory_bytes() >= join.slab.capacity() * 40 + buckets * 5);
        assert!(worst <= 64.0, "{worst} bytes a pending prediction");
    }

    #[test]
    fn restores_from_its_entries_in_the_same_order() {
        let mut join = PendingJoin::default();
        for n in 0..100 {
            join.insert(pending(&format!("id-{n}"), n));
        }
        join.remove(&id_key("id-7"));
        let restored = PendingJoin::from_entries(join.entries().to_vec()).unwrap();
        assert_eq!(restored, join);
        assert!(restored.entries().iter().all(|p| p.key() != id_key("id-7")));
        let mut twice = join.entries().to_vec();
        twice.push(twice[0]);
        assert!(PendingJoin::from_entries(twice).is_none());
    }
}
