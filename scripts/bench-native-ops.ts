// In-process A/B of the native non-matmul kernels (src/engine/native-ops.ts) against the stock wasm
// ones: per-kernel microbenchmarks on training shapes, then whole LoRA training steps of a bench
// shape, stock and native interleaved round by round (the machine is shared: load average printed).
//   npx tsx scripts/bench-native-ops.ts [--shape tiny-llama|gpt2-124m] [--rounds 5] [--steps 4] [--native-matmul off|on] [--no-micro]
import os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../src/engine/backend.js';
import { disableNativeOps, enableNativeOps, loadNativeOps } from '../src/engine/native-ops.js';
import { median } from './lib/interleaved-calls.js';
import { trainingStepTimer } from './lib/training-step-timer.js';
import type { NativeMatmulMode } from '../src/engine/native-matmul.js';

const { values } = parseArgs({
  options: {
    shape: { type: 'string', default: 'tiny-llama' },
    rounds: { type: 'string', default: '5' },
    steps: { type: 'string', default: '4' },
    'native-matmul': { type: 'string', default: 'off' },
    'no-micro': { type: 'boolean', default: false },
  },
});
const threads = 2;
const engine = await initEngine({ backend: 'wasm', threads, nativeMatmul: values['native-matmul'] as NativeMatmulMode });
disableNativeOps();
const load = loadNativeOps();
if (!load.ok) throw new Error(load.reason);
const addon = load.addon;
console.log(`${engine.device}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} on ${os.availableParallelism()} cores`);

if (!values['no-micro']) {
  const cases: Array<[string, () => tf.Tensor | tf.Tensor[]]> = [];
  const x = tf.randomNormal([4, 64, 64]);
  const g = tf.randomNormal([64]);
  const r = tf.randomNormal([4, 64, 1]);
  const big = tf.randomNormal([1, 128, 768]);
  const big2 = tf.randomNormal([1, 128, 768]);
  const mlp = tf.randomNormal([1, 128, 3072]);
  const logits = tf.randomNormal([1, 127, 50257]);
  const qkv = tf.randomNormal([1, 128, 2304]);
  const emb = tf.randomNormal([50257, 768]);
  const ids = tf.tensor(Array.from({ length: 128 }, (_, i) => (i * 7919) % 50257), [128], 'int32');
  cases.push(['Multiply [4,64,64]*[64]', () => tf.mul(x, g)]);
  cases.push(['Multiply [4,64,64]*[4,64,1]', () => tf.mul(x, r)]);
  cases.push(['Add [4,64,64]+[4,64,64]', () => tf.add(x, x)]);
  cases.push(['Multiply [1,128,768]²', () => tf.mul(big, big2)]);
  cases.push(['Add [1,128,3072]+s', () => tf.add(mlp, 1)]);
  cases.push(['Sub [1,127,50257]-[1,127,1]', () => tf.sub(logits, tf.max(logits, -1, true))]);
  cases.push(['Sum [1,127,50257] axis -1', () => tf.sum(logits, -1)]);
  cases.push(['Sum [1,128,768] axis [0,1]', () => tf.sum(big, [0, 1])]);
  cases.push(['Mean [1,128,768] axis -1', () => tf.mean(big, -1, true)]);
  cases.push(['Transpose [1,128,12,64]→[0,2,1,3]', () => tf.transpose(big.reshape([1, 128, 12, 64]), [0, 2, 1, 3])]);
  cases.push(['SplitV [1,128,2304] ×3', () => tf.split(qkv, 3, -1)]);
  cases.push(['Slice [1,128,50257]→[1,127,50257]', () => tf.slice(logits, [0, 0, 0], [1, 126, 50257])]);
  cases.push(['GatherV2 [50257,768] 128 rows', () => tf.gather(emb, ids)]);
  const timeIt = (f: () => tf.Tensor | tf.Tensor[], iters: number): number => {
    const ts: number[] = [];
    for (let i = 0; i < iters; i++) {
      const t0 = performance.now();
      const out = f();
      tf.dispose(out);
      ts.push(performance.now() - t0);
    }
    return median(ts);
  };
  console.log('kernel (median of interleaved runs)            stock µs   native µs   speed-up');
  for (const [label, f] of cases) {
    const s: number[] = [];
    const n: number[] = [];
    for (let round = 0; round < 5; round++) {
      disableNativeOps();
      s.push(timeIt(f, 20));
      enableNativeOps(addon, threads);
      n.push(timeIt(f, 20));
    }
    disableNativeOps();
    console.log(`${label.padEnd(46)} ${(1000 * median(s)).toFixed(0).padStart(9)} ${(1000 * median(n)).toFixed(0).padStart(11)} ${(median(s) / median(n)).toFixed(2).padStart(9)}×`);
  }
  tf.dispose([x, g, r, big, big2, mlp, logits, qkv, emb, ids]);
}

const { run } = trainingStepTimer(values.shape, Number(values.steps));
await run();
const stock: number[] = [];
const native: number[] = [];
const cpuStock: number[] = [];
const cpuNative: number[] = [];
const timed = async (wall: number[], cpu: number[]) => {
  const t = await run();
  wall.push(...t.wall);
  cpu.push(t.cpuPerStep);
};
for (let round = 0; round < Number(values.rounds); round++) {
  disableNativeOps();
  await timed(stock, cpuStock);
  enableNativeOps(addon, threads);
  await timed(native, cpuNative);
}
disableNativeOps();
const ms = (xs: number[]) => `median ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, n=${xs.length})`;
console.log(`${values.shape} training step, ${values.rounds} interleaved rounds: stock ${ms(stock)} | native ops ${ms(native)} | ${(median(stock) / median(native)).toFixed(2)}×`);
console.log(`CPU time per step (all threads, whole runs incl. warm-up): stock ${ms(cpuStock)} | native ops ${ms(cpuNative)} | ${(median(cpuStock) / median(cpuNative)).toFixed(2)}×`);
console.log(`load average after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
