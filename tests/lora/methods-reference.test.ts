import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { doraMergedWeight, rowNorms } from '../../src/model/layers/dora.js';
import { oloraInit, pissaInit } from '../../src/lora/init.js';
import { convertToPlainLora } from '../../src/lora/peft-adapter.js';
import { quantizeWeight } from '../../src/lora/quantize/index.js';
import { Linear } from '../../src/model/layers/linear.js';
import { useCpuBackend } from '../helpers/tf-setup.js';
import { mulberry32 } from '../helpers/tiny-models.js';

/**
 * The LoRA methods against scripts/reference/peft_methods_reference.py: PEFT's formulas
 * transcribed into plain PyTorch (float64), none of this project's code.
 */
const ref = JSON.parse(readFileSync(join(__dirname, '../fixtures/reference/lora-methods/expected.json'), 'utf8'));

beforeAll(useCpuBackend);

const f32 = (a: number[]) => Float32Array.from(a);
function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  expect(got.length).toBe(want.length);
  return err / Math.max(scale, 1e-12);
}
function product(B: ArrayLike<number>, A: ArrayLike<number>, out: number, r: number, inF: number): Float64Array {
  const p = new Float64Array(out * inF);
  for (let o = 0; o < out; o++) for (let i = 0; i < inF; i++) for (let k = 0; k < r; k++) p[o * inF + i] += B[o * r + k] * A[k * inF + i];
  return p;
}

interface DoraCase { out: number; inF: number; r: number; scale: number; n: number; W: number[]; bias: number[]; A: number[]; B: number[]; m: number[]; x: number[]; R: number[]; magnitude_init: number[]; y: number[]; gradA: number[]; gradB: number[]; gradM: number[]; merged: number[] }

function doraLayer(c: DoraCase, quantized = false): Linear {
  const W = tf.tensor2d(f32(c.W), [c.out, c.inF]);
  const weight = quantized ? quantizeWeight(W, 'int8') : W;
  if (quantized) W.dispose();
  const layer = new Linear('m', c.inF, c.out, weight, tf.tensor1d(f32(c.bias)), 0);
  layer.lora = {
    A: tf.variable(tf.tensor2d(f32(c.A), [c.r, c.inF])),
    B: tf.variable(tf.tensor2d(f32(c.B), [c.out, c.r])),
    magnitude: tf.variable(tf.tensor1d(f32(c.m))),
    r: c.r,
    scale: c.scale,
    dropout: 0,
  };
  return layer;
}

describe.each([0, 1])('DoRA case %i against PEFT\'s formulas', (i) => {
  const c: DoraCase = ref.dora[i];

  test('forward, magnitude init and merge', () => {
    const layer = doraLayer(c);
    const y = tf.tidy(() => layer.apply(tf.tensor2d(f32(c.x), [c.n, c.inF]), { training: true }).dataSync());
    expect(maxRelErr(y, c.y)).toBeLessThan(1e-5);
    const { A, B, magnitude } = layer.lora!;
    const m0 = tf.tidy(() => rowNorms(tf.add(layer.denseWeight(), tf.mul(tf.matMul(B, A), c.scale)) as tf.Tensor2D).dataSync());
    expect(maxRelErr(m0, c.magnitude_init)).toBeLessThan(1e-5);
    const merged = tf.tidy(() => doraMergedWeight(layer.denseWeight(), A, B, magnitude!, c.scale).dataSync());
    expect(maxRelErr(merged, c.merged)).toBeLessThan(1e-5);
    layer.dispose();
  });

  test('gradients of A, B and m with the norm detached', () => {
    const layer = doraLayer(c);
    const { A, B, magnitude } = layer.lora!;
    const x = tf.tensor2d(f32(c.x), [c.n, c.inF]);
    const R = tf.tensor2d(f32(c.R), [c.n, c.out]);
    const { grads, value } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x, { training: true }), R)) as tf.Scalar, [A, B, magnitude!]);
    expect(maxRelErr(grads[A.name].dataSync(), c.gradA)).toBeLessThan(1e-5);
    expect(maxRelErr(grads[B.name].dataSync(), c.gradB)).toBeLessThan(1e-5);
    expect(maxRelErr(grads[magnitude!.name].dataSync(), c.gradM)).toBeLessThan(1e-5);
    tf.dispose([x, R, value, ...Object.values(grads)]);
    layer.dispose();
  });
});

