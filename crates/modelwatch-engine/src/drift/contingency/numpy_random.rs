//! NumPy's legacy global generator (`np.random.seed`, `RandomState`): MT19937 and the
//! permutation behind `np.random.choice(a, size, replace=False)`, draw for draw.

/// MT19937 as `RandomState` runs it.
pub(super) struct LegacyMt19937 {
    state: [u32; 624],
    position: usize,
}

impl LegacyMt19937 {
    /// `np.random.seed(seed)` for an integer seed (`init_genrand`).
    pub(super) fn seeded(seed: u32) -> Self {
        let mut state = [0u32; 624];
        state[0] = seed;
        for i in 1..624 {
            let previous = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(previous ^ (previous >> 30))
                .wrapping_add(i as u32);
        }
        LegacyMt19937 {
            state,
            position: 624,
        }
    }

    fn regenerate(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX: u32 = 0x9908_b0df;
        for i in 0..624 {
            let y = (self.state[i] & UPPER) | (self.state[(i + 1) % 624] & LOWER);
            let mut next = self.state[(i + 397) % 624] ^ (y >> 1);
            if y & 1 == 1 {
                next ^= MATRIX;
            }
            self.state[i] = next;
        }
        self.position = 0;
    }

    /// The next 32-bit output (`mt19937_next32`).
    pub(super) fn next_u32(&mut self) -> u32 {
        if self.position >= 624 {
            self.regenerate();
        }
        let mut y = self.state[self.position];
        self.position += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// The next 64-bit output (two 32-bit outputs, high word first).
    fn next_u64(&mut self) -> u64 {
        let high = u64::from(self.next_u32());
        let low = u64::from(self.next_u32());
        (high << 32) | low
    }

    /// Legacy `random_interval(max)`: a uniform integer in [0, max] by masked rejection.
    fn interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        mask |= mask >> 32;
        if max <= u64::from(u32::MAX) {
            loop {
                let value = u64::from(self.next_u32()) & mask;
                if value <= max {
                    return value;
                }
            }
        }
        loop {
            let value = self.next_u64() & mask;
            if value <= max {
                return value;
            }
        }
    }

    /// `np.random.permutation(n)`: `arange(n)` shuffled by the legacy Fisher-Yates loop.
    pub(super) fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut values: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.interval(i as u64) as usize;
            values.swap(i, j);
        }
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_zero_draws_numpys_first_outputs() {
        // np.random.RandomState(0).randint(0, 2**32, size=2, dtype=np.uint64): the raw
        // MT19937 outputs for seed 0.
        let mut generator = LegacyMt19937::seeded(0);
        assert_eq!(generator.next_u32(), 2_357_136_044);
        assert_eq!(generator.next_u32(), 2_546_248_239);
    }

    #[test]
    fn permutation_is_numpys() {
        // np.random.seed(0); np.random.permutation(10)
        let mut generator = LegacyMt19937::seeded(0);
        assert_eq!(generator.permutation(10), [2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
    }
}
