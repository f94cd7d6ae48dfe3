import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { disableNativeFused, enableNativeFused, nativeFusedEnabled } from '../../src/engine/native-fused.js';
import { disableNativeMatmul, enableNativeMatmul } from '../../src/engine/native-matmul.js';
import { loadNativeAddon } from '../../src/engine/native-addon.js';
import { disableNativeOps, enableNativeOps } from '../../src/engine/native-ops.js';
import { gatedProduct, geluNew, silu } from '../../src/model/layers/activations.js';
import { buildAttentionMask, mergeHeads, scaledDotProductAttention, splitHeads } from '../../src/model/layers/attention.js';
import { ConstantCache } from '../../src/model/layers/constant-cache.js';
import { fusedOpsAvailable, fusedPackedSelfAttention, fusedSelfAttention } from '../../src/model/layers/fused-ops.js';
import { addLayerNormResidual, addRmsNormResidual, layerNorm, layerNormResidual, rmsNorm, rmsNormOffset, rmsNormResidual } from '../../src/model/layers/norms.js';
import { applyRope, ropeCosSin } from '../../src/model/layers/rope.js';
import { tinyLm } from '../helpers/tiny-lm.js';
import { bitsOf, lcg, nativeFusedAddon, skipNativeFused, skipNativeFusedWhy } from '../helpers/native-fused-load.js';
import { promptMasked, tinyLoraRun } from '../helpers/tiny-lora-run.js';
import { train } from '../../src/training/trainer.js';

const skip = skipNativeFused;
const why = skipNativeFusedWhy;
const addon = nativeFusedAddon;
const rand = lcg(987);
/** Values over several magnitudes, some exact zeros and -0 (gradients of signed zeros must match too). */
function floats(shape: number[], spread = 4): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rand();
    v[i] = r < 0.02 ? 0 : r < 0.04 ? -0 : (rand() - 0.5) * 10 ** Math.floor(rand() * spread - spread / 2);
  }
  return tf.tensor(v, shape, 'float32');
}


/**
 * Runs `f` (returning the forward value and gradients) with the fused kernels and without (the
 * native ops on in both), and expects the same shapes and bits, and no tensors left over.
 */
function expectSame(f: () => tf.Tensor[], label: string, threads = 1): void {
  const run = (fused: boolean) => {
    if (fused) enableNativeFused(addon(), threads);
    else disableNativeFused();
    expect(fusedOpsAvailable()).toBe(fused);
    const before = tf.memory().numTensors;
    const out = tf.tidy(f);
    const res = out.map((t) => ({ shape: t.shape, bits: bitsOf(t) }));
    tf.dispose(out);
    expect(tf.memory().numTensors, `${label}: tensors left`).toBe(before);
    return res;
  };
  const composed = run(false);
  const fused = run(true);
  expect(fused.length).toBe(composed.length);
  for (let i = 0; i < composed.length; i++) {
    expect(fused[i].shape, `${label} output ${i}`).toEqual(composed[i].shape);
    const a = composed[i].bits;
    const b = fused[i].bits;
    const at = a.findIndex((v, j) => v !== b[j]);
    expect(at, `${label} output ${i}: first differing element ${at}: 0x${a[at]?.toString(16)} vs fused 0x${b[at]?.toString(16)}`).toBe(-1);
  }
}

/** The value of `fn` and the gradients of sum(fn · dy) with respect to each input. */
function valueAndGrads(fn: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], dy: tf.Tensor): tf.Tensor[] {
  const value = fn(...inputs);
  const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(fn(...xs), dy)))(inputs);
  return [value, ...grads];
}

/**
 * Random projections q `[B, T, H·d]`, k, v `[B, T, Hkv·d]`, rotary tables of r dims (none for r = 0;
 * per batch row with perRow) and a causal mask (a different key padded per row with padded), and
 * the attention block: the fused op where it runs, else split heads, rotary, attention, merge heads.
 */
