//! Reading a run folder back as typed results. Every file is checked against the hash its
//! run's manifest records, and CSV cells are read as they were before formula neutralisation,
//! so what a reader gets is what the run wrote.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::stage::earlier_run;
use super::{RunKind, AGREEMENT, ASSIGNMENTS, EVALUATION, GROUPS, MANIFEST, MAP, SUMMARY};
use crate::agree::AgreeReport;
use crate::describe::{Assignment, Discovery};
use crate::error::{InputError, Result};
use crate::frame::apply::{Application, ApplySummary, Coded};
use crate::fsio;
use crate::ingest::{self, Record, Table};
use crate::manifest::{sha256_hex, Manifest};
use crate::report::page::{Attachments, EvaluationView};
use crate::report::restore_cell;
use crate::status::Status;

/// A discover run read back.
#[derive(Debug, Clone)]
pub struct DiscoverRun {
    /// Its folder.
    pub dir: PathBuf,
    /// Its record.
    pub manifest: Manifest,
    /// Groups and every row.
    pub discovery: Discovery,
    /// (row, place) of each grouped answer on the 2-D map.
    pub map: Vec<(usize, [f32; 2])>,
}

/// An apply run read back.
#[derive(Debug, Clone)]
pub struct ApplyRun {
    /// Its folder.
    pub dir: PathBuf,
    /// Its record.
    pub manifest: Manifest,
    /// Every row, counts, codes, candidates, drift.
    pub application: Application,
    /// (row, place) of each classified answer on the 2-D map.
    pub map: Vec<(usize, [f32; 2])>,
}

/// A run folder read back.
#[derive(Debug, Clone)]
pub enum Run {
    /// Written by discover.
    Discover(DiscoverRun),
    /// Written by apply.
    Apply(ApplyRun),
}

impl Run {
    /// The run's record.
    pub fn manifest(&self) -> &Manifest {
        match self {
            Run::Discover(r) => &r.manifest,
            Run::Apply(r) => &r.manifest,
        }
    }

    /// Which command wrote it.
    pub fn kind(&self) -> RunKind {
        match self {
            Run::Discover(_) => RunKind::Discover,
            Run::Apply(_) => RunKind::Apply,
        }
    }
}

const NOT_A_RUN: &str = "pass the output folder of `codeframe discover` or `codeframe apply`";

fn bad(path: &Path, line: Option<u64>, problem: impl Into<String>, fix: &str) -> InputError {
    InputError::file(path, line, problem, fix)
}

/// Reads a discover or apply folder, refusing one whose files do not all come from the run
/// its manifest records.
pub fn read_run(dir: &Path) -> Result<Run> {
    if !dir.is_dir() {
        return Err(bad(dir, None, "no such folder", NOT_A_RUN).into());
    }
    let mpath = dir.join(MANIFEST);
    if !mpath.is_file() {
        return Err(bad(&mpath, None, "no manifest.json in the folder", NOT_A_RUN).into());
    }
    let manifest = earlier_run(dir).ok_or_else(|| {
        bad(
            &mpath,
            None,
            "not the manifest of a codeframe discover or apply run",
            NOT_A_RUN,
        )
    })?;
    if let Some(questions) = super::questions_of(&manifest) {
        let folders: Vec<String> = questions
            .iter()
            .map(|q| dir.join(&q.folder).display().to_string())
            .collect();
        return Err(bad(
            dir,
            None,
            format!(
                "this folder holds a survey run of {} questions, each in a sub-folder of its own",
                questions.len()
            ),
            &format!("pass one question's folder: {}", folders.join(", ")),
        )
        .into());
    }
    let kind = if manifest.command == "apply" {
        RunKind::Apply
    } else {
        RunKind::Discover
    };
    for name in kind.files() {
        if !manifest.files.contains_key(*name) {
            return Err(bad(
                &mpath,
                None,
                format!("the manifest lists no {name}: the folder was written by an older codeframe or is damaged"),
                &rerun_fix(kind),
            )
            .into());
        }
    }
    let file = |name: &str| checked(dir, &manifest, kind, name);
    Ok(match kind {
        RunKind::Discover => {
            let groups_path = dir.join(GROUPS);
            let mut discovery: Discovery = serde_json::from_slice(&file(GROUPS)?).map_err(|e| {
                bad(
                    &groups_path,
                    Some(e.line() as u64),
                    format!("not a groups file: {e}"),
                    &rerun_fix(kind),
                )
            })?;
            let table = parse(dir, ASSIGNMENTS, &file(ASSIGNMENTS)?)?;
            discovery.assignments = discover_rows(&table, kind)?;
            let ids: Vec<&str> = discovery
                .assignments
                .iter()
                .map(|a| a.id.as_str())
                .collect();
            let map = read_map(dir, &file(MAP)?, &ids)?;
            Run::Discover(DiscoverRun {
                dir: dir.to_path_buf(),
                manifest,
                discovery,
                map,
            })
        }
        RunKind::Apply => {
            let summary_path = dir.join(SUMMARY);
            let summary: ApplySummary = serde_json::from_slice(&file(SUMMARY)?).map_err(|e| {
                bad(
                    &summary_path,
                    Some(e.line() as u64),
                    format!("not an apply summary: {e}"),
                    &rerun_fix(kind),
                )
            })?;
            let table = parse(dir, ASSIGNMENTS, &file(ASSIGNMENTS)?)?;
            let rows = apply_rows(&table, &summary)?;
            let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            let map = read_map(dir, &file(MAP)?, &ids)?;
            Run::Apply(ApplyRun {
                dir: dir.to_path_buf(),
                manifest,
                application: Application { rows, summary },
                map,
            })
        }
    })
}

