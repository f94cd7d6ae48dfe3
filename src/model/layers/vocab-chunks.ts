/**
 * Vocabulary-sized tables (token embedding, output head) split by rows when one tensor would be
 * larger than the backend can bind in one kernel (WebGPU's `maxStorageBufferBindingSize`: 128 MiB
 * on llvmpipe and many GPUs, while GPT-2's 50257×768 table is 154 MB). Each chunk is a tensor of
 * whole rows under the limit; lookup and the head's product work chunk by chunk, so no kernel
 * ever binds the whole table. On backends without a limit nothing is split.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../../util/tfjs-setup.js';
import { bufferLimitBytes } from '../../engine/buffer-limit.js';
import type { HostTensor } from '../types.js';
import type { DequantizableWeight } from './linear.js';

/** Rows per chunk for a `[rows, cols]` float32 table, or null when it fits in one binding. */
export function vocabChunkRows(rows: number, cols: number, limitBytes = bufferLimitBytes()): number | null {
  if (rows * cols * 4 <= limitBytes) return null;
  return Math.max(1, Math.floor(limitBytes / (cols * 4)));
}

/** A `[V, C]` table held as row chunks; usable as a Linear weight (the output head). */
export class VocabChunks implements DequantizableWeight {
  readonly format = 'fp32-vocab-chunks';
  readonly shape: [number, number];
  /** First row of each chunk. */
  readonly offsets: number[];

  constructor(readonly chunks: tf.Tensor2D[]) {
    const C = chunks[0].shape[1];
    this.offsets = [];
    let V = 0;
    for (const c of chunks) {
      this.offsets.push(V);
      V += c.shape[0];
    }
    this.shape = [V, C];
  }

  /** Splits host data into chunks of `rowsPerChunk` rows; `variable` makes each a trainable variable. */
  static fromHost(data: Float32Array, shape: [number, number], rowsPerChunk: number, variable = false): VocabChunks {
    const [V, C] = shape;
    const chunks: tf.Tensor2D[] = [];
    for (let r = 0; r < V; r += rowsPerChunk) {
      const n = Math.min(rowsPerChunk, V - r);
      const t = tf.tensor2d(data.subarray(r * C, (r + n) * C), [n, C], 'float32');
      chunks.push(variable ? (tf.variable(t, true) as unknown as tf.Tensor2D) : t);
      if (variable) t.dispose();
    }
    return new VocabChunks(chunks);
  }

  /**
   * Rows `ids` `[N]` → `[N, C]`: each chunk gathers the ids that fall in it (others clipped and
   * zeroed by a mask), and the per-chunk results are summed. `trainable` uses one-hot products per
   * chunk (gather's gradient is missing on wasm, see embedding.ts).
   */
  lookup(ids: tf.Tensor1D, trainable: boolean): tf.Tensor2D {
    return tf.tidy(() => {
      const parts = this.chunks.map((chunk, i) => {
        const n = chunk.shape[0];
        const local = tf.sub(ids, tf.scalar(this.offsets[i], 'int32')) as tf.Tensor1D;
        if (trainable) return tf.matMul(tf.oneHot(local, n).cast('float32'), chunk) as tf.Tensor2D; // out-of-range ids give zero rows
        const inside = tf.logicalAnd(tf.greaterEqual(local, 0), tf.less(local, n)).cast('float32').expandDims(1);
        return tf.mul(tf.gather(chunk, tf.clipByValue(local, 0, n - 1)), inside) as tf.Tensor2D;
      });
      return (parts.length === 1 ? parts[0] : tf.addN(parts)) as tf.Tensor2D;
    });
  }

  /** `x · Wᵀ` `[N, V]`: one product per chunk, concatenated along the vocabulary. */
  matMulTransposed(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.concat(this.chunks.map((c) => tf.matMul(x, c, false, true)), 1) as tf.Tensor2D);
  }

  /** The whole table as one tensor: only for small tables (it is exactly what the chunks avoid). */
  dequantize(): tf.Tensor2D {
    return tf.concat(this.chunks, 0) as tf.Tensor2D;
  }

  residentBytes(): number {
    return this.shape[0] * this.shape[1] * 4;
  }

  /** Host copy, read chunk by chunk (never one kernel over the whole table). */
  toHost(): HostTensor {
    const [V, C] = this.shape;
    const data = new Float32Array(V * C);
    this.chunks.forEach((c, i) => data.set(c.dataSync() as Float32Array, this.offsets[i] * C));
    return { shape: [V, C], data };
  }

  dispose(): void {
    for (const c of this.chunks) c.dispose();
  }
}

/** A vocabulary table: one tensor, or row chunks when one tensor would exceed the binding limit. */
export type VocabTable = tf.Tensor2D | VocabChunks;
