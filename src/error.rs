//! Errors: one typed error for the library, each variant mapped to an exit code.

use std::fmt;
use std::path::{Path, PathBuf};

/// Exit code for bad input the user can fix (files, columns, flags, model folder).
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code for any other failure.
pub const EXIT_FAILURE: i32 = 1;

/// Everything the library can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input the user can fix; the message names the file, the line and the fix.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A file could not be read or written.
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// libtorch reported an error.
    #[error("libtorch failed while {context}")]
    Torch {
        context: String,
        #[source]
        source: tch::TchError,
    },
    /// rust-bert reported an error.
    #[error("rust-bert failed while {context}")]
    RustBert {
        context: String,
        #[source]
        source: rust_bert::RustBertError,
    },
    /// The Hugging Face tokenizer reported an error.
    #[error("the tokenizer failed while {context}")]
    Tokenizer {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An embedder returned vectors of the wrong shape.
    #[error("the {backend} embedder {problem}")]
    Embed {
        /// The backend's name.
        backend: String,
        /// What was wrong.
        problem: String,
    },
    /// Clustering failed.
    #[error("clustering failed: {0}")]
    Cluster(String),
    /// A report could not be produced.
    #[error("{0}")]
    Report(String),
    /// An output could not be serialised.
    #[error("cannot serialise {what}")]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// The process exit code this error maps to.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => EXIT_BAD_INPUT,
            _ => EXIT_FAILURE,
        }
    }

    /// An I/O error on `path`.
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// A libtorch error with what we were doing.
    pub fn torch(context: impl Into<String>, source: tch::TchError) -> Self {
        Error::Torch {
            context: context.into(),
            source,
        }
    }
}

/// Bad input: where it is, what is wrong, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The file at fault, if the problem is in a file.
    pub path: Option<PathBuf>,
    /// The 1-based line in that file, where one applies.
    pub line: Option<u64>,
    /// What is wrong.
    pub problem: String,
    /// What the user should do about it.
    pub fix: String,
}

impl InputError {
    /// A problem with a flag or setting rather than a file.
    pub fn flag(problem: impl Into<String>, fix: impl Into<String>) -> Self {
        InputError {
            path: None,
            line: None,
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    /// A problem in a file, optionally at a line.
    pub fn file(
        path: &Path,
        line: Option<u64>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        InputError {
            path: Some(path.to_path_buf()),
            line,
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, self.line) {
            (Some(p), Some(l)) => write!(f, "{}, line {}: ", p.display(), l)?,
            (Some(p), None) => write!(f, "{}: ", p.display())?,
            _ => {}
        }
        write!(f, "{}. Fix: {}", self.problem, self.fix)
    }
}

impl std::error::Error for InputError {}

/// Library result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
