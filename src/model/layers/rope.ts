import * as tf from '@tensorflow/tfjs-core';
import '../../util/tfjs-setup.js';

/**
 * Rotary position embedding as HF Llama applies it (the "rotate_half" convention, not the
 * interleaved one of the original paper): inv_freq_i = 1/θ^(2i/d), angles = pos ⊗ inv_freq,
 * emb = [angles, angles], q' = q·cos(emb) + rotate_half(q)·sin(emb).
 */
export function ropeCosSin(positionIds: tf.Tensor2D, headDim: number, theta: number): { cos: tf.Tensor; sin: tf.Tensor } {
  const half = headDim / 2;
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / Math.pow(theta, (2 * i) / headDim);
  const [B, T] = positionIds.shape;
  const angles = tf.mul(tf.cast(positionIds, 'float32').reshape([B, T, 1]), tf.tensor1d(invFreq)); // [B, T, d/2]
  const emb = tf.concat([angles, angles], -1).reshape([B, 1, T, headDim]); // [B, 1, T, d]
  return { cos: tf.cos(emb), sin: tf.sin(emb) };
}

function rotateHalf(x: tf.Tensor): tf.Tensor {
  const d = x.shape[x.shape.length - 1];
  const [x1, x2] = tf.split(x, [d / 2, d / 2], -1);
  return tf.concat([tf.neg(x2), x1], -1);
}

/** x: [B, H, T, d]; cos/sin: [B, 1, T, d]. */
export function applyRope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  return tf.add(tf.mul(x, cos), tf.mul(rotateHalf(x), sin));
}
