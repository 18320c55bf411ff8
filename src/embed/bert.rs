//! BERT encoder forward on tch with fused ops (one QKV matmul, `scaled_dot_product_attention`,
//! `gelu`, `layer_norm`) over the same weights rust-bert loads, on packed tokens so padding
//! costs nothing outside attention; rust-bert's own forward stays as the reference.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use tch::{Device, Kind, Tensor};

use crate::error::{Error, InputError, Result};
use crate::fsio;

/// The shape fields of a BERT `config.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct BertShape {
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
        if shape.hidden_act != "gelu" || shape.hidden_size % shape.num_attention_heads != 0 {
            return Err(InputError::file(
                path,
                None,
                "unsupported BERT configuration (needs exact GELU and hidden size divisible by heads)",
                "use the all-MiniLM-L6-v2 model installed by scripts/setup.sh",
            )
            .into());
        }
        Ok(shape)
    }
}

struct Layer {
    qkv_w: Tensor,
    qkv_b: Tensor,
    out_w: Tensor,
    out_b: Tensor,
    ln1_w: Tensor,
    ln1_b: Tensor,
    up_w: Tensor,
    up_b: Tensor,
    down_w: Tensor,
    down_b: Tensor,
    ln2_w: Tensor,
    ln2_b: Tensor,
}

/// A BERT encoder ready to run.
pub struct BertEncoder {
    shape: BertShape,
    word: Tensor,
    position: Tensor,
    token_type0: Tensor,
    emb_ln_w: Tensor,
    emb_ln_b: Tensor,
    layers: Vec<Layer>,
}

impl BertEncoder {
    /// Builds the encoder from named tensors (rust-bert's variable names), cast to `kind`.
    pub fn new(
        named: Vec<(String, Tensor)>,
        shape: BertShape,
        kind: Kind,
        device: Device,
    ) -> Result<Self> {
        let mut map: HashMap<String, Tensor> = named.into_iter().collect();
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
            layers.push(Layer {
                qkv_w: Tensor::cat(&[q_w, k_w, v_w], 0).contiguous(),
                qkv_b: Tensor::cat(&[q_b, k_b, v_b], 0),
                out_w: take(&format!("{p}.attention.output.dense.weight"))?,
                out_b: take(&format!("{p}.attention.output.dense.bias"))?,
                ln1_w: take(&format!("{p}.attention.output.LayerNorm.weight"))?,
                ln1_b: take(&format!("{p}.attention.output.LayerNorm.bias"))?,
                up_w: take(&format!("{p}.intermediate.dense.weight"))?,
                up_b: take(&format!("{p}.intermediate.dense.bias"))?,
                down_w: take(&format!("{p}.output.dense.weight"))?,
                down_b: take(&format!("{p}.output.dense.bias"))?,
                ln2_w: take(&format!("{p}.output.LayerNorm.weight"))?,
                ln2_b: take(&format!("{p}.output.LayerNorm.bias"))?,
            });
        }
        Ok(BertEncoder {
            shape,
            word,
            position,
            token_type0,
            emb_ln_w,
            emb_ln_b,
            layers,
        })
    }

    /// Unit-length mean-pooled embeddings `[batch, hidden]` (f32) of a packed batch.
    ///
    /// Dense ops run on the real tokens only (`[tokens, hidden]`); the tokens are scattered
    /// into a padded `[batch, len]` grid just for attention, where the mask hides padding.
    pub fn embed_packed(&self, batch: &PackedBatch) -> Tensor {
        let (b, l) = (batch.rows, batch.len);
        let h = self.shape.hidden_size;
        let heads = self.shape.num_attention_heads;
        let eps = self.shape.layer_norm_eps;
        let kind = self.word.kind();
        let device = self.word.device();
        let x = self.word.index_select(0, &batch.ids)
            + self.position.index_select(0, &batch.positions)
            + &self.token_type0;
        let mut x = x.layer_norm([h], Some(&self.emb_ln_w), Some(&self.emb_ln_b), eps, false);
        for layer in &self.layers {
            let qkv = x.linear(&layer.qkv_w, Some(&layer.qkv_b));
            let mut grid = Tensor::zeros([b * l, 3 * h], (kind, device));
            let _ = grid.index_copy_(0, &batch.slots, &qkv);
            let grid = grid
                .reshape([b, l, 3, heads, h / heads])
                .permute([2, 0, 3, 1, 4]);
            let ctx = batch
                .attend(&grid.get(0), &grid.get(1), &grid.get(2), kind)
                .transpose(1, 2)
                .reshape([b * l, h])
                .index_select(0, &batch.slots);
            let attn = (ctx.linear(&layer.out_w, Some(&layer.out_b)) + &x).layer_norm(
                [h],
                Some(&layer.ln1_w),
                Some(&layer.ln1_b),
                eps,
                false,
            );
            let mut up = attn.linear(&layer.up_w, Some(&layer.up_b));
            let _ = up.gelu_("none");
            x = (up.linear(&layer.down_w, Some(&layer.down_b)) + &attn).layer_norm(
                [h],
                Some(&layer.ln2_w),
                Some(&layer.ln2_b),
                eps,
                false,
            );
        }
        let sum = Tensor::zeros([b, h], (Kind::Float, device)).index_add(
            0,
            &batch.rows_of_tokens,
            &x.to_kind(Kind::Float),
        );
        let mean = sum / batch.lengths.unsqueeze(1);
        let norm = mean
            .norm_scalaropt_dim(2, [1i64].as_slice(), true)
            .clamp_min(1e-12);
        mean / norm
    }
}

