//! codeframe codes open-ended survey answers as a batch pipeline:
//!
//! ```text
//! answers (CSV/TSV) → ingest → embed → cluster → describe ─┐
//!                                   └→ frame: fit / apply ──┼→ evaluate / agree → report
//! ```
//!
//! Each stage is a module; `app` wires them into the `codeframe` sub-commands and `main.rs`
//! only parses flags, calls [`app::run`] and maps errors to exit codes.

pub mod agree;
pub mod app;
pub mod cli;
pub mod cluster;
pub mod coding;
pub mod config;
pub mod describe;
pub mod discover;
pub mod embed;
pub mod error;
pub mod evaluate;
pub mod fit;
pub mod frame;
pub mod fsio;
pub mod ingest;
pub mod manifest;
pub mod progress;
pub mod report;

pub use error::{Error, InputError, Result};
