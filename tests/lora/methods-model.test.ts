import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { quantizeBase } from '../../src/lora/quantize/quantize-base.js';
import { injectLora } from '../../src/lora/inject.js';
import { loraConfigSchema, type LoraConfig } from '../../src/lora/lora-config.js';
import { planLora } from '../../src/lora/lora-plan.js';
import { mergedTensors } from '../../src/lora/merge.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, loadAdapter, saveAdapter } from '../../src/lora/peft-adapter.js';
import { inSelectedLayers } from '../../src/lora/target-modules.js';
import { buildModel } from '../../src/model/build-model.js';
import { Linear } from '../../src/model/layers/linear.js';
import { readSafetensors } from '../../src/model/safetensors.js';
import { AdamW } from '../../src/training/adamw.js';
import { loraPlusLrScales } from '../../src/training/loraplus.js';
import { useCpuBackend } from '../helpers/tf-setup.js';
import { tinyLm } from '../helpers/tiny-lm.js';
import { mulberry32 } from '../helpers/tiny-models.js';

type Model = Awaited<ReturnType<typeof tinyLm>>['model'];
const ids = tf.tidy(() => tf.tensor2d([[5, 17, 99, 3, 250, 42], [7, 7, 1, 0, 64, 200]], [2, 6], 'int32'));
const logitsOf = (m: Model) => tf.tidy(() => m.forward({ inputIds: ids }).logits.dataSync() as Float32Array);
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const cfg = (c: Record<string, unknown>): LoraConfig => loraConfigSchema.parse(c);
const tmp = (name: string) => join(mkdtempSync(join(tmpdir(), 'methods-')), name);

/** Moves every adapter tensor as training would (B and m away from their init). */
function perturb(model: Model, seed: number): void {
  for (const l of model.linears.values()) {
    if (!l.lora) continue;
    l.lora.A.assign(tf.tidy(() => tf.add(l.lora!.A, tf.randomNormal(l.lora!.A.shape, 0, 0.05, 'float32', seed++))));
    l.lora.B.assign(tf.tidy(() => tf.add(l.lora!.B, tf.randomNormal(l.lora!.B.shape, 0, 0.05, 'float32', seed++))));
    l.lora.magnitude?.assign(tf.tidy(() => tf.mul(l.lora!.magnitude!, tf.randomUniform(l.lora!.magnitude!.shape, 0.9, 1.1, 'float32', seed++))));
  }
}

beforeAll(useCpuBackend);

describe.each([
  ['DoRA', { use_dora: true }],
  ['DoRA + rsLoRA + gaussian', { use_dora: true, use_rslora: true, init_lora_weights: 'gaussian' }],
  ['PiSSA', { init_lora_weights: 'pissa' }],
  ['PiSSA (randomized SVD)', { init_lora_weights: 'pissa_niter_2', use_rslora: true }],
  ['OLoRA', { init_lora_weights: 'olora' }],
  ['PiSSA + DoRA', { init_lora_weights: 'pissa', use_dora: true }],
  ['rank_pattern/alpha_pattern', { rank_pattern: { q_proj: 4, 'layers\\.1\\.mlp\\..*': 1 }, alpha_pattern: { v_proj: 16 } }],
] as const)('%s on llama', (_label, over) => {
  const c = () => cfg({ r: 2, lora_alpha: 4, target_modules: 'all-linear', ...over });

  test('starts as the base model; merge reproduces base + adapter; the saved adapter loads onto the ORIGINAL base and agrees', async () => {
    const a = await tinyLm({ modelType: 'llama' });
    const base = logitsOf(a.model);
    const lora = injectLora(a.model, c(), { seed: 3 });
    if (c().init_lora_weights !== false) expect(maxDiff(logitsOf(a.model), base)).toBeLessThan(2e-5);
    perturb(a.model, 11);
    const adapted = logitsOf(a.model);
    expect(maxDiff(adapted, base)).toBeGreaterThan(1e-3);

    const merged = buildModel({ config: a.model.config, tensors: await mergedTensors(a.model) });
    expect(maxDiff(logitsOf(merged), adapted)).toBeLessThan(2e-5);
    merged.dispose();

    const dir = tmp('adapter');
    await saveAdapter(dir, a.model, lora, { baseModel: a.dir ?? 'tiny' });
    const b = await tinyLm({ modelType: 'llama' }); // the original, unmodified base
    const loaded = await loadAdapter(dir, b.model);
    expect(maxDiff(logitsOf(b.model), adapted)).toBeLessThan(2e-5);
    expect(loaded.trainableParams).toBe(planLora([...b.model.linears.values()], loaded.config, 'llama').trainableParams);
    a.model.dispose();
    b.model.dispose();
  });
});

