/**
 * Backend conformance on webgpu (in CI: Mesa's llvmpipe through Dawn's OpenGL ES backend): the
 * same model code must give the reference logits, true gradients, a falling loss, the wasm result
 * for quantized bases, KV-cache-equals-recompute and exact merges. Tiny models only: llvmpipe is
 * a CPU rasteriser sharing CI's two cores.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { generate } from '../../src/evaluation/generate.js';
import { injectLora } from '../../src/lora/inject.js';
import { loraConfigSchema } from '../../src/lora/lora-config.js';
import { mergedTensors } from '../../src/lora/merge.js';
import { quantizeBase } from '../../src/lora/quantize/quantize-base.js';
import { buildModel } from '../../src/model/build-model.js';
import type { CausalLM } from '../../src/model/causal-lm.js';
import { loadModel } from '../../src/model/load-model.js';
import { toTensors } from '../../src/training/batch-tensors.js';
import { collate, type TokenizedExample } from '../../src/training/batching.js';
import { causalLmLossSum } from '../../src/training/loss.js';
import { train } from '../../src/training/trainer.js';
import { compareToReference, REFERENCE_DIR, referenceCases } from '../helpers/reference-fixtures.js';
import { tinyLm } from '../helpers/tiny-lm.js';
import { skipWebgpu, webgpuTitle } from '../helpers/webgpu.js';

const IDS = [[5, 17, 99, 3, 250, 42], [7, 7, 1, 0, 64, 200]];

async function logitsOf(model: CausalLM, ids = IDS): Promise<Float32Array> {
  const t = tf.tidy(() => model.forward({ inputIds: tf.tensor2d(ids, [ids.length, ids[0].length], 'int32') }).logits);
  const out = (await t.data()) as Float32Array;
  t.dispose();
  return out;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

const example = (ids: number[]): TokenizedExample => ({ input_ids: ids, labels: ids.map((t, i) => (i < 3 ? -100 : t)) });
const EXAMPLES = [example([10, 11, 12, 40, 41, 42, 43, 260]), example([20, 21, 22, 50, 51, 260]), example([9, 8, 7, 70, 71, 260])];

async function meanLoss(model: CausalLM, exs: TokenizedExample[]): Promise<number> {
  const t = tf.tidy(() => {
    const bt = toTensors(collate(exs, 64, 0));
    const { sum, count } = causalLmLossSum(model.forward({ inputIds: bt.inputIds, attentionMask: bt.attentionMask }).logits, bt.labels);
    return tf.div(sum, count);
  });
  const v = (await t.data())[0];
  t.dispose();
  return v;
}

describe.skipIf(skipWebgpu)(webgpuTitle('webgpu conformance'), () => {
  beforeAll(async () => {
    await initEngine({ backend: 'webgpu' });
  });

  // Same tolerance as the cpu reference test (tests/model/architectures.test.ts).
  test.each(['llama-gqa-untied', 'qwen2-bias-tied', 'gpt2', 'phi', 'phi3', 'gemma'])('%s logits match the Hugging Face reference (2e-5)', async (fixture) => {
    const { model } = await loadModel(join(REFERENCE_DIR, fixture));
    for (const c of referenceCases(fixture)) {
      const { maxErr, compared } = await compareToReference(model, c);
      expect(compared).toBeGreaterThan(0);
      expect(maxErr).toBeLessThan(2e-5);
    }
    model.dispose();
  });

  test('LoRA gradients agree with finite differences', async () => {
    const { model } = await tinyLm({ modelType: 'llama' });
    const lora = injectLora(model, loraConfigSchema.parse({ r: 2, lora_alpha: 4, target_modules: 'all-linear' }), { seed: 2 });
    for (const l of model.linears.values()) if (l.lora) l.lora.B.assign(tf.randomNormal(l.lora.B.shape, 0, 0.1, 'float32', 4));
    const exs = EXAMPLES.slice(0, 2);
    const bt = toTensors(collate(exs, 64, 0));
    const { grads } = tf.variableGrads(() => {
      const { sum, count } = causalLmLossSum(model.forward({ inputIds: bt.inputIds, attentionMask: bt.attentionMask }).logits, bt.labels);
      return tf.div(sum, count) as tf.Scalar;
    }, lora.variables);
    const eps = 1e-2;
    for (const v of [lora.variables[0], lora.variables[lora.variables.length - 1]]) {
      const g = await grads[v.name].data();
      const orig = (await v.data()).slice();
      for (const idx of [0, orig.length - 1]) {
        const probe = async (delta: number) => {
          const d = orig.slice();
          d[idx] += delta;
          v.assign(tf.tensor(d, v.shape));
          return meanLoss(model, exs);
        };
        const numeric = ((await probe(eps)) - (await probe(-eps))) / (2 * eps);
        v.assign(tf.tensor(orig, v.shape));
        expect(Math.abs(numeric - g[idx])).toBeLessThan(2e-3 + 0.02 * Math.abs(g[idx]));
      }
    }
    Object.values(grads).forEach((t) => t.dispose());
    model.dispose();
  });

  test('training lowers the loss without growing the tensor count', async () => {
    const { model } = await tinyLm({ modelType: 'llama' });
    const lora = injectLora(model, loraConfigSchema.parse({ r: 8, lora_alpha: 16, target_modules: 'all-linear' }), { seed: 3 });
    const start = await meanLoss(model, EXAMPLES);
    const res = await train({
      model, variables: lora.variables, examples: EXAMPLES, padId: 0,
      config: { maxSteps: 12, learningRate: 1e-2, microBatchSize: 3, gradientAccumulationSteps: 1, maxSeqLen: 32, warmupSteps: 1, scheduler: 'constant', weightDecay: 0, maxGradNorm: 1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, seed: 7 },
    });
    expect(await meanLoss(model, EXAMPLES)).toBeLessThan(start * 0.7);
    expect(res.tensorsAfterLastStep).toBe(res.tensorsAfterFirstStep);
    model.dispose();
  });

  test.each(['int8', 'nf4', 'fp4'] as const)('%s quantized forward equals the wasm result', async (format) => {
    const run = async (backend: 'wasm' | 'webgpu') => {
      await initEngine({ backend });
      const { model } = await tinyLm({ modelType: 'qwen2' });
      quantizeBase(model, format);
      const out = await logitsOf(model);
      model.dispose();
      return out;
    };
    const wasm = await run('wasm');
    const gpu = await run('webgpu');
    expect(maxAbsDiff(gpu, wasm)).toBeLessThan(1e-4);
  });

  test.each(['llama', 'gpt2'] as const)('%s: generation with the KV cache equals recomputing, and leaks nothing', async (modelType) => {
    const { model } = await tinyLm({ modelType });
    const prompts = [[5, 17, 99, 3], [7, 7, 1]];
    const opts = { maxNewTokens: 5, eosTokenId: null, padTokenId: 0 };
    const cached = (await generate(model, prompts, { ...opts, useCache: true })).tokens;
    const before = tf.memory().numTensors;
    const uncached = (await generate(model, prompts, { ...opts, useCache: false })).tokens;
    expect(cached).toEqual(uncached);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  test.each(['llama', 'gpt2'] as const)('%s: merged weights give the adapted logits', async (modelType) => {
    const { model } = await tinyLm({ modelType });
    injectLora(model, loraConfigSchema.parse({ r: 4, lora_alpha: 8, target_modules: 'all-linear' }), { seed: 5 });
    for (const l of model.linears.values()) if (l.lora) l.lora.B.assign(tf.randomNormal(l.lora.B.shape, 0, 0.05, 'float32', 9));
    const adapted = await logitsOf(model);
    const merged = buildModel({ config: model.config, tensors: await mergedTensors(model) });
    expect(maxAbsDiff(await logitsOf(merged), adapted)).toBeLessThan(1e-4);
    merged.dispose();
    model.dispose();
  });
});