test('DoRA on an int8-quantized base uses the dequantized W in the norm and the output', () => {
  const c: DoraCase = ref.dora[0];
  const layer = doraLayer(c, true);
  const Wq = tf.tidy(() => layer.denseWeight().dataSync() as Float32Array);
  const x = f32(c.x);
  const s = c.scale;
  // Independent host computation: y = (m/‖Wq + sBA‖) ⊙ (x·(Wq + sBA)ᵀ) + b.
  const BA = product(c.B, c.A, c.out, c.r, c.inF);
  const eff = Wq.map((w, k) => w + s * BA[k]);
  const want = new Float64Array(c.n * c.out);
  for (let o = 0; o < c.out; o++) {
    let nrm = 0;
    for (let k = 0; k < c.inF; k++) nrm += eff[o * c.inF + k] ** 2;
    const f = c.m[o] / Math.sqrt(nrm);
    for (let n = 0; n < c.n; n++) {
      let acc = 0;
      for (let k = 0; k < c.inF; k++) acc += x[n * c.inF + k] * eff[o * c.inF + k];
      want[n * c.out + o] = f * acc + c.bias[o];
    }
  }
  const y = tf.tidy(() => layer.apply(tf.tensor2d(x, [c.n, c.inF]), { training: false }).dataSync());
  expect(maxRelErr(y, want)).toBeLessThan(1e-5);
  expect(maxRelErr(Wq, c.W)).toBeGreaterThan(1e-4); // really quantized
  layer.dispose();
});

interface InitCase { out: number; inF: number; r: number; scale: number; W: number[]; A: number[]; B: number[]; residual: number[] }

describe.each([0, 1])('PiSSA / OLoRA init case %i against PEFT (torch.linalg)', (i) => {
  test('PiSSA (exact SVD): residual, scale·B·A, and A/B up to the sign of each singular pair', () => {
    const c: InitCase = ref.pissa[i];
    const got = pissaInit(f32(c.W), c.out, c.inF, c.r, c.scale, null, 0, 'm');
    expect(maxRelErr(got.residual, c.residual)).toBeLessThan(1e-5);
    expect(maxRelErr(product(got.B, got.A, c.out, c.r, c.inF), product(c.B, c.A, c.out, c.r, c.inF))).toBeLessThan(1e-5);
    for (let k = 0; k < c.r; k++) {
      const sign = Math.sign(got.A[k * c.inF]) * Math.sign(c.A[k * c.inF]);
      for (let j = 0; j < c.inF; j++) expect(got.A[k * c.inF + j]).toBeCloseTo(sign * c.A[k * c.inF + j], 4);
    }
  });

  test('PiSSA with a randomized SVD (pissa_niter_4) matches the exact one when the spectrum has a gap', () => {
    const c: InitCase = ref.pissa[i];
    // W = Σ (10 − 2k)·u_k·v_kᵀ + small noise: a clear gap after r singular values.
    const rand = mulberry32(11 + i);
    const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    const W = new Float32Array(c.out * c.inF).map(() => 0.01 * normal());
    for (let k = 0; k < c.r; k++) {
      const u = Array.from({ length: c.out }, normal);
      const v = Array.from({ length: c.inF }, normal);
      for (let o = 0; o < c.out; o++) for (let j = 0; j < c.inF; j++) W[o * c.inF + j] += (10 - 2 * k) * u[o] * v[j];
    }
    const exact = pissaInit(W, c.out, c.inF, c.r, c.scale, null, 0, 'm');
    const fast = pissaInit(W, c.out, c.inF, c.r, c.scale, 4, 3, 'm');
    expect(maxRelErr(fast.residual, exact.residual)).toBeLessThan(1e-4);
  });

  test('OLoRA (Householder QR, LAPACK signs): A = R[:r], B = Q[:, :r], residual', () => {
    const c: InitCase = ref.olora[i];
    const got = oloraInit(f32(c.W), c.out, c.inF, c.r, c.scale);
    expect(maxRelErr(got.A, c.A)).toBeLessThan(1e-5);
    expect(maxRelErr(got.B, c.B)).toBeLessThan(1e-5);
    expect(maxRelErr(got.residual, c.residual)).toBeLessThan(1e-5);
  });
});

