// The native matmul against the stock wasm kernels, interleaved in one process so machine load
// falls on both alike (load average printed): per-call medians on the matmul shapes of the bundled
// tiny llama (batch 8 × 96 tokens) and GPT-2 small (1 × 128), then whole LoRA training steps of a
// bench shape, stock and native matmul alternating round by round. The native non-matmul kernels
// stay as LORA_STUDY_NATIVE_OPS sets them (on by default) in both arms.
//   npx tsx scripts/bench-native-matmul.ts [--filter text] [--shape tiny-llama|gpt2-124m] [--rounds 5] [--steps 4] [--no-micro] [--no-steps]
import os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../src/engine/backend.js';
import { applyNativeMatmul } from '../src/engine/native-matmul.js';
import { NATIVE_OPS_ENV } from '../src/engine/native-ops.js';
import { trainingStepTimer } from './lib/training-step-timer.js';

const { values } = parseArgs({
  options: {
    filter: { type: 'string', default: '' },
    shape: { type: 'string', default: 'tiny-llama' },
    rounds: { type: 'string', default: '5' },
    steps: { type: 'string', default: '4' },
    'no-micro': { type: 'boolean', default: false },
    'no-steps': { type: 'boolean', default: false },
  },
});
const threads = 2;
// applyNativeMatmul('off') would switch the native non-matmul kernels off too: pin them (on unless set).
process.env[NATIVE_OPS_ENV] ??= 'on';
const engine = await initEngine({ backend: 'wasm', threads, nativeMatmul: 'on' });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`${engine.device}; load average ${loadavg()} on ${os.availableParallelism()} cores`);

type Case = [label: string, a: number[], b: number[], transposeA: boolean, transposeB: boolean, calls: number];
const CASES: Case[] = [
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

if (!values['no-micro']) {
  for (const [label, as, bs, ta, tb, n] of CASES) {
    if (values.filter && !label.includes(values.filter)) continue;
    const a = tf.randomNormal(as);
    const b = tf.randomNormal(bs);
    const t: Record<'on' | 'off', number[]> = { on: [], off: [] };
    for (let round = 0; round < 7; round++) {
      for (const mode of ['off', 'on'] as const) {
        applyNativeMatmul(mode, threads);
        tf.matMul(a, b, ta, tb).dispose();
        const t0 = performance.now();
        for (let i = 0; i < n; i++) tf.matMul(a, b, ta, tb).dispose();
        t[mode].push(((performance.now() - t0) / n) * 1000);
      }
    }
    const r = as.length;
    const batch = as.slice(0, -2).reduce((x, y) => x * y, 1);
    const flops = 2 * batch * (ta ? as[r - 1] : as[r - 2]) * (ta ? as[r - 2] : as[r - 1]) * (tb ? bs[bs.length - 2] : bs[bs.length - 1]);
    const on = median(t.on);
    const off = median(t.off);
    console.log(`${label.padEnd(34)} stock ${off.toFixed(0).padStart(7)} µs  native ${on.toFixed(0).padStart(7)} µs  ×${(off / on).toFixed(2)}  native ${(flops / on / 1e3).toFixed(1)} GFLOP/s`);
    tf.dispose([a, b]);
  }
}

if (!values['no-steps']) {
  const { run } = trainingStepTimer(values.shape, Number(values.steps));
  await run();
  const t: Record<'stock' | 'native', { wall: number[]; cpu: number[] }> = { stock: { wall: [], cpu: [] }, native: { wall: [], cpu: [] } };
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const arm of ['stock', 'native'] as const) {
      applyNativeMatmul(arm === 'native' ? 'on' : 'off', threads);
      const r = await run();
      t[arm].wall.push(...r.wall);
      t[arm].cpu.push(r.cpuPerStep);
    }
  }
  const ms = (xs: number[]) => `median ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, n=${xs.length})`;
  const line = (what: string, s: number[], n: number[]) => `${what}: stock matmul ${ms(s)} | native matmul ${ms(n)} | ${(median(s) / median(n)).toFixed(2)}×`;
  console.log(line(`${values.shape} training step, ${values.rounds} interleaved rounds, wall`, t.stock.wall, t.native.wall));
  console.log(line('CPU time per step (all threads, whole runs incl. warm-up)', t.stock.cpu, t.native.cpu));
}
console.log(`load average after: ${loadavg()}`);
