// The wasm backend's Exp (and Log) kernels run natively, in place on the wasm module's heap, with
// the stock kernels' bits. The stock kernels call the expf/logf that Emscripten compiles into
// tfjs-backend-wasm; glibc's x86-64 libm has the same algorithms, built twice: with FMA (what
// expf() resolves to on a CPU that has FMA: other roundings) and without (`__expf_sse2`,
// `__logf_sse2`: one IEEE operation at a time, as in wasm, which has no FMA). The non-FMA variants
// are not exported by libm.so, so this addon links them from the static archive (libm.a, found by
// libm-probe.cjs at configure time; LORA_LIBM_SSE2 is defined only when that worked). We call the
// C library, we do not copy it.
//
// Linking: -Wl,--exclude-libs,ALL keeps every archive symbol local, so nothing here overrides the
// process's own libm. The archive's expf/logf objects also hold glibc's ifunc resolver, which reads
// the dynamic loader's private `_dl_x86_cpu_features`: a hidden dummy satisfies the link. Nothing
// calls those resolvers (no expf/logf reference, so no IRELATIVE relocation: the probe checks).
//
// A separate addon from ops.node on purpose: the archive's objects reference glibc-private
// symbols (errno@GLIBC_PRIVATE), so a C library upgraded after the build could refuse to load this
// one; that must not take the matmul or the other native kernels with it. Whether the results
// really match the stock kernels is checked at start-up (src/engine/native-libm.ts) and over all
// 2^32 inputs by scripts/check-native-libm.ts.
#include <node_api.h>

#include <algorithm>
#include <cstdint>
#include <functional>

#define NAPI_ERROR_PREFIX "lora-study-native libm: "
#include "napi_common.h"
#include "thread_pool.h"

#ifdef LORA_LIBM_SSE2
extern "C" {
float __expf_sse2(float);
float __logf_sse2(float);
__attribute__((visibility("hidden"))) char _dl_x86_cpu_features[4096];
}
#endif

namespace {

// Calls below this many elements run on the calling thread: one element costs ~2.5 ns, a hand-off
// to a pooled thread some µs (far more when the cores are busy), so only calls of ~100 µs split.
constexpr int64_t PAR_MIN_ELEMENTS = 1 << 16;
int g_threads = 1;

#ifdef LORA_LIBM_SSE2
// One call per element, nothing else: the compiler cannot vectorise through the call.
void exp_range(const float* x, float* o, int64_t n) {
  for (int64_t i = 0; i < n; ++i) o[i] = __expf_sse2(x[i]);
}
void log_range(const float* x, float* o, int64_t n) {
  for (int64_t i = 0; i < n; ++i) o[i] = __logf_sse2(x[i]);
}
#endif

napi_value throw_range(napi_env env, const char* what) {
  napi_throw_range_error(env, nullptr, what);
  return nullptr;
}

// unary(heap: Uint8Array, [op (0 exp, 1 log), outOff, xOff, n]): out[i] = f(x[i]) for float32
// x and out at byte offsets in heap.
napi_value Unary(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  uint8_t* heap = nullptr;
  size_t heap_len = 0;
  const double* p = nullptr;
  size_t np = 0;
  if (argc < 2 || !lora_napi::typed_array(env, argv[0], napi_uint8_array, &heap, &heap_len) ||
      !lora_napi::typed_array(env, argv[1], napi_float64_array, &p, &np)) {
    napi_throw_type_error(env, nullptr, NAPI_ERROR_PREFIX "expected (heap: Uint8Array, params: Float64Array)");
    return nullptr;
  }
  if (np < 4) return throw_range(env, NAPI_ERROR_PREFIX "unary params too short");
  const int op = (int)p[0];
  const double out_off = p[1], x_off = p[2], n = p[3];
  if ((op != 0 && op != 1) || !(n >= 0 && n <= 9e15) || n != (double)(int64_t)n) return throw_range(env, NAPI_ERROR_PREFIX "bad unary params");
  auto inside = [&](double off) {
    return off >= 0 && off <= 9e15 && off == (double)(int64_t)off && (int64_t)off % 4 == 0 && off + 4 * n <= (double)heap_len;
  };
  if (!inside(out_off) || !inside(x_off)) return throw_range(env, NAPI_ERROR_PREFIX "unary operands fall outside the heap");
#ifdef LORA_LIBM_SSE2
  const float* x = reinterpret_cast<const float*>(heap + (int64_t)x_off);
  float* o = reinterpret_cast<float*>(heap + (int64_t)out_off);
  const int64_t total = (int64_t)n;
  void (*fn)(const float*, float*, int64_t) = op == 0 ? exp_range : log_range;
  const int parts = total >= PAR_MIN_ELEMENTS ? g_threads : 1;
  lora_ops::run_parallel(parts, parts, [&](int t) {
    // Boundaries on multiples of 16 elements (64 bytes): threads never share a cache line of out.
    const int64_t per = ((total + parts - 1) / parts + 15) / 16 * 16;
    const int64_t s = std::min(total, per * t), e = std::min(total, per * (t + 1));
    fn(x + s, o + s, e - s);
  }, lora_ops::Wait::Sleep);
  return nullptr;
#else
  return throw_range(env, NAPI_ERROR_PREFIX "built without the libm kernels");
#endif
}

napi_value SetThreads(napi_env env, napi_callback_info info) { return lora_napi::set_threads(env, info, &g_threads); }

napi_value Init(napi_env env, napi_value exports) {
  g_threads = lora_napi::hardware_threads();
  // api: the calling convention (src/engine/native-libm.ts checks it); available: whether the
  // kernels were compiled in (libm.cjs adds the build probe's reason when they were not).
  napi_value api, available;
  NAPI_CALL(env, napi_create_int32(env, 1, &api));
#ifdef LORA_LIBM_SSE2
  NAPI_CALL(env, napi_get_boolean(env, true, &available));
#else
  NAPI_CALL(env, napi_get_boolean(env, false, &available));
#endif
  NAPI_CALL(env, napi_set_named_property(env, exports, "api", api));
  NAPI_CALL(env, napi_set_named_property(env, exports, "available", available));
  return lora_napi::export_functions(env, exports, {{"unary", Unary}, {"setThreads", SetThreads}});
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
