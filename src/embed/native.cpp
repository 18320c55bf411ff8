// C++ that runs beside libtorch (wrapped by src/embed/native.rs): the heap setting of the
// encoder; fused passes around libtorch's int8 matrix product for codeframe's int8 dense
// layers (src/embed/int8.rs): one pass quantises a layer's input rows (each its own scale),
// and the layer itself runs block by block of rows, each thread taking the product of a
// block and then its output pass, which turns the int32 sums back into f32 with the bias,
// the f32 outlier channels and the residual, applies GELU or the layer norm and quantises
// the rows for the next int8 layer. Each pass replaces a chain of separate libtorch ops,
// every one a full pass over memory. And the f32 self-attention of packed texts, one text and
// head at a time, in place of one libtorch flash-attention call per text length (most answers
// are short, and the general kernel's block products cost more in set-up than in arithmetic
// there).
//
// The passes keep the order of the libtorch ops they replace (GELU and the layer norm agree
// with libtorch's to 1e-5, attention to 1e-5: unit tests in int8.rs and bert.rs); every pass
// works row by row (attention text by text), so a row's result depends on that row alone.
// C++ exceptions never cross into Rust: every entry point returns -1 and writes the message
// instead.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

// Each loop kernel is compiled for AVX-512, for x86-64-v3 (AVX2 with FMA) and for plain
// x86-64; the loader picks the best the CPU has, by its feature flags. (An "arch=haswell"
// clone would be chosen by CPU model, so AMD CPUs with AVX2 would get plain x86-64.)
#define CF_CLONES __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))

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
CF_CLONES
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

// Rounds `x[c] * inv_scale` (inv_scale = 1 / the row's scale) to the nearest level.
CF_CLONES
void quantize_row(const float* x, int8_t* q, int64_t n, float inv_scale) {
  for (int64_t c = 0; c < n; ++c) {
    float v = x[c] * inv_scale;
    v = (v + kRounding) - kRounding;
    v = v < -kLevels ? -kLevels : v;
    v = v > kLevels ? kLevels : v;
    q[c] = static_cast<int8_t>(static_cast<int32_t>(v));
  }
}

// Sixteen f32 or int32 lanes: one AVX-512 register, two AVX2 ones.
typedef float f32x16 __attribute__((vector_size(64)));
typedef int32_t i32x16 __attribute__((vector_size(64)));
constexpr int64_t kLanes = 16;

