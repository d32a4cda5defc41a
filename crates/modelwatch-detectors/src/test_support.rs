//! Helpers shared by the binary detectors' unit tests: a seeded 0/1 stream and River's way of
//! reading drift and warning indices.

/// 0/1 errors from a 64-bit LCG: `segments` are `(length, error rate)`. The same generator in
/// Python produced the River results quoted in the tests.
pub(crate) fn lcg_stream(seed: u64, segments: &[(usize, f64)]) -> Vec<f64> {
    let mut state = seed;
    let mut stream = Vec::new();
    for &(length, rate) in segments {
        for _ in 0..length {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let uniform = (state >> 11) as f64 / (1u64 << 53) as f64;
            stream.push(if uniform < rate { 1.0 } else { 0.0 });
        }
    }
    stream
}

/// Drift and warning indices, read as River reads them: `step(x)` updates the detector and
/// returns `(drift_detected, warning_detected)` after it.
pub(crate) fn indices(
    stream: &[f64],
    mut step: impl FnMut(f64) -> (bool, bool),
) -> (Vec<usize>, Vec<usize>) {
    let mut drifts = Vec::new();
    let mut warnings = Vec::new();
    for (index, &x) in stream.iter().enumerate() {
        let (drift, warning) = step(x);
        if drift {
            drifts.push(index);
        }
        if warning {
            warnings.push(index);
        }
    }
    (drifts, warnings)
}
