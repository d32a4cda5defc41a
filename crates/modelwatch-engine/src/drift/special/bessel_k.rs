//! The modified Bessel function of the second kind K_ν(x) for real x and 0 <= |ν| < 1/2, as
//! SciPy 1.17's `scipy.special.kv` computes it: xsf's `cyl_bessel_k` calls AMOS `zbesk`
//! (xsf's C++ translation, `amos::besk` → `amos::bknu`) on the complex argument x + 0i. With a
//! real argument every imaginary part stays ±0, so the complex arithmetic reduces to the real
//! operations below, taken in the same order (GCC's complex division and glibc's `csqrt`,
//! `cexp`, `csinh`, `ccosh` give the real results exactly; glibc's `clog` is [`clog_re`]).
//! Orders at 1/2 and above (forward recurrence, large-order expansions) are not ported.

use std::f64::consts::LOG10_2;

/// AMOS's tolerance: `fmax(DBL_EPSILON, 1e-18)`.
const TOL: f64 = f64::EPSILON;
/// sqrt(pi / 2).
const RTHPI: f64 = 1.253_314_137_315_500_25;
/// 6 / pi.
const SPI: f64 = 1.909_859_317_102_744_03;
/// AMOS's constant for the backward index.
const FPI: f64 = 1.897_699_993_315_177_38;
/// The Taylor coefficients of 1/Γ near 1 (`cc` in `bknu`).
const CC: [f64; 8] = [
    5.772_156_649_015_328_61e-01,
    -4.200_263_503_409_523_55e-02,
    -4.219_773_455_554_433_67e-02,
    7.218_943_246_663_099_54e-03,
    -2.152_416_741_149_509_73e-04,
    -2.013_485_478_078_823_87e-05,
    1.133_027_231_981_695_88e-06,
    6.116_095_104_481_415_82e-09,
];
/// AMOS `dgamln`'s asymptotic series coefficients (the first 22 Bernoulli terms).
const GAMLN_CF: [f64; 22] = [
    8.333_333_333_333_333_33e-02,
    -2.777_777_777_777_777_78e-03,
    7.936_507_936_507_936_51e-04,
    -5.952_380_952_380_952_38e-04,
    8.417_508_417_508_417_51e-04,
    -1.917_526_917_526_917_53e-03,
    6.410_256_410_256_410_26e-03,
    -2.955_065_359_477_124_18e-02,
    1.796_443_723_688_305_73e-01,
    -1.392_432_216_905_901_12e+00,
    1.340_286_404_416_839_20e+01,
    -1.568_482_846_260_020_17e+02,
    2.193_103_333_333_333_33e+03,
    -3.610_877_125_372_498_94e+04,
    6.914_722_688_513_130_67e+05,
    -1.523_822_153_940_741_62e+07,
    3.829_007_513_914_141_41e+08,
    -1.088_226_603_578_439_11e+10,
    3.473_202_837_650_022_52e+11,
    -1.236_960_214_226_927_45e+13,
    4.887_880_647_930_793_35e+14,
    -2.132_033_396_091_937_39e+16,
];

/// AMOS's exponent limits: (elim, alim) from the f64 machine constants.
fn limits() -> (f64, f64) {
    let elim = 2.303 * (1021.0 * LOG10_2 - 3.0);
    let aa = LOG10_2 * 52.0 * 2.303;
    (elim, elim + (-aa).max(-41.45))
}

/// `scipy.special.kv(nu, x)` for 0 <= |nu| < 1/2: NaN for NaN input, a negative x or an order
/// outside that range; +inf at 0 (and below AMOS's underflow limit); 0 beyond 710·(1 + |nu|).
pub fn kv(nu: f64, x: f64) -> f64 {
    let nu = nu.abs();
    if nu.is_nan() || x.is_nan() || x < 0.0 || nu >= 0.5 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::INFINITY;
    }
    if x > 710.0 * (1.0 + nu) {
        return 0.0;
    }
    if x < f64::MIN_POSITIVE * 1.0e3 {
        // besk's overflow test; cyl_bessel_k turns it into +inf.
        return f64::INFINITY;
    }
    if x > 1_073_741_823.5 {
        return f64::NAN;
    }
    bknu(x, nu)
}

