//! Several open questions of one survey file: each `--text-column` becomes a run of its own,
//! written into a sub-folder of `--out` named after the column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{column_options, ApplySettings, Checked, DiscoverSettings, FitSettings};
use crate::cli::{ApplyArgs, DiscoverArgs, FitArgs};
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
        let survey = Survey {
            columns,
            question: a.question.as_deref(),
            input: &a.input,
            out: &a.out,
            report: a.report,
        };
        survey
            .runs(|column, _| DiscoverSettings::for_column(a, column_options(&a.columns, column)))
            .map(DiscoverPlan::Questions)
    }
}

/// Settings that can be one question's part of a survey run.
trait SurveyPart {
    /// Points the run at its sub-folder: no page of its own (the survey run writes them) and
    /// blank cells counted as not answered.
    fn make_part(&mut self, out: PathBuf);
}

impl SurveyPart for DiscoverSettings {
    fn make_part(&mut self, out: PathBuf) {
        self.out = out;
        self.report = false;
        self.blanks_not_answered = true;
    }
}

impl SurveyPart for ApplySettings {
    fn make_part(&mut self, out: PathBuf) {
        self.out = out;
        self.report = false;
        self.blanks_not_answered = true;
    }
}

/// The flags every survey run shares.
struct Survey<'a> {
    columns: &'a [String],
    question: Option<&'a str>,
    input: &'a Path,
    out: &'a Path,
    report: bool,
}

impl Survey<'_> {
    /// `--question` names one frame question: no use with several columns.
    fn refuse_question(&self) -> Checked<()> {
        match self.question {
            Some(_) => Err(InputError::flag(
                "--question names one frame question, but several --text-column were given",
                "leave out --question: each column is coded with the frame question whose id is \
                 the column's name (e.g. columns q7 and q8)",
            )),
            None => Ok(()),
        }
    }

    /// Refuses `--question`, names the folders and builds each question's settings with
    /// `make(column, folder)`, pointed at its sub-folder.
    fn runs<S: SurveyPart>(
        &self,
        mut make: impl FnMut(&str, &str) -> Checked<S>,
    ) -> Checked<QuestionRuns<S>> {
        self.refuse_question()?;
        let folders = folder_names(self.columns)?;
        let mut questions = Vec::with_capacity(self.columns.len());
        for (column, folder) in self.columns.iter().zip(folders) {
            let mut settings = make(column, &folder)?;
            let out = self.out.join(&folder);
            // A question folder may hold a review store too; it is never replaced unasked.
            rundir::check_out_dir(&out, &[self.input])?;
            settings.make_part(out);
            questions.push(QuestionRun {
                column: column.clone(),
                folder,
                settings,
            });
        }
        Ok(QuestionRuns {
            out: self.out.to_path_buf(),
            questions,
            report: self.report,
        })
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
        let survey = Survey {
            columns,
            question: a.question.as_deref(),
            input: &a.input,
            out: &a.out,
            report: a.report,
        };
        survey.refuse_question()?;
        let earlier = match &a.previous {
            Some(p) => Some(earlier_survey(p)?),
            None => None,
        };
        survey
            .runs(|column, folder| {
                let frame = question_frame(&a.frame, folder)?;
                let previous = match &earlier {
                    Some((dir, folders)) => Some(previous_question(dir, folders, folder, column)?),
                    None => None,
                };
                let options = column_options(&a.columns, column);
                ApplySettings::for_question(a, options, &frame, previous.as_deref())
            })
            .map(ApplyPlan::Questions)
    }
}

/// What `codeframe fit` runs: one question, or several of one survey file, each with its own
/// label column, written as `DIR/FOLDER.json` (the frames folder apply takes).
#[derive(Debug, Clone)]
pub enum FitPlan {
    /// One `--text-column`.
    One(Box<FitSettings>),
    /// Several: the frames folder and each question's settings.
    Questions {
        /// The frames folder.
        out: PathBuf,
        /// The questions, in the order given.
        questions: Vec<QuestionRun<FitSettings>>,
    },
}

impl FitPlan {
    /// Checks every flag; touches no model and reads no data. Each `--text-column` pairs with
    /// the `--label-column` in the same place; with `--frame`, each question is the frame
    /// question named after its folder.
    pub fn from_args(a: &FitArgs) -> Checked<Self> {
        let columns = &a.columns.text_column;
        if columns.len() < 2 {
            return FitSettings::from_args(a).map(|s| FitPlan::One(Box::new(s)));
        }
        let survey = Survey {
            columns,
            question: a.question.as_deref(),
            input: &a.input,
            out: &a.out,
            report: false,
        };
        survey.refuse_question()?;
        if a.label_column.len() != columns.len() {
            return Err(InputError::flag(
                format!(
                    "{} --text-column but {} --label-column were given",
                    columns.len(),
                    a.label_column.len()
                ),
                "pass one --label-column per --text-column, in the same order",
            ));
        }
        if a.out.extension().is_some_and(|e| e == "json") {
            return Err(InputError::flag(
                format!(
                    "--out {} names one frame file, but several questions are fitted",
                    a.out.display()
                ),
                "pass a folder (e.g. --out frames): each question's frame is written as \
                 frames/q7.json, the frames folder apply takes",
            ));
        }
        let folders = folder_names(columns)?;
        let mut questions = Vec::with_capacity(columns.len());
        for ((column, label), folder) in columns.iter().zip(&a.label_column).zip(folders) {
            let out = a.out.join(format!("{folder}.json"));
            let question = a.frame.as_ref().map(|_| folder.clone());
            let options = column_options(&a.columns, column);
            let settings = FitSettings::for_question(a, options, label, question, &out)?;
            questions.push(QuestionRun {
                column: column.clone(),
                folder,
                settings,
            });
        }
        Ok(FitPlan::Questions {
            out: a.out.clone(),
            questions,
        })
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
