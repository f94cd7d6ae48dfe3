// The native matmul against the stock wasm kernels, interleaved in one process so machine load
// falls on both alike (load average printed): per-call medians on the matmul shapes of the bundled
// tiny llama (batch 8 × 96 tokens) and GPT-2 small (1 × 128), then whole LoRA training steps of a
// bench shape, stock and native matmul alternating round by round. The native non-matmul kernels
// stay as LORA_STUDY_NATIVE_OPS sets them (on by default) in both arms.
// --shapes tiny-step: instead, every product of one `bench --quick` tiny-llama training step
// (hidden 64, batch 4×64, LoRA r=8), with its calls per step, and their sum per step;
// --shapes gpt2-step: the same for a GPT-2 small step (1×128, r=8 on c_attn; with --no-stock and
// --base-addon, since the stock kernels take seconds on its tied head).
// --base-addon PATH: a third arm, another build of the addon (e.g. a copy of main's
// native/sgemm/build/Release/sgemm.node), run through the same JS kernels: an A/B of native code.
// --kernel-times: also the time inside the BatchMatMul kernel per step and per call, each arm.
// --threads-ab: per-call only, this addon on one thread against two with no size threshold
// (what sets the addon's minimum for splitting a product: setMinParallelFlops).
//   npx tsx scripts/bench-native-matmul.ts [--filter text] [--shapes default|tiny-step|gpt2-step] [--base-addon path]
//     [--threads 2] [--threads-ab] [--no-stock] [--kernel-times] [--shape tiny-llama|gpt2-124m] [--rounds 5] [--steps 4] [--no-micro] [--no-steps]
import { createRequire } from 'node:module';
import os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../src/engine/backend.js';
import { loadNativeAddon, type NativeSgemm } from '../src/engine/native-addon.js';
import { applyNativeMatmul, disableNativeMatmul, enableNativeMatmul } from '../src/engine/native-matmul.js';
import { NATIVE_OPS_ENV } from '../src/engine/native-ops.js';
import { GPT2_STEP_PRODUCTS, productDims, productShapes, TINY_STEP_PRODUCTS, type StepProduct } from './lib/matmul-step-products.js';
import { median } from './lib/interleaved-calls.js';
import { trainingStepTimer } from './lib/training-step-timer.js';

const { values } = parseArgs({
  options: {
    filter: { type: 'string', default: '' },
    shape: { type: 'string', default: 'tiny-llama' },
    rounds: { type: 'string', default: '5' },
    steps: { type: 'string', default: '4' },
    shapes: { type: 'string', default: 'default' },
    'base-addon': { type: 'string' },
    'threads-ab': { type: 'boolean', default: false },
    'no-stock': { type: 'boolean', default: false },
    'kernel-times': { type: 'boolean', default: false },
    threads: { type: 'string', default: '2' },
    'no-micro': { type: 'boolean', default: false },
    'no-steps': { type: 'boolean', default: false },
  },
});
const threads = Number(values.threads);
// applyNativeMatmul('off') would switch the native non-matmul kernels off too: pin them (on unless set).
process.env[NATIVE_OPS_ENV] ??= 'on';
const engine = await initEngine({ backend: 'wasm', threads, nativeMatmul: 'on' });
const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`${engine.device}; load average ${loadavg()} on ${os.availableParallelism()} cores`);

type Case = [label: string, a: number[], b: number[], transposeA: boolean, transposeB: boolean, calls: number];
// One step's products (scripts/lib/matmul-step-products.ts), calls per step in the label;
// repetitions by size.
const stepCases = (products: StepProduct[]): Case[] =>
  products.map((p) => {
    const { batch, M, N, K } = productDims(p);
    return [`${p[0]}× ${productShapes(p)}`, p[1], p[2], p[3], p[4], Math.max(1, Math.min(200, Math.round(2e8 / (2 * batch * M * N * K))))];
  });
