import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, test } from 'vitest';
import '../../src/util/tfjs-setup.js';
import '@tensorflow/tfjs-backend-cpu';
import { initEngine } from '../../src/engine/backend.js';
import { AdamW, disposePrepared, globalNorm, planGroups } from '../../src/training/adamw.js';

/** The textbook per-parameter AdamW the grouped one must reproduce bit for bit. */
function referenceStep(params: tf.Variable[], m: tf.Variable[], v: tf.Variable[], grads: tf.Tensor[], o: { lr: number; t: number; gradScale: number; wd: number; scales: number[] }) {
  const [beta1, beta2, epsilon] = [0.9, 0.999, 1e-8];
  const bc1 = 1 - Math.pow(beta1, o.t);
  const bc2 = 1 - Math.pow(beta2, o.t);
  tf.tidy(() => {
    params.forEach((p, i) => {
      const plr = o.lr * o.scales[i];
      const g = o.gradScale === 1 ? grads[i] : tf.mul(grads[i], o.gradScale);
      const mi = tf.add(tf.mul(m[i], beta1), tf.mul(g, 1 - beta1));
      const vi = tf.add(tf.mul(v[i], beta2), tf.mul(tf.square(g), 1 - beta2));
      m[i].assign(mi);
      v[i].assign(vi);
      const update = tf.div(tf.div(mi, bc1), tf.add(tf.sqrt(tf.div(vi, bc2)), epsilon));
      const decayed = o.wd > 0 ? tf.mul(p, 1 - plr * o.wd) : p;
      p.assign(tf.sub(decayed, tf.mul(update, plr)));
    });
  });
}

const SHAPES = [[8, 24], [24, 8], [13], [8, 24], [24, 8], [1, 1]];

describe.each(['wasm', 'cpu'] as const)('AdamW on %s', (backend) => {
  test.each([
    { wd: 0, gradScale: 1, scales: [1, 1, 1, 1, 1, 1] },
    { wd: 0.01, gradScale: 0.37, scales: [1, 16, 16, 1, 16, 1] },
  ])('updates every parameter bit for bit as the per-parameter reference (%o)', async ({ wd, gradScale, scales }) => {
    if (backend === 'wasm') await initEngine({ backend: 'wasm', threads: 1, nativeMatmul: 'off' });
    else await tf.setBackend('cpu');
    const make = () => SHAPES.map((s, i) => tf.variable(tf.randomNormal(s, 0, 1, 'float32', i + 1)));
    const [ours, ref] = [make(), make()];
    const m = ref.map((p) => tf.variable(tf.zerosLike(p), false));
    const v = ref.map((p) => tf.variable(tf.zerosLike(p), false));
    const opt = new AdamW(ours, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: wd, lrScales: scales });
    const n = tf.memory().numTensors;
    for (let t = 1; t <= 4; t++) {
      const grads = SHAPES.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', 100 * t + i));
      opt.step(grads, 1e-2 * t, gradScale);
      referenceStep(ref, m, v, grads, { lr: 1e-2 * t, t, gradScale, wd, scales });
      grads.forEach((g) => g.dispose());
      ours.forEach((p, i) => expect(p.dataSync(), `step ${t} parameter ${i}`).toEqual(ref[i].dataSync()));
      expect(tf.memory().numTensors).toBe(n);
    }
    expect(opt.stateBytes()).toBe(SHAPES.reduce((s, sh) => s + sh.reduce((a, b) => a * b, 1), 0) * 8);
    opt.dispose();
    [...ours, ...ref, ...m, ...v].forEach((x) => x.dispose());
  });
});

describe.each(['wasm', 'cpu'] as const)('prepared gradients on %s', (backend) => {
  test('their norm is globalNorm bit for bit (groups by lr scale, one-parameter groups, odd shapes), and nothing leaks', async () => {
    if (backend === 'wasm') await initEngine({ backend: 'wasm', threads: 1, nativeMatmul: 'off' });
    else await tf.setBackend('cpu');
    const params = SHAPES.map((s) => tf.variable(tf.zeros(s)));
    const bits = (t: tf.Tensor) => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));
    for (const scales of [[1, 1, 1, 1, 1, 1], [1, 16, 16, 1, 16, 1], [1, 2, 3, 4, 5, 6]]) {
      const opt = new AdamW(params, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, lrScales: scales });
      for (let seed = 0; seed < 3; seed++) {
        const grads = SHAPES.map((s, i) => tf.randomNormal(s, 0, 10 ** (i - 3), 'float32', 1000 * seed + i));
        const n = tf.memory().numTensors;
        const prepared = opt.prepare(grads);
        const ref = globalNorm(grads);
        expect(bits(prepared.norm), `scales ${scales}, seed ${seed}`).toEqual(bits(ref));
        ref.dispose();
        disposePrepared(prepared);
        expect(tf.memory().numTensors).toBe(n);
        tf.dispose(grads);
      }
      opt.dispose();
    }
    tf.dispose(params);
  });
});

test('parameters are grouped by lr scale, in order, within the element cap', () => {
  expect(planGroups([4, 4, 4, 4], [1, 2, 1, 2])).toEqual([[0, 2], [1, 3]]);
  expect(planGroups([4, 4, 4, 9, 1], [1, 1, 1, 1, 1], 8)).toEqual([[0, 1], [2], [3], [4]]);
  expect(planGroups([], [])).toEqual([]);
});
