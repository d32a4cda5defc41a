//! Tests of categorical columns on category counts: chisquare and z. The normal distribution
//! function and the chi-square survival function they need are private approximations here
//! (series and continued fractions, about 1e-14 relative) until `special` has SciPy's exact
//! Cephes ports.

use std::f64::consts::PI;

use super::binning::counts;
use super::{Category, DriftError};

/// `scipy.stats.chisquare` of the current counts against the reference's counts rescaled to
/// the current size; a category absent from the reference gives p = 0; one category, NaN.
pub(super) fn chisquare(r: &[Category], c: &[Category]) -> Result<f64, DriftError> {
    let rc = counts(r);
    let cc = counts(c);
    let mut keys: Vec<&Category> = rc.iter().chain(cc.iter()).map(|(k, _)| k).collect();
    keys.sort();
    keys.dedup();
    let count = |table: &[(Category, usize)], key: &Category| -> f64 {
        table
            .binary_search_by(|(k, _)| k.cmp(key))
            .map_or(0.0, |i| table[i].1 as f64)
    };
    let k_norm = c.len() as f64 / r.len() as f64;
    let mut statistic = 0.0;
    for key in &keys {
        let expected = count(&rc, key) * k_norm;
        let observed = count(&cc, key);
        statistic += (observed - expected) * (observed - expected) / expected;
    }
    let df = keys.len() as f64 - 1.0;
    Ok(chi2_sf(statistic, df))
}

/// The two-proportion z-test of the first category (sorted) against the others:
/// `2·(1 − Φ(|z|))`, computed literally; 1 when both sides hold the same single value.
pub(super) fn z(r: &[Category], c: &[Category]) -> Result<f64, DriftError> {
    let rc = counts(r);
    let cc = counts(c);
    if rc.len() == 1 && cc.len() == 1 && rc[0].0 == cc[0].0 {
        return Ok(1.0);
    }
    let first = match (rc.first(), cc.first()) {
        (Some((a, _)), Some((b, _))) => a.min(b),
        (Some((a, _)), None) | (None, Some((a, _))) => a,
        (None, None) => return Err(DriftError::Empty { side: "reference" }),
    };
    let others = |values: &[Category]| values.iter().filter(|v| *v != first).count() as f64;
    let (n1, n2) = (r.len() as f64, c.len() as f64);
    let p1 = others(r) / n1;
    let p2 = others(c) / n2;
    let pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    Ok(2.0 * (1.0 - ndtr(z.abs())))
}

/// The standard normal distribution function, as Cephes' `ndtr` arranges it: `0.5 + 0.5·erf`
/// near 0, `1 − 0.5·erfc` beyond.
fn ndtr(a: f64) -> f64 {
    if a.is_nan() {
        return f64::NAN;
    }
    let x = a * std::f64::consts::FRAC_1_SQRT_2;
    let z = x.abs();
    if z < std::f64::consts::FRAC_1_SQRT_2 {
        0.5 + 0.5 * erf(x)
    } else {
        let y = 0.5 * erfc(z);
        if x > 0.0 { 1.0 - y } else { y }
    }
}

/// erf by its series `2/sqrt(π)·exp(−x²)·Σ 2^n x^(2n+1)/(2n+1)!!` (all terms positive).
fn erf(x: f64) -> f64 {
    if x.abs() > 6.0 {
        return x.signum();
    }
    let x2 = x * x;
    let mut term = x;
    let mut total = x;
    let mut n = 0.0;
    while term.abs() > total.abs() * 1e-17 {
        n += 1.0;
        term *= 2.0 * x2 / (2.0 * n + 1.0);
        total += term;
    }
    2.0 / PI.sqrt() * (-x2).exp() * total
}

/// erfc for x >= 0: `1 − erf` below 2, a continued fraction (modified Lentz) above.
fn erfc(x: f64) -> f64 {
    if x < 2.0 {
        return 1.0 - erf(x);
    }
    if x > 27.3 {
        return 0.0;
    }
    // erfc(x) = exp(−x²)/sqrt(π) · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))).
    let tiny = 1e-300;
    let mut f = x;
    let mut c = x;
    let mut d = 0.0;
    for k in 1..5000 {
        let a = f64::from(k) / 2.0;
        d = x + a * d;
        d = if d == 0.0 { tiny } else { d };
        c = x + a / c;
        c = if c == 0.0 { tiny } else { c };
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-17 {
            break;
        }
    }
    (-x * x).exp() / PI.sqrt() / f
}

/// `scipy.stats.chi2.sf(x, df)` = Q(df/2, x/2), the regularised upper incomplete gamma.
fn chi2_sf(x: f64, df: f64) -> f64 {
    if x.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if x == f64::INFINITY {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    upper_gamma_regularised(df / 2.0, x / 2.0)
}

/// Q(a, x) for a a multiple of 1/2: a series for P when x < a + 1, a continued fraction
/// otherwise.
fn upper_gamma_regularised(a: f64, x: f64) -> f64 {
    let log_prefactor = -x + a * x.ln() - ln_gamma_half_integer(a);
    if x < a + 1.0 {
        let mut term = 1.0 / a;
        let mut total = term;
        let mut n = a;
        for _ in 0..10_000 {
            n += 1.0;
            term *= x / n;
            total += term;
            if term.abs() < total.abs() * 1e-17 {
                break;
            }
        }
        return 1.0 - total * log_prefactor.exp();
    }
    let tiny = 1e-300;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / tiny;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..10_000 {
        let an = -f64::from(i) * (f64::from(i) - a);
        b += 2.0;
        d = an * d + b;
        d = if d.abs() < tiny { tiny } else { d };
        c = b + an / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-17 {
            break;
        }
    }
    log_prefactor.exp() * h
}

/// ln Γ(a) for a a positive multiple of 1/2: sums of logarithms from Γ(1) = 1 or
/// Γ(1/2) = sqrt(π).
fn ln_gamma_half_integer(a: f64) -> f64 {
    let (mut value, mut k) = if a.fract() == 0.0 {
        (0.0, 1.0)
    } else {
        (PI.sqrt().ln(), 0.5)
    };
    while k < a {
        value += k.ln();
        k += 1.0;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_distribution_function_matches_known_values() {
        // scipy.special.ndtr(1.0), ndtr(3.0), ndtr(0.3)
        assert!((ndtr(1.0) - 0.841_344_746_068_542_9).abs() < 1e-15);
        assert!((ndtr(3.0) - 0.998_650_101_968_369_9).abs() < 1e-15);
        assert!((ndtr(0.3) - 0.617_911_422_188_952_7).abs() < 1e-15);
    }

    #[test]
    fn chi2_sf_matches_known_values() {
        // scipy.stats.chi2.sf(3.0, 2) = exp(-1.5); chi2.sf(10.0, 3)
        assert!((chi2_sf(3.0, 2.0) - (-1.5f64).exp()).abs() < 1e-15);
        let p = chi2_sf(10.0, 3.0);
        assert!((p - 0.018_566_135_463_043_6).abs() < 1e-14, "{p}");
    }
}
