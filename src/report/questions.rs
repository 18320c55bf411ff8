//! The index page's model of a survey folder, built from each question's run read back: its
//! table is the question's frequency table ([`super::tables`]) row for row.

use std::path::Path;

use super::html::{IndexRow, QuestionSection, SurveyIndex};
use super::page::{base_text, status_counts};
use super::tables::{apply_frequencies, discover_frequencies, Frequencies, RowKind};
use crate::rundir::{QuestionEntry, Run, SurveyRun};

/// A question's frequency table, as its frequencies.csv has it.
pub fn question_frequencies(run: &Run) -> Frequencies {
    match run {
        Run::Discover(r) => discover_frequencies(&r.discovery),
        Run::Apply(r) => apply_frequencies(&r.application),
    }
}

/// The index page of a survey folder; `has_page` tells, per question, whether its own page
/// was written.
pub fn survey_index(s: &SurveyRun, has_page: &[bool]) -> SurveyIndex {
    let input = s
        .manifest
        .parameters
        .get("input")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let source = Path::new(input)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let questions: Vec<QuestionSection> = s
        .questions
        .iter()
        .enumerate()
        .map(|(i, (e, run))| section(e, run, has_page.get(i).copied().unwrap_or(false)))
        .collect();
    let n = questions.len();
    SurveyIndex {
        title: format!(
            "{source}: {n} open question{}",
            if n == 1 { "" } else { "s" }
        ),
        source,
        generated_by: format!("codeframe {}", s.manifest.version),
        rows_total: questions.iter().map(|q| q.rows_total).max().unwrap_or(0),
        questions,
    }
}

fn section(e: &QuestionEntry, run: &Run, has_page: bool) -> QuestionSection {
    let f = question_frequencies(run);
    let statuses = match run {
        Run::Discover(r) => status_counts(r.discovery.assignments.iter().map(|a| &a.status)),
        Run::Apply(r) => status_counts(r.application.rows.iter().map(|a| &a.status)),
    };
    QuestionSection {
        column: e.column.clone(),
        text: e.text.clone(),
        folder: e.folder.clone(),
        base: base_text(&f),
        status_counts: statuses,
        rows_total: f.rows_total,
        rows: f
            .rows
            .iter()
            .map(|r| IndexRow {
                name: r.name.clone(),
                count: r.count,
                share: r.share,
                status: matches!(r.kind, RowKind::Status(_)),
            })
            .collect(),
        has_page,
    }
}
