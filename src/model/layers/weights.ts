import * as tf from '@tensorflow/tfjs-core';
import { LoraStudyError } from '../../util/errors.js';
import type { HostTensor } from '../types.js';

export class MissingWeightError extends LoraStudyError {
  constructor(readonly tensorName: string, readonly modelType: string) {
    super(`checkpoint has no tensor "${tensorName}" required by model_type ${modelType}`, {
      hint: 'check that the model folder matches its config.json (num_hidden_layers, tie_word_embeddings, attention_bias)',
    });
  }
}

export class WeightShapeError extends LoraStudyError {
  constructor(readonly tensorName: string, readonly expected: number[], readonly actual: number[]) {
    super(`tensor "${tensorName}" has shape [${actual.join(', ')}], expected [${expected.join(', ')}] from config.json`, {
      hint: 'the weights and config.json disagree; re-export the model or fix config.json',
    });
  }
}

/**
 * Takes named host tensors out of a checkpoint, checking each name and shape, and makes tfjs
 * tensors of them (variables when the base model is trained). Records which names were used so
 * unexpected leftovers can be reported.
 */
export class WeightReader {
  readonly used = new Set<string>();
  constructor(
    private readonly tensors: Map<string, HostTensor>,
    private readonly modelType: string,
    private readonly trainable: boolean,
  ) {}

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  host(name: string, shape: number[]): HostTensor {
    const t = this.tensors.get(name);
    if (!t) throw new MissingWeightError(name, this.modelType);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new WeightShapeError(name, shape, t.shape);
    }
    this.used.add(name);
    return t;
  }

  /** A tensor in the stored layout. */
  take(name: string, shape: number[]): tf.Tensor {
    const t = this.host(name, shape);
    return this.make(tf.tensor(t.data, shape, 'float32'), name);
  }

  /** A 2-D tensor stored `[in, out]` (GPT-2 Conv1D), returned transposed to `[out, in]`. */
  takeTransposed(name: string, storedShape: [number, number]): tf.Tensor2D {
    const t = this.host(name, storedShape);
    // Transposed on the host: the tensor is then made from host data, which every backend can
    // read back synchronously (see src/engine/webgpu-host-reads.ts).
    const [rows, cols] = storedShape;
    return this.make(tf.tensor2d(transposeHost(t.data, rows, cols), [cols, rows], 'float32'), name) as tf.Tensor2D;
  }

  unused(): string[] {
    return [...this.tensors.keys()].filter((k) => !this.used.has(k));
  }

  private make(t: tf.Tensor, name: string): tf.Tensor {
    if (!this.trainable) return t;
    const v = tf.variable(t, true);
    t.dispose();
    return v;
  }
}

/**
 * Host copy of a tensor, optionally transposed back to the stored `[in, out]` layout. The
 * transpose is done here on the host, so a frozen weight is read once and never recomputed on
 * the backend (WebGPU can serve only host-made tensors synchronously).
 */
export function toHost(t: tf.Tensor, transpose = false): HostTensor {
  const data = new Float32Array(t.dataSync() as Float32Array);
  if (!transpose) return { shape: t.shape, data };
  const [rows, cols] = t.shape as [number, number];
  return { shape: [cols, rows], data: transposeHost(data, rows, cols) };
}

/** A row-major `[rows, cols]` array transposed to `[cols, rows]`. */
export function transposeHost(data: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** Host copy of a linear layer's float32 weight (dequantized when quantized). */
export function denseWeightToHost(weight: tf.Tensor | { dequantize(): tf.Tensor2D; toHost?(): HostTensor }, transpose = false): HostTensor {
  // A vocabulary-chunked head reads its chunks one by one (never one tensor over the limit).
  if (!transpose && !(weight instanceof tf.Tensor) && weight.toHost) return weight.toHost();
  if (weight instanceof tf.Tensor) return toHost(weight, transpose);
  const dense = weight.dequantize();
  const out = toHost(dense, transpose);
  dense.dispose();
  return out;
}
