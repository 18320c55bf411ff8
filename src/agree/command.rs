//! The `codeframe agree` flow: read coder columns, join machine codings by id, compute, write.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{
    agree, disagreements, disagreements_csv, render_table, AgreeError, AgreeOptions, Agreement,
    Codings,
};
use crate::error::{InputError, Result};
use crate::fsio;
use crate::ingest::{self, unique_ids};
use crate::manifest::Manifest;
use crate::progress::Progress;
use crate::report;

/// A coder column taken from another file by id (`--join FILE:COL[=NAME]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinSpec {
    /// The other file.
    pub path: PathBuf,
    /// Its column holding the codes.
    pub column: String,
    /// The coder's name in the output.
    pub name: String,
}

impl JoinSpec {
    /// Parses `FILE:COL` or `FILE:COL=NAME` (split at the last `:`). The default name is the
    /// file's folder and the column, e.g. `q7-run/group_name`, so two runs' `assignments.csv`
    /// stay apart.
    pub fn parse(s: &str) -> Result<JoinSpec, InputError> {
        let bad = || {
            InputError::flag(
                format!("--join {s:?} is not FILE:COLUMN"),
                "pass e.g. --join out/q7/assignments.csv:group_name (add =NAME to name the coder)",
            )
        };
        let (file, rest) = s.rsplit_once(':').ok_or_else(bad)?;
        let (column, name) = match rest.split_once('=') {
            Some((c, n)) => (c.trim(), Some(n.trim())),
            None => (rest.trim(), None),
        };
        if file.is_empty() || column.is_empty() || name == Some("") {
            return Err(bad());
        }
        let path = PathBuf::from(file);
        let name = match name {
            Some(n) => n.to_string(),
            None => {
                let folder = path
                    .parent()
                    .and_then(|p| p.file_name())
                    .map(|f| f.to_string_lossy().into_owned());
                match folder {
                    Some(f) if !f.is_empty() => format!("{f}/{column}"),
                    _ => column.to_string(),
                }
            }
        };
        Ok(JoinSpec {
            path,
            column: column.to_string(),
            name,
        })
    }
}

/// Checked settings of `codeframe agree`.
#[derive(Debug, Clone)]
pub struct AgreeSettings {
    /// The file with the coder columns (and ids, and usually the text).
    pub input: PathBuf,
    /// Coder columns of `input`.
    pub coders: Vec<String>,
    /// Id column, in `input` and in every joined file.
    pub id_column: String,
    /// Text column for disagreements.csv (default: `text` when present).
    pub text_column: Option<String>,
    /// Coders from other files.
    pub joins: Vec<JoinSpec>,
    /// Bootstrap resamples and seed.
    pub options: AgreeOptions,
    /// JSON output (stdout when absent).
    pub out: Option<PathBuf>,
    /// disagreements.csv (default: beside `out`).
    pub disagreements: Option<PathBuf>,
}

/// What `codeframe agree` writes: the run's manifest and every figure.
#[derive(Debug, Serialize)]
pub struct AgreeReport {
    /// Inputs' hashes, parameters, seed, version.
    pub manifest: Manifest,
    /// Units of the input file whose id a joined file lacks, per joined coder.
    pub join_missing: std::collections::BTreeMap<String, usize>,
    /// The coefficients (fields at the top level).
    #[serde(flatten)]
    pub agreement: Agreement,
}

fn missing_file(path: &Path, flag: &str) -> InputError {
    InputError::file(
        path,
        None,
        "no such file",
        format!("check the path given to {flag}"),
    )
}

/// `codeframe agree`.
pub fn agree_command(s: &AgreeSettings, progress: &Progress) -> Result<AgreeReport> {
    if !s.input.is_file() {
        return Err(missing_file(&s.input, "codeframe agree").into());
    }
    for j in &s.joins {
        if !j.path.is_file() {
            return Err(missing_file(&j.path, "--join").into());
        }
    }
    let table = ingest::read_table(&s.input)?;
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
    manifest
        .inputs
        .insert(s.input.display().to_string(), table.sha256.clone());
    let mut join_missing = std::collections::BTreeMap::new();
    for j in &s.joins {
        let other = ingest::read_table(&j.path)?;
        for w in &other.warnings {
            progress.warn(w);
        }
        let oid = other.column(&s.id_column, "--id-column")?;
        let ocol = other.column(&j.column, "--join")?;
        let oids = unique_ids(&other, oid)?;
        let by_id: HashMap<&str, String> = oids
            .iter()
            .zip(&other.records)
            .map(|(id, r)| (id.as_str(), cell(r, ocol)))
            .collect();
        let mut missing = 0;
        for (row, id) in cells.iter_mut().zip(&ids) {
            match by_id.get(id.as_str()) {
                Some(v) => row.push(v.clone()),
                None => {
                    missing += 1;
                    row.push(String::new());
                }
            }
        }
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
        join_missing.insert(j.name.clone(), missing);
        manifest
            .inputs
            .insert(j.path.display().to_string(), other.sha256.clone());
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
    let dis_path = s.disagreements.clone().or_else(|| {
        s.out
            .as_ref()
            .map(|o| o.with_file_name("disagreements.csv"))
    });
    let texts: Option<Vec<String>> =
        text_idx.map(|t| table.records.iter().map(|r| cell(r, t)).collect());
    if let Some(p) = &dis_path {
        let bytes = disagreements_csv(&disagreements(&codings), &codings.coders, texts.as_deref());
        fsio::write_atomic(p, &bytes)?;
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
        Some(out) => fsio::write_atomic(out, &json)?,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_specs() {
        let j = JoinSpec::parse("out/q7/assignments.csv:group_name").unwrap();
        assert_eq!(j.path, PathBuf::from("out/q7/assignments.csv"));
        assert_eq!(j.column, "group_name");
        assert_eq!(j.name, "q7/group_name");
        let j = JoinSpec::parse("c:/x/a.csv:code=machine").unwrap();
        assert_eq!(j.path, PathBuf::from("c:/x/a.csv"));
        assert_eq!(j.name, "machine");
        assert!(JoinSpec::parse("a.csv").is_err());
        assert!(JoinSpec::parse("a.csv:").is_err());
        assert!(JoinSpec::parse("a.csv:c=").is_err());
    }
}
