import { DEFAULT_BLOCK_SIZE, DEFAULT_DQ_BLOCK_SIZE, type QuantFormat, type QuantizeOptions } from './types.js';

/**
 * Backend bytes a `[rows, cols]` weight will occupy once quantized to `format` (what
 * `residentBytes()` reports), computed without quantizing: for dry-run plans and reports.
 */
export function quantizedBytes(shape: readonly [number, number], format: QuantFormat, opts: QuantizeOptions = {}): number {
  const [rows, cols] = shape;
  const n = rows * cols;
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  const dqBlockSize = opts.dqBlockSize ?? DEFAULT_DQ_BLOCK_SIZE;
  const numBlocks = Math.max(1, Math.ceil(n / blockSize));
  const packed4Bit = ((numBlocks * blockSize) / 8) * 4;
  switch (format) {
    case 'fp32':
      return n * 4;
    case 'int8':
      return Math.ceil(n / 4) * 4 + rows * 4;
    case 'nf4':
    case 'fp4':
      return packed4Bit + numBlocks * 4;
    case 'nf4-dq': {
      const numGroups = Math.ceil(numBlocks / dqBlockSize);
      return packed4Bit + Math.ceil((numGroups * dqBlockSize) / 4) * 4 + numGroups * 4;
    }
  }
}
