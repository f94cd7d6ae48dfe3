// Packed-panel SGEMM for lora-study's wasm backend: C[b] = op(A[b]) · op(B[b]) (+ bias, activation),
// working in place on the wasm module's memory (a Float32Array over its heap) so nothing is copied.
//
// One binary serves every x86-64 CPU: the micro-kernels are compiled per instruction set with
// __attribute__((target(...))) and chosen at load time with __builtin_cpu_supports (AVX-512F,
// AVX2+FMA, else a portable C++ kernel the compiler vectorises for the baseline ISA). Work is
// split over the machine's threads by output panels (columns of N, else rows of M, else batches).
//
// Summation order: each C element sums K in blocks of KC, in order, one FMA chain per block, so a
// result does not depend on the thread count or the split (deterministic run to run).
#include <node_api.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SGEMM_X86 1
#endif

namespace {

constexpr int KC = 256;   // depth of one packed panel
constexpr int MC = 96;    // rows of A packed at once (multiple of every MR)
constexpr int NC = 512;   // columns of B packed at once (multiple of every NR)
constexpr int MAX_MR = 8;
constexpr int MAX_NR = 32;

struct Problem {
  const float* A; long ars, acs;  // A(i,k) = A[i*ars + k*acs]
  const float* B; long brs, bcs;  // B(k,j) = B[k*brs + j*bcs]
  float* C; long ldc;
  int M, N, K;
};

typedef void (*MicroKernel)(int kc, const float* Ap, const float* Bp, float* C, long ldc, int mr, int nr, bool acc);

struct Kernel {
  const char* name;
  int mr, nr;
  MicroKernel uk;
};

// Writes a full MR×NR register tile (or its valid corner) to C.
inline void store_tile(const float* tile, int NR, float* C, long ldc, int mr, int nr, bool acc) {
  for (int i = 0; i < mr; ++i) {
    float* c = C + i * ldc;
    const float* t = tile + i * NR;
    if (acc) {
      for (int j = 0; j < nr; ++j) c[j] += t[j];
    } else {
      for (int j = 0; j < nr; ++j) c[j] = t[j];
    }
  }
}

// ---- portable: 4×16, plain C++ the compiler vectorises for the baseline ISA ----
void uk_portable(int kc, const float* Ap, const float* Bp, float* C, long ldc, int mr, int nr, bool acc) {
  constexpr int MR = 4, NR = 16;
  float c[MR * NR] = {0};
  for (int k = 0; k < kc; ++k) {
    for (int i = 0; i < MR; ++i) {
      const float a = Ap[i];
      for (int j = 0; j < NR; ++j) c[i * NR + j] += a * Bp[j];
    }
    Ap += MR;
    Bp += NR;
  }
  store_tile(c, NR, C, ldc, mr, nr, acc);
}

#ifdef SGEMM_X86
// ---- AVX2 + FMA: 6×16 (12 ymm accumulators) ----
__attribute__((target("avx2,fma"))) void uk_avx2(int kc, const float* Ap, const float* Bp, float* C, long ldc, int mr,
                                                  int nr, bool acc) {
  constexpr int MR = 6, NR = 16;
  __m256 c[MR][2];
  for (int i = 0; i < MR; ++i) c[i][0] = c[i][1] = _mm256_setzero_ps();
  for (int k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_loadu_ps(Bp), b1 = _mm256_loadu_ps(Bp + 8);
    for (int i = 0; i < MR; ++i) {
      const __m256 a = _mm256_broadcast_ss(Ap + i);
      c[i][0] = _mm256_fmadd_ps(a, b0, c[i][0]);
      c[i][1] = _mm256_fmadd_ps(a, b1, c[i][1]);
    }
    Ap += MR;
    Bp += NR;
  }
  if (mr == MR && nr == NR) {
    for (int i = 0; i < MR; ++i) {
      float* p = C + i * ldc;
      if (acc) {
        _mm256_storeu_ps(p, _mm256_add_ps(_mm256_loadu_ps(p), c[i][0]));
        _mm256_storeu_ps(p + 8, _mm256_add_ps(_mm256_loadu_ps(p + 8), c[i][1]));
      } else {
        _mm256_storeu_ps(p, c[i][0]);
        _mm256_storeu_ps(p + 8, c[i][1]);
      }
    }
    return;
  }
  alignas(32) float tile[MR * NR];
  for (int i = 0; i < MR; ++i) {
    _mm256_store_ps(tile + i * NR, c[i][0]);
    _mm256_store_ps(tile + i * NR + 8, c[i][1]);
  }
  store_tile(tile, NR, C, ldc, mr, nr, acc);
}

// ---- AVX-512F: 8×32 (16 zmm accumulators) ----
__attribute__((target("avx512f"))) void uk_avx512(int kc, const float* Ap, const float* Bp, float* C, long ldc, int mr,
                                                   int nr, bool acc) {
  constexpr int MR = 8, NR = 32;
  __m512 c[MR][2];
  for (int i = 0; i < MR; ++i) c[i][0] = c[i][1] = _mm512_setzero_ps();
  for (int k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_loadu_ps(Bp), b1 = _mm512_loadu_ps(Bp + 16);
    for (int i = 0; i < MR; ++i) {
      const __m512 a = _mm512_set1_ps(Ap[i]);
      c[i][0] = _mm512_fmadd_ps(a, b0, c[i][0]);
      c[i][1] = _mm512_fmadd_ps(a, b1, c[i][1]);
    }
    Ap += MR;
    Bp += NR;
  }
  if (mr == MR && nr == NR) {
    for (int i = 0; i < MR; ++i) {
      float* p = C + i * ldc;
      if (acc) {
        _mm512_storeu_ps(p, _mm512_add_ps(_mm512_loadu_ps(p), c[i][0]));
        _mm512_storeu_ps(p + 16, _mm512_add_ps(_mm512_loadu_ps(p + 16), c[i][1]));
      } else {
        _mm512_storeu_ps(p, c[i][0]);
        _mm512_storeu_ps(p + 16, c[i][1]);
      }
    }
    return;
  }
  alignas(64) float tile[MR * NR];
  for (int i = 0; i < MR; ++i) {
    _mm512_store_ps(tile + i * NR, c[i][0]);
    _mm512_store_ps(tile + i * NR + 16, c[i][1]);
  }
  store_tile(tile, NR, C, ldc, mr, nr, acc);
}
#endif

const Kernel KERNELS[] = {
    {"portable", 4, 16, uk_portable},
#ifdef SGEMM_X86
    {"avx2", 6, 16, uk_avx2},
    {"avx512", 8, 32, uk_avx512},
#endif
};

const Kernel* kernel_by_name(const std::string& name) {
  for (const Kernel& k : KERNELS)
    if (name == k.name) return &k;
  return nullptr;
}

const Kernel* detect_kernel() {
#ifdef SGEMM_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return kernel_by_name("avx512");
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return kernel_by_name("avx2");
#endif
  return kernel_by_name("portable");
}

const Kernel* g_kernel = nullptr;

// Ap[(s*kc + k)*MR + r] = A(i0 + s*MR + r, p0 + k), zero past row M.
void pack_a(const Problem& p, int i0, int mc, int p0, int kc, int MR, float* Ap) {
  for (int s = 0; s * MR < mc; ++s) {
    float* dst = Ap + (long)s * kc * MR;
    const int rows = std::min(MR, mc - s * MR);
    if (p.acs == 1) {
      for (int r = 0; r < rows; ++r) {
        const float* src = p.A + (long)(i0 + s * MR + r) * p.ars + p0;
        for (int k = 0; k < kc; ++k) dst[k * MR + r] = src[k];
      }
    } else {
      for (int k = 0; k < kc; ++k) {
        const float* src = p.A + (long)(p0 + k) * p.acs + (long)(i0 + s * MR) * p.ars;
        for (int r = 0; r < rows; ++r) dst[k * MR + r] = src[r * p.ars];
      }
    }
    for (int r = rows; r < MR; ++r)
      for (int k = 0; k < kc; ++k) dst[k * MR + r] = 0.f;
  }
}

// Bp[(s*kc + k)*NR + c] = B(p0 + k, j0 + s*NR + c), zero past column N.
void pack_b(const Problem& p, int p0, int kc, int j0, int nc, int NR, float* Bp) {
  for (int s = 0; s * NR < nc; ++s) {
    float* dst = Bp + (long)s * kc * NR;
    const int cols = std::min(NR, nc - s * NR);
    if (p.bcs == 1) {
      for (int k = 0; k < kc; ++k) {
        const float* src = p.B + (long)(p0 + k) * p.brs + j0 + s * NR;
        float* d = dst + k * NR;
        std::memcpy(d, src, sizeof(float) * cols);
        for (int c = cols; c < NR; ++c) d[c] = 0.f;
      }
    } else {
      for (int c = 0; c < cols; ++c) {
        const float* src = p.B + (long)(j0 + s * NR + c) * p.bcs + (long)p0 * p.brs;
        for (int k = 0; k < kc; ++k) dst[k * NR + c] = src[k * p.brs];
      }
      for (int k = 0; k < kc; ++k)
        for (int c = cols; c < NR; ++c) dst[k * NR + c] = 0.f;
    }
  }
}

struct Buffers {
  float* a = nullptr;
  float* b = nullptr;
  Buffers() {
    a = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * (MC + MAX_MR) * KC));
    b = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * (NC + MAX_NR) * KC));
  }
  ~Buffers() {
    std::free(a);
    std::free(b);
  }
};

