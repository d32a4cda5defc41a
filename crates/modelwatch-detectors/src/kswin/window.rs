//! KSWIN's sliding window, kept sorted incrementally, and the KS count `h` of one test: River's
//! random sample `W` of the oldest `window_size - stat_size` points against the newest
//! `stat_size` points `R`, in one branch-free pass over the sorted window.

use std::hint::select_unpredictable;

use super::cpython_random::{CpythonRandom, SampleMethod, pool_scratch_len, sample_method};

/// A total order on `f64` that agrees with numpy's sort and `searchsorted`: `-0.0 == 0.0`,
/// every NaN equal to every other and above `+inf`.
#[inline]
pub(crate) fn order_key(x: f64) -> u64 {
    if x.is_nan() {
        return u64::MAX;
    }
    // `-0.0 + 0.0 == +0.0`, so both zeros get one key.
    let bits = (x + 0.0).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// The value an order key stands for: the inverse of [`order_key`] (every NaN is one NaN, and
/// `-0.0` is `0.0`, as the window sees them).
#[cfg(feature = "serde")]
fn key_value(key: u64) -> f64 {
    if key == u64::MAX {
        f64::NAN
    } else if key >> 63 == 1 {
        f64::from_bits(key & !(1 << 63))
    } else {
        f64::from_bits(!key)
    }
}

/// One point of the sorted window.
#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    /// Its order key.
    key: u64,
    /// Its ring slot.
    slot: u32,
    /// -1 (all ones) if the next entry has a different key or there is none, else 0.
    run_end: i32,
}

/// The last `capacity` points, as order keys, in a ring (by arrival) and sorted.
///
/// Each point lives in one ring slot from arrival to eviction; `sorted` holds the points
/// ordered by key, equal keys in arrival order, each with its slot and whether it ends a run of
/// equal keys. A point's window position (0 = oldest) is `(slot - head) mod capacity`.
///
/// Between updates `weights[slot]` is -1 for the newest `stat_size` points (`R`) and 0 for the
/// others; a test adds +1 for each sampled point (`W`), walks the sorted window once summing
/// weights, then removes the +1s again.
#[derive(Clone, Debug)]
pub(crate) struct SortedWindow {
    /// `window_size`.
    capacity: usize,
    /// `window_size - stat_size`: the positions River samples from.
    pool_len: usize,
    /// `stat_size`.
    sample_len: usize,
    method: SampleMethod,
    /// Order key per ring slot.
    ring: Vec<u64>,
    /// Ring slot of the oldest point.
    head: usize,
    /// Points in the window.
    len: usize,
    /// The points by key; the first `len` entries are used.
    sorted: Vec<Entry>,
    /// Per ring slot: -1 in `R`, +1 while sampled during a test, else 0.
    weights: Vec<i32>,
    /// The ring slots sampled by the current test (`stat_size` entries).
    chosen: Vec<u32>,
    /// Scratch of the pool method.
    pool: Vec<u32>,
    /// Scratch of the set method (all false between tests).
    taken: Vec<bool>,
}

impl SortedWindow {
    /// An empty window of `capacity` points testing `sample_len` against `sample_len`;
    /// `1 <= sample_len`, `2 * sample_len <= capacity <= u32::MAX`.
    pub(crate) fn new(capacity: usize, sample_len: usize) -> SortedWindow {
        debug_assert!(sample_len >= 1 && 2 * sample_len <= capacity);
        let pool_len = capacity - sample_len;
        let method = sample_method(pool_len, sample_len);
        let scratch = pool_scratch_len(pool_len);
        let (pool, taken) = match method {
            SampleMethod::Pool => (vec![0; scratch], Vec::new()),
            SampleMethod::Set => (Vec::new(), vec![false; scratch]),
        };
        SortedWindow {
            capacity,
            pool_len,
            sample_len,
            method,
            ring: vec![0; capacity],
            head: 0,
            len: 0,
            sorted: vec![Entry::default(); capacity],
            weights: vec![0; capacity],
            chosen: vec![0; sample_len],
            pool,
            taken,
        }
    }

    /// The points, oldest first (as the values their order keys stand for).
    #[cfg(feature = "serde")]
    pub(crate) fn values(&self) -> Vec<f64> {
        (0..self.len)
            .map(|position| key_value(self.ring[self.slot_of(position)]))
            .collect()
    }

    /// A window like [`SortedWindow::new`]'s holding `values`, oldest first; `None` if they are
    /// more than `capacity`. The points take the ring slots from 0: which slot holds a point
    /// never changes a test's result, only its window position does.
    #[cfg(feature = "serde")]
    pub(crate) fn with_values(
        capacity: usize,
        sample_len: usize,
        values: &[f64],
    ) -> Option<SortedWindow> {
        let len = values.len();
        if len > capacity {
            return None;
        }
        let mut window = SortedWindow::new(capacity, sample_len);
        for (slot, &value) in values.iter().enumerate() {
            let key = order_key(value);
            window.ring[slot] = key;
            window.sorted[slot] = Entry {
                key,
                slot: slot as u32,
                run_end: 0,
            };
        }
        window.len = len;
        // A stable sort: equal keys stay in arrival order, as `push` keeps them.
        window.sorted[..len].sort_by_key(|entry| entry.key);
        for index in 0..len {
            window.refresh_run_end(index);
        }
        if window.is_full() {
            for position in 0..capacity {
                let slot = window.slot_of(position);
                window.weights[slot] = if position >= window.pool_len { -1 } else { 0 };
            }
        }
        Some(window)
    }