/// A batch of tokenised texts laid out for [`BertEncoder::embed_packed`].
pub struct PackedBatch {
    rows: i64,
    len: i64,
    ids: Tensor,
    positions: Tensor,
    slots: Tensor,
    rows_of_tokens: Tensor,
    lengths: Tensor,
    keep: Tensor,
    bias: Tensor,
}

impl PackedBatch {
    /// Scaled dot-product attention of `[batch, heads, len, head_dim]` tensors over real keys.
    ///
    /// libtorch 2.4's CPU flash kernel wins for f32 beyond a few tokens; for bf16, and for very
    /// short f32 batches, two batched matmuls around a softmax are faster (scripts/bench-embed.sh).
    fn attend(&self, q: &Tensor, k: &Tensor, v: &Tensor, kind: Kind) -> Tensor {
        if kind == Kind::Float && self.len > 24 {
            return Tensor::scaled_dot_product_attention(
                q,
                k,
                v,
                Some(&self.keep),
                0.0,
                false,
                None::<f64>,
            );
        }
        let scale = 1.0 / (q.size()[3] as f64).sqrt();
        let scores = q.matmul(&k.transpose(-1, -2)) * scale + self.bias.to_kind(kind);
        scores.softmax(-1, kind).matmul(v)
    }

    /// Packs token-id sequences (each non-empty) for `device`.
    pub fn new(seqs: &[&[i64]], device: Device) -> Self {
        let rows = seqs.len() as i64;
        let len = seqs.iter().map(|s| s.len()).max().unwrap_or(0) as i64;
        let total: usize = seqs.iter().map(|s| s.len()).sum();
        let mut ids = Vec::with_capacity(total);
        let mut positions = Vec::with_capacity(total);
        let mut slots = Vec::with_capacity(total);
        let mut rows_of_tokens = Vec::with_capacity(total);
        let mut keep = vec![false; (rows * len) as usize];
        for (r, s) in seqs.iter().enumerate() {
            for (p, &id) in s.iter().enumerate() {
                let slot = r as i64 * len + p as i64;
                ids.push(id);
                positions.push(p as i64);
                slots.push(slot);
                rows_of_tokens.push(r as i64);
                keep[slot as usize] = true;
            }
        }
        let lengths: Vec<f32> = seqs.iter().map(|s| s.len().max(1) as f32).collect();
        let bias: Vec<f32> = keep
            .iter()
            .map(|&k| if k { 0.0 } else { f32::NEG_INFINITY })
            .collect();
        let t = |v: &[i64]| Tensor::from_slice(v).to_device(device);
        PackedBatch {
            rows,
            len,
            ids: t(&ids),
            positions: t(&positions),
            slots: t(&slots),
            rows_of_tokens: t(&rows_of_tokens),
            lengths: Tensor::from_slice(&lengths).to_device(device),
            // True where a key may be attended to, broadcast over heads and queries; the same
            // as an additive bias (0 or -inf) for the matmul path.
            keep: Tensor::from_slice(&keep)
                .reshape([rows, 1, 1, len])
                .to_device(device),
            bias: Tensor::from_slice(&bias)
                .reshape([rows, 1, 1, len])
                .to_device(device),
        }
    }
}
