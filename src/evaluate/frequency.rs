//! Code frequency table: how often each label is predicted vs. coded by humans.
//!
//! Survey reports mostly publish code shares, so a model can be useful even
//! with mediocre per-item agreement if its shares match; total variation
//! distance (TVD) summarises the gap. Labels are compared by name, so for
//! clusterings first map groups to labels (see [`FrequencyTable::from_mapping`]).

use super::{Contingency, EvalError};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

use crate::frame::learned::natural_cmp;

/// Base row label for items in groups that no gold label was matched to.
/// Made unique against gold labels by appending `'` if needed.
pub const UNMATCHED_LABEL: &str = "(unmatched)";

/// One label's counts and shares on both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FreqRow {
    pub label: String,
    pub pred_count: u64,
    /// `pred_count / pred_total`.
    pub pred_share: f64,
    pub gold_count: u64,
    /// `gold_count / gold_total`.
    pub gold_share: f64,
}

/// Frequencies over the union of predicted and gold labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrequencyTable {
    /// Ordered by gold_count desc, then pred_count desc, then label (natural order: code 2
    /// before code 10).
    pub rows: Vec<FreqRow>,
    pub pred_total: u64,
    pub gold_total: u64,
    /// Total variation distance: ½ Σ |pred_share − gold_share|, in [0, 1].
    pub tvd: f64,
}

impl FrequencyTable {
    /// Frequencies of aligned predicted and gold labels (compared by name).
    pub fn new(pred: &[&str], gold: &[&str]) -> Result<FrequencyTable, EvalError> {
        if pred.len() != gold.len() {
            return Err(EvalError::LengthMismatch {
                pred: pred.len(),
                gold: gold.len(),
            });
        }
        FrequencyTable::from_counts(&tally(pred), &tally(gold))
    }

    /// Frequencies from a contingency table, comparing row and column names.
    pub fn from_contingency(c: &Contingency) -> FrequencyTable {
        let pred = c
            .pred_labels()
            .iter()
            .cloned()
            .zip(c.pred_totals())
            .collect();
        let gold = c
            .gold_labels()
            .iter()
            .cloned()
            .zip(c.gold_totals())
            .collect();
        build(&pred, &gold)
    }

    /// Frequencies after renaming each predicted group to its matched gold
    /// label (e.g. [`super::ClusterScores::mapping`]). Items of groups that
    /// map to `None`, or are absent from `mapping`, are pooled under
    /// [`UNMATCHED_LABEL`] (suffixed with `'` until it differs from every
    /// gold label). Both totals equal `n`, so unmatched mass counts toward TVD.
    pub fn from_mapping(
        c: &Contingency,
        mapping: &BTreeMap<String, Option<String>>,
    ) -> FrequencyTable {
        let gold: BTreeMap<String, u64> = c
            .gold_labels()
            .iter()
            .cloned()
            .zip(c.gold_totals())
            .collect();
        let mut unmatched = UNMATCHED_LABEL.to_string();
        while gold.contains_key(&unmatched) {
            unmatched.push('\'');
        }
        let mut pred: BTreeMap<String, u64> = BTreeMap::new();
        for (group, total) in c.pred_labels().iter().zip(c.pred_totals()) {
            let label = match mapping.get(group) {
                Some(Some(label)) => label.clone(),
                _ => unmatched.clone(),
            };
            *pred.entry(label).or_insert(0) += total;
        }
        build(&pred, &gold)
    }

    /// Frequencies from label counts (totals may differ between the sides).
    /// Errors with [`EvalError::Empty`] if either side sums to zero, since
    /// shares would be undefined.
    pub fn from_counts(
        pred: &BTreeMap<String, u64>,
        gold: &BTreeMap<String, u64>,
    ) -> Result<FrequencyTable, EvalError> {
        if pred.values().sum::<u64>() == 0 || gold.values().sum::<u64>() == 0 {
            return Err(EvalError::Empty);
        }
        Ok(build(pred, gold))
    }
}

fn tally(labels: &[&str]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for l in labels {
        *m.entry(l.to_string()).or_insert(0) += 1;
    }
    m
}

