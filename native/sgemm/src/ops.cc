// Native versions of the tfjs wasm backend's hot non-matmul kernels, working in place on the wasm
// module's heap (a Uint8Array over its memory) and BIT-IDENTICAL to the stock kernels
// (tfjs-backend-wasm 4.22, src/cc and src/kernels):
//  - binary: Add, Sub, Multiply, RealDiv on float32 (XNNPACK's *_nd_f32: one IEEE operation per
//    element, no FMA, no reassociation), int32 (wrapping) and bool (0/1 bytes), numpy broadcasting;
//  - unary: Neg (sign flip), Square (x*x);
//  - reduce: Sum, Mean, Max over any axes. The stock kernels transpose the reduced axes innermost
//    (in the order the axes were given) and then, per output, accumulate from 0 in one sequential
//    chain (Sum; Mean then divides by the count; Max keeps the first of equal values and any NaN).
//    Here every output keeps exactly that chain; only independent outputs run side by side
//    (SIMD lanes across outputs, interleaved rows, threads), so each result is the same float;
//  - ArgMax, ArgMin: the first index of the extreme value, as the stock scan finds it;
//  - copy: strided copies (Transpose, Slice, SplitV, Concat, PadV2 after a fill), and gather
//    (GatherV2, batchDims 0).
// Compiled with -ffp-contract=off (never fuse a*b+c) and without -ffast-math; hot loops get
// AVX-512/AVX2 clones chosen at load time (elementwise IEEE results do not depend on vector width).
//
// Every entry point takes (heap, params: Float64Array): offsets are BYTE offsets into heap,
// strides and shapes count elements. Large calls are split over the thread pool of thread_pool.h.
#include <node_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

#define NAPI_ERROR_PREFIX "lora-study-native ops: "
#include "napi_common.h"
#include "fused.h"
#include "thread_pool.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define OPS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define OPS_CLONES
#endif

