//! The gamma function and its logarithm as Cephes computes them (`Gamma`, `lgam`, `lgam1p`),
//! with the helpers near unity SciPy's incomplete gamma uses (`log1p`, `log1pmx`, `expm1`)
//! and the Lanczos sum (`lanczos_sum_expg_scaled`). Arguments are positive here.

use super::poly::{p1evl, polevl, ratevl};

/// 2^-53 (Cephes `MACHEP`).
pub(crate) const MACHEP: f64 = 1.110_223_024_625_156_540_423_631_668_090_820_312_5E-16;
/// The largest x whose Gamma(x) is finite (Cephes `MAXGAM`).
pub(crate) const MAXGAM: f64 = 171.624_376_956_302_725;
/// log(2^-1075) (Cephes `MINLOG`).
pub(crate) const MINLOG: f64 = -7.451_332_191_019_412_076_235_245_305_675_398_106_812E2;
const SQRT2PI: f64 = 2.506_628_274_631_000_502_415_765_284_811_045_253_007;
const LS2PI: f64 = 0.918_938_533_204_672_741_78;
const MAXLGM: f64 = 2.556_348e305;
const EULER: f64 = 0.577_215_664_901_532_860_606_512_090_082_402_431;

const GAMMA_P: [f64; 7] = [
    1.601_195_224_767_518_614_07E-4,
    1.191_351_470_065_863_849_13E-3,
    1.042_137_975_617_615_699_35E-2,
    4.763_678_004_571_372_314_64E-2,
    2.074_482_276_484_359_751_50E-1,
    4.942_148_268_014_971_007_53E-1,
    9.999_999_999_999_999_967_96E-1,
];
const GAMMA_Q: [f64; 8] = [
    -2.315_818_733_241_201_298_19E-5,
    5.396_055_804_933_033_978_42E-4,
    -4.456_419_138_517_972_404_94E-3,
    1.181_397_852_220_604_355_52E-2,
    3.582_363_986_054_986_533_73E-2,
    -2.345_917_957_182_433_485_68E-1,
    7.143_049_170_302_730_740_85E-2,
    1.000_000_000_000_000_003_20E0,
];
const STIR: [f64; 5] = [
    7.873_113_957_930_936_283_97E-4,
    -2.295_499_616_133_781_263_80E-4,
    -2.681_326_178_057_812_328_25E-3,
    3.472_222_216_054_586_673_10E-3,
    8.333_333_333_334_822_571_26E-2,
];
const MAXSTIR: f64 = 143.01608;
const GAMMA_A: [f64; 5] = [
    8.116_141_674_705_084_503_00E-4,
    -5.950_619_042_843_014_383_24E-4,
    7.936_503_404_577_169_439_45E-4,
    -2.777_777_777_300_996_872_05E-3,
    8.333_333_333_333_319_277_22E-2,
];
const GAMMA_B: [f64; 6] = [
    -1.378_251_525_691_208_591_00E3,
    -3.880_163_151_346_378_409_24E4,
    -3.316_129_927_388_711_847_44E5,
    -1.162_370_974_927_623_073_83E6,
    -1.721_737_008_208_396_621_46E6,
    -8.535_556_642_457_654_656_27E5,
];
const GAMMA_C: [f64; 6] = [
    -3.518_157_014_365_234_705_49E2,
    -1.706_421_066_518_811_592_23E4,
    -2.205_285_905_538_544_548_39E5,
    -1.139_334_443_679_825_072_07E6,
    -2.532_523_071_775_829_512_85E6,
    -2.018_891_414_335_327_732_31E6,
];

/// Gamma(x) by Stirling's formula, 33 <= x <= 172 (Cephes `stirf`).
fn stirf(x: f64) -> f64 {
    if x >= MAXGAM {
        return f64::INFINITY;
    }
    let w = 1.0 / x;
    let w = 1.0 + w * polevl(w, &STIR);
    let mut y = x.exp();
    if x > MAXSTIR {
        let v = x.powf(0.5 * x - 0.25);
        y = v * (v / y);
    } else {
        y = x.powf(x - 0.5) / y;
    }
    SQRT2PI * y * w
}

/// The gamma function for x > 0 (Cephes `Gamma`); NaN for other x.
pub fn gamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x.is_infinite() {
        return x;
    }
    if x > 33.0 {
        return stirf(x);
    }
    let mut x = x;
    let mut z = 1.0;
    while x >= 3.0 {
        x -= 1.0;
        z *= x;
    }
    while x < 2.0 {
        if x < 1.0e-9 {
            return z / ((1.0 + 0.577_215_664_901_532_9 * x) * x);
        }
        z /= x;
        x += 1.0;
    }
    if x == 2.0 {
        return z;
    }
    x -= 2.0;
    z * polevl(x, &GAMMA_P) / polevl(x, &GAMMA_Q)
}

