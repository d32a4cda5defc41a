//! Cephes's polynomial and rational evaluation (`polevl`, `p1evl`, `ratevl`), in its exact
//! order of operations so that the special functions round as SciPy's do.

/// `c[0]·x^N + … + c[N]` by Horner's rule (Cephes `polevl`).
pub(crate) fn polevl(x: f64, coef: &[f64]) -> f64 {
    let mut ans = coef[0];
    for &c in &coef[1..] {
        ans = ans * x + c;
    }
    ans
}

/// `x^N + c[0]·x^(N-1) + … + c[N-1]`: the leading coefficient 1 is implied (Cephes `p1evl`).
pub(crate) fn p1evl(x: f64, coef: &[f64]) -> f64 {
    let mut ans = x + coef[0];
    for &c in &coef[1..] {
        ans = ans * x + c;
    }
    ans
}

/// A rational function `num(x)/denom(x)`, coefficients highest degree first, evaluated in
/// `1/x` when `|x| > 1` (Cephes `ratevl`; both polynomials have the same degree here).
pub(crate) fn ratevl(x: f64, num: &[f64], denom: &[f64]) -> f64 {
    if x.abs() > 1.0 {
        let y = 1.0 / x;
        let n = num.iter().rev().fold(None, |acc: Option<f64>, &c| {
            Some(acc.map_or(c, |a| a * y + c))
        });
        let d = denom.iter().rev().fold(None, |acc: Option<f64>, &c| {
            Some(acc.map_or(c, |a| a * y + c))
        });
        // Cephes multiplies by pow(x, M - N) = 1 here: exact, so left out.
        n.unwrap_or(0.0) / d.unwrap_or(1.0)
    } else {
        polevl(x, num) / polevl(x, denom)
    }
}