fn rerun_fix(kind: RunKind) -> String {
    format!("run `codeframe {}` into this folder again", kind.command())
}

/// A file of the run, refused when it is not the one the manifest records.
fn checked(dir: &Path, m: &Manifest, kind: RunKind, name: &str) -> Result<Vec<u8>> {
    let path = dir.join(name);
    if !path.is_file() {
        return Err(bad(
            &path,
            None,
            "a file of the run is missing",
            &rerun_fix(kind),
        )
        .into());
    }
    let bytes = fsio::read(&path)?;
    if m.files.get(name) != Some(&sha256_hex(&bytes)) {
        return Err(bad(
            &path,
            None,
            "this file does not belong to the run manifest.json records (another run wrote it, or it was edited)",
            &rerun_fix(kind),
        )
        .into());
    }
    Ok(bytes)
}

fn parse(dir: &Path, name: &str, bytes: &[u8]) -> Result<Table> {
    let mut t = ingest::parse_table_or_empty(&dir.join(name), bytes)?;
    restore(&mut t);
    Ok(t)
}

/// Undoes formula neutralisation in every cell.
fn restore(t: &mut Table) {
    for r in &mut t.records {
        for f in &mut r.fields {
            let orig = restore_cell(f);
            if orig.len() != f.len() {
                *f = orig.to_string();
            }
        }
    }
}

/// Reads a delimited or Excel file; a CSV that a codeframe run wrote (its folder's manifest
/// records it, unchanged) is read as it was before formula neutralisation, so ids and labels
/// compare as written.
pub fn read_table(path: &Path) -> Result<Table> {
    let mut t = ingest::read_table(path)?;
    let written_by_us = path
        .parent()
        .and_then(|d| {
            let m: Manifest =
                serde_json::from_slice(&std::fs::read(d.join(MANIFEST)).ok()?).ok()?;
            let name = path.file_name()?.to_string_lossy().into_owned();
            (m.tool == "codeframe").then(|| m.files.get(&name) == Some(&t.sha256))
        })
        .unwrap_or(false);
    if written_by_us {
        restore(&mut t);
    }
    Ok(t)
}

/// Columns an assignments table may lack.
const OPTIONAL: &[&str] = &["language"];

/// The language cell: `None` when empty.
fn language_of(c: &Cols, r: &Record) -> Option<String> {
    Some(c.get(r, "language").to_string()).filter(|l| !l.is_empty())
}

/// The cells of one row by column name.
struct Cols<'a> {
    table: &'a Table,
    index: HashMap<&'a str, usize>,
}

impl<'a> Cols<'a> {
    fn new(table: &'a Table, wanted: &[&'a str]) -> Result<Self, InputError> {
        let mut index = HashMap::new();
        for w in wanted {
            index.insert(*w, table.column(w, "report")?);
        }
        // Columns later versions added; an older run reads them as empty.
        for w in OPTIONAL {
            if let Some(i) = table.headers.iter().position(|h| h == w) {
                index.insert(*w, i);
            }
        }
        Ok(Cols { table, index })
    }

    fn get<'r>(&self, r: &'r Record, name: &str) -> &'r str {
        self.index
            .get(name)
            .and_then(|&i| r.fields.get(i))
            .map(String::as_str)
            .unwrap_or("")
    }

    fn bad(&self, r: &Record, what: &str) -> InputError {
        bad(&self.table.path, Some(r.line), what.to_string(), NOT_A_RUN)
    }
}

