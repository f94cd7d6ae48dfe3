import * as tf from '@tensorflow/tfjs-core';
import type { QuantizedWeight } from './types.js';

/**
 * `y = x · Wᵀ` for a frozen quantized `W` `[out, in]`, with `x` `[..., in]` → `y` `[..., out]`.
 *
 * The gradient w.r.t. `x` dequantizes `W` again instead of keeping the float32 copy from the
 * forward pass alive on the tape until backprop, as bitsandbytes' 4-bit matmul does: between
 * forward and backward only the packed weight stays resident. The weight itself gets no gradient.
 */
export function quantizedLinear(x: tf.Tensor, weight: QuantizedWeight): tf.Tensor {
  const [outFeatures, inFeatures] = weight.shape;
  const lead = x.shape.slice(0, -1);
  const linear = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor;
    const value = tf.tidy(() => {
      const x2 = tf.reshape(input, [-1, inFeatures]); // [N, in]
      return tf.reshape(tf.matMul(x2, weight.dequantize(), false, true), [...lead, outFeatures]); // [..., out]
    });
    const gradFunc = (dy: tf.Tensor): tf.Tensor =>
      tf.tidy(() => {
        const dy2 = tf.reshape(dy, [-1, outFeatures]); // [N, out]
        return tf.reshape(tf.matMul(dy2, weight.dequantize()), [...lead, inFeatures]); // [..., in]
      });
    return { value, gradFunc };
  });
  return linear(x);
}
