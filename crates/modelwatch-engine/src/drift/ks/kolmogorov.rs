//! The survival function of the two-sided one-sample Kolmogorov-Smirnov statistic D_n
//! (`scipy.stats.kstwo.sf`), ported from SciPy's `_ksstats.py` with its choice of method:
//! Ruben-Gambino near the ends, Durbin-Marsaglia-Tsang-Wang (matrix power), Pomeranz,
//! Pelz-Good, and twice Smirnov's one-sided tail (Birnbaum-Tingey sum) where D_n is large.

use std::f64::consts::PI;

/// 2^128 and 2^-128: SciPy's rescaling steps.
const EP128: f64 = 3.402_823_669_209_385e38;
const EM128: f64 = 2.938_735_877_055_719e-39;

/// `kstwo.sf(d, n)` (`rv_continuous.sf`: 1 at or below the support's start `0.5/n`, 0 at 1).
pub(super) fn kstwo_sf(d: f64, n: f64) -> f64 {
    if d.is_nan() || n.is_nan() || n < 1.0 {
        return f64::NAN;
    }
    if d <= 0.5 / n {
        return 1.0;
    }
    if d >= 1.0 {
        return 0.0;
    }
    sf(n as u64, d)
}

/// `_kolmogn(n, x, cdf=False)`.
fn sf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        if t <= 0.5 {
            return 1.0;
        }
        let prob = if n <= 140 {
            let mut prob = 1.0;
            for i in 1..=n {
                prob *= i as f64 * (1.0 / nf) * (2.0 * t - 1.0);
            }
            prob
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return clip(1.0 - prob);
    }
    if t >= nf - 1.0 {
        return clip(2.0 * (1.0 - x).powf(nf));
    }
    if x >= 0.5 {
        return clip(2.0 * smirnov(n, x));
    }
    let nxsquared = t * x;
    if n <= 140 {
        if nxsquared <= 0.754693 {
            return clip(1.0 - clip(durbin_matrix(n, x)));
        }
        if nxsquared <= 4.0 {
            return clip(1.0 - clip(pomeranz(n, x)));
        }
        return clip(2.0 * smirnov(n, x));
    }
    if nxsquared >= 370.0 {
        return 0.0;
    }
    if nxsquared >= 2.2 {
        return clip(2.0 * smirnov(n, x));
    }
    let cdf = if nxsquared >= 18.0 {
        1.0
    } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        clip(durbin_matrix(n, x))
    } else {
        pelz_good(nf, x)
    };
    clip(1.0 - cdf)
}

fn clip(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

/// `_log_nfactorial_div_n_pow_n`: log(n!/n^n) by Stirling's series.
fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    // SciPy's literals, as written there.
    #[allow(clippy::excessive_precision)]
    const COEFFS: [f64; 8] = [
        -2.955065359477124183e-2,
        6.4102564102564102564e-3,
        -1.9175269175269175269e-3,
        8.4175084175084175084e-4,
        -5.952380952380952381e-4,
        7.9365079365079365079e-4,
        -2.7777777777777777778e-3,
        8.3333333333333333333e-2,
    ];
    let rn = 1.0 / n;
    let z = rn / n;
    let poly = COEFFS.iter().fold(0.0, |acc, c| acc * z + c);
    n.ln() / 2.0 - n + (2.0 * PI).ln() / 2.0 + rn * poly
}

/// Smirnov's one-sided tail P(D+_n >= x), by the Birnbaum-Tingey sum (all terms positive):
/// `x·Σ_{j ≤ n(1−x)} C(n, j)·(1 − x − j/n)^(n−j)·(x + j/n)^(j−1)`, each term in logarithms.
fn smirnov(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let last = (nf * (1.0 - x)).floor() as u64;
    let mut log_binomial = 0.0;
    let mut total = 0.0;
    for j in 0..=last.min(n) {
        let jf = j as f64;
        if j > 0 {
            log_binomial += (nf - jf + 1.0).ln() - jf.ln();
        }
        let low = ((nf - jf) - nf * x) / nf;
        if low <= 0.0 {
            continue;
        }
        let high = x + jf / nf;
        let log_term = log_binomial + (nf - jf) * low.ln() + (jf - 1.0) * high.ln();
        total += log_term.exp();
    }
    x * total
}

