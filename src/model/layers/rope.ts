import * as tf from '@tensorflow/tfjs-core';
import '../../util/tfjs-setup.js';
import type { ConstantCache } from './constant-cache.js';
import { fusedRope } from './fused-ops.js';
import { defaultPositions } from './positions.js';

/**
 * Rotary position embedding as HF Llama applies it (the "rotate_half" convention, not the
 * interleaved one of the original paper): inv_freq_i = 1/θ^(2i/dim), angles = pos ⊗ inv_freq,
 * emb = [angles, angles], q' = q·cos(emb) + rotate_half(q)·sin(emb). `dim` is the number of
 * rotated dimensions: the head size, or fewer with partial rotary (phi: partial_rotary_factor).
 */
export interface RopeTables {
  /** cos(emb) `[B, 1, T, dim]`. */
  cos: tf.Tensor;
  /** sin(emb) `[B, 1, T, dim]`. */
  sin: tf.Tensor;
}

export function ropeCosSin(positionIds: tf.Tensor2D, dim: number, theta: number): RopeTables {
  const half = dim / 2;
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / Math.pow(theta, (2 * i) / dim);
  const [B, T] = positionIds.shape;
  const angles = tf.mul(tf.cast(positionIds, 'float32').reshape([B, T, 1]), tf.tensor1d(invFreq)); // [B, T, dim/2]
  const emb = tf.concat([angles, angles], -1).reshape([B, 1, T, dim]); // [B, 1, T, dim]
  return { cos: tf.cos(emb), sin: tf.sin(emb) };
}

/**
 * The rotary tables of a forward pass: from `positionIds` when given; else those of the default
 * positions past..past+T-1, sliced from tables of positions 0..capacity-1 kept in `cache`
 * (`[1, 1, T, dim]`, broadcast over the batch: the same products as per-row tables).
 */
export function ropeTables(positionIds: tf.Tensor2D | null | undefined, shape: { T: number; past: number }, dim: number, theta: number, cache: ConstantCache): RopeTables {
  if (positionIds) return ropeCosSin(positionIds, dim, theta);
  const { T, past } = shape;
  const { capacity, tensors } = cache.get(`rope ${dim} ${theta}`, past + T, (cap) => {
    const t = ropeCosSin(defaultPositions(1, cap, 0), dim, theta);
    return [t.cos, t.sin];
  });
  const [cos, sin] = past === 0 && T === capacity ? tensors : tensors.map((t) => tf.slice(t, [0, 0, past, 0], [1, 1, T, dim]));
  return { cos, sin };
}

function rotateHalf(x: tf.Tensor): tf.Tensor {
  const d = x.shape[x.shape.length - 1];
  const [x1, x2] = tf.split(x, [d / 2, d / 2], -1);
  return tf.concat([tf.neg(x2), x1], -1);
}

/**
 * x: [B, H, T, d]; tables [B|1, 1, T, r] with r ≤ d. The first r dimensions of each head are
 * rotated, the rest pass through (partial rotary, as transformers' Phi and Phi-3).
 */
export function applyRope(x: tf.Tensor, t: RopeTables): tf.Tensor {
  const fused = fusedRope(x, t.cos, t.sin);
  if (fused) return fused;
  const d = x.shape[x.shape.length - 1];
  const r = t.cos.shape[t.cos.shape.length - 1];
  if (r === d) return tf.add(tf.mul(x, t.cos), tf.mul(rotateHalf(x), t.sin));
  const [rot, pass] = tf.split(x, [r, d - r], -1);
  return tf.concat([tf.add(tf.mul(rot, t.cos), tf.mul(rotateHalf(rot), t.sin)), pass], -1);
}
