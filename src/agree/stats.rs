//! Sufficient statistics: per-unit contributions summed into a flat vector, and the coefficient formulas on it.
//!
//! Every coefficient is a function of a few sums over units, so a data set (or a
//! bootstrap resample, which is the same data with integer unit weights) is
//! reduced to one `Vec<f64>` laid out by [`Layout`] and then [`finalize`]d.

/// A computed value, or the reason it cannot be computed.
pub(crate) type Value = Result<f64, &'static str>;

pub(crate) const NO_PAIRS: &str = "no unit was coded by two or more coders";
pub(crate) const ONE_CODE_ALPHA: &str =
    "only one code among pairable values: expected disagreement is 0";
pub(crate) const ONE_CODE_KAPPA: &str = "only one code used: expected agreement is 1";
pub(crate) const FEW_CATEGORIES: &str = "fewer than two codes used (q < 2)";
pub(crate) const NO_COMMON_UNITS: &str = "no unit coded by both coders";
pub(crate) const PAIR_ONE_CODE: &str =
    "both coders used the same single code: expected agreement is 1";
pub(crate) const NOT_FINITE: &str = "not a finite number";

// Fixed slots at the start of the statistics vector.
/// Units with two or more codings.
pub(crate) const UNITS_USED: usize = 0;
/// Σ over used units of the share of disagreeing ordered coder pairs (1 − p_a per unit).
const DIS_SUM: usize = 1;
/// Σ over used units of disagreeing ordered value pairs / (m_u − 1) (Krippendorff's D_o numerator).
const DO_SUM: usize = 2;
/// Σ over used units of m_u, the number of pairable values.
pub(crate) const PAIRABLE: usize = 3;
/// Units with exactly one coding: they only feed the code prevalences (irrCAC convention).
const SINGLE: usize = 4;
const HEAD: usize = 5;

/// Positions of the statistics in the flat vector, for `n_codes` codes and every coder pair.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    n_coders: usize,
    n_codes: usize,
    pairs: Vec<(usize, usize)>,
}

impl Layout {
    pub(crate) fn new(n_coders: usize, n_codes: usize) -> Self {
        let pairs = (0..n_coders)
            .flat_map(|a| (a + 1..n_coders).map(move |b| (a, b)))
            .collect();
        Self {
            n_coders,
            n_codes,
            pairs,
        }
    }

    pub(crate) fn len(&self) -> usize {
        HEAD + 2 * self.n_codes + self.pairs.len() * (2 + 2 * self.n_codes)
    }

    pub(crate) fn pairs(&self) -> &[(usize, usize)] {
        &self.pairs
    }

    /// Pairable values with code `k` (Krippendorff's n_k).
    fn nc(&self, k: usize) -> usize {
        HEAD + k
    }

    /// Σ_u r_uk / r_u over units with ≥1 coding (Gwet's π_k numerator).
    fn pi(&self, k: usize) -> usize {
        HEAD + self.n_codes + k
    }

    fn pair_base(&self, p: usize) -> usize {
        HEAD + 2 * self.n_codes + p * (2 + 2 * self.n_codes)
    }

    /// Units coded by both coders of pair `p`.
    fn pair_n(&self, p: usize) -> usize {
        self.pair_base(p)
    }

    fn pair_agree(&self, p: usize) -> usize {
        self.pair_base(p) + 1
    }

    /// Marginal of the first (`side` 0) or second (`side` 1) coder of pair `p`.
    fn pair_margin(&self, p: usize, side: usize, k: usize) -> usize {
        self.pair_base(p) + 2 + side * self.n_codes + k
    }

    /// Index of pair (a, b), a < b, in coder order.
    fn pair_index(&self, a: usize, b: usize) -> usize {
        let c = self.n_coders;
        a * (2 * c - a - 1) / 2 + (b - a - 1)
    }
}

/// Receives contributions; a dense vector for direct sums, a sparse list when
/// precomputing bootstrap features.
pub(crate) trait Sink {
    fn add(&mut self, idx: usize, v: f64);
}

