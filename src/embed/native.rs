//! Safe wrappers over the C++ that runs beside libtorch (`native.cpp`, compiled by `build.rs`
//! against the libtorch torch-sys links): the fused int8 passes, the f32 attention of packed
//! texts and the encoder's heap setting.
//! The only module with `unsafe` code.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr::{null, null_mut};
use std::sync::Mutex;

use tch::{Kind, Tensor};

extern "C" {
    fn cf_heap_keep_freed(keep: c_int);

    #[allow(clippy::too_many_arguments)]
    fn cf_int8_quantize(
        x: *const c_void,
        outliers: *const i64,
        n_outliers: i64,
        q: *mut c_void,
        row_scale: *mut c_void,
        kept: *mut c_void,
        err: *mut c_char,
        err_len: i64,
    ) -> c_int;

    fn cf_int8_layer(p: *const CfInt8Layer, err: *mut c_char, err_len: i64) -> c_int;

    #[allow(clippy::too_many_arguments)]
    fn cf_attend(
        qkv: *const c_void,
        starts: *const i64,
        lens: *const i64,
        texts: i64,
        heads: i64,
        ctx: *mut c_void,
        err: *mut c_char,
        err_len: i64,
    ) -> c_int;
}

/// A tensor as the `at::Tensor*` the C++ side takes.
fn ptr(t: &Tensor) -> *const c_void {
    t.as_ptr() as *const c_void
}

fn checked(rc: c_int, err: &[c_char]) -> Result<(), String> {
    if rc == 0 {
        return Ok(());
    }
    // SAFETY: the C++ side wrote a NUL-terminated message into `err` (zeroed beforehand,
    // its last byte never written).
    let msg = unsafe { CStr::from_ptr(err.as_ptr()) };
    Err(msg.to_string_lossy().into_owned())
}

fn is_f32(t: &Tensor) -> bool {
    t.kind() == Kind::Float && t.is_contiguous()
}

/// A layer's input in int8: `[rows, in]` levels, `[rows]` row scales, and the `[rows, k]` f32
/// values of the layer's outlier channels (whose levels are zero).
pub struct Quantised {
    pub q: Tensor,
    pub scale: Tensor,
    pub kept: Tensor,
}

impl Quantised {
    /// Room for `rows` rows of `n` channels, `k` of them kept in f32.
    pub fn empty(rows: i64, n: i64, k: usize, device: tch::Device) -> Self {
        Quantised {
            q: Tensor::empty([rows, n], (Kind::Int8, device)),
            scale: Tensor::empty([rows], (Kind::Float, device)),
            kept: Tensor::empty([rows, k as i64], (Kind::Float, device)),
        }
    }

    fn is_valid(&self) -> bool {
        self.q.kind() == Kind::Int8
            && self.q.is_contiguous()
            && self.q.device() == tch::Device::Cpu
            && is_f32(&self.scale)
            && is_f32(&self.kept)
    }
}

/// Quantises `x` (`[rows, in]` f32) row by row into `out`, each row with its own scale; the
/// `outliers` channels (ascending) are left out of the scale, quantise to zero and are kept in
/// f32. Errors name a broken shape or type (a bug, not bad input).
pub fn quantize(x: &Tensor, outliers: &[i64], out: &mut Quantised) -> Result<(), String> {
    if !is_f32(x) || !out.is_valid() || x.device() != tch::Device::Cpu {
        return Err("int8 quantise: contiguous CPU tensors of the expected types".into());
    }
    let mut err = [0 as c_char; 256];
    // SAFETY: the pointers are live tensors for the duration of the call; the C++ side checks
    // shapes and types, writes only inside `out`'s tensors, reads `outliers` within its
    // length, and catches every exception.
    let rc = unsafe {
        cf_int8_quantize(
            ptr(x),
            outliers.as_ptr(),
            outliers.len() as i64,
            out.q.as_mut_ptr() as *mut c_void,
            out.scale.as_mut_ptr() as *mut c_void,
            out.kept.as_mut_ptr() as *mut c_void,
            err.as_mut_ptr(),
            err.len() as i64 - 1,
        )
    };
    checked(rc, &err)
}