void gemm_serial(const Problem& p, const Kernel& kern, Buffers& buf) {
  if (p.M <= 0 || p.N <= 0) return;
  if (p.K <= 0) {
    for (int i = 0; i < p.M; ++i) std::fill(p.C + i * p.ldc, p.C + i * p.ldc + p.N, 0.f);
    return;
  }
  const int MR = kern.mr, NR = kern.nr;
  for (int jc = 0; jc < p.N; jc += NC) {
    const int nc = std::min(NC, p.N - jc);
    for (int pc = 0; pc < p.K; pc += KC) {
      const int kc = std::min(KC, p.K - pc);
      pack_b(p, pc, kc, jc, nc, NR, buf.b);
      for (int ic = 0; ic < p.M; ic += MC) {
        const int mc = std::min(MC, p.M - ic);
        pack_a(p, ic, mc, pc, kc, MR, buf.a);
        for (int jr = 0; jr < nc; jr += NR) {
          const float* bp = buf.b + (long)(jr / NR) * kc * NR;
          for (int ir = 0; ir < mc; ir += MR) {
            kern.uk(kc, buf.a + (long)(ir / MR) * kc * MR, bp, p.C + (long)(ic + ir) * p.ldc + jc + jr, p.ldc,
                    std::min(MR, mc - ir), std::min(NR, nc - jr), pc > 0);
          }
        }
      }
    }
  }
}

