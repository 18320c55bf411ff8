//! Special functions for the drift tests: erfc, normal CDF, chi-square tail.
//!
//! Everything reduces to the regularised upper incomplete gamma function
//! `Q(a, x)`, evaluated by its power series (for `x < a + 1`) or its
//! continued fraction (Lentz's method) to near machine precision, with
//! `ln Γ` from the Lanczos approximation (g = 7, 9 terms, ~1e-15 relative).
//! `erfc(x) = Q(1/2, x²)` for `x ≥ 0`, so one routine serves both tests and
//! tiny p-values keep their relative accuracy instead of rounding to zero.
//! Invalid arguments give NaN, as `f64` functions in `std` do; the drift code
//! never passes them.

use std::f64::consts::PI;

const EPS: f64 = 1e-16;
const TINY: f64 = 1e-300;
const MAX_TERMS: usize = 100_000;

const LANCZOS_G: f64 = 7.0;
const LANCZOS: [f64; 9] = [
    0.999_999_999_999_809_9,
    676.520_368_121_885_1,
    -1_259.139_216_722_402_8,
    771.323_428_777_653_1,
    -176.615_029_162_140_6,
    12.507_343_278_686_905,
    -0.138_571_095_265_720_12,
    9.984_369_578_019_572e-6,
    1.505_632_735_149_311_6e-7,
];

/// Natural log of the gamma function for `x > 0` (reflection below 1/2).
pub fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 && x == x.floor() {
        return f64::NAN;
    }
    if x < 0.5 {
        return (PI / (PI * x).sin().abs()).ln() - ln_gamma(1.0 - x);
    }
    let z = x - 1.0;
    let mut sum = LANCZOS[0];
    for (i, c) in LANCZOS.iter().enumerate().skip(1) {
        sum += c / (z + i as f64);
    }
    let t = z + LANCZOS_G + 0.5;
    0.5 * (2.0 * PI).ln() + (z + 0.5) * t.ln() - t + sum.ln()
}

/// `ln(e^{-x} x^a / Γ(a))`, the common prefactor of both expansions.
fn ln_prefactor(a: f64, x: f64) -> f64 {
    -x + a * x.ln() - ln_gamma(a)
}

/// Lower regularised gamma `P(a, x)` by its series; good for `x < a + 1`.
fn p_series(a: f64, x: f64) -> f64 {
    let mut term = 1.0 / a;
    let mut sum = term;
    let mut ap = a;
    for _ in 0..MAX_TERMS {
        ap += 1.0;
        term *= x / ap;
        sum += term;
        if term.abs() < sum.abs() * EPS {
            break;
        }
    }
    sum * ln_prefactor(a, x).exp()
}

/// Upper regularised gamma `Q(a, x)` by its continued fraction; good for
/// `x ≥ a + 1`.
fn q_continued_fraction(a: f64, x: f64) -> f64 {
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..MAX_TERMS {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < EPS {
            break;
        }
    }
    ln_prefactor(a, x).exp() * h
}

/// Regularised upper incomplete gamma `Q(a, x) = Γ(a, x) / Γ(a)`, for
/// `a > 0`, `x ≥ 0`.
pub fn regularized_gamma_q(a: f64, x: f64) -> f64 {
    if !(a > 0.0 && x >= 0.0) || a.is_infinite() {
        return f64::NAN;
    }
    if x == 0.0 {
        1.0
    } else if x.is_infinite() {
        0.0
    } else if x < a + 1.0 {
        1.0 - p_series(a, x)
    } else {
        q_continued_fraction(a, x)
    }
}

/// Complementary error function.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        f64::NAN
    } else if x < 0.0 {
        2.0 - erfc(-x)
    } else {
        regularized_gamma_q(0.5, x * x)
    }
}

/// Standard normal cumulative distribution function.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Upper tail `P(X ≥ statistic)` of a chi-square distribution with `df`
/// degrees of freedom.
pub fn chi_square_sf(statistic: f64, df: f64) -> f64 {
    if statistic.is_nan() || df.is_nan() || df <= 0.0 {
        f64::NAN
    } else if statistic <= 0.0 {
        1.0
    } else {
        regularized_gamma_q(0.5 * df, 0.5 * statistic)
    }
}

/// Wilson score interval of a proportion `k / n` at 95% (z = 1.96); `None` when `n` is 0.
pub fn wilson(k: usize, n: usize) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    const Z: f64 = 1.959_963_984_540_054;
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let denom = 1.0 + Z * Z / n;
    let centre = (p + Z * Z / (2.0 * n)) / denom;
    let half = Z * (p * (1.0 - p) / n + Z * Z / (4.0 * n * n)).sqrt() / denom;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// 95% interval in which the share of a new sample of `m` answers falls when the share `p` was
