//! Embedding engine: turns answers into L2-normalised vectors, embedding each distinct text
//! once and reusing vectors from a disk cache.
//!
//! Backends implement [`Embedder`]: `minilm` (all-MiniLM-L6-v2 on libtorch) and `tfidf` (a
//! light baseline). [`embed_texts`] deduplicates, consults the cache, calls the backend on
//! what is left in chunks, storing each chunk in the cache as soon as it is embedded, and
//! restores the input order.

pub mod align;
pub mod bert;
pub mod cache;
pub mod cpu;
#[cfg(test)]
pub mod fake;
pub mod int8;
pub mod model_dir;
mod native;
pub mod sentence;
pub mod spec;
pub mod st_folder;
pub mod tfidf;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use indicatif::ProgressBar;

use crate::error::{Error, Result};
use crate::progress::Progress;

pub use cache::Cache;
pub use sentence::{SentenceModel, SentenceOptions};
pub use tfidf::Tfidf;

/// Numeric precision of the model's forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    /// 32-bit floats (the reference).
    F32,
    /// bfloat16 weights and activations; pooling in f32.
    Bf16,
    /// int8 weights and activations in the dense layers (per-row activation scales, a few
    /// outlier channels in f32); everything else in f32.
    Int8,
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::Int8 => "int8",
        })
    }
}

impl FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "f32" => Ok(Precision::F32),
            "bf16" => Ok(Precision::Bf16),
            "int8" => Ok(Precision::Int8),
            _ => Err(format!("unknown precision \"{s}\" (use f32, bf16 or int8)")),
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
    /// Width of every vector, when known before embedding; the cache is used only when both
    /// this and [`Embedder::cache_key`] are known, and checks every cached vector against it.
    fn dim(&self) -> Option<usize>;
    /// Embeds `texts`, advancing `bar` by one per text; the result's row `i` is `texts[i]`,
    /// L2-normalised. The caller owns the bar, which may span several calls.
    fn embed_with_bar(&mut self, texts: &[&str], bar: &ProgressBar) -> Result<Vectors>;
    /// Embeds `texts` under a bar of its own.
    fn embed(&mut self, texts: &[&str], progress: &Progress) -> Result<Vectors> {
        let bar = progress.bar(texts.len() as u64, "embedding");
        let out = self.embed_with_bar(texts, &bar);
        bar.finish_and_clear();
        out
    }
}

/// Distinct texts embedded per call when a cache is used; each chunk is stored as soon as it
/// is embedded, so an interrupted run keeps all but the last few seconds of work (MiniLM does
/// 400–700 answers/s on two cores, see BENCHMARKS.md), for one sync of each shard per chunk.
pub const CHUNK_TEXTS: usize = 4096;

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
    /// Embedded vectors now stored in the cache.
    pub stored: usize,
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
            "{} rows, {} unique texts, {} cache hits, {} embedded, {} stored, {} truncated, {:.2} s, {:.0} answers/s",
            self.rows,
            self.unique,
            self.cache_hits,
            self.embedded,
            self.stored,
            self.truncated_rows,
            self.seconds,
            rate
        )
    }
}

/// Embeds every text (row order kept), each distinct text once, using `cache` when given and
/// the embedder is cacheable; missing texts go [`CHUNK_TEXTS`] at a time, each chunk stored
/// durably before the next.
pub fn embed_texts(
    embedder: &mut dyn Embedder,
    texts: &[&str],
    cache: Option<&mut Cache>,
    progress: &Progress,
) -> Result<(Vectors, EmbedSummary)> {
    embed_texts_chunked(embedder, texts, cache, progress, CHUNK_TEXTS)
}