namespace {

constexpr int MAXR = 12;
// Below these sizes one thread does the whole call. Elementwise work and copies are bound by
// memory and allocation: a second thread did not pay off below several MB (measured on 2 shared
// Zen 4 cores). A reduction's sequential chains are bound by add latency, so threads pay earlier,
// but handing a task to a pooled thread costs milliseconds whenever the cores are busy (other
// processes, the wasm backend's own workers), so only calls that take milliseconds use threads.
constexpr long PAR_MIN_ELEMENTS = 1L << 22;
constexpr long PAR_MIN_REDUCE = 1L << 20;

int g_threads = 1;

void parallel_for(int n, const std::function<void(int)>& fn) { lora_ops::run_parallel(n, g_threads, fn, lora_ops::Wait::Sleep); }

// Splits [0, total) into about one chunk per thread (boundaries on multiples of 64 elements).
int chunks_for(long total) { return total >= PAR_MIN_ELEMENTS ? g_threads : 1; }
void chunk_range(long total, int parts, int i, long* s, long* e) {
  long per = (total + parts - 1) / parts;
  per = (per + 63) / 64 * 64;
  *s = std::min(total, per * i);
  *e = std::min(total, per * (i + 1));
}

// ---- strided iteration over a collapsed index space ----
template <int K>
struct Dims {
  int rank = 0;
  long n[MAXR];
  long st[K][MAXR];
};

// Drops size-1 dims and merges a dim into the next inner one when every operand is contiguous across them.
template <int K>
Dims<K> collapse(int rank, const long* shape, const long* const* strides) {
  Dims<K> d;
  for (int i = 0; i < rank; ++i) {
    if (shape[i] == 1) continue;
    d.n[d.rank] = shape[i];
    for (int k = 0; k < K; ++k) d.st[k][d.rank] = strides[k][i];
    ++d.rank;
  }
  if (d.rank == 0) {
    d.rank = 1;
    d.n[0] = 1;
    for (int k = 0; k < K; ++k) d.st[k][0] = 1;
    return d;
  }
  Dims<K> c;
  c.rank = 1;
  c.n[0] = d.n[d.rank - 1];
  for (int k = 0; k < K; ++k) c.st[k][0] = d.st[k][d.rank - 1];
  // c is built innermost-first, then reversed.
  for (int i = d.rank - 2; i >= 0; --i) {
    const int j = c.rank - 1;
    bool merge = true;
    for (int k = 0; k < K; ++k) merge = merge && d.st[k][i] == c.st[k][j] * c.n[j];
    if (merge) {
      c.n[j] *= d.n[i];
    } else {
      c.n[c.rank] = d.n[i];
      for (int k = 0; k < K; ++k) c.st[k][c.rank] = d.st[k][i];
      ++c.rank;
    }
  }
  Dims<K> r;
  r.rank = c.rank;
  for (int i = 0; i < c.rank; ++i) {
    r.n[i] = c.n[c.rank - 1 - i];
    for (int k = 0; k < K; ++k) r.st[k][i] = c.st[k][c.rank - 1 - i];
  }
  return r;
}

// Calls inner(offsets[K], len) for each run of the innermost dim inside flat range [s, e).
template <int K, class F>
void for_range(const Dims<K>& d, long s, long e, F inner) {
  if (s >= e) return;
  const int R = d.rank;
  const long n0 = d.n[R - 1];
  long row = s / n0, col = s % n0;
  long idx[MAXR];
  long off[K];
  for (int k = 0; k < K; ++k) off[k] = 0;
  for (int i = R - 2; i >= 0; --i) {
    idx[i] = row % d.n[i];
    row /= d.n[i];
    for (int k = 0; k < K; ++k) off[k] += idx[i] * d.st[k][i];
  }
  long pos = s;
  while (pos < e) {
    const long len = std::min(n0 - col, e - pos);
    long o[K];
    for (int k = 0; k < K; ++k) o[k] = off[k] + col * d.st[k][R - 1];
    inner(o, len);
    pos += len;
    col = 0;
    for (int i = R - 2; i >= 0; --i) {
      for (int k = 0; k < K; ++k) off[k] += d.st[k][i];
      if (++idx[i] < d.n[i]) break;
      for (int k = 0; k < K; ++k) off[k] -= d.st[k][i] * d.n[i];
      idx[i] = 0;
    }
  }
}

// ---- elementwise kernels (strides 0 = broadcast scalar, 1 = contiguous) ----
#define OPS_F32_BINARY(NAME, EXPR)                                                                     \
  OPS_CLONES void NAME(const float* a, long sa, const float* b, long sb, float* o, long n) {            \
    if (sa && sb) {                                                                                     \
      for (long i = 0; i < n; ++i) { const float x = a[i], y = b[i]; o[i] = EXPR; }                     \
    } else if (sa) {                                                                                    \
      const float y = b[0];                                                                             \
      for (long i = 0; i < n; ++i) { const float x = a[i]; o[i] = EXPR; }                               \
    } else if (sb) {                                                                                    \
      const float x = a[0];                                                                             \
      for (long i = 0; i < n; ++i) { const float y = b[i]; o[i] = EXPR; }                               \
    } else {                                                                                            \
      const float x = a[0], y = b[0];                                                                   \
      const float v = EXPR;                                                                             \
      for (long i = 0; i < n; ++i) o[i] = v;                                                            \
    }                                                                                                   \
  }

OPS_F32_BINARY(f32_add, x + y)
OPS_F32_BINARY(f32_sub, x - y)
OPS_F32_BINARY(f32_mul, x * y)
OPS_F32_BINARY(f32_div, x / y)

typedef void (*F32Binary)(const float*, long, const float*, long, float*, long);

template <class T, class F>
void generic_binary(const T* a, long sa, const T* b, long sb, T* o, long n, F f) {
  for (long i = 0; i < n; ++i) o[i] = f(a[i * sa], b[i * sb]);
}

enum BinaryOp { ADD = 0, SUB = 1, MUL = 2, DIV = 3 };
enum DType { F32 = 0, I32 = 1, BOOL = 2 };

void binary_run(int op, int dtype, uint8_t* heap, double out_off, double a_off, double b_off, const Dims<3>& d, long s,
                long e) {
  // Operand order in Dims: 0 = a, 1 = b, 2 = out.
  const int R = d.rank;
  const long sa = d.st[0][R - 1], sb = d.st[1][R - 1];
  if (dtype == F32) {
    const float* A = reinterpret_cast<const float*>(heap + (long)a_off);
    const float* B = reinterpret_cast<const float*>(heap + (long)b_off);
    float* O = reinterpret_cast<float*>(heap + (long)out_off);
    const F32Binary fn = op == ADD ? f32_add : op == SUB ? f32_sub : op == MUL ? f32_mul : f32_div;
    for_range<3>(d, s, e, [&](const long* o, long len) { fn(A + o[0], sa, B + o[1], sb, O + o[2], len); });
  } else if (dtype == I32) {
    // Two's-complement wrap, as wasm's i32 arithmetic.
    const uint32_t* A = reinterpret_cast<const uint32_t*>(heap + (long)a_off);
    const uint32_t* B = reinterpret_cast<const uint32_t*>(heap + (long)b_off);
    uint32_t* O = reinterpret_cast<uint32_t*>(heap + (long)out_off);
    for_range<3>(d, s, e, [&](const long* o, long len) {
      if (op == ADD) generic_binary(A + o[0], sa, B + o[1], sb, O + o[2], len, [](uint32_t x, uint32_t y) { return x + y; });
      else if (op == SUB) generic_binary(A + o[0], sa, B + o[1], sb, O + o[2], len, [](uint32_t x, uint32_t y) { return x - y; });
      else generic_binary(A + o[0], sa, B + o[1], sb, O + o[2], len, [](uint32_t x, uint32_t y) { return x * y; });
    });
  } else {
    // bool bytes: add<bool> = a || b, sub<bool> = a != b, mul<bool> = a && b.
    const uint8_t* A = heap + (long)a_off;
    const uint8_t* B = heap + (long)b_off;
    uint8_t* O = heap + (long)out_off;
    for_range<3>(d, s, e, [&](const long* o, long len) {
      if (op == ADD) generic_binary(A + o[0], sa, B + o[1], sb, O + o[2], len, [](uint8_t x, uint8_t y) { return (uint8_t)((x | y) != 0); });
      else if (op == SUB) generic_binary(A + o[0], sa, B + o[1], sb, O + o[2], len, [](uint8_t x, uint8_t y) { return (uint8_t)((x != 0) != (y != 0)); });
      else generic_binary(A + o[0], sa, B + o[1], sb, O + o[2], len, [](uint8_t x, uint8_t y) { return (uint8_t)(x != 0 && y != 0); });
    });
  }
}

OPS_CLONES void f32_neg(const float* x, float* o, long n) {
  for (long i = 0; i < n; ++i) o[i] = -x[i];
}
OPS_CLONES void f32_square(const float* x, float* o, long n) {
  for (long i = 0; i < n; ++i) o[i] = x[i] * x[i];
}

// ---- reductions ----
enum ReduceOp { SUM = 0, MEAN = 1, MAX = 2, ARGMAX = 3, ARGMIN = 4 };

template <class T>
inline T max_step(T acc, T v) {
  return (std::isnan((double)v) || v > acc) ? v : acc;
}
template <>
inline float max_step<float>(float acc, float v) {
  return (std::isnan(v) || v > acc) ? v : acc;
}

struct ReducePlan {
  Dims<1> kept;         // output dims (row-major) with their input strides
  std::vector<long> roff;  // input offset of each reduced index, in the stock accumulation order
  long rs = 1;
  long rstride = 0;     // when the reduced dims collapse to one: offset of r is r * rstride
  bool table = false;
  long out_size = 1;
  inline long red(long r) const { return table ? roff[r] : r * rstride; }
};

constexpr int W = 32;  // outputs accumulated side by side in the column path

OPS_CLONES void f32_colsum(const float* x, const ReducePlan* p, float* out, long n_out) {
  // n_out contiguous outputs whose inputs are contiguous too: one chain per output, lanes across outputs.
  long j = 0;
  for (; j + W <= n_out; j += W) {
    float acc[W];
    for (int l = 0; l < W; ++l) acc[l] = 0.f;
    for (long r = 0; r < p->rs; ++r) {
      const float* q = x + p->red(r) + j;
      for (int l = 0; l < W; ++l) acc[l] += q[l];
    }
    for (int l = 0; l < W; ++l) out[j + l] = acc[l];
  }
  for (; j < n_out; ++j) {
    float acc = 0.f;
    for (long r = 0; r < p->rs; ++r) acc += x[p->red(r) + j];
    out[j] = acc;
  }
}

OPS_CLONES void f32_colmax(const float* x, const ReducePlan* p, float* out, long n_out) {
  long j = 0;
  for (; j + W <= n_out; j += W) {
    float acc[W];
    const float* q0 = x + p->red(0) + j;
    for (int l = 0; l < W; ++l) acc[l] = q0[l];
    for (long r = 0; r < p->rs; ++r) {
      const float* q = x + p->red(r) + j;
      for (int l = 0; l < W; ++l) acc[l] = (q[l] != q[l] || q[l] > acc[l]) ? q[l] : acc[l];
    }
    for (int l = 0; l < W; ++l) out[j + l] = acc[l];
  }
  for (; j < n_out; ++j) {
    float acc = x[p->red(0) + j];
    for (long r = 0; r < p->rs; ++r) acc = max_step(acc, x[p->red(r) + j]);
    out[j] = acc;
  }
}

// Where outputs [s, e) (row-major over the kept dims) start their reduced elements in x.
std::vector<long> output_bases(const ReducePlan& p, long s, long e) {
  std::vector<long> base;
  base.reserve(e - s);
  for_range<1>(p.kept, s, e, [&](const long* o, long len) {
    for (long i = 0; i < len; ++i) base.push_back(o[0] + i * p.kept.st[0][p.kept.rank - 1]);
  });
  return base;
}

// Outputs [s, e) (row-major over the kept dims), each its own sequential chain; 8 chains interleaved.
template <class T, class Acc>
void reduce_rows(int op, const T* x, const ReducePlan& p, T* out, long s, long e) {
  constexpr int Q = 8;
  const std::vector<long> base = output_bases(p, s, e);
  const long n = e - s;
  long i = 0;
  for (; i + Q <= n; i += Q) {
    Acc acc[Q];
    const long* b = base.data() + i;
    if (op == MAX) {
      for (int q = 0; q < Q; ++q) acc[q] = (Acc)x[b[q] + p.red(0)];
      for (long r = 0; r < p.rs; ++r) {
        const long ro = p.red(r);
        for (int q = 0; q < Q; ++q) acc[q] = max_step<Acc>(acc[q], (Acc)x[b[q] + ro]);
      }
    } else {
      for (int q = 0; q < Q; ++q) acc[q] = 0;
      for (long r = 0; r < p.rs; ++r) {
        const long ro = p.red(r);
        for (int q = 0; q < Q; ++q) acc[q] += (Acc)x[b[q] + ro];
      }
    }
    for (int q = 0; q < Q; ++q) out[s + i + q] = (T)acc[q];
  }
  for (; i < n; ++i) {
    const long b = base[i];
    Acc acc;
    if (op == MAX) {
      acc = (Acc)x[b + p.red(0)];
      for (long r = 0; r < p.rs; ++r) acc = max_step<Acc>(acc, (Acc)x[b + p.red(r)]);
    } else {
      acc = 0;
      for (long r = 0; r < p.rs; ++r) acc += (Acc)x[b + p.red(r)];
    }
    out[s + i] = (T)acc;
  }
}

// ArgMax/ArgMin over one reduced dim (argminmax_impl.h): start at element 0, move to j when
// target < value (ArgMax) or target > value (ArgMin); so the first of equal values wins and a NaN
// never does unless it is element 0. 8 outputs interleaved; each keeps its own sequence.
template <class T>
void arg_rows(bool is_max, const T* x, const ReducePlan& p, int32_t* out, long s, long e) {
  constexpr int Q = 8;
  const std::vector<long> base = output_bases(p, s, e);
  const long n = e - s;
  long i = 0;
  for (; i + Q <= n; i += Q) {
    T tv[Q];
    int32_t ti[Q];
    const long* b = base.data() + i;
    for (int q = 0; q < Q; ++q) {
      tv[q] = x[b[q]];
      ti[q] = 0;
    }
    for (long r = 1; r < p.rs; ++r) {
      const long ro = p.red(r);
      for (int q = 0; q < Q; ++q) {
        const T v = x[b[q] + ro];
        const bool take = is_max ? tv[q] < v : tv[q] > v;
        tv[q] = take ? v : tv[q];
        ti[q] = take ? (int32_t)r : ti[q];
      }
    }
    for (int q = 0; q < Q; ++q) out[s + i + q] = ti[q];
  }
  for (; i < n; ++i) {
    T tv = x[base[i]];
    int32_t ti = 0;
    for (long r = 1; r < p.rs; ++r) {
      const T v = x[base[i] + p.red(r)];
      if (is_max ? tv < v : tv > v) {
        tv = v;
        ti = (int32_t)r;
      }
    }
    out[s + i] = ti;
  }
}

// ---- N-API glue ----


struct Args {
  uint8_t* heap = nullptr;
  size_t heap_len = 0;
  const double* p = nullptr;
  size_t np = 0;
};

bool get_args(napi_env env, napi_callback_info info, Args* a, const char* name) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 2) {
    napi_throw_type_error(env, nullptr, "lora-study-native ops: expected (heap: Uint8Array, params: Float64Array)");
    return false;
  }
  if (!lora_napi::typed_array(env, argv[0], napi_uint8_array, &a->heap, &a->heap_len)) {
    napi_throw_type_error(env, nullptr, "lora-study-native ops: heap must be a Uint8Array");
    return false;
  }
  if (!lora_napi::typed_array(env, argv[1], napi_float64_array, &a->p, &a->np)) {
    napi_throw_type_error(env, nullptr, "lora-study-native ops: params must be a Float64Array");
    return false;
  }
  (void)name;
  return true;
}

