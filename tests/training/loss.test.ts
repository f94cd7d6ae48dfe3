import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, test } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import '../../src/util/tfjs-setup.js';
import { initEngine } from '../../src/engine/backend.js';
import { pickTargets } from '../../src/training/loss.js';

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
