import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { loadNativeAddon, NATIVE_ADDON_PATH_ENV, resetNativeAddonCache } from '../../src/engine/native-addon.js';
import { broadcastBatchIndices, disableNativeMatmul, resolveNativeMatmulMode } from '../../src/engine/native-matmul.js';

const addon = loadNativeAddon();
// The addon is optional for users; CI builds it (the same toolchain better-sqlite3 needs), so there a failed build fails.
const skip = !addon.ok && process.env.CI !== 'true';
const why = addon.ok ? '' : ` [skipped: ${addon.reason}]`;

/** float64 reference: op(a)·op(b) with broadcast batch dims, then bias and activation. */
function reference(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean, bias?: tf.Tensor, act = 'linear', alpha = 0.2): { shape: number[]; data: Float64Array } {
  const av = a.dataSync();
  const bv = b.dataSync();
  const ra = a.rank;
  const rb = b.rank;
  const K = ta ? a.shape[ra - 2] : a.shape[ra - 1];
  const M = ta ? a.shape[ra - 1] : a.shape[ra - 2];
  const N = tb ? b.shape[rb - 2] : b.shape[rb - 1];
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const idx = broadcastBatchIndices(a.shape.slice(0, -2), b.shape.slice(0, -2), outer);
  const out = new Float64Array(idx.a.length * M * N);
  const shape = [...outer, M, N];
  const bb = bias ? tf.broadcastTo(bias, shape).dataSync() : null;
  for (let t = 0; t < idx.a.length; t++) {
    const oa = idx.a[t] * M * K;
    const ob = idx.b[t] * K * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += av[oa + (ta ? k * M + i : i * K + k)] * bv[ob + (tb ? j * K + k : k * N + j)];
        const o = (t * M + i) * N + j;
        if (bb) s += bb[o];
        if (act === 'relu') s = Math.max(s, 0);
        else if (act === 'relu6') s = Math.min(Math.max(s, 0), 6);
        else if (act === 'leakyrelu') s = s < 0 ? alpha * s : s;
        else if (act === 'sigmoid') s = 1 / (1 + Math.exp(-s));
        else if (act === 'elu') s = s > 0 ? s : Math.expm1(s);
        out[o] = s;
      }
    }
  }
  return { shape, data: out };
}

function expectClose(t: tf.Tensor, ref: { shape: number[]; data: Float64Array }, K: number): void {
  expect(t.shape).toEqual(ref.shape);
  const v = t.dataSync();
  // fp32 accumulation of K products of N(0,1) values: error grows like √K·ε·|terms|.
  const tol = 1e-5 * Math.max(1, Math.sqrt(K)) * 4;
  let worst = 0;
  for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(v[i] - ref.data[i]) / Math.max(1, Math.abs(ref.data[i])));
  expect(worst).toBeLessThan(tol);
}

let seed = 1;
const rnd = (shape: number[]) => tf.randomNormal(shape, 0, 1, 'float32', seed++);

test('runs default to auto (the native kernels when the addon built; results are bit-identical); the env var and flag override', () => {
  expect(resolveNativeMatmulMode(undefined, {})).toBe('auto');
  expect(resolveNativeMatmulMode(undefined, { LORA_STUDY_NATIVE_MATMUL: 'off' })).toBe('off');
  expect(resolveNativeMatmulMode(undefined, { LORA_STUDY_NATIVE_MATMUL: '' })).toBe('auto');
  expect(resolveNativeMatmulMode('on', { LORA_STUDY_NATIVE_MATMUL: 'off' })).toBe('on');
  expect(() => resolveNativeMatmulMode(undefined, { LORA_STUDY_NATIVE_MATMUL: 'fast' })).toThrow(/LORA_STUDY_NATIVE_MATMUL/);
});

