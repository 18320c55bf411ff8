//! Confidence thresholds per code, and the coverage/accuracy trade-off.
//!
//! Calibration rule, applied to out-of-fold predictions:
//! - Take the answers predicted as code `c`, ordered by score (highest first).
//!   For each distinct score `t`, the answers scoring `≥ t` have a precision
//!   (share whose human code is `c`) and a support (their number).
//! - The code's threshold is the lowest such `t` whose precision is at least
//!   `target_precision` with support at least `min_support`; the threshold is
//!   that answer's score itself, so applying it to the calibration data
//!   reproduces the precision exactly.
//! - A code predicted fewer than `min_support` times gets the global
//!   threshold: the same rule applied to all predictions pooled.
//! - A code with enough predictions whose precision never reaches the target
//!   gets no threshold ([`ThresholdSource::Unreachable`]): it is never coded
//!   automatically and goes to manual coding.
//!
//! The coverage curve ranks all answers by their top score, regardless of
//! code, which is what a single global confidence cut-off gives.

use serde::{Deserialize, Serialize};

use super::FitError;

/// Out-of-fold prediction for one answer.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct OofPrediction {
    /// Row index in the training set as given.
    pub row: usize,
    /// Human code.
    pub truth: usize,
    pub predicted: usize,
    pub score: f32,
}

/// Parameters of the calibration rule.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct ThresholdRule {
    /// Precision the automatically coded answers must reach (default 0.85).
    pub target_precision: f64,
    /// Fewest answers a threshold may be based on (default 10).
    pub min_support: usize,
}

impl Default for ThresholdRule {
    fn default() -> Self {
        ThresholdRule {
            target_precision: 0.85,
            min_support: 10,
        }
    }
}

/// Where a code's threshold came from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdSource {
    /// Calibrated on this code's own predictions.
    Code,
    /// Too few predictions of this code: the global threshold.
    Global,
    /// Enough predictions, but the target precision is out of reach.
    Unreachable,
    /// Set by hand (e.g. the zero-shot default).
    Fixed,
}

/// Threshold of one code with the calibration figures behind it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CodeThreshold {
    pub code: usize,
    /// Scores `≥ threshold` are coded automatically; `None` = never.
    pub threshold: Option<f32>,
    pub source: ThresholdSource,
    /// Out-of-fold answers predicted as this code.
    pub predicted: usize,
    /// Precision on the calibration data at the threshold.
    pub precision: Option<f64>,
    /// Share of this code's predictions that pass the threshold.
    pub coverage: Option<f64>,
}

/// Per-code thresholds.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// `None` for thresholds set by hand.
    pub rule: Option<ThresholdRule>,
    /// Threshold of all predictions pooled (the fallback for sparse codes).
    pub global: Option<f32>,
    /// One entry per code, indexed by code.
    pub codes: Vec<CodeThreshold>,
}

/// One point of the coverage curve: auto-coding every answer whose score is
/// `≥ threshold` covers `coverage` of the answers with `accuracy`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct CoveragePoint {
    pub coverage: f64,
    pub accuracy: f64,
    pub threshold: f32,
}

/// Result of scanning one ranked group of predictions for a threshold.
struct Scan {
    threshold: Option<f32>,
    precision: Option<f64>,
    passed: usize,
}

/// Predictions ordered by score, highest first (ties: lowest row).
fn ranked<'a>(preds: impl Iterator<Item = &'a OofPrediction>) -> Vec<&'a OofPrediction> {
    let mut v: Vec<&OofPrediction> = preds.collect();
    v.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
    v
}

/// Cumulative (count, correct, score) at the end of each run of equal scores.
fn steps(ranked: &[&OofPrediction]) -> Vec<(usize, usize, f32)> {
    let mut out = Vec::new();
    let mut correct = 0;
    for (i, p) in ranked.iter().enumerate() {
        correct += usize::from(p.truth == p.predicted);
        let last_of_run = ranked.get(i + 1).is_none_or(|q| q.score != p.score);
        if last_of_run {
            out.push((i + 1, correct, p.score));
        }
    }
    out
}

