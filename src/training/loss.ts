import * as tf from '@tensorflow/tfjs-core';
import '../util/tfjs-setup.js';

/** Hugging Face's ignore index: positions labelled -100 add nothing to the loss. */
export const IGNORE_INDEX = -100;

/**
 * `logp[n, target[n]]` `[N]` for `logp` `[N, V]` and int32 in-range targets `[N]`: a gather
 * forward, and as gradient `dy·onehot(target)`. This is exactly what the one-hot pick
 * `sum(logp·onehot(target), -1)` gives (its other terms are exact zeros, and its gradient is the
 * same products `dy·onehot`), without that pick's two vocabulary-wide kernels forward nor the
 * vocabulary-wide `ones` and product sum's gradient builds. (A plain gather would need
 * UnsortedSegmentSum for its gradient, which the wasm backend lacks.)
 */
export function pickTargets(logp: tf.Tensor2D, target: tf.Tensor1D): tf.Tensor1D {
  const [N, V] = logp.shape;
  const pick = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const lp = args[0] as tf.Tensor2D;
    const flat = tf.add(tf.mul(tf.range(0, N, 1, 'int32'), tf.scalar(V, 'int32')), target); // n·V + target[n]
    return {
      value: tf.gather(lp.reshape([N * V]), flat),
      gradFunc: (dy: tf.Tensor) => tf.mul(dy.reshape([N, 1]), tf.oneHot(target, V).cast('float32')),
    };
  });
  return pick(logp) as tf.Tensor1D;
}

/**
 * Summed next-token cross-entropy, as HF's causal-LM loss before its mean: position t predicts
 * label t+1 (the shift happens here, not in the data), and positions labelled -100 are ignored.
 * Returns the sum and the number of counted tokens so callers can weight micro-batches by
 * tokens. logits: [B, T, V] float32; labels: [B, T] int32.
 */
export function causalLmLossSum(logits: tf.Tensor3D, labels: tf.Tensor2D): { sum: tf.Scalar; count: tf.Scalar; correct: tf.Scalar } {
  const [B, T, V] = logits.shape;
  const shifted = tf.slice(logits, [0, 0, 0], [B, T - 1, V]); // [B, T-1, V]
  const target = tf.slice(labels, [0, 1], [B, T - 1]); // [B, T-1]
  const valid = tf.notEqual(target, IGNORE_INDEX); // [B, T-1]
  const safeTarget = tf.where(valid, target, tf.zerosLike(target));
  const logp = tf.logSoftmax(shifted, -1);
  const picked = pickTargets(logp.reshape([B * (T - 1), V]) as tf.Tensor2D, safeTarget.reshape([-1]) as tf.Tensor1D).reshape([B, T - 1]); // [B, T-1]
  const mask = tf.cast(valid, 'float32');
  const sum = tf.neg(tf.sum(tf.mul(picked, mask))) as tf.Scalar;
  const count = tf.sum(mask) as tf.Scalar;
  const argmax = tf.argMax(shifted, -1);
  const correct = tf.sum(tf.mul(tf.cast(tf.equal(argmax, safeTarget.cast('int32')), 'float32'), mask)) as tf.Scalar;
  return { sum, count, correct };
}
