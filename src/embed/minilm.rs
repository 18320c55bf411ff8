//! MiniLM embedder: all-MiniLM-L6-v2 on libtorch. Texts are tokenised with rust-bert's
//! tokenizer, sorted by token count and encoded in batches; the fused forward (`bert`) is the
//! default and rust-bert's `SentenceEmbeddingsModel` the reference. With the fused forward a
//! text's vector is the same bits whatever batch it lands in, so the batch limits only set
//! speed and memory.

use std::path::PathBuf;

use indicatif::ProgressBar;
use rust_bert::pipelines::common::{ModelType, TokenizerOption};
use rust_bert::pipelines::sentence_embeddings::{
    SentenceEmbeddingsBuilder, SentenceEmbeddingsModel,
};
use rust_tokenizers::tokenizer::TruncationStrategy;
use serde::Deserialize;
use tch::{Device, Kind, Tensor};

use super::bert::{BertEncoder, BertShape, PackedBatch};
use super::model_dir::{self, ModelDir};
use super::{Embedder, Precision, Vectors};
use crate::error::{Error, InputError, Result};
use crate::fsio;

/// Which forward pass computes the hidden states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forward {
    /// Fused tch ops over the same weights (default, faster).
    Fused,
    /// rust-bert's `SentenceEmbeddingsModel` (the reference).
    RustBert,
}

/// Settings for the MiniLM backend.
#[derive(Debug, Clone)]
pub struct MiniLmOptions {
    /// The model folder.
    pub model_dir: PathBuf,
    /// Where the forward runs.
    pub device: Device,
    /// f32 or bf16.
    pub precision: Precision,
    /// Most texts per forward pass.
    pub batch_size: usize,
    /// Most tokens per forward pass.
    pub batch_tokens: usize,
    /// Fused or reference forward.
    pub forward: Forward,
}

impl Default for MiniLmOptions {
    fn default() -> Self {
        MiniLmOptions {
            model_dir: model_dir::default_dir(&super::spec::MINILM),
            device: Device::Cpu,
            precision: Precision::F32,
            batch_size: DEFAULT_BATCH_SIZE,
            batch_tokens: DEFAULT_BATCH_TOKENS,
            forward: Forward::Fused,
        }
    }
}

/// Most texts per batch: high enough that the token budget decides, so the fused forward's
/// fixed row blocks (`bert::BLOCK_ROWS`) are nearly full.
pub const DEFAULT_BATCH_SIZE: usize = 512;
/// Most tokens per batch, two of the fused forward's row blocks; chosen by
/// `scripts/bench-embed.sh` (see BENCHMARKS.md).
pub const DEFAULT_BATCH_TOKENS: usize = 2048;

/// Splits texts, already sorted longest first, into consecutive batches of at most
/// `max_texts` texts and `max_tokens` tokens (a text longer than the budget goes alone).
pub fn plan_batches(
    sorted_lengths: &[usize],
    max_texts: usize,
    max_tokens: usize,
) -> Vec<std::ops::Range<usize>> {
    let mut batches = Vec::new();
    let mut start = 0;
    while start < sorted_lengths.len() {
        let mut end = start + 1;
        let mut tokens = sorted_lengths[start];
        while end < sorted_lengths.len()
            && end - start < max_texts
            && tokens + sorted_lengths[end] <= max_tokens
        {
            tokens += sorted_lengths[end];
            end += 1;
        }
        batches.push(start..end);
        start = end;
    }
    batches
}

enum Engine {
    Fused(BertEncoder),
    RustBert(Box<SentenceEmbeddingsModel>),
}

/// The loaded model.
pub struct MiniLm {
    model: ModelDir,
    opts: MiniLmOptions,
    tokenizer: TokenizerOption,
    max_len: usize,
    dim: usize,
    engine: Engine,
}

#[derive(Deserialize)]
struct SentenceBertConfig {
    max_seq_length: usize,
}

#[derive(Deserialize)]
struct TokenizerConfig {
    #[serde(default)]
    do_lower_case: Option<bool>,
    #[serde(default)]
    strip_accents: Option<bool>,
}

fn json_file<T: for<'de> Deserialize<'de>>(path: &std::path::Path) -> Result<T> {
    let bytes = fsio::read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        InputError::file(
            path,
            Some(e.line() as u64),
            format!("cannot read the model's settings: {e}"),
            "run scripts/setup.sh to reinstall the model",
        )
        .into()
    })
}