inline __attribute__((always_inline)) f32x16 load16(const float* p) {
  f32x16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// One output row: `acc * rscale * wscale + bias`, then each kept input channel's value
// (`kept` [k]) times its f32 weights (`ow` [k, n]), then `residual` (or none): sixteen
// outputs at a time, held in registers between the steps.
CF_CLONES
void rescale_row(const int32_t* acc, const float* wscale, const float* bias, float rscale,
                 const float* kept, int64_t k, const float* ow, const float* residual, float* y,
                 int64_t n) {
  int64_t o0 = 0;
  for (; o0 + kLanes <= n; o0 += kLanes) {
    i32x16 a;
    std::memcpy(&a, acc + o0, sizeof a);
    f32x16 v = __builtin_convertvector(a, f32x16) * rscale * load16(wscale + o0) + load16(bias + o0);
    for (int64_t j = 0; j < k; ++j) v += kept[j] * load16(ow + j * n + o0);
    if (residual != nullptr) v = v + load16(residual + o0);
    std::memcpy(y + o0, &v, sizeof v);
  }
  for (int64_t o = o0; o < n; ++o) {
    float v = static_cast<float>(acc[o]) * rscale * wscale[o] + bias[o];
    for (int64_t j = 0; j < k; ++j) v += kept[j] * ow[j * n + o];
    y[o] = residual != nullptr ? v + residual[o] : v;
  }
}

// erf as a ratio of polynomials on [-4, 4] (within 5e-7 of it; +-1 beyond), written without
// branches so that loops over it vectorise.
inline __attribute__((always_inline)) float erf_approx(float x) {
  x = x < -4.0f ? -4.0f : (x > 4.0f ? 4.0f : x);
  const float x2 = x * x;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 + -2.10102402082508e-06f;
  p = p * x2 + -5.69250639462346e-05f;
  p = p * x2 + -7.34990630326855e-04f;
  p = p * x2 + -2.95459980854025e-03f;
  p = p * x2 + -1.60960333262415e-02f;
  float q = -1.45660718464996e-05f;
  q = q * x2 + -2.13374055278905e-04f;
  q = q * x2 + -1.68282697438203e-03f;
  q = q * x2 + -7.37332916720468e-03f;
  q = q * x2 + -1.42647390514189e-02f;
  return x * p / q;
}

// Exact GELU, x / 2 (1 + erf(x / sqrt 2)), of one row in place.
CF_CLONES
void gelu_row(float* y, int64_t n) {
  for (int64_t c = 0; c < n; ++c) {
    const float x = y[c];
    y[c] = 0.5f * x * (1.0f + erf_approx(x * 0.707106781186547524f));
  }
}

// Layer norm of one row in place: mean and (biased) variance over the row, then weight and
// bias per channel.
CF_CLONES
void layer_norm_row(float* y, int64_t n, const float* w, const float* b, float eps) {
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t c = 0; c < n; ++c) sum += y[c];
  const float mean = sum / static_cast<float>(n);
  float squares = 0.0f;
#pragma omp simd reduction(+ : squares)
  for (int64_t c = 0; c < n; ++c) {
    const float d = y[c] - mean;
    squares += d * d;
  }
  const float rstd = 1.0f / std::sqrt(squares / static_cast<float>(n) + eps);
  for (int64_t c = 0; c < n; ++c) y[c] = (y[c] - mean) * rstd * w[c] + b[c];
}

// Quantises one row `x` [n] into `q`, its scale to `scale` (the largest |x| off the outlier
// channels over 127) and its values on those `k` channels to `kept`; their int8 values are
// zero (their int8 weights are too).
inline void quantize_one(const float* x, int64_t n, const int64_t* outliers, int64_t k,
                         int8_t* q, float* scale, float* kept) {
  // The largest |x| over the stretches between the (sorted) outlier channels.
  float m = 0.0f;
  int64_t from = 0;
  for (int64_t j = 0; j <= k; ++j) {
    const int64_t to = j < k ? outliers[j] : n;
    const float part = row_absmax(x + from, to - from);
    m = part > m ? part : m;
    from = to + 1;
  }
  const float s = (m < 1e-12f ? 1e-12f : m) / kLevels;
  *scale = s;
  quantize_row(x, q, n, 1.0f / s);
  for (int64_t j = 0; j < k; ++j) {
    kept[j] = x[outliers[j]];
    q[outliers[j]] = 0;
  }
}

// e^x for x <= 0 (softmax after taking the maximum away), to about 2 ulp: Cephes' polynomial
// on the remainder after powers of two, written without branches so that loops over it
// vectorise. Below -87 the result is 0-ish (2^-126 scale); those weights vanish next to 1.
inline __attribute__((always_inline)) float exp_nonpositive(float x) {
  x = x < -87.0f ? -87.0f : x;
  const float n = (x * 1.44269504088896341f + kRounding) - kRounding;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return p * scale;
}

// Keys per step of the score loop: one AVX-512 register of f32 (two AVX2 ones).
constexpr int64_t kKeys = 16;

// Scores of NQ queries (`q`, rows `stride` apart, already scaled) against the keys in `kt`
// (D x lpad, transposed, zero past the text): `s` [NQ][lpad]. Sums held in registers over
// the D columns.
template <int D, int NQ>
inline __attribute__((always_inline)) void scores(const float* q, int64_t stride,
                                                  const float* kt, int64_t lpad, float* s) {
  for (int64_t j0 = 0; j0 < lpad; j0 += kKeys) {
    float a[NQ][kKeys] = {};
    for (int64_t c = 0; c < D; ++c) {
      const float* k = kt + c * lpad + j0;
      for (int n = 0; n < NQ; ++n) {
        const float qc = q[n * stride + c];
        for (int64_t w = 0; w < kKeys; ++w) a[n][w] += qc * k[w];
      }
    }
    for (int n = 0; n < NQ; ++n)
      for (int64_t w = 0; w < kKeys; ++w) s[n * lpad + j0 + w] = a[n][w];
  }
}

