//! Clustering scores: predicted names are arbitrary group ids compared with gold labels.
//!
//! Formulas mirror scikit-learn 1.9 (`sklearn.metrics.cluster`), including
//! its evaluation order where it matters for rounding, so values agree to
//! ~1e-15. All logs are natural. Edge cases (documented per field) follow
//! sklearn; `Contingency` guarantees `n >= 1`, so sklearn's empty-input
//! branches never apply.

use super::{hungarian, Contingency};
use serde::Serialize;
use std::collections::BTreeMap;

/// Agreement between a grouping of answers and gold labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterScores {
    /// Clustering accuracy: items on the best one-to-one matching of groups to
    /// gold labels (Hungarian, maximising matched counts), divided by `n`.
    /// Works for any number of groups; unmatched groups count as errors.
    pub acc: f64,
    /// Predicted group -> gold label it was matched to (`None` if the group
    /// was left out because there are more groups than labels). Matching is
    /// a pure assignment, so a group may be matched to a label it shares no
    /// items with when that does not lower the matched total.
    pub mapping: BTreeMap<String, Option<String>>,
    /// `normalized_mutual_info_score(gold, pred)` with arithmetic mean.
    /// sklearn: 1.0 when both sides have a single class; 0.0 when MI is 0
    /// (e.g. exactly one side has a single class).
    pub nmi: f64,
    /// `adjusted_rand_score(gold, pred)`. sklearn: 1.0 when the pair
    /// confusion has no disagreements (includes both sides single-class and
    /// all-singletons-on-both-sides); may be negative.
    pub ari: f64,
    /// `homogeneity_score`: MI / H(gold); sklearn defines it as 1.0 when
    /// H(gold) = 0 (single gold label).
    pub homogeneity: f64,
    /// `completeness_score`: MI / H(pred); 1.0 when H(pred) = 0 (single group).
    pub completeness: f64,
    /// `v_measure_score` with beta = 1; 0.0 when homogeneity + completeness = 0.
    pub v_measure: f64,
    /// Purity: Σ over groups of the group's largest gold count, divided by `n`
    /// (not in sklearn; standard definition).
    pub purity: f64,
}

impl From<&Contingency> for ClusterScores {
    fn from(c: &Contingency) -> Self {
        ClusterScores::from_contingency(c)
    }
}

impl ClusterScores {
    /// Compute all clustering scores from a contingency table.
    pub fn from_contingency(c: &Contingency) -> ClusterScores {
        let n = c.n() as f64;
        let (matched, mapping) = best_matching(c);
        let mi = mutual_info(c);
        let h_gold = entropy(&c.gold_totals());
        let h_pred = entropy(&c.pred_totals());

        let nmi = if c.pred_labels().len() == 1 && c.gold_labels().len() == 1 {
            1.0
        } else if mi == 0.0 {
            0.0
        } else {
            // sklearn `_generalized_average(.., "arithmetic")` = mean of the two.
            mi / ((h_gold + h_pred) / 2.0)
        };
        let homogeneity = if h_gold != 0.0 { mi / h_gold } else { 1.0 };
        let completeness = if h_pred != 0.0 { mi / h_pred } else { 1.0 };
        let v_measure = if homogeneity + completeness == 0.0 {
            0.0
        } else {
            2.0 * homogeneity * completeness / (homogeneity + completeness)
        };
        let purity_hits: u64 = c
            .counts()
            .iter()
            .map(|row| row.iter().copied().max().unwrap_or(0))
            .sum();

        ClusterScores {
            acc: matched as f64 / n,
            mapping,
            nmi,
            ari: adjusted_rand(c),
            homogeneity,
            completeness,
            v_measure,
            purity: purity_hits as f64 / n,
        }
    }
}

/// Hungarian matching of groups (rows) to gold labels (columns), maximising
/// matched counts. Returns the matched item total and the group -> label map.
fn best_matching(c: &Contingency) -> (u64, BTreeMap<String, Option<String>>) {
    // Negated counts turn maximisation into the solver's minimisation; counts
    // are far below 2^53, so the f64 costs are exact.
    let cost: Vec<Vec<f64>> = c
        .counts()
        .iter()
        .map(|row| row.iter().map(|&x| -(x as f64)).collect())
        .collect();
    let assignment = hungarian(&cost);
    let mut matched = 0u64;
    let mut mapping = BTreeMap::new();
    for (i, group) in c.pred_labels().iter().enumerate() {
        let col = assignment.get(i).copied().flatten();
        let label = col.and_then(|j| {
            matched += c
                .counts()
                .get(i)
                .and_then(|r| r.get(j))
                .copied()
                .unwrap_or(0);
            c.gold_labels().get(j).cloned()
        });
        mapping.insert(group.clone(), label);
    }
    (matched, mapping)
}

