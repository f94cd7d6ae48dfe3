import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { injectLora } from '../../src/lora/inject.js';
import { loraConfigSchema } from '../../src/lora/lora-config.js';
import { toTensors } from '../../src/training/batch-tensors.js';
import { collate, type TokenizedExample } from '../../src/training/batching.js';
import { NonFiniteLossError } from '../../src/training/errors.js';
import { causalLmLossSum } from '../../src/training/loss.js';
import { train, type TrainerConfig } from '../../src/training/trainer.js';
import { useCpuBackend } from '../helpers/tf-setup.js';
import { tinyLm } from '../helpers/tiny-lm.js';

beforeAll(useCpuBackend);

const cfg = (over: Partial<TrainerConfig> = {}): TrainerConfig => ({
  maxSteps: 30, learningRate: 1e-2, microBatchSize: 2, gradientAccumulationSteps: 1, maxSeqLen: 32,
  warmupSteps: 2, scheduler: 'cosine', weightDecay: 0, maxGradNorm: 1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, seed: 7, ...over,
});

/** A prompt of 3 tokens (label -100) then a response, like a prepared dataset row. */
const example = (ids: number[], promptLen = 3): TokenizedExample => ({
  input_ids: ids,
  labels: ids.map((t, i) => (i < promptLen ? -100 : t)),
});
const EXAMPLES = [example([10, 11, 12, 40, 41, 42, 43, 260]), example([20, 21, 22, 50, 51, 260]), example([30, 31, 32, 33, 60, 61, 62, 63, 64, 260], 4), example([9, 8, 7, 70, 260])];

function meanLoss(model: Awaited<ReturnType<typeof tinyLm>>['model'], exs: TokenizedExample[]): number {
  return tf.tidy(() => {
    const bt = toTensors(collate(exs, 64, 0));
    const { sum, count } = causalLmLossSum(model.forward({ inputIds: bt.inputIds, attentionMask: bt.attentionMask }).logits, bt.labels);
    return sum.dataSync()[0] / count.dataSync()[0];
  });
}

describe.each(['llama', 'gpt2'] as const)('%s', (modelType) => {
  test('a padded batch gives the same loss as the same examples unpadded', async () => {
    const { model } = await tinyLm({ modelType });
    const batched = meanLoss(model, EXAMPLES);
    // token-weighted mean of each example alone
    let sum = 0;
    let n = 0;
    for (const e of EXAMPLES) {
      const c = e.labels.slice(1).filter((l) => l !== -100).length;
      sum += meanLoss(model, [e]) * c;
      n += c;
    }
    expect(batched).toBeCloseTo(sum / n, 5);
    model.dispose();
  });

  test('gradients of A and B agree with finite differences', async () => {
    const { model } = await tinyLm({ modelType });
    const lora = injectLora(model, loraConfigSchema.parse({ r: 2, lora_alpha: 4, target_modules: 'all-linear' }), { seed: 2 });
    for (const l of model.linears.values()) if (l.lora) l.lora.B.assign(tf.randomNormal(l.lora.B.shape, 0, 0.1, 'float32', 4));
    const bt = toTensors(collate(EXAMPLES.slice(0, 2), 64, 0));
    const lossFn = () => {
      const { sum, count } = causalLmLossSum(model.forward({ inputIds: bt.inputIds, attentionMask: bt.attentionMask }).logits, bt.labels);
      return tf.div(sum, count) as tf.Scalar;
    };
    const { grads } = tf.variableGrads(lossFn, lora.variables);
    const eps = 1e-2;
    for (const v of [lora.variables[0], lora.variables[1], lora.variables[lora.variables.length - 1]]) {
      const g = grads[v.name].dataSync();
      const orig = v.dataSync().slice();
      for (const idx of [0, Math.floor(orig.length / 2), orig.length - 1]) {
        const probe = (delta: number) => {
          const d = orig.slice();
          d[idx] += delta;
          v.assign(tf.tensor(d, v.shape));
          return tf.tidy(() => lossFn().dataSync()[0]);
        };
        const numeric = (probe(eps) - probe(-eps)) / (2 * eps);
        v.assign(tf.tensor(orig, v.shape));
        expect(Math.abs(numeric - g[idx])).toBeLessThan(2e-3 + 0.02 * Math.abs(g[idx]));
      }
    }
    model.dispose();
  });

  test('loss falls when overfitting a handful of examples, base weights untouched, no tensor leak', async () => {
    const { model } = await tinyLm({ modelType });
    const before = model.exportTensors();
    const lora = injectLora(model, loraConfigSchema.parse({ r: 8, lora_alpha: 16, target_modules: 'all-linear' }), { seed: 3 });
    const start = meanLoss(model, EXAMPLES);
    const res = await train({ model, variables: lora.variables, examples: EXAMPLES, config: cfg({ maxSteps: 40 }), padId: 0 });
    const end = meanLoss(model, EXAMPLES);
    expect(end).toBeLessThan(start * 0.5);
    expect(res.tensorsAfterLastStep).toBe(res.tensorsAfterFirstStep - 0); // flat across steps
    const after = model.exportTensors();
    for (const [k, t] of before) expect(after.get(k)!.data).toEqual(t.data);
    model.dispose();
  });
});

