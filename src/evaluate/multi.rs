//! Scores for answers that carry several codes: sample-averaged precision, recall and F1,
//! micro and macro F1 over codes, exact matches and each code's binary Krippendorff's α.
//!
//! Formulas follow scikit-learn 1.9 (`f1_score(average="samples" | "micro" | "macro")`, with
//! `zero_division=0`) and the `krippendorff` package (nominal α of two coders, every unit
//! coded by both), so figures can be checked against them.

use std::collections::BTreeSet;

use serde::Serialize;

use super::EvalError;

/// What separates the codes of one answer in a label cell (as apply's `codes` column).
pub const CODE_SEPARATOR: char = ';';

/// The codes named in one label cell: split at `;`, trimmed, each once, in order.
pub fn split_codes(cell: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in cell.split(CODE_SEPARATOR).map(str::trim) {
        if !part.is_empty() && !out.iter().any(|c| c == part) {
            out.push(part.to_string());
        }
    }
    out
}

/// One code's figures over all answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodeAgreement {
    pub code: String,
    /// Answers the coders gave this code.
    pub gold: usize,
    /// Answers the predictions gave it.
    pub predicted: usize,
    /// Answers both gave it.
    pub both: usize,
    pub f1: f64,
    /// Binary (given / not given) nominal α; `None` when neither side varies.
    pub alpha: Option<f64>,
}

/// Multi-code scores of one comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultiScores {
    /// Answers scored.
    pub n: usize,
    /// Mean codes per answer, human and predicted.
    pub gold_codes_per_answer: f64,
    pub predicted_codes_per_answer: f64,
    /// Answers whose set of codes is exactly the human one.
    pub exact_match: f64,
    /// Per-answer precision, recall and F1, averaged over answers.
    pub sample_precision: f64,
    pub sample_recall: f64,
    pub sample_f1: f64,
    /// F1 over every (answer, code) decision.
    pub micro_f1: f64,
    /// Mean of the codes' F1 (codes either side names).
    pub macro_f1: f64,
    /// Mean of the defined per-code α.
    pub mean_alpha: Option<f64>,
    /// Every code either side names, most frequent in the gold first.
    pub codes: Vec<CodeAgreement>,
}

