//! `codeframe evaluate`: predictions and human codes in, joined by id; every score out.

use crate::cli::EvalMode;
use crate::config::EvaluateSettings;
use crate::error::{InputError, Result};
use crate::evaluate::join::{
    join, label_overlap, JoinColumns, Joined, LabelOverlap, NO_PREDICTION,
};
use crate::evaluate::{render_text, split_codes, EvalError, EvalReport, Evaluation, MultiScores};
use crate::fsio;
use crate::manifest::Manifest;
use crate::progress::Progress;
use crate::report;
use crate::rundir;

/// Reads both files (codeframe's own CSV files as written), joins, scores, writes the JSON.
pub fn run(s: &EvaluateSettings, progress: &Progress) -> Result<Evaluation> {
    let pred = rundir::read_table(&s.pred)?;
    let gold = rundir::read_table(&s.gold)?;
    for w in pred.warnings.iter().chain(&gold.warnings) {
        progress.warn(w);
    }
    let cols = JoinColumns {
        pred_id: pred.column(&s.id_column, "--id-column")?,
        pred_label: pred.column(&s.pred_column, "--pred-column")?,
        gold_id: gold.column(&s.id_column, "--id-column")?,
        gold_label: gold.column(&s.gold_column, "--gold-column")?,
    };
    let mut joined = join(&pred, &gold, cols)?;
    let multi = (s.mode == EvalMode::Multi)
        .then(|| multi_scores(&mut joined))
        .transpose()
        .map_err(|e| InputError::file(&s.gold, None, e.to_string(), "check the label columns"))?;
    let overlap = label_overlap(&joined);
    let (codes, mode_reason) = mode(s.mode, &overlap);
    let p: Vec<&str> = joined.pred.iter().map(String::as_str).collect();
    let g: Vec<&str> = joined.gold.iter().map(String::as_str).collect();
    let scores = if codes {
        EvalReport::for_codes(&p, &g)
    } else {
        EvalReport::for_clusters(&p, &g)
    }
    .map_err(|e| InputError::file(&s.gold, None, e.to_string(), "check the label columns"))?;
    let mut manifest = Manifest::new("evaluate");
    manifest
        .input(&s.pred, &pred.sha256)
        .input(&s.gold, &gold.sha256)
        .param("pred_column", s.pred_column.as_str())
        .param("gold_column", s.gold_column.as_str())
        .param("id_column", s.id_column.as_str())
        .param("mode", format!("{:?}", s.mode).to_lowercase());
    if let Some(out) = &s.out {
        manifest.outputs.push(out.display().to_string());
    }
    let evaluation = Evaluation {
        manifest,
        mode: match (&multi, codes) {
            (Some(_), _) => "multi",
            (None, true) => "codes",
            (None, false) => "groups",
        },
        mode_reason,
        unknown_labels: overlap.unknown.clone(),
        n: joined.ids.len(),
        gold_uncoded: joined.gold_uncoded,
        pred_without_gold: joined.pred_without_gold,
        report: scores,
        multi,
    };
    let json = report::json("evaluation", &evaluation)?;
    match &s.out {
        Some(out) => fsio::write_output(out, &json)?,
        None => fsio::write_stdout(&json)?,
    }
    progress.say(format!(
        "evaluate: {} answers scored as {} ({} gold rows uncoded, {} predictions without gold)",
        evaluation.n, evaluation.mode, evaluation.gold_uncoded, evaluation.pred_without_gold
    ));
    progress.say(format!("evaluate: mode: {}", evaluation.mode_reason));
    if let Some(line) = unknown_line(&overlap) {
        progress.say(line);
    }
    progress.say(render_text(&evaluation.report));
    if let Some(m) = &evaluation.multi {
        progress.say(format!(
            "evaluate: every code of each answer\n{}",
            m.render_text()
        ));
    }
    Ok(evaluation)
}

/// The multi-code scores; leaves each answer's first code in `joined` for the other scores.
fn multi_scores(joined: &mut Joined) -> std::result::Result<MultiScores, EvalError> {
    let sets = |cells: &[String]| -> Vec<Vec<String>> {
        cells
            .iter()
            .map(|c| match c.as_str() {
                NO_PREDICTION => Vec::new(),
                c => split_codes(c),
            })
            .collect()
    };
    let (pred, gold) = (sets(&joined.pred), sets(&joined.gold));
    let scores = MultiScores::new(&pred, &gold)?;
    let first = |v: &[Vec<String>]| -> Vec<String> {
        v.iter()
            .map(|c| {
                c.first()
                    .cloned()
                    .unwrap_or_else(|| NO_PREDICTION.to_string())
            })
            .collect()
    };
    joined.pred = first(&pred);
    joined.gold = first(&gold);
    Ok(scores)
}

/// Codes or groups, and why.
fn mode(asked: EvalMode, overlap: &LabelOverlap) -> (bool, String) {
    match asked {
        EvalMode::Codes => (true, "--mode codes".to_string()),
        EvalMode::Multi => (
            true,
            "--mode multi: every code of each answer, and each answer's first code as codes"
                .to_string(),
        ),
        EvalMode::Groups => (false, "--mode groups".to_string()),
        EvalMode::Auto => {
            let codes = overlap.mostly_codes();
            let verdict = if codes {
                "scored as codes (at least half are)"
            } else {
                "scored as groups (fewer than half are; pass --mode codes to score them as codes)"
            };
            (
                codes,
                format!(
                    "{} of {} predictions ({:.1}%) are gold labels, so they are {verdict}",
                    overlap.gold_labels,
                    overlap.predicted,
                    100.0 * overlap.share()
                ),
            )
        }
    }
}

/// The predicted labels that are not gold labels, the ten most frequent first.
fn unknown_line(overlap: &LabelOverlap) -> Option<String> {
    if overlap.unknown.is_empty() {
        return None;
    }
    let shown: Vec<String> = overlap
        .unknown
        .iter()
        .take(10)
        .map(|(l, n)| format!("\"{l}\" ({n})"))
        .collect();
    let more = overlap.unknown.len().saturating_sub(10);
    Some(format!(
        "evaluate: predicted labels that are not gold labels: {}{}",
        shown.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    ))
}
