//! Embedding engine: turns answers into L2-normalised vectors, embedding each distinct text
//! once and reusing vectors from a disk cache.
//!
//! Backends implement [`Embedder`]: `minilm` (all-MiniLM-L6-v2 on libtorch) and `tfidf` (a
//! light baseline). [`embed_texts`] deduplicates, consults the cache, calls the backend on
//! what is left and restores the input order.

pub mod bert;
pub mod cache;
pub mod cpu;
pub mod minilm;
pub mod model_dir;
pub mod spec;
pub mod tfidf;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use crate::error::Result;
use crate::progress::Progress;

pub use cache::Cache;
pub use minilm::{MiniLm, MiniLmOptions};
pub use tfidf::Tfidf;

/// Numeric precision of the model's forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    /// 32-bit floats (the reference).
    F32,
    /// bfloat16 weights and activations; pooling in f32.
    Bf16,
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        })
    }
}

impl FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "f32" => Ok(Precision::F32),
            "bf16" => Ok(Precision::Bf16),
            _ => Err(format!("unknown precision \"{s}\" (use f32 or bf16)")),
        }
    }
}

/// Vectors for some texts: row `i` belongs to text `i`.
#[derive(Debug, Clone, PartialEq)]
pub struct Vectors {
    /// Columns.
    pub dim: usize,
    /// Row-major values, `rows * dim` of them.
    pub data: Vec<f32>,
    /// Whether text `i` was cut to the model's window.
    pub truncated: Vec<bool>,
}

impl Vectors {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.truncated.len()
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

/// A backend that embeds distinct texts.
pub trait Embedder {
    /// Short name, e.g. `minilm`.
    fn name(&self) -> &str;
    /// Cache namespace (model checksum, precision, window); `None` when vectors depend on the
    /// whole batch and cannot be cached per text.
    fn cache_key(&self) -> Option<String>;
    /// Embeds `texts`; the result's row `i` is `texts[i]`, L2-normalised.
    fn embed(&mut self, texts: &[&str], progress: &Progress) -> Result<Vectors>;
}

/// What an embedding run did, for the summary line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EmbedSummary {
    /// Input rows.
    pub rows: usize,
    /// Distinct texts among them.
    pub unique: usize,
    /// Distinct texts found in the cache.
    pub cache_hits: usize,
    /// Distinct texts the backend embedded.
    pub embedded: usize,
    /// Rows whose text was cut to the model's window.
    pub truncated_rows: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl fmt::Display for EmbedSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rate = if self.seconds > 0.0 {
            self.rows as f64 / self.seconds
        } else {
            0.0
        };
        write!(
            f,
            "{} rows, {} unique texts, {} cache hits, {} embedded, {} truncated, {:.2} s, {:.0} answers/s",
            self.rows, self.unique, self.cache_hits, self.embedded, self.truncated_rows, self.seconds, rate
        )
    }
}

