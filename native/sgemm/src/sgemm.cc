// Packed-panel SGEMM for lora-study's wasm backend: C[b] = op(A[b]) · op(B[b]) (+ bias, clamp),
// working in place on the wasm module's memory (a Float32Array over its heap) so nothing is copied.
//
// Results are bit-identical to the stock tfjs wasm kernels (tfjs-backend-wasm 4.22,
// src/cc/batch_mat_mul_impl.cc), which compute one of two per-element orders:
//   CHAIN   (XNNPACK fully-connected: both batch sizes 1, no transposes at the kernel): the
//           accumulator starts at the bias (or +0), adds a(i,k)*b(k,j) for k = 0..K-1 in order,
//           multiply and add each rounded (wasm SIMD has no FMA); then XNNPACK's clamp.
//   BLOCKED (slow_batch_matmul, every other case): for each block of 48 k's in order a sum from +0
//           over that block, then out = out + sum.
// Vectorising across output columns and splitting the work over rows, columns, batches or threads
// never changes those per-element sequences, so neither does the ISA or the thread count. The
// build uses -ffp-contract=off so the compiler cannot fuse a multiply and an add into an FMA.
//
// One binary serves every x86-64 CPU: the micro-kernels (sgemm-kernel.inc) are compiled per
// instruction set in a target region (GCC or clang) and chosen at load time with __builtin_cpu_supports
// (AVX-512F, AVX2, else the portable baseline build). Each instruction set has a few tile shapes;
// a product takes the one that wastes least on padding for its M and N (so the 8-wide LoRA
// factors and 16-wide attention heads do not run in a 64-wide tile), and small products read A in
// place instead of packing it first.
#include <node_api.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <thread>

#define NAPI_ERROR_PREFIX "lora-study-native: "
#include "napi_common.h"
#include "thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SGEMM_X86 1
#endif

