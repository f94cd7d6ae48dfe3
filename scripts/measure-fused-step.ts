/**
 * A training step (bench --quick's tiny-llama shape, or SHAPE=N: BENCH_SHAPES[N], e.g. 1 = GPT-2 small)
 * with the fused kernels on and off in one process, interleaved: kernel calls per step, tape nodes
 * per step, wall and CPU ms per step.
 * Usage: npx tsx scripts/measure-fused-step.ts  (env STEPS=N per round, ROUNDS=R, WRAP=1 per-kernel times,
 * ONLY=group[,group…]: switch only these kernels, the other fused kernels on in both arms; groups:
 * training (the fused loss and AdamW), layerNorm, gelu, attention (the self-attention block), gpt2 (the
 * last three))
 */
import * as tf from '@tensorflow/tfjs-core';
import os from 'node:os';
import { initEngine } from '../src/engine/backend.js';
import { disableNativeFused, enableNativeFused } from '../src/engine/native-fused.js';
import { loadNativeOps, type NativeOpsAddon } from '../src/engine/native-ops.js';
import { BENCH_SHAPES, buildRandomModel } from '../src/evaluation/bench-shapes.js';
import { injectLora } from '../src/lora/inject.js';
import { loraConfigSchema } from '../src/lora/lora-config.js';
import { FUSED_KERNELS } from '../src/model/layers/fused-ops.js';
import { TRAINING_KERNELS } from '../src/training/fused-training-ops.js';
import { train } from '../src/training/trainer.js';
import { Rng } from '../src/util/random.js';

await initEngine({ backend: 'wasm', threads: 2, nativeMatmul: 'on' });
const load = loadNativeOps();
if (!load.ok) throw new Error(load.reason);
const addon = load.addon as NativeOpsAddon;
const shape = BENCH_SHAPES[Number(process.env.SHAPE ?? 0)];
const model = buildRandomModel(shape);
const lora = injectLora(model, loraConfigSchema.parse({ r: shape.lora.r, lora_alpha: shape.lora.alpha, target_modules: shape.lora.targetModules }), { seed: 0 });
const rng = new Rng(1);
const examples = (n: number) => Array.from({ length: n }, () => {
  const ids = Array.from({ length: shape.seqLen }, () => rng.int(model.config.vocabSize));
  return { input_ids: ids, labels: ids };
});
const run = (steps: number) => train({
  model, variables: lora.variables, examples: examples(shape.batchSize * steps), padId: 0,
  config: { maxSteps: steps, learningRate: 1e-4, microBatchSize: shape.batchSize, gradientAccumulationSteps: 1, maxSeqLen: shape.seqLen, warmupSteps: 0, scheduler: 'constant', weightDecay: 0, maxGradNorm: 1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, seed: 0 },
} as never);
console.log(`shape ${shape.name}`);

// ONLY: the composed arm unregisters just these kernels (their configs kept to register again).
const F = FUSED_KERNELS;
const GROUPS: Record<string, string[]> = {
  training: Object.values(TRAINING_KERNELS),
  layerNorm: [F.layerNorm, F.layerNormPass, F.addLayerNorm, F.layerNormGrad, F.layerNormGradParam],
  gelu: [F.geluNew, F.geluNewGrad],
  attention: [F.attention, F.attentionGrad],
};
GROUPS.gpt2 = [...GROUPS.layerNorm, ...GROUPS.gelu, ...GROUPS.attention];
const only = (process.env.ONLY ?? '').split(',').filter(Boolean).flatMap((g) => {
  if (!GROUPS[g]) throw new Error(`ONLY: unknown group ${g} (groups: ${Object.keys(GROUPS).join(', ')})`);
  return GROUPS[g];
});
let saved: tf.KernelConfig[] = [];
function setFused(on: boolean): void {
  if (only.length === 0) {
    if (on) enableNativeFused(addon, 2);
    else disableNativeFused();
    return;
  }
  enableNativeFused(addon, 2);
  if (on) {
    for (const k of saved) if (!tf.getKernel(k.kernelName, 'wasm')) tf.registerKernel(k);
  } else {
    const current = only.map((name) => tf.getKernel(name, 'wasm')).filter((k): k is tf.KernelConfig => k !== undefined);
    if (current.length > 0) saved = current;
    for (const k of current) tf.unregisterKernel(k.kernelName, 'wasm');
  }
}

let calls = 0;
const perKernel = new Map<string, { n: number; ms: number }>();
const wrap = process.env.WRAP === '1';
const wrapped = new Set<object>();
function wrapKernels(): void {
  for (const k of tf.getKernelsForBackend('wasm')) {
    if (wrapped.has(k)) continue;
    wrapped.add(k);
    const f = k.kernelFunc;
    (k as { kernelFunc: tf.KernelFunc }).kernelFunc = (args) => {
      calls++;
      if (!wrap) return f(args);
      const t = performance.now();
      const r = f(args);
      const s = perKernel.get(k.kernelName) ?? { n: 0, ms: 0 };
      s.n++;
      s.ms += performance.now() - t;
      perKernel.set(k.kernelName, s);
      return r;
    };
  }
}
// Tape nodes: count addTapeNode calls.
const engine = tf.engine() as unknown as { addTapeNode: (...a: unknown[]) => void };
let nodes = 0;
const addTapeNode = engine.addTapeNode.bind(engine);
engine.addTapeNode = (...a: unknown[]) => {
  nodes++;
  addTapeNode(...a);
};

const N = Number(process.env.STEPS ?? 50);
const R = Number(process.env.ROUNDS ?? 4);
const res: Record<string, { wall: number[]; cpu: number[]; calls: number; nodes: number }> = { composed: { wall: [], cpu: [], calls: 0, nodes: 0 }, fused: { wall: [], cpu: [], calls: 0, nodes: 0 } };
for (const mode of ['composed', 'fused'] as const) {
  setFused(mode === 'fused');
  wrapKernels();
  await run(5);
}
for (let r = 0; r < R; r++) {
  const order: Array<'fused' | 'composed'> = r % 2 ? ['fused', 'composed'] : ['composed', 'fused'];
  for (const mode of order) {
    setFused(mode === 'fused');
    wrapKernels();
    calls = 0;
    nodes = 0;
    if (wrap && r === R - 1) perKernel.clear();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await run(N);
    res[mode].wall.push((performance.now() - t0) / N);
    const cpu = process.cpuUsage(c0);
    res[mode].cpu.push((cpu.user + cpu.system) / 1000 / N);
    res[mode].calls = calls / N;
    res[mode].nodes = nodes / N;
    if (wrap && r === R - 1) {
      console.log(`${mode}: per-kernel (last round)`);
      for (const [k, s] of [...perKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(process.env.TOP ?? 20))) console.log(`  ${k.padEnd(36)} ${(s.n / N).toFixed(0).padStart(5)} calls ${((s.ms / N) * 1000).toFixed(0).padStart(6)} µs/step`);
    }
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const [mode, r] of Object.entries(res)) {
  console.log(`${mode.padEnd(9)} kernel calls/step ${r.calls.toFixed(0)}  tape nodes/step ${r.nodes.toFixed(0)}  wall ms/step median ${med(r.wall).toFixed(2)} [${r.wall.map((v) => v.toFixed(2)).join(' ')}]  cpu ms/step median ${med(r.cpu).toFixed(2)}`);
}
console.log(`load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
