import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FP4_CODE, NF4_CODE, dynamicMap, halfMaxGap } from '../../../src/lora/quantize/code-tables.js';
import { QuantizationError } from '../../../src/lora/quantize/errors.js';
import { quantizeWeight } from '../../../src/lora/quantize/quantize-weight.js';
import type { QuantFormat } from '../../../src/lora/quantize/types.js';
import { BACKENDS, useBackend } from './backends.js';
import { normalData } from './random.js';

// Not a multiple of the block (64) nor of 4 or 8: exercises the padding of the last block/word.
const ROWS = 97;
const COLS = 203;

function withOutliers(data: Float32Array): Float32Array {
  for (let i = 0; i < data.length; i += 997) data[i] *= 12; // a few large weights, as in real layers
  return data;
}

function dequantized(w: Float32Array, rows: number, cols: number, format: QuantFormat, opts = {}): Float32Array {
  const q = quantizeWeight({ shape: [rows, cols], data: w }, format, opts);
  try {
    return tf.tidy(() => q.dequantize().dataSync() as Float32Array);
  } finally {
    q.dispose();
  }
}

function rmsRelative(w: Float32Array, d: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < w.length; i++) {
    num += (d[i] - w[i]) ** 2;
    den += w[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/** Absmax of each flat block of `size` values. */
function blockAbsmax(w: Float32Array, size: number): Float64Array {
  const out = new Float64Array(Math.ceil(w.length / size));
  for (let i = 0; i < w.length; i++) out[Math.floor(i / size)] = Math.max(out[Math.floor(i / size)], Math.abs(w[i]));
  return out;
}

describe.each(BACKENDS)('quantizeWeight → dequantize on %s', (backend) => {
  beforeAll(async () => useBackend(backend));
  const w = withOutliers(normalData(ROWS * COLS, 1));
  const rms: Record<string, number> = {};

  it('int8: |err| ≤ absmax_row / 254 for every element', () => {
    const d = dequantized(w, ROWS, COLS, 'int8');
    for (let r = 0; r < ROWS; r++) {
      const row = w.subarray(r * COLS, (r + 1) * COLS);
      const bound = (Math.max(...row.map(Math.abs)) / 254) * (1 + 1e-6);
      for (let c = 0; c < COLS; c++) expect(Math.abs(d[r * COLS + c] - row[c])).toBeLessThanOrEqual(bound);
    }
    rms.int8 = rmsRelative(w, d);
    expect(rms.int8).toBeLessThan(0.02); // 1.3% here: the outlier rows stretch their scale
  });

  it.each([
    ['nf4', NF4_CODE],
    ['fp4', FP4_CODE],
  ] as const)('%s: |err| ≤ half the largest code gap × block absmax', (format, code) => {
    const d = dequantized(w, ROWS, COLS, format);
    const absmax = blockAbsmax(w, 64);
    const half = halfMaxGap(code);
    for (let i = 0; i < w.length; i++) {
      expect(Math.abs(d[i] - w[i])).toBeLessThanOrEqual(half * absmax[Math.floor(i / 64)] * (1 + 1e-6));
    }
    rms[format] = rmsRelative(w, d);
  });

  it('nf4-dq: nf4 bound plus the scale error of the 8-bit dynamic map (groups of 256 scales)', () => {
    for (const dqBlockSize of [256, 7]) {
      const d = dequantized(w, ROWS, COLS, 'nf4-dq', { dqBlockSize });
      const absmax = blockAbsmax(w, 64);
      const offset = Math.fround(absmax.reduce((a, b) => a + b, 0) / absmax.length);
      const groupAbsmax = blockAbsmax(Float32Array.from(absmax, (a) => a - offset), dqBlockSize);
      const halfNf4 = halfMaxGap(NF4_CODE);
      const halfDyn = halfMaxGap(dynamicMap());
      for (let i = 0; i < w.length; i++) {
        const b = Math.floor(i / 64);
        const scaleErr = halfDyn * groupAbsmax[Math.floor(b / dqBlockSize)];
        const bound = (halfNf4 * absmax[b] + scaleErr) * (1 + 1e-5);
        expect(Math.abs(d[i] - w[i])).toBeLessThanOrEqual(bound);
      }
      if (dqBlockSize === 256) rms['nf4-dq'] = rmsRelative(w, d);
    }
  });

  it('RMS relative errors rank as QLoRA reports: int8 < nf4 ≤ nf4-dq < fp4', () => {
    console.info(`[${backend}] RMS relative error, normal(0, 0.02) weights with outliers:`, rms);
    expect(rms.int8).toBeLessThan(rms.nf4);
    expect(rms.nf4).toBeLessThan(0.12);
    expect(rms['nf4-dq']).toBeLessThan(rms.nf4 * 1.02);
    expect(rms['nf4-dq']).toBeGreaterThanOrEqual(rms.nf4 * 0.99);
    expect(rms.nf4).toBeLessThan(rms.fp4);
  });

  it('reproduces exactly representable weights bit for bit', () => {
    const rows = 6;
    const cols = 64;
    const exactFor = (code: Float32Array): Float32Array => {
      // (+ 0 turns FP4's -0 code into 0: both encode zero.)
      const data = new Float32Array(rows * cols);
      for (let r = 0; r < rows; r++) {
        const a = 2 ** (r - 3); // a power of two: code × a is exact in float32
        for (let c = 0; c < cols; c++) data[r * cols + c] = code[(c * 7 + r) % 16] * a + 0;
        data[r * cols] = a; // the block absmax is exactly a (1.0 is a code value of both)
      }
      return data;
    };
    for (const [format, code] of [['nf4', NF4_CODE], ['fp4', FP4_CODE]] as const) {
      const data = exactFor(code);
      expect(Array.from(dequantized(data, rows, cols, format))).toEqual(Array.from(data));
    }
    // int8: integers with ±127 in each row, times a power of two, give scale 2^k exactly.
    const ints = Float32Array.from({ length: rows * cols }, (_, i) => (((i * 37) % 255) - 127) * 2 ** ((i % rows) - 2));
    const int8Data = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) int8Data[r * cols + c] = ((((r + c) * 37) % 255) - 127) * 2 ** (r - 2);
      int8Data[r * cols] = 127 * 2 ** (r - 2);
    }
    expect(Array.from(dequantized(int8Data, rows, cols, 'int8'))).toEqual(Array.from(int8Data));
    // nf4-dq: equal block absmax everywhere → the centred scales are 0 and the mean is exact.
    const dqData = exactFor(NF4_CODE).map((v, i) => v * 2 ** (3 - Math.floor(i / cols)));
    expect(Array.from(dequantized(dqData, rows, cols, 'nf4-dq'))).toEqual(Array.from(dqData));
    expect(Array.from(dequantized(ints, rows, cols, 'fp32'))).toEqual(Array.from(ints));
  });

  it('all-zero weights and a tf.Tensor2D input', () => {
    for (const format of ['int8', 'nf4', 'nf4-dq', 'fp4'] as const) {
      expect(Array.from(dequantized(new Float32Array(3 * 10), 3, 10, format))).toEqual(new Array(30).fill(0));
    }
    const t = tf.tensor2d(w.subarray(0, 8 * COLS), [8, COLS]);
    const q = quantizeWeight(t, 'nf4');
    const viaHost = dequantized(w.subarray(0, 8 * COLS), 8, COLS, 'nf4');
    expect(Array.from(tf.tidy(() => q.dequantize().dataSync()))).toEqual(Array.from(viaHost));
    expect(t.isDisposed).toBe(false);
    q.dispose();
    t.dispose();
  });

  it('dequantize leaks no tensor inside tidy, and dispose frees everything', () => {
    for (const format of ['fp32', 'int8', 'nf4', 'nf4-dq', 'fp4'] as const) {
      const before = tf.memory().numTensors;
      const q = quantizeWeight({ shape: [ROWS, COLS], data: w }, format);
      const held = tf.memory().numTensors;
      tf.tidy(() => {
        const deq = q.dequantize();
        expect(deq.shape).toEqual([ROWS, COLS]);
        expect(deq.dtype).toBe('float32');
        expect(tf.memory().numTensors).toBe(held + 1);
      });
      expect(tf.memory().numTensors).toBe(held);
      q.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('rejects non-finite values, non-2-D shapes and bad block sizes with QuantizationError', () => {
    const bad = Float32Array.from([1, Number.NaN, 3, 4]);
    expect(() => quantizeWeight({ shape: [2, 2], data: bad }, 'nf4')).toThrow(QuantizationError);
    expect(() => quantizeWeight({ shape: [4], data: bad }, 'int8')).toThrow(/2-D/);
    expect(() => quantizeWeight({ shape: [2, 2], data: new Float32Array(4) }, 'nf4', { blockSize: 12 })).toThrow(/multiple of 8/);
    expect(() => quantizeWeight({ shape: [2, 2], data: new Float32Array(4) }, 'int4' as QuantFormat)).toThrow(/unknown format/);
  });
});
