// N-API glue both addons share (sgemm.cc, ops.cc). Define NAPI_ERROR_PREFIX (the addon's name
// for error messages, e.g. "lora-study-native: ") before including.
#pragma once

#include <node_api.h>

#include <algorithm>
#include <initializer_list>
#include <thread>
#include <utility>
#include <vector>

#ifndef NAPI_ERROR_PREFIX
#error "define NAPI_ERROR_PREFIX before including napi_common.h"
#endif

// Throws a JS error naming the failed call and returns from the calling N-API function.
#define NAPI_CALL(env, call)                                                            \
  do {                                                                                  \
    if ((call) != napi_ok) {                                                            \
      napi_throw_error((env), nullptr, NAPI_ERROR_PREFIX "N-API call failed: " #call); \
      return nullptr;                                                                   \
    }                                                                                   \
  } while (0)

namespace lora_napi {

// The default compute thread count: the hardware's, at least 1.
inline int hardware_threads() { return (int)std::max(1u, std::thread::hardware_concurrency()); }

// setThreads(n): sets *threads to n clamped to [1, 256] for later calls; returns the value in effect.
inline napi_value set_threads(napi_env env, napi_callback_info info, int* threads) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc >= 1) {
    double n = 1;
    napi_get_value_double(env, argv[0], &n);
    *threads = std::max(1, std::min((int)n, 256));
  }
  napi_value out;
  NAPI_CALL(env, napi_create_int32(env, *threads, &out));
  return out;
}

// If v is a typed array of element type `want`, points *data at its elements, sets *len to its
// element count and returns true; otherwise false (the caller throws its own message).
template <typename T>
inline bool typed_array(napi_env env, napi_value v, napi_typedarray_type want, T** data, size_t* len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return false;
  napi_typedarray_type type;
  void* ptr = nullptr;
  napi_value ab;
  size_t off = 0;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, &ab, &off) != napi_ok || type != want) return false;
  *data = static_cast<T*>(ptr);
  return true;
}

// Sets exports[name] = fn for each (name, fn); returns exports.
inline napi_value export_functions(napi_env env, napi_value exports,
                                   std::initializer_list<std::pair<const char*, napi_callback>> fns) {
  std::vector<napi_property_descriptor> props;
  for (const auto& f : fns) props.push_back({f.first, nullptr, f.second, nullptr, nullptr, nullptr, napi_default, nullptr});
  NAPI_CALL(env, napi_define_properties(env, exports, props.size(), props.data()));
  return exports;
}

}  // namespace lora_napi
