//! Models as data, and the one builder of embedders.
//!
//! A [`ModelSpec`] says everything codeframe needs to know about a sentence-embedding model:
//! its names, the folder set-up installs it into, its committed checksum manifest and the files
//! a run reads. An [`EmbedderSpec`] is a checked choice of backend and its settings;
//! [`EmbedderSpec::build`] loads the model, opens the cache and returns a [`Loaded`] embedder
//! that commands use without knowing which backend it is (tests pass a fake instead).

use std::collections::BTreeMap;
use std::path::PathBuf;

use tch::Device;

use super::minilm::{Forward, MiniLm, MiniLmOptions};
use super::{Cache, Embedder, Precision, Tfidf};
use crate::error::Result;
use crate::manifest::{Manifest, ModelRecord};

/// A sentence-embedding model codeframe can load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    /// Name as published, recorded in manifests and frames.
    pub published: &'static str,
    /// Folder under `models/` that set-up installs it into.
    pub folder: &'static str,
    /// Its `sha256sum`-format checksum manifest, committed as `models/<folder>.sha256`.
    pub checksums: &'static str,
    /// Files a run reads (`model.safetensors` only when writing `rust_model.ot`).
    pub runtime_files: &'static [&'static str],
}

impl ModelSpec {
    /// How to get the model when its folder is missing or altered.
    pub fn install_fix(&self) -> String {
        format!(
            "run scripts/setup.sh, which installs the model into models/{}, or pass --model-dir",
            self.folder
        )
    }
}

/// all-MiniLM-L6-v2: the English model (384 dimensions, 256-token window).
pub const MINILM: ModelSpec = ModelSpec {
    published: "sentence-transformers/all-MiniLM-L6-v2",
    folder: "all-MiniLM-L6-v2",
    checksums: include_str!("../../models/all-MiniLM-L6-v2.sha256"),
    runtime_files: &[
        "config.json",
        "modules.json",
        "sentence_bert_config.json",
        "tokenizer_config.json",
        "vocab.txt",
        "1_Pooling/config.json",
        "rust_model.ot",
    ],
};

/// Every model codeframe knows.
pub const MODELS: &[&ModelSpec] = &[&MINILM];

/// Which backend embeds, with its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum Backend {
    /// A sentence-transformers model on libtorch.
    Sentence {
        /// The model.
        model: &'static ModelSpec,
        /// Its folder.
        dir: PathBuf,
        /// Where the forward runs.
        device: Device,
        /// f32 or bf16.
        precision: Precision,
        /// Most texts per forward pass.
        batch_size: usize,
        /// Most padded tokens per forward pass.
        batch_tokens: usize,
        /// Fused or reference forward.
        forward: Forward,
    },
    /// TF-IDF vectors learned from the input (a model-free baseline).
    Tfidf,
}

/// A checked choice of embedder: backend, threads and cache folder.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedderSpec {
    /// Backend and its settings.
    pub backend: Backend,
    /// libtorch threads.
    pub threads: usize,
    /// Cache folder, unless caching is off.
    pub cache_dir: Option<PathBuf>,
    /// Texts embedded between two writes to the cache ([`super::CHUNK_TEXTS`] by default).
    pub cache_every: usize,
}

impl EmbedderSpec {
    /// Whether the vectors are sentence embeddings (what a code frame works on).
    pub fn is_sentence_model(&self) -> bool {
        matches!(self.backend, Backend::Sentence { .. })
    }

    /// The precision of the forward pass (f32 for model-free backends).
    pub fn precision(&self) -> Precision {
        match self.backend {
            Backend::Sentence { precision, .. } => precision,
            Backend::Tfidf => Precision::F32,
        }
    }

    /// The same spec at another precision (a frame fixes the precision it was calibrated at).
    pub fn with_precision(mut self, p: Precision) -> Self {
        if let Backend::Sentence { precision, .. } = &mut self.backend {
            *precision = p;
        }
        self
    }

