//! Checked settings of `codeframe review`: the coder, the store's folder and where its answers
//! come from.

use std::path::PathBuf;

use super::{existing_file, survey, Checked};
use crate::error::InputError;
use crate::ingest::ReadOptions;
use crate::rundir;

/// Where the workspace's answers come from.
#[derive(Debug, Clone)]
pub enum ReviewSource {
    /// The discover or apply run in the folder (and the frame it was named from, if given).
    Run {
        /// A frame to take descriptions and topic groups from.
        frame: Option<PathBuf>,
    },
    /// Answers not yet grouped, coded with a frame's codes.
    Answers {
        /// The answers file.
        input: PathBuf,
        /// Its columns.
        columns: ReadOptions,
        /// The frame.
        frame: PathBuf,
    },
}

/// Checked settings of `codeframe review`.
#[derive(Debug, Clone)]
pub struct ReviewSettings {
    /// The folder holding the store.
    pub dir: PathBuf,
    /// The coder.
    pub coder: String,
    /// Port on 127.0.0.1.
    pub port: u16,
    /// Where answers come from when the store is new.
    pub source: ReviewSource,
    /// The frame's question.
    pub question: Option<String>,
    /// Export into this folder instead of serving.
    pub export: Option<PathBuf>,
    /// Columns of earlier coding to import when the store is made.
    pub coders: Vec<String>,
}

impl ReviewSettings {
    /// Checks every flag and path; opens nothing.
    pub fn from_args(a: &crate::cli::ReviewArgs) -> Checked<Self> {
        let coder = a.coder.trim();
        if coder.is_empty() || coder.chars().count() > 60 || coder.chars().any(char::is_control) {
            return Err(InputError::flag(
                format!("--coder {:?} is not a coder's name", a.coder),
                "pass a name of 1 to 60 letters, e.g. --coder maria",
            ));
        }
        if [crate::review::MACHINE, crate::review::ADJUDICATION].contains(&coder) {
            return Err(InputError::flag(
                format!("--coder {coder} is the name of the machine's or the adjudicated codes"),
                "pass your own name",
            ));
        }
        if let Some(f) = &a.frame {
            existing_file(f, "frame file", "--frame")?;
        }
        let store = a.dir.join(crate::review::STORE_FILE);
        let source = match (&a.input, &a.frame) {
            (Some(input), Some(frame)) => {
                existing_file(input, "answers file", "--input")?;
                rundir::creatable(&store, "the folder")?;
                ReviewSource::Answers {
                    input: input.clone(),
                    columns: ReadOptions {
                        duplicates: survey::duplicates(a.duplicates),
                        ..ReadOptions::new(a.text_column.clone(), a.id_column.clone())
                    },
                    frame: frame.clone(),
                }
            }
            _ => {
                if !store.is_file() && !a.dir.join(rundir::MANIFEST).is_file() {
                    return Err(InputError::file(
                        &a.dir,
                        None,
                        "no codeframe run and no review store in this folder",
                        "pass the output folder of `codeframe discover` or `codeframe apply`, \
                         or answers with --input FILE --frame FRAME.toml",
                    ));
                }
                ReviewSource::Run {
                    frame: a.frame.clone(),
                }
            }
        };
        let coders: Vec<String> = a.coders.iter().map(|c| c.trim().to_string()).collect();
        if let Some(c) = coders.iter().find(|c| {
            c.is_empty()
                || [crate::review::MACHINE, crate::review::ADJUDICATION].contains(&c.as_str())
        }) {
            return Err(InputError::flag(
                format!("--coders names a column {c:?} that cannot be a coder"),
                "name the columns of people's codes, e.g. --coders coder_a,coder_b",
            ));
        }
        if let Some(out) = &a.export {
            rundir::creatable(&out.join("x"), "--export")?;
            if out.exists() && !out.is_dir() {
                return Err(InputError::file(
                    out,
                    None,
                    "--export names a file, not a folder",
                    "pass a folder to --export",
                ));
            }
        }
        Ok(ReviewSettings {
            dir: a.dir.clone(),
            coder: coder.to_string(),
            port: a.port,
            source,
            question: a.question.clone(),
            export: a.export.clone(),
            coders,
        })
    }
}
