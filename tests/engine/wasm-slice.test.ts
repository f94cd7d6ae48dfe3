import * as tf from '@tensorflow/tfjs-core';
import '../../src/util/tfjs-setup.js';
import { beforeAll, expect, test } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { installWasmSlice } from '../../src/engine/wasm-slice.js';

beforeAll(async () => {
  await initEngine({ backend: 'wasm', threads: 1, nativeMatmul: 'off' });
});

/** x[begin : begin + size] of a row-major host array, element by element. */
function hostSlice(data: ArrayLike<number>, shape: number[], begin: number[], size: number[]): number[] {
  const out: number[] = [];
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const walk = (axis: number, off: number) => {
    if (axis === shape.length) return void out.push(data[off]);
    for (let i = 0; i < size[axis]; i++) walk(axis + 1, off + (begin[axis] + i) * strides[axis]);
  };
  walk(0, 0);
  return out;
}

const CASES: Array<[number[], number[], number[]]> = [
  [[17], [3], [11]],
  [[17], [0], [0]],
  [[5, 7], [1, 2], [3, 4]],
  [[5, 7], [2, 0], [3, 7]],
  [[3, 4, 5], [1, 0, 0], [2, 4, 5]],
  [[3, 4, 5], [0, 1, 2], [3, 2, 3]],
  [[2, 3, 4, 5], [1, 1, 0, 1], [1, 2, 4, 3]],
  [[2, 3, 4, 5], [0, 0, 2, 0], [2, 3, 2, 5]],
  [[2, 2, 3, 2, 3], [1, 0, 1, 0, 1], [1, 2, 2, 2, 2]],
  [[1, 1, 6], [0, 0, 1], [1, 1, 4]],
];

test('Slice copies exactly the slice for contiguous and strided cases, every rank and dtype', () => {
  expect(installWasmSlice()).toBe(true);
  for (const [shape, begin, size] of CASES) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Array.from({ length: n }, (_, i) => i * 1.5 - 7);
    for (const dtype of ['float32', 'int32', 'bool'] as const) {
      const vals = dtype === 'bool' ? data.map((v) => (v > 0 ? 1 : 0)) : dtype === 'int32' ? data.map(Math.round) : data;
      const x = tf.tensor(vals, shape, dtype);
      const got = tf.slice(x, begin, size);
      expect(got.shape).toEqual(size);
      expect(Array.from(got.dataSync()), `${shape} ${begin} ${size} ${dtype}`).toEqual(hostSlice(vals, shape, begin, size));
    }
  }
  expect(tf.slice(tf.tensor1d(['a', 'b', 'c'], 'string'), [1], [2]).arraySync()).toEqual(['b', 'c']);
});

test('SplitV along any axis gives the parts in order, and slicing leaks no buffer', () => {
  const x = tf.tensor(Array.from({ length: 2 * 6 * 5 }, (_, i) => i), [2, 6, 5]);
  const base = tf.engine().backend.numDataIds();
  for (const [axis, sizes] of [[0, [1, 1]], [1, [1, 3, 2]], [2, [2, 0, 3]], [-1, [4, 1]]] as const) {
    const parts = tf.split(x, [...sizes], axis);
    let at = 0;
    const a = axis < 0 ? 3 + axis : axis;
    parts.forEach((p, i) => {
      const begin = [0, 0, 0];
      const size = [...x.shape];
      begin[a] = at;
      size[a] = sizes[i];
      at += sizes[i];
      expect(Array.from(p.dataSync())).toEqual(hostSlice(x.dataSync(), x.shape, begin, size));
      p.dispose();
    });
  }
  expect(tf.engine().backend.numDataIds()).toBe(base);
  const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.split(v, [2, 4], 1)[1], 3)))(x);
  expect(Array.from(g.dataSync())).toEqual(Array.from({ length: 60 }, (_, i) => (Math.floor(i / 5) % 6 >= 2 ? 3 : 0)));
});
