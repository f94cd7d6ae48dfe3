import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, expect, test } from 'vitest';
import { geluNew } from '../../src/model/layers/activations.js';
import { useCpuBackend } from '../helpers/tf-setup.js';

beforeAll(useCpuBackend);

/** HF's gelu_new in float64: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))), and its derivative. */
const c = Math.sqrt(2 / Math.PI);
const ref = (x: number) => 0.5 * x * (1 + Math.tanh(c * (x + 0.044715 * x ** 3)));
const refGrad = (x: number) => {
  const t = Math.tanh(c * (x + 0.044715 * x ** 3));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x);
};

const xs = Array.from({ length: 401 }, (_, i) => -12 + i * 0.06).concat([0, 1e-8, -1e-8, 30, -30, 88, -88]);

test('gelu_new (sigmoid form) equals the tanh form to float32 rounding, values and gradient', () => {
  const x = tf.tensor1d(xs);
  const got = geluNew(x).dataSync();
  const grad = tf.grad((t: tf.Tensor) => tf.sum(geluNew(t)))(x).dataSync();
  xs.forEach((v, i) => {
    expect(Math.abs(got[i] - ref(v))).toBeLessThanOrEqual(3e-7 * (1 + Math.abs(ref(v))));
    expect(Math.abs(grad[i] - refGrad(v))).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(refGrad(v))));
  });
});

test('gelu_new passes the upstream gradient through (chain rule) and leaks nothing', () => {
  const x = tf.tensor2d([[-1.5, 0.25], [2, -0.5]]);
  const dy = tf.tensor2d([[2, -1], [0.5, 3]]);
  const n = tf.memory().numTensors;
  const g = tf.grad((t: tf.Tensor) => geluNew(t))(x, dy);
  const gd = g.dataSync();
  [-1.5, 0.25, 2, -0.5].forEach((v, i) => expect(gd[i]).toBeCloseTo(refGrad(v) * [2, -1, 0.5, 3][i], 6));
  g.dispose();
  expect(tf.memory().numTensors).toBe(n);
});
