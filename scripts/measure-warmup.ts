// Where a fresh process's training step spends its warm-up: one bench shape (default bench --quick's
// tiny llama, SHAPE=N for BENCH_SHAPES[N]) trained STEPS steps (default 100) as bench trains it, right
// after initEngine, and per window of WINDOW steps (default 10): wall ms/step (bench's own msFwdBwd +
// msOptimizer), process CPU ms/step, minor page faults/step, and CPU ms/step of the main (JS) thread
// against all other threads (V8's compile/GC workers and the kernel pool; Linux schedstat); and, with
// TRACE=1, V8's TurboFan compiles and deopts per window (the script reruns itself under
// --trace-opt --trace-deopt and counts the trace's lines between step marks) with the functions
// compiled after the first window.
//   npx tsx scripts/measure-warmup.ts          (env SHAPE, STEPS, WINDOW, THREADS (default 2), WRAP=1, TRACE=1)
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../src/engine/backend.js';
import { BENCH_SHAPES, BENCH_TRAIN } from '../src/evaluation/bench-shapes.js';
import { train } from '../src/training/trainer.js';
import { benchLoraSetup } from './lib/training-step-timer.js';

const STEPS = Number(process.env.STEPS ?? 100);
const WINDOW = Number(process.env.WINDOW ?? 10);
const MARK = '@warmup-step';
const load = (): string => os.loadavg().map((x) => x.toFixed(2)).join(' ');

if (process.env.TRACE === '1') {
  const child = spawnSync(process.execPath, ['--trace-opt', '--trace-deopt', '--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, TRACE: '', WARMUP_MARK: '1' },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  let step = 0;
  const compiles = new Map<number, number>();
  const deopts = new Map<number, number>();
  const late: string[] = [];
  for (const line of child.stdout.split('\n')) {
    if (line.startsWith(MARK)) {
      step = Number(line.slice(MARK.length + 1));
      continue;
    }
    const w = Math.floor(step / WINDOW);
    if (line.startsWith('[completed compiling')) {
      compiles.set(w, (compiles.get(w) ?? 0) + 1);
      const fn = /<JSFunction (\S+)/.exec(line)?.[1] ?? '?';
      const ms = /took [\d.]+, ([\d.]+)/.exec(line)?.[1] ?? '?';
      if (step >= WINDOW) late.push(`${step}:${fn}(${ms} ms)`);
    } else if (line.startsWith('[bailout (kind: deopt')) deopts.set(w, (deopts.get(w) ?? 0) + 1);
    else if (/^(steps |bench's |\S+, \d+ steps after)/.test(line)) console.log(line);
  }
  const windows = Math.ceil(STEPS / WINDOW);
  for (let w = 0; w <= windows; w++) {
    const label = w === 0 ? `before step ${WINDOW + 1}` : `steps ${w * WINDOW + 1}-${Math.min((w + 1) * WINDOW, STEPS)}`;
    if (w < windows || compiles.get(w) || deopts.get(w)) console.log(`${label.padEnd(16)} TurboFan compiles ${compiles.get(w) ?? 0}, deopts ${deopts.get(w) ?? 0}`);
  }
  console.log(`compiled after step ${WINDOW} (step:function(ms of the background phase)): ${late.join(' ')}`);
  process.exit(child.status ?? 1);
}

/** CPU ms each thread of this process has run so far (Linux schedstat), keyed main / other. */
function threadCpu(): { main: number; other: number } | null {
  try {
    let main = 0;
    let other = 0;
    for (const tid of readdirSync('/proc/self/task')) {
      let ns = 0;
      try {
        ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        continue; // the thread ended
      }
      if (tid === String(process.pid)) main += ns / 1e6;
      else other += ns / 1e6;
    }
    return { main, other };
  } catch {
    return null;
  }
}

await initEngine({ backend: 'wasm', threads: Number(process.env.THREADS ?? 2) });
const shape = BENCH_SHAPES[Number(process.env.SHAPE ?? 0)];
const { model, lora, examples } = benchLoraSetup(shape, STEPS);

// WRAP=1: wall ms inside the backend's kernelFuncs (outermost calls only: a fused kernel's nested
// calls count once), the rest of the step being tfjs-core's engine, the tape and our JS.
let kernelMs = 0;
if (process.env.WRAP === '1') {
  let depth = 0;
  for (const k of tf.getKernelsForBackend(tf.getBackend())) {
    const f = k.kernelFunc;
    (k as { kernelFunc: tf.KernelFunc }).kernelFunc = (args) => {
      if (depth++ > 0) {
        try { return f(args); } finally { depth--; }
      }
      const t = performance.now();
      try { return f(args); } finally { depth--; kernelMs += performance.now() - t; }
    };
  }
}

type Row = { wall: number; cpu: number; faults: number; main: number; other: number; kernel: number };
const rows: Row[] = [];
let cpu0 = process.cpuUsage();
let faults0 = process.resourceUsage().minorPageFault;
let threads0 = threadCpu();
let kernel0 = 0;
const mark = process.env.WARMUP_MARK === '1';
await train({
  model,
  variables: lora.variables,
  examples,
  padId: 0,
  onStep: (rec) => {
    if (mark) console.log(`${MARK} ${rec.step}`);
    const cpu = process.cpuUsage(cpu0);
    const faults = process.resourceUsage().minorPageFault;
    const threads = threadCpu();
    rows.push({
      wall: rec.msFwdBwd + rec.msOptimizer,
      cpu: (cpu.user + cpu.system) / 1000,
      faults: faults - faults0,
      main: threads && threads0 ? threads.main - threads0.main : Number.NaN,
      other: threads && threads0 ? threads.other - threads0.other : Number.NaN,
      kernel: kernelMs - kernel0,
    });
    cpu0 = process.cpuUsage();
    faults0 = process.resourceUsage().minorPageFault;
    threads0 = threadCpu();
    kernel0 = kernelMs;
  },
  config: {
    ...BENCH_TRAIN, maxSteps: STEPS, microBatchSize: shape.batchSize, gradientAccumulationSteps: 1,
    maxSeqLen: shape.seqLen, warmupSteps: 0, scheduler: 'constant', seed: 0,
  },
});

console.log(`${shape.name}, ${STEPS} steps after initEngine (load ${load()}); per step, mean over each window:`);
for (let i = 0; i < rows.length; i += WINDOW) {
  const w = rows.slice(i, i + WINDOW);
  const m = (k: keyof Row): string => (w.reduce((a, r) => a + r[k], 0) / w.length).toFixed(2).padStart(6);
  console.log(`steps ${`${i + 1}-${i + w.length}`.padEnd(8)} wall ${m('wall')} ms  cpu ${m('cpu')} ms (main ${m('main')}, other threads ${m('other')})  minor faults ${m('faults')}${process.env.WRAP === '1' ? `  in kernels ${m('kernel')} ms` : ''}`);
}
const timed = rows.slice(2);
const tail = rows.slice(Math.floor(rows.length / 2));
const mean = (r: Row[]): number => r.reduce((a, x) => a + x.wall, 0) / r.length;
console.log(`bench's mean (steps 3-${rows.length}) ${mean(timed).toFixed(3)} ms/step; last half ${mean(tail).toFixed(3)}; load ${load()}`);
