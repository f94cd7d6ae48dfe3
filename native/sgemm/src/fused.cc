// Fused layer kernels for the tfjs wasm backend (src/engine/native-fused.ts registers them; the
// layers in src/model/layers/fused-ops.ts call them): each computes in one pass what tfjs runs as
// several kernels, and gives BIT-IDENTICAL results to that chain of stock kernels, because it
// performs the very same float32 operations in the same order:
//  - every elementwise step is one IEEE float operation (no FMA: built with -ffp-contract=off, no
//    -ffast-math), as XNNPACK's binary kernels compute it;
//  - every sum is one sequential float chain from 0 in the stock reduction's order (tfjs-backend-wasm
//    transposes the reduced axis innermost and accumulates it in order, as ops.cc's reduce does);
//  - gradients accumulate in the order tfjs's backprop adds them (reverse tape order).
// Each kernel documents the tfjs op chain it reproduces. Transcendentals stay in the stock kernels
// (the caller runs wasm's Sigmoid, Softmax, Pow, Exp and Log and passes their results in); only
// Rsqrt and Sqrt are done here, as the stock kernels do them: 1.0f / sqrtf(v) and sqrtf(v), correctly rounded.
//
// fused(heap: Uint8Array, params: Float64Array): params[0] = kernel, params[1] = threads, then the
// kernel's own fields; offsets are BYTE offsets into heap (-1 = operand absent), sizes count elements.
#include "fused.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

#define NAPI_ERROR_PREFIX "lora-study-native ops: "
#include "napi_common.h"
#include "thread_pool.h"