/// [`embed_texts`] with `chunk` texts per call of the backend (used only with a cache:
/// without one, all missing texts go in one call, as batch-dependent backends need).
pub fn embed_texts_chunked(
    embedder: &mut dyn Embedder,
    texts: &[&str],
    cache: Option<&mut Cache>,
    progress: &Progress,
    chunk: usize,
) -> Result<(Vectors, EmbedSummary)> {
    let start = Instant::now();
    let (unique, slot) = distinct(texts);
    let mut store = match (cache, embedder.cache_key(), embedder.dim()) {
        (Some(cache), Some(namespace), Some(dim)) => Some(Store {
            cache,
            namespace,
            dim,
        }),
        _ => None,
    };
    // Vectors go straight into their rows: no second copy of the matrix, whatever its size.
    let mut out = Matrix::new(&slot, unique.len(), embedder.dim());
    let mut have = vec![false; unique.len()];
    if let Some(s) = store.as_mut() {
        s.cache
            .take_each(&s.namespace, s.dim, &unique, progress, |u, v, cut| {
                out.put(u, v, cut);
                have[u] = true;
            })?;
    }
    let missing: Vec<usize> = (0..unique.len()).filter(|&u| !have[u]).collect();
    let chunk = if store.is_some() {
        chunk.max(1)
    } else {
        usize::MAX
    };
    let mut dim = embedder.dim();
    let mut stored = 0;
    let bar = progress.bar(missing.len() as u64, "embedding");
    for part in missing.chunks(chunk) {
        let batch: Vec<&str> = part.iter().map(|&i| unique[i]).collect();
        let fresh = embedder
            .embed_with_bar(&batch, &bar)
            .and_then(|v| check_shape(embedder.name(), v, batch.len(), &mut dim));
        let fresh = match fresh {
            Ok(v) => v,
            Err(e) => {
                bar.abandon();
                return Err(e);
            }
        };
        if let Some(s) = store.as_mut() {
            let entries: Vec<(&str, &[f32], bool)> = (0..part.len())
                .map(|j| (batch[j], fresh.row(j), fresh.truncated[j]))
                .collect();
            // Hide the bar while the cache may print a detail line.
            stored += bar.suspend(|| s.cache.put(&s.namespace, s.dim, &entries, progress))?;
        }
        for (j, &u) in part.iter().enumerate() {
            out.put(u, fresh.row(j), fresh.truncated[j]);
        }
    }
    bar.finish_and_clear();
    let vectors = out.finish(dim.unwrap_or(0));
    let summary = EmbedSummary {
        rows: texts.len(),
        unique: unique.len(),
        cache_hits: unique.len() - missing.len(),
        embedded: missing.len(),
        stored,
        truncated_rows: vectors.truncated.iter().filter(|&&t| t).count(),
        seconds: start.elapsed().as_secs_f64(),
    };
    Ok((vectors, summary))
}

/// The output matrix filled one distinct text at a time: each vector is copied into every row
/// holding that text (rows of a text linked through `next`).
struct Matrix {
    head: Vec<usize>,
    next: Vec<usize>,
    dim: Option<usize>,
    data: Vec<f32>,
    truncated: Vec<bool>,
}

impl Matrix {
    fn new(slot: &[usize], distinct: usize, dim: Option<usize>) -> Self {
        let (mut head, mut next) = (vec![usize::MAX; distinct], vec![usize::MAX; slot.len()]);
        for (row, &u) in slot.iter().enumerate().rev() {
            next[row] = head[u];
            head[u] = row;
        }
        let mut m = Matrix {
            head,
            next,
            dim: None,
            data: Vec::new(),
            truncated: vec![false; slot.len()],
        };
        if let Some(d) = dim {
            m.allocate(d);
        }
        m
    }

    fn allocate(&mut self, dim: usize) {
        self.dim = Some(dim);
        self.data = vec![0.0; self.truncated.len() * dim];
    }

    fn put(&mut self, u: usize, v: &[f32], cut: bool) {
        if self.dim.is_none() {
            self.allocate(v.len());
        }
        let dim = v.len();
        let mut row = self.head[u];
        while row != usize::MAX {
            self.data[row * dim..(row + 1) * dim].copy_from_slice(v);
            self.truncated[row] = cut;
            row = self.next[row];
        }
    }

    fn finish(self, dim: usize) -> Vectors {
        Vectors {
            dim: self.dim.unwrap_or(dim),
            data: self.data,
            truncated: self.truncated,
        }
    }
}

/// Where an embedding run keeps its vectors.
struct Store<'a> {
    cache: &'a mut Cache,
    namespace: String,
    dim: usize,
}