// Softmax of the first `len` scores of a row in place (max taken away first).
inline __attribute__((always_inline)) void softmax_row(float* s, int64_t len) {
  float m = s[0];
#pragma omp simd reduction(max : m)
  for (int64_t j = 0; j < len; ++j) m = s[j] > m ? s[j] : m;
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < len; ++j) {
    const float e = exp_nonpositive(s[j] - m);
    s[j] = e;
    sum += e;
  }
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < len; ++j) s[j] *= inv;
}

// Outputs of NQ queries: `out` rows (h apart) = weights `p` [NQ][lpad] times the values
// (`v`, rows `stride` apart).
template <int D, int NQ>
inline __attribute__((always_inline)) void weighted_values(const float* p, int64_t lpad,
                                                           const float* v, int64_t stride,
                                                           int64_t len, float* out, int64_t h) {
  float acc[NQ][D] = {};
  for (int64_t j = 0; j < len; ++j) {
    const float* vr = v + j * stride;
    for (int n = 0; n < NQ; ++n) {
      const float pj = p[n * lpad + j];
      for (int64_t c = 0; c < D; ++c) acc[n][c] += pj * vr[c];
    }
  }
  for (int n = 0; n < NQ; ++n)
    for (int64_t c = 0; c < D; ++c) out[n * h + c] = acc[n][c];
}

template <int D, int NQ>
inline __attribute__((always_inline)) void attend_queries(const float* base, int64_t stride,
                                                          int64_t len, int64_t lpad, int64_t h,
                                                          int64_t head, float* qs,
                                                          const float* kt, float* s,
                                                          int64_t i, float* out) {
  scores<D, NQ>(qs + i * D, D, kt, lpad, s);
  for (int n = 0; n < NQ; ++n) softmax_row(s + n * lpad, len);
  weighted_values<D, NQ>(s, lpad, base + 2 * h + head * D, stride, len,
                         out + i * h + head * D, h);
}

// Attention of one text's tokens for one head: `base` points at the text's first row of the
// packed `[rows, 3h]` projections (`stride` floats apart; q, k, v at column offsets 0, h, 2h
// plus head * D), `out` at its first row of the `[rows, h]` context. `work` holds
// (2 D + 4) x lpad floats, lpad = len rounded up to kKeys.
template <int D>
inline __attribute__((always_inline)) void attend_text(const float* base, int64_t stride,
                                                      int64_t len, int64_t h, int64_t head,
                                                      float scale, float* work, float* out) {
  const int64_t lpad = (len + kKeys - 1) / kKeys * kKeys;
  float* kt = work;              // D x lpad
  float* qs = kt + D * lpad;     // lpad x D, the queries scaled
  float* s = qs + D * lpad;      // 4 x lpad
  for (int64_t j = 0; j < len; ++j) {
    const float* kr = base + j * stride + h + head * D;
    const float* qr = base + j * stride + head * D;
    for (int64_t c = 0; c < D; ++c) {
      kt[c * lpad + j] = kr[c];
      qs[j * D + c] = qr[c] * scale;
    }
  }
  for (int64_t c = 0; c < D; ++c)
    for (int64_t j = len; j < lpad; ++j) kt[c * lpad + j] = 0.0f;
  int64_t i = 0;
  for (; i + 4 <= len; i += 4) attend_queries<D, 4>(base, stride, len, lpad, h, head, qs, kt, s, i, out);
  for (; i < len; ++i) attend_queries<D, 1>(base, stride, len, lpad, h, head, qs, kt, s, i, out);
}

CF_CLONES
void attend_text_32(const float* base, int64_t stride, int64_t len, int64_t h, int64_t head,
                    float scale, float* work, float* out) {
  attend_text<32>(base, stride, len, h, head, scale, work, out);
}