enum Activation { LINEAR = 0, RELU = 1, RELU6 = 2, LEAKYRELU = 3, SIGMOID = 4, ELU = 5 };

// Bias (length 1 or N, broadcast along the last axis) then the activation, on rows [r0, r1).
void epilogue(float* C, int N, long r0, long r1, const float* bias, int bias_len, int act, float alpha) {
  for (long r = r0; r < r1; ++r) {
    float* c = C + r * N;
    if (bias) {
      if (bias_len == 1) {
        for (int j = 0; j < N; ++j) c[j] += bias[0];
      } else {
        for (int j = 0; j < N; ++j) c[j] += bias[j];
      }
    }
    switch (act) {
      case RELU: for (int j = 0; j < N; ++j) c[j] = c[j] < 0.f ? 0.f : c[j]; break;
      case RELU6: for (int j = 0; j < N; ++j) c[j] = std::min(std::max(c[j], 0.f), 6.f); break;
      case LEAKYRELU: for (int j = 0; j < N; ++j) c[j] = c[j] < 0.f ? alpha * c[j] : c[j]; break;
      case SIGMOID: for (int j = 0; j < N; ++j) c[j] = 1.f / (1.f + std::exp(-c[j])); break;
      case ELU: for (int j = 0; j < N; ++j) c[j] = c[j] > 0.f ? c[j] : std::expm1(c[j]); break;
      default: break;
    }
  }
}

struct Task {
  Problem p;
};

