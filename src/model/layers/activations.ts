import * as tf from '@tensorflow/tfjs-core';

/** SiLU (swish): `x · σ(x)`. */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/** GPT-2's `gelu_new`: the tanh approximation `0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))`. */
export function geluNew(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

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
