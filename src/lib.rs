//! codeframe codes open-ended survey answers as a batch pipeline:
//!
//! ```text
//! answers (CSV/TSV/XLSX) → ingest → embed → cluster → describe ─┐
//!                                        └→ frame: fit / apply ──┼→ evaluate / agree → report
//! ```
//!
//! Each stage is a module. `cli` holds the raw flags, `config` the checked settings built from
//! them, `commands` one short flow per sub-command, and `rundir` the typed contract of what a
//! run leaves on disk; `main.rs` only parses flags, calls [`commands::run`] and maps errors to
//! exit codes.

pub mod agree;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod crosstab;
pub mod describe;
pub mod embed;
pub mod error;
pub mod evaluate;
pub mod fit;
pub mod frame;
pub mod fsio;
pub mod ingest;
pub mod language;
pub mod manifest;
pub mod progress;
pub mod report;
pub mod review;
pub mod rundir;
pub mod status;
pub mod vector;

pub use error::{Error, InputError, Result};
