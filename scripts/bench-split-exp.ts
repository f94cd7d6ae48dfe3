// In-process A/B of the split wasm Exp (src/engine/wasm-split-unary.ts, the fallback of the native
// Exp, which this script takes off) against the stock kernel:
// µs per call on the tiny-llama log-softmax shape and GPT-2's vocabulary logits, stock and split
// interleaved call by call (the machine is shared: load average printed), then a size sweep for
// the threshold, then whole training steps of a bench shape with each way, interleaved round by round.
//   npx tsx scripts/bench-split-exp.ts [--rounds 40] [--sweep] [--shape tiny-llama] [--step-rounds 6] [--steps 12]
import os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../src/engine/backend.js';
import { disableNativeLibm } from '../src/engine/native-libm.js';
import { enableSplitUnary, splitUnaryStatus } from '../src/engine/wasm-split-unary.js';
import { interleavedCalls, median } from './lib/interleaved-calls.js';
import { waitForSplitWorkers } from './lib/split-workers.js';
import { trainingStepTimer } from './lib/training-step-timer.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '40' },
    sweep: { type: 'boolean', default: false },
    shape: { type: 'string', default: 'tiny-llama' },
    'step-rounds': { type: 'string', default: '6' },
    steps: { type: 'string', default: '12' },
  },
});
const rounds = Number(values.rounds);
const engine = await initEngine({ backend: 'wasm', threads: 2, nativeMatmul: 'auto' });
// The split against the stock kernel: the native Exp (where it runs) taken off first, so that the split stacks on the stock one.
disableNativeLibm();
type Mode = 'stock' | 'split' | 'measured';
const setMode = (m: Mode) => enableSplitUnary({ threads: 2, minElements: m === 'stock' ? Infinity : 1, choose: m === 'measured' ? 'measured' : 'split' });
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`${engine.device}; load average ${load()}`);
setMode('split');
// Start the workers and wait for them (the first calls go to the stock kernel meanwhile).
console.log(`split: ${JSON.stringify(await waitForSplitWorkers())}`);
const timeShape = (shape: number[], n: number) => {
  const x = tf.randomNormal(shape, 0, 4);
  const ts = interleavedCalls(['stock', 'split', 'measured'] as const, n, setMode, x, tf.exp);
  x.dispose();
  const a = median(ts.stock);
  const b = median(ts.split);
  const c = median(ts.measured);
  console.log(
    `Exp [${shape}] (${tf.util.sizeFromShape(shape)} el): stock ${a.toFixed(0)} µs, split ${b.toFixed(0)} µs (x${(a / b).toFixed(2)}), ` +
      `measured choice ${c.toFixed(0)} µs (x${(a / c).toFixed(2)}); ${n} interleaved calls each, medians; load ${load()}`,
  );
};
timeShape([4, 64, 512], rounds * 5);
console.log(JSON.stringify(splitUnaryStatus()));
timeShape([128, 50257], Math.max(6, Math.floor(rounds / 4)));
if (values.sweep) for (const n of [8192, 16384, 24576, 32768, 49152, 65536]) timeShape([n], rounds * 5);
setMode('measured');

const stepRounds = Number(values['step-rounds']);
if (stepRounds > 0) {
  const { run } = trainingStepTimer(values.shape, Number(values.steps));
  setMode('measured');
  await run();
  const wall: Record<Mode, number[]> = { stock: [], split: [], measured: [] };
  const cpu: Record<Mode, number[]> = { stock: [], split: [], measured: [] };
  const picks = { split: 0, stock: 0 };
  const orders: Mode[][] = [['stock', 'split', 'measured'], ['measured', 'split', 'stock'], ['split', 'measured', 'stock']];
  for (let r = 0; r < stepRounds; r++) {
    for (const mode of orders[r % 3]) {
      setMode(mode);
      const before = splitUnaryStatus();
      const t = await run();
      const after = splitUnaryStatus();
      if (mode === 'measured') picks.split += after.calls - before.calls, (picks.stock += after.stockCalls - before.stockCalls);
      wall[mode].push(...t.wall);
      cpu[mode].push(t.cpuPerStep);
    }
  }
  const ms = (xs: number[]) => `${median(xs).toFixed(2)} ms`;
  console.log(`measured choice in its rounds: ${picks.split} calls split, ${picks.stock} stock`);
  console.log(
    `${values.shape} training step, ${stepRounds} interleaved rounds of ${values.steps} steps, median wall (CPU all threads): ` +
      (['stock', 'split', 'measured'] as const).map((m) => `${m} ${ms(wall[m])} (${ms(cpu[m])})`).join(' | ') +
      `; load ${load()}`,
  );
  console.log(JSON.stringify(splitUnaryStatus()));
}