fn f1(tp: usize, fp: usize, fn_: usize) -> f64 {
    let d = 2 * tp + fp + fn_;
    if d == 0 {
        0.0
    } else {
        2.0 * tp as f64 / d as f64
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Nominal α of two coders over `n` units coding a yes/no: `disagree` units differ, `yes`
/// values are "given" out of `2n` (Krippendorff 2011, coincidence form).
pub fn binary_alpha(n: usize, yes: usize, disagree: usize) -> Option<f64> {
    let total = 2 * n;
    let no = total.checked_sub(yes)?;
    if yes == 0 || no == 0 {
        return None;
    }
    Some(1.0 - (total as f64 - 1.0) * disagree as f64 / (yes as f64 * no as f64))
}

impl MultiScores {
    /// `pred[i]` and `gold[i]` are the codes of answer `i`.
    pub fn new(pred: &[Vec<String>], gold: &[Vec<String>]) -> Result<MultiScores, EvalError> {
        if pred.len() != gold.len() {
            return Err(EvalError::LengthMismatch {
                pred: pred.len(),
                gold: gold.len(),
            });
        }
        let n = gold.len();
        if n == 0 {
            return Err(EvalError::Empty);
        }
        let labels: BTreeSet<&str> = pred
            .iter()
            .chain(gold)
            .flatten()
            .map(String::as_str)
            .collect();
        let mut codes: Vec<CodeAgreement> = Vec::new();
        let (mut tp_all, mut fp_all, mut fn_all) = (0, 0, 0);
        for code in labels {
            let has = |v: &Vec<String>| v.iter().any(|c| c == code);
            let (mut g, mut p, mut both) = (0, 0, 0);
            for (pv, gv) in pred.iter().zip(gold) {
                let (x, y) = (has(pv), has(gv));
                g += usize::from(y);
                p += usize::from(x);
                both += usize::from(x && y);
            }
            let (fp, fn_) = (p - both, g - both);
            tp_all += both;
            fp_all += fp;
            fn_all += fn_;
            codes.push(CodeAgreement {
                code: code.to_string(),
                gold: g,
                predicted: p,
                both,
                f1: f1(both, fp, fn_),
                alpha: binary_alpha(n, g + p, fp + fn_),
            });
        }
        codes.sort_by(|a, b| b.gold.cmp(&a.gold).then_with(|| a.code.cmp(&b.code)));
        let (mut sp, mut sr, mut sf, mut exact) = (0.0, 0.0, 0.0, 0usize);
        for (pv, gv) in pred.iter().zip(gold) {
            let tp = pv.iter().filter(|c| gv.contains(c)).count();
            sp += ratio(tp, pv.len());
            sr += ratio(tp, gv.len());
            sf += f1(tp, pv.len() - tp, gv.len() - tp);
            let same = pv.len() == gv.len() && tp == gv.len();
            exact += usize::from(same);
        }
        let alphas: Vec<f64> = codes.iter().filter_map(|c| c.alpha).collect();
        let nf = n as f64;
        Ok(MultiScores {
            n,
            gold_codes_per_answer: gold.iter().map(Vec::len).sum::<usize>() as f64 / nf,
            predicted_codes_per_answer: pred.iter().map(Vec::len).sum::<usize>() as f64 / nf,
            exact_match: exact as f64 / nf,
            sample_precision: sp / nf,
            sample_recall: sr / nf,
            sample_f1: sf / nf,
            micro_f1: f1(tp_all, fp_all, fn_all),
            macro_f1: codes.iter().map(|c| c.f1).sum::<f64>() / codes.len().max(1) as f64,
            mean_alpha: (!alphas.is_empty())
                .then(|| alphas.iter().sum::<f64>() / alphas.len() as f64),
            codes,
        })
    }

    /// The figures as lines for the terminal.
    pub fn render_text(&self) -> String {
        let mut s = format!(
            "{} answers; codes per answer: human {:.2}, predicted {:.2}\n\
             sample precision {:.3}  recall {:.3}  F1 {:.3}; micro-F1 {:.3}; macro-F1 {:.3}; \
             exact sets {:.3}; mean per-code alpha {}\n",
            self.n,
            self.gold_codes_per_answer,
            self.predicted_codes_per_answer,
            self.sample_precision,
            self.sample_recall,
            self.sample_f1,
            self.micro_f1,
            self.macro_f1,
            self.exact_match,
            self.mean_alpha.map_or("-".into(), |a| format!("{a:.3}")),
        );
        s.push_str("code                            human  pred  both     F1  alpha\n");
        for c in &self.codes {
            let name: String = c.code.chars().take(30).collect();
            s.push_str(&format!(
                "{name:<30} {:>6} {:>5} {:>5} {:>6.3} {:>6}\n",
                c.gold,
                c.predicted,
                c.both,
                c.f1,
                c.alpha.map_or("-".into(), |a| format!("{a:.3}")),
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets(v: &[&str]) -> Vec<Vec<String>> {
        v.iter().map(|c| split_codes(c)).collect()
    }

    #[test]
    fn splits_trims_and_dedups() {
        assert_eq!(split_codes(" a; b ;a;; "), vec!["a", "b"]);
        assert!(split_codes("").is_empty());
    }

    #[test]
    fn matches_scikit_learn_and_krippendorff() {
        // scikit-learn: f1_score(mlb(gold), mlb(pred), average="samples") = 0.6666666666666666,
        // micro 0.7142857142857143; krippendorff.alpha(level_of_measurement="nominal") for
        // code a: 0.25 (gold 1,1,0,1,0 against pred 1,0,0,1,1).
        let gold = sets(&["a; b", "a", "b", "a; c", "c"]);
        let pred = sets(&["a", "b", "b", "a; c", "a; c"]);
        let m = MultiScores::new(&pred, &gold).unwrap();
        assert!((m.sample_f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.micro_f1 - 5.0 / 7.0).abs() < 1e-12);
        let a = m.codes.iter().find(|c| c.code == "a").unwrap();
        assert!((a.alpha.unwrap() - 0.25).abs() < 1e-12);
        assert!((m.exact_match - 0.4).abs() < 1e-12);
    }

    #[test]
    fn alpha_is_undefined_without_variation() {
        assert_eq!(binary_alpha(3, 0, 0), None);
        assert_eq!(binary_alpha(3, 6, 0), None);
        assert_eq!(binary_alpha(2, 2, 0), Some(1.0));
    }

    #[test]
    fn refuses_misaligned_or_empty_input() {
        assert!(MultiScores::new(&sets(&["a"]), &[]).is_err());
        assert!(MultiScores::new(&[], &[]).is_err());
    }
}
