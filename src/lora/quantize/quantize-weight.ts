/**
 * Quantize a frozen `[out, in]` base weight as QLoRA does (Dettmers et al. 2023,
 * arXiv:2305.14314; bitsandbytes `quantize_4bit`): the codes are computed once on the host, packed
 * into int32 tensors (tfjs has no int8 or 4-bit dtype) so that the weight really occupies fewer
 * bytes on the backend, and dequantized block by block with tfjs ops during each forward pass.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { HostTensor } from '../../model/types.js';
import { doubleQuantizeScales, quantizeBlocks4Bit, quantizeRowsInt8 } from './blockwise.js';
import { FP4_CODE, NF4_CODE } from './code-tables.js';
import { QuantizationError } from './errors.js';
import { FourBitWeight } from './four-bit-weight.js';
import { Fp32Weight } from './fp32-weight.js';
import { Int8Weight } from './int8-weight.js';
import { DoubleQuantScales, PlainScales } from './scale-stores.js';
import {
  DEFAULT_BLOCK_SIZE,
  DEFAULT_DQ_BLOCK_SIZE,
  QUANT_FORMATS,
  type QuantFormat,
  type QuantizeOptions,
  type QuantizedWeight,
} from './types.js';

/**
 * Quantize `weight` to `format`. The input is not modified or disposed; the result owns new
 * tensors (kept, so calling this inside `tf.tidy` is safe) and must be `dispose()`d.
 * Throws `QuantizationError` for a non-2-D shape, non-finite values or bad options.
 */
export function quantizeWeight(
  weight: HostTensor | tf.Tensor2D,
  format: QuantFormat,
  opts: QuantizeOptions = {},
): QuantizedWeight {
  const shape = [...weight.shape];
  const fail = (reason: string, hint?: string): never => {
    throw new QuantizationError({ format, shape, reason, hint });
  };
  if (!QUANT_FORMATS.includes(format)) fail(`unknown format`, `use one of ${QUANT_FORMATS.join(', ')}`);
  if (shape.length !== 2 || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
    fail('a linear weight must be 2-D [out, in] with positive sizes');
  }
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  const dqBlockSize = opts.dqBlockSize ?? DEFAULT_DQ_BLOCK_SIZE;
  if (!Number.isInteger(blockSize) || blockSize <= 0 || blockSize % 8 !== 0) {
    fail(`blockSize ${blockSize} is not a positive multiple of 8`, 'QLoRA uses 64');
  }
  if (!Number.isInteger(dqBlockSize) || dqBlockSize <= 0) {
    fail(`dqBlockSize ${dqBlockSize} is not a positive integer`, 'QLoRA uses 256');
  }
  const [rows, cols] = shape as [number, number];
  const data = readData(weight);
  if (data.length !== rows * cols) fail(`data has ${data.length} values, shape needs ${rows * cols}`);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) fail(`value ${data[i]} at flat index ${i} is not finite`);
  }

  switch (format) {
    case 'fp32':
      return new Fp32Weight(tf.keep(tf.tensor2d(data, [rows, cols])));
    case 'int8':
      return new Int8Weight([rows, cols], quantizeRowsInt8(data, rows, cols));
    case 'nf4':
    case 'fp4': {
      const q = quantizeBlocks4Bit(data, blockSize, format === 'nf4' ? NF4_CODE : FP4_CODE);
      return new FourBitWeight({ format, shape: [rows, cols], blockSize, codes: q.codes, scales: new PlainScales(q.absmax) });
    }
    case 'nf4-dq': {
      const q = quantizeBlocks4Bit(data, blockSize, NF4_CODE);
      const scales = new DoubleQuantScales(q.absmax.length, doubleQuantizeScales(q.absmax, dqBlockSize), dqBlockSize);
      return new FourBitWeight({ format, shape: [rows, cols], blockSize, codes: q.codes, scales });
    }
  }
}

/** Quantization reads the weight once on the host; only the forward path must stay on the backend. */
function readData(weight: HostTensor | tf.Tensor2D): Float32Array {
  if (weight instanceof tf.Tensor) return Float32Array.from(weight.dataSync());
  return weight.data;
}
