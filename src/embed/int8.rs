//! Int8 dense layers for the encoder: weights quantised once at load, one scale per output
//! channel; activations quantised per token row; int8 × int8 products summed exactly in int32.
//!
//! Why per row and not per tensor (libtorch's dynamic quantised linear): a per-tensor scale
//! makes a text's vector depend on the other texts in its batch. With one scale per row and an
//! exact integer product, a row's result depends on that row alone, so the vectors keep the
//! batch independence of the f32 forward.
//!
//! BERT-family encoders carry a few input channels with values far larger than the rest (after
//! the layer norms); one of them would take most of a row's int8 range. The channels with the
//! largest values on a calibration batch stay in f32; their products are added in the layer's
//! output pass (`native.cpp`; one small matmul on the reference path).

use std::cell::RefCell;

use tch::{Device, Kind, Tensor};

use super::bert::BLOCK_ROWS;
use super::cpu::CpuInfo;
use super::native as kernel;

/// Input channels per dense layer kept in f32 (the largest on the calibration batch).
pub const OUTLIER_CHANNELS: i64 = 4;

/// Largest activation level: int8's symmetric range.
const ACTIVATION_LEVELS: f64 = 127.0;

/// Flags that give int8 dot products without 16-bit intermediate sums.
const VNNI_FLAGS: &[&str] = &["avx512_vnni", "avx_vnni", "amx_int8"];

/// Largest weight level on this CPU: 127, or 63 where int8 products go through 16-bit
/// pair sums (AVX2 without VNNI), which two products of 127 × 127 would overflow.
pub fn weight_levels(cpu: &CpuInfo) -> i64 {
    if cpu.flags.iter().any(|f| VNNI_FLAGS.contains(&f.as_str())) {
        127
    } else {
        63
    }
}

/// Rows per int8 product, each followed on the same thread by its output pass, so that the
/// block's int32 sums are read back from that core's cache (a 2,048-row product wrote 12 MB
/// of sums for the up projection). Integer sums are exact and the pass works row by row, so
/// the block changes no result.
const PRODUCT_BLOCK: i64 = 128;

/// A dense layer `x W^T + b` with int8 weights.
pub struct QuantLinear {
    /// `[out, in]` int8 weights (outlier channels zero); multiplied as a transposed view,
    /// which libtorch's int8 matmul runs faster than a contiguous `[in, out]` copy.
    weight: Tensor,
    /// `[out]` f32 scale per output channel.
    scale: Tensor,
    /// Indices of the input channels kept in f32, ascending.
    outliers: Vec<i64>,
    /// `[outliers, out]` f32 weights of those channels.
    outlier_weight_t: Tensor,
    /// `[out]` bias.
    bias: Tensor,
}

impl QuantLinear {
    /// Quantises `weight` (`[out, in]`, f32) to `levels`, keeping in f32 the
    /// [`OUTLIER_CHANNELS`] input channels with the largest `input_absmax` (`[in]`).
    pub fn new(weight: &Tensor, bias: &Tensor, input_absmax: &Tensor, levels: i64) -> Self {
        let inputs = weight.size()[1];
        let keep = OUTLIER_CHANNELS.min(inputs);
        // Ties broken by channel index: sort is stable on the descending values.
        let (_, order) = input_absmax.sort_stable(true, 0, true);
        let mut outliers = Vec::<i64>::try_from(order.narrow(0, 0, keep)).unwrap_or_default();
        outliers.sort_unstable();
        let index = Tensor::from_slice(&outliers).to_device(weight.device());
        let rest = weight.index_fill(1, &index, 0.0);
        let scale = rest.abs().amax([1i64].as_slice(), false).clamp_min(1e-12) / levels as f64;
        let levels_w = (&rest / scale.unsqueeze(1))
            .round()
            .clamp(-(levels as f64), levels as f64)
            .to_kind(Kind::Int8)
            .contiguous();
        let outlier_weight_t = weight.index_select(1, &index).tr().contiguous();
        QuantLinear {
            weight: levels_w,
            scale: scale.to_kind(Kind::Float).contiguous(),
            outliers,
            outlier_weight_t,
            bias: bias.to_kind(Kind::Float).contiguous(),
        }
    }

