//! Checked settings of `codeframe agree`: coder columns, and coders joined from other files.

use std::path::{Path, PathBuf};

use super::{existing_file, output_folder_exists, Checked};
use crate::agree::AgreeOptions;
use crate::cli::AgreeArgs;
use crate::error::InputError;
use crate::rundir;

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
    pub fn parse(s: &str) -> Checked<JoinSpec> {
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

impl AgreeSettings {
    /// Checks every flag and file path; reads no data.
    pub fn from_args(a: &AgreeArgs) -> Checked<Self> {
        existing_file(&a.input, "file", "codeframe agree")?;
        let joins = a
            .join
            .iter()
            .map(|j| JoinSpec::parse(j))
            .collect::<Checked<Vec<_>>>()?;
        for j in &joins {
            existing_file(&j.path, "file", "--join")?;
        }
        let coders: Vec<String> = a.coders.iter().map(|c| c.trim().to_string()).collect();
        if coders.iter().any(String::is_empty) {
            return Err(InputError::flag(
                "--coders has an empty column name",
                "pass the coder columns' header names, e.g. --coders coder_a,coder_b",
            ));
        }
        if coders.len() + joins.len() < 2 {
            return Err(InputError::flag(
                "agreement needs at least two coders",
                "name two or more columns in --coders, or add one with --join FILE:COL",
            ));
        }
        let out = a.out.as_ref().filter(|p| p.as_os_str() != "-").cloned();
        let disagreements = a
            .disagreements
            .clone()
            .or_else(|| out.as_ref().map(|o| o.with_file_name("disagreements.csv")));
        let inputs: Vec<&Path> = std::iter::once(a.input.as_path())
            .chain(joins.iter().map(|j| j.path.as_path()))
            .collect();
        for (p, flag) in [(&out, "--out"), (&disagreements, "--disagreements")] {
            if let Some(p) = p {
                output_folder_exists(p, flag)?;
                rundir::check_out_file(p, &inputs, flag)?;
            }
        }
        Ok(AgreeSettings {
            input: a.input.clone(),
            coders,
            id_column: a.id_column.clone(),
            text_column: a.text_column.clone(),
            joins,
            options: AgreeOptions {
                bootstrap: a.bootstrap,
                seed: a.seed,
                ..AgreeOptions::default()
            },
            out,
            disagreements,
        })
    }
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
