//! BERT-family encoder forward (BERT, XLM-RoBERTa) on tch with fused ops (one QKV matmul,
//! attention per text and head in `native.cpp` for f32, libtorch's flash kernel otherwise,
//! `gelu`, `layer_norm`) over the weights of a sentence-transformers folder; rust-bert's own
//! forward stays as the reference for BERT.
//!
//! A text's vector does not depend on the batch it is encoded in, to the bit: BLAS and the
//! attention kernels round differently for different row counts and padded lengths, so every
//! op here sees shapes fixed by one text or by nothing. Tokens are packed without padding;
//! dense layers run on blocks of [`BLOCK_ROWS`] rows (the last one filled up), attention on the
//! texts one at a time (or of one token count at a time), mean pooling on each text's own rows.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use tch::{Device, Kind, Tensor};

use super::int8::{QuantLinear, Scratch};
use super::native as kernel;
use crate::error::{Error, InputError, Result};
use crate::fsio;

/// The shape fields of a BERT-family `config.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct BertShape {
    /// `bert`, `xlm-roberta`, `roberta`, … (decides where position ids start).
    #[serde(default = "default_type")]
    pub model_type: String,
    /// Vocabulary size.
    #[serde(default)]
    pub vocab_size: i64,
    /// Rows of the position table.
    #[serde(default = "default_positions")]
    pub max_position_embeddings: i64,
    /// Padding token id (RoBERTa-style models count positions from it).
    #[serde(default)]
    pub pad_token_id: i64,
    /// Width of the hidden states.
    pub hidden_size: i64,
    /// Attention heads per layer.
    pub num_attention_heads: i64,
    /// Encoder layers.
    pub num_hidden_layers: i64,
    /// Layer-norm epsilon.
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// Activation; only exact GELU is supported.
    #[serde(default = "default_act")]
    pub hidden_act: String,
}

fn default_type() -> String {
    "bert".into()
}

fn default_positions() -> i64 {
    512
}

/// Model types whose position ids start after the padding id, as in fairseq's RoBERTa.
const ROBERTA_LIKE: &[&str] = &["roberta", "xlm-roberta", "camembert", "xlm-roberta-xl"];

/// Model types the encoder runs (the same layer layout as BERT).
const SUPPORTED: &[&str] = &["bert", "roberta", "xlm-roberta", "camembert"];

fn default_eps() -> f64 {
    1e-12
}

fn default_act() -> String {
    "gelu".into()
}

impl BertShape {
    /// Reads `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = fsio::read(path)?;
        let shape: BertShape = serde_json::from_slice(&bytes).map_err(|e| {
            InputError::file(
                path,
                Some(e.line() as u64),
                format!("not a BERT config: {e}"),
                "run scripts/setup.sh to reinstall the model",
            )
        })?;
        let known = SUPPORTED.contains(&shape.model_type.as_str());
        if !known
            || shape.hidden_act != "gelu"
            || shape.num_attention_heads <= 0
            || shape.hidden_size % shape.num_attention_heads != 0
        {
            return Err(InputError::file(
                path,
                None,
                format!(
                    "unsupported encoder (model_type \"{}\", hidden_act \"{}\"): codeframe runs \
                     BERT-family encoders (bert, roberta, xlm-roberta, camembert) with exact GELU",
                    shape.model_type, shape.hidden_act
                ),
                "pass --model with a sentence-transformers folder of a BERT or XLM-RoBERTa model",
            )
            .into());
        }
        Ok(shape)
    }

    /// The position id of a text's first token: 0 for BERT, padding id + 1 for RoBERTa-style
    /// models.
    pub fn position_offset(&self) -> i64 {
        if ROBERTA_LIKE.contains(&self.model_type.as_str()) {
            self.pad_token_id + 1
        } else {
            0
        }
    }

    /// Most tokens a text can have, special tokens included.
    pub fn max_tokens(&self) -> usize {
        (self.max_position_embeddings - self.position_offset()).max(1) as usize
    }
}