/// `_kolmogn_DMTW(n, d)`: the CDF as the (k, k) entry of H^n times n!/n^n.
fn durbin_matrix(n: u64, d: f64) -> f64 {
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut v: Vec<f64> = (1..=m).map(|i| 1.0 - h.powi(i as i32)).collect();
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;
    let mut hm = vec![0.0; m * m];
    for i in 1..m {
        for r in (i - 1)..m {
            hm[r * m + i] = w[r - (i - 1)];
        }
    }
    for r in 0..m {
        hm[r * m] = v[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = v[m - 1 - c];
    }
    let mut power: Vec<f64> = (0..m * m)
        .map(|i| if i / m == i % m { 1.0 } else { 0.0 })
        .collect();
    let (mut nn, mut expnt, mut h_expnt) = (n, 0i32, 0i32);
    while nn > 0 {
        if nn % 2 == 1 {
            power = matmul(&power, &hm, m);
            expnt += h_expnt;
        }
        hm = matmul(&hm, &hm, m);
        h_expnt *= 2;
        if hm[(k - 1) * m + (k - 1)].abs() > EP128 {
            for value in &mut hm {
                *value /= EP128;
            }
            h_expnt += 128;
        }
        nn /= 2;
    }
    let mut p = power[(k - 1) * m + (k - 1)];
    for i in 1..=n {
        p = i as f64 * p / n as f64;
        if p.abs() < EM128 {
            p *= EP128;
            expnt -= 128;
        }
    }
    p * 2f64.powi(expnt)
}

fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * m];
    for i in 0..m {
        for k in 0..m {
            let aik = a[i * m + k];
            for j in 0..m {
                out[i * m + j] += aik * b[k * m + j];
            }
        }
    }
    out
}