    /// `x W^T + b (+ residual)` over `[rows, in]` f32 with `rows` a multiple of
    /// [`BLOCK_ROWS`]: the quantisation and the output each in one fused pass (`native.cpp`)
    /// around libtorch's int8 product, or [`QuantLinear::forward_reference`] if the fused
    /// passes refuse their operands. The tests' view of one layer; the encoder chains its
    /// layers' fused passes itself and stops on a refusal.
    #[cfg(test)]
    pub fn forward(&self, x: &Tensor, residual: Option<&Tensor>, scratch: &Scratch) -> Tensor {
        self.forward_fused(x, residual)
            .unwrap_or_else(|_| self.forward_reference(x, residual, scratch))
    }

    #[cfg(test)]
    fn forward_fused(
        &self,
        x: &Tensor,
        residual: Option<&Tensor>,
    ) -> std::result::Result<Tensor, String> {
        let input = self.quantize(&x.contiguous())?;
        let mut y = Tensor::empty([x.size()[0], self.outputs()], (Kind::Float, x.device()));
        let residual = residual.map(Tensor::contiguous);
        let after = kernel::After {
            residual: residual.as_ref(),
            ..Default::default()
        };
        let outputs = kernel::Outputs {
            y: Some(&mut y),
            next: None,
        };
        self.forward_quantised(&input, &after, outputs)?;
        Ok(y)
    }

    /// Output channels.
    pub fn outputs(&self) -> i64 {
        self.weight.size()[0]
    }

    /// The input channels this layer keeps in f32, ascending.
    pub fn outliers(&self) -> &[i64] {
        &self.outliers
    }

    /// `x` (`[rows, in]` f32, contiguous) quantised for this layer, in one pass.
    pub fn quantize(&self, x: &Tensor) -> std::result::Result<kernel::Quantised, String> {
        let (rows, inputs) = (x.size()[0], x.size()[1]);
        let mut out = kernel::Quantised::empty(rows, inputs, self.outliers.len(), x.device());
        kernel::quantize(x, &self.outliers, &mut out)?;
        Ok(out)
    }

    /// The layer on an input already quantised for it ([`QuantLinear::quantize`], or a
    /// previous layer's output pass): libtorch's int8 product, [`PRODUCT_BLOCK`] rows at a
    /// time, each block then rescaled, given the f32 channels and `after`, and written to
    /// `outputs` (`native.cpp`).
    pub fn forward_quantised(
        &self,
        input: &kernel::Quantised,
        after: &kernel::After,
        outputs: kernel::Outputs,
    ) -> std::result::Result<(), String> {
        let wt = self.weight.tr();
        let weights = kernel::LayerWeights {
            levels_t: &wt,
            wscale: &self.scale,
            bias: &self.bias,
            outlier_wt: &self.outlier_weight_t,
        };
        kernel::int8_layer(input, &weights, PRODUCT_BLOCK, after, outputs)
    }

    /// The same layer as a chain of libtorch ops: the reference the fused passes are tested
    /// against (their quantised rows are identical; sums of the f32 parts may round apart).
    pub fn forward_reference(
        &self,
        x: &Tensor,
        residual: Option<&Tensor>,
        scratch: &Scratch,
    ) -> Tensor {
        let (rows, inputs) = (x.size()[0], x.size()[1]);
        let outputs = self.weight.size()[0];
        // The row scale ignores the outlier channels: their weights are zero in the int8
        // matrix, so what they quantise to (clamped) is multiplied by zero.
        let index = Tensor::from_slice(&self.outliers).to_device(x.device());
        let mut work = scratch.get(Kind::Float, [rows, inputs], x.device());
        let _ = x.abs_out(&work);
        let _ = work.index_fill_(1, &index, 0.0);
        let row_scale = work
            .amax([1i64].as_slice(), true)
            .clamp_min(1e-12)
            .g_div_scalar(ACTIVATION_LEVELS);
        // Times the reciprocal, as the fused pass does (a division costs several products).
        let _ = x.mul_out(&work, &row_scale.reciprocal());
        // Round half to even by adding and taking away 1.5 × 2^23 (exact for |v| < 2^22):
        // libtorch's `round` runs several times slower on this path.
        let _ = work.g_add_scalar_(ROUNDING);
        let _ = work.g_sub_scalar_(ROUNDING);
        let _ = work.clamp_(-ACTIVATION_LEVELS, ACTIVATION_LEVELS);
        let mut q = scratch.get(Kind::Int8, [rows, inputs], x.device());
        q.copy_(&work);
        let acc = scratch.get(Kind::Int, [rows, outputs], x.device());
        let _ = q.internal_int_mm_out(&acc, &self.weight.tr());
        let mut y = acc.to_kind(Kind::Float);
        let _ = y.g_mul_(&row_scale);
        let _ = y.g_mul_(&self.scale);
        let _ = y.g_add_(&self.bias);
        // The f32 part in fixed row blocks, as the f32 dense layers do, so its rounding does
        // not depend on the batch's size.
        let kept = x.index_select(1, &index);
        for start in (0..rows).step_by(BLOCK_ROWS as usize) {
            let _ = y
                .narrow(0, start, BLOCK_ROWS)
                .addmm_(&kept.narrow(0, start, BLOCK_ROWS), &self.outlier_weight_t);
        }
        match residual {
            Some(r) => y + r,
            None => y,
        }
    }
}