namespace {

constexpr int KBLOCK = 48;  // slow_batch_matmul's k block (BLOCKED order)
constexpr int KC = 240;     // depth of one packed panel: a multiple of KBLOCK so panels start on block edges
constexpr int MC = 96;      // rows of A packed at once (multiple of every tile's MR)
constexpr int NC = 512;     // columns of B packed at once (multiple of every tile's NR)
constexpr int MAX_MR = 12;  // of every tile below
constexpr int MAX_NR = 64;
static_assert(KC % KBLOCK == 0, "panels must start on k-block edges");

enum Order { CHAIN = 0, BLOCKED = 1 };

struct Problem {
  const float* A; long ars, acs;  // A(i,k) = A[i*ars + k*acs]
  const float* B; long brs, bcs;  // B(k,j) = B[k*brs + j*bcs]
  float* C; long ldc;
  int M, N, K;
  int order;
  const float* init;  // CHAIN: the accumulators' start per column (the bias, length N), or null for +0
  // A packed once for the whole product (pack_a of all rows, panel pc at a_packed + pc*a_pad), or
  // null: gemm_serial packs each MC×KC block itself.
  const float* a_packed = nullptr;
  long a_pad = 0;
};

typedef void (*MicroKernel)(int kc, const float* A, long ars, long acs, const float* Bp, long bks, float* C, long ldc, int mr,
                            int nr, int order, bool first, const float* init);

// One micro-kernel: an mr×nr tile of C per call, and its throughput on full tiles relative to the
// family's others (measured on Zen 4, one thread: scripts/bench-native-matmul.ts --tiles), which
// picks the tile whose padding costs least for a product's M and N.
struct Tile {
  const char* name;
  int mr, nr;
  MicroKernel uk;
  double speed;
};

constexpr int MAX_TILES = 4;

// The micro-kernels of one instruction set.
struct Kernel {
  const char* name;
  int ntiles;
  Tile tiles[MAX_TILES];
};

// Compiles a region for one instruction set: GCC's target pragma, or clang's attribute push
// (clang ignores `#pragma GCC target`).
#define SGEMM_PRAGMA(x) _Pragma(#x)
#if defined(__clang__)
#define SGEMM_TARGET_BEGIN(isa) SGEMM_PRAGMA(clang attribute push(__attribute__((target(isa))), apply_to = function))
#define SGEMM_TARGET_END SGEMM_PRAGMA(clang attribute pop)
#else
#define SGEMM_TARGET_BEGIN(isa) SGEMM_PRAGMA(GCC push_options) SGEMM_PRAGMA(GCC target(isa))
#define SGEMM_TARGET_END SGEMM_PRAGMA(GCC pop_options)
#endif

// Fully unrolls a loop over a tile's rows or vectors, so its accumulators live in registers (GCC
// otherwise kept the 8×8 tile's accumulators on the stack, storing them at every k).
#if defined(__clang__)
#define UK_UNROLL _Pragma("unroll")
#else
#define UK_UNROLL _Pragma("GCC unroll 32")
#endif

typedef float v4f __attribute__((vector_size(16)));
inline v4f splat16(const float* p) { return v4f{*p, *p, *p, *p}; }

// ---- portable: 16-byte vectors (SSE2 on x86-64, NEON on arm64, scalar elsewhere): 4×16, 8×8 ----
#define UK_VBYTES 16
#define UK_SPLAT(p) splat16(p)
#define UK_NAME uk_portable
#define UK_MR 4
#define UK_NV 4
#include "sgemm-kernel.inc"
#define UK_NAME uk_portable_8x8
#define UK_MR 8
#define UK_NV 2
#include "sgemm-kernel.inc"
#undef UK_VBYTES
#undef UK_SPLAT

#ifdef SGEMM_X86
// ---- AVX2: 6×16 (12 ymm accumulators), 8×8 for products 8 columns wide ----
SGEMM_TARGET_BEGIN("avx2")
#define UK_VBYTES 32
#define UK_SPLAT(p) _mm256_broadcast_ss(p)
#define UK_NAME uk_avx2
#define UK_MR 6
#define UK_NV 2
#include "sgemm-kernel.inc"
#define UK_NAME uk_avx2_8x8
#define UK_MR 8
#define UK_NV 1
#include "sgemm-kernel.inc"
#undef UK_VBYTES
#undef UK_SPLAT
SGEMM_TARGET_END

// ---- AVX-512F: 12×16, 8×16 and 6×64 in zmm; 8×8 in ymm ----
// Without FMA every product is a multiply and an add; on Zen 4 (one thread, products of 240–480
// rows, N 64–128, K 64–768, A read in place) the tiles ran: 12×16 98–109 GFLOP/s, 8×16 91–100,
// 6×64 79–90 (its B panel, 64 wide × 240 deep, outgrows L1), 8×8 66–78, 8×32 and 12×32 69–76.
SGEMM_TARGET_BEGIN("avx512f")
#define UK_VBYTES 64
#define UK_SPLAT(p) _mm512_set1_ps(*(p))
#define UK_NAME uk_avx512_12x16
#define UK_MR 12
#define UK_NV 1
#include "sgemm-kernel.inc"
#define UK_NAME uk_avx512_8x16
#define UK_MR 8
#define UK_NV 1
#include "sgemm-kernel.inc"
#define UK_NAME uk_avx512_6x64
#define UK_MR 6
#define UK_NV 4
#include "sgemm-kernel.inc"
#undef UK_VBYTES
#undef UK_SPLAT
#define UK_VBYTES 32
#define UK_SPLAT(p) _mm256_broadcast_ss(p)
#define UK_NAME uk_avx512_8x8
#define UK_MR 8
#define UK_NV 1
#include "sgemm-kernel.inc"
#undef UK_VBYTES
#undef UK_SPLAT
SGEMM_TARGET_END
#endif

const Kernel KERNELS[] = {
    {"portable", 2, {{"4x16", 4, 16, uk_portable, 1.0}, {"8x8", 8, 8, uk_portable_8x8, 1.0}}},
#ifdef SGEMM_X86
    {"avx2", 2, {{"6x16", 6, 16, uk_avx2, 1.0}, {"8x8", 8, 8, uk_avx2_8x8, 0.77}}},
    {"avx512", 4, {{"12x16", 12, 16, uk_avx512_12x16, 1.0}, {"8x16", 8, 16, uk_avx512_8x16, 0.93}, {"6x64", 6, 64, uk_avx512_6x64, 0.85}, {"8x8", 8, 8, uk_avx512_8x8, 0.7}}},
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
  if (__builtin_cpu_supports("avx2")) return kernel_by_name("avx2");
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
      int c0 = 0;
#ifdef SGEMM_X86
      // A transposed B (its k's adjacent, brs == 1): 4×4 blocks moved by SSE loads, a transpose in
      // registers and stores (scalar, the pack cost transposed products 5–10% against row-major B
      // on tiny llama's shapes: 256×64·128×64ᵀ 47 µs, 256×128·128×64 42). Only copies floats.
      if (p.brs == 1) {
        for (; c0 + 4 <= cols; c0 += 4) {
          const float* src = p.B + (long)(j0 + s * NR + c0) * p.bcs + p0;
          int k = 0;
          for (; k + 4 <= kc; k += 4) {
            __m128 r0 = _mm_loadu_ps(src + k), r1 = _mm_loadu_ps(src + p.bcs + k);
            __m128 r2 = _mm_loadu_ps(src + 2 * p.bcs + k), r3 = _mm_loadu_ps(src + 3 * p.bcs + k);
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            _mm_storeu_ps(dst + k * NR + c0, r0);
            _mm_storeu_ps(dst + (k + 1) * NR + c0, r1);
            _mm_storeu_ps(dst + (k + 2) * NR + c0, r2);
            _mm_storeu_ps(dst + (k + 3) * NR + c0, r3);
          }
          for (; k < kc; ++k)
            for (int c = 0; c < 4; ++c) dst[k * NR + c0 + c] = src[c * p.bcs + k];
        }
      }
#endif
      for (int c = c0; c < cols; ++c) {
        const float* src = p.B + (long)(j0 + s * NR + c) * p.bcs + (long)p0 * p.brs;
        for (int k = 0; k < kc; ++k) dst[k * NR + c] = src[k * p.brs];
      }
      for (int k = 0; k < kc; ++k)
        for (int c = cols; c < NR; ++c) dst[k * NR + c] = 0.f;
    }
  }
}

constexpr long B_FLOATS = (long)(NC + MAX_NR) * KC;

struct Buffers {
  float* a = nullptr;
  float* b = nullptr;
  Buffers() {
    a = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * (MC + MAX_MR) * KC));
    b = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * B_FLOATS));
  }
  ~Buffers() {
    std::free(a);
    std::free(b);
  }
};

// This thread's packing buffers (each pool thread packs into its own).
Buffers& thread_buffers() {
  static thread_local Buffers buf;
  return buf;
}

// How a product runs: the tile, and whether the micro-kernel reads A in place (no packing).
struct Plan {
  Tile tile;
  bool direct_a;
  bool direct_b;  // a row-major B is read in place wherever a panel splits into full tiles (else packed)
};

// One k panel of B for the micro-kernels: column tile t (NR wide) at base + t*tile_stride, its row
// k at + k*ks. Packed (pack_b): tile_stride = kc*NR, ks = NR. A row-major B read in place, when
// the panel holds only full tiles: base = &B(pc, jc), tile_stride = NR, ks = its row stride.
struct BPanel {
  const float* base;
  long tile_stride, ks;
};

// B(pc.., jc..) read in place when B is row-major and [jc, jc + nc) splits into full tiles.
bool b_in_place(const Problem& p, int nc, int NR) { return p.bcs == 1 && nc % NR == 0; }

BPanel panel_of(const Problem& p, int pc, int kc, int jc, int nc, int NR, float* Bp) {
  if (b_in_place(p, nc, NR)) return {p.B + (long)pc * p.brs + jc, NR, p.brs};
  pack_b(p, pc, kc, jc, nc, NR, Bp);
  return {Bp, (long)kc * NR, NR};
}

