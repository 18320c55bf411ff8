//! Classification scores: predicted code names compared literally with gold codes.
//!
//! Mirrors scikit-learn 1.9: `accuracy_score`, `f1_score(average="macro",
//! zero_division=0)` over the sorted union of labels seen in gold or
//! predictions, `precision_recall_fscore_support` per code, and unweighted
//! `cohen_kappa_score`.

use super::{Contingency, EvalError};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Per-code precision / recall / F1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prf {
    /// tp / predicted; 0.0 when the code was never predicted (zero_division=0).
    pub precision: f64,
    /// tp / support; 0.0 when the code never occurs in gold (zero_division=0).
    pub recall: f64,
    /// 2·tp / (support + predicted), sklearn's closed form; never 0/0 here
    /// because every listed code occurs in gold or predictions.
    pub f1: f64,
    /// Gold count of the code.
    pub support: u64,
    /// How often the code was predicted.
    pub predicted: u64,
}

/// Agreement when predictions are code names from the gold codebook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScores {
    /// Fraction of items whose predicted code equals the gold code.
    pub accuracy: f64,
    /// Unweighted mean of per-code F1 over the union of gold and predicted codes.
    pub macro_f1: f64,
    /// Per code, keyed and ordered by code name.
    pub per_code: BTreeMap<String, Prf>,
    /// Cohen's kappa (unweighted). `None` when undefined: expected
    /// disagreement is 0, i.e. both sides use one and the same single code
    /// (sklearn returns NaN there).
    pub kappa: Option<f64>,
    /// Why `kappa` is `None`; absent when it is defined.
    pub kappa_reason: Option<String>,
}

impl From<&Contingency> for ClassScores {
    fn from(c: &Contingency) -> Self {
        ClassScores::from_contingency(c)
    }
}

impl ClassScores {
    /// Score aligned predicted codes against gold codes.
    pub fn new(pred: &[&str], gold: &[&str]) -> Result<ClassScores, EvalError> {
        Ok(ClassScores::from_contingency(&Contingency::new(
            pred, gold,
        )?))
    }

    /// Score from a contingency table whose row/column names are code names.
    pub fn from_contingency(c: &Contingency) -> ClassScores {
        let labels: BTreeSet<&str> = c
            .pred_labels()
            .iter()
            .chain(c.gold_labels())
            .map(String::as_str)
            .collect();
        let labels: Vec<&str> = labels.into_iter().collect();
        let k = labels.len();
        let pos = |names: &[String], l: &str| names.binary_search_by(|x| x.as_str().cmp(l)).ok();
        let pred_idx: Vec<Option<usize>> = labels.iter().map(|l| pos(c.pred_labels(), l)).collect();
        let gold_idx: Vec<Option<usize>> = labels.iter().map(|l| pos(c.gold_labels(), l)).collect();

        // Square confusion over the label union: conf[a][b] = pred a, gold b.
        let mut conf = vec![vec![0u64; k]; k];
        for (a, pa) in pred_idx.iter().enumerate() {
            for (b, gb) in gold_idx.iter().enumerate() {
                if let (Some(i), Some(j)) = (pa, gb) {
                    conf[a][b] = c.counts()[*i][*j];
                }
            }
        }
        let predicted: Vec<u64> = conf.iter().map(|r| r.iter().sum()).collect();
        let support: Vec<u64> = (0..k).map(|b| conf.iter().map(|r| r[b]).sum()).collect();

        let ratio = |num: u64, den: u64| {
            if den == 0 {
                0.0
            } else {
                num as f64 / den as f64
            }
        };
        let mut per_code = BTreeMap::new();
        let mut correct = 0u64;
        let mut f1_sum = 0.0;
        for (a, label) in labels.iter().enumerate() {
            let tp = conf[a][a];
            correct += tp;
            let f1 = ratio(2 * tp, support[a] + predicted[a]);
            f1_sum += f1;
            per_code.insert(
                label.to_string(),
                Prf {
                    precision: ratio(tp, predicted[a]),
                    recall: ratio(tp, support[a]),
                    f1,
                    support: support[a],
                    predicted: predicted[a],
                },
            );
        }
        let n = c.n() as f64;
        let (kappa, kappa_reason) = match cohen_kappa(&conf, &predicted, &support, n) {
            Some(v) => (Some(v), None),
            None => (
                None,
                Some(
                    "undefined: expected disagreement is 0 (both sides use one and the same code)"
                        .to_string(),
                ),
            ),
        };
        ClassScores {
            accuracy: correct as f64 / n,
            // k >= 1 because n >= 1.
            macro_f1: f1_sum / k.max(1) as f64,
            per_code,
            kappa,
            kappa_reason,
        }
    }
}

