//! Fitting a frame: which coded answers it learns from, the classifier chosen by
//! cross-validation, the per-code thresholds and the training figures.

use std::collections::BTreeMap;
use std::time::Duration;

use super::learned::{natural_cmp, slug, FrameCode, TrainingSummary};
use super::Frame;
use crate::evaluate::split_codes;
use crate::fit::multi::{self, MultiRule};
use crate::fit::{
    accuracy_at_coverage, select_observed, wilson, CandidateReport, Classifier, ClassifierSpec,
    FitError, OofPrediction, ThresholdRule, Thresholds, Training,
};
use crate::ingest::substantive::{set_aside, SetAside};
use crate::ingest::Answers;

/// The coded answers a frame learns from.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingSet {
    /// The codes: the frame's (in frame order) or the labels seen (sorted).
    pub codes: Vec<FrameCode>,
    /// Rows learned from, in input order.
    pub rows: Vec<usize>,
    /// Code index of each of `rows`: the first code its cell names.
    pub code_of: Vec<usize>,
    /// Further codes of each of `rows` (a cell such as "Recordings; Handbook").
    pub also: Vec<Vec<usize>>,
    /// Rows without a code, left out.
    pub uncoded: usize,
    /// Coded rows that are blank, left out.
    pub empty: usize,
    /// Coded placeholders such as "nothing" (learned from: the coders coded them).
    pub placeholders: usize,
    /// Rows learned from per told language (ISO 639-1).
    pub languages: BTreeMap<String, usize>,
    /// Block of each of `rows` when answers must stay together in cross-validation
    /// (see [`TrainingSet::keep_together`]).
    pub together: Option<Vec<usize>>,
}

impl TrainingSet {
    /// Keeps the rows that share a key (`keys[row]`, one per input row: a respondent id, the id
    /// an answer shares with its translations) in one cross-validation fold, so the figures fit
    /// estimates are not learned from a near-copy of the answer being tested. A blank key
    /// keeps its row on its own. Returns the number of blocks of two rows or more.
    pub fn keep_together(&mut self, keys: &[String]) -> usize {
        let mut block_of: BTreeMap<&str, usize> = BTreeMap::new();
        let mut size: Vec<usize> = Vec::new();
        let blocks = self
            .rows
            .iter()
            .map(|&row| {
                let key = keys.get(row).map(|k| k.trim()).unwrap_or_default();
                let next = size.len();
                let b = if key.is_empty() {
                    next
                } else {
                    *block_of.entry(key).or_insert(next)
                };
                if b == next {
                    size.push(0);
                }
                size[b] += 1;
                b
            })
            .collect();
        self.together = Some(blocks);
        size.iter().filter(|&&n| n >= 2).count()
    }
}

/// Why coded answers cannot train a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrainingError {
    /// A label the frame lacks.
    #[error("the code \"{label}\" is not in the frame")]
    UnknownCode {
        /// The label.
        label: String,
        /// The row's line in the input.
        line: u64,
    },
    /// Fewer than two codes to tell apart.
    #[error("fewer than two codes have substantive answers")]
    TooFewCodes,
}

/// The training set: `labels[i]` is row `i`'s human code ("" = not coded).
pub fn training_set(
    frame: Option<(&Frame, Option<&str>)>,
    answers: &Answers,
    labels: &[String],
) -> Result<TrainingSet, TrainingError> {
    let mut codes: Vec<FrameCode> = match frame {
        Some((f, q)) => f.frame_codes(q),
        None => {
            let mut seen: Vec<String> = labels.iter().flat_map(|l| split_codes(l)).collect();
            seen.sort_by(|a, b| natural_cmp(a, b));
            seen.dedup();
            seen.iter()
                .map(|l| FrameCode {
                    id: slug(l),
                    label: l.to_string(),
                    group: None,
                    description: String::new(),
                    n_train: 0,
                    nonanswers: false,
                })
                .collect()
        }
    };
    let index: BTreeMap<&str, usize> = codes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.label.as_str(), i))
        .collect();
    let mut set = TrainingSet {
        codes: Vec::new(),
        rows: Vec::new(),
        code_of: Vec::new(),
        also: Vec::new(),
        uncoded: 0,
        empty: 0,
        placeholders: 0,
        languages: BTreeMap::new(),
        together: None,
    };
    for (row, a) in answers.rows.iter().enumerate() {
        let label = labels[row].as_str();
        if label.is_empty() {
            set.uncoded += 1;
            continue;
        }
        let mut named = cell_codes(label, &index).map_err(|label| TrainingError::UnknownCode {
            label,
            line: a.line,
        })?;
        let c = named.remove(0);
        match set_aside(&a.text) {
            Some(SetAside::Empty) => {
                set.empty += 1;
                continue;
            }
            // Coders who code answers like "nothing" (e.g. as "no improvement needed") teach
            // the frame to code them too.
            Some(SetAside::NonSubstantive) => set.placeholders += 1,
            None => {}
        }
        if let Some(l) = &a.language {
            *set.languages.entry(l.clone()).or_insert(0) += 1;
        }
        set.rows.push(row);
        set.code_of.push(c);
        set.also.push(named);
    }
    for &c in &set.code_of {
        codes[c].n_train += 1;
    }
    if codes.iter().filter(|c| c.n_train > 0).count() < 2 {
        return Err(TrainingError::TooFewCodes);
    }
    set.codes = codes;
    Ok(set)
}

