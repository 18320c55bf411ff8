//! Drift of code shares between two survey waves.
//!
//! Per code: shares, change in percentage points and a two-sided pooled
//! two-proportion z-test (as `statsmodels.stats.proportion.proportions_ztest`).
//! Overall: Pearson's chi-square test of homogeneity on the 2 × codes table
//! without continuity correction (as `scipy.stats.chi2_contingency(...,
//! correction=False)`), after this cell rule:
//! - codes with no answers in either wave are left out (no information);
//! - codes whose expected count is below 5 in either wave are pooled into a
//!   single "merged" column, since the chi-square approximation is poor for
//!   small expected counts;
//! - if that merged column still has an expected count below 5, it is kept
//!   and [`ChiSquare::low_expected`] is set: the p-value is then approximate.

use serde::{Deserialize, Serialize};

use super::stats::{chi_square_sf, erfc};
use super::FitError;

/// Smallest expected count for which the chi-square approximation is trusted.
const MIN_EXPECTED: f64 = 5.0;

/// Change of one code between the previous and the current wave.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CodeDrift {
    pub code: usize,
    pub prev_count: usize,
    pub cur_count: usize,
    /// `None` when that wave has no answers.
    pub prev_share: Option<f64>,
    pub cur_share: Option<f64>,
    /// `100 * (cur_share - prev_share)`.
    pub change_pp: Option<f64>,
    /// Pooled z statistic, positive when the share grew; `None` when either
    /// wave is empty or the pooled share is 0 or 1 (no variance).
    pub z: Option<f64>,
    /// Two-sided p-value of `z`.
    pub p_value: Option<f64>,
    /// Some expected count of this code's 2 × 2 table is below 5, so the
    /// normal approximation is rough.
    pub low_expected: bool,
}

/// Overall chi-square test of homogeneity.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ChiSquare {
    pub statistic: f64,
    pub df: usize,
    pub p_value: f64,
    /// Codes of each tested column; a merged column lists several.
    pub columns: Vec<Vec<usize>>,
    /// Codes pooled because of small expected counts.
    pub merged_codes: Vec<usize>,
    /// Codes with no answers in either wave.
    pub excluded_codes: Vec<usize>,
    /// The merged column still has an expected count below 5.
    pub low_expected: bool,
}

/// Result of [`drift`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Drift {
    pub prev_total: usize,
    pub cur_total: usize,
    pub codes: Vec<CodeDrift>,
    /// `None` when a wave is empty or fewer than two columns remain.
    pub chi_square: Option<ChiSquare>,
}

/// Compares the number of answers per code in two waves (index = code).
/// Totals are the sums of the counts (one code per answer).
pub fn drift(prev_counts: &[usize], cur_counts: &[usize]) -> Result<Drift, FitError> {
    if prev_counts.len() != cur_counts.len() {
        return Err(FitError::CountLengthMismatch {
            prev: prev_counts.len(),
            cur: cur_counts.len(),
        });
    }
    let n1: usize = prev_counts.iter().sum();
    let n2: usize = cur_counts.iter().sum();
    let codes = prev_counts
        .iter()
        .zip(cur_counts)
        .enumerate()
        .map(|(code, (&x1, &x2))| code_drift(code, x1, x2, n1, n2))
        .collect();
    Ok(Drift {
        prev_total: n1,
        cur_total: n2,
        codes,
        chi_square: chi_square(prev_counts, cur_counts, n1, n2),
    })
}

fn code_drift(code: usize, x1: usize, x2: usize, n1: usize, n2: usize) -> CodeDrift {
    let share = |x: usize, n: usize| (n > 0).then(|| x as f64 / n as f64);
    let (prev_share, cur_share) = (share(x1, n1), share(x2, n2));
    let change_pp = prev_share.zip(cur_share).map(|(p1, p2)| 100.0 * (p2 - p1));
    let mut out = CodeDrift {
        code,
        prev_count: x1,
        cur_count: x2,
        prev_share,
        cur_share,
        change_pp,
        z: None,
        p_value: None,
        low_expected: true,
    };
    if let (Some(p1), Some(p2)) = (prev_share, cur_share) {
        let (n1f, n2f) = (n1 as f64, n2 as f64);
        let pooled = (x1 + x2) as f64 / (n1f + n2f);
        let variance = pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f);
        if variance > 0.0 {
            let z = (p2 - p1) / variance.sqrt();
            out.z = Some(z);
            out.p_value = Some(erfc(z.abs() / std::f64::consts::SQRT_2));
        }
        let smallest = n1f.min(n2f) * pooled.min(1.0 - pooled);
        out.low_expected = smallest < MIN_EXPECTED;
    }
    out
}

fn chi_square(prev: &[usize], cur: &[usize], n1: usize, n2: usize) -> Option<ChiSquare> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let total = (n1 + n2) as f64;
    let smaller_row = n1.min(n2) as f64;
    let expected_min = |col: usize| col as f64 * smaller_row / total;
    let mut columns: Vec<(Vec<usize>, usize, usize)> = Vec::new();
    let mut merged = (Vec::new(), 0usize, 0usize);
    let mut excluded_codes = Vec::new();
    for (code, (&a, &b)) in prev.iter().zip(cur).enumerate() {
        if a + b == 0 {
            excluded_codes.push(code);
        } else if expected_min(a + b) < MIN_EXPECTED {
            merged.0.push(code);
            merged.1 += a;
            merged.2 += b;
        } else {
            columns.push((vec![code], a, b));
        }
    }
    let merged_codes = merged.0.clone();
    let low_expected = !merged_codes.is_empty() && expected_min(merged.1 + merged.2) < MIN_EXPECTED;
    if !merged_codes.is_empty() {
        columns.push(merged);
    }
    if columns.len() < 2 {
        return None;
    }
    let (r1, r2) = (n1 as f64 / total, n2 as f64 / total);
    let statistic: f64 = columns
        .iter()
        .map(|&(_, a, b)| {
            let col = (a + b) as f64;
            let (e1, e2) = (col * r1, col * r2);
            (a as f64 - e1).powi(2) / e1 + (b as f64 - e2).powi(2) / e2
        })
        .sum();
    let df = columns.len() - 1;
    Some(ChiSquare {
        statistic,
        df,
        p_value: chi_square_sf(statistic, df as f64),
        columns: columns.into_iter().map(|(codes, _, _)| codes).collect(),
        merged_codes,
        excluded_codes,
        low_expected,
    })
}