test('the same seed and config give the same losses; gradient accumulation equals the big batch', async () => {
  const run = async (over: Partial<TrainerConfig>) => {
    const { model } = await tinyLm({ modelType: 'llama' });
    const lora = injectLora(model, loraConfigSchema.parse({ r: 4, lora_dropout: 0.1 }), { seed: 3 });
    const res = await train({ model, variables: lora.variables, examples: EXAMPLES, config: cfg({ maxSteps: 6, ...over }), padId: 0 });
    model.dispose();
    return res.steps.map((s) => s.loss);
  };
  const a = await run({});
  expect(await run({})).toEqual(a);
  const noDrop = async (over: Partial<TrainerConfig>) => {
    const { model } = await tinyLm({ modelType: 'llama' });
    const lora = injectLora(model, loraConfigSchema.parse({ r: 4 }), { seed: 3 });
    const res = await train({ model, variables: lora.variables, examples: EXAMPLES, config: cfg({ maxSteps: 3, ...over }), padId: 0 });
    model.dispose();
    return res.steps.map((s) => s.loss);
  };
  const big = await noDrop({ microBatchSize: 4, gradientAccumulationSteps: 1 });
  const accum = await noDrop({ microBatchSize: 2, gradientAccumulationSteps: 2 });
  // Same examples per step (stream order is the same), same token-weighted loss and update.
  big.forEach((l, i) => expect(accum[i]).toBeCloseTo(l, 4));
});

// Each case starts from its own fresh model: none relies on what an earlier run left behind.
test('a learning rate that turns the weights NaN stops the run at the first step whose loss is NaN', async () => {
  const { model } = await tinyLm({ modelType: 'llama' });
  const lora = injectLora(model, loraConfigSchema.parse({ r: 4 }), { seed: 3 });
  const err = await train({ model, variables: lora.variables, examples: EXAMPLES, config: cfg({ maxSteps: 5, learningRate: Number.NaN, maxGradNorm: 0 }), padId: 0 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(NonFiniteLossError);
  // Step 1's loss is computed before its (NaN) update, so step 2 is the first NaN loss.
  expect((err as Error).message).toMatch(/step 2\b/);
  model.dispose();
});

test('a NaN already in a LoRA weight stops the run at step 1', async () => {
  const { model } = await tinyLm({ modelType: 'llama' });
  const lora = injectLora(model, loraConfigSchema.parse({ r: 4 }), { seed: 3 });
  const b = lora.variables[lora.kinds.indexOf('lora_B')];
  b.assign(tf.fill(b.shape, Number.NaN));
  const err = await train({ model, variables: lora.variables, examples: EXAMPLES, config: cfg({ maxSteps: 5 }), padId: 0 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(NonFiniteLossError);
  expect((err as Error).message).toMatch(/step 1\b/);
  model.dispose();
});
