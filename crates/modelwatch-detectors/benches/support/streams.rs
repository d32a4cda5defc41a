//! The benchmark streams, from a deterministic recipe that `tools/river_bench.py` implements
//! identically, so River and this crate are timed on exactly the same numbers.
//!
//! Recipe (all arithmetic in IEEE double, in this order):
//! - SplitMix64: `state += 0x9E3779B97F4A7C15; z = state; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
//!   z = (z ^ (z >> 27)) * 0x94D049BB133111EB; return z ^ (z >> 31)` (wrapping, 64-bit);
//! - uniform: `(next >> 11) as f64 * 2^-53`;
//! - gaussian: `s = 0.0; 12 times s += uniform; s - 6.0` (Irwin-Hall, mean 0, sd 1);
//! - `real_abrupt` block (seed 2026): 2000 x `gaussian`, then 2000 x `2.0 + gaussian`;
//! - `real_nodrift` block (seed 2027): 4000 x `gaussian`;
//! - `bin_abrupt` block (seed 2028), an error stream for the binary detectors: for each of 4000
//!   points draw one `uniform` u; the point is `1.0` (an error) if `u < rate`, else `0.0`, with
//!   `rate = 0.1` for the first 2000 points and `0.4` for the last 2000;
//! - a stream is its block tiled: warm-up = the first 20,000 points, timed = the first 1,000,000
//!   (so `real_abrupt` and `bin_abrupt` change every 2000 points and the detectors keep
//!   resetting).
//!
//! The blocks' fingerprint (FNV-1a 64 over the little-endian bits of `real_abrupt`, then
//! `real_nodrift`, then `bin_abrupt`) is [`BLOCKS_FINGERPRINT`]; both sides check it.

/// Points in one block.
pub const BLOCK_LEN: usize = 4000;
/// Warm-up updates before timing, as in River's timing method.
pub const WARM_UP_LEN: usize = 20_000;
/// Timed updates.
pub const TIMED_LEN: usize = 1_000_000;
/// FNV-1a 64 of the three blocks' bits (`real_abrupt`, `real_nodrift`, `bin_abrupt`);
/// `tools/river_bench.py` checks the same value.
pub const BLOCKS_FINGERPRINT: u64 = 0x17f2_248e_0a00_857d;

/// SplitMix64, the generator of the recipe.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn next_uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    pub fn next_gaussian(&mut self) -> f64 {
        let mut sum = 0.0;
        for _ in 0..12 {
            sum += self.next_uniform();
        }
        sum - 6.0
    }
}

/// 2000 points around 0, then 2000 around 2 (unit variance).
pub fn real_abrupt_block() -> Vec<f64> {
    let mut generator = SplitMix64::new(2026);
    (0..BLOCK_LEN)
        .map(|index| {
            let noise = generator.next_gaussian();
            if index < BLOCK_LEN / 2 {
                noise
            } else {
                2.0 + noise
            }
        })
        .collect()
}

/// 4000 points around 0 (unit variance).
pub fn real_nodrift_block() -> Vec<f64> {
    let mut generator = SplitMix64::new(2027);
    (0..BLOCK_LEN).map(|_| generator.next_gaussian()).collect()
}

/// 4000 errors (1.0) and successes (0.0): error rate 0.1 for 2000 points, then 0.4.
pub fn bin_abrupt_block() -> Vec<f64> {
    let mut generator = SplitMix64::new(2028);
    (0..BLOCK_LEN)
        .map(|index| {
            let rate = if index < BLOCK_LEN / 2 { 0.1 } else { 0.4 };
            if generator.next_uniform() < rate {
                1.0
            } else {
                0.0
            }
        })
        .collect()
}

/// The first `len` points of `block` repeated.
pub fn tiled(block: &[f64], len: usize) -> Vec<f64> {
    block.iter().copied().cycle().take(len).collect()
}

/// FNV-1a 64 over the little-endian bytes of each value's bits.
pub fn fingerprint(blocks: &[&[f64]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for block in blocks {
        for value in block.iter() {
            for byte in value.to_bits().to_le_bytes() {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
    }
    hash
}
