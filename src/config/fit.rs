//! Checked settings of `codeframe fit`: one question's coded answers, its frame file.

use std::path::{Path, PathBuf};

use super::{existing_file, read_options, sentence_embedder, Checked};
use crate::cli::FitArgs;
use crate::embed::spec::EmbedderSpec;
use crate::error::InputError;
use crate::ingest::ReadOptions;
use crate::rundir;

/// Checked settings of `codeframe fit`.
#[derive(Debug, Clone)]
pub struct FitSettings {
    /// Coded answers.
    pub input: PathBuf,
    /// Answer text and id columns.
    pub columns: ReadOptions,
    /// Human code column.
    pub label_column: String,
    /// Code frame (TOML) giving ids, groups and descriptions.
    pub frame: Option<PathBuf>,
    /// The frame's question.
    pub question: Option<String>,
    /// Cross-validation folds (`usize::MAX` for leave-one-out).
    pub folds: usize,
    /// Precision the automatically coded answers must reach.
    pub target_precision: f64,
    /// Seed of the folds.
    pub seed: u64,
    /// Column whose rows share a cross-validation fold.
    pub keep_together: Option<String>,
    /// Embedding settings.
    pub embedding: EmbedderSpec,
    /// The frame file to write.
    pub out: PathBuf,
}

impl FitSettings {
    /// Checks every flag of a fit of one question; touches no data.
    pub fn from_args(a: &FitArgs) -> Checked<Self> {
        let label = match a.label_column.as_slice() {
            [one] => one,
            more => {
                return Err(InputError::flag(
                    format!(
                        "--label-column was given {} times for one --text-column",
                        more.len()
                    ),
                    "pass one --label-column per --text-column, in the same order",
                ))
            }
        };
        if a.out.extension().and_then(|e| e.to_str()) != Some("json") {
            return Err(InputError::flag(
                format!("--out {} does not end in .json", a.out.display()),
                "name the frame file FRAME.json",
            ));
        }
        let question = a.question.clone();
        FitSettings::for_question(a, read_options(&a.columns, "fit")?, label, question, &a.out)
    }

    /// The settings of one question's fit: its columns, label column, frame question and
    /// frame file.
    pub(crate) fn for_question(
        a: &FitArgs,
        columns: ReadOptions,
        label_column: &str,
        question: Option<String>,
        out: &Path,
    ) -> Checked<Self> {
        existing_file(&a.input, "answers file", "codeframe fit")?;
        if let Some(f) = &a.frame {
            existing_file(f, "frame file", "--frame")?;
        }
        let folds = if a.folds.eq_ignore_ascii_case("loo") {
            usize::MAX
        } else {
            match a.folds.parse::<usize>() {
                Ok(n) if n >= 2 => n,
                _ => {
                    return Err(InputError::flag(
                        format!(
                            "--folds {} is not a number of folds (2 or more) or loo",
                            a.folds
                        ),
                        "pass --folds 5, or --folds loo for leave-one-out",
                    ))
                }
            }
        };
        if !(a.target_precision > 0.0 && a.target_precision <= 1.0) {
            return Err(InputError::flag(
                format!("--target-precision {} is not in (0, 1]", a.target_precision),
                "pass a precision such as 0.85",
            ));
        }
        let inputs: Vec<&Path> = [Some(a.input.as_path()), a.frame.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        rundir::check_out_file(out, &inputs, "--out")?;
        Ok(FitSettings {
            input: a.input.clone(),
            columns,
            label_column: label_column.to_string(),
            frame: a.frame.clone(),
            question,
            folds,
            target_precision: a.target_precision,
            seed: a.seed,
            keep_together: a.keep_together.clone(),
            embedding: sentence_embedder(&a.embedding)?,
            out: out.to_path_buf(),
        })
    }
}
