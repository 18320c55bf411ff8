//! Several codes per answer: which further codes an answer gets beside its best one, with the
//! rule learned out of fold from answers the coders gave several codes.
//!
//! The rule is a share of the best code's score: a further code is given when its score is at
//! least `ratio` times the best one. `ratio` is chosen on out-of-fold scores to maximise the
//! mean per-answer F1 against the coders' sets of codes (ties go to the larger ratio: fewer
//! codes), so it is learned on answers the classifier did not see.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::cv::assign_folds;
use super::{ClassifierSpec, FitError, OwnedRows, Training};

/// Ratios tried, smallest first: 0.05, 0.10, …, 1.00.
const RATIO_STEPS: usize = 20;

/// The rule `apply --multi` uses, and what it scored out of fold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MultiRule {
    /// Further codes need at least this share of the best code's score.
    pub ratio: f32,
    /// A part's best code is given when its score is at least this share of the answer's
    /// best score (`None`: parts add no codes).
    #[serde(default)]
    pub part_ratio: Option<f32>,
    /// Answers the rule was learned on, and of them those with several codes.
    pub answers: usize,
    pub several: usize,
    /// Codes per answer the coders gave.
    pub codes_per_answer: f64,
    /// Out-of-fold mean per-answer F1 with the rule, and with the best code alone.
    pub sample_f1: f64,
    pub single_sample_f1: f64,
}

/// The best code of `scores` and its score (ties to the lowest code); `None` when empty.
fn best_of(scores: &[f32]) -> Option<(usize, f32)> {
    scores
        .iter()
        .enumerate()
        .fold(None, |acc: Option<(usize, f32)>, (c, &v)| match acc {
            Some((_, b)) if v <= b => acc,
            _ => Some((c, v)),
        })
}

/// The best code first, then every other code `keep(code, score)` accepts, by falling score
/// (ties to the lowest code).
pub fn best_then(scores: &[f32], keep: impl Fn(usize, f32) -> bool) -> Vec<usize> {
    let Some((best, _)) = best_of(scores) else {
        return Vec::new();
    };
    let mut more: Vec<(usize, f32)> = scores
        .iter()
        .enumerate()
        .filter(|&(c, &v)| c != best && keep(c, v))
        .map(|(c, &v)| (c, v))
        .collect();
    more.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    std::iter::once(best)
        .chain(more.into_iter().map(|(c, _)| c))
        .collect()
}

/// Codes given to an answer with these scores: the best first, then every code within `ratio`
/// of it by falling score (ties to the lowest code).
pub fn codes_within(scores: &[f32], ratio: f32) -> Vec<usize> {
    let top = best_of(scores).map_or(0.0, |(_, v)| v);
    best_then(scores, |_, v| top > 0.0 && v >= ratio * top)
}

/// Codes given to an answer: [`codes_within`] its scores, then the best code of each part
/// (`parts`: code and score) that reaches `part_ratio` of the answer's best score.
pub fn answer_codes(
    scores: &[f32],
    ratio: f32,
    parts: &[(usize, f32)],
    part_ratio: Option<f32>,
) -> Vec<usize> {
    let mut codes = codes_within(scores, ratio);
    if let (Some(q), Some(&best)) = (part_ratio, codes.first()) {
        let top = scores.get(best).copied().unwrap_or(0.0);
        for &(c, v) in parts {
            if v >= q * top && !codes.contains(&c) {
                codes.push(c);
            }
        }
    }
    codes
}

/// F1 of one answer's predicted codes against the coders' codes.
fn answer_f1(pred: &[usize], gold: &[usize]) -> f64 {
    let tp = pred.iter().filter(|c| gold.contains(c)).count();
    let d = pred.len() + gold.len();
    if d == 0 {
        0.0
    } else {
        2.0 * tp as f64 / d as f64
    }
}

/// Out-of-fold scores of each answer, and the best code and score of each of its parts
/// (`parts`: the row each part belongs to, and the parts' row-major vectors), on the folds
/// `cross_validate` uses (answers of codes with one example are trained on, never tested,
/// and get `None`).
pub type OofScores = (Vec<Option<Vec<f32>>>, Vec<Vec<(usize, f32)>>);

/// See [`OofScores`].
pub fn oof_scores(
    t: &Training,
    spec: &ClassifierSpec,
    (folds, seed): (usize, u64),
    (owner, part_vectors): (&[usize], &[f32]),
) -> Result<OofScores, FitError> {
    let (fold_of, k) = assign_folds(t, folds, seed)?;
    type FoldOut = (Vec<(usize, Vec<f32>)>, Vec<(usize, (usize, f32))>);
    let per_fold: Vec<FoldOut> = (0..k)
        .into_par_iter()
        .map(|f| {
            let train = OwnedRows::gather(t, (0..t.len()).filter(|&r| fold_of[r] != Some(f)));
            let model = spec.fit(&train.view(t.dim, t.n_codes))?;
            let rows = (0..t.len())
                .filter(|&r| fold_of[r] == Some(f))
                .map(|r| Ok((r, model.scores(t.row(r))?)))
                .collect::<Result<Vec<_>, FitError>>()?;
            let parts = owner
                .iter()
                .enumerate()
                .filter(|&(_, &r)| fold_of.get(r).copied().flatten() == Some(f))
                .map(|(i, &r)| {
                    let v = part_vectors
                        .get(i * t.dim..(i + 1) * t.dim)
                        .ok_or(FitError::Corrupt("part vectors do not match the parts"))?;
                    Ok((r, model.predict(v)?))
                })
                .collect::<Result<Vec<_>, FitError>>()?;
            Ok((rows, parts))
        })
        .collect::<Result<_, FitError>>()?;
    let mut scores = vec![None; t.len()];
    let mut parts = vec![Vec::new(); t.len()];
    for (rows, ps) in per_fold {
        for (r, s) in rows {
            scores[r] = Some(s);
        }
        for (r, p) in ps {
            parts[r].push(p);
        }
    }
    Ok((scores, parts))
}

