//! Applying a frame to a wave: every answer's best code and confidence, coded when it passes
//! that code's threshold and suggested otherwise, the counts and the drift against a baseline.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::learned::{FrameCode, LearnedFrame};
use crate::fit::multi::{answer_codes, best_then};
use crate::fit::{drift, Drift, FitError};
use crate::ingest::substantive::{set_aside, SetAside};
use crate::ingest::Answers;
use crate::status::Status;

/// With `--multi` and a frame without a learned rule, further codes need at least this share
/// of the best code's score.
pub const MULTI_RATIO: f32 = 0.9;

/// One row of an apply's assignments.csv.
#[derive(Debug, Clone, PartialEq)]
pub struct Coded {
    /// Row id.
    pub id: String,
    /// Answer text.
    pub text: String,
    /// Best code (index into the frame's codes) for classified answers; for set-aside ones, the
    /// frame's code for non-answers, if any.
    pub code: Option<usize>,
    /// Its score.
    pub confidence: Option<f32>,
    /// Coded, below threshold, in a language the model or the frame does not cover, empty or
    /// non-substantive.
    pub status: Status,
    /// With --multi: the best code first, then the further codes (see [`code_rows`]).
    pub codes: Vec<usize>,
    /// Candidate new code (1-based) of a below-threshold answer.
    pub candidate: Option<usize>,
    /// The answer's language (ISO 639-1), when it could be told.
    pub language: Option<String>,
}

/// A candidate new code: below-threshold answers that group together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateCode {
    /// 1-based, largest first.
    pub candidate: usize,
    /// Answers in it.
    pub size: usize,
    /// Share of the wave's substantive answers.
    pub share: f64,
    /// Class-based TF-IDF keywords.
    pub keywords: Vec<String>,
    /// Most typical answers.
    pub typical: Vec<String>,
    /// The frame code its answers came closest to, and how many of them.
    pub nearest_code: String,
}

/// What apply found, besides the rows (summary.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplySummary {
    /// Rows by status.
    pub status: BTreeMap<Status, usize>,
    /// Coded answers per code label.
    pub coded: BTreeMap<String, usize>,
    /// Answers below threshold per suggested code label.
    pub suggested: BTreeMap<String, usize>,
    /// The frame's codes, in frame order (every code index of the run refers to this list).
    pub codes: Vec<FrameCode>,
    /// Each code's threshold for automatic coding, in frame order (none: never coded
    /// automatically); empty in runs written before it was recorded.
    #[serde(default)]
    pub thresholds: Vec<Option<f32>>,
    /// Candidate new codes.
    pub candidates: Vec<CandidateCode>,
    /// What the drift table compares with: "training" or the previous folder.
    pub drift_baseline: String,
    /// Shares per code against the baseline.
    pub drift: Drift,
}

/// Everything apply produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Application {
    /// Every input row, in input order.
    pub rows: Vec<Coded>,
    /// Counts, codes, candidates and drift.
    pub summary: ApplySummary,
}

/// Whether the frame classifies this answer: substantive ones always, placeholders such as
/// "nothing" when the coders coded them in training, blanks never.
pub fn codable(frame: &LearnedFrame, text: &str) -> bool {
    match set_aside(text) {
        None => true,
        Some(SetAside::NonSubstantive) => frame.codes_placeholders,
        Some(SetAside::Empty) => false,
    }
}

/// Blank answers become `no answer` — in a survey file a blank cell means the respondent did
/// not answer the question — without the frame's code for non-answers.
pub fn blanks_not_answered(rows: &mut [Coded]) {
    for r in rows.iter_mut().filter(|r| r.status == Status::Empty) {
        r.status = Status::NoAnswer;
        r.code = None;
    }
}

/// The best code and its score; ties go to the lowest code.
fn best_code(scores: &[f32]) -> (usize, f32) {
    let mut best = (0usize, f32::NEG_INFINITY);
    for (c, &v) in scores.iter().enumerate() {
        if v > best.1 {
            best = (c, v);
        }
    }
    best
}

/// The parts of the classified answers (`apply --multi`), embedded.
#[derive(Debug, Clone, Copy)]
pub struct Parts<'a> {
    /// For each part, the index into `keep` of its answer.
    pub owner: &'a [usize],
    /// Row-major unit vectors, one per part.
    pub vectors: &'a [f32],
}

