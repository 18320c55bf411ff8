//! Several open questions of one survey file: each `--text-column` becomes a run of its own,
//! written into a sub-folder of `--out` named after the column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{column_options, ApplySettings, Checked, DiscoverSettings};
use crate::cli::{ApplyArgs, DiscoverArgs};
use crate::error::InputError;
use crate::rundir;

/// One question's run within a survey run.
#[derive(Debug, Clone)]
pub struct QuestionRun<S> {
    /// The answers column, as given.
    pub column: String,
    /// Its sub-folder of the survey folder ([`folder_name`]).
    pub folder: String,
    /// The question's checked settings; their output folder is the sub-folder.
    pub settings: S,
}

/// Checked settings of a run over several questions of one file.
#[derive(Debug, Clone)]
pub struct QuestionRuns<S> {
    /// The survey folder: one sub-folder per question, a summary and an index page.
    pub out: PathBuf,
    /// The questions, in the order given.
    pub questions: Vec<QuestionRun<S>>,
    /// Also write each question's page and the index page.
    pub report: bool,
}

/// What `codeframe discover` runs: one question, or several of one survey file.
#[derive(Debug, Clone)]
pub enum DiscoverPlan {
    /// One `--text-column`.
    One(Box<DiscoverSettings>),
    /// Several `--text-column`s.
    Questions(QuestionRuns<DiscoverSettings>),
}

impl DiscoverPlan {
    /// Checks every flag; touches no model and reads no data.
    pub fn from_args(a: &DiscoverArgs) -> Checked<Self> {
        let columns = &a.columns.text_column;
        if columns.len() < 2 {
            return DiscoverSettings::from_args(a).map(|s| DiscoverPlan::One(Box::new(s)));
        }
        if a.question.is_some() {
            return Err(InputError::flag(
                "--question names one frame question, but several --text-column were given",
                "leave out --question: each column is coded with the frame question whose id is \
                 the column's name (e.g. columns q7 and q8)",
            ));
        }
        let folders = folder_names(columns)?;
        let mut questions = Vec::with_capacity(columns.len());
        for (column, folder) in columns.iter().zip(folders) {
            let mut settings = DiscoverSettings::for_column(a, column_options(&a.columns, column))?;
            settings.out = a.out.join(&folder);
            // A question folder may hold a review store too; it is never replaced unasked.
            rundir::check_out_dir(&settings.out, &[a.input.as_path()])?;
            settings.report = false;
            settings.blanks_not_answered = true;
            questions.push(QuestionRun {
                column: column.clone(),
                folder,
                settings,
            });
        }
        Ok(DiscoverPlan::Questions(QuestionRuns {
            out: a.out.clone(),
            questions,
            report: a.report,
        }))
    }
}

/// What `codeframe apply` runs: one question, or several of one survey file.
#[derive(Debug, Clone)]
pub enum ApplyPlan {
    /// One `--text-column`.
    One(Box<ApplySettings>),
    /// Several `--text-column`s.
    Questions(QuestionRuns<ApplySettings>),
}

impl ApplyPlan {
    /// Checks every flag; touches no model and reads no data. With several questions the
    /// frame is a `.toml` frame (each column coded zero-shot with the frame question of its
    /// name) or a folder with one learned frame per question, `FOLDER.json`; `--previous` is an
    /// earlier survey folder of apply.
    pub fn from_args(a: &ApplyArgs) -> Checked<Self> {
        let columns = &a.columns.text_column;
        if columns.len() < 2 {
            return ApplySettings::from_args(a).map(|s| ApplyPlan::One(Box::new(s)));
        }
        if a.question.is_some() {
            return Err(InputError::flag(
                "--question names one frame question, but several --text-column were given",
                "leave out --question: each column is coded with the frame question whose id is \
                 the column's name (e.g. columns q7 and q8)",
            ));
        }
        let folders = folder_names(columns)?;
        let earlier = match &a.previous {
            Some(p) => Some(earlier_survey(p)?),
            None => None,
        };
        let mut questions = Vec::with_capacity(columns.len());
        for (column, folder) in columns.iter().zip(folders) {
            let frame = question_frame(&a.frame, &folder)?;
            let previous = match &earlier {
                Some((dir, folders)) => Some(previous_question(dir, folders, &folder, column)?),
                None => None,
            };
            let options = column_options(&a.columns, column);
            let mut settings =
                ApplySettings::for_question(a, options, &frame, previous.as_deref())?;
            settings.out = a.out.join(&folder);
            rundir::check_out_dir(&settings.out, &[a.input.as_path()])?;
            settings.report = false;
            settings.blanks_not_answered = true;
            questions.push(QuestionRun {
                column: column.clone(),
                folder,
                settings,
            });
        }
        Ok(ApplyPlan::Questions(QuestionRuns {
            out: a.out.clone(),
            questions,
            report: a.report,
        }))
    }
}