// Asks for the lines of C's tile at row i0 (rows < i1, nr columns from c) to be fetched for
// writing while the tile before it is computed. A product with few k's writes its output faster
// than the hardware fetches lines it has not touched lately: tiny llama's tied head 256×64·512×64ᵀ,
// whose 512 KiB output lands in memory the step has not used since, ran 85 GFLOP/s per CPU second
// into a warm output and 53–60 into a cold one.
inline void prefetch_c_tile(const float* c, long ldc, int rows, int nr) {
  for (int r = 0; r < rows; ++r) {
    const float* row = c + r * ldc;
    for (int j = 0; j < nr; j += 16) __builtin_prefetch(row + j, 1, 3);
    __builtin_prefetch(row + nr - 1, 1, 3);
  }
}

// Rows [r0, r1) of C (r0 a multiple of the tile's MR) over one panel of B (k in [pc, pc + kc),
// columns [jc, jc + nc)), A read in place; a partial last row tile of a transposed A is packed
// into Ap (zero rows past M).
void rows_in_place(const Problem& p, const Tile& t, int r0, int r1, int pc, int kc, int jc, int nc, const BPanel& b, float* Ap) {
  const int MR = t.mr, NR = t.nr;
  for (int jr = 0; jr < nc; jr += NR) {
    const float* bp = b.base + (long)(jr / NR) * b.tile_stride;
    const float* init = p.init ? p.init + jc + jr : nullptr;
    const int nr = std::min(NR, nc - jr);
    for (int ir = r0; ir < r1; ir += MR) {
      const int mr = std::min(MR, r1 - ir);
      float* c = p.C + (long)ir * p.ldc + jc + jr;
      if (ir + MR < r1) prefetch_c_tile(c + (long)MR * p.ldc, p.ldc, std::min(MR, r1 - ir - MR), nr);
      // A partial row tile is packed when the kernel would read A by columns (ars == 1: a
      // transposed A, or K == 1), past its last row; by rows it reads only rows < mr.
      if (mr == MR || p.ars != 1) {
        t.uk(kc, p.A + (long)ir * p.ars + (long)pc * p.acs, p.ars, p.acs, bp, b.ks, c, p.ldc, mr, nr, p.order, pc == 0, init);
      } else {
        pack_a(p, ir, mr, pc, kc, MR, Ap);
        t.uk(kc, Ap, 1, MR, bp, b.ks, c, p.ldc, mr, nr, p.order, pc == 0, init);
      }
    }
  }
}

// Kept out of line: inlined into its one caller (the pool task) GCC made it ~3% slower (gpt2 c_attn, one thread).
__attribute__((noinline)) void gemm_serial(const Problem& p, const Plan& plan, Buffers& buf) {
  if (p.M <= 0 || p.N <= 0) return;
  if (p.K <= 0) {
    for (int i = 0; i < p.M; ++i) {
      float* c = p.C + i * p.ldc;
      if (p.init) std::copy(p.init, p.init + p.N, c);
      else std::fill(c, c + p.N, 0.f);
    }
    return;
  }
  const Tile& t = plan.tile;
  const int MR = t.mr, NR = t.nr;
  for (int jc = 0; jc < p.N; jc += NC) {
    const int nc = std::min(NC, p.N - jc);
    for (int pc = 0; pc < p.K; pc += KC) {
      const int kc = std::min(KC, p.K - pc);
      if (plan.direct_a) {
        rows_in_place(p, t, 0, p.M, pc, kc, jc, nc, panel_of(p, pc, kc, jc, nc, NR, buf.b), buf.a);
        continue;
      }
      const BPanel b = plan.direct_b ? panel_of(p, pc, kc, jc, nc, NR, buf.b) : BPanel{buf.b, (long)kc * NR, NR};
      if (!plan.direct_b) pack_b(p, pc, kc, jc, nc, NR, buf.b);
      // A packed for the whole product: all its row tiles in one pass over each column tile of B.
      const int mc_step = p.a_packed ? p.M : MC;
      for (int ic = 0; ic < p.M; ic += mc_step) {
        const int mc = std::min(mc_step, p.M - ic);
        const float* ap = p.a_packed ? p.a_packed + (long)pc * p.a_pad + (long)(ic / MR) * kc * MR : buf.a;
        if (!p.a_packed) pack_a(p, ic, mc, pc, kc, MR, buf.a);
        for (int jr = 0; jr < nc; jr += NR) {
          const float* bp = b.base + (long)(jr / NR) * b.tile_stride;
          const float* init = p.init ? p.init + jc + jr : nullptr;
          for (int ir = 0; ir < mc; ir += MR) {
            if (ir + MR < mc)
              prefetch_c_tile(p.C + (long)(ic + ir + MR) * p.ldc + jc + jr, p.ldc, std::min(MR, mc - ir - MR), std::min(NR, nc - jr));
            t.uk(kc, ap + (long)(ir / MR) * kc * MR, 1, MR, bp, b.ks, p.C + (long)(ic + ir) * p.ldc + jc + jr, p.ldc,
                 std::min(MR, mc - ir), std::min(NR, nc - jr), p.order, pc == 0, init);
          }
        }
      }
    }
  }
}

// ---- Cᵀ = op(B)ᵀ · op(A)ᵀ: products of few rows against a transposed B (x·Wᵀ) ----
// Packing a transposed B (W's rows scattered into k-major panels) cost GPT-2's forward products
// (M = 128 tokens, W 768×768 up to the tied head's 50257×768) a quarter of their time, and each
// packed element then served only M / MR row tiles. Computed transposed instead, W's rows are the
// micro-kernel's A, read in place by rows (broadcasts; packed per MR×KC panel only where its rows
// crowd L1), and the few rows of A, transposed, are its packed B, packed once per product and
// shared by the threads. The micro-kernel's lanes then run along C's columns of Cᵀ, so each
// task accumulates Cᵀ for MR of W's rows and all M tokens in a scratch tile and writes it into C
// transposed at the end. Every element's sequence is unchanged: the scratch starts at the chain's
// start (the bias, or +0: a BLOCKED first block stored as is equals +0 + its sum), each
// multiply is the same product (multiplication commutes exactly), k in order.

