//! Sentence-model embedder: any sentence-transformers folder with a BERT-family encoder
//! (all-MiniLM-L6-v2, multilingual-e5-small, a folder a user brings) on libtorch. Texts get the
//! model's prompt prefix, are tokenised by the Hugging Face tokenizer of the folder's
//! `tokenizer.json`, sorted by token count and encoded in batches; the fused forward (`bert`)
//! is the default and rust-bert's `SentenceEmbeddingsModel` the reference for BERT. With the
//! fused forward a text's vector is the same bits whatever batch it lands in, so the batch
//! limits only set speed and memory.

use std::path::PathBuf;

use indicatif::ProgressBar;
use rust_bert::pipelines::sentence_embeddings::{
    SentenceEmbeddingsBuilder, SentenceEmbeddingsModel,
};
use tch::{Device, Kind, Tensor};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use super::bert::{BertEncoder, PackedBatch};
use super::cpu::CpuInfo;
use super::int8;
use super::model_dir;
use super::spec::ModelSpec;
use super::st_folder::{self, FolderSettings};
use super::{Embedder, Precision, Vectors};
use crate::error::{Error, InputError, Result};

/// Which forward pass computes the hidden states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forward {
    /// Fused tch ops over the same weights (default, faster).
    Fused,
    /// rust-bert's `SentenceEmbeddingsModel` (the reference).
    RustBert,
}

/// Settings for the sentence-model backend.
#[derive(Debug, Clone)]
pub struct SentenceOptions {
    /// The installed model the folder holds (checked against its committed checksums), or
    /// `None` for a folder the user brings.
    pub spec: Option<&'static ModelSpec>,
    /// The model folder.
    pub model_dir: PathBuf,
    /// Where the forward runs.
    pub device: Device,
    /// f32, bf16 or int8.
    pub precision: Precision,
    /// Most texts per forward pass.
    pub batch_size: usize,
    /// Most tokens per forward pass.
    pub batch_tokens: usize,
    /// Fused or reference forward.
    pub forward: Forward,
}

