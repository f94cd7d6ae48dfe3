// The native SGEMM addon called directly (no tfjs, no wasm heap: one Float32Array), per product of
// one GPT-2 small LoRA step (1×128 tokens, r=8 on c_attn) or one tiny-llama step, on 1 and/or 2
// threads, for one or more builds of the addon, all interleaved round by round in one process.
// Prints per product: µs per call, GFLOP/s, and GFLOP per CPU second (process CPU time, every
// thread: on a shared machine less disturbed by other processes than wall time, and it shows what
// a second thread really adds), then the step's sum (calls × time).
//   npx tsx scripts/bench-native-matmul-direct.ts [--addon a.node --addon b.node] [--set gpt2|tiny]
//     [--threads 1,2] [--filter text] [--rounds 5] [--best] [--cold] [--policy adaptive|fixed]
// --best: the fastest round instead of the median. --cold: each call writes its output to another
// place in a 256 MiB heap (as a step's fresh allocations are), not into the same warm buffer.
// --policy fixed: every product over 0 flops split over the threads (default: the addon's own choice).
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { NativeSgemm } from '../src/engine/native-addon.js';
import { GPT2_STEP_PRODUCTS, productDims, productShapes, TINY_STEP_PRODUCTS, type StepProduct } from './lib/matmul-step-products.js';

const { values } = parseArgs({
  options: {
    addon: { type: 'string', multiple: true },
    set: { type: 'string', default: 'gpt2' },
    threads: { type: 'string', default: '1,2' },
    filter: { type: 'string', default: '' },
    rounds: { type: 'string', default: '5' },
    best: { type: 'boolean', default: false },
    cold: { type: 'boolean', default: false },
    policy: { type: 'string' },
  },
});

const addonPaths = values.addon?.length ? values.addon : [path.resolve('native/sgemm/build/Release/sgemm.node')];
const addons = addonPaths.map((p, i): [string, NativeSgemm] => {
  const m = { exports: {} as NativeSgemm };
  process.dlopen(m, path.resolve(p), os.constants.dlopen.RTLD_NOW);
  return [addonPaths.length > 1 ? String.fromCharCode(65 + i) : '', m.exports];
});
if (values.policy) {
  if (values.policy !== 'fixed' && values.policy !== 'adaptive') throw new Error(`--policy fixed|adaptive, not ${values.policy}`);
  for (const [, ad] of addons) {
    ad.setThreadPolicy?.(values.policy);
    ad.setMinParallelFlops?.(values.policy === 'fixed' ? 0 : 3e6);
  }
}
const threads = values.threads.split(',').map(Number);

// [label, calls per step, batch, M, N, K, transposeA, transposeB, order (0 chain, 1 48-k blocks)]:
// a batched product runs the stock kernels' 48-k blocks, a 2-D one their single chain.
type Product = [string, number, number, number, number, number, boolean, boolean, number];
const direct = (products: StepProduct[]): Product[] =>
  products.map((p) => {
    const { batch, M, N, K } = productDims(p);
    return [p[5] ?? productShapes(p), p[0], batch, M, N, K, p[3], p[4], batch > 1 ? 1 : 0];
  });
if (values.set !== 'gpt2' && values.set !== 'tiny') throw new Error(`--set gpt2|tiny, not ${values.set}`);
const products = direct(values.set === 'tiny' ? TINY_STEP_PRODUCTS : GPT2_STEP_PRODUCTS);

const heap = new Float32Array(64 << 20);
for (let i = 0; i < 1009; i++) heap[i] = ((i * 7919) % 1009) / 1009 - 0.5;
for (let n = 1009; n < heap.length; n *= 2) heap.copyWithin(n, 0, Math.min(n, heap.length - n));
const pick = (xs: number[]): number => (values.best ? Math.min(...xs) : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);
const loadavg = (): string => os.loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`load average ${loadavg()}; ${values.best ? 'best' : 'median'} of ${values.rounds} rounds${values.cold ? ', cold outputs' : ''}`);
const perStep: Record<string, number> = {};
for (const [label, calls, batch, M, N, K, ta, tb, order] of products) {
  if (values.filter && !label.includes(values.filter)) continue;
  const flops = 2 * batch * M * N * K;
  const aOff = 0;
  const bOff = batch * M * K + 64;
  const cOff = bOff + batch * K * N + 64;
  const cSpan = heap.length - cOff - batch * M * N;
  const reps = Math.max(1, Math.min(2000, Math.round(3e8 / flops)));
  const runs: Record<string, { wall: number[]; cpu: number[] }> = {};
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const [name, ad] of addons) {
      for (const t of threads) {
        ad.setThreads(t);
        ad.matmul(heap, aOff, bOff, cOff, batch, 1, 1, null, null, M, N, K, ta, tb, order, -1, 0, 0);
        const c0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < reps; i++) {
          const c = values.cold ? cOff + ((i * (batch * M * N + 4099)) % cSpan) : cOff;
          ad.matmul(heap, aOff, bOff, c, batch, 1, 1, null, null, M, N, K, ta, tb, order, -1, 0, 0);
        }
        const wall = Number(process.hrtime.bigint() - t0) / 1e3 / reps;
        const cpu = process.cpuUsage(c0);
        const e = (runs[`${name}${t}t`] ??= { wall: [], cpu: [] });
        e.wall.push(wall);
        e.cpu.push((cpu.user + cpu.system) / reps);
      }
    }
  }
  const cols = Object.entries(runs).map(([arm, e]) => {
    const wall = pick(e.wall);
    perStep[arm] = (perStep[arm] ?? 0) + calls * wall;
    return `${arm} ${wall.toFixed(1).padStart(8)} µs ${(flops / wall / 1e3).toFixed(0).padStart(4)} GFLOP/s ${(flops / pick(e.cpu) / 1e3).toFixed(0).padStart(4)}/CPU-s`;
  });
  console.log(`${label.padEnd(24)} ${String(calls).padStart(2)}× ${(flops / 1e6).toFixed(1).padStart(7)} MFLOP | ${cols.join(' | ')}`);
}
console.log(`per step (calls × time): ${Object.entries(perStep).map(([arm, us]) => `${arm} ${(us / 1000).toFixed(2)} ms`).join(', ')}; load average ${loadavg()}`);
