import * as tf from '@tensorflow/tfjs-core';
import '../util/tfjs-setup.js';
import { fusedCausalLmLoss } from './fused-training-ops.js';

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
export function pickTargets(logp: tf.Tensor2D, target: tf.Tensor1D, hostTarget?: Int32Array): tf.Tensor1D {
  const [N, V] = logp.shape;
  const pick = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const lp = args[0] as tf.Tensor2D;
    // n·V + target[n]: from the host copy of the targets when there is one (no kernels), else by kernels.
    const flat = hostTarget ? tf.tensor1d(flatIndex(hostTarget, V), 'int32') : tf.add(tf.mul(tf.range(0, N, 1, 'int32'), tf.scalar(V, 'int32')), target);
    return {
      value: tf.gather(lp.reshape([N * V]), flat),
      gradFunc: (dy: tf.Tensor) => tf.mul(dy.reshape([N, 1]), tf.oneHot(target, V).cast('float32')),
    };
  });
  return pick(logp) as tf.Tensor1D;
}

/** `n·V + target[n]` for every row n: the flat position of each row's target in a `[N, V]` matrix. */
function flatIndex(target: Int32Array, V: number): Int32Array {
  const flat = new Int32Array(target.length);
  for (let n = 0; n < target.length; n++) flat[n] = n * V + target[n];
  return flat;
}

/** Each position's next-token target `[B, T]` (labels shifted left; the last position and -100 labels ignored). */
export interface NextTokenTargets {
  /** The target id, 0 where ignored (int32). */
  safeTarget: tf.Tensor2D;
  /** 1 where the position counts in the loss, else 0 (float32). */
  mask: tf.Tensor2D;
  /** safeTarget's values on the host, row-major, when they were computed there. */
  host?: Int32Array;
}

function nextTokenTargets(labels: tf.Tensor2D): NextTokenTargets {
  const [B, T] = labels.shape;
  const target = tf.concat([tf.slice(labels, [0, 1], [B, T - 1]), tf.fill([B, 1], IGNORE_INDEX, 'int32')], 1); // [B, T]
  const valid = tf.notEqual(target, IGNORE_INDEX);
  return { safeTarget: tf.where(valid, target, tf.zerosLike(target)) as tf.Tensor2D, mask: tf.cast(valid, 'float32') as tf.Tensor2D };
}

/**
 * The same targets as the loss computes from a labels tensor, computed from a host batch's labels
 * `[B, T]` (row-major) instead: the same integers and 0/1 values, without the eight kernels (and,
 * inside a gradient tape, eight tape nodes) that shift and mask on the device. The caller disposes
 * the two tensors.
 */
export function hostNextTokenTargets(labels: Int32Array, B: number, T: number): NextTokenTargets {
  const safe = new Int32Array(B * T);
  const mask = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T - 1; t++) {
      const next = labels[b * T + t + 1];
      if (next !== IGNORE_INDEX) {
        safe[b * T + t] = next;
        mask[b * T + t] = 1;
      }
    }
  }
  return { safeTarget: tf.tensor2d(safe, [B, T], 'int32'), mask: tf.tensor2d(mask, [B, T], 'float32'), host: safe };
}

/**
 * log p(target) at every position `[B, T]` (0 where masked out). Computed over all T positions
 * rather than on a [B, T−1] slice of the logits: rows are independent, so the first T−1 are the
 * same values, the last is masked (its term adds an exact ±0, and its gradient is ±0 where the
 * slice's was a padded +0), and the vocabulary-wide copy forward and pad backward are saved.
 */
function targetLogProbs(logits: tf.Tensor3D, targets: NextTokenTargets): tf.Tensor2D {
  const [B, T, V] = logits.shape;
  const logp = tf.logSoftmax(logits, -1);
  return pickTargets(logp.reshape([B * T, V]) as tf.Tensor2D, targets.safeTarget.reshape([-1]) as tf.Tensor1D, targets.host).reshape([B, T]) as tf.Tensor2D;
}

/**
 * `neg(sum(log p(target) · mask))`, divided by `divisor` when given: one fused kernel forward and
 * one backward where the backend registers them (the same bits), else the composed ops.
 */
function maskedLossSum(logits: tf.Tensor3D, targets: NextTokenTargets, divisor?: number): tf.Scalar {
  const fused = fusedCausalLmLoss(logits, targets.safeTarget, targets.mask, divisor);
  if (fused) return fused;
  const sum = tf.neg(tf.sum(tf.mul(targetLogProbs(logits, targets), targets.mask))) as tf.Scalar;
  return divisor === undefined ? sum : (tf.div(sum, divisor) as tf.Scalar);
}

/**
 * Summed next-token cross-entropy (the training objective alone, see {@link causalLmLossSum}), from
 * the labels `[B, T]` or from their targets ({@link hostNextTokenTargets}: the same bits); divided
 * by `divisor` when given (`tf.div(loss, divisor)`'s bits, as part of the same op).
 */
export function causalLmLoss(logits: tf.Tensor3D, labels: tf.Tensor2D | NextTokenTargets, divisor?: number): tf.Scalar {
  const targets = labels instanceof tf.Tensor ? nextTokenTargets(labels) : labels;
  return maskedLossSum(logits, targets, divisor);
}

/**
 * Summed next-token cross-entropy, as HF's causal-LM loss before its mean: position t predicts
 * label t+1 (the shift happens here, not in the data), and positions labelled -100 are ignored.
 * Returns the sum and the number of counted tokens so callers can weight micro-batches by
 * tokens, and the number of counted tokens whose argmax is the target. logits: [B, T, V]
 * float32; labels: [B, T] int32.
 */
export function causalLmLossSum(logits: tf.Tensor3D, labels: tf.Tensor2D): { sum: tf.Scalar; count: tf.Scalar; correct: tf.Scalar } {
  const targets = nextTokenTargets(labels);
  const { safeTarget, mask } = targets;
  const sum = maskedLossSum(logits, targets);
  const count = tf.sum(mask) as tf.Scalar;
  const correct = tf.sum(tf.mul(tf.cast(tf.equal(tf.argMax(logits, -1), safeTarget), 'float32'), mask)) as tf.Scalar;
  return { sum, count, correct };
}