test('adapter files use PEFT\'s keys and config fields: lora_magnitude_vector [out], patterns, converted PiSSA at rank 2r', async () => {
  const a = await tinyLm({ modelType: 'llama' });
  const c = cfg({ r: 2, lora_alpha: 4, target_modules: ['q_proj', 'v_proj'], use_dora: true, init_lora_weights: 'pissa', rank_pattern: { v_proj: 3 }, alpha_pattern: { v_proj: 9 } });
  const lora = injectLora(a.model, c, { seed: 1 });
  const dir = tmp('adapter');
  await saveAdapter(dir, a.model, lora, { baseModel: 'tiny/base' });
  const json = JSON.parse(readFileSync(join(dir, ADAPTER_CONFIG), 'utf8'));
  expect(json).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, use_dora: true, init_lora_weights: true, rank_pattern: { v_proj: 6 }, alpha_pattern: { v_proj: 18 }, layers_to_transform: null, layers_pattern: null });
  const tensors = await readSafetensors(join(dir, ADAPTER_WEIGHTS));
  const q = a.model.linears.get('model.layers.0.self_attn.q_proj')!;
  const v = a.model.linears.get('model.layers.0.self_attn.v_proj')!;
  expect(tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!.shape).toEqual([4, q.inFeatures]);
  expect(tensors.get('base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight')!.shape).toEqual([v.outFeatures, 6]);
  expect(tensors.get('base_model.model.model.layers.0.self_attn.v_proj.lora_magnitude_vector')!.shape).toEqual([v.outFeatures]);
  expect([...tensors.keys()].every((k) => /\.(lora_A\.weight|lora_B\.weight|lora_magnitude_vector)$/.test(k))).toBe(true);
  expect(tensors.size).toBe(lora.modules.length * 3);
  a.model.dispose();
});

test('rank_pattern / alpha_pattern follow PEFT\'s get_pattern_key: suffix at a dot boundary, first key wins', async () => {
  const { model } = await tinyLm({ modelType: 'llama' });
  const lora = injectLora(model, cfg({ r: 2, lora_alpha: 4, target_modules: ['q_proj', 'k_proj', 'v_proj'], rank_pattern: { 'model.layers.1.self_attn.q_proj': 5, q_proj: 3, j_proj: 7 }, alpha_pattern: { '^model\\.layers\\.0\\..*': 12 } }), { seed: 1 });
  const rs = Object.fromEntries(lora.modules.map((n) => [n, [model.linears.get(n)!.lora!.r, model.linears.get(n)!.lora!.scale]]));
  expect(rs['model.layers.0.self_attn.q_proj']).toEqual([3, 4]); // 12/3
  expect(rs['model.layers.1.self_attn.q_proj']).toEqual([5, 4 / 5]);
  expect(rs['model.layers.0.self_attn.k_proj']).toEqual([2, 6]); // "j_proj" never matches "k_proj"
  expect(rs['model.layers.1.self_attn.v_proj']).toEqual([2, 2]);
  model.dispose();
});