describe.skipIf(skip)(`native matmul on the wasm backend${why}`, () => {
  beforeAll(async () => {
    const engine = await initEngine({ backend: 'wasm', threads: 2, nativeMatmul: 'on' });
    expect(engine.nativeMatmul?.used).toBe(true);
    expect(engine.device).toMatch(/native matmul \((avx512|avx2|portable)/);
  });
  afterAll(() => disableNativeMatmul());

  // [aShape, bShape, transposeA, transposeB]. Bit-equality with the stock kernels on odd shapes is
  // native-matmul-exact.test.ts; these are what the stock kernels cannot do (broadcasts of batch
  // dims other than one matrix against many) or do trivially (empty), against float64 math.
  const CASES: Array<[number[], number[], boolean, boolean]> = [
    [[13, 7], [17, 13], true, true],
    [[2, 1, 9, 4], [1, 3, 4, 6], false, false],
    [[3, 1, 5, 49], [1, 2, 49, 7], false, false],
    [[2, 1, 97, 9], [1, 3, 6, 97], true, true],
    [[0, 5], [5, 3], false, false],
    [[4, 0], [0, 3], false, false],
  ];

  test.each(CASES)('BatchMatMul %j · %j (transposeA %s, transposeB %s) equals the float64 reference', (as, bs, ta, tb) => {
    const a = rnd(as);
    const b = rnd(bs);
    const c = tf.matMul(a, b, ta, tb);
    expectClose(c, reference(a, b, ta, tb), ta ? as[as.length - 2] : as[as.length - 1]);
    tf.dispose([a, b, c]);
  });

  test.each([
    ['linear', [17]],
    ['relu', [17]],
    ['relu6', [1]],
    ['leakyrelu', [17]],
    ['sigmoid', []],
    ['elu', [17]],
    ['relu', [5, 17]],
    ['prelu', [17]],
  ] as Array<[string, number[]]>)('_FusedMatMul with %s and a bias of shape %j equals matmul + bias + activation', (activation, biasShape) => {
    const a = rnd([2, 5, 11]);
    const b = rnd([2, 11, 17]);
    const bias = rnd(biasShape);
    const prelu = activation === 'prelu' ? tf.fill([17], 0.3) : undefined;
    const c = tf.fused.matMul({ a, b, bias, activation: activation as 'relu', preluActivationWeights: prelu, leakyreluAlpha: 0.1 });
    const ref = reference(a, b, false, false, bias, activation === 'prelu' ? 'leakyrelu' : activation, activation === 'prelu' ? 0.3 : 0.1);
    expectClose(c, ref, 11);
    tf.dispose([a, b, bias, c, ...(prelu ? [prelu] : [])]);
  });

  test('matmuls and their gradients leave the tensor count flat', () => {
    const a = rnd([48, 24]);
    const w = rnd([32, 24]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.relu(tf.matMul(x, y, false, true))))([a, w]);
      expect(g[1].shape).toEqual([32, 24]);
      tf.dispose(g);
      tf.tidy(() => void tf.fused.matMul({ a, b: w, transposeB: true, bias: tf.ones([32]), activation: 'relu' }));
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, w]);
  });
});

describe('without the addon', () => {
  test('auto falls back to the stock wasm kernels and says why; on refuses with a hint', async () => {
    const saved = process.env[NATIVE_ADDON_PATH_ENV];
    process.env[NATIVE_ADDON_PATH_ENV] = '/nonexistent/lora-study-native';
    resetNativeAddonCache();
    try {
      const load = loadNativeAddon();
      expect(load.ok).toBe(false);
      expect(!load.ok && load.reason).toMatch(/did not load.*nonexistent/);
      const engine = await initEngine({ backend: 'wasm', threads: 1, nativeMatmul: 'auto' });
      expect(engine.nativeMatmul?.used).toBe(false);
      expect(engine.device).not.toMatch(/native/);
      await expect(initEngine({ backend: 'wasm', threads: 1, nativeMatmul: 'on' })).rejects.toThrow(/--native-matmul on: the native addon did not load/);
      const c = tf.matMul(tf.ones([3, 4]), tf.ones([4, 2]));
      expect(Array.from(c.dataSync())).toEqual([4, 4, 4, 4, 4, 4]);
    } finally {
      if (saved === undefined) delete process.env[NATIVE_ADDON_PATH_ENV];
      else process.env[NATIVE_ADDON_PATH_ENV] = saved;
      resetNativeAddonCache();
    }
  });

  test('a build left from an older checkout (another calling convention) is refused with how to rebuild', () => {
    const saved = process.env[NATIVE_ADDON_PATH_ENV];
    const dir = mkdtempSync(join(tmpdir(), 'stale-addon-'));
    const file = join(dir, 'stale.cjs');
    writeFileSync(file, "module.exports = { matmul() {}, setThreads: (n) => n, setKernel: () => true, info: () => ({ kernel: 'avx512', threads: 1, hardwareThreads: 1 }) };\n");
    process.env[NATIVE_ADDON_PATH_ENV] = file;
    resetNativeAddonCache();
    try {
      const load = loadNativeAddon();
      expect(load.ok).toBe(false);
      expect(!load.ok && load.reason).toMatch(/stale build \(API 1, this code needs 2\); run `npm rebuild lora-study-native`/);
    } finally {
      if (saved === undefined) delete process.env[NATIVE_ADDON_PATH_ENV];
      else process.env[NATIVE_ADDON_PATH_ENV] = saved;
      resetNativeAddonCache();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