/// The codes a label cell names: the cell itself when it is a label, else its parts split at
/// ";" (at least one); the unknown label otherwise.
fn cell_codes(cell: &str, index: &BTreeMap<&str, usize>) -> Result<Vec<usize>, String> {
    if let Some(&c) = index.get(cell) {
        return Ok(vec![c]);
    }
    let parts = split_codes(cell);
    if parts.is_empty() {
        return Err(cell.to_string());
    }
    parts
        .iter()
        .map(|p| index.get(p.as_str()).copied().ok_or_else(|| p.clone()))
        .collect()
}

/// How a frame is fitted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    /// Cross-validation folds (at most the number of answers; `usize::MAX`: leave-one-out).
    pub folds: usize,
    /// Precision the automatically coded answers must reach.
    pub target_precision: f64,
    /// Seed of the folds.
    pub seed: u64,
}

/// Answers coded automatically, and of them coded right, when each of `parts` parts of the
/// out-of-fold answers (dealt in turn) is judged by thresholds calibrated on the other parts.
fn cross_fitted(
    oof: &[OofPrediction],
    n_codes: usize,
    rule: ThresholdRule,
    parts: usize,
) -> Result<(usize, usize), FitError> {
    let (mut auto, mut right) = (0, 0);
    for part in 0..parts {
        let others: Vec<OofPrediction> = oof
            .iter()
            .enumerate()
            .filter(|(i, _)| i % parts != part)
            .map(|(_, p)| *p)
            .collect();
        let t = Thresholds::calibrate(&others, n_codes, rule)?;
        for p in oof.iter().skip(part).step_by(parts) {
            if t.passes(p.predicted, p.score) {
                auto += 1;
                right += usize::from(p.predicted == p.truth);
            }
        }
    }
    Ok((auto, right))
}

/// A fitted classifier, its thresholds and its cross-validated figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Learned {
    /// The chosen classifier, refitted on every answer.
    pub classifier: Classifier,
    /// Per-code thresholds at the target precision.
    pub thresholds: Thresholds,
    /// How it did out of fold.
    pub training: TrainingSummary,
    /// Further codes' rule, learned when some answers have several codes.
    pub multi: Option<MultiRule>,
}