test('layers_to_transform / layers_pattern select layers as PEFT does', async () => {
  expect(inSelectedLayers('model.layers.3.self_attn.q_proj', { layers_to_transform: 3 })).toBe(true);
  expect(inSelectedLayers('model.layers.3.self_attn.q_proj', { layers_to_transform: [0, 1] })).toBe(false);
  expect(inSelectedLayers('transformer.h.1.attn.c_attn', { layers_to_transform: [1], layers_pattern: 'h' })).toBe(true);
  expect(inSelectedLayers('transformer.h.1.attn.c_attn', { layers_to_transform: [1], layers_pattern: 'layers' })).toBe(false);
  expect(inSelectedLayers('lm_head', { layers_to_transform: [0] })).toBe(false);
  expect(inSelectedLayers('model.layers.1.mlp.experts.0.up', { layers_to_transform: [1] })).toBe(true); // lazy: the first index
  const { model } = await tinyLm({ modelType: 'gpt2' });
  const lora = injectLora(model, cfg({ target_modules: ['c_attn', 'c_fc'], layers_to_transform: [1], layers_pattern: 'h' }), { seed: 1 });
  expect(lora.modules.sort()).toEqual(['transformer.h.1.attn.c_attn', 'transformer.h.1.mlp.c_fc']);
  expect(() => injectLora(model, cfg({ target_modules: ['c_proj'], layers_to_transform: [7] }), { seed: 1 })).toThrow(/layers_to_transform \[7\]/);
  model.dispose();
  // PEFT's LoraConfig rules.
  expect(loraConfigSchema.safeParse({ target_modules: 'all-linear', layers_to_transform: [0] }).error?.issues[0].path).toEqual(['layers_to_transform']);
  expect(loraConfigSchema.safeParse({ layers_pattern: 'layers' }).error?.issues[0].path).toEqual(['layers_pattern']);
  expect(loraConfigSchema.safeParse({ init_lora_weights: 'pissa_niter_x' }).success).toBe(false);
  expect(loraConfigSchema.safeParse({ rank_pattern: { '(': 2 } }).success).toBe(false);
});

test('dry-run count equals injection for DoRA + per-module ranks + layers_to_transform', async () => {
  const { model } = await tinyLm({ modelType: 'llama' });
  const c = cfg({ r: 4, use_dora: true, target_modules: ['q_proj', 'down_proj'], rank_pattern: { down_proj: 2 }, layers_to_transform: [1] });
  const lora = injectLora(model, c, { seed: 1 });
  const q = model.linears.get('model.layers.1.self_attn.q_proj')!;
  const d = model.linears.get('model.layers.1.mlp.down_proj')!;
  const expected = 4 * (q.inFeatures + q.outFeatures) + q.outFeatures + 2 * (d.inFeatures + d.outFeatures) + d.outFeatures;
  expect(lora.trainableParams).toBe(expected);
  expect(planLora([...model.linears.values()].map((l) => ({ name: l.name, inFeatures: l.inFeatures, outFeatures: l.outFeatures })), c, 'llama').trainableParams).toBe(expected);
  expect(lora.kinds).toEqual(['lora_A', 'lora_B', 'lora_magnitude_vector', 'lora_A', 'lora_B', 'lora_magnitude_vector']);
  model.dispose();
});

test('DoRA on a quantized (nf4) base: starts as the base, merge folds the dequantized W', async () => {
  const { model } = await tinyLm({ modelType: 'llama' });
  quantizeBase(model, 'nf4');
  const base = logitsOf(model);
  injectLora(model, cfg({ r: 2, use_dora: true, target_modules: 'all-linear' }), { seed: 2 });
  expect(maxDiff(logitsOf(model), base)).toBeLessThan(2e-5);
  perturb(model, 5);
  const adapted = logitsOf(model);
  const merged = buildModel({ config: model.config, tensors: await mergedTensors(model) });
  expect(maxDiff(logitsOf(merged), adapted)).toBeLessThan(2e-5);
  merged.dispose();
  model.dispose();
});

test('PiSSA on a quantized (int8) base re-quantizes the residual and starts near the base', async () => {
  const { model } = await tinyLm({ modelType: 'llama' });
  quantizeBase(model, 'int8');
  const base = logitsOf(model);
  injectLora(model, cfg({ r: 2, init_lora_weights: 'pissa', target_modules: ['q_proj', 'v_proj'] }), { seed: 2 });
  expect(model.linears.get('model.layers.0.self_attn.q_proj')!.quantized).toBe(true);
  // Quant(W_res) + s·B·A differs from Quant(W) by quantization error only (PEFT's own caveat).
  expect(maxDiff(logitsOf(model), base)).toBeLessThan(5e-2);
  model.dispose();
});

/** Central differences in float64 of a host function; returns d f / d p[i] for the listed indices. */
function finiteDiff(f: (p: Float64Array) => number, p: Float64Array, idx: number[], eps = 1e-6): number[] {
  return idx.map((i) => {
    const hi = Float64Array.from(p);
    const lo = Float64Array.from(p);
    hi[i] += eps;
    lo[i] -= eps;
    return (f(hi) - f(lo)) / (2 * eps);
  });
}

