import * as tf from '@tensorflow/tfjs-core';
import '../../util/tfjs-setup.js';
import { fusedAddLayerNorm, fusedAddRmsNorm, fusedLayerNorm, fusedOpsAvailable, fusedRmsNorm } from './fused-ops.js';

/** RMSNorm as in HF LlamaRMSNorm: `w · x / √(mean(x²) + ε)`, computed in float32. */
export function rmsNorm(x: tf.Tensor, weight: tf.Tensor1D, eps: number): tf.Tensor {
  const fused = fusedRmsNorm(x, weight, eps, false);
  if (fused) return fused;
  const variance = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(variance, eps))), weight);
}

/** Gemma's RMSNorm: the gain is stored as an offset from 1, `(1 + w) · x / √(mean(x²) + ε)`. */
export function rmsNormOffset(x: tf.Tensor, weight: tf.Tensor1D, eps: number): tf.Tensor {
  const fused = fusedOpsAvailable() ? fusedRmsNorm(x, tf.add(weight, 1), eps, false) : null;
  if (fused) return fused;
  const variance = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(variance, eps))), tf.add(weight, 1));
}

/**
 * A pre-norm block's norm of the residual stream x, and the tensor its residual add must read in
 * place of x: x itself, or with the fused op (fused-ops.ts) its pass-through output, through which
 * x's gradient gets the residual's contribution in tfjs's order.
 */
export function rmsNormResidual(x: tf.Tensor, weight: tf.Tensor1D, eps: number, offset = false): [tf.Tensor, tf.Tensor] {
  const fused = fusedOpsAvailable() ? fusedRmsNorm(x, offset ? tf.add(weight, 1) : weight, eps, true) : null;
  return fused ?? [offset ? rmsNormOffset(x, weight, eps) : rmsNorm(x, weight, eps), x];
}

/**
 * {@link rmsNormResidual} of the residual stream `x + delta` (the block's residual add), fused
 * with the add where the backend has the fused kernels: [norm of the sum, the sum].
 */
export function addRmsNormResidual(x: tf.Tensor, delta: tf.Tensor, weight: tf.Tensor1D, eps: number, offset = false): [tf.Tensor, tf.Tensor] {
  const fused = fusedOpsAvailable() ? fusedAddRmsNorm(x, delta, offset ? tf.add(weight, 1) : weight, eps) : null;
  return fused ?? rmsNormResidual(tf.add(x, delta), weight, eps, offset);
}

/** The sums of `t` over every axis but the last: `[C]` (a LayerNorm gain's or bias's gradient). */
function sumLeading(t: tf.Tensor): tf.Tensor {
  return tf.sum(t, Array.from({ length: t.rank - 1 }, (_, i) => i));
}

/** A trained tensor (full fine-tuning), whose gradient must then be computed. */
const trained = (t: tf.Tensor): boolean => t instanceof tf.Variable && t.trainable;

/**
 * LayerNorm over the last axis (biased variance, as torch.nn.LayerNorm), with a hand-written
 * backward pass: `dx = r·(g − mean(g) − x̂·mean(g·x̂))` with g = dy·w, x̂ = (x − μ)·r, r = 1/√(σ² + ε),
 * from the forward's x̂ and r, in 8 kernels where tfjs's differentiation of the forward runs
 * about 25 and builds two input-sized `ones` arrays on the host. The gain's and bias's gradients
 * (Σ dy·x̂, Σ dy) are computed only when they are trained. The forward pass is unchanged; the
 * gradient differs from the differentiated one by float32 rounding (GPT-2 and phi only: the Llama
 * family uses RMSNorm). Where the backend has the fused kernels (fused-ops.ts) the same chain runs
 * as one kernel forward and one backward.
 */
export function layerNorm(x: tf.Tensor, weight: tf.Tensor1D, bias: tf.Tensor1D, eps: number): tf.Tensor {
  return fusedLayerNorm(x, weight, bias, eps, false) ?? composedLayerNorm(x, weight, bias, eps);
}

/**
 * A pre-norm block's LayerNorm of the residual stream x, and the tensor its residual add must read
 * in place of x (as {@link rmsNormResidual}).
 */
export function layerNormResidual(x: tf.Tensor, weight: tf.Tensor1D, bias: tf.Tensor1D, eps: number): [tf.Tensor, tf.Tensor] {
  return fusedLayerNorm(x, weight, bias, eps, true) ?? [composedLayerNorm(x, weight, bias, eps), x];
}

/**
 * {@link layerNormResidual} of the residual stream `a + b` (the block's residual add, in that operand
 * order), fused with the add where the backend has the fused kernels: [norm of the sum, the sum].
 */
export function addLayerNormResidual(a: tf.Tensor, b: tf.Tensor, weight: tf.Tensor1D, bias: tf.Tensor1D, eps: number): [tf.Tensor, tf.Tensor] {
  return fusedAddLayerNorm(a, b, weight, bias, eps) ?? layerNormResidual(tf.add(a, b), weight, bias, eps);
}

function composedLayerNorm(x: tf.Tensor, weight: tf.Tensor1D, bias: tf.Tensor1D, eps: number): tf.Tensor {
  const withParams = trained(weight) || trained(bias);
  const norm = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [xi, w, b] = withParams ? (args as tf.Tensor[]) : [args[0] as tf.Tensor, weight, bias];
    const mean = tf.mean(xi, -1, true);
    const centred = tf.sub(xi, mean);
    const variance = tf.mean(tf.square(centred), -1, true);
    const r = tf.rsqrt(tf.add(variance, eps));
    const xhat = tf.mul(centred, r);
    save([xhat, r]);
    return {
      value: tf.add(tf.mul(xhat, w), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sr] = saved;
        const g = tf.mul(dy, w);
        const inner = tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(sx, tf.mean(tf.mul(g, sx), -1, true)));
        const dx = tf.mul(inner, sr);
        return withParams ? [dx, sumLeading(tf.mul(dy, sx)), sumLeading(dy)] : dx;
      },
    };
  });
  return withParams ? norm(x, weight, bias) : norm(x);
}