// A product in the transposed form: A' = op(B)ᵀ (N×K), B' = op(A)ᵀ (K×M), C' = Cᵀ.
struct Transposed {
  const float* W; long wrs;   // A'(j, k) = W[j*wrs + k] (op(B) = Bᵀ: W's rows are contiguous in k)
  float* xt;                  // B' packed: panel q (k from q*KC) at xt + q*KC*m_pad, token tile s at + s*kc*NR
  long m_pad;                 // M rounded up to the tile's NR
  float* C; long ldc;
  int M, N, K, order;
  const float* init;          // CHAIN: per column of C (row of Cᵀ), or null
  bool pack_w;                // W's rows crowd L1: pack each MR×KC panel first
};

// Panel pc of B' = op(A)ᵀ packed into xt (m_pad × K, zero past M): what the micro-kernel reads as B.
void pack_transposed_a(const Problem& p, int pc, int NR, long m_pad, float* xt) {
  Problem q;
  q.B = p.A;
  q.brs = p.acs;  // B'(k, i) = A(i, k)
  q.bcs = p.ars;
  pack_b(q, pc, std::min(KC, p.K - pc), 0, p.M, NR, xt + (long)pc * m_pad);
}

// Columns [j0, j1) of C (j0 a multiple of the tile's MR), all rows, through the scratch `ct`
// (MR × m_pad floats).
void transposed_columns(const Transposed& t, const Tile& tile, int j0, int j1, float* ct, float* ap) {
  const int MR = tile.mr, NR = tile.nr;
  Problem w;  // A' for pack_a
  w.A = t.W; w.ars = t.wrs; w.acs = 1;
  for (int jt = j0; jt < j1; jt += MR) {
    const int mr = std::min(MR, j1 - jt);
    for (int r = 0; r < mr; ++r) {
      const float v = t.init ? t.init[jt + r] : 0.f;
      std::fill(ct + (long)r * t.m_pad, ct + (long)r * t.m_pad + t.M, v);
    }
    for (int pc = 0; pc < t.K; pc += KC) {
      const int kc = std::min(KC, t.K - pc);
      const float* a = t.W + (long)jt * t.wrs + pc;
      long ars = t.wrs, acs = 1;
      if (t.pack_w) {
        pack_a(w, jt, mr, pc, kc, MR, ap);
        a = ap; ars = 1; acs = MR;
      }
      const float* xt = t.xt + (long)pc * t.m_pad;
      for (int i0 = 0; i0 < t.M; i0 += NR)
        tile.uk(kc, a, ars, acs, xt + (long)(i0 / NR) * kc * NR, NR, ct + i0, t.m_pad, mr, std::min(NR, t.M - i0), t.order, false, nullptr);
    }
    for (int i = 0; i < t.M; ++i) {
      float* c = t.C + (long)i * t.ldc + jt;
      for (int r = 0; r < mr; ++r) c[r] = ct[(long)r * t.m_pad + i];
    }
  }
}

enum Activation { LINEAR = 0, RELU = 1, RELU6 = 2 };

// After the product, on rows [r0, r1) of C (N columns), exactly as the stock kernels finish:
//   CHAIN: the bias is already in (it started the chain); XNNPACK's clamp for relu/relu6,
//          x = lo < x ? x : lo, then x = x < hi ? x : hi (wasm f32x4.pmax/pmin: -0 and NaN become lo).
//   BLOCKED: out = out + bias[j] (bias[0] for a length-1 bias), then std::min(x, hi), std::max(x, lo)
//          (-0 and NaN pass). slow_batch_matmul adds its +0 "no bias" to every block sum, which
//          changes no value a sum from +0 can reach, so it is left out.
void epilogue(float* C, int N, long r0, long r1, int order, const float* bias, int bias_len, int act) {
  const float lo = 0.f, hi = act == RELU6 ? 6.f : INFINITY;
  for (long r = r0; r < r1; ++r) {
    float* c = C + r * N;
    if (order == BLOCKED) {
      if (bias) {
        if (bias_len == 1) {
          for (int j = 0; j < N; ++j) c[j] = c[j] + bias[0];
        } else {
          for (int j = 0; j < N; ++j) c[j] = c[j] + bias[j];
        }
      }
      if (act != LINEAR) {
        for (int j = 0; j < N; ++j) {
          const float x = hi < c[j] ? hi : c[j];
          c[j] = x < lo ? lo : x;
        }
      }
    } else if (act != LINEAR) {
      for (int j = 0; j < N; ++j) {
        const float x = lo < c[j] ? c[j] : lo;
        c[j] = x < hi ? x : hi;
      }
    }
  }
}

int g_threads = 1;

// Products below this many flops run on the calling thread alone. ~3 MFLOP is about 30 µs on one
// Zen 4 core; waking a pooled worker takes 3–25 µs on this project's 2-vCPU VM, so below it a
// second thread does not pay (addon called directly, one and two threads interleaved, in seconds
// the machine was otherwise idle: 256×64·64×64 25 µs vs 25–30, b8 128×16·16×64 26 vs 27–29,
// 256×128·128×64 50 vs 45, 256×512·512×64 191 vs 131; scripts/bench-native-matmul.ts --threads-ab).
double g_min_parallel_flops = 3.0e6;

// Above that size, whether a second thread pays is measured as products run: on a shared machine
// a pooled worker may wait milliseconds for a core, and the caller then waits for the task it
// claimed (tiny llama at load average 3 on 2 vCPUs: 3.13 ms a step inside BatchMatMul on two
// threads, 2.15 on one; on a quiet machine two threads save 10–30% on these products). Per size
// class (a power of two of flops) the calling thread keeps a moving average of the time per flop
// it got on one thread and on all of them (time, not speed: a call held up by a descheduled worker
// must weigh by how long it took), uses the faster, and every 16th product of the class tries the
// other, so a change of load is followed within a few dozen products. From 64× the minimum
// (~190 MFLOP, ~2 ms on one core) products always split: a worker held up for a time slice costs
// them little, and trying one thread on them would cost a quiet machine (GPT-2's products) more
// than it could save. Results do not depend on any of this: the thread count changes no element's
// arithmetic.
bool g_adaptive_threads = true;
constexpr int SPLIT_CLASSES = 6;

