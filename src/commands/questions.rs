//! Several open questions of one survey file in one run: each question is run into a
//! sub-folder of the survey folder named after its column, then summary.csv stacks their
//! frequency tables; the whole folder is written in one step.

use std::path::{Path, PathBuf};

use super::{apply, discover, report, BuildEmbedder};
use crate::config::{ApplySettings, DiscoverSettings, QuestionRuns, ReportSettings};
use crate::error::{InputError, Result};
use crate::frame::Frame;
use crate::manifest::Manifest;
use crate::progress::Progress;
use crate::report::tables::{apply_frequencies, discover_frequencies, Frequencies};
use crate::rundir::{self, QuestionEntry, Staging, MANIFEST, QUESTIONS_SUMMARY};

/// What the survey run needs of one question's settings.
trait Question: Clone {
    /// The answers file.
    fn input(&self) -> &Path;
    /// The `.toml` frame whose questions the columns are matched with, if any.
    fn code_frame(&self) -> Option<&Path>;
    /// Sets the question's folder and its frame question.
    fn place(&mut self, out: PathBuf, question: Option<String>);
    /// The seed of the question's random steps.
    fn seed(&self) -> u64;
}

impl Question for DiscoverSettings {
    fn input(&self) -> &Path {
        &self.input
    }
    fn code_frame(&self) -> Option<&Path> {
        self.frame.as_deref()
    }
    fn place(&mut self, out: PathBuf, question: Option<String>) {
        self.out = out;
        self.question = question;
    }
    fn seed(&self) -> u64 {
        self.cluster.seed
    }
}

impl Question for ApplySettings {
    fn input(&self) -> &Path {
        &self.input
    }
    fn code_frame(&self) -> Option<&Path> {
        let toml = self
            .frame
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        toml.then_some(self.frame.as_path())
    }
    fn place(&mut self, out: PathBuf, question: Option<String>) {
        self.out = out;
        self.question = question;
    }
    fn seed(&self) -> u64 {
        self.seed
    }
}

/// Runs discover on every question, writes the survey folder, and its pages when asked.
pub fn discover_all(
    s: &QuestionRuns<DiscoverSettings>,
    build: BuildEmbedder,
    progress: &Progress,
) -> Result<()> {
    run_all(s, "discover", progress, |settings| {
        discover::run(settings, build, progress).map(|d| discover_frequencies(&d))
    })
}

/// Runs apply on every question, writes the survey folder, and its pages when asked.
pub fn apply_all(
    s: &QuestionRuns<ApplySettings>,
    build: BuildEmbedder,
    progress: &Progress,
) -> Result<()> {
    run_all(s, "apply", progress, |settings| {
        apply::run(settings, build, progress).map(|a| apply_frequencies(&a))
    })
}

/// Checks every question's column and frame question, runs each into the staging folder,
/// stacks their tables, commits the folder, writes the pages.
fn run_all<S: Question>(
    s: &QuestionRuns<S>,
    command: &str,
    progress: &Progress,
    mut one: impl FnMut(&S) -> Result<Frequencies>,
) -> Result<()> {
    if let Some(first) = s.questions.first() {
        let table = rundir::read_table(first.settings.input())?;
        let columns: Vec<&str> = s.questions.iter().map(|q| q.column.as_str()).collect();
        crate::ingest::require_columns(&table, &columns, "--text-column")?;
    }
    let entries = frame_questions(s)?;
    let mut stage = Staging::new(&s.out)?;
    let mut tables = Vec::with_capacity(entries.len());
    for (q, e) in s.questions.iter().zip(&entries) {
        let mut settings = q.settings.clone();
        settings.place(stage.sub_dir(&q.folder), e.question.clone());
        progress.say(format!(
            "{command}: question {} (column \"{}\") into {}/",
            tables.len() + 1,
            q.column,
            q.folder
        ));
        tables.push(one(&settings)?);
        stage.carry_sub(&q.folder)?;
        stage.record(&format!("{}/{MANIFEST}", q.folder))?;
    }
    let pairs: Vec<_> = entries.iter().zip(&tables).collect();
    stage.put(QUESTIONS_SUMMARY, &rundir::questions_sheet(&pairs).csv())?;
    stage.commit(manifest(s, command, &entries)?)?;
    progress.say(format!(
        "{command}: wrote {} ({} questions; {} stacks their frequency tables)",
        s.out.display(),
        entries.len(),
        QUESTIONS_SUMMARY
    ));
    if s.report {
        report::run(&ReportSettings::new(&s.out, None)?, progress)?;
    }
    Ok(())
}

/// The survey run's record: the input, the frames, the questions, the seed; each question's
/// own manifest holds the rest.
fn manifest<S: Question>(
    s: &QuestionRuns<S>,
    command: &str,
    entries: &[QuestionEntry],
) -> Result<Manifest> {
    let mut m = Manifest::new(command);
    if let Some(first) = s.questions.first() {
        let input = first.settings.input();
        m.input_file(input)?;
        m.seed = Some(first.settings.seed());
        m.param("input", input.display().to_string());
        if let Some(frame) = first.settings.code_frame() {
            m.input_file(frame)?;
        }
    }
    rundir::record_questions(&mut m, entries);
    Ok(m)
}

/// Each column's frame question: the one whose id is the column's name (case aside). Checked
/// for every question before the first is run.
fn frame_questions<S: Question>(s: &QuestionRuns<S>) -> Result<Vec<QuestionEntry>> {
    let mut out = Vec::with_capacity(s.questions.len());
    for q in &s.questions {
        let (question, text) = match q.settings.code_frame() {
            None => (None, None),
            Some(path) => matching_question(&Frame::read(path)?, path, &q.column)?,
        };
        out.push(QuestionEntry {
            column: q.column.clone(),
            folder: q.folder.clone(),
            question,
            text: text.filter(|t| !t.is_empty()),
        });
    }
    Ok(out)
}

/// The frame question of a column (id and wording); none when the frame has no questions.
fn matching_question(
    f: &Frame,
    path: &Path,
    column: &str,
) -> Result<(Option<String>, Option<String>)> {
    if f.questions.is_empty() {
        return Ok((None, None));
    }
    match f
        .questions
        .iter()
        .find(|fq| fq.id.eq_ignore_ascii_case(column.trim()))
    {
        Some(fq) => Ok((Some(fq.id.clone()), Some(fq.text.clone()))),
        None => {
            let ids: Vec<&str> = f.questions.iter().map(|fq| fq.id.as_str()).collect();
            Err(InputError::file(
                path,
                None,
                format!(
                    "the frame has no question for column \"{column}\" (its questions: {})",
                    ids.join(", ")
                ),
                "name each question's column after its frame question id, or run that question \
                 on its own with --question",
            )
            .into())
        }
    }
}
