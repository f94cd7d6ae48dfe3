// The native matmul must give the stock wasm kernels' float bits exactly (not within a tolerance):
// the bundled rank study's r=16/32 runs are chaotic, and the old FMA kernel's last-bit differences
// moved their eval losses by 0.3. Each case runs the same operands through the stock kernels
// (as this project registers them: BatchMatMul behind wasm-matmul-transpose.ts) and the native ones.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { loadNativeAddon } from '../../src/engine/native-addon.js';
import { applyNativeMatmul, disableNativeMatmul } from '../../src/engine/native-matmul.js';
import { promptMasked, tinyLoraRun } from '../helpers/tiny-lora-run.js';

const addon = loadNativeAddon();
// The addon is optional for users; CI builds it (the same toolchain better-sqlite3 needs), so there a failed build fails.
const skip = !addon.ok && process.env.CI !== 'true';
const why = addon.ok ? '' : ` [skipped: ${addon.reason}]`;

let seed = 11;
const rnd = (shape: number[]): tf.Tensor => tf.randomNormal(shape, 0, 1, 'float32', seed++);

/** The float bits of `f()`'s result (run in a tidy). */
function floatBits(f: () => tf.Tensor): Uint32Array {
  const t = tf.tidy(f);
  const out = new Uint32Array(t.dataSync().slice().buffer);
  t.dispose();
  return out;
}

/** Runs `f` on the stock kernels and on every native micro-kernel this CPU has; returns the float bits of each. */
function bothWays(f: () => tf.Tensor): { stock: Uint32Array; native: Array<{ kernel: string; bits: Uint32Array }> } {
  const bits = (): Uint32Array => floatBits(f);
  disableNativeMatmul();
  const stock = bits();
  const native: Array<{ kernel: string; bits: Uint32Array }> = [];
  for (const kernel of ['portable', 'avx2', 'avx512'] as const) {
    if (!addon.ok || !addon.addon.setKernel(kernel)) continue;
    applyNativeMatmul('on', 2);
    native.push({ kernel, bits: bits() });
    disableNativeMatmul();
  }
  if (addon.ok) addon.addon.setKernel('auto');
  return { stock, native };
}

/** Every native micro-kernel gives the stock bits; says where the first difference is otherwise. */
function expectBitIdentical(f: () => tf.Tensor): void {
  const { stock, native } = bothWays(f);
  expect(native.length).toBeGreaterThan(0);
  for (const { kernel, bits } of native) {
    expect(bits.length).toBe(stock.length);
    const at = bits.findIndex((v, i) => v !== stock[i]);
    const f32 = (u: Uint32Array, i: number) => new Float32Array(u.buffer)[i];
    expect(at === -1 ? 'identical' : `${kernel}: element ${at} is ${f32(bits, at)}, stock ${f32(stock, at)}`).toBe('identical');
  }
}

