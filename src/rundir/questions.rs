//! A survey folder: one run per open question in a sub-folder named after its column, the
//! questions' frequency tables stacked in one summary.csv, and a manifest that lists the
//! questions and the hash of each question's manifest, so a reader can tell that every
//! sub-folder comes from the same survey run.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::stage::earlier_run;
use super::{read_run, Run, MANIFEST};
use crate::error::{InputError, Result};
use crate::manifest::{sha256_hex, Manifest};
use crate::report::tables::Frequencies;
use crate::report::Sheet;

/// The stacked frequency tables of a survey folder.
pub const QUESTIONS_SUMMARY: &str = "summary.csv";

/// The manifest parameter that lists a survey folder's questions.
const QUESTIONS: &str = "questions";

/// One question of a survey folder, as its manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionEntry {
    /// The answers column.
    pub column: String,
    /// Its sub-folder.
    pub folder: String,
    /// The frame question it was coded with, if any.
    pub question: Option<String>,
    /// That question's wording in the frame.
    #[serde(default)]
    pub text: Option<String>,
}

/// Records the questions in a survey folder's manifest.
pub fn record_questions(manifest: &mut Manifest, entries: &[QuestionEntry]) {
    let value = serde_json::to_value(entries).unwrap_or_default();
    manifest.param(QUESTIONS, value);
}

/// The questions of a survey folder's manifest; `None` for a run of one question.
pub fn questions_of(manifest: &Manifest) -> Option<Vec<QuestionEntry>> {
    let value = manifest.parameters.get(QUESTIONS)?;
    serde_json::from_value(value.clone()).ok()
}

/// The questions of the folder, if it is a survey folder.
pub fn survey_questions(dir: &Path) -> Option<Vec<QuestionEntry>> {
    questions_of(&earlier_run(dir)?)
}

/// A survey folder read back: each question's run, checked against the survey's manifest.
#[derive(Debug, Clone)]
pub struct SurveyRun {
    /// Its folder.
    pub dir: PathBuf,
    /// The survey run's record.
    pub manifest: Manifest,
    /// The questions with their runs, in the order given.
    pub questions: Vec<(QuestionEntry, Run)>,
}

/// Reads a survey folder, refusing a question folder written by another run.
pub fn read_survey(dir: &Path) -> Result<SurveyRun> {
    let manifest = earlier_run(dir).ok_or_else(|| {
        InputError::file(
            &dir.join(MANIFEST),
            None,
            "not the manifest of a codeframe run",
            "pass the output folder of `codeframe discover`",
        )
    })?;
    let entries = questions_of(&manifest).unwrap_or_default();
    let mut questions = Vec::with_capacity(entries.len());
    for e in entries {
        let sub = dir.join(&e.folder);
        let rel = format!("{}/{MANIFEST}", e.folder);
        let recorded = manifest.files.get(&rel);
        let actual = std::fs::read(sub.join(MANIFEST))
            .ok()
            .map(|b| sha256_hex(&b));
        if recorded.is_none() || recorded != actual.as_ref() {
            return Err(InputError::file(
                &sub.join(MANIFEST),
                None,
                format!(
                    "question {} of this survey folder is missing or was written by another run",
                    e.column
                ),
                "run discover on the survey file again into this folder",
            )
            .into());
        }
        let run = read_run(&sub)?;
        questions.push((e, run));
    }
    Ok(SurveyRun {
        dir: dir.to_path_buf(),
        manifest,
        questions,
    })
}

/// summary.csv: every question's frequency table as its frequencies.csv has it, row for row,
/// after the question's column, folder, rows and base.
pub fn questions_sheet(tables: &[(&QuestionEntry, &Frequencies)]) -> Sheet {
    let mut header: Vec<String> = ["question", "folder", "rows", "base", "base_n"]
        .iter()
        .map(|h| h.to_string())
        .collect();
    let mut rows = Vec::new();
    for (i, (e, f)) in tables.iter().enumerate() {
        let sheet = f.sheet();
        if i == 0 {
            header.extend(sheet.header.iter().cloned());
        }
        for cells in sheet.rows {
            let mut row = vec![
                e.column.clone(),
                e.folder.clone(),
                f.rows_total.to_string(),
                f.base.to_string(),
                f.base_n.to_string(),
            ];
            row.extend(cells);
            rows.push(row);
        }
    }
    Sheet {
        name: "summary",
        header,
        rows,
    }
}