/// The ratio and part ratio that maximise the mean out-of-fold F1; `gold[i]` are row `i`'s
/// codes (its first code the one trained on), `parts[i]` its parts' best codes and scores.
/// Ties go to the larger ratios (fewer codes), and to no part codes at all. `None` when no
/// tested answer has several codes.
pub fn calibrate(
    oof: &[Option<Vec<f32>>],
    parts: &[Vec<(usize, f32)>],
    gold: &[Vec<usize>],
) -> Option<MultiRule> {
    let none: Vec<(usize, f32)> = Vec::new();
    type Tested<'a> = (&'a Vec<f32>, &'a Vec<(usize, f32)>, &'a Vec<usize>);
    let tested: Vec<Tested> = oof
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let g = gold.get(i)?;
            s.as_ref().map(|s| (s, parts.get(i).unwrap_or(&none), g))
        })
        .collect();
    let several = tested.iter().filter(|(_, _, g)| g.len() > 1).count();
    if several == 0 {
        return None;
    }
    let n = tested.len() as f64;
    let mean_f1 = |ratio: f32, part_ratio: Option<f32>| -> f64 {
        tested
            .par_iter()
            .map(|(s, p, g)| answer_f1(&answer_codes(s, ratio, p, part_ratio), g))
            .sum::<f64>()
            / n
    };
    let single = mean_f1(f32::INFINITY, None);
    let steps = |k: usize| k as f32 / RATIO_STEPS as f32;
    let mut best = (f32::INFINITY, None, single);
    for part_ratio in std::iter::once(None).chain((1..=RATIO_STEPS).rev().map(|k| Some(steps(k)))) {
        for ratio in std::iter::once(f32::INFINITY).chain((1..=RATIO_STEPS).rev().map(steps)) {
            let f = mean_f1(ratio, part_ratio);
            if f > best.2 {
                best = (ratio, part_ratio, f);
            }
        }
    }
    let (ratio, part_ratio, sample_f1) = best;
    Some(MultiRule {
        // "No further codes" is kept as a ratio no score reaches but the best one.
        ratio: if ratio.is_finite() {
            ratio
        } else {
            1.0 + f32::EPSILON
        },
        part_ratio,
        answers: tested.len(),
        several,
        codes_per_answer: tested.iter().map(|(_, _, g)| g.len()).sum::<usize>() as f64 / n,
        sample_f1,
        single_sample_f1: single,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_within_orders_and_breaks_ties() {
        assert_eq!(codes_within(&[0.2, 0.5, 0.45, 0.45], 0.8), vec![1, 2, 3]);
        assert_eq!(codes_within(&[0.2, 0.5, 0.45], 0.95), vec![1]);
        assert_eq!(codes_within(&[0.5, 0.5], 1.0), vec![0, 1]);
        assert!(codes_within(&[], 0.5).is_empty());
    }

    #[test]
    fn calibrates_the_ratio_on_answers_with_several_codes() {
        // Two answers carry codes 0 and 1 with close scores; one carries 2 alone.
        let oof = vec![
            Some(vec![0.5, 0.4, 0.1]),
            Some(vec![0.35, 0.45, 0.2]),
            Some(vec![0.1, 0.3, 0.6]),
        ];
        let gold = vec![vec![0, 1], vec![1, 0], vec![2]];
        let rule = calibrate(&oof, &[], &gold).unwrap();
        // 0.75 is the largest ratio that keeps both pairs whole (0.4/0.5 = 0.8,
        // 0.35/0.45 ≈ 0.78) and leaves 2 alone (0.3/0.6 = 0.5).
        assert!((rule.ratio - 0.75).abs() < 1e-6, "{rule:?}");
        assert!((rule.sample_f1 - 1.0).abs() < 1e-12);
        assert!((rule.single_sample_f1 - (2.0 / 3.0 + 2.0 / 3.0 + 1.0) / 3.0).abs() < 1e-12);
        assert_eq!((rule.answers, rule.several), (3, 2));
        assert_eq!(rule.part_ratio, None);
    }

    #[test]
    fn calibrates_the_part_ratio_when_parts_name_the_second_code() {
        // The answers' own scores do not tell the second code; their parts do.
        let oof = vec![
            Some(vec![0.9, 0.05, 0.05]),
            Some(vec![0.05, 0.9, 0.05]),
            Some(vec![0.05, 0.05, 0.9]),
        ];
        let parts = vec![
            vec![(0, 0.9), (2, 0.6)],
            vec![(1, 0.8)],
            vec![(2, 0.9), (0, 0.2)],
        ];
        let gold = vec![vec![0, 2], vec![1], vec![2]];
        let rule = calibrate(&oof, &parts, &gold).unwrap();
        assert_eq!(rule.part_ratio, Some(0.65), "{rule:?}");
        assert!((rule.sample_f1 - 1.0).abs() < 1e-12);
        assert_eq!(
            answer_codes(&[0.9, 0.05, 0.05], rule.ratio, &parts[0], rule.part_ratio),
            vec![0, 2]
        );
    }

    #[test]
    fn no_rule_without_answers_of_several_codes() {
        assert_eq!(calibrate(&[Some(vec![0.9, 0.1])], &[], &[vec![0]]), None);
        assert_eq!(calibrate(&[None], &[], &[vec![0, 1]]), None);
    }
}