test('DoRA gradients of A, B, m equal finite differences of PEFT\'s objective (norm held constant)', () => {
  const rand = mulberry32(5);
  const out = 5, inF = 7, r = 2, n = 3, s = 1.5;
  const vals = (k: number, sc: number) => Float64Array.from({ length: k }, () => (rand() - 0.5) * sc);
  const W = vals(out * inF, 1), bias = vals(out, 0.2), x = vals(n * inF, 2), R = vals(n * out, 2);
  const A0 = vals(r * inF, 0.6), B0 = vals(out * r, 0.6), m0 = Float64Array.from({ length: out }, () => 0.5 + rand());
  const eff = (A: Float64Array, B: Float64Array) => W.map((w, k) => {
    const o = Math.floor(k / inF), i = k % inF;
    let d = 0;
    for (let j = 0; j < r; j++) d += B[o * r + j] * A[j * inF + i];
    return w + s * d;
  });
  const rowNorm = (M: Float64Array) => Array.from({ length: out }, (_, o) => Math.hypot(...M.slice(o * inF, (o + 1) * inF)));
  const frozen = rowNorm(eff(A0, B0)); // the detached ‖W + s·B·A‖ at the evaluation point
  const objective = (A: Float64Array, B: Float64Array, m: Float64Array) => {
    const M = eff(A, B);
    let total = 0;
    for (let t = 0; t < n; t++) for (let o = 0; o < out; o++) {
      let acc = 0;
      for (let i = 0; i < inF; i++) acc += x[t * inF + i] * M[o * inF + i];
      total += R[t * out + o] * ((m[o] / frozen[o]) * acc + bias[o]);
    }
    return total;
  };
  const layer = new Linear('m', inF, out, tf.tensor2d(Float32Array.from(W), [out, inF]), tf.tensor1d(Float32Array.from(bias)), 0);
  const A = tf.variable(tf.tensor2d(Float32Array.from(A0), [r, inF]));
  const B = tf.variable(tf.tensor2d(Float32Array.from(B0), [out, r]));
  const m = tf.variable(tf.tensor1d(Float32Array.from(m0)));
  layer.lora = { A, B, magnitude: m, r, scale: s, dropout: 0 };
  const xt = tf.tensor2d(Float32Array.from(x), [n, inF]);
  const Rt = tf.tensor2d(Float32Array.from(R), [n, out]);
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(xt, { training: true }), Rt)) as tf.Scalar, [A, B, m]);
  const check = (got: Float32Array, fd: number[], idx: number[]) => idx.forEach((i, k) => expect(got[i]).toBeCloseTo(fd[k], 3));
  const idxA = [0, 3, 8, 13], idxB = [0, 4, 9], idxM = [0, 2, 4];
  check(grads[A.name].dataSync() as Float32Array, finiteDiff((p) => objective(p, B0, m0), A0, idxA), idxA);
  check(grads[B.name].dataSync() as Float32Array, finiteDiff((p) => objective(A0, p, m0), B0, idxB), idxB);
  check(grads[m.name].dataSync() as Float32Array, finiteDiff((p) => objective(A0, B0, p), m0, idxM), idxM);
  tf.dispose([xt, Rt, ...Object.values(grads)]);
  layer.dispose();
});

