import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { disableNativeFused, enableNativeFused, nativeFusedEnabled } from '../../src/engine/native-fused.js';
import { disableNativeOps, enableNativeOps } from '../../src/engine/native-ops.js';
import { AdamW, disposePrepared } from '../../src/training/adamw.js';
import { TRAINING_KERNELS } from '../../src/training/fused-training-ops.js';
import { causalLmLoss, causalLmLossSum, hostNextTokenTargets, IGNORE_INDEX } from '../../src/training/loss.js';
import { bitsOf, lcg, nativeFusedAddon, skipNativeFused, skipNativeFusedWhy } from '../helpers/native-fused-load.js';
import { promptMasked, tinyLoraRun } from '../helpers/tiny-lora-run.js';

const skip = skipNativeFused;
const why = skipNativeFusedWhy;
const addon = nativeFusedAddon;
const rand = lcg(4242);
/** Logits over several magnitudes (some rows wide enough that exp underflows), exact zeros, -0 and ties. */
function logits(shape: number[], spread = 3): tf.Tensor3D {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rand();
    v[i] = r < 0.02 ? 0 : r < 0.04 ? -0 : r < 0.06 ? 7 : (rand() - 0.5) * 10 ** Math.floor(rand() * spread);
  }
  return tf.tensor3d(v, shape as [number, number, number], 'float32');
}
/** Labels `[B, T]` in [0, V), with -100 at a fraction `ignored` of the positions. */
function labels(B: number, T: number, V: number, ignored: number): Int32Array {
  const l = new Int32Array(B * T);
  for (let i = 0; i < l.length; i++) l[i] = rand() < ignored ? IGNORE_INDEX : Math.floor(rand() * V);
  return l;
}


function expectSameBits(a: number[], b: number[], label: string): void {
  expect(b.length, label).toBe(a.length);
  const at = a.findIndex((v, j) => v !== b[j]);
  expect(at, `${label}: first differing element ${at}: 0x${a[at]?.toString(16)} vs fused 0x${b[at]?.toString(16)}`).toBe(-1);
}

const fusedOn = (on: boolean) => {
  if (on) enableNativeFused(addon(), 2);
  else disableNativeFused();
  expect(tf.getKernel(TRAINING_KERNELS.causalLmLoss, 'wasm') !== undefined).toBe(on);
};

/** Runs `f` composed and fused (native ops on in both) and expects the same bits and no tensors left. */
function expectSame(f: () => tf.Tensor[], label: string): void {
  const run = (on: boolean) => {
    fusedOn(on);
    const before = tf.memory().numTensors;
    const out = tf.tidy(f);
    const bits = out.map(bitsOf);
    tf.dispose(out);
    expect(tf.memory().numTensors, `${label}: tensors left`).toBe(before);
    return bits;
  };
  const composed = run(false);
  const fused = run(true);
  composed.forEach((c, i) => expectSameBits(c, fused[i], `${label} output ${i}`));
}