/// `_pomeranz_compute_j1j2`.
fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let (half, odd) = ((i + 1) / 2, (i + 1) % 2);
        if odd == 0 {
            if half == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (half - 1 - ll - roundf - 1, half + ll - 1 + ceilf - 1)
            }
        } else {
            (half - 1 - ll - 1, half + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// `_kolmogn_Pomeranz(n, x)`: the CDF by Pomeranz's recursion.
fn pomeranz(n: u64, x: f64) -> f64 {
    let ni = n as i64;
    let t = n as f64 * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = (2 * (ll + 1)) as usize;
    let powers = |base: f64| -> Vec<f64> {
        let mut p = vec![1.0; npwrs];
        for m in 1..npwrs {
            p[m] = p[m - 1] * base / m as f64;
        }
        p
    };
    let nf = n as f64;
    let gpower = powers(g / nf);
    let twogpower = powers(2.0 * g / nf);
    let onem2gpower = powers((1.0 - 2.0 * g) / nf);
    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s) = (0i64, 0i64);
    let mut expnt = 0i32;
    let (mut j1, _) = pomeranz_j1j2(0, ni, ll, ceilf, roundf);
    for i in 1..(2 * ni + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.fill(0.0);
        let j2;
        (j1, j2) = pomeranz_j1j2(i, ni, ll, ceilf, roundf);
        let pwrs = if i == 1 || i == 2 * ni + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            let start = (k1 - v0s).max(0) as usize;
            let end = (start + ln2 as usize).min(npwrs);
            let a = &v0[start.min(end)..end];
            let b = &pwrs[..(ln2 as usize).min(npwrs)];
            let conv_start = (j1 - k1).max(0) as usize;
            let conv_len = (j2 - j1 + 1).max(0) as usize;
            for (slot, k) in v1.iter_mut().zip(conv_start..conv_start + conv_len) {
                let mut sum = 0.0;
                for (ia, va) in a.iter().enumerate() {
                    if k >= ia && k - ia < b.len() {
                        sum += va * b[k - ia];
                    }
                }
                *slot = sum;
            }
            let max = v1.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if 0.0 < max && max < EM128 {
                for value in &mut v1 {
                    *value *= EP128;
                }
                expnt -= 128;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut ans = v1.get((ni - v1s).max(0) as usize).copied().unwrap_or(0.0);
    for m in 1..=n {
        if ans.abs() > EP128 {
            ans *= EM128;
            expnt += 128;
        }
        ans *= m as f64;
    }
    ans * 2f64.powi(expnt)
}

/// `_kolmogn_PelzGood(n, x)`: the CDF by Pelz and Good's asymptotic series.
fn pelz_good(n: f64, x: f64) -> f64 {
    let pi2 = PI * PI;
    let pi4 = pi2 * pi2;
    let pi6 = pi4 * pi2;
    let sqrt2pi = (2.0 * PI).sqrt();
    let z = n.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let qlog = -pi2 / 8.0 / z2;
    if qlog < -708.0 {
        return 0.0;
    }
    let q = qlog.exp();
    let k1a = -z2;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);
    let mut k = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    for kk in (1..=maxk).rev() {
        let m = (2 * kk - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qpower = q.powf((8 * kk) as f64);
        let coeffs = [
            1.0,
            k1a + k1b * m2,
            k2a + k2b * m2 + k2c * m4,
            k3a + k3b * m2 + k3c * m4 + k3d * m6,
        ];
        for (slot, c) in k.iter_mut().zip(coeffs) {
            *slot = *slot * qpower + c;
        }
    }
    let divisors = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (slot, divisor) in k.iter_mut().zip(divisors) {
        *slot = *slot * q * sqrt2pi / divisor;
    }
    let q = (-pi2 / 2.0 / z2).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let (mut k2extra, mut k3extra) = (0.0, 0.0);
    for kk in (1..=maxk).rev() {
        let ks = kk as f64;
        let ks2 = ks * ks;
        let qp = q.powf(ks2);
        k2extra += ks2 * qp;
        let kspi = PI * ks;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qp;
    }
    k[2] += k2extra * (pi2 * sqrt2pi / (-36.0 * z3));
    k[3] += k3extra * (pi2 * sqrt2pi / (216.0 * z6));
    for (i, slot) in k.iter_mut().enumerate() {
        *slot /= n.powf(i as f64 / 2.0);
    }
    k.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_survival_function_is_one_below_the_support_and_zero_at_one() {
        assert_eq!(kstwo_sf(0.001, 100.0), 1.0);
        assert_eq!(kstwo_sf(1.0, 100.0), 0.0);
        // n = 1: D_1 is uniform on [1/2, 1], sf(x) = 2(1 − x).
        assert!((kstwo_sf(0.75, 1.0) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn every_branch_agrees_with_scipy() {
        // (n, x, scipy.stats.kstwo.sf(x, n)) from SciPy 1.17.1: Ruben-Gambino at both ends,
        // Durbin's matrix, Pomeranz, Smirnov's tail, Pelz-Good, small and large n.
        let cases = [
            (10.0, 0.08, 0.9999978058034054),
            (10.0, 0.12, 0.9948566839762616),
            (10.0, 0.3, 0.27053557479999946),
            (10.0, 0.55, 0.0022805103214843725),
            (10.0, 0.95, 1.9531250000000172e-13),
            (50.0, 0.1, 0.6623112704658186),
            (50.0, 0.2, 0.03143877776953241),
            (100.0, 0.25, 5.408871776434847e-06),
            (140.0, 0.05, 0.8576480297656114),
            (141.0, 0.0065, 1.0),
            (300.0, 0.05, 0.42744120502346905),
            (300.0, 0.08, 0.04064402562448788),
            (300.0, 0.1, 0.004595673656972621),
            (1000.0, 0.03, 0.3226902143914636),
            (1000.0, 0.06, 0.001428597887952891),
            (5000.0, 0.01, 0.6954557253913853),
            (200000.0, 0.002, 0.39995085369038097),
            (300.0, 0.6, 8.399665126868074e-104),
        ];
        for (n, x, expected) in cases {
            let sf = kstwo_sf(x, n);
            let relative = (sf - expected).abs() / expected;
            assert!(
                relative < 1e-11,
                "n={n} x={x}: {sf} against {expected} ({relative:e})"
            );
        }
    }
}
