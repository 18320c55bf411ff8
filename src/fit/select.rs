//! Model selection: cross-validate candidates, keep the best, refit it.
//!
//! Every candidate sees the same folds (same seed), so the comparison is
//! paired. The winner has the highest Cohen's kappa against the coders — the
//! agreement an analyst checks a machine coder by; macro-F1 can favour a
//! model that gets rare codes right and common ones wrong, far behind on
//! kappa. Ties go to the higher macro-F1, then to the earlier candidate, so
//! listing simpler models first prefers them.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::classifier::{Classifier, ClassifierSpec};
use super::cv::{cross_validate, CvResult};
use super::threshold::{accuracy_at_coverage, ThresholdRule, Thresholds};
use super::{FitError, Training};

/// Coverage at which [`CandidateReport::accuracy_at_80`] is measured.
const REPORT_COVERAGE: f64 = 0.8;

/// Cross-validated figures of one candidate.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CandidateReport {
    pub spec: ClassifierSpec,
    pub name: String,
    pub folds: usize,
    /// Answers with an out-of-fold prediction.
    pub evaluated: usize,
    pub accuracy: Option<f64>,
    pub macro_f1: Option<f64>,
    pub kappa: Option<f64>,
    /// Accuracy of the 80 % most confident out-of-fold answers.
    pub accuracy_at_80: Option<f64>,
}

/// Outcome of [`select`]: the report, the refitted winner, its
/// cross-validation and thresholds calibrated on it with the default rule.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Selection {
    /// Index of the winner in `candidates`.
    pub best: usize,
    pub candidates: Vec<CandidateReport>,
    /// The winner refitted on all answers.
    pub classifier: Classifier,
    /// The winner's cross-validation (out-of-fold predictions included, for
    /// recalibrating with another [`ThresholdRule`]).
    pub cv: CvResult,
    pub thresholds: Thresholds,
}

fn report(cv: &CvResult) -> CandidateReport {
    CandidateReport {
        spec: cv.spec.clone(),
        name: cv.spec.name(),
        folds: cv.folds,
        evaluated: cv.oof.len(),
        accuracy: cv.metrics.accuracy,
        macro_f1: cv.metrics.macro_f1,
        kappa: cv.metrics.kappa,
        accuracy_at_80: accuracy_at_coverage(&cv.oof, REPORT_COVERAGE).map(|p| p.accuracy),
    }
}

/// Ranking key: (kappa, macro-F1), undefined lowest.
fn key(r: &CandidateReport) -> (f64, f64) {
    (
        r.kappa.unwrap_or(f64::NEG_INFINITY),
        r.macro_f1.unwrap_or(f64::NEG_INFINITY),
    )
}

/// Cross-validates each candidate on the same folds, picks the best (see the
/// module docs) and refits it on all of `t`.
pub fn select(
    t: &Training,
    candidates: &[ClassifierSpec],
    folds: usize,
    seed: u64,
) -> Result<Selection, FitError> {
    select_observed(t, candidates, folds, seed, &mut |_, _, _| {})
}

/// [`select`], calling `observe(index, report, wall_time)` after each
/// candidate's cross-validation. Timing stays out of the returned value so
/// that it is a pure function of the inputs.
pub fn select_observed(
    t: &Training,
    candidates: &[ClassifierSpec],
    folds: usize,
    seed: u64,
    observe: &mut dyn FnMut(usize, &CandidateReport, Duration),
) -> Result<Selection, FitError> {
    if candidates.is_empty() {
        return Err(FitError::NoCandidates);
    }
    let mut reports = Vec::with_capacity(candidates.len());
    let mut best: Option<(usize, CvResult)> = None;
    for (i, spec) in candidates.iter().enumerate() {
        let start = Instant::now();
        let cv = cross_validate(t, spec, folds, seed)?;
        let r = report(&cv);
        observe(i, &r, start.elapsed());
        let better = match &best {
            None => true,
            Some((b, _)) => key(&r) > key(&reports[*b]),
        };
        reports.push(r);
        if better {
            best = Some((i, cv));
        }
    }
    let (best, cv) = best.ok_or(FitError::NoCandidates)?;
    let classifier = candidates[best].fit(t)?;
    let thresholds = Thresholds::calibrate(&cv.oof, t.n_codes, ThresholdRule::default())?;
    Ok(Selection {
        best,
        candidates: reports,
        classifier,
        cv,
        thresholds,
    })
}
