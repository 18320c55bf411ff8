//! Inter-coder agreement: how far independent coders gave the same codes to the same units.
//!
//! [`agree`] computes percent agreement, Krippendorff's alpha (nominal), Fleiss'
//! kappa, Gwet's AC1 and Brennan–Prediger overall; Cohen's kappa and Scott's pi
//! for every coder pair; code-vs-rest alpha and kappa per code; and percentile
//! bootstrap intervals. [`disagreements`] lists the units to adjudicate.
//! Multi-coder formulas with missing codings follow Gwet (2014), *Handbook of
//! Inter-Rater Reliability*, as implemented by the Python package irrCAC: units
//! coded once are left out of agreement but still count in the code prevalences
//! of Fleiss' kappa and AC1, and q (AC1, Brennan–Prediger) is the number of codes
//! used anywhere. The JSON fields and conventions are documented in the README.

mod bootstrap;
mod disagree;
mod error;
mod render;
mod stats;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::{Deserialize, Serialize};

pub use disagree::{disagreements, disagreements_csv, Disagreement};
pub use error::AgreeError;
pub use render::render_table;

use bootstrap::{percentile_interval, Interval, Resampler};
use stats::{Layout, Value};

/// Codes given by several coders to the same units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Codings {
    /// Unit ids, one per row of `values`.
    pub units: Vec<String>,
    /// Coder names, one per column of `values`.
    pub coders: Vec<String>,
    /// Distinct code labels, sorted.
    pub codes: Vec<String>,
    /// `values[unit][coder]` indexes `codes`; `None` = not coded by that coder.
    pub values: Vec<Vec<Option<u32>>>,
}

impl Codings {
    /// Builds codings from text cells, `cells[unit][coder]`. Cells are trimmed;
    /// an empty cell means "not coded". Codes are the distinct labels, sorted.
    pub fn from_columns(
        units: Vec<String>,
        coders: Vec<String>,
        cells: Vec<Vec<String>>,
    ) -> Result<Self, AgreeError> {
        if cells.len() != units.len() {
            return Err(AgreeError::InvalidCodings(format!(
                "{} unit ids but {} rows of cells",
                units.len(),
                cells.len()
            )));
        }
        if let Some((i, row)) = cells
            .iter()
            .enumerate()
            .find(|(_, row)| row.len() != coders.len())
        {
            return Err(AgreeError::InvalidCodings(format!(
                "row {} (unit {:?}) has {} cells for {} coders",
                i,
                units[i],
                row.len(),
                coders.len()
            )));
        }
        let codes: Vec<String> = cells
            .iter()
            .flatten()
            .map(|cell| cell.trim())
            .filter(|cell| !cell.is_empty())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(str::to_string)
            .collect();
        let values = cells
            .iter()
            .map(|row| {
                row.iter()
                    .map(|cell| {
                        codes
                            .binary_search_by(|code| code.as_str().cmp(cell.trim()))
                            .ok()
                            .map(|k| k as u32)
                    })
                    .collect()
            })
            .collect();
        Ok(Self {
            units,
            coders,
            codes,
            values,
        })
    }

    fn validate(&self) -> Result<(), AgreeError> {
        if self.values.len() != self.units.len() {
            return Err(AgreeError::InvalidCodings(format!(
                "{} unit ids but {} rows of values",
                self.units.len(),
                self.values.len()
            )));
        }
        let mut seen = HashSet::new();
        if let Some(name) = self.coders.iter().find(|name| !seen.insert(*name)) {
            return Err(AgreeError::DuplicateCoder { name: name.clone() });
        }
        for (i, row) in self.values.iter().enumerate() {
            if row.len() != self.coders.len() {
                return Err(AgreeError::InvalidCodings(format!(
                    "unit {:?} has {} values for {} coders",
                    self.units[i],
                    row.len(),
                    self.coders.len()
                )));
            }
            if let Some(k) = row
                .iter()
                .flatten()
                .find(|&&k| k as usize >= self.codes.len())
            {
                return Err(AgreeError::InvalidCodings(format!(
                    "unit {:?} has code index {} but there are only {} codes",
                    self.units[i],
                    k,
                    self.codes.len()
                )));
            }
        }
        Ok(())
    }
}