test('PiSSA/OLoRA → plain LoRA conversion stacks [A; A₀] and [B, −B₀] as PEFT\'s subtract_mutated_init', () => {
  const c = ref.conversion[0];
  const got = convertToPlainLora({ shape: [c.r, c.inF], data: f32(c.A) }, { shape: [c.out, c.r], data: f32(c.B) }, f32(c.A0), f32(c.B0));
  expect(got.A.shape).toEqual([2 * c.r, c.inF]);
  expect(got.B.shape).toEqual([c.out, 2 * c.r]);
  expect(maxRelErr(got.A.data, c.convA)).toBeLessThan(1e-6);
  expect(maxRelErr(got.B.data, c.convB)).toBeLessThan(1e-6);
});

test('DoRA with dropout active follows PEFT: base result on the clean x, both DoRA terms on the dropped-out x', () => {
  const c: DoraCase = ref.dora[1];
  const layer = doraLayer(c);
  layer.lora!.dropout = 0.3;
  const ctx = { training: true, dropoutSeed: 5 };
  const x = tf.tensor2d(f32(c.x), [c.n, c.inF]);
  // The scaled mask tf.dropout applies (same seed and shape as Linear.apply uses).
  const mask = tf.tidy(() => tf.dropout(tf.onesLike(x), 0.3, undefined, (ctx.dropoutSeed * 1009 + layer.index) >>> 0).dataSync());
  expect(mask.some((v) => v === 0)).toBe(true);
  const y = tf.tidy(() => layer.apply(x, ctx).dataSync());
  const { out, inF, r, n, scale: s } = c;
  const xd = c.x.map((v, k) => v * mask[k]);
  const BA = product(c.B, c.A, out, r, inF);
  const want = new Float64Array(n * out);
  for (let o = 0; o < out; o++) {
    let nrm = 0;
    for (let i = 0; i < inF; i++) nrm += (c.W[o * inF + i] + s * BA[o * inF + i]) ** 2;
    const f = c.m[o] / Math.sqrt(nrm);
    for (let t = 0; t < n; t++) {
      let base = 0, baseDrop = 0, lora = 0;
      for (let i = 0; i < inF; i++) {
        base += c.x[t * inF + i] * c.W[o * inF + i];
        baseDrop += xd[t * inF + i] * c.W[o * inF + i];
        lora += xd[t * inF + i] * BA[o * inF + i];
      }
      want[t * out + o] = base + c.bias[o] + (f - 1) * baseDrop + f * s * lora;
    }
  }
  expect(maxRelErr(y, want)).toBeLessThan(1e-5);
  x.dispose();
  layer.dispose();
});

test('a PEFT-format DoRA adapter with rsLoRA, rank_pattern and alpha_pattern (built by scripts/reference/peft_adapter_reference.py) gives PyTorch\'s merged-model logits', async () => {
  const { loadModel } = await import('../../src/model/load-model.js');
  const { loadAdapter } = await import('../../src/lora/peft-adapter.js');
  const dir = join(__dirname, '../fixtures/reference/lora-methods/dora-patterns-adapter');
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { input_ids: number[][]; logits: number[][][] };
  const { model } = await loadModel(join(__dirname, '../fixtures/reference/llama-gqa-untied'));
  const lora = await loadAdapter(dir, model);
  expect(model.linears.get('model.layers.1.self_attn.q_proj')!.lora!.r).toBe(4);
  expect(model.linears.get('model.layers.0.mlp.down_proj')!.lora!.r).toBe(3);
  expect(lora.kinds.filter((k) => k === 'lora_magnitude_vector').length).toBe(lora.modules.length);
  const [B, T] = [expected.input_ids.length, expected.input_ids[0].length];
  const logits = tf.tidy(() => model.forward({ inputIds: tf.tensor2d(expected.input_ids, [B, T], 'int32') }).logits.dataSync());
  const want = expected.logits.flat(2);
  let maxErr = 0;
  want.forEach((e, i) => (maxErr = Math.max(maxErr, Math.abs(logits[i] - e) / (1 + Math.abs(e)))));
  expect(maxErr).toBeLessThan(2e-5);
  // and the adapter matters: the base model alone is far from those logits
  const { removeLora } = await import('../../src/lora/inject.js');
  removeLora(model);
  const base = tf.tidy(() => model.forward({ inputIds: tf.tensor2d(expected.input_ids, [B, T], 'int32') }).logits.dataSync());
  expect(Math.max(...want.map((e, i) => Math.abs(base[i] - e)))).toBeGreaterThan(1e-2);
  model.dispose();
});