struct SplitStats {
  double cost[2] = {0, 0};  // seconds per flop: [0] one thread, [1] all of g_threads
  int samples[2] = {0, 0};
  unsigned calls = 0;
};

struct ThreadChoice {
  int threads;
  int size_class;  // -1: not measured (below the minimum, one thread configured, or a fixed policy)
  int split;       // 1: all threads
};

ThreadChoice choose_threads(double flops, SplitStats* stats) {
  if (flops < g_min_parallel_flops || g_threads <= 1) return {1, -1, 0};
  if (!g_adaptive_threads) return {g_threads, -1, 1};
  const double ratio = flops / std::max(g_min_parallel_flops, 1.0e5);
  if (ratio >= (double)(1 << SPLIT_CLASSES)) return {g_threads, -1, 1};
  const int size_class = std::min(SPLIT_CLASSES - 1, std::max(0, (int)std::log2(ratio)));
  SplitStats& s = stats[size_class];
  int split;
  if (s.samples[1] < 2) split = 1;
  else if (s.samples[0] < 2) split = 0;
  else {
    const int best = s.cost[1] <= s.cost[0] ? 1 : 0;
    split = ++s.calls % 16 == 0 ? 1 - best : best;
  }
  return {split ? g_threads : 1, size_class, split};
}

void record_split(const ThreadChoice& c, SplitStats* stats, double flops, double seconds) {
  if (c.size_class < 0 || seconds <= 0) return;
  SplitStats& s = stats[c.size_class];
  const double cost = seconds / flops;
  s.cost[c.split] = s.samples[c.split] == 0 ? cost : 0.75 * s.cost[c.split] + 0.25 * cost;
  if (s.samples[c.split] < 1000) s.samples[c.split]++;
}

// Tests and benchmarks force a tile (index into the kernel's tiles; -1: the cheapest) and A in
// place or packed (-1: by the rule in choose_plan).
int g_force_tile = -1;
int g_force_direct = -1;

// Whether MR rows of a row-major A, `row_floats` apart, read in place by the micro-kernel (MR
// streams, one line each at a time) crowd into few sets of Zen 4's 32 KiB 8-way L1 (64 sets of
// 64-byte lines) and evict each other: more than `per_set` rows in one set. A stride of a multiple
// of 4 KiB (K = 1024, 3072) puts every row in one set: GPT-2's MLP dX 128×3072·3072×768 ran 61
// GFLOP/s per CPU second with A in place against 81 packed (12 rows; 8 rows: 65), and its forward
// 128×3072·768×3072ᵀ, computed transposed (W's rows in place), 63 on 12 rows against 89 on 8.
bool rows_crowd_l1(long row_floats, int mr, int per_set) {
  int count[64] = {0};
  for (int i = 0; i < mr; ++i)
    if (++count[(int)(((long)i * row_floats * 4 / 64) % 64)] > per_set) return true;
  return false;
}

// The tile that wastes least on padding, by each tile's relative speed; A read in place unless
// the product is wide: packing pays for itself only when each packed row panel serves many column
// tiles (Zen 4, one thread: in place ran 256×64·64×64 23 µs against 27 packed, b8 128×16·16×64
// 25 against 43; packed ran 256×512·512×64ᵀ 184 µs against 194). A row-major B is read in place
// (not packed) when M is at most 256: then each panel serves few row tiles and packing it cost
// GPT-2's M = 128 products 15–25% (the backward dX products, 128×768·768×768 to the tied head's
// 128×50257·50257×768, ran 68–77 GFLOP/s per CPU second with B packed, 81–86 in place); such
// products also read A in place, unless its rows crowd L1 (rows_crowd_l1): 82–99 against 81–86.
// `a_row_floats`: A's row stride when it is read by rows (0: a transposed A, read by columns).
Plan choose_plan(const Kernel& k, int M, int N, bool b_row_major, long a_row_floats) {
  Plan plan{k.tiles[0], false, false};
  if (g_force_tile >= 0 && g_force_tile < k.ntiles) {
    plan.tile = k.tiles[g_force_tile];
  } else {
    double best = 0;
    for (int i = 0; i < k.ntiles; ++i) {
      const Tile& t = k.tiles[i];
      const double padded = (double)((M + t.mr - 1) / t.mr * t.mr) * ((N + t.nr - 1) / t.nr * t.nr);
      const double cost = padded / t.speed;
      if (i == 0 || cost < best) {
        best = cost;
        plan.tile = t;
      }
    }
  }
  plan.direct_b = b_row_major && M <= 256;
  const bool wide_in_place = plan.direct_b && (a_row_floats == 0 || !rows_crowd_l1(a_row_floats, plan.tile.mr, 4));
  plan.direct_a = g_force_direct >= 0 ? g_force_direct == 1 : N <= 8 * plan.tile.nr || wide_in_place;
  return plan;
}

// ---------------- N-API glue ----------------


bool get_f32(napi_env env, napi_value v, float** data, size_t* len) {
  return lora_napi::typed_array(env, v, napi_float32_array, data, len);
}

bool get_u32(napi_env env, napi_value v, uint32_t** data, size_t* len) {
  return lora_napi::typed_array(env, v, napi_uint32_array, data, len);
}

double get_num(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return d;
}

bool get_u32_or_null(napi_env env, napi_value v, uint32_t** data, size_t* len) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  if (t == napi_null || t == napi_undefined) {
    *data = nullptr;
    *len = 0;
    return true;
  }
  return get_u32(env, v, data, len);
}

constexpr int MATMUL_ARGS = 18;