describe.skipIf(skip)(`fused loss and AdamW give the composed ops' bits${why}`, () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', threads: 2, nativeMatmul: 'on' });
    expect(nativeFusedEnabled()).toContain(TRAINING_KERNELS.adamwUpdate);
  });
  afterAll(() => enableNativeFused(addon(), 2));

  test.each([
    { B: 2, T: 5, V: 7, ignored: 0.3 },
    { B: 3, T: 9, V: 512, ignored: 0.05 },
    { B: 2, T: 6, V: 50257, ignored: 0.2 },
    { B: 1, T: 3, V: 2, ignored: 0 },
    { B: 4, T: 16, V: 96, ignored: 0.8 },
    { B: 2, T: 4, V: 33, ignored: 1 },
    { B: 2, T: 40, V: 64, ignored: 0 },
  ])('causal-LM loss and its logits gradient, from labels and from host targets, with and without the divisor (%o)', ({ B, T, V, ignored }) => {
    const x = logits([B, T, V]);
    const lab = labels(B, T, V, ignored);
    const labelsT = tf.tensor2d(lab, [B, T], 'int32');
    const host = hostNextTokenTargets(lab, B, T);
    for (const divisor of [undefined, 37]) {
      for (const dy of [1, 0.37, 0]) {
        expectSame(() => {
          const f = (l: tf.Tensor) => causalLmLoss(l as tf.Tensor3D, labelsT, divisor);
          const g = (l: tf.Tensor) => causalLmLoss(l as tf.Tensor3D, host, divisor);
          return [f(x), tf.grad(f)(x, tf.scalar(dy)), g(x), tf.grad(g)(x, tf.scalar(dy))];
        }, `B${B} T${T} V${V} divisor ${divisor} dy ${dy}`);
      }
    }
    expectSame(() => Object.values(causalLmLossSum(x, labelsT)), `loss sum B${B} T${T} V${V}`);
    tf.dispose([x, labelsT, host.mask, host.safeTarget]);
  });

  test('the fused kernels are what runs: one kernel forward, one backward, one for the norm, one per group update', async () => {
    fusedOn(true);
    const x = logits([2, 4, 9]);
    const host = hostNextTokenTargets(labels(2, 4, 9, 0), 2, 4);
    const loss = await tf.profile(() => {
      const f = (l: tf.Tensor) => causalLmLoss(l as tf.Tensor3D, host, 3);
      return [f(x), tf.grad(f)(x)];
    });
    const kernels = loss.kernels.map((k) => k.name).filter((k) => k.startsWith('LoraStudy'));
    expect(kernels).toEqual([TRAINING_KERNELS.causalLmLoss, TRAINING_KERNELS.causalLmLoss, TRAINING_KERNELS.causalLmLossGrad]);
    const params = [tf.variable(tf.ones([3, 4])), tf.variable(tf.ones([5]))];
    const opt = new AdamW(params, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 });
    const grads = [tf.ones([3, 4]), tf.ones([5])];
    const step = await tf.profile(() => {
      const p = opt.prepare(grads);
      opt.step(p, 0.1, 0.5);
      disposePrepared(p);
    });
    expect(step.kernels.map((k) => k.name)).toEqual([TRAINING_KERNELS.adamwNorm, TRAINING_KERNELS.adamwUpdate]);
    opt.dispose();
    tf.dispose([x, host.mask, host.safeTarget, ...params, ...grads]);
  });

  test('row maxima that are signed zeros (the first one counts), infinities, NaNs, ties and lane tails give the same bits', () => {
    const V = 50;
    const rows: number[][] = [];
    const neg = () => Array.from({ length: V }, () => -1 - rand() * 5);
    const put = (r: number[], at: Array<[number, number]>) => (at.forEach(([j, x]) => (r[j] = x)), r);
    rows.push(put(neg(), [[3, -0], [40, 0]]), put(neg(), [[17, 0], [18, -0], [49, -0]]), put(neg(), [[33, 2.5], [48, 2.5], [5, 2.5]]));
    rows.push(put(neg(), [[20, Infinity]]), put(neg(), [[1, -Infinity]]), put(neg(), [[31, NaN], [2, 7]]), put(neg(), [[49, 3]]), put(neg(), [[0, -0]]));
    // The last row is masked (no next token) and its target (0) logit is -inf: its term is -inf·0 = NaN.
    rows.push(put(neg(), [[0, -Infinity]]));
    const x = tf.tensor3d(rows.flat(), [1, rows.length, V]);
    const host = hostNextTokenTargets(Int32Array.from(rows.map((_, i) => (i * 13) % V)), 1, rows.length);
    expectSame(() => {
      const f = (l: tf.Tensor) => causalLmLoss(l as tf.Tensor3D, host);
      return [f(x), tf.grad(f)(x)];
    }, 'max ties');
    tf.dispose([x, host.mask, host.safeTarget]);
  });

  test('masked rows skip the forward Exp only where their term is a zero: a masked row with a NaN, or a non-finite target logit, still counts', () => {
    const [B, T, V] = [2, 20, 40];
    for (const poison of [NaN, -Infinity, Infinity, 'NaN elsewhere'] as const) {
      const v = logits([B, T, V]).dataSync() as Float32Array;
      const lab = labels(B, T, V, 0.7);
      const host = hostNextTokenTargets(lab, B, T);
      const mask = host.mask.dataSync();
      const target = host.safeTarget.dataSync();
      const masked = Array.from(mask.keys()).filter((n) => mask[n] === 0);
      if (poison === 'NaN elsewhere') v[masked[1] * V + ((target[masked[1]] + 3) % V)] = NaN;
      else v[masked[0] * V + target[masked[0]]] = poison;
      const x = tf.tensor3d(v, [B, T, V]);
      expectSame(() => {
        const f = (l: tf.Tensor) => causalLmLoss(l as tf.Tensor3D, host, 11);
        return [f(x), tf.grad(f)(x), causalLmLossSum(x, tf.tensor2d(lab, [B, T], 'int32')).sum];
      }, `masked row with ${poison} at its target`);
      tf.dispose([x, host.mask, host.safeTarget]);
    }
  });

  test('a target outside the vocabulary is refused with the position and what to do', () => {
    fusedOn(true);
    const x = logits([2, 3, 5]);
    const host = hostNextTokenTargets(Int32Array.from([1, 2, 3, 4, 7, 0]), 2, 3);
    const before = tf.memory().numTensors;
    expect(() => causalLmLoss(x, host)).toThrow(/target token id 7 \(position 0 of row 1\) is outside the model's vocabulary of 5/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, host.mask, host.safeTarget]);
  });

  test('rows with NaN or infinite logits, and a non-finite dy, give the same bits', () => {
    const [B, T, V] = [2, 4, 11];
    const v = logits([B, T, V]).dataSync() as Float32Array;
    v[3] = NaN; // row 0
    v[V + 2] = Infinity; // row 1
    v[2 * V + 5] = -Infinity; // row 2
    v[7 * V + 1] = NaN; // row 7: the last position, always masked
    const x = tf.tensor3d(v, [B, T, V]);
    const host = hostNextTokenTargets(labels(B, T, V, 0.3), B, T);
    for (const dy of [1, Infinity, NaN]) {
      expectSame(() => {
        const f = (l: tf.Tensor) => causalLmLoss(l as tf.Tensor3D, host, 5);
        return [f(x), tf.grad(f)(x, tf.scalar(dy))];
      }, `non-finite, dy ${dy}`);
    }
    tf.dispose([x, host.mask, host.safeTarget]);
  });

  test.each([
    { wd: 0, gradScale: 1, scales: [1, 1, 1, 1, 1, 1] },
    { wd: 0.01, gradScale: 0.37, scales: [1, 16, 16, 1, 16, 1] },
    { wd: 0.1, gradScale: 1, scales: [1, 2, 3, 1, 2, 3] },
  ])('AdamW: norm, flat gradients, moments and parameters after several steps (%o)', ({ wd, gradScale, scales }) => {
    const SHAPES = [[8, 24], [24, 8], [13], [8, 24], [24, 8], [1, 1]];
    const result = (on: boolean) => {
      fusedOn(on);
      const params = SHAPES.map((s, i) => tf.variable(tf.randomNormal(s, 0, 1, 'float32', i + 1)));
      const opt = new AdamW(params, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: wd, lrScales: scales });
      const n = tf.memory().numTensors;
      const bits: number[][] = [];
      for (let t = 1; t <= 5; t++) {
        const grads = SHAPES.map((s, i) => tf.randomNormal(s, 0, 10 ** (i - 3), 'float32', 100 * t + i));
        const prepared = opt.prepare(grads);
        bits.push(bitsOf(prepared.norm), ...prepared.flat.map(bitsOf), ...prepared.squares.map(bitsOf));
        opt.step(prepared, 1e-2 * t, t === 3 ? 1 : gradScale);
        disposePrepared(prepared);
        tf.dispose(grads);
        const groups = (opt as unknown as { groups: Array<{ m: tf.Tensor; v: tf.Tensor }> }).groups;
        bits.push(...params.map(bitsOf), ...groups.flatMap((g) => [bitsOf(g.m), bitsOf(g.v)]));
        expect(tf.memory().numTensors).toBe(n);
      }
      opt.dispose();
      tf.dispose(params);
      return bits;
    };
    const composed = result(false);
    const fused = result(true);
    expect(fused.length).toBe(composed.length);
    composed.forEach((c, i) => expectSameBits(c, fused[i], `AdamW result ${i}`));
  });

  test('a tiny LoRA run (prompt-masked rows, clipping, weight decay) gives the same losses and weights', async () => {
    const examples = Array.from({ length: 6 }, (_, i) => promptMasked(Array.from({ length: 10 + i }, (_, j) => (i * 7 + j * 3) % 50)));
    const run = async (on: boolean) => {
      fusedOn(on);
      return tinyLoraRun({ modelType: 'llama', lora: { r: 4, lora_alpha: 8 }, config: { maxSteps: 4, learningRate: 4e-3 }, examples });
    };
    const composed = await run(false);
    const fused = await run(true);
    expect(fused.losses).toEqual(composed.losses);
    expect(fused.weights).toEqual(composed.weights);
    expect(fused.grew).toBe(composed.grew);
  });

  test('LORA_STUDY_NATIVE_OPS=off (native ops off) takes the fused training kernels away', () => {
    disableNativeOps();
    expect(tf.getKernel(TRAINING_KERNELS.causalLmLoss, 'wasm')).toBeUndefined();
    enableNativeOps(addon(), 2);
    expect(tf.getKernel(TRAINING_KERNELS.causalLmLoss, 'wasm')).toBeDefined();
  });
});