/// AMOS `bknu` for z = x + 0i, n = 1, kode = 1 and an order below 1/2 (inu = 0).
fn bknu(x: f64, fnu: f64) -> f64 {
    let (elim, alim) = limits();
    let caz = x;
    let dnu = fnu;
    let dnu2 = if dnu.abs() > TOL { dnu * dnu } else { 0.0 };
    if caz <= 2.0 {
        return series(x, dnu, dnu2);
    }
    let mut coef = RTHPI / x.sqrt();
    let scaled = x > alim;
    if !scaled {
        coef *= (-x).exp() * 1.0;
    }
    let Some(s1) = miller(x, dnu, dnu2, coef) else {
        return f64::NAN;
    };
    if !scaled {
        return s1 * 1.0;
    }
    // kscl: the value on the scale exp(-x), or 0 where it underflows.
    let acs = -x + s1.abs().ln();
    if acs < -elim {
        return 0.0;
    }
    let cs = clog_re(s1) - x;
    cs.exp() / TOL * TOL
}

/// The series for |z| <= 2 (Temme's method), `bknu`'s first branch for n = 1.
fn series(x: f64, dnu: f64, dnu2: f64) -> f64 {
    let caz = x;
    let rz = 2.0 / x;
    let mut fc = 1.0;
    let mut smu = clog_re(rz);
    let fmu = smu * dnu;
    let csh = fmu.sinh();
    let cch = fmu.cosh();
    if dnu != 0.0 {
        fc = dnu * std::f64::consts::PI;
        fc *= 1.0 / fc.sin();
        smu = csh / dnu;
    }
    let a2 = 1.0 + dnu;
    let t2 = (-gamln(a2)).exp();
    let t1 = 1.0 / (t2 * fc);
    let g1 = if dnu.abs() <= 0.1 {
        let mut ak = 1.0;
        let mut s = CC[0];
        for coefficient in &CC[1..] {
            ak *= dnu2;
            let tm = coefficient * ak;
            s += tm;
            if tm.abs() < TOL {
                break;
            }
        }
        -s
    } else {
        (t1 - t2) / (dnu + dnu)
    };
    let g2 = 0.5 * (t1 + t2);
    let mut f = fc * (g1 * cch + smu * g2);
    let pt = fmu.exp();
    let mut p = (0.5 / t2) * pt;
    let mut q = (0.5 / t1) / pt;
    let mut s1 = f;
    let mut ak = 1.0;
    let mut a1 = 1.0;
    let mut ck = 1.0;
    let mut bk = 1.0 - dnu2;
    if caz >= TOL {
        let cz = x * x * 0.25;
        let t1 = 0.25 * caz * caz;
        loop {
            f = (f * ak + p + q) / bk;
            p /= ak - dnu;
            q /= ak + dnu;
            let rk = 1.0 / ak;
            ck *= cz * rk;
            s1 += ck * f;
            a1 *= t1 * rk;
            bk += ak + ak + 1.0;
            ak += 1.0;
            if a1 <= TOL {
                break;
            }
        }
    }
    s1
}

/// Miller's backward recurrence for |z| > 2, normalised as `bknu` does; None where AMOS
/// gives up (ierr = 5).
fn miller(x: f64, dnu: f64, dnu2: f64, coef: f64) -> Option<f64> {
    let caz = x;
    let mut ak = (std::f64::consts::PI * dnu).cos().abs();
    let mut fhs = (0.25 - dnu2).abs();
    if ak == 0.0 || fhs == 0.0 {
        return Some(coef);
    }
    let mut t1 = 52.0 * LOG10_2 * (10.0_f64.ln() / 2.0_f64.ln());
    t1 = t1.clamp(12.0, 60.0);
    let t2 = 2.0 / 3.0 * t1 - 6.0;
    // |arg(z)| = 0 on the positive real axis.
    let t1 = 0.0_f64.atan2(x).abs();
    let mut fk;
    if t2 <= caz {
        let etest = ak / (std::f64::consts::PI * caz * TOL);
        fk = 1.0;
        if etest >= 1.0 {
            let mut fks = 2.0;
            let mut rk = caz + caz + 2.0;
            let mut a1 = 0.0;
            let mut a2 = 1.0;
            let mut converged = false;
            for _ in 0..30 {
                ak = fhs / fks;
                let bk = rk / (fk + 1.0);
                let tm = a2;
                a2 = bk * a2 - ak * a1;
                a1 = tm;
                rk += 2.0;
                fks += fk + fk + 2.0;
                fhs += fk + fk;
                fk += 1.0;
                if etest < a2.abs() * fk {
                    converged = true;
                    break;
                }
            }
            if !converged {
                return None;
            }
            fk += SPI * t1 * (t2 / caz).sqrt();
            fhs = (0.25 - dnu2).abs();
        }
    } else {
        let a2 = caz.sqrt();
        ak *= FPI / (TOL * a2.sqrt());
        let aa = 3.0 * t1 / (1.0 + caz);
        let bb = 14.7 * t1 / (28.0 + caz);
        ak = (ak.ln() + caz * aa.cos() / (1.0 + 0.008 * caz)) / bb.cos();
        fk = 0.12125 * ak * ak / caz + 1.5;
    }
    // Backward recurrence; fk is positive and small here.
    let k = fk as i64;
    let mut fk = k as f64;
    let mut fks = fk * fk;
    let mut p1 = 0.0;
    let mut p2 = TOL;
    let mut cs = p2;
    for _ in 0..k {
        let a1 = fks - fk;
        let a2 = (fks + fk) / (a1 + fhs);
        let rk = 2.0 / (fk + 1.0);
        let t1 = (fk + x) * rk;
        let pt = p2;
        p2 = (p2 * t1 - p1) * a2;
        p1 = pt;
        cs += p2;
        fks = a1 - fk + 1.0;
        fk -= 1.0;
    }
    let tm = cs.abs();
    let pt = 1.0 / tm;
    let s1 = pt * p2;
    let cs = cs * pt;
    Some(s1 * (coef * cs))
}