CF_CLONES
void attend_text_64(const float* base, int64_t stride, int64_t len, int64_t h, int64_t head,
                    float scale, float* work, float* out) {
  attend_text<64>(base, stride, len, h, head, scale, work, out);
}

// The operands of cf_int8_layer, as laid out by src/embed/native.rs.
struct CfInt8Layer {
  const at::Tensor* q;           // [rows, in] int8 levels of the layer's input
  const at::Tensor* wt;          // [in, out] int8 weight levels (a transposed view)
  int64_t block;                 // rows per product
  const at::Tensor* row_scale;   // [rows] scale of each quantised input row
  const at::Tensor* kept;        // [rows, k] the input's values on the f32 channels
  const at::Tensor* wscale;      // [out] scale of each weight row
  const at::Tensor* bias;        // [out]
  const at::Tensor* outlier_wt;  // [k, out] f32 weights of those channels
  const at::Tensor* residual;    // [rows, out] or null
  int64_t gelu;                  // != 0: exact GELU next
  const at::Tensor* ln_weight;   // [out] or null: layer norm last
  const at::Tensor* ln_bias;     // [out]
  double ln_eps;
  at::Tensor* y;                 // [rows, out] f32, or null: not kept
  const int64_t* next_outliers;  // the next layer's f32 channels, ascending
  int64_t n_next;
  at::Tensor* next_q;            // [rows, out] int8, or null: not quantised for a next layer
  at::Tensor* next_scale;        // [rows]
  at::Tensor* next_kept;         // [rows, n_next]
};

void check_f32(const at::Tensor* t, const char* what) {
  TORCH_CHECK(t != nullptr && t->is_contiguous() && t->scalar_type() == at::kFloat, what,
              ": contiguous f32");
}

void check_outliers(const int64_t* outliers, int64_t k, int64_t n) {
  for (int64_t j = 0; j < k; ++j)
    TORCH_CHECK(outliers[j] >= 0 && outliers[j] < n && (j == 0 || outliers[j] > outliers[j - 1]),
                "outlier channels: ascending, in range");
}

// Checks a quantised input's tensors for `rows` rows of `n` channels, `k` of them in f32.
void check_quantised(const at::Tensor* q, const at::Tensor* scale, const at::Tensor* kept,
                     int64_t rows, int64_t n, int64_t k) {
  TORCH_CHECK(q->is_contiguous() && q->scalar_type() == at::kChar && q->size(0) == rows &&
                  q->size(1) == n,
              "q: contiguous int8 [rows, n]");
  check_f32(scale, "row scale");
  check_f32(kept, "kept channels");
  TORCH_CHECK(scale->numel() == rows && kept->numel() == rows * k, "scale and kept: shapes");
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
// outlier channels `outliers` ([k] int64, ascending) left out of each row's scale and set to
// zero; writes each row's scale to `row_scale` ([rows] f32) and its values on those channels
// to `kept` ([rows, k] f32). Returns 0, or -1 with `err` set.
int cf_int8_quantize(const at::Tensor* x, const int64_t* outliers, int64_t n_outliers,
                     at::Tensor* q, at::Tensor* row_scale, at::Tensor* kept, char* err,
                     int64_t err_len) {
  try {
    check_f32(x, "x");
    const int64_t rows = x->size(0), n = x->size(1);
    check_quantised(q, row_scale, kept, rows, n, n_outliers);
    check_outliers(outliers, n_outliers, n);
    const float* xp = x->data_ptr<float>();
    int8_t* qp = q->data_ptr<int8_t>();
    float* sp = row_scale->data_ptr<float>();
    float* kp = kept->data_ptr<float>();
    at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r)
        quantize_one(xp + r * n, n, outliers, n_outliers, qp + r * n, sp + r, kp + r * n_outliers);
    });
    return 0;
  } catch (const std::exception& e) {
    write_error(e, err, err_len);
    return -1;
  }
}