/// log Gamma(x) for x > 0 (Cephes `lgam`, SciPy's `gammaln`); NaN for other x.
pub fn lgam(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x.is_infinite() {
        return x;
    }
    if x < 13.0 {
        let mut z = 1.0;
        let mut p = 0.0;
        let mut u = x;
        while u >= 3.0 {
            p -= 1.0;
            u = x + p;
            z *= u;
        }
        while u < 2.0 {
            z /= u;
            p += 1.0;
            u = x + p;
        }
        if u == 2.0 {
            return z.ln();
        }
        p -= 2.0;
        let x = x + p;
        let p = x * polevl(x, &GAMMA_B) / p1evl(x, &GAMMA_C);
        return z.ln() + p;
    }
    if x > MAXLGM {
        return f64::INFINITY;
    }
    let q = (x - 0.5) * x.ln() - x + LS2PI;
    if x >= 1000.0 {
        if x > 1.0e8 {
            return q;
        }
        let p = 1.0 / (x * x);
        let p = ((7.936_507_936_507_936_507_936_5e-4 * p - 2.777_777_777_777_777_777_777_8e-3) * p
            + 0.083_333_333_333_333_333_333_3)
            / x;
        return q + p;
    }
    let p = 1.0 / (x * x);
    q + polevl(p, &GAMMA_A) / x
}

const LP: [f64; 7] = [
    4.527_000_086_244_519_963_521_5E-5,
    4.985_410_282_319_337_597_221_2E-1,
    6.578_732_594_206_104_484_696_9E0,
    2.991_191_932_855_307_327_737_5E1,
    6.094_966_798_098_778_705_755_6E1,
    5.711_296_359_058_553_810_333_6E1,
    2.003_955_349_920_128_125_964_8E1,
];
const LQ: [f64; 6] = [
    1.506_290_908_346_919_204_316_7E1,
    8.304_756_596_796_720_946_943_4E1,
    2.217_623_982_373_285_646_539_4E2,
    3.090_987_222_531_205_977_493_8E2,
    2.164_278_861_449_594_768_500_3E2,
    6.011_866_049_760_384_391_930_6E1,
];

/// log(1 + x) (Cephes `log1p`).
pub(crate) fn log1p(x: f64) -> f64 {
    let z = 1.0 + x;
    if !(std::f64::consts::FRAC_1_SQRT_2..=std::f64::consts::SQRT_2).contains(&z) {
        return z.ln();
    }
    let z = x * x;
    let z = -0.5 * z + x * (z * polevl(x, &LP) / p1evl(x, &LQ));
    x + z
}

/// log(1 + x) − x (Cephes `log1pmx`).
pub(crate) fn log1pmx(x: f64) -> f64 {
    if x.abs() < 0.5 {
        let mut xfac = x;
        let mut res = 0.0;
        for n in 2..500u32 {
            xfac *= -x;
            let term = xfac / f64::from(n);
            res += term;
            if term.abs() < MACHEP * res.abs() {
                break;
            }
        }
        res
    } else {
        log1p(x) - x
    }
}

const EP: [f64; 3] = [
    1.261_771_930_748_105_908_779_8E-4,
    3.029_944_077_074_419_612_995_6E-2,
    9.999_999_999_999_999_999_102_5E-1,
];
const EQ: [f64; 4] = [
    3.001_985_051_386_644_550_415_9E-6,
    2.524_483_403_496_841_041_922_4E-3,
    2.272_655_482_081_550_287_659_3E-1,
    2.000_000_000_000_000_000_089_7E0,
];

/// exp(x) − 1 (Cephes `expm1`).
pub(crate) fn expm1(x: f64) -> f64 {
    if !x.is_finite() {
        return if x.is_nan() || x > 0.0 { x } else { -1.0 };
    }
    if !(-0.5..=0.5).contains(&x) {
        return x.exp() - 1.0;
    }
    let xx = x * x;
    let r = x * polevl(xx, &EP);
    let r = r / (polevl(xx, &EQ) - r);
    r + r
}