/// `cf_int8_layer`'s operands, field for field (`native.cpp`'s `CfInt8Layer`).
#[repr(C)]
struct CfInt8Layer {
    q: *const c_void,
    wt: *const c_void,
    block: i64,
    row_scale: *const c_void,
    kept: *const c_void,
    wscale: *const c_void,
    bias: *const c_void,
    outlier_wt: *const c_void,
    residual: *const c_void,
    gelu: i64,
    ln_weight: *const c_void,
    ln_bias: *const c_void,
    ln_eps: f64,
    y: *mut c_void,
    next_outliers: *const i64,
    n_next: i64,
    next_q: *mut c_void,
    next_scale: *mut c_void,
    next_kept: *mut c_void,
}

/// An int8 layer's weights as the product and the output pass read them.
pub struct LayerWeights<'a> {
    /// `[in, out]` int8 levels (a transposed view of `[out, in]`).
    pub levels_t: &'a Tensor,
    /// `[out]` scale of each weight row.
    pub wscale: &'a Tensor,
    /// `[out]` bias.
    pub bias: &'a Tensor,
    /// `[k, out]` f32 weights of the outlier input channels.
    pub outlier_wt: &'a Tensor,
}

/// What follows the product in an int8 layer's output pass, in this order.
#[derive(Default)]
pub struct After<'a> {
    /// `[rows, out]` added.
    pub residual: Option<&'a Tensor>,
    /// Exact GELU.
    pub gelu: bool,
    /// Layer norm: weight, bias (`[out]`), epsilon.
    pub layer_norm: Option<(&'a Tensor, &'a Tensor, f64)>,
}

/// Where an int8 layer's output pass writes: the f32 rows, and / or the rows quantised for
/// a next int8 layer with that layer's outlier channels.
pub struct Outputs<'a> {
    pub y: Option<&'a mut Tensor>,
    pub next: Option<(&'a [i64], &'a mut Quantised)>,
}

/// An int8 layer on `input`: the product of its levels and `w`'s, `block` rows at a time, each
/// block followed by its output pass, `sums · row scale · wscale + bias + kept · outlier_wt`,
/// then `after`, into `outputs`, row by row.
pub fn int8_layer(
    input: &Quantised,
    w: &LayerWeights,
    block: i64,
    after: &After,
    outputs: Outputs,
) -> Result<(), String> {
    let f32s = [w.wscale, w.bias, w.outlier_wt];
    let mut ok = f32s.iter().all(|t| is_f32(t))
        && input.is_valid()
        && after.residual.is_none_or(is_f32)
        && after
            .layer_norm
            .is_none_or(|(lw, lb, _)| is_f32(lw) && is_f32(lb))
        && w.levels_t.kind() == Kind::Int8
        && w.levels_t.device() == tch::Device::Cpu;
    if let Some(y) = &outputs.y {
        ok &= is_f32(y);
    }
    if let Some((_, q)) = &outputs.next {
        ok &= q.is_valid();
    }
    if !ok || (outputs.y.is_none() && outputs.next.is_none()) {
        return Err("int8 layer: contiguous CPU tensors of the expected types".into());
    }
    let (next_outliers, next) = match outputs.next {
        Some((o, q)) => (o, Some(q)),
        None => (&[][..], None),
    };
    let mut_ptr = |t: &mut Tensor| t.as_mut_ptr() as *mut c_void;
    let (next_q, next_scale, next_kept) = match next {
        Some(q) => (
            mut_ptr(&mut q.q),
            mut_ptr(&mut q.scale),
            mut_ptr(&mut q.kept),
        ),
        None => (null_mut(), null_mut(), null_mut()),
    };
    let (ln_weight, ln_bias, ln_eps) = match after.layer_norm {
        Some((lw, lb, eps)) => (ptr(lw), ptr(lb), eps),
        None => (null(), null(), 0.0),
    };
    let p = CfInt8Layer {
        q: ptr(&input.q),
        wt: ptr(w.levels_t),
        block,
        row_scale: ptr(&input.scale),
        kept: ptr(&input.kept),
        wscale: ptr(w.wscale),
        bias: ptr(w.bias),
        outlier_wt: ptr(w.outlier_wt),
        residual: after.residual.map_or(null(), ptr),
        gelu: i64::from(after.gelu),
        ln_weight,
        ln_bias,
        ln_eps,
        y: outputs.y.map_or(null_mut(), mut_ptr),
        next_outliers: next_outliers.as_ptr(),
        n_next: next_outliers.len() as i64,
        next_q,
        next_scale,
        next_kept,
    };
    let mut err = [0 as c_char; 256];
    // SAFETY: every pointer in `p` is a live tensor (or null where the C++ side takes none)
    // for the duration of the call, `next_outliers` is read within `n_next`; the C++ side
    // checks shapes and types, writes only inside `y` and the next layer's tensors, and
    // catches every exception.
    let rc = unsafe { cf_int8_layer(&p, err.as_mut_ptr(), err.len() as i64 - 1) };
    checked(rc, &err)
}