const DEFAULT_CASES: Case[] = [
  ['call overhead 1x1·1x1', [1, 1], [1, 1], false, false, 2000],
  ['call overhead 4,4,8,8·ᵀ', [4, 4, 8, 8], [4, 4, 8, 8], false, true, 1000],
  ['tiny q_proj 768x128·128x128ᵀ', [768, 128], [128, 128], false, true, 200],
  ['tiny up 768x128·384x128ᵀ', [768, 128], [384, 128], false, true, 100],
  ['tiny down dW 384x768·768x128', [768, 384], [768, 128], true, false, 100],
  ['tiny head 768x128·768x128ᵀ', [768, 128], [768, 128], false, true, 100],
  ['tiny lora A 768x128·16x128ᵀ', [768, 128], [16, 128], false, true, 300],
  ['tiny attn 8,4,96,32·ᵀ', [8, 4, 96, 32], [8, 4, 96, 32], false, true, 100],
  ['tiny attn pv 8,4,96,96·96,32', [8, 4, 96, 96], [8, 4, 96, 32], false, false, 100],
  ['bench tiny 256x64·64x64ᵀ', [256, 64], [64, 64], false, true, 300],
  ['gpt2 c_attn 128x768·768x2304', [128, 768], [768, 2304], false, false, 5],
  ['gpt2 mlp 128x768·3072x768ᵀ', [128, 768], [3072, 768], false, true, 5],
  ['gpt2 dX c_attn 128x2304·768x2304ᵀ', [128, 2304], [768, 2304], false, true, 5],
  ['gpt2 dX c_attn 128x2304·2304x768', [128, 2304], [2304, 768], false, false, 5],
  ['gpt2 head 128x768·50257x768ᵀ', [128, 768], [50257, 768], false, true, 1],
  ['gpt2 head dX 128x50257·50257x768', [128, 50257], [50257, 768], false, false, 1],
  ['gpt2 attn 1,12,128,64·ᵀ', [1, 12, 128, 64], [1, 12, 128, 64], false, true, 20],
  ['square 512', [512, 512], [512, 512], false, false, 5],
];
if (!['default', 'tiny-step', 'gpt2-step'].includes(values.shapes)) throw new Error(`--shapes default|tiny-step|gpt2-step, not ${values.shapes}`);
const CASES = values.shapes === 'tiny-step' ? stepCases(TINY_STEP_PRODUCTS) : values.shapes === 'gpt2-step' ? stepCases(GPT2_STEP_PRODUCTS) : DEFAULT_CASES;
const perStepShapes = values.shapes !== 'default';

// The arms: stock wasm, this checkout's addon, and optionally another build of it; or (--threads-ab)
// this addon on one thread and on two, every product split.
type Arm = 'stock' | 'native' | 'base' | 'native-1t' | 'native-2t';
const own = loadNativeAddon();
if (!own.ok) throw new Error(own.reason);
const base = values['base-addon'] ? (createRequire(import.meta.url)(values['base-addon']) as NativeSgemm) : null;
const threadsAb = values['threads-ab'];
if (threadsAb && !own.addon.setMinParallelFlops) throw new Error('--threads-ab needs a build with setMinParallelFlops: npm rebuild lora-study-native');
const defaultMinFlops = own.addon.setMinParallelFlops?.();
const arms: Arm[] = threadsAb ? ['native-1t', 'native-2t'] : base ? ['stock', 'base', 'native'] : ['stock', 'native'];
// --no-stock (with --base-addon): leave out the stock arm, e.g. for GPT-2 steps, which take seconds on it.
if (values['no-stock'] && base) arms.shift();
const useArm = (arm: Arm): void => {
  if (arm === 'stock') {
    applyNativeMatmul('off', threads);
    return;
  }
  applyNativeMatmul('on', threads);
  disableNativeMatmul();
  if (arm === 'native-1t' || arm === 'native-2t') {
    own.addon.setMinParallelFlops!(0);
    own.addon.setThreadPolicy?.('fixed');
    enableNativeMatmul(own.addon, arm === 'native-1t' ? 1 : 2);
    return;
  }
  own.addon.setMinParallelFlops?.(defaultMinFlops);
  own.addon.setThreadPolicy?.('adaptive');
  enableNativeMatmul(arm === 'base' ? base! : own.addon, threads);
};
const perStep: Partial<Record<Arm, number>> = {};

