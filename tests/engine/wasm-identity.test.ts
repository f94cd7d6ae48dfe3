import * as tf from '@tensorflow/tfjs-core';
import '../../src/util/tfjs-setup.js';
import { beforeAll, expect, test } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { installWasmSharingIdentity } from '../../src/engine/wasm-identity.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm', threads: 1, nativeMatmul: 'off' });
});

const buffers = () => tf.engine().backend.numDataIds();

test('Identity and same-dtype Cast share the buffer, and it lives until the last tensor goes', () => {
  expect(installWasmSharingIdentity()).toBe(true);
  const base = buffers();
  const x = tf.tensor2d([1.5, -2, 3, 4.25], [2, 2]);
  const c = tf.clone(x);
  const f = tf.cast(x, 'float32');
  expect(c.dataId).toBe(x.dataId);
  expect(f.dataId).toBe(x.dataId);
  expect(buffers()).toBe(base + 1);
  x.dispose();
  c.dispose();
  expect(f.arraySync()).toEqual([[1.5, -2], [3, 4.25]]);
  f.dispose();
  expect(buffers()).toBe(base);
});

test('a Cast that changes the dtype still converts, and string tensors still clone', () => {
  const i = tf.tensor1d([3, -1, 0], 'int32');
  const f = tf.cast(i, 'float32');
  expect(f.dataId).not.toBe(i.dataId);
  expect(f.dtype).toBe('float32');
  expect(f.arraySync()).toEqual([3, -1, 0]);
  const s = tf.clone(tf.tensor1d(['a', 'bc'], 'string'));
  expect(s.arraySync()).toEqual(['a', 'bc']);
});

test('gradients through shared saved tensors leave the inputs unchanged and leak nothing', () => {
  const x = tf.randomNormal([7, 5], 0, 1, 'float32', 3);
  const w = tf.randomNormal([5, 3], 0, 1, 'float32', 4);
  const before = [x.dataSync().slice(), w.dataSync().slice()];
  const n = tf.memory().numTensors;
  const base = buffers();
  const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.tanh(tf.matMul(a, b)), tf.square(tf.matMul(a, b))));
  const [ga, gb] = tf.grads((a: tf.Tensor, b: tf.Tensor) => loss(a, b))([x, w]);
  // The same gradient, by central differences on one entry of each input.
  const eps = 1e-2;
  const probe = (t: tf.Tensor, at: number, other: tf.Tensor, first: boolean) => {
    const d = t.dataSync().slice();
    const f = (delta: number) => {
      const e = d.slice();
      e[at] += delta;
      return tf.tidy(() => {
        const p = tf.tensor(e, t.shape);
        return loss(first ? p : other, first ? other : p).dataSync()[0];
      });
    };
    return (f(eps) - f(-eps)) / (2 * eps);
  };
  expect(ga.dataSync()[4]).toBeCloseTo(probe(x, 4, w, true), 1);
  expect(gb.dataSync()[2]).toBeCloseTo(probe(w, 2, x, false), 1);
  expect(x.dataSync()).toEqual(before[0]);
  expect(w.dataSync()).toEqual(before[1]);
  ga.dispose();
  gb.dispose();
  expect(tf.memory().numTensors).toBe(n);
  expect(buffers()).toBe(base);
});