/// Settings for [`agree`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgreeOptions {
    /// Bootstrap resamples for the intervals; 0 = no intervals.
    pub bootstrap: usize,
    /// Seed of the resampling generator.
    pub seed: u64,
    /// Coverage of the intervals, e.g. 0.95.
    pub confidence: f64,
}

impl Default for AgreeOptions {
    fn default() -> Self {
        Self {
            bootstrap: 1000,
            seed: 42,
            confidence: 0.95,
        }
    }
}

/// One agreement coefficient with its interval and conventional reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coefficient {
    /// The estimate; `None` when it cannot be computed (see `undefined`).
    pub value: Option<f64>,
    /// Percentile bootstrap interval; `None` without bootstrap or without values.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Resamples that gave a value / were dropped because it was undefined there.
    pub ci_resamples: usize,
    pub ci_dropped: usize,
    /// Why `value` is `None`.
    pub undefined: Option<String>,
    /// Conventional interpretation of `value`.
    pub reading: String,
}

/// Which conventional bands [`Coefficient::reading`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scale {
    /// Raw agreement: no chance correction, no bands.
    Raw,
    /// Landis & Koch (1977).
    Kappa,
    /// Krippendorff (2004).
    Alpha,
}

impl Coefficient {
    fn new(value: Value, interval: Option<&Interval>, scale: Scale) -> Self {
        let (value, undefined) = match value {
            Ok(v) => (Some(v), None),
            Err(reason) => (None, Some(reason.to_string())),
        };
        // No interval around an undefined estimate.
        let interval = interval.filter(|_| value.is_some());
        Self {
            value,
            ci_low: interval.and_then(|i| i.low),
            ci_high: interval.and_then(|i| i.high),
            ci_resamples: interval.map_or(0, |i| i.used),
            ci_dropped: interval.map_or(0, |i| i.dropped),
            undefined,
            reading: render::reading(value, scale).to_string(),
        }
    }
}

/// The whole-table coefficients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overall {
    pub percent_agreement: Coefficient,
    pub krippendorff_alpha: Coefficient,
    pub fleiss_kappa: Coefficient,
    pub gwet_ac1: Coefficient,
    pub brennan_prediger: Coefficient,
}

/// Agreement between two coders over the units both coded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairAgreement {
    pub coder_a: String,
    pub coder_b: String,
    /// Units coded by both.
    pub units: usize,
    pub percent_agreement: Coefficient,
    pub cohen_kappa: Coefficient,
    pub scott_pi: Coefficient,
    /// `confusion[i][j]`: units coder A coded `codes[i]` and coder B `codes[j]`.
    pub confusion: Vec<Vec<usize>>,
}

/// Agreement on one code against all others (codes binarised).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeAgreement {
    pub code: String,
    pub krippendorff_alpha: Coefficient,
    /// Cohen's kappa with two coders, Fleiss' kappa (Gwet's form) with more.
    pub kappa: Coefficient,
    /// `"cohen"` or `"fleiss"`.
    pub kappa_kind: String,
    /// Times each coder gave this code.
    pub uses_by_coder: BTreeMap<String, usize>,
    pub uses_total: usize,
}

/// How the intervals were made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapInfo {
    /// 0 = no intervals.
    pub resamples: usize,
    pub seed: u64,
    pub confidence: f64,
    pub method: String,
}

