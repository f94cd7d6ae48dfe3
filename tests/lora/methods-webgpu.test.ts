/**
 * The LoRA methods on webgpu (Mesa's llvmpipe in CI): DoRA's customGrad norm, PiSSA's base
 * rewrite and the asynchronous reads of merge and adapter save must work where computed values
 * cannot be read synchronously.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { initEngine } from '../../src/engine/backend.js';
import { injectLora } from '../../src/lora/inject.js';
import { loraConfigSchema } from '../../src/lora/lora-config.js';
import { mergedTensors } from '../../src/lora/merge.js';
import { loadAdapter, saveAdapter } from '../../src/lora/peft-adapter.js';
import { buildModel } from '../../src/model/build-model.js';
import type { CausalLM } from '../../src/model/causal-lm.js';
import { train } from '../../src/training/trainer.js';
import { loraPlusLrScales } from '../../src/training/loraplus.js';
import { tinyLm } from '../helpers/tiny-lm.js';
import { skipWebgpu, webgpuTitle } from '../helpers/webgpu.js';

const IDS = [[5, 17, 99, 3, 250, 42]];
async function logitsOf(model: CausalLM): Promise<Float32Array> {
  const t = tf.tidy(() => model.forward({ inputIds: tf.tensor2d(IDS, [1, 6], 'int32') }).logits);
  const out = (await t.data()) as Float32Array;
  t.dispose();
  return out;
}
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const example = (ids: number[]) => ({ input_ids: ids, labels: ids.map((t, i) => (i < 3 ? -100 : t)) });

describe.skipIf(skipWebgpu)(webgpuTitle('LoRA methods on webgpu'), () => {
  beforeAll(async () => {
    await initEngine({ backend: 'webgpu' });
  });

  test('DoRA + PiSSA + LoRA+ train, merge and save; the saved adapter reloads onto the original base', async () => {
    const a = await tinyLm({ modelType: 'llama' });
    const lora = injectLora(a.model, loraConfigSchema.parse({ r: 2, lora_alpha: 4, use_dora: true, init_lora_weights: 'pissa', target_modules: ['q_proj', 'v_proj'] }), { seed: 1 });
    const res = await train({
      model: a.model, variables: lora.variables, lrScales: loraPlusLrScales(lora.kinds, 16), padId: 0,
      examples: [example([10, 11, 12, 40, 41, 42, 43, 260]), example([20, 21, 22, 50, 51, 260])],
      config: { maxSteps: 4, learningRate: 1e-2, microBatchSize: 2, gradientAccumulationSteps: 1, maxSeqLen: 32, warmupSteps: 0, scheduler: 'constant', weightDecay: 0, maxGradNorm: 1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, seed: 3 },
    });
    expect(res.steps.at(-1)!.loss).toBeLessThan(res.steps[0].loss);
    expect(res.tensorsAfterLastStep).toBe(res.tensorsAfterFirstStep);
    const trained = await logitsOf(a.model);
    const merged = buildModel({ config: a.model.config, tensors: await mergedTensors(a.model) });
    expect(maxDiff(await logitsOf(merged), trained)).toBeLessThan(1e-4);
    merged.dispose();
    const dir = join(mkdtempSync(join(tmpdir(), 'methods-webgpu-')), 'adapter');
    await saveAdapter(dir, a.model, lora, { baseModel: a.dir ?? 'tiny' });
    const b = await tinyLm({ modelType: 'llama' });
    await loadAdapter(dir, b.model);
    expect(maxDiff(await logitsOf(b.model), trained)).toBeLessThan(1e-4);
    a.model.dispose();
    b.model.dispose();
  });
});
