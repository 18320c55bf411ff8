//! Safe wrappers over the C++ that runs beside libtorch (`native.cpp`, compiled by `build.rs`
//! against the libtorch torch-sys links): the fused int8 passes and the encoder's heap setting.
//! The only module with `unsafe` code.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::Mutex;

use tch::{Kind, Tensor};

extern "C" {
    fn cf_heap_keep_freed(keep: c_int);

    fn cf_int8_quantize(
        x: *const c_void,
        outliers: *const i64,
        n_outliers: i64,
        q: *mut c_void,
        row_scale: *mut c_void,
        err: *mut c_char,
        err_len: i64,
    ) -> c_int;

    #[allow(clippy::too_many_arguments)]
    fn cf_int8_rescale(
        acc: *const c_void,
        row_scale: *const c_void,
        wscale: *const c_void,
        bias: *const c_void,
        x: *const c_void,
        outliers: *const i64,
        n_outliers: i64,
        outlier_wt: *const c_void,
        residual: *const c_void,
        y: *mut c_void,
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

/// Quantises `x` (`[rows, in]` f32) row by row into `q` (`[rows, in]` int8), each row with its
/// own scale written to `row_scale` (`[rows]` f32); the `outliers` channels are left out of the
/// scale and quantise to zero. Errors name a broken shape or type (a bug, not bad input).
pub fn quantize(
    x: &Tensor,
    outliers: &[i64],
    q: &mut Tensor,
    row_scale: &mut Tensor,
) -> Result<(), String> {
    let ok = is_f32(x) && is_f32(row_scale) && q.kind() == Kind::Int8 && q.is_contiguous();
    if !ok || x.device() != tch::Device::Cpu {
        return Err("int8 quantise: contiguous CPU tensors of the expected types".into());
    }
    let mut err = [0 as c_char; 256];
    // SAFETY: the pointers are live tensors for the duration of the call; the C++ side checks
    // shapes and types, writes only inside `q` and `row_scale`, reads `outliers` within its
    // length, and catches every exception.
    let rc = unsafe {
        cf_int8_quantize(
            ptr(x),
            outliers.as_ptr(),
            outliers.len() as i64,
            q.as_mut_ptr() as *mut c_void,
            row_scale.as_mut_ptr() as *mut c_void,
            err.as_mut_ptr(),
            err.len() as i64 - 1,
        )
    };
    checked(rc, &err)
}

/// The f32 operands of [`rescale`] besides the int32 sums.
pub struct Rescale<'a> {
    /// `[rows]` scale of each quantised row.
    pub row_scale: &'a Tensor,
    /// `[out]` scale of each weight row.
    pub wscale: &'a Tensor,
    /// `[out]` bias.
    pub bias: &'a Tensor,
    /// `[rows, in]` the layer's f32 input (for the outlier channels).
    pub x: &'a Tensor,
    /// Outlier input channels.
    pub outliers: &'a [i64],
    /// `[outliers, out]` their f32 weights.
    pub outlier_wt: &'a Tensor,
    /// `[rows, out]` added last, or none.
    pub residual: Option<&'a Tensor>,
}

/// `y = acc · row_scale · wscale + bias + x[:, outliers] · outlier_wt (+ residual)`, row by row.
pub fn rescale(acc: &Tensor, p: &Rescale, y: &mut Tensor) -> Result<(), String> {
    let f32s = [p.row_scale, p.wscale, p.bias, p.x, p.outlier_wt];
    let ok = f32s.iter().all(|t| is_f32(t))
        && p.residual.is_none_or(is_f32)
        && is_f32(y)
        && acc.kind() == Kind::Int
        && acc.is_contiguous()
        && acc.device() == tch::Device::Cpu;
    if !ok {
        return Err("int8 rescale: contiguous CPU tensors of the expected types".into());
    }
    let mut err = [0 as c_char; 256];
    // SAFETY: as in `quantize`: live tensors, shapes checked on the C++ side, writes only
    // inside `y`, exceptions caught there.
    let rc = unsafe {
        cf_int8_rescale(
            ptr(acc),
            ptr(p.row_scale),
            ptr(p.wscale),
            ptr(p.bias),
            ptr(p.x),
            p.outliers.as_ptr(),
            p.outliers.len() as i64,
            ptr(p.outlier_wt),
            p.residual.map_or(std::ptr::null(), ptr),
            y.as_mut_ptr() as *mut c_void,
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