napi_value throw_range(napi_env env, const char* what) {
  napi_throw_range_error(env, nullptr, what);
  return nullptr;
}

// Bytes an operand spans: 1 + sum((n-1)*stride) elements.
double span_bytes(int rank, const long* shape, const long* strides, int es) {
  double s = 1;
  for (int i = 0; i < rank; ++i) s += (double)(shape[i] - 1) * (double)strides[i];
  return s * es;
}

bool inside(const Args& a, double off, double bytes) { return off >= 0 && off + bytes <= (double)a.heap_len; }

int elem_size(int dtype) { return dtype == BOOL ? 1 : 4; }

// binary(heap, [op, dtype, outOff, aOff, bOff, rank, shape[rank], aStrides[rank], bStrides[rank]])
napi_value Binary(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, "binary")) return nullptr;
  if (a.np < 6) return throw_range(env, "lora-study-native ops: binary params too short");
  const int op = (int)a.p[0], dtype = (int)a.p[1], rank = (int)a.p[5];
  if (rank < 0 || rank > MAXR || a.np < 6 + 3 * (size_t)rank || op < ADD || op > DIV || dtype < F32 || dtype > BOOL ||
      (dtype != F32 && op == DIV))
    return throw_range(env, "lora-study-native ops: bad binary params");
  long shape[MAXR], sa[MAXR], sb[MAXR], so[MAXR];
  long total = 1;
  for (int i = 0; i < rank; ++i) {
    shape[i] = (long)a.p[6 + i];
    sa[i] = (long)a.p[6 + rank + i];
    sb[i] = (long)a.p[6 + 2 * rank + i];
    total *= shape[i];
  }
  for (int i = rank - 1, s = 1; i >= 0; --i) {
    so[i] = s;
    s *= shape[i];
  }
  const int es = elem_size(dtype);
  if (!inside(a, a.p[2], (double)total * es) || !inside(a, a.p[3], span_bytes(rank, shape, sa, es)) ||
      !inside(a, a.p[4], span_bytes(rank, shape, sb, es)))
    return throw_range(env, "lora-study-native ops: binary operands fall outside the heap");
  if (total == 0) return nullptr;
  const long* strides[3] = {sa, sb, so};
  const Dims<3> d = collapse<3>(rank, shape, strides);
  const int parts = chunks_for(total);
  parallel_for(parts, [&](int i) {
    long s, e;
    chunk_range(total, parts, i, &s, &e);
    binary_run(op, dtype, a.heap, a.p[2], a.p[3], a.p[4], d, s, e);
  });
  return nullptr;
}

