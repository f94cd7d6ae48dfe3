/**
 * `nf4`, `fp4` and `nf4-dq` weights: 4-bit codes packed eight per int32 plus per-block scales,
 * dequantized on the backend with one lookup per 16-bit half-word.
 */
import * as tf from '@tensorflow/tfjs-core';
import { FP4_CODE, NF4_CODE } from './code-tables.js';
import { halfWordTable4Bit, pack4BitHalves } from './pack.js';
import type { ScaleStore } from './scale-stores.js';
import { quantizedLinear } from './quantized-linear.js';
import type { QuantizedWeight } from './types.js';
import { unpackHalfWords } from './unpack.js';

export type FourBitFormat = 'nf4' | 'nf4-dq' | 'fp4';

/** Host copies of the half-word tables (1 MiB each), built on first use. */
const tables = new Map<'nf4' | 'fp4', Float32Array>();
function halfWordTable(format: FourBitFormat): Float32Array {
  const key = format === 'fp4' ? 'fp4' : 'nf4';
  let table = tables.get(key);
  if (!table) {
    table = halfWordTable4Bit(key === 'fp4' ? FP4_CODE : NF4_CODE);
    tables.set(key, table);
  }
  return table;
}

export class FourBitWeight implements QuantizedWeight {
  readonly format: FourBitFormat;
  readonly shape: [number, number];
  readonly blockSize: number;
  private readonly packed: tf.Tensor1D; // int32 [numBlocks · blockSize / 8]
  private readonly scales: ScaleStore;

  constructor(params: { format: FourBitFormat; shape: [number, number]; blockSize: number; codes: Uint8Array; scales: ScaleStore }) {
    this.format = params.format;
    this.shape = params.shape;
    this.blockSize = params.blockSize;
    this.scales = params.scales;
    this.packed = tf.keep(tf.tensor1d(pack4BitHalves(params.codes), 'int32'));
  }

  residentBytes(): number {
    return this.packed.size * 4 + this.scales.residentBytes();
  }

  dequantize(): tf.Tensor2D {
    return tf.tidy(() => {
      const [rows, cols] = this.shape;
      const numBlocks = this.scales.numBlocks;
      // The table is uploaded per call (a 1 MiB copy, small next to the gather) rather than kept
      // resident: no hidden per-backend state, and resident bytes stay this weight's own.
      const table = tf.tensor2d(halfWordTable(this.format), [65536, 4]);
      const halfWords = unpackHalfWords(this.packed);
      const values = tf.gather(table, halfWords); // [2W, 4] = codes in order
      tf.dispose([table, halfWords]); // early disposal lowers the peak; tidy tolerates it
      const blocks = tf.reshape(values, [numBlocks, 1, this.blockSize]);
      const scales = this.scales.decode();
      // [B, 1, 1] × [B, 1, bs]: a batched matmul, because the cpu backend's broadcasting multiply
      // takes a slow per-element path (measured 2-4× slower there; equal on wasm).
      const scaled = tf.matMul(scales, blocks); // [B, 1, bs]
      tf.dispose([values, blocks]);
      let flat: tf.Tensor1D = tf.reshape(scaled, [numBlocks * this.blockSize]);
      if (flat.size !== rows * cols) flat = tf.slice(flat, 0, rows * cols); // drop the padding
      return tf.reshape(flat, [rows, cols]);
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
