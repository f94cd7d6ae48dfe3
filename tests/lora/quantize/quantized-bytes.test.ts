import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { quantizeWeight } from '../../../src/lora/quantize/quantize-weight.js';
import { quantizedBytes } from '../../../src/lora/quantize/quantized-bytes.js';
import { QUANT_FORMATS, type QuantFormat } from '../../../src/lora/quantize/types.js';
import { BACKENDS, useBackend } from './backends.js';
import { normalData } from './random.js';

/** Backend bytes (tf.memory().numBytes) that `make` leaves allocated. */
function measureBytes<T>(make: () => T): { value: T; bytes: number } {
  const before = tf.memory().numBytes;
  const value = make();
  return { value, bytes: tf.memory().numBytes - before };
}

describe.each(BACKENDS)('resident bytes of quantized weights on %s', (backend) => {
  beforeAll(async () => useBackend(backend));

  it('a 256×1024 weight really occupies less: nf4 ≤ 0.16×, int8 ≤ 0.27×, nf4-dq < nf4', () => {
    const shape: [number, number] = [256, 1024];
    const data = normalData(shape[0] * shape[1], 3);
    const float = measureBytes(() => tf.tensor2d(data, shape));
    expect(float.bytes).toBe(256 * 1024 * 4);
    float.value.dispose();

    const ratio = {} as Record<QuantFormat, number>;
    for (const format of QUANT_FORMATS) {
      const q = measureBytes(() => quantizeWeight({ shape, data }, format));
      expect(q.value.residentBytes()).toBe(q.bytes);
      expect(quantizedBytes(shape, format)).toBe(q.bytes);
      ratio[format] = q.bytes / float.bytes;
      const beforeDispose = tf.memory().numBytes;
      q.value.dispose();
      expect(beforeDispose - tf.memory().numBytes).toBe(q.bytes);
    }
    console.info(`[${backend}] resident bytes / float32 bytes, 256×1024:`, ratio);
    expect(ratio.fp32).toBe(1);
    expect(ratio.nf4).toBeLessThanOrEqual(0.16);
    expect(ratio.fp4).toBeLessThanOrEqual(0.16);
    expect(ratio.int8).toBeLessThanOrEqual(0.27);
    expect(ratio['nf4-dq']).toBeLessThan(ratio.nf4);
    // Bits per weight: 4 + 32/64 for nf4; 4 + 8/64 + 32/(64·256) for nf4-dq (QLoRA's 4.127).
    expect(ratio.nf4 * 32).toBeCloseTo(4.5, 6);
    expect(ratio['nf4-dq'] * 32).toBeCloseTo(4 + 8 / 64 + 32 / (64 * 256), 6);
  });

  it('quantizedBytes matches residentBytes for padded shapes and other block sizes', () => {
    for (const [rows, cols, opts] of [
      [7, 13, {}],
      [97, 203, { blockSize: 32, dqBlockSize: 5 }],
      [1, 1, {}],
    ] as const) {
      const data = normalData(rows * cols, rows);
      for (const format of QUANT_FORMATS) {
        const q = quantizeWeight({ shape: [rows, cols], data }, format, opts);
        expect(quantizedBytes([rows, cols], format, opts)).toBe(q.residentBytes());
        q.dispose();
      }
    }
  });
});
