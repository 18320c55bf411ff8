//! Manifest: what every run records so it can be rerun and checked — inputs' hashes, model
//! checksum, parameters, seed and tool version.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Result;

/// SHA-256 of some bytes, as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The record of one run. Maps are ordered so the file is stable.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// Always "codeframe".
    pub tool: String,
    /// The tool's version.
    pub version: String,
    /// The sub-command that ran.
    pub command: String,
    /// Input files by path, with their SHA-256.
    pub inputs: BTreeMap<String, String>,
    /// The embedding model, when one was used.
    pub model: Option<ModelRecord>,
    /// Every parameter that shaped the output.
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// The seed driving every random step, when the command has any.
    pub seed: Option<u64>,
    /// Files the run wrote.
    pub outputs: Vec<String>,
    /// For a run that writes a folder: SHA-256 of each of its files, by name, so a reader can
    /// tell that every file comes from this run.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
}

/// Which model produced the vectors.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelRecord {
    /// Model name.
    pub name: String,
    /// Checksum over the model's files.
    pub checksum: String,
    /// Prompt prefix put before every text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
}

impl Manifest {
    /// A manifest for `command` with nothing recorded yet.
    pub fn new(command: &str) -> Self {
        Manifest {
            tool: "codeframe".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            command: command.into(),
            inputs: BTreeMap::new(),
            model: None,
            parameters: BTreeMap::new(),
            seed: None,
            outputs: Vec::new(),
            files: BTreeMap::new(),
        }
    }

    /// Records an input file by its SHA-256.
    pub fn input(&mut self, path: &Path, sha256: &str) -> &mut Self {
        self.inputs
            .insert(path.display().to_string(), sha256.to_string());
        self
    }

    /// Records an input file, reading it to hash it.
    pub fn input_file(&mut self, path: &Path) -> Result<&mut Self> {
        let sha = sha256_hex(&crate::fsio::read(path)?);
        Ok(self.input(path, &sha))
    }

    /// Records a parameter.
    pub fn param(&mut self, key: &str, value: impl Into<serde_json::Value>) -> &mut Self {
        self.parameters.insert(key.into(), value.into());
        self
    }
}