// matmul(heap: Float32Array, aOffset, bOffset, cOffset, batch, aStep, bStep, aIndex, bIndex, M, N, K,
//        transposeA, transposeB, order (0 CHAIN, 1 BLOCKED), biasOffset (-1: none), biasLength,
//        activation (0 linear, 1 relu, 2 relu6))
// Offsets are float indices into heap. Output batch b reads matrix aIndex[b] of A (when aIndex is
// a Uint32Array) else b*aStep (aStep 0: A has one matrix; 1: one per batch), and likewise for B,
// so any broadcasting of batch dims is resolved by the caller; C is batch×M×N, contiguous.
napi_value Matmul(napi_env env, napi_callback_info info) {
  size_t argc = MATMUL_ARGS;
  napi_value argv[MATMUL_ARGS];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < (size_t)MATMUL_ARGS) {
    napi_throw_type_error(env, nullptr, "lora-study-native: matmul expects 18 arguments");
    return nullptr;
  }
  float* heap = nullptr;
  size_t heap_len = 0;
  uint32_t *aidx = nullptr, *bidx = nullptr;
  size_t na = 0, nb = 0;
  if (!get_f32(env, argv[0], &heap, &heap_len) || !get_u32_or_null(env, argv[7], &aidx, &na) ||
      !get_u32_or_null(env, argv[8], &bidx, &nb)) {
    napi_throw_type_error(env, nullptr, "lora-study-native: matmul(heap: Float32Array, ..., aIndex, bIndex: Uint32Array | null, ...)");
    return nullptr;
  }
  const double a_off = get_num(env, argv[1]), b_off = get_num(env, argv[2]), c_off = get_num(env, argv[3]);
  const long batch = (long)get_num(env, argv[4]);
  const long a_step = (long)get_num(env, argv[5]), b_step = (long)get_num(env, argv[6]);
  const int M = (int)get_num(env, argv[9]), N = (int)get_num(env, argv[10]), K = (int)get_num(env, argv[11]);
  bool ta = false, tb = false;
  napi_get_value_bool(env, argv[12], &ta);
  napi_get_value_bool(env, argv[13], &tb);
  const int order = (int)get_num(env, argv[14]);
  const double bias_off = get_num(env, argv[15]);
  const int bias_len = (int)get_num(env, argv[16]);
  const int act = (int)get_num(env, argv[17]);

  // Bounds: every operand must lie inside the heap.
  const double hl = (double)heap_len;
  const double a_size = (double)M * K, b_size = (double)K * N;
  bool ok = M >= 0 && N >= 0 && K >= 0 && batch >= 0 && a_off >= 0 && b_off >= 0 && c_off >= 0 &&
            c_off + (double)batch * M * N <= hl && (order == CHAIN || order == BLOCKED) && act >= LINEAR && act <= RELU6 &&
            (!aidx || (long)na >= batch) && (!bidx || (long)nb >= batch) && a_step >= 0 && b_step >= 0;
  auto a_index = [&](long b) { return aidx ? (double)aidx[b] : (double)(b * a_step); };
  auto b_index = [&](long b) { return bidx ? (double)bidx[b] : (double)(b * b_step); };
  for (long b = 0; ok && b < batch; ++b) {
    ok = a_off + (a_index(b) + 1) * a_size <= hl && b_off + (b_index(b) + 1) * b_size <= hl;
  }
  if (ok && bias_off >= 0) ok = bias_len >= 1 && bias_off + bias_len <= hl && (bias_len == 1 || bias_len == N);
  if (!ok) {
    napi_throw_range_error(env, nullptr, "lora-study-native: matmul arguments out of range (operands outside the heap, or a bad order/activation)");
    return nullptr;
  }
  if (batch == 0 || M == 0 || N == 0) return nullptr;

  float* C = heap + (long)c_off;
  const float* bias = bias_off >= 0 ? heap + (long)bias_off : nullptr;
  // CHAIN starts every accumulator at the bias (XNNPACK packs it in front of the weights).
  std::vector<float> expanded;
  const float* init = nullptr;
  if (order == CHAIN && bias) {
    if (bias_len == 1) {
      expanded.assign(N, bias[0]);
      init = expanded.data();
    } else {
      init = bias;
    }
  }
  const double flops = 2.0 * batch * M * N * (double)K;
  static thread_local SplitStats split_stats[SPLIT_CLASSES];
  const ThreadChoice choice = choose_threads(flops, split_stats);
  const int threads = choice.threads;
  const auto started = std::chrono::steady_clock::now();
  const auto finished = [&] {
    record_split(choice, split_stats, flops, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  };
  // Two tasks a thread (when the batch does not give enough), so a late or slow thread holds up less.
  const int parts = batch >= threads ? 1 : 2 * threads;
  const bool split_n = N >= M;
  const Plan plan = choose_plan(*g_kernel, M, N, !tb, ta ? 0 : K);
  const auto make_problem = [&](long b) {
    Problem p;
    p.A = heap + (long)a_off + (long)a_index(b) * (long)M * K;
    p.B = heap + (long)b_off + (long)b_index(b) * (long)K * N;
    p.C = C + b * (long)M * N;
    p.ldc = N;
    p.M = M; p.N = N; p.K = K;
    p.order = order;
    p.init = init;
    if (ta) { p.ars = 1; p.acs = M; } else { p.ars = K; p.acs = 1; }
    if (tb) { p.brs = 1; p.bcs = K; } else { p.brs = N; p.bcs = 1; }
    return p;
  };
  // One product of at most 256 rows against a wide transposed B (GPT-2's x·Wᵀ): computed as Cᵀ
  // (see Transposed); the caller packs op(A)ᵀ, tasks of a few of W's rows at a time share it.
  // The kernel's fastest tile, or (where its rows of W would crowd L1) the first whose rows fit
  // the 8 ways of one set, else W is packed per panel.
  Tile ttile = g_kernel->tiles[0];
  bool pack_w = rows_crowd_l1(K, ttile.mr, 8);
  if (g_force_tile >= 0 && g_force_tile < g_kernel->ntiles) {
    ttile = g_kernel->tiles[g_force_tile];
    pack_w = rows_crowd_l1(K, ttile.mr, 8);
  } else {
    for (int i = 1; pack_w && i < g_kernel->ntiles; ++i)
      if (g_kernel->tiles[i].nr == ttile.nr && !rows_crowd_l1(K, g_kernel->tiles[i].mr, 8)) {
        ttile = g_kernel->tiles[i];
        pack_w = false;
      }
  }
  const long m_pad = (M + ttile.nr - 1) / ttile.nr * ttile.nr;
  if (batch == 1 && tb && K >= 256 && M <= 256 && N > 8 * ttile.nr && m_pad * K <= (4L << 20) && g_force_direct != 0) {
    const Problem p = make_problem(0);
    static thread_local std::vector<float> xt_buf;
    if ((long)xt_buf.size() < m_pad * K) xt_buf.resize(m_pad * K);
    Transposed t{p.B, K, xt_buf.data(), m_pad, C, N, M, N, K, order, init, pack_w};
    const int per_task = std::max(ttile.mr, (N / (8 * threads) + ttile.mr - 1) / ttile.mr * ttile.mr);
    const int ntasks = (N + per_task - 1) / per_task;
    // The first tasks pack B' one k panel each (packing K = 3072 alone kept the caller ~0.3 ms
    // while the worker waited); tasks are claimed in order, so every packing task is taken before
    // the first column task, which waits for them to finish.
    const int npack = (K + KC - 1) / KC;
    std::atomic<int> packed{0};
    lora_ops::run_parallel(npack + ntasks, threads, [&](int i) {
      if (i < npack) {
        pack_transposed_a(p, i * KC, ttile.nr, m_pad, t.xt);  // not xt_buf: a worker's is its own
        packed.fetch_add(1, std::memory_order_release);
        return;
      }
      for (int spin = 0; packed.load(std::memory_order_acquire) < npack; ++spin)
        if (spin > 64) std::this_thread::yield();
      static thread_local std::vector<float> ct;
      if ((long)ct.size() < MAX_MR * t.m_pad) ct.resize(MAX_MR * t.m_pad);
      const int j = i - npack;
      transposed_columns(t, ttile, j * per_task, std::min(t.N, (j + 1) * per_task), ct.data(), thread_buffers().a);
    }, lora_ops::Wait::Spin);
    finished();
    if ((order == BLOCKED && bias) || act != LINEAR) epilogue(C, N, 0, M, order, bias, bias_len, act);
    return nullptr;
  }
  // A single product whose packed B fits one buffer, A read in place: B is packed once, by the
  // caller, and the threads share it, taking a few row tiles at a time (so a worker that wakes
  // late costs nothing but its wake-up, and none packs B again).
  const Tile& tile = plan.tile;
  static thread_local std::vector<BPanel> shared_panels;
  const long n_padded = (N + tile.nr - 1) / tile.nr * tile.nr;
  const int panels = (K + KC - 1) / KC;
  if (threads > 1 && batch == 1 && plan.direct_a && K > 0 && N <= NC && n_padded * panels * KC <= B_FLOATS) {
    const Problem p = make_problem(0);
    float* packed = thread_buffers().b;
    const long panel_floats = n_padded * KC;
    std::vector<BPanel>& b = shared_panels;
    b.clear();
    for (int q = 0; q < panels; ++q)
      b.push_back(panel_of(p, q * KC, std::min(KC, K - q * KC), 0, N, tile.nr, packed + q * panel_floats));
    const int row_tiles = (M + tile.mr - 1) / tile.mr;
    const int per_task = std::max(1, row_tiles / (4 * threads));
    const int ntasks = (row_tiles + per_task - 1) / per_task;
    lora_ops::run_parallel(ntasks, threads, [&](int i) {
      const int r0 = i * per_task * tile.mr, r1 = std::min(M, r0 + per_task * tile.mr);
      float* ap = thread_buffers().a;
      for (int q = 0; q < panels; ++q) rows_in_place(p, tile, r0, r1, q * KC, std::min(KC, K - q * KC), 0, N, b[q], ap);
    }, lora_ops::Wait::Spin);
    finished();
    if ((order == BLOCKED && bias) || act != LINEAR) epilogue(C, N, 0, M, order, bias, bias_len, act);
    return nullptr;
  }
  const int unit = split_n ? plan.tile.nr : plan.tile.mr;
  const int dim = split_n ? N : M;
  const int chunk = std::max(1, ((dim + parts - 1) / parts + unit - 1) / unit * unit);
  static thread_local std::vector<Problem> tasks;
  tasks.clear();
  // One product of at most 256 rows whose A is packed (its rows crowd L1) while B is read in
  // place, split by columns: A is packed once, here, not once per task and 512-column block (GPT-2's
  // MLP dX 128×3072·3072×768 packed its A 4 times on two threads).
  static thread_local std::vector<float> a_shared;
  const long a_pad = (M + tile.mr - 1) / tile.mr * tile.mr;
  const bool share_a = batch == 1 && split_n && plan.direct_b && !plan.direct_a && K > 0 && M <= 256 && a_pad * K <= (4L << 20);
  if (share_a) {
    if ((long)a_shared.size() < a_pad * K) a_shared.resize(a_pad * K);
    const Problem p = make_problem(0);
    for (int pc = 0; pc < K; pc += KC) pack_a(p, 0, M, pc, std::min(KC, K - pc), tile.mr, a_shared.data() + (long)pc * a_pad);
  }
  for (long b = 0; b < batch; ++b) {
    Problem p = make_problem(b);
    if (share_a) {
      p.a_packed = a_shared.data();
      p.a_pad = a_pad;
    }
    for (int s = 0; s < dim; s += chunk) {
      Problem q = p;
      const int len = std::min(chunk, dim - s);
      if (split_n) {
        q.B = p.B + (long)s * p.bcs;
        q.C = p.C + s;
        q.N = len;
        if (q.init) q.init = p.init + s;
      } else {
        q.A = p.A + (long)s * p.ars;
        q.C = p.C + (long)s * p.ldc;
        q.M = len;
      }
      tasks.push_back(q);
    }
  }
  // Threads claim tasks one at a time from the shared pool; each packs into its own buffers. (A
  // batch fits the heap, so the task count fits an int.)
  // `tasks` is this thread's (thread_local), so the workers get it through a reference.
  const std::vector<Problem>& todo = tasks;
  lora_ops::run_parallel((int)todo.size(), threads, [&todo, &plan](int i) { gemm_serial(todo[i], plan, thread_buffers()); },
                         lora_ops::Wait::Spin);
  finished();
  if ((order == BLOCKED && bias) || act != LINEAR) epilogue(C, N, 0, batch * M, order, bias, bias_len, act);
  return nullptr;
}