/// How token states become one vector per text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Mean of the text's token states.
    Mean,
    /// The first token's state.
    Cls,
}

/// A dense layer's weights: as loaded (f32 or bf16), or int8.
enum Dense {
    Float { w: Tensor, b: Tensor },
    Int8(QuantLinear),
}

impl Dense {
    /// `x W^T + b`, plus `residual` when given.
    fn apply(&self, x: &Tensor, residual: Option<&Tensor>, scratch: &Scratch) -> Tensor {
        match (self, residual) {
            (Dense::Float { w, b }, None) => dense(x, w, b),
            (Dense::Float { w, b }, Some(r)) => dense(x, w, b) + r,
            (Dense::Int8(q), r) => q.forward_reference(x, r, scratch),
        }
    }
}

struct Layer {
    qkv: Dense,
    out: Dense,
    ln1_w: Tensor,
    ln1_b: Tensor,
    up: Dense,
    down: Dense,
    ln2_w: Tensor,
    ln2_b: Tensor,
}

impl Layer {
    fn denses_mut(&mut self) -> [&mut Dense; 4] {
        [&mut self.qkv, &mut self.out, &mut self.up, &mut self.down]
    }
}

/// Per-channel largest absolute inputs of each dense layer, in forward order, when
/// calibrating int8.
type Probe = Option<Vec<Tensor>>;

/// A BERT encoder ready to run.
pub struct BertEncoder {
    shape: BertShape,
    pooling: Pooling,
    word: Tensor,
    position: Tensor,
    token_type0: Tensor,
    emb_ln_w: Tensor,
    emb_ln_b: Tensor,
    layers: Vec<Layer>,
}

