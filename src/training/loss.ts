import * as tf from '@tensorflow/tfjs-core';
import '../util/tfjs-setup.js';

/** Hugging Face's ignore index: positions labelled -100 add nothing to the loss. */
export const IGNORE_INDEX = -100;

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
  // one-hot pick rather than gather: gather's gradient needs a kernel the wasm backend lacks.
  const picked = tf.sum(tf.mul(logp, tf.oneHot(safeTarget.cast('int32'), V)), -1); // [B, T-1]
  const mask = tf.cast(valid, 'float32');
  const sum = tf.neg(tf.sum(tf.mul(picked, mask))) as tf.Scalar;
  const count = tf.sum(mask) as tf.Scalar;
  const argmax = tf.argMax(shifted, -1);
  const correct = tf.sum(tf.mul(tf.cast(tf.equal(argmax, safeTarget.cast('int32')), 'float32'), mask)) as tf.Scalar;
  return { sum, count, correct };
}