/// Self-attention of packed texts without masks: `qkv` (`[rows, 3 h]` f32, each token's query,
/// key and value projections), text `t` on rows `starts[t]..starts[t] + lens[t]`, `heads`
/// heads of 32 or 64 columns; writes `ctx` (`[rows, h]` f32), zero on rows of no text.
pub fn attend(
    qkv: &Tensor,
    starts: &[i64],
    lens: &[i64],
    heads: i64,
    ctx: &mut Tensor,
) -> Result<(), String> {
    let ok = is_f32(qkv) && is_f32(ctx) && qkv.device() == tch::Device::Cpu;
    if !ok || starts.len() != lens.len() {
        return Err("attention: contiguous CPU f32 tensors, a start and a length per text".into());
    }
    let mut err = [0 as c_char; 256];
    // SAFETY: as in `quantize`: live tensors, `starts` and `lens` read within their common
    // length, rows and shapes checked on the C++ side, writes only inside `ctx`, exceptions
    // caught there.
    let rc = unsafe {
        cf_attend(
            ptr(qkv),
            starts.as_ptr(),
            lens.as_ptr(),
            starts.len() as i64,
            heads,
            ctx.as_mut_ptr() as *mut c_void,
            err.as_mut_ptr(),
            err.len() as i64 - 1,
        )
    };
    checked(rc, &err)
}

/// Encoders that hold the heap setting (see [`KeepFreedMemory`]).
static HOLDERS: Mutex<usize> = Mutex::new(0);

/// While alive, the C heap keeps freed blocks of up to 256 MB for reuse rather than give them
/// back to the system: every layer of the forward pass frees and allocates tensors of the same
/// few sizes, and a block returned and asked for again costs a page fault per 4 KB page (a
/// fifth of the int8 forward's time). When the last one is dropped the heap returns to
/// thresholds of 32 MB (glibc's own upper bound for its adaptive setting) and gives back what
/// it kept, so the phases after embedding see their usual peak memory.
pub struct KeepFreedMemory(());

impl KeepFreedMemory {
    pub fn new() -> Self {
        let mut n = HOLDERS.lock().unwrap_or_else(|e| e.into_inner());
        if *n == 0 {
            // SAFETY: mallopt takes plain integers and is safe to call at any time.
            unsafe { cf_heap_keep_freed(1) };
        }
        *n += 1;
        KeepFreedMemory(())
    }
}

impl Drop for KeepFreedMemory {
    fn drop(&mut self) {
        let mut n = HOLDERS.lock().unwrap_or_else(|e| e.into_inner());
        *n = n.saturating_sub(1);
        if *n == 0 {
            // SAFETY: as in `new`; malloc_trim only releases free memory.
            unsafe { cf_heap_keep_freed(0) };
        }
    }
}
