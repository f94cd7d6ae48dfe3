import * as tf from '@tensorflow/tfjs-core';
import '../../../src/util/tfjs-setup.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { quantizeWeight } from '../../../src/lora/quantize/quantize-weight.js';
import { quantizedLinear } from '../../../src/lora/quantize/quantized-linear.js';
import { BACKENDS, useBackend } from './backends.js';
import { normalData } from './random.js';

const OUT = 24;
const IN = 70; // padded last block

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Host reference: dy [n, out] · W [out, in]. */
function hostMatMul(a: Float32Array, b: Float32Array, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) {
    let s = 0;
    for (let t = 0; t < k; t++) s += a[i * k + t] * b[t * m + j];
    out[i * m + j] = s;
  }
  return out;
}

describe.each(BACKENDS)('gradients through dequantized weights on %s', (backend) => {
  beforeAll(async () => useBackend(backend));
  const wData = normalData(OUT * IN, 5, 0.05);
  const xData = normalData(3 * IN, 6, 1);
  const cData = normalData(3 * OUT, 7, 1);

  it.each(['int8', 'nf4', 'nf4-dq', 'fp4'] as const)('%s: tf.grad of sum(c ⊙ x·dequant(W)ᵀ) w.r.t. x is c·dequant(W)', (format) => {
    const q = quantizeWeight({ shape: [OUT, IN], data: wData }, format);
    const before = tf.memory().numTensors;
    const { grad, deq } = tf.tidy(() => {
      const x = tf.tensor2d(xData, [3, IN]);
      const c = tf.tensor2d(cData, [3, OUT]);
      const f = (xs: tf.Tensor): tf.Scalar => tf.sum(tf.mul(c, tf.matMul(xs, q.dequantize(), false, true)));
      return { grad: tf.grad(f)(x).dataSync(), deq: q.dequantize().dataSync() };
    });
    expect(tf.memory().numTensors).toBe(before);
    const expected = hostMatMul(cData, deq as Float32Array, 3, OUT, IN);
    expect(maxAbsDiff(grad, expected)).toBeLessThan(1e-5);
    expect(maxAbsDiff(deq, wData)).toBeLessThan(0.1); // really the weight, not zeros
    q.dispose();
  });

  it('quantizedLinear matches x·dequant(W)ᵀ in value and gradient, for [B, T, in] inputs', () => {
    const q = quantizeWeight({ shape: [OUT, IN], data: wData }, 'nf4-dq');
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.tensor3d(xData, [1, 3, IN]);
      const c = tf.tensor3d(cData, [1, 3, OUT]);
      const plain = (xs: tf.Tensor): tf.Tensor =>
        tf.reshape(tf.matMul(tf.reshape(xs, [3, IN]), q.dequantize(), false, true), [1, 3, OUT]);
      const viaLinear = (xs: tf.Tensor): tf.Tensor => quantizedLinear(xs, q);
      expect(viaLinear(x).shape).toEqual([1, 3, OUT]);
      expect(maxAbsDiff(viaLinear(x).dataSync(), plain(x).dataSync())).toBeLessThan(1e-6);
      const gPlain = tf.grad((xs: tf.Tensor) => tf.sum(tf.mul(c, plain(xs))))(x);
      const gLinear = tf.grad((xs: tf.Tensor) => tf.sum(tf.mul(c, viaLinear(xs))))(x);
      expect(gLinear.shape).toEqual([1, 3, IN]);
      expect(maxAbsDiff(gLinear.dataSync(), gPlain.dataSync())).toBeLessThan(1e-5);
    });
    expect(tf.memory().numTensors).toBe(before);
    q.dispose();
  });

  it('quantizedLinear keeps no float32 copy of W alive between forward and backward', () => {
    const q = quantizeWeight({ shape: [OUT, IN], data: wData }, 'nf4');
    const x = tf.variable(tf.tensor2d(xData, [3, IN]));
    const bytesDuringTape = (linear: (xs: tf.Tensor) => tf.Tensor): number => {
      let peak = 0;
      tf.tidy(() => {
        tf.variableGrads(() => {
          const y = tf.sum(linear(x));
          peak = tf.memory().numBytes; // after the forward pass, before backprop
          return y as tf.Scalar;
        });
      });
      return peak;
    };
    const plain = bytesDuringTape((xs) => tf.matMul(xs, q.dequantize(), false, true));
    const viaLinear = bytesDuringTape((xs) => quantizedLinear(xs, q));
    expect(plain - viaLinear).toBeGreaterThanOrEqual(OUT * IN * 4);
    x.dispose();
    q.dispose();
  });
});