fn scan(ranked: &[&OofPrediction], rule: &ThresholdRule) -> Scan {
    let best = steps(ranked)
        .into_iter()
        .rev()
        .find(|&(n, ok, _)| n >= rule.min_support && ok as f64 / n as f64 >= rule.target_precision);
    match best {
        Some((n, ok, score)) => Scan {
            threshold: Some(score),
            precision: Some(ok as f64 / n as f64),
            passed: n,
        },
        None => Scan {
            threshold: None,
            precision: None,
            passed: 0,
        },
    }
}

impl Thresholds {
    /// Calibrates per-code thresholds on out-of-fold predictions (see the
    /// module docs for the rule).
    pub fn calibrate(
        oof: &[OofPrediction],
        n_codes: usize,
        rule: ThresholdRule,
    ) -> Result<Thresholds, FitError> {
        if !(rule.target_precision > 0.0 && rule.target_precision <= 1.0) {
            return Err(FitError::OutOfUnitRange {
                what: "target precision",
                value: rule.target_precision,
            });
        }
        let global_scan = scan(&ranked(oof.iter()), &rule);
        let global = global_scan.threshold;
        let codes = (0..n_codes)
            .map(|code| {
                let mine = ranked(oof.iter().filter(|p| p.predicted == code));
                let predicted = mine.len();
                if predicted < rule.min_support {
                    // Too little evidence for this code alone: pooled rule,
                    // with its precision on this code where measurable.
                    let passed: Vec<_> = mine
                        .iter()
                        .filter(|p| global.is_some_and(|g| p.score >= g))
                        .collect();
                    let ok = passed.iter().filter(|p| p.truth == code).count();
                    return CodeThreshold {
                        code,
                        threshold: global,
                        source: ThresholdSource::Global,
                        predicted,
                        precision: (!passed.is_empty()).then(|| ok as f64 / passed.len() as f64),
                        coverage: (predicted > 0).then(|| passed.len() as f64 / predicted as f64),
                    };
                }
                let s = scan(&mine, &rule);
                CodeThreshold {
                    code,
                    threshold: s.threshold,
                    source: if s.threshold.is_some() {
                        ThresholdSource::Code
                    } else {
                        ThresholdSource::Unreachable
                    },
                    predicted,
                    precision: s.precision,
                    coverage: Some(s.passed as f64 / predicted as f64),
                }
            })
            .collect();
        Ok(Thresholds {
            rule: Some(rule),
            global,
            codes,
        })
    }

    /// The same threshold for every code (e.g. [`super::ZERO_SHOT_THRESHOLD`]).
    pub fn uniform(n_codes: usize, threshold: f32) -> Thresholds {
        let threshold = threshold.is_finite().then_some(threshold);
        Thresholds {
            rule: None,
            global: threshold,
            codes: (0..n_codes)
                .map(|code| CodeThreshold {
                    code,
                    threshold,
                    source: ThresholdSource::Fixed,
                    predicted: 0,
                    precision: None,
                    coverage: None,
                })
                .collect(),
        }
    }

    /// Threshold of `code`, `None` if it is never coded automatically.
    pub fn get(&self, code: usize) -> Option<f32> {
        self.codes.get(code).and_then(|c| c.threshold)
    }

    /// Whether `score` for `code` is confident enough to code automatically.
    pub fn passes(&self, code: usize, score: f32) -> bool {
        self.get(code).is_some_and(|t| score >= t)
    }
}

/// Coverage and accuracy for every cut-off on the top score, from the
/// highest threshold (lowest coverage) down to full coverage.
pub fn coverage_curve(oof: &[OofPrediction]) -> Vec<CoveragePoint> {
    let n = oof.len() as f64;
    steps(&ranked(oof.iter()))
        .into_iter()
        .map(|(count, ok, threshold)| CoveragePoint {
            coverage: count as f64 / n,
            accuracy: ok as f64 / count as f64,
            threshold,
        })
        .collect()
}