/// Embeds every text (row order kept), each distinct text once, using `cache` when given.
pub fn embed_texts(
    embedder: &mut dyn Embedder,
    texts: &[&str],
    cache: Option<&mut Cache>,
    progress: &Progress,
) -> Result<(Vectors, EmbedSummary)> {
    let start = Instant::now();
    // Distinct texts in first-seen order, and each row's index into them.
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut unique: Vec<&str> = Vec::new();
    let slot: Vec<usize> = texts
        .iter()
        .map(|t| {
            *index.entry(t).or_insert_with(|| {
                unique.push(t);
                unique.len() - 1
            })
        })
        .collect();

    let key = embedder.cache_key();
    let mut found: Vec<Option<(Vec<f32>, bool)>> = vec![None; unique.len()];
    let mut cache = match (cache, &key) {
        (Some(c), Some(k)) => Some((c, k.clone())),
        _ => None,
    };
    if let Some((c, k)) = cache.as_mut() {
        for (i, t) in unique.iter().enumerate() {
            found[i] = c.get(k, t)?;
        }
    }
    let missing: Vec<usize> = (0..unique.len()).filter(|&i| found[i].is_none()).collect();
    let cache_hits = unique.len() - missing.len();
    let fresh = if missing.is_empty() {
        None
    } else {
        let batch: Vec<&str> = missing.iter().map(|&i| unique[i]).collect();
        Some(embedder.embed(&batch, progress)?)
    };
    if let (Some((c, k)), Some(v)) = (cache.as_mut(), &fresh) {
        let entries: Vec<(&str, &[f32], bool)> = missing
            .iter()
            .enumerate()
            .map(|(j, &i)| (unique[i], v.row(j), v.truncated[j]))
            .collect();
        c.put(k, &entries)?;
    }
    let dim = match (&fresh, found.iter().flatten().next()) {
        (Some(v), _) => v.dim,
        (None, Some((row, _))) => row.len(),
        (None, None) => 0,
    };
    if let Some(v) = fresh {
        for (j, &i) in missing.iter().enumerate() {
            found[i] = Some((v.row(j).to_vec(), v.truncated[j]));
        }
    }
    let mut data = Vec::with_capacity(texts.len() * dim);
    let mut truncated = Vec::with_capacity(texts.len());
    for &s in &slot {
        if let Some((row, cut)) = &found[s] {
            data.extend_from_slice(row);
            truncated.push(*cut);
        }
    }
    let summary = EmbedSummary {
        rows: texts.len(),
        unique: unique.len(),
        cache_hits,
        embedded: missing.len(),
        truncated_rows: truncated.iter().filter(|&&t| t).count(),
        seconds: start.elapsed().as_secs_f64(),
    };
    Ok((
        Vectors {
            dim,
            data,
            truncated,
        },
        summary,
    ))
}

/// Scales each row of a row-major matrix to unit length (zero rows stay zero).
pub fn l2_normalise(data: &mut [f32], dim: usize) {
    if dim == 0 {
        return;
    }
    for row in data.chunks_mut(dim) {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|v| *v /= norm);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts calls and texts so tests can see deduplication and caching.
    struct Counting {
        calls: usize,
        seen: Vec<String>,
    }

    impl Embedder for Counting {
        fn name(&self) -> &str {
            "counting"
        }
        fn cache_key(&self) -> Option<String> {
            Some("counting-v1".into())
        }
        fn embed(&mut self, texts: &[&str], _: &Progress) -> Result<Vectors> {
            self.calls += 1;
            self.seen.extend(texts.iter().map(|t| t.to_string()));
            let mut data: Vec<f32> = texts.iter().flat_map(|t| [t.len() as f32, 1.0]).collect();
            l2_normalise(&mut data, 2);
            Ok(Vectors {
                dim: 2,
                data,
                truncated: texts.iter().map(|t| t.len() > 5).collect(),
            })
        }
    }

    #[test]
    fn duplicates_are_embedded_once_and_order_is_kept() {
        let mut e = Counting {
            calls: 0,
            seen: vec![],
        };
        let texts = ["bb", "a", "bb", "cccccccc", "a"];
        let (v, s) = embed_texts(&mut e, &texts, None, &Progress::silent()).unwrap();
        assert_eq!(e.seen, vec!["bb", "a", "cccccccc"]);
        assert_eq!(s.unique, 3);
        assert_eq!(s.truncated_rows, 1);
        assert_eq!(v.row(0), v.row(2));
        assert_eq!(v.row(1), v.row(4));
        assert_ne!(v.row(0), v.row(1));
    }

    #[test]
    fn cached_texts_are_not_embedded_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = Cache::open(dir.path()).unwrap();
        let mut e = Counting {
            calls: 0,
            seen: vec![],
        };
        let (first, _) =
            embed_texts(&mut e, &["x", "y"], Some(&mut cache), &Progress::silent()).unwrap();
        let mut cache = Cache::open(dir.path()).unwrap();
        let (second, s) = embed_texts(
            &mut e,
            &["y", "z", "x"],
            Some(&mut cache),
            &Progress::silent(),
        )
        .unwrap();
        assert_eq!(s.cache_hits, 2);
        assert_eq!(e.seen, vec!["x", "y", "z"]);
        assert_eq!(second.row(0), first.row(1));
        assert_eq!(second.row(2), first.row(0));
    }
}