/// Distinct texts in first-seen order, and each row's index into them.
fn distinct<'t>(texts: &[&'t str]) -> (Vec<&'t str>, Vec<usize>) {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut unique: Vec<&str> = Vec::new();
    let slot = texts
        .iter()
        .map(|&t| {
            *index.entry(t).or_insert_with(|| {
                unique.push(t);
                unique.len() - 1
            })
        })
        .collect();
    (unique, slot)
}

/// Checks a backend's output for `rows` texts: one flag per row, `rows * dim` values, and the
/// same width as the embedder announced (or as its earlier chunks), so rows of different
/// widths never end up in one matrix.
fn check_shape(name: &str, v: Vectors, rows: usize, dim: &mut Option<usize>) -> Result<Vectors> {
    let want = dim.unwrap_or(v.dim);
    if v.dim == want && v.truncated.len() == rows && v.data.len() == rows * want {
        *dim = Some(want);
        return Ok(v);
    }
    let problem = format!(
        "it returned {} values and {} flags of width {} for {rows} texts, expected width {want}",
        v.data.len(),
        v.truncated.len(),
        v.dim
    );
    Err(Error::Embed {
        backend: name.to_string(),
        problem,
    })
}

pub use crate::vector::l2_normalise;

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts calls and texts so tests can see deduplication, chunks and caching; fails on
    /// call `fail_on` (1-based) or answers with `width` columns when told to.
    struct Counting {
        calls: usize,
        seen: Vec<String>,
        fail_on: Option<usize>,
        width: usize,
    }

    fn counting() -> Counting {
        Counting {
            calls: 0,
            seen: vec![],
            fail_on: None,
            width: 2,
        }
    }

    impl Embedder for Counting {
        fn name(&self) -> &str {
            "counting"
        }
        fn cache_key(&self) -> Option<String> {
            Some("counting-v1".into())
        }
        fn dim(&self) -> Option<usize> {
            Some(2)
        }
        fn embed_with_bar(&mut self, texts: &[&str], bar: &ProgressBar) -> Result<Vectors> {
            self.calls += 1;
            if self.fail_on == Some(self.calls) {
                return Err(Error::Cluster("the backend failed".into()));
            }
            self.seen.extend(texts.iter().map(|t| t.to_string()));
            let w = self.width;
            let mut data: Vec<f32> = texts
                .iter()
                .flat_map(|t| (0..w).map(move |k| if k == 0 { t.len() as f32 } else { 1.0 }))
                .collect();
            l2_normalise(&mut data, w);
            bar.inc(texts.len() as u64);
            Ok(Vectors {
                dim: w,
                data,
                truncated: texts.iter().map(|t| t.len() > 5).collect(),
            })
        }
    }

    fn words(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("answer {i}")).collect()
    }

    #[test]
    fn duplicates_are_embedded_once_and_order_is_kept() {
        let mut e = counting();
        let texts = ["bb", "a", "bb", "cccccccc", "a"];
        let (v, s) = embed_texts(&mut e, &texts, None, &Progress::silent()).unwrap();
        assert_eq!(e.seen, vec!["bb", "a", "cccccccc"]);
        assert_eq!(s.unique, 3);
        assert_eq!(s.truncated_rows, 1);
        assert_eq!(s.stored, 0);
        assert_eq!(v.row(0), v.row(2));
        assert_eq!(v.row(1), v.row(4));
        assert_ne!(v.row(0), v.row(1));
    }

    #[test]
    fn cached_texts_are_not_embedded_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = Cache::open(dir.path()).unwrap();
        let mut e = counting();
        let (first, s) =
            embed_texts(&mut e, &["x", "y"], Some(&mut cache), &Progress::silent()).unwrap();
        assert_eq!((s.embedded, s.stored), (2, 2));
        let mut cache = Cache::open(dir.path()).unwrap();
        let (second, s) = embed_texts(
            &mut e,
            &["y", "z", "x"],
            Some(&mut cache),
            &Progress::silent(),
        )
        .unwrap();
        assert_eq!((s.cache_hits, s.embedded, s.stored), (2, 1, 1));
        assert_eq!(e.seen, vec!["x", "y", "z"]);
        assert_eq!(second.row(0), first.row(1));
        assert_eq!(second.row(2), first.row(0));
    }

    #[test]
    fn chunks_are_stored_as_they_go_and_a_failure_keeps_the_finished_ones() {
        let dir = tempfile::tempdir().unwrap();
        let owned = words(10);
        let texts: Vec<&str> = owned.iter().map(String::as_str).collect();
        let mut e = Counting {
            fail_on: Some(3),
            ..counting()
        };
        let mut cache = Cache::open(dir.path()).unwrap();
        let quiet = Progress::silent();
        assert!(embed_texts_chunked(&mut e, &texts, Some(&mut cache), &quiet, 3).is_err());
        assert_eq!(cache.stored(), 6);
        let mut cache = Cache::open(dir.path()).unwrap();
        for (i, t) in texts.iter().enumerate() {
            let hit = cache.get("counting-v1", 2, t, &quiet).unwrap();
            assert_eq!(hit.is_some(), i < 6, "text {i}");
        }
        // The rerun embeds only what the failed run had not stored, in chunks of 3.
        let mut e = counting();
        let (v, s) = embed_texts_chunked(&mut e, &texts, Some(&mut cache), &quiet, 3).unwrap();
        assert_eq!((s.cache_hits, s.embedded, s.stored), (6, 4, 4));
        assert_eq!(e.calls, 2);
        assert_eq!(e.seen, &owned[6..]);
        assert_eq!((v.rows(), v.dim, v.data.len()), (10, 2, 20));
    }

    #[test]
    fn without_a_cache_all_missing_texts_go_in_one_call() {
        let owned = words(10);
        let texts: Vec<&str> = owned.iter().map(String::as_str).collect();
        let mut e = counting();
        let (v, s) = embed_texts_chunked(&mut e, &texts, None, &Progress::silent(), 3).unwrap();
        assert_eq!((e.calls, s.embedded, v.rows()), (1, 10, 10));
    }

    #[test]
    fn cached_vectors_of_another_width_are_misses_and_never_reach_the_matrix() {
        // The reported case: vectors of width 3 cached under a namespace of width 2.
        let dir = tempfile::tempdir().unwrap();
        let mut cache = Cache::open(dir.path()).unwrap();
        let quiet = Progress::silent();
        let v3 = [0.6f32, 0.0, 0.8];
        let entries: Vec<(&str, &[f32], bool)> = vec![("x", &v3, false), ("y", &v3, false)];
        assert_eq!(cache.put("counting-v1", 3, &entries, &quiet).unwrap(), 2);
        let mut cache = Cache::open(dir.path()).unwrap();
        let mut e = counting();
        let (v, s) = embed_texts(&mut e, &["x", "y", "x", "w"], Some(&mut cache), &quiet).unwrap();
        assert_eq!((s.cache_hits, s.embedded), (0, 3));
        assert_eq!((v.rows(), v.dim, v.data.len()), (4, 2, 8));
        assert!(!cache.warnings().is_empty());
    }

    #[test]
    fn a_backend_of_the_wrong_width_is_an_error_not_a_mixed_matrix() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = Cache::open(dir.path()).unwrap();
        let mut e = Counting {
            width: 3,
            ..counting()
        };
        let err = embed_texts(&mut e, &["x"], Some(&mut cache), &Progress::silent())
            .unwrap_err()
            .to_string();
        assert!(err.contains("counting"), "{err}");
        assert_eq!(cache.stored(), 0);
    }

    #[test]
    fn vectors_that_are_not_unit_length_are_not_stored() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = Cache::open(dir.path()).unwrap();
        let zero = [0f32, 0.0];
        let nan = [f32::NAN, 0.0];
        let long = [1f32, 1.0];
        let good = [0f32, 1.0];
        let entries: Vec<(&str, &[f32], bool)> = vec![
            ("zero", &zero, false),
            ("nan", &nan, false),
            ("long", &long, false),
            ("good", &good, false),
        ];
        let quiet = Progress::silent();
        assert_eq!(cache.put("counting-v1", 2, &entries, &quiet).unwrap(), 1);
        let mut cache = Cache::open(dir.path()).unwrap();
        for t in ["zero", "nan", "long"] {
            assert_eq!(cache.get("counting-v1", 2, t, &quiet).unwrap(), None);
        }
        assert!(cache
            .get("counting-v1", 2, "good", &quiet)
            .unwrap()
            .is_some());
    }
}