impl BertEncoder {
    /// Builds the encoder from named tensors (Hugging Face names, with or without a `bert.` /
    /// `roberta.` prefix), cast to `kind`.
    pub fn new(
        named: Vec<(String, Tensor)>,
        shape: BertShape,
        pooling: Pooling,
        kind: Kind,
        device: Device,
    ) -> Result<Self> {
        let mut map: HashMap<String, Tensor> = named
            .into_iter()
            .map(|(name, t)| (strip_prefix(&name).to_string(), t))
            .collect();
        let mut take = |name: &str| -> Result<Tensor> {
            map.remove(name)
                .map(|t| t.to_device(device).to_kind(kind))
                .ok_or_else(|| {
                    Error::from(InputError::flag(
                        format!("the model weights have no tensor \"{name}\""),
                        "run scripts/setup.sh to reinstall the model",
                    ))
                })
        };
        let word = take("embeddings.word_embeddings.weight")?;
        let position = take("embeddings.position_embeddings.weight")?;
        let token_type0 = take("embeddings.token_type_embeddings.weight")?.get(0);
        let emb_ln_w = take("embeddings.LayerNorm.weight")?;
        let emb_ln_b = take("embeddings.LayerNorm.bias")?;
        let mut layers = Vec::new();
        for i in 0..shape.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            let q_w = take(&format!("{p}.attention.self.query.weight"))?;
            let k_w = take(&format!("{p}.attention.self.key.weight"))?;
            let v_w = take(&format!("{p}.attention.self.value.weight"))?;
            let q_b = take(&format!("{p}.attention.self.query.bias"))?;
            let k_b = take(&format!("{p}.attention.self.key.bias"))?;
            let v_b = take(&format!("{p}.attention.self.value.bias"))?;
            let mut linear = |name: &str| -> Result<Dense> {
                Ok(Dense::Float {
                    w: take(&format!("{p}.{name}.weight"))?,
                    b: take(&format!("{p}.{name}.bias"))?,
                })
            };
            let out = linear("attention.output.dense")?;
            let up = linear("intermediate.dense")?;
            let down = linear("output.dense")?;
            layers.push(Layer {
                qkv: Dense::Float {
                    w: Tensor::cat(&[q_w, k_w, v_w], 0).contiguous(),
                    b: Tensor::cat(&[q_b, k_b, v_b], 0),
                },
                out,
                ln1_w: take(&format!("{p}.attention.output.LayerNorm.weight"))?,
                ln1_b: take(&format!("{p}.attention.output.LayerNorm.bias"))?,
                up,
                down,
                ln2_w: take(&format!("{p}.output.LayerNorm.weight"))?,
                ln2_b: take(&format!("{p}.output.LayerNorm.bias"))?,
            });
        }
        Ok(BertEncoder {
            shape,
            pooling,
            word,
            position,
            token_type0,
            emb_ln_w,
            emb_ln_b,
            layers,
        })
    }

    /// Unit-length mean-pooled embeddings `[texts, hidden]` (f32) of a packed batch, in the
    /// order the sequences were given to [`PackedBatch::new`]; each row is the same bits
    /// whatever else is in the batch.
    /// An error says which fused int8 pass refused its operands.
    pub fn embed_packed(&self, batch: &PackedBatch) -> Result<Tensor, String> {
        self.forward(batch, &mut None)
    }

    /// Turns every dense layer (f32 weights) into int8 with weights of `levels`
    /// ([`super::int8::weight_levels`]), keeping in f32 the input channels that are largest on the
    /// calibration batch.
    pub fn quantize_int8(&mut self, calibration: &PackedBatch, levels: i64) {
        let mut probe: Probe = Some(Vec::new());
        let _ = tch::no_grad(|| self.forward(calibration, &mut probe));
        let absmax = probe.unwrap_or_default();
        let denses = self.layers.iter_mut().flat_map(|l| l.denses_mut());
        for (d, stats) in denses.zip(&absmax) {
            if let Dense::Float { w, b } = &*d {
                *d = Dense::Int8(QuantLinear::new(w, b, stats, levels));
            }
        }
    }

    /// The pooled vectors of `batch`; an error only if a fused int8 pass refuses the operands
    /// this encoder built for it (a fault of the encoder, never of the answers).
    fn forward(&self, batch: &PackedBatch, probe: &mut Probe) -> Result<Tensor, String> {
        let h = self.shape.hidden_size;
        let eps = self.shape.layer_norm_eps;
        let x = self.word.index_select(0, &batch.ids)
            + self.position.index_select(0, &batch.positions)
            + &self.token_type0;
        let x = x.layer_norm([h], Some(&self.emb_ln_w), Some(&self.emb_ln_b), eps, false);
        let fused = match probe {
            None => self.layers_int8(batch, &x)?,
            Some(_) => None,
        };
        let x = match fused {
            Some(x) => x,
            None => self.layers(batch, x, probe),
        };
        Ok(self.pool(batch, &x))
    }

    /// The layers on the embeddings `x`, one libtorch op at a time (an int8 layer as its
    /// reference chain; [`BertEncoder::layers_int8`] runs the fused passes), recording each
    /// dense layer's largest inputs in `probe` when asked.
    fn layers(&self, batch: &PackedBatch, mut x: Tensor, probe: &mut Probe) -> Tensor {
        let h = self.shape.hidden_size;
        let eps = self.shape.layer_norm_eps;
        let scratch = Scratch::default();
        let mut apply = |d: &Dense, x: &Tensor, residual: Option<&Tensor>| {
            if let Some(stats) = probe {
                let real = x.narrow(0, 0, batch.tokens).to_kind(Kind::Float);
                stats.push(real.abs().amax([0i64].as_slice(), false));
            }
            d.apply(x, residual, &scratch)
        };
        for layer in &self.layers {
            let qkv = apply(&layer.qkv, &x, None);
            let ctx = batch.attend(&qkv, self.shape.num_attention_heads);
            let attn = apply(&layer.out, &ctx, Some(&x)).layer_norm(
                [h],
                Some(&layer.ln1_w),
                Some(&layer.ln1_b),
                eps,
                false,
            );
            let mut up = apply(&layer.up, &attn, None);
            let _ = up.gelu_("none");
            x = apply(&layer.down, &up, Some(&attn)).layer_norm(
                [h],
                Some(&layer.ln2_w),
                Some(&layer.ln2_b),
                eps,
                false,
            );
        }
        x
    }

    /// The layers on the embeddings `x` when every dense layer is int8: each layer's output
    /// pass adds the residual, applies GELU or the layer norm and quantises its rows for the
    /// next int8 layer (`native.cpp`), so the f32 rows between the up and down projections
    /// are never written. `None` if a dense layer is not int8 (the caller then runs
    /// [`BertEncoder::layers`]); an error if a fused pass refuses its operands, which would be
    /// a fault here, so it is said rather than hidden behind a slower path.
    fn layers_int8(&self, batch: &PackedBatch, x: &Tensor) -> Result<Option<Tensor>, String> {
        fn int8(d: &Dense) -> Option<&QuantLinear> {
            match d {
                Dense::Int8(q) => Some(q),
                Dense::Float { .. } => None,
            }
        }
        let layers: Option<Vec<[&QuantLinear; 4]>> = self
            .layers
            .iter()
            .map(|l| Some([int8(&l.qkv)?, int8(&l.out)?, int8(&l.up)?, int8(&l.down)?]))
            .collect();
        let Some(layers) = layers.filter(|l| !l.is_empty()) else {
            return Ok(None);
        };
        let mut x = x.contiguous();
        let mut xq = Some(layers[0][0].quantize(&x)?);
        for (i, (denses, layer)) in layers.iter().zip(&self.layers).enumerate() {
            let next = layers.get(i + 1).map(|l| l[0]);
            let input = xq
                .as_ref()
                .map(|q| (&x, q))
                .ok_or("int8 layer: no quantised input")?;
            (x, xq) = self.layer_int8(batch, denses, layer, input, next)?;
        }
        Ok(Some(x))
    }

    /// One layer of [`BertEncoder::layers_int8`] on `x` (f32) and its rows quantised for
    /// the layer's first product: its output, and that output quantised for `next` (none
    /// after the last layer).
    fn layer_int8(
        &self,
        batch: &PackedBatch,
        [qkv, out, up, down]: &[&QuantLinear; 4],
        layer: &Layer,
        (x, xq): (&Tensor, &kernel::Quantised),
        next: Option<&QuantLinear>,
    ) -> Result<(Tensor, Option<kernel::Quantised>), String> {
        let (rows, h) = (x.size()[0], self.shape.hidden_size);
        let eps = self.shape.layer_norm_eps;
        let device = x.device();
        let f32_rows = |n: i64| Tensor::empty([rows, n], (Kind::Float, device));
        // Room for rows of `n` channels quantised for the layer `next`.
        let quantised = |n: i64, next: &QuantLinear| {
            kernel::Quantised::empty(rows, n, next.outliers().len(), device)
        };
        let mut proj = f32_rows(qkv.outputs());
        let y = kernel::Outputs {
            y: Some(&mut proj),
            next: None,
        };
        qkv.forward_quantised(xq, &Default::default(), y)?;
        let ctx = batch.attend(&proj, self.shape.num_attention_heads);
        let ctxq = out.quantize(&ctx.contiguous())?;
        let (mut attn, mut attnq) = (f32_rows(h), quantised(h, up));
        let after = kernel::After {
            residual: Some(x),
            layer_norm: Some((&layer.ln1_w, &layer.ln1_b, eps)),
            ..Default::default()
        };
        let y = kernel::Outputs {
            y: Some(&mut attn),
            next: Some((up.outliers(), &mut attnq)),
        };
        out.forward_quantised(&ctxq, &after, y)?;
        let mut upq = quantised(up.outputs(), down);
        let after = kernel::After {
            gelu: true,
            ..Default::default()
        };
        let y = kernel::Outputs {
            y: None,
            next: Some((down.outliers(), &mut upq)),
        };
        up.forward_quantised(&attnq, &after, y)?;
        let mut x_next = f32_rows(h);
        let mut xq_next = next.map(|n| (n.outliers(), quantised(h, n)));
        let after = kernel::After {
            residual: Some(&attn),
            layer_norm: Some((&layer.ln2_w, &layer.ln2_b, eps)),
            ..Default::default()
        };
        let y = kernel::Outputs {
            y: Some(&mut x_next),
            next: xq_next.as_mut().map(|(o, q)| (*o, q)),
        };
        down.forward_quantised(&upq, &after, y)?;
        Ok((x_next, xq_next.map(|(_, q)| q)))
    }

    /// One unit-length vector per text from the last layer's token states.
    fn pool(&self, batch: &PackedBatch, x: &Tensor) -> Tensor {
        let h = self.shape.hidden_size;
        let real = x.narrow(0, 0, batch.tokens).to_kind(Kind::Float);
        let pooled =
            match self.pooling {
                Pooling::Mean => {
                    let sum = Tensor::zeros([batch.texts, h], (Kind::Float, real.device()))
                        .index_add(0, &batch.rows_of_tokens, &real);
                    sum / batch.lengths.unsqueeze(1)
                }
                Pooling::Cls => real.index_select(0, &batch.first_rows),
            };
        let norm = pooled
            .norm_scalaropt_dim(2, [1i64].as_slice(), true)
            .clamp_min(1e-12);
        pooled / norm
    }
}