impl Sink for [f64] {
    fn add(&mut self, idx: usize, v: f64) {
        self[idx] += v;
    }
}

impl Sink for Vec<(usize, f64)> {
    fn add(&mut self, idx: usize, v: f64) {
        self.push((idx, v));
    }
}

fn coded(row: &[Option<u32>]) -> usize {
    row.iter().flatten().count()
}

/// Everything a unit contributes that depends on its pattern of equal and missing
/// codes, not on which codes they are. Call only for units with ≥2 codings.
pub(crate) fn add_structure<S: Sink + ?Sized>(l: &Layout, s: &mut S, row: &[Option<u32>]) {
    let m = coded(row) as f64;
    let mut same_pairs = 0.0;
    for (p, &(a, b)) in l.pairs.iter().enumerate() {
        if let (Some(x), Some(y)) = (row[a], row[b]) {
            s.add(l.pair_n(p), 1.0);
            if x == y {
                s.add(l.pair_agree(p), 1.0);
                same_pairs += 2.0; // ordered pairs
            }
        }
    }
    let ordered_pairs = m * (m - 1.0);
    s.add(UNITS_USED, 1.0);
    s.add(PAIRABLE, m);
    s.add(DIS_SUM, (ordered_pairs - same_pairs) / ordered_pairs);
    s.add(DO_SUM, (ordered_pairs - same_pairs) / (m - 1.0));
}

/// What coder `a`'s code adds for a unit with ≥2 codings; depends only on that
/// code and on which coders coded the unit.
pub(crate) fn add_code<S: Sink + ?Sized>(l: &Layout, s: &mut S, row: &[Option<u32>], a: usize) {
    let Some(k) = row[a] else { return };
    let k = k as usize;
    let m = coded(row) as f64;
    s.add(l.nc(k), 1.0);
    s.add(l.pi(k), 1.0 / m);
    for (b, other) in row.iter().enumerate() {
        if b == a || other.is_none() {
            continue;
        }
        let (p, side) = if a < b {
            (l.pair_index(a, b), 0)
        } else {
            (l.pair_index(b, a), 1)
        };
        s.add(l.pair_margin(p, side, k), 1.0);
    }
}

/// Adds one unit (weight 1). Units with one coding only count towards the code
/// prevalences of Fleiss' kappa and AC1, as in Gwet (2014) / irrCAC.
pub(crate) fn add_unit<S: Sink + ?Sized>(l: &Layout, s: &mut S, row: &[Option<u32>]) {
    match coded(row) {
        0 => {}
        1 => {
            s.add(SINGLE, 1.0);
            for &k in row.iter().flatten() {
                s.add(l.pi(k as usize), 1.0);
            }
        }
        _ => {
            add_structure(l, s, row);
            for a in 0..row.len() {
                add_code(l, s, row, a);
            }
        }
    }
}

/// Coefficients for one coder pair.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PairEstimates {
    pub n: f64,
    pub percent: Value,
    pub cohen: Value,
    pub scott: Value,
}

/// All coefficients computed from one statistics vector.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Estimates {
    pub percent: Value,
    pub alpha: Value,
    pub fleiss: Value,
    pub ac1: Value,
    pub bp: Value,
    pub pairs: Vec<PairEstimates>,
}

fn finite(x: f64) -> Value {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(NOT_FINITE)
    }
}