/// Codes every row: `keep` are the rows classified, in the order of `vectors` (row-major unit
/// vectors). Each answer is scored on its own, so coding it alone gives the result it gets here.
/// With `multi`, an answer's codes are its best code, then the further codes and parts' codes
/// the frame's learned rule gives ([`answer_codes`]), or else the fixed rule.
pub fn code_rows(
    frame: &LearnedFrame,
    answers: &Answers,
    keep: &[usize],
    vectors: &[f32],
    multi: Option<Parts>,
) -> Result<Vec<Coded>, FitError> {
    // Answers set aside carry the frame's code for non-answers, if it has one; their status
    // still says why they were not classified.
    let nonanswer = frame.codes.iter().position(|c| c.nonanswers);
    let mut rows: Vec<Coded> = answers
        .rows
        .iter()
        .map(|a| Coded {
            id: a.id.clone(),
            text: a.text.clone(),
            code: nonanswer,
            confidence: None,
            status: set_aside(&a.text)
                .map(|r| r.status())
                .unwrap_or(Status::NonSubstantive),
            codes: Vec::new(),
            candidate: None,
            language: a.language.clone(),
        })
        .collect();
    let all_scores = frame.classifier.scores_batch(vectors)?;
    let scored: Vec<(usize, f32)> = all_scores.par_iter().map(|s| best_code(s)).collect();
    let mut codes: Vec<Vec<usize>> = vec![Vec::new(); keep.len()];
    if let Some(parts) = multi {
        let mut of_answer: Vec<Vec<(usize, f32)>> = vec![Vec::new(); keep.len()];
        let part_best = frame.classifier.scores_batch(parts.vectors)?;
        for (&j, s) in parts.owner.iter().zip(&part_best) {
            let Some(list) = of_answer.get_mut(j) else {
                return Err(FitError::Corrupt("a part belongs to no answer"));
            };
            list.push(best_code(s));
        }
        codes = all_scores
            .par_iter()
            .zip(&of_answer)
            .map(|(scores, parts)| match &frame.multi {
                Some(rule) => answer_codes(scores, rule.ratio, parts, rule.part_ratio),
                None => fixed_rule_codes(frame, scores, parts),
            })
            .collect();
    }
    for ((&row, (code, score)), more) in keep.iter().zip(scored).zip(codes) {
        let r = &mut rows[row];
        r.code = Some(code);
        r.confidence = Some(score);
        r.status = if !frame.fitted_on(r.language.as_deref()) {
            Status::NewLanguage
        } else if frame.thresholds.passes(code, score) {
            Status::Coded
        } else {
            Status::BelowThreshold
        };
        r.codes = more;
    }
    Ok(rows)
}

/// The codes of one answer for a frame fitted on one code per answer: the best code, every
/// code that passes its own threshold and comes close to the best score (thresholds are
/// calibrated for the best code, and cosine scores of unrelated codes can pass them too), and
/// each part's best code that passes its threshold.
fn fixed_rule_codes(frame: &LearnedFrame, scores: &[f32], parts: &[(usize, f32)]) -> Vec<usize> {
    let (_, top) = best_code(scores);
    let mut codes = best_then(scores, |c, v| {
        frame.thresholds.passes(c, v) && v >= MULTI_RATIO * top
    });
    for &(c, v) in parts {
        if frame.thresholds.passes(c, v) && !codes.contains(&c) {
            codes.push(c);
        }
    }
    codes
}

/// What the drift table compares the wave with.
#[derive(Debug, Clone, PartialEq)]
pub enum Baseline {
    /// Coded answers per code of an earlier wave, and where they come from.
    Previous {
        /// Counts in frame order.
        counts: Vec<usize>,
        /// The earlier run's folder, as given.
        name: String,
    },
    /// The frame's training answers (none for a zero-shot frame).
    Training,
}

/// Counts, drift and the summary of coded rows.
pub fn summarise(
    frame: &LearnedFrame,
    rows: Vec<Coded>,
    candidates: Vec<CandidateCode>,
    baseline: Baseline,
) -> Result<Application, FitError> {
    let n = frame.codes.len();
    let (mut coded, mut suggested) = (vec![0usize; n], vec![0usize; n]);
    let mut status = BTreeMap::new();
    for r in &rows {
        *status.entry(r.status).or_insert(0) += 1;
        match (r.code, r.status) {
            (Some(c), Status::Coded) => coded[c] += 1,
            (
                Some(c),
                Status::BelowThreshold | Status::UnsupportedLanguage | Status::NewLanguage,
            ) => suggested[c] += 1,
            _ => {}
        }
    }
    let (base, drift_baseline) = match baseline {
        Baseline::Previous { counts, name } => (counts, name),
        Baseline::Training if frame.training.is_some() => (
            frame.codes.iter().map(|c| c.n_train).collect(),
            "training".to_string(),
        ),
        Baseline::Training => (
            vec![0; n],
            "none (a zero-shot frame has no training answers; pass --previous)".to_string(),
        ),
    };
    let drift = drift(&base, &coded)?;
    let by_label = |counts: &[usize]| {
        frame
            .codes
            .iter()
            .zip(counts)
            .map(|(c, &k)| (c.label.clone(), k))
            .collect()
    };
    let summary = ApplySummary {
        status,
        coded: by_label(&coded),
        suggested: by_label(&suggested),
        codes: frame.codes.clone(),
        thresholds: (0..frame.codes.len())
            .map(|c| frame.thresholds.get(c))
            .collect(),
        candidates,
        drift_baseline,
        drift,
    };
    Ok(Application { rows, summary })
}

/// Why an earlier wave cannot serve as the baseline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the code \"{label}\" of an earlier wave is not in this frame")]
pub struct ForeignCode {
    /// The label.
    pub label: String,
    /// Its row in the earlier wave.
    pub row: usize,
}

/// Coded answers per code of this frame in an earlier wave's rows (matched by label).
pub fn previous_counts(
    frame: &LearnedFrame,
    earlier: &Application,
) -> Result<Vec<usize>, ForeignCode> {
    let mut counts = vec![0usize; frame.codes.len()];
    for (row, r) in earlier.rows.iter().enumerate() {
        let Some(c) = r.code.filter(|_| r.status == Status::Coded) else {
            continue;
        };
        let code = &earlier.summary.codes[c];
        match frame.codes.iter().position(|f| f.label == code.label) {
            Some(i) => counts[i] += 1,
            None => {
                return Err(ForeignCode {
                    label: code.label.clone(),
                    row,
                })
            }
        }
    }
    Ok(counts)
}
