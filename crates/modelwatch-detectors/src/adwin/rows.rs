//! ADWIN's bucket rows in flat, fixed-capacity ring buffers.
//!
//! Row `i` holds up to `max_buckets + 1` buckets of `2^i` points, oldest first. Each row is a
//! ring buffer of `slots` (a power of two) entries at `[i * slots, (i + 1) * slots)` of two
//! parallel arrays (totals and variances): merging the two oldest buckets and dropping the oldest
//! bucket only move a head index, and no row is a separate allocation. Rows are added when the
//! window first needs them and kept across [`BucketRows::clear`].

/// The most points [`BucketRows::push_batch`] takes at once.
pub(crate) const MAX_BATCH: usize = 32;

/// The most buckets a row emits while taking [`MAX_BATCH`] buckets: a row that holds at most
/// `max_buckets` emits one merged bucket per two it receives, rounded up.
const MERGED_PER_BATCH: usize = MAX_BATCH / 2 + 1;

/// One row's ring buffer while it takes a batch of buckets.
struct Ring<'a> {
    totals: &'a mut [f64],
    variances: &'a mut [f64],
    state: &'a mut RowState,
    full_len: usize,
    /// Points per bucket of this row.
    size: f64,
}

impl Ring<'_> {
    /// Appends each incoming bucket, merging the two oldest whenever the row is full, as River
    /// does; writes the merged buckets, in order, to `merged` and returns how many there are.
    #[inline(always)]
    fn feed(
        &mut self,
        incoming: impl Iterator<Item = (f64, f64)>,
        merged: &mut [(f64, f64)],
    ) -> usize {
        let mask = self.totals.len().wrapping_sub(1);
        let inverse_size = 1.0 / self.size;
        let mut state = *self.state;
        let mut n_merged = 0;
        for (total, variance) in incoming {
            let newest = (state.head + state.len) & mask;
            if let (Some(total_slot), Some(variance_slot)) =
                (self.totals.get_mut(newest), self.variances.get_mut(newest))
            {
                *total_slot = total;
                *variance_slot = variance;
            }
            state.len += 1;
            if state.len == self.full_len {
                let first = state.head;
                let second = (state.head + 1) & mask;
                state.head = (state.head + 2) & mask;
                state.len -= 2;
                let total0 = self.totals.get(first).copied().unwrap_or(0.0);
                let total1 = self.totals.get(second).copied().unwrap_or(0.0);
                let variance0 = self.variances.get(first).copied().unwrap_or(0.0);
                let variance1 = self.variances.get(second).copied().unwrap_or(0.0);
                // `t / 2^row` and `t * 2^-row` round the same real number: bit-identical to
                // River.
                let mean0 = total0 * inverse_size;
                let mean1 = total1 * inverse_size;
                let bucket = (
                    total0 + total1,
                    variance0 + variance1 + self.size * 0.5 * (mean0 - mean1) * (mean0 - mean1),
                );
                if let Some(slot) = merged.get_mut(n_merged) {
                    *slot = bucket;
                    n_merged += 1;
                }
            }
        }
        *self.state = state;
        n_merged
    }
}

/// `2^exponent` as an `f64`, exact for `exponent < 1024`.
#[inline]
fn power_of_two(exponent: usize) -> f64 {
    f64::from_bits((1023 + exponent as u64) << 52)
}

/// Where a row's buckets are in its ring buffer.
#[derive(Clone, Copy, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct RowState {
    /// Slot of the oldest bucket.
    head: usize,
    /// Buckets in the row.
    len: usize,
}

/// One row's buckets as the cut scan sees them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowView<'a> {
    /// Points per bucket, `2^row`.
    pub(crate) size: f64,
    /// The row's ring buffer of totals; its length is a power of two.
    ring: &'a [f64],
    /// Slot of the oldest bucket.
    head: usize,
    /// Buckets the scan tests, oldest first.
    pub(crate) tested: usize,
}

impl RowView<'_> {
    /// The total of the `k`-th oldest bucket of the row.
    #[inline(always)]
    pub(crate) fn total(&self, k: usize) -> f64 {
        let mask = self.ring.len().wrapping_sub(1);
        self.ring
            .get((self.head + k) & mask)
            .copied()
            .unwrap_or(0.0)
    }
}

