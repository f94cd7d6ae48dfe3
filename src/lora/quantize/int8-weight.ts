/**
 * `int8` weights: per-row absmax codes packed four per int32, dequantized on the backend with one
 * lookup per 16-bit half-word (two signed bytes) and a per-row scale.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RowsInt8 } from './blockwise.js';
import { halfWordTableInt8, pack8BitHalves } from './pack.js';
import { quantizedLinear } from './quantized-linear.js';
import type { QuantizedWeight } from './types.js';
import { unpackHalfWords } from './unpack.js';

let tableCache: Float32Array | null = null;

export class Int8Weight implements QuantizedWeight {
  readonly format = 'int8' as const;
  readonly shape: [number, number];
  private readonly packed: tf.Tensor1D; // int32 [ceil(rows·cols / 4)]
  private readonly scales: tf.Tensor3D; // [rows, 1, 1]

  constructor(shape: [number, number], q: RowsInt8) {
    this.shape = shape;
    this.packed = tf.keep(tf.tensor1d(pack8BitHalves(q.codes), 'int32'));
    this.scales = tf.keep(tf.tensor3d(q.scales, [shape[0], 1, 1]));
  }

  residentBytes(): number {
    return (this.packed.size + this.scales.size) * 4;
  }

  dequantize(): tf.Tensor2D {
    return tf.tidy(() => {
      const [rows, cols] = this.shape;
      tableCache ??= halfWordTableInt8();
      const table = tf.tensor2d(tableCache, [65536, 2]);
      const halfWords = unpackHalfWords(this.packed);
      const codes = tf.gather(table, halfWords); // [2W, 2] = codes in order
      tf.dispose([table, halfWords]); // early disposal lowers the peak; tidy tolerates it
      let flat: tf.Tensor1D = tf.reshape(codes, [codes.size]);
      if (flat.size !== rows * cols) flat = tf.slice(flat, 0, rows * cols); // drop the padding
      const byRow = tf.reshape(flat, [rows, 1, cols]);
      // [rows, 1, 1] × [rows, 1, cols]: batched matmul instead of a broadcasting multiply (see four-bit-weight.ts).
      const scaled = tf.matMul(this.scales, byRow);
      tf.dispose([codes, flat, byRow]);
      return tf.reshape(scaled, [rows, cols]);
    });
  }

  matMulTransposed(x: tf.Tensor2D): tf.Tensor2D {
    return quantizedLinear(x, this) as tf.Tensor2D;
  }

  dispose(): void {
    this.packed.dispose();
    this.scales.dispose();
  }
}
