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

// [label, calls per step, batch, M, N, K, transposeA, transposeB, order (0 chain, 1 48-k blocks)]
type Product = [string, number, number, number, number, number, boolean, boolean, number];
const GPT2: Product[] = [
  ['head x·Wᵀ', 1, 1, 128, 50257, 768, false, true, 0],
  ['head dX dY·W', 1, 1, 128, 768, 50257, false, false, 0],
  ['c_attn x·Wᵀ', 12, 1, 128, 2304, 768, false, true, 0],
  ['c_attn dX', 11, 1, 128, 768, 2304, false, false, 0],
  ['c_proj x·Wᵀ', 12, 1, 128, 768, 768, false, true, 0],
  ['c_proj dX', 12, 1, 128, 768, 768, false, false, 0],
  ['mlp fc x·Wᵀ', 12, 1, 128, 3072, 768, false, true, 0],
  ['mlp fc dX', 12, 1, 128, 768, 3072, false, false, 0],
  ['mlp proj x·Wᵀ', 12, 1, 128, 768, 3072, false, true, 0],
  ['mlp proj dX', 12, 1, 128, 3072, 768, false, false, 0],
  ['attn q·kᵀ, dP ×12', 24, 12, 128, 128, 64, false, true, 1],
  ['attn p·v, dQ ×12', 24, 12, 128, 64, 128, false, false, 1],
  ['attn dV, dK ×12', 24, 12, 128, 64, 128, true, false, 1],
  ['lora x·Aᵀ', 12, 1, 128, 8, 768, false, true, 0],
  ['lora h·Bᵀ', 12, 1, 128, 2304, 8, false, true, 0],
  ['lora dB dYᵀ·h', 12, 1, 2304, 8, 128, true, false, 0],
  ['lora dA dhᵀ·x', 12, 1, 8, 768, 128, true, false, 0],
  ['lora dh dY·B', 12, 1, 128, 8, 2304, false, false, 0],
  ['lora dX dh·A', 11, 1, 128, 768, 8, false, false, 0],
];
// One tiny-llama step (hidden 64, batch 4×64, r=8 on q_proj/v_proj): [calls, a, b, transposeA, transposeB].
const TINY_STEP: Array<[number, number[], number[], boolean, boolean]> = [
  [4, [256, 64], [64, 64], false, true], [3, [256, 64], [64, 64], false, false],
  [4, [256, 128], [128, 64], false, false], [4, [256, 64], [128, 64], false, true],
  [2, [256, 128], [64, 128], false, true], [2, [256, 64], [64, 128], false, false],
  [1, [256, 64], [512, 64], false, true], [1, [256, 512], [512, 64], false, false],
  [4, [256, 64], [32, 64], false, true], [4, [256, 64], [8, 64], false, true],
  [2, [256, 32], [32, 64], false, false], [2, [256, 32], [32, 8], false, false],
  [2, [256, 64], [64, 8], false, false], [2, [256, 8], [8, 64], false, false],
  [2, [256, 8], [64, 8], false, true], [2, [256, 8], [32, 8], false, true],
  [4, [256, 8], [256, 64], true, false], [2, [256, 64], [256, 8], true, false], [2, [256, 32], [256, 8], true, false],
  [4, [4, 2, 128, 64], [4, 2, 64, 16], false, false], [4, [4, 2, 128, 16], [4, 2, 64, 16], false, true],
  [3, [4, 2, 128, 64], [4, 2, 128, 16], true, false],
];
const TINY: Product[] = TINY_STEP.map(([calls, a, b, ta, tb]) => {
  const r = a.length;
  const batch = a.slice(0, -2).reduce((x, y) => x * y, 1);
  const M = ta ? a[r - 1] : a[r - 2];
  const K = ta ? a[r - 2] : a[r - 1];
  const N = tb ? b[b.length - 2] : b[b.length - 1];
  return [`${a.join('x')}${ta ? 'ᵀ' : ''}·${b.join('x')}${tb ? 'ᵀ' : ''}`, calls, batch, M, N, K, ta, tb, batch > 1 ? 1 : 0];
});
if (values.set !== 'gpt2' && values.set !== 'tiny') throw new Error(`--set gpt2|tiny, not ${values.set}`);
const products = values.set === 'tiny' ? TINY : GPT2;

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
