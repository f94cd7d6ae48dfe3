// Kernel profile of one LoRA training step of a bench shape (tf.profile), by kernel and by shape.
//   npx tsx scripts/profile-step-kernels.ts [--shape tiny-llama|gpt2-124m] [--native-matmul on|off] [--native-ops on|off] [--top 25] [--by-shape Multiply,Sum]
import os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../src/engine/backend.js';
import type { NativeMatmulMode } from '../src/engine/native-matmul.js';
import { applyNativeOps } from '../src/engine/native-ops.js';
import { BENCH_SHAPES, buildRandomModel } from '../src/evaluation/bench-shapes.js';
import { injectLora } from '../src/lora/inject.js';
import { loraConfigSchema } from '../src/lora/lora-config.js';
import { train } from '../src/training/trainer.js';
import { Rng } from '../src/util/random.js';

const { values } = parseArgs({
  options: {
    shape: { type: 'string', default: 'tiny-llama' },
    'native-matmul': { type: 'string', default: 'off' },
    // The native non-matmul kernels follow --native-matmul; this sets them on their own.
    'native-ops': { type: 'string' },
    top: { type: 'string', default: '25' },
    'by-shape': { type: 'string' },
  },
});
const engine = await initEngine({ backend: 'wasm', threads: 2, nativeMatmul: values['native-matmul'] as NativeMatmulMode });
if (values['native-ops']) applyNativeOps(values['native-ops'] === 'on' ? 'on' : 'off', 2);
const shape = BENCH_SHAPES.find((s) => s.name === values.shape);
if (!shape) throw new Error(`no bench shape ${values.shape}`);
const model = buildRandomModel(shape);
const lora = injectLora(model, loraConfigSchema.parse({ r: shape.lora.r, lora_alpha: shape.lora.alpha, target_modules: shape.lora.targetModules }), { seed: 0 });
const rng = new Rng(1);
const examples = (n: number) =>
  Array.from({ length: n }, () => {
    const ids = Array.from({ length: shape.seqLen }, () => rng.int(model.config.vocabSize));
    return { input_ids: ids, labels: ids };
  });
const run = (steps: number) =>
  train({
    model, variables: lora.variables, examples: examples(shape.batchSize * steps), padId: 0,
    config: {
      maxSteps: steps, learningRate: 1e-4, microBatchSize: shape.batchSize, gradientAccumulationSteps: 1,
      maxSeqLen: shape.seqLen, warmupSteps: 0, scheduler: 'constant', weightDecay: 0, maxGradNorm: 1,
      beta1: 0.9, beta2: 0.999, epsilon: 1e-8, seed: 0,
    },
  });
await run(3);
const t0 = performance.now();
const info = await tf.profile(async () => {
  await run(1);
});
const wall = performance.now() - t0;
const byName = new Map<string, { calls: number; ms: number }>();
const byShape = new Map<string, { calls: number; ms: number }>();
for (const k of info.kernels) {
  const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  const e = byName.get(k.name) ?? { calls: 0, ms: 0 };
  e.calls++;
  e.ms += ms;
  byName.set(k.name, e);
  if ((values['by-shape'] ?? '').split(',').includes(k.name)) {
    const key = `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join(' ')} -> ${k.outputShapes.map((s) => `[${s}]`).join(' ')}`;
    const f = byShape.get(key) ?? { calls: 0, ms: 0 };
    f.calls++;
    f.ms += ms;
    byShape.set(key, f);
  }
}
console.log(`${shape.name} on ${engine.device}; load ${os.loadavg()[0].toFixed(2)}; wall ${wall.toFixed(0)} ms (profiled), ${info.kernels.length} kernels`);
for (const [name, e] of [...byName].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(values.top))) {
  console.log(`${name.padEnd(22)} ${String(e.calls).padStart(5)} calls ${e.ms.toFixed(1).padStart(8)} ms  ${((1000 * e.ms) / e.calls).toFixed(1).padStart(8)} µs/call`);
}
for (const [key, e] of [...byShape].sort((a, b) => b[1].ms - a[1].ms).slice(0, 30)) {
  console.log(`  ${String(e.calls).padStart(4)} × ${e.ms.toFixed(2).padStart(7)} ms  ${key}`);
}
