//! The output folder of a discover or apply run, as one typed contract: the file names, the
//! writers (every file of a run is written into a staging folder that then replaces the output
//! folder in one step), and typed readers for the report and `--previous`, which check that
//! every file comes from the run `manifest.json` records.

mod questions;
mod read;
mod stage;

use std::path::{Path, PathBuf};

pub use questions::{
    questions_of, questions_sheet, read_survey, record_questions, survey_questions, QuestionEntry,
    SurveyRun, QUESTIONS_SUMMARY,
};
pub use read::{read_attachments, read_run, read_table, ApplyRun, DiscoverRun, Run};
pub use stage::{published, Staging};

use crate::describe::Discovery;
use crate::error::{InputError, Result};
use crate::frame::apply::Application;
use crate::ingest::Respondents;
use crate::manifest::Manifest;
use crate::report::{self, survey, tables};

/// The run's record: inputs, model, parameters, seed, version and each file's hash.
pub const MANIFEST: &str = "manifest.json";
/// Every input row with its group or code.
pub const ASSIGNMENTS: &str = "assignments.csv";
/// The same as a workbook.
pub const ASSIGNMENTS_XLSX: &str = "assignments.xlsx";
/// Answers per group or code.
pub const FREQUENCIES: &str = "frequencies.csv";
/// The same as a workbook.
pub const FREQUENCIES_XLSX: &str = "frequencies.xlsx";
/// Discover's groups: names, keywords, typical answers.
pub const GROUPS: &str = "groups.json";
/// The report's 2-D map of the answers.
pub const MAP: &str = "map.csv";
/// Rows left out as repeated ids (`--duplicates first|last`), when there were any.
pub const DROPPED: &str = "dropped.csv";
/// Apply's code shares against the baseline.
pub const DRIFT: &str = "drift.csv";
/// Apply's counts, codes, candidates and drift.
pub const SUMMARY: &str = "summary.json";
/// The report page (written by `codeframe report` or `--report`).
pub const REPORT: &str = "report.html";
/// Scores against human codes, when placed in the folder (`codeframe evaluate --out`).
pub const EVALUATION: &str = "evaluation.json";
/// Agreement figures, when placed in the folder (`codeframe agree --out`).
pub const AGREEMENT: &str = "agreement.json";

/// Which command wrote a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    /// `codeframe discover`.
    Discover,
    /// `codeframe apply`.
    Apply,
}

impl RunKind {
    /// The command's name, as manifests record it.
    pub fn command(self) -> &'static str {
        match self {
            RunKind::Discover => "discover",
            RunKind::Apply => "apply",
        }
    }

    /// The files a run of this kind writes (besides the manifest).
    pub fn files(self) -> &'static [&'static str] {
        match self {
            RunKind::Discover => &[
                ASSIGNMENTS,
                ASSIGNMENTS_XLSX,
                FREQUENCIES,
                FREQUENCIES_XLSX,
                GROUPS,
                MAP,
            ],
            RunKind::Apply => &[
                ASSIGNMENTS,
                ASSIGNMENTS_XLSX,
                FREQUENCIES,
                FREQUENCIES_XLSX,
                DRIFT,
                SUMMARY,
                MAP,
            ],
        }
    }
}

/// What writing a run had to change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Written {
    /// Workbook cells cut to Excel's limit (the CSV files keep them whole).
    pub cut_cells: usize,
    /// The weighted frequencies, when the run read weights.
    pub weighted: Option<tables::Weighted>,
}

/// Refuses an output folder that would destroy something: a file, a folder holding anything
/// but an earlier codeframe run, or a folder an input lives in. Checked before any work.
pub fn check_out_dir(out: &Path, inputs: &[&Path]) -> Result<(), InputError> {
    creatable(out, "--out")?;
    if out.exists() && !out.is_dir() {
        return Err(InputError::file(
            out,
            None,
            "the output is a file, not a folder",
            "pass a new or empty folder (or an earlier run's folder) to --out",
        ));
    }
    if let Some(dir) = canonical(out) {
        for input in inputs {
            if canonical(input).is_some_and(|i| i.starts_with(&dir)) {
                return Err(InputError::file(
                    input,
                    None,
                    format!(
                        "this input is inside the output folder {}, which the run replaces",
                        out.display()
                    ),
                    "pass another folder to --out",
                ));
            }
        }
    }
    // A person's coding in the folder is worth more than a rerun: never replace it unasked.
    let store = out.join(crate::review::STORE_FILE);
    if store.is_file() {
        return Err(InputError::file(
            &store,
            None,
            "the output folder holds a review store (people's codes) that the run would replace",
            "export it (codeframe review DIR --export OUT) and move review.sqlite away, or pass \
             another folder to --out",
        ));
    }
    if out.is_dir() && !is_empty_dir(out) && stage::earlier_run(out).is_none() {
        return Err(InputError::file(
            out,
            None,
            "the output folder holds files that are not a codeframe run; the run replaces the folder",
            "pass a new or empty folder to --out",
        ));
    }
    Ok(())
}

