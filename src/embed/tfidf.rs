//! TF-IDF embedder: a light, model-free baseline for comparisons and fast tests.
//!
//! Lower-cased word tokens (letters and digits, two characters or more), sublinear term
//! frequency, smoothed IDF, the `max_features` terms with the highest document frequency
//! (ties by term), rows L2-normalised. The vocabulary is learned from the texts it embeds,
//! so its vectors are not cached.

use std::collections::{BTreeMap, HashMap};

use indicatif::ProgressBar;

use super::{l2_normalise, Embedder, Vectors};
use crate::error::Result;

/// The TF-IDF backend.
#[derive(Debug, Clone)]
pub struct Tfidf {
    /// Largest vocabulary kept.
    pub max_features: usize,
}

impl Default for Tfidf {
    fn default() -> Self {
        Tfidf { max_features: 4096 }
    }
}

/// Word tokens of a text, lower-cased.
pub fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| t.chars().count() >= 2)
        .map(|t| t.to_lowercase())
}

impl Embedder for Tfidf {
    fn name(&self) -> &str {
        "tfidf"
    }

    fn cache_key(&self) -> Option<String> {
        None
    }

    fn dim(&self) -> Option<usize> {
        None
    }

    fn embed_with_bar(&mut self, texts: &[&str], bar: &ProgressBar) -> Result<Vectors> {
        let docs: Vec<BTreeMap<String, u32>> = texts
            .iter()
            .map(|t| {
                let mut counts = BTreeMap::new();
                for tok in tokens(t) {
                    *counts.entry(tok).or_insert(0) += 1;
                }
                counts
            })
            .collect();
        let mut df: HashMap<&str, usize> = HashMap::new();
        for d in &docs {
            for term in d.keys() {
                *df.entry(term.as_str()).or_insert(0) += 1;
            }
        }
        let mut vocab: Vec<(&str, usize)> = df.into_iter().collect();
        vocab.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        vocab.truncate(self.max_features);
        vocab.sort_by(|a, b| a.0.cmp(b.0));
        let column: HashMap<&str, usize> = vocab
            .iter()
            .enumerate()
            .map(|(i, (t, _))| (*t, i))
            .collect();
        let n = texts.len() as f32;
        let idf: Vec<f32> = vocab
            .iter()
            .map(|(_, df)| ((1.0 + n) / (1.0 + *df as f32)).ln() + 1.0)
            .collect();
        let dim = vocab.len().max(1);
        let mut data = vec![0f32; texts.len() * dim];
        for (i, d) in docs.iter().enumerate() {
            for (term, &tf) in d {
                if let Some(&j) = column.get(term.as_str()) {
                    data[i * dim + j] = (1.0 + (tf as f32).ln()) * idf[j];
                }
            }
        }
        l2_normalise(&mut data, dim);
        bar.inc(texts.len() as u64);
        Ok(Vectors {
            dim,
            data,
            truncated: vec![false; texts.len()],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Progress;

    #[test]
    fn similar_texts_are_closer() {
        let mut t = Tfidf::default();
        let v = t
            .embed(
                &[
                    "funding for clusters",
                    "cluster funding calls",
                    "webinar recordings",
                ],
                &Progress::silent(),
            )
            .unwrap();
        let dot =
            |a: usize, b: usize| -> f32 { v.row(a).iter().zip(v.row(b)).map(|(x, y)| x * y).sum() };
        assert!(dot(0, 1) > dot(0, 2));
        assert!((dot(0, 0) - 1.0).abs() < 1e-5);
    }
}