/// sklearn `cohen_kappa_score`: 1 − observed/expected off-diagonal mass.
fn cohen_kappa(conf: &[Vec<u64>], row_tot: &[u64], col_tot: &[u64], n: f64) -> Option<f64> {
    let mut observed = 0.0;
    let mut expected = 0.0;
    for (a, row) in conf.iter().enumerate() {
        for (b, &x) in row.iter().enumerate() {
            if a != b {
                observed += x as f64;
                expected += (col_tot[a] as f64 * row_tot[b] as f64) / n;
            }
        }
    }
    // A sum of non-negative terms: exact zero test is safe.
    if expected == 0.0 {
        None
    } else {
        Some(1.0 - observed / expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: f64 = 1e-12;

    fn close(got: f64, want: f64, what: &str) {
        assert!(
            (got - want).abs() <= TOL,
            "{what}: got {got:.17}, want {want:.17}"
        );
    }

    /// Expected: sklearn accuracy_score, f1_score(average="macro",
    /// zero_division=0), cohen_kappa_score, and per-label
    /// precision_recall_fscore_support(zero_division=0) with labels = sorted union.
    fn check(
        pred: &[&str],
        gold: &[&str],
        accuracy: f64,
        macro_f1: f64,
        kappa: Option<f64>,
        per: &[(&str, f64, f64, f64, u64)],
    ) -> ClassScores {
        let s = ClassScores::new(pred, gold).unwrap();
        close(s.accuracy, accuracy, "accuracy");
        close(s.macro_f1, macro_f1, "macro_f1");
        match (s.kappa, kappa) {
            (Some(g), Some(w)) => close(g, w, "kappa"),
            (None, None) => assert!(s.kappa_reason.is_some()),
            other => panic!("kappa mismatch {other:?}"),
        }
        assert_eq!(s.per_code.len(), per.len());
        for (label, p, r, f, sup) in per {
            let got = &s.per_code[*label];
            close(got.precision, *p, "precision");
            close(got.recall, *r, "recall");
            close(got.f1, *f, "f1");
            assert_eq!(got.support, *sup, "support of {label}");
        }
        let pred_total: u64 = s.per_code.values().map(|x| x.predicted).sum();
        assert_eq!(pred_total, pred.len() as u64);
        s
    }

    #[test]
    fn length_mismatch_is_an_error() {
        assert_eq!(
            ClassScores::new(&["a", "b"], &["a"]),
            Err(EvalError::LengthMismatch { pred: 2, gold: 1 })
        );
        assert_eq!(ClassScores::new(&[], &[]), Err(EvalError::Empty));
    }

    // Values computed with scikit-learn 1.9.1 / scipy 1.17.1 and hard-coded (tol 1e-12).
    #[test]
    fn sklearn_fewer_groups_than_labels() {
        check(
            &["a", "a", "a", "b", "b", "b", "b", "c", "c", "c", "a", "b"],
            &["x", "x", "y", "y", "z", "z", "w", "w", "x", "y", "z", "w"],
            0.0,
            0.0,
            Some(0.0),
            &[
                ("a", 0.0, 0.0, 0.0, 0),
                ("b", 0.0, 0.0, 0.0, 0),
                ("c", 0.0, 0.0, 0.0, 0),
                ("w", 0.0, 0.0, 0.0, 3),
                ("x", 0.0, 0.0, 0.0, 3),
                ("y", 0.0, 0.0, 0.0, 3),
                ("z", 0.0, 0.0, 0.0, 3),
            ],
        );
    }

    #[test]
    fn sklearn_more_groups_than_labels() {
        check(
            &[
                "g1", "g2", "g3", "g4", "g5", "g1", "g2", "g3", "g4", "g5", "g1",
            ],
            &["p", "p", "p", "q", "q", "q", "r", "r", "p", "q", "r"],
            0.0,
            0.0,
            Some(0.0),
            &[
                ("g1", 0.0, 0.0, 0.0, 0),
                ("g2", 0.0, 0.0, 0.0, 0),
                ("g3", 0.0, 0.0, 0.0, 0),
                ("g4", 0.0, 0.0, 0.0, 0),
                ("g5", 0.0, 0.0, 0.0, 0),
                ("p", 0.0, 0.0, 0.0, 4),
                ("q", 0.0, 0.0, 0.0, 4),
                ("r", 0.0, 0.0, 0.0, 3),
            ],
        );
    }

    #[test]
    fn sklearn_single_group() {
        check(
            &["all", "all", "all", "all", "all", "all", "all"],
            &["a", "b", "a", "c", "b", "a", "a"],
            0.0,
            0.0,
            Some(0.0),
            &[
                ("a", 0.0, 0.0, 0.0, 4),
                ("all", 0.0, 0.0, 0.0, 0),
                ("b", 0.0, 0.0, 0.0, 2),
                ("c", 0.0, 0.0, 0.0, 1),
            ],
        );
    }

    #[test]
    fn sklearn_single_gold_label() {
        check(
            &["a", "b", "a", "c", "b", "a", "a"],
            &["only", "only", "only", "only", "only", "only", "only"],
            0.0,
            0.0,
            Some(0.0),
            &[
                ("a", 0.0, 0.0, 0.0, 0),
                ("b", 0.0, 0.0, 0.0, 0),
                ("c", 0.0, 0.0, 0.0, 0),
                ("only", 0.0, 0.0, 0.0, 7),
            ],
        );
    }

    #[test]
    fn sklearn_single_both() {
        check(
            &["k", "k", "k", "k", "k"],
            &["k", "k", "k", "k", "k"],
            1.0,
            1.0,
            None,
            &[("k", 1.0, 1.0, 1.0, 5)],
        );
    }

    #[test]
    fn sklearn_perfect_agreement() {
        check(
            &["a", "b", "c", "a", "b", "c", "c"],
            &["a", "b", "c", "a", "b", "c", "c"],
            1.0,
            1.0,
            Some(1.0),
            &[
                ("a", 1.0, 1.0, 1.0, 2),
                ("b", 1.0, 1.0, 1.0, 2),
                ("c", 1.0, 1.0, 1.0, 3),
            ],
        );
    }

    #[test]
    fn sklearn_permuted_labels() {
        check(
            &["b", "c", "a", "b", "c", "a", "a"],
            &["a", "b", "c", "a", "b", "c", "c"],
            0.0,
            0.0,
            Some(-0.48484848484848486),
            &[
                ("a", 0.0, 0.0, 0.0, 2),
                ("b", 0.0, 0.0, 0.0, 2),
                ("c", 0.0, 0.0, 0.0, 3),
            ],
        );
    }

    #[test]
    fn sklearn_all_singletons() {
        check(
            &["1", "2", "3", "4"],
            &["a", "b", "c", "d"],
            0.0,
            0.0,
            Some(0.0),
            &[
                ("1", 0.0, 0.0, 0.0, 0),
                ("2", 0.0, 0.0, 0.0, 0),
                ("3", 0.0, 0.0, 0.0, 0),
                ("4", 0.0, 0.0, 0.0, 0),
                ("a", 0.0, 0.0, 0.0, 1),
                ("b", 0.0, 0.0, 0.0, 1),
                ("c", 0.0, 0.0, 0.0, 1),
                ("d", 0.0, 0.0, 0.0, 1),
            ],
        );
    }

    #[test]
    fn sklearn_unicode_labels() {
        check(
            &[
                "Preis",
                "Qualität",
                "Preis",
                "服务",
                "Qualität",
                "😀",
                "Preis",
                "服务",
                "Ärger",
            ],
            &[
                "Preis",
                "Qualität",
                "服务",
                "服务",
                "Preis",
                "😀",
                "Ärger",
                "Qualität",
                "Ärger",
            ],
            0.5555555555555556,
            0.6133333333333333,
            Some(0.4375),
            &[
                ("Preis", 0.3333333333333333, 0.5, 0.4, 2),
                ("Qualität", 0.5, 0.5, 0.5, 2),
                ("Ärger", 1.0, 0.5, 0.6666666666666666, 2),
                ("服务", 0.5, 0.5, 0.5, 2),
                ("😀", 1.0, 1.0, 1.0, 1),
            ],
        );
    }

    #[test]
    fn sklearn_codes_partial_overlap() {
        check(
            &[
                "price", "price", "quality", "none", "service", "price", "quality", "other",
            ],
            &[
                "price", "quality", "quality", "service", "service", "price", "none", "price",
            ],
            0.5,
            0.3666666666666666,
            Some(0.33333333333333337),
            &[
                ("none", 0.0, 0.0, 0.0, 1),
                ("other", 0.0, 0.0, 0.0, 0),
                (
                    "price",
                    0.6666666666666666,
                    0.6666666666666666,
                    0.6666666666666666,
                    3,
                ),
                ("quality", 0.5, 0.5, 0.5, 2),
                ("service", 1.0, 0.5, 0.6666666666666666, 2),
            ],
        );
    }

    #[test]
    fn per_code_is_in_code_point_order() {
        let s =
            ClassScores::new(&["😀", "Ärger", "Preis"], &["Qualität", "服务", "Preis"]).unwrap();
        let keys: Vec<&str> = s.per_code.keys().map(String::as_str).collect();
        assert_eq!(keys, ["Preis", "Qualität", "Ärger", "服务", "😀"]);
    }
}
