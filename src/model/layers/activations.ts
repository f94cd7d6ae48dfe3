import * as tf from '@tensorflow/tfjs-core';
import { fusedGeluNew, fusedSiluMul } from './fused-ops.js';

/** SiLU (swish): `x · σ(x)`. */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/** A gated MLP's product `act(gate) · up`: one fused op for SiLU where the backend has it (fused-ops.ts). */
export function gatedProduct(act: (x: tf.Tensor) => tf.Tensor, gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  return (act === silu ? fusedSiluMul(gate, up) : null) ?? tf.mul(act(gate), up);
}

/** 2·√(2/π) and 2·√(2/π)·0.044715: gelu_new's tanh argument doubled, for the sigmoid form below. */
const GELU_K = 2 * Math.sqrt(2 / Math.PI);
const GELU_K3 = GELU_K * 0.044715;

/**
 * GPT-2's `gelu_new`, the tanh approximation `0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))`, computed as
 * the equal `x·σ(2√(2/π)·x·(1 + 0.044715x²))` (since 0.5(1 + tanh z) = σ(2z)): x³ as products
 * and σ instead of tanh, because wasm's Pow and Tanh kernels are scalar library calls about 30×
 * slower than its vectorised Sigmoid. The backward pass reuses the forward's x², σ
 * (d/dx = σ·(1 + x·(1 − σ)·(K + 3K₃x²))) instead of differentiating each op, which also keeps
 * the gradient from running Pow again. Differs from the tanh form by float32 rounding only. Where the
 * backend has the fused kernels (fused-ops.ts) the same chain runs as one kernel forward and one backward.
 */
export function geluNew(x: tf.Tensor): tf.Tensor {
  return fusedGeluNew(x, { k: GELU_K, k3: GELU_K3, k3x3: 3 * GELU_K3 }) ?? composedGeluNew(x);
}

const composedGeluNew: (x: tf.Tensor) => tf.Tensor = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const x2 = tf.mul(x, x);
  const s = tf.sigmoid(tf.mul(x, tf.add(tf.mul(x2, GELU_K3), GELU_K)));
  save([x, x2, s]);
  return {
    value: tf.mul(x, s),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sx2, ss] = saved;
      const slope = tf.mul(tf.mul(sx, tf.add(tf.mul(sx2, 3 * GELU_K3), GELU_K)), tf.sub(1, ss));
      return tf.mul(dy, tf.mul(ss, tf.add(slope, 1)));
    },
  };
}) as (x: tf.Tensor) => tf.Tensor;

/** Exact GELU (`gelu` in HF configs): `0.5x(1 + erf(x/√2))`. */
export function geluExact(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.div(x, Math.SQRT2)), 1));
}

export function activation(name: string): (x: tf.Tensor) => tf.Tensor {
  switch (name) {
    case 'silu':
    case 'swish':
      return silu;
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
      return geluNew;
    case 'gelu':
      return geluExact;
    case 'relu':
      return tf.relu;
    default:
      throw new Error(`unsupported activation function "${name}" (supported: silu, gelu_new, gelu_pytorch_tanh, gelu, relu)`);
  }
}