/// ζ(n) for n = 2..=41 as SciPy's `zeta(n, 1)` gives them (Cephes's Hurwitz zeta), bit for bit.
const ZETA: [u64; 40] = [
    0x3ffa51a6625307d4, // zeta(2)
    0x3ff33ba004f00620, // zeta(3)
    0x3ff151322ac7d848, // zeta(4)
    0x3ff097418eca7cd0, // zeta(5)
    0x3ff0470984c09243, // zeta(6)
    0x3ff02232da14cf39, // zeta(7)
    0x3ff010b36af86398, // zeta(8)
    0x3ff00839f3d816b7, // zeta(9)
    0x3ff00412e33a5bba, // zeta(10)
    0x3ff0020631be48b3, // zeta(11)
    0x3ff001020a5b2cd2, // zeta(12)
    0x3ff00080ac9d08bc, // zeta(13)
    0x3ff00040392bcad3, // zeta(14)
    0x3ff0002012f797e3, // zeta(15)
    0x3ff00010064cdeb1, // zeta(16)
    0x3ff00008021839b3, // zeta(17)
    0x3ff0000400b2654e, // zeta(18)
    0x3ff00002003b611e, // zeta(19)
    0x3ff000010013c594, // zeta(20)
    0x3ff00000800695d5, // zeta(21)
    0x3ff000004002319b, // zeta(22)
    0x3ff000002000bb1e, // zeta(23)
    0x3ff0000010003e5a, // zeta(24)
    0x3ff00000080014c7, // zeta(25)
    0x3ff00000040006ed, // zeta(26)
    0x3ff000000200024f, // zeta(27)
    0x3ff00000010000c5, // zeta(28)
    0x3ff0000000800042, // zeta(29)
    0x3ff0000000400016, // zeta(30)
    0x3ff0000000200007, // zeta(31)
    0x3ff0000000100002, // zeta(32)
    0x3ff0000000080001, // zeta(33)
    0x3ff0000000040000, // zeta(34)
    0x3ff0000000020000, // zeta(35)
    0x3ff0000000010000, // zeta(36)
    0x3ff0000000008000, // zeta(37)
    0x3ff0000000004000, // zeta(38)
    0x3ff0000000002000, // zeta(39)
    0x3ff0000000001000, // zeta(40)
    0x3ff0000000000800, // zeta(41)
];

/// log Gamma(1 + x) near x = 0 by its Taylor series (Cephes `lgam1p_taylor`).
fn lgam1p_taylor(x: f64) -> f64 {
    if x == 0.0 {
        return 0.0;
    }
    let mut res = -EULER * x;
    let mut xfac = -x;
    for (i, bits) in ZETA.iter().enumerate() {
        let n = (i + 2) as f64;
        xfac *= -x;
        let coeff = f64::from_bits(*bits) * xfac / n;
        res += coeff;
        if coeff.abs() < MACHEP * res.abs() {
            break;
        }
    }
    res
}

/// log Gamma(1 + x) (Cephes `lgam1p`).
pub(crate) fn lgam1p(x: f64) -> f64 {
    if x.abs() <= 0.5 {
        lgam1p_taylor(x)
    } else if (x - 1.0).abs() < 0.5 {
        x.ln() + lgam1p_taylor(x - 1.0)
    } else {
        lgam(x + 1.0)
    }
}

/// The Lanczos approximation's g (N = 13), as Boost and Cephes use it.
pub(crate) const LANCZOS_G: f64 = 6.024_680_040_776_729_583_740_234_375;

const LANCZOS_NUM: [f64; 13] = [
    0.006_061_842_346_248_906_525_783_753_964_555_936_883_222,
    0.509_841_665_565_667_618_812_517_864_450_450_950_999_3,
    19.519_927_882_476_174_828_478_609_662_356_521_362_08,
    449.944_556_906_316_811_944_685_860_760_698_850_962_3,
    6_955.999_602_515_376_140_356_310_115_515_198_987_526,
    75_999.293_040_145_426_498_753_034_435_988_791_370_92,
    601_859.617_168_109_878_667_022_653_369_935_230_250_7,
    3_481_712.154_980_645_908_820_710_189_647_745_564_68,
    14_605_578.087_685_068_084_141_699_827_913_592_185_71,
    43_338_889.324_676_138_347_737_237_405_905_333_160_85,
    86_363_131.288_138_591_455_469_272_889_778_684_223_42,
    103_794_043.116_344_545_190_627_105_361_607_023_855_4,
    56_906_521.913_471_563_880_907_910_335_591_226_868_59,
];
const LANCZOS_DENOM: [f64; 13] = [
    1.0,
    66.0,
    1925.0,
    32670.0,
    357_423.0,
    2_637_558.0,
    13_339_535.0,
    45_995_730.0,
    105_258_076.0,
    150_917_976.0,
    120_543_840.0,
    39_916_800.0,
    0.0,
];

/// The Lanczos sum scaled by exp(-g) (Cephes `lanczos_sum_expg_scaled`).
pub(crate) fn lanczos_sum_expg_scaled(x: f64) -> f64 {
    ratevl(x, &LANCZOS_NUM, &LANCZOS_DENOM)
}