/// A tensor name without the model-class prefix some exports carry (`bert.`, `roberta.`).
fn strip_prefix(name: &str) -> &str {
    for p in ["bert.", "roberta.", "xlm_roberta.", "model."] {
        if let Some(rest) = name.strip_prefix(p) {
            return rest;
        }
    }
    name
}

/// Token rows per dense-layer matmul. BLAS picks its kernels and its split of the work by the
/// row count, which changes the rounding of every row; a fixed count keeps it the same. 1,024
/// rows run about as fast as one matmul per batch; 512 are slower.
pub const BLOCK_ROWS: i64 = 1024;

/// `x W^T + b` over `[rows, in]` with `rows` a multiple of [`BLOCK_ROWS`], one block at a time
/// (or fewer rows as one block: the int8 calibration batch, [`PackedBatch::unblocked`]).
fn dense(x: &Tensor, w: &Tensor, b: &Tensor) -> Tensor {
    let rows = x.size()[0];
    let block = if rows % BLOCK_ROWS == 0 {
        BLOCK_ROWS
    } else {
        rows
    };
    let out = Tensor::empty([rows, w.size()[0]], (x.kind(), x.device()));
    let wt = w.tr();
    for start in (0..rows).step_by(block as usize) {
        let _ = b.addmm_out(
            &out.narrow(0, start, block),
            &x.narrow(0, start, block),
            &wt,
        );
    }
    out
}

