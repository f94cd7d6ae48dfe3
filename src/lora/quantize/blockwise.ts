/**
 * Host-side quantization arithmetic (runs once per weight, when the base model is loaded).
 * Absmax scaling and nearest-value rounding follow bitsandbytes' `quantize_4bit` /
 * `quantize_blockwise` (QLoRA); int8 follows LLM.int8()'s vector-wise (per-row) absmax.
 */
import { dynamicMap, nearestCodeEncoder } from './code-tables.js';

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

export interface Blocks4Bit {
  /** One 4-bit code per weight, zero-padded to a whole number of blocks: [numBlocks · blockSize]. */
  codes: Uint8Array;
  /** Absmax of each block (float32), the block's scale. */
  absmax: Float32Array;
}

/**
 * Blockwise absmax quantization of `data` (row-major, any length) to a 16-value code: each block
 * of `blockSize` consecutive values is divided by its absmax and rounded to the nearest code
 * value. The padding and all-zero blocks encode exact zeros.
 */
export function quantizeBlocks4Bit(data: Float32Array, blockSize: number, code: Float32Array): Blocks4Bit {
  const encode = nearestCodeEncoder(code);
  const zeroCode = encode(0);
  const numBlocks = Math.max(1, Math.ceil(data.length / blockSize));
  const codes = new Uint8Array(numBlocks * blockSize).fill(zeroCode);
  const absmax = new Float32Array(numBlocks);
  for (let b = 0; b < numBlocks; b++) {
    const start = b * blockSize;
    const end = Math.min(start + blockSize, data.length);
    let m = 0;
    for (let i = start; i < end; i++) m = Math.max(m, Math.abs(data[i]));
    absmax[b] = m;
    if (m === 0) continue;
    // Divide by the float32 scale actually stored, so rounding matches what dequantize sees.
    const inv = 1 / absmax[b];
    for (let i = start; i < end; i++) codes[i] = encode(data[i] * inv);
  }
  return { codes, absmax };
}

export interface RowsInt8 {
  /** One signed code per weight in [-127, 127], row-major, zero-padded to a multiple of 4. */
  codes: Int8Array;
  /** Per-row scale absmax/127 (float32). */
  scales: Float32Array;
}

/** Per-output-channel symmetric absmax int8 quantization of a row-major `[rows, cols]` matrix. */
export function quantizeRowsInt8(data: Float32Array, rows: number, cols: number): RowsInt8 {
  const codes = new Int8Array(roundUp(rows * cols, 4));
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const start = r * cols;
    let m = 0;
    for (let i = start; i < start + cols; i++) m = Math.max(m, Math.abs(data[i]));
    scales[r] = m / 127;
    if (m === 0) continue;
    const s = scales[r];
    for (let i = start; i < start + cols; i++) {
      codes[i] = Math.max(-127, Math.min(127, Math.round(data[i] / s)));
    }
  }
  return { codes, scales };
}

export interface DoubleQuantizedScales {
  /** 8-bit index into the dynamic map per block scale, zero-padded (code of 0) to whole groups and a multiple of 4. */
  codes: Uint8Array;
  /** Absmax of the mean-centred scales per group of `dqBlockSize` (float32). */
  groupAbsmax: Float32Array;
  /** Mean of all block scales, subtracted before quantizing (QLoRA's `offset`). */
  offset: number;
}

/**
 * QLoRA double quantization (bitsandbytes `quantize_4bit(compress_statistics=True)`): subtract
 * the mean of the block scales, then quantize them blockwise (`dqBlockSize` per group, one
 * float32 absmax each) to the signed 8-bit dynamic map.
 */
export function doubleQuantizeScales(absmax: Float32Array, dqBlockSize: number): DoubleQuantizedScales {
  const map = dynamicMap();
  const encode = nearestCodeEncoder(map);
  const zeroCode = encode(0);
  let sum = 0;
  for (let i = 0; i < absmax.length; i++) sum += absmax[i];
  const offset = Math.fround(sum / absmax.length);
  const numGroups = Math.ceil(absmax.length / dqBlockSize);
  const codes = new Uint8Array(roundUp(numGroups * dqBlockSize, 4)).fill(zeroCode);
  const groupAbsmax = new Float32Array(numGroups);
  for (let g = 0; g < numGroups; g++) {
    const start = g * dqBlockSize;
    const end = Math.min(start + dqBlockSize, absmax.length);
    let m = 0;
    for (let i = start; i < end; i++) m = Math.max(m, Math.abs(absmax[i] - offset));
    groupAbsmax[g] = m;
    if (m === 0) continue;
    const inv = 1 / groupAbsmax[g];
    for (let i = start; i < end; i++) codes[i] = encode((absmax[i] - offset) * inv);
  }
  return { codes, groupAbsmax, offset };
}