// unary(heap, [op (0 neg, 1 square), dtype, outOff, xOff, n]); int32 only for square.
napi_value Unary(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, "unary")) return nullptr;
  if (a.np < 5) return throw_range(env, "lora-study-native ops: unary params too short");
  const int op = (int)a.p[0], dtype = (int)a.p[1];
  const long n = (long)a.p[4];
  if ((op != 0 && op != 1) || !(dtype == F32 || (dtype == I32 && op == 1)) || n < 0)
    return throw_range(env, "lora-study-native ops: bad unary params");
  if (!inside(a, a.p[2], 4.0 * n) || !inside(a, a.p[3], 4.0 * n))
    return throw_range(env, "lora-study-native ops: unary operands fall outside the heap");
  const int parts = chunks_for(n);
  parallel_for(parts, [&](int i) {
    long s, e;
    chunk_range(n, parts, i, &s, &e);
    if (dtype == F32) {
      const float* x = reinterpret_cast<const float*>(a.heap + (long)a.p[3]) + s;
      float* o = reinterpret_cast<float*>(a.heap + (long)a.p[2]) + s;
      if (op == 0) f32_neg(x, o, e - s);
      else f32_square(x, o, e - s);
    } else {
      const uint32_t* x = reinterpret_cast<const uint32_t*>(a.heap + (long)a.p[3]) + s;
      uint32_t* o = reinterpret_cast<uint32_t*>(a.heap + (long)a.p[2]) + s;
      for (long j = 0; j < e - s; ++j) o[j] = x[j] * x[j];
    }
  });
  return nullptr;
}