/// Texts of one token count, stored one after another in a [`PackedBatch`].
struct Group {
    /// First token row.
    start: i64,
    /// Texts in the group.
    texts: i64,
    /// Tokens per text.
    len: i64,
}

/// A batch of tokenised texts laid out for [`BertEncoder::embed_packed`]: texts grouped by
/// token count (longest first), their tokens one after another, then filler rows up to a
/// multiple of [`BLOCK_ROWS`].
pub struct PackedBatch {
    texts: i64,
    tokens: i64,
    ids: Tensor,
    positions: Tensor,
    rows_of_tokens: Tensor,
    first_rows: Tensor,
    lengths: Tensor,
    groups: Vec<Group>,
    /// First row and token count of each non-empty text, in packed order (for the attention
    /// kernel, the same in every layer).
    text_starts: Vec<i64>,
    text_lens: Vec<i64>,
}

impl PackedBatch {
    /// Packs token-id sequences (each non-empty) for `device`; positions count from
    /// `position_offset` ([`BertShape::position_offset`]).
    pub fn new(seqs: &[&[i64]], position_offset: i64, device: Device) -> Self {
        Self::with_block(seqs, position_offset, device, BLOCK_ROWS as usize)
    }

    /// The same without filler rows, for a pass whose vectors are not kept (int8
    /// calibration): a thousand filler rows would cost a short batch most of its time.
    pub fn unblocked(seqs: &[&[i64]], position_offset: i64, device: Device) -> Self {
        Self::with_block(seqs, position_offset, device, 1)
    }