impl Default for SentenceOptions {
    fn default() -> Self {
        SentenceOptions {
            spec: Some(&super::spec::MINILM),
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

/// Who the model is: what manifests, frames and cache keys record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelIdentity {
    /// What manifests and frames call it: an installed model's published name, else the
    /// folder's path.
    pub label: String,
    /// Short tag for cache keys and manifests (`minilm`, `e5-small`, `model`).
    pub tag: String,
    /// Checksum over the model's files.
    pub checksum: String,
    /// Prompt prefix put before every text.
    pub prefix: String,
    /// Languages the model was trained on (ISO 639-1); empty when it claims many or its card
    /// names none.
    pub languages: Vec<String>,
}

/// The loaded model.
pub struct SentenceModel {
    identity: ModelIdentity,
    opts: SentenceOptions,
    /// Precision as cache keys record it (int8 names its weight levels when not 127).
    precision_tag: String,
    tokenizer: Tokenizer,
    max_len: usize,
    dim: usize,
    position_offset: i64,
    engine: Engine,
}

impl SentenceModel {
    /// Checks the model folder and loads tokenizer and weights.
    ///
    /// The checksums read every byte of the weights, as loading does: they run on a thread
    /// of their own beside the loading (the tokenizer on another), and their verdict comes
    /// first — a damaged or missing file is reported as such, and nothing is embedded before.
    pub fn load(opts: SentenceOptions) -> Result<Self> {
        if opts.batch_size == 0 {
            return Err(InputError::flag(
                "the batch size must be at least 1",
                format!("use the default, {DEFAULT_BATCH_SIZE}"),
            )
            .into());
        }
        let dir = opts.model_dir.clone();
        std::thread::scope(|s| {
            let check = s.spawn(|| identify(opts.spec, &dir));
            let loaded = load_parts(&opts, &dir, s);
            let identity = match check.join() {
                Ok(identified) => identified?.1,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            let parts = loaded?;
            Ok(SentenceModel {
                identity,
                opts: opts.clone(),
                precision_tag: parts.precision_tag,
                tokenizer: parts.tokenizer,
                max_len: parts.settings.max_len,
                dim: parts.settings.shape.hidden_size as usize,
                position_offset: parts.settings.shape.position_offset(),
                engine: parts.engine,
            })
        })
    }

    /// Who the model is.
    pub fn identity(&self) -> &ModelIdentity {
        &self.identity
    }

    /// The model's token window (texts longer than this are cut).
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Token ids per text (prefix and special tokens included), each cut to the window, and
    /// whether it was cut.
    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<(Vec<i64>, bool)>> {
        tokenize(
            &self.tokenizer,
            &self.identity.prefix,
            texts,
            "tokenising answers",
        )
    }

    fn encode_batch(&self, texts: &[&str], tokens: &[&[i64]]) -> Result<Tensor> {
        match &self.engine {
            Engine::Fused(encoder) => {
                let batch = PackedBatch::new(tokens, self.position_offset, self.opts.device);
                tch::no_grad(|| encoder.embed_packed(&batch)).map_err(|problem| Error::Embed {
                    backend: self.identity.tag.clone(),
                    problem: format!(
                        "stopped: {problem} (a fault in codeframe, not in the answers; \
                         --precision f32 runs without the int8 passes)"
                    ),
                })
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

/// What [`SentenceModel::load`] reads besides the model's identity.
struct Parts {
    settings: FolderSettings,
    tokenizer: Tokenizer,
    engine: Engine,
    precision_tag: String,
}

/// Settings, tokenizer (on a thread of `scope`) and weights, quantised for int8.
fn load_parts<'s, 'e>(
    opts: &'e SentenceOptions,
    dir: &'e std::path::Path,
    scope: &'s std::thread::Scope<'s, 'e>,
) -> Result<Parts> {
    let settings = st_folder::read(dir)?;
    let shape = settings.shape.clone();
    let tok_settings = settings.clone();
    let tokenizer = scope.spawn(move || load_tokenizer(&tok_settings));
    let kind = match opts.precision {
        Precision::F32 | Precision::Int8 => Kind::Float,
        Precision::Bf16 => Kind::BFloat16,
    };
    let weights = match opts.forward {
        Forward::Fused => Tensor::read_safetensors(&settings.weights)
            .map_err(|e| {
                // A damaged or truncated weights file: the folder is the input to fix.
                Error::from(InputError::file(
                    &settings.weights,
                    None,
                    format!("cannot read the weights: {e}"),
                    "copy the model folder again from where it was published, or reinstall \
                     the model (scripts/setup.sh)",
                ))
            })
            .and_then(|named| {
                BertEncoder::new(named, shape.clone(), settings.pooling, kind, opts.device)
            })
            .map(Some),
        Forward::RustBert => Ok(None),
    };
    let tokenizer = match tokenizer.join() {
        Ok(t) => t?,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    let mut precision_tag = opts.precision.to_string();
    let engine = match weights? {
        Some(mut encoder) => {
            if opts.precision == Precision::Int8 {
                let levels = int8::weight_levels(&CpuInfo::detect());
                if levels != 127 {
                    precision_tag = format!("int8w{levels}");
                }
                let seqs = calibration_tokens(&tokenizer, &settings.prefix)?;
                let refs: Vec<&[i64]> = seqs.iter().map(Vec::as_slice).collect();
                let batch = PackedBatch::unblocked(&refs, shape.position_offset(), opts.device);
                encoder.quantize_int8(&batch, levels);
            }
            Engine::Fused(encoder)
        }
        None => Engine::RustBert(Box::new(load_rust_bert(opts, dir, &shape, kind)?)),
    };
    Ok(Parts {
        settings,
        tokenizer,
        engine,
        precision_tag,
    })
}

/// rust-bert's own sentence-embeddings pipeline (the reference forward, BERT only).
fn load_rust_bert(
    opts: &SentenceOptions,
    dir: &std::path::Path,
    shape: &super::bert::BertShape,
    kind: Kind,
) -> Result<SentenceEmbeddingsModel> {
    if opts.precision == Precision::Int8 {
        return Err(InputError::flag(
            "int8 runs on the fused forward only",
            "leave out --forward, or use --precision f32",
        )
        .into());
    }
    if shape.model_type != "bert" || !dir.join("rust_model.ot").is_file() {
        return Err(InputError::flag(
            "the reference forward runs BERT models with a rust_model.ot only",
            "leave out --forward",
        )
        .into());
    }
    let mut builder = SentenceEmbeddingsBuilder::local(dir).with_device(opts.device);
    if kind != Kind::Float {
        builder = builder.with_kind(kind);
    }
    builder.create_model().map_err(|source| Error::RustBert {
        context: format!("loading the model from {}", dir.display()),
        source,
    })
}

/// Reads the folder's settings and works out who the model is: an installed model's files
/// are checked against its committed checksums; a folder a user brings is identified by the
/// checksum of its files.
fn identify(
    spec: Option<&'static ModelSpec>,
    dir: &std::path::Path,
) -> Result<(FolderSettings, ModelIdentity)> {
    match spec {
        Some(spec) => {
            let checked = model_dir::open(spec, dir)?;
            let settings = st_folder::read(dir)?;
            let identity = ModelIdentity {
                label: spec.published.into(),
                tag: spec.tag.into(),
                checksum: checked.checksum,
                prefix: settings.prefix.clone(),
                languages: spec.languages.iter().map(|l| l.to_string()).collect(),
            };
            Ok((settings, identity))
        }
        None => {
            if !dir.is_dir() {
                return Err(InputError::file(
                    dir,
                    None,
                    "the model folder does not exist",
                    "pass --model with an installed model's name (codeframe model list) or a \
                     sentence-transformers folder",
                )
                .into());
            }
            let settings = st_folder::read(dir)?;
            let identity = ModelIdentity {
                label: dir.display().to_string(),
                tag: "model".into(),
                checksum: st_folder::folder_checksum(dir, &settings.files)?,
                prefix: settings.prefix.clone(),
                languages: settings.card_languages.clone(),
            };
            Ok((settings, identity))
        }
    }
}

/// The folder's tokenizer with truncation at the model's window and no padding.
/// Texts whose activations pick the input channels int8 keeps in f32: answers of survey
/// length in several languages (the outlier channels are a property of the model, so a few
/// sentences find them).
const CALIBRATION_TEXTS: &[&str] = &[
    "Financing and funding opportunities for clusters and their SMEs",
    "More webinars on internationalisation, please; the last one was very useful!",
    "Finanzierungsmöglichkeiten für Cluster und Aufzeichnung des Webinars",
    "Des ateliers sur la transition numérique et verte des PME",
    "Oportunidades de cooperación con otros clústeres europeos",
    "n/a",
    "The staff were kind and the waiting time was short, but parking was hard to find.",
    "Opportunità di finanziamento, partenariati e buone pratiche nei cluster",
];

fn calibration_tokens(tokenizer: &Tokenizer, prefix: &str) -> Result<Vec<Vec<i64>>> {
    let seqs = tokenize(
        tokenizer,
        prefix,
        CALIBRATION_TEXTS,
        "tokenising the int8 calibration texts",
    )?;
    Ok(seqs.into_iter().map(|(ids, _)| ids).collect())
}

/// Token ids of `texts` with `prefix` before each (special tokens included, cut to the
/// window), and whether each was cut.
fn tokenize(
    tokenizer: &Tokenizer,
    prefix: &str,
    texts: &[&str],
    context: &str,
) -> Result<Vec<(Vec<i64>, bool)>> {
    let inputs: Vec<String> = texts.iter().map(|t| format!("{prefix}{t}")).collect();
    let encodings = tokenizer
        .encode_batch(inputs, true)
        .map_err(|source| Error::Tokenizer {
            context: context.into(),
            source,
        })?;
    Ok(encodings
        .into_iter()
        .map(|e| {
            let cut = !e.get_overflowing().is_empty();
            (e.get_ids().iter().map(|&i| i64::from(i)).collect(), cut)
        })
        .collect())
}

fn load_tokenizer(settings: &FolderSettings) -> Result<Tokenizer> {
    let path = &settings.tokenizer;
    let mut tok = Tokenizer::from_file(path).map_err(|e| {
        Error::from(InputError::file(
            path,
            None,
            format!("cannot read the tokenizer: {e}"),
            "restore tokenizer.json from the model's published folder, or reinstall the model",
        ))
    })?;
    tok.with_padding(None);
    tok.with_truncation(Some(TruncationParams {
        max_length: settings.max_len,
        strategy: TruncationStrategy::LongestFirst,
        stride: 0,
        direction: TruncationDirection::Right,
    }))
    .map_err(|source| Error::Tokenizer {
        context: "setting the token window".into(),
        source,
    })?;
    Ok(tok)
}

impl Embedder for SentenceModel {
    fn name(&self) -> &str {
        &self.identity.tag
    }

    fn cache_key(&self) -> Option<String> {
        // The fused forward's tag changes when its rounding does, so a cache never mixes
        // vectors from two versions of it (nor from rust-bert's forward).
        let forward = match self.opts.forward {
            Forward::Fused => "-f3",
            Forward::RustBert => "",
        };
        // A prompt prefix changes every vector, so it is part of the key.
        let prefix = if self.identity.prefix.is_empty() {
            String::new()
        } else {
            let h = crate::manifest::sha256_hex(self.identity.prefix.as_bytes());
            format!("-p{}", &h[..8])
        };
        Some(format!(
            "{}-{}-{}-w{}{forward}{prefix}",
            self.identity.tag,
            &self.identity.checksum[..16],
            self.precision_tag,
            self.max_len
        ))
    }

    fn dim(&self) -> Option<usize> {
        Some(self.dim)
    }

    fn embed_with_bar(&mut self, texts: &[&str], bar: &ProgressBar) -> Result<Vectors> {
        let _heap = super::native::KeepFreedMemory::new();
        let tokens = self.tokenize(texts)?;
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