// setThreads(n): compute threads for later calls; returns the value in effect.
napi_value SetThreads(napi_env env, napi_callback_info info) { return lora_napi::set_threads(env, info, &g_threads); }

// setMinParallelFlops(flops): products below it run on one thread (benchmarks set 0 to compare);
// returns the value in effect.
napi_value SetMinParallelFlops(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc >= 1) {
    double f = g_min_parallel_flops;
    if (napi_get_value_double(env, argv[0], &f) == napi_ok && f >= 0) g_min_parallel_flops = f;
  }
  napi_value out;
  NAPI_CALL(env, napi_create_double(env, g_min_parallel_flops, &out));
  return out;
}

// setThreadPolicy(policy): "adaptive" (default: above the minimum, one thread or all by measured
// speed) or "fixed" (always all threads above it; tests and --threads-ab). Returns the policy in effect.
napi_value SetThreadPolicy(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  char name[16] = {0};
  size_t len = 0;
  if (argc >= 1 && napi_get_value_string_utf8(env, argv[0], name, sizeof(name), &len) == napi_ok) {
    const std::string policy(name);
    if (policy == "adaptive" || policy == "fixed") g_adaptive_threads = policy == "adaptive";
    else {
      napi_throw_type_error(env, nullptr, "lora-study-native: setThreadPolicy('adaptive' | 'fixed')");
      return nullptr;
    }
  }
  napi_value out;
  NAPI_CALL(env, napi_create_string_utf8(env, g_adaptive_threads ? "adaptive" : "fixed", NAPI_AUTO_LENGTH, &out));
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
  if (k && std::string(k->name) == "avx2") supported = __builtin_cpu_supports("avx2");
#endif
  if (supported && k != g_kernel) {
    g_kernel = k;
    g_force_tile = -1;
  }
  napi_value out;
  NAPI_CALL(env, napi_get_boolean(env, supported, &out));
  return out;
}