/// The bucket rows of one ADWIN window.
#[derive(Clone, Debug)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "BucketRowsState")
)]
pub(crate) struct BucketRows {
    /// Buckets a row holds before it is merged: `max_buckets + 1`.
    full_len: usize,
    /// Ring buffer size of a row, the smallest power of two `>= full_len`.
    #[cfg_attr(feature = "serde", serde(skip_serializing))]
    slots: usize,
    /// Sum of the points of each bucket.
    totals: Vec<f64>,
    /// Sum of squared deviations of each bucket.
    variances: Vec<f64>,
    /// One entry per allocated row.
    rows: Vec<RowState>,
    /// Rows in use, at least 1 (River's `bucket_list.len()`).
    n_rows: usize,
    /// Space for the buckets one row passes to the next during [`BucketRows::push_batch`].
    #[cfg_attr(feature = "serde", serde(skip_serializing))]
    merge_scratch: Vec<(f64, f64)>,
}

/// The most bucket rows a serialized window may have: row `i` holds buckets of `2^i` points, so
/// 128 rows are far more than any window can fill.
#[cfg(feature = "serde")]
const MAX_ROWS: usize = 128;

/// What serialized [`BucketRows`] hold (the serialized fields, in order), checked before they
/// become rows.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct BucketRowsState {
    full_len: usize,
    totals: Vec<f64>,
    variances: Vec<f64>,
    rows: Vec<RowState>,
    n_rows: usize,
}

#[cfg(feature = "serde")]
impl TryFrom<BucketRowsState> for BucketRows {
    type Error = String;

    /// Refuses storage whose size does not match its rows, and rows whose ring position or
    /// length is out of range, so that no index can go out of bounds.
    fn try_from(state: BucketRowsState) -> Result<BucketRows, String> {
        let max_buckets = super::MAX_MAX_BUCKETS as usize;
        if !(2..=max_buckets + 1).contains(&state.full_len) {
            return Err(format!("adwin: row length {} out of range", state.full_len));
        }
        let mut rows = BucketRows::new(state.full_len - 1);
        let n_allocated = state.rows.len();
        let storage = n_allocated.checked_mul(rows.slots);
        if !(1..=MAX_ROWS).contains(&n_allocated)
            || !(1..=n_allocated).contains(&state.n_rows)
            || storage != Some(state.totals.len())
            || storage != Some(state.variances.len())
        {
            return Err(format!(
                "adwin: {} of {n_allocated} rows in use do not fit {} stored buckets",
                state.n_rows,
                state.totals.len()
            ));
        }
        if state
            .rows
            .iter()
            .any(|row| row.head >= rows.slots || row.len >= rows.full_len)
        {
            return Err("adwin: a bucket row's position or length is out of range".to_string());
        }
        rows.totals = state.totals;
        rows.variances = state.variances;
        rows.rows = state.rows;
        rows.n_rows = state.n_rows;
        Ok(rows)
    }
}

impl BucketRows {
    pub(crate) fn new(max_buckets: usize) -> BucketRows {
        let full_len = max_buckets + 1;
        let slots = full_len.next_power_of_two();
        BucketRows {
            full_len,
            slots,
            totals: vec![0.0; slots],
            variances: vec![0.0; slots],
            rows: vec![RowState::default()],
            n_rows: 1,
            merge_scratch: vec![(0.0, 0.0); 2 * MERGED_PER_BATCH],
        }
    }

    /// Whether `other` was made for the same `max_buckets`.
    #[cfg(feature = "serde")]
    pub(crate) fn same_geometry(&self, other: &BucketRows) -> bool {
        self.full_len == other.full_len && self.slots == other.slots
    }

    /// Rows with storage, in use or kept from an earlier, wider window.
    #[cfg(test)]
    pub(crate) fn n_allocated_rows(&self) -> usize {
        self.rows.len()
    }

    /// Empties the window, keeping the storage.
    pub(crate) fn clear(&mut self) {
        if let Some(row0) = self.rows.first_mut() {
            *row0 = RowState::default();
        }
        self.n_rows = 1;
    }

