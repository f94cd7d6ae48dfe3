import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, expect, test } from 'vitest';
import { layerNorm } from '../../src/model/layers/norms.js';
import { useCpuBackend } from '../helpers/tf-setup.js';

beforeAll(useCpuBackend);

/** LayerNorm written out, differentiated by tfjs. */
function plain(x: tf.Tensor, w: tf.Tensor1D, b: tf.Tensor1D, eps: number): tf.Tensor {
  const centred = tf.sub(x, tf.mean(x, -1, true));
  return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(tf.mean(tf.square(centred), -1, true), eps))), w), b);
}

const close = (a: Float32Array | Int32Array | Uint8Array, b: Float32Array | Int32Array | Uint8Array) =>
  a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThanOrEqual(2e-5 * (1 + Math.abs(b[i]))));

test('LayerNorm: same forward bits as the written-out form; input gradient equal to its differentiation to rounding', () => {
  const x = tf.randomNormal([2, 3, 4, 16], 1, 3, 'float32', 1);
  const w = tf.randomNormal([16], 1, 0.5, 'float32', 2) as tf.Tensor1D;
  const b = tf.randomNormal([16], 0, 0.5, 'float32', 3) as tf.Tensor1D;
  const dy = tf.randomNormal(x.shape, 0, 1, 'float32', 4);
  expect(layerNorm(x, w, b, 1e-5).dataSync()).toEqual(plain(x, w, b, 1e-5).dataSync());
  const n = tf.memory().numTensors;
  const g = tf.grad((v: tf.Tensor) => layerNorm(v, w, b, 1e-5))(x, dy);
  expect(tf.memory().numTensors).toBe(n + 1);
  close(g.dataSync(), tf.grad((v: tf.Tensor) => plain(v, w, b, 1e-5))(x, dy).dataSync());
});

test('LayerNorm: a trained gain and bias get their gradients too', () => {
  const x = tf.randomNormal([5, 8], 0, 2, 'float32', 5);
  const w = tf.variable(tf.randomNormal([8], 1, 0.3, 'float32', 6)) as unknown as tf.Tensor1D;
  const b = tf.variable(tf.randomNormal([8], 0, 0.3, 'float32', 7)) as unknown as tf.Tensor1D;
  const dy = tf.randomNormal([5, 8], 0, 1, 'float32', 8);
  const loss = (f: typeof plain) => () => tf.sum(tf.mul(f(x, w, b, 1e-5), dy)) as tf.Scalar;
  const ours = tf.variableGrads(loss(layerNorm), [w, b] as unknown as tf.Variable[]).grads;
  const ref = tf.variableGrads(loss(plain), [w, b] as unknown as tf.Variable[]).grads;
  for (const k of Object.keys(ref)) close(ours[k].dataSync(), ref[k].dataSync());
});