/// AMOS `dgamln` (log Γ) for 1 <= z < 1.5, the orders `bknu` passes it here.
fn gamln(z: f64) -> f64 {
    if z == 1.0 {
        return 0.0;
    }
    const CON: f64 = 1.837_877_066_409_345_48;
    let nz = z as i64;
    let rln = LOG10_2 * 53.0;
    let fln = rln.clamp(3.0, 20.0) - 3.0;
    let zm = 1.8 + 0.3875 * fln;
    let zmin = ((zm as i64) + 1) as f64;
    let mut zdmy = z;
    let mut zinc = 0.0;
    if z < zmin {
        zinc = zmin - nz as f64;
        zdmy = z + zinc;
    }
    let mut zp = 1.0 / zdmy;
    let t1 = GAMLN_CF[0] * zp;
    let mut s = t1;
    if zp >= TOL {
        let zsq = zp * zp;
        let tst = t1 * TOL;
        for coefficient in &GAMLN_CF[1..] {
            zp *= zsq;
            let trm = coefficient * zp;
            if trm.abs() < tst {
                break;
            }
            s += trm;
        }
    }
    if zinc == 0.0 {
        let tlg = z.ln();
        return z * (tlg - 1.0) + 0.5 * (CON - tlg) + s;
    }
    let mut product = 1.0;
    for i in 0..zinc as i64 {
        product *= z + i as f64;
    }
    let tlg = zdmy.ln();
    zdmy * (tlg - 1.0) - product.ln() + 0.5 * (CON - tlg) + s
}