/// Everything [`agree`] measures; serialise it for the machine-readable output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    pub coders: Vec<String>,
    pub codes: Vec<String>,
    /// Codes used at least once anywhere (the q of Brennan–Prediger and AC1).
    pub codes_used: usize,
    pub units_total: usize,
    /// Units coded by two or more coders.
    pub units_used: usize,
    /// Units coded by fewer than two coders (left out of agreement).
    pub skipped_units: usize,
    /// Skipped units with exactly one coding; they still count towards the code
    /// prevalences of Fleiss' kappa and AC1 (Gwet 2014, irrCAC).
    pub single_coded_units: usize,
    /// Codings in units used (Krippendorff's n).
    pub pairable_values: usize,
    /// Units whose coders gave different codes (see [`disagreements`]).
    pub disagreement_units: usize,
    pub bootstrap: BootstrapInfo,
    pub overall: Overall,
    pub pairs: Vec<PairAgreement>,
    pub per_code: Vec<CodeAgreement>,
}

/// What `codeframe agree` writes (agreement.json): the run's manifest and every figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgreeReport {
    /// Inputs' hashes, parameters, seed, version.
    pub manifest: crate::manifest::Manifest,
    /// Units of the input file whose id a joined file lacks, per joined coder.
    pub join_missing: BTreeMap<String, usize>,
    /// The coefficients (fields at the top level).
    #[serde(flatten)]
    pub agreement: Agreement,
}

/// Measures inter-coder agreement. Errors only when nothing can be compared;
/// coefficients that cannot be computed come back with `undefined` set.
pub fn agree(c: &Codings, opts: &AgreeOptions) -> Result<Agreement, AgreeError> {
    c.validate()?;
    if !(opts.confidence > 0.0 && opts.confidence < 1.0) {
        return Err(AgreeError::InvalidConfidence(opts.confidence));
    }
    if c.coders.len() < 2 {
        return Err(AgreeError::TooFewCoders {
            found: c.coders.len(),
        });
    }
    let n_coders = c.coders.len();
    let n_codes = c.codes.len();
    let coded_counts: Vec<usize> = c
        .values
        .iter()
        .map(|r| r.iter().flatten().count())
        .collect();
    let units_used = coded_counts.iter().filter(|&&m| m >= 2).count();
    if units_used == 0 {
        return Err(AgreeError::NoPairableUnits);
    }

    let mut uses = vec![vec![0usize; n_coders]; n_codes];
    for row in &c.values {
        for (coder, k) in row.iter().enumerate() {
            if let Some(k) = k {
                uses[*k as usize][coder] += 1;
            }
        }
    }
    let q = uses.iter().filter(|u| u.iter().any(|&n| n > 0)).count();

    let layout = Layout::new(n_coders, n_codes);
    let mut sums = vec![0.0; layout.len()];
    for row in &c.values {
        stats::add_unit(&layout, sums.as_mut_slice(), row);
    }
    let est = stats::finalize(&layout, &sums, q);

    let intervals = if opts.bootstrap > 0 {
        bootstrap_intervals(&layout, c, q, opts)
    } else {
        Vec::new()
    };
    let ci = |j: usize| intervals.get(j);

    let overall = Overall {
        percent_agreement: Coefficient::new(est.percent, ci(0), Scale::Raw),
        krippendorff_alpha: Coefficient::new(est.alpha, ci(1), Scale::Alpha),
        fleiss_kappa: Coefficient::new(est.fleiss, ci(2), Scale::Kappa),
        gwet_ac1: Coefficient::new(est.ac1, ci(3), Scale::Kappa),
        brennan_prediger: Coefficient::new(est.bp, ci(4), Scale::Kappa),
    };

    let pairs = layout
        .pairs()
        .iter()
        .zip(&est.pairs)
        .enumerate()
        .map(|(p, (&(a, b), pe))| PairAgreement {
            coder_a: c.coders[a].clone(),
            coder_b: c.coders[b].clone(),
            units: pe.n as usize,
            percent_agreement: Coefficient::new(pe.percent, None, Scale::Raw),
            cohen_kappa: Coefficient::new(pe.cohen, ci(OVERALL + p), Scale::Kappa),
            scott_pi: Coefficient::new(pe.scott, None, Scale::Kappa),
            confusion: confusion(c, a, b),
        })
        .collect();

    let per_code = (0..n_codes)
        .map(|k| per_code(c, k as u32, &uses[k]))
        .collect();

    Ok(Agreement {
        coders: c.coders.clone(),
        codes: c.codes.clone(),
        codes_used: q,
        units_total: c.units.len(),
        units_used,
        skipped_units: c.units.len() - units_used,
        single_coded_units: coded_counts.iter().filter(|&&m| m == 1).count(),
        pairable_values: sums[stats::PAIRABLE] as usize,
        disagreement_units: c
            .values
            .iter()
            .filter(|row| {
                let mut coded = row.iter().flatten();
                coded.next().is_some_and(|first| coded.any(|k| k != first))
            })
            .count(),
        bootstrap: BootstrapInfo {
            resamples: opts.bootstrap,
            seed: opts.seed,
            confidence: opts.confidence,
            method: "percentile".to_string(),
        },
        overall,
        pairs,
        per_code,
    })
}