test('PiSSA gradients through the whole model equal finite differences of the loss', async () => {
  const { model } = await tinyLm({ modelType: 'llama' });
  const lora = injectLora(model, cfg({ r: 2, lora_alpha: 4, init_lora_weights: 'pissa', target_modules: ['q_proj', 'down_proj'] }), { seed: 1 });
  perturb(model, 3);
  const R = tf.tidy(() => tf.randomNormal([2, 6, model.config.vocabSize], 0, 1, 'float32', 9));
  const loss = () => tf.tidy(() => tf.sum(tf.mul(model.forward({ inputIds: ids }).logits, R)) as tf.Scalar);
  const { grads, value } = tf.variableGrads(loss, lora.variables);
  for (const v of [lora.variables[0], lora.variables[3]]) {
    const g = grads[v.name].dataSync() as Float32Array;
    const orig = v.dataSync().slice() as Float32Array;
    for (const i of [0, 5, 17]) {
      const eps = 1e-2;
      const at = (d: number) => {
        const p = orig.slice();
        p[i] += d;
        v.assign(tf.tensor(p, v.shape));
        return loss().dataSync()[0];
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      v.assign(tf.tensor(orig, v.shape));
      expect(Math.abs(g[i] - fd)).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
    }
  }
  tf.dispose([R, value, ...Object.values(grads)]);
  model.dispose();
});

test('LoRA+: lora_B and the DoRA magnitude step at ratio × lr, lora_A at lr (PEFT\'s parameter groups)', () => {
  expect(loraPlusLrScales(['lora_A', 'lora_B', 'lora_magnitude_vector'], 16)).toEqual([1, 16, 16]);
  expect(loraPlusLrScales(['lora_A', 'lora_B'], undefined)).toEqual([1, 1]);
  const a = tf.variable(tf.tensor1d([1, 1]));
  const b = tf.variable(tf.tensor1d([1, 1]));
  const opt = new AdamW([a, b], { beta1: 0.9, beta2: 0.999, epsilon: 1e-12, weightDecay: 0, lrScales: [1, 16] });
  const g = [tf.tensor1d([0.3, -2]), tf.tensor1d([0.3, -2])];
  opt.step(g, 1e-3);
  // Adam's first step moves each parameter by lr·sign(g).
  expect(Array.from(a.dataSync()).map((x) => x - 1)).toEqual([expect.closeTo(-1e-3, 6), expect.closeTo(1e-3, 6)]);
  expect(Array.from(b.dataSync()).map((x) => x - 1)).toEqual([expect.closeTo(-16e-3, 6), expect.closeTo(16e-3, 6)]);
  tf.dispose([a, b, ...g]);
  opt.dispose();
});

test('a PEFT-written DoRA adapter (PEFT key names, hand-built) loads and equals an independent host merge', async () => {
  const { model } = await tinyLm({ modelType: 'llama' });
  const base = model.exportTensors();
  const rand = mulberry32(3);
  const names = ['model.layers.0.self_attn.q_proj', 'model.layers.1.self_attn.v_proj'];
  const r = 2, alpha = 6, s = alpha / r;
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  const { writeSafetensors } = await import('../../src/model/safetensors.js');
  for (const n of names) {
    const l = model.linears.get(n)!;
    tensors[`base_model.model.${n}.lora_A.weight`] = { shape: [r, l.inFeatures], data: Float32Array.from({ length: r * l.inFeatures }, () => rand() - 0.5) };
    tensors[`base_model.model.${n}.lora_B.weight`] = { shape: [l.outFeatures, r], data: Float32Array.from({ length: l.outFeatures * r }, () => (rand() - 0.5) * 0.3) };
    tensors[`base_model.model.${n}.lora_magnitude_vector`] = { shape: [l.outFeatures], data: Float32Array.from({ length: l.outFeatures }, () => 0.5 + rand()) };
  }
  const dir = tmp('peft-dora');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  await writeSafetensors(join(dir, ADAPTER_WEIGHTS), tensors);
  writeFileSync(join(dir, ADAPTER_CONFIG), JSON.stringify({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r, lora_alpha: alpha, lora_dropout: 0.05, target_modules: ['q_proj', 'v_proj'], use_dora: true, use_rslora: false, bias: 'none', init_lora_weights: true, rank_pattern: {}, alpha_pattern: {}, layers_to_transform: null, layers_pattern: null, peft_version: '0.19.1' }));
  await loadAdapter(dir, model);
  for (const n of names) {
    const l = model.linears.get(n)!;
    const A = tensors[`base_model.model.${n}.lora_A.weight`].data, B = tensors[`base_model.model.${n}.lora_B.weight`].data, m = tensors[`base_model.model.${n}.lora_magnitude_vector`].data;
    const W = base.get(`${n}.weight`)!;
    const merged = new Float32Array(W.data.length);
    for (let o = 0; o < l.outFeatures; o++) {
      const row = new Float64Array(l.inFeatures);
      for (let i = 0; i < l.inFeatures; i++) {
        let d = 0;
        for (let k = 0; k < r; k++) d += B[o * r + k] * A[k * l.inFeatures + i];
        row[i] = W.data[o * l.inFeatures + i] + s * d;
      }
      const f = m[o] / Math.hypot(...row);
      for (let i = 0; i < l.inFeatures; i++) merged[o * l.inFeatures + i] = f * row[i];
    }
    base.set(`${n}.weight`, { shape: W.shape, data: merged });
  }
  const reference = buildModel({ config: model.config, tensors: base });
  expect(maxDiff(logitsOf(model), logitsOf(reference))).toBeLessThan(2e-5);
  model.dispose();
  reference.dispose();
});

test('DoRA + dropout + LoRA+ + PiSSA trains without leaking tensors and lowers the loss; same seed, same losses', async () => {
  const { train } = await import('../../src/training/trainer.js');
  const example = (idsIn: number[]) => ({ input_ids: idsIn, labels: idsIn.map((t, i) => (i < 3 ? -100 : t)) });
  const examples = [example([10, 11, 12, 40, 41, 42, 43, 260]), example([20, 21, 22, 50, 51, 260]), example([9, 8, 7, 70, 71, 260])];
  const run = async () => {
    const { model } = await tinyLm({ modelType: 'llama' });
    const lora = injectLora(model, cfg({ r: 2, lora_alpha: 4, lora_dropout: 0.1, use_dora: true, init_lora_weights: 'pissa', target_modules: ['q_proj', 'v_proj', 'down_proj'] }), { seed: 4 });
    const res = await train({
      model, variables: lora.variables, lrScales: loraPlusLrScales(lora.kinds, 16), examples, padId: 0,
      config: { maxSteps: 5, learningRate: 5e-3, microBatchSize: 2, gradientAccumulationSteps: 1, maxSeqLen: 32, warmupSteps: 0, scheduler: 'constant', weightDecay: 0, maxGradNorm: 1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, seed: 7 },
    });
    model.dispose();
    return res;
  };
  const a = await run();
  expect(a.tensorsAfterLastStep).toBe(a.tensorsAfterFirstStep);
  expect(a.steps.at(-1)!.loss).toBeLessThan(a.steps[0].loss);
  const b = await run();
  expect(b.steps.map((s) => s.loss)).toEqual(a.steps.map((s) => s.loss));
});

test('run-single flags --dora, --init, --loraplus-ratio set PEFT\'s fields', async () => {
  const { resolveRunConfig } = await import('../../src/config/resolve-run-config.js');
  const c = resolveRunConfig(undefined, { model: 'm', dataset: 'd', dora: true, init: 'pissa_niter_4', loraplusRatio: 16 });
  expect([c.lora.use_dora, c.lora.init_lora_weights, c.training.loraplus_lr_ratio]).toEqual([true, 'pissa_niter_4', 16]);
  expect(resolveRunConfig(undefined, { model: 'm', dataset: 'd', init: false }).lora.init_lora_weights).toBe(false);
  expect(() => resolveRunConfig(undefined, { model: 'm', dataset: 'd', init: 'corda' })).toThrow(/init_lora_weights/);
});

test('an unconverted PEFT PiSSA/OLoRA adapter (init_lora_weights "pissa"/"olora") loads as PEFT loads it: residual recomputed, then A/B', async () => {
  const { writeSafetensors } = await import('../../src/model/safetensors.js');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  for (const init of ['pissa', 'olora'] as const) {
    const a = await tinyLm({ modelType: 'llama' });
    const lora = injectLora(a.model, cfg({ r: 2, lora_alpha: 4, target_modules: ['q_proj', 'down_proj'], init_lora_weights: init }), { seed: 1 });
    perturb(a.model, 7);
    const trained = logitsOf(a.model);
    // What PEFT's save_pretrained writes without path_initial_model_for_weight_conversion: the raw A/B.
    const dir = tmp(`raw-${init}`);
    mkdirSync(dir, { recursive: true });
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const n of lora.modules) {
      const l = a.model.linears.get(n)!.lora!;
      tensors[`base_model.model.${n}.lora_A.weight`] = { shape: l.A.shape, data: Float32Array.from(await l.A.data()) };
      tensors[`base_model.model.${n}.lora_B.weight`] = { shape: l.B.shape, data: Float32Array.from(await l.B.data()) };
    }
    await writeSafetensors(join(dir, ADAPTER_WEIGHTS), tensors);
    writeFileSync(join(dir, ADAPTER_CONFIG), JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['q_proj', 'down_proj'], init_lora_weights: init, use_dora: false, use_rslora: false, bias: 'none' }));
    const b = await tinyLm({ modelType: 'llama' });
    await loadAdapter(dir, b.model);
    expect(maxDiff(logitsOf(b.model), trained)).toBeLessThan(2e-5);
    a.model.dispose();
    b.model.dispose();
  }
});

