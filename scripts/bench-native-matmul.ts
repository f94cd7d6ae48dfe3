// The native matmul against the stock wasm kernels, shape by shape, interleaved in one process
// (7 rounds of off/on, median µs per call), so machine load falls on both alike. The shapes are
// the bundled tiny llama's (batch 8 × 96 tokens) and GPT-2 small's (1 × 128) matmuls.
//   npx tsx scripts/bench-native-matmul.ts [label filter]
import * as tf from '@tensorflow/tfjs-core';
import os from 'node:os';
import { initEngine } from '../src/engine/backend.js';
import { applyNativeMatmul } from '../src/engine/native-matmul.js';
await initEngine({ backend: 'wasm', threads: 2, nativeMatmul: 'off' });
type S = [string, number[], number[], boolean, boolean, number];
const only = process.argv[2];
if (!applyNativeMatmul('on', 2).used) throw new Error('the native addon did not load: nothing to compare');
const SH: S[] = [
  ['tiny q_proj 768x128·128x128ᵀ', [768, 128], [128, 128], false, true, 200],
  ['tiny up 768x128·384x128ᵀ', [768, 128], [384, 128], false, true, 100],
  ['tiny down dW 384x768·768x128', [768, 384], [768, 128], true, false, 100],
  ['tiny head 768x128·768x128ᵀ', [768, 128], [768, 128], false, true, 100],
  ['tiny lora A 768x128·16x128ᵀ', [768, 128], [16, 128], false, true, 300],
  ['tiny attn 8,4,96,32·ᵀ', [8, 4, 96, 32], [8, 4, 96, 32], false, true, 100],
  ['tiny attn pv 8,4,96,96·96,32', [8, 4, 96, 96], [8, 4, 96, 32], false, false, 100],
  ['gpt2 c_attn 128x768·768x2304', [128, 768], [768, 2304], false, false, 5],
  ['gpt2 mlp 128x768·3072x768ᵀ', [128, 768], [3072, 768], false, true, 5],
  ['gpt2 attn 1,12,128,64·ᵀ', [1, 12, 128, 64], [1, 12, 128, 64], false, true, 20],
  ['square 512', [512, 512], [512, 512], false, false, 5],
];
const med = (x: number[]) => x.sort((a, b) => a - b)[x.length >> 1];
console.log(`load ${os.loadavg()[0].toFixed(2)}`);
for (const [label, as, bs, ta, tb, n] of SH) {
  if (only && !label.includes(only)) continue;
  const a = tf.randomNormal(as); const b = tf.randomNormal(bs);
  const t: Record<string, number[]> = { on: [], off: [] };
  for (let round = 0; round < 7; round++) {
    for (const mode of ['off', 'on'] as const) {
      applyNativeMatmul(mode, 2);
      tf.matMul(a, b, ta, tb).dispose();
      const t0 = performance.now();
      for (let i = 0; i < n; i++) tf.matMul(a, b, ta, tb).dispose();
      t[mode].push(((performance.now() - t0) / n) * 1000);
    }
  }
  const flops = 2 * (as.length === 4 ? as[0] * as[1] : 1) * (ta ? as.at(-1)! : as.at(-2)!) * (ta ? as.at(-2)! : as.at(-1)!) * (tb ? bs.at(-2)! : bs.at(-1)!);
  const on = med(t.on), off = med(t.off);
  console.log(`${label.padEnd(34)} stock ${off.toFixed(0).padStart(7)} µs  native ${on.toFixed(0).padStart(7)} µs  ×${(off / on).toFixed(2)}  native ${(flops / on / 1e3).toFixed(1)} GFLOP/s`);
  tf.dispose([a, b]);
}