/// `sklearn.metrics.cluster._supervised._entropy` on label counts.
fn entropy(counts: &[u64]) -> f64 {
    let nonzero: Vec<f64> = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| c as f64)
        .collect();
    if nonzero.len() <= 1 {
        // sklearn: single cluster => zero entropy.
        return 0.0;
    }
    let total: f64 = nonzero.iter().sum();
    let log_total = total.ln();
    -nonzero
        .iter()
        .map(|&p| (p / total) * (p.ln() - log_total))
        .sum::<f64>()
}

/// `sklearn.metrics.mutual_info_score` from a contingency table, same
/// term-by-term formula (including zeroing terms below machine epsilon and
/// clipping the sum at 0).
fn mutual_info(c: &Contingency) -> f64 {
    let pi = c.pred_totals();
    let pj = c.gold_totals();
    if pi.len() == 1 || pj.len() == 1 {
        // MI <= min(H(X), H(Y)) = 0 for a single cluster.
        return 0.0;
    }
    let total = c.n() as f64;
    let log_total = total.ln();
    // sum(pi) == sum(pj) == n; kept as separate terms to match sklearn's rounding.
    let log_sum_pi = (pi.iter().sum::<u64>() as f64).ln();
    let log_sum_pj = (pj.iter().sum::<u64>() as f64).ln();
    let mut mi = 0.0;
    for (i, row) in c.counts().iter().enumerate() {
        for (j, &nij) in row.iter().enumerate() {
            if nij == 0 {
                continue;
            }
            let (a, b) = (
                pi.get(i).copied().unwrap_or(0),
                pj.get(j).copied().unwrap_or(0),
            );
            // Integer product first, then one rounding, as numpy's int64 path.
            let outer = (u128::from(a) * u128::from(b)) as f64;
            let log_outer = -outer.ln() + log_sum_pi + log_sum_pj;
            let p = nij as f64 / total;
            let term = p * ((nij as f64).ln() - log_total) + p * log_outer;
            if term.abs() >= f64::EPSILON {
                mi += term;
            }
        }
    }
    mi.max(0.0)
}