    /// `window_size`.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Points in the window.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the window holds `capacity` points.
    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        self.len == self.capacity
    }

    /// Empties the window (no allocation).
    pub(crate) fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// The ring slot of window position `position < capacity`.
    #[inline]
    fn slot_of(&self, position: usize) -> usize {
        let slot = self.head + position;
        // Sampled positions are random: a branch here would be mispredicted half the time.
        select_unpredictable(
            slot >= self.capacity,
            slot.wrapping_sub(self.capacity),
            slot,
        )
    }

    /// Recomputes `run_end` of sorted entry `index`, if it is one of the first `len`.
    #[inline]
    fn refresh_run_end(&mut self, index: usize) {
        if index < self.len {
            let ends =
                index + 1 == self.len || self.sorted[index].key != self.sorted[index + 1].key;
            self.sorted[index].run_end = -i32::from(ends);
        }
    }

    /// Appends a point (evicting the oldest when full); returns whether the window is full.
    #[inline]
    pub(crate) fn push(&mut self, key: u64) -> bool {
        if self.len < self.capacity {
            self.push_filling(key)
        } else {
            self.push_full(key);
            true
        }
    }

    fn push_filling(&mut self, key: u64) -> bool {
        let slot = self.slot_of(self.len);
        self.ring[slot] = key;
        let len = self.len;
        // After every equal key: equal keys stay in arrival order.
        let at = self.sorted[..len].partition_point(|entry| entry.key <= key);
        self.sorted.copy_within(at..len, at + 1);
        self.sorted[at] = Entry {
            key,
            slot: slot as u32,
            run_end: 0,
        };
        self.len += 1;
        self.refresh_run_end(at.wrapping_sub(1));
        self.refresh_run_end(at);
        if self.len < self.capacity {
            return false;
        }
        for position in 0..self.capacity {
            let slot = self.slot_of(position);
            self.weights[slot] = if position >= self.pool_len { -1 } else { 0 };
        }
        true
    }

    #[inline]
    fn push_full(&mut self, key: u64) {
        // The new point takes the oldest point's slot.
        let slot = self.head;
        let old = self.ring[slot];
        self.ring[slot] = key;
        self.head = if slot + 1 == self.capacity {
            0
        } else {
            slot + 1
        };
        // The oldest point is the first of its equal keys.
        let from = self.sorted.partition_point(|entry| entry.key < old);
        debug_assert_eq!(self.sorted[from].slot as usize, slot);
        let upper = self.sorted.partition_point(|entry| entry.key <= key);
        let to = if upper > from {
            self.sorted.copy_within(from + 1..upper, from);
            upper - 1
        } else {
            self.sorted.copy_within(upper..from, upper + 1);
            upper
        };
        self.sorted[to] = Entry {
            key,
            slot: slot as u32,
            run_end: 0,
        };
        // Shifted entries keep their successor, except around the removal and the insertion.
        for index in [from.wrapping_sub(1), from, to.wrapping_sub(1), to] {
            self.refresh_run_end(index);
        }
        // The oldest point of R moved to the pool; the new point joined R.
        let left_r = self.slot_of(self.pool_len - 1);
        self.weights[left_r] = 0;
        self.weights[slot] = -1;
    }

    /// One test on a full window: River's `rng.sample(range(pool_len), stat_size)` picks `W`;
    /// returns `h = max over v of |#W <= v - #R <= v|`, so that scipy's `D = h / stat_size`.
    #[inline]
    pub(crate) fn ks_count(&mut self, rng: &mut CpythonRandom) -> usize {
        debug_assert!(self.is_full());
        match self.method {
            SampleMethod::Pool => {
                // The population `range(pool_len)` as ring slots, in position order.
                let unwrapped = (self.capacity - self.head).min(self.pool_len);
                let (before_wrap, after_wrap) = self.pool[..self.pool_len].split_at_mut(unwrapped);
                for (entry, slot) in before_wrap.iter_mut().zip(self.head as u32..) {
                    *entry = slot;
                }
                for (entry, slot) in after_wrap.iter_mut().zip(0..) {
                    *entry = slot;
                }
                let (n, k) = (self.pool_len, self.sample_len);
                rng.sample_pool(n, k, &mut self.pool, &mut self.chosen);
            }
            SampleMethod::Set => {
                let (n, k) = (self.pool_len, self.sample_len);
                rng.sample_set(n, k, &mut self.taken, &mut self.chosen);
                for index in 0..self.chosen.len() {
                    self.chosen[index] = self.slot_of(self.chosen[index] as usize) as u32;
                }
            }
        }
        for &slot in &self.chosen {
            self.weights[slot as usize] = 1;
        }
        let h = self.walk();
        for &slot in &self.chosen {
            self.weights[slot as usize] = 0;
        }
        h
    }

    /// The running sum of weights in key order, read at the end of each run of equal keys;
    /// the largest absolute value.
    #[inline]
    fn walk(&mut self) -> usize {
        let mut sum = 0_i32;
        // Two maxima, for alternate entries, halve the loop-carried chain of `max`.
        let mut largest = [0_i32; 2];
        let weights = &self.weights[..];
        let mut pairs = self.sorted.chunks_exact(2);
        for pair in &mut pairs {
            sum += weights[pair[0].slot as usize];
            largest[0] = largest[0].max(sum.abs() & pair[0].run_end);
            sum += weights[pair[1].slot as usize];
            largest[1] = largest[1].max(sum.abs() & pair[1].run_end);
        }
        // The last entry ends the window, where the sum is 0.
        largest[0].max(largest[1]) as usize
    }
}