/// measured on `n` answers of the same kind: both samples' errors count, `p(1 − p)(1/n + 1/m)`.
/// `None` when either is empty.
pub fn prediction_interval(p: f64, n: usize, m: usize) -> Option<(f64, f64)> {
    if n == 0 || m == 0 {
        return None;
    }
    const Z: f64 = 1.959_963_984_540_054;
    let half = Z * (p * (1.0 - p) * (1.0 / n as f64 + 1.0 / m as f64)).sqrt();
    Some(((p - half).max(0.0), (p + half).min(1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prediction_interval_counts_both_samples() {
        // 0.5 on 100 answers, a new sample of 100: half-width 1.96 × sqrt(0.25 × 0.02).
        let (lo, hi) = prediction_interval(0.5, 100, 100).unwrap();
        assert!((hi - lo - 2.0 * 1.959_963_984_540_054 * 0.005f64.sqrt()).abs() < 1e-12);
        // Wider than the interval of the estimate alone.
        let (wl, wh) = wilson(50, 100).unwrap();
        assert!(lo < wl && hi > wh);
        assert!(prediction_interval(0.5, 0, 10).is_none());
    }

    #[test]
    fn wilson_matches_statsmodels() {
        // statsmodels.stats.proportion.proportion_confint(37, 100, method="wilson")
        let (lo, hi) = wilson(37, 100).unwrap();
        assert!(
            (lo - 0.281_823_605_343).abs() < 1e-9 && (hi - 0.467_794_704_191).abs() < 1e-9,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson(0, 10).unwrap();
        assert!(lo == 0.0 && (hi - 0.277_532_799_863).abs() < 1e-9, "{hi}");
        assert!(wilson(0, 0).is_none());
    }

    fn close(got: f64, want: f64, rel: f64) {
        let err = (got - want).abs() / want.abs().max(1e-300);
        assert!(err <= rel, "got {got:e}, want {want:e}, rel err {err:e}");
    }

    #[test]
    fn ln_gamma_matches_python_lgamma() {
        // math.lgamma
        close(ln_gamma(0.5), 0.5723649429247004, 1e-14);
        close(ln_gamma(3.0), std::f64::consts::LN_2, 1e-14);
        close(ln_gamma(21.5), 43.85192586067516, 1e-14);
        close(ln_gamma(0.1), 2.2527126517342055, 1e-14);
        close(ln_gamma(100.0), 359.1342053695754, 1e-14);
        assert!(ln_gamma(1.0).abs() < 1e-15 && ln_gamma(2.0).abs() < 1e-15);
    }

    #[test]
    fn erfc_matches_scipy() {
        // scipy.special.erfc
        let cases = [
            (0.0, 1.0),
            (1e-8, 0.9999999887162083),
            (0.3, 0.6713732405408726),
            (1.0, 0.15729920705028516),
            (-1.5, 1.9661051464753108),
            (2.5, 0.00040695201744495886),
            (5.0, 1.5374597944280347e-12),
            (10.0, 2.0884875837625446e-45),
            (26.0, 5.663192408856145e-296),
        ];
        for (x, want) in cases {
            close(erfc(x), want, 1e-12);
        }
    }

    #[test]
    fn normal_cdf_matches_scipy() {
        // scipy.stats.norm.cdf
        close(normal_cdf(1.959963984540054), 0.975, 1e-14);
        close(normal_cdf(-3.0), 0.0013498980316300933, 1e-12);
        close(normal_cdf(-8.0), 6.22096057427174e-16, 1e-12);
        close(normal_cdf(0.0), 0.5, 1e-15);
    }

    #[test]
    fn chi_square_sf_matches_scipy() {
        // scipy.stats.chi2.sf
        let cases = [
            (3.84, 1.0, 0.05004352124870519),
            (0.5, 3.0, 0.9188914116546758),
            (10.0, 8.0, 0.2650259152973616),
            (60.0, 8.0, 4.661032000779303e-10),
            (250.0, 43.0, 5.397501495814988e-31),
            (42.0, 43.0, 0.5145874212540756),
            (1e-3, 2.0, 0.9995001249791693),
        ];
        for (x, df, want) in cases {
            close(chi_square_sf(x, df), want, 1e-11);
        }
        assert_eq!(chi_square_sf(0.0, 3.0), 1.0);
        assert!(chi_square_sf(1.0, 0.0).is_nan());
    }
}