// reduce(heap, [op, dtype, outOff, xOff, nk, keptShape[nk], keptStrides[nk], nr, redShape[nr], redStrides[nr]])
// Output o (row-major over the kept dims) accumulates the reduced elements in row-major order of
// the reduced dims as listed (the stock kernel's order after its transpose).
napi_value Reduce(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, "reduce")) return nullptr;
  if (a.np < 5) return throw_range(env, "lora-study-native ops: reduce params too short");
  const int op = (int)a.p[0], dtype = (int)a.p[1], nk = (int)a.p[4];
  if (nk < 0 || nk > MAXR || a.np < 6 + 2 * (size_t)nk) return throw_range(env, "lora-study-native ops: bad reduce params");
  const int nr = (int)a.p[5 + 2 * nk];
  if (nr < 0 || nr > MAXR || a.np < 6 + 2 * (size_t)nk + 2 * (size_t)nr || op < SUM || op > ARGMIN ||
      !(dtype == F32 || (dtype == I32 && op != MEAN) || (dtype == BOOL && op >= ARGMAX)) || (op >= ARGMAX && nr != 1))
    return throw_range(env, "lora-study-native ops: bad reduce params");
  long ks[MAXR], kst[MAXR], rsh[MAXR], rst[MAXR];
  ReducePlan plan;
  for (int i = 0; i < nk; ++i) {
    ks[i] = (long)a.p[5 + i];
    kst[i] = (long)a.p[5 + nk + i];
    plan.out_size *= ks[i];
  }
  for (int i = 0; i < nr; ++i) {
    rsh[i] = (long)a.p[6 + 2 * nk + i];
    rst[i] = (long)a.p[6 + 2 * nk + nr + i];
    plan.rs *= rsh[i];
  }
  double in_span = 1;
  for (int i = 0; i < nk; ++i) in_span += (double)(ks[i] - 1) * kst[i];
  for (int i = 0; i < nr; ++i) in_span += (double)(rsh[i] - 1) * rst[i];
  if (!inside(a, a.p[2], 4.0 * plan.out_size) || !inside(a, a.p[3], (double)elem_size(dtype) * in_span))
    return throw_range(env, "lora-study-native ops: reduce operands fall outside the heap");
  if (plan.out_size == 0) return nullptr;
  if (plan.rs == 0) return throw_range(env, "lora-study-native ops: reduce over an empty axis");
  {
    const long* s1[1] = {kst};
    plan.kept = collapse<1>(nk, ks, s1);
  }
  const long* s2[1] = {rst};
  const Dims<1> red = collapse<1>(nr, rsh, s2);
  if (red.rank == 1) {
    plan.rstride = red.n[0] == 1 ? 0 : red.st[0][0];
  } else {
    plan.table = true;
    plan.roff.reserve(plan.rs);
    for_range<1>(red, 0, plan.rs, [&](const long* o, long len) {
      for (long i = 0; i < len; ++i) plan.roff.push_back(o[0] + i * red.st[0][red.rank - 1]);
    });
  }
  const Dims<1>& K = plan.kept;
  const long inner = K.n[K.rank - 1];
  if (op >= ARGMAX) {
    // out is int32; x is float32, int32 or bool.
    const int parts = (int)std::min<long>(plan.out_size * plan.rs >= PAR_MIN_REDUCE ? g_threads : 1, plan.out_size);
    int32_t* out = reinterpret_cast<int32_t*>(a.heap + (long)a.p[2]);
    const uint8_t* xb = a.heap + (long)a.p[3];
    parallel_for(parts, [&](int i) {
      const long s = plan.out_size * i / parts, e = plan.out_size * (i + 1) / parts;
      if (dtype == F32) arg_rows<float>(op == ARGMAX, reinterpret_cast<const float*>(xb), plan, out, s, e);
      else if (dtype == I32) arg_rows<int32_t>(op == ARGMAX, reinterpret_cast<const int32_t*>(xb), plan, out, s, e);
      else arg_rows<uint8_t>(op == ARGMAX, xb, plan, out, s, e);
    });
    return nullptr;
  }
  const bool columns = dtype == F32 && K.st[0][K.rank - 1] == 1 && inner >= 8 && plan.out_size > 1;
  const long work = plan.out_size * plan.rs;
  const uint8_t* xb = a.heap + (long)a.p[3];
  uint8_t* ob = a.heap + (long)a.p[2];
  if (columns) {
    // Rows of `inner` contiguous outputs; split rows (or, for one row, the columns) over threads.
    const long rows = plan.out_size / inner;
    const long units = rows > 1 ? rows : (inner + W - 1) / W;
    const int parts = (int)std::min<long>(work >= PAR_MIN_REDUCE ? g_threads : 1, units);
    const float* x = reinterpret_cast<const float*>(xb);
    float* out = reinterpret_cast<float*>(ob);
    parallel_for(parts, [&](int i) {
      const long us = units * i / parts, ue = units * (i + 1) / parts;
      if (rows > 1) {
        // Walk rows explicitly: row r's first output is r*inner, its input base comes from the kept dims.
        for (long r = us; r < ue; ++r) {
          long base = 0;
          for_range<1>(K, r * inner, r * inner + 1, [&](const long* o, long) { base = o[0]; });
          if (op == MAX) f32_colmax(x + base, &plan, out + r * inner, inner);
          else f32_colsum(x + base, &plan, out + r * inner, inner);
        }
      } else {
        const long js = std::min(inner, us * W), je = std::min(inner, ue * W);
        if (op == MAX) f32_colmax(x + js, &plan, out + js, je - js);
        else f32_colsum(x + js, &plan, out + js, je - js);
      }
    });
    if (op == MEAN) {
      const float n = (float)(uint32_t)plan.rs;
      for (long i = 0; i < plan.out_size; ++i) out[i] = out[i] / n;
    }
    return nullptr;
  }
  const int parts = (int)std::min<long>(work >= PAR_MIN_REDUCE ? g_threads : 1, plan.out_size);
  parallel_for(parts, [&](int i) {
    const long s = plan.out_size * i / parts, e = plan.out_size * (i + 1) / parts;
    if (dtype == F32) {
      float* out = reinterpret_cast<float*>(ob);
      reduce_rows<float, float>(op, reinterpret_cast<const float*>(xb), plan, out, s, e);
      if (op == MEAN) {
        const float n = (float)(uint32_t)plan.rs;
        for (long j = s; j < e; ++j) out[j] = out[j] / n;
      }
    } else if (op == MAX) {
      reduce_rows<int32_t, int32_t>(op, reinterpret_cast<const int32_t*>(xb), plan, reinterpret_cast<int32_t*>(ob), s, e);
    } else {
      reduce_rows<uint32_t, uint32_t>(op, reinterpret_cast<const uint32_t*>(xb), plan, reinterpret_cast<uint32_t*>(ob), s, e);
    }
  });
  return nullptr;
}

