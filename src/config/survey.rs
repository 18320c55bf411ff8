//! Settings for survey files: repeated ids, respondent columns and weights, and `crosstab`.

use std::path::PathBuf;

use super::{existing_file, Checked};
use crate::cli::{CrosstabArgs, DuplicatesArg, RespondentColumns};
use crate::error::InputError;
use crate::ingest::{Duplicates, ReadOptions};

/// The reader's handling of a repeated id.
pub(super) fn duplicates(d: DuplicatesArg) -> Duplicates {
    match d {
        DuplicatesArg::Error => Duplicates::Error,
        DuplicatesArg::First => Duplicates::First,
        DuplicatesArg::Last => Duplicates::Last,
    }
}

/// The columns to read, with the respondent columns and weights asked for.
pub(super) fn with_respondents(columns: ReadOptions, r: &RespondentColumns) -> ReadOptions {
    ReadOptions {
        keep_columns: r
            .keep_columns
            .iter()
            .map(|c| c.trim().to_string())
            .collect(),
        weight_column: r.weight_column.as_ref().map(|c| c.trim().to_string()),
        ..columns
    }
}

/// Checked settings of `codeframe crosstab`.
#[derive(Debug, Clone)]
pub struct CrosstabSettings {
    /// The discover or apply folder.
    pub run: PathBuf,
    /// The respondent variable of the columns.
    pub by: String,
    /// A respondent file to take it from, and its id column.
    pub join: Option<(PathBuf, Option<String>)>,
    /// The weight column, when named.
    pub weight_column: Option<String>,
    /// The respondent id column, when respondents gave several answers.
    pub respondent_column: Option<String>,
    /// Where the tables go.
    pub out: PathBuf,
}

impl CrosstabSettings {
    /// Checks the folders, the file and the names; reads no run file.
    pub fn from_args(a: &CrosstabArgs) -> Checked<Self> {
        if !a.run.is_dir() {
            return Err(InputError::file(
                &a.run,
                None,
                "no such folder",
                "pass the output folder of `codeframe discover` or `codeframe apply`",
            ));
        }
        let by = a.by.trim().to_string();
        if by.is_empty() {
            return Err(InputError::flag(
                "--by names no column",
                "pass --by with a kept respondent column, e.g. --by country",
            ));
        }
        if let Some(j) = &a.join {
            existing_file(j, "respondent file", "--join")?;
        } else if a.join_id.is_some() {
            return Err(InputError::flag(
                "--join-id names the id column of --join, which is not given",
                "pass --join FILE too, or leave out --join-id",
            ));
        }
        let out = a.out.clone().unwrap_or_else(|| a.run.clone());
        if !out.is_dir() {
            return Err(InputError::flag(
                format!("--out {} is not a folder", out.display()),
                "create the folder first, or leave out --out to write into the run folder",
            ));
        }
        Ok(CrosstabSettings {
            run: a.run.clone(),
            by,
            join: a.join.clone().map(|j| (j, a.join_id.clone())),
            weight_column: a.weight_column.as_ref().map(|c| c.trim().to_string()),
            respondent_column: a.respondent_column.as_ref().map(|c| c.trim().to_string()),
            out,
        })
    }
}