describe.skipIf(skip)(`native matmul is bit-identical to the stock wasm kernels${why}`, () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', threads: 2, nativeMatmul: 'off' });
  });
  afterAll(() => disableNativeMatmul());

  // [aShape, bShape, transposeA, transposeB]. 2-D products run XNNPACK's one chain over k in the
  // stock backend, batched ones its slow path (a chain per 48-k block): K = 47/48/49/97 straddle
  // the block edge; 130×300·300×530 crosses the native kernel's packing panels (K 240, M 96, N 512).
  const CASES: Array<[number[], number[], boolean, boolean]> = [
    [[1, 1], [1, 1], false, false],
    [[7, 13], [13, 17], false, false],
    [[13, 7], [13, 17], true, false],
    [[7, 13], [17, 13], false, true],
    [[13, 7], [17, 13], true, true],
    [[1, 97], [97, 3], false, false],
    [[5, 47], [47, 19], false, false],
    [[5, 48], [48, 19], false, false],
    [[5, 49], [49, 19], false, false],
    [[31, 97], [37, 97], false, true],
    [[130, 300], [300, 530], false, false],
    [[300, 130], [530, 300], true, true],
    [[3, 5, 47], [3, 47, 19], false, false],
    [[3, 5, 48], [3, 48, 19], false, false],
    [[3, 5, 49], [3, 49, 19], false, false],
    [[3, 97, 29], [3, 41, 97], true, true],
    [[2, 130, 300], [2, 300, 70], false, false],
    [[2, 3, 11, 97], [97, 7], false, false],
    [[5, 97], [2, 3, 97, 11], false, false],
    [[1, 1, 9, 49], [2, 3, 6, 49], false, true],
    [[4, 1, 8], [4, 8, 1], false, false],
  ];

  test.each(CASES)('BatchMatMul %j · %j (transposeA %s, transposeB %s)', (as, bs, ta, tb) => {
    const a = rnd(as);
    const b = rnd(bs);
    expectBitIdentical(() => tf.matMul(a, b, ta, tb));
    tf.dispose([a, b]);
  });

  // Every micro-tile of every kernel this CPU has, A read in place and packed, on one and two
  // threads, against the stock bits: odd and prime sizes leave partial row and column tiles, K 251
  // crosses a packing panel (240) and 48-k block edges, the tiny llama's products (rank-8 LoRA
  // factors, 4-D attention with 16-wide heads) take the narrow tiles, products over 3 MFLOP
  // split their rows over two threads that share one packed B, and a row-major B whose width
  // splits into whole tiles is read in place.
  const TILE_CASES: Array<[number[], number[], boolean, boolean]> = [
    [[1, 1], [1, 1], false, false],
    [[13, 1], [1, 9], false, false],
    [[23, 29], [29, 31], false, false],
    [[29, 23], [31, 29], true, true],
    [[37, 251], [251, 19], false, false],
    [[251, 37], [19, 251], true, true],
    [[256, 64], [8, 64], false, true],
    [[256, 8], [256, 64], true, false],
    [[2, 2, 13, 64], [2, 2, 17, 64], false, true],
    [[3, 64, 13], [3, 64, 16], true, false],
    [[1, 11, 97], [3, 97, 9], false, false],
    [[3, 97, 11], [97, 9], true, false],
    // Over 3 MFLOP, so two threads share one packed B (K 257: two panels), and the row tiles split.
    [[301, 257], [257, 37], false, false],
    // N a multiple of the tile width and B row-major: B read in place, not packed (M ≤ 256 also
    // with A packed; K 1024 makes A's rows crowd L1, so 'auto' packs A and reads B in place).
    [[301, 257], [257, 48], false, false],
    [[131, 257], [257, 48], false, false],
    [[37, 1024], [1024, 160], false, false],
    [[131, 1024], [1024, 208], false, false],
    // At most 256 rows against a transposed B wider than 8 tiles, K at least 256: computed as Cᵀ
    // (W's rows read in place, or packed per panel where K 1024 makes them crowd L1; partial tiles
    // both ways).
    [[37, 257], [301, 257], false, true],
    [[257, 37], [301, 257], true, true],
    [[1, 256], [700, 256], false, true],
    [[37, 1024], [160, 1024], false, true],
    [[257, 301], [37, 257], true, true],
  ];

  test.each(TILE_CASES)('every tile and A layout: BatchMatMul %j · %j (transposeA %s, transposeB %s)', (as, bs, ta, tb) => {
    if (!addon.ok) throw new Error(addon.reason);
    const native = addon.addon;
    if (typeof native.setTile !== 'function' || typeof native.setThreadPolicy !== 'function') {
      throw new Error('the native addon is a stale build without setTile/setThreadPolicy: run `npm rebuild lora-study-native`');
    }
    // Two threads must split every product over the minimum here, whatever this machine's load.
    native.setThreadPolicy('fixed');
    const a = rnd(as);
    const b = rnd(bs);
    const bits = (): Uint32Array => floatBits(() => tf.matMul(a, b, ta, tb));
    disableNativeMatmul();
    const stock = bits();
    const differ: string[] = [];
    let runs = 0;
    try {
      for (const kernel of ['portable', 'avx2', 'avx512'] as const) {
        if (!native.setKernel(kernel)) continue;
        for (const tile of ['auto', ...(native.info().tiles ?? [])]) {
          for (const layout of ['in-place', 'packed'] as const) {
            for (const threads of [1, 2]) {
              expect(native.setTile(tile, layout)).toBe(true);
              applyNativeMatmul('on', threads);
              const got = bits();
              disableNativeMatmul();
              runs++;
              const at = got.findIndex((v, i) => v !== stock[i]);
              if (got.length !== stock.length || at !== -1) differ.push(`${kernel} ${tile} ${layout} ${threads} thread(s): element ${at}`);
            }
          }
        }
      }
    } finally {
      native.setTile('auto', 'auto');
      native.setKernel('auto');
      native.setThreadPolicy('adaptive');
    }
    expect(runs).toBeGreaterThan(0);
    expect(differ).toEqual([]);
    tf.dispose([a, b]);
  });

  test('operands that are results of slice, transpose and reshape', () => {
    const x = rnd([6, 101]);
    const w = rnd([101, 64]);
    expectBitIdentical(() => tf.matMul(tf.slice(x, [1, 3], [4, 97]), tf.slice(w, [2, 5], [97, 50])));
    expectBitIdentical(() => tf.matMul(tf.transpose(x), tf.slice(x, [0, 0], [6, 33])));
    expectBitIdentical(() => tf.matMul(tf.reshape(tf.slice(x, [0, 0], [6, 100]), [2, 3, 100]), tf.reshape(tf.transpose(tf.slice(w, [0, 7], [100, 6])), [2, 3, 100]), false, true));
    tf.dispose([x, w]);
  });

  test('gradients of a 4-D attention product and a 2-D projection', () => {
    const q = rnd([2, 3, 10, 16]);
    const k = rnd([2, 3, 10, 16]);
    const v = rnd([2, 3, 10, 16]);
    const w = rnd([16, 49]);
    const loss = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor, ww: tf.Tensor) =>
      tf.sum(tf.matMul(tf.reshape(tf.matMul(tf.softmax(tf.matMul(qq, kk, false, true)), vv), [60, 16]), ww));
    for (let i = 0; i < 4; i++) expectBitIdentical(() => tf.grads(loss)([q, k, v, w])[i]);
    tf.dispose([q, k, v, w]);
  });

  // _FusedMatMul cases where the stock fused kernel computes product, bias, activation: its
  // XNNPACK path (2-D: chain from the bias, then the activation) and its slow path with at most
  // 48 k's and one row or a length-1 bias.
  const FUSED: Array<[string, number[], number[], number[] | null, boolean]> = [
    ['linear', [1, 9, 97], [1, 97, 33], [33], false],
    ['linear', [1, 9, 97], [1, 97, 33], null, false],
    ['relu', [1, 9, 97], [1, 97, 33], [33], false],
    ['relu6', [1, 9, 49], [1, 49, 33], [33], false],
    ['leakyrelu', [1, 9, 97], [1, 97, 33], [33], false],
    ['sigmoid', [1, 9, 97], [1, 97, 33], [33], false],
    ['elu', [1, 9, 97], [1, 97, 33], null, false],
    ['prelu', [1, 9, 97], [1, 97, 33], [33], false],
    ['relu', [1, 130, 300], [1, 300, 530], [530], false],
    ['relu6', [1, 130, 300], [1, 300, 100], [100], false],
    ['linear', [1, 130, 300], [1, 300, 100], [100], false],
    ['linear', [2, 1, 48], [2, 48, 17], [17], false],
    ['relu', [2, 5, 47], [2, 47, 17], [1], false],
    ['relu6', [1, 5, 48], [1, 17, 48], null, true],
    ['linear', [1, 37, 257], [1, 301, 257], null, true],
    ['relu6', [1, 37, 48], [1, 301, 48], null, true],
    ['linear', [3, 5, 97], [3, 97, 17], null, false],
    ['sigmoid', [2, 5, 97], [2, 97, 17], null, false],
  ];

  test.each(FUSED)('_FusedMatMul %s %j · %j, bias %j, transposeB %s', (activation, as, bs, biasShape, tb) => {
    const a = rnd(as);
    const b = rnd(bs);
    const bias = biasShape ? rnd(biasShape) : undefined;
    const prelu = activation === 'prelu' ? rnd([as.length === 3 && tb ? bs[1] : bs[2]]) : undefined;
    expectBitIdentical(() =>
      tf.fused.matMul({ a, b, transposeB: tb, bias, activation: activation as 'relu', preluActivationWeights: prelu, leakyreluAlpha: 0.15 }),
    );
    tf.dispose([a, b, ...(bias ? [bias] : []), ...(prelu ? [prelu] : [])]);
  });

  test('signed zeros: a chain from a -0 bias over -0 products stays -0; relu makes it +0', () => {
    const a = tf.tensor2d([[-0, -0, 0]]);
    const b = tf.tensor2d([[1], [2], [-3]]);
    const bias = tf.tensor1d([-0]);
    for (const activation of ['linear', 'relu'] as const) {
      const { stock } = bothWays(() => tf.fused.matMul({ a, b, bias, activation }));
      expect(Object.is(new Float32Array(stock.buffer)[0], activation === 'relu' ? 0 : -0)).toBe(true);
      expectBitIdentical(() => tf.fused.matMul({ a, b, bias, activation }));
    }
    expectBitIdentical(() => tf.matMul(a, b));
    tf.dispose([a, b, bias]);
  });

  test('where the stock fused slow path is wrong, native equals the stock matmul, add and activation kernels', () => {
    // Stock: bias added once per 48-k block and bias[N-1] used for every row after the first; relu clamped per block.
    const a = rnd([2, 5, 97]);
    const b = rnd([2, 97, 17]);
    const bias = rnd([17]);
    const unfused = () => tf.relu(tf.add(tf.matMul(a, b), bias));
    const { stock: composed } = bothWays(unfused);
    const { stock: fusedStock, native } = bothWays(() => tf.fused.matMul({ a, b, bias, activation: 'relu' }));
    expect(Array.from(fusedStock)).not.toEqual(Array.from(composed));
    for (const n of native) expect(Array.from(n.bits)).toEqual(Array.from(composed));
    tf.dispose([a, b, bias]);
  });

  test('tiny LoRA training runs (llama and gpt2) have bit-identical per-step losses on the native kernels', async () => {
    const examples = [[10, 11, 12, 40, 41, 42, 43, 60], [20, 21, 22, 50, 51, 60], [30, 31, 32, 33, 60, 61, 62, 63, 64, 60], [9, 8, 7, 70, 60]].map(promptMasked);
    for (const modelType of ['llama', 'gpt2'] as const) {
      const run = async (mode: 'on' | 'off') => {
        applyNativeMatmul(mode, 2);
        return (await tinyLoraRun({ modelType, lora: { r: 4 }, config: { maxSteps: 4, learningRate: 1e-2 }, examples })).losses;
      };
      const stock = await run('off');
      const native = await run('on');
      expect(native, modelType).toEqual(stock);
    }
    disableNativeMatmul();
  });
});