/// Cross-validates every candidate classifier on the same folds, keeps the best, calibrates
/// each code's threshold on the out-of-fold answers. `vectors` are the rows' unit vectors;
/// `parts` the answers' parts (the index in `set.rows` of each part's answer, and the parts'
/// vectors), used when some answers have several codes. `observe` sees each candidate's
/// figures and time as they come.
pub fn learn(
    set: &TrainingSet,
    (vectors, dim): (&[f32], usize),
    parts: (&[usize], &[f32]),
    opts: FitOptions,
    observe: &mut dyn FnMut(&CandidateReport, Duration),
) -> Result<Learned, FitError> {
    let training = Training {
        vectors,
        dim,
        labels: &set.code_of,
        n_codes: set.codes.len(),
        together: set.together.as_deref(),
    };
    let folds = opts.folds.min(set.rows.len());
    let candidates = ClassifierSpec::default_candidates();
    let selection = select_observed(&training, &candidates, folds, opts.seed, &mut |_, r, t| {
        observe(r, t)
    })?;
    let rule = ThresholdRule {
        target_precision: opts.target_precision,
        ..ThresholdRule::default()
    };
    let thresholds = Thresholds::calibrate(&selection.cv.oof, set.codes.len(), rule)?;
    let oof = &selection.cv.oof;
    let (n_auto, auto_right) = cross_fitted(oof, set.codes.len(), rule, folds.clamp(2, 10))?;
    let best = &selection.candidates[selection.best];
    let training = TrainingSummary {
        n: set.rows.len(),
        folds: selection.cv.folds,
        chosen: best.name.clone(),
        accuracy: best.accuracy,
        macro_f1: best.macro_f1,
        kappa: best.kappa,
        accuracy_at_80: accuracy_at_coverage(oof, 0.8).map(|p| p.accuracy),
        auto_coded_share: (!oof.is_empty()).then(|| n_auto as f64 / oof.len() as f64),
        auto_coded_accuracy: (n_auto > 0).then(|| auto_right as f64 / n_auto as f64),
        auto_coded_share_ci: wilson(n_auto, oof.len()),
        auto_coded_accuracy_ci: wilson(auto_right, n_auto),
        languages: set.languages.clone(),
        candidates: selection.candidates.clone(),
    };
    let multi = if set.also.iter().any(|a| !a.is_empty()) {
        let spec = &best.spec;
        let view = Training {
            vectors,
            dim,
            labels: &set.code_of,
            n_codes: set.codes.len(),
            together: set.together.as_deref(),
        };
        let (oof, part_best) = multi::oof_scores(&view, spec, (folds, opts.seed), parts)?;
        let gold: Vec<Vec<usize>> = set
            .code_of
            .iter()
            .zip(&set.also)
            .map(|(&c, more)| std::iter::once(c).chain(more.iter().copied()).collect())
            .collect();
        multi::calibrate(&oof, &part_best, &gold)
    } else {
        None
    };
    Ok(Learned {
        classifier: selection.classifier,
        thresholds,
        training,
        multi,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{parse_answers, ReadOptions};
    use std::path::Path;

    fn answers(n: usize) -> Answers {
        let csv: String = std::iter::once("text\n".to_string())
            .chain((0..n).map(|i| format!("answer number {i}\n")))
            .collect();
        parse_answers(
            Path::new("a.csv"),
            csv.as_bytes(),
            &ReadOptions::new("text", None),
        )
        .unwrap()
    }

    #[test]
    fn cells_naming_several_codes_train_on_the_first_and_keep_the_rest() {
        let labels: Vec<String> = ["B; A", "A", "C;B", "", "B"].map(String::from).to_vec();
        let set = training_set(None, &answers(5), &labels).unwrap();
        let names: Vec<&str> = set.codes.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(names, ["A", "B", "C"]);
        assert_eq!(set.code_of, vec![1, 0, 2, 1]);
        assert_eq!(set.also, vec![vec![0], vec![], vec![1], vec![]]);
        assert_eq!(set.uncoded, 1);
    }

    #[test]
    fn an_unknown_part_is_named() {
        let frame = Frame::parse(
            Path::new("f.toml"),
            "[[codes]]\nid='a'\nlabel='A'\n[[codes]]\nid='b'\nlabel='B'\n",
        )
        .unwrap();
        let labels: Vec<String> = ["A", "A; Z"].map(String::from).to_vec();
        let e = training_set(Some((&frame, None)), &answers(2), &labels).unwrap_err();
        assert_eq!(
            e,
            TrainingError::UnknownCode {
                label: "Z".into(),
                line: 3
            }
        );
    }

    #[test]
    fn rows_sharing_a_key_form_one_block_and_blank_keys_stay_alone() {
        let labels: Vec<String> = ["A", "B", "", "A", "B", "A"].map(String::from).to_vec();
        let mut set = training_set(None, &answers(6), &labels).unwrap();
        // Row 2 is uncoded (not learned from); rows 0 and 3 share "s1", row 4's key is blank.
        let keys: Vec<String> = ["s1", "s2", "s2", "s1", " ", "s3"]
            .map(String::from)
            .to_vec();
        assert_eq!(set.keep_together(&keys), 1);
        assert_eq!(set.together, Some(vec![0, 1, 0, 2, 3]));
    }
}