/// Turns summed statistics into coefficients. `q` is the number of codes used
/// anywhere in the data (Brennan–Prediger and AC1 chance terms); it is a property
/// of the data set, so resamples pass the full-data value.
pub(crate) fn finalize(l: &Layout, s: &[f64], q: usize) -> Estimates {
    // Chance-corrected values are computed as 1 − observed/expected disagreement:
    // with skewed codes p_a and p_e are both near 1 and (p_a − p_e)/(1 − p_e)
    // would lose digits to cancellation.
    let k_range = 0..l.n_codes;
    let used = s[UNITS_USED];
    let observed = if used > 0.0 {
        Ok(s[DIS_SUM] / used)
    } else {
        Err(NO_PAIRS)
    };
    let corrected = |expected: f64| observed.and_then(|d| finite(1.0 - d / expected));

    // Krippendorff: alpha = 1 − (n − 1) Σ_u D_u / (n² − Σ_k n_k²).
    // Counts are integers, so the zero test on the denominator is exact.
    let n = s[PAIRABLE];
    let sum_nc2: f64 = k_range.clone().map(|k| s[l.nc(k)].powi(2)).sum();
    let expected = n * n - sum_nc2;
    let alpha = if used == 0.0 {
        Err(NO_PAIRS)
    } else if expected <= 0.0 {
        Err(ONE_CODE_ALPHA)
    } else {
        finite(1.0 - (n - 1.0) * s[DO_SUM] / expected)
    };

    // Gwet's prevalences: π_k = (1/n) Σ_u r_uk / r_u over units with ≥1 coding.
    let n_all = used + s[SINGLE];
    let pis: Vec<f64> = k_range.map(|k| s[l.pi(k)] / n_all).collect();
    let present = pis.iter().filter(|&&p| p > 0.0).count();
    let fleiss = if present < 2 {
        observed.and(Err(ONE_CODE_KAPPA))
    } else {
        // 1 − Σ π_k² = Σ_k π_k Σ_{j≠k} π_j, with the others summed directly
        // (prefix and suffix sums) rather than as 1 − π_k.
        let mut after = vec![0.0; pis.len()];
        let mut acc = 0.0;
        for (k, &p) in pis.iter().enumerate().rev() {
            after[k] = acc;
            acc += p;
        }
        let (mut before, mut expected) = (0.0, 0.0);
        for (&p, &rest) in pis.iter().zip(&after) {
            expected += p * (before + rest);
            before += p;
        }
        corrected(expected)
    };
    let (ac1, bp) = if q < 2 {
        (
            observed.and(Err(FEW_CATEGORIES)),
            observed.and(Err(FEW_CATEGORIES)),
        )
    } else {
        let qf = q as f64;
        let pe_ac1 = pis.iter().map(|p| p * (1.0 - p)).sum::<f64>() / (qf - 1.0);
        (corrected(1.0 - pe_ac1), corrected(1.0 - 1.0 / qf))
    };

    let pairs = (0..l.pairs.len())
        .map(|p| pair_estimates(l, s, p))
        .collect();
    Estimates {
        percent: observed.and_then(|d| finite(1.0 - d)),
        alpha,
        fleiss,
        ac1,
        bp,
        pairs,
    }
}

fn pair_estimates(l: &Layout, s: &[f64], p: usize) -> PairEstimates {
    let n = s[l.pair_n(p)];
    if n == 0.0 {
        return PairEstimates {
            n,
            percent: Err(NO_COMMON_UNITS),
            cohen: Err(NO_COMMON_UNITS),
            scott: Err(NO_COMMON_UNITS),
        };
    }
    let agree = s[l.pair_agree(p)];
    let (mut cross, mut pooled) = (0.0, 0.0);
    for k in 0..l.n_codes {
        let (a, b) = (s[l.pair_margin(p, 0, k)], s[l.pair_margin(p, 1, k)]);
        cross += a * b;
        pooled += (a + b) * (a + b);
    }
    // Counts are integers, so 1 − p_o and 1 − p_e are exact before one division
    // each, and the zero tests are exact when one code takes everything.
    let observed = n * (n - agree);
    let cohen = if cross == n * n {
        Err(PAIR_ONE_CODE)
    } else {
        finite(1.0 - observed / (n * n - cross))
    };
    let scott = if pooled == 4.0 * n * n {
        Err(ONE_CODE_KAPPA)
    } else {
        finite(1.0 - 4.0 * observed / (4.0 * n * n - pooled))
    };
    PairEstimates {
        n,
        percent: finite(agree / n),
        cohen,
        scott,
    }
}