    /// Loads the model (checking its files) and opens the cache.
    pub fn build(&self) -> Result<Loaded> {
        tch::set_num_threads(self.threads as i32);
        let mut params = BTreeMap::new();
        let (embedder, model): (Box<dyn Embedder>, _) = match &self.backend {
            Backend::Sentence {
                model,
                dir,
                device,
                precision,
                batch_size,
                batch_tokens,
                forward,
            } => {
                let m = MiniLm::load(MiniLmOptions {
                    model_dir: dir.clone(),
                    device: *device,
                    precision: *precision,
                    batch_size: *batch_size,
                    batch_tokens: *batch_tokens,
                    forward: *forward,
                })?;
                let record = ModelRecord {
                    name: model.published.into(),
                    checksum: m.model().checksum.clone(),
                };
                for (k, v) in [
                    ("max_tokens", m.max_len().into()),
                    ("precision", precision.to_string().into()),
                    ("device", format!("{device:?}").into()),
                    ("batch_size", (*batch_size).into()),
                    ("batch_tokens", (*batch_tokens).into()),
                    ("forward", format!("{forward:?}").into()),
                ] {
                    params.insert(k.to_string(), v);
                }
                (Box::new(m), Some(record))
            }
            Backend::Tfidf => (Box::new(Tfidf::default()), None),
        };
        params.insert("embedder".into(), embedder.name().into());
        let cache = match &self.cache_dir {
            Some(d) if embedder.cache_key().is_some() => Some(open_cache(d)?),
            _ => None,
        };
        Ok(Loaded {
            embedder,
            cache,
            cache_every: self.cache_every,
            model,
            params,
        })
    }
}

/// Opens the cache folder; one that cannot be created or written is the user's to fix.
fn open_cache(dir: &std::path::Path) -> Result<Cache> {
    Cache::open(dir).map_err(|e| match e {
        crate::error::Error::Io { source, .. } if crate::fsio::user_fixable(&source) => {
            crate::error::InputError::file(
                dir,
                None,
                format!("cannot use this folder for the embedding cache: {source}"),
                "pass --cache-dir with a folder that can be written, or --no-cache",
            )
            .into()
        }
        other => other,
    })
}

/// An embedder ready to run, its cache, and what a run records about it.
pub struct Loaded {
    /// The backend.
    pub embedder: Box<dyn Embedder>,
    /// The open cache, when caching is on and the backend's vectors can be cached.
    pub cache: Option<Cache>,
    /// Texts embedded between two writes to the cache.
    pub cache_every: usize,
    /// The model, for sentence models.
    pub model: Option<ModelRecord>,
    /// Settings that shaped the vectors, for the run's manifest.
    pub params: BTreeMap<String, serde_json::Value>,
}

impl Loaded {
    /// An embedder built elsewhere (e.g. a test's fake), without cache.
    pub fn from_embedder(embedder: Box<dyn Embedder>, model: Option<ModelRecord>) -> Self {
        let mut params = BTreeMap::new();
        params.insert("embedder".into(), embedder.name().into());
        Loaded {
            embedder,
            cache: None,
            cache_every: super::CHUNK_TEXTS,
            model,
            params,
        }
    }

    /// Embeds `texts` (row order kept) through the cache ([`super::embed_texts`]).
    pub fn embed(
        &mut self,
        texts: &[&str],
        progress: &crate::progress::Progress,
    ) -> Result<(super::Vectors, super::EmbedSummary)> {
        super::embed_texts_chunked(
            self.embedder.as_mut(),
            texts,
            self.cache.as_mut(),
            progress,
            self.cache_every,
        )
    }

    /// Records the model and the embedding settings in a run's manifest.
    pub fn record(&self, manifest: &mut Manifest) {
        manifest.model = self.model.clone();
        for (k, v) in &self.params {
            manifest.param(k, v.clone());
        }
    }
}