/// The frame of one question: the `.toml` frame itself, or `FOLDER.json` in a folder of
/// learned frames.
fn question_frame(frame: &Path, folder: &str) -> Checked<PathBuf> {
    if frame.is_dir() {
        let f = frame.join(format!("{folder}.json"));
        if !f.is_file() {
            return Err(InputError::file(
                &f,
                None,
                format!("no learned frame for question {folder} in the frames folder"),
                format!(
                    "write it with `codeframe fit … --out {}`, or pass a .toml frame",
                    f.display()
                ),
            ));
        }
        return Ok(f);
    }
    let toml = frame
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    if frame.is_file() && !toml {
        return Err(InputError::file(
            frame,
            None,
            "a learned frame codes one question, but several --text-column were given",
            "pass a folder holding one learned frame per question (q7.json, q8.json), or a \
             .toml frame",
        ));
    }
    Ok(frame.to_path_buf())
}

/// An earlier survey folder of apply, with its questions' folders.
fn earlier_survey(dir: &Path) -> Checked<(PathBuf, Vec<String>)> {
    match rundir::survey_questions(dir) {
        Some(q) => Ok((dir.to_path_buf(), q.into_iter().map(|e| e.folder).collect())),
        None => Err(InputError::file(
            dir,
            None,
            "not the folder of an earlier apply over several questions",
            "pass the --out folder of the previous wave's apply with the same --text-column \
             flags to --previous",
        )),
    }
}

/// The previous wave's folder of one question.
fn previous_question(
    dir: &Path,
    folders: &[String],
    folder: &str,
    column: &str,
) -> Checked<PathBuf> {
    if folders.iter().any(|f| f == folder) {
        return Ok(dir.join(folder));
    }
    Err(InputError::file(
        dir,
        None,
        format!(
            "the previous wave has no question {column} (its folders: {})",
            folders.join(", ")
        ),
        "leave out --previous, or code the question on its own",
    ))
}

/// A column's sub-folder: lower case letters and digits, other runs of characters as one `-`
/// (`Q7 topics` → `q7-topics`); `question` when nothing is left.
pub fn folder_name(column: &str) -> String {
    let mut out = String::new();
    for ch in column.trim().chars().flat_map(char::to_lowercase) {
        if ch.is_alphanumeric() && ch.is_ascii() {
            out.push(ch);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "question".to_string()
    } else {
        out
    }
}

/// Each column's sub-folder; refuses a column given twice or two columns that would share a
/// folder.
fn folder_names(columns: &[String]) -> Checked<Vec<String>> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    let mut out = Vec::with_capacity(columns.len());
    for c in columns {
        let folder = folder_name(c);
        if let Some(first) = seen.insert(folder.clone(), c) {
            let problem = if first.trim() == c.trim() {
                format!("--text-column {c} was given twice")
            } else {
                format!("--text-column {first} and {c} would both be written to the sub-folder {folder}")
            };
            return Err(InputError::flag(
                problem,
                "give each question's column once; rename a column whose name differs from \
                 another only in case or punctuation",
            ));
        }
        out.push(folder);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_named_after_columns() {
        assert_eq!(folder_name("q7"), "q7");
        assert_eq!(folder_name(" Q7: topics (open) "), "q7-topics-open");
        assert_eq!(folder_name("Thème"), "th-me");
        assert_eq!(folder_name("***"), "question");
        assert_eq!(folder_name("../etc"), "etc");
    }

    #[test]
    fn a_column_twice_or_two_columns_in_one_folder_are_refused() {
        let cols = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(folder_names(&cols(&["q7", "q8"])).unwrap(), ["q7", "q8"]);
        let twice = folder_names(&cols(&["q7", "q7"])).unwrap_err();
        assert!(twice.problem.contains("given twice"), "{}", twice.problem);
        let clash = folder_names(&cols(&["Q 7", "q-7"])).unwrap_err();
        assert!(
            clash.problem.contains("sub-folder q-7"),
            "{}",
            clash.problem
        );
    }
}
