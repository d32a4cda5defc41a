//! MT19937, the 32-bit Mersenne Twister of Matsumoto and Nishimura (`mt19937ar.c`), as CPython's
//! `random` module runs it: seeded with `init_by_array`, one tempered word per output.
//!
//! Generates a whole block of 624 tempered outputs at a time, in loops the compiler vectorizes,
//! so that an output is one load.

/// Degree of recurrence: words of state.
const N: usize = 624;
/// Middle word offset.
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// The generator: its state and the tempered outputs of the current block.
#[derive(Clone)]
pub(crate) struct Mt19937 {
    state: [u32; N],
    block: [u32; N],
    /// Next output in `block`; `N` means the block is used up.
    next: usize,
}

impl std::fmt::Debug for Mt19937 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mt19937").finish_non_exhaustive()
    }
}

/// The serialized form of [`Mt19937`]: the state words, little-endian, and the position in the
/// block. The block itself is not stored: while it has outputs left it is the tempered state.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct MtState {
    state: Vec<u8>,
    next: u16,
}

#[cfg(feature = "serde")]
impl serde::Serialize for Mt19937 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        MtState {
            state: self
                .state
                .iter()
                .flat_map(|word| word.to_le_bytes())
                .collect(),
            next: self.next as u16,
        }
        .serialize(serializer)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Mt19937 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Mt19937, D::Error> {
        let stored = MtState::deserialize(deserializer)?;
        if stored.state.len() != 4 * N {
            return Err(serde::de::Error::custom(format!(
                "mt19937: {} bytes of state, {} expected",
                stored.state.len(),
                4 * N
            )));
        }
        let mut mt = Mt19937 {
            state: [0; N],
            block: [0; N],
            next: usize::from(stored.next).min(N),
        };
        for (word, bytes) in mt.state.iter_mut().zip(stored.state.chunks_exact(4)) {
            if let &[a, b, c, d] = bytes {
                *word = u32::from_le_bytes([a, b, c, d]);
            }
        }
        // `refill` tempers the state it has just advanced into the block, and the state does
        // not change again until the next refill or seeding (which empties the block).
        for (output, &word) in mt.block.iter_mut().zip(mt.state.iter()) {
            *output = temper(word);
        }
        Ok(mt)
    }
}

impl Mt19937 {
    /// A generator seeded by `init_by_array(key)`; `key` must not be empty.
    pub(crate) fn new(key: &[u32]) -> Mt19937 {
        let mut mt = Mt19937 {
            state: [0; N],
            block: [0; N],
            next: N,
        };
        mt.seed(key);
        mt
    }

    /// `init_genrand(seed)`.
    fn init_genrand(&mut self, seed: u32) {
        self.state[0] = seed;
        for i in 1..N {
            let previous = self.state[i - 1];
            self.state[i] = 1_812_433_253_u32
                .wrapping_mul(previous ^ (previous >> 30))
                .wrapping_add(i as u32);
        }
        self.next = N;
    }

    /// `init_by_array(key)`, in place; `key` must not be empty.
    pub(crate) fn seed(&mut self, key: &[u32]) {
        debug_assert!(!key.is_empty());
        self.init_genrand(19_650_218);
        let mut i = 1;
        let mut j = 0;
        for _ in 0..N.max(key.len()) {
            let previous = self.state[i - 1];
            self.state[i] = (self.state[i] ^ (previous ^ (previous >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                self.state[0] = self.state[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let previous = self.state[i - 1];
            self.state[i] = (self.state[i]
                ^ (previous ^ (previous >> 30)).wrapping_mul(1_566_083_941))
            .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                self.state[0] = self.state[N - 1];
                i = 1;
            }
        }
        // The most significant bit is 1, assuring a non-zero initial state.
        self.state[0] = 0x8000_0000;
        self.next = N;
    }

    /// `genrand_uint32()`: the next tempered output.
    #[cfg(test)]
    pub(crate) fn next_u32(&mut self) -> u32 {
        let mut cursor = self.cursor();
        let output = self.next_at(&mut cursor);
        self.set_cursor(cursor);
        output
    }

    /// Where the next output is in the current block; hand it to [`Mt19937::next_at`] and back
    /// with [`Mt19937::set_cursor`], so that a drawing loop keeps it in a register.
    #[inline]
    pub(crate) fn cursor(&self) -> usize {
        self.next
    }

    /// `genrand_uint32()` with the block position in `cursor` (see [`Mt19937::cursor`]).
    #[inline]
    pub(crate) fn next_at(&mut self, cursor: &mut usize) -> u32 {
        if *cursor >= N {
            self.refill();
            *cursor = 0;
        }
        let output = self.block[*cursor];
        *cursor += 1;
        output
    }

    /// Stores the block position after a loop of [`Mt19937::next_at`].
    #[inline]
    pub(crate) fn set_cursor(&mut self, cursor: usize) {
        self.next = cursor.min(N);
    }

    /// Advances the state by `N` words and tempers them into `block`.
    #[cold]
    #[inline(never)]
    fn refill(&mut self) {
        let state = &mut self.state;
        // mt[i] = mt[(i + M) % N] ^ twist(mt[i], mt[i + 1]) for i in 0..N, in three runs whose
        // sources are disjoint from their targets, so that each vectorizes.
        for i in 0..N - M {
            state[i] = state[i + M] ^ twist(state[i], state[i + 1]);
        }
        // i in N - M..2(N - M): the source mt[i + M - N] is final (first run).
        let (done, rest) = state.split_at_mut(N - M);
        for j in 0..N - M {
            rest[j] = done[j] ^ twist(rest[j], rest[j + 1]);
        }
        // i in 2(N - M)..N - 1: the source is final (second run).
        let (done, rest) = state.split_at_mut(2 * (N - M));
        for j in 0..N - 1 - 2 * (N - M) {
            rest[j] = done[j + N - M] ^ twist(rest[j], rest[j + 1]);
        }
        state[N - 1] = state[M - 1] ^ twist(state[N - 1], state[0]);
        for (output, &word) in self.block.iter_mut().zip(state.iter()) {
            *output = temper(word);
        }
        self.next = 0;
    }
}

/// The twist of the recurrence: the upper bit of `current` and the lower bits of `following`,
/// shifted, with `MATRIX_A` folded in when the lowest bit is set.
#[inline(always)]
fn twist(current: u32, following: u32) -> u32 {
    let y = (current & UPPER_MASK) | (following & LOWER_MASK);
    (y >> 1) ^ (0_u32.wrapping_sub(y & 1) & MATRIX_A)
}

#[inline(always)]
fn temper(mut y: u32) -> u32 {
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c_5680;
    y ^= (y << 15) & 0xefc6_0000;
    y ^= y >> 18;
    y
}
