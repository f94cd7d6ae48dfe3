import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { applyNativeOps, disableNativeOps, enableNativeOps, loadNativeOps, NATIVE_OPS_API, nativeOpsEnabled, type NativeOpsAddon } from '../../src/engine/native-ops.js';
import { NATIVE_ADDON_PATH_ENV } from '../../src/engine/native-addon.js';
import { promptMasked, tinyLoraRun } from '../helpers/tiny-lora-run.js';

const load = loadNativeOps();
// The addon is optional for users; CI builds it (the same toolchain better-sqlite3 needs), so there a failed build fails.
const skip = !load.ok && process.env.CI !== 'true';
const why = load.ok ? '' : ` [skipped: ${load.reason}]`;

/** The bits of a tensor's values (float32/int32 as uint32, bool as bytes), its shape and dtype. */
function bits(t: tf.Tensor): { shape: number[]; dtype: string; bits: number[] } {
  const v = t.dataSync();
  const u = t.dtype === 'bool' ? Array.from(v as Uint8Array) : Array.from(new Uint32Array(Float32Array.from(v as Float32Array).buffer.slice(0)));
  if (t.dtype === 'int32') return { shape: t.shape, dtype: t.dtype, bits: Array.from(new Uint32Array(Int32Array.from(v as Int32Array).buffer)) };
  return { shape: t.shape, dtype: t.dtype, bits: u };
}

/** Runs `f` on the stock kernels and on the native ones; returns both results' bits. */
function both(f: () => tf.Tensor | tf.Tensor[], threads = 2): { stock: ReturnType<typeof bits>[]; native: ReturnType<typeof bits>[] } {
  const run = () => {
    const before = tf.memory().numTensors;
    const r = tf.tidy(f);
    const list = Array.isArray(r) ? r : [r];
    const out = list.map(bits);
    tf.dispose(list);
    expect(tf.memory().numTensors).toBe(before);
    return out;
  };
  disableNativeOps();
  const stock = run();
  enableNativeOps((load as { addon: NativeOpsAddon }).addon, threads);
  const native = run();
  disableNativeOps();
  return { stock, native };
}

function expectSame(f: () => tf.Tensor | tf.Tensor[], label: string): void {
  for (const threads of [1, 2]) {
    const { stock, native } = both(f, threads);
    expect(native.length, label).toBe(stock.length);
    for (let i = 0; i < stock.length; i++) {
      expect(native[i].shape, label).toEqual(stock[i].shape);
      expect(native[i].dtype, label).toBe(stock[i].dtype);
      const s = stock[i].bits;
      const n = native[i].bits;
      let firstDiff = -1;
      for (let j = 0; j < s.length; j++) if (s[j] !== n[j]) { firstDiff = j; break; }
      expect(firstDiff, `${label} (threads ${threads}): first differing element ${firstDiff}: stock 0x${s[firstDiff]?.toString(16)} native 0x${n[firstDiff]?.toString(16)}`).toBe(-1);
      expect(n.length).toBe(s.length);
    }
  }
}

// Deterministic values with specials mixed in: NaN, ±Inf, -0, subnormals, huge/tiny magnitudes.
let seed = 12345;
function rand(): number {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed / 2 ** 32;
}
function floats(shape: number[], specials = true): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  const sp = [Number.NaN, Infinity, -Infinity, -0, 0, 1e-40, -1e-42, 3e38, -3e38, 1e-30];
  for (let i = 0; i < n; i++) {
    const r = rand();
    v[i] = specials && r < 0.08 ? sp[Math.floor(rand() * sp.length)] : (rand() - 0.5) * 10 ** Math.floor(rand() * 8 - 4);
  }
  return tf.tensor(v, shape, 'float32');
}
function ints(shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Int32Array(n);
  for (let i = 0; i < n; i++) v[i] = rand() < 0.1 ? [2147483647, -2147483648, 65536, -65537][Math.floor(rand() * 4)] : Math.floor((rand() - 0.5) * 2000);
  return tf.tensor(v, shape, 'int32');
}
function bools(shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Array.from({ length: n }, () => rand() < 0.5), shape, 'bool');
}