    fn with_block(seqs: &[&[i64]], position_offset: i64, device: Device, block: usize) -> Self {
        let mut order: Vec<usize> = (0..seqs.len()).collect();
        order.sort_by(|&a, &b| seqs[b].len().cmp(&seqs[a].len()).then(a.cmp(&b)));
        let total: usize = seqs.iter().map(|s| s.len()).sum();
        let padded = total.div_ceil(block) * block;
        let mut ids = Vec::with_capacity(padded);
        let mut positions = Vec::with_capacity(padded);
        let mut rows_of_tokens = Vec::with_capacity(total);
        let mut first_rows = vec![0i64; seqs.len()];
        let mut groups: Vec<Group> = Vec::new();
        let (mut text_starts, mut text_lens) = (Vec::new(), Vec::new());
        for &r in &order {
            let s = seqs[r];
            let len = s.len() as i64;
            match groups.last_mut() {
                Some(g) if g.len == len => g.texts += 1,
                _ => groups.push(Group {
                    start: ids.len() as i64,
                    texts: 1,
                    len,
                }),
            }
            first_rows[r] = ids.len() as i64;
            if len > 0 {
                text_starts.push(ids.len() as i64);
                text_lens.push(len);
            }
            ids.extend_from_slice(s);
            positions.extend(position_offset..position_offset + len);
            rows_of_tokens.extend(std::iter::repeat_n(r as i64, s.len()));
        }
        // Filler rows: token 0 at position 0; attention and pooling never read them.
        ids.resize(padded, 0);
        positions.resize(padded, 0);
        let lengths: Vec<f32> = seqs.iter().map(|s| s.len().max(1) as f32).collect();
        let t = |v: &[i64]| Tensor::from_slice(v).to_device(device);
        PackedBatch {
            texts: seqs.len() as i64,
            tokens: total as i64,
            ids: t(&ids),
            positions: t(&positions),
            rows_of_tokens: t(&rows_of_tokens),
            first_rows: t(&first_rows),
            lengths: Tensor::from_slice(&lengths).to_device(device),
            groups,
            text_starts,
            text_lens,
        }
    }

    /// Self-attention of packed `[rows, 3 * hidden]` projections, one length group at a time:
    /// `[rows, hidden]`, zero on filler rows.
    fn attend(&self, qkv: &Tensor, heads: i64) -> Tensor {
        if qkv.kind() == Kind::Float && qkv.device() == Device::Cpu {
            if let Ok(ctx) = self.attend_native(qkv, heads) {
                return ctx;
            }
        }
        self.attend_libtorch(qkv, heads)
    }

    /// [`PackedBatch::attend`] for f32 on the CPU, one text and head at a time (`native.cpp`);
    /// an error for head sizes it does not take.
    fn attend_native(&self, qkv: &Tensor, heads: i64) -> std::result::Result<Tensor, String> {
        let (rows, h) = (qkv.size()[0], qkv.size()[1] / 3);
        let mut ctx = Tensor::empty([rows, h], (Kind::Float, qkv.device()));
        let qkv = qkv.contiguous();
        kernel::attend(&qkv, &self.text_starts, &self.text_lens, heads, &mut ctx)?;
        Ok(ctx)
    }