/// 1.5 × 2^23: added to an f32 below 2^22 in magnitude and taken away again, it leaves the
/// value rounded to the nearest integer, ties to even.
const ROUNDING: f64 = 12_582_912.0;

/// Temporaries reused by every int8 layer of one forward pass: a fresh multi-megabyte
/// tensor per operation costs the system allocator a page fault per page, which took more
/// time than the int8 matmuls themselves.
#[derive(Default)]
pub struct Scratch {
    tensors: RefCell<Vec<Tensor>>,
}

impl Scratch {
    /// A tensor of `kind` and `shape` (contents undefined), the same one on every call with
    /// that kind and shape. Callers use it only until their next call.
    fn get(&self, kind: Kind, shape: [i64; 2], device: Device) -> Tensor {
        let mut tensors = self.tensors.borrow_mut();
        if let Some(t) = tensors
            .iter()
            .find(|t| t.kind() == kind && t.size() == shape && t.device() == device)
        {
            return t.shallow_clone();
        }
        let t = Tensor::empty(shape, (kind, device));
        tensors.push(t.shallow_clone());
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(flags: &str) -> CpuInfo {
        CpuInfo {
            model: "test".into(),
            flags: flags.split_whitespace().map(String::from).collect(),
        }
    }

    #[test]
    fn weight_levels_follow_vnni() {
        assert_eq!(weight_levels(&cpu("avx2 avx512_vnni")), 127);
        assert_eq!(weight_levels(&cpu("avx2 avx_vnni")), 127);
        assert_eq!(weight_levels(&cpu("avx2 fma")), 63);
    }

    #[test]
    fn close_to_f32_and_row_independent() {
        let _guard = tch::no_grad_guard();
        tch::manual_seed(7);
        let w = Tensor::randn([48, 32], (Kind::Float, tch::Device::Cpu));
        let b = Tensor::randn([48], (Kind::Float, tch::Device::Cpu));
        let x = Tensor::randn([2 * BLOCK_ROWS, 32], (Kind::Float, tch::Device::Cpu));
        // Two outlier channels, as after a BERT layer norm.
        let _ = x.narrow(1, 3, 1).g_mul_scalar_(40.0);
        let _ = x.narrow(1, 17, 1).g_mul_scalar_(25.0);
        let absmax = x.abs().amax([0i64].as_slice(), false);
        // The levels this CPU's int8 kernels take (7 bits without VNNI), as at load.
        let q = QuantLinear::new(&w, &b, &absmax, weight_levels(&CpuInfo::detect()));
        let exact = x.matmul(&w.tr()) + &b;
        let scratch = Scratch::default();
        let fused = q.forward_fused(&x, None);
        assert!(fused.is_ok(), "fused passes refused: {:?}", fused.err());
        let got = q.forward(&x, None, &scratch);
        // The fused passes against the chain of libtorch ops they replace.
        let reference = q.forward_reference(&x, None, &scratch);
        let diff = (&got - &reference).abs().max().double_value(&[]);
        assert!(diff < 1e-4, "fused against reference: {diff}");
        let with_residual = q.forward(&x, Some(&exact), &scratch);
        let diff = (&with_residual - (&got + &exact))
            .abs()
            .max()
            .double_value(&[]);
        assert!(diff == 0.0, "residual: {diff}");
        let cos = Tensor::cosine_similarity(&exact, &got, 1, 1e-8)
            .min()
            .double_value(&[]);
        assert!(cos > 0.999, "cosine {cos}");
        // The first block alone gives the same bits for its rows.
        let mut half = Tensor::zeros([BLOCK_ROWS, 32], (Kind::Float, tch::Device::Cpu));
        half.copy_(&x.narrow(0, 0, BLOCK_ROWS));
        let alone = q.forward(&half, None, &scratch);
        assert!(alone.equal(&got.narrow(0, 0, BLOCK_ROWS)));
        // So do row counts that end in a part of a product block, however short.
        for n in [300, 5] {
            let part = q.forward(&x.narrow(0, 0, n).contiguous(), None, &scratch);
            assert!(part.equal(&got.narrow(0, 0, n)), "{n} rows");
        }
        assert!(q.outliers.contains(&3) && q.outliers.contains(&17));
    }

    /// The output pass's GELU, layer norm and quantisation for a next layer against libtorch's
    /// ops and the quantisation pass on their result.
    #[test]
    fn output_pass_steps_match_libtorch() {
        let _guard = tch::no_grad_guard();
        tch::manual_seed(3);
        let dev = tch::Device::Cpu;
        let (rows, inputs, outputs) = (BLOCK_ROWS, 32, 48);
        let w = Tensor::randn([outputs, inputs], (Kind::Float, dev));
        let b = Tensor::randn([outputs], (Kind::Float, dev));
        let x = Tensor::randn([rows, inputs], (Kind::Float, dev));
        let _ = x.narrow(1, 5, 1).g_mul_scalar_(30.0);
        let absmax = x.abs().amax([0i64].as_slice(), false);
        let layer = QuantLinear::new(&w, &b, &absmax, weight_levels(&CpuInfo::detect()));
        let scratch = Scratch::default();
        let plain = layer.forward(&x, None, &scratch);
        let input = layer.quantize(&x);
        assert!(input.is_ok(), "{:?}", input.err());
        let Ok(input) = input else { return };
        let run = |after: &kernel::After, next: Option<&[i64]>| {
            let mut y = Tensor::empty([rows, outputs], (Kind::Float, dev));
            let mut q = kernel::Quantised::empty(rows, outputs, next.map_or(0, <[i64]>::len), dev);
            let outs = kernel::Outputs {
                y: Some(&mut y),
                next: next.map(|o| (o, &mut q)),
            };
            let done = layer.forward_quantised(&input, after, outs);
            assert!(done.is_ok(), "{:?}", done.err());
            (y, q)
        };
        let gelu = kernel::After {
            gelu: true,
            ..Default::default()
        };
        let (y, _) = run(&gelu, None);
        let diff = (&y - plain.gelu("none")).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "gelu: {diff}");
        let (lw, lb) = (
            Tensor::randn([outputs], (Kind::Float, dev)),
            Tensor::randn([outputs], (Kind::Float, dev)),
        );
        let norm = kernel::After {
            residual: Some(&plain),
            layer_norm: Some((&lw, &lb, 1e-12)),
            ..Default::default()
        };
        let next = [2i64, 40];
        let (y, q) = run(&norm, Some(&next));
        let expected = (&plain + &plain).layer_norm([outputs], Some(&lw), Some(&lb), 1e-12, false);
        let diff = (&y - expected).abs().max().double_value(&[]);
        assert!(diff < 1e-4, "layer norm: {diff}");
        // Quantised in the pass, the same bits as quantising the rows it wrote.
        let mut alone = kernel::Quantised::empty(rows, outputs, next.len(), dev);
        assert!(kernel::quantize(&y, &next, &mut alone).is_ok());
        assert!(q.q.equal(&alone.q) && q.scale.equal(&alone.scale) && q.kept.equal(&alone.kept));
        assert!(q.kept.equal(&y.index_select(1, &Tensor::from_slice(&next))));
    }
}
