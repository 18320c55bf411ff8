//! Learning a code frame from embedded, human-coded survey answers.
//!
//! The numeric core behind `codeframe fit` / `codeframe apply`: classifiers on
//! sentence embeddings ([`Classifier`]: nearest centroid, kNN, multinomial
//! logistic regression and blends of them), stratified cross-validation
//! ([`cross_validate`]), model selection ([`select`]), per-code confidence
//! thresholds ([`Thresholds`]), coverage/accuracy trade-offs
//! ([`coverage_curve`]), zero-shot coding from code descriptions
//! ([`Classifier::from_descriptions`]) and wave-to-wave drift ([`drift`]).
//!
//! Conventions shared by every submodule:
//! - answers are rows of a flat row-major `f32` buffer of width `dim`;
//!   codes are indices `0..n_codes`;
//! - every tie is broken towards the lowest code index (then the lowest row);
//! - randomness comes only from the `seed` arguments (xoshiro256++);
//! - results do not depend on the rayon thread count, and training rows are
//!   put in a canonical order (by code, then by vector content) before anything
//!   is fitted or shuffled, so permuting the input rows does not change the
//!   fitted model or which answer lands in which fold;
//! - nothing returned contains NaN or infinities: undefined figures are `None`.

mod classifier;
mod cv;
mod drift;
mod logistic;
mod metrics;
pub mod multi;
mod select;
pub mod stats;
#[cfg(test)]
mod tests;
mod threshold;

pub use classifier::{Classifier, ClassifierSpec, KNN_TEMPERATURE, ZERO_SHOT_THRESHOLD};
pub use cv::{cross_validate, stratified_split, CvResult, Split};
pub use drift::{drift, ChiSquare, CodeDrift, Drift};
pub use metrics::{evaluate, CodeMetrics, Metrics};
pub use multi::{codes_within, MultiRule};
pub use select::{select, select_observed, CandidateReport, Selection};
pub use stats::{
    chi_square_sf, erfc, ln_gamma, normal_cdf, prediction_interval, regularized_gamma_q, wilson,
};
pub use threshold::{
    accuracy_at_coverage, coverage_curve, CodeThreshold, CoveragePoint, OofPrediction,
    ThresholdRule, ThresholdSource, Thresholds,
};

use std::cmp::Ordering;

/// Human-coded answers to learn from: `labels.len()` rows of `dim` values each.
#[derive(Clone, Copy, Debug)]
pub struct Training<'a> {
    /// Row-major embeddings, `labels.len() * dim` values.
    pub vectors: &'a [f32],
    pub dim: usize,
    /// Code index of each row, each `< n_codes`.
    pub labels: &'a [usize],
    /// Size of the code frame; codes without examples are allowed and are
    /// never predicted.
    pub n_codes: usize,
    /// Block of each row, when rows must stay together in cross-validation (one respondent's
    /// answers, an answer and its translations): rows sharing a block share a fold.
    pub together: Option<&'a [usize]>,
}

