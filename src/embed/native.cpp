// C++ that runs beside libtorch (wrapped by src/embed/native.rs): the heap setting of the
// encoder, and fused passes around libtorch's int8 matrix product for codeframe's int8 dense
// layers (src/embed/int8.rs): one pass quantises each row (its own scale), one pass turns the int32
// sums back into f32 with the bias, the f32 outlier channels and the residual. Each replaces
// a chain of separate libtorch element-wise ops, every one a full pass over memory.
//
// The arithmetic is that of the libtorch ops it replaces, in their order, so a row's result
// depends on that row alone. C++ exceptions never cross into Rust: every entry point returns
// null and writes the message instead.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <malloc.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr float kLevels = 127.0f;
// 1.5 x 2^23: added to an f32 below 2^22 in magnitude and taken away again, it leaves the
// value rounded to the nearest integer, ties to even.
constexpr float kRounding = 12582912.0f;

void write_error(const std::exception& e, char* err, int64_t err_len) {
  if (err == nullptr || err_len <= 0) return;
  std::strncpy(err, e.what(), static_cast<size_t>(err_len - 1));
  err[err_len - 1] = '\0';
}

// Largest |x| over `n` values (0 for none). Bit patterns of |x|
// compare as unsigned integers in the order of the floats, which vectorises without
// fast-math flags.
__attribute__((target_clones("avx512f", "avx2", "default")))
float row_absmax(const float* x, int64_t n) {
  uint32_t m = 0;
  for (int64_t c = 0; c < n; ++c) {
    uint32_t bits;
    std::memcpy(&bits, x + c, 4);
    bits &= 0x7fffffffu;
    m = bits > m ? bits : m;
  }
  float out;
  std::memcpy(&out, &m, 4);
  return out;
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void quantize_row(const float* x, int8_t* q, int64_t n, float scale) {
  for (int64_t c = 0; c < n; ++c) {
    float v = x[c] / scale;
    v = (v + kRounding) - kRounding;
    v = v < -kLevels ? -kLevels : v;
    v = v > kLevels ? kLevels : v;
    q[c] = static_cast<int8_t>(static_cast<int32_t>(v));
  }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void rescale_row(const int32_t* acc, const float* wscale, const float* bias, float rscale,
                 float* y, int64_t n) {
  for (int64_t o = 0; o < n; ++o) {
    float v = static_cast<float>(acc[o]) * rscale;
    v = v * wscale[o];
    y[o] = v + bias[o];
  }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void axpy_row(float a, const float* w, float* y, int64_t n) {
  for (int64_t o = 0; o < n; ++o) y[o] += a * w[o];
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void add_row(const float* r, float* y, int64_t n) {
  for (int64_t o = 0; o < n; ++o) y[o] = y[o] + r[o];
}

}  // namespace

extern "C" {

// keep != 0: freed blocks up to 256 MB stay in the heap for reuse (no mmap per tensor, no
// trimming below 1 GB of free space); keep == 0: thresholds of 32 MB / 64 MB (where glibc's
// adaptive threshold ends up after large frees) and what was kept is given back.
void cf_heap_keep_freed(int keep) {
  if (keep != 0) {
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  } else {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    malloc_trim(0);
  }
}

// Quantises `x` ([rows, in] f32, contiguous) row by row into `q` ([rows, in] int8) with the
// outlier channels `outliers` ([k] int64, ascending) left out of each row's scale and set to zero;
// writes each row's scale to `row_scale` ([rows] f32). Returns 0, or -1 with `err` set.
int cf_int8_quantize(const at::Tensor* x, const int64_t* outliers, int64_t n_outliers,
                     at::Tensor* q, at::Tensor* row_scale, char* err, int64_t err_len) {
  try {
    TORCH_CHECK(x->is_contiguous() && x->scalar_type() == at::kFloat, "x: contiguous f32");
    TORCH_CHECK(q->is_contiguous() && q->scalar_type() == at::kChar, "q: contiguous int8");
    TORCH_CHECK(row_scale->is_contiguous() && row_scale->scalar_type() == at::kFloat,
                "row_scale: contiguous f32");
    const int64_t rows = x->size(0), n = x->size(1);
    TORCH_CHECK(q->size(0) == rows && q->size(1) == n && row_scale->numel() == rows,
                "shapes");
    for (int64_t k = 0; k < n_outliers; ++k)
      TORCH_CHECK(outliers[k] >= 0 && outliers[k] < n && (k == 0 || outliers[k] > outliers[k - 1]),
                  "outlier channels: ascending, in range");
    const float* xp = x->data_ptr<float>();
    int8_t* qp = q->data_ptr<int8_t>();
    float* sp = row_scale->data_ptr<float>();
    at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const float* xr = xp + r * n;
        int8_t* qr = qp + r * n;
        // The largest |x| over the stretches between the (sorted) outlier channels.
        float m = 0.0f;
        int64_t from = 0;
        for (int64_t k = 0; k <= n_outliers; ++k) {
          const int64_t to = k < n_outliers ? outliers[k] : n;
          const float part = row_absmax(xr + from, to - from);
          m = part > m ? part : m;
          from = to + 1;
        }
        const float s = (m < 1e-12f ? 1e-12f : m) / kLevels;
        sp[r] = s;
        quantize_row(xr, qr, n, s);
        // The outlier channels' int8 weights are zero; zero their values too.
        for (int64_t k = 0; k < n_outliers; ++k) qr[outliers[k]] = 0;
      }
    });
    return 0;
  } catch (const std::exception& e) {
    write_error(e, err, err_len);
    return -1;
  }
}

// `y = acc * row_scale * wscale + bias + x[:, outliers] @ outlier_wt (+ residual)` row by row:
// `acc` [rows, out] int32, `row_scale` [rows], `wscale` and `bias` [out], `x` [rows, in],
// `outlier_wt` [k, out], `residual` [rows, out] or null; `y` [rows, out] f32.
int cf_int8_rescale(const at::Tensor* acc, const at::Tensor* row_scale, const at::Tensor* wscale,
                    const at::Tensor* bias, const at::Tensor* x, const int64_t* outliers,
                    int64_t n_outliers, const at::Tensor* outlier_wt, const at::Tensor* residual,
                    at::Tensor* y, char* err, int64_t err_len) {
  try {
    const at::Tensor* f32s[] = {row_scale, wscale, bias, x, outlier_wt, y};
    for (const at::Tensor* t : f32s)
      TORCH_CHECK(t->is_contiguous() && t->scalar_type() == at::kFloat, "contiguous f32");
    TORCH_CHECK(acc->is_contiguous() && acc->scalar_type() == at::kInt, "acc: contiguous int32");
    const int64_t rows = acc->size(0), out = acc->size(1), in = x->size(1);
    TORCH_CHECK(y->size(0) == rows && y->size(1) == out && x->size(0) == rows, "shapes");
    TORCH_CHECK(outlier_wt->numel() == n_outliers * out, "outlier weights");
    if (residual != nullptr) {
      TORCH_CHECK(residual->is_contiguous() && residual->scalar_type() == at::kFloat &&
                      residual->size(0) == rows && residual->size(1) == out,
                  "residual");
    }
    for (int64_t k = 0; k < n_outliers; ++k)
      TORCH_CHECK(outliers[k] >= 0 && outliers[k] < in, "outlier channel out of range");
    const int32_t* ap = acc->data_ptr<int32_t>();
    const float* rs = row_scale->data_ptr<float>();
    const float* ws = wscale->data_ptr<float>();
    const float* bp = bias->data_ptr<float>();
    const float* xp = x->data_ptr<float>();
    const float* ow = outlier_wt->data_ptr<float>();
    const float* rp = residual != nullptr ? residual->data_ptr<float>() : nullptr;
    float* yp = y->data_ptr<float>();
    at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        float* yr = yp + r * out;
        rescale_row(ap + r * out, ws, bp, rs[r], yr, out);
        for (int64_t k = 0; k < n_outliers; ++k)
          axpy_row(xp[r * in + outliers[k]], ow + k * out, yr, out);
        if (rp != nullptr) add_row(rp + r * out, yr, out);
      }
    });
    return 0;
  } catch (const std::exception& e) {
    write_error(e, err, err_len);
    return -1;
  }
}

}  // extern "C"
