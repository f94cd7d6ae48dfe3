/**
 * Fused training ops: the causal-LM loss (logSoftmax over the vocabulary, the target pick, mask,
 * sum, neg and the optional division by the token count) as one kernel forward and one backward,
 * and AdamW's gradient norm and update as one kernel each, instead of the ~20 loss kernels and
 * ~28 optimizer kernels tfjs runs for the composed ops. A backend opts in by registering the
 * kernels named in {@link TRAINING_KERNELS} (src/engine/native-fused.ts does for wasm with the
 * native ops addon); where they are not registered every function here returns null and the
 * callers run their composed ops. The kernels give the composed ops' values and gradients bit for
 * bit: the same float32 operations in the same order, with the transcendental ones (Exp, Log)
 * run by the backend's own registered kernels (tests/training/fused-training-ops.test.ts compares
 * both paths).
 */
import * as tf from '@tensorflow/tfjs-core';
import '../util/tfjs-setup.js';

export const TRAINING_KERNELS = {
  causalLmLoss: 'LoraStudyFusedCausalLmLoss',
  causalLmLossGrad: 'LoraStudyFusedCausalLmLossGrad',
  adamwNorm: 'LoraStudyFusedAdamWNorm',
  adamwUpdate: 'LoraStudyFusedAdamWUpdate',
} as const;

const available = (name: string): boolean => tf.getKernel(name, tf.getBackend()) !== undefined;

const run = (name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor | tf.Tensor[] =>
  tf.engine().runKernel(name, inputs, attrs as never) as tf.Tensor | tf.Tensor[];

/**
 * `neg(sum(logSoftmax(logits)[n, target[n]] · mask[n]))`, divided by `divisor` when given, for
 * logits `[…, V]` float32, targets int32 in [0, V) and mask float32 with one element per row (loss.ts's
 * chain; tf.logSoftmax's gradient dy − Σdy·exp(value)), or null when the backend has no fused kernel
 * or the operands are not these.
 */
export function fusedCausalLmLoss(logits: tf.Tensor, target: tf.Tensor, mask: tf.Tensor, divisor?: number): tf.Scalar | null {
  if (!available(TRAINING_KERNELS.causalLmLoss) || logits.dtype !== 'float32' || target.dtype !== 'int32' || mask.dtype !== 'float32') return null;
  if (logits.rank < 2 || logits.size === 0) return null;
  const V = logits.shape[logits.rank - 1];
  if (V < 2 || target.size !== logits.size / V || mask.size !== target.size) return null;
  if (divisor !== undefined && !(divisor > 0 && Number.isFinite(divisor))) return null;
  const attrs = { divisor: divisor ?? 0 };
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [lg, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const [loss, value] = run(TRAINING_KERNELS.causalLmLoss, { logits: lg, target, mask }, attrs) as tf.Tensor[];
    save([value, target, mask]);
    return {
      value: loss,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [v, t, m] = saved;
        return run(TRAINING_KERNELS.causalLmLossGrad, { dy, value: v, target: t, mask: m }, attrs) as tf.Tensor;
      },
    };
  }) as (logits: tf.Tensor) => tf.Scalar;
  return op(logits);
}

/** Whether {@link fusedAdamWNorm} and {@link fusedAdamWUpdate} run on the current backend. */
export function fusedAdamWAvailable(ts: tf.Tensor[]): boolean {
  return available(TRAINING_KERNELS.adamwNorm) && ts.every((t) => t.dtype === 'float32');
}

/**
 * AdamW.prepare in one kernel: per group (`groups[k]` = parameter indices) the gradients flat and
 * squared, and the global norm √(Σ_i Σ g_i²) (per parameter a sum from 0 in order, the sums added in
 * parameter order). Returns [flat per group, squares per group, norm].
 */
export function fusedAdamWNorm(grads: tf.Tensor[], groups: number[][]): { flat: tf.Tensor1D[]; squares: tf.Tensor1D[]; norm: tf.Scalar } {
  const inputs: tf.NamedTensorMap = {};
  grads.forEach((g, i) => (inputs[`g${i}`] = g));
  const out = run(TRAINING_KERNELS.adamwNorm, inputs, { groups: groups as never }) as tf.Tensor[];
  const G = groups.length;
  return { flat: out.slice(1, 1 + G) as tf.Tensor1D[], squares: out.slice(1 + G) as tf.Tensor1D[], norm: out[0] as tf.Scalar };
}

/** AdamW's per-element constants, as JS numbers (the kernel rounds them to float32 as tfjs does). */
export interface AdamWConstants {
  /** Gradient scale (clipping); 1 = the prepared squares are used. */
  gradScale: number;
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  bc1: number;
  bc2: number;
  epsilon: number;
  /** 1 − lr·λ, or null without weight decay. */
  keep: number | null;
  lr: number;
}

/**
 * One AdamW update of a flat group (AdamW.step's chain per element): returns [m, v, …params] as
 * new tensors (the caller assigns them to the variables).
 */
export function fusedAdamWUpdate(m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, squares: tf.Tensor, params: tf.Tensor[], k: AdamWConstants): tf.Tensor[] {
  const inputs: tf.NamedTensorMap = { m, v, g };
  if (k.gradScale === 1) inputs.sq = squares;
  params.forEach((p, i) => (inputs[`p${i}`] = p));
  return run(TRAINING_KERNELS.adamwUpdate, inputs, { ...k, count: params.length } as never) as tf.Tensor[];
}