// A persistent pool: starting threads per call costs more than small matmuls take. Workers sleep
// on a condition variable between calls (no spinning, so they do not steal the wasm backend's cores).
class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

  // Runs tasks on `threads` threads (the caller's thread is one of them); returns when all are done.
  void run(const std::vector<Task>& tasks, int threads, const Kernel& kern) {
    const int helpers = std::min<int>(threads, (int)tasks.size()) - 1;
    if (helpers <= 0) {
      static thread_local Buffers buf;
      for (const Task& t : tasks) gemm_serial(t.p, kern, buf);
      return;
    }
    while ((int)workers_.size() < helpers) workers_.emplace_back([this, id = (int)workers_.size()] { loop(id); });
    std::unique_lock<std::mutex> lock(mu_);
    tasks_ = &tasks;
    kern_ = &kern;
    next_ = 0;
    active_ = helpers;
    pending_ = helpers;
    ++generation_;
    lock.unlock();
    wake_.notify_all();
    static thread_local Buffers buf;
    drain(buf);
    lock.lock();
    done_.wait(lock, [this] { return pending_ == 0; });
    tasks_ = nullptr;
  }

 private:
  void drain(Buffers& buf) {
    for (size_t t = next_++; t < tasks_->size(); t = next_++) gemm_serial((*tasks_)[t].p, *kern_, buf);
  }

  void loop(int id) {
    Buffers buf;
    uint64_t seen = 0;
    for (;;) {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stop_ || (generation_ != seen && id < active_); });
      if (stop_) return;
      seen = generation_;
      lock.unlock();
      drain(buf);
      lock.lock();
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::vector<Task>* tasks_ = nullptr;
  const Kernel* kern_ = nullptr;
  std::atomic<size_t> next_{0};
  int active_ = 0, pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

Pool* g_pool = nullptr;

void run_tasks(const std::vector<Task>& tasks, int threads, const Kernel& kern) {
  if (!g_pool) g_pool = new Pool();  // never freed: workers live as long as the process
  g_pool->run(tasks, threads, kern);
}

int g_threads = 1;

// ---------------- N-API glue ----------------

#define NAPI_CALL(env, call)                                                        \
  do {                                                                              \
    if ((call) != napi_ok) {                                                        \
      napi_throw_error((env), nullptr, "lora-study-native: N-API call failed: " #call); \
      return nullptr;                                                               \
    }                                                                               \
  } while (0)

bool get_f32(napi_env env, napi_value v, float** data, size_t* len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return false;
  napi_typedarray_type type;
  void* ptr = nullptr;
  napi_value ab;
  size_t off = 0;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, &ab, &off) != napi_ok || type != napi_float32_array) return false;
  *data = static_cast<float*>(ptr);
  return true;
}

bool get_u32(napi_env env, napi_value v, uint32_t** data, size_t* len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return false;
  napi_typedarray_type type;
  void* ptr = nullptr;
  napi_value ab;
  size_t off = 0;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, &ab, &off) != napi_ok || type != napi_uint32_array) return false;
  *data = static_cast<uint32_t*>(ptr);
  return true;
}

double get_num(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return d;
}