// An int8 dense layer, `block` rows at a time: the int32 sums `acc` of the product of `q` and
// `wt`, then row by row `acc * row_scale * wscale + bias + kept @ outlier_wt (+ residual)`,
// then GELU and / or a layer norm if asked; kept in `y` if given, and quantised for the next
// int8 layer if `next_q` is given (its scale and f32 channels beside it). Returns 0, or -1
// with `err` set.
int cf_int8_layer(const CfInt8Layer* p, char* err, int64_t err_len) {
  try {
    TORCH_CHECK(p->q->dim() == 2 && p->wt->scalar_type() == at::kChar && p->wt->dim() == 2 &&
                    p->wt->size(0) == p->q->size(1),
                "q [rows, in] and int8 weights [in, out]");
    TORCH_CHECK(p->block > 0, "block: positive");
    const int64_t rows = p->q->size(0), out = p->wt->size(1);
    const int64_t k = p->outlier_wt->size(0);
    check_quantised(p->q, p->row_scale, p->kept, rows, p->q->size(1), k);
    check_f32(p->wscale, "weight scale");
    check_f32(p->bias, "bias");
    check_f32(p->outlier_wt, "outlier weights");
    TORCH_CHECK(p->wscale->numel() == out && p->bias->numel() == out &&
                    p->outlier_wt->numel() == k * out,
                "operand shapes");
    if (p->residual != nullptr) {
      check_f32(p->residual, "residual");
      TORCH_CHECK(p->residual->size(0) == rows && p->residual->size(1) == out, "residual shape");
    }
    if (p->ln_weight != nullptr) {
      check_f32(p->ln_weight, "layer norm weight");
      check_f32(p->ln_bias, "layer norm bias");
      TORCH_CHECK(p->ln_weight->numel() == out && p->ln_bias->numel() == out, "layer norm shape");
    }
    if (p->y != nullptr) {
      check_f32(p->y, "y");
      TORCH_CHECK(p->y->size(0) == rows && p->y->size(1) == out, "y shape");
    }
    if (p->next_q != nullptr) {
      check_quantised(p->next_q, p->next_scale, p->next_kept, rows, out, p->n_next);
      check_outliers(p->next_outliers, p->n_next, out);
    }
    TORCH_CHECK(p->y != nullptr || p->next_q != nullptr, "no output");
    const float* rs = p->row_scale->data_ptr<float>();
    const float* kp = p->kept->data_ptr<float>();
    const float* ws = p->wscale->data_ptr<float>();
    const float* bp = p->bias->data_ptr<float>();
    const float* ow = p->outlier_wt->data_ptr<float>();
    const float* rp = p->residual != nullptr ? p->residual->data_ptr<float>() : nullptr;
    const float* lw = p->ln_weight != nullptr ? p->ln_weight->data_ptr<float>() : nullptr;
    const float* lb = p->ln_weight != nullptr ? p->ln_bias->data_ptr<float>() : nullptr;
    const float eps = static_cast<float>(p->ln_eps);
    float* yp = p->y != nullptr ? p->y->data_ptr<float>() : nullptr;
    int8_t* nq = p->next_q != nullptr ? p->next_q->data_ptr<int8_t>() : nullptr;
    float* ns = p->next_q != nullptr ? p->next_scale->data_ptr<float>() : nullptr;
    float* nk = p->next_q != nullptr ? p->next_kept->data_ptr<float>() : nullptr;
    // Each thread takes whole blocks: the product of a block (on that thread alone: libtorch
    // runs nested parallel work inline) and then its output pass, so the int32 sums are read
    // back from the thread's own cache rather than memory.
    const int64_t blocks = (rows + p->block - 1) / p->block;
    at::parallel_for(0, blocks, 1, [&](int64_t first, int64_t last) {
      at::Tensor acc = at::empty({p->block, out}, p->q->options().dtype(at::kInt));
      // Where a row lives when `y` is not kept: in cache until it is quantised.
      std::vector<float> row(yp != nullptr ? 0 : static_cast<size_t>(out));
      for (int64_t b = first; b < last; ++b) {
        const int64_t start = b * p->block, n = std::min(p->block, rows - start);
        at::Tensor sums = acc.narrow(0, 0, n);
        at::_int_mm_out(sums, p->q->narrow(0, start, n), *p->wt);
        const int32_t* ap = sums.data_ptr<int32_t>();
        for (int64_t r = start; r < start + n; ++r) {
          float* yr = yp != nullptr ? yp + r * out : row.data();
          rescale_row(ap + (r - start) * out, ws, bp, rs[r], kp + r * k, k, ow,
                      rp != nullptr ? rp + r * out : nullptr, yr, out);
          if (p->gelu != 0) gelu_row(yr, out);
          if (lw != nullptr) layer_norm_row(yr, out, lw, lb, eps);
          if (nq != nullptr)
            quantize_one(yr, out, p->next_outliers, p->n_next, nq + r * out, ns + r,
                         nk + r * p->n_next);
        }
      }
    });
    return 0;
  } catch (const std::exception& e) {
    write_error(e, err, err_len);
    return -1;
  }
}