    /// Appends up to [`MAX_BATCH`] points, oldest first, as one-point buckets `(x, 0.0)` to row 0,
    /// merging exactly as River does after every single insert (`compress_buckets`).
    ///
    /// River merges the two oldest buckets of a row as soon as it holds `max_buckets + 1`, and
    /// cascades the merged bucket into the next row. What a row emits depends only on the
    /// sequence of buckets it receives, so the batch is processed row by row: row 0 takes all
    /// the points and emits its merged buckets, in order, to row 1, and so on. The rows and every
    /// merged value end up exactly as after River's insert-by-insert cascade, with each row's
    /// ring state kept in registers instead of being reloaded per point.
    pub(crate) fn push_batch(&mut self, points: &[f64]) {
        // Borrowed out of `self` (no allocation) so the rows can be mutated meanwhile.
        let mut merge_scratch = std::mem::take(&mut self.merge_scratch);
        self.cascade(
            points.get(..MAX_BATCH).unwrap_or(points),
            &mut merge_scratch,
        );
        self.merge_scratch = merge_scratch;
    }

    fn cascade(&mut self, points: &[f64], merge_scratch: &mut [(f64, f64)]) {
        let (mut incoming, mut outgoing) = merge_scratch.split_at_mut(MERGED_PER_BATCH);
        let mut n_incoming = 0;
        let mut row = 0;
        let mut size = 1.0_f64;
        loop {
            if row == self.n_rows {
                self.add_row();
            }
            let start = row * self.slots;
            let (Some(state), Some(totals), Some(variances)) = (
                self.rows.get_mut(row),
                self.totals.get_mut(start..start + self.slots),
                self.variances.get_mut(start..start + self.slots),
            ) else {
                return;
            };
            let mut ring = Ring {
                totals,
                variances,
                state,
                full_len: self.full_len,
                size,
            };
            let n_outgoing = if row == 0 {
                ring.feed(points.iter().map(|&x| (x, 0.0)), outgoing)
            } else {
                ring.feed(incoming.iter().take(n_incoming).copied(), outgoing)
            };
            if n_outgoing == 0 {
                return;
            }
            std::mem::swap(&mut incoming, &mut outgoing);
            n_incoming = n_outgoing;
            row += 1;
            size *= 2.0;
        }
    }

    /// Starts using one more row, allocating it only the first time the window needs it.
    #[cold]
    fn add_row(&mut self) {
        if self.n_rows == self.rows.len() {
            let new_len = self.totals.len() + self.slots;
            self.totals.resize(new_len, 0.0);
            self.variances.resize(new_len, 0.0);
            self.rows.push(RowState::default());
        } else if let Some(state) = self.rows.get_mut(self.n_rows) {
            *state = RowState::default();
        }
        self.n_rows += 1;
    }

    /// The rows from oldest to newest. Row 0's newest bucket is left out: a split must leave at
    /// least one bucket in the newer sub-window.
    #[inline]
    pub(crate) fn scan_oldest_first(&self) -> impl Iterator<Item = RowView<'_>> + '_ {
        (0..self.n_rows).rev().map(move |row| {
            let state = self.rows.get(row).copied().unwrap_or_default();
            let start = row * self.slots;
            RowView {
                size: power_of_two(row),
                ring: self.totals.get(start..start + self.slots).unwrap_or(&[]),
                head: state.head,
                tested: if row == 0 {
                    state.len.saturating_sub(1)
                } else {
                    state.len
                },
            }
        })
    }

    /// Removes the oldest bucket and returns `(points, total, variance)` of it, or `None` when
    /// the window is empty. Drops the oldest rows left empty, but always keeps row 0.
    pub(crate) fn pop_oldest(&mut self) -> Option<(f64, f64, f64)> {
        let oldest_row = self.n_rows - 1;
        let state = self.rows.get_mut(oldest_row)?;
        if state.len == 0 {
            return None;
        }
        let slot = oldest_row * self.slots + state.head;
        state.head = (state.head + 1) & (self.slots - 1);
        state.len -= 1;
        let bucket = (
            power_of_two(oldest_row),
            *self.totals.get(slot)?,
            *self.variances.get(slot)?,
        );
        while self.n_rows > 1
            && self
                .rows
                .get(self.n_rows - 1)
                .is_some_and(|row| row.len == 0)
        {
            self.n_rows -= 1;
        }
        Some(bucket)
    }
}
