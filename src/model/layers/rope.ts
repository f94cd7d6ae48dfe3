import * as tf from '@tensorflow/tfjs-core';
import '../../util/tfjs-setup.js';

/**
 * Rotary position embedding as HF Llama applies it (the "rotate_half" convention, not the
 * interleaved one of the original paper): inv_freq_i = 1/θ^(2i/dim), angles = pos ⊗ inv_freq,
 * emb = [angles, angles], q' = q·cos(emb) + rotate_half(q)·sin(emb). `dim` is the number of
 * rotated dimensions: the head size, or fewer with partial rotary (phi: partial_rotary_factor).
 */
export function ropeCosSin(positionIds: tf.Tensor2D, dim: number, theta: number): { cos: tf.Tensor; sin: tf.Tensor } {
  const half = dim / 2;
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / Math.pow(theta, (2 * i) / dim);
  const [B, T] = positionIds.shape;
  const angles = tf.mul(tf.cast(positionIds, 'float32').reshape([B, T, 1]), tf.tensor1d(invFreq)); // [B, T, dim/2]
  const emb = tf.concat([angles, angles], -1).reshape([B, 1, T, dim]); // [B, 1, T, dim]
  return { cos: tf.cos(emb), sin: tf.sin(emb) };
}

function rotateHalf(x: tf.Tensor): tf.Tensor {
  const d = x.shape[x.shape.length - 1];
  const [x1, x2] = tf.split(x, [d / 2, d / 2], -1);
  return tf.concat([tf.neg(x2), x1], -1);
}

/**
 * x: [B, H, T, d]; cos/sin: [B, 1, T, r] with r ≤ d. The first r dimensions of each head are
 * rotated, the rest pass through (partial rotary, as transformers' Phi and Phi-3).
 */
export function applyRope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  const d = x.shape[x.shape.length - 1];
  const r = cos.shape[cos.shape.length - 1];
  if (r === d) return tf.add(tf.mul(x, cos), tf.mul(rotateHalf(x), sin));
  const [rot, pass] = tf.split(x, [r, d - r], -1);
  return tf.concat([tf.add(tf.mul(rot, cos), tf.mul(rotateHalf(rot), sin)), pass], -1);
}