impl MiniLm {
    /// Checks the model folder and loads tokenizer and weights.
    pub fn load(opts: MiniLmOptions) -> Result<Self> {
        if opts.batch_size == 0 {
            return Err(InputError::flag(
                "the batch size must be at least 1",
                format!("use the default, {DEFAULT_BATCH_SIZE}"),
            )
            .into());
        }
        let model = model_dir::open(&super::spec::MINILM, &opts.model_dir)?;
        let dir = &model.path;
        let sbert: SentenceBertConfig = json_file(&dir.join("sentence_bert_config.json"))?;
        let tok: TokenizerConfig = json_file(&dir.join("tokenizer_config.json"))?;
        let lower = tok.do_lower_case.unwrap_or(true);
        let vocab = dir.join("vocab.txt");
        let tokenizer = TokenizerOption::from_file(
            ModelType::Bert,
            &vocab.to_string_lossy(),
            None,
            lower,
            tok.strip_accents,
            None,
        )
        .map_err(|source| Error::RustBert {
            context: format!("reading {}", vocab.display()),
            source,
        })?;
        let shape = BertShape::from_file(&dir.join("config.json"))?;
        let dim = shape.hidden_size as usize;
        let kind = match opts.precision {
            Precision::F32 => Kind::Float,
            Precision::Bf16 => Kind::BFloat16,
        };
        let engine = match opts.forward {
            Forward::Fused => {
                let weights = dir.join("rust_model.ot");
                let named = Tensor::load_multi(&weights)
                    .map_err(|e| Error::torch(format!("loading {}", weights.display()), e))?;
                Engine::Fused(BertEncoder::new(named, shape, kind, opts.device)?)
            }
            Forward::RustBert => {
                let mut builder = SentenceEmbeddingsBuilder::local(dir).with_device(opts.device);
                if kind != Kind::Float {
                    builder = builder.with_kind(kind);
                }
                let m = builder.create_model().map_err(|source| Error::RustBert {
                    context: format!("loading the model from {}", dir.display()),
                    source,
                })?;
                Engine::RustBert(Box::new(m))
            }
        };
        Ok(MiniLm {
            model,
            opts,
            tokenizer,
            max_len: sbert.max_seq_length,
            dim,
            engine,
        })
    }

    /// The checked model folder.
    pub fn model(&self) -> &ModelDir {
        &self.model
    }

    /// The model's token window (texts longer than this are cut).
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Token ids per text, each cut to the window, and whether it was cut.
    pub fn tokenize(&self, texts: &[&str]) -> Vec<(Vec<i64>, bool)> {
        self.tokenizer
            .encode_list(texts, self.max_len, &TruncationStrategy::LongestFirst, 0)
            .into_iter()
            .map(|t| {
                let cut = t.num_truncated_tokens > 0;
                (t.token_ids, cut)
            })
            .collect()
    }

    fn encode_batch(&self, texts: &[&str], tokens: &[&[i64]]) -> Result<Tensor> {
        match &self.engine {
            Engine::Fused(encoder) => {
                let batch = PackedBatch::new(tokens, self.opts.device);
                Ok(tch::no_grad(|| encoder.embed_packed(&batch)))
            }
            Engine::RustBert(model) => {
                let out = model
                    .encode_as_tensor(texts)
                    .map_err(|source| Error::RustBert {
                        context: "encoding a batch".into(),
                        source,
                    })?;
                Ok(out.embeddings.to_kind(Kind::Float))
            }
        }
    }
}

impl Embedder for MiniLm {
    fn name(&self) -> &str {
        "minilm"
    }

    fn cache_key(&self) -> Option<String> {
        // The fused forward's tag changes when its rounding does, so a cache never mixes
        // vectors from two versions of it (nor from rust-bert's forward).
        let forward = match self.opts.forward {
            Forward::Fused => "-f2",
            Forward::RustBert => "",
        };
        Some(format!(
            "minilm-{}-{}-w{}{forward}",
            &self.model.checksum[..16],
            self.opts.precision,
            self.max_len
        ))
    }

    fn dim(&self) -> Option<usize> {
        Some(self.dim)
    }

    fn embed_with_bar(&mut self, texts: &[&str], bar: &ProgressBar) -> Result<Vectors> {
        let tokens = self.tokenize(texts);
        // Longest first, ties by position, so batches hold texts of similar length.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by(|&a, &b| tokens[b].0.len().cmp(&tokens[a].0.len()).then(a.cmp(&b)));
        let mut data = vec![0f32; texts.len() * self.dim];
        let lengths: Vec<usize> = order.iter().map(|&i| tokens[i].0.len()).collect();
        for range in plan_batches(&lengths, self.opts.batch_size, self.opts.batch_tokens) {
            let chunk = &order[range];
            let batch_texts: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
            let batch_tokens: Vec<&[i64]> = chunk.iter().map(|&i| tokens[i].0.as_slice()).collect();
            let out = self.encode_batch(&batch_texts, &batch_tokens)?;
            let flat = Vec::<f32>::try_from(out.to_device(Device::Cpu).reshape([-1]))
                .map_err(|e| Error::torch("copying embeddings to memory", e))?;
            for (j, &i) in chunk.iter().enumerate() {
                data[i * self.dim..(i + 1) * self.dim]
                    .copy_from_slice(&flat[j * self.dim..(j + 1) * self.dim]);
            }
            bar.inc(chunk.len() as u64);
        }
        Ok(Vectors {
            dim: self.dim,
            data,
            truncated: tokens.iter().map(|t| t.1).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_both_limits() {
        assert_eq!(plan_batches(&[10, 10, 10, 5, 5], 64, 20), vec![0..2, 2..5]);
        assert_eq!(
            plan_batches(&[3, 3, 3, 3, 3], 2, 2048),
            vec![0..2, 2..4, 4..5]
        );
        assert_eq!(plan_batches(&[300, 4], 64, 256), vec![0..1, 1..2]);
        assert!(plan_batches(&[], 8, 8).is_empty());
    }
}