/// `sklearn.metrics.adjusted_rand_score` via the pair-confusion matrix, in
/// exact integer arithmetic (i128) as sklearn does with Python ints.
fn adjusted_rand(c: &Contingency) -> f64 {
    let n = i128::from(c.n());
    let pred_tot = c.pred_totals();
    let gold_tot = c.gold_totals();
    let mut sum_squares: i128 = 0;
    // Σ n_ij * (size of its pred group) and Σ n_ij * (size of its gold class).
    let mut by_pred: i128 = 0;
    let mut by_gold: i128 = 0;
    for (i, row) in c.counts().iter().enumerate() {
        for (j, &nij) in row.iter().enumerate() {
            let x = i128::from(nij);
            sum_squares += x * x;
            by_pred += x * i128::from(pred_tot.get(i).copied().unwrap_or(0));
            by_gold += x * i128::from(gold_tot.get(j).copied().unwrap_or(0));
        }
    }
    // Pairs: together in both / pred only / gold only / apart in both.
    let tp = sum_squares - n;
    let fp = by_pred - sum_squares;
    let fn_ = by_gold - sum_squares;
    let tn = n * n - fp - fn_ - sum_squares;
    if fn_ == 0 && fp == 0 {
        // sklearn special case: full agreement.
        return 1.0;
    }
    let num = 2 * (tp * tn - fn_ * fp);
    let den = (tp + fn_) * (fn_ + tn) + (tp + fp) * (fp + tn);
    // den > 0 whenever fp or fn is non-zero, so this division is defined.
    num as f64 / den as f64
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

    /// Expected values from scikit-learn 1.9.1:
    /// nmi, ari, homogeneity, completeness, v_measure, plus acc via
    /// scipy.optimize.linear_sum_assignment and purity via numpy.
    struct Want {
        acc: f64,
        nmi: f64,
        ari: f64,
        h: f64,
        c: f64,
        v: f64,
        purity: f64,
    }

    fn check(pred: &[&str], gold: &[&str], w: Want) -> ClusterScores {
        let s = ClusterScores::from_contingency(&Contingency::new(pred, gold).unwrap());
        close(s.acc, w.acc, "acc");
        close(s.nmi, w.nmi, "nmi");
        close(s.ari, w.ari, "ari");
        close(s.homogeneity, w.h, "homogeneity");
        close(s.completeness, w.c, "completeness");
        close(s.v_measure, w.v, "v_measure");
        close(s.purity, w.purity, "purity");
        s
    }

    // Values computed with scikit-learn 1.9.1 / scipy 1.17.1 and hard-coded (tol 1e-12).
    #[test]
    fn sklearn_fewer_groups_than_labels() {
        check(
            &["a", "a", "a", "b", "b", "b", "b", "c", "c", "c", "a", "b"],
            &["x", "x", "y", "y", "z", "z", "w", "w", "x", "y", "z", "w"],
            Want {
                acc: 0.4166666666666667,
                nmi: 0.26423486637352483,
                ari: -0.03773584905660377,
                h: 0.23481133430832168,
                c: 0.3020887358758778,
                v: 0.26423486637352483,
                purity: 0.4166666666666667,
            },
        );
    }

    #[test]
    fn sklearn_more_groups_than_labels() {
        check(
            &[
                "g1", "g2", "g3", "g4", "g5", "g1", "g2", "g3", "g4", "g5", "g1",
            ],
            &["p", "p", "p", "q", "q", "q", "r", "r", "p", "q", "r"],
            Want {
                acc: 0.36363636363636365,
                nmi: 0.3072452097264879,
                ari: -0.1,
                h: 0.3782892448473278,
                c: 0.25866670365174355,
                v: 0.3072452097264879,
                purity: 0.5454545454545454,
            },
        );
    }

    #[test]
    fn sklearn_single_group() {
        check(
            &["all", "all", "all", "all", "all", "all", "all"],
            &["a", "b", "a", "c", "b", "a", "a"],
            Want {
                acc: 0.5714285714285714,
                nmi: 0.0,
                ari: 0.0,
                h: 0.0,
                c: 1.0,
                v: 0.0,
                purity: 0.5714285714285714,
            },
        );
    }

    #[test]
    fn sklearn_single_gold_label() {
        check(
            &["a", "b", "a", "c", "b", "a", "a"],
            &["only", "only", "only", "only", "only", "only", "only"],
            Want {
                acc: 0.5714285714285714,
                nmi: 0.0,
                ari: 0.0,
                h: 1.0,
                c: 0.0,
                v: 0.0,
                purity: 1.0,
            },
        );
    }

    #[test]
    fn sklearn_single_both() {
        check(
            &["k", "k", "k", "k", "k"],
            &["k", "k", "k", "k", "k"],
            Want {
                acc: 1.0,
                nmi: 1.0,
                ari: 1.0,
                h: 1.0,
                c: 1.0,
                v: 1.0,
                purity: 1.0,
            },
        );
    }

    #[test]
    fn sklearn_perfect_agreement() {
        check(
            &["a", "b", "c", "a", "b", "c", "c"],
            &["a", "b", "c", "a", "b", "c", "c"],
            Want {
                acc: 1.0,
                nmi: 1.0,
                ari: 1.0,
                h: 1.0,
                c: 1.0,
                v: 1.0,
                purity: 1.0,
            },
        );
    }

    #[test]
    fn sklearn_permuted_labels() {
        check(
            &["b", "c", "a", "b", "c", "a", "a"],
            &["a", "b", "c", "a", "b", "c", "c"],
            Want {
                acc: 1.0,
                nmi: 1.0,
                ari: 1.0,
                h: 1.0,
                c: 1.0,
                v: 1.0,
                purity: 1.0,
            },
        );
    }

    #[test]
    fn sklearn_all_singletons() {
        check(
            &["1", "2", "3", "4"],
            &["a", "b", "c", "d"],
            Want {
                acc: 1.0,
                nmi: 1.0,
                ari: 1.0,
                h: 1.0,
                c: 1.0,
                v: 1.0,
                purity: 1.0,
            },
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
            Want {
                acc: 0.5555555555555556,
                nmi: 0.5842847800557028,
                ari: -0.14084507042253522,
                h: 0.5735423596914315,
                c: 0.5954372914211234,
                v: 0.5842847800557028,
                purity: 0.5555555555555556,
            },
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
            Want {
                acc: 0.5,
                nmi: 0.6457465281985653,
                ari: 0.07547169811320754,
                h: 0.6881041381073281,
                c: 0.6083013373782921,
                v: 0.645746528198565,
                purity: 0.75,
            },
        );
    }

    #[test]
    fn mapping_recovers_permutation_and_drops_surplus_groups() {
        let c = Contingency::new(
            &["b", "c", "a", "b", "c", "a", "a"],
            &["a", "b", "c", "a", "b", "c", "c"],
        )
        .unwrap();
        let s = ClusterScores::from(&c);
        let want: BTreeMap<String, Option<String>> = [("a", "c"), ("b", "a"), ("c", "b")]
            .into_iter()
            .map(|(g, l)| (g.to_string(), Some(l.to_string())))
            .collect();
        assert_eq!(s.mapping, want);

        // 5 groups, 3 labels: exactly two groups stay unmatched.
        let c = Contingency::new(
            &[
                "g1", "g2", "g3", "g4", "g5", "g1", "g2", "g3", "g4", "g5", "g1",
            ],
            &["p", "p", "p", "q", "q", "q", "r", "r", "p", "q", "r"],
        )
        .unwrap();
        let s = ClusterScores::from(&c);
        assert_eq!(s.mapping.len(), 5);
        assert_eq!(s.mapping.values().filter(|m| m.is_none()).count(), 2);
        let json = serde_json::to_value(&s).unwrap();
        assert!(json["nmi"].is_f64() && json["mapping"].is_object());
    }
}