if (!values['no-micro']) {
  for (const [label, as, bs, ta, tb, n] of CASES) {
    if (values.filter && !label.includes(values.filter)) continue;
    const a = tf.randomNormal(as);
    const b = tf.randomNormal(bs);
    const t: Partial<Record<Arm, number[]>> = {};
    for (let round = 0; round < 7; round++) {
      for (const arm of arms) {
        useArm(arm);
        tf.matMul(a, b, ta, tb).dispose();
        const t0 = performance.now();
        for (let i = 0; i < n; i++) tf.matMul(a, b, ta, tb).dispose();
        (t[arm] ??= []).push(((performance.now() - t0) / n) * 1000);
      }
    }
    const r = as.length;
    const batch = as.slice(0, -2).reduce((x, y) => x * y, 1);
    const flops = 2 * batch * (ta ? as[r - 1] : as[r - 2]) * (ta ? as[r - 2] : as[r - 1]) * (tb ? bs[bs.length - 2] : bs[bs.length - 1]);
    const us = Object.fromEntries(arms.map((arm) => [arm, median(t[arm]!)])) as Record<Arm, number>;
    const calls = perStepShapes ? Number(label.split('×')[0]) : 0;
    for (const arm of arms) perStep[arm] = (perStep[arm] ?? 0) + calls * us[arm];
    const cols = arms.map((arm) => `${arm} ${us[arm].toFixed(1).padStart(7)} µs`).join('  ');
    const [first, last] = [arms[0], arms[arms.length - 1]];
    const vsBase = base && !threadsAb ? ` (×${(us.base / us.native).toFixed(2)} vs base)` : '';
    console.log(`${label.padEnd(34)} ${cols}  ×${(us[first] / us[last]).toFixed(2)}${vsBase}  ${last} ${(flops / us[last] / 1e3).toFixed(1)} GFLOP/s`);
    tf.dispose([a, b]);
  }
  if (perStepShapes) {
    console.log(`per step (calls × median µs): ${arms.map((arm) => `${arm} ${((perStep[arm] ?? 0) / 1000).toFixed(2)} ms`).join(', ')}; load average ${loadavg()}`);
  }
}

if (!values['no-steps'] && !threadsAb) {
  const { run } = trainingStepTimer(values.shape, Number(values.steps));
  await run();
  const t: Partial<Record<Arm, { wall: number[]; cpu: number[] }>> = {};
  const inKernel: Partial<Record<Arm, { ms: number; calls: number; steps: number }>> = {};
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const arm of arms) {
      useArm(arm);
      const k = values['kernel-times'] ? (tf.getKernel('BatchMatMul', 'wasm') as { kernelFunc: tf.KernelFunc } | undefined) : undefined;
      const e = (inKernel[arm] ??= { ms: 0, calls: 0, steps: 0 });
      if (k) {
        // Wraps the registered kernel in place (the next useArm registers a fresh one).
        const f = k.kernelFunc;
        k.kernelFunc = (args) => {
          const t0 = performance.now();
          const out = f(args);
          e.ms += performance.now() - t0;
          e.calls++;
          return out;
        };
      }
      const r = await run();
      e.steps += Number(values.steps);
      const w = (t[arm] ??= { wall: [], cpu: [] });
      w.wall.push(...r.wall);
      w.cpu.push(r.cpuPerStep);
    }
  }
  if (values['kernel-times']) {
    const per = (arm: Arm) => `${arm} ${(inKernel[arm]!.ms / inKernel[arm]!.steps).toFixed(2)} ms/step (${((1000 * inKernel[arm]!.ms) / inKernel[arm]!.calls).toFixed(1)} µs × ${(inKernel[arm]!.calls / inKernel[arm]!.steps).toFixed(0)} calls)`;
    console.log(`inside BatchMatMul, all steps incl. warm-up: ${arms.map(per).join(' | ')}`);
  }
  const ms = (xs: number[]) => `median ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, n=${xs.length})`;
  const ratio = (arm: Arm, pick: (e: { wall: number[]; cpu: number[] }) => number[]) => (median(pick(t[arm]!)) / median(pick(t.native!))).toFixed(2);
  const line = (what: string, pick: (e: { wall: number[]; cpu: number[] }) => number[]) =>
    `${what}: ${arms.map((arm) => `${arm} matmul ${ms(pick(t[arm]!))}`).join(' | ')}${t.stock ? ` | ${ratio('stock', pick)}×` : ''}${base ? `, ${ratio('base', pick)}× vs base` : ''}`;
  console.log(line(`${values.shape} training step, ${values.rounds} interleaved rounds, wall`, (e) => e.wall));
  console.log(line('CPU time per step (all threads, whole runs incl. warm-up)', (e) => e.cpu));
}
console.log(`load average after: ${loadavg()}`);
