// In-process A/B of the wasm backend's Exp three ways: the stock kernel (one wasm thread), the
// stock kernel split over wasm instances (wasm-split-unary.ts, every large call split), and the
// native kernel (glibc's non-FMA expf, native-libm.ts), call by call interleaved, on the tiny-llama
// log-softmax shape and GPT-2's vocabulary logits, plus small sizes; then whole training steps of
// a bench shape with the split (today's fallback, its measured choice) and with the native Exp,
// interleaved round by round. All three give the same bits. The machine is shared: load average
// printed with each figure.
//   npx tsx scripts/bench-native-exp.ts [--rounds 40] [--threads 2] [--shape tiny-llama] [--step-rounds 6] [--steps 12]
import os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../src/engine/backend.js';
import { disableNativeLibm, enableNativeLibm, loadNativeLibm, nativeLibmStatus } from '../src/engine/native-libm.js';
import { disableSplitUnary, enableSplitUnary } from '../src/engine/wasm-split-unary.js';
import { interleavedCalls, median } from './lib/interleaved-calls.js';
import { waitForSplitWorkers } from './lib/split-workers.js';
import { trainingStepTimer } from './lib/training-step-timer.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '40' },
    threads: { type: 'string', default: '2' },
    shape: { type: 'string', default: 'tiny-llama' },
    'step-rounds': { type: 'string', default: '6' },
    steps: { type: 'string', default: '12' },
  },
});
const rounds = Number(values.rounds);
const threads = Number(values.threads);
const engine = await initEngine({ backend: 'wasm', threads, nativeMatmul: 'auto' });
const libm = loadNativeLibm();
if (!libm.ok) throw new Error(libm.reason);
type Mode = 'stock' | 'split' | 'native' | 'native1';
const setMode = (m: Mode | 'split-measured') => {
  disableNativeLibm();
  disableSplitUnary();
  if (m === 'split') enableSplitUnary({ threads, minElements: 1, choose: 'split' });
  if (m === 'split-measured') enableSplitUnary({ threads, choose: 'measured' });
  if (m === 'native' || m === 'native1') enableNativeLibm(libm.addon, m === 'native1' ? 1 : threads, 'on');
};
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`${engine.device}; load average ${load()}`);
setMode('split');
// Start the split's workers and wait for them (the first calls go to the stock kernel meanwhile).
console.log(`split: ${(await waitForSplitWorkers()).state}`);
const MODES: Mode[] = ['stock', 'split', 'native1', 'native'];
const timeShape = (shape: number[], n: number) => {
  const x = tf.randomNormal(shape, 0, 4);
  const ts = interleavedCalls(MODES, n, setMode, x, tf.exp);
  x.dispose();
  const s = median(ts.stock);
  const fmt = (m: Mode) => `${median(ts[m]).toFixed(median(ts[m]) < 10 ? 1 : 0)} µs (x${(s / median(ts[m])).toFixed(2)})`;
  console.log(
    `Exp [${shape}] (${tf.util.sizeFromShape(shape)} el): stock ${s.toFixed(s < 10 ? 1 : 0)} µs | split ${fmt('split')} | native 1 thread ${fmt('native1')} | native ${threads} threads ${fmt('native')}; ${n} interleaved calls each, medians; load ${load()}`,
  );
};
for (const shape of [[64], [512], [8192], [4, 64, 512]]) timeShape(shape, rounds * 5);
timeShape([128, 50257], Math.max(6, Math.floor(rounds / 4)));

const stepRounds = Number(values['step-rounds']);
if (stepRounds > 0) {
  const { run } = trainingStepTimer(values.shape, Number(values.steps));
  setMode('native');
  await run();
  const stepModes = ['split-measured', 'native'] as const;
  const wall: Record<string, number[]> = { 'split-measured': [], native: [] };
  const cpu: Record<string, number[]> = { 'split-measured': [], native: [] };
  for (let r = 0; r < stepRounds; r++) {
    for (const mode of r % 2 ? [...stepModes].reverse() : stepModes) {
      setMode(mode);
      const t = await run();
      wall[mode].push(...t.wall);
      cpu[mode].push(t.cpuPerStep);
    }
  }
  const ms = (xs: number[]) => `${median(xs).toFixed(2)} ms`;
  console.log(
    `${values.shape} training step, ${stepRounds} interleaved rounds of ${values.steps} steps, median wall (CPU all threads): ` +
      stepModes.map((m) => `${m === 'native' ? 'native Exp' : 'split Exp (measured choice)'} ${ms(wall[m])} (${ms(cpu[m])})`).join(' | ') +
      `; load ${load()}`,
  );
  console.log(`native Exp calls: ${nativeLibmStatus().calls}`);
}
