/**
 * Where a 4-bit weight keeps its per-block absmax scales: plain float32 (`nf4`, `fp4`), or
 * double-quantized to 8 bits as QLoRA does (`nf4-dq`). `decode()` returns them as `[numBlocks, 1, 1]`
 * float32 on the backend, ready to scale `[numBlocks, 1, blockSize]` code values with a batched
 * matmul.
 */
import * as tf from '@tensorflow/tfjs-core';
import { dynamicMap } from './code-tables.js';
import type { DoubleQuantizedScales } from './blockwise.js';
import { packBytesQuarters } from './pack.js';
import { unpackBytesQuarters } from './unpack.js';

export interface ScaleStore {
  readonly numBlocks: number;
  /** Block scales `[numBlocks, 1, 1]`; a new tensor or the stored one (never dispose it outside a tidy). */
  decode(): tf.Tensor3D;
  residentBytes(): number;
  dispose(): void;
}

/** One float32 absmax per block: 32 bits per block. */
export class PlainScales implements ScaleStore {
  readonly numBlocks: number;
  private readonly scales: tf.Tensor3D;

  constructor(absmax: Float32Array) {
    this.numBlocks = absmax.length;
    this.scales = tf.keep(tf.tensor3d(absmax, [absmax.length, 1, 1]));
  }

  decode(): tf.Tensor3D {
    return this.scales;
  }

  residentBytes(): number {
    return this.scales.size * 4;
  }

  dispose(): void {
    this.scales.dispose();
  }
}

/**
 * QLoRA double quantization: an 8-bit dynamic-map code per block scale (packed four per int32)
 * plus one float32 absmax per group of `dqBlockSize` scales and one mean (`offset`, a host
 * number): 8 + 32/dqBlockSize bits per block.
 */
export class DoubleQuantScales implements ScaleStore {
  readonly numBlocks: number;
  private readonly codes: tf.Tensor1D; // int32 [numCodes / 4], bytes by quarters
  private readonly groupAbsmax: tf.Tensor3D; // [numGroups, 1, 1]
  private readonly offset: number;
  private readonly dqBlockSize: number;

  constructor(numBlocks: number, dq: DoubleQuantizedScales, dqBlockSize: number) {
    this.numBlocks = numBlocks;
    this.dqBlockSize = dqBlockSize;
    this.offset = dq.offset;
    this.codes = tf.keep(tf.tensor1d(packBytesQuarters(dq.codes), 'int32'));
    this.groupAbsmax = tf.keep(tf.tensor3d(dq.groupAbsmax, [dq.groupAbsmax.length, 1, 1]));
  }

  decode(): tf.Tensor3D {
    return tf.tidy(() => {
      const numGroups = this.groupAbsmax.shape[0];
      const grouped = numGroups * this.dqBlockSize;
      let normalized: tf.Tensor1D = tf.gather(tf.tensor1d(dynamicMap()), unpackBytesQuarters(this.codes));
      if (normalized.size !== grouped) normalized = tf.slice(normalized, 0, grouped);
      // [G, 1, 1] × [G, 1, dq]: a batched matmul, because the cpu backend's broadcasting
      // multiply takes a slow per-element path.
      const centred = tf.matMul(this.groupAbsmax, tf.reshape(normalized, [numGroups, 1, this.dqBlockSize]));
      let scales: tf.Tensor1D = tf.add(tf.reshape(centred, [grouped]), tf.scalar(this.offset));
      if (grouped !== this.numBlocks) scales = tf.slice(scales, 0, this.numBlocks);
      return tf.reshape(scales, [this.numBlocks, 1, 1]);
    });
  }

  residentBytes(): number {
    return (this.codes.size + this.groupAbsmax.size) * 4;
  }

  dispose(): void {
    this.codes.dispose();
    this.groupAbsmax.dispose();
  }
}