function attentionCase({ B, T, H, Hkv, d, r, perRow = false, padded = false }: { B: number; T: number; H: number; Hkv: number; d: number; r: number; perRow?: boolean; padded?: boolean }) {
  const inputs = [floats([B, T, H * d], 2), floats([B, T, Hkv * d], 2), floats([B, T, Hkv * d])];
  const dy = floats([B, T, H * d]);
  const pos = tf.tensor2d(Array.from({ length: (perRow ? B : 1) * T }, (_, i) => (i * 13) % 97), [perRow ? B : 1, T], 'int32');
  const tables = r > 0 ? ropeCosSin(pos, r, 10000) : null;
  const causal = new Float32Array(T * T).map((_, i) => (i % T <= Math.floor(i / T) ? 0 : -1e9));
  const mask = padded
    ? tf.tensor(Array.from({ length: B }, (_, b) => Array.from(causal, (m, i) => (i % T === b % T ? -1e9 : m))).flat(), [B, 1, T, T])
    : tf.tensor(causal, [1, 1, T, T]);
  const rot = (t: tf.Tensor) => (tables ? applyRope(t, tables) : t);
  const block = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) =>
    fusedSelfAttention(q, k, v, tables, mask, H, Hkv, d) ?? mergeHeads(scaledDotProductAttention(rot(splitHeads(q, H, d)), rot(splitHeads(k, Hkv, d)), splitHeads(v, Hkv, d), mask));
  const dispose = () => tf.dispose([...inputs, dy, pos, mask, ...(tables ? [tables.cos, tables.sin] : [])]);
  return { inputs, dy, block, dispose };
}