/// Everything that can go wrong; degenerate input is reported, never panics.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("the training set is empty")]
    EmptyTraining,
    #[error("vector dimension must be positive")]
    ZeroDim,
    #[error("{values} vector values do not make {rows} rows of dimension {dim}")]
    ShapeMismatch {
        values: usize,
        rows: usize,
        dim: usize,
    },
    #[error("{blocks} keep-together blocks given for {rows} rows")]
    BlocksMismatch { blocks: usize, rows: usize },
    #[error("row {row} has label {label}, outside the {n_codes} codes of the frame")]
    LabelOutOfRange {
        row: usize,
        label: usize,
        n_codes: usize,
    },
    #[error("row {row} contains a non-finite value")]
    NonFinite { row: usize },
    #[error("at least two codes need examples, found {found}")]
    TooFewCodes { found: usize },
    #[error("vector has dimension {got}, expected {expected}")]
    DimMismatch { expected: usize, got: usize },
    #[error("the vector to score has zero length or non-finite values")]
    InvalidQuery,
    #[error("no description vectors were given")]
    NoDescriptions,
    #[error("description of code {code} has zero length or non-finite values")]
    InvalidDescription { code: usize },
    #[error("invalid classifier parameter: {0}")]
    InvalidSpec(String),
    #[error("no candidate classifiers were given")]
    NoCandidates,
    #[error("cross-validation needs at least 2 folds, got {0}")]
    TooFewFolds(usize),
    #[error("no code has two or more examples, so nothing can be held out")]
    NothingToValidate,
    #[error("thresholds cover {got} codes, the classifier has {expected}")]
    ThresholdCount { expected: usize, got: usize },
    #[error("{what} must be in (0, 1], got {value}")]
    OutOfUnitRange { what: &'static str, value: f64 },
    #[error("the two waves have {prev} and {cur} codes")]
    CountLengthMismatch { prev: usize, cur: usize },
    #[error("a stored classifier is inconsistent: {0}")]
    Corrupt(&'static str),
}

impl Training<'_> {
    /// Number of answers.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The embedding of row `i`; callers have validated the shape.
    pub(crate) fn row(&self, i: usize) -> &[f32] {
        &self.vectors[i * self.dim..(i + 1) * self.dim]
    }

    /// Checks shape, label range and finiteness and that at least two codes
    /// have examples; returns the number of examples per code.
    pub fn validate(&self) -> Result<Vec<usize>, FitError> {
        if self.labels.is_empty() {
            return Err(FitError::EmptyTraining);
        }
        if self.dim == 0 {
            return Err(FitError::ZeroDim);
        }
        let rows = self.labels.len();
        if rows.checked_mul(self.dim) != Some(self.vectors.len()) {
            return Err(FitError::ShapeMismatch {
                values: self.vectors.len(),
                rows,
                dim: self.dim,
            });
        }
        if let Some(blocks) = self.together {
            if blocks.len() != rows {
                return Err(FitError::BlocksMismatch {
                    blocks: blocks.len(),
                    rows,
                });
            }
        }
        let mut counts = vec![0usize; self.n_codes];
        for (row, &label) in self.labels.iter().enumerate() {
            match counts.get_mut(label) {
                Some(c) => *c += 1,
                None => {
                    return Err(FitError::LabelOutOfRange {
                        row,
                        label,
                        n_codes: self.n_codes,
                    })
                }
            }
            if !self.row(row).iter().all(|v| v.is_finite()) {
                return Err(FitError::NonFinite { row });
            }
        }
        let found = counts.iter().filter(|&&c| c > 0).count();
        if found < 2 {
            return Err(FitError::TooFewCodes { found });
        }
        Ok(counts)
    }

    /// Row indices sorted by (label, vector content): the order every fit and
    /// shuffle starts from, so results do not depend on how rows were given.
    pub(crate) fn canonical_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by(|&a, &b| {
            self.labels[a]
                .cmp(&self.labels[b])
                .then_with(|| cmp_vectors(self.row(a), self.row(b)))
                .then_with(|| a.cmp(&b))
        });
        order
    }
}

fn cmp_vectors(a: &[f32], b: &[f32]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.total_cmp(y))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Owned copy of selected rows, used for fold training sets and refits.
#[derive(Clone, Debug, Default)]
pub(crate) struct OwnedRows {
    pub vectors: Vec<f32>,
    pub labels: Vec<usize>,
}

impl OwnedRows {
    pub fn gather(t: &Training, rows: impl IntoIterator<Item = usize>) -> Self {
        let mut out = OwnedRows::default();
        for r in rows {
            out.vectors.extend_from_slice(t.row(r));
            out.labels.push(t.labels[r]);
        }
        out
    }

    pub fn view(&self, dim: usize, n_codes: usize) -> Training<'_> {
        Training {
            vectors: &self.vectors,
            dim,
            labels: &self.labels,
            n_codes,
            together: None,
        }
    }
}