// matmul(heap: Float32Array, aOffsets: Uint32Array, bOffsets: Uint32Array, cOffset, M, N, K,
//        transposeA, transposeB, biasOffset (-1: none), biasLength, activation, alpha)
// Offsets are float indices into heap; aOffsets[b]/bOffsets[b] give batch b's operands (so any
// broadcasting of batch dims is resolved by the caller); C is batch×M×N, contiguous.
napi_value Matmul(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 13) {
    napi_throw_type_error(env, nullptr, "lora-study-native: matmul expects 13 arguments");
    return nullptr;
  }
  float* heap = nullptr;
  size_t heap_len = 0;
  uint32_t *aoffs = nullptr, *boffs = nullptr;
  size_t na = 0, nb = 0;
  if (!get_f32(env, argv[0], &heap, &heap_len) || !get_u32(env, argv[1], &aoffs, &na) ||
      !get_u32(env, argv[2], &boffs, &nb) || na != nb) {
    napi_throw_type_error(env, nullptr, "lora-study-native: matmul(heap: Float32Array, aOffsets, bOffsets: Uint32Array of equal length, ...)");
    return nullptr;
  }
  const double c_off = get_num(env, argv[3]);
  const int M = (int)get_num(env, argv[4]), N = (int)get_num(env, argv[5]), K = (int)get_num(env, argv[6]);
  bool ta = false, tb = false;
  napi_get_value_bool(env, argv[7], &ta);
  napi_get_value_bool(env, argv[8], &tb);
  const double bias_off = get_num(env, argv[9]);
  const int bias_len = (int)get_num(env, argv[10]);
  const int act = (int)get_num(env, argv[11]);
  const float alpha = (float)get_num(env, argv[12]);

  const long batch = (long)na;
  const double a_size = (double)M * K, b_size = (double)K * N;
  // Bounds: every operand must lie inside the heap.
  const double hl = (double)heap_len;
  bool ok = M >= 0 && N >= 0 && K >= 0 && c_off >= 0 && c_off + (double)batch * M * N <= hl;
  for (long b = 0; ok && b < batch; ++b) ok = aoffs[b] + a_size <= hl && boffs[b] + b_size <= hl;
  if (ok && bias_off >= 0) ok = bias_len >= 1 && bias_off + bias_len <= hl && (bias_len == 1 || bias_len == N);
  if (!ok) {
    napi_throw_range_error(env, nullptr, "lora-study-native: matmul operands fall outside the heap");
    return nullptr;
  }

  float* C = heap + (long)c_off;
  std::vector<Task> tasks;
  const double flops = 2.0 * batch * M * N * (double)K;
  // Below ~0.2 MFLOP waking a pooled thread costs more than it saves.
  const int threads = flops < 2.0e5 ? 1 : g_threads;
  const int parts = batch >= threads ? 1 : threads;
  const bool split_n = N >= M;
  const int unit = split_n ? g_kernel->nr : g_kernel->mr;
  const int dim = split_n ? N : M;
  const int chunk = ((dim + parts - 1) / parts + unit - 1) / unit * unit;
  for (long b = 0; b < batch; ++b) {
    Problem p;
    p.A = heap + aoffs[b];
    p.B = heap + boffs[b];
    p.C = C + b * (long)M * N;
    p.ldc = N;
    p.M = M; p.N = N; p.K = K;
    if (ta) { p.ars = 1; p.acs = M; } else { p.ars = K; p.acs = 1; }
    if (tb) { p.brs = 1; p.bcs = K; } else { p.brs = N; p.bcs = 1; }
    for (int s = 0; s < dim; s += std::max(chunk, 1)) {
      Problem q = p;
      const int len = std::min(chunk, dim - s);
      if (split_n) {
        q.B = p.B + (long)s * p.bcs;
        q.C = p.C + s;
        q.N = len;
      } else {
        q.A = p.A + (long)s * p.ars;
        q.C = p.C + (long)s * p.ldc;
        q.M = len;
      }
      tasks.push_back({q});
    }
  }
  run_tasks(tasks, threads, *g_kernel);
  if (bias_off >= 0 || act != LINEAR) {
    epilogue(C, N, 0, batch * M, bias_off >= 0 ? heap + (long)bias_off : nullptr, bias_len, act, alpha);
  }
  return nullptr;
}

// setThreads(n): compute threads for later calls; returns the value in effect.
napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc >= 1) {
    const int n = (int)get_num(env, argv[0]);
    g_threads = std::max(1, std::min(n, 256));
  }
  napi_value out;
  NAPI_CALL(env, napi_create_int32(env, g_threads, &out));
  return out;
}

// setKernel(name): forces one micro-kernel (tests); returns false when this CPU/build lacks it.
napi_value SetKernel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  char name[32] = {0};
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof(name), &len) != napi_ok) {
    napi_throw_type_error(env, nullptr, "lora-study-native: setKernel(name: string)");
    return nullptr;
  }
  const Kernel* k = std::string(name) == "auto" ? detect_kernel() : kernel_by_name(name);
  bool supported = k != nullptr;
#ifdef SGEMM_X86
  if (k && std::string(k->name) == "avx512") supported = __builtin_cpu_supports("avx512f");
  if (k && std::string(k->name) == "avx2") supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  if (supported) g_kernel = k;
  napi_value out;
  NAPI_CALL(env, napi_get_boolean(env, supported, &out));
  return out;
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, kernel, threads, hw;
  NAPI_CALL(env, napi_create_object(env, &obj));
  NAPI_CALL(env, napi_create_string_utf8(env, g_kernel->name, NAPI_AUTO_LENGTH, &kernel));
  NAPI_CALL(env, napi_create_int32(env, g_threads, &threads));
  NAPI_CALL(env, napi_create_int32(env, (int)std::max(1u, std::thread::hardware_concurrency()), &hw));
  NAPI_CALL(env, napi_set_named_property(env, obj, "kernel", kernel));
  NAPI_CALL(env, napi_set_named_property(env, obj, "threads", threads));
  NAPI_CALL(env, napi_set_named_property(env, obj, "hardwareThreads", hw));
  return obj;
}

napi_value Init(napi_env env, napi_value exports) {
  g_kernel = detect_kernel();
  g_threads = (int)std::max(1u, std::thread::hardware_concurrency());
  napi_property_descriptor props[] = {
      {"matmul", nullptr, Matmul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setKernel", nullptr, SetKernel, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