describe.skipIf(skip)(`fused layer ops give the composed ops' values and gradients bit for bit${why}`, () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', threads: 2, nativeMatmul: 'on' });
    expect(tf.getBackend()).toBe('wasm');
    expect(nativeFusedEnabled().length).toBeGreaterThan(0);
  });
  afterAll(() => {
    enableNativeFused(addon(), 2);
  });

  test.each([
    { B: 2, H: 3, T: 5, d: 16, r: 16, perRow: false },
    { B: 3, H: 2, T: 7, d: 10, r: 4, perRow: true },
    { B: 1, H: 1, T: 1, d: 2, r: 2, perRow: false },
    { B: 2, H: 5, T: 9, d: 12, r: 12, perRow: true },
  ])('rotary embedding %o', ({ B, H, T, d, r, perRow }) => {
    const pos = tf.tensor2d(Array.from({ length: (perRow ? B : 1) * T }, (_, i) => (i * 37) % 301), [perRow ? B : 1, T], 'int32');
    const tables = ropeCosSin(pos, r, 10000);
    const x = floats([B, H, T, d]);
    const dy = floats([B, H, T, d]);
    expectSame(() => valueAndGrads((v) => applyRope(v, tables), [x], dy), `rope ${B}x${H}x${T}x${d} r${r}`);
    tf.dispose([pos, tables.cos, tables.sin, x, dy]);
  });

  test.each([
    [[2, 5, 8]],
    [[3, 7]],
    [[1, 1, 1]],
    [[2, 3, 33]],
  ])('RMSNorm %j: alone, with the residual read through its pass-through, and Gemma offset gains; x and gain gradients', (shape) => {
    const C = shape[shape.length - 1];
    const x = floats(shape, 6);
    const w = floats([C]);
    const delta = floats(shape);
    const dy = floats(shape);
    const dy2 = floats(shape);
    for (const eps of [1e-6, 1e-5]) {
      expectSame(() => valueAndGrads((a, g) => rmsNorm(a, g as tf.Tensor1D, eps), [x, w], dy), `rmsNorm ${shape} eps ${eps}`);
      expectSame(() => valueAndGrads((a, g) => rmsNormOffset(a, g as tf.Tensor1D, eps), [x, w], dy), `rmsNormOffset ${shape}`);
      for (const offset of [false, true]) {
        // A pre-norm block: h = norm(x), out = x + f(h); the residual add reads x (or the pass-through).
        const block = (a: tf.Tensor, g: tf.Tensor) => {
          const [h, xr] = rmsNormResidual(a, g as tf.Tensor1D, eps, offset);
          return tf.add(tf.add(xr, tf.mul(h, delta)), tf.mul(h, dy2));
        };
        expectSame(() => valueAndGrads(block, [x, w], dy), `residual block ${shape} offset ${offset}`);
        // The residual add fused into the norm that reads its sum, then the next residual add reading the sum.
        const addBlock = (a: tf.Tensor, b: tf.Tensor, g: tf.Tensor) => {
          const [h, sum] = addRmsNormResidual(a, b, g as tf.Tensor1D, eps, offset);
          return tf.add(tf.add(sum, tf.mul(h, delta)), tf.mul(h, dy2));
        };
        expectSame(() => valueAndGrads(addBlock, [x, delta, w], dy), `add + norm block ${shape} offset ${offset}`);
      }
    }
    tf.dispose([x, w, delta, dy, dy2]);
  });

  test.each([
    [[2, 5, 8]],
    [[3, 7]],
    [[1, 1, 1]],
    [[2, 3, 33]],
    [[2, 1, 3, 5]],
  ])('LayerNorm %j: alone, with the residual read through its pass-through, and fused with the residual add; x, gain and bias gradients', (shape) => {
    const C = shape[shape.length - 1];
    const x = floats(shape, 6);
    const delta = floats(shape);
    const dy = floats(shape);
    const dy2 = floats(shape);
    // Trained gain and bias (full fine-tuning: their gradients too) and frozen ones (LoRA: x's only).
    const wv = tf.variable(floats([C]), true);
    const bv = tf.variable(floats([C]), true);
    const w = floats([C]);
    const b = floats([C]);
    for (const eps of [1e-5, 1e-12]) {
      expectSame(() => valueAndGrads((a, g, c) => layerNorm(a, g as tf.Tensor1D, c as tf.Tensor1D, eps), [x, wv, bv], dy), `layerNorm ${shape} eps ${eps}, trained`);
      expectSame(() => valueAndGrads((a) => layerNorm(a, w as tf.Tensor1D, b as tf.Tensor1D, eps), [x], dy), `layerNorm ${shape} eps ${eps}, frozen`);
      // A pre-norm block: h = norm(x), out = x + f(h); the residual add reads x (or the pass-through).
      const block = (a: tf.Tensor, g: tf.Tensor, c: tf.Tensor) => {
        const [h, xr] = layerNormResidual(a, g as tf.Tensor1D, c as tf.Tensor1D, eps);
        return tf.add(tf.add(xr, tf.mul(h, delta)), tf.mul(h, dy2));
      };
      expectSame(() => valueAndGrads(block, [x, wv, bv], dy), `LayerNorm residual block ${shape}`);
      expectSame(() => valueAndGrads((a) => block(a, w, b), [x], dy), `LayerNorm residual block ${shape}, frozen`);
      // The residual add fused into the norm that reads its sum, then the next residual add reading the sum.
      const addBlock = (a: tf.Tensor, d: tf.Tensor, g: tf.Tensor, c: tf.Tensor) => {
        const [h, sum] = addLayerNormResidual(a, d, g as tf.Tensor1D, c as tf.Tensor1D, eps);
        return tf.add(tf.add(sum, tf.mul(h, delta)), tf.mul(h, dy2));
      };
      expectSame(() => valueAndGrads(addBlock, [x, delta, wv, bv], dy), `add + LayerNorm block ${shape}`);
      expectSame(() => valueAndGrads((a, d) => addBlock(a, d, w, b), [x, delta], dy), `add + LayerNorm block ${shape}, frozen`);
    }
    tf.dispose([x, delta, dy, dy2, wv, bv, w, b]);
  });

  test.each([[[2, 5, 8]], [[3, 7, 13]], [[1]], [[4, 64, 128]]])('gelu_new %j', (shape) => {
    const x = floats(shape, 5);
    const dy = floats(shape);
    expectSame(() => valueAndGrads((a) => geluNew(a), [x], dy), `gelu_new ${shape}`);
    // Inputs where σ saturates or the cube overflows, and ±inf / NaN.
    const edge = tf.tensor([0, -0, 1e-30, -1e-30, 3, -3, 9, -9, 30, -30, 200, -200, 1e13, -1e13, 3e38, -3e38, Infinity, -Infinity, NaN]);
    const dyEdge = tf.onesLike(edge);
    expectSame(() => valueAndGrads((a) => geluNew(a), [edge], dyEdge), 'gelu_new edge values');
    tf.dispose([x, dy, edge, dyEdge]);
  });

  test.each([[[2, 5, 8]], [[3, 7, 13]], [[1]], [[4, 64, 128]]])('SiLU-gated product %j', (shape) => {
    const gate = floats(shape, 5);
    const up = floats(shape);
    const dy = floats(shape);
    expectSame(() => valueAndGrads((g, u) => gatedProduct(silu, g, u), [gate, up], dy), `silu·up ${shape}`);
    tf.dispose([gate, up, dy]);
  });

  test.each([
    { B: 2, H: 4, Hkv: 2, T: 6, past: 0, padded: false },
    { B: 3, H: 3, Hkv: 3, T: 5, past: 2, padded: true },
    { B: 1, H: 4, Hkv: 1, T: 7, past: 0, padded: true },
  ])('attention scale + mask + softmax %o', ({ B, H, Hkv, T, past, padded }) => {
    const d = 8;
    const S = past + T;
    const q = floats([B, H, T, d], 2);
    const k = floats([B, Hkv, S, d], 2);
    const v = floats([B, Hkv, S, d]);
    const dy = floats([B, H, T, d]);
    const causal = new Float32Array(T * S).map((_, i) => (i % S <= past + Math.floor(i / S) ? 0 : -1e9));
    const mask = padded
      ? tf.tensor(Array.from({ length: B }, (_, b) => Array.from(causal, (m, i) => (i % S === b % S ? -1e9 : m))).flat(), [B, 1, T, S])
      : tf.tensor(causal, [1, 1, T, S]);
    expectSame(() => valueAndGrads((a, b, c) => scaledDotProductAttention(a, b, c, mask), [q, k, v], dy), `attention ${B} ${H}/${Hkv} ${T}+${past}`);
    tf.dispose([q, k, v, dy, mask]);
  });

  test.each([
    { B: 2, T: 6, H: 4, Hkv: 2, d: 8, r: 8, perRow: false, padded: false },
    { B: 3, T: 5, H: 3, Hkv: 3, d: 10, r: 4, perRow: true, padded: true },
    { B: 1, T: 7, H: 4, Hkv: 1, d: 6, r: 0, perRow: false, padded: true },
    { B: 4, T: 64, H: 4, Hkv: 2, d: 16, r: 16, perRow: false, padded: false },
    { B: 2, T: 1, H: 2, Hkv: 1, d: 4, r: 4, perRow: true, padded: false },
  ])('self-attention block from the projections (split heads, rotary, GQA, mask, merge) %o', (shape) => {
    const c = attentionCase(shape);
    expectSame(() => valueAndGrads(c.block, c.inputs, c.dy), `self-attention ${JSON.stringify(shape)}`);
    c.dispose();
  });

  test.each([
    { B: 2, T: 6, H: 4, Hkv: 4, d: 8, r: 0, padded: false },
    { B: 3, T: 5, H: 3, Hkv: 3, d: 10, r: 0, padded: true },
    { B: 1, T: 7, H: 4, Hkv: 2, d: 6, r: 0, padded: true },
    { B: 2, T: 9, H: 2, Hkv: 1, d: 4, r: 4, padded: false },
    { B: 1, T: 1, H: 1, Hkv: 1, d: 2, r: 0, padded: false },
  ])('self-attention from packed projections q | k | v (GPT-2 c_attn: tf.split, heads, scale, mask, softmax, ·v, merge) %o', ({ B, T, H, Hkv, d, r, padded }) => {
    const c = attentionCase({ B, T, H, Hkv, d, r, padded });
    const qkv = tf.concat(c.inputs, -1);
    // The composed path splits the packed tensor first (c.block falls back to it without the fused kernels).
    const tables = r > 0 ? ropeCosSin(tf.tensor2d(Array.from({ length: T }, (_, i) => i), [1, T], 'int32'), r, 10000) : null;
    const mask = padded ? tf.tensor(Array.from({ length: B * T * T }, (_, i) => (i % T <= Math.floor(i / T) % T && i % T !== Math.floor(i / (T * T)) % T ? 0 : -1e9)), [B, 1, T, T]) : tf.tensor(new Float32Array(T * T).map((_, i) => (i % T <= Math.floor(i / T) ? 0 : -1e9)), [1, 1, T, T]);
    const rot = (t: tf.Tensor) => (tables ? applyRope(t, tables) : t);
    const block = (p: tf.Tensor) => {
      const fused = fusedPackedSelfAttention(p, tables, mask, H, Hkv, d);
      if (fused) return fused;
      const [q, k, v] = tf.split(p, [H * d, Hkv * d, Hkv * d], -1);
      return mergeHeads(scaledDotProductAttention(rot(splitHeads(q, H, d)), rot(splitHeads(k, Hkv, d)), splitHeads(v, Hkv, d), mask));
    };
    expectSame(() => valueAndGrads(block, [qkv], c.dy), `packed self-attention ${JSON.stringify({ B, T, H, Hkv, d, r, padded })}`);
    c.dispose();
    tf.dispose([qkv, mask, ...(tables ? [tables.cos, tables.sin] : [])]);
  });

  test('with the stock wasm matmul (LORA_STUDY_NATIVE_OPS=on, --native-matmul off) the attention block still matches', () => {
    const c = attentionCase({ B: 2, T: 9, H: 4, Hkv: 2, d: 8, r: 8 });
    disableNativeMatmul();
    try {
      expectSame(() => valueAndGrads(c.block, c.inputs, c.dy), 'self-attention, stock matmul');
    } finally {
      const sgemm = loadNativeAddon();
      if (sgemm.ok) enableNativeMatmul(sgemm.addon, 2);
      c.dispose();
    }
  });

  test('the padded attention mask built on the host has the bits of the one built by kernels (window, past, odd mask values)', () => {
    const cache = new ConstantCache();
    for (const [B, T, past] of [[2, 5, 0], [3, 4, 3], [1, 9, 0]]) {
      const S = past + T;
      const values = Array.from({ length: B * S }, (_, i) => [1, 1, 0, 1, 2, -1, 0, 1, 70000][(i * 7) % 9]);
      const m = tf.tensor2d(values, [B, S], 'int32');
      for (const window of [null, 2]) {
        if (past === 0) buildAttentionMask(null, B, T, past, window, cache); // fills the cache's causal table (kept: not counted as left over)
        expectSame(() => [buildAttentionMask(m as tf.Tensor2D, B, T, past, window, cache).clone()], `mask ${B}x${T}+${past} window ${window}`);
      }
      m.dispose();
    }
    cache.dispose();
  });

  test('an attention mask without padding gives the causal part alone ([1, 1, T, S], not rebuilt per row), with the bits of the padded mask the kernels build', () => {
    const cache = new ConstantCache();
    for (const [B, T, past] of [[2, 5, 0], [3, 4, 3]]) {
      const S = past + T;
      for (const dtype of ['int32', 'bool'] as const) {
        const m = tf.ones([B, S], dtype) as tf.Tensor2D;
        for (const window of [null, 2]) {
          if (fusedOpsAvailable()) tf.tidy(() => {
            expect(buildAttentionMask(m, B, T, past, window, cache).shape).toEqual([1, 1, T, S]);
          });
          expectSame(() => [tf.broadcastTo(buildAttentionMask(m, B, T, past, window, cache), [B, 1, T, S])], `unpadded ${dtype} mask ${B}x${T}+${past} window ${window}`);
        }
        m.dispose();
      }
    }
    cache.dispose();
  });

  test('large calls split over threads give the same bits', () => {
    const x = floats([8, 128, 256], 6);
    const w = floats([256]);
    const dy = floats([8, 128, 256]);
    expectSame(() => valueAndGrads((a, g) => rmsNorm(a, g as tf.Tensor1D, 1e-6), [x, w], dy), 'rmsNorm threaded', 2);
    const gate = floats([8, 128, 512]);
    const up = floats([8, 128, 512]);
    const dy2 = floats([8, 128, 512]);
    expectSame(() => valueAndGrads((g, u) => gatedProduct(silu, g, u), [gate, up], dy2), 'silu threaded', 2);
    const lw = tf.variable(floats([256]), true);
    const lb = tf.variable(floats([256]), true);
    const delta = floats([8, 128, 256]);
    expectSame(() => valueAndGrads((a, d, g, c) => tf.add(...addLayerNormResidual(a, d, g as tf.Tensor1D, c as tf.Tensor1D, 1e-5)), [x, delta, lw, lb], dy), 'add + LayerNorm threaded', 2);
    expectSame(() => valueAndGrads((a) => geluNew(a), [gate], dy2), 'gelu_new threaded', 2);
    tf.dispose([lw, lb, delta]);
    const c = attentionCase({ B: 2, T: 256, H: 4, Hkv: 2, d: 16, r: 16 });
    expectSame(() => valueAndGrads(c.block, c.inputs, c.dy), 'self-attention threaded', 2);
    c.dispose();
    tf.dispose([x, w, dy, gate, up, dy2]);
  });

  test.each(['llama', 'gpt2'] as const)('a tiny-%s LoRA run (every linear layer) has bit-identical losses and LoRA weights with and without the fused ops', async (modelType) => {
    const examples = [[10, 11, 12, 40, 41, 42, 43, 200], [20, 21, 22, 50, 51, 200], [30, 31, 32, 33, 60, 61, 62, 63, 64, 200], [9, 8, 7, 70, 200]].map(promptMasked);
    const run = async (fused: boolean) => {
      if (fused) enableNativeFused(addon(), 2);
      else disableNativeFused();
      return tinyLoraRun({ modelType, lora: { r: 8, lora_alpha: 16 }, config: { maxSteps: 4, learningRate: 4e-3 }, examples });
    };
    const composed = await run(false);
    const fused = await run(true);
    expect(fused.losses).toEqual(composed.losses);
    expect(fused.weights).toEqual(composed.weights);
    expect(fused.grew).toBe(composed.grew);
  });

  test.each(['llama', 'mistral', 'qwen2', 'gemma', 'phi3', 'phi', 'phi-qk_layernorm', 'gpt2'] as const)('full fine-tuning of a tiny %s (norm gains, embeddings and every weight trained) has bit-identical losses and weights with and without the fused ops', async (name) => {
    const modelType = name === 'phi-qk_layernorm' ? 'phi' : name;
    const examples = [[10, 11, 12, 40, 41, 42, 43, 200], [20, 21, 22, 50, 51, 200], [30, 31, 32, 33, 60, 61, 62, 63, 64, 200]].map(promptMasked);
    const run = async (fused: boolean) => {
      if (fused) enableNativeFused(addon(), 2);
      else disableNativeFused();
      const { model } = await tinyLm({ modelType, qkLayernorm: name === 'phi-qk_layernorm' }, { trainableBase: true });
      const variables = model.baseVariables();
      const res = await train({
        model, variables, examples, padId: 0,
        config: { maxSteps: 3, learningRate: 1e-3, microBatchSize: 3, gradientAccumulationSteps: 1, maxSeqLen: 16, warmupSteps: 0, scheduler: 'constant', weightDecay: 0, maxGradNorm: 1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, seed: 1 },
      });
      const weights = variables.map(bitsOf);
      model.dispose();
      return { losses: res.steps.map((st) => st.loss), weights };
    };
    const composed = await run(false);
    const fused = await run(true);
    expect(fused.losses).toEqual(composed.losses);
    expect(fused.weights).toEqual(composed.weights);
  });

  test('LORA_STUDY_NATIVE_OPS=off (native ops off) takes the fused kernels away; on brings them back', () => {
    disableNativeOps();
    expect(fusedOpsAvailable()).toBe(false);
    expect(nativeFusedEnabled()).toEqual([]);
    enableNativeOps(addon(), 2);
    expect(fusedOpsAvailable()).toBe(true);
  });
});