template <class T>
void copy_elems(const uint8_t* src, long ss, uint8_t* dst, long ds, long n) {
  const T* s = reinterpret_cast<const T*>(src);
  T* d = reinterpret_cast<T*>(dst);
  for (long i = 0; i < n; ++i) d[i * ds] = s[i * ss];
}

// copy(heap, [count, then per copy: elemSize, rank, srcOff, dstOff, shape[rank], srcStrides[rank], dstStrides[rank]])
napi_value Copy(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, "copy")) return nullptr;
  if (a.np < 1) return throw_range(env, "lora-study-native ops: copy params too short");
  const int count = (int)a.p[0];
  struct One {
    int es;
    long src, dst, total;
    Dims<2> d;
  };
  std::vector<One> copies;
  copies.reserve(count);
  size_t at = 1;
  long total = 0;
  for (int c = 0; c < count; ++c) {
    if (a.np < at + 4) return throw_range(env, "lora-study-native ops: copy params too short");
    const int es = (int)a.p[at], rank = (int)a.p[at + 1];
    if (!(es == 1 || es == 2 || es == 4 || es == 8) || rank < 0 || rank > MAXR || a.np < at + 4 + 3 * (size_t)rank)
      return throw_range(env, "lora-study-native ops: bad copy params");
    long shape[MAXR], ss[MAXR], ds[MAXR];
    long n = 1;
    for (int i = 0; i < rank; ++i) {
      shape[i] = (long)a.p[at + 4 + i];
      ss[i] = (long)a.p[at + 4 + rank + i];
      ds[i] = (long)a.p[at + 4 + 2 * rank + i];
      n *= shape[i];
    }
    if (n > 0 && (!inside(a, a.p[at + 2], span_bytes(rank, shape, ss, es)) || !inside(a, a.p[at + 3], span_bytes(rank, shape, ds, es))))
      return throw_range(env, "lora-study-native ops: copy operands fall outside the heap");
    const long* strides[2] = {ss, ds};
    if (n > 0) copies.push_back({es, (long)a.p[at + 2], (long)a.p[at + 3], n, collapse<2>(rank, shape, strides)});
    total += n;
    at += 4 + 3 * (size_t)rank;
  }
  auto run = [&](const One& c, long s, long e) {
    const uint8_t* src = a.heap + c.src;
    uint8_t* dst = a.heap + c.dst;
    const int R = c.d.rank;
    const long ss = c.d.st[0][R - 1], ds = c.d.st[1][R - 1];
    const int es = c.es;
    for_range<2>(c.d, s, e, [&](const long* o, long len) {
      const uint8_t* sp = src + o[0] * es;
      uint8_t* dp = dst + o[1] * es;
      if (ss == 1 && ds == 1) std::memcpy(dp, sp, (size_t)len * es);
      else if (es == 4) copy_elems<uint32_t>(sp, ss, dp, ds, len);
      else if (es == 1) copy_elems<uint8_t>(sp, ss, dp, ds, len);
      else if (es == 2) copy_elems<uint16_t>(sp, ss, dp, ds, len);
      else copy_elems<uint64_t>(sp, ss, dp, ds, len);
    });
  };
  const int parts = chunks_for(total);
  parallel_for(parts, [&](int i) {
    for (const One& c : copies) {
      long s, e;
      chunk_range(c.total, parts, i, &s, &e);
      run(c, s, e);
    }
  });
  return nullptr;
}

