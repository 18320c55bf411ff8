//! `codeframe agree`: coder columns in (machine codings joined by id), every coefficient with
//! its interval, and the units to adjudicate, out.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::agree::{
    agree, disagreements, disagreements_csv, render_table, AgreeError, AgreeReport, Codings,
};
use crate::config::{AgreeSettings, JoinSpec};
use crate::error::{InputError, Result};
use crate::fsio;
use crate::ingest::{self, unique_ids};
use crate::manifest::Manifest;
use crate::progress::Progress;
use crate::report;
use crate::rundir;

/// Reads the coders (codeframe's own CSV files as written), measures, writes the JSON and the
/// disagreements.
pub fn run(s: &AgreeSettings, progress: &Progress) -> Result<AgreeReport> {
    let table = rundir::read_table(&s.input)?;
    for w in &table.warnings {
        progress.warn(w);
    }
    let id_idx = table.column(&s.id_column, "--id-column")?;
    let ids = unique_ids(&table, id_idx)?;
    let coder_idx: Vec<usize> = s
        .coders
        .iter()
        .map(|c| table.column(c, "--coders"))
        .collect::<Result<_, _>>()?;
    let text_idx = match &s.text_column {
        Some(t) => Some(table.column(t, "--text-column")?),
        None => table.headers.iter().position(|h| h == "text"),
    };
    let cell = |r: &ingest::Record, i: usize| r.fields.get(i).cloned().unwrap_or_default();
    let mut cells: Vec<Vec<String>> = table
        .records
        .iter()
        .map(|r| coder_idx.iter().map(|&i| cell(r, i)).collect())
        .collect();
    let mut coders = s.coders.clone();
    let mut manifest = Manifest::new("agree");
    manifest.input(&s.input, &table.sha256);
    let mut join_missing = BTreeMap::new();
    for j in &s.joins {
        let (column, missing, sha) = joined_coder(s, j, &ids, progress)?;
        for (row, v) in cells.iter_mut().zip(column) {
            row.push(v);
        }
        join_missing.insert(j.name.clone(), missing);
        manifest.input(&j.path, &sha);
        coders.push(j.name.clone());
    }
    let codings = Codings::from_columns(ids, coders, cells).map_err(|e| explain(&s.input, e))?;
    let agreement = agree(&codings, &s.options).map_err(|e| explain(&s.input, e))?;

    manifest.seed = Some(s.options.seed);
    manifest
        .param("coders", codings.coders.clone())
        .param("id_column", s.id_column.as_str())
        .param("bootstrap", s.options.bootstrap)
        .param("confidence", s.options.confidence);
    let dis_path = s.disagreements.clone();
    let texts: Option<Vec<String>> =
        text_idx.map(|t| table.records.iter().map(|r| cell(r, t)).collect());
    if let Some(p) = &dis_path {
        let bytes = disagreements_csv(&disagreements(&codings), &codings.coders, texts.as_deref());
        fsio::write_output(p, &bytes)?;
        manifest.outputs.push(p.display().to_string());
    }
    if let Some(o) = &s.out {
        manifest.outputs.push(o.display().to_string());
    }
    let report = AgreeReport {
        manifest,
        join_missing,
        agreement,
    };
    let json = report::json("agreement", &report)?;
    match &s.out {
        Some(out) => fsio::write_output(out, &json)?,
        None => fsio::write_stdout(&json)?,
    }
    progress.say(render_table(&report.agreement));
    if let Some(p) = &dis_path {
        progress.say(format!(
            "agree: {} units to adjudicate in {}",
            report.agreement.disagreement_units,
            p.display()
        ));
    }
    Ok(report)
}

/// The codes another file gives the units, by id (empty where it has no row), how many units
/// it lacks, and its hash.
fn joined_coder(
    s: &AgreeSettings,
    j: &JoinSpec,
    ids: &[String],
    progress: &Progress,
) -> Result<(Vec<String>, usize, String)> {
    let other = rundir::read_table(&j.path)?;
    for w in &other.warnings {
        progress.warn(w);
    }
    let oid = other.column(&s.id_column, "--id-column")?;
    let ocol = other.column(&j.column, "--join")?;
    let oids = unique_ids(&other, oid)?;
    let by_id: HashMap<&str, &str> = oids
        .iter()
        .zip(&other.records)
        .map(|(id, r)| {
            (
                id.as_str(),
                r.fields.get(ocol).map(String::as_str).unwrap_or(""),
            )
        })
        .collect();
    let column: Vec<String> = ids
        .iter()
        .map(|id| by_id.get(id.as_str()).copied().unwrap_or("").to_string())
        .collect();
    let missing = ids
        .iter()
        .filter(|id| !by_id.contains_key(id.as_str()))
        .count();
    if missing == ids.len() {
        return Err(InputError::file(
            &j.path,
            None,
            format!(
                "none of its ids (column \"{}\") is an id of {}",
                s.id_column,
                s.input.display()
            ),
            "join a file made from the same answers, with the same id column",
        )
        .into());
    }
    if missing > 0 {
        progress.warn(format!(
            "agree: {missing} of {} units have no row in {}; coder {} counts them as not coded",
            ids.len(),
            j.path.display(),
            j.name
        ));
    }
    Ok((column, missing, other.sha256))
}

/// Turns "nothing to compare" into bad input naming the file and the fix.
fn explain(path: &Path, e: AgreeError) -> InputError {
    let fix = match e {
        AgreeError::TooFewCoders { .. } => {
            "name two or more coder columns in --coders, or add one with --join FILE:COLUMN"
        }
        AgreeError::NoPairableUnits => {
            "check the coder columns: an empty cell means not coded, and units need two coders"
        }
        AgreeError::DuplicateCoder { .. } => "name each coder once (use --join FILE:COL=NAME)",
        AgreeError::InvalidConfidence(_) => "use a confidence between 0 and 1, e.g. 0.95",
        AgreeError::InvalidCodings(_) => "check the coder columns",
    };
    InputError::file(path, None, e.to_string(), fix)
}
