//! Manifest: what every run records so it can be rerun and checked — inputs' hashes, model
//! checksum, parameters, seed and tool version.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
}

/// Which model produced the vectors.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelRecord {
    /// Model name.
    pub name: String,
    /// Checksum over the model's files.
    pub checksum: String,
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
        }
    }

    /// Records a parameter.
    pub fn param(&mut self, key: &str, value: impl Into<serde_json::Value>) -> &mut Self {
        self.parameters.insert(key.into(), value.into());
        self
    }
}