    /// [`PackedBatch::attend`] through libtorch, one length group at a time.
    fn attend_libtorch(&self, qkv: &Tensor, heads: i64) -> Tensor {
        let (rows, h) = (qkv.size()[0], qkv.size()[1] / 3);
        let d = h / heads;
        let ctx = Tensor::zeros([rows, h], (qkv.kind(), qkv.device()));
        for g in self.groups.iter().filter(|g| g.len > 0) {
            let n = g.texts * g.len;
            let grid = qkv
                .narrow(0, g.start, n)
                .view([g.texts, g.len, 3, heads, d])
                .permute([2, 0, 3, 1, 4]);
            let out = attention(&grid.get(0), &grid.get(1), &grid.get(2));
            ctx.narrow(0, g.start, n)
                .view([g.texts, g.len, heads, d])
                .copy_(&out.transpose(1, 2));
        }
        ctx
    }
}

/// Scaled dot-product attention of `[texts, heads, len, head_dim]` tensors, all keys real.
///
/// On the CPU, libtorch 2.4's flash kernel without a mask for f32, and for bf16 from 16 tokens;
/// otherwise two batched matmuls around a softmax, faster for short bf16 texts. The choice
/// depends on the text's own length only.
fn attention(q: &Tensor, k: &Tensor, v: &Tensor) -> Tensor {
    let kind = q.kind();
    let flash_from = if kind == Kind::Float { 1 } else { 16 };
    if q.device() == Device::Cpu && q.size()[2] >= flash_from {
        // tch hands libtorch an undefined tensor for a missing mask, which it rejects; an
        // empty mask of the query's type is what libtorch 2.4's CPU flash kernel reads as
        // "no mask" (the fused-vs-rust-bert test checks the result).
        let no_mask = Tensor::empty([0, 0], (kind, q.device()));
        return Tensor::internal_scaled_dot_product_flash_attention_for_cpu(
            q,
            k,
            v,
            0.0,
            false,
            Some(&no_mask),
            None::<f64>,
        )
        .0;
    }
    let scale = 1.0 / (q.size()[3] as f64).sqrt();
    (q.matmul(&k.transpose(-1, -2)) * scale)
        .softmax(-1, kind)
        .matmul(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The attention of `native.cpp` against libtorch's, on texts of lengths around its
    /// 16-key steps and its 4-query blocks, for both head sizes it takes.
    #[test]
    fn native_attention_matches_libtorch() {
        let _guard = tch::no_grad_guard();
        tch::manual_seed(11);
        let lens: [usize; 9] = [1, 3, 4, 15, 16, 17, 33, 70, 130];
        let seqs: Vec<Vec<i64>> = lens.iter().map(|&n| vec![5; n]).collect();
        let refs: Vec<&[i64]> = seqs.iter().map(Vec::as_slice).collect();
        let batch = PackedBatch::new(&refs, 0, Device::Cpu);
        let rows = batch.ids.size()[0];
        for (h, heads) in [(384, 12), (256, 4)] {
            let qkv = Tensor::randn([rows, 3 * h], (Kind::Float, Device::Cpu)) * 2.0;
            let native = batch.attend_native(&qkv, heads);
            assert!(native.is_ok(), "refused: {:?}", native.err());
            let native = native.unwrap_or_else(|_| Tensor::zeros([1], (Kind::Float, Device::Cpu)));
            let reference = batch.attend_libtorch(&qkv, heads);
            let diff = (&native - &reference).abs().max().double_value(&[]);
            assert!(diff < 1e-5, "head size {}: {diff}", h / heads);
            let filler = native.narrow(0, batch.tokens, rows - batch.tokens);
            assert_eq!(filler.abs().sum(Kind::Float).double_value(&[]), 0.0);
        }
        // Head sizes other than 32 and 64 are left to libtorch.
        let qkv = Tensor::randn([rows, 3 * 48], (Kind::Float, Device::Cpu));
        assert!(batch.attend_native(&qkv, 2).is_err());
    }
}
