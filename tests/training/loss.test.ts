import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, test } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import '../../src/util/tfjs-setup.js';
import { initEngine } from '../../src/engine/backend.js';
import { causalLmLoss, causalLmLossSum, hostNextTokenTargets, pickTargets } from '../../src/training/loss.js';

describe.each(['wasm', 'cpu'] as const)('on %s', (backend) => {
  test('picking target log-probs equals the one-hot product sum bit for bit, value and gradient', async () => {
    if (backend === 'wasm') await initEngine({ backend: 'wasm', threads: 1, nativeMatmul: 'off' });
    else await tf.setBackend('cpu');
    const [N, V] = [37, 53];
    const logits = tf.randomNormal([N, V], 0, 4, 'float32', 5);
    const target = tf.tensor1d(Array.from({ length: N }, (_, i) => (i * 7919) % V), 'int32');
    const weights = tf.randomNormal([N], 0, 1, 'float32', 6); // a non-uniform upstream gradient
    const oneHotPick = (lp: tf.Tensor2D) => tf.sum(tf.mul(lp, tf.oneHot(target, V)), -1);
    const loss = (pick: (lp: tf.Tensor2D) => tf.Tensor) => (x: tf.Tensor) => tf.sum(tf.mul(pick(tf.logSoftmax(x, -1) as tf.Tensor2D), weights));
    const ours = (lp: tf.Tensor2D) => pickTargets(lp, target);
    expect(ours(tf.logSoftmax(logits, -1) as tf.Tensor2D).dataSync()).toEqual(oneHotPick(tf.logSoftmax(logits, -1) as tf.Tensor2D).dataSync());
    const n = tf.memory().numTensors;
    const g = tf.grad(loss(ours))(logits);
    const ref = tf.grad(loss(oneHotPick))(logits);
    expect(g.dataSync()).toEqual(ref.dataSync());
    g.dispose();
    ref.dispose();
    expect(tf.memory().numTensors).toBe(n);
  });
});

/** The loss as it was first written: logits sliced to the T−1 predicting positions, one-hot pick. */
function slicedReference(logits: tf.Tensor3D, labels: tf.Tensor2D) {
  const [B, T, V] = logits.shape;
  const shifted = tf.slice(logits, [0, 0, 0], [B, T - 1, V]);
  const target = tf.slice(labels, [0, 1], [B, T - 1]);
  const valid = tf.notEqual(target, -100);
  const safeTarget = tf.where(valid, target, tf.zerosLike(target));
  const picked = tf.sum(tf.mul(tf.logSoftmax(shifted, -1), tf.oneHot(safeTarget, V)), -1);
  const mask = tf.cast(valid, 'float32');
  const correct = tf.sum(tf.mul(tf.cast(tf.equal(tf.argMax(shifted, -1), safeTarget), 'float32'), mask));
  return { sum: tf.neg(tf.sum(tf.mul(picked, mask))), count: tf.sum(mask), correct };
}

describe.each(['wasm', 'cpu'] as const)('on %s', (backend) => {
  test('the loss, token count, accuracy count and loss gradient equal the sliced one-hot formulation bit for bit', async () => {
    if (backend === 'wasm') await initEngine({ backend: 'wasm', threads: 1, nativeMatmul: 'off' });
    else await tf.setBackend('cpu');
    const [B, T, V] = [3, 9, 41];
    const logits = tf.randomNormal([B, T, V], 0, 3, 'float32', 8) as tf.Tensor3D;
    const ids = Array.from({ length: B * T }, (_, i) => (i * 31) % V);
    // prompt tokens and padding are -100
    [0, 1, 2, 9, 10, 16, 17, 18, 19, 25, 26].forEach((i) => (ids[i] = -100));
    const labels = tf.tensor2d(ids, [B, T], 'int32');
    const ours = causalLmLossSum(logits, labels);
    const ref = slicedReference(logits, labels);
    for (const k of ['sum', 'count', 'correct'] as const) expect(ours[k].dataSync(), k).toEqual(ref[k].dataSync());
    expect(causalLmLoss(logits, labels).dataSync()).toEqual(ref.sum.dataSync());
    const g = tf.grad((x: tf.Tensor) => causalLmLoss(x as tf.Tensor3D, labels))(logits).dataSync();
    const gr = tf.grad((x: tf.Tensor) => slicedReference(x as tf.Tensor3D, labels).sum)(logits).dataSync();
    // The last position's gradient is an exact zero either way (its sign may differ); every other value is the same bits.
    expect(Array.from(g, (v) => (v === 0 ? 0 : v))).toEqual(Array.from(gr, (v) => (v === 0 ? 0 : v)));
  });

  test('targets computed on the host give the same loss and loss gradient bits as the labels tensor, and leave no tensor', async () => {
    if (backend === 'wasm') await initEngine({ backend: 'wasm', threads: 1, nativeMatmul: 'off' });
    else await tf.setBackend('cpu');
    const [B, T, V] = [3, 9, 41];
    const logits = tf.randomNormal([B, T, V], 0, 3, 'float32', 9) as tf.Tensor3D;
    const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 37) % V);
    // prompt tokens, padding (a whole row's tail) and a lone ignored label mid-row are -100
    [0, 1, 5, 9, 20, 21, 22, 23, 24, 25, 26].forEach((i) => (ids[i] = -100));
    const labels = tf.tensor2d(ids, [B, T], 'int32');
    const n = tf.memory().numTensors;
    const host = hostNextTokenTargets(ids, B, T);
    const device = tf.tidy(() => {
      // The device path's own targets, read through the loss it feeds: the same 0/1 mask and ids.
      const shifted = tf.concat([tf.slice(labels, [0, 1], [B, T - 1]), tf.fill([B, 1], -100, 'int32')], 1);
      return { mask: Array.from(tf.cast(tf.notEqual(shifted, -100), 'float32').dataSync()), safe: Array.from(tf.where(tf.notEqual(shifted, -100), shifted, tf.zerosLike(shifted)).dataSync()) };
    });
    // (cpu's bool→float32 cast keeps the bool's byte array: compare values)
    expect(Array.from(host.mask.dataSync())).toEqual(device.mask);
    expect(Array.from(host.safeTarget.dataSync())).toEqual(device.safe);
    const lossBits = (l: tf.Tensor) => Array.from(new Uint32Array(Float32Array.from(l.dataSync()).buffer));
    const viaLabels = tf.tidy(() => lossBits(causalLmLoss(logits, labels)));
    const viaHost = tf.tidy(() => lossBits(causalLmLoss(logits, host)));
    expect(viaHost).toEqual(viaLabels);
    const gLabels = tf.grad((x: tf.Tensor) => causalLmLoss(x as tf.Tensor3D, labels))(logits);
    const gHost = tf.grad((x: tf.Tensor) => causalLmLoss(x as tf.Tensor3D, host))(logits);
    expect(lossBits(gHost)).toEqual(lossBits(gLabels));
    tf.dispose([gLabels, gHost, host.safeTarget, host.mask]);
    expect(tf.memory().numTensors).toBe(n);
    tf.dispose([logits, labels]);
  });
});