/// Accuracy of the most confident answers covering at least `coverage` of
/// all answers (the first point of [`coverage_curve`] reaching it); `None`
/// for no answers or a coverage outside `(0, 1]`.
pub fn accuracy_at_coverage(oof: &[OofPrediction], coverage: f64) -> Option<CoveragePoint> {
    if !(coverage > 0.0 && coverage <= 1.0) {
        return None;
    }
    // Compare counts, not ratios, so 0.8 of 10 answers is exactly 8.
    let needed = (coverage * oof.len() as f64 - 1e-9).ceil().max(1.0) as usize;
    let n = oof.len();
    steps(&ranked(oof.iter()))
        .into_iter()
        .find(|&(count, _, _)| count >= needed)
        .map(|(count, ok, threshold)| CoveragePoint {
            coverage: count as f64 / n as f64,
            accuracy: ok as f64 / count as f64,
            threshold,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(row: usize, truth: usize, predicted: usize, score: f32) -> OofPrediction {
        OofPrediction {
            row,
            truth,
            predicted,
            score,
        }
    }

    #[test]
    fn code_threshold_is_lowest_meeting_target() {
        // Code 0: ten correct high scores, then wrong ones mixed in lower.
        let mut oof: Vec<_> = (0..10).map(|i| p(i, 0, 0, 0.9 - i as f32 * 0.01)).collect();
        oof.push(p(10, 1, 0, 0.75)); // 10/11 = 0.909
        oof.push(p(11, 0, 0, 0.70)); // 11/12 = 0.917
        oof.push(p(12, 1, 0, 0.65)); // 11/13 = 0.846 < 0.85
        oof.push(p(13, 1, 0, 0.60)); // 11/14
        let rule = ThresholdRule::default();
        let th = Thresholds::calibrate(&oof, 2, rule).unwrap();
        assert_eq!(th.codes[0].threshold, Some(0.70));
        assert_eq!(th.codes[0].source, ThresholdSource::Code);
        assert!((th.codes[0].precision.unwrap() - 11.0 / 12.0).abs() < 1e-12);
        // code 1 is never predicted: global threshold
        assert_eq!(th.codes[1].source, ThresholdSource::Global);
        assert_eq!(th.codes[1].threshold, th.global);
    }

    #[test]
    fn unreachable_target_gives_no_threshold() {
        let oof: Vec<_> = (0..20)
            .map(|i| p(i, i % 2, 0, 1.0 - i as f32 * 0.01))
            .collect();
        let th = Thresholds::calibrate(&oof, 1, ThresholdRule::default()).unwrap();
        assert_eq!(th.codes[0].threshold, None);
        assert_eq!(th.codes[0].source, ThresholdSource::Unreachable);
        assert!(!th.passes(0, 1.0));
    }

    #[test]
    fn tied_scores_move_together() {
        let oof = vec![p(0, 0, 0, 0.5), p(1, 1, 0, 0.5), p(2, 0, 0, 0.9)];
        let curve = coverage_curve(&oof);
        assert_eq!(curve.len(), 2);
        assert_eq!(curve[1].coverage, 1.0);
        assert!((curve[1].accuracy - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn accuracy_at_coverage_picks_first_point_reaching_it() {
        let oof: Vec<_> = (0..10)
            .map(|i| p(i, 0, usize::from(i >= 8), 1.0 - i as f32 * 0.05))
            .collect();
        let at = accuracy_at_coverage(&oof, 0.8).unwrap();
        assert_eq!(at.coverage, 0.8);
        assert_eq!(at.accuracy, 1.0);
        assert_eq!(accuracy_at_coverage(&oof, 1.0).unwrap().accuracy, 0.8);
        assert!(accuracy_at_coverage(&[], 0.8).is_none());
        assert!(accuracy_at_coverage(&oof, 0.0).is_none());
        assert!(coverage_curve(&[]).is_empty());
    }

    #[test]
    fn bad_target_is_an_error() {
        let rule = ThresholdRule {
            target_precision: 1.5,
            min_support: 1,
        };
        assert!(Thresholds::calibrate(&[], 2, rule).is_err());
    }
}