fn status_of(c: &Cols, r: &Record) -> Result<Status, InputError> {
    c.get(r, "status").parse().map_err(|e: String| c.bad(r, &e))
}

fn discover_rows(t: &Table, _: RunKind) -> Result<Vec<Assignment>> {
    let c = Cols::new(t, &["id", "text", "group", "group_name", "score", "status"])?;
    t.records
        .iter()
        .map(|r| {
            let group = match c.get(r, "group") {
                "" => None,
                g => Some(
                    g.parse()
                        .map_err(|_| c.bad(r, "the group is not a number"))?,
                ),
            };
            Ok(Assignment {
                id: c.get(r, "id").to_string(),
                text: c.get(r, "text").to_string(),
                group,
                group_name: c.get(r, "group_name").to_string(),
                score: c.get(r, "score").parse().ok(),
                status: status_of(&c, r)?,
                language: language_of(&c, r),
            })
        })
        .collect()
}

fn apply_rows(t: &Table, s: &ApplySummary) -> Result<Vec<Coded>> {
    let required = &crate::report::tables::APPLY_ASSIGNMENT_COLUMNS;
    let required: Vec<&str> = required
        .iter()
        .copied()
        .filter(|c| !OPTIONAL.contains(c))
        .collect();
    let c = Cols::new(t, &required)?;
    let by_id: HashMap<&str, usize> = s
        .codes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    let by_label: HashMap<&str, usize> = s
        .codes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.label.as_str(), i))
        .collect();
    t.records
        .iter()
        .map(|r| {
            let code = match c.get(r, "code_id") {
                "" => None,
                id => Some(
                    *by_id
                        .get(id)
                        .ok_or_else(|| c.bad(r, "the code id is not one of the run's codes"))?,
                ),
            };
            let codes = c
                .get(r, "codes")
                .split("; ")
                .filter(|l| !l.is_empty())
                .filter_map(|l| by_label.get(l).copied())
                .collect();
            Ok(Coded {
                id: c.get(r, "id").to_string(),
                text: c.get(r, "text").to_string(),
                code,
                confidence: c.get(r, "confidence").parse().ok(),
                status: status_of(&c, r)?,
                codes,
                candidate: c.get(r, "candidate").parse().ok(),
                language: language_of(&c, r),
            })
        })
        .collect()
}

fn read_map(dir: &Path, bytes: &[u8], ids: &[&str]) -> Result<Vec<(usize, [f32; 2])>> {
    let t = parse(dir, MAP, bytes)?;
    let c = Cols::new(&t, &["id", "x", "y"])?;
    let row_of: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    t.records
        .iter()
        .map(|r| {
            let row = *row_of
                .get(c.get(r, "id"))
                .ok_or_else(|| c.bad(r, "the map names an id the assignments lack"))?;
            let num = |k: &str| {
                c.get(r, k)
                    .parse::<f32>()
                    .map_err(|_| c.bad(r, "not a number"))
            };
            Ok((row, [num("x")?, num("y")?]))
        })
        .collect()
}

/// The evaluation.json and agreement.json placed in a run's folder, when they were computed
/// from this run's assignments.csv (their manifests record its hash); others are left out with
/// a note.
pub fn read_attachments(dir: &Path, run: &Manifest) -> Attachments {
    let mut att = Attachments::default();
    let ours = run.files.get(ASSIGNMENTS).cloned().unwrap_or_default();
    let (evaluation, n) = attachment::<EvaluationView>(dir, EVALUATION, &ours, |e| &e.manifest);
    att.evaluation = evaluation;
    att.notes.extend(n);
    let (agreement, n) = attachment::<AgreeReport>(dir, AGREEMENT, &ours, |a| &a.manifest);
    att.agreement = agreement;
    att.notes.extend(n);
    att
}

/// One file placed beside a run: read when its manifest records this run's assignments as an
/// input, otherwise left out with a note.
fn attachment<T: serde::de::DeserializeOwned>(
    dir: &Path,
    name: &str,
    assignments_sha: &str,
    manifest: impl Fn(&T) -> &Manifest,
) -> (Option<T>, Option<String>) {
    let path = dir.join(name);
    if !path.is_file() {
        return (None, None);
    }
    let note = |why: &str| Some(format!("{name} in this folder was left out: {why}."));
    match std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<T>(&b).ok())
    {
        Some(v) if manifest(&v).inputs.values().any(|h| h == assignments_sha) => (Some(v), None),
        Some(_) => (
            None,
            note("it was computed from another run's assignments (compute it again)"),
        ),
        None => (None, note("it is not a file codeframe wrote")),
    }
}
