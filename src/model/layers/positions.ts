import * as tf from '@tensorflow/tfjs-core';

/** Default positions past..past+T-1 for every row (right padding): `[B, T]` int32. */
export function defaultPositions(batch: number, T: number, past: number): tf.Tensor2D {
  return tf.tile(tf.range(past, past + T, 1, 'int32').reshape([1, T]), [batch, 1]) as tf.Tensor2D;
}
