// Fixed cost of one tfjs-core kernel call on this machine's training backend (wasm + native ops), outside
// and inside a gradient tape, against the kernels a LoRA training step of a bench shape runs: the floor
// that per-kernel engine overhead alone puts under a step, whatever the kernels themselves cost.
//   npx tsx scripts/measure-kernel-overhead.ts [--shape tiny-llama] [--calls 2000] [--native-matmul on|off]
import os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../src/engine/backend.js';
import type { NativeMatmulMode } from '../src/engine/native-matmul.js';
import { kernelCallsPerStep } from './lib/kernel-calls.js';
import { median } from './lib/interleaved-calls.js';
import { trainingStepTimer } from './lib/training-step-timer.js';

const { values } = parseArgs({
  options: {
    shape: { type: 'string', default: 'tiny-llama' },
    calls: { type: 'string', default: '2000' },
    'native-matmul': { type: 'string', default: 'on' },
  },
});
const engine = await initEngine({ backend: 'wasm', threads: 2, nativeMatmul: values['native-matmul'] as NativeMatmulMode });
const n = Number(values.calls);
console.log(`${engine.device}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`tf.env flags: ${JSON.stringify(tf.env().getFlags())}`);

const a = tf.variable(tf.ones([4]));
const b = tf.ones([4]);
/** µs per call over `n` calls, run `reps` times; the fastest run (the floor: other processes only add). */
const perCall = (f: () => void, reps = 9): number => {
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    f();
    ts.push(((performance.now() - t0) * 1000) / n);
  }
  return Math.min(...ts);
};
const chain = (x: tf.Tensor): tf.Tensor => {
  let y = x;
  for (let i = 0; i < n; i++) y = tf.add(y, b);
  return y;
};
const outside = perCall(() => tf.tidy(() => { chain(a); }));
const forward = perCall(() => {
  const { value, grads } = tf.variableGrads(() => tf.sum(chain(a)) as tf.Scalar, [a]);
  value.dispose();
  Object.values(grads).forEach((g) => g.dispose());
});
console.log(`tiny Add [4]: ${outside.toFixed(1)} µs/call outside a tape; ${forward.toFixed(1)} µs per call recorded on a tape, its backward included`);
const emptyRaw = perCall(() => tf.tidy(() => { for (let i = 0; i < n; i++) tf.reshape(b, [2, 2]); }));
console.log(`Reshape [4] (no kernel work): ${emptyRaw.toFixed(1)} µs/call`);

// A whole step of the shape: wall and CPU time unprofiled; then the kernels of one warm step as tf.profile
// sees them (the trainer profiles its own first step, and tf.profile does not nest: so profile a 1-step run).
const timer = trainingStepTimer(values.shape, 8);
await timer.run();
const t = await timer.run();
const wall = median(t.wall);
const one = trainingStepTimer(values.shape, 1);
await one.run();
const info = await tf.profile(async () => { await one.run(); });
const kernelMs = info.kernels.reduce((s, k) => s + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0), 0);
// tf.profile runs the engine's stock path, so its kernel list includes calls the engine shortcuts skip.
const kernels = await kernelCallsPerStep(values.shape, 10);
console.log(`${values.shape}: ${wall.toFixed(1)} ms/step wall (median of 6), ${t.cpuPerStep.toFixed(1)} ms CPU/step; ${kernels.toFixed(0)} kernel calls/step (${info.kernels.length} as tf.profile's stock path runs them), ${kernelMs.toFixed(1)} ms inside kernels (tf.profile of one warm step)`);
console.log(`engine overhead: ${kernels} kernels × ${outside.toFixed(1)}–${forward.toFixed(1)} µs = ${((kernels * outside) / 1000).toFixed(1)}–${((kernels * forward) / 1000).toFixed(1)} ms/step; with the kernel time: ${(kernelMs + (kernels * outside) / 1000).toFixed(1)}–${(kernelMs + (kernels * forward) / 1000).toFixed(1)} ms/step`);
