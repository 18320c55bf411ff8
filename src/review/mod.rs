//! The review workspace: a person turns discovered groups into a code frame, checks the
//! uncertain answers, second-codes a blind sample and adjudicates — in the browser, on this
//! machine, over one SQLite store beside the run (`review.sqlite`).
//!
//! `store` keeps every decision as a row; `edit` changes the frame; `query` reads pages for the
//! browser; `second` draws samples and measures agreement; `export` writes the frame and the
//! coded answers; `server` serves the page and the HTTP API on 127.0.0.1.

pub mod edit;
pub mod export;
pub mod import;
pub mod query;
pub mod schema;
pub mod second;
pub mod server;
pub mod store;

pub use edit::Edit;
pub use import::Seed;
pub use store::{Source, Store, ADJUDICATION, MACHINE};

/// The store's file name inside the folder.
pub const STORE_FILE: &str = "review.sqlite";

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("the review store failed")]
    Sql(#[from] rusqlite::Error),
    /// The store was written by a newer codeframe.
    #[error("the review store has schema version {found}; this codeframe reads up to {known}")]
    Newer {
        /// Its version.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
    /// A write based on a stale page.
    #[error("{0}")]
    Conflict(String),
    /// A request that does not fit the store (no such code, empty label, …).
    #[error("{0}")]
    Invalid(String),
}

/// The files `codeframe review --export` writes, by name.
pub fn export_files(store: &Store) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let mut files = vec![
        ("frame.toml".to_string(), store.frame_toml()?.into_bytes()),
        ("coded.csv".to_string(), store.coded_csv()?),
        ("codings.csv".to_string(), store.codings_csv()?),
    ];
    let mut st = store
        .conn
        .prepare("SELECT DISTINCT coder FROM samples ORDER BY coder")?;
    let coders = st
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    for c in coders {
        files.push((
            format!("sample-{}.csv", file_safe(&c)),
            store.sample_csv(&c)?,
        ));
    }
    Ok(files)
}

/// A coder's name as part of a file name.
pub fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