/// Callers guarantee non-zero totals; a zero total yields shares of 0.0.
fn build(pred: &BTreeMap<String, u64>, gold: &BTreeMap<String, u64>) -> FrequencyTable {
    let pred_total: u64 = pred.values().sum();
    let gold_total: u64 = gold.values().sum();
    let share = |c: u64, t: u64| if t == 0 { 0.0 } else { c as f64 / t as f64 };
    let labels: BTreeSet<&String> = pred.keys().chain(gold.keys()).collect();
    let mut rows: Vec<FreqRow> = labels
        .into_iter()
        .map(|label| {
            let pc = pred.get(label).copied().unwrap_or(0);
            let gc = gold.get(label).copied().unwrap_or(0);
            FreqRow {
                label: label.clone(),
                pred_count: pc,
                pred_share: share(pc, pred_total),
                gold_count: gc,
                gold_share: share(gc, gold_total),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.gold_count
            .cmp(&a.gold_count)
            .then(b.pred_count.cmp(&a.pred_count))
            .then_with(|| natural_cmp(&a.label, &b.label))
    });
    // Summed in label order (not display order) so TVD is independent of ties.
    let mut by_label: Vec<&FreqRow> = rows.iter().collect();
    by_label.sort_by(|a, b| a.label.cmp(&b.label));
    let tvd = 0.5
        * by_label
            .iter()
            .map(|r| (r.pred_share - r.gold_share).abs())
            .sum::<f64>();
    FrequencyTable {
        rows,
        pred_total,
        gold_total,
        tvd,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_shares_and_tvd() {
        let pred = ["b", "b", "c", "a", "z", "b"];
        let gold = ["a", "b", "a", "b", "c", "a"];
        let t = FrequencyTable::new(&pred, &gold).unwrap();
        let order: Vec<&str> = t.rows.iter().map(|r| r.label.as_str()).collect();
        // gold: a3 b2 c1 z0 ; pred: b3 a1 c1 z1 -> c before z by gold count.
        assert_eq!(order, ["a", "b", "c", "z"]);
        assert_eq!(t.rows[1].pred_count, 3);
        assert!((t.rows[0].gold_share - 0.5).abs() < 1e-15);
        // |1/6-3/6| + |3/6-2/6| + |1/6-1/6| + |1/6-0| = 4/6, halved.
        assert!((t.tvd - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!((t.pred_total, t.gold_total), (6, 6));
    }

    #[test]
    fn ties_fall_back_to_pred_count_then_label() {
        let pred = ["y", "y", "x", "w"];
        let gold = ["x", "y", "w", "v"];
        let t = FrequencyTable::new(&pred, &gold).unwrap();
        let order: Vec<&str> = t.rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(order, ["y", "w", "x", "v"]);
    }

    #[test]
    fn identical_distributions_have_zero_tvd() {
        let t = FrequencyTable::new(&["a", "b", "b"], &["b", "a", "b"]).unwrap();
        assert_eq!(t.tvd, 0.0);
    }

    #[test]
    fn errors() {
        assert_eq!(
            FrequencyTable::new(&["a"], &[]),
            Err(EvalError::LengthMismatch { pred: 1, gold: 0 })
        );
        let empty = BTreeMap::new();
        let one: BTreeMap<String, u64> = [("a".to_string(), 1)].into();
        assert_eq!(
            FrequencyTable::from_counts(&empty, &one),
            Err(EvalError::Empty)
        );
        let zero: BTreeMap<String, u64> = [("a".to_string(), 0)].into();
        assert_eq!(
            FrequencyTable::from_counts(&one, &zero),
            Err(EvalError::Empty)
        );
    }

    #[test]
    fn from_counts_allows_different_totals() {
        let pred: BTreeMap<String, u64> = [("a".to_string(), 1), ("b".to_string(), 1)].into();
        let gold: BTreeMap<String, u64> = [("a".to_string(), 4)].into();
        let t = FrequencyTable::from_counts(&pred, &gold).unwrap();
        assert_eq!((t.pred_total, t.gold_total), (2, 4));
        assert!((t.tvd - 0.5).abs() < 1e-15);
    }

    #[test]
    fn mapping_pools_unmatched_groups_with_unique_name() {
        // Three groups, two gold labels, one of which is literally "(unmatched)".
        let pred = ["g1", "g1", "g2", "g3", "g3"];
        let gold = ["x", "x", "(unmatched)", "x", "(unmatched)"];
        let c = Contingency::new(&pred, &gold).unwrap();
        let mapping: BTreeMap<String, Option<String>> = [
            ("g1".to_string(), Some("x".to_string())),
            ("g2".to_string(), Some("(unmatched)".to_string())),
            ("g3".to_string(), None),
        ]
        .into();
        let t = FrequencyTable::from_mapping(&c, &mapping);
        let got: Vec<(&str, u64, u64)> = t
            .rows
            .iter()
            .map(|r| (r.label.as_str(), r.pred_count, r.gold_count))
            .collect();
        assert_eq!(
            got,
            [("x", 2, 3), ("(unmatched)", 1, 2), ("(unmatched)'", 2, 0)]
        );
        assert_eq!(t.pred_total, 5);
    }
}
