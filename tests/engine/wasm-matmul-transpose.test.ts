import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { expect, test } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { installWasmTransposedMatmul } from '../../src/engine/wasm-matmul-transpose.js';

test('transposed wasm matmuls give the same products after the rewrite, and gradients still flow', async () => {
  await initEngine({ backend: 'wasm', threads: 1, nativeMatmul: 'off' });
  const a = tf.randomNormal([2, 5, 7], 0, 1, 'float32', 1);
  const b = tf.randomNormal([2, 6, 7], 0, 1, 'float32', 2);
  const c = tf.randomNormal([2, 5, 6], 0, 1, 'float32', 3);
  const cases = () => [tf.matMul(a, b, false, true), tf.matMul(a, c, true, false), tf.matMul(b, c, true, true), tf.matMul(c, b)];
  const before = cases().map((t) => t.arraySync());
  expect(installWasmTransposedMatmul()).toBe(true);
  const after = cases();
  after.forEach((t, i) => expect(t.arraySync()).toEqual(before[i]));
  const n = tf.memory().numTensors;
  const g = tf.grad((x: tf.Tensor) => tf.sum(tf.matMul(x, b, false, true)))(a);
  expect(g.shape).toEqual([2, 5, 7]);
  g.dispose();
  expect(tf.memory().numTensors).toBe(n);
});