/// Refuses an output file that is one of the inputs.
pub fn check_out_file(out: &Path, inputs: &[&Path], flag: &str) -> Result<(), InputError> {
    let Some(target) = canonical_target(out) else {
        return Ok(());
    };
    for input in inputs {
        if canonical(input).is_some_and(|i| i == target) {
            return Err(InputError::flag(
                format!(
                    "{flag} {} is also an input; writing it would overwrite that input",
                    out.display()
                ),
                format!("pass another path to {flag}"),
            ));
        }
    }
    Ok(())
}

/// Refuses a path whose nearest existing ancestor is not a folder (it could never be created).
pub fn creatable(path: &Path, flag: &str) -> Result<(), InputError> {
    let mut up = path.parent();
    while let Some(p) = up {
        let p = if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        };
        if p.exists() {
            if p.is_dir() {
                return Ok(());
            }
            return Err(InputError::file(
                p,
                None,
                format!(
                    "is a file, so {} cannot be created under it",
                    path.display()
                ),
                format!("pass another path to {flag}"),
            ));
        }
        up = p.parent();
    }
    Ok(())
}

fn is_empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false)
}

fn canonical(p: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(p).ok()
}

/// Where a file would be written: its folder resolved, its own name kept.
fn canonical_target(p: &Path) -> Option<PathBuf> {
    if let Some(c) = canonical(p) {
        return Some(c);
    }
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Some(canonical(parent)?.join(p.file_name()?))
}

/// Writes a discover run into `dir`, replacing what was there in one step.
pub fn write_discover(
    dir: &Path,
    manifest: Manifest,
    d: &Discovery,
    map: &[(usize, [f32; 2])],
    respondents: &Respondents,
) -> Result<Written> {
    let mut stage = Staging::new(dir)?;
    let assignments = survey::with_respondents(tables::discover_assignments(d), respondents);
    let mut frequencies = tables::discover_frequencies(d);
    survey::weigh(&mut frequencies, &survey::discover_keys(d), respondents);
    let weighted = frequencies.weighted.clone();
    let frequencies = frequencies.sheet();
    put_dropped(&mut stage, respondents)?;
    let map = tables::map_sheet(
        map.iter()
            .map(|&(row, xy)| (d.assignments[row].id.as_str(), xy)),
    );
    stage.put(ASSIGNMENTS, &assignments.csv())?;
    stage.put(FREQUENCIES, &frequencies.csv())?;
    stage.put(GROUPS, &report::json("groups", d)?)?;
    stage.put(MAP, &map.csv())?;
    let cut = stage.put_xlsx(ASSIGNMENTS_XLSX, &assignments)?
        + stage.put_xlsx(FREQUENCIES_XLSX, &frequencies)?;
    stage.commit(manifest)?;
    Ok(Written {
        cut_cells: cut,
        weighted,
    })
}

/// Writes an apply run into `dir`, replacing what was there in one step.
pub fn write_apply(
    dir: &Path,
    manifest: Manifest,
    app: &Application,
    map: &[(usize, [f32; 2])],
    respondents: &Respondents,
) -> Result<Written> {
    let mut stage = Staging::new(dir)?;
    let assignments = survey::with_respondents(tables::apply_assignments(app), respondents);
    let mut frequencies = tables::apply_frequencies(app);
    survey::weigh(&mut frequencies, &survey::apply_keys(app), respondents);
    let weighted = frequencies.weighted.clone();
    let frequencies = frequencies.sheet();
    put_dropped(&mut stage, respondents)?;
    let map = tables::map_sheet(map.iter().map(|&(row, xy)| (app.rows[row].id.as_str(), xy)));
    stage.put(ASSIGNMENTS, &assignments.csv())?;
    stage.put(FREQUENCIES, &frequencies.csv())?;
    stage.put(DRIFT, &tables::drift_sheet(app).csv())?;
    stage.put(SUMMARY, &report::json("summary", &app.summary)?)?;
    stage.put(MAP, &map.csv())?;
    let cut = stage.put_xlsx(ASSIGNMENTS_XLSX, &assignments)?
        + stage.put_xlsx(FREQUENCIES_XLSX, &frequencies)?;
    stage.commit(manifest)?;
    Ok(Written {
        cut_cells: cut,
        weighted,
    })
}

/// dropped.csv, when rows were left out as repeated ids.
fn put_dropped(stage: &mut Staging, respondents: &Respondents) -> Result<()> {
    if respondents.dropped.is_empty() {
        return Ok(());
    }
    stage.put(DROPPED, &survey::dropped_sheet(respondents).csv())
}
