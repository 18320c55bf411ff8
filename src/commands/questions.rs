//! Several open questions of one survey file in one run: each question is run into a
//! sub-folder of the survey folder named after its column, then summary.csv stacks their
//! frequency tables; the whole folder is written in one step.

use super::{discover, report, BuildEmbedder};
use crate::config::{DiscoverSettings, QuestionRuns, ReportSettings};
use crate::error::{InputError, Result};
use crate::frame::Frame;
use crate::manifest::Manifest;
use crate::progress::Progress;
use crate::report::tables::discover_frequencies;
use crate::rundir::{self, QuestionEntry, Staging, MANIFEST, QUESTIONS_SUMMARY};

/// Runs discover on every question, writes the survey folder, and its pages when asked.
pub fn discover_all(
    s: &QuestionRuns<DiscoverSettings>,
    build: BuildEmbedder,
    progress: &Progress,
) -> Result<()> {
    if let Some(first) = s.questions.first() {
        let table = rundir::read_table(&first.settings.input)?;
        let columns: Vec<&str> = s.questions.iter().map(|q| q.column.as_str()).collect();
        crate::ingest::require_columns(&table, &columns, "--text-column")?;
    }
    let entries = frame_questions(s)?;
    let mut stage = Staging::new(&s.out)?;
    let mut tables = Vec::with_capacity(entries.len());
    for (q, e) in s.questions.iter().zip(&entries) {
        let mut settings = q.settings.clone();
        settings.out = stage.sub_dir(&q.folder);
        settings.question = e.question.clone();
        progress.say(format!(
            "discover: question {} (column \"{}\") into {}/",
            tables.len() + 1,
            q.column,
            q.folder
        ));
        let d = discover::run(&settings, build, progress)?;
        stage.carry_sub(&q.folder)?;
        stage.record(&format!("{}/{MANIFEST}", q.folder))?;
        tables.push(discover_frequencies(&d));
    }
    let pairs: Vec<_> = entries.iter().zip(&tables).collect();
    stage.put(QUESTIONS_SUMMARY, &rundir::questions_sheet(&pairs).csv())?;
    stage.commit(manifest(s, &entries)?)?;
    progress.say(format!(
        "discover: wrote {} ({} questions; {} stacks their frequency tables)",
        s.out.display(),
        entries.len(),
        QUESTIONS_SUMMARY
    ));
    if s.report {
        report::run(&ReportSettings::new(&s.out, None)?, progress)?;
    }
    Ok(())
}

/// The survey run's record: the input, the questions, the seed; each question's own
/// manifest holds the rest.
fn manifest(s: &QuestionRuns<DiscoverSettings>, entries: &[QuestionEntry]) -> Result<Manifest> {
    let mut m = Manifest::new("discover");
    if let Some(first) = s.questions.first() {
        let input = &first.settings.input;
        m.input_file(input)?;
        m.seed = Some(first.settings.cluster.seed);
        m.param("input", input.display().to_string());
        if let Some(frame) = &first.settings.frame {
            m.input_file(frame)?;
        }
    }
    rundir::record_questions(&mut m, entries);
    Ok(m)
}

/// Each column's frame question: the one whose id is the column's name (case aside). Checked
/// for every question before the first is run.
fn frame_questions(s: &QuestionRuns<DiscoverSettings>) -> Result<Vec<QuestionEntry>> {
    let frame = match s.questions.first().and_then(|q| q.settings.frame.as_ref()) {
        Some(path) => Some((path, Frame::read(path)?)),
        None => None,
    };
    let mut out = Vec::with_capacity(s.questions.len());
    for q in &s.questions {
        let (question, text) = match &frame {
            None => (None, None),
            Some((path, f)) => {
                let found = f
                    .questions
                    .iter()
                    .find(|fq| fq.id.eq_ignore_ascii_case(q.column.trim()));
                match found {
                    Some(fq) => (Some(fq.id.clone()), Some(fq.text.clone())),
                    None if f.questions.is_empty() => (None, None),
                    None => {
                        let ids: Vec<&str> = f.questions.iter().map(|fq| fq.id.as_str()).collect();
                        return Err(InputError::file(
                            path,
                            None,
                            format!(
                                "the frame has no question for column \"{}\" (its questions: {})",
                                q.column,
                                ids.join(", ")
                            ),
                            "name each question's column after its frame question id, or run \
                             that question on its own with --question",
                        )
                        .into());
                    }
                }
            }
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