// fill(heap, [elemSize (1 or 4), dstOff, n, value]): value is the element's bit pattern (uint32 or byte).
napi_value Fill(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, "fill")) return nullptr;
  if (a.np < 4) return throw_range(env, "lora-study-native ops: fill params too short");
  const int es = (int)a.p[0];
  const long n = (long)a.p[2];
  if (!(es == 1 || es == 4) || n < 0) return throw_range(env, "lora-study-native ops: bad fill params");
  if (!inside(a, a.p[1], (double)n * es)) return throw_range(env, "lora-study-native ops: fill falls outside the heap");
  uint8_t* dst = a.heap + (long)a.p[1];
  const uint32_t v = (uint32_t)a.p[3];
  const int parts = chunks_for(n);
  parallel_for(parts, [&](int i) {
    long s, e;
    chunk_range(n, parts, i, &s, &e);
    if (es == 1) {
      std::memset(dst + s, (int)(v & 0xff), (size_t)(e - s));
    } else {
      uint32_t* d = reinterpret_cast<uint32_t*>(dst);
      for (long j = s; j < e; ++j) d[j] = v;
    }
  });
  return nullptr;
}

// gather(heap, [elemSize, xOff, indicesOff, outOff, outer, dimSize, sliceSize, nIndices])
// out[o][i][:] = x[o][indices[i]][:]. Returns -1, or the position of the first index outside
// [0, dimSize) (then nothing is written).
napi_value Gather(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, &a, "gather")) return nullptr;
  if (a.np < 8) return throw_range(env, "lora-study-native ops: gather params too short");
  const int es = (int)a.p[0];
  const long outer = (long)a.p[4], dim = (long)a.p[5], slice = (long)a.p[6], ni = (long)a.p[7];
  if (!(es == 1 || es == 4) || outer < 0 || dim < 0 || slice < 0 || ni < 0)
    return throw_range(env, "lora-study-native ops: bad gather params");
  if (!inside(a, a.p[1], (double)outer * dim * slice * es) || !inside(a, a.p[2], 4.0 * ni) ||
      !inside(a, a.p[3], (double)outer * ni * slice * es))
    return throw_range(env, "lora-study-native ops: gather operands fall outside the heap");
  const int32_t* idx = reinterpret_cast<const int32_t*>(a.heap + (long)a.p[2]);
  double bad = -1;
  for (long i = 0; i < ni; ++i) {
    if (idx[i] < 0 || idx[i] >= dim) {
      bad = (double)i;
      break;
    }
  }
  if (bad < 0) {
    const uint8_t* x = a.heap + (long)a.p[1];
    uint8_t* out = a.heap + (long)a.p[3];
    const long rows = outer * ni;
    const size_t row_bytes = (size_t)slice * es;
    const int parts = (int)std::min<long>(chunks_for(rows * slice), std::max<long>(rows, 1));
    parallel_for(parts, [&](int t) {
      const long s = rows * t / parts, e = rows * (t + 1) / parts;
      for (long r = s; r < e; ++r) {
        const long o = r / ni, i = r % ni;
        std::memcpy(out + r * row_bytes, x + ((o * dim + idx[i]) * slice) * es, row_bytes);
      }
    });
  }
  napi_value ret;
  NAPI_CALL(env, napi_create_double(env, bad, &ret));
  return ret;
}

napi_value SetThreads(napi_env env, napi_callback_info info) { return lora_napi::set_threads(env, info, &g_threads); }

napi_value Init(napi_env env, napi_value exports) {
  g_threads = lora_napi::hardware_threads();
  // The calling convention of these functions (src/engine/native-ops.ts checks it): 2 = with
  // fill() and reduce() ops 3/4 (ArgMax/ArgMin); 3 = with fused() and its op set of fused.cc (a
  // build from before it lacks ops the layers call: it is refused, not half used); 4 = with fused.cc's
  // loss and AdamW ops; 5 = with the loss's forward row skip (loss_fwd_rows, loss_pick's row map); 6 = with
  // fused.cc's LayerNorm and gelu_new ops.
  napi_value api;
  NAPI_CALL(env, napi_create_int32(env, 6, &api));
  NAPI_CALL(env, napi_set_named_property(env, exports, "api", api));
  return lora_napi::export_functions(env, exports, {{"binary", Binary}, {"unary", Unary}, {"reduce", Reduce}, {"copy", Copy},
                                                    {"gather", Gather}, {"fill", Fill}, {"setThreads", SetThreads},
                                                    {"fused", lora_fused::Fused}});
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