// Every broadcast pattern: equal shapes, scalar either side, size-1 dims on either/both sides, rank mismatch, primes, empty.
const BROADCAST_PAIRS: Array<[number[], number[]]> = [
  [[], []], [[1], [1]], [[7], []], [[], [7]], [[13], [13]], [[3, 5], [3, 5]], [[3, 5], [5]], [[5], [3, 5]],
  [[3, 1], [1, 5]], [[1, 5], [3, 1]], [[3, 5], [3, 1]], [[3, 1], [3, 5]], [[2, 3, 5], [3, 1]], [[1, 3, 1], [2, 1, 5]],
  [[2, 1, 7, 1], [1, 3, 1, 5]], [[4, 64, 64], [64]], [[4, 64, 64], [4, 64, 1]], [[4, 4, 64, 16], [4, 1, 64, 16]],
  [[4, 63, 1], [4, 63, 512]], [[2, 2, 1, 1, 3], [1, 1, 5, 7, 1]], [[1], [3, 5]], [[1, 1], [1]], [[0, 3], [3]],
  [[257, 263], [263]], [[300, 1], [300, 301]],
];

describe.skipIf(skip)(`native non-matmul kernels are bit-identical to the stock wasm ones${why}`, () => {
  beforeAll(async () => {
    // Stock matmul: these tests are about the other kernels (each switches them on and off itself).
    await initEngine({ backend: 'wasm', threads: 2, nativeMatmul: 'off' });
    expect(tf.getBackend()).toBe('wasm');
  });
  afterAll(() => disableNativeOps());

  test('enable registers every kernel and disable puts the stock ones back', () => {
    enableNativeOps((load as { addon: NativeOpsAddon }).addon, 2);
    expect(nativeOpsEnabled().sort()).toEqual(['Add', 'ArgMax', 'ArgMin', 'Concat', 'GatherV2', 'Max', 'Mean', 'Multiply', 'Neg', 'PadV2', 'RealDiv', 'Slice', 'SplitV', 'Square', 'Sub', 'Sum', 'Tile', 'Transpose']);
    disableNativeOps();
    expect(nativeOpsEnabled()).toEqual([]);
  });

  test('they follow --native-matmul; LORA_STUDY_NATIVE_OPS sets them apart (on/off) and rejects other values', () => {
    expect(applyNativeOps('auto', 2, {}).length).toBe(18);
    expect(applyNativeOps('off', 2, {})).toEqual([]);
    expect(applyNativeOps('off', 2, { LORA_STUDY_NATIVE_OPS: 'on' }).length).toBe(18);
    expect(applyNativeOps('on', 2, { LORA_STUDY_NATIVE_OPS: 'off' })).toEqual([]);
    expect(nativeOpsEnabled()).toEqual([]);
    expect(() => applyNativeOps('auto', 2, { LORA_STUDY_NATIVE_OPS: 'yes' })).toThrow(/LORA_STUDY_NATIVE_OPS must be on or off/);
  });

  test('Add, Sub, Multiply, RealDiv: float32 with NaN/Inf/-0/subnormals over every broadcast pattern', () => {
    for (const [sa, sb] of BROADCAST_PAIRS) {
      const a = floats(sa);
      const b = floats(sb);
      for (const op of ['add', 'sub', 'mul', 'div'] as const) expectSame(() => tf[op](a, b), `${op} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`);
      tf.dispose([a, b]);
    }
  });

  test('Add, Sub, Multiply: int32 (wrapping) and bool over broadcast patterns', () => {
    for (const [sa, sb] of BROADCAST_PAIRS) {
      const a = ints(sa);
      const b = ints(sb);
      for (const op of ['add', 'sub', 'mul'] as const) expectSame(() => tf[op](a, b), `int32 ${op} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`);
      tf.dispose([a, b]);
      const p = bools(sa);
      const q = bools(sb);
      // tf.add/sub/mul keep bool for bool inputs on the wasm kernel; call the kernels directly.
      for (const k of ['Add', 'Sub', 'Multiply']) expectSame(() => tf.engine().runKernel(k, { a: p, b: q }) as tf.Tensor, `bool ${k} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`);
      tf.dispose([p, q]);
    }
  });

  test('large calls split over threads give the same bits (and int32 RealDiv falls back to stock)', () => {
    const a = floats([3, 70001]);
    const b = floats([70001]);
    const c = floats([3, 1]);
    expectSame(() => tf.mul(a, b), 'mul large');
    expectSame(() => tf.add(a, c), 'add large column broadcast');
    expectSame(() => tf.div(b, a), 'div large');
    const i = ints([5]);
    const j = tf.tensor([1, 2, 3, 4, 5], [5], 'int32');
    expectSame(() => tf.engine().runKernel('RealDiv', { a: i, b: j }) as tf.Tensor, 'int32 RealDiv (stock)');
    tf.dispose([a, b, c, i, j]);
  });

  test('Neg and Square', () => {
    for (const shape of [[], [1], [7], [3, 5], [200003]]) {
      const x = floats(shape);
      expectSame(() => tf.neg(x), `neg ${shape}`);
      expectSame(() => tf.square(x), `square ${shape}`);
      const i = ints(shape);
      expectSame(() => tf.square(i), `int32 square ${shape}`);
      expectSame(() => tf.neg(i), `int32 neg ${shape} (stock)`);
      tf.dispose([x, i]);
    }
  });

  const REDUCTIONS: Array<[number[], number | number[] | undefined]> = [
    [[], undefined], [[1], 0], [[7], 0], [[7], undefined], [[3, 5], 0], [[3, 5], 1], [[3, 5], [0, 1]], [[3, 5], [1, 0]],
    [[2, 3, 5], 1], [[2, 3, 5], [0, 2]], [[2, 3, 5], [2, 0]], [[2, 3, 5], [-1, -2]], [[4, 1, 5], 1], [[1, 127, 50257], -1],
    [[1, 128, 768], -1], [[128, 768], 0], [[1, 12, 1, 128, 128], -1], [[1000, 37], 0], [[37, 1000], 1], [[3, 4, 5, 6], [1, 3]],
    [[6000, 40], 0], [[2, 70001], 1], [[70001, 2], 0], [[2, 3, 4, 5, 6], [4, 1, 2]],
  ];

  test('Sum, Mean, Max keep the stock accumulation order (float32; int32 for Sum and Max; keepDims)', () => {
    for (const [shape, axis] of REDUCTIONS) {
      const x = floats(shape, false);
      const xs = floats(shape, true);
      for (const keepDims of [false, true]) {
        const label = `${JSON.stringify(shape)} axis ${JSON.stringify(axis)} keepDims ${keepDims}`;
        expectSame(() => tf.sum(x, axis, keepDims), `sum ${label}`);
        expectSame(() => tf.mean(x, axis, keepDims), `mean ${label}`);
        expectSame(() => tf.max(x, axis, keepDims), `max ${label}`);
        expectSame(() => tf.sum(xs, axis, keepDims), `sum with NaN/Inf/-0 ${label}`);
        expectSame(() => tf.max(xs, axis, keepDims), `max with NaN/Inf/-0 ${label}`);
      }
      const i = ints(shape);
      expectSame(() => tf.sum(i, axis), `int32 sum ${JSON.stringify(shape)} ${JSON.stringify(axis)}`);
      expectSame(() => tf.max(i, axis), `int32 max ${JSON.stringify(shape)} ${JSON.stringify(axis)}`);
      tf.dispose([x, xs, i]);
    }
    // ArgMax/ArgMin: ties (first wins), NaN (never wins unless first), int32 and bool.
    for (const [shape, axis] of [[[7], 0], [[3, 5], 0], [[3, 5], 1], [[2, 3, 5], 1], [[4, 1, 5], -1], [[127, 5003], 1], [[300, 7], 0]] as Array<[number[], number]>) {
      const f = floats(shape);
      const t = tf.round(tf.mul(floats(shape, false), 0.01));
      const i = ints(shape);
      const b = bools(shape);
      for (const op of ['argMax', 'argMin'] as const) {
        for (const v of [f, t, i, b]) expectSame(() => tf[op](v, axis), `${op} ${v.dtype} ${JSON.stringify(shape)} axis ${axis}`);
      }
      tf.dispose([f, t, i, b]);
    }
    const nanFirst = tf.tensor([Number.NaN, 3, 5, 1, Number.NaN, 2], [2, 3]);
    expectSame(() => tf.argMax(nanFirst, 1), 'argMax NaN first');
    expectSame(() => tf.argMin(nanFirst, 0), 'argMin NaN');
    nanFirst.dispose();
    // Signed zeros: a sum starts from +0; max keeps the first of equal values.
    const z = tf.tensor([-0, -0, 0, -0, -0, 0], [2, 3]);
    for (const axis of [0, 1, undefined]) {
      expectSame(() => tf.sum(z, axis), `sum -0 ${axis}`);
      expectSame(() => tf.max(z, axis), `max ±0 ${axis}`);
    }
    z.dispose();
  });

  test('Transpose, Slice, SplitV, Concat, GatherV2 on float32, int32 and bool', () => {
    const makers = [floats, ints, bools];
    for (const make of makers) {
      const x = make([2, 3, 5, 7]);
      for (const perm of [[0, 1, 3, 2], [3, 2, 1, 0], [1, 0, 2, 3], [2, 0, 3, 1]]) expectSame(() => tf.transpose(x, perm), `transpose ${x.dtype} ${perm}`);
      const y = make([1, 3, 1, 5]);
      expectSame(() => tf.transpose(y, [2, 0, 1, 3]), `transpose size-1 no-op ${y.dtype}`);
      expectSame(() => tf.transpose(y, [0, 3, 2, 1]), `transpose size-1 ${y.dtype}`);
      expectSame(() => tf.slice(x, [1, 0, 2, 3], [1, 3, 2, 4]), `slice ${x.dtype}`);
      expectSame(() => tf.slice(x, [0, 1], [-1, 2]), `slice partial begin ${x.dtype}`);
      expectSame(() => tf.slice(x, [1, 1, 1, 1], [1, 1, 1, 1]), `slice 1-element ${x.dtype}`);
      expectSame(() => tf.split(x, [1, 3, 0, 1], 2), `splitV ${x.dtype}`);
      expectSame(() => tf.split(x, 7, -1), `split ${x.dtype}`);
      const z = make([2, 3, 2, 7]);
      const e = make([2, 3, 0, 7]);
      expectSame(() => tf.concat([x, z, e, x], 2), `concat ${x.dtype}`);
      expectSame(() => tf.concat([x, x], 0), `concat axis 0 ${x.dtype}`);
      expectSame(() => tf.concat([x, e], 2), `concat with one non-empty ${x.dtype}`);
      const idx = tf.tensor([4, 0, 0, 2, 3, 1, 4], [7], 'int32');
      const idx2 = tf.tensor([[1, 0], [1, 1], [0, 1]], [3, 2], 'int32');
      expectSame(() => tf.gather(x, idx, 2), `gather axis 2 ${x.dtype}`);
      expectSame(() => tf.gather(x, idx2, 0), `gather 2-D indices axis 0 ${x.dtype}`);
      expectSame(() => tf.gather(x, idx2, -1), `gather last axis ${x.dtype}`);
      for (const c of [0, 1.5, -7, Number.NaN, 1e-45, -0, 3e9]) {
        expectSame(() => tf.pad(x, [[0, 0], [1, 2], [0, 0], [3, 0]], c), `pad ${x.dtype} constant ${c}`);
      }
      expectSame(() => tf.pad(x, [[1, 1], [0, 0], [0, 0], [0, 0]]), `pad leading ${x.dtype}`);
      expectSame(() => tf.tile(x, [2, 1, 3, 1]), `tile ${x.dtype}`);
      expectSame(() => tf.tile(y, [1, 2, 4, 1]), `tile size-1 dims ${y.dtype}`);
      expectSame(() => tf.tile(x, [1, 1, 1, 1]), `tile once ${x.dtype}`);
      tf.dispose([x, y, z, e, idx, idx2]);
    }
    const big = floats([300, 1031]);
    expectSame(() => tf.transpose(big), 'transpose large');
    expectSame(() => tf.split(big, [100, 931], 1), 'split large');
    expectSame(() => tf.concat([big, big], 1), 'concat large');
    const logits = floats([4, 63, 512]);
    expectSame(() => tf.pad(logits, [[0, 0], [0, 1], [0, 0]]), 'pad labels row');
    logits.dispose();
    const emb = floats([5000, 64]);
    const ids = tf.tensor(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 5000), [4, 1024], 'int32');
    expectSame(() => tf.gather(emb, ids), 'gather embedding rows');
    tf.dispose([big, emb, ids]);
  });

  test('GatherV2 with an out-of-range index throws the stock error and leaks nothing', () => {
    const x = floats([4, 3]);
    const idx = tf.tensor([1, 4], [2], 'int32');
    enableNativeOps((load as { addon: NativeOpsAddon }).addon, 2);
    try {
      const before = tf.memory().numTensors;
      expect(() => tf.gather(x, idx)).toThrow('GatherV2: the index value 4 is not in [0, 3]');
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      disableNativeOps();
      tf.dispose([x, idx]);
    }
  });

  test('a tiny-llama LoRA run has bit-identical per-step losses and LoRA weights with and without the native kernels', async () => {
    const examples = [[10, 11, 12, 40, 41, 42, 43, 200], [20, 21, 22, 50, 51, 200], [30, 31, 32, 33, 60, 61, 62, 63, 64, 200], [9, 8, 7, 70, 200]].map(promptMasked);
    const run = async (native: boolean) => {
      if (native) enableNativeOps((load as { addon: NativeOpsAddon }).addon, 2);
      try {
        return await tinyLoraRun({ modelType: 'llama', lora: { r: 8, lora_alpha: 16 }, config: { maxSteps: 6, learningRate: 4e-3 }, examples });
      } finally {
        disableNativeOps();
      }
    };
    const stock = await run(false);
    const native = await run(true);
    expect(stock.losses.length).toBe(6);
    expect(native.losses).toEqual(stock.losses);
    expect(native.weights).toEqual(stock.weights);
    expect(native.grew).toBe(stock.grew);
  });
});

describe('ops addon loading', () => {
  test('a stale build (older calling convention) and a missing one are refused with the reason; the cache follows the path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lora-ops-stale-'));
    writeFileSync(join(dir, 'index.cjs'), 'module.exports = {};\n');
    writeFileSync(join(dir, 'ops.cjs'), 'module.exports = { binary() {}, setThreads() { return 1; } };\n');
    try {
      vi.stubEnv(NATIVE_ADDON_PATH_ENV, join(dir, 'index.cjs'));
      const stale = loadNativeOps();
      expect(stale.ok).toBe(false);
      expect(!stale.ok && stale.reason).toContain(`stale build (API 1, this code needs ${NATIVE_OPS_API}); run \`npm rebuild lora-study-native\``);
      vi.stubEnv(NATIVE_ADDON_PATH_ENV, '/nonexistent/lora-study-native');
      const missing = loadNativeOps();
      expect(!missing.ok && missing.reason).toMatch(/did not load.*nonexistent/);
    } finally {
      vi.unstubAllEnvs();
    }
    expect(loadNativeOps().ok).toBe(load.ok);
  });
});
