// The ops addon's fused layer kernels (fused.cc), exported by ops.cc as `fused`.
#pragma once

#include <node_api.h>

namespace lora_fused {
// fused(heap: Uint8Array, params: Float64Array): see fused.cc.
napi_value Fused(napi_env env, napi_callback_info info);
}  // namespace lora_fused
