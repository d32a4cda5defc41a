//! SciPy's `_compute_outer_prob_inside_method(m, n, g, h)` (`_stats_pythran.py`): Hodges'
//! lattice-path recursion computing 1 − p of the exact two-sample KS test row by row over a
//! sliding band. Each cell is `(left·i + below·j)/(i + j)`, a chain of dependent divisions
//! along a row; here [`ROWS`] consecutive rows run interleaved, each [`LAG`] cells behind the
//! row before, so that their chains overlap in the processor. Every cell is computed by the
//! same operations on the same values as row after row: the result is the same bit for bit
//! (a test in `ks.rs` checks it against the sequential recursion).

/// Rows computed together.
const ROWS: usize = 4;
/// How many cells a row runs behind the row before: a row reads the row before at most one
/// cell ahead of its own (the band moves by at most one cell a row when m >= n).
const LAG: i64 = 2;

/// One row's band: its first column, its length, how far it reads ahead in the row before,
/// and the row before's length.
#[derive(Clone, Copy, Default)]
struct Band {
    minj: i64,
    len: i64,
    shift: i64,
    lastlen: i64,
}

/// 1 − p for sizes m and n (either order), gcd g and `h = round(D·lcm)`.
pub(super) fn outer_prob_inside_method(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (m, n, g, h) = (m as i64, n as i64, g as i64, h as i64);
    let mg = m / g;
    let ng = n / g;
    let mut minj: i64 = 0;
    let mut maxj: i64 = ((h as f64 / mg as f64).ceil() as i64).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1) as usize;
    let mut a = vec![1.0f64; len_a];
    for slot in a.iter_mut().take(maxj as usize).skip(minj as usize) {
        *slot = 0.0;
    }
    let mut i: i64 = 1;
    while i <= m {
        let mut bands = [Band::default(); ROWS];
        let mut rows = 0;
        while rows < ROWS && i + (rows as i64) <= m {
            let row = i + rows as i64;
            let next_minj = ((((ng * row - h) as f64 / mg as f64).floor() as i64) + 1)
                .max(0)
                .min(n);
            let next_maxj = (((ng * row + h) as f64 / mg as f64).ceil() as i64).min(n + 1);
            if next_maxj <= next_minj {
                return 1.0;
            }
            let shift = next_minj - minj;
            if rows > 0 && shift >= LAG {
                break;
            }
            bands[rows] = Band {
                minj: next_minj,
                len: next_maxj - next_minj,
                shift,
                lastlen: curlen,
            };
            (minj, maxj, curlen) = (next_minj, next_maxj, next_maxj - next_minj);
            rows += 1;
        }
        let bands = &bands[..rows];
        let mut vals = [0.0f64; ROWS];
        for (val, band) in vals.iter_mut().zip(bands) {
            *val = if band.minj == 0 { 0.0 } else { 1.0 };
        }
        let steps = bands
            .iter()
            .enumerate()
            .map(|(k, band)| band.len + LAG * k as i64)
            .max()
            .unwrap_or(0);
        for t in 0..steps {
            for (k, band) in bands.iter().enumerate() {
                let jj = t - LAG * k as i64;
                if jj < 0 || jj >= band.len {
                    continue;
                }
                let fi = (i + k as i64) as f64;
                let j = (jj + band.minj) as f64;
                let val = (a[(jj + band.shift) as usize] * fi + vals[k] * j) / (fi + j);
                vals[k] = val;
                a[jj as usize] = val;
                if jj == band.len - 1 && band.lastlen > band.len {
                    let start = band.len as usize;
                    let end = (start + (band.lastlen - band.len) as usize).min(a.len());
                    for slot in &mut a[start..end] {
                        *slot = 1.0;
                    }
                }
            }
        }
        i += rows as i64;
    }
    a[(maxj - minj - 1) as usize]
}
