import type * as tf from '@tensorflow/tfjs-core';

/**
 * Precision of a frozen base weight, as QLoRA compares them:
 * - `fp32`: plain float32 (the baseline; no quantization).
 * - `int8`: per-output-channel (per row) absmax, symmetric codes in [-127, 127].
 * - `nf4`: 4-bit NormalFloat codes, absmax per block of `blockSize` consecutive weights.
 * - `nf4-dq`: `nf4` whose block scales are themselves quantized to 8 bits (double quantization).
 * - `fp4`: bitsandbytes' 4-bit float codes, absmax per block.
 */
export type QuantFormat = 'fp32' | 'int8' | 'nf4' | 'nf4-dq' | 'fp4';

export const QUANT_FORMATS: readonly QuantFormat[] = ['fp32', 'int8', 'nf4', 'nf4-dq', 'fp4'];

export interface QuantizeOptions {
  /**
   * Weights per absmax block for the 4-bit formats, counted in row-major order over the whole
   * `[out, in]` matrix (blocks may span rows, as in bitsandbytes); the last block is zero-padded.
   * Must be a positive multiple of 8. Default 64 (QLoRA). Ignored by `fp32` and `int8`.
   */
  blockSize?: number;
  /**
   * Block scales per second-level block for `nf4-dq`; each such block keeps one float32 constant.
   * Default 256 (QLoRA).
   */
  dqBlockSize?: number;
}

export const DEFAULT_BLOCK_SIZE = 64;
export const DEFAULT_DQ_BLOCK_SIZE = 256;

/** A frozen `[out, in]` weight held on the backend at reduced precision. */
export interface QuantizedWeight {
  readonly format: QuantFormat;
  readonly shape: [number, number];
  /** Bytes held on the backend by this weight's tensors (packed codes + scales). */
  residentBytes(): number;
  /**
   * Dequantize to float32 `[out, in]` with tfjs ops on the backend (call inside `tf.tidy`).
   * No data leaves the backend; gradients never flow into the codes.
   */
  dequantize(): tf.Tensor2D;
  /** `x · Wᵀ`, `x` `[N, in]` → `[N, out]`; the backward pass dequantizes again (see quantized-linear.ts). */
  matMulTransposed(x: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}