/// Number of overall coefficients, which come first among the bootstrapped values.
const OVERALL: usize = 5;

/// Intervals for the overall coefficients, then for each pair's Cohen kappa.
fn bootstrap_intervals(
    layout: &Layout,
    c: &Codings,
    q: usize,
    opts: &AgreeOptions,
) -> Vec<Interval> {
    let resampler = Resampler::new(layout, &c.values, q);
    let draws = resampler.run(opts.bootstrap, opts.seed, |e| {
        let overall: [Value; OVERALL] = [e.percent, e.alpha, e.fleiss, e.ac1, e.bp];
        let pairs = e.pairs.iter().map(|p| p.cohen);
        overall
            .into_iter()
            .chain(pairs)
            .map(Result::ok)
            .collect::<Vec<_>>()
    });
    (0..OVERALL + layout.pairs().len())
        .map(|j| {
            let column: Vec<Option<f64>> = draws.iter().map(|d| d[j]).collect();
            percentile_interval(&column, opts.confidence)
        })
        .collect()
}

/// `confusion[i][j]`: units coder `a` coded `i` and coder `b` coded `j`.
fn confusion(c: &Codings, a: usize, b: usize) -> Vec<Vec<usize>> {
    let mut m = vec![vec![0usize; c.codes.len()]; c.codes.len()];
    for row in &c.values {
        if let (Some(x), Some(y)) = (row[a], row[b]) {
            m[x as usize][y as usize] += 1;
        }
    }
    m
}

/// Code `k` against the rest: the same formulas on codes recoded to 0 = `k`, 1 = other.
fn per_code(c: &Codings, k: u32, uses: &[usize]) -> CodeAgreement {
    let layout = Layout::new(c.coders.len(), 2);
    let mut sums = vec![0.0; layout.len()];
    let mut binary = Vec::with_capacity(c.coders.len());
    let (mut this, mut other) = (false, false);
    for row in &c.values {
        binary.clear();
        binary.extend(row.iter().map(|v| v.map(|x| u32::from(x != k))));
        this |= binary.contains(&Some(0));
        other |= binary.contains(&Some(1));
        stats::add_unit(&layout, sums.as_mut_slice(), &binary);
    }
    let est = stats::finalize(&layout, &sums, usize::from(this) + usize::from(other));
    let two_coders = c.coders.len() == 2;
    let kappa = match (two_coders, est.pairs.first()) {
        (true, Some(pair)) => pair.cohen,
        _ => est.fleiss,
    };
    CodeAgreement {
        code: c.codes.get(k as usize).cloned().unwrap_or_default(),
        krippendorff_alpha: Coefficient::new(est.alpha, None, Scale::Alpha),
        kappa: Coefficient::new(kappa, None, Scale::Kappa),
        kappa_kind: if two_coders { "cohen" } else { "fleiss" }.to_string(),
        uses_by_coder: c.coders.iter().cloned().zip(uses.iter().copied()).collect(),
        uses_total: uses.iter().sum(),
    }
}