test('a PEFT adapter with rank_pattern / alpha_pattern / layers_to_transform loads with per-module ranks and scales', async () => {
  const { writeSafetensors } = await import('../../src/model/safetensors.js');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const { model } = await tinyLm({ modelType: 'llama' });
  const base = logitsOf(model);
  const rand = mulberry32(9);
  const peftCfg = { peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 2, lora_alpha: 4, target_modules: ['q_proj', 'v_proj'], rank_pattern: { v_proj: 3 }, alpha_pattern: { 'model.layers.1.self_attn.q_proj': 10 }, layers_to_transform: [1], layers_pattern: 'layers', use_dora: false, use_rslora: false, bias: 'none', init_lora_weights: true };
  const expected = { 'model.layers.1.self_attn.q_proj': [2, 5], 'model.layers.1.self_attn.v_proj': [3, 4 / 3] } as Record<string, [number, number]>;
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [n, [r]] of Object.entries(expected)) {
    const l = model.linears.get(n)!;
    tensors[`base_model.model.${n}.lora_A.weight`] = { shape: [r, l.inFeatures], data: Float32Array.from({ length: r * l.inFeatures }, () => rand() - 0.5) };
    tensors[`base_model.model.${n}.lora_B.weight`] = { shape: [l.outFeatures, r], data: Float32Array.from({ length: l.outFeatures * r }, () => (rand() - 0.5) * 0.2) };
  }
  const dir = tmp('peft-patterns');
  mkdirSync(dir, { recursive: true });
  await writeSafetensors(join(dir, ADAPTER_WEIGHTS), tensors);
  writeFileSync(join(dir, ADAPTER_CONFIG), JSON.stringify(peftCfg));
  const lora = await loadAdapter(dir, model);
  for (const [n, [r, scale]] of Object.entries(expected)) expect([model.linears.get(n)!.lora!.r, model.linears.get(n)!.lora!.scale]).toEqual([r, scale]);
  expect(lora.modules.sort()).toEqual(Object.keys(expected));
  expect(maxDiff(logitsOf(model), base)).toBeGreaterThan(1e-4);
  // A rank that contradicts rank_pattern is refused, naming the module.
  writeFileSync(join(dir, ADAPTER_CONFIG), JSON.stringify({ ...peftCfg, rank_pattern: {} }));
  const fresh = await tinyLm({ modelType: 'llama' });
  await expect(loadAdapter(dir, fresh.model)).rejects.toThrow(/v_proj.*rank r=2/);
  model.dispose();
  fresh.model.dispose();
});

