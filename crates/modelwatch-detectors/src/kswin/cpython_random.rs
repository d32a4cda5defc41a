//! CPython's `random.Random` as far as KSWIN needs it: integer seeding, `getrandbits`,
//! `_randbelow` and the two methods of `sample(range(n), k)`, drawing the same numbers as
//! CPython 3.11 for the same seed.

use std::hint::select_unpredictable;

use super::mt19937::Mt19937;

/// A `random.Random(seed)` for an integer seed.
///
/// The Mersenne Twister is boxed: its 5 KB would otherwise make every [`crate::Detector`]
/// that large.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct CpythonRandom {
    mt: Box<Mt19937>,
}

/// The `init_by_array` key CPython derives from a non-negative integer seed: its 32-bit words,
/// least significant first, without leading zero words (`[0]` for 0).
fn seed_key(seed: u64) -> ([u32; 2], usize) {
    let low = seed as u32;
    let high = (seed >> 32) as u32;
    if high == 0 {
        ([low, 0], 1)
    } else {
        ([low, high], 2)
    }
}

impl CpythonRandom {
    /// `random.Random(seed)`. CPython seeds with `abs(seed)`, so a negative Python seed `-s`
    /// is `CpythonRandom::new(s)`.
    pub(crate) fn new(seed: u64) -> CpythonRandom {
        let (key, len) = seed_key(seed);
        CpythonRandom {
            mt: Box::new(Mt19937::new(&key[..len])),
        }
    }

    /// `self.seed(seed)`, in place (no allocation).
    pub(crate) fn reseed(&mut self, seed: u64) {
        let (key, len) = seed_key(seed);
        self.mt.seed(&key[..len]);
    }

    /// `getrandbits(bits)` for `1 <= bits <= 32`: the top `bits` bits of the next output.
    #[cfg(test)]
    pub(crate) fn getrandbits(&mut self, bits: u32) -> u32 {
        debug_assert!((1..=32).contains(&bits));
        self.mt.next_u32() >> (32 - bits)
    }

    /// `_randbelow(n)` for `n >= 1`: draws `n.bit_length()` bits until the value is below `n`.
    /// (The samplers below inline it; this plain form is for tests.)
    #[cfg(test)]
    pub(crate) fn randbelow(&mut self, n: u32) -> u32 {
        debug_assert!(n >= 1);
        let bits = u32::BITS - n.leading_zeros();
        loop {
            let candidate = self.getrandbits(bits);
            if candidate < n {
                return candidate;
            }
        }
    }

    /// `sample(population, k)` by the pool method, for the population in `pool[..n]`:
    /// writes the chosen items to `chosen[..k]` in CPython's result order.
    ///
    /// `pool` has at least [`pool_scratch_len`]`(n)` entries and is scrambled. The loop is
    /// branch-free apart from its exit: a draw that `_randbelow` rejects
    /// (`candidate >= n - i`) still runs the loop body, but writes only to entries that are
    /// overwritten or ignored later.
    #[inline]
    pub(crate) fn sample_pool(&mut self, n: usize, k: usize, pool: &mut [u32], chosen: &mut [u32]) {
        debug_assert!(k <= n && k <= chosen.len() && pool.len() >= pool_scratch_len(n));
        // A power of two: indices masked with `mask` are in bounds, which spares the checks.
        let pool = &mut pool[..pool_scratch_len(n)];
        let mask = pool.len() - 1;
        let spare = mask;
        // `remaining = n - i`; the window size is capped far below `u32::MAX`.
        let mut remaining = n as u32;
        let chosen = &mut chosen[..k];
        let mt = &mut *self.mt;
        let mut cursor = mt.cursor();
        let mut i = 0;
        while i < k {
            // `_randbelow(remaining)` draws `word >> (32 - remaining.bit_length())`. While the
            // bit length stays the same, so does the shift: the inner loop's carried chain is
            // just the comparison with `remaining` and its decrement.
            let bits = u32::BITS - remaining.leading_zeros();
            let shift = 32 - bits;
            let same_bits = 1 << (bits - 1);
            while i < k && remaining >= same_bits {
                let candidate = (mt.next_at(&mut cursor) >> shift) as usize;
                let accept = candidate < remaining as usize;
                // candidate < 2^bits <= pool.len(): the mask never changes it.
                chosen[i] = pool[candidate & mask];
                let last = pool[(remaining as usize - 1) & mask];
                pool[select_unpredictable(accept, candidate, spare) & mask] = last;
                i += usize::from(accept);
                remaining -= u32::from(accept);
            }
        }
        mt.set_cursor(cursor);
    }

    /// `sample(range(n), k)` by the set method, writing the chosen positions to `chosen[..k]`
    /// in CPython's result order: `j = _randbelow(n)`, drawn again while already chosen.
    ///
    /// `taken` is scratch of at least [`pool_scratch_len`]`(n)` entries, all false on entry
    /// and on return. Branch-free apart from the loop exit, like [`Self::sample_pool`].
    #[inline]
    pub(crate) fn sample_set(
        &mut self,
        n: usize,
        k: usize,
        taken: &mut [bool],
        chosen: &mut [u32],
    ) {
        debug_assert!(k <= n && k <= chosen.len() && taken.len() >= pool_scratch_len(n));
        let spare = taken.len() - 1;
        let bits = u32::BITS - (n as u32).leading_zeros();
        let chosen = &mut chosen[..k];
        let mt = &mut *self.mt;
        let mut cursor = mt.cursor();
        let mut i = 0;
        while i < k {
            let candidate = (mt.next_at(&mut cursor) >> (32 - bits)) as usize;
            // candidate < 2^bits <= taken.len(); `spare >= n` is never accepted.
            let accept = (candidate < n) & !taken[candidate];
            chosen[i] = candidate as u32;
            taken[select_unpredictable(accept, candidate, spare)] = true;
            i += usize::from(accept);
        }
        mt.set_cursor(cursor);
        taken[spare] = false;
        for &position in chosen.iter() {
            taken[position as usize] = false;
        }
    }
}

/// Scratch entries [`CpythonRandom::sample_pool`] and [`CpythonRandom::sample_set`] need for a
/// population of `n >= 1`: `2^bit_length(n)`, so that every candidate a draw can produce is an
/// index, and at least one index (the last) is never a position.
pub(crate) fn pool_scratch_len(n: usize) -> usize {
    1 << (usize::BITS - n.leading_zeros())
}

/// Which method `sample(range(n), k)` uses in CPython 3.11.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SampleMethod {
    /// A list of the population, picked from by swapping (`n <= setsize`).
    Pool,
    /// Rejection against a set of the chosen indices (`n > setsize`).
    Set,
}

/// CPython's choice: `setsize = 21`, plus `4 ** ceil(log(3k, 4))` when `k > 5`; the pool
/// method when `n <= setsize`. The logarithm is computed as CPython does, `ln(3k) / ln(4)`.
pub(crate) fn sample_method(n: usize, k: usize) -> SampleMethod {
    let mut setsize: u128 = 21;
    if k > 5 {
        let exponent = (((3 * k) as f64).ln() / 4.0_f64.ln()).ceil();
        // k <= the window size (at most a million), so the exponent is at most 11.
        setsize += 4_u128.pow(exponent as u32);
    }
    if n as u128 <= setsize {
        SampleMethod::Pool
    } else {
        SampleMethod::Set
    }
}