// Self-attention of packed texts: `qkv` [rows, 3h] f32 (each token's query, key and value
// projections), texts at rows `starts[t]`..`starts[t] + lens[t]` (no masks: every key is
// real), `heads` heads of h / heads = 32 or 64 columns; writes `ctx` [rows, h] f32, zero on
// the rows of no text. Scale 1 / sqrt(head size). Returns 0, or -1 with `err` set.
int cf_attend(const at::Tensor* qkv, const int64_t* starts, const int64_t* lens, int64_t texts,
              int64_t heads, at::Tensor* ctx, char* err, int64_t err_len) {
  try {
    TORCH_CHECK(qkv->is_contiguous() && qkv->scalar_type() == at::kFloat, "qkv: contiguous f32");
    TORCH_CHECK(ctx->is_contiguous() && ctx->scalar_type() == at::kFloat, "ctx: contiguous f32");
    const int64_t rows = qkv->size(0), stride = qkv->size(1), h = stride / 3;
    TORCH_CHECK(heads > 0 && stride == 3 * h && h % heads == 0, "qkv: [rows, 3 x heads x d]");
    const int64_t d = h / heads;
    TORCH_CHECK(d == 32 || d == 64, "head size 32 or 64");
    TORCH_CHECK(ctx->size(0) == rows && ctx->size(1) == h, "ctx: [rows, h]");
    std::vector<char> covered(static_cast<size_t>(rows), 0);
    int64_t longest = 1;
    for (int64_t t = 0; t < texts; ++t) {
      TORCH_CHECK(lens[t] > 0 && starts[t] >= 0 && starts[t] + lens[t] <= rows, "text rows");
      for (int64_t r = starts[t]; r < starts[t] + lens[t]; ++r) {
        TORCH_CHECK(covered[r] == 0, "texts overlap");
        covered[r] = 1;
      }
      longest = lens[t] > longest ? lens[t] : longest;
    }
    const float* qp = qkv->data_ptr<float>();
    float* cp = ctx->data_ptr<float>();
    for (int64_t r = 0; r < rows; ++r)
      if (covered[r] == 0) std::memset(cp + r * h, 0, sizeof(float) * h);
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    // One task per text and head, taken in order by whichever thread is free: the texts come
    // longest first, so the threads end together.
    const int64_t tasks = texts * heads;
    std::atomic<int64_t> next(0);
    const int64_t threads = std::min<int64_t>(at::get_num_threads(), tasks);
    at::parallel_for(0, threads, 1, [&](int64_t, int64_t) {
      const int64_t lpad = (longest + kKeys - 1) / kKeys * kKeys;
      std::vector<float> work(static_cast<size_t>((2 * d + 4) * lpad));
      for (int64_t task = next.fetch_add(1); task < tasks; task = next.fetch_add(1)) {
        const int64_t t = task / heads, head = task % heads;
        const float* base = qp + starts[t] * stride;
        float* out = cp + starts[t] * h;
        if (d == 32)
          attend_text_32(base, stride, lens[t], h, head, scale, work.data(), out);
        else
          attend_text_64(base, stride, lens[t], h, head, scale, work.data(), out);
      }
    });
    return 0;
  } catch (const std::exception& e) {
    write_error(e, err, err_len);
    return -1;
  }
}

}  // extern "C"
