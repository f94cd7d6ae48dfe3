import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, test } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import '../../src/util/tfjs-setup.js';
import { initEngine } from '../../src/engine/backend.js';
import { applyRope, ropeCosSin } from '../../src/model/layers/rope.js';

/** HF's formulation written out: emb = [angles, angles], x·cos(emb) + rotate_half(x)·sin(emb). */
function hfRope(x: tf.Tensor, positions: tf.Tensor2D, dim: number, theta: number): tf.Tensor {
  const half = dim / 2;
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / Math.pow(theta, (2 * i) / dim);
  const [B, T] = positions.shape;
  const angles = tf.mul(tf.cast(positions, 'float32').reshape([B, T, 1]), tf.tensor1d(invFreq));
  const emb = tf.concat([angles, angles], -1).reshape([B, 1, T, dim]);
  const [cos, sin] = [tf.cos(emb), tf.sin(emb)];
  const rotateHalf = (v: tf.Tensor) => {
    const [a, b] = tf.split(v, [dim / 2, dim / 2], -1);
    return tf.concat([tf.neg(b), a], -1);
  };
  const d = x.shape[x.shape.length - 1];
  if (dim === d) return tf.add(tf.mul(x, cos), tf.mul(rotateHalf(x), sin));
  const [rot, pass] = tf.split(x, [dim, d - dim], -1);
  return tf.concat([tf.add(tf.mul(rot, cos), tf.mul(rotateHalf(rot), sin)), pass], -1);
}

describe.each(['wasm', 'cpu'] as const)('on %s', (backend) => {
  test.each([
    { d: 16, dim: 16 },
    { d: 10, dim: 4 },
  ])('rotary embedding (head %o): values and gradient bit-identical to HF rotate_half written out', async ({ d, dim }) => {
    if (backend === 'wasm') await initEngine({ backend: 'wasm', threads: 1, nativeMatmul: 'off' });
    else await tf.setBackend('cpu');
    const [B, H, T] = [2, 3, 5];
    const x = tf.randomNormal([B, H, T, d], 0, 1, 'float32', 11);
    const pos = tf.tensor2d([[0, 1, 2, 3, 4], [7, 8, 9, 10, 300]], [B, T], 'int32');
    const dy = tf.randomNormal([B, H, T, d], 0, 1, 'float32', 12);
    const ours = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(applyRope(v, ropeCosSin(pos, dim, 10000)), dy)));
    const ref = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(hfRope(v, pos, dim, 10000), dy)));
    expect(applyRope(x, ropeCosSin(pos, dim, 10000)).dataSync()).toEqual(hfRope(x, pos, dim, 10000).dataSync());
    expect(ours(x).dataSync()).toEqual(ref(x).dataSync());
  });
});