namespace lora_fused {
namespace {

enum Kernel {
  ROPE = 0,
  ROPE_GRAD = 1,
  RMS_NORM = 2,
  RMS_VAR = 3,
  RMS_NORM_GRAD = 4,
  RMS_NORM_GRAD_W = 5,
  SILU_MUL = 6,
  SILU_MUL_GRAD = 7,
  SCALE_MASK = 8,
  SOFTMAX_GRAD = 9,
  ADD_RMS_NORM = 10,
  LSM_SHIFT = 11,
  ROW_SUM = 12,
  LOSS_PICK = 13,
  LOSS_GRAD_ROWS = 14,
  GATHER_ROWS = 15,
  LOSS_GRAD = 16,
  ADAMW_NORM = 17,
  ADAMW_UPDATE = 18,
  LOSS_FWD_ROWS = 19,
  LAYER_NORM = 20,
  LAYER_NORM_GRAD = 21,
  LAYER_NORM_GRAD_PARAM = 22,
  GELU_ARG = 23,
  GELU_OUT = 24,
  GELU_GRAD = 25,
};

// Below this many elements one thread does the call (tiny layers: handing work to the pool costs more).
constexpr long PAR_MIN = 1L << 18;
// Rows whose sums run as interleaved independent chains (a chain's adds wait on each other; 8 do not).
constexpr int Q = 8;

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define FUSED_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FUSED_CLONES
#endif

struct Call {
  uint8_t* heap;
  size_t heap_len;
  const double* p;
  size_t np;
  bool ok = true;
  int threads() const { return std::max(1, std::min((int)p[1], 256)); }
  // Operand at params[i] spanning `elems` floats; nullptr when absent (-1). Marks the call bad when outside the heap.
  float* f32(size_t i, double elems, bool optional = false) {
    const double off = p[i];
    if (optional && off < 0) return nullptr;
    if (!(off >= 0 && off + 4 * elems <= (double)heap_len) || (long)off % 4 != 0) {
      ok = false;
      return nullptr;
    }
    return reinterpret_cast<float*>(heap + (long)off);
  }
  long n(size_t i) {
    const double v = p[i];
    if (!(v >= 0 && v < 1e15)) ok = false;
    return (long)v;
  }
};

// Runs fn(s, e) over [0, rows) split into about one range per thread when the call is large.
void for_rows(long rows, long work, int threads, const std::function<void(long, long)>& fn) {
  const int parts = work >= PAR_MIN ? (int)std::min<long>(threads, rows) : 1;
  lora_ops::run_parallel(std::max(parts, 1), threads, [&](int i) { fn(rows * i / parts, rows * (i + 1) / parts); }, lora_ops::Wait::Sleep);
}

// Σ_c (a[c]·w[c])·b[c] from 0 in order for NR rows of C (w shared; null w: a[c]·b[c]), one chain per row.
template <int NR>
inline void dot_chains(const float* a, const float* w, const float* b, long C, float* out) {
  float acc[NR];
  for (int q = 0; q < NR; ++q) acc[q] = 0.f;
  if (w) {
    for (long c = 0; c < C; ++c)
      for (int q = 0; q < NR; ++q) {
        const float aw = a[q * C + c] * w[c];
        const float t = aw * b[q * C + c];
        acc[q] += t;
      }
  } else {
    for (long c = 0; c < C; ++c)
      for (int q = 0; q < NR; ++q) {
        const float t = a[q * C + c] * b[q * C + c];
        acc[q] += t;
      }
  }
  for (int q = 0; q < NR; ++q) out[q] = acc[q];
}

// The chains of nr <= Q rows, interleaved (a chain's adds wait on each other; Q chains do not).
FUSED_CLONES void rows_dot(const float* a, const float* w, const float* b, long C, int nr, float* out) {
  if (nr == Q) return dot_chains<Q>(a, w, b, C, out);
  for (int q = 0; q < nr; ++q) dot_chains<1>(a + q * C, w, b + q * C, C, out + q);
}

// tf.mean(tf.square(x), -1, true) + eps for nr <= Q rows of C: x*x, summed from 0 in order, / C, + eps.
void rows_var(const float* x, long C, float eps, int nr, float* v) {
  rows_dot(x, nullptr, x, C, nr, v);
  const float n = (float)(uint32_t)C;
  for (int q = 0; q < nr; ++q) {
    const float mean = v[q] / n;
    v[q] = mean + eps;
  }
}

FUSED_CLONES void norm_row(const float* x, float r, const float* w, float* y, long C) {
  for (long k = 0; k < C; ++k) {
    const float n = x[k] * r;
    y[k] = n * w[k];
  }
}

FUSED_CLONES void norm_dx_row(const float* dy, const float* dres, const float* x, const float* w, float r, float dsq, float* dx, long C) {
  for (long k = 0; k < C; ++k) {
    const float dn = dy[k] * w[k];
    const float dmul = dn * r;
    const float x2 = x[k] * 2.0f;
    const float dxs = dsq * x2;
    const float acc = dres ? dres[k] + dmul : dmul;
    dx[k] = acc + dxs;
  }
}

FUSED_CLONES void rope_fwd_row(const float* x, const float* co, const float* si, float* o, long h) {
  for (long i = 0; i < h; ++i) {
    const float nx = -x[i + h];
    const float m = x[i] * co[i];
    const float t = nx * si[i];
    o[i] = m + t;
  }
  for (long i = h; i < 2 * h; ++i) {
    const float m = x[i] * co[i];
    const float t = x[i - h] * si[i];
    o[i] = m + t;
  }
}

FUSED_CLONES void rope_bwd_row(const float* dy, const float* co, const float* si, float* o, long h) {
  // x's gradient: the rotate_half path's (accumulated first) + dy·cos.
  for (long i = 0; i < h; ++i) {
    const float g = dy[i + h] * si[i + h];
    const float m = dy[i] * co[i];
    o[i] = g + m;
  }
  for (long i = h; i < 2 * h; ++i) {
    const float g = -(dy[i - h] * si[i - h]);
    const float m = dy[i] * co[i];
    o[i] = g + m;
  }
}

FUSED_CLONES void silu_fwd(const float* g, const float* s, const float* up, float* out, long n) {
  for (long i = 0; i < n; ++i) {
    const float a = g[i] * s[i];
    out[i] = a * up[i];
  }
}

FUSED_CLONES void silu_bwd(const float* dy, const float* g, const float* s, const float* up, float* dg, float* dup, long n) {
  for (long i = 0; i < n; ++i) {
    const float a = g[i] * s[i];
    dup[i] = dy[i] * a;
    const float da = dy[i] * up[i];
    const float dg1 = da * s[i];
    const float ds = da * g[i];
    const float one_minus = 1.0f - s[i];
    const float slope = s[i] * one_minus;
    const float dg2 = ds * slope;
    dg[i] = dg1 + dg2;
  }
}

FUSED_CLONES void scale_mask_row(const float* in, const float* m, float scale, float* o, long S) {
  for (long j = 0; j < S; ++j) {
    const float v = in[j] * scale;
    o[j] = v + m[j];
  }
}

FUSED_CLONES void softmax_dx_row(const float* dy, const float* y, float sum, float scale, float* o, long S) {
  for (long j = 0; j < S; ++j) {
    const float t = dy[j] * y[j];
    const float u = sum * y[j];
    const float g = t - u;
    o[j] = g * scale;
  }
}

// Rotary embedding, the r-first dims of each row of d (rest passed through), tables [Bt, T, r]:
// x·cos + rotate_half(x)·sin with rotate_half(x) = concat(-x[h:], x[:h]) (applyRope's chain).
// Backward, for the chain's gradient: d(rotate_half(x)·sin) = dy·sin, split, the first half negated
// (Neg_grad), concatenated back swapped (SplitV_grad), then added to dy·cos (Multiply_grad).
// Rows (b, h, t) of d are read at in + b·iB + h·iH + t·iT and written at out + b·oB + h·oH + t·oT
// (a transpose to or from [B, T, H·d] on the way is a copy, so exact); r = 0 only copies.
void rope(Call& c, bool grad) {
  // [op, threads, outOff, inOff, cosOff, sinOff, B, H, T, d, r, Bt, iB, iH, iT, oB, oH, oT]
  const long B = c.n(6), H = c.n(7), T = c.n(8), d = c.n(9), r = c.n(10), Bt = c.n(11);
  const long iB = c.n(12), iH = c.n(13), iT = c.n(14), oB = c.n(15), oH = c.n(16), oT = c.n(17);
  if (!c.ok || r > d || r % 2 != 0 || !(Bt == 1 || Bt == B) || B * H * T * d == 0) {
    c.ok = false;
    return;
  }
  float* out = c.f32(2, (double)(B - 1) * oB + (double)(H - 1) * oH + (double)(T - 1) * oT + d);
  const float* in = c.f32(3, (double)(B - 1) * iB + (double)(H - 1) * iH + (double)(T - 1) * iT + d);
  const float* cs = c.f32(4, (double)Bt * T * r);
  const float* sn = c.f32(5, (double)Bt * T * r);
  if (!c.ok) return;
  const long h = r / 2, rows = B * H * T;
  for_rows(rows, rows * d, c.threads(), [&](long s, long e) {
    for (long row = s; row < e; ++row) {
      const long t = row % T, hh = (row / T) % H, b = row / (H * T);
      const long tab = ((Bt == 1 ? 0 : b) * T + t) * r;
      const float* x = in + b * iB + hh * iH + t * iT;
      float* o = out + b * oB + hh * oH + t * oT;
      if (r > 0) {
        if (!grad) rope_fwd_row(x, cs + tab, sn + tab, o, h);
        else rope_bwd_row(x, cs + tab, sn + tab, o, h);
      }
      for (long i = r; i < d; ++i) o[i] = x[i];
    }
  });
}

// RMSNorm forward (rmsNorm's chain): y = (x · rsqrt(mean(x²) + eps)) · w.
void rms_norm(Call& c) {
  // [op, threads, yOff, xOff, wOff, rows, C, eps]
  const long rows = c.n(5), C = c.n(6);
  const float eps = (float)c.p[7];
  float* y = c.f32(2, (double)rows * C);
  const float* x = c.f32(3, (double)rows * C);
  const float* w = c.f32(4, (double)C);
  if (!c.ok) return;
  for_rows(rows, rows * C, c.threads(), [&](long s, long e) {
    float v[Q];
    for (long row = s; row < e; row += Q) {
      const int nr = (int)std::min<long>(Q, e - row);
      rows_var(x + row * C, C, eps, nr, v);
      for (int q = 0; q < nr; ++q) norm_row(x + (row + q) * C, 1.0f / std::sqrt(v[q]), w, y + (row + q) * C, C);
    }
  });
}

FUSED_CLONES void add_rows(const float* a, const float* b, float* s, long n) {
  for (long i = 0; i < n; ++i) s[i] = a[i] + b[i];
}

// A residual add and the RMSNorm of its sum: s = a + b, y = (s · rsqrt(mean(s²) + eps)) · w.
void add_rms_norm(Call& c) {
  // [op, threads, yOff, sOff, aOff, bOff, wOff, rows, C, eps]
  const long rows = c.n(7), C = c.n(8);
  const float eps = (float)c.p[9];
  const double total = (double)rows * C;
  float* y = c.f32(2, total);
  float* sum = c.f32(3, total);
  const float* a = c.f32(4, total);
  const float* b = c.f32(5, total);
  const float* w = c.f32(6, (double)C);
  if (!c.ok) return;
  for_rows(rows, rows * C, c.threads(), [&](long s, long e) {
    float v[Q];
    for (long row = s; row < e; row += Q) {
      const int nr = (int)std::min<long>(Q, e - row);
      add_rows(a + row * C, b + row * C, sum + row * C, nr * C);
      rows_var(sum + row * C, C, eps, nr, v);
      for (int q = 0; q < nr; ++q) norm_row(sum + (row + q) * C, 1.0f / std::sqrt(v[q]), w, y + (row + q) * C, C);
    }
  });
}

// v = mean(x²) + eps per row (the backward pass's input to the stock Pow).
void rms_var(Call& c) {
  // [op, threads, vOff, xOff, rows, C, eps]
  const long rows = c.n(4), C = c.n(5);
  const float eps = (float)c.p[6];
  float* v = c.f32(2, (double)rows);
  const float* x = c.f32(3, (double)rows * C);
  if (!c.ok) return;
  for_rows(rows, rows * C, c.threads(), [&](long s, long e) {
    for (long row = s; row < e; row += Q) rows_var(x + row * C, C, eps, (int)std::min<long>(Q, e - row), v + row);
  });
}

// RMSNorm's x gradient, tfjs's chain for y = mul(mul(x, r), w), r = rsqrt(v), v = mean(square(x)) + eps:
//   dn = dy·w; through mul(x, r): dn·r, and dr = Σ dn·x (Multiply_grad's sum over the broadcast axis);
//   Rsqrt_grad: dv = -(dr / (v^1.5 · 2)) with v^1.5 from the stock Pow (p); Mean_grad: (dv·1) / C;
//   Square_grad: that · (x·2). x's contributions add in reverse tape order: the residual's (dres, when
//   the residual add reads this op's pass-through output), then mul(x, r)'s, then square(x)'s.
void rms_norm_grad(Call& c) {
  // [op, threads, dxOff, dyOff, dresOff|-1, xOff, wOff, vOff, pOff, rows, C]
  const long rows = c.n(9), C = c.n(10);
  const double total = (double)rows * C;
  float* dx = c.f32(2, total);
  const float* dy = c.f32(3, total);
  const float* dres = c.f32(4, total, true);
  const float* x = c.f32(5, total);
  const float* w = c.f32(6, (double)C);
  const float* v = c.f32(7, (double)rows);
  const float* p = c.f32(8, (double)rows);
  if (!c.ok) return;
  const float count = (float)(uint32_t)C;
  for_rows(rows, rows * C, c.threads(), [&](long s, long e) {
    float dr[Q];
    for (long row = s; row < e; row += Q) {
      const int nr = (int)std::min<long>(Q, e - row);
      rows_dot(dy + row * C, w, x + row * C, C, nr, dr);
      for (int q = 0; q < nr; ++q) {
        const long i = row + q;
        const float r = 1.0f / std::sqrt(v[i]);
        const float denom = p[i] * 2.0f;
        const float quot = dr[q] / denom;
        const float dv = -quot;
        const float dsq = dv / count;
        norm_dx_row(dy + i * C, dres ? dres + i * C : nullptr, x + i * C, w, r, dsq, dx + i * C, C);
      }
    }
  });
}

// RMSNorm's gain gradient: Σ over rows (in order, from 0) of dy · (x·r) (Multiply_grad's sum over
// the leading axes). Columns are independent chains.
void rms_norm_grad_w(Call& c) {
  // [op, threads, dwOff, dyOff, xOff, vOff, rows, C]
  const long rows = c.n(6), C = c.n(7);
  const double total = (double)rows * C;
  float* dw = c.f32(2, (double)C);
  const float* dy = c.f32(3, total);
  const float* x = c.f32(4, total);
  const float* v = c.f32(5, (double)rows);
  if (!c.ok) return;
  for_rows(C, rows * C, c.threads(), [&](long s, long e) {
    for (long k = s; k < e; ++k) dw[k] = 0.f;
    for (long row = 0; row < rows; ++row) {
      const float r = 1.0f / std::sqrt(v[row]);
      const float* xr = x + row * C;
      const float* dyr = dy + row * C;
      for (long k = s; k < e; ++k) {
        const float n = xr[k] * r;
        const float t = dyr[k] * n;
        dw[k] += t;
      }
    }
  });
}

// Gated MLP product silu(g)·up = (g·σ(g))·up, σ from the stock Sigmoid (s). Backward (tfjs's chain):
// da = dy·up, dup = dy·(g·s); g gets da·s (Multiply_grad, accumulated first) + (da·g)·(s·(1 - s)) (Sigmoid_grad).
void silu_mul(Call& c, bool grad) {
  // forward: [op, threads, outOff, gOff, sOff, upOff, n]; grad: [op, threads, dgOff, dupOff, dyOff, gOff, sOff, upOff, n]
  const long n = c.n(grad ? 8 : 6);
  if (!c.ok) return;
  if (!grad) {
    float* out = c.f32(2, (double)n);
    const float* g = c.f32(3, (double)n);
    const float* s = c.f32(4, (double)n);
    const float* up = c.f32(5, (double)n);
    if (!c.ok) return;
    for_rows(n, n, c.threads(), [&](long b, long e) { silu_fwd(g + b, s + b, up + b, out + b, e - b); });
    return;
  }
  float* dg = c.f32(2, (double)n);
  float* dup = c.f32(3, (double)n);
  const float* dy = c.f32(4, (double)n);
  const float* g = c.f32(5, (double)n);
  const float* s = c.f32(6, (double)n);
  const float* up = c.f32(7, (double)n);
  if (!c.ok) return;
  for_rows(n, n, c.threads(), [&](long b, long e) { silu_bwd(dy + b, g + b, s + b, up + b, dg + b, dup + b, e - b); });
}

// Attention logits before the stock Softmax: scores·scale + mask, scores [B, Hkv, nRep, T, S], mask [Bm, T, S].
void scale_mask(Call& c) {
  // [op, threads, outOff, scoresOff, maskOff, B, Hkv, nRep, T, S, Bm, scale]
  const long B = c.n(5), Hkv = c.n(6), nRep = c.n(7), T = c.n(8), S = c.n(9), Bm = c.n(10);
  const float scale = (float)c.p[11];
  if (!c.ok || !(Bm == 1 || Bm == B)) {
    c.ok = false;
    return;
  }
  const double total = (double)B * Hkv * nRep * T * S;
  float* out = c.f32(2, total);
  const float* sc = c.f32(3, total);
  const float* mask = c.f32(4, (double)Bm * T * S);
  if (!c.ok) return;
  const long rows = B * Hkv * nRep * T;
  for_rows(rows, rows * S, c.threads(), [&](long s, long e) {
    for (long row = s; row < e; ++row) {
      const long t = row % T, b = row / (Hkv * nRep * T);
      const float* m = mask + ((Bm == 1 ? 0 : b) * T + t) * S;
      scale_mask_row(sc + row * S, m, scale, out + row * S, S);
    }
  });
}

// Softmax's gradient over rows of S (Softmax_grad: dy·y − Σ(dy·y)·y, the sum from 0 in order), times
// `scale` (Multiply_grad of the logits' scaling; 1 leaves it exact).
void softmax_grad(Call& c) {
  // [op, threads, dxOff, dyOff, yOff, rows, S, scale]
  const long rows = c.n(5), S = c.n(6);
  const float scale = (float)c.p[7];
  const double total = (double)rows * S;
  float* dx = c.f32(2, total);
  const float* dy = c.f32(3, total);
  const float* y = c.f32(4, total);
  if (!c.ok) return;
  for_rows(rows, rows * S, c.threads(), [&](long s, long e) {
    float sum[Q];
    for (long row = s; row < e; row += Q) {
      const int nr = (int)std::min<long>(Q, e - row);
      rows_dot(dy + row * S, nullptr, y + row * S, S, nr, sum);
      for (int q = 0; q < nr; ++q) softmax_dx_row(dy + (row + q) * S, y + (row + q) * S, sum[q], scale, dx + (row + q) * S, S);
    }
  });
}

// ---- causal-LM loss: tf.logSoftmax over the vocabulary, the target pick, mask, sum, neg ----
// (src/training/loss.ts's chain; the Exp and Log between these passes are the stock kernels.)

// max(x) of a row of V as Max's chain gives it (from x[0], a NaN or a larger value replaces the
// maximum, as ops.cc's reduce does). Without a NaN the chain ends on the largest value, and a
// nonzero float has one bit pattern per value, so lanes that each keep their largest give the same
// bits; only a row with an inf or NaN, or a zero maximum (+0 and -0 compare equal: the chain keeps
// the first), takes the chain itself.
#if defined(__GNUC__) && !defined(__clang__)
typedef float f32x16 __attribute__((vector_size(64)));
#define FUSED_ROW_MAX_LANES 1
#endif

FUSED_CLONES float row_max(const float* x, long V) {
#ifdef FUSED_ROW_MAX_LANES
  constexpr int L = 16;
  if (V >= 2 * L) {
    f32x16 acc, z, v;
    std::memcpy(&acc, x, sizeof acc);
    z = acc - acc;  // stays 0 while every value is finite; NaN after an inf or a NaN
    long j = L;
    for (; j + L <= V; j += L) {
      std::memcpy(&v, x + j, sizeof v);
      acc = v > acc ? v : acc;
      z = z + (v - v);
    }
    float m = acc[0];
    bool finite = true;
    for (int l = 0; l < L; ++l) {
      m = acc[l] > m ? acc[l] : m;
      finite = finite && z[l] == 0.f;
    }
    for (; j < V; ++j) {
      m = x[j] > m ? x[j] : m;
      finite = finite && x[j] - x[j] == 0.f;
    }
    if (finite && m != 0.f) return m;
  }
#endif
  float m = x[0];
  for (long j = 0; j < V; ++j) m = (std::isnan(x[j]) || x[j] > m) ? x[j] : m;
  return m;
}

// x - max(x) per row of V (Max, then Sub: one IEEE subtraction per element).
FUSED_CLONES void shift_row(const float* x, float* o, long V) {
  const float m = row_max(x, V);
  for (long j = 0; j < V; ++j) o[j] = x[j] - m;
}

void lsm_shift(Call& c) {
  // [op, threads, outOff, xOff, rows, V]
  const long rows = c.n(4), V = c.n(5);
  float* out = c.f32(2, (double)rows * V);
  const float* x = c.f32(3, (double)rows * V);
  if (!c.ok || V == 0) {
    c.ok = false;
    return;
  }
  for_rows(rows, rows * V, c.threads(), [&](long s, long e) {
    for (long row = s; row < e; ++row) shift_row(x + row * V, out + row * V, V);
  });
}

// Σ x per row of V, from 0 in order (Sum's chain), Q rows interleaved.
template <int NR>
inline void sum_chains(const float* x, long V, float* out) {
  float acc[NR];
  for (int q = 0; q < NR; ++q) acc[q] = 0.f;
  for (long j = 0; j < V; ++j)
    for (int q = 0; q < NR; ++q) acc[q] += x[q * V + j];
  for (int q = 0; q < NR; ++q) out[q] = acc[q];
}
FUSED_CLONES void rows_sum(const float* x, long V, int nr, float* out) {
  if (nr == Q) return sum_chains<Q>(x, V, out);
  for (int q = 0; q < nr; ++q) sum_chains<1>(x + q * V, V, out + q);
}

void row_sum(Call& c) {
  // [op, threads, sOff, xOff, rows, V]
  const long rows = c.n(4), V = c.n(5);
  float* out = c.f32(2, (double)rows);
  const float* x = c.f32(3, (double)rows * V);
  if (!c.ok) return;
  for_rows(rows, rows * V, c.threads(), [&](long s, long e) {
    for (long row = s; row < e; row += Q) rows_sum(x + row * V, V, (int)std::min<long>(Q, e - row), out + row);
  });
}

FUSED_CLONES void sub_scalar_row(const float* x, float l, float* o, long V) {
  for (long j = 0; j < V; ++j) o[j] = x[j] - l;
}

// value = shifted - log(Σ exp) per row (Sub; may run in place), then the loss
// neg(sum(gather(value, n·V + target[n]) · mask)) [/ divisor]: the product per row, summed from 0 in
// row order (Sum over every axis), negated, divided when divisor > 0. With a row map, row n takes
// l[map[n]], and a row with map[n] < 0 is left as it is and adds no term: loss_fwd_rows chose it
// because its term is a zero, and a zero added to the sum changes nothing (the sum starts at +0,
// so it is never -0: +0 + ±0 = +0, and x + ±0 = x otherwise).
void loss_pick(Call& c) {
  // [op, threads, valueOff, shiftedOff, lOff|-1, targetOff, maskOff, lossOff, rows, V, divisor, mapOff|-1, lRows]
  const long rows = c.n(8), V = c.n(9), l_rows = c.n(12);
  const float divisor = (float)c.p[10];
  float* value = c.f32(2, (double)rows * V);
  const float* shifted = c.f32(3, (double)rows * V);
  const float* l = c.f32(4, (double)l_rows, true);
  const int32_t* target = reinterpret_cast<const int32_t*>(c.f32(5, (double)rows));
  const float* mask = c.f32(6, (double)rows);
  float* loss = c.f32(7, 1);
  const int32_t* map = reinterpret_cast<const int32_t*>(c.f32(11, (double)rows, true));
  if (!c.ok) return;
  const auto lrow = [&](long row) -> long { return map ? map[row] : row; };
  for (long row = 0; row < rows; ++row)
    if (target[row] < 0 || target[row] >= V || lrow(row) >= l_rows || (lrow(row) >= 0 && !l)) {
      c.ok = false;
      return;
    }
  for_rows(rows, rows * V, c.threads(), [&](long s, long e) {
    for (long row = s; row < e; ++row) {
      const long li = lrow(row);
      if (li >= 0) sub_scalar_row(shifted + row * V, l[li], value + row * V, V);
    }
  });
  float acc = 0.f;
  for (long row = 0; row < rows; ++row) {
    if (lrow(row) < 0) continue;
    const float t = value[row * V + target[row]] * mask[row];
    acc += t;
  }
  float out = -acc;
  if (divisor > 0) out = out / divisor;
  *loss = out;
}

// Which rows of the forward need log Σ exp: map[n] = n, or -1 for a row whose loss term is a zero
// whatever its value: mask ±0 and a finite shifted target. A NaN anywhere in the row makes its max,
// and so every shifted value, NaN; without one, shifted is in [-inf, 0] with a +0 at the max, Σ exp
// in [1, V], log Σ finite, and value[target] = shifted[target] − log Σ finite: its product with
// the mask is a zero.
void loss_fwd_rows(Call& c) {
  // [op, threads, mapOff, shiftedOff, targetOff, maskOff, rows, V]
  const long rows = c.n(6), V = c.n(7);
  int32_t* map = reinterpret_cast<int32_t*>(c.f32(2, (double)rows));
  const float* shifted = c.f32(3, (double)rows * V);
  const int32_t* target = reinterpret_cast<const int32_t*>(c.f32(4, (double)rows));
  const float* mask = c.f32(5, (double)rows);
  if (!c.ok) return;
  for (long row = 0; row < rows; ++row) {
    bool needs = mask[row] != 0.f || target[row] < 0 || target[row] >= V;
    const float* x = shifted + row * V;
    if (!needs) needs = !std::isfinite(x[target[row]]);
    map[row] = needs ? (int32_t)row : -1;
  }
}

// The loss's gradient per row, before the vocabulary-wide pass: with d = dy [/ divisor] (Div's
// gradient), Neg's -d, Sum's (-d)·1 and Multiply's ·mask give the pick's gradient dp[n]; the pick's
// gradient row is dp·onehot (dp at the target, dp·0 elsewhere) and logSoftmax's gradient needs its
// sum s[n] from 0 in order: +0 + dp·0 + … + dp + … is exactly 0 + dp when dp is finite (every other
// term is a zero, and adding a zero to +0 or to a nonzero sum changes nothing); otherwise the terms
// are NaN (inf·0) and so is the sum. need[n] = whether the row's result reads exp(value): a row with
// s = ±0 and no NaN in value gets dp·onehot − s exactly without it (exp(value) is finite and ≥ 0
// there, so s·exp(value) is the zero s itself). need: n, or -1.
void loss_grad_rows(Call& c) {
  // [op, threads, dpOff, sOff, needOff, dyOff, maskOff, valueOff, rows, V, divisor, targetOff]
  const long rows = c.n(8), V = c.n(9);
  const float divisor = (float)c.p[10];
  const int32_t* target = reinterpret_cast<const int32_t*>(c.f32(11, (double)rows));
  float* dp = c.f32(2, (double)rows);
  float* sum = c.f32(3, (double)rows);
  int32_t* need = reinterpret_cast<int32_t*>(c.f32(4, (double)rows));
  const float* dy = c.f32(5, 1);
  const float* mask = c.f32(6, (double)rows);
  const float* value = c.f32(7, (double)rows * V);
  if (!c.ok) return;
  const float d = divisor > 0 ? *dy / divisor : *dy;
  const float dneg = -d;
  const float dsum = dneg * 1.0f;
  for (long row = 0; row < rows; ++row) {
    const float g = dsum * mask[row];
    dp[row] = g;
    float s;
    if (std::isfinite(g)) {
      s = 0.f + g;
    } else {
      // The chain itself (inf·0 is NaN): the products in order, as the kernels compute them.
      s = 0.f;
      const long t = target[row];
      for (long j = 0; j < V; ++j) {
        const float term = g * (j == t ? 1.0f : 0.0f);
        s += term;
      }
    }
    sum[row] = s;
    // A value row with a NaN is NaN throughout (a NaN logit makes the row's max, so every shifted
    // value and log Σ exp, NaN; without one, value is finite or -inf): its first element tells.
    const bool needs = s != 0.f || std::isnan(s) || std::isnan(value[row * V]);
    need[row] = needs ? (int32_t)row : -1;
  }
}

// Copies row n of x to row map[n] of out for every map[n] >= 0.
void gather_rows(Call& c) {
  // [op, threads, outOff, xOff, mapOff, rows, V, outRows]
  const long rows = c.n(5), V = c.n(6), out_rows = c.n(7);
  float* out = c.f32(2, (double)out_rows * V);
  const float* x = c.f32(3, (double)rows * V);
  const int32_t* map = reinterpret_cast<const int32_t*>(c.f32(4, (double)rows));
  if (!c.ok) return;
  for (long row = 0; row < rows; ++row)
    if (map[row] >= out_rows) {
      c.ok = false;
      return;
    }
  for (long row = 0; row < rows; ++row)
    if (map[row] >= 0) std::copy(x + row * V, x + (row + 1) * V, out + (long)map[row] * V);
}

FUSED_CLONES void loss_grad_row(float dp, float s, const float* ex, long t, float* o, long V) {
  for (long j = 0; j < V; ++j) {
    const float oh = j == t ? 1.0f : 0.0f;
    const float g = dp * oh;
    const float prod = s * ex[j];
    o[j] = g - prod;
  }
}
FUSED_CLONES void loss_grad_row_zero(float dp, float s, long t, float* o, long V) {
  for (long j = 0; j < V; ++j) {
    const float oh = j == t ? 1.0f : 0.0f;
    const float g = dp * oh;
    o[j] = g - s;
  }
}

// logSoftmax's gradient of the pick's: dx = g − s·exp(value) with g = dp·onehot(target) (Multiply),
// s·exp (Multiply), then Sub; exp(value) row map[n] of ex, or (map[n] < 0) the zero s itself.
void loss_grad(Call& c) {
  // [op, threads, dxOff, dpOff, sOff, mapOff, exOff|-1, targetOff, rows, V, exRows]
  const long rows = c.n(8), V = c.n(9), ex_rows = c.n(10);
  float* dx = c.f32(2, (double)rows * V);
  const float* dp = c.f32(3, (double)rows);
  const float* sum = c.f32(4, (double)rows);
  const int32_t* map = reinterpret_cast<const int32_t*>(c.f32(5, (double)rows));
  const float* ex = c.f32(6, (double)ex_rows * V, true);
  const int32_t* target = reinterpret_cast<const int32_t*>(c.f32(7, (double)rows));
  if (!c.ok) return;
  for (long row = 0; row < rows; ++row)
    if (map[row] >= ex_rows || (map[row] >= 0 && !ex) || target[row] < 0 || target[row] >= V) {
      c.ok = false;
      return;
    }
  for_rows(rows, rows * V, c.threads(), [&](long s, long e) {
    for (long row = s; row < e; ++row) {
      if (map[row] >= 0) loss_grad_row(dp[row], sum[row], ex + (long)map[row] * V, target[row], dx + row * V, V);
      else loss_grad_row_zero(dp[row], sum[row], target[row], dx + row * V, V);
    }
  });
}

// ---- AdamW (src/training/adamw.ts) ----

// AdamW.prepare's norm: per parameter Σ g² from 0 in order (Square, Sum), the sums added in
// parameter order (AddN: all ≥ 0 or NaN, so its start does not matter), then sqrt (correctly
// rounded, as wasm's). Also writes each gradient into its group's flat vector and its square.
void adamw_norm(Call& c) {
  // [op, threads, normOff, count, then per parameter: gOff, size, flatOff, sqOff]
  const long count = c.n(3);
  if (!c.ok || c.np < 4 + 4 * (size_t)count) {
    c.ok = false;
    return;
  }
  float* norm = c.f32(2, 1);
  std::vector<const float*> g(count);
  std::vector<float*> flat(count), sq(count);
  std::vector<long> size(count);
  for (long i = 0; i < count; ++i) {
    size[i] = c.n(5 + 4 * i);
    g[i] = c.f32(4 + 4 * i, (double)size[i]);
    flat[i] = c.f32(6 + 4 * i, (double)size[i]);
    sq[i] = c.f32(7 + 4 * i, (double)size[i]);
  }
  if (!c.ok) return;
  float total = 0.f;
  for (long i = 0; i < count; ++i) {
    float acc = 0.f;
    for (long k = 0; k < size[i]; ++k) {
      const float x = g[i][k];
      const float x2 = x * x;
      flat[i][k] = x;
      sq[i][k] = x2;
      acc += x2;
    }
    total = i == 0 ? acc : total + acc;
  }
  *norm = std::sqrt(total);
}

FUSED_CLONES void adamw_elems(const float* m0, const float* v0, const float* g0, const float* sq0, const float* p0, float* mo, float* vo,
                              float* po, long n, const float* k) {
  // k: gs, b1, omb1, b2, omb2, bc1, bc2, eps, keep, plr, scaled, decay
  const float gs = k[0], b1 = k[1], omb1 = k[2], b2 = k[3], omb2 = k[4], bc1 = k[5], bc2 = k[6], eps = k[7], keep = k[8], plr = k[9];
  const bool scaled = k[10] != 0.f, decay = k[11] != 0.f;
  for (long i = 0; i < n; ++i) {
    const float g = scaled ? g0[i] * gs : g0[i];
    const float ma = m0[i] * b1;
    const float mb = g * omb1;
    const float m = ma + mb;
    const float g2 = scaled ? g * g : sq0[i];
    const float va = v0[i] * b2;
    const float vb = g2 * omb2;
    const float v = va + vb;
    mo[i] = m;
    vo[i] = v;
    const float mh = m / bc1;
    const float vh = v / bc2;
    const float den = std::sqrt(vh) + eps;
    const float u = mh / den;
    const float p = decay ? p0[i] * keep : p0[i];
    const float step = u * plr;
    po[i] = p - step;
  }
}

// One AdamW update of a flat group (AdamW.step's chain, per element, constants rounded to float32
// as tfjs does): g = g·gs (clipping, when scaled); m = m·b1 + g·(1−b1); v = v·b2 + g²·(1−b2) (g² the
// prepared square when not scaled); u = (m/bc1) / (sqrt(v/bc2) + eps); p = p·keep (weight decay,
// when decayed) − u·plr. The parameters are separate operands laid end to end in the group.
void adamw_update(Call& c) {
  // [op, threads, n, mOut, vOut, m, v, g, sq|-1, gs, b1, omb1, b2, omb2, bc1, bc2, eps, keep, plr, scaled, decay, count,
  //  then per parameter: pOff, pOutOff, size]
  const long n = c.n(2), count = c.n(21);
  if (!c.ok || c.np < 22 + 3 * (size_t)count) {
    c.ok = false;
    return;
  }
  float* mo = c.f32(3, (double)n);
  float* vo = c.f32(4, (double)n);
  const float* m = c.f32(5, (double)n);
  const float* v = c.f32(6, (double)n);
  const float* g = c.f32(7, (double)n);
  const bool scaled = c.p[19] != 0;
  const float* sq = c.f32(8, (double)n, scaled);
  if (!scaled && !sq) c.ok = false;
  float k[12];
  for (int i = 0; i < 10; ++i) k[i] = (float)c.p[9 + i];
  k[10] = scaled ? 1.f : 0.f;
  k[11] = c.p[20] != 0 ? 1.f : 0.f;
  long at = 0;
  for (long i = 0; i < count && c.ok; ++i) {
    const long size = c.n(24 + 3 * i);
    const float* p = c.f32(22 + 3 * i, (double)size);
    float* po = c.f32(23 + 3 * i, (double)size);
    if (!c.ok || at + size > n) {
      c.ok = false;
      return;
    }
    const long off = at;
    for_rows(size, size, c.threads(), [&](long s, long e) {
      adamw_elems(m + off + s, v + off + s, g + off + s, sq ? sq + off + s : nullptr, p + s, mo + off + s, vo + off + s, po + s, e - s, k);
    });
    at += size;
  }
  if (at != n) c.ok = false;
}

// ---- LayerNorm (src/model/layers/norms.ts layerNorm) ----

// Per row of C (NR rows at x, x + C, …): mean = Σx / C and r = rsqrt(Σ(x − mean)² / C + eps), the
// forward's chain: Mean (from 0 in order, then / C), Sub, Square, Mean, Add, Rsqrt (1 / sqrtf).
template <int NR>
inline void ln_stats_chains(const float* x, long C, float eps, float* mean, float* r) {
  const float n = (float)(uint32_t)C;
  float acc[NR], m[NR];
  for (int q = 0; q < NR; ++q) acc[q] = 0.f;
  for (long c = 0; c < C; ++c)
    for (int q = 0; q < NR; ++q) acc[q] += x[q * C + c];
  for (int q = 0; q < NR; ++q) {
    m[q] = acc[q] / n;
    acc[q] = 0.f;
  }
  for (long c = 0; c < C; ++c)
    for (int q = 0; q < NR; ++q) {
      const float d = x[q * C + c] - m[q];
      const float t = d * d;
      acc[q] += t;
    }
  for (int q = 0; q < NR; ++q) {
    const float var = acc[q] / n;
    const float v = var + eps;
    mean[q] = m[q];
    r[q] = 1.0f / std::sqrt(v);
  }
}
FUSED_CLONES void ln_stats(const float* x, long C, float eps, int nr, float* mean, float* r) {
  if (nr == Q) return ln_stats_chains<Q>(x, C, eps, mean, r);
  for (int q = 0; q < nr; ++q) ln_stats_chains<1>(x + q * C, C, eps, mean + q, r + q);
}

// y = ((x − mean)·r)·w + b.
FUSED_CLONES void ln_row(const float* x, float mean, float r, const float* w, const float* b, float* y, long C) {
  for (long k = 0; k < C; ++k) {
    const float d = x[k] - mean;
    const float xh = d * r;
    const float t = xh * w[k];
    y[k] = t + b[k];
  }
}

// LayerNorm forward of x (or, with a second operand, of s = a + d, written out: the residual add
// whose sum the norm reads): y = x̂·w + b, x̂ = (x − mean(x))·rsqrt(mean((x − mean)²) + eps).
void layer_norm(Call& c) {
  // [op, threads, yOff, sOff|-1, aOff, dOff|-1, wOff, bOff, rows, C, eps]
  const long rows = c.n(8), C = c.n(9);
  const float eps = (float)c.p[10];
  const double total = (double)rows * C;
  float* y = c.f32(2, total);
  float* sum = c.f32(3, total, true);
  const float* a = c.f32(4, total);
  const float* d = c.f32(5, total, true);
  const float* w = c.f32(6, (double)C);
  const float* b = c.f32(7, (double)C);
  if (c.ok && (sum == nullptr) != (d == nullptr)) c.ok = false;
  if (!c.ok) return;
  for_rows(rows, rows * C, c.threads(), [&](long s, long e) {
    float mean[Q], r[Q];
    for (long row = s; row < e; row += Q) {
      const int nr = (int)std::min<long>(Q, e - row);
      const float* x = a + row * C;
      if (d) {
        add_rows(a + row * C, d + row * C, sum + row * C, nr * C);
        x = sum + row * C;
      }
      ln_stats(x, C, eps, nr, mean, r);
      for (int q = 0; q < nr; ++q) ln_row(x + q * C, mean[q], r[q], w, b, y + (row + q) * C, C);
    }
  });
}

// Σ dy·w and Σ (dy·w)·x̂ per row, from 0 in order (the two Means of the backward before their / C).
template <int NR>
inline void ln_grad_sums_chains(const float* dy, const float* w, const float* xh, long C, float* s1, float* s2) {
  float a1[NR], a2[NR];
  for (int q = 0; q < NR; ++q) a1[q] = a2[q] = 0.f;
  for (long c = 0; c < C; ++c)
    for (int q = 0; q < NR; ++q) {
      const float g = dy[q * C + c] * w[c];
      const float t = g * xh[q * C + c];
      a1[q] += g;
      a2[q] += t;
    }
  for (int q = 0; q < NR; ++q) {
    s1[q] = a1[q];
    s2[q] = a2[q];
  }
}
FUSED_CLONES void ln_grad_sums(const float* dy, const float* w, const float* xh, long C, int nr, float* s1, float* s2) {
  if (nr == Q) return ln_grad_sums_chains<Q>(dy, w, xh, C, s1, s2);
  for (int q = 0; q < nr; ++q) ln_grad_sums_chains<1>(dy + q * C, w, xh + q * C, C, s1 + q, s2 + q);
}

FUSED_CLONES void ln_xhat_row(const float* x, float mean, float r, float* o, long C) {
  for (long k = 0; k < C; ++k) {
    const float d = x[k] - mean;
    o[k] = d * r;
  }
}

// dx = ((g − m1) − x̂·m2)·r with g = dy·w, m1 = mean(g), m2 = mean(g·x̂); o holds x̂ on entry. With
// dres (the residual add's gradient, accumulated before this op's by tfjs's reverse tape order): dres + dx.
FUSED_CLONES void ln_dx_row(const float* dy, const float* dres, const float* w, float m1, float m2, float r, float* o, long C) {
  for (long k = 0; k < C; ++k) {
    const float g = dy[k] * w[k];
    const float a = g - m1;
    const float b = o[k] * m2;
    const float inner = a - b;
    const float dx = inner * r;
    o[k] = dres ? dres[k] + dx : dx;
  }
}

// LayerNorm's x gradient, layerNorm's hand-written backward: g = dy·w; dx = (g − mean(g) − x̂·mean(g·x̂))·r,
// x̂ and r recomputed from x as the forward computes them.
void layer_norm_grad(Call& c) {
  // [op, threads, dxOff, dyOff, dresOff|-1, xOff, wOff, rows, C, eps]
  const long rows = c.n(7), C = c.n(8);
  const float eps = (float)c.p[9];
  const double total = (double)rows * C;
  float* dx = c.f32(2, total);
  const float* dy = c.f32(3, total);
  const float* dres = c.f32(4, total, true);
  const float* x = c.f32(5, total);
  const float* w = c.f32(6, (double)C);
  if (!c.ok) return;
  const float n = (float)(uint32_t)C;
  for_rows(rows, rows * C, c.threads(), [&](long s, long e) {
    float mean[Q], r[Q], s1[Q], s2[Q];
    for (long row = s; row < e; row += Q) {
      const int nr = (int)std::min<long>(Q, e - row);
      const long at = row * C;
      ln_stats(x + at, C, eps, nr, mean, r);
      for (int q = 0; q < nr; ++q) ln_xhat_row(x + at + q * C, mean[q], r[q], dx + at + q * C, C);
      ln_grad_sums(dy + at, w, dx + at, C, nr, s1, s2);
      for (int q = 0; q < nr; ++q) {
        const float m1 = s1[q] / n, m2 = s2[q] / n;
        ln_dx_row(dy + at + q * C, dres ? dres + at + q * C : nullptr, w, m1, m2, r[q], dx + at + q * C, C);
      }
    }
  });
}

// LayerNorm's gain gradient Σ_rows dy·x̂ (which = 0) or bias gradient Σ_rows dy (which = 1): sums over
// the leading axes, each column one chain over the rows in order from 0.
void layer_norm_grad_param(Call& c) {
  // [op, threads, outOff, dyOff, xOff, rows, C, eps, which]
  const long rows = c.n(5), C = c.n(6);
  const float eps = (float)c.p[7];
  const bool gain = c.p[8] == 0;
  const double total = (double)rows * C;
  float* out = c.f32(2, (double)C);
  const float* dy = c.f32(3, total);
  const float* x = c.f32(4, total);
  if (!c.ok) return;
  std::vector<float> mean(gain ? rows : 0), r(gain ? rows : 0);
  if (gain)
    for (long row = 0; row < rows; row += Q) ln_stats(x + row * C, C, eps, (int)std::min<long>(Q, rows - row), mean.data() + row, r.data() + row);
  for_rows(C, rows * C, c.threads(), [&](long s, long e) {
    for (long k = s; k < e; ++k) out[k] = 0.f;
    for (long row = 0; row < rows; ++row) {
      const float* xr = x + row * C;
      const float* dyr = dy + row * C;
      if (gain) {
        for (long k = s; k < e; ++k) {
          const float d = xr[k] - mean[row];
          const float xh = d * r[row];
          const float t = dyr[k] * xh;
          out[k] += t;
        }
      } else {
        for (long k = s; k < e; ++k) out[k] += dyr[k];
      }
    }
  });
}

// ---- gelu_new, sigmoid form (src/model/layers/activations.ts geluNew) ----
// t = x·((x·x)·k3 + k) (before the stock Sigmoid), value = x·σ(t); gradient
// dy·(σ·(x·((x·x)·k3x3 + k)·(1 − σ) + 1)) with x·x recomputed as the forward computed it.

FUSED_CLONES void gelu_arg(const float* x, float k3, float k, float* t, long n) {
  for (long i = 0; i < n; ++i) {
    const float x2 = x[i] * x[i];
    const float a = x2 * k3;
    const float b = a + k;
    t[i] = x[i] * b;
  }
}
FUSED_CLONES void gelu_out(const float* x, const float* s, float* o, long n) {
  for (long i = 0; i < n; ++i) o[i] = x[i] * s[i];
}
FUSED_CLONES void gelu_bwd(const float* dy, const float* x, const float* s, float k3x3, float k, float* dx, long n) {
  for (long i = 0; i < n; ++i) {
    const float x2 = x[i] * x[i];
    const float a = x2 * k3x3;
    const float b = a + k;
    const float cc = x[i] * b;
    const float om = 1.0f - s[i];
    const float slope = cc * om;
    const float e = slope + 1.0f;
    const float f = s[i] * e;
    dx[i] = dy[i] * f;
  }
}

void gelu(Call& c, int op) {
  // GELU_ARG: [op, threads, tOff, xOff, n, k3, k]; GELU_OUT: [op, threads, outOff, xOff, sOff, n];
  // GELU_GRAD: [op, threads, dxOff, dyOff, xOff, sOff, n, k3x3, k]
  const long n = c.n(op == GELU_ARG ? 4 : op == GELU_OUT ? 5 : 6);
  if (!c.ok) return;
  float* out = c.f32(2, (double)n);
  const float* a = c.f32(3, (double)n);
  if (op == GELU_ARG) {
    const float k3 = (float)c.p[5], k = (float)c.p[6];
    if (!c.ok) return;
    for_rows(n, n, c.threads(), [&](long s, long e) { gelu_arg(a + s, k3, k, out + s, e - s); });
  } else if (op == GELU_OUT) {
    const float* sg = c.f32(4, (double)n);
    if (!c.ok) return;
    for_rows(n, n, c.threads(), [&](long s, long e) { gelu_out(a + s, sg + s, out + s, e - s); });
  } else {
    const float* x = c.f32(4, (double)n);
    const float* sg = c.f32(5, (double)n);
    const float k3x3 = (float)c.p[7], k = (float)c.p[8];
    if (!c.ok) return;
    for_rows(n, n, c.threads(), [&](long s, long e) { gelu_bwd(a + s, x + s, sg + s, k3x3, k, out + s, e - s); });
  }
}

}  // namespace

napi_value Fused(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Call c{};
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 2 ||
      !lora_napi::typed_array(env, argv[0], napi_uint8_array, &c.heap, &c.heap_len) ||
      !lora_napi::typed_array(env, argv[1], napi_float64_array, const_cast<double**>(&c.p), &c.np)) {
    napi_throw_type_error(env, nullptr, NAPI_ERROR_PREFIX "fused expects (heap: Uint8Array, params: Float64Array)");
    return nullptr;
  }
  static const size_t kParams[] = {18, 18, 8, 7, 11, 8, 7, 9, 12, 8, 10, 6, 6, 13, 12, 8, 11, 4, 22, 8, 11, 10, 9, 7, 6, 9};
  const int op = c.np >= 2 ? (int)c.p[0] : -1;
  if (op < ROPE || op > GELU_GRAD || c.np < kParams[op]) {
    napi_throw_range_error(env, nullptr, NAPI_ERROR_PREFIX "fused: bad kernel or params too short");
    return nullptr;
  }
  switch (op) {
    case ROPE:
    case ROPE_GRAD: rope(c, op == ROPE_GRAD); break;
    case RMS_NORM: rms_norm(c); break;
    case ADD_RMS_NORM: add_rms_norm(c); break;
    case RMS_VAR: rms_var(c); break;
    case RMS_NORM_GRAD: rms_norm_grad(c); break;
    case RMS_NORM_GRAD_W: rms_norm_grad_w(c); break;
    case SILU_MUL:
    case SILU_MUL_GRAD: silu_mul(c, op == SILU_MUL_GRAD); break;
    case SCALE_MASK: scale_mask(c); break;
    case SOFTMAX_GRAD: softmax_grad(c); break;
    case LSM_SHIFT: lsm_shift(c); break;
    case ROW_SUM: row_sum(c); break;
    case LOSS_PICK: loss_pick(c); break;
    case LOSS_GRAD_ROWS: loss_grad_rows(c); break;
    case GATHER_ROWS: gather_rows(c); break;
    case LOSS_GRAD: loss_grad(c); break;
    case ADAMW_NORM: adamw_norm(c); break;
    case ADAMW_UPDATE: adamw_update(c); break;
    case LOSS_FWD_ROWS: loss_fwd_rows(c); break;
    case LAYER_NORM: layer_norm(c); break;
    case LAYER_NORM_GRAD: layer_norm_grad(c); break;
    case LAYER_NORM_GRAD_PARAM: layer_norm_grad_param(c); break;
    case GELU_ARG:
    case GELU_OUT:
    case GELU_GRAD: gelu(c, op); break;
  }
  if (!c.ok) napi_throw_range_error(env, nullptr, NAPI_ERROR_PREFIX "fused: bad shape params or operands outside the heap");
  return nullptr;
}

}  // namespace lora_fused