/// The real part of glibc's `clog(x + 0i)` for x > 0: `log1p((x − 1)(x + 1)) / 2` for x in
/// [1/2, 2), the plain logarithm elsewhere.
fn clog_re(x: f64) -> f64 {
    let x = x.abs();
    if (0.5..2.0).contains(&x) {
        ((x - 1.0) * (x + 1.0)).ln_1p() / 2.0
    } else {
        x.ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (ν, x, `scipy.special.kv(ν, x)`), SciPy 1.17.1: both branches (|x| <= 2 and above),
    /// both ways of choosing Miller's start (x below and above 28.67), the scaled range
    /// above 664.87 and its underflow to 0.
    #[rustfmt::skip]
    const KV: &[(f64, f64, f64)] = &[
        (0.25, 1e-300, 2.1558005495409453e+75),
        (0.25, 1e-10, 681.7174746305777),
        (0.25, 0.003, 8.729160915523021),
        (0.25, 0.01, 6.165741264139234),
        (0.25, 0.1, 2.6851568718760555),
        (0.25, 0.5, 0.9603163249318826),
        (0.25, 0.75, 0.6281822087345026),
        (0.25, 0.9, 0.49892792962946625),
        (0.25, 1.0, 0.4307397744485814),
        (0.25, 1.3, 0.2834491509821558),
        (0.25, 1.5, 0.21735815698179464),
        (0.25, 1.9999, 0.11539251030893753),
        (0.25, 2.0, 0.11537827684084918),
        (0.25, 2.0001, 0.11536404525620578),
        (0.25, 2.5, 0.06301715899861954),
        (0.25, 3.0, 0.03505705608941313),
        (0.25, 5.0, 0.0037123027320318403),
        (0.25, 10.0, 1.7833184439806395e-05),
        (0.25, 20.0, 5.750002072403683e-10),
        (0.25, 28.0, 1.6323240437424366e-13),
        (0.25, 28.7, 8.00705084585165e-14),
        (0.25, 29.0, 5.901200677624704e-14),
        (0.25, 40.0, 8.399340675998916e-19),
        (0.25, 100.0, 4.65807645150984e-45),
        (0.25, 600.0, 1.355899090158334e-262),
        (0.25, 664.0, 2.0671816598156276e-290),
        (0.25, 665.0, 7.599017951039389e-291),
        (0.25, 700.0, 0.0),
        (0.25, 720.0, 0.0),
        (0.25, 880.0, 0.0),
        (0.0, 0.2, 1.7527038555281462),
        (0.0, 1.7, 0.16549631805699655),
        (0.0, 3.0, 0.03473950438627925),
        (0.0, 30.0, 2.1324774964630563e-14),
        (0.1, 0.2, 1.772225915680326),
        (0.1, 1.7, 0.16589033700075323),
        (0.1, 3.0, 0.034790132237891805),
        (0.1, 30.0, 2.132827217342444e-14),
        (0.3, 0.2, 1.9346034044945348),
        (0.3, 1.7, 0.16907305227213917),
        (0.3, 3.0, 0.0351976322831403),
        (0.3, 30.0, 2.135627028326095e-14),
        (0.49, 0.2, 2.270785773117343),
        (0.49, 1.7, 0.17519356068683803),
        (0.49, 3.0, 0.03597420902573115),
        (0.49, 30.0, 2.140889991008959e-14),
        (0.25, 20.482629, 3.5069760578567204e-10),
        (0.25, 38.019539, 6.241993897381543e-18),
        (0.25, 5.783501, 0.0015801704260343466),
        (0.25, 37.947005, 6.717955636422808e-18),
        (0.25, 12.487021, 1.3293720278698099e-06),
        (0.25, 16.944591, 1.3251533095410485e-08),
        (0.25, 33.11155, 9.05096970525064e-16),
        (0.25, 16.379781, 2.3705176785193037e-08),
        (0.25, 21.992756, 7.477845430490719e-11),
        (0.25, 1.121813, 0.36214701509043884),
        (0.25, 30.145454, 1.8412626679979033e-14),
        (0.25, 21.53497, 1.1943192886279945e-10),
        (0.25, 13.202674, 6.322739162179417e-07),
        (0.25, 31.54138, 4.457601949902119e-15),
        (0.25, 12.141729, 1.9037419967517233e-06),
        (0.25, 18.150846, 3.833669248467183e-09),
        (0.25, 5.378987, 0.0024528629620083836),
        (0.25, 16.136457, 3.0460150871803735e-08),
        (0.25, 8.154141, 0.00012483966071767075),
        (0.25, 10.507287, 1.0479763305556649e-05),
        (0.25, 30.01958, 2.0925953499979065e-14),
        (0.25, 11.230742, 4.9195958229505825e-06),
        (0.25, 19.417935, 1.0442655437714278e-09),
        (0.25, 39.229873, 1.8319311659274295e-18),
        (0.25, 38.467055, 3.966803701031826e-18),
        (0.25, 28.997102, 5.918621046355229e-14),
        (0.25, 21.65825, 1.0528133249750693e-10),
        (0.25, 11.09011, 5.697693542557102e-06),
        (0.25, 6.442867, 0.0007753999324716239),
        (0.25, 38.797618, 2.8381134664965742e-18),
        (0.25, 20.652422, 2.9472406215923627e-10),
        (0.25, 4.652307, 0.005442320043092118),
        (0.25, 24.94712, 3.6606023513082715e-12),
        (0.25, 31.071791, 7.182563656178612e-15),
        (0.25, 24.527872, 5.614138030034591e-12),
        (0.25, 36.693562, 2.392536753032396e-17),
        (0.25, 1.602923, 0.190196743628533),
        (0.25, 21.152999, 1.7654761632004706e-10),
        (0.25, 18.384249, 3.0164875280233073e-09),
        (0.25, 2.512736, 0.06207053690854838),
    ];

    #[test]
    fn kv_is_scipys_bit_for_bit() {
        for &(nu, x, want) in KV {
            assert_eq!(kv(nu, x), want, "kv({nu}, {x})");
        }
    }

    #[test]
    fn edges_are_scipys() {
        assert_eq!(kv(0.25, 0.0), f64::INFINITY);
        assert!(kv(0.25, -1.0).is_nan());
        assert_eq!(kv(0.25, 900.0), 0.0);
        assert!(kv(0.75, 1.0).is_nan());
    }

    #[test]
    fn gamln_matches_the_log_gamma_function() {
        // ln Γ(1.25) = -0.0982718364218131614...
        assert!((gamln(1.25) + 0.098_271_836_421_813_16).abs() < 1e-15);
    }
}
