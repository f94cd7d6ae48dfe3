import * as tf from '@tensorflow/tfjs-core';

/**
 * DoRA (Liu et al. 2024, arXiv:2402.09353) as PEFT's `DoraLinearLayer` computes it.
 *
 * The adapted weight is W' = m ⊙ (W + s·B·A) / ‖W + s·B·A‖, where the norm is taken per output
 * row of the `[out, in]` weight (torch.linalg.norm(weight, dim=1)), giving one value per output
 * feature, and m (`lora_magnitude_vector`, `[out]`) is trained. Following section 4.3 of the paper
 * (and PEFT), the norm is treated as a constant in the backward pass: no gradient flows through it.
 */

/** ‖W + s·B·A‖ per output row, `[out]`, with no gradient to A or B (PEFT's `weight_norm.detach()`). */
export function detachedWeightNorm(weight: () => tf.Tensor2D, A: tf.Tensor, B: tf.Tensor, scale: number): tf.Tensor1D {
  const norm = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [a, b] = args as [tf.Tensor2D, tf.Tensor2D];
    const value = tf.tidy(() => rowNorms(tf.add(weight(), tf.mul(tf.matMul(b, a), scale)) as tf.Tensor2D));
    return { value, gradFunc: () => [tf.zerosLike(a), tf.zerosLike(b)] };
  });
  return norm(A, B) as tf.Tensor1D;
}

/** L2 norm of each row of a `[out, in]` matrix. */
export function rowNorms(w: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(w), 1)) as tf.Tensor1D);
}

export interface DoraForwardInput {
  /** Layer input `[N, in]` (after dropout, when dropout is active). */
  x: tf.Tensor2D;
  /** `x · Wᵀ` for the same x, without bias `[N, out]`. */
  baseOut: tf.Tensor2D;
  A: tf.Tensor;
  B: tf.Tensor;
  magnitude: tf.Tensor;
  scale: number;
  weight: () => tf.Tensor2D;
}

/**
 * PEFT's DoRA extra output, added to the base layer's result:
 * `(m/‖·‖ − 1)·x·Wᵀ + (m/‖·‖)·s·x·Aᵀ·Bᵀ`. Without dropout this makes the layer output
 * `(m/‖·‖)·(x·(W + s·B·A)ᵀ) + b`; with dropout x is the dropped-out input on both terms while
 * the base result keeps the clean input, exactly as PEFT does.
 */
export function doraDelta(p: DoraForwardInput): tf.Tensor2D {
  const norm = detachedWeightNorm(p.weight, p.A, p.B, p.scale);
  const mns = tf.div(p.magnitude, norm); // [out]
  const lora = tf.matMul(tf.matMul(p.x, p.A as tf.Tensor2D, false, true), p.B as tf.Tensor2D, false, true); // [N, out]
  return tf.add(tf.mul(tf.sub(mns, 1), p.baseOut), tf.mul(tf.mul(mns, p.scale), lora)) as tf.Tensor2D;
}

/** The merged DoRA weight m/‖W + s·B·A‖ ⊙ (W + s·B·A), `[out, in]` (PEFT's merge_safe). */
export function doraMergedWeight(W: tf.Tensor2D, A: tf.Tensor, B: tf.Tensor, magnitude: tf.Tensor, scale: number): tf.Tensor2D {
  return tf.tidy(() => {
    const merged = tf.add(W, tf.mul(tf.matMul(B as tf.Tensor2D, A as tf.Tensor2D), scale)) as tf.Tensor2D;
    const factor = tf.div(magnitude, rowNorms(merged)).reshape([-1, 1]);
    return tf.mul(merged, factor) as tf.Tensor2D;
  });
}
