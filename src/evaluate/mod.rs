//! Evaluation of coded survey answers against human coders' labels.
//!
//! Everything starts from a [`Contingency`] table (predicted group × gold
//! label). Clustering scores ([`ClusterScores`]) treat predicted names as
//! arbitrary group ids; classification scores ([`ClassScores`]) and the
//! [`FrequencyTable`] compare names literally. Formulas and edge cases follow
//! scikit-learn 1.9 so numbers can be checked against it; see each type.

mod classify;
mod cluster;
mod frequency;
mod hungarian;
pub mod join;
pub mod multi;
mod report;

pub use classify::{ClassScores, Prf};
pub use cluster::ClusterScores;
pub use frequency::{FreqRow, FrequencyTable, UNMATCHED_LABEL};
pub use hungarian::hungarian;
pub use multi::{split_codes, MultiScores};
pub use report::{render_text, EvalReport};

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// What `codeframe evaluate` writes (evaluation.json): the inputs, what was left out, and
/// every score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Inputs' hashes, parameters, version.
    pub manifest: crate::manifest::Manifest,
    /// "codes", "groups" or "multi".
    pub mode: &'static str,
    /// Why: the mode asked for, or how many predictions are gold labels.
    pub mode_reason: String,
    /// Predicted labels that are not gold labels, with their counts (most frequent first).
    pub unknown_labels: Vec<(String, usize)>,
    /// Answers scored.
    pub n: usize,
    /// Gold rows without a code, left out.
    pub gold_uncoded: usize,
    /// Prediction rows whose id the gold file lacks, left out.
    pub pred_without_gold: usize,
    /// The scores (with several codes per answer: of each answer's first code).
    pub report: EvalReport,
    /// With `--mode multi`: the scores of every answer's set of codes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi: Option<MultiScores>,
}

/// Why an evaluation could not be computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalError {
    /// Predictions and gold labels are not aligned.
    LengthMismatch { pred: usize, gold: usize },
    /// Nothing to score: no items (or all-zero counts).
    Empty,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::LengthMismatch { pred, gold } => write!(
                f,
                "predictions and gold labels differ in length ({pred} vs {gold})"
            ),
            EvalError::Empty => write!(f, "nothing to evaluate: no labelled items"),
        }
    }
}

impl std::error::Error for EvalError {}

/// Counts of items per (predicted label, gold label) pair.
///
/// Invariants (enforced by [`Contingency::new`], the only constructor):
/// `n >= 1`, labels are sorted and distinct, `counts` is
/// `pred_labels.len() × gold_labels.len()`, and every row and column has a
/// non-zero total. Fields are private so the invariants cannot be broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contingency {
    pred_labels: Vec<String>,
    gold_labels: Vec<String>,
    /// `counts[i][j]` = items predicted `pred_labels[i]` with gold `gold_labels[j]`.
    counts: Vec<Vec<u64>>,
    n: u64,
}

impl Contingency {
    /// Cross-tabulate aligned predictions and gold labels.
    pub fn new(pred: &[&str], gold: &[&str]) -> Result<Contingency, EvalError> {
        if pred.len() != gold.len() {
            return Err(EvalError::LengthMismatch {
                pred: pred.len(),
                gold: gold.len(),
            });
        }
        if pred.is_empty() {
            return Err(EvalError::Empty);
        }
        let index = |labels: &[&str]| -> BTreeMap<String, usize> {
            let mut m: BTreeMap<String, usize> =
                labels.iter().map(|l| (l.to_string(), 0)).collect();
            // BTreeMap iteration is sorted, so indices follow label order.
            for (i, slot) in m.values_mut().enumerate() {
                *slot = i;
            }
            m
        };
        let pred_index = index(pred);
        let gold_index = index(gold);
        let mut counts = vec![vec![0u64; gold_index.len()]; pred_index.len()];
        for (p, g) in pred.iter().zip(gold) {
            // Both lookups succeed by construction; `if let` keeps it panic-free.
            if let (Some(&i), Some(&j)) = (pred_index.get(*p), gold_index.get(*g)) {
                counts[i][j] += 1;
            }
        }
        Ok(Contingency {
            pred_labels: pred_index.into_keys().collect(),
            gold_labels: gold_index.into_keys().collect(),
            counts,
            n: pred.len() as u64,
        })
    }

    /// Sorted distinct predicted labels (matrix rows).
    pub fn pred_labels(&self) -> &[String] {
        &self.pred_labels
    }

    /// Sorted distinct gold labels (matrix columns).
    pub fn gold_labels(&self) -> &[String] {
        &self.gold_labels
    }

    /// Row-major counts, `pred × gold`.
    pub fn counts(&self) -> &[Vec<u64>] {
        &self.counts
    }

    /// Number of items (always >= 1).
    pub fn n(&self) -> u64 {
        self.n
    }

    /// Items per predicted label, aligned with [`Self::pred_labels`].
    pub fn pred_totals(&self) -> Vec<u64> {
        self.counts.iter().map(|row| row.iter().sum()).collect()
    }

    /// Items per gold label, aligned with [`Self::gold_labels`].
    pub fn gold_totals(&self) -> Vec<u64> {
        let mut totals = vec![0u64; self.gold_labels.len()];
        for row in &self.counts {
            for (t, c) in totals.iter_mut().zip(row) {
                *t += c;
            }
        }
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contingency_layout() {
        let c = Contingency::new(&["b", "a", "b", "a", "c"], &["x", "x", "y", "x", "y"]).unwrap();
        assert_eq!(c.pred_labels(), ["a", "b", "c"]);
        assert_eq!(c.gold_labels(), ["x", "y"]);
        assert_eq!(c.counts(), [vec![2, 0], vec![1, 1], vec![0, 1]]);
        assert_eq!(c.n(), 5);
        assert_eq!(c.pred_totals(), [2, 2, 1]);
        assert_eq!(c.gold_totals(), [3, 2]);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["counts"][1][1], 1);
        assert_eq!(json["gold_labels"][0], "x");
    }

    #[test]
    fn contingency_errors() {
        assert_eq!(Contingency::new(&[], &[]), Err(EvalError::Empty));
        assert_eq!(
            Contingency::new(&["a"], &["a", "b"]),
            Err(EvalError::LengthMismatch { pred: 1, gold: 2 })
        );
        assert!(EvalError::Empty.to_string().contains("nothing"));
    }
}