test('LoRA FLOPs count each module at its own rank (rank_pattern)', async () => {
  const { loraForwardFlopsPerToken } = await import('../../src/evaluation/flops.js');
  const { model } = await tinyLm({ modelType: 'llama' });
  const q = model.linears.get('model.layers.0.self_attn.q_proj')!;
  const names = ['model.layers.0.self_attn.q_proj', 'model.layers.1.self_attn.q_proj'];
  const flops = loraForwardFlopsPerToken(model.config, { r: 2, targetModules: names, ranks: new Map([[names[1], 6]]) });
  expect(flops).toBe(2 * 2 * (q.inFeatures + q.outFeatures) + 2 * 6 * (q.inFeatures + q.outFeatures));
  model.dispose();
});

test('GPT-2 (Conv1D weights stored [in, out]): DoRA + PiSSA merge and the converted adapter reload agree', async () => {
  const a = await tinyLm({ modelType: 'gpt2' });
  const lora = injectLora(a.model, cfg({ r: 2, lora_alpha: 4, use_dora: true, init_lora_weights: 'pissa', target_modules: ['c_attn', 'c_fc'] }), { seed: 2 });
  perturb(a.model, 13);
  const adapted = logitsOf(a.model);
  const merged = buildModel({ config: a.model.config, tensors: await mergedTensors(a.model) });
  expect(maxDiff(logitsOf(merged), adapted)).toBeLessThan(2e-5);
  merged.dispose();
  const dir = tmp('gpt2-adapter');
  await saveAdapter(dir, a.model, lora, { baseModel: 'tiny' });
  expect(JSON.parse(readFileSync(join(dir, ADAPTER_CONFIG), 'utf8')).fan_in_fan_out).toBe(true);
  const b = await tinyLm({ modelType: 'gpt2' });
  await loadAdapter(dir, b.model);
  expect(maxDiff(logitsOf(b.model), adapted)).toBeLessThan(2e-5);
  a.model.dispose();
  b.model.dispose();
});
