//! A model-free embedder for fast tests of whole command flows: each word of a text is hashed
//! to one of 64 directions, and a text is the unit sum of its words' directions.

use indicatif::ProgressBar;

use super::{Embedder, Vectors};
use crate::error::Result;
use crate::manifest::{sha256_hex, ModelRecord};
use crate::vector::l2_normalise;

/// Width of the fake vectors.
pub const DIM: usize = 64;

/// Hashes words to directions; texts sharing words point the same way.
#[derive(Debug, Default)]
pub struct WordHash;

/// The model record a fake embedding run writes.
pub fn record() -> ModelRecord {
    ModelRecord {
        name: "fake/word-hash".into(),
        checksum: sha256_hex(b"fake word hash v1"),
        prefix: String::new(),
    }
}

impl Embedder for WordHash {
    fn name(&self) -> &str {
        "word-hash"
    }

    fn cache_key(&self) -> Option<String> {
        Some("word-hash-v1".into())
    }

    fn dim(&self) -> Option<usize> {
        Some(DIM)
    }

    fn embed_with_bar(&mut self, texts: &[&str], bar: &ProgressBar) -> Result<Vectors> {
        let mut data = vec![0f32; texts.len() * DIM];
        for (i, t) in texts.iter().enumerate() {
            let row = &mut data[i * DIM..(i + 1) * DIM];
            let lower = t.to_lowercase();
            let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).collect();
            for w in words.iter().filter(|w| !w.is_empty()) {
                let h = sha256_hex(w.as_bytes());
                let slot = usize::from_str_radix(&h[..4], 16).unwrap_or(0) % DIM;
                row[slot] += 1.0;
            }
            // A text without words still gets a direction of its own.
            row[DIM - 1] += 0.01;
            bar.inc(1);
        }
        l2_normalise(&mut data, DIM);
        Ok(Vectors {
            dim: DIM,
            data,
            truncated: vec![false; texts.len()],
        })
    }
}
