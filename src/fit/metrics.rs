//! Agreement figures between human codes and predicted codes.
//!
//! Accuracy, macro-F1 and Cohen's kappa, with the same conventions as
//! scikit-learn (`f1_score(average="macro", zero_division=0)` over the codes
//! that occur in either the truth or the predictions; `cohen_kappa_score`).

use serde::{Deserialize, Serialize};

/// Per-code figures; `None` where the denominator is zero.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CodeMetrics {
    pub code: usize,
    /// Answers humans gave this code.
    pub support: usize,
    /// Answers predicted as this code.
    pub predicted: usize,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
}

/// Summary figures; `None` when undefined (no answers, or kappa with chance
/// agreement 1).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Metrics {
    pub n: usize,
    pub accuracy: Option<f64>,
    pub macro_f1: Option<f64>,
    pub kappa: Option<f64>,
    pub per_code: Vec<CodeMetrics>,
}

/// Compares `predicted` against `truth` (same length; extra entries of the
/// longer slice are ignored). Codes at or above `n_codes` are counted as
/// errors but get no per-code entry.
pub fn evaluate(truth: &[usize], predicted: &[usize], n_codes: usize) -> Metrics {
    let n = truth.len().min(predicted.len());
    let mut tp = vec![0usize; n_codes];
    let mut support = vec![0usize; n_codes];
    let mut pred = vec![0usize; n_codes];
    let mut correct = 0usize;
    for (&t, &p) in truth.iter().zip(predicted) {
        if let Some(s) = support.get_mut(t) {
            *s += 1;
        }
        if let Some(c) = pred.get_mut(p) {
            *c += 1;
        }
        if t == p {
            correct += 1;
            if let Some(c) = tp.get_mut(t) {
                *c += 1;
            }
        }
    }
    let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
    let per_code: Vec<CodeMetrics> = (0..n_codes)
        .map(|code| {
            let precision = ratio(tp[code], pred[code]);
            let recall = ratio(tp[code], support[code]);
            let f1 = (support[code] + pred[code] > 0)
                .then(|| 2.0 * tp[code] as f64 / (support[code] + pred[code]) as f64);
            CodeMetrics {
                code,
                support: support[code],
                predicted: pred[code],
                precision,
                recall,
                f1,
            }
        })
        .collect();
    let f1s: Vec<f64> = per_code.iter().filter_map(|m| m.f1).collect();
    let macro_f1 = (!f1s.is_empty()).then(|| f1s.iter().sum::<f64>() / f1s.len() as f64);
    let kappa = if n == 0 {
        None
    } else {
        let nf = n as f64;
        let observed = correct as f64 / nf;
        let chance: f64 = support
            .iter()
            .zip(&pred)
            .map(|(&s, &p)| (s as f64 / nf) * (p as f64 / nf))
            .sum();
        (chance < 1.0).then(|| (observed - chance) / (1.0 - chance))
    };
    Metrics {
        n,
        accuracy: ratio(correct, n),
        macro_f1,
        kappa,
        per_code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scikit_learn() {
        // sklearn: accuracy_score, f1_score(average="macro"), cohen_kappa_score
        let truth = [0, 0, 1, 1, 2, 2, 2, 0, 1, 2];
        let pred = [0, 1, 1, 1, 2, 0, 2, 0, 2, 2];
        let m = evaluate(&truth, &pred, 4);
        assert_eq!(m.accuracy, Some(0.7));
        assert!((m.macro_f1.unwrap() - 0.6944444444444443).abs() < 1e-12);
        assert!((m.kappa.unwrap() - 0.5454545454545454).abs() < 1e-12);
        assert_eq!(m.per_code[3].f1, None);
    }

    #[test]
    fn degenerate_inputs_give_none() {
        let m = evaluate(&[], &[], 3);
        assert_eq!((m.accuracy, m.macro_f1, m.kappa), (None, None, None));
        let m = evaluate(&[1, 1], &[1, 1], 3);
        assert_eq!(m.accuracy, Some(1.0));
        assert_eq!(m.kappa, None);
    }
}