// setTile(tile, a): forces one tile of the current kernel ("auto": by padding, as products run)
// and A read in place or packed ("in-place", "packed", "auto"); tests use it to cover every path.
// Returns false (and changes nothing) for a tile the kernel lacks.
napi_value SetTile(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  char tile[16] = {0}, a[16] = {0};
  size_t len = 0;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], tile, sizeof(tile), &len) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], a, sizeof(a), &len) != napi_ok) {
    napi_throw_type_error(env, nullptr, "lora-study-native: setTile(tile: string, a: 'in-place' | 'packed' | 'auto')");
    return nullptr;
  }
  int index = std::string(tile) == "auto" ? -1 : -2;
  for (int i = 0; i < g_kernel->ntiles; ++i)
    if (std::string(tile) == g_kernel->tiles[i].name) index = i;
  const std::string mode(a);
  const int direct = mode == "in-place" ? 1 : mode == "packed" ? 0 : mode == "auto" ? -1 : -2;
  const bool ok = index >= -1 && direct >= -1;
  if (ok) {
    g_force_tile = index;
    g_force_direct = direct;
  }
  napi_value out;
  NAPI_CALL(env, napi_get_boolean(env, ok, &out));
  return out;
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, kernel, threads, hw;
  NAPI_CALL(env, napi_create_object(env, &obj));
  NAPI_CALL(env, napi_create_string_utf8(env, g_kernel->name, NAPI_AUTO_LENGTH, &kernel));
  NAPI_CALL(env, napi_create_int32(env, g_threads, &threads));
  NAPI_CALL(env, napi_create_int32(env, lora_napi::hardware_threads(), &hw));
  NAPI_CALL(env, napi_set_named_property(env, obj, "kernel", kernel));
  NAPI_CALL(env, napi_set_named_property(env, obj, "threads", threads));
  NAPI_CALL(env, napi_set_named_property(env, obj, "hardwareThreads", hw));
  napi_value tiles;
  NAPI_CALL(env, napi_create_array_with_length(env, g_kernel->ntiles, &tiles));
  for (int i = 0; i < g_kernel->ntiles; ++i) {
    napi_value name;
    NAPI_CALL(env, napi_create_string_utf8(env, g_kernel->tiles[i].name, NAPI_AUTO_LENGTH, &name));
    NAPI_CALL(env, napi_set_element(env, tiles, i, name));
  }
  NAPI_CALL(env, napi_set_named_property(env, obj, "tiles", tiles));
  // The matmul() calling convention (src/engine/native-addon.ts checks it): 2 = the 18-argument exact matmul.
  napi_value api;
  NAPI_CALL(env, napi_create_int32(env, 2, &api));
  NAPI_CALL(env, napi_set_named_property(env, obj, "api", api));
  return obj;
}

napi_value Init(napi_env env, napi_value exports) {
  g_kernel = detect_kernel();
  g_threads = lora_napi::hardware_threads();
  return lora_napi::export_functions(env, exports, {{"matmul", Matmul}, {"setThreads", SetThreads}, {"setKernel", SetKernel}, {"setTile", SetTile}, {"setMinParallelFlops", SetMinParallelFlops}, {"setThreadPolicy", SetThreadPolicy}, {"info", Info}});
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
