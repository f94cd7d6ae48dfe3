import * as tf from '@tensorflow/tfjs-core';
import { quantizedLinear } from './quantized-linear.js';
import type { QuantizedWeight } from './types.js';

/** The float32 baseline behind the same interface as the quantized formats. */
export class Fp32Weight implements QuantizedWeight {
  readonly format = 'fp32' as const;
  readonly shape: [number, number];
  private readonly weight: tf.Tensor2D;

  constructor(weight: tf.Tensor2D) {
    this.weight = weight;
    this.shape = [weight.shape[0], weight.shape[1]];
  }

  residentBytes(): number {
    return this.weight.size * 4;
  }

  /** A clone shares the stored data (no copy), so disposing it never frees the weight. */
  dequantize(): tf.Tensor2D {
    return tf.clone(this.weight);
  }

  matMulTransposed(x: tf.Tensor2D): tf.Tensor2D {
    return quantizedLinear(x, this) as tf.Tensor2D;
  }

  dispose(): void {
    this.weight.dispose();
  }
}
