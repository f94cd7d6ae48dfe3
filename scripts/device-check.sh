#!/usr/bin/env bash
# GPU check for an NVIDIA machine without network (issue 11), in two steps:
#   bash scripts/device-check.sh prepare   # here, with node_modules: bundle into .device/ (about 30 MiB)
#   bash scripts/device-check.sh           # there, from the repository root, carrying .device/
# The second step runs `doctor`, the matmul rate, LoRA training at the GPT-2-small and
# Qwen2.5-0.5B shapes (fp32 and nf4 base) and a short rank study on the webgpu backend, and
# writes JSON under $OUT (default results/device-check): doctor.json, matmul.json, lora.json,
# summary.json, torch.json; or no-adapter.json / no-node.txt saying exactly why it stopped.
# Only dawn.node for linux-x64 is carried (the `webgpu` package holds 132 MB of binaries for
# every platform); everything else is one esbuild bundle of scripts/bench-gpu.ts.
set -uo pipefail
cd "$(dirname "$0")/.."
DEV=.device

if [ "${1:-run}" = prepare ]; then
  set -e
  rm -rf "$DEV"
  mkdir -p "$DEV/node_modules/webgpu/dist/linux-x64"
  # `require` for the CommonJS parts of tfjs inside an ES module bundle.
  node_modules/.bin/esbuild scripts/bench-gpu.ts --bundle --platform=node --format=esm --target=node20 \
    --outfile="$DEV/bench-gpu.mjs" --log-level=error \
    --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
    --banner:js="import { createRequire as __lsCreateRequire } from 'node:module'; const require = __lsCreateRequire(import.meta.url);"
  cp node_modules/webgpu/package.json node_modules/webgpu/index.js node_modules/webgpu/LICENSE.md "$DEV/node_modules/webgpu/"
  cp node_modules/webgpu/dist/linux-x64/dawn.node "$DEV/node_modules/webgpu/dist/linux-x64/"
  du -sh "$DEV"
  exit 0
fi

OUT=${OUT:-results/device-check}
mkdir -p "$OUT"
STEPS=${DEVICE_CHECK_STEPS:-4}
RANKS=${DEVICE_CHECK_RANKS:-4,16,64}
{
  echo "date: $(date -u +%FT%TZ)"; uname -a
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || echo "nvidia-smi: not available"
  echo "NVIDIA_DRIVER_CAPABILITIES=${NVIDIA_DRIVER_CAPABILITIES:-<unset>}"
  ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/share/glvnd/egl_vendor.d 2>&1
} > "$OUT/machine.txt"

if ! command -v node >/dev/null; then
  echo "node is not installed on this machine: the GPU check needs Node.js >= 20 (nothing else: .device/ carries the rest)" | tee "$OUT/no-node.txt"
  exit 2
fi
if [ ! -f "$DEV/bench-gpu.mjs" ]; then
  echo "$DEV/bench-gpu.mjs is missing: run \`bash scripts/device-check.sh prepare\` where node_modules exists and carry $DEV" | tee "$OUT/no-bundle.txt"
  exit 2
fi
python3 scripts/bench-torch.py > "$OUT/torch.json" 2> "$OUT/torch.err" || echo '{"skipped": "bench-torch.py failed, see torch.err"}' > "$OUT/torch.json"
node "$DEV/bench-gpu.mjs" --doctor --backend webgpu --steps "$STEPS" --ranks "$RANKS" --out "$OUT" 2> >(tee "$OUT/bench.log" >&2)
rc=$?
echo "bench-gpu exit $rc; figures in $OUT"
exit $rc
